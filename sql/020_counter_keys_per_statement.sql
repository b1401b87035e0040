-- kolapp schema, migration 20: a ticket's counter and an event's counter
-- are checked once per statement, not once per row (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- After migration 19 a run of counter writes is one UPDATE, but the two
-- foreign keys to counters still ran a query of their own for each row:
-- tickets (counter_id, office_id) on every call, and ticket_events
-- (counter_id) on every event a counter writes. 3,200 visits (call,
-- start, finish; runs of 32 over 96 counters, one transaction): 660-695
-- ms with the keys, 534-541 with the statement checks below, 500-520
-- with no check at all.
--
-- What stays the same:
--   * a ticket's counter is a counter of its office, an event's counter
--     a counter (23503), at insert and update and for as long as the
--     row exists: a counter a ticket or an event names can be neither
--     deleted nor renumbered (23503);
--   * concurrency: the statement locks the counters it names FOR KEY
--     SHARE, as the keys did; the counter's side, like migration 18's
--     queues, reads with its transaction's snapshot and so deletes or
--     renumbers a counter in READ COMMITTED only (55000 otherwise).
-- What differs: the check runs after the statement's rows are written,
-- so a statement with several faults may be refused for another one
-- first; the error names no constraint. for_counter_id keeps its key:
-- it is set on transfers only.

ALTER TABLE kolapp.tickets DROP CONSTRAINT tickets_counter_id_office_id_fkey;
ALTER TABLE kolapp.ticket_events DROP CONSTRAINT ticket_events_counter_id_fkey;

-- Migration 18's check of an insert, and the counter's for inserts and
-- updates, in one function: one trigger a statement.
DROP TRIGGER tickets_check_inserted ON kolapp.tickets;
DROP FUNCTION kolapp.tickets_check_inserted();

CREATE FUNCTION kolapp.tickets_check_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM written n WHERE n.origin_queue_id <> n.queue_id) THEN
            PERFORM 1 FROM kolapp.queues q
             WHERE q.id IN (SELECT n.origin_queue_id FROM written n)
               FOR KEY SHARE;
        END IF;
        SELECT n.code, n.origin_queue_id, n.office_id, q.code AS qcode INTO bad
          FROM written n
          LEFT JOIN kolapp.queues q ON q.id = n.origin_queue_id AND q.office_id = n.office_id
         WHERE q.code IS DISTINCT FROM split_part(n.code, '-', 1)
         ORDER BY n.id
         LIMIT 1;
        IF FOUND AND bad.qcode IS NULL THEN
            RAISE EXCEPTION 'ticket %: its origin queue % is not a queue of office %',
                bad.code, bad.origin_queue_id, bad.office_id
                USING ERRCODE = 'foreign_key_violation';
        ELSIF FOUND THEN
            RAISE EXCEPTION 'ticket code % does not start with its queue''s code %', bad.code, bad.qcode
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM written n WHERE n.counter_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM kolapp.counters c
     WHERE c.id IN (SELECT n.counter_id FROM written n)
       FOR KEY SHARE;
    SELECT n.code, n.counter_id, n.office_id INTO bad
      FROM written n
      LEFT JOIN kolapp.counters c ON c.id = n.counter_id AND c.office_id = n.office_id
     WHERE n.counter_id IS NOT NULL AND c.id IS NULL
     ORDER BY n.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ticket %: its counter % is not a counter of office %',
            bad.code, bad.counter_id, bad.office_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_check_inserted AFTER INSERT ON kolapp.tickets
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.tickets_check_written();
CREATE TRIGGER tickets_check_updated AFTER UPDATE ON kolapp.tickets
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.tickets_check_written();

CREATE FUNCTION kolapp.ticket_events_check_counter() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM kolapp.counters c
     WHERE c.id IN (SELECT n.counter_id FROM written n WHERE n.counter_id IS NOT NULL)
       FOR KEY SHARE;
    SELECT n.counter_id INTO bad
      FROM written n
      LEFT JOIN kolapp.counters c ON c.id = n.counter_id
     WHERE n.counter_id IS NOT NULL AND c.id IS NULL
     ORDER BY n.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'an event names counter %, which does not exist', bad.counter_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

-- Events are never updated (ticket_events_append_only).
CREATE TRIGGER ticket_events_check_counter AFTER INSERT ON kolapp.ticket_events
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.ticket_events_check_counter();

-- The keys' other half. Indexes: tickets_counter_idx; events have none
-- on counter_id, as before (the key's own check scanned them too).
CREATE FUNCTION kolapp.counters_keep_named() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'counter % (id %) can be deleted or renumbered only in READ COMMITTED',
            OLD.name, OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'In ' || pg_catalog.current_setting('transaction_isolation')
                           || ' a ticket or event written since the transaction began would not be seen.';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.tickets t WHERE t.counter_id = OLD.id)
       OR EXISTS (SELECT 1 FROM kolapp.ticket_events e WHERE e.counter_id = OLD.id) THEN
        RAISE EXCEPTION 'counter % (id %) has served tickets', OLD.name, OLD.id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'A counter that was used is retired with kolapp.deactivate_counter(office, counter).';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER counters_keep_named BEFORE DELETE OR UPDATE OF id ON kolapp.counters
    FOR EACH ROW EXECUTE FUNCTION kolapp.counters_keep_named();
