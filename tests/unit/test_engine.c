/* Unit tests of the queue engine without a database: numbering, the rank
 * rule, transitions, positions. Estimates, midnight, events and status
 * are in test_engine_day.c. */
#include "tests/unit/engine_fixture.h"
#include "daemon/engine/ticket_state.h"

#include <stdlib.h>
#include <string.h>

START_TEST(numbering_per_queue)
{
	json_t *t;

	issue_ok("S", NULL, "S-001");
	t = res("ticket");
	ck_assert_str_eq(str(t, "queue"), "S");
	ck_assert_int_eq(num(t, "number"), 1);
	ck_assert_str_eq(str(t, "state"), "waiting");
	ck_assert_str_eq(str(t, "issued_at"), "2026-06-10T08:00:00.000Z");
	assert_null(t, "counter");
	ck_assert_int_eq(num(t, "position"), 1);
	ck_assert_ptr_nonnull(json_object_get(t, "estimated_wait_s"));
	issue_ok("S", NULL, "S-002");
	ck_assert_int_eq(num(res("ticket"), "number"), 2);
	issue_ok("F", NULL, "F-001");
	ck_assert_int_eq(num(res("ticket"), "position"), 1);
	issue_ok("S", NULL, "S-003");
	issue_ok("F", NULL, "F-002");
	ck_assert_int_eq(waiting_count("S"), 3);
	ck_assert_int_eq(waiting_count("F"), 2);
	ck_assert_int_eq(waiting_count("P"), 0);
}
END_TEST

START_TEST(numbering_beyond_999)
{
	char want[16];

	for (int n = 1; n <= 1001; n++) {
		snprintf(want, sizeof want, n < 1000 ? "S-%03d" : "S-%d", n);
		issue_ok("S", NULL, want);
	}
	ck_assert_int_eq(num(ticket("S-1000"), "number"), 1000);
	ck_assert_int_eq(num(ticket("S-999"), "position"), 999);
	ck_assert_int_eq(num(ticket("S-1001"), "position"), 1001);
	ck_assert_int_eq(num(ticket("S-010"), "number"), 10);
}
END_TEST

START_TEST(issue_closed_and_unknown)
{
	engine_test_set_queue_open(eng, 1, "S", false);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PERR_QUEUE_CLOSED);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "X", NULL, NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "", NULL, NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(json_array_size(events), 0);
	ck_assert_int_eq(waiting_count("S"), 0);
	ck_assert(!json_is_true(json_object_get(status_entry("queues", "code", "S"), "open")));
	engine_test_set_queue_open(eng, 1, "S", true);
	issue_ok("S", NULL, "S-001"); /* the refusals consumed no number */
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "S-002", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "X-001", NULL), PERR_NOT_FOUND);
}
END_TEST

/* Ticket hours (sql/016) close a queue to new tickets only: before and
 * after them the kiosk is refused, the queue still shows open (its
 * waiting visitors are still called) but not issuing, and the tick at
 * each boundary sends the change. */
START_TEST(ticket_hours_close_the_kiosk_only)
{
	int64_t hours[] = { now_us + 60 * SEC, now_us + 120 * SEC };
	json_t *ev;

	issue_ok("S", NULL, "S-001");
	add_counter(1, "1", true, 1, 1, 1);
	ck_assert_int_eq(engine_test_set_queue_hours(eng, 1, "S", hours, 2), 0);
	engine_tick(eng);
	ev = last_event("queue");
	ck_assert_ptr_nonnull(ev);
	ck_assert(json_is_false(json_object_get(ev, "issuing")));
	ck_assert(json_is_true(json_object_get(ev, "open")));
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PERR_QUEUE_CLOSED);
	ck_assert_msg(strstr(r_msg, "ticket hours"), "%s", r_msg);
	ck_assert(json_is_false(json_object_get(status_entry("queues", "code", "S"), "issuing")));
	ck_assert(json_is_true(json_object_get(status_entry("queues", "code", "P"), "issuing")));
	issue_ok("F", NULL, "F-001");     /* other queues are not concerned */
	call_next_ok("1", "S-001", NULL); /* S's visitors are still called */

	size_t before = json_array_size(events);

	now_us += 60 * SEC;
	engine_tick(eng);
	ck_assert_int_eq(json_array_size(events), before + 1);
	ck_assert(json_is_true(json_object_get(last_event("queue"), "issuing")));
	issue_ok("S", NULL, "S-002");
	before = json_array_size(events);
	engine_tick(eng); /* nothing changed: nothing sent */
	ck_assert_int_eq(json_array_size(events), before);
	now_us += 60 * SEC;
	engine_tick(eng);
	ck_assert(json_is_false(json_object_get(last_event("queue"), "issuing")));
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PERR_QUEUE_CLOSED);
	/* Without a plan it takes tickets whenever it is open. */
	ck_assert_int_eq(engine_test_set_queue_hours(eng, 1, "S", NULL, 0), 0);
	issue_ok("S", NULL, "S-003");
}
END_TEST

