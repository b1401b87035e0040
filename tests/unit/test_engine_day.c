/* Unit tests of the queue engine without a database, over time and
 * outward: estimates, midnight and a DST day, the events it emits, and
 * the status it shows (built and cached). */
#include "tests/unit/engine_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

START_TEST(estimate_arithmetic)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	add_counter(3, "3", true, 1, 2, 1); /* F only: does not count for S */
	issue_ok("S", NULL, "S-001");
	assert_null(res("ticket"), "estimated_wait_s"); /* no history */
	issue_ok("S", NULL, "S-002");
	assert_null(status_entry("queues", "code", "S"), "estimated_wait_s");
	call_next_ok("1", "S-001", NULL);
	call_next_ok("2", "S-002", NULL);
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_FINISH, "2", NULL, NULL, NULL), PROTO_OK); /* 120 s */
	issue_ok("S", NULL, "S-003");
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 45); /* 90*1/2 */
	issue_ok("S", NULL, "S-004");
	issue_ok("S", NULL, "S-005");
	ck_assert_int_eq(num(res("ticket"), "position"), 3);
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 135); /* 90*3/2 */
	ck_assert_int_eq(num(ticket("S-004"), "estimated_wait_s"), 90);
	/* a new visitor would be fourth: 90*4/2 */
	ck_assert_int_eq(num(status_entry("queues", "code", "S"), "estimated_wait_s"), 180);
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(ticket("S-005"), "estimated_wait_s"), 270); /* one counter */
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "1", NULL, NULL, NULL), PROTO_OK);
	assert_null(ticket("S-005"), "estimated_wait_s"); /* no open counter for S */
	assert_null(status_entry("queues", "code", "S"), "estimated_wait_s");
	/* F has no history yet: null even with its counter open */
	issue_ok("F", NULL, "F-001");
	assert_null(res("ticket"), "estimated_wait_s");
}
END_TEST

/* ---- midnight --------------------------------------------------------- */

START_TEST(midnight_rollover)
{
	engine_free(eng);
	now_us = INT64_C(1781128740) * SEC; /* 2026-06-10 23:59 in Stockholm */
	make_engine("Europe/Stockholm");
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	add_counter(2, "2", true, 1, 1, 1);
	issue_ok("S", "k", "S-001");
	issue_ok("S", NULL, "S-002");
	issue_ok("S", NULL, "S-003");
	issue_ok("S", NULL, "S-004");
	issue_ok("F", NULL, "F-001");
	call_next_ok("1", "S-001", NULL);
	ck_assert_int_eq(sub(OP_START, "1", NULL, NULL, NULL), PROTO_OK);
	call_next_ok("2", "S-002", NULL);
	now_us = INT64_C(1781128799) * SEC; /* 23:59:59: not yet */
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 2);
	now_us = INT64_C(1781128801) * SEC; /* 00:00:01 on 2026-06-11 */
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 0);
	ck_assert_int_eq(waiting_count("F"), 0);
	ck_assert_int_eq(json_array_size(res("recent")), 0);
	ck_assert_str_eq(held("1"), "S-001");
	ck_assert_str_eq(str(status_entry("counters", "name", "1"), "state"), "serving");
	ck_assert_str_eq(held("2"), "");
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "S-003", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "F-001", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "S-002", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_CANCEL, NULL, NULL, "S-004", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_CALL, "2", NULL, "S-004", NULL), PERR_NOT_FOUND);
	call_next_ok("2", NULL, NULL);
	issue_ok("S", "k", "S-001"); /* yesterday's key is gone too */
	ck_assert_str_eq(str(res("ticket"), "issued_at"), "2026-06-10T22:00:01.000Z");
	issue_ok("F", NULL, "F-001");
	ck_assert_int_eq(waiting_count("S"), 1);
	/* yesterday's S-001 is still served at counter 1 and can be finished */
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "done");
	ck_assert_str_eq(held("1"), "");
	expect_position("S-001", 1); /* today's S-001 is untouched */
	call_next_ok("1", "S-001", NULL);
	ck_assert_str_eq(str(res("ticket"), "issued_at"), "2026-06-10T22:00:01.000Z");
}
END_TEST

