-- The batched writes of migrations 6 and 19 and the guard between
-- pipelined batches.
BEGIN;
\ir fixture.psql
SELECT plan(30);

-- d_issue_many: one ticket per element, in element order, each with its event
SELECT lives_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s, %s, %s], ARRAY[%s, %s, %s],
        ARRAY[%L, %L, %L]::date[], ARRAY[1, 1, 2], ARRAY['S-001', 'T-001', 'S-002'],
        ARRAY['k"1', NULL, 'k\2'], ARRAY[now(), now(), now()],
        ARRAY[false, true, false], ARRAY[NULL, 'so', NULL], ARRAY['sv', NULL, 'ar'])$$,
    :tst, :tst, :tst, :qs, :qt, :qs, :'today', :'today', :'today'), 'd_issue_many of three tickets');
SELECT results_eq(format($$SELECT code, number, state, idem_key, issued_at = sort_at, priority, interpreter, lang
                             FROM kolapp.tickets WHERE office_id = %s ORDER BY id$$, :tst),
    $$VALUES ('S-001'::text, 1, 'waiting'::text, 'k"1'::text, true, false, NULL::text, 'sv'::text),
             ('T-001', 1, 'waiting', NULL, true, true, 'so', NULL),
             ('S-002', 2, 'waiting', 'k\2', true, false, NULL, 'ar')$$,
    'the tickets are inserted in element order, keys verbatim, with priority, interpreter and lang');
SELECT results_eq(format($$SELECT t.code, e.kind, e.queue_id FROM kolapp.ticket_events e
                             JOIN kolapp.tickets t ON t.id = e.ticket_id
                            WHERE e.office_id = %s ORDER BY e.id$$, :tst),
    format($$VALUES ('S-001'::text, 'issued'::text, %s), ('T-001', 'issued', %s), ('S-002', 'issued', %s)$$,
           :qs, :qt, :qs),
    'each ticket has its issued event, in the same order');
SELECT throws_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s], ARRAY[%s], ARRAY[%L]::date[], ARRAY[2],
        ARRAY['T-002'], ARRAY[NULL]::text[], ARRAY[now(), now()], ARRAY[false], ARRAY[NULL]::text[],
        ARRAY[NULL]::text[])$$, :tst, :qt, :'today'),
    '22023', NULL, 'd_issue_many: arrays of unequal length are refused');
SELECT throws_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY[3, 3], ARRAY['S-003', 'S-003'], ARRAY[NULL, NULL]::text[], ARRAY[now(), now()],
        ARRAY[false, false], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[])$$,
        :tst, :tst, :qs, :qs, :'today', :'today'),
    '23505', NULL, 'd_issue_many: one number twice fails the whole call');
SELECT is((SELECT count(*)::int FROM kolapp.tickets WHERE office_id = :tst), 3,
    'a refused call leaves nothing behind');
SELECT lives_ok($$SELECT kolapp.d_issue_many('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')$$,
    'd_issue_many of nothing');

-- d_call_many / d_set_state_many: one ticket after the other, so one ticket twice works
SELECT lives_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-001', 'T-001'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today', :c1, :c2), 'd_call_many of two tickets');
SELECT lives_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-001', 'S-001'], ARRAY['serving', 'done'], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today'), 'd_set_state_many: start, then finish, of one ticket');
SELECT results_eq(format($$SELECT code, state, counter_id FROM kolapp.tickets
                            WHERE office_id = %s AND code IN ('S-001', 'T-001') ORDER BY code$$, :tst),
    format($$VALUES ('S-001'::text, 'done'::text, %s), ('T-001', 'called', %s)$$, :c1, :c2),
    'the calls and the state changes are applied in order');
SELECT results_eq(format($$SELECT array_agg(e.kind ORDER BY e.id) FROM kolapp.ticket_events e
                            JOIN kolapp.tickets t ON t.id = e.ticket_id
                           WHERE t.office_id = %s AND t.code = 'S-001'$$, :tst),
    $$VALUES (ARRAY['issued', 'called', 'serving', 'done']::text[])$$, 'and logged in order');
SELECT throws_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s], ARRAY[%L]::date[], ARRAY['S-002'],
        ARRAY['done'], ARRAY[now()])$$, :tst, :'today'),
    NULL, NULL, 'd_set_state_many: an illegal change fails the call, as d_set_state does');
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L]::date[], ARRAY['S-002'],
        ARRAY[%s], ARRAY[now()])$$, :tst, :tst, :'today', :c1),
    '22023', NULL, 'd_call_many: arrays of unequal length are refused');

