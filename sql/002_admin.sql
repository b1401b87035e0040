-- kolapp schema, migration 2: administration from psql.
-- Run by `kolappd --migrate` inside one transaction (no BEGIN/COMMIT here).
--
--   * kolapp_config notifications so that kolappd reloads its configuration
--   * token ids in the daemon's lookup, last use recorded
--   * counter open/close history (counter_events) for the statistics
--   * admin functions: open/close/rename queues, counters' queue lists,
--     (de)activation, token listing and revocation by id, retention
--   * stricter ticket constraints
--   * statistics views
--   * roles kolapp_daemon, kolapp_admin, kolapp_report

-- ---------------------------------------------------------------------
-- Live configuration: NOTIFY kolapp_config
-- ---------------------------------------------------------------------

-- Separate from the trigger so that tests can check the payload; pgTAP has
-- no way to read notifications. Hand-built rather than json_build_object
-- because that one pads with spaces and the channel's payload limit is
-- small; every value is an identifier, a number or null, nothing to escape.
CREATE FUNCTION kolapp.config_payload(p_table text, p_op text, p_id int, p_office int,
                                      p_revoked boolean DEFAULT false)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('{"table":"%s","op":"%s","id":%s,"office_id":%s%s}',
                  p_table, p_op, coalesce(p_id::text, 'null'),
                  coalesce(p_office::text, 'null'),
                  CASE WHEN p_revoked THEN ',"revoked":true' ELSE '' END)
$$;

CREATE FUNCTION kolapp.notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    row_id int;
    off int;
    revoked boolean := false;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF TG_TABLE_NAME = 'offices' THEN
        row_id := r.id;
        off := r.id;
    ELSIF TG_TABLE_NAME = 'counter_queues' THEN
        row_id := r.counter_id;
        SELECT c.office_id INTO off FROM kolapp.counters c WHERE c.id = r.counter_id;
        -- a cascade from a deleted counter: the queue still knows the office
        IF off IS NULL THEN
            SELECT q.office_id INTO off FROM kolapp.queues q WHERE q.id = r.queue_id;
        END IF;
    ELSE
        row_id := r.id;
        off := r.office_id;
    END IF;
    IF TG_TABLE_NAME = 'tokens' THEN
        revoked := TG_OP = 'DELETE' OR r.revoked_at IS NOT NULL;
    END IF;
    PERFORM pg_notify('kolapp_config',
                      kolapp.config_payload(TG_TABLE_NAME, TG_OP, row_id, off, revoked));
    RETURN NULL;
END $$;

-- Updates that change nothing are not worth a reload.
CREATE TRIGGER offices_notify_config AFTER INSERT OR DELETE ON kolapp.offices
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER offices_notify_config_update AFTER UPDATE ON kolapp.offices
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.notify_config();

CREATE TRIGGER queues_notify_config AFTER INSERT OR DELETE ON kolapp.queues
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER queues_notify_config_update AFTER UPDATE ON kolapp.queues
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.notify_config();

-- counters.open is the daemon's own runtime state (d_counter_set_open, on
-- every counter login and logout): echoing it back would make the daemon
-- reload each time.
CREATE TRIGGER counters_notify_config AFTER INSERT OR DELETE ON kolapp.counters
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER counters_notify_config_update AFTER UPDATE ON kolapp.counters
    FOR EACH ROW
    WHEN ((OLD.office_id, OLD.name, OLD.active) IS DISTINCT FROM (NEW.office_id, NEW.name, NEW.active))
    EXECUTE FUNCTION kolapp.notify_config();

CREATE TRIGGER counter_queues_notify_config AFTER INSERT OR DELETE ON kolapp.counter_queues
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER counter_queues_notify_config_update AFTER UPDATE ON kolapp.counter_queues
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.notify_config();

-- last_used_at/last_used_from change on every hello: not configuration.
CREATE TRIGGER tokens_notify_config AFTER INSERT OR DELETE ON kolapp.tokens
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER tokens_notify_config_update AFTER UPDATE ON kolapp.tokens
    FOR EACH ROW
    WHEN ((OLD.hash, OLD.role, OLD.office_id, OLD.counter_id, OLD.revoked_at)
          IS DISTINCT FROM (NEW.hash, NEW.role, NEW.office_id, NEW.counter_id, NEW.revoked_at))
    EXECUTE FUNCTION kolapp.notify_config();

