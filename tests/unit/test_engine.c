/* Unit tests of the queue engine without a database: numbering, the rank
 * rule, transitions, positions, estimates, midnight, events, status. */
#include "daemon/engine.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1781078400) * SEC) /* 2026-06-10T08:00:00Z */

static int64_t now_us;
static struct engine *eng;
static json_t *events;   /* every emitted event, in order */
static int emit_office;  /* office id of the last emitted event */

/* The last reply. */
static int nreplies;
static enum proto_err r_err;
static char r_msg[200];
static json_t *r_res;

static int64_t test_clock(void *arg)
{
	return now_us;
}

static void test_emit(void *arg, int office_id, json_t *ev)
{
	emit_office = office_id;
	json_array_append_new(events, json_deep_copy(ev));
}

static void on_reply(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	nreplies++;
	r_err = err;
	snprintf(r_msg, sizeof r_msg, "%s", message ? message : "");
	json_decref(r_res);
	r_res = result;
}

static void make_engine(const char *tz)
{
	struct engine_hooks h = { .clock = test_clock, .emit = test_emit };

	eng = engine_new(NULL, &h);
	ck_assert_ptr_nonnull(eng);
	ck_assert_int_eq(engine_test_add_office(eng, 1, "HQ", tz), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 1, "S", "Service"), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 2, "F", "Fast"), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 3, "P", "Post"), 0);
}

static void setup(void)
{
	now_us = T0;
	events = json_array();
	nreplies = 0;
	r_res = NULL;
	make_engine("UTC");
}

static void teardown(void)
{
	engine_free(eng);
	eng = NULL;
	json_decref(r_res);
	r_res = NULL;
	json_decref(events);
	events = NULL;
}

/* A counter serving n queues given as (queue id, rank) pairs. */
static void add_counter(int id, const char *name, bool open, int n, ...)
{
	int qids[8], ranks[8];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		qids[i] = va_arg(ap, int);
		ranks[i] = va_arg(ap, int);
	}
	va_end(ap);
	ck_assert_int_eq(engine_test_add_counter(eng, 1, id, name, qids, ranks, n, open), 0);
}

/* Submits one request and returns its error; the reply must come at once. */
static enum proto_err sub(enum proto_op op, const char *counter, const char *queue,
			  const char *ticket, const char *key)
{
	struct engine_req req = { .op = op, .office_id = 1, .counter_name = counter,
				  .queue = queue, .ticket = ticket, .key = key };
	int before = nreplies;

	engine_submit(eng, &req, on_reply, NULL);
	ck_assert_int_eq(nreplies, before + 1);
	if (r_err != PROTO_OK)
		ck_assert_msg(r_res == NULL, "an error reply carries a result");
	return r_err;
}

static json_t *res(const char *key)
{
	ck_assert_ptr_nonnull(r_res);
	return json_object_get(r_res, key);
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(json_is_string(v), "field %s is not a string", key);
	return json_string_value(v);
}

static json_int_t num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(json_is_integer(v), "field %s is not an integer", key);
	return json_integer_value(v);
}

static void assert_null(json_t *obj, const char *key)
{
	ck_assert_msg(json_is_null(json_object_get(obj, key)), "field %s is not null", key);
}

/* Issues a ticket in queue and checks its code. */
static void issue_ok(const char *queue, const char *key, const char *want)
{
	ck_assert_int_eq(sub(OP_ISSUE, NULL, queue, NULL, key), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), want);
}

/* call_next at counter: the code called (or NULL) and the finished one. */
static void call_next_ok(const char *counter, const char *want, const char *finished)
{
	ck_assert_int_eq(sub(OP_CALL_NEXT, counter, NULL, NULL, NULL), PROTO_OK);
	ck_assert_msg(json_object_get(r_res, "ticket") && json_object_get(r_res, "finished"),
		      "call_next result lacks ticket or finished");
	if (want)
		ck_assert_str_eq(str(res("ticket"), "code"), want);
	else
		assert_null(r_res, "ticket");
	if (finished)
		ck_assert_str_eq(str(r_res, "finished"), finished);
	else
		assert_null(r_res, "finished");
}

/* The ticket object of code (asserts it is found). */
static json_t *ticket(const char *code)
{
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, code, NULL), PROTO_OK);
	return res("ticket");
}

static void expect_state(const char *code, const char *state)
{
	ck_assert_str_eq(str(ticket(code), "state"), state);
}

static void expect_position(const char *code, int pos)
{
	json_t *t = ticket(code);
	ck_assert_str_eq(str(t, "state"), "waiting");
	ck_assert_int_eq(num(t, "position"), pos);
}

/* The status entry named name in status[list] (queues by code, counters by name). */
static json_t *status_entry(const char *list, const char *field, const char *name)
{
	json_t *arr, *it;
	size_t i;

	ck_assert_int_eq(sub(OP_STATUS, NULL, NULL, NULL, NULL), PROTO_OK);
	arr = res(list);
	ck_assert(json_is_array(arr));
	json_array_foreach(arr, i, it)
		if (!strcmp(str(it, field), name))
			return it;
	ck_abort_msg("%s %s not in status", list, name);
	return NULL;
}

static json_int_t waiting_count(const char *queue)
{
	return num(status_entry("queues", "code", queue), "waiting");
}

/* The held ticket of a counter according to status ("" for none). */
static const char *held(const char *counter)
{
	json_t *c = status_entry("counters", "name", counter);
	json_t *t = json_object_get(c, "ticket");
	return json_is_null(t) ? "" : json_string_value(t);
}

