-- kolapp schema, migration 11: appointments (bookings) and check-in.
-- Run by `kolappd --migrate` inside one transaction (no BEGIN/COMMIT here).
-- Numbered 12 although 11 is another branch's (visitors): nothing here
-- depends on it, and the two are merged in order.
--
--   * kolapp.bookings: a visit booked for a time, per office and queue
--     (the queue is the agency), with a code the visitor types at the
--     kiosk; no name, personal number or phone: the agency's `reference`
--     is theirs to resolve
--   * offices.checkin_before_s / checkin_after_s: the check-in window
--   * tickets.appointment: the booked start of a checked-in ticket
--   * the role `booking` for tokens (an agency's booking system)
--   * admin: add_booking, cancel_booking, set_checkin_window
--   * daemon: d_book, d_unbook, d_check_in, d_bookings_no_show
--   * views: booking_no_shows, interpreters_ahead, bookings_daily
--   * purge_history also purges bookings

-- ---------------------------------------------------------------------
-- Check-in window and appointment tickets
-- ---------------------------------------------------------------------

-- Bounded so that a typo cannot open a window of days.
ALTER TABLE kolapp.offices
    ADD COLUMN checkin_before_s int NOT NULL DEFAULT 1800
        CONSTRAINT offices_checkin_before_check CHECK (checkin_before_s BETWEEN 0 AND 14400),
    ADD COLUMN checkin_after_s int NOT NULL DEFAULT 600
        CONSTRAINT offices_checkin_after_check CHECK (checkin_after_s BETWEEN 0 AND 14400);

ALTER TABLE kolapp.tickets ADD COLUMN appointment timestamptz;

-- ---------------------------------------------------------------------
-- The booking role
-- ---------------------------------------------------------------------

ALTER TABLE kolapp.tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE kolapp.tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('kiosk', 'counter', 'display', 'admin', 'booking'));

