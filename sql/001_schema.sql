-- kolapp schema, migration 1.
-- Run by `kolappd --migrate` inside one transaction; the runner records the
-- schema_version row itself.

CREATE EXTENSION IF NOT EXISTS pgcrypto;   -- gen_random_bytes for tokens

CREATE SCHEMA kolapp;

CREATE TABLE kolapp.schema_version (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Declared IMMUTABLE so that a CHECK constraint may use it. The zone
-- database can change under a running server, but a zone disappearing is
-- rare enough, and the daemon refuses such an office loudly anyway.
CREATE FUNCTION kolapp.is_valid_timezone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF tz IS NULL OR btrim(tz) = '' OR tz <> btrim(tz) THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

-- ---------------------------------------------------------------------
-- Configuration
-- ---------------------------------------------------------------------

CREATE TABLE kolapp.offices (
    id         serial PRIMARY KEY,
    code       text NOT NULL UNIQUE
               CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    timezone   text NOT NULL
               CONSTRAINT offices_timezone_valid
               CHECK (kolapp.is_valid_timezone(timezone)),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kolapp.queues (
    id         serial PRIMARY KEY,
    office_id  int NOT NULL REFERENCES kolapp.offices ON DELETE RESTRICT,
    code       text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9]{0,3}$'),
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    open       boolean NOT NULL DEFAULT true,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (office_id, code),
    -- target of the composite foreign keys that keep tickets in one office
    UNIQUE (id, office_id)
);

CREATE TABLE kolapp.counters (
    id         serial PRIMARY KEY,
    office_id  int NOT NULL REFERENCES kolapp.offices ON DELETE RESTRICT,
    name       text NOT NULL
               CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,31}$'),
    open       boolean NOT NULL DEFAULT false,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (office_id, name),
    UNIQUE (id, office_id)
);

-- Moving a queue or counter to another office would silently break every
-- cross-table "same office" rule below; make it a new row instead.
CREATE FUNCTION kolapp.forbid_office_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.office_id <> OLD.office_id THEN
        RAISE EXCEPTION '%.office_id cannot change: create a new one in the other office',
            TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER queues_office_fixed BEFORE UPDATE OF office_id ON kolapp.queues
    FOR EACH ROW EXECUTE FUNCTION kolapp.forbid_office_change();
CREATE TRIGGER counters_office_fixed BEFORE UPDATE OF office_id ON kolapp.counters
    FOR EACH ROW EXECUTE FUNCTION kolapp.forbid_office_change();

CREATE TABLE kolapp.counter_queues (
    counter_id int NOT NULL REFERENCES kolapp.counters ON DELETE CASCADE,
    queue_id   int NOT NULL REFERENCES kolapp.queues,
    rank       int NOT NULL CHECK (rank > 0),
    PRIMARY KEY (counter_id, queue_id)
);
CREATE INDEX counter_queues_queue_idx ON kolapp.counter_queues (queue_id);

CREATE FUNCTION kolapp.counter_queues_same_office() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c_office int;
    q_office int;
BEGIN
    SELECT c.office_id INTO c_office FROM kolapp.counters c WHERE c.id = NEW.counter_id;
    SELECT q.office_id INTO q_office FROM kolapp.queues q WHERE q.id = NEW.queue_id;
    -- a missing row is left to the foreign keys, which say it better
    IF c_office IS DISTINCT FROM q_office AND c_office IS NOT NULL AND q_office IS NOT NULL THEN
        RAISE EXCEPTION 'counter % and queue % belong to different offices',
            NEW.counter_id, NEW.queue_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER counter_queues_same_office
    BEFORE INSERT OR UPDATE ON kolapp.counter_queues
    FOR EACH ROW EXECUTE FUNCTION kolapp.counter_queues_same_office();

