-- Constraints and triggers on tickets, events and the daemon functions.
BEGIN;
\ir fixture.psql
SELECT plan(73);

-- a ticket through the daemon functions
SELECT lives_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 1, 'S-001', 'k1', now() - interval '10 minutes', false, NULL, NULL)$$, :tst, :qs, :'today'), 'd_issue');
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-001', %s, now() - interval '5 minutes')$$, :tst, :'today', :c1), 'd_call');
SELECT lives_ok(format($$SELECT kolapp.d_recall(%s, %L, 'S-001', now() - interval '4 minutes')$$, :tst, :'today'), 'd_recall');
SELECT lives_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'serving', now() - interval '3 minutes')$$, :tst, :'today'), 'd_set_state serving');
SELECT lives_ok(format($$SELECT kolapp.d_transfer(%s, %L, 'S-001', %s, now() - interval '2 minutes')$$, :tst, :'today', :qt), 'd_transfer');
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'S-001', %s, now() - interval '1 minute')$$, :tst, :'today', :c2), 'd_call again');
SELECT lives_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'done', now())$$, :tst, :'today'), 'd_set_state done');
SELECT is((SELECT array_agg(kind ORDER BY id) FROM kolapp.ticket_events), ARRAY['issued', 'called', 'recalled', 'serving', 'transferred', 'called', 'done'], 'every step is in the log');
SELECT lives_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 2, 'S-002', NULL, now(), false, NULL, NULL)$$, :tst, :qs, :'today'), 'd_issue of a second ticket');
SELECT lives_ok(format($$SELECT kolapp.d_expire(%s, %L::date + 1, now())$$, :tst, :'today'), 'd_expire');

-- illegal transitions
SELECT throws_ok($$UPDATE kolapp.tickets SET state = 'waiting' WHERE code = 'S-001'$$, '23514', 'illegal ticket state transition: done -> waiting', 'done -> waiting is refused');
SELECT throws_ok($$UPDATE kolapp.tickets SET state = 'done' WHERE code = 'S-002'$$, '23514', 'illegal ticket state transition: expired -> done', 'expired -> done is refused');
SELECT throws_ok($$UPDATE kolapp.tickets SET finished_at = now() + interval '1 hour' WHERE code = 'S-001'$$, '23514', 'ticket S-001 is done: a finished ticket cannot change', 'a finished ticket is frozen');
SELECT throws_ok($$UPDATE kolapp.tickets SET idem_key = 'other' WHERE code = 'S-001'$$, '23514', NULL, 'a finished ticket''s key cannot be replaced');
SELECT throws_ok($$UPDATE kolapp.tickets SET code = 'S-009', number = 9 WHERE code = 'S-002'$$, '23514', NULL, 'a ticket''s identity cannot change');
SELECT throws_ok(format($$UPDATE kolapp.tickets SET business_day = %L::date - 1 WHERE code = 'S-002'$$, :'today'), '23514', NULL, 'a ticket''s day cannot change');

-- state shape and time order
PREPARE ins(text, text, int, timestamptz, timestamptz, timestamptz, timestamptz) AS
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state,
                            issued_at, sort_at, counter_id, called_at, started_at, finished_at)
