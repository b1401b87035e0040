/* Unit tests of the engine's write-through over a store that commits,
 * fails and reloads when the test says so (fake_store.c), without
 * PostgreSQL: replies and events wait for the commit, a failed batch
 * answers every request in it (and behind it) `unavailable` and the
 * engine reloads what was committed. test_engine_model runs the same
 * engine through a seeded model run. */
#include "tests/unit/store_fixture.h"
#include "daemon/engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- commits ---------------------------------------------------------- */

/* Rows come grouped by office, and the load remembers where it found the
 * last one: tickets of two offices interleaved must still each land in
 * their own office's queue. */
START_TEST(load_places_interleaved_offices)
{
	static const struct store_office offices[] = {
		{ .id = 7,
		  .code = "a",
		  .name = "A",
		  .tz = "UTC",
		  .checkin_before_s = 1800,
		  .checkin_after_s = 600 },
		{ .id = 9,
		  .code = "b",
		  .name = "B",
		  .tz = "UTC",
		  .checkin_before_s = 1800,
		  .checkin_after_s = 600 }
	};
	static const struct store_queue queues[] = {
		{ .id = 71,
		  .office_id = 7,
		  .code = "S",
		  .name = "S",
		  .open = true,
		  .active = true },
		{ .id = 91,
		  .office_id = 9,
		  .code = "S",
		  .name = "S",
		  .open = true,
		  .active = true },
	};
	/* T0 is 2026-06-10 in UTC; the engine's clock is the fixture's. */
	struct store_ticket t[5] = {
		{ .office_id = 7,
		  .day = (int32_t)(T0 / (INT64_C(86400) * 1000000)),
		  .origin_queue_id = 71,
		  .queue_id = 71,
		  .number = 1,
		  .code = "S-001",
		  .state = "waiting",
		  .issued_at = T0,
		  .sort_at = T0 },
		{ .office_id = 9,
		  .day = (int32_t)(T0 / (INT64_C(86400) * 1000000)),
		  .origin_queue_id = 91,
		  .queue_id = 91,
		  .number = 1,
		  .code = "S-001",
		  .state = "waiting",
		  .issued_at = T0,
		  .sort_at = T0 },
		{ .office_id = 7,
		  .day = (int32_t)(T0 / (INT64_C(86400) * 1000000)),
		  .origin_queue_id = 71,
		  .queue_id = 71,
		  .number = 2,
		  .code = "S-002",
		  .state = "waiting",
		  .issued_at = T0,
		  .sort_at = T0 },
		{ .office_id = 9,
		  .day = (int32_t)(T0 / (INT64_C(86400) * 1000000)),
		  .origin_queue_id = 91,
		  .queue_id = 91,
		  .number = 2,
		  .code = "S-002",
		  .state = "waiting",
		  .issued_at = T0,
		  .sort_at = T0 },
		/* A code the database allows (leading zeros) but too long for
		 * the engine's: left out, not cut to another ticket's code. */
		{ .office_id = 7,
		  .day = (int32_t)(T0 / (INT64_C(86400) * 1000000)),
		  .origin_queue_id = 71,
		  .queue_id = 71,
		  .number = 3,
		  .code = "S-0000000000000003",
		  .state = "waiting",
		  .issued_at = T0,
		  .sort_at = T0 },
	};
	static const int order[5] = { 0, 1, 2, 3, 4 };
	const struct store_snapshot snap = {
		.offices = offices,
		.noffices = 2,
		.queues = queues,
		.nqueues = 2,
		.ticket_order = order,
		.ntickets = 5
	};
	struct office **offs;
	int n;

	for (int i = 0; i < 5; i++)
		engine_take_ticket_row(eng, &t[i]);
	engine_build_offices(eng, &snap, &offs, &n);
	ck_assert_int_eq(n, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(offs[i]->nqueues, 1);
		ck_assert_int_eq(offs[i]->queues[0]->ntoday, 2);
		ck_assert_int_eq(offs[i]->queues[0]->waiting.n, 2);
		office_free(offs[i]);
	}
	free(offs);
}
END_TEST

/* A load that fails after its rows came leaves nothing of them: the
 * engine is stale, and the next load places each ticket once. */