CREATE TABLE kolapp.tokens (
    id             serial PRIMARY KEY,
    hash           bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    role           text NOT NULL
                   CHECK (role IN ('kiosk', 'counter', 'display', 'admin')),
    office_id      int NOT NULL REFERENCES kolapp.offices,
    counter_id     int,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    last_used_at   timestamptz,
    last_used_from text,
    CHECK ((role = 'counter') = (counter_id IS NOT NULL)),
    FOREIGN KEY (counter_id, office_id) REFERENCES kolapp.counters (id, office_id)
);

-- ---------------------------------------------------------------------
-- Tickets
-- ---------------------------------------------------------------------

CREATE TABLE kolapp.tickets (
    id              bigserial PRIMARY KEY,
    office_id       int NOT NULL REFERENCES kolapp.offices,
    business_day    date NOT NULL,
    origin_queue_id int NOT NULL,
    queue_id        int NOT NULL,
    number          int NOT NULL CHECK (number > 0),
    code            text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9]{0,3}-[0-9]{3,}$'),
    state           text NOT NULL CHECK (state IN ('waiting', 'called', 'serving',
                        'done', 'no_show', 'cancelled', 'expired')),
    issued_at       timestamptz NOT NULL,
    sort_at         timestamptz NOT NULL,
    counter_id      int,
    called_at       timestamptz,
    started_at      timestamptz,
    finished_at     timestamptz,
    recalls         int NOT NULL DEFAULT 0 CHECK (recalls >= 0),
    idem_key        text,
    UNIQUE (office_id, business_day, code),
    UNIQUE (origin_queue_id, business_day, number),
    -- composite keys: a ticket's queues and counter are of its own office
    FOREIGN KEY (origin_queue_id, office_id) REFERENCES kolapp.queues (id, office_id),
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id),
    FOREIGN KEY (counter_id, office_id) REFERENCES kolapp.counters (id, office_id),
    CONSTRAINT tickets_held_has_counter
        CHECK (state NOT IN ('called', 'serving') OR counter_id IS NOT NULL),
    CONSTRAINT tickets_waiting_has_no_counter
        CHECK (state <> 'waiting' OR counter_id IS NULL)
);

CREATE UNIQUE INDEX tickets_idem_key_idx ON kolapp.tickets (office_id, business_day, idem_key)
    WHERE idem_key IS NOT NULL;
-- the safety net for "one held ticket per counter"
CREATE UNIQUE INDEX tickets_counter_held_idx ON kolapp.tickets (counter_id)
    WHERE state IN ('called', 'serving');
CREATE INDEX tickets_office_day_idx ON kolapp.tickets (office_id, business_day);
CREATE INDEX tickets_office_open_idx ON kolapp.tickets (office_id)
    WHERE state IN ('waiting', 'called', 'serving');
CREATE INDEX tickets_queue_idx ON kolapp.tickets (queue_id);
CREATE INDEX tickets_counter_idx ON kolapp.tickets (counter_id);

CREATE FUNCTION kolapp.tickets_check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.state, NEW.state) IN (
            ('waiting', 'called'), ('waiting', 'cancelled'), ('waiting', 'expired'),
            ('called', 'called'), ('called', 'serving'), ('called', 'done'),
            ('called', 'no_show'), ('called', 'waiting'), ('called', 'expired'),
            ('serving', 'done'), ('serving', 'waiting')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'illegal ticket state transition: % -> %', OLD.state, NEW.state
        USING ERRCODE = 'check_violation',
              DETAIL = format('ticket %s (id %s)', OLD.code, OLD.id);
END $$;

CREATE TRIGGER tickets_state_transition
    BEFORE UPDATE OF state ON kolapp.tickets
    FOR EACH ROW EXECUTE FUNCTION kolapp.tickets_check_transition();

CREATE TABLE kolapp.ticket_events (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES kolapp.tickets,
    office_id  int NOT NULL,
    at         timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('issued', 'called', 'recalled', 'serving',
                   'done', 'no_show', 'cancelled', 'transferred', 'expired')),
    counter_id int,
    queue_id   int,
    detail     jsonb
);
CREATE INDEX ticket_events_ticket_idx ON kolapp.ticket_events (ticket_id);
CREATE INDEX ticket_events_office_at_idx ON kolapp.ticket_events (office_id, at);

