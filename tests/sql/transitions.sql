-- The ticket state machine of migration 8: kolapp.ticket_states,
-- kolapp.ticket_transitions, the function compiled from them, and the
-- trigger and d_set_state that use it. (That the rows are those of
-- daemon/engine/ticket_state.c is tests/integration/test_transitions.)
BEGIN;
\ir fixture.psql
SELECT plan(38);

-- The tables
SELECT has_table('kolapp', 'ticket_states', 'kolapp.ticket_states exists');
SELECT has_table('kolapp', 'ticket_transitions', 'kolapp.ticket_transitions exists');
SELECT col_is_pk('kolapp', 'ticket_states', 'state', 'ticket_states: the state is the key');
SELECT col_is_pk('kolapp', 'ticket_transitions', ARRAY['from_state', 'action'], 'ticket_transitions: (from_state, action) is the key');
SELECT fk_ok('kolapp', 'ticket_transitions', 'from_state', 'kolapp', 'ticket_states', 'state', 'from_state is a state');
SELECT fk_ok('kolapp', 'ticket_transitions', 'to_state', 'kolapp', 'ticket_states', 'state', 'to_state is a state');
SELECT results_eq($$SELECT count(*)::int, count(*) FILTER (WHERE waiting)::int, count(*) FILTER (WHERE held)::int,
                           count(*) FILTER (WHERE parked)::int, count(*) FILTER (WHERE final)::int,
                           count(*) FILTER (WHERE NOT (waiting OR held OR parked OR final))::int
                      FROM kolapp.ticket_states$$,
    $$VALUES (8, 1, 2, 1, 3, 1)$$, 'eight states: one waiting, two held, one parked, three final, one (no_show) none of them');
SELECT is((SELECT count(*)::int FROM kolapp.ticket_transitions), 16, 'sixteen transitions');
SELECT throws_ok($$INSERT INTO kolapp.ticket_states (state, waiting, held, parked, final) VALUES ('limbo', true, true, false, false)$$, '23514', NULL,
    'a state is in at most one place');
SELECT throws_ok($$INSERT INTO kolapp.ticket_transitions VALUES ('waiting', 'vanish', 'gone')$$, '23503', NULL,
    'a transition goes to a known state');

-- tickets.state keeps its own list (a foreign key would cost a lookup per
-- ticket): it must accept exactly the states of the table. Any string it
-- accepts is written in it, so trying those, the table's states and some
-- near misses settles it.
CREATE FUNCTION pg_temp.state_check() RETURNS text LANGUAGE sql AS $$
    SELECT pg_get_expr(c.conbin, c.conrelid) FROM pg_constraint c
     WHERE c.conrelid = 'kolapp.tickets'::regclass AND c.conname = 'tickets_state_check'
$$;
CREATE FUNCTION pg_temp.state_check_accepts(v text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    EXECUTE format('SELECT %s FROM (SELECT $1::text AS state) t', pg_temp.state_check()) INTO ok USING v;
    RETURN coalesce(ok, false);
END $$;
SELECT isnt(pg_temp.state_check(), NULL, 'tickets.state has its CHECK constraint tickets_state_check');
SELECT is(ARRAY(SELECT c FROM (SELECT state FROM kolapp.ticket_states
                               UNION SELECT m[1] FROM regexp_matches(pg_temp.state_check(), '''([^'']*)''', 'g') m
                               UNION SELECT unnest(ARRAY['', 'WAITING', 'served', 'no-show', 'waiting '])) x(c)
                 WHERE pg_temp.state_check_accepts(c) ORDER BY c),
    ARRAY(SELECT state FROM kolapp.ticket_states ORDER BY state),
    'the CHECK on tickets.state accepts exactly the states of ticket_states');
SELECT is(ARRAY(SELECT s.state FROM kolapp.ticket_states s
                 WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c
                                    WHERE c.conrelid = 'kolapp.tickets'::regclass AND c.conname = 'tickets_state_shape'
                                      AND pg_get_expr(c.conbin, c.conrelid) LIKE '%WHEN ' || quote_literal(s.state) || '::text THEN%')
                 ORDER BY 1),
    '{}'::text[], 'tickets_state_shape says what each state of ticket_states looks like');

-- The compiled function: the table's pairs, inlined where it is used
SELECT is(ARRAY(SELECT a.state || ' -> ' || b.state
                  FROM kolapp.ticket_states a CROSS JOIN kolapp.ticket_states b
                 WHERE kolapp.ticket_transition_allowed(a.state, b.state)
                       IS DISTINCT FROM EXISTS (SELECT 1 FROM kolapp.ticket_transitions tr
                                                 WHERE tr.from_state = a.state AND tr.to_state = b.state)
                 ORDER BY 1),
    '{}'::text[], 'ticket_transition_allowed agrees with ticket_transitions on every pair of states');
SELECT results_eq($$SELECT l.lanname = 'sql', p.provolatile = 'i', p.prosecdef, p.proconfig IS NULL
                      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                     WHERE p.oid = 'kolapp.ticket_transition_allowed(text, text)'::regprocedure$$,
    $$VALUES (true, true, false, true)$$, 'ticket_transition_allowed: sql, immutable, no SECURITY DEFINER, no SET');
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
SELECT unalike(pg_temp.plan_of($$SELECT 1 FROM kolapp.tickets t WHERE kolapp.ticket_transition_allowed(t.state, 'done')$$),
    '%ticket_transition_allowed%', 'ticket_transition_allowed is inlined, not called');