START_TEST(load_failing_midway_drops_its_rows)
{
	issue_committed("S", NULL, "S-001");
	issue_committed("S", NULL, "S-002");
	issue_committed("F", NULL, "F-001");
	fake_store_fail_loads_midway(fs, 1);
	engine_load(eng);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	ck_assert(engine_is_stale(eng));
	engine_load(eng);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	assert_engine_matches_db();
}
END_TEST

START_TEST(reply_waits_for_commit)
{
	size_t nev = json_array_size(events);
	const struct fake_ticket *t;
	struct rq *r, *call, *start;

	r = submit(OP_ISSUE, NULL, "S", NULL, "kiosk-1");
	expect_pending(r);
	ck_assert_int_eq(json_array_size(events), nev);
	ck_assert_int_eq(fake_store_batches(fs), 1);
	ck_assert_int_eq(fake_store_open_writes(fs), 1);
	ck_assert_ptr_null(db_ticket("S-001"));
	fake_store_send(fs);
	expect_pending(r); /* sent is not committed */
	ck_assert_int_eq(json_array_size(events), nev);
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(r, PROTO_OK);
	ck_assert_str_eq(rq_code(r), "S-001");
	/* The events went out first: subscribers learn no later than the caller. */
	ck_assert_uint_eq(r->nev, nev + 2);
	ck_assert_str_eq(str(json_array_get(events, nev), "event"), "issued");
	ck_assert_str_eq(str(json_array_get(events, nev), "ticket"), "S-001");
	ck_assert_str_eq(str(json_array_get(events, nev + 1), "event"), "queue");
	t = db_ticket("S-001");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->state, "waiting");
	ck_assert_int_eq(t->origin_queue_id, 1);
	ck_assert_int_eq(t->queue_id, 1);
	ck_assert_int_eq(t->number, 1);
	ck_assert_str_eq(t->key, "kiosk-1");
	ck_assert(t->issued_at == T0 && t->sort_at == T0);
	ck_assert_int_eq(t->counter_id, 0);

	/* Two changes of one counter in one batch: answered in order. */
	now_us += 10 * SEC;
	call = submit(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	now_us += 10 * SEC;
	start = submit(OP_START, "1", NULL, NULL, NULL);
	expect_pending(call);
	expect_pending(start);
	ck_assert_int_eq(fake_store_batches(fs), 1);
	ck_assert_int_eq(fake_store_open_writes(fs), 2);
	ck_assert_str_eq(db_ticket("S-001")->state, "waiting");
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(call, PROTO_OK);
	expect_later(start, PROTO_OK);
	ck_assert_uint_lt(call->nev, start->nev);
	t = db_ticket("S-001");
	ck_assert_str_eq(t->state, "serving");
	ck_assert_int_eq(t->counter_id, 1);
	ck_assert(t->called_at == T0 + 10 * SEC && t->started_at == T0 + 20 * SEC);
	assert_engine_matches_db();
}
END_TEST

/* ---- failures --------------------------------------------------------- */

