-- Administration functions: each success and each refusal.
BEGIN;
\ir fixture.psql
SELECT plan(74);

-- open_queue / close_queue
SELECT is(kolapp.close_queue('tst', 'S'), true, 'close_queue closes an open queue');
SELECT is((SELECT open FROM kolapp.queues WHERE id = :qs), false, 'the queue is closed');
SELECT is(kolapp.close_queue('tst', 'S'), false, 'close_queue on a closed queue says false');
SELECT is(kolapp.open_queue('tst', 'S'), true, 'open_queue reopens it');
SELECT is((SELECT open FROM kolapp.queues WHERE id = :qs), true, 'the queue is open');
SELECT is(kolapp.open_queue(office => 'tst', queue => 'S'), false, 'open_queue on an open queue says false (named arguments)');
SELECT throws_ok($$SELECT kolapp.open_queue('nope', 'S')$$, 'P0002', 'unknown office "nope"', 'open_queue: unknown office');
SELECT throws_ok($$SELECT kolapp.open_queue('tst', 'Z')$$, 'P0002', 'unknown queue "Z" in office "tst"', 'open_queue: unknown queue');
SELECT throws_ok($$SELECT kolapp.close_queue('tst', NULL)$$, 'P0002', 'unknown queue "NULL" in office "tst"', 'close_queue: NULL queue');
SELECT throws_ok($$SELECT kolapp.close_queue('oth', 'T')$$, 'P0002', 'unknown queue "T" in office "oth"', 'close_queue: queue of another office');

-- rename_queue
SELECT lives_ok($$SELECT kolapp.rename_queue('tst', 'S', 'Social benefits')$$, 'rename_queue works');
SELECT is((SELECT name FROM kolapp.queues WHERE id = :qs), 'Social benefits', 'the queue has its new name');
SELECT throws_ok($$SELECT kolapp.rename_queue('tst', 'S', '  ')$$, '22023', 'invalid queue name: it must have 1 to 200 characters', 'rename_queue: blank name');
SELECT throws_ok($$SELECT kolapp.rename_queue('tst', 'S', NULL)$$, '22023', NULL, 'rename_queue: NULL name');
SELECT throws_ok($$SELECT kolapp.rename_queue('tst', 'S', repeat('x', 201))$$, '22023', NULL, 'rename_queue: name too long');
SELECT throws_ok($$SELECT kolapp.rename_queue('tst', 'Q', 'x')$$, 'P0002', NULL, 'rename_queue: unknown queue');

-- rename_counter
SELECT lives_ok($$SELECT kolapp.rename_counter('tst', 'C1', 'Desk 1')$$, 'rename_counter works');
SELECT is((SELECT name FROM kolapp.counters WHERE id = :c1), 'Desk 1', 'the counter has its new name');
SELECT throws_ok($$SELECT kolapp.rename_counter('tst', 'Desk 1', 'C2')$$, '23505', 'counter "C2" already exists in office "tst"', 'rename_counter: duplicate name');
SELECT lives_ok($$SELECT kolapp.rename_counter('tst', 'Desk 1', 'X1')$$, 'rename_counter: a name used in another office is fine');
SELECT lives_ok($$SELECT kolapp.rename_counter('tst', 'X1', 'X1')$$, 'rename_counter: to its own name is fine');
SELECT throws_ok($$SELECT kolapp.rename_counter('tst', 'X1', '-bad')$$, '22023', 'invalid counter name "-bad"', 'rename_counter: bad name');
SELECT throws_ok($$SELECT kolapp.rename_counter('tst', 'X1', NULL)$$, '22023', 'invalid counter name "NULL"', 'rename_counter: NULL name');
SELECT throws_ok($$SELECT kolapp.rename_counter('tst', 'nope', 'C9')$$, 'P0002', 'unknown counter "nope" in office "tst"', 'rename_counter: unknown counter');
SELECT throws_ok($$SELECT kolapp.rename_counter('zzz', 'C2', 'C9')$$, 'P0002', 'unknown office "zzz"', 'rename_counter: unknown office');
SELECT kolapp.rename_counter('tst', 'X1', 'C1');

