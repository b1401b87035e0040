-- The backend's own cost of an issued ticket: 500 calls of d_issue_many
-- with 32 tickets each into office b001's queue S, inside one transaction
-- that is rolled back, less the same loop building its arrays only. No
-- commit, no network, no parsing of text arrays: what the schema costs a
-- ticket (two rows, their index entries, keys, checks and triggers), a
-- figure far steadier than CPU per issue on a shared machine.
--   psql -X -At -f issue_cost.sql   prints microseconds per ticket
\set ON_ERROR_STOP 1
\o /dev/null
BEGIN;
CREATE FUNCTION pg_temp.issue_loop(p_call boolean) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    o int := kolapp.office_id_of('b001');
    q int := kolapp.queue_id_of('b001', 'S');
    base int := coalesce((SELECT max(number) FROM kolapp.tickets
                           WHERE origin_queue_id = q AND business_day = current_date), 0) + 1;
    t0 timestamptz := clock_timestamp();
    nums int[];
    codes text[];
    keys text[];
BEGIN
    FOR i IN 0 .. 499 LOOP
        nums := ARRAY(SELECT g FROM generate_series(base + i * 32, base + i * 32 + 31) g);
        codes := ARRAY(SELECT 'S-' || CASE WHEN g < 100 THEN lpad(g::text, 3, '0') ELSE g::text END
                         FROM unnest(nums) g);
        keys := ARRAY(SELECT 'cost-' || g FROM unnest(nums) g);
        IF p_call THEN
            PERFORM kolapp.d_issue_many(array_fill(o, ARRAY[32]), array_fill(q, ARRAY[32]),
                array_fill(current_date, ARRAY[32]), nums, codes, keys,
                array_fill(now(), ARRAY[32]), array_fill(false, ARRAY[32]),
                array_fill(NULL::text, ARRAY[32]), array_fill(NULL::text, ARRAY[32]),
                array_fill(60, ARRAY[32]), array_fill(NULL::text, ARRAY[32]));
        ELSE
            PERFORM array_fill(o, ARRAY[32]), array_fill(q, ARRAY[32]),
                array_fill(current_date, ARRAY[32]), nums, codes, keys,
                array_fill(now(), ARRAY[32]), array_fill(false, ARRAY[32]),
                array_fill(NULL::text, ARRAY[32]), array_fill(NULL::text, ARRAY[32]),
                array_fill(60, ARRAY[32]), array_fill(NULL::text, ARRAY[32]);
        END IF;
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END $$;
SELECT pg_temp.issue_loop(false) AS args \gset
SELECT pg_temp.issue_loop(true) AS calls \gset
\o
SELECT round(((:calls - :args) / 16000.0)::numeric, 1);
\o /dev/null
ROLLBACK;