START_TEST(failed_batch_answers_everyone_unavailable)
{
	struct rq *in[7];
	size_t nev;

	issue_committed("S", NULL, "S-001");
	issue_committed("S", NULL, "S-002");
	issue_committed("F", NULL, "F-001");
	committed(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	nev = json_array_size(events);
	/* One batch: issues, calls from two counters, a recall built on a
	 * call in the same batch, a counter opened. */
	now_us += SEC;
	in[0] = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	in[1] = submit(OP_ISSUE, NULL, "F", NULL, "kiosk-9");
	in[2] = submit(OP_CALL_NEXT, "1", NULL, NULL, NULL); /* finishes S-001, calls S-002 */
	in[3] = submit(OP_CALL_NEXT, "2", NULL, NULL, NULL); /* calls F-001 */
	in[4] = submit(OP_RECALL, "1", NULL, NULL, NULL);
	in[5] = submit(OP_COUNTER_OPEN, "3", NULL, NULL, NULL);
	in[6] = submit(OP_CALL, "3", NULL, "F-002", NULL);
	for (int i = 0; i < 7; i++)
		expect_pending(in[i]);
	ck_assert_int_eq(fake_store_batches(fs), 1);
	ck_assert_int_eq(fake_store_open_writes(fs), 8);
	ck_assert_int_eq(fake_store_commit_next(fs, false), 0);
	for (int i = 0; i < 7; i++)
		expect_later(in[i], PERR_UNAVAILABLE);
	ck_assert_int_eq(json_array_size(events), nev); /* none of theirs */
	/* Memory may hold what the database does not: stale until reloaded. */
	ck_assert(engine_is_stale(eng));
	ck_assert_int_eq(sub(OP_STATUS, NULL, NULL, NULL, NULL), PROTO_OK);
	ck_assert(json_is_true(res("stale")));
	ck_assert_int_eq(fake_store_loads(fs), 1);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "P", NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "F", NULL, "kiosk-9"), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(fake_store_batches(fs), 0);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	ck_assert_int_eq(json_array_size(events), nev);
	assert_engine_matches_db();
	ck_assert_str_eq(held("1"), "S-001");
	ck_assert_str_eq(held("2"), "");
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "F-002", NULL), PERR_NOT_FOUND);
	ck_assert(json_is_false(json_object_get(status_entry("counters", "name", "3"), "open")));
	/* and it serves again, numbering from what was committed */
	issue_committed("S", NULL, "S-003");
	issue_committed("F", "kiosk-9", "F-002");
	ck_assert_int_eq(fake_store_nrefused(fs), 0);
}
END_TEST

/* A row written behind the daemon's back takes the number the engine
 * gives next: the database refuses the batch, the engine answers
 * `unavailable` and learns the row from the reload. */
START_TEST(refused_write_fails_its_batch)
{
	const char *v[] = {
		"1",     "1",  "2026-06-10", "1",  "S-001", NULL, "2026-06-10T07:00:00.000Z",
		"false", NULL, NULL,         NULL, NULL
	};
	struct rq *issue, *call;

	ck_assert_int_eq(fake_store_exec(fs, "d_issue", 12, v), 0);
	issue = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	call = submit(OP_CALL_NEXT, "1", NULL, NULL, NULL); /* calls the engine's S-001 */
	ck_assert_int_eq(fake_store_commit_next(fs, true), 0);
	ck_assert_int_eq(fake_store_nrefused(fs), 1);
	ck_assert_ptr_nonnull(strstr(fake_store_refusal(fs), "unique violation"));
	expect_later(issue, PERR_UNAVAILABLE);
	expect_later(call, PERR_UNAVAILABLE);
	ck_assert_str_eq(db_ticket("S-001")->state, "waiting");
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	assert_engine_matches_db();
	ck_assert_str_eq(str(ticket("S-001"), "issued_at"), "2026-06-10T07:00:00.000Z");
	issue_committed("S", NULL, "S-002");
}
END_TEST