-- set_counter_queues
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['U', 'S', 'T'])$$, 'set_counter_queues without ranks');
SELECT results_eq(format('SELECT q.code, cq.rank FROM kolapp.counter_queues cq JOIN kolapp.queues q ON q.id = cq.queue_id WHERE cq.counter_id = %s ORDER BY cq.rank', :c2),
    $$VALUES ('U', 1), ('S', 2), ('T', 3)$$, 'ranks default to 1, 2, 3 and the list is replaced');
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['T', 'S'], ARRAY[1, 1])$$, 'set_counter_queues with equal ranks');
SELECT results_eq(format('SELECT q.code, cq.rank FROM kolapp.counter_queues cq JOIN kolapp.queues q ON q.id = cq.queue_id WHERE cq.counter_id = %s ORDER BY q.code', :c2),
    $$VALUES ('S', 1), ('T', 1)$$, 'the given ranks are stored, U is gone');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY[]::text[])$$, '22023', 'counter "C2" must serve at least one queue', 'set_counter_queues: empty list');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', NULL)$$, '22023', NULL, 'set_counter_queues: NULL list');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', NULL])$$, '22023', 'the queue list of counter "C2" contains NULL', 'set_counter_queues: NULL in the list');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', 'S'])$$, '22023', 'the queue list of counter "C2" names a queue twice: {S,S}', 'set_counter_queues: duplicate queue');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', 'T'], ARRAY[1])$$, '22023', '2 queues but 1 ranks', 'set_counter_queues: rank count');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', 'T'], ARRAY[1, 0])$$, '22023', 'ranks must be positive integers: {1,0}', 'set_counter_queues: rank 0');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', 'T'], ARRAY[1, NULL])$$, '22023', NULL, 'set_counter_queues: NULL rank');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C2', ARRAY['S', 'Q'])$$, 'P0002', 'unknown queue "Q" in office "tst"', 'set_counter_queues: unknown queue');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('oth', 'X1', ARRAY['T'])$$, 'P0002', 'unknown queue "T" in office "oth"', 'set_counter_queues: queue of another office');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C9', ARRAY['S'])$$, 'P0002', 'unknown counter "C9" in office "tst"', 'set_counter_queues: unknown counter');
SELECT results_eq(format('SELECT count(*)::int FROM kolapp.counter_queues WHERE counter_id = %s', :c2), $$VALUES (2)$$, 'a refused call leaves the list alone');

-- deactivate / reactivate queue
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at)
VALUES (:tst, :'today', :qu, :qu, 1, 'U-001', 'waiting', now(), now());
SELECT throws_ok($$SELECT kolapp.deactivate_queue('tst', 'U')$$, '55000', 'queue "U" of office "tst" still has 1 ticket(s) waiting or at a counter today', 'deactivate_queue: refused with a waiting ticket');
SELECT kolapp.d_call(:tst, :'today', 'U-001', :c3, now());
SELECT throws_ok($$SELECT kolapp.deactivate_queue('tst', 'U')$$, '55000', NULL, 'deactivate_queue: refused with a called ticket');
SELECT kolapp.d_set_state(:tst, :'today', 'U-001', 'done', now());
SELECT is(kolapp.deactivate_queue('tst', 'U'), true, 'deactivate_queue once the tickets are done');
SELECT is((SELECT active FROM kolapp.queues WHERE id = :qu), false, 'the queue is inactive');
SELECT is((SELECT count(*)::int FROM kolapp.counter_queues WHERE queue_id = :qu), 0, 'no counter serves it any more');
SELECT is((SELECT array_agg(q.code ORDER BY cq.rank) FROM kolapp.counter_queues cq JOIN kolapp.queues q ON q.id = cq.queue_id WHERE cq.counter_id = :c4), ARRAY['S'], 'the other queues of a counter stay');
SELECT is(kolapp.deactivate_queue('tst', 'U'), false, 'deactivate_queue twice says false');
SELECT throws_ok($$SELECT kolapp.open_queue('tst', 'U')$$, '55000', 'queue "U" of office "tst" is deactivated', 'open_queue refuses an inactive queue');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C3', ARRAY['U'])$$, '55000', 'queue "U" of office "tst" is deactivated', 'set_counter_queues refuses an inactive queue');
SELECT throws_ok($$SELECT kolapp.deactivate_queue('tst', 'Q')$$, 'P0002', NULL, 'deactivate_queue: unknown queue');
SELECT is(kolapp.reactivate_queue('tst', 'U'), true, 'reactivate_queue');
SELECT is(kolapp.reactivate_queue('tst', 'U'), false, 'reactivate_queue twice says false');
SELECT is((SELECT active FROM kolapp.queues WHERE id = :qu), true, 'the queue is active again');
SELECT throws_ok($$SELECT kolapp.reactivate_queue('tst', 'Q')$$, 'P0002', NULL, 'reactivate_queue: unknown queue');

