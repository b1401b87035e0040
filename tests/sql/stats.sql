-- The statistics views of migration 9 on one hand-made day with known
-- answers, written by the daemon's own functions in the order a day would
-- have them. Day D is 2024-03-04 in Europe/Stockholm (UTC+1 then).
BEGIN;
\ir fixture.psql
SELECT plan(17);

SELECT kolapp.add_outcome('tst', 'S', 'granted', 'Benefit granted');
SELECT kolapp.add_outcome('tst', 'S', 'referred', 'Referred elsewhere');
SELECT kolapp.add_outcome('tst', 'T', 'paid', 'Paid');

-- q, number, at (local time on D), priority, interpreter, lang
CREATE TEMP TABLE iss (q text, n int, at text, prio boolean, interp text, lang text);
INSERT INTO iss VALUES
    ('S', 1, '09:00', false, NULL, 'sv'),
    ('S', 2, '09:01', true,  'so', NULL),
    ('S', 3, '09:02', false, 'so', NULL),
    ('S', 4, '09:20', true,  'ti', 'ti'),
    ('S', 5, '09:30', false, NULL, NULL),
    ('S', 6, '09:35', false, NULL, NULL),
    ('S', 7, '09:36', false, 'ar', 'ar'),
    ('T', 1, '10:00', true,  NULL, NULL),
    ('T', 2, '10:05', false, NULL, NULL);
SELECT kolapp.d_issue_many(array_agg(:tst ORDER BY at), array_agg(kolapp.queue_id_of('tst', q) ORDER BY at),
                           array_agg('2024-03-04'::date ORDER BY at), array_agg(n ORDER BY at),
                           array_agg(q || '-00' || n ORDER BY at), array_agg(NULL::text ORDER BY at),
                           array_agg(('2024-03-04 ' || at || '+01')::timestamptz ORDER BY at),
                           array_agg(prio ORDER BY at), array_agg(interp ORDER BY at), array_agg(lang ORDER BY at))
  FROM iss;

-- What happened, in order of time: at, ticket, what, counter (or outcome)
CREATE TEMP TABLE day (at text, code text, what text, arg text);
INSERT INTO day VALUES
    ('09:03', 'S-002', 'call',     'C4'),
    ('09:04', 'S-002', 'start',    NULL),
    ('09:05', 'S-002', 'park',     NULL),   -- waits for a Somali interpreter
    ('09:05', 'S-001', 'call',     'C1'),
    ('09:06', 'S-001', 'start',    NULL),
    ('09:10', 'S-001', 'finish',   'granted'),
    ('09:11', 'S-003', 'call',     'C1'),
    ('09:11:30', 'S-003', 'start', NULL),
    ('09:12', 'S-003', 'park',     NULL),   -- never called back: expires
    ('09:15', 'S-002', 'call',     'C4'),   -- parked 600 s
    ('09:16', 'S-002', 'start',    NULL),
    ('09:22', 'S-004', 'call',     'C1'),
    ('09:25', 'S-004', 'no_show',  NULL),
    ('09:30', 'S-002', 'finish',   'referred'),
    ('09:40', 'S-004', 'reactivate', NULL),
    ('09:40', 'S-005', 'call',     'C4'),
    ('09:43', 'S-005', 'no_show',  NULL),
    ('09:45', 'S-004', 'call',     'C1'),
    ('09:46', 'S-004', 'start',    NULL),
    ('09:50', 'S-004', 'finish',   NULL),
    ('09:50', 'S-006', 'cancel',   NULL),
    ('09:55', 'S-007', 'call',     'C1'),
    ('09:56', 'S-007', 'park',     NULL),
    ('10:01', 'S-007', 'call',     'C4'),   -- parked 300 s
    ('10:02', 'T-001', 'call',     'C2'),
    ('10:10', 'S-007', 'finish',   'granted'),
    ('10:12', 'T-001', 'finish',   'paid'),
    ('10:20', 'T-002', 'call',     'C2'),
    ('10:21', 'T-002', 'to_counter', 'C1'),
    ('10:30', 'T-002', 'call',     'C1'),
    ('10:40', 'T-002', 'finish',   NULL);
CREATE FUNCTION pg_temp.play() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
    off int := kolapp.office_id_of('tst');
    t timestamptz;
