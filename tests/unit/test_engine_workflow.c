/* Unit tests of protocol 1.1's counter workflow in the engine, without a
 * database: the rule for the next ticket (every clause, with its reason),
 * park and call back, the no-show policy, reactivate, outcomes, transfer
 * to a counter, priority tickets. Office "HQ", queues S(1) F(2) P(3). */
#include "tests/unit/engine_fixture.h"

#include <stdlib.h>
#include <string.h>

static enum proto_err issue_with(const char *queue, int priority, const char *interpreter)
{
	struct proto_request a = {
		.op = OP_ISSUE, .queue = queue, .priority = priority, .interpreter = interpreter
	};
	return sub_args(&a);
}

static enum proto_err finish_with(const char *counter, const char *outcome)
{
	struct proto_request a = {
		.op = OP_FINISH, .counter = counter, .outcome = outcome, .priority = -1
	};
	return sub_args(&a);
}

static enum proto_err transfer_to_counter(const char *counter, const char *to)
{
	struct proto_request a = {
		.op = OP_TRANSFER, .counter = counter, .to_counter = to, .priority = -1
	};
	return sub_args(&a);
}

static const char *reason(void)
{
	return str(r_res, "reason");
}

/* ---- the rule ----------------------------------------------------------- */

START_TEST(rule_rank_first)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2); /* S rank 1, F rank 2 */
	issue_ok("F", NULL, "F-001");
	now_us += 600 * SEC;
	issue_ok("S", NULL, "S-001");
	now_us += 10 * SEC;
	call_next_ok("1", "S-001", NULL);
	ck_assert_str_eq(reason(), "rank 1, waited longest: 10 s");
}
END_TEST

START_TEST(rule_priority_within_rank)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 1); /* S and F share rank 1 */
	issue_ok("S", NULL, "S-001");
	now_us += 60 * SEC;
	ck_assert_int_eq(issue_with("F", 1, NULL), PROTO_OK); /* F-001, priority */
	ck_assert_int_eq(json_is_true(json_object_get(res("ticket"), "priority")), 1);
	now_us += 30 * SEC;
	ck_assert_int_eq(issue_with("S", 1, NULL), PROTO_OK); /* S-002, priority, newer */
	now_us += 10 * SEC;
	call_next_ok("1", "F-001", NULL);
	ck_assert_str_eq(reason(), "rank 1, priority, waited 40 s");
	call_next_ok("1", "S-002", "F-001");
	call_next_ok("1", "S-001", "S-002");
	ck_assert_str_eq(reason(), "rank 1, waited longest: 100 s");
}
END_TEST

/* A priority ticket of a lower rank does not jump a higher rank. */
START_TEST(rule_priority_does_not_beat_rank)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	ck_assert_int_eq(issue_with("F", 1, NULL), PROTO_OK);
	now_us += SEC;
	issue_ok("S", NULL, "S-001");
	call_next_ok("1", "S-001", NULL);
}
END_TEST

START_TEST(rule_weighted_wait)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 1);
	ck_assert_int_eq(engine_test_set_weight(eng, 1, "1", "S", 2), 0);
	issue_ok("F", NULL, "F-001"); /* will have waited 150 s: 150 */
	now_us += 50 * SEC;
	issue_ok("S", NULL, "S-001"); /* will have waited 100 s, weight 2: 200 */
	now_us += 100 * SEC;
	call_next_ok("1", "S-001", NULL);
	ck_assert_str_eq(reason(), "rank 1, weighted wait 2\u00d7100 s");
	/* Now F-001 has 150 against nothing in S. */
	call_next_ok("1", "F-001", "S-001");
}
END_TEST

/* Equal weighted waits: the earlier issue time wins. */
START_TEST(rule_ties_go_to_the_earlier_ticket)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 1);
	ck_assert_int_eq(engine_test_set_weight(eng, 1, "1", "S", 2), 0);
	issue_ok("F", NULL, "F-001"); /* 200 s, weight 1: 200 */
	now_us += 100 * SEC;
	issue_ok("S", NULL, "S-001"); /* 100 s, weight 2: 200 */
	now_us += 100 * SEC;
	call_next_ok("1", "F-001", NULL);
}
END_TEST

START_TEST(rule_closed_queue_skipped)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	issue_ok("S", NULL, "S-001");
	issue_ok("F", NULL, "F-001");
	engine_test_set_queue_open(eng, 1, "S", false);
	call_next_ok("1", "F-001", NULL);
	ck_assert_str_eq(reason(), "rank 2, waited longest: 0 s");
}
END_TEST

/* ---- transfer to a counter ----------------------------------------------- */

