-- Migration 9, the counter workflow of protocol 1.1: queue policy,
-- weights, outcomes, the parked state, the daemon's new functions, the
-- new constraints. (The statistics views are tests/sql/stats.sql.)
BEGIN;
\ir fixture.psql
SELECT plan(158);

-- ---------------------------------------------------------------------
-- Columns
-- ---------------------------------------------------------------------
SELECT results_eq($$SELECT column_name::text COLLATE "default", data_type::text COLLATE "default",
                           is_nullable::text COLLATE "default", column_default::text COLLATE "default"
                      FROM information_schema.columns
                     WHERE table_schema = 'kolapp' AND table_name = 'tickets'
                       AND column_name IN ('priority', 'interpreter', 'lang', 'outcome', 'for_counter_id')
                     ORDER BY ordinal_position$$,
    $$VALUES ('priority', 'boolean', 'NO', 'false'), ('interpreter', 'text', 'YES', NULL),
             ('lang', 'text', 'YES', NULL), ('outcome', 'text', 'YES', NULL),
             ('for_counter_id', 'integer', 'YES', NULL)$$,
    'tickets: priority, interpreter, lang, outcome, for_counter_id');
SELECT results_eq($$SELECT min_calls, no_show_after_s, reactivate_within_s, require_outcome, allow_priority
                      FROM kolapp.queues WHERE code = 'S' AND office_id = kolapp.office_id_of('tst')$$,
    $$VALUES (1, 0, 900, false, true)$$, 'queues: the policy defaults');
SELECT is((SELECT array_agg(DISTINCT weight) FROM kolapp.counter_queues), ARRAY[1], 'counter_queues: weights default to 1');
SELECT fk_ok('kolapp', 'tickets', ARRAY['for_counter_id', 'office_id'], 'kolapp', 'counters', ARRAY['id', 'office_id'],
    'tickets.for_counter_id is a counter of the ticket''s office');
SELECT fk_ok('kolapp', 'outcomes', ARRAY['queue_id', 'office_id'], 'kolapp', 'queues', ARRAY['id', 'office_id'],
    'outcomes.queue_id is a queue of the outcome''s office');
SELECT is((SELECT indexdef FROM pg_indexes WHERE schemaname = 'kolapp' AND indexname = 'tickets_for_counter_idx'),
    'CREATE INDEX tickets_for_counter_idx ON kolapp.tickets USING btree (for_counter_id) WHERE (for_counter_id IS NOT NULL)',
    'the for_counter index holds only tickets that wait for a counter');
SELECT is((SELECT string_agg(state, ',' ORDER BY state) FROM kolapp.ticket_states WHERE held), 'called,serving',
    'the held states, as the counter holds'' triggers write them out (migration 24): called and serving, not parked');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'kolapp.tickets'::regclass AND NOT tgisinternal
            AND (tgtype & 4) <> 0), 1, 'one trigger on insert into tickets: tickets_check_inserted (migration 18)');

-- ---------------------------------------------------------------------
-- set_queue_policy
-- ---------------------------------------------------------------------
SELECT lives_ok($$SELECT kolapp.set_queue_policy('tst', 'S', 2, 60, 600, false, false)$$, 'set_queue_policy, positional');
SELECT results_eq(format('SELECT min_calls, no_show_after_s, reactivate_within_s, require_outcome, allow_priority FROM kolapp.queues WHERE id = %s', :qs),
    $$VALUES (2, 60, 600, false, false)$$, 'the policy is stored');
SELECT lives_ok($$SELECT kolapp.set_queue_policy(office => 'tst', queue => 'S', no_show_after_s => 30)$$, 'set_queue_policy, named');
SELECT results_eq(format('SELECT min_calls, no_show_after_s, reactivate_within_s, require_outcome, allow_priority FROM kolapp.queues WHERE id = %s', :qs),
    $$VALUES (1, 30, 900, false, true)$$, 'the values left out are back to their defaults');