START_TEST(midnight_dst_day)
{
	engine_free(eng);
	/* 2026-03-29 00:30 CET; the clocks go forward that night, so the
	 * day is 23 hours long and ends at 2026-03-29T22:00Z. */
	now_us = (INT64_C(1774738800) + 1800) * SEC;
	make_engine("Europe/Stockholm");
	issue_ok("S", NULL, "S-001");
	now_us = (INT64_C(1774821600) - 1) * SEC;
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 1);
	issue_ok("S", NULL, "S-002");
	now_us = (INT64_C(1774821600) + 1) * SEC;
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 0);
	issue_ok("S", NULL, "S-001");
	/* and the next (24 h) day ends at 2026-03-30T22:00Z */
	now_us = (INT64_C(1774821600) + 86400 - 1) * SEC;
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 1);
	now_us += 2 * SEC;
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 0);
}
END_TEST

/* ---- events and status ------------------------------------------------ */

static void expect_envelope(json_t *ev, const char *at)
{
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(str(ev, "office"), "HQ");
	ck_assert_str_eq(str(ev, "at"), at);
	ck_assert_ptr_null(json_object_get(ev, "_office"));
	ck_assert_ptr_null(json_object_get(ev, "id"));
	ck_assert_int_eq(emit_office, 1);
}

