-- Migration 15: counters' planned hours (issue 18). The weekly plan, a
-- date's exception replacing it, what the daemon reads (today's and
-- tomorrow's intervals as microseconds), the checks, and the roles.
-- Migration 16: queues' ticket hours, in the same notation.
BEGIN;
\ir fixture.psql
SELECT plan(33);

-- What the daemon should read for one interval every day in the test
-- office's time zone: today's and tomorrow's, as microseconds.
CREATE FUNCTION pg_temp.daily_plan(opens time, closes time) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg((extract(epoch FROM (d + x) AT TIME ZONE 'Europe/Stockholm')
                      * 1000000)::bigint ORDER BY d, x)
      FROM (SELECT (now() AT TIME ZONE 'Europe/Stockholm')::date + n AS d
              FROM generate_series(0, 1) n) days,
           (VALUES (opens), (closes)) t (x)
$$;

-- 2026-06-01 is a Monday; 2026-06-06 a Saturday.
SELECT is(kolapp.set_counter_hours('tst', 'C1', 'mon-fri', '08:00-12:00, 13:00-16:30'), 10,
          'mon-fri with a lunch break: ten rows');
SELECT results_eq(format($$SELECT opens, closes FROM kolapp.counter_hours_on(%s, '2026-06-01')$$, :c1),
                  $$VALUES ('08:00'::time, '12:00'::time), ('13:00', '16:30')$$,
                  'a Monday has both intervals, in order');
SELECT is_empty(format($$SELECT * FROM kolapp.counter_hours_on(%s, '2026-06-06')$$, :c1),
                'a Saturday has none: closed');
SELECT is(kolapp.set_counter_hours('tst', 'C1', 'mon', '09:00-11:00'), 1,
          'setting Monday again replaces Monday');
SELECT results_eq(format($$SELECT opens, closes FROM kolapp.counter_hours_on(%s, '2026-06-01')$$, :c1),
                  $$VALUES ('09:00'::time, '11:00'::time)$$, 'only the new Monday');
SELECT is((SELECT count(*)::int FROM kolapp.counter_hours_on(:c1, '2026-06-02')), 2,
          'Tuesday kept its two');
SELECT is(kolapp.set_counter_hours('tst', 'C1', '2026-06-02', '10:00-24:00'), 1,
          'a date exception');
SELECT results_eq(format($$SELECT opens, closes FROM kolapp.counter_hours_on(%s, '2026-06-02')$$, :c1),
                  $$VALUES ('10:00'::time, '24:00'::time)$$,
                  'the date replaces its weekday, up to the day''s end');
SELECT is(kolapp.set_counter_hours('tst', 'C1', '2026-06-09', 'closed'), 0, 'a date closed');
SELECT is_empty(format($$SELECT * FROM kolapp.counter_hours_on(%s, '2026-06-09')$$, :c1),
                'closed that Tuesday, though Tuesdays have hours');

SELECT is(kolapp.set_counter_hours('tst', 'C1', 'sun', '09:30:15-17:00:00'), 1,
          'seconds may be given');
SELECT results_eq(format($$SELECT opens, closes FROM kolapp.counter_hours_on(%s, '2026-06-07')$$, :c1),
                  $$VALUES ('09:30:15'::time, '17:00:00'::time)$$, 'and are kept');

-- What the daemon reads: C2 open all day every day; C3 without a plan.
SELECT kolapp.set_counter_hours('tst', 'C2', 'daily', '00:00-24:00');
SELECT is((SELECT plan FROM kolapp.d_counter_plans() WHERE counter_id = :c2),
          pg_temp.daily_plan('00:00', '24:00'),
          'd_counter_plans: today''s and tomorrow''s intervals, microseconds, local time');
SELECT is((SELECT plan FROM kolapp.d_counter_plans() WHERE counter_id = :c3), NULL, 'no plan: NULL');
SELECT kolapp.set_counter_hours('tst', 'C3', (now() AT TIME ZONE 'Europe/Stockholm')::date::text, 'closed');
SELECT kolapp.set_counter_hours('tst', 'C3',
    ((now() AT TIME ZONE 'Europe/Stockholm')::date + 1)::text, 'closed');
