/* The fixture of the engine's unit tests (see engine_fixture.h). */
#include "tests/unit/engine_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t now_us;
struct engine *eng;
json_t *events;  /* every emitted event, in order */
int emit_office; /* office id of the last emitted event */

/* The last reply. */
int nreplies;
enum proto_err r_err;
char r_msg[200];
json_t *r_res;

static int64_t test_clock(void *arg)
{
	return now_us;
}

/* Events arrive encoded once: each must be one line of JSON whose
 * "event" is the kind the struct names. */
static void test_emit(void *arg, const struct engine_event *ev)
{
	json_t *obj;

	ck_assert_uint_gt(ev->len, 1);
	ck_assert_msg(ev->line[ev->len - 1] == '\n' && !memchr(ev->line, '\n', ev->len - 1),
		      "an event is one line");
	obj = json_loadb(ev->line, ev->len - 1, 0, NULL);
	ck_assert_msg(obj != NULL, "an event is JSON: %.*s", (int)ev->len, ev->line);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "event")), ev->kind);
	ck_assert_msg(!json_object_get(obj, "_office"), "no routing member on the wire");
	emit_office = ev->office_id;
	json_array_append_new(events, obj);
}

static void on_reply(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	nreplies++;
	r_err = err;
	snprintf(r_msg, sizeof r_msg, "%s", message ? message : "");
	json_decref(r_res);
	r_res = result;
}

void make_engine(const char *tz)
{
	struct engine_hooks h = { .clock = test_clock, .emit = test_emit };

	eng = engine_new(NULL, &h);
	ck_assert_ptr_nonnull(eng);
	ck_assert_int_eq(engine_test_add_office(eng, 1, "HQ", tz), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 1, "S", "Service"), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 2, "F", "Fast"), 0);
	ck_assert_int_eq(engine_test_add_queue(eng, 1, 3, "P", "Post"), 0);
}

void setup(void)
{
	now_us = T0;
	events = json_array();
	nreplies = 0;
	r_res = NULL;
	make_engine("UTC");
}

void teardown(void)
{
	engine_free(eng);
	eng = NULL;
	json_decref(r_res);
	r_res = NULL;
	json_decref(events);
	events = NULL;
}

/* A counter serving n queues given as (queue id, rank) pairs. */
void add_counter(int id, const char *name, bool open, int n, ...)
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
enum proto_err sub_args(const struct proto_request *args)
{
	struct engine_req req = { .args = args, .office_id = 1 };
	int before = nreplies;

	engine_submit(eng, &req, on_reply, NULL);
	ck_assert_int_eq(nreplies, before + 1);
	if (r_err != PROTO_OK)
		ck_assert_msg(r_res == NULL, "an error reply carries a result");
	return r_err;
}

enum proto_err sub(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		   const char *key)
{
	struct proto_request args = { .op = op,
				      .counter = counter,
				      .queue = queue,
				      .ticket = ticket,
				      .key = key,
				      .priority = -1 };

	return sub_args(&args);
}

json_t *res(const char *key)
{
	ck_assert_ptr_nonnull(r_res);
	return json_object_get(r_res, key);
}

const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(json_is_string(v), "field %s is not a string", key);
	return json_string_value(v);
}

json_int_t num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(json_is_integer(v), "field %s is not an integer", key);
	return json_integer_value(v);
}

void assert_null(json_t *obj, const char *key)
{
	ck_assert_msg(json_is_null(json_object_get(obj, key)), "field %s is not null", key);
}

/* Issues a ticket in queue and checks its code. */
void issue_ok(const char *queue, const char *key, const char *want)
{
	ck_assert_int_eq(sub(OP_ISSUE, NULL, queue, NULL, key), PROTO_OK);
	ck_assert_str_eq(str(res("ticket"), "code"), want);
}

/* call_next at counter: the code called (or NULL) and the finished one. */
void call_next_ok(const char *counter, const char *want, const char *finished)
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
json_t *ticket(const char *code)
{
	ck_assert_int_eq(sub(OP_TICKET, NULL, NULL, code, NULL), PROTO_OK);
	return res("ticket");
}

void expect_state(const char *code, const char *state)
{
	ck_assert_str_eq(str(ticket(code), "state"), state);
}

void expect_position(const char *code, int pos)
{
	json_t *t = ticket(code);
	ck_assert_str_eq(str(t, "state"), "waiting");
	ck_assert_int_eq(num(t, "position"), pos);
}

/* The status entry named name in status[list] (queues by code, counters by name). */
json_t *status_entry(const char *list, const char *field, const char *name)
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

json_int_t waiting_count(const char *queue)
{
	return num(status_entry("queues", "code", queue), "waiting");
}

/* The held ticket of a counter according to status ("" for none). */
const char *held(const char *counter)
{
	json_t *c = status_entry("counters", "name", counter);
	json_t *t = json_object_get(c, "ticket");
	return json_is_null(t) ? "" : json_string_value(t);
}

/* The last emitted event of kind, or NULL. */
json_t *last_event(const char *kind)
{
	for (size_t i = json_array_size(events); i-- > 0;) {
		json_t *ev = json_array_get(events, i);
		if (!strcmp(str(ev, "event"), kind))
			return ev;
	}
	return NULL;
}

/* ---- numbering -------------------------------------------------------- */
