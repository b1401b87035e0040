-- The backend's own cost of a counter's write: in one transaction that is
-- rolled back, an office of its own (eight counters, queue S) gets 3,200
-- waiting tickets, then 400 rounds of a call, a start and a finish of
-- eight of them (d_call_many, d_set_state_many: runs of 8, as the daemon
-- sends a run). Printed: microseconds a write, less the loop building
-- the arrays. No commit, no network: what the schema costs a write (the
-- row's new version, index entries unless HOT, the event, the checks).
--   psql -X -At -f visit_cost.sql   prints microseconds per write
\set ON_ERROR_STOP 1
\o /dev/null
BEGIN;
SELECT kolapp.add_office('bvisit', 'Visit cost', 'UTC');
SELECT kolapp.add_queue('bvisit', 'S', 'Visits');
SELECT kolapp.add_counter('bvisit', g::text, ARRAY['S']) FROM generate_series(1, 8) g;
CREATE FUNCTION pg_temp.visit_loop(p_call boolean) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    o int := kolapp.office_id_of('bvisit');
    ks int[] := ARRAY(SELECT kolapp.counter_id_of('bvisit', g::text) FROM generate_series(1, 8) g);
    day date := kolapp.office_today(kolapp.office_id_of('bvisit'));
    t0 timestamptz := clock_timestamp();
    codes text[];
BEGIN
    FOR i IN 0 .. 399 LOOP
        codes := ARRAY(SELECT 'S-' || CASE WHEN g < 1000 THEN lpad(g::text, 3, '0') ELSE g::text END
                         FROM generate_series(i * 8 + 1, i * 8 + 8) g);
        IF p_call THEN
            PERFORM kolapp.d_call_many(array_fill(o, ARRAY[8]), array_fill(day, ARRAY[8]), codes, ks,
                array_fill(now(), ARRAY[8]));
            PERFORM kolapp.d_set_state_many(array_fill(o, ARRAY[8]), array_fill(day, ARRAY[8]), codes,
                array_fill('serving'::text, ARRAY[8]), array_fill(now(), ARRAY[8]));
            PERFORM kolapp.d_set_state_many(array_fill(o, ARRAY[8]), array_fill(day, ARRAY[8]), codes,
                array_fill('done'::text, ARRAY[8]), array_fill(now(), ARRAY[8]));
        ELSE
            PERFORM array_fill(o, ARRAY[8]), array_fill(day, ARRAY[8]), codes, ks, array_fill(now(), ARRAY[8]),
                array_fill('serving'::text, ARRAY[8]), array_fill('done'::text, ARRAY[8]);
        END IF;
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END $$;
DO $$
DECLARE
    o int := kolapp.office_id_of('bvisit');
    q int := kolapp.queue_id_of('bvisit', 'S');
    day date := kolapp.office_today(kolapp.office_id_of('bvisit'));
BEGIN
    FOR i IN 0 .. 99 LOOP
        PERFORM kolapp.d_issue_many(array_fill(o, ARRAY[32]), array_fill(q, ARRAY[32]),
            array_fill(day, ARRAY[32]), ARRAY(SELECT g FROM generate_series(i * 32 + 1, i * 32 + 32) g),
            ARRAY(SELECT 'S-' || CASE WHEN g < 1000 THEN lpad(g::text, 3, '0') ELSE g::text END
                    FROM generate_series(i * 32 + 1, i * 32 + 32) g),
            array_fill(NULL::text, ARRAY[32]), array_fill(now(), ARRAY[32]), array_fill(false, ARRAY[32]),
            array_fill(NULL::text, ARRAY[32]), array_fill(NULL::text, ARRAY[32]),
            array_fill(60, ARRAY[32]), array_fill(NULL::text, ARRAY[32]));
    END LOOP;
END $$;
SELECT pg_temp.visit_loop(false) AS args \gset
SELECT pg_temp.visit_loop(true) AS calls \gset
\o
SELECT round(((:calls - :args) / 9600.0)::numeric, 1);
\o /dev/null
ROLLBACK;