SELECT is((SELECT plan FROM kolapp.d_counter_plans() WHERE counter_id = :c3), '{}'::bigint[], 'a plan with nothing today or tomorrow: empty');
SELECT is(kolapp.clear_counter_hours('tst', 'C3'), 2, 'clear_counter_hours forgets the plan');

-- Bad input changes nothing.
SELECT throws_ok($$SELECT kolapp.set_counter_hours('tst', 'C1', 'mon-xyz', '08:00-12:00')$$,
                 '22023', 'invalid days "mon-xyz"', 'unknown weekday');
SELECT throws_ok($$SELECT kolapp.set_counter_hours('tst', 'C1', 'mon', '08:00-12:00,11:00-13:00')$$,
                 '22023', 'intervals overlap in "08:00-12:00,11:00-13:00"', 'overlapping intervals');
SELECT throws_ok($$SELECT kolapp.set_counter_hours('tst', 'C1', 'mon', '12:00-08:00')$$,
                 '22023', 'interval "12:00-08:00" ends before it starts', 'backwards interval');
SELECT throws_ok($$SELECT kolapp.set_counter_hours('tst', 'C1', '2026-02-30', '08:00-12:00')$$,
                 '22023', 'invalid date "2026-02-30"', 'no such date');
SELECT results_eq(format($$SELECT opens, closes FROM kolapp.counter_hours_on(%s, '2026-06-01')$$, :c1),
                  $$VALUES ('09:00'::time, '11:00'::time)$$, 'Monday as it was');

-- Roles: an administrator plans, a report reads, the daemon reads the plan.
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT kolapp.set_counter_hours(''tst'', ''C4'', ''sat'', ''10:00-14:00'')')$$,
                'kolapp_admin sets hours');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT kolapp.set_counter_hours(''tst'', ''C4'', ''sat'', ''closed'')')$$,
                 '42501', NULL, 'kolapp_report may not');

-- Ticket hours (sql/016): the same notation, the same checks.
SELECT is(kolapp.set_queue_hours('tst', 'S', 'mon-fri', '08:00-12:00, 13:00-16:30'), 10,
          'a queue''s ticket hours: ten rows');
SELECT is((SELECT count(*)::int FROM kolapp.queue_hours WHERE queue_id = :qs AND weekday = 1), 2,
          'Monday''s two intervals');
SELECT kolapp.set_queue_hours('tst', 'T', 'daily', '07:30-16:00');
SELECT is((SELECT plan FROM kolapp.d_queue_plans() WHERE queue_id = :qt),
          pg_temp.daily_plan('07:30', '16:00'),
          'd_queue_plans: today''s and tomorrow''s intervals, microseconds, local time');
SELECT is((SELECT plan FROM kolapp.d_queue_plans() WHERE queue_id = :qu), NULL,
          'a queue without ticket hours: NULL');
SELECT kolapp.set_queue_hours('tst', 'T', (now() AT TIME ZONE 'Europe/Stockholm')::date::text, 'closed');
SELECT is(cardinality((SELECT plan FROM kolapp.d_queue_plans() WHERE queue_id = :qt)), 2,
          'a date closed: only tomorrow''s interval');
SELECT throws_ok($$SELECT kolapp.set_queue_hours('tst', 'S', 'mon', '08:00-12:00,11:00-13:00')$$,
                 '22023', 'intervals overlap in "08:00-12:00,11:00-13:00"', 'overlapping ticket hours');
SELECT throws_ok($$SELECT kolapp.set_queue_hours('tst', 'S', '', '08:00-12:00')$$,
                 '22023', 'no days given for queue "S"', 'no days: the queue is named');
SELECT throws_ok($$SELECT kolapp.set_queue_hours('tst', 'Q', 'mon', '08:00-12:00')$$,
                 NULL, NULL, 'no such queue');
SELECT is(kolapp.clear_queue_hours('tst', 'S'), 10, 'clear_queue_hours forgets them');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT kolapp.set_queue_hours(''tst'', ''U'', ''sat'', ''closed'')')$$,
                 '42501', NULL, 'kolapp_report may not set ticket hours');

SELECT * FROM finish();
ROLLBACK;
