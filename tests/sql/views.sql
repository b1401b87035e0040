-- Statistics views on hand-made data with known answers. Day D is
-- 2024-03-04 in Europe/Stockholm (UTC+1 then).
BEGIN;
\ir fixture.psql
SELECT plan(16);

-- number, code, queue, state, counter, issued, wait s, service s (NULL = none)
CREATE TEMP TABLE t (n int, q int, state text, c int, issued timestamptz, wait int, service int);
INSERT INTO t VALUES
    (1, :qs, 'done',      :c1, '2024-03-04 09:10+01', 60,  100),
    (2, :qs, 'done',      :c1, '2024-03-04 09:20+01', 120, 200),
    (3, :qs, 'no_show',   :c1, '2024-03-04 09:40+01', 300, NULL),
    (4, :qs, 'done',      :c2, '2024-03-04 10:05+01', 600, 300),
    (5, :qs, 'cancelled', NULL, '2024-03-04 10:30+01', NULL, NULL),
    (1, :qt, 'done',      :c2, '2024-03-04 11:00+01', 30,  50);
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state,
                            issued_at, sort_at, counter_id, called_at, started_at, finished_at)
SELECT :tst, '2024-03-04', t.q, t.q, t.n, (SELECT code FROM kolapp.queues WHERE id = t.q) || '-00' || t.n,
       t.state, t.issued, t.issued, t.c, t.issued + t.wait * interval '1 s', NULL,
       CASE t.state WHEN 'done' THEN t.issued + (t.wait + t.service) * interval '1 s'
                    WHEN 'no_show' THEN t.issued + (t.wait + 60) * interval '1 s'
                    ELSE t.issued + interval '5 min' END
  FROM t;

SELECT results_eq($$SELECT hour, issued, called, wait_median_s, wait_p90_s, service_median_s, service_p90_s
                      FROM kolapp.v_waits_hourly WHERE office = 'tst' AND queue = 'S' AND day = '2024-03-04' ORDER BY hour$$,
    $$VALUES (9, 3::bigint, 3::bigint, 120.0, 264.0, 150.0, 190.0), (10, 2, 1, 600.0, 600.0, 300.0, 300.0)$$,
    'v_waits_hourly: local hours, medians and 90th percentiles');
SELECT results_eq($$SELECT queue, issued, called, wait_median_s, wait_p90_s, service_median_s, service_p90_s
                      FROM kolapp.v_waits_daily WHERE office = 'tst' AND day = '2024-03-04' ORDER BY queue$$,
    $$VALUES ('S'::text, 5::bigint, 4::bigint, 210.0, 510.0, 200.0, 280.0), ('T', 1, 1, 30.0, 30.0, 50.0, 50.0)$$,
    'v_waits_daily');
SELECT is((SELECT count(*)::int FROM kolapp.v_waits_daily WHERE office = 'oth'), 0, 'v_waits_daily: nothing for the other office');
SELECT results_eq($$SELECT queue, called, no_shows, rate FROM kolapp.v_no_show_rates WHERE office = 'tst' AND day = '2024-03-04' ORDER BY queue$$,
    $$VALUES ('S'::text, 4::bigint, 1::bigint, 0.250), ('T', 1, 0, 0.000)$$, 'v_no_show_rates');

-- C1 opens 08:00-12:00 and 13:00-17:00 (with a repeated open at 13:30),
-- C2 opens 22:00 on D until 02:00 the next day.
INSERT INTO kolapp.counter_events (counter_id, office_id, at, open) VALUES
    (:c1, :tst, '2024-03-04 08:00+01', true), (:c1, :tst, '2024-03-04 12:00+01', false),
    (:c1, :tst, '2024-03-04 13:00+01', true), (:c1, :tst, '2024-03-04 13:30+01', true),
    (:c1, :tst, '2024-03-04 17:00+01', false),
    (:c2, :tst, '2024-03-04 22:00+01', true), (:c2, :tst, '2024-03-05 02:00+01', false);
SELECT results_eq($$SELECT counter, day, served, service_median_s, open_time FROM kolapp.v_counter_daily
                     WHERE office = 'tst' AND day BETWEEN '2024-03-04' AND '2024-03-05' ORDER BY counter, day$$,
    $$VALUES ('C1'::text, '2024-03-04'::date, 2::bigint, 150.0, interval '8 hours'),
             ('C2', '2024-03-04', 2, 175.0, interval '2 hours'),
             ('C2', '2024-03-05', 0, NULL, interval '2 hours')$$,
    'v_counter_daily: served, median service, open time cut at midnight');
