-- A ticket looked up by its key reads its one index entry, whatever the
-- table's statistics (migration 21): plans made while tickets is empty
-- and never analysed, as on a new database, and kept as it grows.
BEGIN;
\ir fixture.psql
SELECT plan(12);

CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;

-- The index set: a copy of tickets with all its indexes and no
-- statistics at all, planned the way d_call and d_set_state look a
-- ticket up.
CREATE TEMP TABLE tk (LIKE kolapp.tickets INCLUDING INDEXES);
PREPARE one(int, date, text) AS
    SELECT id FROM tk WHERE office_id = $1 AND business_day = $2 AND code = $3;
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT pg_temp.plan_of(format('EXECUTE one(%s, %L, ''S-001'')', :tst, :'today')) AS custom \gset
SET LOCAL plan_cache_mode = force_generic_plan;
SELECT pg_temp.plan_of(format('EXECUTE one(%s, %L, ''S-001'')', :tst, :'today')) AS generic \gset
SELECT matches(:'custom'::text, '(?n)Index Cond: .*code = ',
               'empty, no statistics, custom plan: the code is in the index condition');
SELECT doesnt_match(:'custom'::text, 'Filter', '... and nothing is filtered after the index');
SELECT matches(:'generic'::text, '(?n)Index Cond: .*code = ',
               'empty, no statistics, generic plan: the code is in the index condition');
SELECT doesnt_match(:'generic'::text, 'Filter', '... and nothing is filtered after the index');

-- The daemon's runs, on the real table. Generic plans from the first
-- call on, made while the day has no ticket (each call is refused: the
-- ticket does not exist), then used over 300 tickets. The table's
-- statistics as on a new database, never analysed, whatever the tests
-- before left (autovacuum may have vacuumed away their rolled-back
-- tickets, and a vacuumed empty table is planned as empty for sure);
-- undone with the test's transaction.
UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0
 WHERE oid = 'kolapp.tickets'::regclass;
SELECT throws_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[], ARRAY['S-001', 'S-002'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
                        :tst, :tst, :'today', :'today', :c1, :c4), 'P0002', NULL,
                 'd_call_many planned on an empty day');
SELECT throws_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[], ARRAY['S-001', 'S-002'], ARRAY['serving', 'serving'], ARRAY[now(), now()])$$,
                        :tst, :tst, :'today', :'today'), 'P0002', NULL,
                 'd_set_state_many planned on an empty day');
SELECT lives_ok(format($$SELECT kolapp.d_issue_many(array_fill(%s, ARRAY[300]), array_fill(%s, ARRAY[300]), array_fill(%L::date, ARRAY[300]),
                               ARRAY(SELECT g FROM generate_series(1, 300) g), ARRAY(SELECT format('S-%%s', lpad(g::text, 3, '0')) FROM generate_series(1, 300) g),
                               array_fill(NULL::text, ARRAY[300]), array_fill(now() - interval '1 hour', ARRAY[300]), array_fill(false, ARRAY[300]),
                               array_fill(NULL::text, ARRAY[300]), array_fill(NULL::text, ARRAY[300]), array_fill(NULL::int, ARRAY[300]), array_fill(NULL::text, ARRAY[300]))$$,
                        :tst, :qs, :'today'), '300 tickets issued');

CREATE TEMP TABLE read_before AS
SELECT c.oid, pg_stat_get_xact_numscans(c.oid) AS scans, pg_stat_get_xact_tuples_returned(c.oid) AS read
  FROM pg_class c WHERE c.oid = 'kolapp.tickets'::regclass
    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'kolapp.tickets'::regclass);
SELECT lives_ok(format($$SELECT kolapp.d_call_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[], ARRAY['S-001', 'S-002'], ARRAY[%s, %s], ARRAY[now(), now()])$$,
                       :tst, :tst, :'today', :'today', :c1, :c4), 'd_call_many of two tickets');
SELECT lives_ok(format($$SELECT kolapp.d_set_state_many(ARRAY[%s, %s], ARRAY[%L, %L]::date[], ARRAY['S-001', 'S-002'], ARRAY['serving', 'serving'], ARRAY[now(), now()])$$,
                       :tst, :tst, :'today', :'today'), 'd_set_state_many of two tickets');
-- Each run finds its two tickets by key, updates them by id and logs
-- their events (a key check by id each): about four lookups a run, each
-- reading an entry or two (the version an earlier run replaced too).
-- Reading the other 298 tickets is what a plan made on the empty table
-- did.
SELECT is((SELECT pg_stat_get_xact_numscans(b.oid) - b.scans FROM read_before b
            WHERE b.oid = 'kolapp.tickets'::regclass),
          0::bigint, 'the two runs scan no table');
SELECT cmp_ok((SELECT sum(pg_stat_get_xact_tuples_returned(b.oid) - b.read)::int FROM read_before b),
              '<', 30, 'the two runs read a few index entries, not the day''s 300');

-- v_counter_daily for one day reads that day's tickets (migration 24: no
-- index by counter any more), not every counter's whole history.
SET LOCAL enable_seqscan = off;
SELECT matches(pg_temp.plan_of('SELECT * FROM kolapp.v_counter_daily WHERE day = current_date'),
               'Index Scan using tickets_day_key_idx on tickets',
               'v_counter_daily of a day: the tickets through the day index');
RESET enable_seqscan;

SELECT * FROM finish();
ROLLBACK;
