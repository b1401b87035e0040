-- The daemon's functions added by migration 2, and retention.
BEGIN;
\ir fixture.psql
SELECT plan(31);

-- d_token_lookup / d_token_used
SELECT kolapp.create_token('counter', 'tst', 'C1') AS tok \gset
SELECT id AS tid FROM kolapp.tokens WHERE counter_id = :c1 \gset
SELECT results_eq(format($$SELECT * FROM kolapp.d_token_lookup(sha256(convert_to(%L, 'UTF8')))$$, :'tok'),
    format($$VALUES (%s, 'counter'::text, %s, 'tst'::text, %s, 'C1'::text)$$, :tid, :tst, :c1),
    'd_token_lookup returns the id first, then role, office and counter');
SELECT is((SELECT array_agg(p ORDER BY o) FROM unnest((SELECT proargnames FROM pg_proc WHERE oid = 'kolapp.d_token_lookup(bytea)'::regprocedure)) WITH ORDINALITY x(p, o) WHERE o > 1),
    ARRAY['token_id', 'role', 'office_id', 'office_code', 'counter_id', 'counter_name'], 'd_token_lookup column names');
SELECT is((SELECT count(*)::int FROM kolapp.d_token_lookup(sha256(convert_to('kt_nope', 'UTF8')))), 0, 'd_token_lookup: unknown token, no row');
SELECT lives_ok(format($$SELECT kolapp.d_token_used(%s, '192.0.2.7')$$, :tid), 'd_token_used');
SELECT results_eq(format('SELECT last_used_from, last_used_at = now() FROM kolapp.tokens WHERE id = %s', :tid),
    $$VALUES ('192.0.2.7'::text, true)$$, 'd_token_used records when and from where');
SELECT lives_ok($$SELECT kolapp.d_token_used(-1, 'x')$$, 'd_token_used of an unknown token is a no-op');

-- d_counter_set_open
SELECT lives_ok(format($$SELECT kolapp.d_counter_set_open(%s, true, '2024-03-01 08:00+01')$$, :c1), 'd_counter_set_open with a time');
SELECT lives_ok(format($$SELECT kolapp.d_counter_set_open(%s, false, now())$$, :c1), 'd_counter_set_open, closing');
SELECT results_eq(format('SELECT office_id, at, open FROM kolapp.counter_events WHERE counter_id = %s ORDER BY id', :c1),
    format($$VALUES (%s, '2024-03-01 08:00+01'::timestamptz, true), (%s, now(), false)$$, :tst, :tst),
    'each call appends an event');
SELECT is((SELECT open FROM kolapp.counters WHERE id = :c1), false, 'counters.open follows');
SELECT throws_ok($$SELECT kolapp.d_counter_set_open(-1, true, now())$$, 'P0002', 'no counter with id -1', 'd_counter_set_open: unknown counter');
SELECT hasnt_function('kolapp', 'd_counter_set_open', ARRAY['integer', 'boolean'],
    'the 2-argument d_counter_set_open is gone (migration 8): kolappd calls the 3-argument one');
SELECT throws_ok(format($$SELECT kolapp.d_counter_set_open(%s, NULL, now())$$, :c1), '22023', NULL, 'd_counter_set_open: NULL open');

-- purge_history: 40-day-old tickets with events, plus an unfinished one
SELECT kolapp.d_issue(:tst, :qs, :'today'::date - 40, 1, 'S-001', 'old-key', now() - interval '40 days', false, NULL, NULL);
SELECT kolapp.d_call(:tst, :'today'::date - 40, 'S-001', :c1, now() - interval '40 days');
SELECT kolapp.d_recall(:tst, :'today'::date - 40, 'S-001', now() - interval '40 days');
SELECT kolapp.d_set_state(:tst, :'today'::date - 40, 'S-001', 'done', now() - interval '40 days');
SELECT kolapp.d_issue(:tst, :qs, :'today'::date - 40, 2, 'S-002', NULL, now() - interval '40 days', false, NULL, NULL);
SELECT kolapp.d_issue(:tst, :qs, :'today'::date - 40, 3, 'S-003', NULL, now() - interval '40 days', false, NULL, NULL);
SELECT kolapp.d_set_state(:tst, :'today'::date - 40, 'S-003', 'cancelled', now() - interval '40 days');
SELECT kolapp.d_issue(:tst, :qs, :'today', 1, 'S-001', 'new-key', now(), false, NULL, NULL);
INSERT INTO kolapp.counter_events (counter_id, office_id, at, open) VALUES (:c2, :tst, now() - interval '40 days', true);

