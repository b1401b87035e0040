-- kolapp schema, migration 16: the hours a queue takes tickets (issue 18).
-- Run by `kolappd --migrate` inside one transaction.
--
-- An office stops issuing tickets before it closes its doors (the last
-- visitors must still be served), and an agency may take tickets only in
-- the morning. A queue with ticket hours is open to new tickets only
-- within them: outside them the kiosk gets `queue_closed` and the board
-- and kiosk show it closed, as if an admin had closed it; at the
-- boundaries the daemon sends the queue's event itself. close_queue
-- still closes it within its hours. Tickets already issued, transfers
-- and booked visitors' check-ins are not affected. The waiting-time
-- estimate expects no newcomers after the hours end, which is what
-- makes the last hour's estimates right. A queue without ticket hours
-- takes tickets whenever it is open, as before.
--
-- The same notation as counters' hours (sql/015): the parsing moves into
-- kolapp.parse_plan, which both now use.

CREATE TABLE kolapp.queue_hours (
    id        serial PRIMARY KEY,
    office_id int NOT NULL,
    queue_id  int NOT NULL,
    weekday   smallint CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 Monday .. 7 Sunday
    day       date,                                     -- an exception for this date
    opens     time NOT NULL,
    closes    time NOT NULL,                            -- '24:00' is the day's end
    CHECK ((weekday IS NULL) <> (day IS NULL)),
    -- 00:00-00:00 on a date: no tickets all that day
    CHECK (closes > opens OR (day IS NOT NULL AND opens = '00:00' AND closes = '00:00')),
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id)
        ON DELETE CASCADE
);
CREATE INDEX queue_hours_queue ON kolapp.queue_hours (queue_id, day, weekday);

CREATE TRIGGER queue_hours_notify_config AFTER INSERT OR UPDATE OR DELETE
    ON kolapp.queue_hours
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();

-- Reads a plan as the set_*_hours functions take it: days is a weekday
-- list ('mon-fri', 'sat', 'daily') or one date ('2026-12-24'); hours is
-- 'HH:MM-HH:MM' intervals separated by commas, or 'closed' (or '') for
-- none. what names the counter or queue in the errors.
CREATE FUNCTION kolapp.parse_plan(days text, hours text, what text,
                                  OUT weekdays smallint[], OUT one_day date,
                                  OUT opens time[], OUT closes time[])
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    span text;
    o time;
    c time;
BEGIN
    opens := '{}';
    closes := '{}';
    IF days IS NULL OR btrim(days) = '' THEN
        RAISE EXCEPTION 'no days given for %', what
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
        weekdays := kolapp.parse_weekdays(days);
        IF weekdays IS NULL OR cardinality(weekdays) = 0 THEN
            RAISE EXCEPTION 'invalid days "%"', days
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name weekdays (''mon-fri'', ''sat,sun'', ''daily'') or a date (''2026-12-24'').';
        END IF;
    END IF;
    IF hours IS NULL THEN
        RAISE EXCEPTION 'no hours given for %', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give ''08:00-12:00, 13:00-16:30'', or ''closed''.';
    END IF;
    IF lower(btrim(hours)) IN ('', 'closed') THEN
        RETURN;
    END IF;
    FOREACH span IN ARRAY regexp_split_to_array(btrim(hours), '\s*,\s*') LOOP
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
        FOR i IN 1 .. cardinality(opens) LOOP
            IF o < closes[i] AND opens[i] < c THEN
                RAISE EXCEPTION 'intervals overlap in "%"', hours
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        opens := opens || o;
        closes := closes || c;
    END LOOP;
END $$;

-- Stores one counter's or queue's plan for the days named (kind
-- 'counter' or 'queue': kolapp.counter_hours or kolapp.queue_hours), in
-- place of what those days had; name is the counter's or queue's, for
-- the errors. Returns the number of rows stored (one per day and
-- interval); a date without hours is stored as closed all day (00:00 to
-- 00:00), which counts as none.
CREATE FUNCTION kolapp.store_plan(kind text, off int, owner int, name text, days text, hours text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    p record := kolapp.parse_plan(days, hours, format('%s "%s"', kind, name));
    tbl text := kind || '_hours';
    col text := kind || '_id';
    n int;
BEGIN
    IF kind NOT IN ('counter', 'queue') THEN
        RAISE EXCEPTION 'no plans of "%"', kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p.one_day IS NOT NULL THEN
        EXECUTE format('DELETE FROM kolapp.%I WHERE %I = $1 AND day = $2', tbl, col)
            USING owner, p.one_day;
        IF cardinality(p.opens) = 0 THEN
            EXECUTE format('INSERT INTO kolapp.%I (office_id, %I, day, opens, closes) '
                           'VALUES ($1, $2, $3, ''00:00'', ''00:00'')', tbl, col)
                USING off, owner, p.one_day;
            RETURN 0;
        END IF;
        EXECUTE format('INSERT INTO kolapp.%I (office_id, %I, day, opens, closes) '
                       'SELECT $1, $2, $3, o, c FROM unnest($4::time[], $5::time[]) x (o, c)',
                       tbl, col)
            USING off, owner, p.one_day, p.opens, p.closes;
    ELSE
        EXECUTE format('DELETE FROM kolapp.%I WHERE %I = $1 AND weekday = ANY ($2)', tbl, col)
            USING owner, p.weekdays;
        EXECUTE format('INSERT INTO kolapp.%I (office_id, %I, weekday, opens, closes) '
                       'SELECT $1, $2, d, o, c FROM unnest($3::smallint[]) d, '
                       'unnest($4::time[], $5::time[]) x (o, c)', tbl, col)
            USING off, owner, p.weekdays, p.opens, p.closes;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- As before (sql/015), stored by store_plan.
CREATE OR REPLACE FUNCTION kolapp.set_counter_hours(office text, counter text, days text, hours text)
RETURNS int LANGUAGE sql AS $$
    SELECT kolapp.store_plan('counter', kolapp.office_id_of(office),
                             kolapp.counter_id_of(office, counter), counter, days, hours)
$$;

-- Replaces the queue's ticket hours for the days named, in the notation
-- of set_counter_hours. A queue with ticket hours takes no tickets on the
-- days it has none. Returns the number of rows stored (one per day and
-- interval).
CREATE FUNCTION kolapp.set_queue_hours(office text, queue text, days text, hours text)
RETURNS int LANGUAGE sql AS $$
    SELECT kolapp.store_plan('queue', kolapp.office_id_of(office),
                             kolapp.queue_id_of(office, queue), queue, days, hours)
$$;

-- Forgets the queue's ticket hours: it takes tickets whenever it is open.
CREATE FUNCTION kolapp.clear_queue_hours(office text, queue text) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM kolapp.queue_hours h
         WHERE h.queue_id = kolapp.queue_id_of(office, queue)
        RETURNING 1)
    SELECT count(*)::int FROM gone