SELECT lives_ok($$SELECT kolapp.set_queue_policy('tst', 'T', 10, 3600, 86400)$$, 'the highest values');
SELECT lives_ok($$SELECT kolapp.set_queue_policy('tst', 'T', 1, 0, 0)$$, 'the lowest values');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('zz', 'S')$$, 'P0002', 'unknown office "zz"', 'set_queue_policy: unknown office');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'Q')$$, 'P0002', 'unknown queue "Q" in office "tst"', 'set_queue_policy: unknown queue');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('oth', 'T')$$, 'P0002', 'unknown queue "T" in office "oth"', 'set_queue_policy: queue of another office');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', 0)$$, '23514', 'min_calls must be between 1 and 10 (got 0)', 'set_queue_policy: min_calls 0');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', 11)$$, '23514', 'min_calls must be between 1 and 10 (got 11)', 'set_queue_policy: min_calls 11');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', NULL)$$, '23514', 'min_calls must be between 1 and 10 (got NULL)', 'set_queue_policy: min_calls NULL');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', no_show_after_s => -1)$$, '23514', 'no_show_after_s must be between 0 and 3600 (got -1)', 'set_queue_policy: no_show_after_s -1');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', no_show_after_s => 3601)$$, '23514', 'no_show_after_s must be between 0 and 3600 (got 3601)', 'set_queue_policy: no_show_after_s 3601');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', reactivate_within_s => -1)$$, '23514', 'reactivate_within_s must be between 0 and 86400 (got -1)', 'set_queue_policy: reactivate_within_s -1');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', reactivate_within_s => 86401)$$, '23514', 'reactivate_within_s must be between 0 and 86400 (got 86401)', 'set_queue_policy: reactivate_within_s 86401');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', require_outcome => NULL)$$, '23514', 'require_outcome must be true or false', 'set_queue_policy: require_outcome NULL');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', allow_priority => NULL)$$, '23514', 'allow_priority must be true or false', 'set_queue_policy: allow_priority NULL');
SELECT throws_ok($$SELECT kolapp.set_queue_policy('tst', 'S', require_outcome => true)$$, '55000',
    'queue "S" of office "tst" has no outcome: it cannot require one', 'set_queue_policy: require_outcome without an outcome');
SELECT results_eq(format('SELECT min_calls, no_show_after_s FROM kolapp.queues WHERE id = %s', :qs),
    $$VALUES (1, 30)$$, 'a refused call changes nothing');
SELECT throws_ok(format('UPDATE kolapp.queues SET min_calls = 0 WHERE id = %s', :qs), '23514', NULL, 'the table checks min_calls too');
SELECT throws_ok(format('UPDATE kolapp.queues SET reactivate_within_s = 86401 WHERE id = %s', :qs), '23514', NULL, 'the table checks reactivate_within_s too');

-- ---------------------------------------------------------------------
-- add_outcome
-- ---------------------------------------------------------------------
SELECT lives_ok($$SELECT kolapp.add_outcome('tst', 'S', 'granted', 'Benefit granted')$$, 'add_outcome');
SELECT lives_ok($$SELECT kolapp.add_outcome('tst', 'S', 'referred', 'Referred elsewhere')$$, 'add_outcome, a second one');
SELECT lives_ok($$SELECT kolapp.add_outcome('tst', 'T', 'granted', 'Deduction granted')$$, 'add_outcome: one code in two queues');
SELECT results_eq($$SELECT q.code, o.code, o.name, o.active, o.office_id = q.office_id FROM kolapp.outcomes o JOIN kolapp.queues q ON q.id = o.queue_id ORDER BY o.id$$,
    $$VALUES ('S'::text, 'granted'::text, 'Benefit granted'::text, true, true), ('S', 'referred', 'Referred elsewhere', true, true),
             ('T', 'granted', 'Deduction granted', true, true)$$, 'the outcomes are stored, active');
UPDATE kolapp.outcomes SET active = false WHERE code = 'referred';
SELECT lives_ok($$SELECT kolapp.add_outcome('tst', 'S', 'referred', 'Referred to another agency')$$, 'add_outcome of an existing code');
SELECT results_eq($$SELECT name, active, (SELECT count(*)::int FROM kolapp.outcomes WHERE code = 'referred') FROM kolapp.outcomes WHERE code = 'referred'$$,
    $$VALUES ('Referred to another agency'::text, true, 1)$$, 'an existing code is renamed and reactivated, not duplicated');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'S', 'Granted', 'x')$$, '22023', 'invalid outcome code "Granted"', 'add_outcome: uppercase code');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'S', 'no way', 'x')$$, '22023', 'invalid outcome code "no way"', 'add_outcome: a space');
SELECT throws_ok(format($$SELECT kolapp.add_outcome('tst', 'S', %L, 'x')$$, repeat('a', 33)), '22023', NULL, 'add_outcome: 33 characters');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'S', NULL, 'x')$$, '22023', 'invalid outcome code "NULL"', 'add_outcome: NULL code');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'S', 'ok', ' ')$$, '22023', 'invalid outcome name: it must have 1 to 200 characters', 'add_outcome: blank name');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'S', 'ok', repeat('x', 201))$$, '22023', NULL, 'add_outcome: name too long');
SELECT throws_ok($$SELECT kolapp.add_outcome('zz', 'S', 'ok', 'x')$$, 'P0002', 'unknown office "zz"', 'add_outcome: unknown office');
SELECT throws_ok($$SELECT kolapp.add_outcome('tst', 'Q', 'ok', 'x')$$, 'P0002', 'unknown queue "Q" in office "tst"', 'add_outcome: unknown queue');
SELECT throws_ok(format($$INSERT INTO kolapp.outcomes (office_id, queue_id, code, name) VALUES (%s, %s, 'x', 'x')$$, :oth, :qs), '23503', NULL,
    'an outcome''s queue is of its office');
SELECT throws_ok(format($$INSERT INTO kolapp.outcomes (office_id, queue_id, code, name) VALUES (%s, %s, 'granted', 'x')$$, :tst, :qs), '23505', NULL,
    'a code once per queue');
