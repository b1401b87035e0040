-- kolapp schema, migration 12: the visitor's side of the counter (issue 14).
-- Run by `kolappd --migrate` inside one transaction (no BEGIN/COMMIT here).
--
--   * kolapp.office_keys: one secret key per office, from which kolappd
--     derives each ticket's visitor secret (the /t/<secret> page). Only
--     the daemon may read it.
--   * tickets.visitor_hash: SHA-256 of that secret, the only form in
--     which the secret is stored; tickets.rated: the visitor rated the
--     visit (the rating itself is stored apart, without the ticket)
--   * d_issue and d_issue_many take the hash (a twelfth argument, NULL
--     when left out, so that calls written for migration 10 still work)
--   * d_rate and kolapp.feedback (ratings counted per queue and day) and
--     the view kolapp.feedback_daily
--   * kolapp.queue_texts and kolapp.set_queue_text(): a queue's name and
--     description in a language, for the kiosk
--   * the view kolapp.interpreter_needs_daily
--
-- Why a derived secret rather than a random one per ticket: `issue` is
-- idempotent (the same key returns the same ticket), and a kiosk retries
-- exactly when it lost the reply, often because kolappd restarted. A
-- secret kept only as a hash cannot be given again after a restart; one
-- derived as HMAC-SHA256(office key, business day and code) can, by any
-- daemon that serves the office. The key is 244 random bits from
-- PostgreSQL's strong random source (gen_random_uuid(), which is
-- pg_strong_random, OpenSSL's RAND_bytes in an OpenSSL build); it lives in
-- a table no administrator or report role may read, so the tickets table
-- (which admins and reports read, and which is in every export) holds
-- nothing from which a visitor's page can be opened.
--
-- Migrations run in order, exactly once (sql/README.md, "Writing a
-- migration"): nothing here guards with IF EXISTS.

-- ---------------------------------------------------------------------
-- The offices' keys
-- ---------------------------------------------------------------------

CREATE FUNCTION kolapp.new_visitor_key() RETURNS bytea
LANGUAGE sql VOLATILE AS $$
    SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')
$$;

CREATE TABLE kolapp.office_keys (
    office_id   int PRIMARY KEY REFERENCES kolapp.offices ON DELETE CASCADE,
    visitor_key bytea NOT NULL CONSTRAINT office_keys_visitor_key_check
                CHECK (length(visitor_key) >= 32)
);

INSERT INTO kolapp.office_keys (office_id, visitor_key)
SELECT o.id, kolapp.new_visitor_key() FROM kolapp.offices o;

-- Every new office gets its key in the same transaction, before the
-- daemon's reload (the offices' NOTIFY) can read it.
CREATE FUNCTION kolapp.office_key_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kolapp.office_keys (office_id, visitor_key)
    VALUES (NEW.id, kolapp.new_visitor_key());
    RETURN NULL;
END $$;

CREATE TRIGGER offices_key_insert AFTER INSERT ON kolapp.offices
    FOR EACH ROW EXECUTE FUNCTION kolapp.office_key_insert();
-- Whoever adds the office, the key is written with the owner's rights.
ALTER FUNCTION kolapp.office_key_insert()
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;

-- ---------------------------------------------------------------------
-- Tickets
-- ---------------------------------------------------------------------

-- Both NULL or constant defaults: no rewrite of the table.
ALTER TABLE kolapp.tickets
    ADD COLUMN visitor_hash bytea CONSTRAINT tickets_visitor_hash_check
        CHECK (length(visitor_hash) = 32),
    ADD COLUMN rated boolean NOT NULL DEFAULT false,
    -- only a visit that happened is rated
    ADD CONSTRAINT tickets_rated_only_done CHECK (NOT rated OR state = 'done');

DROP FUNCTION kolapp.d_issue(int, int, date, int, text, text, timestamptz, boolean, text, text,
                             int);
DROP FUNCTION kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[],
                                  boolean[], text[], text[], int[]);

-- p_visitor_hash: the hash in hex (text, like every value the daemon sends).
CREATE FUNCTION kolapp.d_issue(p_office int, p_queue int, p_day date, p_number int,
                               p_code text, p_key text, p_at timestamptz,
                               p_priority boolean, p_interpreter text, p_lang text,
                               p_estimate int DEFAULT NULL, p_visitor_hash text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                number, code, state, issued_at, sort_at, idem_key,
                                priority, interpreter, lang, estimated_wait_s, visitor_hash)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_code, 'waiting',
            p_at, p_at, p_key, p_priority, p_interpreter, p_lang, p_estimate,
            decode(p_visitor_hash, 'hex'))
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
END $$;