START_TEST(transfer_to_counter_waits_for_it_only)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	now_us += SEC;
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(transfer_to_counter("1", "2"), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "waiting");
	ck_assert_str_eq(str(res("ticket"), "for_counter"), "2");
	ck_assert_int_eq(num(res("ticket"), "position"), 1);
	/* Counter 1 does not see it; counter 2 gets it first (rank 0). */
	call_next_ok("1", "S-002", NULL);
	call_next_ok("1", NULL, "S-002");
	call_next_ok("2", "S-001", NULL);
	ck_assert_str_eq(reason(), "transferred to this counter, waited 1 s");
	ck_assert_ptr_null(json_object_get(res("ticket"), "for_counter"));
	ck_assert_int_eq(transfer_to_counter("2", "9"), PERR_NOT_FOUND);
}
END_TEST

/* ---- park ------------------------------------------------------------------- */

START_TEST(park_and_call_back_from_another_counter)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	ck_assert_int_eq(sub(OP_PARK, "1", NULL, NULL, NULL), PERR_CONFLICT);
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_PARK, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "parked");
	ck_assert_str_eq(held("1"), "");
	ck_assert_str_eq(str(last_event("state"), "state"), "parked");
	/* The counter's status lists it; call_next does not pick it. */
	json_t *c1 = status_entry("counters", "name", "1");
	ck_assert_int_eq(json_array_size(json_object_get(c1, "parked")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c1, "parked"), 0)),
			 "S-001");
	call_next_ok("1", "S-002", NULL);
	/* Called back from counter 2. */
	ck_assert_int_eq(sub(OP_CALL, "2", NULL, "S-001", NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "called");
	ck_assert_str_eq(str(res("ticket"), "counter"), "2");
	c1 = status_entry("counters", "name", "1");
	ck_assert_int_eq(json_array_size(json_object_get(c1, "parked")), 0);
	/* A parked ticket cannot be cancelled, nor parked twice. */
	ck_assert_int_eq(sub(OP_PARK, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-001", NULL), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "ticket S-001 is parked, not waiting");
}
END_TEST

/* ---- no-show policy ------------------------------------------------------------ */

START_TEST(no_show_after_second_call_and_time)
{
	add_counter(1, "1", true, 1, 1, 1);
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "S", 2, 120, 900, false, true), 0);
	issue_ok("S", NULL, "S-001");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PERR_CONFLICT);
	ck_assert_str_eq(r_msg,
			 "ticket S-001 was called 1 time: call it 2 times in all before a no-show");
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PROTO_OK);
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "ticket S-001 was called 60 s ago: a no-show after 120 s");
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
	expect_state("S-001", "no_show");
}
END_TEST

/* ---- reactivate ------------------------------------------------------------------- */

START_TEST(reactivate_within_window_keeps_place)
{
	add_counter(1, "1", true, 1, 1, 1);
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "S", 1, 0, 600, false, true), 0);
	issue_ok("S", NULL, "S-001");
	now_us += SEC;
	issue_ok("S", NULL, "S-002");
	now_us += SEC;
	issue_ok("S", NULL, "S-003");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_REACTIVATE, NULL, NULL, "S-002", NULL), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "ticket S-002 is waiting, not no_show");
	now_us += 300 * SEC;
	ck_assert_int_eq(sub(OP_REACTIVATE, NULL, NULL, "S-001", NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "waiting");
	ck_assert_int_eq(num(res("ticket"), "position"), 1); /* its original place in time */
	assert_null(res("ticket"), "counter");
	ck_assert_int_eq(waiting_count("S"), 3);
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
	now_us += 601 * SEC;
	ck_assert_int_eq(sub(OP_REACTIVATE, NULL, NULL, "S-001", NULL), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "ticket S-001 missed its call more than 10 minutes ago: take a new "
				"ticket");
	ck_assert_int_eq(sub(OP_REACTIVATE, NULL, NULL, "S-099", NULL), PERR_NOT_FOUND);
}
END_TEST

/* ---- outcomes ------------------------------------------------------------------------ */

START_TEST(finish_with_outcome)
{
	add_counter(1, "1", true, 1, 1, 1);
	ck_assert_int_eq(engine_test_add_outcome(eng, 1, "S", "advice", "Advice given"), 0);
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "S", 1, 0, 900, true, true), 0);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(finish_with("1", NULL), PERR_BAD_REQUEST);
	ck_assert_str_eq(r_msg, "missing field: outcome");
	ck_assert_int_eq(finish_with("1", "nonsense"), PERR_NOT_FOUND);
	/* call_next would finish it without one: refused too. */
	ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PERR_BAD_REQUEST);
	expect_state("S-001", "called");
	ck_assert_int_eq(finish_with("1", "advice"), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "outcome"), "advice");
	ck_assert_str_eq(str(res("ticket"), "state"), "done");
	/* Without require_outcome, none is fine and an outcome is still checked. */
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "S", 1, 0, 900, false, true), 0);
	call_next_ok("1", "S-002", NULL);
	ck_assert_int_eq(finish_with("1", "nonsense"), PERR_NOT_FOUND);
	ck_assert_int_eq(finish_with("1", NULL), PROTO_OK);
	ck_assert_ptr_null(json_object_get(res("ticket"), "outcome"));
}
END_TEST