-- ---------------------------------------------------------------------
-- Tokens: the daemon learns the id (to close a revoked token's
-- connections) and records the last use.
-- ---------------------------------------------------------------------

-- IF EXISTS, OR REPLACE and IF NOT EXISTS in this part: a daemon-side
-- migration may have made the same changes before this one.
DROP FUNCTION IF EXISTS kolapp.d_token_lookup(bytea);

CREATE FUNCTION kolapp.d_token_lookup(p_hash bytea)
RETURNS TABLE (token_id int, role text, office_id int, office_code text,
               counter_id int, counter_name text)
LANGUAGE sql STABLE AS $$
    SELECT k.id, k.role, k.office_id, o.code, k.counter_id, c.name
      FROM kolapp.tokens k
      JOIN kolapp.offices o ON o.id = k.office_id
      LEFT JOIN kolapp.counters c ON c.id = k.counter_id
     WHERE k.hash = p_hash AND k.revoked_at IS NULL
$$;

-- A token revoked meanwhile is not an error: the daemon learns of the
-- revocation through kolapp_config anyway.
CREATE OR REPLACE FUNCTION kolapp.d_token_used(p_token int, p_from text)
RETURNS void LANGUAGE sql AS $$
    UPDATE kolapp.tokens k SET last_used_at = now(), last_used_from = p_from
     WHERE k.id = p_token
$$;

-- ---------------------------------------------------------------------
-- Counter open/close history
-- ---------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS kolapp.counter_events (
    id         bigserial PRIMARY KEY,
    counter_id int NOT NULL REFERENCES kolapp.counters,
    office_id  int NOT NULL,
    at         timestamptz NOT NULL,
    open       boolean NOT NULL
);
-- the office is copied for the statistics; it must be the counter's
ALTER TABLE kolapp.counter_events ADD CONSTRAINT counter_events_counter_office_fkey
    FOREIGN KEY (counter_id, office_id) REFERENCES kolapp.counters (id, office_id);
CREATE INDEX IF NOT EXISTS counter_events_counter_at ON kolapp.counter_events (counter_id, at);

