-- Migration 11: bookings, the check-in window, the booking role, the
-- daemon's booking writes, the views and every error of the functions.
BEGIN;
\ir fixture.psql
SELECT plan(61);

-- ---- the table ------------------------------------------------------
SELECT has_table('kolapp', 'bookings', 'bookings exist');
SELECT has_column('kolapp', 'tickets', 'appointment', 'tickets keep their appointment');
SELECT col_default_is('kolapp', 'offices', 'checkin_before_s', '1800',
    'the window opens 30 minutes before by default');
SELECT col_default_is('kolapp', 'offices', 'checkin_after_s', '600',
    'and closes 10 minutes after');
SELECT hasnt_column('kolapp', 'bookings', 'name', 'no visitor name is stored');

SELECT kolapp.add_booking('tst', 'S', now() + interval '2 days', 30, 'so', 'AF-2024-77') AS b1 \gset
SELECT matches(:'b1'::text, '^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}$',
    'add_booking returns 8 characters of the booking alphabet');
SELECT results_eq(format($$SELECT o.code, q.code, b.minutes, b.interpreter, b.reference, b.state
    FROM kolapp.bookings b JOIN kolapp.offices o ON o.id = b.office_id
    JOIN kolapp.queues q ON q.id = b.queue_id WHERE b.code = %L$$, :'b1'),
    $$VALUES ('tst'::text, 'S'::text, 30, 'so'::text, 'AF-2024-77'::text, 'booked'::text)$$::text,
    'the booking is stored as given');
SELECT kolapp.add_booking('tst', 'T', now() + interval '1 hour') AS bdef \gset
SELECT is((SELECT minutes FROM kolapp.bookings WHERE code = :'bdef'), 15,
    'minutes default to 15');

SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at)
    VALUES (%s, %s, 'ABCDEFGH', now() + interval '1 day')$$, :oth, :qs),
    '23503', NULL, 'a booking for a queue of another office is refused');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at)
    VALUES (%s, %s, 'ABCDEFGI', now() + interval '1 day')$$, :tst, :qs),
    '23514', NULL, 'I is not in the booking alphabet');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at)
    VALUES (%s, %s, 'ABCDEFG', now() + interval '1 day')$$, :tst, :qs),
    '23514', NULL, 'a code has 8 characters');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at)
    VALUES (%s, %s, %L, now() + interval '1 day')$$, :tst, :qs, :'b1'),
    '23505', NULL, 'codes are unique');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at)
    VALUES (%s, %s, 'ABCDEFGK', now() - interval '1 second')$$, :tst, :qs),
    '23514', NULL, 'a booking cannot start in the past at booking time');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at, minutes)
    VALUES (%s, %s, 'ABCDEFGK', now() + interval '1 day', 241)$$, :tst, :qs),
    '23514', NULL, 'minutes are at most 240');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at, reference)
    VALUES (%s, %s, 'ABCDEFGK', now() + interval '1 day', repeat('x', 65))$$, :tst, :qs),
    '23514', NULL, 'a reference has at most 64 characters');
SELECT throws_ok(format($$INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at, state)
    VALUES (%s, %s, 'ABCDEFGK', now() + interval '1 day', 'checked_in')$$, :tst, :qs),
    '23514', NULL, 'a new booking is booked');
SELECT throws_ok(format($$UPDATE kolapp.bookings SET state = 'served' WHERE code = %L$$, :'b1'),
    '23514', NULL, 'booked -> served is not a transition');
SELECT throws_ok(format($$UPDATE kolapp.bookings SET code = 'ABCDEFGK' WHERE code = %L$$, :'b1'),
    '23514', NULL, 'a booking''s code cannot change');
SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day') AS bmove \gset
UPDATE kolapp.bookings SET starts_at = now() - interval '1 hour' WHERE code = :'bmove';
SELECT is((SELECT starts_at FROM kolapp.bookings WHERE code = :'bmove'), now() - interval '1 hour',
    'an administrator may move a booking later, even into the past');

-- ---- add_booking's errors --------------------------------------------
SELECT throws_ok($$SELECT kolapp.add_booking('nope', 'S', now() + interval '1 day')$$,
    'P0002', 'unknown office "nope"', 'add_booking: unknown office');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'X', now() + interval '1 day')$$,
    'P0002', 'unknown queue "X" in office "tst"', 'add_booking: unknown queue');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', NULL)$$,
    '22023', 'starts_at is missing', 'add_booking: no start');
SELECT throws_like($$SELECT kolapp.add_booking('tst', 'S', now() - interval '1 minute')$$,
    '%is in the past', 'add_booking: a start in the past');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 4)$$,
    '22023', 'minutes must be 5 to 240 (got 4)', 'add_booking: too short');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 241)$$,
    '22023', 'minutes must be 5 to 240 (got 241)', 'add_booking: too long');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', NULL)$$,
    '22023', 'minutes must be 5 to 240 (got NULL)', 'add_booking: NULL minutes');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 15, 'SO')$$,
    '22023', 'interpreter must be a two-letter language code such as so (got "SO")',
    'add_booking: a bad language');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 15, NULL,
    repeat('r', 65))$$,
    '22023', 'reference must have 1 to 64 characters', 'add_booking: a long reference');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 15, NULL,
    '19850101-1234')$$,
    '22023', 'reference looks like a personal number or a phone number',
    'add_booking: a personal number as reference');
