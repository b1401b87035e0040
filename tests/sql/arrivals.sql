-- kolapp.d_arrivals() (migration 23): the same weekday's tickets of the
-- last four weeks, each moved onto today at its local time of day.
BEGIN;
\ir fixture.psql
SELECT plan(7);

SELECT kolapp.office_today(:oth) AS today_oth \gset

-- Local times of earlier days, as the offices' clocks read them.
CREATE FUNCTION pg_temp.at(day date, t time, tz text) RETURNS timestamptz
LANGUAGE sql AS $$ SELECT (day + t) AT TIME ZONE tz $$;
CREATE FUNCTION pg_temp.today_us(day date, t time, tz text) RETURNS int8
LANGUAGE sql AS $$ SELECT (date_part('epoch', (day + t) AT TIME ZONE tz) * 1000000)::int8 $$;

-- (Cancelled ones need no counter; the function reads every state.)
INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, number, code,
                            state, issued_at, sort_at, finished_at)
SELECT o, d, qo, q, n, c, st, pg_temp.at(d, t, tz), pg_temp.at(d, t, tz),
       pg_temp.at(d, t, tz) + interval '1 minute'
  FROM (VALUES
        -- a week ago; and four weeks ago, moved to T (counted in S)
        (:tst, :'today'::date - 7, :qs, :qs, 1, 'S-001', 'cancelled', time '10:42:05', 'Europe/Stockholm'),
        (:tst, :'today'::date - 28, :qs, :qt, 1, 'S-001', 'cancelled', time '08:30', 'Europe/Stockholm'),
        -- two weeks ago
        (:tst, :'today'::date - 14, :qt, :qt, 1, 'T-001', 'cancelled', time '11:00', 'Europe/Stockholm'),
        -- five weeks ago, and another weekday: not asked for
        (:tst, :'today'::date - 35, :qs, :qs, 1, 'S-001', 'cancelled', time '12:00', 'Europe/Stockholm'),
        (:tst, :'today'::date - 8, :qs, :qs, 1, 'S-001', 'cancelled', time '12:00', 'Europe/Stockholm'),
        -- the other office, in its own zone
        (:oth, :'today_oth'::date - 7, :qos, :qos, 1, 'S-001', 'cancelled', time '09:15', 'Europe/Helsinki')
       ) AS v(o, d, qo, q, n, c, st, t, tz);

SELECT results_eq(
    format('SELECT queue_id, week, at_us FROM kolapp.d_arrivals() WHERE queue_id IN (%s, %s) ORDER BY at_us', :qs, :qt),
    format('VALUES (%s, 4, %s::int8), (%s, 1, %s::int8), (%s, 2, %s::int8)',
           :qs, pg_temp.today_us(:'today', '08:30', 'Europe/Stockholm'),
           :qs, pg_temp.today_us(:'today', '10:42:05', 'Europe/Stockholm'),
           :qt, pg_temp.today_us(:'today', '11:00', 'Europe/Stockholm')),
    'each ticket of the same weekday, at its local time today, by the queue it was issued in');
SELECT results_eq(
    format('SELECT week, at_us FROM kolapp.d_arrivals() WHERE queue_id = %s', :qos),
    format('VALUES (1, %s::int8)', pg_temp.today_us(:'today_oth', '09:15', 'Europe/Helsinki')),
    'another office''s, in its own time zone');
SELECT is((SELECT count(*) FROM kolapp.d_arrivals()), 4::bigint,
          'five weeks ago and other weekdays are not read');
SELECT is((SELECT array_agg(queue_id) FROM kolapp.d_arrivals()),
          (SELECT array_agg(queue_id ORDER BY queue_id) FROM kolapp.d_arrivals()),
          'by queue, as the daemon groups them');

SELECT function_privs_are('kolapp', 'd_arrivals', ARRAY[]::text[], 'kolapp_daemon', ARRAY['EXECUTE'],
                          'the daemon may read them');
SELECT function_privs_are('kolapp', 'd_arrivals', ARRAY[]::text[], 'public', ARRAY[]::text[],
                          'nobody else');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'kolapp.d_arrivals()'::regprocedure), true,
          'it reads tickets as its owner');

SELECT * FROM finish();
ROLLBACK;