CREATE OR REPLACE FUNCTION kolapp.d_counter_set_open(p_counter int, p_open boolean, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    off int;
BEGIN
    IF p_open IS NULL OR p_at IS NULL THEN
        RAISE EXCEPTION 'd_counter_set_open: open and at must not be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE kolapp.counters c SET open = p_open WHERE c.id = p_counter
    RETURNING c.office_id INTO off;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no counter with id %', p_counter USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO kolapp.counter_events (counter_id, office_id, at, open)
    VALUES (p_counter, off, p_at, p_open);
END $$;

-- The 2-argument form of migration 1, kept for a daemon not yet upgraded.
CREATE OR REPLACE FUNCTION kolapp.d_counter_set_open(p_counter int, p_open boolean)
RETURNS void LANGUAGE sql AS $$
    SELECT kolapp.d_counter_set_open(p_counter, p_open, now())
$$;

-- ---------------------------------------------------------------------
-- Tickets: constraints that the daemon always met and hand-written SQL
-- must meet too. A ticket may be inserted in any state as long as the row
-- is consistent (imports of history); it must then carry its timestamps.
-- The daemon's clock is CLOCK_REALTIME: it must never write a call before
-- the issue (see the time-order constraint).
-- ---------------------------------------------------------------------

ALTER TABLE kolapp.tickets
    ADD CONSTRAINT tickets_state_shape CHECK (CASE state
        WHEN 'waiting' THEN counter_id IS NULL AND called_at IS NULL AND started_at IS NULL
                            AND finished_at IS NULL AND recalls = 0
        WHEN 'called' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                           AND started_at IS NULL AND finished_at IS NULL
        WHEN 'serving' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                            AND started_at IS NOT NULL AND finished_at IS NULL
        WHEN 'done' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                         AND finished_at IS NOT NULL
        WHEN 'no_show' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                            AND started_at IS NULL AND finished_at IS NOT NULL
        WHEN 'cancelled' THEN counter_id IS NULL AND called_at IS NULL
                              AND started_at IS NULL AND finished_at IS NOT NULL
        WHEN 'expired' THEN started_at IS NULL AND finished_at IS NOT NULL
                            AND (counter_id IS NULL) = (called_at IS NULL)
        ELSE false END),
    ADD CONSTRAINT tickets_time_order CHECK (
        (called_at IS NULL OR called_at >= issued_at)
        AND (started_at IS NULL OR started_at >= called_at)
        AND (finished_at IS NULL OR finished_at >= coalesce(started_at, called_at, issued_at))),
    -- the daemon writes "%s-%03d" of the queue code and the number
    ADD CONSTRAINT tickets_code_number CHECK (code ~ ('-0*' || number::text || '$'));

-- The prefix of the code is the code of the queue that issued it.
CREATE FUNCTION kolapp.tickets_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    qcode text;
BEGIN
    SELECT q.code INTO qcode FROM kolapp.queues q WHERE q.id = NEW.origin_queue_id;
    IF FOUND AND split_part(NEW.code, '-', 1) <> qcode THEN
        RAISE EXCEPTION 'ticket code % does not start with its queue''s code %', NEW.code, qcode
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tickets_check_insert BEFORE INSERT ON kolapp.tickets
    FOR EACH ROW EXECUTE FUNCTION kolapp.tickets_check_insert();

-- What a ticket is never changes; a finished ticket is history and only
-- purge_history may clear its idempotency key. State changes themselves are
-- left to tickets_state_transition, which words that error better.
CREATE FUNCTION kolapp.tickets_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.office_id, NEW.business_day, NEW.origin_queue_id, NEW.number, NEW.code,
        NEW.issued_at)
       IS DISTINCT FROM
       (OLD.id, OLD.office_id, OLD.business_day, OLD.origin_queue_id, OLD.number, OLD.code,
        OLD.issued_at) THEN
        RAISE EXCEPTION 'a ticket''s identity (id, office, day, origin queue, number, code, issued_at) cannot change'
            USING ERRCODE = 'check_violation',
                  DETAIL = format('ticket %s (id %s)', OLD.code, OLD.id);
    END IF;
    IF OLD.state IN ('done', 'no_show', 'cancelled', 'expired') AND NEW.state = OLD.state
       AND ((NEW.queue_id, NEW.sort_at, NEW.counter_id, NEW.called_at, NEW.started_at,
             NEW.finished_at, NEW.recalls)
            IS DISTINCT FROM
            (OLD.queue_id, OLD.sort_at, OLD.counter_id, OLD.called_at, OLD.started_at,
             OLD.finished_at, OLD.recalls)
            OR (NEW.idem_key IS DISTINCT FROM OLD.idem_key AND NEW.idem_key IS NOT NULL)) THEN
        RAISE EXCEPTION 'ticket % is %: a finished ticket cannot change', OLD.code, OLD.state
            USING ERRCODE = 'check_violation',
                  DETAIL = format('ticket %s (id %s)', OLD.code, OLD.id);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tickets_guard BEFORE UPDATE ON kolapp.tickets
    FOR EACH ROW EXECUTE FUNCTION kolapp.tickets_guard();

-- Deleting tickets and events, or clearing event details, is retention's
-- job alone: purge_history sets kolapp.purging for its own transaction and
-- resets it before returning. (A superuser can always disable triggers;
-- this is against mistakes, and the roles below keep others out.)
CREATE FUNCTION kolapp.purging() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('kolapp.purging', true), '') = 'on'
$$;

CREATE OR REPLACE FUNCTION kolapp.ticket_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'TRUNCATE' AND kolapp.purging() THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '%', CASE TG_TABLE_NAME
            WHEN 'ticket_events' THEN format('kolapp.ticket_events is append-only: %s is not allowed', TG_OP)
            ELSE format('kolapp.%s: %s is not allowed', TG_TABLE_NAME, TG_OP) END
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old history goes with kolapp.purge_history(days).';
END $$;

CREATE TRIGGER tickets_no_delete
    BEFORE DELETE ON kolapp.tickets
    FOR EACH ROW EXECUTE FUNCTION kolapp.ticket_events_append_only();
CREATE TRIGGER tickets_no_truncate
    BEFORE TRUNCATE ON kolapp.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.ticket_events_append_only();