SELECT is((SELECT count(*)::int FROM kolapp.v_counter_daily WHERE office = 'tst' AND counter IN ('C3', 'C4')), 0, 'v_counter_daily: no row for idle counters');

-- a counter still open counts until now
INSERT INTO kolapp.counter_events (counter_id, office_id, at, open) VALUES (:c3, :tst, now() - interval '90 minutes', true);
SELECT ok((SELECT open_time FROM kolapp.v_counter_daily WHERE office = 'tst' AND counter = 'C3' AND day = kolapp.office_today(:tst))
          BETWEEN interval '0' AND interval '90 minutes', 'an open counter counts until now');

-- today: two waiting in S (10 and 5 minutes), one called, one served; U closed
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at)
VALUES (:tst, :'today', :qs, :qs, 1, 'S-001', 'waiting', now() - interval '10 min', now() - interval '10 min'),
       (:tst, :'today', :qs, :qs, 2, 'S-002', 'waiting', now() - interval '5 min', now() - interval '5 min'),
       (:tst, :'today', :qs, :qs, 3, 'S-003', 'waiting', now() - interval '4 min', now() - interval '4 min'),
       (:tst, :'today', :qs, :qs, 4, 'S-004', 'waiting', now() - interval '3 min', now() - interval '3 min'),
       (:tst, :'today', :qt, :qt, 1, 'T-001', 'waiting', now() - interval '2 min', now() - interval '2 min');
SELECT kolapp.d_call(:tst, :'today', 'S-003', :c1, now());
SELECT kolapp.d_call(:tst, :'today', 'S-004', :c4, now());
SELECT kolapp.d_set_state(:tst, :'today', 'S-004', 'done', now());
SELECT kolapp.d_set_state(:tst, :'today', 'T-001', 'cancelled', now());
SELECT kolapp.close_queue('tst', 'U');
SELECT results_eq($$SELECT queue, open, waiting, called, serving, served, no_shows, cancelled, longest_wait
                      FROM kolapp.v_queue_today WHERE office = 'tst' ORDER BY queue$$,
    $$VALUES ('S'::text, true, 2::bigint, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 0::bigint, interval '10 minutes'),
             ('T', true, 0, 0, 0, 0, 0, 1, NULL),
             ('U', false, 0, 0, 0, 0, 0, 0, NULL)$$,
    'v_queue_today counts today''s tickets per state and the longest wait');
SELECT is((SELECT day FROM kolapp.v_queue_today WHERE office = 'tst' AND queue = 'S'), kolapp.office_today(:tst), 'v_queue_today is about the office''s local day');
SELECT is((SELECT sum(waiting)::int FROM kolapp.v_queue_today WHERE office = 'oth'), 0, 'v_queue_today: the other office has nobody');

-- column lists are an interface
SELECT columns_are('kolapp', 'v_queue_today', ARRAY['office', 'queue', 'name', 'day', 'open', 'active', 'waiting', 'called', 'serving', 'served', 'no_shows', 'cancelled', 'longest_wait', 'parked'], 'v_queue_today columns');
SELECT columns_are('kolapp', 'v_waits_hourly', ARRAY['office', 'queue', 'day', 'hour', 'issued', 'called', 'wait_median_s', 'wait_p90_s', 'service_median_s', 'service_p90_s'], 'v_waits_hourly columns');
SELECT columns_are('kolapp', 'v_waits_daily', ARRAY['office', 'queue', 'day', 'issued', 'called', 'wait_median_s', 'wait_p90_s', 'service_median_s', 'service_p90_s'], 'v_waits_daily columns');
SELECT columns_are('kolapp', 'v_counter_daily', ARRAY['office', 'counter', 'day', 'served', 'service_median_s', 'open_time'], 'v_counter_daily columns');
SELECT columns_are('kolapp', 'v_no_show_rates', ARRAY['office', 'queue', 'day', 'called', 'no_shows', 'rate'], 'v_no_show_rates columns');

-- plans: a filter on office and day reaches the index (no scan of all tickets)
CREATE FUNCTION pg_temp.explain_of(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    FOR r IN EXECUTE 'EXPLAIN ' || q LOOP
        RETURN NEXT r;
    END LOOP;
END $$;
SET LOCAL enable_seqscan = off;
SELECT unalike(array_to_string(ARRAY(SELECT * FROM pg_temp.explain_of('SELECT * FROM kolapp.v_waits_daily WHERE office = ''tst'' AND day = ''2024-03-04''')), E'\n'),
    '%Seq Scan on tickets%', 'v_waits_daily by office and day uses an index');
SELECT * FROM finish();
ROLLBACK;
