-- Migration 9: the counter workflow of protocol 1.1 (the contract's
-- section "Protocol 1.1"; for administrators, sql/README.md).
--
--   * the state `parked` and the actions park and reactivate; no_show is
--     no longer final (a no-show may be reactivated)
--   * tickets: priority, interpreter, lang, outcome, for_counter_id
--   * queue policy (min_calls, no_show_after_s, reactivate_within_s,
--     require_outcome, allow_priority) and set_queue_policy()
--   * counter_queues.weight and the 5-argument set_counter_queues()
--   * kolapp.outcomes and add_outcome()
--   * the daemon's functions: d_issue/d_issue_many with priority,
--     interpreter and lang; d_call from parked; d_park, d_reactivate,
--     d_set_outcome, d_transfer_counter
--   * statistics views outcomes_daily, priority_daily, parked_daily,
--     no_show_daily, waits_priority_daily
--
-- Migrations run in order, exactly once (sql/README.md, "Writing a
-- migration"): nothing here guards with IF EXISTS.

-- ---------------------------------------------------------------------
-- The state machine. These rows are those of daemon/engine/ticket_state.c
-- (tests/integration/test_transitions compares them).
-- ---------------------------------------------------------------------

-- A state now says one of four things, or nothing: in the waiting list,
-- held by a counter, parked (set aside by a counter, in no list, called
-- back by any counter of the office), over. no_show says none of them:
-- the ticket is in no list and no counter holds it, but it is not over
-- either, since it may be reactivated.
ALTER TABLE kolapp.ticket_states
    ADD COLUMN parked boolean NOT NULL DEFAULT false,
    DROP CONSTRAINT ticket_states_one_place;
ALTER TABLE kolapp.ticket_states
    ALTER COLUMN parked DROP DEFAULT,
    ADD CONSTRAINT ticket_states_one_place
        CHECK (waiting::int + held::int + parked::int + final::int <= 1);

UPDATE kolapp.ticket_states SET final = false WHERE state = 'no_show';
INSERT INTO kolapp.ticket_states (state, waiting, held, parked, final) VALUES
    ('parked', false, false, true, false);

-- The trigger on the table recompiles kolapp.ticket_transition_allowed().
INSERT INTO kolapp.ticket_transitions (from_state, action, to_state) VALUES
    ('called',  'park',       'parked'),
    ('serving', 'park',       'parked'),
    ('parked',  'call',       'called'),
    ('parked',  'expire',     'expired'),
    ('no_show', 'reactivate', 'waiting');

-- ---------------------------------------------------------------------
-- Tickets
-- ---------------------------------------------------------------------

-- One ALTER TABLE, so that the existing rows are read once to validate
-- every new constraint. The new columns have constant defaults (or none):
-- no rewrite of the table.
--
-- Cost per issue (issue 17): priority is a column d_issue writes anyway;
-- the CHECKs on interpreter and lang are strict operators on NULL for
-- most tickets; the foreign key on for_counter_id queues one more
-- after-row trigger per insert, which returns at once for a NULL key (the
-- same as counter_id's, NULL at issue too); the index on it holds only
-- the tickets that have one, so an issue inserts nothing into it.
ALTER TABLE kolapp.tickets
    ADD COLUMN priority boolean NOT NULL DEFAULT false,
    ADD COLUMN interpreter text CONSTRAINT tickets_interpreter_check
        CHECK (interpreter ~ '^[a-z]{2}$'),
    ADD COLUMN lang text CONSTRAINT tickets_lang_check CHECK (lang ~ '^[a-z]{2}$'),
    ADD COLUMN outcome text,
    ADD COLUMN for_counter_id int,
    ADD CONSTRAINT tickets_for_counter_id_office_id_fkey
        FOREIGN KEY (for_counter_id, office_id) REFERENCES kolapp.counters (id, office_id),
    -- a ticket transferred to a counter waits for it; calling, cancelling
    -- or expiring it clears the counter
    ADD CONSTRAINT tickets_for_counter_only_waiting
        CHECK (for_counter_id IS NULL OR state = 'waiting'),
    -- the outcome of a service; only a served ticket has one
    ADD CONSTRAINT tickets_outcome_only_done CHECK (outcome IS NULL OR state = 'done'),
    DROP CONSTRAINT tickets_state_check,
    ADD CONSTRAINT tickets_state_check CHECK (state IN ('waiting', 'called', 'serving',
        'done', 'no_show', 'cancelled', 'expired', 'parked')),
    -- a parked ticket keeps the counter that parked it
    DROP CONSTRAINT tickets_held_has_counter,
    ADD CONSTRAINT tickets_held_has_counter
        CHECK (state NOT IN ('called', 'serving', 'parked') OR counter_id IS NOT NULL),
    -- Migration 2's shape, plus parked (from called or serving, so with or
    -- without started_at) and an expired ticket that was parked while
    -- being served (started_at, then, and so a call and a counter).
    DROP CONSTRAINT tickets_state_shape,
    ADD CONSTRAINT tickets_state_shape CHECK (CASE state
        WHEN 'waiting' THEN counter_id IS NULL AND called_at IS NULL AND started_at IS NULL
                            AND finished_at IS NULL AND recalls = 0
        WHEN 'called' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                           AND started_at IS NULL AND finished_at IS NULL
        WHEN 'serving' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                            AND started_at IS NOT NULL AND finished_at IS NULL
        WHEN 'parked' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                           AND finished_at IS NULL
        WHEN 'done' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                         AND finished_at IS NOT NULL
        WHEN 'no_show' THEN counter_id IS NOT NULL AND called_at IS NOT NULL
                            AND started_at IS NULL AND finished_at IS NOT NULL
        WHEN 'cancelled' THEN counter_id IS NULL AND called_at IS NULL
                              AND started_at IS NULL AND finished_at IS NOT NULL
        WHEN 'expired' THEN finished_at IS NOT NULL
                            AND (counter_id IS NULL) = (called_at IS NULL)
                            AND (started_at IS NULL OR called_at IS NOT NULL)
        ELSE false END);

-- The index behind the foreign key (a counter deleted), and the tickets
-- waiting for a counter (deactivate_counter).
CREATE INDEX tickets_for_counter_idx ON kolapp.tickets (for_counter_id)
    WHERE for_counter_id IS NOT NULL;

-- Open tickets of earlier days, for the daemon's load (the second arm of
-- load_tickets, daemon/store/statements.c): a parked ticket is not over.
-- The held-ticket index stays on (called, serving): a counter holds one
-- ticket and may have parked others.
DROP INDEX kolapp.tickets_office_open_idx;
CREATE INDEX tickets_office_open_idx ON kolapp.tickets (office_id)
    WHERE state IN ('waiting', 'called', 'serving', 'parked');