SELECT throws_ok($$SELECT kolapp.add_booking('tst', 'S', now() + interval '1 day', 15, NULL,
    'tel 0701234567')$$,
    '22023', 'reference looks like a personal number or a phone number',
    'add_booking: a phone number as reference');

-- ---- cancel_booking ---------------------------------------------------
SELECT kolapp.add_booking('tst', 'S', now() + interval '3 hours') AS b2 \gset
SELECT ok(kolapp.cancel_booking(lower(:'b2')), 'cancel_booking cancels (any case)');
SELECT is((SELECT state FROM kolapp.bookings WHERE code = :'b2'), 'cancelled', 'now cancelled');
SELECT ok(NOT kolapp.cancel_booking(:'b2'), 'cancelling twice says false');
SELECT throws_ok($$SELECT kolapp.cancel_booking('ZZZZZZZZ')$$,
    'P0002', 'unknown booking "ZZZZZZZZ"', 'cancel_booking: unknown code');

-- ---- set_checkin_window -----------------------------------------------
SELECT lives_ok($$SELECT kolapp.set_checkin_window('tst', 900, 300)$$, 'set_checkin_window');
SELECT results_eq(format('SELECT checkin_before_s, checkin_after_s FROM kolapp.offices WHERE id = %s',
    :tst), $$VALUES (900, 300)$$::text, 'the window is stored');
SELECT throws_ok($$SELECT kolapp.set_checkin_window('nope', 900, 300)$$,
    'P0002', 'unknown office "nope"', 'set_checkin_window: unknown office');
SELECT throws_ok($$SELECT kolapp.set_checkin_window('tst', -1, 300)$$,
    '22023', 'before_s must be 0 to 14400 seconds (got -1)', 'set_checkin_window: negative');
SELECT throws_ok($$SELECT kolapp.set_checkin_window('tst', 900, 14401)$$,
    '22023', 'after_s must be 0 to 14400 seconds (got 14401)', 'set_checkin_window: too long');
SELECT throws_ok($$SELECT kolapp.set_checkin_window('tst', NULL, 300)$$,
    '22023', 'before_s must be 0 to 14400 seconds (got NULL)', 'set_checkin_window: NULL');
SELECT is(kolapp.config_payload('bookings', 'UPDATE', 1, :tst),
    format('{"table":"bookings","op":"UPDATE","id":1,"office_id":%s}', :tst),
    'psql changes to bookings notify the daemon like the configuration');

-- ---- the booking role -------------------------------------------------
SELECT matches(kolapp.create_token('booking', 'tst'), '^kt_', 'a booking token can be made');
SELECT throws_ok($$SELECT kolapp.create_token('booking', 'tst', 'C1')$$,
    '22023', 'a booking token is not bound to a counter: leave counter out',
    'a booking token has no counter');
SELECT is((SELECT role FROM kolapp.tokens ORDER BY id DESC LIMIT 1), 'booking',
    'the tokens table takes the role');

-- ---- the daemon's writes ---------------------------------------------
SELECT lives_ok(format($$SELECT kolapp.d_book(%s, %s, 'KKKKKKKK', now() + interval '20 min', 20,
    'ar', 'REF-1', now())$$, :tst, :qs), 'd_book');
SELECT throws_ok(format($$SELECT kolapp.d_book(%s, %s, 'KKKKKKKM', now() - interval '1 min', 20,
    NULL, NULL, now())$$, :tst, :qs), '22023', NULL, 'd_book refuses a start in the past');
SELECT lives_ok(format($$SELECT kolapp.d_check_in(%s, %s, %L, 900, 'S-900', now(), 'ar',
    'KKKKKKKK', 120)$$, :tst, :qs, :'today'), 'd_check_in');
SELECT results_eq(format($$SELECT t.state, t.appointment = b.starts_at, t.interpreter, b.state,
    b.checked_in_at IS NOT NULL FROM kolapp.bookings b JOIN kolapp.tickets t ON t.id = b.ticket_id
    WHERE b.code = 'KKKKKKKK'$$),
    $$VALUES ('waiting'::text, true, 'ar'::text, 'checked_in'::text, true)$$::text,
    'a waiting ticket with the appointment, and the booking points at it');
SELECT throws_ok(format($$SELECT kolapp.d_check_in(%s, %s, %L, 901, 'S-901', now(), NULL,
    'KKKKKKKK', NULL)$$, :tst, :qs, :'today'), '55000', NULL, 'd_check_in twice fails');
