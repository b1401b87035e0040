-- Roles: what kolapp_daemon, kolapp_admin and kolapp_report may do.
BEGIN;
\ir fixture.psql
SELECT plan(66);

SELECT kolapp.create_token('counter', 'tst', 'C1') AS tok \gset
SELECT id AS tid FROM kolapp.tokens \gset

SELECT ok(EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND NOT rolcanlogin), r || ' exists, NOLOGIN')
  FROM unnest(ARRAY['kolapp_daemon', 'kolapp_admin', 'kolapp_report']) r;

-- kolapp_daemon: the statements of daemon/store/statements.c (protocol 1.1)
SELECT kolapp.add_outcome('tst', 'T', 'granted', 'Granted');
SELECT lives_ok(format($$SELECT pg_temp.as_role('kolapp_daemon', %L)$$, q), 'daemon: ' || left(q, 60))
  FROM unnest(ARRAY[
    'SELECT id, code, name, timezone FROM kolapp.offices ORDER BY id',
    'SELECT id, office_id, code, name, open, active, min_calls, no_show_after_s, reactivate_within_s, require_outcome, allow_priority FROM kolapp.queues ORDER BY office_id, id',
    'SELECT c.id, c.office_id, c.name, c.open, c.active, (date_part(''epoch'', ev.at) * 1000000)::int8, p.plan::text FROM kolapp.counters c LEFT JOIN LATERAL (SELECT e.at FROM kolapp.counter_events e WHERE e.counter_id = c.id ORDER BY e.at DESC LIMIT 1) ev ON true LEFT JOIN kolapp.d_counter_plans() p ON p.counter_id = c.id ORDER BY c.office_id, c.id',
    'SELECT counter_id, queue_id, rank, weight FROM kolapp.counter_queues ORDER BY counter_id, rank, queue_id',
    'SELECT queue_id, code, name FROM kolapp.outcomes WHERE active ORDER BY queue_id, code',
    'SELECT office_id, business_day::text, origin_queue_id, queue_id, number, code, state, (date_part(''epoch'', issued_at) * 1000000)::int8, (date_part(''epoch'', sort_at) * 1000000)::int8, (date_part(''epoch'', called_at) * 1000000)::int8, (date_part(''epoch'', started_at) * 1000000)::int8, (date_part(''epoch'', finished_at) * 1000000)::int8, counter_id, recalls, idem_key, id, priority, interpreter, lang, outcome, for_counter_id FROM kolapp.tickets WHERE business_day >= current_date - 1 '
    'UNION ALL SELECT office_id, business_day::text, origin_queue_id, queue_id, number, code, state, (date_part(''epoch'', issued_at) * 1000000)::int8, (date_part(''epoch'', sort_at) * 1000000)::int8, (date_part(''epoch'', called_at) * 1000000)::int8, (date_part(''epoch'', started_at) * 1000000)::int8, (date_part(''epoch'', finished_at) * 1000000)::int8, counter_id, recalls, idem_key, id, priority, interpreter, lang, outcome, for_counter_id FROM kolapp.tickets WHERE business_day < current_date - 1 AND state IN (''waiting'',''called'',''serving'',''parked'')',
    'SELECT coalesce(max(version), 0) FROM kolapp.schema_version',
    format('SELECT kolapp.d_issue(%s, %s, %L, 1, ''S-001'', ''k'', now(), false, NULL, NULL)', :tst, :qs, :'today'),
    format('SELECT kolapp.d_call(%s, %L, ''S-001'', %s, now())', :tst, :'today', :c1),
    format('SELECT kolapp.d_recall(%s, %L, ''S-001'', now())', :tst, :'today'),
    format('SELECT kolapp.d_set_state(%s, %L, ''S-001'', ''serving'', now())', :tst, :'today'),
    format('SELECT kolapp.d_transfer(%s, %L, ''S-001'', %s, now())', :tst, :'today', :qt),
    format('SELECT kolapp.d_call(%s, %L, ''S-001'', %s, now())', :tst, :'today', :c1),
    format('SELECT kolapp.d_park(%s, %L, ''S-001'', now())', :tst, :'today'),
    format('SELECT kolapp.d_call(%s, %L, ''S-001'', %s, now())', :tst, :'today', :c2),
    format('SELECT kolapp.d_transfer_counter(%s, %L, ''S-001'', %s, now())', :tst, :'today', :c1),
    format('SELECT kolapp.d_call_many(ARRAY[%s], ARRAY[%L]::date[], ARRAY[''S-001''], ARRAY[%s], ARRAY[now()])', :tst, :'today', :c1),
    format('SELECT kolapp.d_set_state(%s, %L, ''S-001'', ''no_show'', now())', :tst, :'today'),
    format('SELECT kolapp.d_reactivate(%s, %L, ''S-001'', now())', :tst, :'today'),
    format('SELECT kolapp.d_call(%s, %L, ''S-001'', %s, now())', :tst, :'today', :c1),
    format('SELECT kolapp.d_set_state_many(ARRAY[%s], ARRAY[%L]::date[], ARRAY[''S-001''], ARRAY[''done''], ARRAY[now()])', :tst, :'today'),
    format('SELECT kolapp.d_set_outcome(%s, %L, ''S-001'', ''granted'')', :tst, :'today'),
    format('SELECT kolapp.d_issue_many(ARRAY[%s], ARRAY[%s], ARRAY[%L]::date[], ARRAY[2], ARRAY[''S-002''], ARRAY[NULL]::text[], ARRAY[now()], ARRAY[true], ARRAY[''so''], ARRAY[''sv''])', :tst, :qs, :'today'),
    format('SELECT kolapp.d_counter_set_open(%s, true, now())', :c1),
    format('SELECT kolapp.d_expire(%s, %L, now())', :tst, :'today'),
    format('SELECT token_id, role, office_id, office_code, counter_id, counter_name FROM kolapp.d_token_lookup(sha256(convert_to(%L, ''UTF8'')))', :'tok'),
    format('SELECT kolapp.d_token_used(%s, ''127.0.0.1'')', :tid)
  ]) q;
