/* Unit tests of what visitors are told (daemon/engine/estimate_told.c):
 * the office's and each queue's record of their own errors, the range,
 * and how often the play is run again (big offices, the estimator's share
 * of the daemon's time). Office "HQ", queues S(1) F(2) P(3); the engine's
 * clock is now_us. */
#include "tests/unit/estimate_fixture.h"

#include <stdio.h>
#include <stdlib.h>

/* The office's record of its own errors calibrates what visitors are told:
 * seventeen visitors told "now" (the model's 0 s) were each called after a
 * minute, a ratio of (60 + 60) / (0 + 60) = 2 that the model cannot see.
 * From the twentieth call on, three quarters of the median log ratio
 * (limited to 0.5) move the estimate: (0 + 60) x e^(0.75 x 0.5) - 60 =
 * 27 s, and the range spans what was seen: [0, 60]. */
START_TEST(calibrated_by_its_own_errors)
{
	json_t *t, *range;

	add_counter(1, "1", true, 1, 1, 1);
	learn("1", "S", 3, 60);
	/* The three lessons were told "now" and called at once: ratio 1. */
	for (int i = 0; i < 17; i++) {
		json_int_t w = issue_wait("S");
		ck_assert_msg(w == 0, "call %d: %lld s before calibration", i + 4, (long long)w);
		now_us += 60 * SEC;
		ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PROTO_OK);
		ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
	}
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PROTO_OK);
	t = res("ticket");
	ck_assert_int_eq(num(t, "estimated_wait_s"), 27);
	range = json_object_get(t, "estimated_wait_range_s");
	ck_assert_int_eq(json_integer_value(json_array_get(range, 0)), 0);
	ck_assert_int_eq(json_integer_value(json_array_get(range, 1)), 60);
}
END_TEST

/* The tickets still waiting tell the record sooner than their calls: S's
 * twenty calls were told "now" and called at once (ratio 1), then a visit
 * that outlasts every one before it (60 s) holds the only counter for
 * 300 s while 21 tickets wait. Each was told a minute a place; the run
 * now says 246 s more (the visit's rest: a tenth of a visit). Their
 * ratios, joined to the record's twenty, make the median theirs, the
 * least of them: (1506 + 60) / (1260 + 60). A new ticket is told
 * (1266 + 60) x e^0.171 - 60 = 1513 s (the whole of a mixed record's
 * median), not the model's 1266, before any of them is called. */
START_TEST(waiting_tickets_recalibrate)
{
	add_counter(1, "1", true, 1, 1, 1);
	learn("1", "S", 3, 60);
	for (int i = 0; i < 17; i++) {
		ck_assert_int_eq(issue_wait("S"), 0);
		ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PROTO_OK);
		ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
		now_us += 60 * SEC;
		ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	}
	now_us += 61 * 60 * SEC; /* no stream of newcomers */
	ck_assert_int_eq(issue_wait("S"), 0);
	ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	for (int i = 0; i < 21; i++)
		ck_assert_int_eq(issue_wait("S"), 60 * (i + 1));
	now_us += 300 * SEC;
	ck_assert_int_eq(issue_wait("S"), 1513);
}
END_TEST

/* Each queue keeps its own record once it has 20 calls: S visitors are
 * called when told (at once), F visitors a minute after being told "now"
 * (something the model cannot see keeps F's counter busy). After 20 of
 * each, a new S visitor at an idle counter is still told 0 and a new F
 * visitor 27 s (three quarters of the correction's cap on a minute's
 * margin: x1.45), where
 * the office's one record would tell both the same. */
START_TEST(each_queue_calibrated_by_its_own_errors)
{
	add_counter(1, "1", true, 1, 1, 1); /* S */
	add_counter(2, "2", true, 1, 2, 1); /* F */
	learn("1", "S", 3, 60);
	learn("2", "F", 3, 60);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(issue_wait("S"), 0);
		ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PROTO_OK);
		ck_assert_int_eq(sub(OP_NO_SHOW, "1", NULL, NULL, NULL), PROTO_OK);
		json_int_t w = issue_wait("F");
		ck_assert_msg(i < 17 || w > 0, "F told %lld s after %d of its calls", (long long)w,
			      i);
		now_us += 60 * SEC;
		ck_assert_int_eq(sub(OP_CALL_NEXT, "2", NULL, NULL, NULL), PROTO_OK);
		ck_assert_int_eq(sub(OP_NO_SHOW, "2", NULL, NULL, NULL), PROTO_OK);
	}
	ck_assert_int_eq(issue_wait("S"), 0);
	ck_assert_int_eq(issue_wait("F"), 27);
}
END_TEST

