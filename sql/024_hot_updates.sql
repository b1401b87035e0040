-- kolapp schema, migration 24: a ticket's call and start rewrite no
-- index (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- PostgreSQL updates a row "HOT" (heap-only: the new version on the same
-- page, no index touched) only when no indexed column changes, columns
-- in an index's WHERE included. Every state change of a ticket changed
-- one: tickets_counter_held_idx (counter_id WHERE state held),
-- tickets_office_open_idx and tickets_counter_day_done_idx (WHERE state),
-- tickets_counter_idx (counter_id). So each call, start and finish wrote
-- a new entry into every index of the table (eight or nine), and the
-- key lookups of the next writes walked the old ones until vacuum. Over
-- tools/bench's phases 1-3, 32,911 updates of tickets, none HOT.
--
-- Now no index of tickets names state, counter_id, called_at or
-- started_at, and the table leaves a tenth of each page free for the new
-- versions: a call and a start are HOT where the page has room; a finish
-- sets finished_at, which the open tickets' index names, and is not.
-- tests/bench/visit_cost.sql (9,600 writes in runs of 8, one
-- transaction), six runs each, alternately: 114-162 us a write before,
-- 77-109 after (and once 300). tools/bench's day at 6,000/s: about half
-- of the updates HOT, the backends 83-118 us an op against 100-129
-- (docs/BENCHMARKS.md, eighth session). Building the new index reads the
-- whole table once, under the migration's lock (a few seconds over
-- millions of tickets).
--
-- What stays the same:
--   * one held ticket (called or serving) per counter, as the unique
--     index said, now kept in kolapp.counter_holds by the tickets' own
--     statement triggers: a second ticket held by a counter is refused
--     with 23505, concurrent holders wait for each other as on a unique
--     index (the hold's row is locked), and a parked ticket holds nothing;
--   * the open tickets of earlier days, which the daemon loads at start
--     and d_expire closes, are found through a partial index: the open
--     states are exactly those without finished_at (tickets_state_shape);
--   * a counter a ticket names can be neither deleted nor renumbered:
--     counters_keep_named looks for such a ticket without an index now,
--     as it always did for events (a counter is deleted rarely, and a
--     used one is retired instead).
-- v_counter_daily reads each counter's finished tickets by day through
-- the day index, not the dropped (counter_id, business_day) one.

-- Each counter's held ticket; a row appears with the counter's first
-- call. Changed only by the triggers below.
CREATE TABLE kolapp.counter_holds (
    counter_id int PRIMARY KEY REFERENCES kolapp.counters ON DELETE CASCADE,
    ticket_id  bigint
);
INSERT INTO kolapp.counter_holds (counter_id, ticket_id)
SELECT t.counter_id, t.id FROM kolapp.tickets t WHERE t.state IN ('called', 'serving');

-- The holds a statement's rows take: each counter once, and only one
-- holding nothing (or this ticket). Raises 23505 otherwise.
CREATE FUNCTION kolapp.counter_holds_take(p_counter int[], p_ticket bigint[], p_code text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    taken int;
    bad record;
BEGIN
    SELECT u.k, u.c INTO bad
      FROM unnest(p_counter, p_code) WITH ORDINALITY AS u(k, c, i)
     WHERE u.k IN (SELECT v.k FROM unnest(p_counter) AS v(k) GROUP BY v.k HAVING count(*) > 1)
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ticket %: counter % would hold two tickets at once', bad.c, bad.k
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO kolapp.counter_holds AS h (counter_id, ticket_id)
    SELECT u.k, u.t FROM unnest(p_counter, p_ticket) AS u(k, t)
        ON CONFLICT (counter_id) DO UPDATE SET ticket_id = excluded.ticket_id
     WHERE h.ticket_id IS NULL OR h.ticket_id = excluded.ticket_id;
    GET DIAGNOSTICS taken = ROW_COUNT;
    IF taken < cardinality(p_counter) THEN
        SELECT u.c, u.k, t.code AS held INTO bad
          FROM unnest(p_counter, p_ticket, p_code) AS u(k, id, c)
          JOIN kolapp.counter_holds h ON h.counter_id = u.k AND h.ticket_id <> u.id
          JOIN kolapp.tickets t ON t.id = h.ticket_id
         LIMIT 1;
        RAISE EXCEPTION 'ticket %: counter % already holds ticket %', bad.c, bad.k, bad.held
            USING ERRCODE = 'unique_violation';
    END IF;
END $$;

-- Called by the triggers only, as the table's owner whoever wrote.
ALTER FUNCTION kolapp.counter_holds_take(int[], bigint[], text[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE EXECUTE ON FUNCTION kolapp.counter_holds_take(int[], bigint[], text[]) FROM PUBLIC;

-- Updates: migration 22's check of changed counters, and the holds that
-- moved (released before taken, so that one statement may do both).
-- A start changes neither and ends after the first query.
CREATE OR REPLACE FUNCTION kolapp.tickets_check_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_counter boolean;
    gone_k int[];
    gone_t bigint[];
    took_k int[];
    took_t bigint[];
    took_c text[];
    ids int[];
    offices int[];
    locked int;
    bad record;
BEGIN
    SELECT bool_or(n.new_counter),
           array_agg(n.old_hold) FILTER (WHERE n.moved AND n.old_hold IS NOT NULL),
           array_agg(n.id) FILTER (WHERE n.moved AND n.old_hold IS NOT NULL),
           array_agg(n.new_hold) FILTER (WHERE n.moved AND n.new_hold IS NOT NULL),
           array_agg(n.id) FILTER (WHERE n.moved AND n.new_hold IS NOT NULL),
           array_agg(n.code) FILTER (WHERE n.moved AND n.new_hold IS NOT NULL)
      INTO new_counter, gone_k, gone_t, took_k, took_t, took_c
      FROM (SELECT w.id, w.code, h.old_hold, h.new_hold,
                   h.old_hold IS DISTINCT FROM h.new_hold AS moved,
                   w.counter_id IS NOT NULL
                   AND (w.counter_id, w.office_id) IS DISTINCT FROM (o.counter_id, o.office_id)
                   AS new_counter
              FROM written w
              JOIN replaced o ON o.id = w.id
             CROSS JOIN LATERAL (
                   SELECT CASE WHEN o.state IN ('called', 'serving') THEN o.counter_id END,
                          CASE WHEN w.state IN ('called', 'serving') THEN w.counter_id END
                   ) AS h(old_hold, new_hold)
             WHERE w.counter_id IS NOT NULL OR o.counter_id IS NOT NULL) n
     WHERE n.new_counter OR n.moved;
    IF new_counter THEN
        SELECT array_agg(p.counter_id), array_agg(p.office_id) INTO ids, offices
          FROM (SELECT DISTINCT n.counter_id, n.office_id
                  FROM written n JOIN replaced o ON o.id = n.id
                 WHERE n.counter_id IS NOT NULL
                   AND (n.counter_id, n.office_id) IS DISTINCT FROM (o.counter_id, o.office_id)) p;
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
    END IF;
    IF gone_k IS NOT NULL THEN
        UPDATE kolapp.counter_holds h SET ticket_id = NULL
          FROM unnest(gone_k, gone_t) AS g(k, t)
         WHERE h.counter_id = g.k AND h.ticket_id = g.t;
    END IF;
    IF took_k IS NOT NULL THEN
        PERFORM kolapp.counter_holds_take(took_k, took_t, took_c);
    END IF;
    RETURN NULL;
END $$;

-- Inserts: migration 20's checks, then the holds of tickets written
-- already called or serving (by hand; the daemon issues waiting ones).
CREATE OR REPLACE FUNCTION kolapp.tickets_check_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    took_k int[];
    took_t bigint[];
    took_c text[];
BEGIN
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
    SELECT array_agg(n.counter_id), array_agg(n.id), array_agg(n.code)
      INTO took_k, took_t, took_c
      FROM written n
     WHERE n.state IN ('called', 'serving');
    IF took_k IS NOT NULL THEN
        PERFORM kolapp.counter_holds_take(took_k, took_t, took_c);
    END IF;
    RETURN NULL;
END $$;

-- The update trigger reads the old rows too (it had them since 22).
DROP INDEX kolapp.tickets_counter_held_idx;
DROP INDEX kolapp.tickets_counter_idx;
DROP INDEX kolapp.tickets_counter_day_done_idx;
DROP INDEX kolapp.tickets_office_open_idx;
CREATE INDEX tickets_office_open_idx ON kolapp.tickets (office_id) WHERE finished_at IS NULL;
-- Room on each page for a row's next versions. Pages written from now
-- on keep it; those already full fill as before.
ALTER TABLE kolapp.tickets SET (fillfactor = 90);

-- The open tickets of earlier days through the new index's predicate.
CREATE OR REPLACE FUNCTION kolapp.d_expire(p_office int, p_day date, p_at timestamptz)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    WITH gone AS (
        UPDATE kolapp.tickets t
           SET state = 'expired', finished_at = p_at, for_counter_id = NULL
         WHERE t.office_id = p_office AND t.business_day < p_day
           AND t.finished_at IS NULL AND t.state IN ('waiting', 'called', 'parked')
        RETURNING t.id, t.counter_id, t.queue_id
    ), logged AS (
        INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
        SELECT g.id, p_office, p_at, 'expired', g.counter_id, g.queue_id FROM gone g
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    RETURN n;
END $$;

-- The held ticket from the counter's hold.
CREATE OR REPLACE FUNCTION kolapp.deactivate_counter(office text, counter text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    cid int := kolapp.counter_id_of(office, counter);
    was_active boolean;
    held text;
BEGIN
    SELECT c.active INTO was_active FROM kolapp.counters c WHERE c.id = cid FOR UPDATE;
    IF NOT was_active THEN
        RETURN false;
    END IF;
    SELECT t.code || ' (' || t.state || ')' INTO held
      FROM kolapp.counter_holds h JOIN kolapp.tickets t ON t.id = h.ticket_id
     WHERE h.counter_id = cid;
    IF FOUND THEN
        RAISE EXCEPTION 'counter "%" of office "%" holds ticket %', counter, office, held
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Finish, transfer or mark the ticket as no-show first.';
    END IF;
    SELECT string_agg(t.code, ', ' ORDER BY t.sort_at, t.id) INTO held FROM kolapp.tickets t
     WHERE t.for_counter_id = cid AND t.state = 'waiting';
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'tickets wait for counter "%" of office "%": %', counter, office, held
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Let the counter call them first.';
    END IF;
    UPDATE kolapp.counters c SET active = false WHERE c.id = cid;
    RETURN true;
END $$;
ALTER FUNCTION kolapp.deactivate_counter(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;

-- One pass over the finished tickets (by day, through the day index,
-- when a day is asked for), not an index lookup per counter.
CREATE OR REPLACE VIEW kolapp.v_counter_daily AS
SELECT o.code AS office, c.name AS counter, x.day,
       count(x.service_s) AS served,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x.service_s)::numeric, 1)
           AS service_median_s,
       make_interval(secs => round(coalesce(sum(x.open_s), 0))::double precision) AS open_time
  FROM kolapp.offices o
  JOIN kolapp.counters c ON c.office_id = o.id
  JOIN (SELECT t.office_id, t.counter_id, t.business_day AS day,
               extract(epoch FROM t.finished_at - t.called_at) AS service_s,
               NULL::numeric AS open_s
          FROM kolapp.tickets t
         WHERE t.state = 'done'
        UNION ALL
        SELECT sp.office_id, sp.counter_id, sp.day, NULL::numeric,
               extract(epoch FROM sp.span_until - sp.span_from)
          FROM kolapp.v_counter_open_spans sp) x
    ON x.counter_id = c.id AND x.office_id = o.id
 GROUP BY o.id, o.code, c.id, c.name, x.day;

GRANT SELECT ON kolapp.counter_holds TO kolapp_admin, kolapp_report;

CALL kolapp.secure_daemon_functions();
