-- Migration 18's guard of a queue's tickets reads them with the
-- transaction's snapshot, so outside READ COMMITTED it refuses to delete
-- or renumber a queue rather than miss a ticket committed meanwhile.
BEGIN ISOLATION LEVEL REPEATABLE READ;
\ir fixture.psql
SELECT plan(3);

SELECT throws_ok(format($$DELETE FROM kolapp.queues WHERE id = %s$$, :qu), '55000',
    'queue U (id ' || :qu || ') can be deleted or renumbered only in READ COMMITTED',
    'REPEATABLE READ: a queue is not deleted, even one no ticket was issued to');
SELECT throws_ok(format($$UPDATE kolapp.queues SET id = id + 100000 WHERE id = %s$$, :qu), '55000', NULL,
    'nor renumbered');
SELECT lives_ok($$UPDATE kolapp.queues SET name = 'Unemployment office' WHERE code = 'U'$$,
    'its other columns can change');

SELECT * FROM finish();
ROLLBACK;
