-- Configuration notifications. pgTAP cannot read notifications, so the
-- payload builder is tested alone, and the triggers are watched by
-- replacing it (inside this test's transaction) with one that also logs.
BEGIN;
SELECT plan(25);

SELECT is(kolapp.config_payload('queues', 'UPDATE', 7, 3), '{"table":"queues","op":"UPDATE","id":7,"office_id":3}', 'payload');
SELECT is(kolapp.config_payload('tokens', 'UPDATE', 12, 3, true), '{"table":"tokens","op":"UPDATE","id":12,"office_id":3,"revoked":true}', 'payload of a revoked token');
SELECT is(kolapp.config_payload('counter_queues', 'DELETE', 5, NULL), '{"table":"counter_queues","op":"DELETE","id":5,"office_id":null}', 'an unknown office is null');
SELECT is(kolapp.config_payload('queues', 'INSERT', 1, 1)::jsonb, '{"table":"queues","op":"INSERT","id":1,"office_id":1}'::jsonb, 'payload is valid JSON');
SELECT cmp_ok(length(kolapp.config_payload('counter_queues', 'UPDATE', 2147483647, 2147483647, true)), '<', 200, 'the longest payload is under 200 bytes');

CREATE TEMP TABLE seen (payload text);
CREATE OR REPLACE FUNCTION kolapp.config_payload(p_table text, p_op text, p_id int, p_office int,
                                                 p_revoked boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s text := format('%s %s %s %s%s', p_table, p_op, p_id, p_office, CASE WHEN p_revoked THEN ' revoked' ELSE '' END);
BEGIN
    INSERT INTO seen VALUES (s);
    RETURN s;
END $$;
CREATE FUNCTION pg_temp.seen() RETURNS text[] LANGUAGE sql AS $$
    WITH d AS (DELETE FROM seen RETURNING payload) SELECT coalesce(array_agg(payload ORDER BY payload), '{}') FROM d
$$;

SELECT kolapp.add_office('tst', 'Test office', 'Europe/Stockholm') AS tst \gset
SELECT is(pg_temp.seen(), format('{"offices INSERT %s %s"}', :tst, :tst)::text[], 'add_office notifies');
SELECT kolapp.add_queue('tst', 'S', 'Social') AS qs \gset
SELECT kolapp.add_queue('tst', 'T', 'Taxes') AS qt \gset
SELECT is(pg_temp.seen(), format('{"queues INSERT %s %s","queues INSERT %s %s"}', :qs, :tst, :qt, :tst)::text[], 'add_queue notifies');
SELECT kolapp.add_counter('tst', 'C1', ARRAY['S']) AS c1 \gset
SELECT is(pg_temp.seen(), format('{"counter_queues INSERT %s %s","counters INSERT %s %s"}', :c1, :tst, :c1, :tst)::text[], 'add_counter notifies for the counter and its list');
SELECT kolapp.close_queue('tst', 'S');
SELECT is(pg_temp.seen(), format('{"queues UPDATE %s %s"}', :qs, :tst)::text[], 'close_queue notifies');
SELECT kolapp.close_queue('tst', 'S');
SELECT is(pg_temp.seen(), '{}'::text[], 'an update that changes nothing does not notify');
SELECT kolapp.set_counter_queues('tst', 'C1', ARRAY['T']);
SELECT is(pg_temp.seen(), format('{"counter_queues DELETE %s %s","counter_queues INSERT %s %s"}', :c1, :tst, :c1, :tst)::text[], 'set_counter_queues notifies');
SELECT kolapp.d_counter_set_open(:c1, true, now());
SELECT is(pg_temp.seen(), '{}'::text[], 'a counter opening (the daemon''s own write) does not notify');
SELECT kolapp.rename_counter('tst', 'C1', 'D1');
SELECT is(pg_temp.seen(), format('{"counters UPDATE %s %s"}', :c1, :tst)::text[], 'rename_counter notifies');
SELECT kolapp.create_token('kiosk', 'tst') AS tok \gset
SELECT id AS tid FROM kolapp.tokens \gset
SELECT is(pg_temp.seen(), format('{"tokens INSERT %s %s"}', :tid, :tst)::text[], 'create_token notifies');
SELECT kolapp.d_token_used(:tid, '127.0.0.1');
SELECT is(pg_temp.seen(), '{}'::text[], 'd_token_used does not notify');
SELECT kolapp.revoke_token_id(:tid);
SELECT is(pg_temp.seen(), format('{"tokens UPDATE %s %s revoked"}', :tid, :tst)::text[], 'revoking notifies with revoked');
DELETE FROM kolapp.tokens WHERE id = :tid;
SELECT is(pg_temp.seen(), format('{"tokens DELETE %s %s revoked"}', :tid, :tst)::text[], 'deleting a token notifies with revoked');
-- migration 9: queue policy, weights, outcomes
SELECT kolapp.set_queue_policy('tst', 'S', min_calls => 2);
SELECT is(pg_temp.seen(), format('{"queues UPDATE %s %s"}', :qs, :tst)::text[], 'set_queue_policy notifies');
SELECT kolapp.set_queue_policy('tst', 'S', min_calls => 2);
SELECT is(pg_temp.seen(), '{}'::text[], 'set_queue_policy that changes nothing does not notify');
SELECT kolapp.set_counter_queues('tst', 'D1', ARRAY['T'], weights => ARRAY[5]);
SELECT is(pg_temp.seen(), format('{"counter_queues DELETE %s %s","counter_queues INSERT %s %s"}', :c1, :tst, :c1, :tst)::text[], 'set_counter_queues with weights notifies');
SELECT kolapp.add_outcome('tst', 'S', 'granted', 'Granted');
SELECT id AS oid_ FROM kolapp.outcomes \gset
SELECT is(pg_temp.seen(), format('{"outcomes INSERT %s %s"}', :oid_, :tst)::text[], 'add_outcome notifies');
SELECT kolapp.add_outcome('tst', 'S', 'granted', 'Granted');
SELECT is(pg_temp.seen(), '{}'::text[], 'add_outcome of the same outcome again does not notify');
SELECT kolapp.add_outcome('tst', 'S', 'granted', 'Benefit granted');
SELECT is(pg_temp.seen(), format('{"outcomes UPDATE %s %s"}', :oid_, :tst)::text[], 'renaming an outcome notifies');
DELETE FROM kolapp.outcomes WHERE id = :oid_;
SELECT is(pg_temp.seen(), format('{"outcomes DELETE %s %s"}', :oid_, :tst)::text[], 'deleting an outcome notifies');
DELETE FROM kolapp.counter_events WHERE counter_id = :c1;
DELETE FROM kolapp.counters WHERE id = :c1;
SELECT is(pg_temp.seen(), format('{"counter_queues DELETE %s %s","counters DELETE %s %s"}', :c1, :tst, :c1, :tst)::text[], 'a cascade still names the office');

SELECT * FROM finish();
ROLLBACK;