-- Migration 10's, with the hashes' array.
CREATE FUNCTION kolapp.d_issue_many(p_office int[], p_queue int[], p_day date[],
                                    p_number int[], p_code text[], p_key text[],
                                    p_at timestamptz[], p_priority boolean[],
                                    p_interpreter text[], p_lang text[],
                                    p_estimate int[] DEFAULT NULL,
                                    p_visitor_hash text[] DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_queue),
        cardinality(p_day), cardinality(p_number), cardinality(p_code),
        cardinality(p_key), cardinality(p_at), cardinality(p_priority),
        cardinality(p_interpreter), cardinality(p_lang),
        coalesce(cardinality(p_estimate), cardinality(p_office)),
        coalesce(cardinality(p_visitor_hash), cardinality(p_office)));
    WITH t AS (
        INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                    number, code, state, issued_at, sort_at, idem_key,
                                    priority, interpreter, lang, estimated_wait_s,
                                    visitor_hash)
        SELECT x.o, x.d, x.q, x.q, x.n, x.c, 'waiting', x.a, x.a, x.k, x.p, x.it, x.l, x.e,
               decode(x.h, 'hex')
          FROM unnest(p_office, p_queue, p_day, p_number, p_code, p_key, p_at,
                      p_priority, p_interpreter, p_lang, p_estimate, p_visitor_hash)
               WITH ORDINALITY AS x(o, q, d, n, c, k, a, p, it, l, e, h, i)
         ORDER BY x.i
        RETURNING id, office_id, issued_at, queue_id)
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    SELECT t.id, t.office_id, t.issued_at, 'issued', t.queue_id FROM t ORDER BY t.id;
END $$;

-- ---------------------------------------------------------------------
-- Feedback: one tap, 1 to 5, counted per queue and day. No row names the
-- ticket or the time, so a rating cannot be traced back to a visitor;
-- the ticket only remembers that it has rated (one rating per ticket).
-- ---------------------------------------------------------------------

CREATE TABLE kolapp.feedback (
    office_id    int NOT NULL REFERENCES kolapp.offices,
    queue_id     int NOT NULL,
    business_day date NOT NULL,
    rating       smallint NOT NULL CONSTRAINT feedback_rating_check CHECK (rating BETWEEN 1 AND 5),
    n            int NOT NULL CONSTRAINT feedback_n_check CHECK (n > 0),
    PRIMARY KEY (office_id, queue_id, business_day, rating),
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id)
);

-- The engine refuses a second rating and one before the visit ended;
-- should memory and database disagree anyway (a rating from before a
-- restart), the second one counts nothing instead of failing the batch.
CREATE FUNCTION kolapp.d_rate(p_office int, p_day date, p_code text, p_rating int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    qid int;
BEGIN
    UPDATE kolapp.tickets t SET rated = true
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = 'done' AND NOT t.rated
    RETURNING t.queue_id INTO qid;
    IF FOUND THEN
        INSERT INTO kolapp.feedback AS f (office_id, queue_id, business_day, rating, n)
        VALUES (p_office, qid, p_day, p_rating, 1)
        ON CONFLICT (office_id, queue_id, business_day, rating) DO UPDATE SET n = f.n + 1;
    END IF;
END $$;

CREATE VIEW kolapp.feedback_daily AS
SELECT o.code AS office, q.code AS queue, f.business_day AS day,
       sum(f.n) AS ratings,
       round(sum(f.n * f.rating)::numeric / sum(f.n), 2) AS average,
       coalesce(sum(f.n) FILTER (WHERE f.rating = 1), 0) AS r1,
       coalesce(sum(f.n) FILTER (WHERE f.rating = 2), 0) AS r2,
       coalesce(sum(f.n) FILTER (WHERE f.rating = 3), 0) AS r3,
       coalesce(sum(f.n) FILTER (WHERE f.rating = 4), 0) AS r4,
       coalesce(sum(f.n) FILTER (WHERE f.rating = 5), 0) AS r5
  FROM kolapp.feedback f
  JOIN kolapp.offices o ON o.id = f.office_id
  JOIN kolapp.queues q ON q.id = f.queue_id
 GROUP BY o.id, o.code, q.id, q.code, f.business_day;

-- ---------------------------------------------------------------------
-- Interpreters: how many visitors asked for one, per queue (the one the
-- ticket was issued for), language and day, so that an office can book
-- interpreters ahead. Cancelled tickets count: the need was there.
-- ---------------------------------------------------------------------

CREATE VIEW kolapp.interpreter_needs_daily AS
SELECT o.code AS office, q.code AS queue, t.interpreter AS language, t.business_day AS day,
       count(*) AS count
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.origin_queue_id
 WHERE t.interpreter IS NOT NULL
 GROUP BY o.id, o.code, q.id, q.code, t.interpreter, t.business_day;

-- ---------------------------------------------------------------------
-- Queue texts: the name and one-line description of a queue in a
-- language, for the kiosk. The queue's own name stays the default.
-- ---------------------------------------------------------------------

CREATE TABLE kolapp.queue_texts (
    id          serial PRIMARY KEY,
    office_id   int NOT NULL REFERENCES kolapp.offices,
    queue_id    int NOT NULL,
    lang        text NOT NULL CONSTRAINT queue_texts_lang_check CHECK (lang ~ '^[a-z]{2}$'),
    name        text NOT NULL CONSTRAINT queue_texts_name_check
                CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CONSTRAINT queue_texts_description_check
                CHECK (length(description) <= 200 AND description !~ '[\n\r]'),
    UNIQUE (queue_id, lang),
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id)
);

