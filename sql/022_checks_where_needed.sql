-- kolapp schema, migration 22: the statement checks of migration 20 run
-- only for statements that can break them (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- Once the daemon sent each run of one statement as one execution
-- (pgw_order.h), a day's batch at 6,000 operations a second held a
-- handful of statements of 7-14 rows each, and the checks' fixed cost
-- a statement showed: tickets_check_written 87 us a call and
-- ticket_events_check_counter 49 us (pg_stat_user_functions over 7 s of
-- tools/bench's phase 3), a tenth of the write backend's time.
--
-- * An UPDATE of tickets checks only the rows whose counter (or office)
--   it changed: a start or a finish (d_set_state) changes neither and
--   ends after one look at the statement's rows. A call's counters are
--   locked FOR KEY SHARE and counted in one query; only when one is
--   missing, or of another office, does it look for which (the error is
--   migration 20's). (A trigger's column list, UPDATE OF counter_id,
--   cannot have transition tables.)
-- * An event's counter check, the same way: the counters the events name
--   locked and counted; events without a counter (a ticket issued) end
--   after the first look.

DROP TRIGGER tickets_check_updated ON kolapp.tickets;

CREATE FUNCTION kolapp.tickets_check_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids int[];
    offices int[];
    locked int;
    bad record;
BEGIN
    SELECT array_agg(p.counter_id), array_agg(p.office_id) INTO ids, offices
      FROM (SELECT DISTINCT n.counter_id, n.office_id
              FROM written n JOIN replaced o ON o.id = n.id
             WHERE n.counter_id IS NOT NULL
               AND (n.counter_id, n.office_id) IS DISTINCT FROM (o.counter_id, o.office_id)) p;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM kolapp.counters c
      JOIN unnest(ids, offices) AS u(id, office_id) ON c.id = u.id AND c.office_id = u.office_id
       FOR KEY SHARE OF c;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < cardinality(ids) THEN
        SELECT n.code, n.counter_id, n.office_id INTO bad
          FROM written n
          LEFT JOIN kolapp.counters c ON c.id = n.counter_id AND c.office_id = n.office_id
         WHERE n.counter_id IS NOT NULL AND c.id IS NULL
         ORDER BY n.id
         LIMIT 1;
        RAISE EXCEPTION 'ticket %: its counter % is not a counter of office %',
            bad.code, bad.counter_id, bad.office_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_check_updated AFTER UPDATE ON kolapp.tickets
    REFERENCING OLD TABLE AS replaced NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.tickets_check_updated();

CREATE OR REPLACE FUNCTION kolapp.ticket_events_check_counter() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    named int[];
    locked int;
    bad int;
BEGIN
    SELECT array_agg(DISTINCT n.counter_id) INTO named FROM written n WHERE n.counter_id IS NOT NULL;
    IF named IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM kolapp.counters c WHERE c.id = ANY (named) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < cardinality(named) THEN
        SELECT n.counter_id INTO bad
          FROM written n
          LEFT JOIN kolapp.counters c ON c.id = n.counter_id
         WHERE n.counter_id IS NOT NULL AND c.id IS NULL
         ORDER BY n.id
         LIMIT 1;
        RAISE EXCEPTION 'an event names counter %, which does not exist', bad
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