SELECT lives_ok($$SELECT kolapp.set_queue_policy('tst', 'S', require_outcome => true)$$, 'require_outcome, once the queue has outcomes');
SELECT is((SELECT require_outcome FROM kolapp.queues WHERE id = :qs), true, 'the queue requires an outcome');

-- ---------------------------------------------------------------------
-- set_counter_queues: ranks that repeat, weights
-- ---------------------------------------------------------------------
CREATE FUNCTION pg_temp.list_of(cid int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s:%s:%s', q.code, cq.rank, cq.weight), ' ' ORDER BY cq.rank, q.code)
      FROM kolapp.counter_queues cq JOIN kolapp.queues q ON q.id = cq.queue_id WHERE cq.counter_id = cid
$$;
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T', 'U'], ARRAY[1, 1, 2], ARRAY[3, 1, 5])$$, 'set_counter_queues with ranks and weights');
SELECT is(pg_temp.list_of(:c4), 'S:1:3 T:1:1 U:2:5', 'ranks repeat, each queue has its weight');
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['U', 'S'], weights => ARRAY[2, 4])$$, 'weights without ranks');
SELECT is(pg_temp.list_of(:c4), 'U:1:2 S:2:4', 'ranks 1, 2 in array order');
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'U'], ARRAY[1, 1])$$, 'the 4-argument call of migration 2');
SELECT is(pg_temp.list_of(:c4), 'S:1:1 U:1:1', 'weights default to 1');
SELECT lives_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['T'])$$, 'the 3-argument call of migration 2');
SELECT is(pg_temp.list_of(:c4), 'T:1:1', 'the list is replaced');
SELECT hasnt_function('kolapp', 'set_counter_queues', ARRAY['text', 'text', 'text[]', 'integer[]'],
    'one set_counter_queues: the 4-argument function is gone, its calls reach the 5-argument one');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], NULL, ARRAY[1])$$, '22023', '2 queues but 1 weights', 'set_counter_queues: weight count');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], ARRAY[1, 2, 3])$$, '22023', '2 queues but 3 ranks', 'set_counter_queues: rank count');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], NULL, ARRAY[1, 0])$$, '22023', 'weights must be integers from 1 to 100: {1,0}', 'set_counter_queues: weight 0');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], NULL, ARRAY[101, 1])$$, '22023', 'weights must be integers from 1 to 100: {101,1}', 'set_counter_queues: weight 101');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], NULL, ARRAY[1, NULL])$$, '22023', NULL, 'set_counter_queues: NULL weight');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'T'], ARRAY[0, 1])$$, '22023', 'ranks must be positive integers: {0,1}', 'set_counter_queues: rank 0');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'S'], NULL, ARRAY[1, 2])$$, '22023', 'the queue list of counter "C4" names a queue twice: {S,S}', 'set_counter_queues: duplicate queue');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'Q'], NULL, ARRAY[1, 2])$$, 'P0002', 'unknown queue "Q" in office "tst"', 'set_counter_queues: unknown queue');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('tst', 'C9', ARRAY['S'], NULL, ARRAY[1])$$, 'P0002', 'unknown counter "C9" in office "tst"', 'set_counter_queues: unknown counter');
SELECT throws_ok($$SELECT kolapp.set_counter_queues('nope', 'C4', ARRAY['S'])$$, 'P0002', 'unknown office "nope"', 'set_counter_queues: unknown office');
SELECT is(pg_temp.list_of(:c4), 'T:1:1', 'refused calls leave the list alone');
SELECT throws_ok(format('UPDATE kolapp.counter_queues SET weight = 0 WHERE counter_id = %s', :c4), '23514', NULL, 'the table checks the weight too');
SELECT kolapp.set_counter_queues('tst', 'C4', ARRAY['S', 'U']);

-- ---------------------------------------------------------------------
-- The daemon's functions
-- ---------------------------------------------------------------------
SELECT hasnt_function('kolapp', 'd_issue', ARRAY['integer', 'integer', 'date', 'integer', 'text', 'text', 'timestamp with time zone'],
    'the 7-argument d_issue is gone');
SELECT hasnt_function('kolapp', 'd_issue_many', ARRAY['integer[]', 'integer[]', 'date[]', 'integer[]', 'text[]', 'text[]', 'timestamp with time zone[]'],
    'the 7-argument d_issue_many is gone');
CREATE FUNCTION pg_temp.issue(n int, prio boolean DEFAULT false, interp text DEFAULT NULL, lang text DEFAULT NULL,
                              at timestamptz DEFAULT now() - interval '1 hour') RETURNS void LANGUAGE sql AS $$
    SELECT kolapp.d_issue(kolapp.office_id_of('tst'), kolapp.queue_id_of('tst', 'S'), kolapp.office_today(kolapp.office_id_of('tst')),
                          n, format('S-%s', lpad(n::text, 3, '0')), NULL, at, prio, interp, lang)