SELECT results_eq($$SELECT code, state, outcome, priority, interpreter, lang FROM kolapp.tickets ORDER BY id$$,
    $$VALUES ('S-001'::text, 'done'::text, 'granted'::text, false, NULL::text, NULL::text),
             ('S-002', 'waiting', NULL, true, 'so', 'sv')$$,
    'daemon: the calls above did what they say');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'UPDATE kolapp.tickets SET recalls = 1')$$, '42501', NULL, 'daemon: UPDATE of tickets is refused');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT hash FROM kolapp.tokens')$$, '42501', NULL, 'daemon: tokens cannot be read');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT kolapp.add_office(''x'', ''x'', ''UTC'')')$$, '42501', NULL, 'daemon: cannot configure');

-- kolapp_admin
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT kolapp.add_queue(''tst'', ''V'', ''Visas''); SELECT kolapp.close_queue(''tst'', ''V''); SELECT * FROM kolapp.list_tokens()')$$, 'admin: configuration functions');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT * FROM kolapp.v_queue_today; SELECT count(*) FROM kolapp.tickets; SELECT id, role, revoked_at FROM kolapp.tokens')$$, 'admin: views and tables');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT kolapp.purge_history(30)')$$, 'admin: purge_history');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT kolapp.add_outcome(''tst'', ''S'', ''referred'', ''Referred''); SELECT kolapp.set_queue_policy(''tst'', ''S'', min_calls => 2, require_outcome => true); SELECT kolapp.set_counter_queues(''tst'', ''C4'', ARRAY[''S'', ''U''], ARRAY[1, 1], ARRAY[3, 1])')$$, 'admin: the configuration functions of migration 9');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT * FROM kolapp.outcomes; SELECT * FROM kolapp.outcomes_daily; SELECT * FROM kolapp.priority_daily; SELECT * FROM kolapp.parked_daily; SELECT * FROM kolapp.no_show_daily; SELECT * FROM kolapp.waits_priority_daily')$$, 'admin: outcomes and the views of migration 9');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'UPDATE kolapp.outcomes SET active = false')$$, '42501', NULL, 'admin: outcomes change through add_outcome only');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT kolapp.add_outcome(''tst'', ''S'', ''x'', ''x'')')$$, '42501', NULL, 'daemon: cannot add outcomes');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT kolapp.set_queue_policy(''tst'', ''S'')')$$, '42501', NULL, 'daemon: cannot set a queue policy');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT hash FROM kolapp.tokens')$$, '42501', NULL, 'admin: token hashes cannot be read');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'UPDATE kolapp.tickets SET recalls = 1')$$, '42501', NULL, 'admin: no direct write to tickets');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'DELETE FROM kolapp.ticket_events')$$, '42501', NULL, 'admin: no direct delete of events');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT kolapp.d_issue(1, 1, current_date, 1, ''S-001'', NULL, now(), false, NULL, NULL)')$$, '42501', NULL, 'admin: cannot call the daemon functions');

-- kolapp_report
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT * FROM kolapp.v_queue_today; SELECT * FROM kolapp.v_waits_daily; SELECT * FROM kolapp.v_waits_hourly; SELECT * FROM kolapp.v_counter_daily; SELECT * FROM kolapp.v_no_show_rates')$$, 'report: the views');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT * FROM kolapp.outcomes_daily; SELECT * FROM kolapp.priority_daily; SELECT * FROM kolapp.parked_daily; SELECT * FROM kolapp.no_show_daily; SELECT * FROM kolapp.waits_priority_daily; SELECT queue_id, code, name FROM kolapp.outcomes')$$, 'report: the views of migration 9 and the outcome names');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT kolapp.add_office(''x'', ''x'', ''UTC'')')$$, '42501', NULL, 'report: cannot call add_office');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT * FROM kolapp.tickets')$$, '42501', NULL, 'report: no tables');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT kolapp.add_outcome(''tst'', ''S'', ''x'', ''x'')')$$, '42501', NULL, 'report: cannot add outcomes');
SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['kolapp.outcomes', 'kolapp.outcomes_daily', 'kolapp.priority_daily', 'kolapp.parked_daily',
                                           'kolapp.no_show_daily', 'kolapp.waits_priority_daily']) r
                 WHERE has_table_privilege('public', r, 'SELECT, INSERT, UPDATE, DELETE') ORDER BY 1),
    '{}'::text[], 'PUBLIC reads nothing of migration 9');