-- The event log is the statistics' source of truth. Retention disables
-- these triggers on purpose (ALTER TABLE ... DISABLE TRIGGER) for its run.
CREATE FUNCTION kolapp.ticket_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kolapp.ticket_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ticket_events_no_change
    BEFORE UPDATE OR DELETE ON kolapp.ticket_events
    FOR EACH ROW EXECUTE FUNCTION kolapp.ticket_events_append_only();
CREATE TRIGGER ticket_events_no_truncate
    BEFORE TRUNCATE ON kolapp.ticket_events
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.ticket_events_append_only();

-- ---------------------------------------------------------------------
-- Daemon write path. Each call changes one thing and logs it; any surprise
-- raises so that the daemon's whole batch rolls back and it reloads.
-- Errcodes: no_data_found = no such ticket, object_not_in_prerequisite_state
-- = the ticket exists but is in the wrong state.
-- ---------------------------------------------------------------------

-- Shared by the functions below to tell "missing" from "wrong state".
CREATE FUNCTION kolapp.d_ticket_refused(p_office int, p_day date, p_code text,
                                        p_action text, p_expected text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur text;
BEGIN
    SELECT t.state INTO cur FROM kolapp.tickets t
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot %: no ticket % on % in office %', p_action, p_code, p_day, p_office
            USING ERRCODE = 'no_data_found';
    END IF;
    RAISE EXCEPTION 'cannot %: ticket % is %, expected %', p_action, p_code, cur, p_expected
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;

CREATE FUNCTION kolapp.d_issue(p_office int, p_queue int, p_day date, p_number int,
                               p_code text, p_key text, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                number, code, state, issued_at, sort_at, idem_key)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_code, 'waiting',
            p_at, p_at, p_key)
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
END $$;

CREATE FUNCTION kolapp.d_call(p_office int, p_day date, p_code text, p_counter int,
                              p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
BEGIN
    UPDATE kolapp.tickets t
       SET state = 'called', counter_id = p_counter, called_at = p_at, recalls = 0
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = 'waiting'
    RETURNING t.id, t.queue_id INTO tid, qid;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'call', 'waiting');
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, 'called', p_counter, qid);
END $$;

CREATE FUNCTION kolapp.d_recall(p_office int, p_day date, p_code text, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
    cid int;
    n int;
BEGIN
    UPDATE kolapp.tickets t
       SET recalls = t.recalls + 1
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = 'called'
    RETURNING t.id, t.queue_id, t.counter_id, t.recalls INTO tid, qid, cid, n;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'recall', 'called');
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id, detail)
    VALUES (tid, p_office, p_at, 'recalled', cid, qid, jsonb_build_object('recalls', n));
END $$;

CREATE FUNCTION kolapp.d_set_state(p_office int, p_day date, p_code text, p_state text,
                                   p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    from_states text[];
    tid bigint;
    qid int;
    cid int;
BEGIN
    from_states := CASE p_state
        WHEN 'serving'   THEN ARRAY['called']
        WHEN 'done'      THEN ARRAY['called', 'serving']
        WHEN 'no_show'   THEN ARRAY['called']
        WHEN 'cancelled' THEN ARRAY['waiting']
    END;
    IF from_states IS NULL THEN
        RAISE EXCEPTION 'd_set_state: state % is not serving, done, no_show or cancelled',
            coalesce(p_state, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE kolapp.tickets t
       SET state = p_state,
           started_at = CASE WHEN p_state = 'serving' THEN p_at ELSE t.started_at END,
           finished_at = CASE WHEN p_state = 'serving' THEN t.finished_at ELSE p_at END
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = ANY (from_states)
    RETURNING t.id, t.queue_id, t.counter_id INTO tid, qid, cid;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'set state ' || p_state,
                                        array_to_string(from_states, ' or '));
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, p_state, cid, qid);
END $$;