START_TEST(idempotency_key)
{
	issue_ok("S", "kiosk1-42", "S-001");
	size_t nev = json_array_size(events);
	now_us += 5 * SEC;
	issue_ok("S", "kiosk1-42", "S-001");
	ck_assert_str_eq(str(res("ticket"), "issued_at"), "2026-06-10T08:00:00.000Z");
	ck_assert_int_eq(json_array_size(events), nev); /* nothing new happened */
	ck_assert_int_eq(waiting_count("S"), 1);
	issue_ok("S", "kiosk1-43", "S-002");
	issue_ok("S", NULL, "S-003");
	issue_ok("S", "kiosk1-42", "S-001");
	ck_assert_int_eq(waiting_count("S"), 3);
}
END_TEST

/* ---- the rank rule ---------------------------------------------------- */

START_TEST(rank_beats_age)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2); /* S rank 1, F rank 2 */
	issue_ok("F", NULL, "F-001");
	now_us += 100 * SEC;
	issue_ok("S", NULL, "S-001");
	call_next_ok("1", "S-001", NULL);
	ck_assert_str_eq(str(res("ticket"), "state"), "called");
	ck_assert_str_eq(str(res("ticket"), "counter"), "1");
	call_next_ok("1", "F-001", "S-001");
	expect_state("S-001", "done");
	call_next_ok("1", NULL, "F-001");
	call_next_ok("1", NULL, NULL);
}
END_TEST

START_TEST(equal_rank_oldest_wins)
{
	add_counter(1, "1", true, 2, 1, 1, 3, 1); /* S and P both rank 1 */
	issue_ok("S", NULL, "S-001");
	now_us += 100 * SEC;
	issue_ok("P", NULL, "P-001");
	now_us += 100 * SEC;
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	call_next_ok("1", "P-001", "S-001");
	call_next_ok("1", "S-002", "P-001");
}
END_TEST

START_TEST(equal_rank_oldest_wins_reversed)
{
	add_counter(1, "1", true, 2, 1, 1, 3, 1);
	issue_ok("P", NULL, "P-001");
	now_us += 100 * SEC;
	issue_ok("S", NULL, "S-001");
	call_next_ok("1", "P-001", NULL);
	call_next_ok("1", "S-001", "P-001");
}
END_TEST

START_TEST(closed_queue_skipped)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	issue_ok("S", NULL, "S-001");
	issue_ok("F", NULL, "F-001");
	engine_test_set_queue_open(eng, 1, "S", false);
	call_next_ok("1", "F-001", NULL);
	issue_ok("F", NULL, "F-002");
	engine_test_set_queue_open(eng, 1, "F", false);
	call_next_ok("1", NULL, "F-001"); /* S-001 and F-002 wait in closed queues */
	call_next_ok("1", NULL, NULL);
	expect_position("S-001", 1);
	expect_position("F-002", 1);
	engine_test_set_queue_open(eng, 1, "F", true);
	call_next_ok("1", "F-002", NULL);
}
END_TEST