-- The d_ functions, all one way (kolapp.secure_daemon_functions of
-- migration 8). Each list names the functions that break the rule.
CREATE VIEW pg_temp.d_functions AS
    SELECT p.oid, p.oid::regprocedure::text AS fn, p.prosecdef, p.proconfig
      FROM pg_proc p
     WHERE p.pronamespace = 'kolapp'::regnamespace AND p.prokind = 'f' AND p.proname LIKE 'd\_%';
SELECT cmp_ok((SELECT count(*)::int FROM pg_temp.d_functions), '>=', 15, 'the daemon has its d_ functions');
SELECT is(ARRAY(SELECT fn FROM pg_temp.d_functions
                 WHERE NOT (prosecdef AND proconfig = ARRAY['search_path=pg_catalog, kolapp']) ORDER BY fn),
    '{}'::text[], 'every d_ function is SECURITY DEFINER with search_path = pg_catalog, kolapp and nothing else');
SELECT is(ARRAY(SELECT fn FROM pg_temp.d_functions
                 WHERE NOT EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a
                                    WHERE p.oid = d_functions.oid AND a.privilege_type = 'EXECUTE'
                                      AND a.grantee = 'kolapp_daemon'::regrole) ORDER BY fn),
    '{}'::text[], 'kolapp_daemon is granted EXECUTE on every d_ function');
SELECT is(ARRAY(SELECT fn FROM pg_temp.d_functions WHERE has_function_privilege('public', oid, 'EXECUTE') ORDER BY fn),
    '{}'::text[], 'PUBLIC executes no d_ function');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'kolapp'::regnamespace AND p.proname NOT LIKE 'd\_%'
                   AND has_function_privilege('kolapp_daemon', p.oid, 'EXECUTE')
                   AND NOT has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
    '{}'::text[], 'kolapp_daemon executes no other kolapp function of its own right');

-- A d_ function added later is unsecured until the procedure runs.
CREATE FUNCTION kolapp.d_tap_probe() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT ok(has_function_privilege('public', 'kolapp.d_tap_probe()', 'EXECUTE')
          AND NOT (SELECT prosecdef FROM pg_proc WHERE oid = 'kolapp.d_tap_probe()'::regprocedure),
    'a new d_ function: PUBLIC may call it, not SECURITY DEFINER');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'CALL kolapp.secure_daemon_functions()')$$, '42501', NULL, 'admin: cannot call secure_daemon_functions');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'CALL kolapp.secure_daemon_functions()')$$, '42501', NULL, 'daemon: cannot call secure_daemon_functions');
SELECT lives_ok($$CALL kolapp.secure_daemon_functions()$$, 'the owner calls secure_daemon_functions');
SELECT results_eq($$SELECT prosecdef, proconfig = ARRAY['search_path=pg_catalog, kolapp'],
                           has_function_privilege('public', oid, 'EXECUTE'),
                           has_function_privilege('kolapp_daemon', oid, 'EXECUTE')
                      FROM pg_proc WHERE oid = 'kolapp.d_tap_probe()'::regprocedure$$,
    $$VALUES (true, true, false, true)$$,
    'secure_daemon_functions: SECURITY DEFINER, the search_path, EXECUTE for the daemon only');
CREATE OR REPLACE FUNCTION kolapp.d_tap_probe() RETURNS int LANGUAGE sql AS 'SELECT 2';
SELECT results_eq($$SELECT prosecdef, proconfig IS NULL FROM pg_proc WHERE oid = 'kolapp.d_tap_probe()'::regprocedure$$,
    $$VALUES (false, true)$$, 'CREATE OR REPLACE drops SECURITY DEFINER and SET: replaced functions need the call too');
CALL kolapp.secure_daemon_functions();
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_daemon', 'SELECT kolapp.d_tap_probe()')$$, 'daemon: calls the secured d_ function');

-- PUBLIC
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'kolapp'::regnamespace
            AND has_function_privilege('public', p.oid, 'EXECUTE')
            AND p.proname NOT IN ('is_valid_timezone', 'purging', 'config_payload', 'local_days')
            AND p.prorettype <> 'trigger'::regtype), 0, 'PUBLIC executes no kolapp function');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'kolapp'::regnamespace
            AND p.prorettype <> 'trigger'::regtype AND p.prokind = 'f'
            AND p.proname NOT IN ('is_valid_timezone', 'purging', 'config_payload', 'local_days')
            -- inlined into the transition trigger, which neither would allow
            AND p.proname <> 'ticket_transition_allowed'
            AND NOT (p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, kolapp'])), 0,
    'every function is SECURITY DEFINER with a pinned search_path');

SELECT * FROM finish();
ROLLBACK;
