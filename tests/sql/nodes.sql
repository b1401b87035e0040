-- Migration 14: several daemons (issue 16). One session plays a daemon:
-- its heartbeat claims offices with advisory locks, the fence checks the
-- epoch, kolapp.move_office pins, and the roles see what they should.
BEGIN;
\ir fixture.psql
SELECT plan(19);

SELECT set_eq($$SELECT office FROM kolapp.d_node_tick('n1', '127.0.0.1:7001', 'http://127.0.0.1:8001', 0, '{}', '{}') WHERE mine$$,
              ARRAY['tst', 'oth'], 'the only daemon takes every office');
SELECT is((SELECT count(*)::int FROM kolapp.office_locks WHERE pid = pg_backend_pid()), 2,
          'with a lock each, held by its session');
SELECT set_eq($$SELECT epoch FROM kolapp.d_node_tick('n1', '127.0.0.1:7001', NULL, 0, '{}', '{}') WHERE office = 'tst'$$,
              ARRAY[1::bigint], 'a second heartbeat keeps the epoch');
SELECT is((SELECT served FROM kolapp.office_service WHERE office = 'tst'), true,
          'office_service: served');
SELECT is((SELECT node FROM kolapp.office_service WHERE office = 'tst'), 'n1',
          'office_service: by n1');
SELECT is((SELECT name FROM kolapp.live_nodes), 'n1', 'live_nodes: n1');

-- Release: given up, the office is free; the next heartbeat takes it
-- again with a new epoch.
SELECT is((SELECT node FROM kolapp.d_node_tick('n1', '127.0.0.1:7001', NULL, 0, ARRAY[:tst], '{}') WHERE office = 'tst'),
          NULL, 'a released office has no owner');
SELECT is((SELECT count(*)::int FROM kolapp.office_locks WHERE office_id = :tst), 0,
          'and no lock');
SELECT is((SELECT epoch FROM kolapp.d_node_tick('n1', '127.0.0.1:7001', NULL, 0, '{}', '{}') WHERE office = 'tst' AND mine),
          2::bigint, 'taken again, with the next epoch');

-- move_office.
SELECT throws_ok($$SELECT kolapp.move_office('tst', 'nobody')$$, 'P0002', NULL,
                 'a move to a daemon that is not alive is refused');
SELECT throws_ok($$SELECT kolapp.move_office('nope', 'n1')$$, 'P0002', NULL,
                 'a move of an unknown office is refused');
SELECT alike(kolapp.move_office('tst', 'n1'), '%already; pinned there',
            'a move to its own daemon pins it');
SELECT is((SELECT pinned FROM kolapp.office_owners WHERE office_id = :tst), 'n1', 'pinned');

-- The fence (last: its transaction-level locks last until ROLLBACK).
SELECT lives_ok(format($$SELECT kolapp.d_batch_mark('nodes-1', NULL, ARRAY[%s], ARRAY[2::bigint])$$, :tst),
                'a batch with the epoch held commits');
SELECT throws_ok(format($$SELECT kolapp.d_batch_mark('nodes-2', NULL, ARRAY[%s], ARRAY[7::bigint])$$, :tst),
                 '55P03', NULL, 'a batch with a stale epoch is refused');
SELECT lives_ok($$SELECT kolapp.d_batch_mark('nodes-3', NULL, NULL, NULL)$$,
                'a batch naming no office is not fenced');

-- Roles.
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT kolapp.move_office(''tst'', NULL)')$$,
                 '42501', NULL, 'report: may not move offices');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT * FROM kolapp.d_node_tick(''x'', ''y'', NULL, 0, NULL, NULL)')$$,
                 '42501', NULL, 'admin: may not run a heartbeat');
SELECT throws_ok($$INSERT INTO kolapp.nodes (name, advertise) VALUES ('bad name!', 'x')$$,
                 '23514', NULL, 'a node name is letters, digits and ._:-');

SELECT * FROM finish();
ROLLBACK;
-- The session ends here and with it the session-level locks it took.