$$;
CREATE FUNCTION pg_temp.tk(c text) RETURNS kolapp.tickets LANGUAGE sql AS $$
    SELECT * FROM kolapp.tickets WHERE code = c AND office_id = kolapp.office_id_of('tst')
$$;
CREATE FUNCTION pg_temp.last_event(c text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s counter=%s queue=%s detail=%s', e.kind, coalesce(k.name, '-'), q.code, coalesce(e.detail::text, '-'))
      FROM kolapp.ticket_events e JOIN kolapp.tickets t ON t.id = e.ticket_id
      LEFT JOIN kolapp.counters k ON k.id = e.counter_id JOIN kolapp.queues q ON q.id = e.queue_id
     WHERE t.code = c AND t.office_id = kolapp.office_id_of('tst') ORDER BY e.id DESC LIMIT 1
$$;

-- d_issue
SELECT lives_ok($$SELECT pg_temp.issue(1, true, 'so', 'ar')$$, 'd_issue with priority, interpreter and lang');
SELECT results_eq($$SELECT state, priority, interpreter, lang, outcome, for_counter_id FROM pg_temp.tk('S-001')$$,
    $$VALUES ('waiting'::text, true, 'so'::text, 'ar'::text, NULL::text, NULL::int)$$, 'd_issue stores them');
SELECT is(pg_temp.last_event('S-001'), 'issued counter=- queue=S detail=-', 'd_issue logs the issue');
SELECT lives_ok($$SELECT pg_temp.issue(2)$$, 'd_issue without them');
SELECT throws_ok($$SELECT pg_temp.issue(3, false, 'som')$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_interpreter_check"', 'd_issue: an interpreter is two letters');
SELECT throws_ok($$SELECT pg_temp.issue(3, false, 'SO')$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_interpreter_check"', 'd_issue: lowercase');
SELECT throws_ok($$SELECT pg_temp.issue(3, false, NULL, 'x')$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_lang_check"', 'd_issue: a lang is two letters');
SELECT throws_ok($$SELECT pg_temp.issue(3, NULL)$$, '23502', NULL, 'd_issue: priority is not NULL');
SELECT throws_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s], ARRAY[%s], ARRAY[%L]::date[], ARRAY[3], ARRAY['S-003'], ARRAY[NULL]::text[],
        ARRAY[now()], ARRAY[false, true], ARRAY[NULL]::text[], ARRAY[NULL]::text[])$$, :tst, :qs, :'today'),
    '22023', NULL, 'd_issue_many: a priority array of another length is refused');
SELECT throws_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s], ARRAY[%s], ARRAY[%L]::date[], ARRAY[3], ARRAY['S-003'], ARRAY[NULL]::text[],
        ARRAY[now()], ARRAY[false], ARRAY[NULL]::text[], ARRAY[]::text[])$$, :tst, :qs, :'today'),
    '22023', NULL, 'd_issue_many: a lang array of another length is refused');
SELECT pg_temp.issue(3);
SELECT pg_temp.issue(4);
SELECT pg_temp.issue(5);

-- d_park
SELECT throws_ok(format($$SELECT kolapp.d_park(%s, %L, 'S-001', now())$$, :tst, :'today'), '55000',
    'cannot park: ticket S-001 is waiting, expected called or serving', 'd_park: a waiting ticket');
SELECT throws_ok(format($$SELECT kolapp.d_park(%s, %L, 'S-404', now())$$, :tst, :'today'), 'P0002',
    NULL, 'd_park: no such ticket');
SELECT kolapp.d_call(:tst, :'today', 'S-001', :c1, now() - interval '50 minutes');
SELECT lives_ok(format($$SELECT kolapp.d_park(%s, %L, 'S-001', now() - interval '49 minutes')$$, :tst, :'today'), 'd_park of a called ticket');
SELECT results_eq($$SELECT state, counter_id, started_at IS NULL FROM pg_temp.tk('S-001')$$,
    format($$VALUES ('parked'::text, %s, true)$$, :c1), 'parked: the counter that parked it is kept');
SELECT is(pg_temp.last_event('S-001'), 'parked counter=C1 queue=S detail=-', 'd_park logs the park with the counter');
SELECT throws_ok(format($$SELECT kolapp.d_park(%s, %L, 'S-001', now())$$, :tst, :'today'), '55000',
    'cannot park: ticket S-001 is parked, expected called or serving', 'd_park: a parked ticket');
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-002', %s, now() - interval '48 minutes')$$, :tst, :'today', :c1),
    'the counter is free: it calls the next ticket');
SELECT kolapp.d_set_state(:tst, :'today', 'S-002', 'serving', now() - interval '47 minutes');
SELECT lives_ok(format($$SELECT kolapp.d_park(%s, %L, 'S-002', now() - interval '46 minutes')$$, :tst, :'today'), 'd_park of a serving ticket');
SELECT results_eq($$SELECT state, counter_id, started_at IS NOT NULL FROM pg_temp.tk('S-002')$$,
    format($$VALUES ('parked'::text, %s, true)$$, :c1), 'parked while served: started_at is kept');