BEGIN
    FOR r IN SELECT * FROM day ORDER BY at, ctid LOOP
        t := ('2024-03-04 ' || r.at || '+01')::timestamptz;
        CASE r.what
        WHEN 'call' THEN PERFORM kolapp.d_call(off, '2024-03-04', r.code, kolapp.counter_id_of('tst', r.arg), t);
        WHEN 'start' THEN PERFORM kolapp.d_set_state(off, '2024-03-04', r.code, 'serving', t);
        WHEN 'park' THEN PERFORM kolapp.d_park(off, '2024-03-04', r.code, t);
        WHEN 'no_show' THEN PERFORM kolapp.d_set_state(off, '2024-03-04', r.code, 'no_show', t);
        WHEN 'reactivate' THEN PERFORM kolapp.d_reactivate(off, '2024-03-04', r.code, t);
        WHEN 'cancel' THEN PERFORM kolapp.d_set_state(off, '2024-03-04', r.code, 'cancelled', t);
        WHEN 'to_counter' THEN PERFORM kolapp.d_transfer_counter(off, '2024-03-04', r.code, kolapp.counter_id_of('tst', r.arg), t);
        WHEN 'finish' THEN
            PERFORM kolapp.d_set_state(off, '2024-03-04', r.code, 'done', t);
            IF r.arg IS NOT NULL THEN
                PERFORM kolapp.d_set_outcome(off, '2024-03-04', r.code, r.arg);
            END IF;
        END CASE;
    END LOOP;
    PERFORM kolapp.d_expire(off, '2024-03-05', '2024-03-05 00:00:05+01');
END $$;
SELECT lives_ok('SELECT pg_temp.play()', 'the day is played through the daemon''s functions');
SELECT results_eq($$SELECT code, state FROM kolapp.tickets WHERE business_day = '2024-03-04' ORDER BY code$$,
    $$VALUES ('S-001'::text, 'done'::text), ('S-002', 'done'), ('S-003', 'expired'), ('S-004', 'done'), ('S-005', 'no_show'),
             ('S-006', 'cancelled'), ('S-007', 'done'), ('T-001', 'done'), ('T-002', 'done')$$, 'where each ticket ended');

SELECT results_eq($$SELECT queue, outcome, count FROM kolapp.outcomes_daily WHERE office = 'tst' AND day = '2024-03-04'
                     ORDER BY queue, outcome NULLS LAST$$,
    $$VALUES ('S'::text, 'granted'::text, 2::bigint), ('S', 'referred', 1), ('S', NULL, 1), ('T', 'paid', 1), ('T', NULL, 1)$$,
    'outcomes_daily: served tickets per outcome, NULL for those served without one');
SELECT results_eq($$SELECT queue, interpreter, tickets, priority FROM kolapp.priority_daily WHERE office = 'tst' AND day = '2024-03-04'
                     ORDER BY queue, interpreter NULLS FIRST$$,
    $$VALUES ('S'::text, NULL::text, 3::bigint, 0::bigint), ('S', 'ar', 1, 0), ('S', 'so', 2, 1), ('S', 'ti', 1, 1),
             ('T', NULL, 2, 1)$$,
    'priority_daily: tickets and priority tickets per interpreter language');
SELECT results_eq($$SELECT sum(priority)::int, sum(tickets) FILTER (WHERE interpreter IS NOT NULL)::int
                      FROM kolapp.priority_daily WHERE office = 'tst' AND queue = 'S' AND day = '2024-03-04'$$,
    $$VALUES (2, 4)$$, 'priority_daily: the day''s priority and interpreter tickets add up');
SELECT results_eq($$SELECT queue, tickets, parks, called_back, parked_median_s, parked_p90_s FROM kolapp.parked_daily
                     WHERE office = 'tst' AND day = '2024-03-04' ORDER BY queue$$,
    $$VALUES ('S'::text, 3::bigint, 3::bigint, 2::bigint, 450.0, 570.0)$$,
    'parked_daily: parks, those called back, median and p90 of the time parked');
