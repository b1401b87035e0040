-- Group commit sends many writes in one transaction. Run one at a time,
-- each issue is a statement of its own: its own executor start, its own
-- parsing of the tickets table's CHECK constraints, its own round of the
-- SECURITY DEFINER wrapper. kolappd sends a run of consecutive issues as
-- one call of d_issue_many with an array per parameter instead; one
-- multi-row INSERT does the work of them all.

-- Arrays of unequal length would pair arguments wrongly: refuse them.
CREATE FUNCTION kolapp.d_check_lengths(VARIADIC p_lengths int[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_lengths) l WHERE l IS DISTINCT FROM p_lengths[1]) THEN
        RAISE EXCEPTION 'batched write: argument arrays differ in length (%)',
            array_to_string(p_lengths, ', ', 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- The arrays hold the arguments of d_issue element by element, in the
-- order kolappd issued the tickets: ids (and so the order of equal issue
-- times after a reload) follow that order.
CREATE FUNCTION kolapp.d_issue_many(p_office int[], p_queue int[], p_day date[],
                                    p_number int[], p_code text[], p_key text[],
                                    p_at timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_queue),
        cardinality(p_day), cardinality(p_number), cardinality(p_code),
        cardinality(p_key), cardinality(p_at));
    WITH t AS (
        INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,
                                    number, code, state, issued_at, sort_at, idem_key)
        SELECT x.o, x.d, x.q, x.q, x.n, x.c, 'waiting', x.a, x.a, x.k
          FROM unnest(p_office, p_queue, p_day, p_number, p_code, p_key, p_at)
               WITH ORDINALITY AS x(o, q, d, n, c, k, a, i)
         ORDER BY x.i
        RETURNING id, office_id, issued_at, queue_id)
    INSERT INTO kolapp.ticket_events (ticket_id, office_id, at, kind, queue_id)
    SELECT t.id, t.office_id, t.issued_at, 'issued', t.queue_id FROM t ORDER BY t.id;
END $$;

-- Calls and state changes may touch one ticket twice in a batch (start,
-- then finish), so they stay one ticket at a time, in order; what a run
-- saves is the round trip of each statement through the protocol.
CREATE FUNCTION kolapp.d_call_many(p_office int[], p_day date[], p_code text[],
                                   p_counter int[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_day), cardinality(p_code),
        cardinality(p_counter), cardinality(p_at));
    FOR i IN 1 .. coalesce(cardinality(p_office), 0) LOOP
        PERFORM kolapp.d_call(p_office[i], p_day[i], p_code[i], p_counter[i], p_at[i]);
    END LOOP;
END $$;

CREATE FUNCTION kolapp.d_set_state_many(p_office int[], p_day date[], p_code text[],
                                        p_state text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_check_lengths(cardinality(p_office), cardinality(p_day), cardinality(p_code),
        cardinality(p_state), cardinality(p_at));
    FOR i IN 1 .. coalesce(cardinality(p_office), 0) LOOP
        PERFORM kolapp.d_set_state(p_office[i], p_day[i], p_code[i], p_state[i], p_at[i]);
    END LOOP;
END $$;

-- kolappd sends a batch before the one ahead of it has answered (the
-- backend runs them in turn). If that one failed, this one was built on
-- changes that never happened: it must fail too, and it can tell, because
-- by the time it runs the one ahead has committed its token or not.
CREATE FUNCTION kolapp.d_batch_mark(p_token text, p_after text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_after IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM kolapp.batches b WHERE b.token = p_after) THEN
        RAISE EXCEPTION 'batch % did not commit, so the batch after it must not', p_after
            USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO kolapp.batches (token) VALUES (p_token);
END $$;

ALTER FUNCTION kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_call_many(int[], date[], text[], int[], timestamptz[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_set_state_many(int[], date[], text[], text[], timestamptz[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_check_lengths(int[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_batch_mark(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;

REVOKE ALL ON FUNCTION
    kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[]),
    kolapp.d_call_many(int[], date[], text[], int[], timestamptz[]),
    kolapp.d_set_state_many(int[], date[], text[], text[], timestamptz[]),
    kolapp.d_check_lengths(int[]), kolapp.d_batch_mark(text, text) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'kolapp_daemon') THEN
        GRANT EXECUTE ON FUNCTION
            kolapp.d_issue_many(int[], int[], date[], int[], text[], text[], timestamptz[]),
            kolapp.d_call_many(int[], date[], text[], int[], timestamptz[]),
            kolapp.d_set_state_many(int[], date[], text[], text[], timestamptz[]),
            kolapp.d_check_lengths(int[]), kolapp.d_batch_mark(text, text) TO kolapp_daemon;
    END IF;
END $$;