VALUES (:tst, :'today', :qt, :qt, split_part($1, '-', 2)::int, $1, $2, $4, $4, $3, $5, $6, $7);
SELECT throws_ok($$EXECUTE ins('T-010', 'done', NULL, now(), now(), NULL, now())$$, '23514', NULL, 'done without a counter');
SELECT throws_ok(format($$EXECUTE ins('T-011', 'done', %s, now(), NULL, NULL, now())$$, :c2), '23514', NULL, 'done without called_at');
SELECT throws_ok(format($$EXECUTE ins('T-012', 'done', %s, now(), now(), NULL, NULL)$$, :c2), '23514', NULL, 'done without finished_at');
SELECT throws_ok(format($$EXECUTE ins('T-013', 'waiting', NULL, now(), now(), NULL, NULL)$$), '23514', NULL, 'waiting with called_at');
SELECT throws_ok(format($$EXECUTE ins('T-014', 'called', %s, now(), now(), now(), NULL)$$, :c2), '23514', NULL, 'called with started_at');
SELECT throws_ok(format($$EXECUTE ins('T-015', 'serving', %s, now(), now(), NULL, NULL)$$, :c2), '23514', NULL, 'serving without started_at');
SELECT throws_ok(format($$EXECUTE ins('T-016', 'cancelled', %s, now(), NULL, NULL, now())$$, :c2), '23514', NULL, 'cancelled with a counter');
SELECT throws_ok(format($$EXECUTE ins('T-017', 'no_show', %s, now(), now(), NULL, NULL)$$, :c2), '23514', NULL, 'no_show without finished_at');
SELECT throws_ok(format($$EXECUTE ins('T-018', 'expired', %s, now(), NULL, NULL, now())$$, :c2), '23514', NULL, 'expired with a counter but never called');
SELECT throws_ok(format($$EXECUTE ins('T-019', 'done', %s, now(), now() - interval '1 minute', NULL, now())$$, :c2), '23514', NULL, 'called before issued');
SELECT throws_ok(format($$EXECUTE ins('T-020', 'done', %s, now() - interval '9 minutes', now() - interval '8 minutes', now() - interval '9 minutes', now())$$, :c2), '23514', NULL, 'started before called');
SELECT throws_ok(format($$EXECUTE ins('T-021', 'done', %s, now() - interval '9 minutes', now() - interval '8 minutes', NULL, now() - interval '9 minutes')$$, :c2), '23514', NULL, 'finished before called');
SELECT lives_ok(format($$EXECUTE ins('T-022', 'done', %s, now() - interval '9 minutes', now() - interval '8 minutes', now() - interval '7 minutes', now())$$, :c2), 'a consistent finished ticket may be imported');
SELECT throws_ok(format($$EXECUTE ins('T-23', 'waiting', NULL, now(), NULL, NULL, NULL)$$), '23514', NULL, 'code with fewer than 3 digits');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 5, 'T-004', 'waiting', now(), now())$$, :tst, :'today', :qt, :qt), '23514', NULL, 'code and number disagree');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 5, 'S-005', 'waiting', now(), now())$$, :tst, :'today', :qt, :qt), '23514', 'ticket code S-005 does not start with its queue''s code T', 'code of another queue');

-- the code names the number (migration 13's form of the rule)
SELECT lives_ok($$EXECUTE ins('T-0040', 'waiting', NULL, now(), NULL, NULL, NULL)$$, 'leading zeros beyond three digits');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 5, 'T-105', 'waiting', now(), now())$$, :tst, :'today', :qt, :qt), '23514', NULL, 'a code whose number only ends in the number');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 5, 'T-050', 'waiting', now(), now())$$, :tst, :'today', :qt, :qt), '23514', NULL, 'a code whose number has a trailing zero more');

-- a ticket's office exists and keeps existing (through its queue's key)
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 41, 'T-041', 'waiting', now(), now())$$, :tst + 100000, :'today', :qt, :qt), '23503', NULL, 'a ticket of an office that does not exist');
SELECT throws_ok(format($$DELETE FROM kolapp.offices WHERE id = %s$$, :tst), '23503', NULL, 'an office with tickets cannot be deleted');

-- a ticket's origin queue is a queue of its office, and stays (migration
-- 18 checks it per statement instead of by a foreign key)
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 50, 'S-050', 'waiting', now(), now())$$, :tst, :'today', :qos, :qt), '23503',
    format('ticket S-050: its origin queue %s is not a queue of office %s', :qos, :tst), 'an origin queue of another office');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) VALUES (%s, %L, %s, %s, 51, 'S-051', 'waiting', now(), now())$$, :tst, :'today', :qt + 100000, :qt), '23503', NULL, 'an origin queue that does not exist');
SELECT throws_ok(format($$INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code, state, issued_at, sort_at) SELECT %s, %L, %s, %s, n, c, 'waiting', now(), now() FROM (VALUES (60, 'S-060'), (61, 'S-061'), (62, 'T-062')) v(n, c)$$, :tst, :'today', :qs, :qs), '23514',
    'ticket code T-062 does not start with its queue''s code S', 'one statement of several tickets: each is checked');
