-- What every issued ticket costs the database, trimmed of checks and
-- indexes that guard nothing another one does not already guard. Under
-- group commit the database's one backend per daemon is what limits
-- durable issues per second; each foreign key is a lookup per row, each
-- index an insertion per row.

-- An event's office and queue are copied by the d_* functions from its
-- ticket (or from the arguments the same statement wrote into the ticket),
-- and the ticket's own foreign keys check them in that statement. The
-- event keeps its key to the ticket, and to the counter (a counter on a
-- ticket can change later; its events name it).
ALTER TABLE kolapp.ticket_events
    DROP CONSTRAINT IF EXISTS ticket_events_office_id_fkey,
    DROP CONSTRAINT IF EXISTS ticket_events_queue_id_fkey;

-- (office_id, business_day) is the prefix of the unique index on
-- (office_id, business_day, code), which serves the same lookups.
DROP INDEX IF EXISTS kolapp.tickets_office_day_idx;

-- Waiting tickets have no counter; the index behind the counter's foreign
-- key needs only the tickets that have one.
DROP INDEX IF EXISTS kolapp.tickets_counter_idx;
CREATE INDEX tickets_counter_idx ON kolapp.tickets (counter_id) WHERE counter_id IS NOT NULL;
-- (The statistics views, whose comment in migration 2 names it, reach
-- the unique index instead: same leading columns.)