ALTER TABLE kolapp.ticket_events
    DROP CONSTRAINT ticket_events_kind_check,
    ADD CONSTRAINT ticket_events_kind_check CHECK (kind IN ('issued', 'called', 'recalled',
        'serving', 'done', 'no_show', 'cancelled', 'transferred', 'expired',
        'parked', 'reactivated', 'outcome'));

-- Migration 2's guard with the finished states of now: no_show may be
-- reactivated, so it is not frozen. A finished ticket's new columns are
-- frozen too, except that a served ticket's outcome may be set once
-- (d_set_outcome, right after d_set_state 'done').
CREATE OR REPLACE FUNCTION kolapp.tickets_guard() RETURNS trigger
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
    IF OLD.state IN ('done', 'cancelled', 'expired') AND NEW.state = OLD.state
       AND ((NEW.queue_id, NEW.sort_at, NEW.counter_id, NEW.called_at, NEW.started_at,
             NEW.finished_at, NEW.recalls, NEW.priority, NEW.interpreter, NEW.lang,
             NEW.for_counter_id)
            IS DISTINCT FROM
            (OLD.queue_id, OLD.sort_at, OLD.counter_id, OLD.called_at, OLD.started_at,
             OLD.finished_at, OLD.recalls, OLD.priority, OLD.interpreter, OLD.lang,
             OLD.for_counter_id)
            OR (NEW.idem_key IS DISTINCT FROM OLD.idem_key AND NEW.idem_key IS NOT NULL)
            OR (NEW.outcome IS DISTINCT FROM OLD.outcome AND OLD.outcome IS NOT NULL)) THEN
        RAISE EXCEPTION 'ticket % is %: a finished ticket cannot change', OLD.code, OLD.state
            USING ERRCODE = 'check_violation',
                  DETAIL = format('ticket %s (id %s)', OLD.code, OLD.id);
    END IF;
    RETURN NEW;
END $$;

-- ---------------------------------------------------------------------
-- Queue policy. The queues' NOTIFY trigger (migration 2) fires on any
-- change of a row, so these columns reach the daemon like the others.
-- ---------------------------------------------------------------------

