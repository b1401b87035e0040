-- kolapp schema, migration 25: the open tickets' index keys on the day
-- too, so that the daemon's start-up reads no finished ticket of a day it
-- does not load (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- The start-up load (load_tickets, daemon/store/statements.c) wants each
-- office's own days (kolapp.d_load_days) whole, and the open tickets of
-- any earlier day. It read every ticket since the server's yesterday
-- through the day index and kept those: a restart in the morning read
-- all of yesterday's finished tickets of every office to keep none of
-- them. It now starts the day index at the earliest day it loads (today
-- but in an office's first hour), and takes each office's open tickets
-- before that day through this index, (office_id, business_day) where it
-- was (office_id). d_expire (an office's open tickets before a day) finds
-- its rows by the same range. business_day never changes, so the updates
-- that were HOT stay HOT.
-- Over the benchmark's year of history (150 offices, 55 tickets a day),
-- the load read yesterday's 8,250 finished tickets to keep none; now it
-- reads no row (EXPLAIN ANALYZE). A real office's yesterday is a whole
-- day of tickets.

DROP INDEX kolapp.tickets_office_open_idx;
CREATE INDEX tickets_office_open_idx ON kolapp.tickets (office_id, business_day)
    WHERE finished_at IS NULL;