/* The range is around the point estimate, wider when the samples vary. */
START_TEST(range_around_the_estimate)
{
	json_t *t, *range;

	add_counter(1, "1", true, 1, 1, 1);
	learn("1", "S", 2, 60);
	learn("1", "S", 2, 180);
	for (int i = 0; i < 6; i++) {
		char want[16];

		snprintf(want, sizeof want, "S-%03d", 5 + i);
		issue_ok("S", NULL, want);
	}
	t = ticket("S-010");
	range = json_object_get(t, "estimated_wait_range_s");
	ck_assert(json_is_array(range) && json_array_size(range) == 2);
	ck_assert_int_le(json_integer_value(json_array_get(range, 0)), num(t, "estimated_wait_s"));
	ck_assert_int_ge(json_integer_value(json_array_get(range, 1)), num(t, "estimated_wait_s"));
	ck_assert_int_gt(json_integer_value(json_array_get(range, 1)) -
				 json_integer_value(json_array_get(range, 0)),
			 60);
}
END_TEST

/* A big office re-simulates at most every 250 ms: tickets issued in
 * between get the queue's "issued now" time, one visit per counter later
 * for each new ticket ahead. With one counter that is exact. */
START_TEST(big_office_extrapolates)
{
	add_counter(1, "1", true, 1, 1, 1);
	learn("1", "S", 3, 60);
	for (int i = 0; i < 70; i++)
		ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PROTO_OK);
	/* S-004 goes now; S-073, the 70th, after 69 visits. */
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 69 * 60);
	ck_assert_int_eq(wait_of("S-068"), 64 * 60);
	/* After 250 ms a full run again: the same answers. */
	now_us += SEC / 4;
	ck_assert_int_eq(wait_of("S-073"), 69 * 60);
}
END_TEST

/* Over its share of the loop the estimator re-simulates an office at
 * most every 250 ms: in between, a new ticket is extrapolated from the
 * last run (counter 2's opening not yet seen), and a receipt never goes
 * without an estimate the last run could not give. */
START_TEST(busy_estimator_extrapolates)
{
	two_counters_s_waiting(false, 4); /* one counter: 0, 100, 200, 300 s */
	ck_assert_int_eq(issue_wait("S"), 400);
	engine_test_set_estimator_budget(eng, true, false);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(issue_wait("S"), 500); /* as if counter 2 were closed */
	now_us += SEC / 4;
	/* The next run sees both counters: S-004..S-009 in pairs. */
	ck_assert_int_eq(wait_of("S-009"), 200);
	ck_assert_int_eq(issue_wait("S"), 300);
	/* Not busy: every change is run at once. */
	engine_test_set_estimator_budget(eng, false, false);
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(issue_wait("S"), 700);
}
END_TEST

/* The share of this second spent: no run for a change however old the
 * last is, until time alone calls for one (15 s). */
START_TEST(spent_estimator_waits_for_time)
{
	two_counters_s_waiting(false, 4);
	ck_assert_int_eq(issue_wait("S"), 400);
	engine_test_set_estimator_budget(eng, true, true);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "2", NULL, NULL, NULL), PROTO_OK);
	now_us += 14 * SEC;
	ck_assert_int_eq(issue_wait("S"), 500 - 14); /* the last run's, 14 s on */
	now_us += 2 * SEC;
	/* 16 s after the last: S-004..S-009 in pairs, S-010 at 300 s. */
	ck_assert_int_eq(issue_wait("S"), 300);
}
END_TEST

/* Busy, a queue with no run behind it yet (its first counter just
 * opened): the receipt's estimate is worth a run. */
START_TEST(busy_estimator_runs_for_a_receipt)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 2, 1);
	learn("1", "S", 3, 60);
	learn("2", "F", 3, 120);
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(issue_wait("S"), 0); /* a run: F has no counter */
	engine_test_set_estimator_budget(eng, true, false);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "F", NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 0);
}
END_TEST

static Suite *estimate_told_suite(void)
{
	Suite *s = suite_create("estimate_told");
	TCase *tc = tcase_create("estimate_told");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, calibrated_by_its_own_errors);
	tcase_add_test(tc, waiting_tickets_recalibrate);
	tcase_add_test(tc, each_queue_calibrated_by_its_own_errors);
	tcase_add_test(tc, range_around_the_estimate);
	tcase_add_test(tc, big_office_extrapolates);
	tcase_add_test(tc, busy_estimator_extrapolates);
	tcase_add_test(tc, spent_estimator_waits_for_time);
	tcase_add_test(tc, busy_estimator_runs_for_a_receipt);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(estimate_told_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