START_TEST(nothing_waiting)
{
	add_counter(1, "1", true, 1, 1, 1);
	issue_ok("F", NULL, "F-001"); /* not a queue of this counter */
	call_next_ok("1", NULL, NULL);
	expect_state("F-001", "waiting");
	ck_assert_str_eq(held("1"), "");
}
END_TEST

START_TEST(call_next_finishes_held)
{
	add_counter(1, "1", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	call_next_ok("1", "S-002", "S-001");
	expect_state("S-001", "done");
	ck_assert_str_eq(held("1"), "S-002");
	/* the same rule for call */
	issue_ok("S", NULL, "S-003");
	ck_assert_int_eq(sub(OP_CALL, "1", NULL, "S-003", NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), "S-003");
	ck_assert_str_eq(str(r_res, "finished"), "S-002");
	expect_state("S-002", "done");
}
END_TEST

START_TEST(closed_counter_conflict)
{
	add_counter(3, "3", false, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	ck_assert_int_eq(sub(OP_CALL_NEXT, "3", NULL, NULL, NULL), PERR_CONFLICT);
	ck_assert_int_eq(sub(OP_CALL, "3", NULL, "S-001", NULL), PERR_CONFLICT);
	expect_position("S-001", 1);
	ck_assert_str_eq(held("3"), "");
	ck_assert_int_eq(sub(OP_CALL_NEXT, "nope", NULL, NULL, NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "3", NULL, NULL, NULL), PROTO_OK);
	ck_assert(json_is_true(json_object_get(res("counter"), "open")));
	call_next_ok("3", "S-001", NULL);
}
END_TEST

/* ---- transfer --------------------------------------------------------- */

START_TEST(transfer_keeps_time)
{
	add_counter(1, "1", true, 1, 1, 1); /* S only */
	add_counter(2, "2", true, 1, 2, 1); /* F only */
	now_us = T0 + 100 * SEC;
	issue_ok("S", NULL, "S-001");
	now_us = T0 + 200 * SEC;
	issue_ok("F", NULL, "F-001");
	now_us = T0 + 300 * SEC;
	issue_ok("F", NULL, "F-002");
	now_us = T0 + 400 * SEC;
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_TRANSFER, "1", "F", NULL, NULL), PROTO_OK);
	json_t *t = res("ticket");
	ck_assert_str_eq(str(t, "code"), "S-001");
	ck_assert_str_eq(str(t, "queue"), "F");
	ck_assert_str_eq(str(t, "state"), "waiting");
	ck_assert_int_eq(num(t, "position"), 1);
	assert_null(t, "counter");
	ck_assert_str_eq(str(t, "issued_at"), "2026-06-10T08:01:40.000Z");
	ck_assert_str_eq(held("1"), "");
	ck_assert_int_eq(waiting_count("F"), 3);
	ck_assert_int_eq(waiting_count("S"), 0);
	expect_position("F-001", 2);
	expect_position("F-002", 3);
	call_next_ok("1", NULL, NULL); /* S is empty now */
	call_next_ok("2", "S-001", NULL);
	call_next_ok("2", "F-001", "S-001");
}
END_TEST

START_TEST(transfer_from_serving_and_errors)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	issue_ok("S", NULL, "S-001");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_TRANSFER, "1", "X", NULL, NULL), PERR_NOT_FOUND);
	ck_assert_str_eq(held("1"), "S-001");
	expect_state("S-001", "serving");
	engine_test_set_queue_open(eng, 1, "P", false); /* closed is fine */
	ck_assert_int_eq(sub(OP_TRANSFER, "1", "P", NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "queue"), "P");
	ck_assert_int_eq(num(res("ticket"), "recalls"), 0);
	expect_position("S-001", 1);
	ck_assert_int_eq(waiting_count("P"), 1);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-001", NULL), PROTO_OK);
	ck_assert_int_eq(waiting_count("P"), 0);
}
END_TEST

/* ---- transitions ------------------------------------------------------ */