SELECT results_eq($$SELECT queue, parked, waiting FROM kolapp.v_queue_today WHERE office = 'tst' AND queue = 'S'$$,
    $$VALUES ('S'::text, 2::bigint, 3::bigint)$$, 'v_queue_today counts the parked tickets');

-- d_call of a parked ticket, from any counter
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-404', %s, now())$$, :tst, :'today', :c4), 'P0002', NULL, 'd_call: no such ticket');
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-002', %s, now() - interval '40 minutes')$$, :tst, :'today', :c4),
    'd_call of a parked ticket by another counter');
SELECT results_eq($$SELECT state, counter_id, called_at = now() - interval '40 minutes', started_at IS NULL, recalls FROM pg_temp.tk('S-002')$$,
    format($$VALUES ('called'::text, %s, true, true, 0)$$, :c4), 'called again: a new round at the new counter');
SELECT is(pg_temp.last_event('S-002'), 'called counter=C4 queue=S detail=-', 'd_call logs the call');
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-002', %s, now())$$, :tst, :'today', :c1), '55000',
    'cannot call: ticket S-002 is called, expected waiting or parked', 'd_call: a called ticket');
SELECT lives_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s], ARRAY[%L]::date[], ARRAY['S-001'], ARRAY[%s], ARRAY[now() - interval '39 minutes'])$$,
        :tst, :'today', :c1), 'd_call_many calls a parked ticket back too');
SELECT is((pg_temp.tk('S-001')).state, 'called', 'and it is called');

-- the state machine: parked goes back to waiting only through a call
SELECT kolapp.d_park(:tst, :'today', 'S-001', now() - interval '38 minutes');
SELECT throws_ok($$UPDATE kolapp.tickets SET state = 'waiting', counter_id = NULL, called_at = NULL, started_at = NULL WHERE code = 'S-001'$$,
    '23514', 'illegal ticket state transition: parked -> waiting', 'parked -> waiting directly is refused');
SELECT throws_ok(format($$SELECT kolapp.d_transfer(%s, %L, 'S-001', %s, now())$$, :tst, :'today', :qt), '55000',
    'cannot transfer: ticket S-001 is parked, expected called or serving', 'd_transfer of a parked ticket is refused');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'done', now())$$, :tst, :'today'), '55000',
    'cannot set state done: ticket S-001 is parked, expected called or serving', 'a parked ticket is not finished without a call');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'cancelled', now())$$, :tst, :'today'), '55000',
    NULL, 'nor cancelled');

-- d_reactivate
SELECT throws_ok(format($$SELECT kolapp.d_reactivate(%s, %L, 'S-002', now())$$, :tst, :'today'), '55000',
    'cannot reactivate: ticket S-002 is called, expected no_show', 'd_reactivate: a called ticket');
SELECT throws_ok(format($$SELECT kolapp.d_reactivate(%s, %L, 'S-404', now())$$, :tst, :'today'), 'P0002', NULL, 'd_reactivate: no such ticket');
SELECT kolapp.d_recall(:tst, :'today', 'S-002', now() - interval '37 minutes');
SELECT kolapp.d_set_state(:tst, :'today', 'S-002', 'no_show', now() - interval '36 minutes');
SELECT lives_ok(format($$SELECT kolapp.d_reactivate(%s, %L, 'S-002', now() - interval '30 minutes')$$, :tst, :'today'), 'd_reactivate of a no-show');
SELECT results_eq($$SELECT state, counter_id, called_at, started_at, finished_at, recalls, for_counter_id, sort_at = issued_at FROM pg_temp.tk('S-002')$$,
    $$VALUES ('waiting'::text, NULL::int, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, 0, NULL::int, true)$$,
    'reactivated: waiting, at its original place in time, nothing of its calls left');
SELECT is(pg_temp.last_event('S-002'), 'reactivated counter=C4 queue=S detail=-', 'd_reactivate logs it with the counter of the no-show');
SELECT throws_ok(format($$SELECT kolapp.d_reactivate(%s, %L, 'S-002', now())$$, :tst, :'today'), '55000',
    'cannot reactivate: ticket S-002 is waiting, expected no_show', 'd_reactivate: twice');

-- d_transfer_counter
SELECT throws_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', %s, now())$$, :tst, :'today', :c3), '55000',
    'cannot transfer: ticket S-002 is waiting, expected called or serving', 'd_transfer_counter: a waiting ticket');
SELECT kolapp.d_call(:tst, :'today', 'S-002', :c4, now() - interval '29 minutes');
SELECT throws_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', %s, now())$$, :tst, :'today', :cx), 'P0002',
    format('cannot transfer S-002 to a counter: no counter %s in office %s', :cx, :tst), 'd_transfer_counter: a counter of another office');
SELECT throws_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', -1, now())$$, :tst, :'today'), 'P0002',
    NULL, 'd_transfer_counter: no such counter');