-- The log refers to real offices, counters and queues.
ALTER TABLE kolapp.ticket_events
    ADD FOREIGN KEY (office_id) REFERENCES kolapp.offices,
    ADD FOREIGN KEY (counter_id) REFERENCES kolapp.counters,
    ADD FOREIGN KEY (queue_id) REFERENCES kolapp.queues;

-- ---------------------------------------------------------------------
-- Administration. Same conventions as migration 1: named parameters are the
-- contract; invalid_parameter_value = bad input, no_data_found = unknown
-- thing, unique_violation = duplicate, object_not_in_prerequisite_state =
-- refused in the current state. Functions that change a state return false
-- when it already was so.
-- ---------------------------------------------------------------------

CREATE FUNCTION kolapp.queue_id_of(p_office text, p_queue text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    off int := kolapp.office_id_of(p_office);
    qid int;
BEGIN
    SELECT q.id INTO qid FROM kolapp.queues q WHERE q.office_id = off AND q.code = p_queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown queue "%" in office "%"', coalesce(p_queue, 'NULL'), p_office
            USING ERRCODE = 'no_data_found',
                  HINT = 'SELECT queue, name FROM kolapp.v_queue_today WHERE office = ... lists them.';
    END IF;
    RETURN qid;
END $$;

CREATE FUNCTION kolapp.counter_id_of(p_office text, p_counter text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    off int := kolapp.office_id_of(p_office);
    cid int;
BEGIN
    SELECT c.id INTO cid FROM kolapp.counters c WHERE c.office_id = off AND c.name = p_counter;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown counter "%" in office "%"', coalesce(p_counter, 'NULL'), p_office
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN cid;
END $$;

-- The office's business day now (its local date).
CREATE FUNCTION kolapp.office_today(p_office int) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE o.timezone)::date FROM kolapp.offices o WHERE o.id = p_office
$$;

CREATE FUNCTION kolapp.open_queue(office text, queue text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
    was_open boolean;
    is_active boolean;
BEGIN
    SELECT q.open, q.active INTO was_open, is_active FROM kolapp.queues q WHERE q.id = qid FOR UPDATE;
    IF NOT is_active THEN
        RAISE EXCEPTION 'queue "%" of office "%" is deactivated', queue, office
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'kolapp.reactivate_queue(office, queue) first.';
    END IF;
    IF was_open THEN
        RETURN false;
    END IF;
    UPDATE kolapp.queues q SET open = true WHERE q.id = qid;
    RETURN true;
END $$;

-- A closed queue issues no new tickets; those already waiting are still
-- called (the daemon's rule), so closing early never strands anyone.
CREATE FUNCTION kolapp.close_queue(office text, queue text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
BEGIN
    UPDATE kolapp.queues q SET open = false WHERE q.id = qid AND q.open;
    RETURN FOUND;
END $$;

CREATE FUNCTION kolapp.rename_queue(office text, queue text, name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
BEGIN
    IF rename_queue.name IS NULL OR length(btrim(rename_queue.name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid queue name: it must have 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE kolapp.queues q SET name = rename_queue.name WHERE q.id = qid;
END $$;

CREATE FUNCTION kolapp.rename_counter(office text, counter text, new_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cid int := kolapp.counter_id_of(office, counter);
BEGIN
    IF new_name IS NULL OR new_name !~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,31}$' THEN
        RAISE EXCEPTION 'invalid counter name "%"', coalesce(new_name, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 32 letters, digits, spaces, "_", "." or "-", starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.counters c
                WHERE c.office_id = kolapp.office_id_of(office) AND c.name = new_name
                  AND c.id <> cid) THEN
        RAISE EXCEPTION 'counter "%" already exists in office "%"', new_name, office
            USING ERRCODE = 'unique_violation';
    END IF;
    UPDATE kolapp.counters c SET name = new_name WHERE c.id = cid;
END $$;

-- Replaces the counter's whole list. Ranks: lower is served first, equal
-- ranks share by waiting time; NULL means 1, 2, 3... in list order.
CREATE FUNCTION kolapp.set_counter_queues(office text, counter text, queues text[],
                                          ranks int[] DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    off int := kolapp.office_id_of(office);
    cid int := kolapp.counter_id_of(office, counter);
    n int;
    qids int[] := '{}';
    qid int;
    qactive boolean;
BEGIN
    IF queues IS NULL OR cardinality(queues) = 0 THEN
        RAISE EXCEPTION 'counter "%" must serve at least one queue', counter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the queue codes in rank order, e.g. ARRAY[''S'',''T''].';
    END IF;
    n := cardinality(queues);
    IF array_position(queues, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'the queue list of counter "%" contains NULL', counter
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(queues) x) <> n THEN
        RAISE EXCEPTION 'the queue list of counter "%" names a queue twice: %', counter, queues
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ranks IS NOT NULL THEN
        IF cardinality(ranks) <> n THEN
            RAISE EXCEPTION '% queues but % ranks', n, cardinality(ranks)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give one rank per queue, or leave ranks out for 1, 2, 3...';
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(ranks) r WHERE r IS NULL OR r < 1) THEN
            RAISE EXCEPTION 'ranks must be positive integers: %', ranks
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    FOR i IN 1 .. n LOOP
        SELECT q.id, q.active INTO qid, qactive FROM kolapp.queues q
         WHERE q.office_id = off AND q.code = queues[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown queue "%" in office "%"', queues[i], office
                USING ERRCODE = 'no_data_found',
                      HINT = 'Create it first with kolapp.add_queue.';
        END IF;
        IF NOT qactive THEN
            RAISE EXCEPTION 'queue "%" of office "%" is deactivated', queues[i], office
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'kolapp.reactivate_queue(office, queue) first.';
        END IF;
        qids := qids || qid;
    END LOOP;
    DELETE FROM kolapp.counter_queues cq WHERE cq.counter_id = cid;
    INSERT INTO kolapp.counter_queues (counter_id, queue_id, rank)
    SELECT cid, qids[i], coalesce(ranks[i], i) FROM generate_series(1, n) i;
END $$;

CREATE FUNCTION kolapp.deactivate_queue(office text, queue text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
    off int := kolapp.office_id_of(office);
    was_active boolean;
    busy int;
    orphans text;
BEGIN
    SELECT q.active INTO was_active FROM kolapp.queues q WHERE q.id = qid FOR UPDATE;
    IF NOT was_active THEN
        RETURN false;
    END IF;
    -- called and serving tickets may still go back to waiting (transfer)
    SELECT count(*) INTO busy FROM kolapp.tickets t
     WHERE t.office_id = off AND t.business_day >= kolapp.office_today(off)
       AND t.queue_id = qid AND t.state IN ('waiting', 'called', 'serving');
    IF busy > 0 THEN
        RAISE EXCEPTION 'queue "%" of office "%" still has % ticket(s) waiting or at a counter today',
            queue, office, busy
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'kolapp.close_queue(office, queue) stops new tickets; deactivate once they are served.';
    END IF;
    SELECT string_agg(c.name, ', ' ORDER BY c.name) INTO orphans
      FROM kolapp.counter_queues cq JOIN kolapp.counters c ON c.id = cq.counter_id
     WHERE cq.queue_id = qid
       AND NOT EXISTS (SELECT 1 FROM kolapp.counter_queues o
                        WHERE o.counter_id = cq.counter_id AND o.queue_id <> qid);
    DELETE FROM kolapp.counter_queues cq WHERE cq.queue_id = qid;
    UPDATE kolapp.queues q SET active = false WHERE q.id = qid;
    IF orphans IS NOT NULL THEN
        RAISE NOTICE 'these counters now serve no queue: %', orphans
            USING HINT = 'kolapp.set_counter_queues(office, counter, queues) gives them one.';
    END IF;
    RETURN true;
END $$;

-- The queue comes back with no counter serving it: set_counter_queues.
CREATE FUNCTION kolapp.reactivate_queue(office text, queue text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
BEGIN
    UPDATE kolapp.queues q SET active = true WHERE q.id = qid AND NOT q.active;
    RETURN FOUND;
END $$;

CREATE FUNCTION kolapp.deactivate_counter(office text, counter text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    cid int := kolapp.counter_id_of(office, counter);
    was_active boolean;
    held text;
BEGIN
    SELECT c.active INTO was_active FROM kolapp.counters c WHERE c.id = cid FOR UPDATE;
    IF NOT was_active THEN
        RETURN false;
    END IF;
    SELECT t.code || ' (' || t.state || ')' INTO held FROM kolapp.tickets t
     WHERE t.counter_id = cid AND t.state IN ('called', 'serving');
    IF FOUND THEN
        RAISE EXCEPTION 'counter "%" of office "%" holds ticket %', counter, office, held
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Finish, transfer or mark the ticket as no-show first.';
    END IF;
    UPDATE kolapp.counters c SET active = false WHERE c.id = cid;
    RETURN true;
END $$;

CREATE FUNCTION kolapp.reactivate_counter(office text, counter text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    cid int := kolapp.counter_id_of(office, counter);
BEGIN
    UPDATE kolapp.counters c SET active = true WHERE c.id = cid AND NOT c.active;
    RETURN FOUND;
END $$;

-- A row type rather than RETURNS TABLE: an output column may not share
-- the name of the "office" parameter.
CREATE TYPE kolapp.token_info AS (id int, role text, office text, counter text,
                                  created_at timestamptz, revoked_at timestamptz,
                                  last_used_at timestamptz, last_used_from text);

CREATE FUNCTION kolapp.list_tokens(office text DEFAULT NULL)
RETURNS SETOF kolapp.token_info
LANGUAGE plpgsql STABLE AS $$
DECLARE
    off int;
BEGIN
    IF list_tokens.office IS NOT NULL THEN
        off := kolapp.office_id_of(list_tokens.office);
    END IF;
    RETURN QUERY
    SELECT k.id, k.role, o.code, c.name, k.created_at, k.revoked_at, k.last_used_at,
           k.last_used_from
      FROM kolapp.tokens k
      JOIN kolapp.offices o ON o.id = k.office_id
      LEFT JOIN kolapp.counters c ON c.id = k.counter_id
     WHERE off IS NULL OR k.office_id = off
     ORDER BY k.id;
END $$;

CREATE FUNCTION kolapp.revoke_token_id(id int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    was timestamptz;
BEGIN
    SELECT k.revoked_at INTO was FROM kolapp.tokens k WHERE k.id = revoke_token_id.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no token with id %', coalesce(revoke_token_id.id::text, 'NULL')
            USING ERRCODE = 'no_data_found',
                  HINT = 'SELECT * FROM kolapp.list_tokens() lists them.';
    END IF;
    IF was IS NOT NULL THEN
        RETURN false;
    END IF;
    UPDATE kolapp.tokens k SET revoked_at = now() WHERE k.id = revoke_token_id.id;
    RETURN true;
END $$;

-- Retention. Only tickets in a final state go: one still open belongs to
-- the running daemon (it expires them itself). "Older than N days" is
-- counted from each office's own date. Counter history older than that goes
-- too (it holds nothing personal, but it is only statistics).
CREATE FUNCTION kolapp.purge_history(older_than_days int, anonymise boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql AS $$
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
    -- "doomed" is spelled out in each statement: now() is fixed for the
    -- transaction, so they all pick the same tickets.
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
    ELSE
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
-- Statistics views. Each is one grouped query over tickets joined to
-- offices, so that WHERE office = ... AND day ... on the view is pushed
-- below the grouping and reaches tickets_office_day_idx. Times in seconds.
-- A ticket counts in the queue it was finally called from (queue_id).
-- ---------------------------------------------------------------------

CREATE VIEW kolapp.v_queue_today AS
SELECT o.code AS office, q.code AS queue, q.name,
       (now() AT TIME ZONE o.timezone)::date AS day,
       q.open, q.active,
       count(t.id) FILTER (WHERE t.state = 'waiting') AS waiting,
       count(t.id) FILTER (WHERE t.state = 'called') AS called,
       count(t.id) FILTER (WHERE t.state = 'serving') AS serving,
       count(t.id) FILTER (WHERE t.state = 'done') AS served,
       count(t.id) FILTER (WHERE t.state = 'no_show') AS no_shows,
       count(t.id) FILTER (WHERE t.state = 'cancelled') AS cancelled,
       date_trunc('second', now() - min(t.sort_at) FILTER (WHERE t.state = 'waiting'))
           AS longest_wait
  FROM kolapp.offices o
  JOIN kolapp.queues q ON q.office_id = o.id
  LEFT JOIN kolapp.tickets t
         ON t.office_id = o.id AND t.queue_id = q.id
        AND t.business_day = (now() AT TIME ZONE o.timezone)::date
 GROUP BY o.id, o.code, o.timezone, q.id, q.code, q.name, q.open, q.active;

CREATE VIEW kolapp.v_waits_hourly AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day,
       extract(hour FROM t.issued_at AT TIME ZONE o.timezone)::int AS hour,
       count(*) AS issued,
       count(t.called_at) AS called,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.called_at - t.issued_at))::numeric, 1) AS wait_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.called_at - t.issued_at))::numeric, 1) AS wait_p90_s,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.finished_at - t.called_at))
           FILTER (WHERE t.state = 'done')::numeric, 1) AS service_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.finished_at - t.called_at))
           FILTER (WHERE t.state = 'done')::numeric, 1) AS service_p90_s
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 GROUP BY o.id, o.code, q.id, q.code, t.business_day,
          extract(hour FROM t.issued_at AT TIME ZONE o.timezone)::int;

CREATE VIEW kolapp.v_waits_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day,
       count(*) AS issued,
       count(t.called_at) AS called,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.called_at - t.issued_at))::numeric, 1) AS wait_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.called_at - t.issued_at))::numeric, 1) AS wait_p90_s,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.finished_at - t.called_at))
           FILTER (WHERE t.state = 'done')::numeric, 1) AS service_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM t.finished_at - t.called_at))
           FILTER (WHERE t.state = 'done')::numeric, 1) AS service_p90_s
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 GROUP BY o.id, o.code, q.id, q.code, t.business_day;

