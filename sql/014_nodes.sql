-- kolapp schema, migration 14: several daemons on one database (issue 16).
-- Run by `kolappd --migrate` inside one transaction.
--
-- Each office is served by one daemon at a time. Ownership is a
-- PostgreSQL advisory lock (key 1802464353, office id) held at session
-- level by the daemon's writing session, plus an epoch per office that
-- rises with every new owner. Every write batch checks both in its own
-- transaction (d_batch_mark below), so a daemon that lost its session,
-- or whose office was taken over meanwhile, can no longer write for it:
-- its batch fails as a whole and it answers `unavailable`.
--
-- Nothing here is a consensus of kolapp's own: the lock is PostgreSQL's,
-- released when the owner's session ends (a killed daemon, a cut
-- connection, a host gone once TCP keepalives notice).

CREATE TABLE kolapp.nodes (
    name           text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._:-]{1,64}$'),
    advertise      text NOT NULL CHECK (length(advertise) BETWEEN 1 AND 300),
    advertise_http text CHECK (length(advertise_http) BETWEEN 1 AND 300),
    started_at     timestamptz NOT NULL DEFAULT now(),
    seen_at        timestamptz NOT NULL DEFAULT now(),
    pid            int  -- its writing session's backend
);

CREATE TABLE kolapp.office_owners (
    office_id int PRIMARY KEY REFERENCES kolapp.offices ON DELETE CASCADE,
    node      text,                       -- the last owner; NULL once released
    epoch     bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    since     timestamptz NOT NULL DEFAULT now(),
    move_to   text,                       -- kolapp.move_office(): who takes it next
    pinned    text                        -- kolapp.move_office(): kept there
);

-- The advisory locks held now: office id and the backend holding it.
CREATE VIEW kolapp.office_locks AS
    SELECT l.objid::int AS office_id, l.pid
      FROM pg_catalog.pg_locks l
     WHERE l.locktype = 'advisory' AND l.classid = 1802464353::oid
       AND l.objsubid = 2 AND l.granted
       AND l.database = (SELECT oid FROM pg_catalog.pg_database
                          WHERE datname = current_database());

-- The daemons alive now: a heartbeat within 5 s from a session that still
-- exists (a killed daemon's backend ends at once, long before its
-- heartbeat is stale).
CREATE VIEW kolapp.live_nodes AS
    SELECT n.* FROM kolapp.nodes n
     WHERE n.seen_at > now() - interval '5 seconds'
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = n.pid);

-- Who serves which office, as an admin sees it.
CREATE VIEW kolapp.office_service AS
    SELECT o.code AS office, w.node, n.advertise, n.advertise_http, w.epoch, w.since,
           (l.pid IS NOT NULL) AS served, w.move_to, w.pinned
      FROM kolapp.offices o
      LEFT JOIN kolapp.office_owners w ON w.office_id = o.id
      LEFT JOIN kolapp.office_locks l ON l.office_id = o.id
      LEFT JOIN kolapp.nodes n ON n.name = w.node
     ORDER BY o.code;

-- A daemon's heartbeat, run every second on its writing session:
-- registers it, gives up p_release (offices it stopped serving), takes
-- free offices up to its share (p_max, or all offices over the live
-- daemons), takes p_orphans (seen free a tick ago) whatever its share, and
-- answers every office's owner. `mine` is true only where this session
-- holds the lock and the owner row names this node; `release` asks the
-- daemon to stop serving the office (moved elsewhere, or more than its
-- share while another daemon has less).
CREATE FUNCTION kolapp.d_node_tick(p_node text, p_advertise text, p_http text, p_max int,
                                   p_release int[], p_orphans int[])