SELECT throws_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-404', %s, now())$$, :tst, :'today', :c3), 'P0002',
    NULL, 'd_transfer_counter: no such ticket');
UPDATE kolapp.counters SET active = false WHERE id = :c2;
SELECT throws_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', %s, now())$$, :tst, :'today', :c2), '55000',
    format('cannot transfer S-002 to counter %s: it is deactivated', :c2), 'd_transfer_counter: a deactivated counter');
UPDATE kolapp.counters SET active = true WHERE id = :c2;
SELECT lives_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', %s, now() - interval '28 minutes')$$, :tst, :'today', :c3),
    'd_transfer_counter of a called ticket');
SELECT results_eq($$SELECT state, queue_id, counter_id, called_at, started_at, recalls, for_counter_id FROM pg_temp.tk('S-002')$$,
    format($$VALUES ('waiting'::text, %s, NULL::int, NULL::timestamptz, NULL::timestamptz, 0, %s)$$, :qs, :c3),
    'transferred: waiting in its queue, for counter C3');
SELECT is(pg_temp.last_event('S-002'), format('transferred counter=C4 queue=S detail={"to_counter_id": %s}', :c3),
    'd_transfer_counter logs the counter it left and the one it goes to');
SELECT throws_ok($$SELECT kolapp.deactivate_counter('tst', 'C3')$$, '55000', 'tickets wait for counter "C3" of office "tst": S-002',
    'deactivate_counter: refused while a ticket waits for the counter');
SELECT kolapp.d_call(:tst, :'today', 'S-002', :c3, now() - interval '27 minutes');
SELECT is((pg_temp.tk('S-002')).for_counter_id, NULL, 'd_call clears for_counter_id');
SELECT kolapp.d_set_state(:tst, :'today', 'S-002', 'serving', now() - interval '26 minutes');
SELECT lives_ok(format($$SELECT kolapp.d_transfer_counter(%s, %L, 'S-002', %s, now() - interval '25 minutes')$$, :tst, :'today', :c4),
    'd_transfer_counter of a serving ticket');
SELECT throws_ok(format('UPDATE kolapp.tickets SET for_counter_id = %s WHERE id = %s', :cx, (pg_temp.tk('S-002')).id), '23503', 'insert or update on table "tickets" violates foreign key constraint "tickets_for_counter_id_office_id_fkey"',
    'for_counter_id is a counter of the ticket''s office');
SELECT kolapp.d_set_state(:tst, :'today', 'S-002', 'cancelled', now() - interval '24 minutes');
SELECT results_eq($$SELECT state, for_counter_id FROM pg_temp.tk('S-002')$$, $$VALUES ('cancelled'::text, NULL::int)$$,
    'd_set_state cancelled clears for_counter_id');

-- d_transfer (to a queue) clears for_counter_id as well
SELECT kolapp.d_call(:tst, :'today', 'S-003', :c3, now() - interval '23 minutes');
SELECT kolapp.d_transfer_counter(:tst, :'today', 'S-003', :c2, now() - interval '22 minutes');
SELECT kolapp.d_call(:tst, :'today', 'S-003', :c2, now() - interval '21 minutes');
SELECT lives_ok(format($$SELECT kolapp.d_transfer(%s, %L, 'S-003', %s, now() - interval '20 minutes')$$, :tst, :'today', :qt), 'd_transfer');
SELECT results_eq($$SELECT state, queue_id, for_counter_id FROM pg_temp.tk('S-003')$$,
    format($$VALUES ('waiting'::text, %s, NULL::int)$$, :qt), 'd_transfer: waiting in the new queue for any counter');

-- d_set_outcome
SELECT kolapp.d_call(:tst, :'today', 'S-004', :c3, now() - interval '19 minutes');
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'granted')$$, :tst, :'today'), '55000',
    'cannot set outcome: ticket S-004 is called, expected done', 'd_set_outcome: a called ticket');
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-404', 'granted')$$, :tst, :'today'), 'P0002',
    NULL, 'd_set_outcome: no such ticket');
SELECT kolapp.d_set_state(:tst, :'today', 'S-004', 'done', now() - interval '18 minutes');
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'nope')$$, :tst, :'today'), 'P0002',
    'cannot set outcome: nope is not an active outcome of the queue of ticket S-004', 'd_set_outcome: an unknown outcome');
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', NULL)$$, :tst, :'today'), 'P0002',
    NULL, 'd_set_outcome: NULL');
SELECT kolapp.add_outcome('tst', 'T', 'paid', 'Paid');
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'paid')$$, :tst, :'today'), 'P0002',
    NULL, 'd_set_outcome: an outcome of another queue');
UPDATE kolapp.outcomes SET active = false WHERE code = 'referred';
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'referred')$$, :tst, :'today'), 'P0002',
    NULL, 'd_set_outcome: an inactive outcome');