/* The last emitted event of kind, or NULL. */
static json_t *last_event(const char *kind)
{
	for (size_t i = json_array_size(events); i-- > 0;) {
		json_t *ev = json_array_get(events, i);
		if (!strcmp(str(ev, "event"), kind))
			return ev;
	}
	return NULL;
}

/* ---- numbering -------------------------------------------------------- */

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
	issue_ok("S", NULL, "S-001");   /* the refusals consumed no number */
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "S-002", NULL), PERR_NOT_FOUND);
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, "X-001", NULL), PERR_NOT_FOUND);
}
END_TEST

START_TEST(idempotency_key)
{
	issue_ok("S", "kiosk1-42", "S-001");
	size_t nev = json_array_size(events);
	now_us += 5 * SEC;
	issue_ok("S", "kiosk1-42", "S-001");
	ck_assert_str_eq(str(res("ticket"), "issued_at"), "2026-06-10T08:00:00.000Z");
	ck_assert_int_eq(json_array_size(events), nev);   /* nothing new happened */
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
	add_counter(1, "1", true, 2, 1, 1, 2, 2);   /* S rank 1, F rank 2 */
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
	add_counter(1, "1", true, 2, 1, 1, 3, 1);   /* S and P both rank 1 */
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
	call_next_ok("1", NULL, "F-001");   /* S-001 and F-002 wait in closed queues */
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
	issue_ok("F", NULL, "F-001");   /* not a queue of this counter */
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
	add_counter(1, "1", true, 1, 1, 1);           /* S only */
	add_counter(2, "2", true, 1, 2, 1);           /* F only */
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
	call_next_ok("1", NULL, NULL);                /* S is empty now */
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
	engine_test_set_queue_open(eng, 1, "P", false);   /* closed is fine */
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
		issue_ok("S", NULL, (const char *[]){ "S-001", "S-002", "S-003", "S-004",
						      "S-005" }[i]);
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

/* ---- estimates -------------------------------------------------------- */

START_TEST(estimate_arithmetic)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	add_counter(3, "3", true, 1, 2, 1);   /* F only: does not count for S */
	issue_ok("S", NULL, "S-001");
	assert_null(res("ticket"), "estimated_wait_s");   /* no history */
	issue_ok("S", NULL, "S-002");
	assert_null(status_entry("queues", "code", "S"), "estimated_wait_s");
	call_next_ok("1", "S-001", NULL);
	call_next_ok("2", "S-002", NULL);
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	now_us += 60 * SEC;
	ck_assert_int_eq(sub(OP_FINISH, "2", NULL, NULL, NULL), PROTO_OK);  /* 120 s */
	issue_ok("S", NULL, "S-003");
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 45);   /* 90*1/2 */
	issue_ok("S", NULL, "S-004");
	issue_ok("S", NULL, "S-005");
	ck_assert_int_eq(num(res("ticket"), "position"), 3);
	ck_assert_int_eq(num(res("ticket"), "estimated_wait_s"), 135);  /* 90*3/2 */
	ck_assert_int_eq(num(ticket("S-004"), "estimated_wait_s"), 90);
	/* a new visitor would be fourth: 90*4/2 */
	ck_assert_int_eq(num(status_entry("queues", "code", "S"), "estimated_wait_s"), 180);
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "2", NULL, NULL, NULL), PROTO_OK);
	ck_assert_int_eq(num(ticket("S-005"), "estimated_wait_s"), 270);  /* one counter */
	ck_assert_int_eq(sub(OP_COUNTER_CLOSE, "1", NULL, NULL, NULL), PROTO_OK);
	assert_null(ticket("S-005"), "estimated_wait_s");   /* no open counter for S */
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
	now_us = INT64_C(1781128740) * SEC;   /* 2026-06-10 23:59 in Stockholm */
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
	now_us = INT64_C(1781128799) * SEC;   /* 23:59:59: not yet */
	engine_tick(eng);
	ck_assert_int_eq(waiting_count("S"), 2);
	now_us = INT64_C(1781128801) * SEC;   /* 00:00:01 on 2026-06-11 */
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
	issue_ok("S", "k", "S-001");   /* yesterday's key is gone too */
	ck_assert_str_eq(str(res("ticket"), "issued_at"), "2026-06-10T22:00:01.000Z");
	issue_ok("F", NULL, "F-001");
	ck_assert_int_eq(waiting_count("S"), 1);
	/* yesterday's S-001 is still served at counter 1 and can be finished */
	ck_assert_int_eq(sub(OP_FINISH, "1", NULL, NULL, NULL), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "state"), "done");
	ck_assert_str_eq(held("1"), "");
	expect_position("S-001", 1);   /* today's S-001 is untouched */
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
	now_us += 1500;   /* 1.5 ms */
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
	static const char *const rats[] = { "2026-06-10T08:00:20.000Z",
		"2026-06-10T08:00:10.000Z", "2026-06-10T08:00:00.000Z" };
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

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, numbering_per_queue);
	tcase_add_test(tc, numbering_beyond_999);
	tcase_add_test(tc, issue_closed_and_unknown);
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
	tcase_add_test(tc, estimate_arithmetic);
	tcase_add_test(tc, midnight_rollover);
	tcase_add_test(tc, midnight_dst_day);
	tcase_add_test(tc, events_emitted);
	tcase_add_test(tc, status_shape);
	tcase_add_test(tc, status_encoded_follows_changes);
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
