-- Migration 12: office keys, the visitor hash, ratings, interpreter needs
-- and queue texts (issue 14).
BEGIN;
\ir fixture.psql
SELECT plan(35);

-- ---- keys ----------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM kolapp.office_keys WHERE office_id IN (:tst, :oth)), 2,
          'every office gets a visitor key when it is added');
SELECT ok((SELECT length(visitor_key) >= 32 FROM kolapp.office_keys WHERE office_id = :tst),
          'a key has at least 32 bytes');
SELECT isnt((SELECT visitor_key FROM kolapp.office_keys WHERE office_id = :tst),
            (SELECT visitor_key FROM kolapp.office_keys WHERE office_id = :oth),
            'each office has its own key');
SELECT throws_ok($$INSERT INTO kolapp.office_keys VALUES (-1, '\x00')$$, '23514', NULL,
                 'a short key is refused');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_daemon',
    'SELECT o.id, o.code, o.name, o.timezone, encode(k.visitor_key, ''hex'') FROM kolapp.offices o LEFT JOIN kolapp.office_keys k ON k.office_id = o.id')$$,
    'daemon: reads the keys with the offices (load_offices)');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT visitor_key FROM kolapp.office_keys')$$,
                 '42501', NULL, 'admin: cannot read the keys');
SELECT throws_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT visitor_key FROM kolapp.office_keys')$$,
                 '42501', NULL, 'report: cannot read the keys');

-- ---- the visitor hash through d_issue ------------------------------------------
SELECT lives_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 1, 'S-001', NULL, now(), false,
    'so', 'so', NULL, repeat('ab', 32))$$, :tst, :qs, :'today'), 'd_issue takes the hash');
SELECT is((SELECT encode(visitor_hash, 'hex') FROM kolapp.tickets WHERE office_id = :tst AND code = 'S-001'),
          repeat('ab', 32), 'the hash is stored as bytes');
SELECT throws_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 2, 'S-002', NULL, now(), false,
    NULL, NULL, NULL, 'abcd')$$, :tst, :qs, :'today'), '23514', NULL, 'a hash that is not SHA-256 is refused');
SELECT lives_ok(format($$SELECT kolapp.d_issue(%s, %s, %L, 2, 'S-002', NULL, now(), false,
    NULL, NULL)$$, :tst, :qs, :'today'), 'd_issue without a hash still works (migration 10''s calls)');
SELECT lives_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s, %s], ARRAY[%s, %s], ARRAY[%L, %L]::date[],
    ARRAY[1, 3], ARRAY['T-001', 'S-003'], ARRAY[NULL, NULL]::text[], ARRAY[now(), now()],
    ARRAY[false, false], ARRAY['ti', NULL], ARRAY['ti', NULL], ARRAY[NULL, NULL]::int[],
    ARRAY[repeat('01', 32), NULL])$$, :tst, :tst, :qt, :qs, :'today', :'today'),
    'd_issue_many takes the hashes');
SELECT is((SELECT encode(visitor_hash, 'hex') FROM kolapp.tickets WHERE office_id = :tst AND code = 'T-001'),
          repeat('01', 32), 'd_issue_many stores each hash');
SELECT throws_ok(format($$SELECT kolapp.d_issue_many(ARRAY[%s], ARRAY[%s], ARRAY[%L]::date[],
    ARRAY[4], ARRAY['S-004'], ARRAY[NULL]::text[], ARRAY[now()], ARRAY[false], ARRAY[NULL]::text[],
    ARRAY[NULL]::text[], ARRAY[NULL]::int[], ARRAY[NULL, NULL]::text[])$$, :tst, :qs, :'today'),
    '22023', NULL, 'd_issue_many: a hash array of another length is refused');

-- ---- ratings ---------------------------------------------------------------------
SELECT kolapp.d_call(:tst, :'today', 'S-001', :c1, now());
SELECT kolapp.d_set_state(:tst, :'today', 'S-001', 'done', now());
SELECT lives_ok(format($$SELECT kolapp.d_rate(%s, %L, 'S-001', 4)$$, :tst, :'today'), 'd_rate of a done ticket');
SELECT ok((SELECT rated FROM kolapp.tickets WHERE office_id = :tst AND code = 'S-001'), 'the ticket knows it rated');
SELECT lives_ok(format($$SELECT kolapp.d_rate(%s, %L, 'S-001', 1)$$, :tst, :'today'),
                'a second rating does not fail the batch');