ALTER TABLE kolapp.queues
    ADD COLUMN min_calls int NOT NULL DEFAULT 1
        CONSTRAINT queues_min_calls_check CHECK (min_calls BETWEEN 1 AND 10),
    ADD COLUMN no_show_after_s int NOT NULL DEFAULT 0
        CONSTRAINT queues_no_show_after_s_check CHECK (no_show_after_s BETWEEN 0 AND 3600),
    ADD COLUMN reactivate_within_s int NOT NULL DEFAULT 900
        CONSTRAINT queues_reactivate_within_s_check CHECK (reactivate_within_s BETWEEN 0 AND 86400),
    ADD COLUMN require_outcome boolean NOT NULL DEFAULT false,
    ADD COLUMN allow_priority boolean NOT NULL DEFAULT true;

-- Weights balance the queues that share a rank at a counter. There is no
-- UNIQUE (counter_id, rank) to drop: ranks could always repeat.
ALTER TABLE kolapp.counter_queues
    ADD COLUMN weight int NOT NULL DEFAULT 1
        CONSTRAINT counter_queues_weight_check CHECK (weight BETWEEN 1 AND 100);

-- ---------------------------------------------------------------------
-- Outcomes: what came of a service, per queue, for the statistics.
-- ---------------------------------------------------------------------

CREATE TABLE kolapp.outcomes (
    id         serial PRIMARY KEY,
    office_id  int NOT NULL REFERENCES kolapp.offices,
    queue_id   int NOT NULL,
    code       text NOT NULL CONSTRAINT outcomes_code_check CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name       text NOT NULL CONSTRAINT outcomes_name_check
               CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (queue_id, code),
    -- the queue is of the outcome's office (a queue never changes office)
    FOREIGN KEY (queue_id, office_id) REFERENCES kolapp.queues (id, office_id)
);

-- Like every configuration table (migration 2): the daemon reloads.
-- notify_config takes the row's id and office_id.
CREATE TRIGGER outcomes_notify_config AFTER INSERT OR DELETE ON kolapp.outcomes
    FOR EACH ROW EXECUTE FUNCTION kolapp.notify_config();
CREATE TRIGGER outcomes_notify_config_update AFTER UPDATE ON kolapp.outcomes
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION kolapp.notify_config();

-- ---------------------------------------------------------------------
-- Administration. Migration 2's conventions: named parameters are the
-- contract, invalid_parameter_value = bad input, no_data_found = unknown
-- office/queue/counter, object_not_in_prerequisite_state = refused in the
-- current state; and here check_violation = a policy value out of range.
-- ---------------------------------------------------------------------

