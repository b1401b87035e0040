-- kolapp schema, migration 19: a run of calls, or of state changes, is
-- one UPDATE of all its tickets when no ticket is in it twice (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- d_call_many and d_set_state_many called d_call and d_set_state once a
-- ticket. Each of those is an UPDATE and an INSERT of their own, and
-- every UPDATE of tickets starts an executor that parses all of the
-- table's CHECK constraints from their stored text again (perf of the
-- backend: pg_strtok, nodeRead, strtoll at the top). A counter's visit
-- is three such writes against an issue's share of one statement.
--
-- Now a run whose tickets are all different updates them in one
-- statement and logs their events in another, in the run's order. The
-- tickets are found by their key first and updated by id: joined on
-- the key with the state's condition, a table without statistics yet
-- (a new database's first minutes) made the planner scan every open
-- ticket through tickets_office_open_idx for each run. A run
-- that names a ticket twice (started, then finished, in one batch) goes
-- one ticket at a time as before: the second change must see the first.
-- What is refused is refused as before and the whole run is undone, as
-- it was. With one fault in a run the error is the same as before: the
-- first ticket of the run that could not change names it. With several,
-- a later ticket's fault that the UPDATE itself meets (a key, a CHECK,
-- the one held ticket per counter) may be reported instead of an earlier
-- ticket's refusal. kolappd only tells failure from success here.

CREATE OR REPLACE FUNCTION kolapp.d_call_many(p_office int[], p_day date[], p_code text[],
                                              p_counter int[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
DECLARE
    n int := coalesce(cardinality(p_office), 0);
    called int[];
    x record;
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
                         WHERE t.office_id = r.o AND t.business_day = r.d AND t.code = r.c) hit ON true
    ), u AS (
        UPDATE kolapp.tickets t
           SET state = 'called', counter_id = r.k, called_at = r.a, started_at = NULL,
               recalls = 0, for_counter_id = NULL
          FROM r
         WHERE t.id = r.id AND t.state IN ('waiting', 'parked')
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
                         WHERE t.office_id = r.o AND t.business_day = r.d AND t.code = r.c) hit ON true
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
