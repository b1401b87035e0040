-- Migrations 18 and 20 guard a queue's and a counter's tickets reading
-- them with the transaction's snapshot, so outside READ COMMITTED they
-- refuse to delete or renumber either rather than miss a ticket
-- committed meanwhile.
BEGIN ISOLATION LEVEL REPEATABLE READ;
\ir fixture.psql
SELECT plan(4);

SELECT throws_ok(format($$DELETE FROM kolapp.queues WHERE id = %s$$, :qu), '55000',
    'queue U (id ' || :qu || ') can be deleted or renumbered only in READ COMMITTED',
    'REPEATABLE READ: a queue is not deleted, even one no ticket was issued to');
SELECT throws_ok(format($$UPDATE kolapp.queues SET id = id + 100000 WHERE id = %s$$, :qu), '55000', NULL,
    'nor renumbered');
SELECT throws_ok(format($$DELETE FROM kolapp.counters WHERE id = %s$$, :c3), '55000',
    'counter C3 (id ' || :c3 || ') can be deleted or renumbered only in READ COMMITTED',
    'nor a counter (migration 20)');
SELECT lives_ok($$UPDATE kolapp.queues SET name = 'Unemployment office' WHERE code = 'U'$$,
    'its other columns can change');

SELECT * FROM finish();
ROLLBACK;
