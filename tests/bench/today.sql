-- The tickets of one busy business day so far, written straight into
-- kolapp.tickets (not through the daemon) so that start-up can be timed
-- over a known day instead of over whatever the throughput phases left:
--   psql -v tickets=200000 -v waiting_pct=50 -f today.sql
-- spreads the tickets evenly over the offices (their own business day, in
-- their own time zone), numbered from 1 in each queue as the daemon would.
-- In each office the earliest (100 - waiting_pct) % are finished (done,
-- every 17th a no_show, with a counter), the rest wait: waiting tickets
-- are the ones start-up has to place in order. Every ticket carries an
-- idempotency key, as a kiosk's retry-safe issue does.
\set ON_ERROR_STOP 1
BEGIN;
-- Foreign keys and the transition trigger are triggers: replica mode
-- skips them (the rows are consistent by construction); the unique
-- indexes still check numbering, codes and keys.
SET LOCAL session_replication_role = replica;
SET LOCAL jit = off;
WITH offs AS MATERIALIZED (
    SELECT o.id,
           (now() AT TIME ZONE o.timezone)::date AS day,
           date_trunc('day', now() AT TIME ZONE o.timezone) AT TIME ZONE o.timezone AS day_start,
           (SELECT array_agg(q.id ORDER BY q.id) FROM kolapp.queues q WHERE q.office_id = o.id) AS qids,
           (SELECT array_agg(q.code ORDER BY q.id) FROM kolapp.queues q WHERE q.office_id = o.id) AS qcodes,
           (SELECT array_agg(c.id ORDER BY c.id) FROM kolapp.counters c WHERE c.office_id = o.id) AS cids
      FROM kolapp.offices o
), usable AS MATERIALIZED (
    SELECT offs.*, cardinality(qids) AS nq,
           :tickets / count(*) OVER () AS per_office,
           -- the day so far, at least a minute (a run just after midnight)
           greatest(now() - day_start, interval '1 minute') AS span
      FROM offs
     WHERE qids IS NOT NULL AND cids IS NOT NULL
)
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number,
                            code, state, issued_at, sort_at, counter_id,
                            called_at, started_at, finished_at, idem_key)
SELECT o.id, o.day, o.qids[t.n % o.nq + 1], o.qids[t.n % o.nq + 1], t.n / o.nq + 1,
       o.qcodes[t.n % o.nq + 1] || '-' || lpad((t.n / o.nq + 1)::text, 3, '0'),
       CASE WHEN w.waiting THEN 'waiting' WHEN t.n % 17 = 0 THEN 'no_show' ELSE 'done' END,
       i.at, i.at,
       CASE WHEN w.waiting THEN NULL ELSE o.cids[t.n % cardinality(o.cids) + 1] END,
       CASE WHEN w.waiting THEN NULL ELSE i.at + i.step * 0.3 END,
       CASE WHEN w.waiting OR t.n % 17 = 0 THEN NULL ELSE i.at + i.step * 0.4 END,
       CASE WHEN w.waiting THEN NULL ELSE i.at + i.step * 0.9 END,
       format('today-%s-%s', o.id, t.n)
  FROM usable o
 CROSS JOIN LATERAL generate_series(0, o.per_office - 1) t(n)
 CROSS JOIN LATERAL (SELECT t.n >= o.per_office * (100 - :waiting_pct) / 100 AS waiting) w
 CROSS JOIN LATERAL (SELECT o.day_start + o.span * t.n / o.per_office AS at,
                            o.span / o.per_office AS step) i;
COMMIT;
ANALYZE kolapp.tickets;