$$;

-- Counters' and queues' hours in one, for d_plans.
CREATE VIEW kolapp.planned_hours AS
    SELECT 'counter'::text AS kind, counter_id AS owner_id, office_id, weekday, day, opens, closes
      FROM kolapp.counter_hours
    UNION ALL
    SELECT 'queue', queue_id, office_id, weekday, day, opens, closes
      FROM kolapp.queue_hours;

-- Every planned counter's or queue's plan (kind 'counter' or 'queue') as
-- the daemon reads it: its intervals of the office's today and tomorrow,
-- as microseconds since the epoch, in one flat array (from, until, from,
-- until...), '{}' for none. Those without a plan are not in it. One
-- set-based query for all: a function called per counter cost about 0.3 s
-- for 5,000 counters, on every configuration reload. An interval that a
-- clock change leaves empty or backwards (02:30-03:00 on the
-- spring-forward night) is left out. (d_counter_plans of sql/015, for
-- both. A date's exceptions are joined, not looked up with EXISTS: in a
-- query planned for any kind, that took 4 s for 5,000 counters, against
-- 0.21 s joined, as sql/015's 0.18-0.30 s.)
CREATE FUNCTION kolapp.d_plans(p_kind text) RETURNS TABLE (owner_id int, plan bigint[])
LANGUAGE sql STABLE AS $$
    WITH hours AS (
        SELECT * FROM kolapp.planned_hours h WHERE h.kind = p_kind
    ), exceptions AS (
        SELECT DISTINCT h.owner_id, h.day FROM hours h WHERE h.day IS NOT NULL
    ), days AS (
        SELECT p.owner_id AS oid, o.timezone AS tz, (now() AT TIME ZONE o.timezone)::date + n AS day
          FROM (SELECT DISTINCT h.owner_id, h.office_id FROM hours h) p
          JOIN kolapp.offices o ON o.id = p.office_id
         CROSS JOIN generate_series(0, 1) n
    ), spans AS (
        SELECT d.oid,
               (extract(epoch FROM (d.day + h.opens) AT TIME ZONE d.tz) * 1000000)::bigint AS f,
               (extract(epoch FROM (d.day + h.closes) AT TIME ZONE d.tz) * 1000000)::bigint AS u
          FROM days d
          LEFT JOIN exceptions x ON x.owner_id = d.oid AND x.day = d.day
          JOIN hours h ON h.owner_id = d.oid
         WHERE h.closes > h.opens
           AND CASE WHEN x.owner_id IS NOT NULL THEN h.day = d.day
                    ELSE h.weekday = extract(isodow FROM d.day) END
    )
    SELECT p.oid,
           coalesce(array_agg(v.x ORDER BY s.f, v.part) FILTER (WHERE s.u > s.f), '{}')
      FROM (SELECT DISTINCT oid FROM days) p
      LEFT JOIN spans s ON s.oid = p.oid
      LEFT JOIN LATERAL (VALUES (1, s.f), (2, s.u)) v (part, x) ON true
     GROUP BY p.oid
$$;

-- What the daemon reads (the names it has read since sql/015).
CREATE OR REPLACE FUNCTION kolapp.d_counter_plans() RETURNS TABLE (counter_id int, plan bigint[])
LANGUAGE sql STABLE AS $$
    SELECT * FROM kolapp.d_plans('counter')
$$;
CREATE FUNCTION kolapp.d_queue_plans() RETURNS TABLE (queue_id int, plan bigint[])
LANGUAGE sql STABLE AS $$
    SELECT * FROM kolapp.d_plans('queue')
$$;

-- CREATE OR REPLACE reset set_counter_hours' SECURITY DEFINER (its grants stay).
ALTER FUNCTION kolapp.set_counter_hours(text, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.set_queue_hours(text, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.clear_queue_hours(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.parse_plan(text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.store_plan(text, int, int, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE ALL ON kolapp.queue_hours, kolapp.planned_hours FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION kolapp.set_queue_hours(text, text, text, text),
    kolapp.clear_queue_hours(text, text), kolapp.parse_plan(text, text, text),
    kolapp.store_plan(text, int, int, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kolapp.set_queue_hours(text, text, text, text),
    kolapp.clear_queue_hours(text, text) TO kolapp_admin;
GRANT SELECT ON kolapp.queue_hours TO kolapp_admin, kolapp_report;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
