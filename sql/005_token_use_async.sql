-- A token's last use is bookkeeping, not a promise to anyone: its commit
-- need not wait for the WAL to reach the disk. Under a slow disk that wait
-- held up the hellos queued behind it on the daemon's connection.
CREATE OR REPLACE FUNCTION kolapp.d_token_used(p_token int, p_from text)
RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, kolapp AS $$
BEGIN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
    UPDATE kolapp.tokens k SET last_used_at = now(), last_used_from = p_from
     WHERE k.id = p_token;
END $$;