START_TEST(legal_transitions)
{
	add_counter(1, "1", true, 1, 1, 1);
	for (int i = 0; i < 4; i++)
		issue_ok("S", NULL, (const char *[]){ "S-001", "S-002", "S-003", "S-004" }[i]);
	/* waiting -> called -> serving -> done */
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(num(res("ticket"), "recalls"), 0);
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(res("ticket"), "recalls"), 1);
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(res("ticket"), "recalls"), 2);
	ck_assert_int_eq(num(last_event("called"), "recalls"), 2);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "serving");
	ck_assert_str_eq(held("1"), "S-001");
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "done");
	ck_assert_str_eq(held("1"), "");
	/* called -> done */
	call_next_ok("1", "S-002", NULL);
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	expect_state("S-002", "done");
	/* called -> no_show */
	call_next_ok("1", "S-003", NULL);
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "no_show");
	expect_state("S-003", "no_show");
	ck_assert_str_eq(str(last_event("state"), "state"), "no_show");
	ck_assert_str_eq(held("1"), "");
	/* waiting -> cancelled */
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-004", NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "cancelled");
	expect_state("S-004", "cancelled");
	ck_assert_int_eq(waiting_count("S"), 0);
	call_next_ok("1", NULL, NULL);
}
END_TEST

/* Asserts op at counter 1 is a conflict and nothing changed. */
static void expect_conflict(enum proto_op op, const char *queue, const char *tkt,
			    const char *held_code, const char *held_state, int nwaiting)
{
	size_t nev = json_array_size(events);

	ck_assert_int_eq(sub(op, "1", queue, tkt, NULL), PERR_CONFLICT);
	ck_assert_int_eq(json_array_size(events), nev);
	ck_assert_str_eq(held("1"), held_code);
	if (*held_code)
		expect_state(held_code, held_state);
	ck_assert_int_eq(waiting_count("S"), nwaiting);
}

START_TEST(illegal_transitions)
{
	add_counter(1, "1", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	issue_ok("S", NULL, "S-003");
	/* nothing held */
	expect_conflict(OP_FINISH, NULL, NULL, "", NULL, 3);
	expect_conflict(OP_START, NULL, NULL, "", NULL, 3);
	expect_conflict(OP_RECALL, NULL, NULL, "", NULL, 3);
	expect_conflict(OP_NO_SHOW, NULL, NULL, "", NULL, 3);
	expect_conflict(OP_TRANSFER, "F", NULL, "", NULL, 3);
	ck_assert_int_eq(waiting_count("F"), 0);
	/* called */
	call_next_ok("1", "S-001", NULL);
	expect_conflict(OP_CALL, NULL, "S-001", "S-001", "called", 2);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-001", NULL), PERR_CONFLICT);
	expect_state("S-001", "called");
	ck_assert_str_eq(held("1"), "S-001");
	/* serving */
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	expect_conflict(OP_START, NULL, NULL, "S-001", "serving", 2);
	expect_conflict(OP_RECALL, NULL, NULL, "S-001", "serving", 2);
	expect_conflict(OP_NO_SHOW, NULL, NULL, "S-001", "serving", 2);
	ck_assert_int_eq(num(ticket("S-001"), "recalls"), 0);
	/* done */
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-001", NULL), PERR_CONFLICT);
	expect_state("S-001", "done");
	expect_conflict(OP_CALL, NULL, "S-001", "", NULL, 2);
	expect_state("S-001", "done");
	/* cancelled */
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-002", NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-002", NULL), PERR_CONFLICT);
	expect_conflict(OP_CALL, NULL, "S-002", "", NULL, 1);
	expect_state("S-002", "cancelled");
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-099", NULL), PERR_NOT_FOUND);
	expect_position("S-003", 1);
}
END_TEST

/* ---- positions -------------------------------------------------------- */