-- Migration 19: a run without a ticket twice is one UPDATE; what it
-- refuses, and the order of its events, are as one at a time
SELECT kolapp.d_issue_many(ARRAY[:tst, :tst], ARRAY[:qs, :qs], ARRAY[:'today', :'today']::date[],
    ARRAY[3, 4], ARRAY['S-003', 'S-004'], ARRAY[NULL, NULL]::text[], ARRAY[now(), now()],
    ARRAY[false, false], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[]);
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-003', 'S-001'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today', :c1, :c3),
    '55000', 'cannot call: ticket S-001 is done, expected waiting or parked',
    'd_call_many: the first ticket of the run that cannot be called names the refusal');
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-001', 'S-099'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today', :c1, :c3),
    '55000', 'cannot call: ticket S-001 is done, expected waiting or parked',
    'd_call_many: of two refused tickets the first is named ...');
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-099', 'S-001'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today', :c1, :c3),
    'P0002', NULL, '... whichever it is');
SELECT max(id) AS ev0 FROM kolapp.ticket_events \gset
SELECT lives_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-003', 'S-002'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today', :c1, :c4), 'd_call_many of two different tickets');
SELECT lives_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s, %s], ARRAY[%L, %L, %L]::date[],
        ARRAY['S-002', 'T-001', 'S-003'], ARRAY['serving', 'serving', 'no_show'], ARRAY[now(), now(), now()])$$,
        :tst, :tst, :tst, :'today', :'today', :'today'), 'd_set_state_many of three different tickets');
SELECT results_eq(format($$SELECT t.code, e.kind, e.counter_id FROM kolapp.ticket_events e
                             JOIN kolapp.tickets t ON t.id = e.ticket_id WHERE e.id > %s ORDER BY e.id$$, :ev0),
    format($$VALUES ('S-003'::text, 'called'::text, %s), ('S-002', 'called', %s), ('S-002', 'serving', %s),
                    ('T-001', 'serving', %s), ('S-003', 'no_show', %s)$$, :c1, :c4, :c4, :c2, :c1),
    'their events are logged in the order of the runs');
SELECT results_eq(format($$SELECT code, state, counter_id, started_at IS NOT NULL, finished_at IS NOT NULL
                             FROM kolapp.tickets WHERE office_id = %s AND code IN ('S-002', 'S-003', 'T-001')
                            ORDER BY code$$, :tst),
    format($$VALUES ('S-002'::text, 'serving'::text, %s, true, false), ('S-003', 'no_show', %s, false, true),
                    ('T-001', 'serving', %s, true, false)$$, :c4, :c1, :c2),
    'each ticket has its new state and times');
SELECT throws_like(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-002', 'S-004'], ARRAY['done', 'done'], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today'),
    'cannot set state done: ticket S-004 is waiting, expected %',
    'd_set_state_many: a waiting ticket cannot be done; d_set_state says so, and the run fails');
SELECT throws_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[],
        ARRAY['S-002', 'S-004'], ARRAY['done', 'bogus'], ARRAY[now(), now()])$$,
        :tst, :tst, :'today', :'today'),
    '22023', 'd_set_state: state bogus is not serving, done, no_show or cancelled',
    'd_set_state_many: a state it does not set is refused as by d_set_state');
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s], ARRAY[%L]::date[], ARRAY['S-099'],
        ARRAY[%s], ARRAY[now()])$$, :tst, :'today', :c1),
    'P0002', NULL, 'd_call_many: a ticket that does not exist');

-- d_batch_mark: a batch sent behind another commits only if that one did
SELECT lives_ok($$SELECT kolapp.d_batch_mark('tap-1', NULL)$$, 'd_batch_mark with nothing ahead');
SELECT lives_ok($$SELECT kolapp.d_batch_mark('tap-2', 'tap-1')$$, 'd_batch_mark behind a committed batch');
SELECT throws_ok($$SELECT kolapp.d_batch_mark('tap-3', 'tap-never')$$, '40001', NULL,
    'd_batch_mark behind a batch that did not commit fails');
SELECT is((SELECT array_agg(token ORDER BY token) FROM kolapp.batches WHERE token LIKE 'tap-%'),
    ARRAY['tap-1', 'tap-2'], 'only the marks that lived are recorded');
SELECT hasnt_function('kolapp', 'd_batch_mark', ARRAY['text'],
    'the 1-argument d_batch_mark is gone (migration 8): kolappd calls the 2-argument one');

-- Migration 7: the event log keeps its keys to tickets and counters
SELECT throws_ok(format($$INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind)
                          VALUES (-1, %s, now(), 'issued')$$, :tst),
    '23503', NULL, 'an event names a real ticket');
SELECT is((SELECT indexdef FROM pg_indexes WHERE schemaname = 'kolapp' AND indexname = 'tickets_office_open_idx'),
    'CREATE INDEX tickets_office_open_idx ON kolapp.tickets USING btree (office_id, business_day) WHERE (finished_at IS NULL)',
    'the open tickets'' index names no state (migration 24: a call and a start rewrite no index), and keys on office and day (migration 25)');

SELECT * FROM finish();
ROLLBACK;