START_TEST(batch_behind_failed_one_fails)
{
	struct rq *first, *inflight, *unsent[2];

	first = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	fake_store_send(fs);
	inflight = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	fake_store_send(fs);
	unsent[0] = submit(OP_ISSUE, NULL, "F", NULL, NULL);
	unsent[1] = submit(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	ck_assert_int_eq(fake_store_batches(fs), 3);
	ck_assert_int_eq(fake_store_commit_next(fs, false), 0);
	expect_later(first, PERR_UNAVAILABLE);
	/* Not sent yet: failed at once (fail_unsent). */
	expect_later(unsent[0], PERR_UNAVAILABLE);
	expect_later(unsent[1], PERR_UNAVAILABLE);
	/* Sent: its own commit answers, and d_batch_mark makes it fail. */
	expect_pending(inflight);
	ck_assert_int_eq(fake_store_batches(fs), 1);
	ck_assert_int_eq(fake_store_loads(fs), 1);
	ck_assert_int_eq(fake_store_run_loads(fs), 0); /* queued behind it */
	ck_assert_int_eq(fake_store_commit_next(fs, true), 0);
	expect_later(inflight, PERR_UNAVAILABLE);
	ck_assert_int_eq(fake_store_nrefused(fs), 0);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	ck_assert_int_eq(fake_store_ntickets(fs), 0);
	assert_engine_matches_db();
	issue_committed("S", NULL, "S-001");
}
END_TEST

/* ---- the database away ------------------------------------------------ */

START_TEST(store_down_refuses_changes_reads_answer)
{
	struct rq *indoubt, *unsent;
	size_t nev;

	issue_committed("S", "k1", "S-001");
	issue_committed("S", NULL, "S-002");
	issue_committed("F", NULL, "F-001");
	committed(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	indoubt = submit(OP_CALL_NEXT, "2", NULL, NULL, NULL); /* F-001 */
	fake_store_send(fs);
	unsent = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	fake_store_set_up(fs, false);
	engine_db_state(eng, false);
	/* The lost connection fails what was not sent; what was sent waits
	 * for its outcome. */
	expect_later(unsent, PERR_UNAVAILABLE);
	expect_pending(indoubt);
	nev = json_array_size(events);

	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, "k1"), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_TRANSFER, "1", "P", NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-002", NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "1", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "3", NULL, NULL, NULL), PERR_UNAVAILABLE);
	ck_assert_int_eq(fake_store_batches(fs), 1); /* only the one in doubt */
	ck_assert_int_eq(json_array_size(events), nev);
	/* Reads answer from memory; status says it is stale. */
	ck_assert_int_eq(sub(OP_STATUS, NULL, NULL, NULL, NULL), PROTO_OK);
	ck_assert(json_is_true(res("stale")));
	ck_assert_str_eq(str(ticket("S-001"), "state"), "called");
	expect_position("S-002", 1);
	/* Nothing to change: answered. */
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "1", NULL, NULL, NULL), PROTO_OK);

	/* Back: the batch in doubt had committed; then the reload. */
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(indoubt, PROTO_OK);
	ck_assert_str_eq(rq_code(indoubt), "F-001");
	fake_store_set_up(fs, true);
	engine_db_state(eng, true);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	assert_engine_matches_db();
	ck_assert_str_eq(held("2"), "F-001");
	issue_committed("S", NULL, "S-003");
}
END_TEST

/* ---- idempotency ------------------------------------------------------ */

START_TEST(idempotent_issue_waits_for_pending_batch)
{
	struct rq *a, *b, *c, *d, *e, *f;
	size_t nev = json_array_size(events);

	/* In the same batch. */
	a = submit(OP_ISSUE, NULL, "S", NULL, "k1");
	now_us += SEC;
	b = submit(OP_ISSUE, NULL, "S", NULL, "k1");
	expect_pending(a);
	expect_pending(b);
	ck_assert_int_eq(fake_store_open_writes(fs), 1);
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(a, PROTO_OK);
	expect_later(b, PROTO_OK);
	ck_assert_str_eq(rq_code(a), "S-001");
	ck_assert_str_eq(rq_code(b), "S-001");
	ck_assert_uint_eq(json_array_size(events), nev + 2); /* one issue */
	ck_assert_int_eq(fake_store_ntickets(fs), 1);

	/* The first in a batch already sent, the retry behind a later one:
	 * it waits for the first only. */
	a = submit(OP_ISSUE, NULL, "S", NULL, "k2");
	fake_store_send(fs);
	c = submit(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	b = submit(OP_ISSUE, NULL, "S", NULL, "k2");
	expect_pending(b);
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(a, PROTO_OK);
	expect_later(b, PROTO_OK);
	ck_assert_str_eq(rq_code(b), "S-002");
	expect_pending(c);
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(c, PROTO_OK);

	/* The first fails: so does the retry that waited for it. */
	d = submit(OP_ISSUE, NULL, "S", NULL, "k3");
	fake_store_send(fs);
	e = submit(OP_ISSUE, NULL, "S", NULL, "k3");
	expect_pending(e);
	ck_assert_int_eq(fake_store_commit_next(fs, false), 0);
	expect_later(d, PERR_UNAVAILABLE);
	expect_later(e, PERR_UNAVAILABLE);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	assert_engine_matches_db();
	/* Never committed, so the key issues now, with the next number. */
	f = submit(OP_ISSUE, NULL, "S", NULL, "k3");
	expect_pending(f);
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	expect_later(f, PROTO_OK);
	ck_assert_str_eq(rq_code(f), "S-003");
	ck_assert_str_eq(db_ticket("S-003")->key, "k3");
	/* Committed, and loaded or not: the same ticket at once. */
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "F", NULL, "k3"), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), "S-003");
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, "k1"), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), "S-001");
	ck_assert_int_eq(fake_store_batches(fs), 0);
	ck_assert_int_eq(fake_store_ntickets(fs), 3);
}
END_TEST

