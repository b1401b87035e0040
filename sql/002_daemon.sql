-- What kolappd needs beyond 001: token ids (so that a revoked token's
-- connections can be found), recording a token's last use, and the
-- history of counters opening and closing (for open time statistics).

DROP FUNCTION kolapp.d_token_lookup(bytea);
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

CREATE FUNCTION kolapp.d_token_used(p_token int, p_from text)
RETURNS void LANGUAGE sql AS $$
    UPDATE kolapp.tokens SET last_used_at = now(), last_used_from = p_from
     WHERE id = p_token
$$;

CREATE TABLE kolapp.counter_events (
    id         bigserial PRIMARY KEY,
    counter_id int NOT NULL REFERENCES kolapp.counters,
    office_id  int NOT NULL REFERENCES kolapp.offices,
    at         timestamptz NOT NULL,
    open       boolean NOT NULL
);
CREATE INDEX counter_events_counter_at ON kolapp.counter_events (counter_id, at);

CREATE FUNCTION kolapp.d_counter_set_open(p_counter int, p_open boolean, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_office int;
BEGIN
    UPDATE kolapp.counters c SET open = p_open WHERE c.id = p_counter
    RETURNING c.office_id INTO v_office;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no counter with id %', p_counter USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO kolapp.counter_events (counter_id, office_id, at, open)
    VALUES (p_counter, v_office, p_at, p_open);
END $$;