RETURNS TABLE (office_id int, office text, node text, advertise text, advertise_http text,
               epoch bigint, mine boolean, release boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    me      int := pg_backend_pid();
    nlive   int;
    noff    int;
    target  int;
    held    int;
    r       record;
    gave    int := 0;
BEGIN
    INSERT INTO kolapp.nodes AS n (name, advertise, advertise_http, seen_at, pid)
    VALUES (p_node, p_advertise, p_http, now(), me)
    ON CONFLICT (name) DO UPDATE
        SET advertise = EXCLUDED.advertise, advertise_http = EXCLUDED.advertise_http,
            seen_at = now(), pid = me,
            started_at = CASE WHEN n.pid IS DISTINCT FROM me THEN now() ELSE n.started_at END;

    -- Locks this session took in a heartbeat that then failed (a session
    -- lock outlives its transaction's rollback): not this node's, so back.
    PERFORM pg_catalog.pg_advisory_unlock(1802464353, x.office_id)
       FROM (SELECT DISTINCT l.office_id FROM kolapp.office_locks l
               JOIN kolapp.office_owners w ON w.office_id = l.office_id
              WHERE l.pid = me AND w.node IS DISTINCT FROM p_node) x;

    FOR r IN SELECT unnest(p_release) AS id LOOP
        UPDATE kolapp.office_owners w SET node = NULL, since = now()
         WHERE w.office_id = r.id AND w.node = p_node;
        IF EXISTS (SELECT 1 FROM kolapp.office_locks l WHERE l.office_id = r.id AND l.pid = me) THEN
            PERFORM pg_catalog.pg_advisory_unlock(1802464353, r.id);
        END IF;
    END LOOP;

    INSERT INTO kolapp.office_owners (office_id)
    SELECT o.id FROM kolapp.offices o ON CONFLICT DO NOTHING;

    SELECT count(*) INTO nlive FROM kolapp.live_nodes;
    SELECT count(*) INTO noff FROM kolapp.offices;
    target := (noff + greatest(nlive, 1) - 1) / greatest(nlive, 1);
    IF p_max > 0 THEN
        target := least(target, p_max);
    END IF;
    SELECT count(*) INTO held FROM kolapp.office_locks l WHERE l.pid = me;

    -- Free offices: asked to come here first, then this node's own of
    -- before (a restart keeps its offices), then by id.
    -- An orphan (seen free a tick ago) is taken whatever the share, unless
    -- it was given up on purpose in the last 2 s: that one is for a daemon
    -- under its share to take.
    FOR r IN SELECT w.office_id AS id,
                    (w.office_id = ANY (coalesce(p_orphans, '{}'))
                     AND w.since < now() - interval '2 seconds') AS orphan,
                    (w.move_to = p_node) AS asked
               FROM kolapp.office_owners w
              WHERE NOT EXISTS (SELECT 1 FROM kolapp.office_locks l
                                 WHERE l.office_id = w.office_id)
                AND NOT (w.office_id = ANY (coalesce(p_release, '{}')))
                AND (w.move_to IS NULL OR w.move_to = p_node
                     OR NOT EXISTS (SELECT 1 FROM kolapp.live_nodes n WHERE n.name = w.move_to))
              ORDER BY (w.move_to = p_node) DESC NULLS LAST, (w.node = p_node) DESC NULLS LAST,
                       w.office_id
    LOOP
        CONTINUE WHEN held >= target AND NOT r.orphan AND NOT coalesce(r.asked, false);
        IF pg_catalog.pg_try_advisory_lock(1802464353, r.id) THEN
            UPDATE kolapp.office_owners w
               SET node = p_node, epoch = w.epoch + 1, since = now(),
                   move_to = NULL
             WHERE w.office_id = r.id;
            held := held + 1;
        END IF;
    END LOOP;

    FOR r IN SELECT o.id, o.code, w.node AS owner, n.advertise AS addr, n.advertise_http AS http,
                    w.epoch AS ep, l.pid AS pid, w.move_to AS move_to, w.pinned AS pinned
               FROM kolapp.offices o
               JOIN kolapp.office_owners w ON w.office_id = o.id
               LEFT JOIN kolapp.office_locks l ON l.office_id = o.id
               LEFT JOIN kolapp.nodes n ON n.name = w.node
              ORDER BY (w.pinned IS NULL) DESC, o.id DESC
    LOOP
        office_id := r.id;
        office := r.code;
        mine := r.pid = me AND r.owner = p_node;
        node := CASE WHEN r.pid IS NOT NULL THEN r.owner END;
        advertise := CASE WHEN r.pid IS NOT NULL THEN r.addr END;
        advertise_http := CASE WHEN r.pid IS NOT NULL THEN r.http END;
        epoch := r.ep;
        release := false;
        IF mine AND r.move_to IS NOT NULL AND r.move_to <> p_node
           AND EXISTS (SELECT 1 FROM kolapp.live_nodes n WHERE n.name = r.move_to) THEN
            release := true;
        ELSIF mine AND r.pinned IS NULL AND gave < held - target
              AND EXISTS (SELECT 1 FROM kolapp.live_nodes n
                           WHERE n.name <> p_node
                             AND (SELECT count(*) FROM kolapp.office_locks l2
                                   WHERE l2.pid = n.pid) < noff / greatest(nlive, 1)) THEN
            -- More than its share while a live daemon has less than
            -- its own: one office at a time goes over.
            release := gave = 0;
            gave := gave + 1;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- The live daemons, for pages that look for another when theirs dies.
CREATE FUNCTION kolapp.d_nodes()
RETURNS TABLE (name text, advertise text, advertise_http text)
LANGUAGE sql STABLE AS $$
    SELECT n.name, n.advertise, n.advertise_http FROM kolapp.live_nodes n ORDER BY n.name
$$;

-- Fencing: a batch names the offices it writes and the epoch its daemon
-- holds each with. The transaction-level lock succeeds only if this
-- session holds the office's lock or nobody does (and then nobody else
-- can take it before this transaction ends); the epoch must be the
-- current one. Otherwise the batch fails and nothing of it is written.
CREATE FUNCTION kolapp.d_batch_mark(p_token text, p_after text, p_offices int[],
                                    p_epochs bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kolapp.d_batch_mark(p_token, p_after);
    FOR i IN 1 .. coalesce(cardinality(p_offices), 0) LOOP
        IF NOT pg_catalog.pg_try_advisory_xact_lock(1802464353, p_offices[i])
           OR NOT EXISTS (SELECT 1 FROM kolapp.office_owners w
                           WHERE w.office_id = p_offices[i] AND w.epoch = p_epochs[i]) THEN
            RAISE EXCEPTION 'office % is served by another daemon now (epoch % is stale)',
                p_offices[i], p_epochs[i]
                USING ERRCODE = 'lock_not_available';
        END IF;
    END LOOP;
END $$;

-- For admins: move an office to a live daemon on purpose. Its owner stops
-- taking changes for it, lets what is in flight commit, releases it, and
-- the target loads it; the office then stays there (pinned) until moved
-- again. kolapp.move_office(office, NULL) unpins it.
CREATE FUNCTION kolapp.move_office(office text, node text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    oid_ int;
    cur  text;
BEGIN
    SELECT o.id INTO oid_ FROM kolapp.offices o WHERE o.code = move_office.office;
    IF oid_ IS NULL THEN
        RAISE EXCEPTION 'no office %', move_office.office USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO kolapp.office_owners (office_id) VALUES (oid_) ON CONFLICT DO NOTHING;
    IF move_office.node IS NULL THEN
        UPDATE kolapp.office_owners w SET pinned = NULL, move_to = NULL WHERE w.office_id = oid_;
        RETURN format('office %s is no longer pinned', move_office.office);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM kolapp.live_nodes n WHERE n.name = move_office.node) THEN
        RAISE EXCEPTION 'no live daemon named %', move_office.node
            USING ERRCODE = 'no_data_found',
                  HINT = 'SELECT name FROM kolapp.live_nodes';
    END IF;
    SELECT w.node INTO cur FROM kolapp.office_owners w
      JOIN kolapp.office_locks l ON l.office_id = w.office_id WHERE w.office_id = oid_;
    UPDATE kolapp.office_owners w
       SET move_to = CASE WHEN cur IS NOT DISTINCT FROM move_office.node THEN NULL
                          ELSE move_office.node END,
           pinned = move_office.node
     WHERE w.office_id = oid_;
    IF cur IS NOT DISTINCT FROM move_office.node THEN
        RETURN format('office %s is served by %s already; pinned there',
                      move_office.office, move_office.node);
    END IF;
    RETURN format('office %s moves from %s to %s within seconds',
                  move_office.office, coalesce(cur, 'nobody'), move_office.node);
END $$;

ALTER FUNCTION kolapp.d_node_tick(text, text, text, int, int[], int[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_nodes() SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.d_batch_mark(text, text, int[], bigint[])
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;
ALTER FUNCTION kolapp.move_office(text, text)
    SECURITY DEFINER SET search_path = pg_catalog, kolapp;

REVOKE ALL ON kolapp.nodes, kolapp.office_owners FROM PUBLIC;
REVOKE ALL ON FUNCTION kolapp.d_node_tick(text, text, text, int, int[], int[]), kolapp.d_nodes(),
    kolapp.d_batch_mark(text, text, int[], bigint[]), kolapp.move_office(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kolapp.d_node_tick(text, text, text, int, int[], int[]),
    kolapp.d_nodes(), kolapp.d_batch_mark(text, text, int[], bigint[]) TO kolapp_daemon;
GRANT EXECUTE ON FUNCTION kolapp.move_office(text, text) TO kolapp_admin;
GRANT SELECT ON kolapp.nodes, kolapp.live_nodes, kolapp.office_owners, kolapp.office_service
    TO kolapp_admin, kolapp_report;
GRANT SELECT ON kolapp.live_nodes TO kolapp_daemon;  -- a daemon without a name checks it is alone