-- Sets all five values: those left out go back to their defaults.
CREATE FUNCTION kolapp.set_queue_policy(office text, queue text, min_calls int DEFAULT 1,
                                        no_show_after_s int DEFAULT 0,
                                        reactivate_within_s int DEFAULT 900,
                                        require_outcome boolean DEFAULT false,
                                        allow_priority boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    qid int := kolapp.queue_id_of(office, queue);
BEGIN
    IF set_queue_policy.min_calls IS NULL OR set_queue_policy.min_calls NOT BETWEEN 1 AND 10 THEN
        RAISE EXCEPTION 'min_calls must be between 1 and 10 (got %)',
            coalesce(set_queue_policy.min_calls::text, 'NULL')
            USING ERRCODE = 'check_violation',
                  HINT = 'The number of calls (the first plus recalls) before a no-show is allowed.';
    END IF;
    IF set_queue_policy.no_show_after_s IS NULL
       OR set_queue_policy.no_show_after_s NOT BETWEEN 0 AND 3600 THEN
        RAISE EXCEPTION 'no_show_after_s must be between 0 and 3600 (got %)',
            coalesce(set_queue_policy.no_show_after_s::text, 'NULL')
            USING ERRCODE = 'check_violation',
                  HINT = 'Seconds after the first call before a no-show is allowed.';
    END IF;
    IF set_queue_policy.reactivate_within_s IS NULL
       OR set_queue_policy.reactivate_within_s NOT BETWEEN 0 AND 86400 THEN
        RAISE EXCEPTION 'reactivate_within_s must be between 0 and 86400 (got %)',
            coalesce(set_queue_policy.reactivate_within_s::text, 'NULL')
            USING ERRCODE = 'check_violation',
                  HINT = 'Seconds after a no-show during which the ticket may be reactivated; 0 never.';
    END IF;
    IF set_queue_policy.require_outcome IS NULL THEN
        RAISE EXCEPTION 'require_outcome must be true or false' USING ERRCODE = 'check_violation';
    END IF;
    IF set_queue_policy.allow_priority IS NULL THEN
        RAISE EXCEPTION 'allow_priority must be true or false' USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM kolapp.queues q WHERE q.id = qid FOR UPDATE;
    IF set_queue_policy.require_outcome
       AND NOT EXISTS (SELECT 1 FROM kolapp.outcomes o WHERE o.queue_id = qid AND o.active) THEN
        RAISE EXCEPTION 'queue "%" of office "%" has no outcome: it cannot require one', queue, office
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add its outcomes first with kolapp.add_outcome(office, queue, code, name).';
    END IF;
    UPDATE kolapp.queues q
       SET min_calls = set_queue_policy.min_calls,
           no_show_after_s = set_queue_policy.no_show_after_s,
           reactivate_within_s = set_queue_policy.reactivate_within_s,
           require_outcome = set_queue_policy.require_outcome,
           allow_priority = set_queue_policy.allow_priority
     WHERE q.id = qid;
END $$;

-- Adds an outcome to a queue's list; a code the queue already has gets
-- the new name and is active again (a NOTICE says so).
CREATE FUNCTION kolapp.add_outcome(office text, queue text, code text, name text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    off int := kolapp.office_id_of(office);
    qid int := kolapp.queue_id_of(office, queue);
    old_name text;
    was_active boolean;
BEGIN
    IF add_outcome.code IS NULL OR add_outcome.code !~ '^[a-z0-9_]{1,32}$' THEN
        RAISE EXCEPTION 'invalid outcome code "%"', coalesce(add_outcome.code, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 1 to 32 lowercase letters, digits or "_" (e.g. granted, referred).';
    END IF;
    IF add_outcome.name IS NULL OR length(btrim(add_outcome.name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid outcome name: it must have 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT o.name, o.active INTO old_name, was_active FROM kolapp.outcomes o
     WHERE o.queue_id = qid AND o.code = add_outcome.code FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO kolapp.outcomes (office_id, queue_id, code, name)
        VALUES (off, qid, add_outcome.code, add_outcome.name);
        RETURN;
    END IF;
    UPDATE kolapp.outcomes o SET name = add_outcome.name, active = true
     WHERE o.queue_id = qid AND o.code = add_outcome.code;
    RAISE NOTICE 'outcome "%" of queue "%" already existed (%): %', add_outcome.code, queue,
        CASE WHEN was_active THEN 'active' ELSE 'inactive' END,
        CASE WHEN old_name = add_outcome.name AND was_active THEN 'nothing changed'
             WHEN was_active THEN format('renamed from "%s"', old_name)
             WHEN old_name = add_outcome.name THEN 'reactivated'
             ELSE format('renamed from "%s" and reactivated', old_name) END;
END $$;

-- Replaces migration 2's 4-argument form: the same checks and errors,
-- plus weights. A call without weights (3 or 4 arguments, positional or
-- named) means what it meant before, every weight 1.
DROP FUNCTION kolapp.set_counter_queues(text, text, text[], int[]);

CREATE FUNCTION kolapp.set_counter_queues(office text, counter text, queues text[],
                                          ranks int[] DEFAULT NULL, weights int[] DEFAULT NULL)
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
    IF weights IS NOT NULL THEN
        IF cardinality(weights) <> n THEN
            RAISE EXCEPTION '% queues but % weights', n, cardinality(weights)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give one weight per queue, or leave weights out for 1 each.';
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(weights) w WHERE w IS NULL OR w NOT BETWEEN 1 AND 100) THEN
            RAISE EXCEPTION 'weights must be integers from 1 to 100: %', weights
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
    INSERT INTO kolapp.counter_queues (counter_id, queue_id, rank, weight)
    SELECT cid, qids[i], coalesce(ranks[i], i), coalesce(weights[i], 1)
      FROM generate_series(1, n) i;
END $$;

-- Migration 2's, with parked tickets: they are not over, and may still
-- be called back in this queue.
CREATE OR REPLACE FUNCTION kolapp.deactivate_queue(office text, queue text) RETURNS boolean
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
    -- called, serving and parked tickets may still go back to waiting; a
    -- parked one is "at a counter" too, the one that parked it
    SELECT count(*) INTO busy FROM kolapp.tickets t
     WHERE t.office_id = off AND t.business_day >= kolapp.office_today(off)
       AND t.queue_id = qid AND t.state IN ('waiting', 'called', 'serving', 'parked');
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

-- Migration 2's, and also refused while tickets wait for this counter
-- alone (transferred to it): nobody else would call them. A ticket it
-- parked is no reason to refuse: any counter may call it back.
CREATE OR REPLACE FUNCTION kolapp.deactivate_counter(office text, counter text) RETURNS boolean
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
    SELECT string_agg(t.code, ', ' ORDER BY t.sort_at, t.id) INTO held FROM kolapp.tickets t
     WHERE t.for_counter_id = cid AND t.state = 'waiting';
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'tickets wait for counter "%" of office "%": %', counter, office, held
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Let the counter call them first.';
    END IF;
    UPDATE kolapp.counters c SET active = false WHERE c.id = cid;
    RETURN true;
END $$;

-- ---------------------------------------------------------------------
-- The daemon's write functions. As in migration 1: each changes one
-- thing and logs it; a ticket missing or in the wrong state raises
-- (kolapp.d_ticket_refused), so that the daemon's whole batch rolls back.
-- The states a function accepts are those of its action's rows in
-- ticket_transitions, written out (a query of the table would cost each
-- call; tests/sql/workflow.sql holds the two to each other).
-- ---------------------------------------------------------------------

-- Issues: the 7-argument forms go, nothing else calls them
-- (daemon/store/statements.c calls the 10-argument ones).
DROP FUNCTION kolapp.d_issue(int, int, date, int, text, text, timestamptz);
DROP FUNCTION kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[]);

CREATE FUNCTION kolapp.d_issue(p_office int, p_queue int, p_day date, p_number int,
                               p_code text, p_key text, p_at timestamptz,
                               p_priority boolean, p_interpreter text, p_lang text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                number, code, state, issued_at, sort_at, idem_key,
                                priority, interpreter, lang)
    VALUES (p_office, p_day, p_queue, p_queue, p_number, p_code, 'waiting',
            p_at, p_at, p_key, p_priority, p_interpreter, p_lang)
    RETURNING id INTO tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    VALUES (tid, p_office, p_at, 'issued', p_queue);
END $$;

-- Migration 6's, with the three new arrays.
CREATE FUNCTION kolapp.d_issue_many(p_office int[], p_queue int[], p_day date[],
                                    p_number int[], p_code text[], p_key text[],
                                    p_at timestamptz[], p_priority boolean[],
                                    p_interpreter text[], p_lang text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_queue),
        cardinality(p_day), cardinality(p_number), cardinality(p_code),
        cardinality(p_key), cardinality(p_at), cardinality(p_priority),
        cardinality(p_interpreter), cardinality(p_lang));
    WITH t AS (
        INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                    number, code, state, issued_at, sort_at, idem_key,
                                    priority, interpreter, lang)
        SELECT x.o, x.d, x.q, x.q, x.n, x.c, 'waiting', x.a, x.a, x.k, x.p, x.it, x.l
          FROM unnest(p_office, p_queue, p_day, p_number, p_code, p_key, p_at,
                      p_priority, p_interpreter, p_lang)
               WITH ORDINALITY AS x(o, q, d, n, c, k, a, p, it, l, i)
         ORDER BY x.i
        RETURNING id, office_id, issued_at, queue_id)
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    SELECT t.id, t.office_id, t.issued_at, 'issued', t.queue_id FROM t ORDER BY t.id;
END $$;

-- A call takes a waiting ticket, or calls back a parked one (from any
-- counter of the office). Each call is a new round: recalls from 0, a
-- parked ticket's started_at of the previous round is cleared (its
-- events keep it), and a ticket waiting for a counter is now at one.
CREATE OR REPLACE FUNCTION kolapp.d_call(p_office int, p_day date, p_code text, p_counter int,
                                         p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
BEGIN
    UPDATE kolapp.tickets t
       SET state = 'called', counter_id = p_counter, called_at = p_at, started_at = NULL,
           recalls = 0, for_counter_id = NULL
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state IN ('waiting', 'parked')
    RETURNING t.id, t.queue_id INTO tid, qid;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'call', 'waiting or parked');
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, 'called', p_counter, qid);
END $$;
-- d_call_many (migration 6) calls d_call: it follows.

