-- kolapp schema, migration 13: the same guarantees for less of the
-- backend's time per ticket (issue 17). Run by `kolappd --migrate` inside
-- one transaction (no BEGIN/COMMIT here).
--
-- Under group commit the one backend per daemon is what limits durable
-- issues per second, and every CHECK runs on every INSERT and UPDATE of a
-- ticket (each issue, call, start and finish).

-- "The code ends in the number" as a regular expression built from each
-- row's number: PostgreSQL caches 32 compiled expressions, so nearly every
-- row compiled a new one. Measured on the 2-core machine (shared, loaded):
-- 200,000 rows of generate_series took 2.2-2.9 s with the expression and
-- 0.13-0.31 s with this one (0.09-0.21 s with neither), about 10 us a row
-- saved. Same rule: tickets_code_check makes the code one letter and up to
-- three more, a dash and three digits or more, so the part after the dash
-- without its leading zeros is the number.
ALTER TABLE kolapp.tickets
    DROP CONSTRAINT tickets_code_number,
    ADD CONSTRAINT tickets_code_number
        CHECK (ltrim(split_part(code, '-', 2), '0') = number::text);

-- tickets.office_id's own key to offices is implied: the composite key
-- (origin_queue_id, office_id) -> queues (id, office_id) makes it the
-- office of an existing queue, a queue's office cannot change
-- (queues_office_fixed) and an office with queues cannot be deleted
-- (queues.office_id ON DELETE RESTRICT). One lookup a ticket less; an
-- office that does not exist is still refused (tests/sql/constraints.sql).
ALTER TABLE kolapp.tickets DROP CONSTRAINT tickets_office_id_fkey;
