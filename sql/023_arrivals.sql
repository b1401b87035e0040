-- The estimator's newcomers (daemon/engine/arrivals.h): when visitors took
-- tickets on the same weekday of the last four weeks, so that the daemon
-- expects a quiet noon after a busy morning, and a peak before it comes.
-- Each ticket's local time of day is moved onto today, in its office's
-- zone (a ticket taken at 10:42 three weeks ago is a point at 10:42
-- today, whatever daylight saving did between); week says which week.
-- Every ticket counts, cancelled and expired ones too: each was a visitor
-- who came. The ANY(...) gives the day index (migration 21) the days as a
-- set, as the daemon's read of earlier visits does.
CREATE FUNCTION kolapp.d_arrivals()
RETURNS TABLE (queue_id int, week int, at_us int8)
LANGUAGE sql STABLE AS $$
SELECT t.origin_queue_id, k.k,
       (date_part('epoch', ((t.issued_at AT TIME ZONE o.timezone) + k.k * interval '7 days')
                           AT TIME ZONE o.timezone) * 1000000)::int8
  FROM kolapp.offices o
 CROSS JOIN generate_series(1, 4) AS k(k)
  JOIN kolapp.tickets t ON t.office_id = o.id
   AND t.business_day = (now() AT TIME ZONE o.timezone)::date - 7 * k.k
 WHERE t.business_day = ANY (ARRAY(SELECT DISTINCT (now() AT TIME ZONE z.timezone)::date - 7 * w
                                     FROM kolapp.offices z, generate_series(1, 4) AS w))
 ORDER BY t.origin_queue_id
$$;

CALL kolapp.secure_daemon_functions();