-- Set aside by its counter, which it keeps (counter_id): the counter is
-- free to call another ticket, and any counter may call this one back.
CREATE FUNCTION kolapp.d_park(p_office int, p_day date, p_code text, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
    cid int;
BEGIN
    UPDATE kolapp.tickets t
       SET state = 'parked'
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state IN ('called', 'serving')
    RETURNING t.id, t.queue_id, t.counter_id INTO tid, qid, cid;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'park', 'called or serving');
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, 'parked', cid, qid);
END $$;

-- A no-show back in its queue, at its original place in time (sort_at
-- is kept). The window (queues.reactivate_within_s) is the daemon's to
-- check. The event names the counter where it was a no-show.
CREATE FUNCTION kolapp.d_reactivate(p_office int, p_day date, p_code text, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
    old_counter int;
BEGIN
    SELECT t.id, t.queue_id, t.counter_id INTO tid, qid, old_counter
      FROM kolapp.tickets t
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = 'no_show'
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'reactivate', 'no_show');
    END IF;
    UPDATE kolapp.tickets t
       SET state = 'waiting', counter_id = NULL, called_at = NULL, started_at = NULL,
           finished_at = NULL, recalls = 0, for_counter_id = NULL
     WHERE t.id = tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, 'reactivated', old_counter, qid);