SELECT results_eq($$SELECT queue, called, no_show, reactivated, reactivated_served, no_show_rate, reactivated_rate
                      FROM kolapp.no_show_daily WHERE office = 'tst' AND day = '2024-03-04' ORDER BY queue$$,
    $$VALUES ('S'::text, 6::bigint, 2::bigint, 1::bigint, 1::bigint, 0.333, 0.500),
             ('T', 2, 0, 0, 0, 0.000, NULL)$$,
    'no_show_daily: from the event log, a reactivated no-show still counts');
SELECT results_eq($$SELECT queue, called, no_shows FROM kolapp.v_no_show_rates WHERE office = 'tst' AND day = '2024-03-04' AND queue = 'S'$$,
    $$VALUES ('S'::text, 6::bigint, 1::bigint)$$,
    'v_no_show_rates (migration 2) counts states: it misses the reactivated no-show');
SELECT results_eq($$SELECT queue, priority, tickets, called, wait_median_s, wait_p90_s FROM kolapp.waits_priority_daily
                     WHERE office = 'tst' AND day = '2024-03-04' ORDER BY queue, priority$$,
    $$VALUES ('S'::text, false, 5::bigint, 4::bigint, 570.0, 978.0), ('S', true, 2, 2, 120.0, 120.0),
             ('T', false, 1, 1, 900.0, 900.0), ('T', true, 1, 1, 120.0, 120.0)$$,
    'waits_priority_daily: issue to first call, priority and not');
SELECT is((SELECT count(*)::int FROM kolapp.outcomes_daily WHERE office = 'oth')
          + (SELECT count(*)::int FROM kolapp.priority_daily WHERE office = 'oth')
          + (SELECT count(*)::int FROM kolapp.parked_daily WHERE office = 'oth')
          + (SELECT count(*)::int FROM kolapp.no_show_daily WHERE office = 'oth')
          + (SELECT count(*)::int FROM kolapp.waits_priority_daily WHERE office = 'oth'), 0,
    'nothing for the other office');

-- column lists are an interface
SELECT columns_are('kolapp', 'outcomes_daily', ARRAY['office', 'queue', 'day', 'outcome', 'count'], 'outcomes_daily columns');
SELECT columns_are('kolapp', 'priority_daily', ARRAY['office', 'queue', 'day', 'interpreter', 'tickets', 'priority'], 'priority_daily columns');
SELECT columns_are('kolapp', 'parked_daily', ARRAY['office', 'queue', 'day', 'tickets', 'parks', 'called_back', 'parked_median_s', 'parked_p90_s'], 'parked_daily columns');
SELECT columns_are('kolapp', 'no_show_daily', ARRAY['office', 'queue', 'day', 'called', 'no_show', 'reactivated', 'reactivated_served', 'no_show_rate', 'reactivated_rate'], 'no_show_daily columns');
SELECT columns_are('kolapp', 'waits_priority_daily', ARRAY['office', 'queue', 'day', 'priority', 'tickets', 'called', 'wait_median_s', 'wait_p90_s'], 'waits_priority_daily columns');

-- plans: a filter on office and day reaches the indexes (no scan of all
-- tickets or of all events)
CREATE FUNCTION pg_temp.explain_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    plan text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN ' || q LOOP
        plan := plan || r || E'\n';
    END LOOP;
    RETURN plan;
END $$;
SET LOCAL enable_seqscan = off;
SELECT is(ARRAY(SELECT v FROM unnest(ARRAY['outcomes_daily', 'priority_daily', 'parked_daily', 'no_show_daily', 'waits_priority_daily']) v
                 WHERE pg_temp.explain_of(format('SELECT * FROM kolapp.%I WHERE office = ''tst'' AND day = ''2024-03-04''', v))
                       ~ 'Seq Scan on (tickets|ticket_events)'),
    '{}'::text[], 'each view by office and day uses indexes');
SELECT is(ARRAY(SELECT v FROM unnest(ARRAY['parked_daily', 'no_show_daily', 'waits_priority_daily']) v
                 WHERE pg_temp.explain_of(format('SELECT * FROM kolapp.%I WHERE office = ''tst'' AND day = ''2024-03-04''', v))
                       !~ 'ticket_events_ticket_idx'),
    '{}'::text[], 'the views of the event log read it per ticket');
RESET enable_seqscan;

SELECT * FROM finish();
ROLLBACK;
