-- The configuration functions and daemon functions of migration 1, and the
-- configuration tables' own constraints (still there, now behind
-- SECURITY DEFINER functions).
BEGIN;
\ir fixture.psql
SELECT plan(52);

-- add_office
SELECT ok(kolapp.add_office('new-1', 'New office', 'Europe/Paris') > 0, 'add_office');
SELECT throws_ok($$SELECT kolapp.add_office('New', 'x', 'UTC')$$, '22023', 'invalid office code "New"', 'add_office: uppercase code');
SELECT throws_ok($$SELECT kolapp.add_office(NULL, 'x', 'UTC')$$, '22023', 'invalid office code "NULL"', 'add_office: NULL code');
SELECT throws_ok($$SELECT kolapp.add_office('n2', ' ', 'UTC')$$, '22023', 'invalid office name: it must have 1 to 200 characters', 'add_office: blank name');
SELECT throws_ok($$SELECT kolapp.add_office('n2', 'x', 'Mars/Olympus')$$, '22023', 'unknown time zone "Mars/Olympus"', 'add_office: unknown zone');
SELECT throws_ok($$SELECT kolapp.add_office('n2', 'x', 'UTC+3')$$, '22023', 'unknown time zone "UTC+3"', 'add_office: POSIX offset');
SELECT throws_ok($$SELECT kolapp.add_office('tst', 'x', 'UTC')$$, '23505', 'office "tst" already exists', 'add_office: duplicate');
SELECT is(kolapp.office_id_of('tst'), :tst, 'office_id_of');
SELECT throws_ok($$SELECT kolapp.office_id_of('zz')$$, 'P0002', 'unknown office "zz"', 'office_id_of: unknown');
SELECT is(kolapp.office_today(:tst), (now() AT TIME ZONE 'Europe/Stockholm')::date, 'office_today is the local date');
SELECT is(kolapp.queue_id_of('tst', 'S'), :qs, 'queue_id_of');
SELECT is(kolapp.counter_id_of('tst', 'C1'), :c1, 'counter_id_of');
SELECT throws_ok($$SELECT kolapp.counter_id_of('tst', 'X1')$$, 'P0002', 'unknown counter "X1" in office "tst"', 'counter_id_of: counter of another office');

-- add_queue
SELECT ok(kolapp.add_queue('tst', 'TAX1', 'Taxes 1') > 0, 'add_queue');
SELECT is((SELECT open AND active FROM kolapp.queues WHERE code = 'TAX1'), true, 'a new queue is open and active');
SELECT throws_ok($$SELECT kolapp.add_queue('tst', 's', 'x')$$, '22023', 'invalid queue code "s"', 'add_queue: lowercase');
SELECT throws_ok($$SELECT kolapp.add_queue('tst', 'ABCDE', 'x')$$, '22023', 'invalid queue code "ABCDE"', 'add_queue: too long');
SELECT throws_ok($$SELECT kolapp.add_queue('tst', 'V', '')$$, '22023', 'invalid queue name: it must have 1 to 200 characters', 'add_queue: empty name');
SELECT throws_ok($$SELECT kolapp.add_queue('tst', 'S', 'x')$$, '23505', 'queue "S" already exists in office "tst"', 'add_queue: duplicate');
SELECT throws_ok($$SELECT kolapp.add_queue('zz', 'V', 'x')$$, 'P0002', 'unknown office "zz"', 'add_queue: unknown office');

-- add_counter
SELECT ok(kolapp.add_counter('tst', 'C5', ARRAY['U', 'S']) > 0, 'add_counter');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', ' C6', ARRAY['S'])$$, '22023', 'invalid counter name " C6"', 'add_counter: bad name');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', 'C6', ARRAY[]::text[])$$, '22023', 'counter "C6" must serve at least one queue', 'add_counter: no queue');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', 'C6', ARRAY['S', NULL])$$, '22023', 'the queue list of counter "C6" contains NULL', 'add_counter: NULL queue');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', 'C6', ARRAY['S', 'S'])$$, '22023', 'the queue list of counter "C6" names a queue twice: {S,S}', 'add_counter: queue twice');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', 'C1', ARRAY['S'])$$, '23505', 'counter "C1" already exists in office "tst"', 'add_counter: duplicate');
SELECT throws_ok($$SELECT kolapp.add_counter('tst', 'C6', ARRAY['Q'])$$, 'P0002', 'unknown queue "Q" in office "tst"', 'add_counter: unknown queue');