END $$;

-- The outcome of a served ticket: an active outcome of its queue. kolappd
-- sends it in the batch of the finish, right after d_set_state 'done';
-- the event is dated at the finish. Setting the same outcome again is
-- harmless; another one is refused.
CREATE FUNCTION kolapp.d_set_outcome(p_office int, p_day date, p_code text, p_outcome text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
    cid int;
    fin timestamptz;
    cur text;
BEGIN
    SELECT t.id, t.queue_id, t.counter_id, t.finished_at, t.outcome
      INTO tid, qid, cid, fin, cur
      FROM kolapp.tickets t
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state = 'done'
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'set outcome', 'done');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM kolapp.outcomes o
                    WHERE o.queue_id = qid AND o.code = p_outcome AND o.active) THEN
        RAISE EXCEPTION 'cannot set outcome: % is not an active outcome of the queue of ticket %',
            coalesce(p_outcome, 'NULL'), p_code
            USING ERRCODE = 'no_data_found';
    END IF;
    IF cur IS NOT NULL AND cur <> p_outcome THEN
        RAISE EXCEPTION 'cannot set outcome: ticket % already has outcome %', p_code, cur
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE kolapp.tickets t SET outcome = p_outcome WHERE t.id = tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id, detail)
    VALUES (tid, p_office, fin, 'outcome', cid, qid, jsonb_build_object('outcome', p_outcome));
END $$;

-- Back to waiting, in its queue, for one counter only (for_counter_id),
-- at its original place in time, like d_transfer.
CREATE FUNCTION kolapp.d_transfer_counter(p_office int, p_day date, p_code text, p_counter int,
                                          p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
    qid int;
    old_counter int;
    is_active boolean;
BEGIN
    SELECT c.active INTO is_active FROM kolapp.counters c
     WHERE c.id = p_counter AND c.office_id = p_office;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot transfer % to a counter: no counter % in office %',
            p_code, coalesce(p_counter::text, 'NULL'), p_office
            USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT is_active THEN
        RAISE EXCEPTION 'cannot transfer % to counter %: it is deactivated', p_code, p_counter
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT t.id, t.queue_id, t.counter_id INTO tid, qid, old_counter
      FROM kolapp.tickets t
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND t.state IN ('called', 'serving')
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'transfer', 'called or serving');
    END IF;
    UPDATE kolapp.tickets t
       SET state = 'waiting', counter_id = NULL, called_at = NULL, started_at = NULL,
           recalls = 0, for_counter_id = p_counter
     WHERE t.id = tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id, detail)
    VALUES (tid, p_office, p_at, 'transferred', old_counter, qid,
            jsonb_build_object('to_counter_id', p_counter));
END $$;

-- Migration 1's, and a ticket that waited for a counter waits in the
-- new queue for any counter.
CREATE OR REPLACE FUNCTION kolapp.d_transfer(p_office int, p_day date, p_code text, p_queue int,
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
           called_at = NULL, started_at = NULL, recalls = 0, for_counter_id = NULL
     WHERE t.id = tid;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id, detail)
    VALUES (tid, p_office, p_at, 'transferred', old_counter, p_queue,
            jsonb_build_object('from_queue_id', old_queue));
