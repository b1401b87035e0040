-- kolapp schema, migration 21: the index that leads with the business
-- day carries the rest of a ticket's key (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- A ticket is looked up by its key (office_id, business_day, code) in
-- every counter write. Two indexes could serve that lookup: the unique
-- key, and tickets_business_day_idx (migration 4, for the start-up load
-- and the estimator's history), which finds the day and filters the rest.
-- On a table without statistics (a new database's first minutes, before
-- autovacuum analyses it) the two cost the same to the planner, and a
-- plan made then is kept by plpgsql for the connection's life. At 6,000
-- operations a second on a new database every lookup read all of the
-- day's tickets through the day index (pg_stat_user_indexes after
-- tools/bench's phase 3: 8,991 scans reading 40.2 M entries, none of the
-- unique key), and the one write backend spent its core on it.
--
-- The day index now holds (business_day, office_id, code): whichever
-- index the planner takes, a lookup by key reads one entry. The start-up
-- load and the history read a day range or a set of days and use it as
-- before (the estimator's history, 150 offices over 3 M tickets: 37-45
-- ms against 85-104). It costs an entry a ticket as the old one did, a
-- wider one: 91 MB over 3 M tickets against 20 MB (a day alone was
-- deduplicated). Building it holds writes while it runs: 1.9 s over 3 M.

DROP INDEX kolapp.tickets_business_day_idx;
CREATE INDEX tickets_day_key_idx ON kolapp.tickets (business_day, office_id, code);

-- The runs of migration 19, planned the same on an empty table as on a
-- full one. Their lookups are a nested loop the planner cannot turn into
-- a hash join: with a table still empty, the generic plan plpgsql keeps
-- joined the run to a sequential scan of all tickets (a key is unique, so
-- LIMIT 1 changes no result). A call's states are a parameter, not
-- constants: constants imply the predicate of tickets_office_open_idx,
-- and the generic plan read that whole index (every open ticket of every
-- office) for each run instead of the run's tickets by id.
CREATE OR REPLACE FUNCTION kolapp.d_call_many(p_office int[], p_day date[], p_code text[],
                                              p_counter int[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
DECLARE
    n int := coalesce(cardinality(p_office), 0);
    called int[];
    x record;
    callable constant text[] := ARRAY['waiting', 'parked'];
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_day), cardinality(p_code),
        cardinality(p_counter), cardinality(p_at));
    IF n = 0 THEN
        RETURN;
    END IF;
    IF (SELECT count(DISTINCT (o, d, c)) FROM unnest(p_office, p_day, p_code) AS u(o, d, c)) < n THEN
        FOR i IN 1 .. n LOOP
            PERFORM kolapp.d_call(p_office[i], p_day[i], p_code[i], p_counter[i], p_at[i]);
        END LOOP;
        RETURN;
    END IF;
    WITH r AS (
        SELECT r.k, r.a, r.i, hit.id
          FROM unnest(p_office, p_day, p_code, p_counter, p_at) WITH ORDINALITY AS r(o, d, c, k, a, i)
          JOIN LATERAL (SELECT t.id FROM kolapp.tickets t
                         WHERE t.office_id = r.o AND t.business_day = r.d AND t.code = r.c LIMIT 1) hit ON true
    ), u AS (
        UPDATE kolapp.tickets t
           SET state = 'called', counter_id = r.k, called_at = r.a, started_at = NULL,
               recalls = 0, for_counter_id = NULL
          FROM r
         WHERE t.id = r.id AND t.state = ANY (callable)
        RETURNING t.id, t.office_id, t.queue_id, r.k, r.a, r.i
    ), logged AS (
        INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
        SELECT u.id, u.office_id, u.a, 'called', u.k, u.queue_id FROM u ORDER BY u.i
    )
    SELECT array_agg(u.i::int) INTO called FROM u;
    IF coalesce(cardinality(called), 0) < n THEN
        SELECT r.o, r.d, r.c INTO x
          FROM unnest(p_office, p_day, p_code) WITH ORDINALITY AS r(o, d, c, i)
         WHERE r.i <> ALL (coalesce(called, '{}'))
         ORDER BY r.i LIMIT 1;
        PERFORM kolapp.d_ticket_refused(x.o, x.d, x.c, 'call', 'waiting or parked');
    END IF;
END $$;

CREATE OR REPLACE FUNCTION kolapp.d_set_state_many(p_office int[], p_day date[], p_code text[],
                                                   p_state text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
DECLARE
    n int := coalesce(cardinality(p_office), 0);
    changed int[];
    x record;
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_day), cardinality(p_code),
        cardinality(p_state), cardinality(p_at));
    IF n = 0 THEN
        RETURN;
    END IF;
    IF (SELECT count(DISTINCT (o, d, c)) FROM unnest(p_office, p_day, p_code) AS u(o, d, c)) < n
       OR EXISTS (SELECT 1 FROM unnest(p_state) AS s(v)
                   WHERE v IS NULL OR v NOT IN ('serving', 'done', 'no_show', 'cancelled')) THEN
        -- one at a time; d_set_state also refuses a state it does not set
        FOR i IN 1 .. n LOOP
            PERFORM kolapp.d_set_state(p_office[i], p_day[i], p_code[i], p_state[i], p_at[i]);
        END LOOP;
        RETURN;
    END IF;
    WITH r AS (
        SELECT r.s, r.a, r.i, hit.id
          FROM unnest(p_office, p_day, p_code, p_state, p_at) WITH ORDINALITY AS r(o, d, c, s, a, i)
          JOIN LATERAL (SELECT t.id FROM kolapp.tickets t
                         WHERE t.office_id = r.o AND t.business_day = r.d AND t.code = r.c LIMIT 1) hit ON true
    ), u AS (
        UPDATE kolapp.tickets t
           SET state = r.s,
               started_at = CASE WHEN r.s = 'serving' THEN r.a ELSE t.started_at END,
               finished_at = CASE WHEN r.s = 'serving' THEN t.finished_at ELSE r.a END,
               for_counter_id = NULL
          FROM r
         WHERE t.id = r.id AND kolapp.ticket_transition_allowed(t.state, r.s)
        RETURNING t.id, t.office_id, t.queue_id, t.counter_id, r.s, r.a, r.i
    ), logged AS (
        INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
        SELECT u.id, u.office_id, u.a, u.s, u.counter_id, u.queue_id FROM u ORDER BY u.i
    )
    SELECT array_agg(u.i::int) INTO changed FROM u;
    IF coalesce(cardinality(changed), 0) < n THEN
        -- the first that could not change: d_set_state says why
        SELECT r.o, r.d, r.c, r.s, r.a INTO x
          FROM unnest(p_office, p_day, p_code, p_state, p_at) WITH ORDINALITY AS r(o, d, c, s, a, i)
         WHERE r.i <> ALL (coalesce(changed, '{}'))
         ORDER BY r.i LIMIT 1;
        PERFORM kolapp.d_set_state(x.o, x.d, x.c, x.s, x.a);
        RAISE EXCEPTION 'd_set_state_many: ticket % did not change to %', x.c, x.s
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END $$;

-- Last: every d_ function this migration replaced.
CALL kolapp.secure_daemon_functions();
