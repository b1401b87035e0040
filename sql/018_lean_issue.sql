-- kolapp schema, migration 18: a ticket's insert checks its origin queue
-- once per statement, not once per row (issue 17).
-- Run by `kolappd --migrate` inside one transaction.
--
-- Each issued ticket paid, inside d_issue_many, for three lookups of its
-- queue: the row trigger tickets_check_insert (a plpgsql call and a
-- query, for the code's prefix) and two foreign keys, (queue_id,
-- office_id) and (origin_queue_id, office_id), which at issue name the
-- same queue. Measured in a DO loop of 500 calls of 32 tickets, rolled
-- back, best of four on an empty database (tests/bench/issue_cost.sql is
-- that loop; tools/bench prints it): 36.0 us a ticket before, 31.1
-- after; with none of the three checks at all, 29.1.
--
-- What stays the same:
--   * a ticket's code starts with its origin queue's code (23514, the
--     same message as before);
--   * its origin queue is a queue of its office (23503), at insert and
--     for as long as the ticket exists: a queue that tickets were issued
--     to cannot be deleted nor its id changed (23503);
--   * concurrency: at insert the origin queue is locked FOR KEY SHARE as
--     the foreign key did. When origin and queue are the same, which is
--     every insert the daemon makes, the queue_id foreign key takes that
--     lock already, so the statement takes it only for other rows. The
--     queue's side reads tickets with its transaction's snapshot, which
--     in REPEATABLE READ or SERIALIZABLE could miss a ticket committed
--     since (a foreign key checks with a newer one): so a queue is
--     deleted or renumbered in READ COMMITTED only (55000 otherwise).
-- What differs: a statement with several faults may be refused for
-- another of them than before (the checks now run after the row's own
-- CHECKs and keys), and the origin error names no constraint.
-- The foreign key of queue_id stays: it moves with transfers.

DROP TRIGGER tickets_check_insert ON kolapp.tickets;
DROP FUNCTION kolapp.tickets_check_insert();
ALTER TABLE kolapp.tickets DROP CONSTRAINT tickets_origin_queue_id_office_id_fkey;

CREATE FUNCTION kolapp.tickets_check_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF EXISTS (SELECT 1 FROM inserted n WHERE n.origin_queue_id <> n.queue_id) THEN
        PERFORM 1 FROM kolapp.queues q
         WHERE q.id IN (SELECT n.origin_queue_id FROM inserted n)
           FOR KEY SHARE;
    END IF;
    SELECT n.id, n.code, n.origin_queue_id, n.office_id, q.code AS qcode INTO bad
      FROM inserted n
      LEFT JOIN kolapp.queues q ON q.id = n.origin_queue_id AND q.office_id = n.office_id
     WHERE q.code IS DISTINCT FROM split_part(n.code, '-', 1)
     ORDER BY n.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.qcode IS NULL THEN
        RAISE EXCEPTION 'ticket %: its origin queue % is not a queue of office %',
            bad.code, bad.origin_queue_id, bad.office_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RAISE EXCEPTION 'ticket code % does not start with its queue''s code %', bad.code, bad.qcode
        USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER tickets_check_inserted AFTER INSERT ON kolapp.tickets
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION kolapp.tickets_check_inserted();

-- The other half of the dropped key. Index: the unique key on
-- (origin_queue_id, business_day, number).
CREATE FUNCTION kolapp.queues_keep_origin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'queue % (id %) can be deleted or renumbered only in READ COMMITTED',
            OLD.code, OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'In ' || pg_catalog.current_setting('transaction_isolation')
                           || ' a ticket issued to it since the transaction began would not be seen.';
    END IF;
    IF EXISTS (SELECT 1 FROM kolapp.tickets t WHERE t.origin_queue_id = OLD.id) THEN
        RAISE EXCEPTION 'queue % (id %) has tickets issued to it', OLD.code, OLD.id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'A queue that was used is retired with kolapp.deactivate_queue(office, queue).';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER queues_keep_origin BEFORE DELETE OR UPDATE OF id ON kolapp.queues
    FOR EACH ROW EXECUTE FUNCTION kolapp.queues_keep_origin();