END $$;

-- Migration 8's; a cancelled ticket may have waited for a counter.
CREATE OR REPLACE FUNCTION kolapp.d_set_state(p_office int, p_day date, p_code text, p_state text,
                                              p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    from_states text;
    tid bigint;
    qid int;
    cid int;
BEGIN
    IF p_state IS NULL OR p_state NOT IN ('serving', 'done', 'no_show', 'cancelled') THEN
        RAISE EXCEPTION 'd_set_state: state % is not serving, done, no_show or cancelled',
            coalesce(p_state, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE kolapp.tickets t
       SET state = p_state,
           started_at = CASE WHEN p_state = 'serving' THEN p_at ELSE t.started_at END,
           finished_at = CASE WHEN p_state = 'serving' THEN t.finished_at ELSE p_at END,
           for_counter_id = NULL
     WHERE t.office_id = p_office AND t.business_day = p_day AND t.code = p_code
       AND kolapp.ticket_transition_allowed(t.state, p_state)
    RETURNING t.id, t.queue_id, t.counter_id INTO tid, qid, cid;
    IF NOT FOUND THEN
        SELECT string_agg(DISTINCT tr.from_state, ' or ' ORDER BY tr.from_state) INTO from_states
          FROM kolapp.ticket_transitions tr WHERE tr.to_state = p_state;
        PERFORM kolapp.d_ticket_refused(p_office, p_day, p_code, 'set state ' || p_state,
                                        from_states);
    END IF;
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
    VALUES (tid, p_office, p_at, p_state, cid, qid);
END $$;

-- End of business day: waiting, called and parked tickets of earlier days
-- expire (serving ones are left alone, as before: someone is still at the
-- counter).
CREATE OR REPLACE FUNCTION kolapp.d_expire(p_office int, p_day date, p_at timestamptz)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    WITH gone AS (
        UPDATE kolapp.tickets t
           SET state = 'expired', finished_at = p_at, for_counter_id = NULL
         WHERE t.office_id = p_office AND t.business_day < p_day
           AND t.state IN ('waiting', 'called', 'parked')
        RETURNING t.id, t.counter_id, t.queue_id
    ), logged AS (
        INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, counter_id, queue_id)
        SELECT g.id, p_office, p_at, 'expired', g.counter_id, g.queue_id FROM gone g
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    RETURN n;
END $$;

-- ---------------------------------------------------------------------
-- Statistics views, like migration 2's: per office, queue and business
-- day (the office's local date), one grouped query over tickets joined to
-- offices, so that WHERE office = ... AND day ... reaches the unique
-- index on (office_id, business_day, code); what only the event log
-- knows is read per ticket through ticket_events_ticket_idx. No new index:
-- each would cost every issue. A ticket counts in the queue it was last
-- in (queue_id). Times in seconds.
-- ---------------------------------------------------------------------

-- Served tickets per outcome; outcome NULL: served without one.
CREATE VIEW kolapp.outcomes_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day, t.outcome,
       count(*) AS count
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 WHERE t.state = 'done'
 GROUP BY o.id, o.code, q.id, q.code, t.business_day, t.outcome;

-- Tickets issued per interpreter language (interpreter NULL: none asked
-- for), and how many of them were priority tickets.
CREATE VIEW kolapp.priority_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day, t.interpreter,
       count(*) AS tickets,
       count(*) FILTER (WHERE t.priority) AS priority
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 GROUP BY o.id, o.code, q.id, q.code, t.business_day, t.interpreter;

-- Each park, and how long until the ticket was called back (its next
-- 'called' event); a park never called back (expired, or still parked)
-- counts in parks but not in the times.
CREATE VIEW kolapp.parked_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day,
       count(DISTINCT t.id) AS tickets,
       count(*) AS parks,
       count(b.at) AS called_back,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM b.at - e.at))::numeric, 1) AS parked_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM b.at - e.at))::numeric, 1) AS parked_p90_s
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
  JOIN kolapp.ticket_events e ON e.ticket_id = t.id AND e.kind = 'parked'
  LEFT JOIN LATERAL (
        SELECT c.at FROM kolapp.ticket_events c
         WHERE c.ticket_id = t.id AND c.kind = 'called' AND c.id > e.id
         ORDER BY c.id LIMIT 1) b ON true
 GROUP BY o.id, o.code, q.id, q.code, t.business_day;