START_TEST(positions_shift)
{
	add_counter(1, "1", true, 1, 1, 1);
	for (int i = 0; i < 5; i++) {
		issue_ok("S", NULL,
			 (const char *[]){ "S-001", "S-002", "S-003", "S-004", "S-005" }[i]);
		ck_assert_int_eq(num(res("ticket"), "position"), i + 1);
		now_us += SEC;
	}
	expect_position("S-003", 3);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-002", NULL), PROTO_OK);
	expect_position("S-001", 1);
	expect_position("S-003", 2);
	expect_position("S-005", 4);
	call_next_ok("1", "S-001", NULL);
	ck_assert_ptr_null(json_object_get(ticket("S-001"), "position"));
	expect_position("S-003", 1);
	expect_position("S-004", 2);
	expect_position("S-005", 3);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-005", NULL), PROTO_OK);
	expect_position("S-004", 2);
	ck_assert_int_eq(waiting_count("S"), 2);
}
END_TEST

/* ---- the op table's routing --------------------------------------------- */

/* Every op the table gives the engine has a handler there (it never
 * answers internal), and an op the session answers itself reaching the
 * engine is a bug it says so about, never a silent ok. */
START_TEST(every_engine_op_has_a_handler)
{
	add_counter(1, "1", true, 1, 1, 1);
	for (int op = 0; op < OP__COUNT; op++) {
		const struct proto_op_spec *spec = proto_op_spec((enum proto_op)op);
		enum proto_err err = sub((enum proto_op)op, "1", "S", "S-001", NULL);

		if (spec->handler == HANDLER_ENGINE)
			ck_assert_msg(err != PERR_INTERNAL, "engine op %s answered internal: %s",
				      spec->name, r_msg);
		else
			ck_assert_msg(err == PERR_INTERNAL, "session op %s reached the engine: %s",
				      spec->name, proto_err_code(err));
	}
	/* And an op beyond the table. */
	ck_assert_int_eq(sub(OP__COUNT, "1", NULL, NULL, NULL), PERR_INTERNAL);
}
END_TEST

/* ---- ticket_state: the table's own invariants --------------------------- */

START_TEST(transition_table_is_consistent)
{
	for (int i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];

		ck_assert_msg(!ticket_states[t->from].final, "%s leaves the final state %s",
			      ticket_action_name(t->action), ticket_state_name(t->from));
		/* One row per (state, action): the move is a function. */
		for (int k = i + 1; k < ticket_transitions_count; k++)
			ck_assert_msg(ticket_transitions[k].from != t->from ||
					      ticket_transitions[k].action != t->action,
				      "two rows for %s from %s", ticket_action_name(t->action),
				      ticket_state_name(t->from));
		ck_assert_int_eq(ticket_next_state(t->from, t->action), (int)t->to);
	}
	for (int s = 0; s < TS__COUNT; s++) {
		const struct ticket_state_info *info = &ticket_states[s];

		ck_assert_int_eq(ticket_state_parse(info->name), s);
		ck_assert_msg(info->waiting + info->held + info->final <= 1,
			      "%s is in more than one place", info->name);
	}
	ck_assert_int_eq(ticket_state_parse("nonsense"), -1);
	ck_assert_int_eq(ticket_next_state(TS_DONE, TA_CALL), -1);
}
END_TEST

/* ---- estimates -------------------------------------------------------- */

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, numbering_per_queue);
	tcase_add_test(tc, numbering_beyond_999);
	tcase_add_test(tc, issue_closed_and_unknown);
	tcase_add_test(tc, ticket_hours_close_the_kiosk_only);
	tcase_add_test(tc, idempotency_key);
	tcase_add_test(tc, rank_beats_age);
	tcase_add_test(tc, equal_rank_oldest_wins);
	tcase_add_test(tc, equal_rank_oldest_wins_reversed);
	tcase_add_test(tc, closed_queue_skipped);
	tcase_add_test(tc, nothing_waiting);
	tcase_add_test(tc, call_next_finishes_held);
	tcase_add_test(tc, closed_counter_conflict);
	tcase_add_test(tc, transfer_keeps_time);
	tcase_add_test(tc, transfer_from_serving_and_errors);
	tcase_add_test(tc, legal_transitions);
	tcase_add_test(tc, illegal_transitions);
	tcase_add_test(tc, positions_shift);
	tcase_add_test(tc, every_engine_op_has_a_handler);
	tcase_add_test(tc, transition_table_is_consistent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
