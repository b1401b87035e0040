-- kolapp schema, migration 10: the estimate each ticket was given, kept.
-- Run by `kolappd --migrate` inside one transaction (no BEGIN/COMMIT here).
--
--   * tickets.estimated_wait_s: the wait kolappd told the visitor when the
--     ticket was issued (seconds; NULL when it told none)
--   * d_issue and d_issue_many take it (an eleventh argument, NULL when
--     left out, so that calls written for migration 9 still work)
--   * kolapp.estimate_accuracy_daily: how good those estimates were, per
--     office, queue and business day, against the real wait to the first
--     call

ALTER TABLE kolapp.tickets
    ADD COLUMN estimated_wait_s int CHECK (estimated_wait_s >= 0);

DROP FUNCTION kolapp.d_issue(int, int, date, int, text, text, timestamptz, boolean, text, text);
DROP FUNCTION kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[],
                                  boolean[], text[], text[]);

CREATE FUNCTION kolapp.d_issue(p_office int, p_queue int, p_day date, p_number int,
                               p_code text, p_key text, p_at timestamptz,
                               p_priority boolean, p_interpreter text, p_lang text,
                               p_estimate int DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                number, code, state, issued_at, sort_at, idem_key,
                                priority, interpreter, lang, estimated_wait_s)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_code, 'waiting',
            p_at, p_at, p_key, p_priority, p_interpreter, p_lang, p_estimate)
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
END $$;

-- Migration 9's, with the estimates' array.
CREATE FUNCTION kolapp.d_issue_many(p_office int[], p_queue int[], p_day date[],
                                    p_number int[], p_code text[], p_key text[],
                                    p_at timestamptz[], p_priority boolean[],
                                    p_interpreter text[], p_lang text[],
                                    p_estimate int[] DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_queue),
        cardinality(p_day), cardinality(p_number), cardinality(p_code),
        cardinality(p_key), cardinality(p_at), cardinality(p_priority),
        cardinality(p_interpreter), cardinality(p_lang),
        coalesce(cardinality(p_estimate), cardinality(p_office)));
    WITH t AS (
        INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                    number, code, state, issued_at, sort_at, idem_key,
                                    priority, interpreter, lang, estimated_wait_s)
        SELECT x.o, x.d, x.q, x.q, x.n, x.c, 'waiting', x.a, x.a, x.k, x.p, x.it, x.l, x.e
          FROM unnest(p_office, p_queue, p_day, p_number, p_code, p_key, p_at,
                      p_priority, p_interpreter, p_lang, p_estimate)
               WITH ORDINALITY AS x(o, q, d, n, c, k, a, p, it, l, e, i)
         ORDER BY x.i
        RETURNING id, office_id, issued_at, queue_id)
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    SELECT t.id, t.office_id, t.issued_at, 'issued', t.queue_id FROM t ORDER BY t.id;
END $$;

-- The real wait is the time from issue to the first call (a recall or a
-- call back after a park is not the wait the visitor was told about).
-- Errors are relative to the real wait, floored at 60 s so that a ticket
-- called at once does not make every estimate infinitely wrong.
CREATE VIEW kolapp.estimate_accuracy_daily AS
WITH w AS (
    SELECT t.office_id, t.origin_queue_id AS queue_id, t.business_day,
           t.estimated_wait_s AS est,
           extract(epoch FROM fc.at - t.issued_at) AS real
      FROM kolapp.tickets t
      JOIN LATERAL (
            SELECT min(e.at) AS at FROM kolapp.ticket_events e
             WHERE e.ticket_id = t.id AND e.kind = 'called') fc ON fc.at IS NOT NULL
)
SELECT o.code AS office, q.code AS queue, w.business_day AS day,
       count(*) AS called,
       count(w.est) AS estimated,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w.real)::numeric, 1)
           AS real_wait_median_s,
       round((100 * percentile_cont(0.5) WITHIN GROUP (
           ORDER BY abs(w.est - w.real) / greatest(w.real, 60)))::numeric) AS median_error_pct,
       round(100.0 * count(*) FILTER (
           WHERE abs(w.est - w.real) <= 0.2 * greatest(w.real, 60)) / nullif(count(w.est), 0))
           AS within_20_pct,
       round(100.0 * count(*) FILTER (
           WHERE abs(w.est - w.real) <= 0.5 * greatest(w.real, 60)) / nullif(count(w.est), 0))
           AS within_50_pct,
       round(avg(w.est - w.real)::numeric, 1) AS bias_s
  FROM w
  JOIN kolapp.offices o ON o.id = w.office_id
  JOIN kolapp.queues q ON q.id = w.queue_id
 GROUP BY o.id, o.code, q.id, q.code, w.business_day;

GRANT SELECT ON kolapp.estimate_accuracy_daily TO kolapp_admin, kolapp_report;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