-- Tickets called at least once, marked no-show at least once, and
-- reactivated at least once, from the event log (a reactivated ticket is
-- no longer in state no_show: v_no_show_rates, which counts states, does
-- not see it). reactivated_served: reactivated and then served.
-- no_show_rate = no_show / called; reactivated_rate = reactivated / no_show.
CREATE VIEW kolapp.no_show_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day,
       count(*) FILTER (WHERE ev.called) AS called,
       count(*) FILTER (WHERE ev.no_show) AS no_show,
       count(*) FILTER (WHERE ev.reactivated) AS reactivated,
       count(*) FILTER (WHERE ev.reactivated AND t.state = 'done') AS reactivated_served,
       round((count(*) FILTER (WHERE ev.no_show))::numeric
             / nullif(count(*) FILTER (WHERE ev.called), 0), 3) AS no_show_rate,
       round((count(*) FILTER (WHERE ev.reactivated))::numeric
             / nullif(count(*) FILTER (WHERE ev.no_show), 0), 3) AS reactivated_rate
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
 CROSS JOIN LATERAL (
        SELECT bool_or(e.kind = 'called') AS called,
               bool_or(e.kind = 'no_show') AS no_show,
               bool_or(e.kind = 'reactivated') AS reactivated
          FROM kolapp.ticket_events e
         WHERE e.ticket_id = t.id) ev
 GROUP BY o.id, o.code, q.id, q.code, t.business_day;

-- The wait from issue to the first call (not to the last one, as
-- v_waits_daily: a transfer or a reactivation does not restart it), for
-- priority tickets and the others.
CREATE VIEW kolapp.waits_priority_daily AS
SELECT o.code AS office, q.code AS queue, t.business_day AS day, t.priority,
       count(*) AS tickets,
       count(fc.at) AS called,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM fc.at - t.issued_at))::numeric, 1) AS wait_median_s,
       round(percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM fc.at - t.issued_at))::numeric, 1) AS wait_p90_s
  FROM kolapp.tickets t
  JOIN kolapp.offices o ON o.id = t.office_id
  JOIN kolapp.queues q ON q.id = t.queue_id
  LEFT JOIN LATERAL (
        SELECT min(e.at) AS at FROM kolapp.ticket_events e
         WHERE e.ticket_id = t.id AND e.kind = 'called') fc ON true
 GROUP BY o.id, o.code, q.id, q.code, t.business_day, t.priority;

-- Migration 2's, with a count of today's parked tickets at the end.
CREATE OR REPLACE VIEW kolapp.v_queue_today AS
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
           AS longest_wait,
       count(t.id) FILTER (WHERE t.state = 'parked') AS parked
  FROM kolapp.offices o
  JOIN kolapp.queues q ON q.office_id = o.id
  LEFT JOIN kolapp.tickets t
         ON t.office_id = o.id AND t.queue_id = q.id
        AND t.business_day = (now() AT TIME ZONE o.timezone)::date
 GROUP BY o.id, o.code, o.timezone, q.id, q.code, q.name, q.open, q.active;

-- ---------------------------------------------------------------------
-- Rights, as migration 2 gives them: functions run as their owner with a
-- pinned search_path; admins call the configuration functions and read
-- the tables; the daemon reads the configuration; readers of statistics
-- read the views (and the outcome names, to label them).
-- ---------------------------------------------------------------------

ALTER FUNCTION kolapp.set_queue_policy(text, text, int, int, int, boolean, boolean)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.add_outcome(text, text, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.set_counter_queues(text, text, text[], int[], int[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.deactivate_queue(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.deactivate_counter(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
REVOKE EXECUTE ON FUNCTION
    kolapp.set_queue_policy(text, text, int, int, int, boolean, boolean),
    kolapp.add_outcome(text, text, text, text),
    kolapp.set_counter_queues(text, text, text[], int[], int[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    kolapp.set_queue_policy(text, text, int, int, int, boolean, boolean),
    kolapp.add_outcome(text, text, text, text),
    kolapp.set_counter_queues(text, text, text[], int[], int[]) TO kolapp_admin;

GRANT SELECT ON kolapp.outcomes TO kolapp_daemon, kolapp_admin, kolapp_report;
GRANT SELECT ON kolapp.outcomes_daily, kolapp.priority_daily, kolapp.parked_daily,
                kolapp.no_show_daily, kolapp.waits_priority_daily
    TO kolapp_admin, kolapp_report;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
