-- In-doubt commits. When kolappd's connection drops while a batch's COMMIT
-- is on its way, kolappd cannot know whether it committed, and the
-- contract promises that `unavailable` means nothing changed. So every
-- batch first records a token of its own; after reconnecting, kolappd
-- asks whether the token exists (the batch committed: answer ok) or not
-- (it did not: answer unavailable), once the old backend is surely gone.

CREATE TABLE kolapp.batches (
    token text PRIMARY KEY,
    at    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION kolapp.d_batch_mark(p_token text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO kolapp.batches (token) VALUES (p_token)
$$;

-- 'committed', 'aborted', or 'pending' while the old backend still runs
-- (it is then asked to end; kolappd asks again shortly). It only ever ends
-- the one backend named, and only a kolappd session of this database.
CREATE FUNCTION kolapp.d_batch_resolve(p_token text, p_old_pid int)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF p_old_pid > 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                  WHERE a.pid = p_old_pid
                                    AND a.datname = current_database()
                                    AND a.application_name = 'kolappd') THEN
        BEGIN
            PERFORM pg_catalog.pg_terminate_backend(p_old_pid);
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;  -- it will end when its connection times out; ask again
        END;
        RETURN 'pending';
    END IF;
    RETURN CASE WHEN EXISTS (SELECT 1 FROM kolapp.batches b WHERE b.token = p_token)
                THEN 'committed' ELSE 'aborted' END;
END $$;

-- Tokens matter only until their batch is resolved.
CREATE FUNCTION kolapp.d_batch_forget()
RETURNS void LANGUAGE sql AS $$
    DELETE FROM kolapp.batches WHERE at < now() - interval '10 minutes'
$$;

-- Like every function of the schema (see 002): the owner's rights, a
-- pinned search_path, and only the daemon may call them.
ALTER FUNCTION kolapp.d_batch_mark(text) SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_batch_resolve(text, int) SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_batch_forget() SECURITY DEFINER SET search_path = pg_catalog, kolapp;

REVOKE ALL ON kolapp.batches FROM PUBLIC;
REVOKE ALL ON FUNCTION kolapp.d_batch_mark(text), kolapp.d_batch_resolve(text, int),
    kolapp.d_batch_forget() FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'kolapp_daemon') THEN
        GRANT EXECUTE ON FUNCTION kolapp.d_batch_mark(text), kolapp.d_batch_resolve(text, int),
            kolapp.d_batch_forget() TO kolapp_daemon;
    END IF;
END $$;