SELECT throws_ok(format($$SELECT kolapp.d_unbook(%s, 'KKKKKKKK', now())$$, :tst),
    '55000', NULL, 'd_unbook of a checked-in booking fails');
SELECT kolapp.d_call(:tst, :'today', 'S-900', :c1, now());
SELECT kolapp.d_set_state(:tst, :'today', 'S-900', 'done', now());
SELECT is((SELECT state FROM kolapp.bookings WHERE code = 'KKKKKKKK'), 'served',
    'the ticket done: the booking was served');
SELECT throws_ok($$SELECT kolapp.cancel_booking('KKKKKKKK')$$,
    '55000', 'booking KKKKKKKK is served: only a booked one can be cancelled',
    'cancel_booking: a booking already used');

SELECT kolapp.d_book(:tst, :qs, 'MMMMMMMM', now() + interval '1 hour', 15, NULL, NULL, now());
SELECT lives_ok(format($$SELECT kolapp.d_unbook(%s, 'MMMMMMMM', now())$$, :tst), 'd_unbook');
SELECT throws_ok(format($$SELECT kolapp.d_unbook(%s, 'MMMMMMMM', now())$$, :tst),
    '55000', NULL, 'd_unbook twice fails');

-- no-shows: a booking whose window (300 s after, set above) has closed
SELECT kolapp.d_book(:tst, :qu, 'NNNNNNNN', now() + interval '1 hour', 15, 'ti', 'REF-9', now());
UPDATE kolapp.bookings SET starts_at = now() - interval '301 seconds' WHERE code = 'NNNNNNNN';
SELECT kolapp.d_book(:tst, :qu, 'PPPPPPPP', now() + interval '1 hour', 15, NULL, NULL, now());
UPDATE kolapp.bookings SET starts_at = now() - interval '299 seconds' WHERE code = 'PPPPPPPP';
SELECT results_eq($$SELECT code FROM kolapp.booking_no_shows WHERE office = 'tst' AND code IN
    ('NNNNNNNN', 'PPPPPPPP')$$, $$VALUES ('NNNNNNNN'::text)$$::text,
    'the view counts a booking past its window as a no-show before the daemon does');
SELECT is(kolapp.d_bookings_no_show(:tst, now()), 2,
    'd_bookings_no_show marks those past the window (this one and the one moved an hour back)');
SELECT results_eq($$SELECT code, state FROM kolapp.bookings WHERE code IN ('NNNNNNNN', 'PPPPPPPP')
    ORDER BY code$$, $$VALUES ('NNNNNNNN'::text, 'no_show'::text), ('PPPPPPPP', 'booked')$$::text,
    'and leaves one still in its window');

-- ---- views -----------------------------------------------------------
SELECT kolapp.add_booking('tst', 'S', (date_trunc('day', now() AT TIME ZONE 'Europe/Stockholm')
    + interval '1 day 10 hours') AT TIME ZONE 'Europe/Stockholm', 30, 'so');
SELECT kolapp.add_booking('tst', 'T', (date_trunc('day', now() AT TIME ZONE 'Europe/Stockholm')
    + interval '1 day 10 hours 30 minutes') AT TIME ZONE 'Europe/Stockholm', 45, 'so');
SELECT kolapp.add_booking('tst', 'S', (date_trunc('day', now() AT TIME ZONE 'Europe/Stockholm')
    + interval '9 days 10 hours') AT TIME ZONE 'Europe/Stockholm', 30, 'so');
SELECT results_eq($$SELECT hour, language, bookings, minutes, tomorrow FROM kolapp.interpreters_ahead
    WHERE office = 'tst' AND day = (now() AT TIME ZONE 'Europe/Stockholm')::date + 1$$,
    $$VALUES (10, 'so'::text, 2::bigint, 75::bigint, true)$$::text,
    'interpreters ahead: tomorrow''s Somali bookings at 10, counted and summed');
SELECT is((SELECT count(*) FROM kolapp.interpreters_ahead WHERE office = 'tst'
            AND day > (now() AT TIME ZONE 'Europe/Stockholm')::date + 7), 0::bigint,
    'interpreters ahead: a week at most');
SELECT results_eq(format($$SELECT booked, cancelled, checked_in, on_time, late, no_show,
    wait_after_start_median_s IS NOT NULL FROM kolapp.bookings_daily
    WHERE office = 'tst' AND queue = 'U'
      AND day = (SELECT day FROM kolapp.booking_states WHERE code = 'NNNNNNNN')$$),
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 1::bigint, false)$$::text,
    'bookings_daily: the day''s U bookings, one no-show');

-- ---- retention --------------------------------------------------------
UPDATE kolapp.bookings SET starts_at = now() - interval '40 days' WHERE code = 'NNNNNNNN';
SELECT kolapp.purge_history(30);
SELECT is((SELECT count(*) FROM kolapp.bookings WHERE code = 'NNNNNNNN'), 0::bigint,
    'purge_history purges old bookings');

SELECT * FROM finish();
ROLLBACK;
