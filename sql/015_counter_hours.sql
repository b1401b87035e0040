-- kolapp schema, migration 15: counters' planned hours (issue 18).
-- Run by `kolappd --migrate` inside one transaction.
--
-- When each counter is planned to be open: a weekly pattern (ISO
-- weekdays) and, for single dates, exceptions that replace it. A lunch
-- break is the gap between two intervals of a day. The daemon's
-- waiting-time estimate uses the plan to see a close or a break coming:
-- an open counter stops calling at the end of its interval, a closed one
-- is expected back at the start of its next. A counter without a plan is
-- taken as open for as long as it is open, as before. The plan does not
-- open or close anything: clerks still do that.

CREATE TABLE kolapp.counter_hours (
    id         serial PRIMARY KEY,
    office_id  int NOT NULL,
    counter_id int NOT NULL,
    weekday    smallint CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 Monday .. 7 Sunday
    day        date,                                     -- an exception for this date
    opens      time NOT NULL,
    closes     time NOT NULL,                            -- '24:00' is the day's end
    CHECK ((weekday IS NULL) <> (day IS NULL)),
    -- 00:00-00:00 on a date: closed all that day
    CHECK (closes > opens OR (day IS NOT NULL AND opens = '00:00' AND closes = '00:00')),
    FOREIGN KEY (counter_id, office_id) REFERENCES kolapp.counters (id, office_id)
        ON DELETE CASCADE
);
CREATE INDEX counter_hours_counter ON kolapp.counter_hours (counter_id, day, weekday);

CREATE TRIGGER counter_hours_notify_config AFTER INSERT OR UPDATE OR DELETE
    ON kolapp.counter_hours
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();

