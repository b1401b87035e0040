-- Migration 10: each ticket keeps the estimate it was given at issue, and
-- kolapp.estimate_accuracy_daily compares it with the real wait to the
-- first call, on a hand-made day with known answers. Day D is 2024-03-05
-- in Europe/Stockholm (UTC+1 then).
BEGIN;
\ir fixture.psql
SELECT plan(10);

SELECT has_column('kolapp', 'tickets', 'estimated_wait_s', 'tickets keep their estimate');
SELECT has_function('kolapp', 'd_issue',
    ARRAY['integer', 'integer', 'date', 'integer', 'text', 'text', 'timestamp with time zone',
          'boolean', 'text', 'text', 'integer', 'text'],
    'd_issue takes the estimate (and, since migration 12, the visitor hash)');
SELECT throws_ok(format($$SELECT kolapp.d_issue(%s, %s, '2024-03-05', 99, 'S-099', NULL,
    '2024-03-05 08:00+01', false, NULL, NULL, -5)$$, :tst, :qs),
    '23514', NULL, 'a negative estimate is refused');

-- Five S tickets issued at 09:00 with the estimates the daemon gave
-- (NULL: it gave none), called for the first time at the times below.
--   S-001 told 300 s, called after 300 s: exact
--   S-002 told 600 s, called after 500 s: 20 % off (100 / 500)
--   S-003 told 100 s, called after 400 s: 75 % off
--   S-004 told nothing, called after 600 s
--   S-005 told 0 s, called after 30 s: 30 / max(30, 60) = 50 % off
SELECT kolapp.d_issue_many(ARRAY[:tst, :tst, :tst, :tst, :tst], ARRAY[:qs, :qs, :qs, :qs, :qs],
    ARRAY['2024-03-05', '2024-03-05', '2024-03-05', '2024-03-05', '2024-03-05']::date[],
    ARRAY[1, 2, 3, 4, 5], ARRAY['S-001', 'S-002', 'S-003', 'S-004', 'S-005'],
    ARRAY[NULL, NULL, NULL, NULL, NULL]::text[],
    ARRAY['2024-03-05 09:00+01', '2024-03-05 09:00:01+01', '2024-03-05 09:00:02+01',
          '2024-03-05 09:00:03+01', '2024-03-05 09:00:04+01']::timestamptz[],
    ARRAY[false, false, false, false, false], ARRAY[NULL, NULL, NULL, NULL, NULL]::text[],
    ARRAY[NULL, NULL, NULL, NULL, NULL]::text[], ARRAY[300, 600, 100, NULL, 0]);
SELECT is((SELECT array_agg(estimated_wait_s ORDER BY number) FROM kolapp.tickets
            WHERE office_id = :tst AND business_day = '2024-03-05'),
          ARRAY[300, 600, 100, NULL, 0], 'd_issue_many keeps each estimate');

-- First calls (S-001 is recalled later: the first call counts), at
-- counters C1 and C4 in turn; each is finished before the next call.
SELECT kolapp.d_call(:tst, '2024-03-05', 'S-001', :c1, '2024-03-05 09:05:00+01');
SELECT kolapp.d_recall(:tst, '2024-03-05', 'S-001', '2024-03-05 09:20:00+01');
SELECT kolapp.d_set_state(:tst, '2024-03-05', 'S-001', 'done', '2024-03-05 09:21:00+01');
SELECT kolapp.d_call(:tst, '2024-03-05', 'S-002', :c4, '2024-03-05 09:08:21+01');
SELECT kolapp.d_set_state(:tst, '2024-03-05', 'S-002', 'done', '2024-03-05 09:09:00+01');
SELECT kolapp.d_call(:tst, '2024-03-05', 'S-003', :c4, '2024-03-05 09:06:42+01');
SELECT kolapp.d_set_state(:tst, '2024-03-05', 'S-003', 'done', '2024-03-05 09:07:00+01');
SELECT kolapp.d_call(:tst, '2024-03-05', 'S-004', :c1, '2024-03-05 09:10:03+01');
SELECT kolapp.d_set_state(:tst, '2024-03-05', 'S-004', 'no_show', '2024-03-05 09:12:00+01');
SELECT kolapp.d_call(:tst, '2024-03-05', 'S-005', :c1, '2024-03-05 09:00:34+01');
SELECT kolapp.d_set_state(:tst, '2024-03-05', 'S-005', 'done', '2024-03-05 09:01:00+01');

CREATE TEMP TABLE acc AS
    SELECT * FROM kolapp.estimate_accuracy_daily WHERE office = 'tst' AND day = '2024-03-05';
SELECT is((SELECT count(*)::int FROM acc), 1, 'one row for the queue and day');
SELECT is((SELECT called::int FROM acc), 5, 'five tickets were called');
SELECT is((SELECT estimated::int FROM acc), 4, 'four of them had an estimate');
-- Errors of the four: 0, 20, 75, 50 %: median 35 %.
SELECT is((SELECT median_error_pct FROM acc), 35::numeric, 'the median error');
SELECT is((SELECT (within_20_pct, within_50_pct) FROM acc), (50::numeric, 75::numeric),
          'two of four within 20 %, three within 50 %');
-- Signed errors 0, +100, -300, -30: mean -57.5 s.
SELECT is((SELECT bias_s FROM acc), -57.5, 'the bias, in seconds');

SELECT * FROM finish();
ROLLBACK;