CREATE VIEW kolapp.v_no_show_rates AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day,
       count(t.called_at) AS called,
       count(*) FILTER (WHERE t.state = 'no_show') AS no_shows,
       round((count(*) FILTER (WHERE t.state = 'no_show'))::numeric
             / nullif(count(t.called_at), 0), 3) AS rate
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 GROUP BY o.id, o.code, q.id, q.code, t.business_day;

-- The office's local days that [from, until] touches. A function with ROWS
-- rather than generate_series inline: the planner's guess of 1000 rows per
-- call made v_counter_daily look costly enough to be JIT-compiled, which
-- took longer than the query. (SET keeps it from being inlined.)
CREATE FUNCTION kolapp.local_days(p_from timestamptz, p_until timestamptz, p_tz text)
RETURNS SETOF date LANGUAGE sql STABLE ROWS 2 SET search_path = pg_catalog AS $$
    SELECT g::date
      FROM generate_series((p_from AT TIME ZONE p_tz)::date::timestamp,
                           (p_until AT TIME ZONE p_tz)::date::timestamp, interval '1 day') g
$$;

-- Open spans of each counter cut at the office's midnights: one row per
-- counter, day and span. A span ends at the counter's next event, or now.
CREATE VIEW kolapp.v_counter_open_spans AS
SELECT s.office_id, s.counter_id, d.day,
       greatest(s.at, d.day::timestamp AT TIME ZONE o.timezone) AS span_from,
       least(s.until, (d.day + 1)::timestamp AT TIME ZONE o.timezone) AS span_until
  FROM (SELECT e.office_id, e.counter_id, e.at, e.open,
               coalesce(lead(e.at) OVER (PARTITION BY e.counter_id ORDER BY e.at, e.id),
                        greatest(now(), e.at)) AS until
          FROM kolapp.counter_events e) s
  JOIN kolapp.offices o ON o.id = s.office_id
 CROSS JOIN LATERAL kolapp.local_days(s.at, s.until, o.timezone) d(day)
 WHERE s.open
   AND least(s.until, (d.day + 1)::timestamp AT TIME ZONE o.timezone)
       > greatest(s.at, d.day::timestamp AT TIME ZONE o.timezone);