START_TEST(events_emitted)
{
	json_t *ev;

	add_counter(1, "1", false, 1, 1, 1);
	ck_assert_int_eq(sub(OP_COUNTER_OPEN, "1", NULL, NULL, NULL), PROTO_OK);
	ev = last_event("counter");
	expect_envelope(ev, "2026-06-10T08:00:00.000Z");
	ck_assert_str_eq(str(ev, "counter"), "1");
	ck_assert(json_is_true(json_object_get(ev, "open")));
	json_array_clear(events);
	now_us += 1500; /* 1.5 ms */
	issue_ok("S", NULL, "S-001");
	ev = last_event("issued");
	expect_envelope(ev, "2026-06-10T08:00:00.001Z");
	ck_assert_str_eq(str(ev, "ticket"), "S-001");
	ck_assert_str_eq(str(ev, "queue"), "S");
	ev = last_event("queue");
	expect_envelope(ev, "2026-06-10T08:00:00.001Z");
	ck_assert_str_eq(str(ev, "queue"), "S");
	ck_assert_int_eq(num(ev, "waiting"), 1);
	json_array_clear(events);
	now_us = T0 + 61 * SEC;
	call_next_ok("1", "S-001", NULL);
	ev = last_event("called");
	expect_envelope(ev, "2026-06-10T08:01:01.000Z");
	ck_assert_str_eq(str(ev, "ticket"), "S-001");
	ck_assert_str_eq(str(ev, "counter"), "1");
	ck_assert_int_eq(num(ev, "recalls"), 0);
	ck_assert_int_eq(num(last_event("queue"), "waiting"), 0);
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(last_event("called"), "recalls"), 1);
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	ev = last_event("state");
	expect_envelope(ev, "2026-06-10T08:01:01.000Z");
	ck_assert_str_eq(str(ev, "ticket"), "S-001");
	ck_assert_str_eq(str(ev, "state"), "done");
	/* failures emit nothing */
	json_array_clear(events);
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PERR_CONFLICT);
	ck_assert_int_eq(sub(OP_ISSUE, NULL, "X", NULL, NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(json_array_size(events), 0);
}
END_TEST

/* The encoded status a poll gets is the status of the moment: it follows
 * every change and stays put without one. */
static char *status_now(void)
{
	size_t len = 0, wlen = 0;
	const char *enc = engine_status_encoded(eng, 1, &len);
	char *want;

	ck_assert_ptr_nonnull(enc);
	ck_assert_int_eq(sub(OP_STATUS, NULL, NULL, NULL, NULL), PROTO_OK);
	want = proto_encode_members(r_res, &wlen);
	ck_assert_str_eq(enc, want);
	ck_assert_uint_eq(len, wlen);
	return want;
}

START_TEST(status_encoded_follows_changes)
{
	char *before, *after, *again;
	size_t len;

	add_counter(1, "1", true, 1, 1, 1);
	before = status_now();
	issue_ok("S", NULL, "S-001");
	after = status_now();
	ck_assert_str_ne(before, after);
	again = status_now();
	ck_assert_str_eq(after, again);
	free(before);
	free(again);
	call_next_ok("1", "S-001", NULL);
	before = after;
	after = status_now();
	ck_assert_str_ne(before, after);
	free(before);
	before = after;
	engine_test_set_queue_open(eng, 1, "F", false);
	after = status_now();
	ck_assert_str_ne(before, after);
	free(before);
	free(after);
	ck_assert_ptr_null(engine_status_encoded(eng, 99, &len));
}
END_TEST

START_TEST(status_shape)
{
	static const char *const qcodes[] = { "S", "F", "P" };
	static const char *const qnames[] = { "Service", "Fast", "Post" };
	static const char *const rcodes[] = { "S-002", "S-001", "S-001" };
	static const char *const rats[] = { "2026-06-10T08:00:20.000Z", "2026-06-10T08:00:10.000Z",
					    "2026-06-10T08:00:00.000Z" };
	json_t *q, *c, *recent, *it;
	size_t i;

	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "Desk 2", false, 1, 2, 1);
	issue_ok("S", NULL, "S-001");
	issue_ok("S", NULL, "S-002");
	call_next_ok("1", "S-001", NULL);
	now_us += 10 * SEC;
	ck_assert_int_eq(sub(OP_RECALL, "1", NULL, NULL, NULL), PROTO_OK);
	now_us += 10 * SEC;
	call_next_ok("1", "S-002", "S-001");
	ck_assert_int_eq(sub(OP_STATUS, NULL, NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(r_res, "office"), "HQ");
	ck_assert(json_is_false(json_object_get(r_res, "stale")));
	ck_assert_int_eq(json_array_size(res("queues")), 3);
	json_array_foreach(res("queues"), i, q) {
		ck_assert_str_eq(str(q, "code"), qcodes[i]);
		ck_assert_str_eq(str(q, "name"), qnames[i]);
		ck_assert(json_is_boolean(json_object_get(q, "open")));
		ck_assert_int_eq(num(q, "waiting"), 0);
		ck_assert_ptr_nonnull(json_object_get(q, "estimated_wait_s"));
	}
	ck_assert_int_eq(json_array_size(res("counters")), 2);
	c = json_array_get(res("counters"), 0);
	ck_assert_str_eq(str(c, "name"), "1");
	ck_assert(json_is_true(json_object_get(c, "open")));
	ck_assert_str_eq(str(c, "ticket"), "S-002");
	ck_assert_str_eq(str(c, "state"), "called");
	c = json_array_get(res("counters"), 1);
	ck_assert_str_eq(str(c, "name"), "Desk 2");
	ck_assert(json_is_false(json_object_get(c, "open")));
	assert_null(c, "ticket");
	assert_null(c, "state");
	recent = res("recent");
	ck_assert_int_eq(json_array_size(recent), 3);
	json_array_foreach(recent, i, it) {
		ck_assert_str_eq(str(it, "ticket"), rcodes[i]);
		ck_assert_str_eq(str(it, "counter"), "1");
		ck_assert_str_eq(str(it, "at"), rats[i]);
	}
}
END_TEST

static Suite *engine_day_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, estimate_arithmetic);
	tcase_add_test(tc, midnight_rollover);
	tcase_add_test(tc, midnight_dst_day);
	tcase_add_test(tc, events_emitted);
	tcase_add_test(tc, status_encoded_follows_changes);
	tcase_add_test(tc, status_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_day_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