SELECT lives_ok(format($$SELECT kolapp.d_rate(%s, %L, 'S-002', 5)$$, :tst, :'today'),
                'a rating of a waiting ticket does not fail the batch');
SELECT is((SELECT (ratings, average, r1, r4, r5) FROM kolapp.feedback_daily WHERE office = 'tst' AND queue = 'S'),
          (1::bigint, 4.00::numeric, 0::bigint, 1::bigint, 0::bigint),
          'only the first rating of a done ticket counts');
SELECT is((SELECT count(*)::int FROM information_schema.columns WHERE table_schema = 'kolapp'
            AND table_name = 'feedback' AND column_name IN ('ticket_id', 'code', 'at', 'number')), 0,
          'a rating is stored without the ticket or its time');
SELECT throws_ok($$UPDATE kolapp.tickets SET rated = true WHERE code = 'S-002'$$, '23514', NULL,
                 'only a done ticket can be rated');
SELECT throws_ok(format($$INSERT INTO kolapp.feedback VALUES (%s, %s, %L, 6, 1)$$, :tst, :qs, :'today'),
                 '23514', NULL, 'a rating of 6 is refused');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_report', 'SELECT * FROM kolapp.feedback_daily')$$,
                'report: reads feedback_daily');

-- ---- interpreter needs ----------------------------------------------------------------
SELECT set_eq(format($$SELECT office, queue, language, day, count FROM kolapp.interpreter_needs_daily WHERE office = 'tst'$$),
              format($$VALUES ('tst', 'S', 'so', %L::date, 1::bigint), ('tst', 'T', 'ti', %L::date, 1::bigint)$$,
                     :'today', :'today'),
              'interpreter needs per office, queue, language and day');
SELECT lives_ok($$SELECT pg_temp.as_role('kolapp_admin', 'SELECT * FROM kolapp.interpreter_needs_daily')$$,
                'admin: reads interpreter_needs_daily');

-- ---- queue texts --------------------------------------------------------------------
SELECT lives_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'so', 'Adeegga bulshada', 'Caawimaad')$$,
                'set_queue_text');
SELECT lives_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'so', 'Adeegga Bulshada', 'Caawimaad la cusboonaysiiyay')$$,
                'set_queue_text again replaces the text');
SELECT is((SELECT (name, description) FROM kolapp.queue_texts WHERE queue_id = :qs AND lang = 'so'),
          ('Adeegga Bulshada'::text, 'Caawimaad la cusboonaysiiyay'::text), 'one row per queue and language');
SELECT throws_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'som', 'x', '')$$, '22023',
                 'lang must be a two-letter ISO 639-1 code such as so (got som)', 'a bad language is refused');
SELECT throws_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'so', repeat('x', 101), '')$$, '22023',
                 'name must be at most 100 characters (got 101)', 'a long name is refused');
SELECT throws_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'so', 'x', E'two\nlines')$$, '22023',
                 'description must be one line of at most 200 characters', 'two lines are refused');
SELECT throws_ok($$SELECT kolapp.set_queue_text('tst', 'Z', 'so', 'x', '')$$, 'P0002', NULL,
                 'an unknown queue is refused');
SELECT lives_ok($$SELECT kolapp.set_queue_text('tst', 'S', 'so', NULL)$$, 'a NULL name removes the text');
SELECT is((SELECT count(*)::int FROM kolapp.queue_texts WHERE queue_id = :qs), 0, 'removed');
SELECT is(kolapp.config_payload('queue_texts', 'INSERT', 1, :tst), format('{"table":"queue_texts","op":"INSERT","id":1,"office_id":%s}', :tst),
          'a change of queue texts notifies the daemon like any configuration');

SELECT * FROM finish();
ROLLBACK;
