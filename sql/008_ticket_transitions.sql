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

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