-- Migration 1's, with the booking role.
CREATE OR REPLACE FUNCTION kolapp.create_token(role text, office text, counter text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
    cid int;
    crypto_schema name;
    raw bytea;
    tok text;
BEGIN
    IF role IS NULL OR role NOT IN ('kiosk', 'counter', 'display', 'admin', 'booking') THEN
        RAISE EXCEPTION 'unknown role "%"', coalesce(role, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The roles are kiosk, counter, display, admin and booking.';
    END IF;
    IF role = 'counter' THEN
        IF counter IS NULL THEN
            RAISE EXCEPTION 'a counter token needs a counter'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'kolapp.create_token(''counter'', office, ''counter name'')';
        END IF;
        SELECT c.id INTO cid FROM kolapp.counters c
         WHERE c.office_id = off_id AND c.name = create_token.counter;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown counter "%" in office "%"', counter, office
                USING ERRCODE = 'no_data_found';
        END IF;
    ELSIF counter IS NOT NULL THEN
        RAISE EXCEPTION 'a % token is not bound to a counter: leave counter out', role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.extnamespace::regnamespace::name INTO crypto_schema
      FROM pg_catalog.pg_extension e WHERE e.extname = 'pgcrypto';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the pgcrypto extension is missing' USING ERRCODE = 'undefined_function';
    END IF;
    EXECUTE format('SELECT %I.gen_random_bytes(32)', crypto_schema) INTO raw;
    tok := 'kt_' || encode(raw, 'hex');
    INSERT INTO kolapp.tokens (hash, role, office_id, counter_id)
    VALUES (sha256(convert_to(tok, 'UTF8')), create_token.role, off_id, cid);
    RETURN tok;
END $$;

-- ---------------------------------------------------------------------
-- Bookings
-- ---------------------------------------------------------------------

-- A reference that looks like a personal identity number (YYMMDD-NNNN,
-- with or without the century or the dash) or a phone number (ten digits
-- or more) is refused: the agency keeps who the visitor is, not us.
CREATE FUNCTION kolapp.looks_personal(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p ~ '[0-9]{6}[-+]?[0-9]{4}'
$$;

CREATE TABLE kolapp.bookings (
    id            bigserial PRIMARY KEY,
    office_id     int NOT NULL REFERENCES kolapp.offices,
    queue_id      int NOT NULL,
    -- no I, L, O, 0 or 1: a code read aloud or typed is not mistaken
    code          text NOT NULL UNIQUE CHECK (code ~ '^[A-HJKMNP-Z2-9]{8}$'),
    starts_at     timestamptz NOT NULL,
    minutes       int NOT NULL DEFAULT 15 CHECK (minutes BETWEEN 5 AND 240),
    interpreter   text CHECK (interpreter ~ '^[a-z]{2}$'),
    reference     text CHECK (length(reference) BETWEEN 1 AND 64
                              AND NOT kolapp.looks_personal(reference)),
    state         text NOT NULL DEFAULT 'booked'
                  CHECK (state IN ('booked', 'checked_in', 'served', 'no_show', 'cancelled')),
    ticket_id     bigint REFERENCES kolapp.tickets,
    created_at    timestamptz NOT NULL DEFAULT now(),
    checked_in_at timestamptz,
    ended_at      timestamptz, -- cancelled, no_show or served
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id),
    CONSTRAINT bookings_ticket_when_checked_in
        CHECK ((state IN ('checked_in', 'served')) = (ticket_id IS NOT NULL)),
    CONSTRAINT bookings_checked_in_at
        CHECK ((ticket_id IS NULL) = (checked_in_at IS NULL))
);
CREATE INDEX bookings_office_starts_idx ON kolapp.bookings (office_id, starts_at);
CREATE INDEX bookings_ticket_idx ON kolapp.bookings (ticket_id) WHERE ticket_id IS NOT NULL;

-- No start in the past at booking time; after that an administrator may
-- move a booking by hand (and tests move them to the window's edges).
CREATE FUNCTION kolapp.bookings_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.starts_at <= NEW.created_at THEN
        RAISE EXCEPTION 'a booking cannot start in the past (% is before %)',
            NEW.starts_at, NEW.created_at
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> 'booked' THEN
        RAISE EXCEPTION 'a new booking is booked, not %', NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bookings_check_insert BEFORE INSERT ON kolapp.bookings
    FOR EACH ROW EXECUTE FUNCTION kolapp.bookings_check_insert();

-- States move forward only; who a booking is for and where never changes.
CREATE FUNCTION kolapp.bookings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.office_id, NEW.code) IS DISTINCT FROM (OLD.id, OLD.office_id, OLD.code) THEN
        RAISE EXCEPTION 'a booking''s identity (id, office, code) cannot change'
            USING ERRCODE = 'check_violation', DETAIL = format('booking %s', OLD.code);
    END IF;
    IF NEW.state IS DISTINCT FROM OLD.state
       AND (OLD.state, NEW.state) NOT IN (('booked', 'checked_in'), ('booked', 'cancelled'),
                                          ('booked', 'no_show'), ('checked_in', 'served')) THEN
        RAISE EXCEPTION 'illegal booking state transition: % -> %', OLD.state, NEW.state
            USING ERRCODE = 'check_violation', DETAIL = format('booking %s', OLD.code);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bookings_guard BEFORE UPDATE ON kolapp.bookings
    FOR EACH ROW EXECUTE FUNCTION kolapp.bookings_guard();

-- psql's changes reach the daemon (kolapp_config, like the other tables);
-- the daemon's own writes do not, or every book would reload it. The d_
-- functions mark their transaction.
CREATE FUNCTION kolapp.bookings_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF current_setting('kolapp.daemon_write', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- served follows the ticket's finish (tickets_serve_booking, in the
    -- daemon's own batch); the daemon derives it from the ticket
    IF TG_OP = 'UPDATE' AND OLD.state = 'checked_in' AND NEW.state = 'served' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    PERFORM pg_notify('kolapp_config',
                      kolapp.config_payload('bookings', TG_OP, r.id::int, r.office_id));
    RETURN NULL;
END $$;
CREATE TRIGGER bookings_notify AFTER INSERT OR DELETE ON kolapp.bookings
    FOR EACH ROW EXECUTE FUNCTION kolapp.bookings_notify();
CREATE TRIGGER bookings_notify_update AFTER UPDATE ON kolapp.bookings
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.bookings_notify();

-- A checked-in visitor's ticket done: the booking was served.
CREATE FUNCTION kolapp.tickets_serve_booking() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE kolapp.bookings b SET state = 'served', ended_at = NEW.finished_at
     WHERE b.ticket_id = NEW.id AND b.state = 'checked_in';
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_serve_booking AFTER UPDATE OF state ON kolapp.tickets
    FOR EACH ROW WHEN (NEW.appointment IS NOT NULL AND NEW.state = 'done'
                       AND OLD.state IS DISTINCT FROM 'done')
    EXECUTE FUNCTION kolapp.tickets_serve_booking();

-- ---------------------------------------------------------------------
-- Administration
-- ---------------------------------------------------------------------

-- 8 characters of the booking alphabet from pgcrypto's random bytes
-- (bytes of 248 and over are skipped: 248 = 8 * 31 keeps them unbiased).
CREATE FUNCTION kolapp.new_booking_code() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
    crypto_schema name;
    raw bytea;
    code text := '';
    b int;
BEGIN
    SELECT e.extnamespace::regnamespace::name INTO crypto_schema
      FROM pg_catalog.pg_extension e WHERE e.extname = 'pgcrypto';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the pgcrypto extension is missing' USING ERRCODE = 'undefined_function';
    END IF;
    WHILE length(code) < 8 LOOP
        EXECUTE format('SELECT %I.gen_random_bytes(16)', crypto_schema) INTO raw;
        FOR i IN 0 .. 15 LOOP
            b := get_byte(raw, i);
            IF b < 248 AND length(code) < 8 THEN
                code := code || substr(alphabet, b % 31 + 1, 1);
            END IF;
        END LOOP;
    END LOOP;
    RETURN code;
END $$;

-- The checks add_booking and the daemon's book share (the daemon checks
-- the same in C first, so that a bad request never fails a batch).
CREATE FUNCTION kolapp.booking_check(p_starts_at timestamptz, p_minutes int,
                                     p_interpreter text, p_reference text, p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_starts_at IS NULL THEN
        RAISE EXCEPTION 'starts_at is missing' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_starts_at <= p_now THEN
        RAISE EXCEPTION 'starts_at % is in the past', p_starts_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_minutes IS NULL OR p_minutes NOT BETWEEN 5 AND 240 THEN
        RAISE EXCEPTION 'minutes must be 5 to 240 (got %)', coalesce(p_minutes::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_interpreter IS NOT NULL AND p_interpreter !~ '^[a-z]{2}$' THEN
        RAISE EXCEPTION 'interpreter must be a two-letter language code such as so (got "%")',
            p_interpreter USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_reference IS NOT NULL AND length(p_reference) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION 'reference must have 1 to 64 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kolapp.looks_personal(p_reference) THEN
        RAISE EXCEPTION 'reference looks like a personal number or a phone number'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use the agency''s own case or booking reference: kolapp stores no personal data.';
    END IF;
END $$;

CREATE FUNCTION kolapp.add_booking(office text, queue text, starts_at timestamptz,
                                   minutes int DEFAULT 15, interpreter text DEFAULT NULL,
                                   reference text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
    qid int := kolapp.queue_id_of(office, queue);
    new_code text;
BEGIN
    PERFORM kolapp.booking_check(starts_at, minutes, interpreter, reference, now());
    -- 31^8 codes: a clash is rare, and retried.
    FOR attempt IN 1 .. 5 LOOP
        new_code := kolapp.new_booking_code();
        BEGIN
            INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at, minutes,
                                         interpreter, reference)
            VALUES (off_id, qid, new_code, add_booking.starts_at, add_booking.minutes,
                    add_booking.interpreter, add_booking.reference);
            RETURN new_code;
        EXCEPTION WHEN unique_violation THEN
            NULL;
        END;
    END LOOP;
    RAISE EXCEPTION 'no free booking code after 5 attempts' USING ERRCODE = 'unique_violation';
END $$;

-- Returns false when the booking was already cancelled (nothing changes).
CREATE FUNCTION kolapp.cancel_booking(code text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT b.state INTO st FROM kolapp.bookings b WHERE b.code = upper(cancel_booking.code)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown booking "%"', coalesce(code, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    IF st = 'cancelled' THEN
        RETURN false;
    END IF;
    IF st <> 'booked' THEN
        RAISE EXCEPTION 'booking % is %: only a booked one can be cancelled', upper(code), st
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE kolapp.bookings b SET state = 'cancelled', ended_at = now()
     WHERE b.code = upper(cancel_booking.code);
    RETURN true;
END $$;

CREATE FUNCTION kolapp.set_checkin_window(office text, before_s int, after_s int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
BEGIN
    IF before_s IS NULL OR before_s NOT BETWEEN 0 AND 14400 THEN
        RAISE EXCEPTION 'before_s must be 0 to 14400 seconds (got %)',
            coalesce(before_s::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF after_s IS NULL OR after_s NOT BETWEEN 0 AND 14400 THEN
        RAISE EXCEPTION 'after_s must be 0 to 14400 seconds (got %)',
            coalesce(after_s::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE kolapp.offices o
       SET checkin_before_s = set_checkin_window.before_s,
           checkin_after_s = set_checkin_window.after_s
     WHERE o.id = off_id;
END $$;

-- ---------------------------------------------------------------------
-- Daemon write path (checked in memory first; a surprise here raises and
-- fails the batch, as for tickets)
-- ---------------------------------------------------------------------

CREATE FUNCTION kolapp.d_book(p_office int, p_queue int, p_code text, p_starts_at timestamptz,
                              p_minutes int, p_interpreter text, p_reference text,
                              p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('kolapp.daemon_write', 'on', true);
    PERFORM kolapp.booking_check(p_starts_at, p_minutes, p_interpreter, p_reference, p_at);
    INSERT INTO kolapp.bookings (office_id, queue_id, code, starts_at, minutes, interpreter,
                                 reference, created_at)
    VALUES (p_office, p_queue, p_code, p_starts_at, p_minutes, p_interpreter, p_reference,
            p_at);
END $$;

CREATE FUNCTION kolapp.d_unbook(p_office int, p_code text, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('kolapp.daemon_write', 'on', true);
    UPDATE kolapp.bookings b SET state = 'cancelled', ended_at = p_at
     WHERE b.office_id = p_office AND b.code = p_code AND b.state = 'booked';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'd_unbook: booking % of office % is not booked', p_code, p_office
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END $$;

-- The visitor arrived: a waiting ticket (as d_issue makes it) that keeps
-- the booked start, and the booking points at it.
CREATE FUNCTION kolapp.d_check_in(p_office int, p_queue int, p_day date, p_number int,
                                  p_ticket text, p_at timestamptz, p_interpreter text,
                                  p_booking text, p_estimate int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    start timestamptz;
BEGIN
    PERFORM set_config('kolapp.daemon_write', 'on', true);
    SELECT b.starts_at INTO start FROM kolapp.bookings b
     WHERE b.office_id = p_office AND b.code = p_booking AND b.queue_id = p_queue
       AND b.state = 'booked'
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'd_check_in: booking % of office % is not booked for queue %',
            p_booking, p_office, p_queue
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                number, code, state, issued_at, sort_at, interpreter,
                                estimated_wait_s, appointment)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_ticket, 'waiting', p_at, p_at,
            p_interpreter, p_estimate, start)
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
    UPDATE kolapp.bookings b SET state = 'checked_in', ticket_id = tid, checked_in_at = p_at
     WHERE b.office_id = p_office AND b.code = p_booking;
END $$;

-- Bookings whose check-in window has closed without the visitor.
CREATE FUNCTION kolapp.d_bookings_no_show(p_office int, p_at timestamptz)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    PERFORM set_config('kolapp.daemon_write', 'on', true);
    UPDATE kolapp.bookings b SET state = 'no_show', ended_at = p_at
      FROM kolapp.offices o
     WHERE o.id = b.office_id AND b.office_id = p_office AND b.state = 'booked'
       AND b.starts_at + make_interval(secs => o.checkin_after_s) < p_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- ---------------------------------------------------------------------
-- Retention: migration 2's, with the bookings of the same age
-- ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION kolapp.purge_history(older_than_days int, anonymise boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
DECLARE
    n bigint;
BEGIN
    IF older_than_days IS NULL OR older_than_days < 1 THEN
        RAISE EXCEPTION 'older_than_days must be at least 1 (got %)',
            coalesce(older_than_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Today''s and yesterday''s tickets belong to the running daemon.';
    END IF;
    IF anonymise IS NULL THEN
        RAISE EXCEPTION 'anonymise must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('kolapp.purging', 'on', true);
    IF anonymise THEN
        WITH doomed AS (
            SELECT t.id FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id
             WHERE t.business_day < (now() AT TIME ZONE o.timezone)::date - older_than_days
               AND t.state IN ('done', 'no_show', 'cancelled', 'expired')
        ), ev AS (
            UPDATE kolapp.ticket_events e SET detail = NULL
              FROM doomed d
             WHERE e.ticket_id = d.id AND e.detail IS NOT NULL
            RETURNING e.ticket_id
        ), tk AS (
            UPDATE kolapp.tickets t SET idem_key = NULL
              FROM doomed d
             WHERE t.id = d.id AND t.idem_key IS NOT NULL
            RETURNING t.id
        )
        SELECT count(*) INTO n FROM (SELECT ev.ticket_id FROM ev UNION SELECT tk.id FROM tk) x;
        -- the agency's reference is the one link to a person
        UPDATE kolapp.bookings b SET reference = NULL
          FROM kolapp.offices o
         WHERE o.id = b.office_id AND b.reference IS NOT NULL
           AND (b.starts_at AT TIME ZONE o.timezone)::date
               < (now() AT TIME ZONE o.timezone)::date - older_than_days
           AND b.state <> 'booked';
    ELSE
        -- bookings first: they point at the tickets
        DELETE FROM kolapp.bookings b
         USING kolapp.offices o
         WHERE o.id = b.office_id
           AND ((b.starts_at AT TIME ZONE o.timezone)::date
                < (now() AT TIME ZONE o.timezone)::date - older_than_days
                AND b.state <> 'booked'
                OR b.ticket_id IN (
                    SELECT t.id FROM kolapp.tickets t
                     WHERE t.office_id = o.id
                       AND t.business_day < (now() AT TIME ZONE o.timezone)::date
                                            - older_than_days
                       AND t.state IN ('done', 'no_show', 'cancelled', 'expired')));
        DELETE FROM kolapp.ticket_events e
         USING kolapp.tickets t, kolapp.offices o
         WHERE e.ticket_id = t.id AND o.id = t.office_id
           AND t.business_day < (now() AT TIME ZONE o.timezone)::date - older_than_days
           AND t.state IN ('done', 'no_show', 'cancelled', 'expired');
        DELETE FROM kolapp.tickets t
         USING kolapp.offices o
         WHERE o.id = t.office_id
           AND t.business_day < (now() AT TIME ZONE o.timezone)::date - older_than_days
           AND t.state IN ('done', 'no_show', 'cancelled', 'expired');
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM kolapp.counter_events e
         USING kolapp.offices o
         WHERE o.id = e.office_id
           AND e.at < ((now() AT TIME ZONE o.timezone)::date - older_than_days)::timestamp
                      AT TIME ZONE o.timezone;
    END IF;
    PERFORM set_config('kolapp.purging', 'off', true);
    RETURN n;
END $$;

-- ---------------------------------------------------------------------
-- Views. A booking still `booked` after its window closed counts as a
-- no-show here already, so that the views do not wait for the daemon.
-- The queue is the agency.
-- ---------------------------------------------------------------------

CREATE VIEW kolapp.booking_states AS
SELECT b.*, o.code AS office, q.code AS queue, o.timezone,
       (b.starts_at AT TIME ZONE o.timezone)::date AS day,
       CASE WHEN b.state = 'booked'
                 AND b.starts_at + make_interval(secs => o.checkin_after_s) < now()
            THEN 'no_show' ELSE b.state END AS effective_state
  FROM kolapp.bookings b
  JOIN kolapp.offices o ON o.id = b.office_id
  JOIN kolapp.queues q ON q.id = b.queue_id;

-- The visits that never came, for the agency to follow up by reference.
CREATE VIEW kolapp.booking_no_shows AS
SELECT s.office, s.queue, s.day, s.code, s.starts_at, s.minutes, s.interpreter, s.reference
  FROM kolapp.booking_states s
 WHERE s.effective_state = 'no_show';

-- Interpreters to book: from tomorrow to a week later, per office,
-- language and local hour of the start.
CREATE VIEW kolapp.interpreters_ahead AS
SELECT s.office, s.day, extract(hour FROM s.starts_at AT TIME ZONE s.timezone)::int AS hour,
       s.interpreter AS language,
       count(*) AS bookings, sum(s.minutes) AS minutes,
       s.day = (now() AT TIME ZONE s.timezone)::date + 1 AS tomorrow
  FROM kolapp.booking_states s
 WHERE s.interpreter IS NOT NULL AND s.state = 'booked'
   AND s.day BETWEEN (now() AT TIME ZONE s.timezone)::date + 1
                 AND (now() AT TIME ZONE s.timezone)::date + 7
 GROUP BY s.office, s.day, extract(hour FROM s.starts_at AT TIME ZONE s.timezone)::int,
          s.interpreter, s.timezone;

-- Per office, agency and day: on time is checked in by the booked start;
-- the wait is from the booked start to the first call (negative: called
-- early), over the checked-in visits that were called.
CREATE VIEW kolapp.bookings_daily AS
SELECT s.office, s.queue, s.day,
       count(*) FILTER (WHERE s.state <> 'cancelled') AS booked,
       count(*) FILTER (WHERE s.state = 'cancelled') AS cancelled,
       count(s.ticket_id) AS checked_in,
       count(*) FILTER (WHERE s.checked_in_at <= s.starts_at) AS on_time,
       count(*) FILTER (WHERE s.checked_in_at > s.starts_at) AS late,
       count(*) FILTER (WHERE s.effective_state = 'no_show') AS no_show,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM fc.at - s.starts_at))::numeric, 1)
           AS wait_after_start_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM fc.at - s.starts_at))::numeric, 1)
           AS wait_after_start_p90_s
  FROM kolapp.booking_states s
  LEFT JOIN LATERAL (
        SELECT min(e.at) AS at FROM kolapp.ticket_events e
         WHERE e.ticket_id = s.ticket_id AND e.kind = 'called') fc ON true
 GROUP BY s.office, s.queue, s.day;

-- ---------------------------------------------------------------------
-- Rights, as the earlier migrations give them
-- ---------------------------------------------------------------------

ALTER FUNCTION kolapp.add_booking(text, text, timestamptz, int, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.cancel_booking(text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.set_checkin_window(text, int, int)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.new_booking_code()
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.booking_check(timestamptz, int, text, text, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.looks_personal(text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE EXECUTE ON FUNCTION
    kolapp.add_booking(text, text, timestamptz, int, text, text),
    kolapp.cancel_booking(text), kolapp.set_checkin_window(text, int, int),
    kolapp.new_booking_code(), kolapp.looks_personal(text),
    kolapp.booking_check(timestamptz, int, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    kolapp.add_booking(text, text, timestamptz, int, text, text),
    kolapp.cancel_booking(text), kolapp.set_checkin_window(text, int, int)
    TO kolapp_admin;

GRANT SELECT ON kolapp.bookings TO kolapp_daemon, kolapp_admin;
GRANT SELECT ON kolapp.booking_states, kolapp.booking_no_shows, kolapp.interpreters_ahead, kolapp.bookings_daily
    TO kolapp_admin, kolapp_report;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