-- Per counter and day: tickets finished (done) and the time it was open.
CREATE VIEW kolapp.v_counter_daily AS
SELECT o.code AS office, c.name AS counter, x.day,
       count(x.service_s) AS served,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x.service_s)::numeric, 1)
           AS service_median_s,
       make_interval(secs => round(coalesce(sum(x.open_s), 0))::double precision) AS open_time
  FROM kolapp.offices o
  JOIN kolapp.counters c ON c.office_id = o.id
 CROSS JOIN LATERAL (
        SELECT t.business_day AS day,
               extract(epoch FROM t.finished_at - t.called_at) AS service_s,
               NULL::numeric AS open_s
          FROM kolapp.tickets t
         WHERE t.counter_id = c.id AND t.office_id = o.id AND t.state = 'done'
        UNION ALL
        SELECT sp.day, NULL::numeric,
               extract(epoch FROM sp.span_until - sp.span_from)
          FROM kolapp.v_counter_open_spans sp
         WHERE sp.counter_id = c.id) x
 GROUP BY o.id, o.code, c.id, c.name, x.day;

-- served per counter and day, for v_counter_daily
CREATE INDEX tickets_counter_day_done_idx ON kolapp.tickets (counter_id, business_day)
    WHERE state = 'done';

-- ---------------------------------------------------------------------
-- Roles. Cluster-wide: another database of the same cluster may have
-- created them already (or be creating them right now).
-- ---------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['kolapp_daemon', 'kolapp_admin', 'kolapp_report'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;   -- a concurrent migration of another database won
            END;
        END IF;
    END LOOP;
END $$;

-- Functions run with their owner's rights; the roles get only what they
-- call. search_path is pinned because a SECURITY DEFINER function must not
-- resolve anything through the caller's path.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'kolapp'::regnamespace AND p.prokind = 'f'
                AND p.prorettype <> 'trigger'::regtype
                AND p.proname NOT IN ('is_valid_timezone', 'config_payload', 'purging', 'local_days')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, kolapp', f);
    END LOOP;
END $$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kolapp FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA kolapp FROM PUBLIC;
-- Called from a CHECK constraint, from triggers and from a view, as whoever
-- writes or reads (a view checks its functions against the caller).
GRANT EXECUTE ON FUNCTION kolapp.is_valid_timezone(text), kolapp.purging(),
    kolapp.config_payload(text, text, int, int, boolean),
    kolapp.local_days(timestamptz, timestamptz, text) TO PUBLIC;

GRANT USAGE ON SCHEMA kolapp TO kolapp_daemon, kolapp_admin, kolapp_report;

-- kolapp_daemon: reads configuration and tickets, writes through d_*.
GRANT SELECT ON kolapp.offices, kolapp.queues, kolapp.counters, kolapp.counter_queues,
                kolapp.tickets, kolapp.schema_version TO kolapp_daemon;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'kolapp'::regnamespace AND p.proname LIKE 'd\_%'
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO kolapp_daemon', f);
    END LOOP;
END $$;

-- kolapp_admin: everything through functions; reads all but token hashes.
GRANT SELECT ON kolapp.schema_version, kolapp.offices, kolapp.queues, kolapp.counters,
                kolapp.counter_queues, kolapp.tickets, kolapp.ticket_events,
                kolapp.counter_events TO kolapp_admin;
GRANT SELECT (id, role, office_id, counter_id, created_at, revoked_at, last_used_at,
              last_used_from) ON kolapp.tokens TO kolapp_admin;
GRANT EXECUTE ON FUNCTION
    kolapp.office_id_of(text), kolapp.queue_id_of(text, text),
    kolapp.counter_id_of(text, text), kolapp.office_today(int),
    kolapp.add_office(text, text, text), kolapp.add_queue(text, text, text),
    kolapp.add_counter(text, text, text[]), kolapp.create_token(text, text, text),
    kolapp.revoke_token(text), kolapp.revoke_token_id(int), kolapp.list_tokens(text),
    kolapp.open_queue(text, text), kolapp.close_queue(text, text),
    kolapp.rename_queue(text, text, text), kolapp.rename_counter(text, text, text),
    kolapp.set_counter_queues(text, text, text[], int[]),
    kolapp.deactivate_queue(text, text), kolapp.reactivate_queue(text, text),
    kolapp.deactivate_counter(text, text), kolapp.reactivate_counter(text, text),
    kolapp.purge_history(int, boolean)
    TO kolapp_admin;

-- Views run with their owner's rights: readers need no table grants.
GRANT SELECT ON kolapp.v_queue_today, kolapp.v_waits_hourly, kolapp.v_waits_daily,
                kolapp.v_no_show_rates, kolapp.v_counter_open_spans, kolapp.v_counter_daily
    TO kolapp_admin, kolapp_report;