/* The status lists each queue's outcomes (a counter's page offers them at
 * finish) and whether one is required; a change shows at once. */
START_TEST(status_lists_outcomes)
{
	json_t *s, *o;

	s = status_entry("queues", "code", "S");
	ck_assert_int_eq(json_array_size(json_object_get(s, "outcomes")), 0);
	ck_assert(json_is_false(json_object_get(s, "outcome_required")));
	ck_assert_int_eq(engine_test_add_outcome(eng, 1, "S", "advice", "Advice given"), 0);
	ck_assert_int_eq(engine_test_add_outcome(eng, 1, "S", "referred", "Referred on"), 0);
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "S", 1, 0, 900, true, true), 0);
	s = status_entry("queues", "code", "S");
	ck_assert_int_eq(json_array_size(json_object_get(s, "outcomes")), 2);
	o = json_array_get(json_object_get(s, "outcomes"), 1);
	ck_assert_str_eq(str(o, "code"), "referred");
	ck_assert_str_eq(str(o, "name"), "Referred on");
	ck_assert_int_eq(json_object_size(o), 2);
	ck_assert(json_is_true(json_object_get(s, "outcome_required")));
	/* Other queues are untouched. */
	s = status_entry("queues", "code", "F");
	ck_assert_int_eq(json_array_size(json_object_get(s, "outcomes")), 0);
	ck_assert(json_is_false(json_object_get(s, "outcome_required")));
}
END_TEST

/* ---- priority and interpreters ----------------------------------------------------------- */

START_TEST(priority_positions_and_policy)
{
	add_counter(1, "1", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	ck_assert_int_eq(issue_with("S", 1, "so"), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), "S-003");
	ck_assert_int_eq(num(res("ticket"), "position"), 1);
	ck_assert_str_eq(str(res("ticket"), "interpreter"), "so");
	expect_position("S-001", 2);
	expect_position("S-002", 3);
	ck_assert_int_eq(num(status_entry("queues", "code", "S"), "priority_waiting"), 1);
	/* A plain 1.0 ticket carries none of 1.1's fields. */
	json_t *t = ticket("S-001");
	ck_assert_ptr_null(json_object_get(t, "priority"));
	ck_assert_ptr_null(json_object_get(t, "interpreter"));
	ck_assert_ptr_null(json_object_get(t, "lang"));
	ck_assert_int_eq(engine_test_set_queue_policy(eng, 1, "F", 1, 0, 900, false, false), 0);
	ck_assert_int_eq(issue_with("F", 1, NULL), PERR_FORBIDDEN);
	ck_assert_int_eq(issue_with("F", 0, NULL), PROTO_OK);
	call_next_ok("1", "S-003", NULL);
	ck_assert_int_eq(num(status_entry("queues", "code", "S"), "priority_waiting"), 0);
}
END_TEST

/* ---- midnight ---------------------------------------------------------------------------- */

/* Parked and transferred-to-counter tickets expire at midnight and leave
 * no dangling entry in the counters' lists (ASan would see one). */
START_TEST(midnight_expires_parked_and_transferred)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_PARK, "1", NULL, NULL, NULL), PROTO_OK);
	call_next_ok("1", "S-002", NULL);
	ck_assert_int_eq(transfer_to_counter("1", "2"), PROTO_OK);
	now_us += 24 * 3600 * SEC;
	engine_tick(eng);
	ck_assert_int_eq(json_array_size(
				 json_object_get(status_entry("counters", "name", "1"), "parked")),
			 0);
	call_next_ok("2", NULL, NULL);
	issue_ok("S", NULL, "S-001");
	call_next_ok("2", "S-001", NULL);
}
END_TEST

static Suite *workflow_suite(void)
{
	Suite *s = suite_create("workflow");
	TCase *tc = tcase_create("workflow");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rule_rank_first);
	tcase_add_test(tc, rule_priority_within_rank);
	tcase_add_test(tc, rule_priority_does_not_beat_rank);
	tcase_add_test(tc, rule_weighted_wait);
	tcase_add_test(tc, rule_ties_go_to_the_earlier_ticket);
	tcase_add_test(tc, rule_closed_queue_skipped);
	tcase_add_test(tc, transfer_to_counter_waits_for_it_only);
	tcase_add_test(tc, park_and_call_back_from_another_counter);
	tcase_add_test(tc, no_show_after_second_call_and_time);
	tcase_add_test(tc, reactivate_within_window_keeps_place);
	tcase_add_test(tc, finish_with_outcome);
	tcase_add_test(tc, status_lists_outcomes);
	tcase_add_test(tc, priority_positions_and_policy);
	tcase_add_test(tc, midnight_expires_parked_and_transferred);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(workflow_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