SELECT throws_ok($$SELECT kolapp.purge_history(0)$$, '22023', 'older_than_days must be at least 1 (got 0)', 'purge_history refuses 0 days');
SELECT throws_ok($$SELECT kolapp.purge_history(NULL)$$, '22023', NULL, 'purge_history refuses NULL');
SELECT throws_ok($$SELECT kolapp.purge_history(30, NULL)$$, '22023', NULL, 'purge_history refuses a NULL anonymise');
SELECT is(kolapp.purge_history(30, anonymise => true), 1::bigint, 'anonymise: one ticket had something to clear');
SELECT results_eq($$SELECT count(*)::int, count(idem_key)::int FROM kolapp.tickets$$, $$VALUES (4, 1)$$, 'anonymise keeps the tickets, clears the old key only');
SELECT is((SELECT count(detail)::int FROM kolapp.ticket_events e JOIN kolapp.tickets t ON t.id = e.ticket_id WHERE t.code = 'S-001' AND t.business_day < :'today'::date - 30), 0, 'anonymise clears the event details');
SELECT is(kolapp.purge_history(30, true), 0::bigint, 'anonymise twice: nothing left to clear');
SELECT is(kolapp.purge_history(50), 0::bigint, 'nothing is older than 50 days');
SELECT is(kolapp.purge_history(older_than_days => 30), 2::bigint, 'purge deletes the two finished old tickets');
SELECT results_eq(format($$SELECT code, business_day = %L::date FROM kolapp.tickets ORDER BY id$$, :'today'),
    $$VALUES ('S-002'::text, false), ('S-001', true)$$, 'the unfinished old ticket and today''s stay');
SELECT is((SELECT count(*)::int FROM kolapp.ticket_events e JOIN kolapp.tickets t ON t.id = e.ticket_id), (SELECT count(*)::int FROM kolapp.ticket_events), 'no event is left without its ticket');
SELECT is((SELECT count(*)::int FROM kolapp.counter_events WHERE counter_id = :c2), 0, 'old counter history goes too');
SELECT is(current_setting('kolapp.purging', true), 'off', 'purge_history leaves the purge switch off');
SELECT throws_ok($$DELETE FROM kolapp.ticket_events$$, '42501', NULL, 'after a purge, deleting by hand is refused again');

-- The load statements read times as microseconds through date_part's
-- float8 (daemon/store/statements.c, US()): as exact as extract's numeric
-- for times until 2106 (then float8's 53 bits fall short of a microsecond;
-- milliseconds, say, would differ here already).
SELECT is((SELECT count(*) FROM (
              SELECT now() - g * interval '29 hours' + (g * 7919 % 1000000) * interval '1 microsecond' AS t
                FROM generate_series(-22000, 22000) g) x
            WHERE (date_part('epoch', t) * 1000000)::int8 <> (extract(epoch FROM t) * 1000000)::int8),
          0::bigint, 'microseconds through date_part equal extract''s, now -73 to +73 years');

-- d_load_days (migration 17): the days of each office the start-up load
-- reads all tickets of: its own day as of an hour ago, to the server's
-- tomorrow.
SELECT is((SELECT min(day) FROM kolapp.d_load_days() WHERE office_id = :tst),
          ((now() - interval '1 hour') AT TIME ZONE 'Europe/Stockholm')::date,
          'd_load_days: from the office''s own day, an hour ago');
SELECT is((SELECT array_agg(day ORDER BY day) = array_agg(DISTINCT day ORDER BY day)
                  AND max(day) = current_date + 1
                  AND bool_and(day >= current_date - 1)
             FROM kolapp.d_load_days() WHERE office_id = :oth),
          true, 'd_load_days: each day once, until the server''s tomorrow');
-- A zone the server's time-zone data no longer has (the check that
-- admitted it is dropped here, inside this test's transaction): the
-- server's yesterday in UTC, not an error that would fail the load.
ALTER TABLE kolapp.offices DROP CONSTRAINT offices_timezone_valid;
UPDATE kolapp.offices SET timezone = 'US/Gone' WHERE id = :oth;
SELECT is((SELECT min(day) FROM kolapp.d_load_days() WHERE office_id = :oth),
          (now() AT TIME ZONE 'UTC')::date - 1,
          'd_load_days: an unknown zone gives yesterday in UTC');
SELECT * FROM finish();
ROLLBACK;