SELECT kolapp.add_queue('tst', 'V', 'Visas') AS qv \gset
SELECT kolapp.d_issue(:tst, :qv, :'today', 1, 'V-001', NULL, now() - interval '2 minutes', false, NULL, NULL);
SELECT kolapp.d_call(:tst, :'today', 'V-001', :c3, now() - interval '1 minute');
SELECT kolapp.d_transfer(:tst, :'today', 'V-001', :qt, now());
SELECT is((SELECT (origin_queue_id, queue_id, state) FROM kolapp.tickets WHERE code = 'V-001'), (:qv, :qt, 'waiting'::text), 'V-001 came from V and waits in T');
SELECT throws_ok(format($$DELETE FROM kolapp.queues WHERE id = %s$$, :qv), '23503', format('queue V (id %s) has tickets issued to it', :qv), 'a queue tickets were issued to cannot be deleted');
SELECT throws_ok(format($$UPDATE kolapp.queues SET id = id + 100000 WHERE id = %s$$, :qv), '23503', NULL, 'nor its id changed');
SELECT lives_ok($$UPDATE kolapp.queues SET name = 'Visas and permits' WHERE code = 'V'$$, 'its other columns can change');
SELECT kolapp.add_queue('tst', 'W', 'Unused') AS qw \gset
SELECT lives_ok(format($$DELETE FROM kolapp.queues WHERE id = %s$$, :qw), 'a queue no ticket was issued to can be deleted');

-- one held ticket per counter
SELECT kolapp.d_issue(:tst, :qt, :'today', 30, 'T-030', NULL, now(), false, NULL, NULL);
SELECT kolapp.d_issue(:tst, :qt, :'today', 31, 'T-031', NULL, now(), false, NULL, NULL);
SELECT kolapp.d_call(:tst, :'today', 'T-030', :c2, now());
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'T-031', %s, now())$$, :tst, :'today', :c2), '23505', NULL, 'a counter holds one ticket at a time');

-- a ticket's counter is a counter of its office, an event's a counter,
-- and a counter either names stays (migration 20: checks per statement)
SELECT throws_ok(format($$UPDATE kolapp.tickets SET counter_id = %s WHERE code = 'T-030'$$, :cx), '23503',
    format('ticket T-030: its counter %s is not a counter of office %s', :cx, :tst), 'a counter of another office');
SELECT throws_ok(format($$EXECUTE ins('T-060', 'called', %s, now(), now(), NULL, NULL)$$, :cx), '23503', NULL,
    'nor when the ticket is inserted with it');
SELECT throws_ok(format($$DELETE FROM kolapp.counters WHERE id = %s$$, :c2), '23503',
    format('counter C2 (id %s) has served tickets', :c2), 'a counter a ticket names cannot be deleted');
SELECT throws_ok(format($$DELETE FROM kolapp.counters WHERE id = %s$$, :c3), '23503', NULL,
    'nor one only events name (C3 called V-001, which was then transferred)');
-- migration 22: only what a statement changes is checked, several
-- counters at once, and the error still names the fault
SELECT kolapp.d_call(:tst, :'today', 'T-031', :c1, now());
SELECT throws_ok(format($$UPDATE kolapp.tickets SET counter_id = CASE code WHEN 'T-030' THEN %s ELSE %s END WHERE code IN ('T-030', 'T-031')$$, :c3, :cx), '23503',
    format('ticket T-031: its counter %s is not a counter of office %s', :cx, :tst), 'two counters in one statement, one of another office');
SELECT lives_ok($$UPDATE kolapp.tickets SET recalls = recalls WHERE code IN ('T-030', 'T-031')$$, 'a statement that changes no counter');
SELECT throws_ok(format($$INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id) SELECT id, office_id, now(), 'called', c FROM kolapp.tickets, unnest(ARRAY[%s, %s, %s]) c WHERE code = 'T-022'$$, :c1, :c1, :cx + 1000),
    '23503', format('an event names counter %s, which does not exist', :cx + 1000), 'events naming a counter twice and a missing one');
SELECT kolapp.add_counter('tst', 'C9', ARRAY['T']) AS c9 \gset
SELECT lives_ok(format($$DELETE FROM kolapp.counters WHERE id = %s$$, :c9), 'a counter nothing names can be deleted');

-- append-only log, deletions only through purge_history
SELECT throws_ok($$UPDATE kolapp.ticket_events SET detail = NULL$$, '42501', 'kolapp.ticket_events is append-only: UPDATE is not allowed', 'events cannot be updated');
SELECT throws_ok($$DELETE FROM kolapp.ticket_events$$, '42501', 'kolapp.ticket_events is append-only: DELETE is not allowed', 'events cannot be deleted');
SELECT throws_ok($$TRUNCATE kolapp.ticket_events CASCADE$$, '42501', NULL, 'events cannot be truncated');
SELECT throws_ok($$DELETE FROM kolapp.tickets WHERE code = 'T-022'$$, '42501', 'kolapp.tickets: DELETE is not allowed', 'tickets cannot be deleted');
SELECT throws_ok($$TRUNCATE kolapp.tickets CASCADE$$, '42501', NULL, 'tickets cannot be truncated');
SELECT throws_ok(format($$INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id) SELECT id, office_id, now(), 'called', %s FROM kolapp.tickets WHERE code = 'T-022'$$, :cx + 1000), '23503', NULL, 'an event names a real counter');
SELECT throws_ok(format($$INSERT INTO kolapp.counter_events (counter_id, office_id, at, open) VALUES (%s, %s, now(), true)$$, :c1, :oth), '23503', NULL, 'a counter event carries its counter''s office');

