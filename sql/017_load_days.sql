-- kolapp schema, migration 17: the days of each office that kolappd's
-- start-up reads all tickets of (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- The start-up load read every ticket from the server's yesterday on,
-- because an office's business day is within a day of the server's. In
-- the afternoon that is all of yesterday's finished tickets as well as
-- today's: for a country, as many rows again as the day it needs, which
-- the daemon then threw away. It now reads, of each office, all tickets
-- of its own day on, and of earlier days only those not yet in a final
-- state (a visit served over midnight, a ticket the night did not
-- expire), as before.
--
-- The office's day is taken an hour ago: the daemon's clock and the
-- database's may differ a little near midnight, and a day read too early
-- costs only rows the daemon drops. A zone this server no longer knows
-- (time-zone data drops old aliases on upgrades) gives the server's
-- yesterday in UTC, as before this migration, instead of failing the
-- whole load; the daemon itself warns and counts such an office's day in
-- UTC. is_valid_timezone costs about 4 ms of a cold start-up for 150
-- offices (7 ms for the function without it, 11 ms with).

CREATE FUNCTION kolapp.d_load_days() RETURNS TABLE (office_id int, day date)
LANGUAGE sql STABLE AS $$
    SELECT f.id, g::date
      FROM kolapp.offices f,
           generate_series(CASE WHEN kolapp.is_valid_timezone(f.timezone)
                                THEN ((now() - interval '1 hour') AT TIME ZONE f.timezone)::date
                                ELSE (now() AT TIME ZONE 'UTC')::date - 1 END,
                           current_date + 1, interval '1 day') AS g
$$;

-- Last: every d_ function this migration created or replaced.
CALL kolapp.secure_daemon_functions();
