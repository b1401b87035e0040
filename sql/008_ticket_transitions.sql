-- Migration 8.
--
-- Migrations run in order, exactly once (sql/README.md, "Writing a
-- migration"): nothing here guards with IF EXISTS.

-- ---------------------------------------------------------------------
-- The daemon's functions, secured in one place. Migrations 2, 3 and 6
-- each made the d_ functions SECURITY DEFINER with a pinned search_path,
-- took EXECUTE from PUBLIC and gave it to kolapp_daemon, each its own way
-- (5 wrote it into CREATE). From now on a migration that adds or replaces
-- a d_ function calls this at its end; CREATE OR REPLACE FUNCTION resets
-- SECURITY DEFINER and SET to what the new text says, so a replaced
-- function needs it too.
-- ---------------------------------------------------------------------

-- Runs as its caller, the owner of the functions (only an owner may alter
-- them); only that owner may call it.
CREATE PROCEDURE kolapp.secure_daemon_functions()
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    f regprocedure;
BEGIN
    -- with kolapp off the search_path, %s of a regprocedure is qualified
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'kolapp'::regnamespace AND p.prokind = 'f'
                AND p.proname LIKE 'd\_%'
              ORDER BY p.proname, p.oid
    LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, kolapp', f);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO kolapp_daemon', f);
    END LOOP;
END $$;

REVOKE EXECUTE ON PROCEDURE kolapp.secure_daemon_functions() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- The ticket state machine as data. It was written out three times:
-- daemon/engine/ticket_state.c, the pairs in tickets_check_transition()
-- and the CASE in d_set_state(). The rows below are exactly those of
-- ticket_state.c (tests/integration/test_transitions compares the two
-- tables row by row, both ways), and the database's checks come from them.
-- ---------------------------------------------------------------------

-- What a state says about where the ticket is: in its queue's waiting
-- list, held by the counter that called it, or over. Exactly one of them.
CREATE TABLE kolapp.ticket_states (
    state   text PRIMARY KEY,
    waiting boolean NOT NULL,
    held    boolean NOT NULL,
    final   boolean NOT NULL,
    CONSTRAINT ticket_states_one_place CHECK (waiting::int + held::int + final::int = 1)
);

INSERT INTO kolapp.ticket_states (state, waiting, held, final) VALUES
    ('waiting',   true,  false, false),
    ('called',    false, true,  false),
    ('serving',   false, true,  false),
    ('done',      false, false, true),
    ('no_show',   false, false, true),
    ('cancelled', false, false, true),
    ('expired',   false, false, true);

-- tickets.state keeps migration 1's CHECK list instead of a foreign key
-- to ticket_states, which would cost a lookup per ticket issued;
-- tests/sql/transitions.sql asserts that the list names exactly the
-- states of this table.

CREATE TABLE kolapp.ticket_transitions (
    from_state text NOT NULL REFERENCES kolapp.ticket_states,
    action     text NOT NULL,
    to_state   text NOT NULL REFERENCES kolapp.ticket_states,
    PRIMARY KEY (from_state, action)
);

-- The table, compiled. Every UPDATE OF state asks whether the ticket may
-- go from OLD.state to NEW.state. Asked of the table by a query in the
-- trigger (a query's executor start and end, for a one-page table) that
-- cost 13 to 42 us per row, against 1.2 to 2.7 us for migration 1's list
-- of pairs; a backend spends about 57 us on a whole issue
-- (docs/BENCHMARKS.md). So the pairs are written into an SQL function that
-- PostgreSQL inlines, as an expression, into the trigger's IF and into
-- d_set_state's UPDATE: 0.9 to 4.2 us per row. (EXPLAIN ANALYZE of an
-- UPDATE of 20,000 tickets, "Trigger tickets_state_transition: time",
-- runs on a busy two-core machine.) This trigger rewrites the function
-- from the table after every change to it, so the table stays the only
-- thing to edit. The function must stay LANGUAGE sql and IMMUTABLE,
-- without SECURITY DEFINER or SET: any of those stops the inlining.
CREATE FUNCTION kolapp.ticket_transitions_compile() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pairs text;
BEGIN
    SELECT string_agg(format('(%L, %L)', p.from_state, p.to_state), ', '
                      ORDER BY p.from_state, p.to_state) INTO pairs
      FROM (SELECT DISTINCT tr.from_state, tr.to_state FROM kolapp.ticket_transitions tr) p;
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION kolapp.ticket_transition_allowed(from_state text, to_state text)
        RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L$f$,
        CASE WHEN pairs IS NULL THEN 'SELECT false'
             ELSE format('SELECT (from_state, to_state) IN (%s)', pairs) END);
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_transitions_compile
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kolapp.ticket_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.ticket_transitions_compile();

-- (from_state, action) -> to_state, as in ticket_state.c. The insert
-- creates kolapp.ticket_transition_allowed().
INSERT INTO kolapp.ticket_transitions (from_state, action, to_state) VALUES
    ('waiting', 'call',     'called'),
    ('waiting', 'cancel',   'cancelled'),
    ('waiting', 'expire',   'expired'),
    ('called',  'recall',   'called'),
    ('called',  'start',    'serving'),
    ('called',  'finish',   'done'),
    ('called',  'no_show',  'no_show'),
    ('called',  'transfer', 'waiting'),
    ('called',  'expire',   'expired'),
    ('serving', 'finish',   'done'),
    ('serving', 'transfer', 'waiting');

COMMENT ON FUNCTION kolapp.ticket_transition_allowed(text, text) IS
    'May a ticket go from from_state to to_state? Compiled from kolapp.ticket_transitions '
    'by its trigger ticket_transitions_compile; do not edit, edit the table.';

-- The message and errcode are migration 1's.
CREATE OR REPLACE FUNCTION kolapp.tickets_check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF kolapp.ticket_transition_allowed(OLD.state, NEW.state) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'illegal ticket state transition: % -> %', OLD.state, NEW.state
        USING ERRCODE = 'check_violation',
              DETAIL = format('ticket %s (id %s)', OLD.code, OLD.id);
END $$;

-- Migration 1's signature, errors and target states; the states a ticket
-- may come from are those of ticket_transitions (listed from the table
-- itself for the error).
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
           finished_at = CASE WHEN p_state = 'serving' THEN t.finished_at ELSE p_at END
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

-- Readable like the other configuration tables. The function is for
-- psql too; it runs as whoever changes a ticket's state, which only the
-- owner and the d_ functions (as the owner) do.
GRANT SELECT ON kolapp.ticket_states, kolapp.ticket_transitions TO kolapp_daemon, kolapp_admin;
REVOKE EXECUTE ON FUNCTION kolapp.ticket_transition_allowed(text, text),
    kolapp.ticket_transitions_compile() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kolapp.ticket_transition_allowed(text, text) TO kolapp_admin;

-- ---------------------------------------------------------------------
-- Overloads nobody calls. kolappd calls d_counter_set_open(counter, open,
-- at) and d_batch_mark(token, after) (daemon/store/statements.c); the
-- 2-argument form (migrations 1 and 2) and the 1-argument form (3) were
-- kept for a kolappd not yet upgraded. No such kolappd runs on this
-- schema: kolappd refuses, at start-up, a database newer than the
-- migrations it carries. Nothing else in the tree calls them.
-- ---------------------------------------------------------------------

DROP FUNCTION kolapp.d_counter_set_open(int, boolean);
DROP FUNCTION kolapp.d_batch_mark(text);

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