-- migration 24: one held ticket per counter, kept in kolapp.counter_holds
-- by the statement triggers, so that calls and starts rewrite no index
SELECT is((SELECT count(*)::int FROM pg_indexes WHERE schemaname = 'kolapp' AND tablename = 'tickets'
            AND indexdef ~ '\m(state|counter_id|called_at|started_at)\M'), 0,
    'no index of tickets names a column a call or a start changes');
SELECT kolapp.add_counter('tst', 'C5', ARRAY['T']) AS c5 \gset
SELECT kolapp.add_counter('tst', 'C6', ARRAY['T']) AS c6 \gset
SELECT kolapp.d_issue(:tst, :qt, :'today', n, 'T-0' || n, NULL, now(), false, NULL, NULL) FROM generate_series(70, 74) n;
SELECT n_tup_hot_upd AS hot0 FROM pg_stat_xact_user_tables WHERE relid = 'kolapp.tickets'::regclass \gset
SELECT kolapp.d_call(:tst, :'today', 'T-070', :c5, now());
SELECT kolapp.d_set_state(:tst, :'today', 'T-070', 'serving', now());
SELECT is((SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'kolapp.tickets'::regclass) - :hot0, 2::bigint,
    'a call and a start are HOT updates');
SELECT is((SELECT h.ticket_id FROM kolapp.counter_holds h WHERE h.counter_id = :c5),
    (SELECT t.id FROM kolapp.tickets t WHERE t.office_id = :tst AND t.code = 'T-070'), 'the counter''s hold names the ticket it serves');
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'T-071', %s, now())$$, :tst, :'today', :c5), '23505',
    format('ticket T-071: counter %s already holds ticket T-070', :c5), 'a serving counter calls no other ticket');
SELECT throws_ok(format($$EXECUTE ins('T-075', 'called', %s, now(), now(), NULL, NULL)$$, :c5), '23505', NULL,
    'nor is a ticket inserted called at it');
SELECT kolapp.d_park(:tst, :'today', 'T-070', now());
SELECT is((SELECT h.ticket_id FROM kolapp.counter_holds h WHERE h.counter_id = :c5), NULL, 'a parked ticket holds nothing');
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'T-071', %s, now())$$, :tst, :'today', :c5), 'so the counter calls another');
SELECT throws_ok(format($$SELECT kolapp.d_call(%s, %L, 'T-070', %s, now())$$, :tst, :'today', :c5), '23505', NULL,
    'but not the parked one back while it holds that one');
SELECT kolapp.d_set_state(:tst, :'today', 'T-071', 'no_show', now());
SELECT lives_ok(format($$SELECT kolapp.d_call(%s, %L, 'T-070', %s, now())$$, :tst, :'today', :c5), 'after a no-show it can');
SELECT throws_like(format($$UPDATE kolapp.tickets SET state = 'called', counter_id = %s, called_at = now() WHERE office_id = %s AND code IN ('T-072', 'T-073')$$, :c6, :tst),
    '%would hold two tickets at once', 'one statement calling two tickets to one counter');
SELECT lives_ok(format($$UPDATE kolapp.tickets SET state = CASE code WHEN 'T-070' THEN 'no_show' ELSE 'called' END, counter_id = %s,
                          called_at = coalesce(called_at, now()), finished_at = CASE code WHEN 'T-070' THEN now() END
                          WHERE office_id = %s AND code IN ('T-070', 'T-072')$$, :c5, :tst),
    'one statement may release a counter and call its next ticket');
SELECT is((SELECT t.code FROM kolapp.counter_holds h JOIN kolapp.tickets t ON t.id = h.ticket_id WHERE h.counter_id = :c5), 'T-072',
    'and the hold follows');

SELECT * FROM finish();
ROLLBACK;