-- The ticket goes back to waiting with its original sort_at, so it keeps its
-- place in time in the new queue; the call/serve timestamps of the previous
-- round stay in ticket_events.
CREATE FUNCTION kolapp.d_transfer(p_office int, p_day date, p_code text, p_queue int,
                                  p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    old_queue int;
    old_counter int;
BEGIN
    SELECT t.id, t.queue_id, t.counter_id INTO tid, old_queue, old_counter
      FROM kolapp.tickets t
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state IN ('called', 'serving')
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'transfer', 'called or serving');
    END IF;
    UPDATE kolapp.tickets t
       SET state = 'waiting', queue_id = p_queue, counter_id = NULL,
           called_at = NULL, started_at = NULL, recalls = 0
     WHERE t.id = tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id, detail)
    VALUES (tid, p_office, p_at, 'transferred', old_counter, p_queue,
            jsonb_build_object('from_queue_id', old_queue));
END $$;

CREATE FUNCTION kolapp.d_counter_set_open(p_counter int, p_open boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE kolapp.counters c SET open = p_open WHERE c.id = p_counter;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no counter with id %', p_counter USING ERRCODE = 'no_data_found';
    END IF;
END $$;

-- End of business day: whatever is still waiting or called from an earlier
-- day is expired. Serving tickets are left alone (someone is still at the
-- counter); they finish normally.
CREATE FUNCTION kolapp.d_expire(p_office int, p_day date, p_at timestamptz)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    WITH gone AS (
        UPDATE kolapp.tickets t
           SET state = 'expired', finished_at = p_at
         WHERE t.office_id = p_office AND t.business_day < p_day
           AND t.state IN ('waiting', 'called')
        RETURNING t.id, t.counter_id, t.queue_id
    ), logged AS (
        INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
        SELECT g.id, p_office, p_at, 'expired', g.counter_id, g.queue_id FROM gone g
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    RETURN n;
END $$;

CREATE FUNCTION kolapp.d_token_lookup(p_hash bytea)
RETURNS TABLE (role text, office_id int, office_code text, counter_id int, counter_name text)
LANGUAGE sql STABLE AS $$
    SELECT k.role, k.office_id, o.code, k.counter_id, c.name
      FROM kolapp.tokens k
      JOIN kolapp.offices o ON o.id = k.office_id
      LEFT JOIN kolapp.counters c ON c.id = k.counter_id
     WHERE k.hash = p_hash AND k.revoked_at IS NULL
$$;

-- ---------------------------------------------------------------------
-- Administration (psql). Parameter names are part of the contract so that
-- named-argument calls work; columns are always qualified inside.
-- Errcodes: invalid_parameter_value = bad input, no_data_found = unknown
-- office/queue/counter/token, unique_violation = duplicate.
-- ---------------------------------------------------------------------

CREATE FUNCTION kolapp.office_id_of(p_office text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    oid_ int;
BEGIN
    SELECT o.id INTO oid_ FROM kolapp.offices o WHERE o.code = p_office;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown office "%"', coalesce(p_office, 'NULL')
            USING ERRCODE = 'no_data_found',
                  HINT = 'SELECT code, name FROM kolapp.offices lists the offices.';
    END IF;
    RETURN oid_;
END $$;

CREATE FUNCTION kolapp.add_office(code text, name text, timezone text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    new_id int;
BEGIN
    IF code IS NULL OR code !~ '^[a-z0-9][a-z0-9_-]{0,31}$' THEN
        RAISE EXCEPTION 'invalid office code "%"', coalesce(code, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 32 lowercase letters, digits, "_" or "-", starting with a letter or digit.';
    END IF;
    IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid office name: it must have 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- stricter than the table's CHECK: a real zone name, not an abbreviation
    -- or a POSIX offset such as "UTC+3" whose sign is easy to get backwards
    IF timezone IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = timezone)
       OR NOT kolapp.is_valid_timezone(timezone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', coalesce(timezone, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a name from pg_timezone_names, such as Europe/Stockholm.';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.offices o WHERE o.code = add_office.code) THEN
        RAISE EXCEPTION 'office "%" already exists', code USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO kolapp.offices AS o (code, name, timezone)
    VALUES (add_office.code, add_office.name, add_office.timezone)
    RETURNING o.id INTO new_id;
    RETURN new_id;
END $$;

CREATE FUNCTION kolapp.add_queue(office text, code text, name text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
    new_id int;
BEGIN
    IF code IS NULL OR code !~ '^[A-Z][A-Z0-9]{0,3}$' THEN
        RAISE EXCEPTION 'invalid queue code "%"', coalesce(code, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 4 uppercase letters or digits, starting with a letter (e.g. S, TAX1).';
    END IF;
    IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid queue name: it must have 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.queues q WHERE q.office_id = off_id AND q.code = add_queue.code) THEN
        RAISE EXCEPTION 'queue "%" already exists in office "%"', code, office
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO kolapp.queues AS q (office_id, code, name)
    VALUES (off_id, add_queue.code, add_queue.name)
    RETURNING q.id INTO new_id;
    RETURN new_id;
END $$;

CREATE FUNCTION kolapp.add_counter(office text, name text, queues text[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
    new_id int;
    qcode text;
    qid int;
    r int := 0;
BEGIN
    IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,31}$' THEN
        RAISE EXCEPTION 'invalid counter name "%"', coalesce(name, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 32 letters, digits, spaces, "_", "." or "-", starting with a letter or digit.';
    END IF;
    IF queues IS NULL OR cardinality(queues) = 0 THEN
        RAISE EXCEPTION 'counter "%" must serve at least one queue', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the queue codes in rank order, e.g. ARRAY[''S'',''T''].';
    END IF;
    IF array_position(queues, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'the queue list of counter "%" contains NULL', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(queues) x) <> cardinality(queues) THEN
        RAISE EXCEPTION 'the queue list of counter "%" names a queue twice: %', name, queues
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.counters c WHERE c.office_id = off_id AND c.name = add_counter.name) THEN
        RAISE EXCEPTION 'counter "%" already exists in office "%"', name, office
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO kolapp.counters AS c (office_id, name)
    VALUES (off_id, add_counter.name)
    RETURNING c.id INTO new_id;
    FOREACH qcode IN ARRAY queues LOOP
        SELECT q.id INTO qid FROM kolapp.queues q WHERE q.office_id = off_id AND q.code = qcode;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown queue "%" in office "%"', qcode, office
                USING ERRCODE = 'no_data_found',
                      HINT = 'Create it first with kolapp.add_queue.';
        END IF;
        r := r + 1;
        INSERT INTO kolapp.counter_queues (counter_id, queue_id, rank) VALUES (new_id, qid, r);
    END LOOP;
    RETURN new_id;
END $$;

CREATE FUNCTION kolapp.create_token(role text, office text, counter text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    off_id int := kolapp.office_id_of(office);
    cid int;
    crypto_schema name;
    raw bytea;
    tok text;
BEGIN
    IF role IS NULL OR role NOT IN ('kiosk', 'counter', 'display', 'admin') THEN
        RAISE EXCEPTION 'unknown role "%"', coalesce(role, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The roles are kiosk, counter, display and admin.';
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
    -- pgcrypto may live in any schema (CREATE EXTENSION puts it in the first
    -- one on the search_path), so look it up rather than trust search_path.
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

-- Returns false when the token was already revoked (nothing changes then).
CREATE FUNCTION kolapp.revoke_token(token text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    h bytea;
    was timestamptz;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'no token given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    h := sha256(convert_to(token, 'UTF8'));
    SELECT k.revoked_at INTO was FROM kolapp.tokens k WHERE k.hash = h FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such token'
            USING ERRCODE = 'no_data_found',
                  HINT = 'Pass the whole token, kt_ followed by 64 hex digits.';
    END IF;
    IF was IS NOT NULL THEN
        RETURN false;
    END IF;
    UPDATE kolapp.tokens k SET revoked_at = now() WHERE k.hash = h;
    RETURN true;
END $$;