-- The trigger on tickets
SELECT kolapp.d_issue(:tst, :qs, :'today', 1, 'S-001', NULL, now() - interval '10 minutes', false, NULL, NULL);
SELECT kolapp.d_call(:tst, :'today', 'S-001', :c1, now() - interval '9 minutes');
SELECT kolapp.d_set_state(:tst, :'today', 'S-001', 'done', now() - interval '8 minutes');
SELECT throws_ok($$UPDATE kolapp.tickets SET state = 'waiting' WHERE code = 'S-001'$$, '23514',
    'illegal ticket state transition: done -> waiting', 'UPDATE: done -> waiting raises check_violation');
SELECT kolapp.d_issue(:tst, :qs, :'today', 2, 'S-002', NULL, now() - interval '7 minutes', false, NULL, NULL);
SELECT throws_ok(format($$UPDATE kolapp.tickets SET state = 'serving', counter_id = %s, called_at = now(), started_at = now()
                           WHERE code = 'S-002'$$, :c2), '23514',
    'illegal ticket state transition: waiting -> serving', 'UPDATE: waiting -> serving (no call) is refused');
SELECT lives_ok(format($$UPDATE kolapp.tickets SET state = 'called', counter_id = %s, called_at = now() WHERE code = 'S-002'$$, :c2),
    'UPDATE: waiting -> called is allowed');

-- d_set_state: its own four target states, and from-states of the table
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'served', now())$$, :tst, :'today'), '22023',
    'd_set_state: state served is not serving, done, no_show or cancelled', 'd_set_state: an unknown state');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', NULL, now())$$, :tst, :'today'), '22023',
    'd_set_state: state NULL is not serving, done, no_show or cancelled', 'd_set_state: NULL state');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'waiting', now())$$, :tst, :'today'), '22023',
    'd_set_state: state waiting is not serving, done, no_show or cancelled', 'd_set_state: waiting is d_transfer''s');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'expired', now())$$, :tst, :'today'), '22023',
    'd_set_state: state expired is not serving, done, no_show or cancelled', 'd_set_state: expired is d_expire''s');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'cancelled', now())$$, :tst, :'today'), '55000',
    'cannot set state cancelled: ticket S-002 is called, expected waiting', 'd_set_state: cancelled from called');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-001', 'done', now())$$, :tst, :'today'), '55000',
    'cannot set state done: ticket S-001 is done, expected called or serving', 'd_set_state: done from done');
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-404', 'done', now())$$, :tst, :'today'), 'P0002',
    NULL, 'd_set_state: no such ticket');
SELECT lives_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'no_show', now())$$, :tst, :'today'),
    'd_set_state: no_show from called');
SELECT results_eq($$SELECT t.state, e.kind FROM kolapp.tickets t JOIN kolapp.ticket_events e ON e.ticket_id = t.id
                     WHERE t.code = 'S-002' ORDER BY e.id DESC LIMIT 1$$,
    $$VALUES ('no_show'::text, 'no_show'::text)$$, 'd_set_state: the state and its event');

-- The table is what decides: a new row is allowed at once by the trigger
-- and by d_set_state (both have run in this session, so their plans are
-- cached), and a deleted one refused again.
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'done', now())$$, :tst, :'today'), '55000',
    'cannot set state done: ticket S-002 is no_show, expected called or serving', 'd_set_state: done from no_show, before');
INSERT INTO kolapp.ticket_transitions VALUES ('no_show', 'tap_came_late', 'done');
SELECT ok(kolapp.ticket_transition_allowed('no_show', 'done'), 'a new transition is compiled into the function');
SELECT kolapp.d_issue(:tst, :qs, :'today', 3, 'S-003', NULL, now(), false, NULL, NULL);
SELECT throws_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-003', 'done', now())$$, :tst, :'today'), '55000',
    'cannot set state done: ticket S-003 is waiting, expected called or no_show or serving', 'd_set_state lists the from-states of the table');
SELECT lives_ok(format($$SELECT kolapp.d_set_state(%s, %L, 'S-002', 'done', now())$$, :tst, :'today'),
    'd_set_state: done from no_show, once the table allows it');
DELETE FROM kolapp.ticket_transitions WHERE action = 'tap_came_late';
SELECT ok(NOT kolapp.ticket_transition_allowed('no_show', 'done'), 'a deleted transition leaves the function');
SELECT kolapp.d_call(:tst, :'today', 'S-003', :c3, now());
SELECT kolapp.d_set_state(:tst, :'today', 'S-003', 'no_show', now());
SELECT throws_ok($$UPDATE kolapp.tickets SET state = 'done' WHERE code = 'S-003'$$, '23514',
    'illegal ticket state transition: no_show -> done', 'the trigger refuses the deleted transition');

-- Who may read them
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT * FROM kolapp.ticket_states; SELECT * FROM kolapp.ticket_transitions; SELECT kolapp.ticket_transition_allowed(''waiting'', ''called'')')$$,
    'admin: reads the state machine');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT * FROM kolapp.ticket_states; SELECT * FROM kolapp.ticket_transitions')$$,
    'daemon: reads the state machine');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'DELETE FROM kolapp.ticket_transitions')$$, '42501', NULL,
    'admin: cannot change the state machine');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT * FROM kolapp.ticket_transitions')$$, '42501', NULL,
    'report: no tables');

SELECT * FROM finish();
ROLLBACK;