-- create_token / revoke_token
SELECT kolapp.create_token('admin', 'tst') AS tok \gset
SELECT matches(:'tok'::text, '^kt_[0-9a-f]{64}$', 'create_token returns kt_ and 64 hex digits');
SELECT is((SELECT count(*)::int FROM kolapp.tokens WHERE hash = sha256(convert_to(:'tok', 'UTF8'))), 1, 'only the hash is stored');
SELECT throws_ok($$SELECT kolapp.create_token('root', 'tst')$$, '22023', 'unknown role "root"', 'create_token: unknown role');
SELECT throws_ok($$SELECT kolapp.create_token('counter', 'tst')$$, '22023', 'a counter token needs a counter', 'create_token: counter without counter');
SELECT throws_ok($$SELECT kolapp.create_token('counter', 'tst', 'X1')$$, 'P0002', 'unknown counter "X1" in office "tst"', 'create_token: counter of another office');
SELECT throws_ok($$SELECT kolapp.create_token('kiosk', 'tst', 'C1')$$, '22023', 'a kiosk token is not bound to a counter: leave counter out', 'create_token: kiosk with a counter');
SELECT throws_ok($$SELECT kolapp.create_token('kiosk', 'zz')$$, 'P0002', 'unknown office "zz"', 'create_token: unknown office');
SELECT is(kolapp.revoke_token(:'tok'), true, 'revoke_token');
SELECT is(kolapp.revoke_token(:'tok'), false, 'revoke_token twice says false');
SELECT throws_ok($$SELECT kolapp.revoke_token('kt_00')$$, 'P0002', 'no such token', 'revoke_token: unknown');
SELECT throws_ok($$SELECT kolapp.revoke_token(NULL)$$, '22023', 'no token given', 'revoke_token: NULL');

-- configuration tables
SELECT throws_ok(format($$UPDATE kolapp.queues SET office_id = %s WHERE id = %s$$, :oth, :qs), '0A000', NULL, 'a queue cannot move to another office');
SELECT throws_ok(format($$UPDATE kolapp.counters SET office_id = %s WHERE id = %s$$, :oth, :c1), '0A000', NULL, 'a counter cannot move to another office');
SELECT throws_ok(format($$INSERT INTO kolapp.counter_queues VALUES (%s, %s, 1)$$, :c1, :qos), '23503', NULL, 'a counter serves queues of its own office only');
SELECT throws_ok(format($$INSERT INTO kolapp.counter_queues VALUES (%s, %s, 0)$$, :c2, :qs), '23514', NULL, 'rank must be positive');
SELECT throws_ok(format($$INSERT INTO kolapp.tokens (hash, role, office_id) VALUES (sha256('x'), 'counter', %s)$$, :tst), '23514', NULL, 'a counter token has a counter');
SELECT throws_ok(format($$INSERT INTO kolapp.tokens (hash, role, office_id, counter_id) VALUES (sha256('x'), 'counter', %s, %s)$$, :tst, :cx), '23503', NULL, 'a token''s counter is of its office');
SELECT throws_ok(format($$INSERT INTO kolapp.offices (code, name, timezone) VALUES ('bad', 'x', 'Nowhere/City')$$), '23514', NULL, 'an office''s time zone is checked by the table too');

-- daemon functions of migration 1: their refusals
SELECT kolapp.d_issue(:tst, :qs, :'today', 1, 'S-001', NULL, now(), false, NULL, NULL);
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-999', %s, now())$$, :tst, :'today', :c1), 'P0002', NULL, 'd_call: no such ticket');
SELECT throws_ok(format($$SELECT kolapp.d_recall(%s, %L, 'S-001', now())$$, :tst, :'today'), '55000', 'cannot recall: ticket S-001 is waiting, expected called', 'd_recall: wrong state');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'served', now())$$, :tst, :'today'), '22023', NULL, 'd_set_state: unknown state');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'done', now())$$, :tst, :'today'), '55000', NULL, 'd_set_state: done from waiting');
SELECT throws_ok(format($$SELECT kolapp.d_transfer(%s, %L, 'S-001', %s, now())$$, :tst, :'today', :qt), '55000', NULL, 'd_transfer: from waiting');
SELECT throws_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 1, 'S-001', NULL, now(), false, NULL, NULL)$$, :tst, :qs, :'today'), '23505', NULL, 'd_issue: the same number twice');
SELECT is(kolapp.d_expire(:tst, :'today'::date + 1, now()), 1, 'd_expire expires what is left of earlier days');

SELECT * FROM finish();
ROLLBACK;