START_TEST(numbering_continues_after_reload)
{
	struct rq *lost[3];

	issue_committed("S", NULL, "S-001");
	issue_committed("S", NULL, "S-002");
	issue_committed("S", NULL, "S-003");
	issue_committed("F", NULL, "F-001");
	lost[0] = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	lost[1] = submit(OP_ISSUE, NULL, "S", NULL, NULL);
	lost[2] = submit(OP_ISSUE, NULL, "F", NULL, NULL);
	ck_assert_int_eq(fake_store_commit_next(fs, false), 0);
	for (int i = 0; i < 3; i++)
		expect_later(lost[i], PERR_UNAVAILABLE);
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	assert_engine_matches_db();
	/* No gap among committed numbers, no number given twice. */
	issue_committed("S", NULL, "S-004");
	issue_committed("F", NULL, "F-002");
	issue_committed("P", NULL, "P-001");
	ck_assert_int_eq(fake_store_ntickets(fs), 7);
	assert_engine_matches_db();
}
END_TEST

/* ---- midnight --------------------------------------------------------- */

START_TEST(midnight_expires_in_database)
{
	size_t nev;
	struct rq *fin;

	now_us = T0 + 15 * 3600 * SEC; /* 23:00 */
	issue_committed("S", NULL, "S-001");
	issue_committed("S", NULL, "S-002");
	issue_committed("S", NULL, "S-003");
	committed(OP_CALL_NEXT, "1", NULL, NULL, NULL);
	committed(OP_START, "1", NULL, NULL, NULL);
	committed(OP_CALL, "2", NULL, "S-002", NULL);
	nev = json_array_size(events);
	now_us = T0 + 16 * 3600 * SEC + SEC; /* 00:00:01 on 2026-06-11 */
	engine_tick(eng);
	ck_assert_int_eq(fake_store_batches(fs), 1);
	ck_assert_uint_eq(json_array_size(events), nev); /* not before the commit */
	ck_assert_int_eq(fake_store_commit_next(fs, true), 1);
	ck_assert_uint_gt(json_array_size(events), nev);
	ck_assert_str_eq(db_ticket("S-001")->state, "serving");
	ck_assert_str_eq(db_ticket("S-002")->state, "expired");
	ck_assert_str_eq(db_ticket("S-003")->state, "expired");
	ck_assert(db_ticket("S-003")->finished_at == now_us);
	/* A reload on the new day: the ticket served over midnight stays
	 * with its counter, numbering starts again. */
	engine_db_state(eng, true);
	fake_store_settle(fs);
	ck_assert(!engine_is_stale(eng));
	ck_assert_str_eq(held("1"), "S-001");
	ck_assert_str_eq(held("2"), "");
	ck_assert_int_eq(waiting_count("S"), 0);
	issue_committed("S", NULL, "S-001");
	fin = committed(OP_FINISH, "1", NULL, NULL, NULL);
	ck_assert_str_eq(str(json_object_get(fin->res, "ticket"), "state"), "done");
	ck_assert_str_eq(db_ticket("S-001")->state, "done"); /* yesterday's */
	today++;
	ck_assert_str_eq(db_ticket("S-001")->state, "waiting");
	assert_engine_matches_db();
}
END_TEST

static Suite *engine_store_suite(void)
{
	Suite *s = suite_create("engine_store");
	TCase *tc = tcase_create("engine_store");

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reply_waits_for_commit);
	tcase_add_test(tc, load_places_interleaved_offices);
	tcase_add_test(tc, load_failing_midway_drops_its_rows);
	tcase_add_test(tc, failed_batch_answers_everyone_unavailable);
	tcase_add_test(tc, refused_write_fails_its_batch);
	tcase_add_test(tc, batch_behind_failed_one_fails);
	tcase_add_test(tc, store_down_refuses_changes_reads_answer);
	tcase_add_test(tc, idempotent_issue_waits_for_pending_batch);
	tcase_add_test(tc, numbering_continues_after_reload);
	tcase_add_test(tc, midnight_expires_in_database);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