SELECT lives_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'granted')$$, :tst, :'today'), 'd_set_outcome');
SELECT results_eq($$SELECT state, outcome FROM pg_temp.tk('S-004')$$, $$VALUES ('done'::text, 'granted'::text)$$, 'the outcome is stored');
SELECT is(pg_temp.last_event('S-004'), 'outcome counter=C3 queue=S detail={"outcome": "granted"}', 'd_set_outcome logs it');
SELECT is((SELECT e.at = t.finished_at FROM kolapp.ticket_events e JOIN kolapp.tickets t ON t.id = e.ticket_id
            WHERE t.code = 'S-004' AND e.kind = 'outcome'), true, 'the outcome event is dated at the finish');
SELECT lives_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'granted')$$, :tst, :'today'), 'd_set_outcome: the same again is harmless');
UPDATE kolapp.outcomes SET active = true WHERE code = 'referred';
SELECT throws_ok(format($$SELECT kolapp.d_set_outcome(%s, %L, 'S-004', 'referred')$$, :tst, :'today'), '55000',
    'cannot set outcome: ticket S-004 already has outcome granted', 'd_set_outcome: another outcome is refused');
SELECT throws_ok($$UPDATE kolapp.tickets SET outcome = 'referred' WHERE code = 'S-004'$$, '23514',
    'ticket S-004 is done: a finished ticket cannot change', 'a finished ticket''s outcome cannot change');
SELECT throws_ok($$UPDATE kolapp.tickets SET priority = true WHERE code = 'S-004'$$, '23514',
    'ticket S-004 is done: a finished ticket cannot change', 'nor its priority');

-- d_expire: parked tickets of earlier days go too; serving ones stay
SELECT kolapp.d_issue(:tst, :qt, :'today'::date - 1, 1, 'T-001', NULL, now() - interval '1 day', false, NULL, NULL);
SELECT kolapp.d_issue(:tst, :qt, :'today'::date - 1, 2, 'T-002', NULL, now() - interval '1 day', false, NULL, NULL);
SELECT kolapp.d_issue(:tst, :qt, :'today'::date - 1, 3, 'T-003', NULL, now() - interval '1 day', false, NULL, NULL);
SELECT kolapp.d_call(:tst, :'today'::date - 1, 'T-001', :c2, now() - interval '1 day');
SELECT kolapp.d_set_state(:tst, :'today'::date - 1, 'T-001', 'serving', now() - interval '1 day');
SELECT kolapp.d_park(:tst, :'today'::date - 1, 'T-001', now() - interval '1 day');
SELECT kolapp.d_call(:tst, :'today'::date - 1, 'T-002', :c2, now() - interval '1 day');
SELECT kolapp.d_transfer_counter(:tst, :'today'::date - 1, 'T-002', :c1, now() - interval '1 day');
SELECT kolapp.d_call(:tst, :'today'::date - 1, 'T-003', :c2, now() - interval '1 day');
SELECT kolapp.d_set_state(:tst, :'today'::date - 1, 'T-003', 'serving', now() - interval '1 day');
SELECT is(kolapp.d_expire(:tst, :'today', now()), 2, 'd_expire: the parked ticket and the one waiting for a counter');
SELECT results_eq(format($$SELECT code, state, counter_id, started_at IS NOT NULL, for_counter_id FROM kolapp.tickets
                            WHERE business_day = %L::date - 1 ORDER BY code$$, :'today'),
    format($$VALUES ('T-001'::text, 'expired'::text, %s, true, NULL::int), ('T-002', 'expired', NULL, false, NULL),
                    ('T-003', 'serving', %s, true, NULL)$$, :c2, :c2),
    'expired: a parked ticket keeps its counter and start, one waiting for a counter loses it; serving stays');

-- ---------------------------------------------------------------------
-- Constraints on tickets
-- ---------------------------------------------------------------------
PREPARE ins(text, text, int, timestamptz, timestamptz, timestamptz, timestamptz, int) AS
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state,
                            issued_at, sort_at, counter_id, called_at, started_at, finished_at, for_counter_id)