-- deactivate / reactivate counter
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at)
VALUES (:tst, :'today', :qt, :qt, 1, 'T-001', 'waiting', now(), now());
SELECT kolapp.d_call(:tst, :'today', 'T-001', :c2, now());
SELECT throws_ok($$SELECT kolapp.deactivate_counter('tst', 'C2')$$, '55000', 'counter "C2" of office "tst" holds ticket T-001 (called)', 'deactivate_counter: refused while it holds a ticket');
SELECT kolapp.d_set_state(:tst, :'today', 'T-001', 'serving', now());
SELECT throws_ok($$SELECT kolapp.deactivate_counter('tst', 'C2')$$, '55000', 'counter "C2" of office "tst" holds ticket T-001 (serving)', 'deactivate_counter: refused while serving');
SELECT kolapp.d_set_state(:tst, :'today', 'T-001', 'done', now());
SELECT is(kolapp.deactivate_counter('tst', 'C2'), true, 'deactivate_counter once the ticket is done');
SELECT is((SELECT active FROM kolapp.counters WHERE id = :c2), false, 'the counter is inactive');
SELECT is(kolapp.deactivate_counter('tst', 'C2'), false, 'deactivate_counter twice says false');
SELECT throws_ok($$SELECT kolapp.deactivate_counter('tst', 'C9')$$, 'P0002', NULL, 'deactivate_counter: unknown counter');
SELECT is(kolapp.reactivate_counter('tst', 'C2'), true, 'reactivate_counter');
SELECT is(kolapp.reactivate_counter('tst', 'C2'), false, 'reactivate_counter twice says false');
SELECT throws_ok($$SELECT kolapp.reactivate_counter('oth', 'C2')$$, 'P0002', NULL, 'reactivate_counter: counter of another office');

-- list_tokens / revoke_token_id
SELECT kolapp.create_token('kiosk', 'tst') AS tok_kiosk \gset
SELECT kolapp.create_token('counter', 'tst', 'C2') AS tok_c2 \gset
SELECT kolapp.create_token('display', 'oth') AS tok_oth \gset
SELECT id AS tid_c2 FROM kolapp.tokens WHERE counter_id = :c2 \gset
SELECT results_eq($$SELECT role, office, counter, revoked_at IS NULL, last_used_at IS NULL FROM kolapp.list_tokens('tst')$$,
    $$VALUES ('kiosk', 'tst', NULL::text, true, true), ('counter', 'tst', 'C2', true, true)$$, 'list_tokens(office) lists that office''s tokens in order');
SELECT is((SELECT count(*)::int FROM kolapp.list_tokens()), 3, 'list_tokens() lists all offices');
SELECT is((SELECT count(*)::int FROM kolapp.list_tokens(office => 'oth')), 1, 'list_tokens with a named argument');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'kolapp.token_info'::regclass AND attnum > 0),
    ARRAY['id', 'role', 'office', 'counter', 'created_at', 'revoked_at', 'last_used_at', 'last_used_from'], 'list_tokens columns, and no hash');
SELECT throws_ok($$SELECT * FROM kolapp.list_tokens('nope')$$, 'P0002', 'unknown office "nope"', 'list_tokens: unknown office');
SELECT is(kolapp.revoke_token_id(:tid_c2), true, 'revoke_token_id');
SELECT isnt((SELECT revoked_at FROM kolapp.list_tokens('tst') WHERE id = :tid_c2), NULL, 'the token shows as revoked');
SELECT is(kolapp.revoke_token_id(:tid_c2), false, 'revoke_token_id twice says false');
SELECT is((SELECT count(*)::int FROM kolapp.d_token_lookup(sha256(convert_to(:'tok_c2', 'UTF8')))), 0, 'a revoked token no longer logs in');
SELECT throws_ok($$SELECT kolapp.revoke_token_id(-1)$$, 'P0002', 'no token with id -1', 'revoke_token_id: unknown id');
SELECT throws_ok($$SELECT kolapp.revoke_token_id(NULL)$$, 'P0002', 'no token with id NULL', 'revoke_token_id: NULL');

SELECT * FROM finish();
ROLLBACK;
