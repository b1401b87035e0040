-- A year of finished tickets for every office, written straight into
-- kolapp.tickets (not through the daemon) so that start-up can be timed
-- over a realistic table: psql -v per_day=55 -v days=365 -f history.sql
-- makes 150 offices x 365 days x 55 = 3.0 million tickets.
-- Days end before today, so nothing lands in the business day the daemon
-- loads. Each queue numbers its tickets from 1 a day, as the daemon
-- would; states are done or no_show, whose counter does not count as held.
\set ON_ERROR_STOP 1
BEGIN;
-- Foreign keys and the transition trigger are triggers: replica mode
-- skips them (the rows are consistent by construction). Secondary indexes
-- are dropped and rebuilt with their own definitions: a sorted build is
-- several times faster than 3 million inserts into each of them.
SET LOCAL session_replication_role = replica;
SET LOCAL maintenance_work_mem = '256MB';
SET LOCAL jit = off;
CREATE TEMP TABLE saved_defs ON COMMIT DROP AS
SELECT 'ALTER TABLE kolapp.tickets ADD CONSTRAINT ' || quote_ident(conname) || ' '
       || pg_get_constraintdef(oid) AS def,
       'ALTER TABLE kolapp.tickets DROP CONSTRAINT ' || quote_ident(conname) AS undo
  FROM pg_constraint
 WHERE conrelid = 'kolapp.tickets'::regclass AND contype = 'u'
UNION ALL
SELECT pg_get_indexdef(i.indexrelid), 'DROP INDEX kolapp.' || quote_ident(c.relname)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'kolapp.tickets'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT undo FROM saved_defs LOOP EXECUTE r.undo; END LOOP;
END $$;
-- MATERIALIZED: inlined, the per-office arrays would be rebuilt for every
-- one of the 3 million rows.
WITH offs AS MATERIALIZED (
    SELECT o.id,
           (SELECT array_agg(q.id ORDER BY q.id) FROM kolapp.queues q WHERE q.office_id = o.id) AS qids,
           (SELECT array_agg(q.code ORDER BY q.id) FROM kolapp.queues q WHERE q.office_id = o.id) AS qcodes,
           (SELECT array_agg(c.id ORDER BY c.id) FROM kolapp.counters c WHERE c.office_id = o.id) AS cids
      FROM kolapp.offices o
)
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number,
                            code, state, issued_at, sort_at, counter_id,
                            called_at, started_at, finished_at)
SELECT o.id, d.day, o.qids[t.n % nq + 1], o.qids[t.n % nq + 1], t.n / nq + 1,
       o.qcodes[t.n % nq + 1] || '-' || lpad((t.n / nq + 1)::text, 3, '0'),
       CASE WHEN t.n % 17 = 0 THEN 'no_show' ELSE 'done' END,
       d.at, d.at,
       o.cids[t.n % cardinality(o.cids) + 1],
       d.at + interval '12 minutes',
       CASE WHEN t.n % 17 = 0 THEN NULL ELSE d.at + interval '13 minutes' END,
       d.at + interval '21 minutes'
  FROM (SELECT offs.*, cardinality(qids) AS nq FROM offs
         WHERE qids IS NOT NULL AND cids IS NOT NULL) o
 CROSS JOIN generate_series(0, :per_day - 1) t(n)
 CROSS JOIN LATERAL (SELECT current_date - g AS day,
                            (current_date - g) + time '08:00' + t.n * interval '7 minutes' AS at
                       FROM generate_series(1, :days) g) d
 -- In the order a real year writes them (by time of issue, all offices
 -- at once): an office's day then lies in the pages of that day, as it
 -- does in production, instead of one row a page across the whole table.
 ORDER BY d.at, o.id;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT def FROM saved_defs LOOP EXECUTE r.def; END LOOP;
END $$;
COMMIT;
ANALYZE kolapp.tickets;