-- 'mon-fri', 'sat,sun', 'daily', 'tue' -> ISO weekdays; NULL when days is
-- not such a list.
CREATE FUNCTION kolapp.parse_weekdays(days text) RETURNS smallint[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    names text[] := ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    part text;
    a int;
    b int;
    out smallint[] := '{}';
BEGIN
    IF lower(btrim(days)) = 'daily' THEN
        RETURN ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[];
    END IF;
    FOREACH part IN ARRAY regexp_split_to_array(lower(btrim(days)), '\s*,\s*') LOOP
        IF part ~ '^[a-z]{3}$' THEN
            a := array_position(names, part);
            b := a;
        ELSIF part ~ '^[a-z]{3}\s*-\s*[a-z]{3}$' THEN
            a := array_position(names, substr(part, 1, 3));
            b := array_position(names, right(part, 3));
        ELSE
            RETURN NULL;
        END IF;
        IF a IS NULL OR b IS NULL OR b < a THEN
            RETURN NULL;
        END IF;
        FOR d IN a .. b LOOP
            IF NOT d = ANY (out) THEN
                out := out || d::smallint;
            END IF;
        END LOOP;
    END LOOP;
    RETURN out;
END $$;

-- Replaces the counter's plan for the days named: a weekday list
-- ('mon-fri', 'sat', 'daily') or one date ('2026-12-24'). hours is
-- 'HH:MM-HH:MM' intervals separated by commas ('08:00-12:00,
-- 13:00-16:30'; seconds may be given, HH:MM:SS); 'closed' (or '') for
-- none: on a weekday, no hours that day. For a date, 'closed' is
-- stored as such and overrides the weekday's plan. A counter with a plan
-- is closed on the days it has no hours. Returns the number of rows
-- stored (one per day and interval).
CREATE FUNCTION kolapp.set_counter_hours(office text, counter text, days text, hours text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    off int := kolapp.office_id_of(office);
    cid int := kolapp.counter_id_of(office, counter);
    wd smallint[];
    one_day date;
    spans text[];
    span text;
    o time;
    c time;
    opens_a time[] := '{}';
    closes_a time[] := '{}';
    n int := 0;
BEGIN
    IF days IS NULL OR btrim(days) = '' THEN
        RAISE EXCEPTION 'no days given for counter "%"', counter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name weekdays (''mon-fri'', ''sat,sun'', ''daily'') or a date (''2026-12-24'').';
    END IF;
    IF btrim(days) ~ '^\d{4}-\d{2}-\d{2}$' THEN
        BEGIN
            one_day := btrim(days)::date;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'invalid date "%"', days USING ERRCODE = 'invalid_parameter_value';
        END;
    ELSE
        wd := kolapp.parse_weekdays(days);
        IF wd IS NULL OR cardinality(wd) = 0 THEN
            RAISE EXCEPTION 'invalid days "%"', days
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name weekdays (''mon-fri'', ''sat,sun'', ''daily'') or a date (''2026-12-24'').';
        END IF;
    END IF;
    IF hours IS NULL THEN
        RAISE EXCEPTION 'no hours given for counter "%"', counter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give ''08:00-12:00, 13:00-16:30'', or ''closed''.';
    END IF;
    IF lower(btrim(hours)) NOT IN ('', 'closed') THEN
        spans := regexp_split_to_array(btrim(hours), '\s*,\s*');
        FOREACH span IN ARRAY spans LOOP
            IF span !~ '^\d{1,2}:\d{2}(:\d{2})?\s*-\s*\d{1,2}:\d{2}(:\d{2})?$' THEN
                RAISE EXCEPTION 'invalid hours "%" in "%"', span, hours
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Each interval is HH:MM-HH:MM, e.g. 08:00-12:00.';
            END IF;
            BEGIN
                o := split_part(span, '-', 1)::time;
                c := split_part(span, '-', 2)::time;
            EXCEPTION WHEN others THEN
                RAISE EXCEPTION 'invalid time in "%"', span
                    USING ERRCODE = 'invalid_parameter_value';
            END;
            IF c <= o THEN
                RAISE EXCEPTION 'interval "%" ends before it starts', span
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'An interval cannot run past midnight; 24:00 is the day''s end.';
            END IF;
            FOR i IN 1 .. cardinality(opens_a) LOOP
                IF o < closes_a[i] AND opens_a[i] < c THEN
                    RAISE EXCEPTION 'intervals overlap in "%"', hours
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            END LOOP;
            opens_a := opens_a || o;
            closes_a := closes_a || c;
        END LOOP;
    END IF;
    IF one_day IS NOT NULL THEN
        DELETE FROM kolapp.counter_hours h WHERE h.counter_id = cid AND h.day = one_day;
        IF cardinality(opens_a) = 0 THEN
            INSERT INTO kolapp.counter_hours (office_id, counter_id, day, opens, closes)
            VALUES (off, cid, one_day, '00:00', '00:00');
        END IF;
        INSERT INTO kolapp.counter_hours (office_id, counter_id, day, opens, closes)
        SELECT off, cid, one_day, opens_a[i], closes_a[i]
          FROM generate_series(1, cardinality(opens_a)) i;
    ELSE
        DELETE FROM kolapp.counter_hours h WHERE h.counter_id = cid AND h.weekday = ANY (wd);
        INSERT INTO kolapp.counter_hours (office_id, counter_id, weekday, opens, closes)
        SELECT off, cid, d, opens_a[i], closes_a[i]
          FROM unnest(wd) d, generate_series(1, cardinality(opens_a)) i;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN CASE WHEN cardinality(opens_a) = 0 THEN 0 ELSE n END;
END $$;

-- Forgets the counter's whole plan: it is taken as open while it is open.
CREATE FUNCTION kolapp.clear_counter_hours(office text, counter text) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM kolapp.counter_hours h
         WHERE h.counter_id = kolapp.counter_id_of(office, counter)
        RETURNING 1)
    SELECT count(*)::int FROM gone
$$;

-- The counter's planned intervals on a local date: that date's
-- exceptions if it has any, else its weekday's. Closed-all-day rows are
-- left out.
CREATE FUNCTION kolapp.counter_hours_on(p_counter int, p_day date)
RETURNS TABLE (opens time, closes time) LANGUAGE sql STABLE AS $$
    SELECT h.opens, h.closes FROM kolapp.counter_hours h
     WHERE h.counter_id = p_counter
       AND CASE WHEN EXISTS (SELECT 1 FROM kolapp.counter_hours x
                              WHERE x.counter_id = p_counter AND x.day = p_day)
                THEN h.day = p_day
                ELSE h.weekday = extract(isodow FROM p_day) END
       AND h.closes > h.opens
     ORDER BY h.opens
$$;

-- Every planned counter's plan as the daemon reads it: its intervals of
-- the office's today and tomorrow, as microseconds since the epoch, in one
-- flat array (from, until, from, until...), '{}' for none. Counters
-- without a plan are not in it. One set-based query for all counters: a
-- function called per counter cost about 0.3 s for 5,000 counters, on
-- every configuration reload. An interval that a clock change leaves
-- empty or backwards (02:30-03:00 on the spring-forward night) is left
-- out.
CREATE FUNCTION kolapp.d_counter_plans() RETURNS TABLE (counter_id int, plan bigint[])
LANGUAGE sql STABLE AS $$
    WITH days AS (
        SELECT c.id AS cid, o.timezone AS tz, (now() AT TIME ZONE o.timezone)::date + n AS day
          FROM kolapp.counters c
          JOIN kolapp.offices o ON o.id = c.office_id
         CROSS JOIN generate_series(0, 1) n
         WHERE EXISTS (SELECT 1 FROM kolapp.counter_hours h WHERE h.counter_id = c.id)
    ), spans AS (
        SELECT d.cid,
               (extract(epoch FROM (d.day + h.opens) AT TIME ZONE d.tz) * 1000000)::bigint AS f,
               (extract(epoch FROM (d.day + h.closes) AT TIME ZONE d.tz) * 1000000)::bigint AS u
          FROM days d
          JOIN kolapp.counter_hours h ON h.counter_id = d.cid
         WHERE h.closes > h.opens
           AND CASE WHEN EXISTS (SELECT 1 FROM kolapp.counter_hours x
                                  WHERE x.counter_id = d.cid AND x.day = d.day)
                    THEN h.day = d.day
                    ELSE h.weekday = extract(isodow FROM d.day) END
    )
    SELECT p.cid,
           coalesce(array_agg(v.x ORDER BY s.f, v.part) FILTER (WHERE s.u > s.f), '{}')
      FROM (SELECT DISTINCT cid FROM days) p
      LEFT JOIN spans s ON s.cid = p.cid
      LEFT JOIN LATERAL (VALUES (1, s.f), (2, s.u)) v (part, x) ON true
     GROUP BY p.cid
$$;

-- Functions run with their owner's rights; the roles get only what they call.
ALTER FUNCTION kolapp.set_counter_hours(text, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.clear_counter_hours(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.counter_hours_on(int, date)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.parse_weekdays(text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE ALL ON kolapp.counter_hours FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION kolapp.set_counter_hours(text, text, text, text),
    kolapp.clear_counter_hours(text, text), kolapp.counter_hours_on(int, date),
    kolapp.parse_weekdays(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kolapp.set_counter_hours(text, text, text, text),
    kolapp.clear_counter_hours(text, text) TO kolapp_admin;
GRANT EXECUTE ON FUNCTION kolapp.counter_hours_on(int, date) TO kolapp_admin, kolapp_report;
GRANT SELECT ON kolapp.counter_hours TO kolapp_admin, kolapp_report;
-- the daemon reads a counter's last open or close with its plan
GRANT SELECT ON kolapp.counter_events TO kolapp_daemon;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