-- Like every configuration table (migration 2): the daemon reloads.
CREATE TRIGGER queue_texts_notify_config AFTER INSERT OR DELETE ON kolapp.queue_texts
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER queue_texts_notify_config_update AFTER UPDATE ON kolapp.queue_texts
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.notify_config();

-- Migration 2's conventions: invalid_parameter_value for bad input,
-- no_data_found for an unknown office or queue. A NULL or empty name
-- removes the language's text (the kiosk then shows the queue's name).
CREATE FUNCTION kolapp.set_queue_text(office text, queue text, lang text, name text,
                                      description text DEFAULT '')
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
    off int := kolapp.office_id_of(office);
BEGIN
    IF set_queue_text.lang IS NULL OR set_queue_text.lang !~ '^[a-z]{2}$' THEN
        RAISE EXCEPTION 'lang must be a two-letter ISO 639-1 code such as so (got %)',
            coalesce(set_queue_text.lang, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_queue_text.name IS NULL OR btrim(set_queue_text.name) = '' THEN
        DELETE FROM kolapp.queue_texts t WHERE t.queue_id = qid AND t.lang = set_queue_text.lang;
        RETURN;
    END IF;
    IF length(btrim(set_queue_text.name)) > 100 THEN
        RAISE EXCEPTION 'name must be at most 100 characters (got %)',
            length(btrim(set_queue_text.name))
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(coalesce(set_queue_text.description, '')) > 200
       OR coalesce(set_queue_text.description, '') ~ '[\n\r]' THEN
        RAISE EXCEPTION 'description must be one line of at most 200 characters'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The kiosk shows it under the name, on one line.';
    END IF;
    INSERT INTO kolapp.queue_texts AS t (office_id, queue_id, lang, name, description)
    VALUES (off, qid, set_queue_text.lang, btrim(set_queue_text.name),
            coalesce(set_queue_text.description, ''))
    ON CONFLICT (queue_id, lang) DO UPDATE
        SET name = EXCLUDED.name, description = EXCLUDED.description;
END $$;

ALTER FUNCTION kolapp.set_queue_text(text, text, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.new_visitor_key()
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE EXECUTE ON FUNCTION kolapp.set_queue_text(text, text, text, text, text),
    kolapp.new_visitor_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kolapp.set_queue_text(text, text, text, text, text) TO kolapp_admin;

-- The keys: the daemon alone (it derives the secrets).
REVOKE ALL ON kolapp.office_keys FROM PUBLIC;
GRANT SELECT ON kolapp.office_keys TO kolapp_daemon;
GRANT SELECT ON kolapp.queue_texts TO kolapp_daemon, kolapp_admin, kolapp_report;
GRANT SELECT ON kolapp.feedback TO kolapp_admin, kolapp_report;
GRANT SELECT ON kolapp.feedback_daily, kolapp.interpreter_needs_daily
    TO kolapp_admin, kolapp_report;

-- Last: every d_ function this migration created or replaced.
-- A booking's ticket (migration 11) gets its visitor page like a walk-in's.
DROP FUNCTION kolapp.d_check_in(int, int, date, int, text, timestamptz, text, text, int);
CREATE FUNCTION kolapp.d_check_in(p_office int, p_queue int, p_day date, p_number int,
                                  p_ticket text, p_at timestamptz, p_interpreter text,
                                  p_booking text, p_estimate int,
                                  p_visitor_hash text DEFAULT NULL)
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
                                estimated_wait_s, appointment, visitor_hash)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_ticket, 'waiting', p_at, p_at,
            p_interpreter, p_estimate, start, decode(p_visitor_hash, 'hex'))
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
    UPDATE kolapp.bookings b SET state = 'checked_in', ticket_id = tid, checked_in_at = p_at
     WHERE b.office_id = p_office AND b.code = p_booking;
END $$;

CALL kolapp.secure_daemon_functions();