VALUES (:tst, :'today', :qu, :qu, split_part($1, '-', 2)::int, $1, $2, $4, $4, $3, $5, $6, $7, $8);
SELECT throws_ok($$EXECUTE ins('U-010', 'parked', NULL, now(), now(), NULL, NULL, NULL)$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_held_has_counter"', 'parked without a counter');
SELECT throws_ok(format($$EXECUTE ins('U-011', 'parked', %s, now(), NULL, NULL, NULL, NULL)$$, :c3), '23514', 'new row for relation "tickets" violates check constraint "tickets_state_shape"', 'parked without a call');
SELECT throws_ok(format($$EXECUTE ins('U-012', 'parked', %s, now(), now(), NULL, now(), NULL)$$, :c3), '23514', 'new row for relation "tickets" violates check constraint "tickets_state_shape"', 'parked and finished');
SELECT lives_ok(format($$EXECUTE ins('U-013', 'parked', %s, now(), now(), NULL, NULL, NULL)$$, :c3), 'a parked ticket as it should be');
SELECT throws_ok(format($$EXECUTE ins('U-014', 'called', %s, now(), now(), NULL, NULL, %s)$$, :c3, :c3), '23514', 'new row for relation "tickets" violates check constraint "tickets_for_counter_only_waiting"', 'for_counter_id while called');
SELECT throws_ok(format($$EXECUTE ins('U-015', 'cancelled', NULL, now(), NULL, NULL, now(), %s)$$, :c3), '23514', 'new row for relation "tickets" violates check constraint "tickets_for_counter_only_waiting"', 'for_counter_id when cancelled');
SELECT lives_ok(format($$EXECUTE ins('U-016', 'waiting', NULL, now(), NULL, NULL, NULL, %s)$$, :c3), 'for_counter_id while waiting');
SELECT throws_ok(format($$EXECUTE ins('U-017', 'waiting', NULL, now(), NULL, NULL, NULL, %s)$$, :cx), '23503', 'insert or update on table "tickets" violates foreign key constraint "tickets_for_counter_id_office_id_fkey"', 'for_counter_id of another office');
SELECT throws_ok(format($$EXECUTE ins('U-018', 'expired', NULL, now(), NULL, now(), now(), NULL)$$), '23514', 'new row for relation "tickets" violates check constraint "tickets_state_shape"', 'expired, started but never called');
SELECT throws_ok($$UPDATE kolapp.tickets SET interpreter = 'xyz' WHERE code = 'U-016'$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_interpreter_check"', 'a bad interpreter code');
SELECT throws_ok($$UPDATE kolapp.tickets SET lang = 'E' WHERE code = 'U-016'$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_lang_check"', 'a bad lang code');
SELECT throws_ok($$UPDATE kolapp.tickets SET outcome = 'granted' WHERE code = 'U-016'$$, '23514', 'new row for relation "tickets" violates check constraint "tickets_outcome_only_done"', 'an outcome on a waiting ticket');
SELECT throws_ok(format($$INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind) VALUES (%s, %s, now(), 'parked_long')$$,
    (pg_temp.tk('U-013')).id, :tst), '23514', 'new row for relation "ticket_events" violates check constraint "ticket_events_kind_check"', 'event kinds are a list');
SELECT lives_ok(format($$INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind) SELECT %s, %s, now(), k FROM unnest(ARRAY['parked', 'reactivated', 'outcome', 'transferred']) k$$,
    (pg_temp.tk('U-013')).id, :tst), 'the new event kinds');
SELECT throws_ok($$SELECT kolapp.deactivate_queue('tst', 'U')$$, '55000', NULL, 'deactivate_queue: refused with a parked ticket today');

-- ---------------------------------------------------------------------
-- The functions accept the from-states of their action's rows
-- ---------------------------------------------------------------------
SELECT results_eq($$SELECT action, array_agg(from_state ORDER BY from_state) FROM kolapp.ticket_transitions
                     WHERE action IN ('call', 'park', 'reactivate', 'transfer', 'expire') GROUP BY action ORDER BY action$$,
    $$VALUES ('call'::text, ARRAY['parked', 'waiting']), ('expire', ARRAY['called', 'parked', 'waiting']),
             ('park', ARRAY['called', 'serving']), ('reactivate', ARRAY['no_show']), ('transfer', ARRAY['called', 'serving'])$$,
    'd_call, d_expire, d_park, d_reactivate, d_transfer and d_transfer_counter take exactly the from-states of the table');
SELECT is(ARRAY(SELECT state FROM kolapp.ticket_states WHERE final ORDER BY state), ARRAY['cancelled', 'done', 'expired'],
    'the final states, as tickets_guard lists them (purge_history also takes no-shows of earlier days, which can no longer be reactivated)');

-- ---------------------------------------------------------------------
-- The daemon's load of open tickets of earlier days reaches its index
-- ---------------------------------------------------------------------
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
SET LOCAL enable_bitmapscan = off;
SELECT matches(pg_temp.explain_of($$SELECT t.code FROM kolapp.offices o,
                                     LATERAL (SELECT code FROM kolapp.tickets WHERE office_id = o.id
                                              AND business_day < (SELECT current_date - 1) AND finished_at IS NULL
                                              AND state IN ('waiting','called','serving','parked') OFFSET 0) t$$),
    'Index Scan using tickets_office_open_idx on tickets[^\n]*\n\s+Index Cond: \(\(office_id = o\.id\) AND \(business_day < ',
    'load_tickets'' second arm: an office''s open tickets before the first loaded day, a range of the open tickets'' index');
SELECT matches(pg_temp.explain_of($$SELECT code FROM kolapp.tickets WHERE business_day >= current_date - 1
                                     AND business_day >= (SELECT current_date)$$),
    'Index Cond: \(\(business_day >= \(CURRENT_DATE - 1\)\) AND \(business_day >= \$\d+\)\)',
    'load_tickets'' first arm: the day index from the first loaded day on, not from yesterday');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT * FROM finish();
ROLLBACK;
