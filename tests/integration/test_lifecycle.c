/* Integration test of the ticket lifecycle: every op of the contract and
 * the shape of its result, events, errors, pipelining and idempotency,
 * against a real PostgreSQL and a real kolappd. One database for the file;
 * every test seeds its own office (named after its process) and starts its
 * own kolappd. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;

static json_t *ok(json_t *r)
{
	ck_assert_msg(o_ok(r), "expected ok, got %s", o_js(r));
	return r;
}

static void ok_free(json_t *r)
{
	json_decref(ok(r));
}

static void want_err(json_t *r, const char *code)
{
	ck_assert_msg(r && o_err(r) && strcmp(o_err(r), code) == 0, "expected error %s, got %s",
		      code, o_js(r));
	json_decref(r);
}

static void setup(void)
{
	o_seed_named(g_db, "l", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

static long office_count(const char *where)
{
	char sql[512];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s' AND %s",
		 g_o.code, where);
	return o_count(g_db, sql);
}

/* ---- hello, issue ------------------------------------------------------- */

START_TEST(hello_reply_fields)
{
	struct oc *c = oc_connect(g_d.port);
	json_t *r;

	ck_assert_ptr_nonnull(c);
	r = ok(oc_req(c, "{\"id\":1,\"op\":\"hello\",\"token\":\"%s\"}", g_o.counter[0]));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "protocol")), 1);
	ck_assert_msg(strncmp(json_string_value(json_object_get(r, "server")), "kolappd/", 8) == 0,
		      "server: %s", o_js(r));
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "counter");
	ck_assert_str_eq(json_string_value(json_object_get(r, "office")), g_o.code);
	ck_assert_str_eq(json_string_value(json_object_get(r, "counter")), "1");
	json_decref(r);
	r = ok(oc_req(c, "{\"id\":2,\"op\":\"hello\",\"token\":\"%s\"}", g_o.display));
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "display");
	ck_assert_ptr_nonnull(json_object_get(r, "counter"));
	ck_assert(json_is_null(json_object_get(r, "counter")));
	json_decref(r);
	oc_close(c);
}
END_TEST

static void assert_waiting_ticket(const json_t *r, const char *code, int number, int position)
{
	const json_t *t = json_object_get(r, "ticket");
	const char *at = json_string_value(json_object_get(t, "issued_at"));

	ck_assert_msg(json_is_object(t), "no ticket: %s", o_js(r));
	ck_assert_str_eq(o_tstr(r, "code"), code);
	ck_assert_str_eq(o_tstr(r, "queue"), "S");
	ck_assert_int_eq(o_tint(r, "number"), number);
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	ck_assert_msg(at && strlen(at) >= 20 && at[strlen(at) - 1] == 'Z' && at[10] == 'T',
		      "issued_at: %s", o_js(r));
	ck_assert(json_is_null(json_object_get(t, "counter")));
	ck_assert_int_eq(o_tint(r, "position"), position);
	/* No service-time sample yet today: the estimate is unknown. */
	ck_assert_msg(json_object_get(t, "estimated_wait_s") &&
			      json_is_null(json_object_get(t, "estimated_wait_s")),
		      "estimated_wait_s: %s", o_js(r));
}

START_TEST(issue_returns_waiting_ticket)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	r = ok(oc_req(k, "{\"id\":\"a\",\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "a");
	assert_waiting_ticket(r, "S-001", 1, 1);
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	assert_waiting_ticket(r, "S-002", 2, 2);
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-002\"}"));
	assert_waiting_ticket(r, "S-002", 2, 2);
	json_decref(r);
	ck_assert_int_eq(office_count("t.state = 'waiting' AND t.code IN ('S-001', 'S-002')"), 2);
	oc_close(k);
}
END_TEST

/* ---- counter ops ------------------------------------------------------------ */

START_TEST(call_next_recall_start_finish)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[0]);
	json_t *r, *t;

	r = ok(oc_req(c, "{\"op\":\"counter_open\"}"));
	t = json_object_get(r, "counter");
	ck_assert_str_eq(json_string_value(json_object_get(t, "name")), "1");
	ck_assert(json_is_true(json_object_get(t, "open")));
	ck_assert(json_is_null(json_object_get(t, "ticket")));
	ck_assert(json_is_null(json_object_get(t, "state")));
	json_decref(r);

	/* Nothing waiting, nothing held. */
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert(json_is_null(json_object_get(r, "ticket")));
	ck_assert(json_is_null(json_object_get(r, "finished")));
	json_decref(r);

	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));

	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "state"), "called");
	ck_assert_str_eq(o_tstr(r, "counter"), "1");
	ck_assert_int_eq(o_tint(r, "recalls"), 0);
	ck_assert(json_is_null(json_object_get(r, "finished")));
	json_decref(r);

	r = ok(oc_req(c, "{\"op\":\"recall\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "state"), "called");
	ck_assert_int_eq(o_tint(r, "recalls"), 1);
	json_decref(r);
	r = ok(oc_req(c, "{\"op\":\"recall\"}"));
	ck_assert_int_eq(o_tint(r, "recalls"), 2);
	json_decref(r);

	r = ok(oc_req(c, "{\"op\":\"start\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "state"), "serving");
	json_decref(r);
	/* Serving, not called: no recall, no no_show. */
	want_err(oc_req(c, "{\"op\":\"recall\"}"), "conflict");
	want_err(oc_req(c, "{\"op\":\"no_show\"}"), "conflict");

	/* call_next while holding a ticket finishes it first. */
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	ck_assert_str_eq(json_string_value(json_object_get(r, "finished")), "S-001");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "done");
	ck_assert_ptr_null(json_object_get(json_object_get(r, "ticket"), "position"));
	json_decref(r);

	/* finish straight from called. */
	r = ok(oc_req(c, "{\"op\":\"finish\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	ck_assert_str_eq(o_tstr(r, "state"), "done");
	json_decref(r);
	want_err(oc_req(c, "{\"op\":\"finish\"}"), "conflict");
	want_err(oc_req(c, "{\"op\":\"start\"}"), "conflict");
	ck_assert_int_eq(office_count("t.state = 'done'"), 2);
	oc_close(k);
	oc_close(c);
}
END_TEST

START_TEST(no_show_and_close)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[1]);
	json_t *r, *t;

	ok_free(oc_req(c, "{\"op\":\"counter_open\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	json_decref(r);
	r = ok(oc_req(c, "{\"op\":\"no_show\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	ck_assert_str_eq(o_tstr(r, "state"), "no_show");
	json_decref(r);
	ck_assert_int_eq(office_count("t.code = 'F-001' AND t.state = 'no_show'"), 1);

	r = ok(oc_req(c, "{\"op\":\"counter_close\"}"));
	t = json_object_get(r, "counter");
	ck_assert_str_eq(json_string_value(json_object_get(t, "name")), "2");
	ck_assert(json_is_false(json_object_get(t, "open")));
	json_decref(r);
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	want_err(oc_req(c, "{\"op\":\"call_next\"}"), "conflict");
	want_err(oc_req(c, "{\"op\":\"call\",\"ticket\":\"F-002\"}"), "conflict");
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"F-002\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	json_decref(r);
	oc_close(k);
	oc_close(c);
}
END_TEST

START_TEST(call_by_code)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[2]);
	json_t *r;

	ok_free(oc_req(c, "{\"op\":\"counter_open\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	r = ok(oc_req(c, "{\"op\":\"call\",\"ticket\":\"S-002\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	ck_assert_str_eq(o_tstr(r, "state"), "called");
	ck_assert_str_eq(o_tstr(r, "counter"), "3");
	ck_assert(json_is_null(json_object_get(r, "finished")));
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	ck_assert_int_eq(o_tint(r, "position"), 1);
	json_decref(r);
	/* Calling a ticket that is not waiting. */
	want_err(oc_req(c, "{\"op\":\"call\",\"ticket\":\"S-002\"}"), "conflict");
	want_err(oc_req(c, "{\"op\":\"call\",\"ticket\":\"S-404\"}"), "not_found");
	r = ok(oc_req(c, "{\"op\":\"call\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "finished")), "S-002");
	json_decref(r);
	oc_close(k);
	oc_close(c);
}
END_TEST

/* PROTOCOL.md 5.3: the number part is read as a decimal number, so S-2,
 * S-002 and S-0002 name the same ticket. */
START_TEST(code_number_read_as_decimal)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-2\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-0001\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	oc_close(k);
}
END_TEST

START_TEST(transfer_keeps_code_and_place)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c1 = o_login(g_d.port, g_o.counter[0]),
		  *c3 = o_login(g_d.port, g_o.counter[2]);
	static const char *const order[] = { "F-001", "S-001", "F-002" };
	json_t *r;
	int i;

	ok_free(oc_req(c1, "{\"op\":\"counter_open\"}"));
	ok_free(oc_req(c3, "{\"op\":\"counter_open\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	/* Counter 1 ranks S first. */
	r = ok(oc_req(c1, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	ok_free(oc_req(c1, "{\"op\":\"start\"}"));
	r = ok(oc_req(c1, "{\"op\":\"transfer\",\"queue\":\"F\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "queue"), "F");
	ck_assert_int_eq(o_tint(r, "number"), 1);
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	ck_assert(json_is_null(json_object_get(json_object_get(r, "ticket"), "counter")));
	/* Issued before F-002, after F-001. */
	ck_assert_int_eq(o_tint(r, "position"), 2);
	json_decref(r);
	/* The counter holds nothing now. */
	want_err(oc_req(c1, "{\"op\":\"finish\"}"), "conflict");
	want_err(oc_req(c1, "{\"op\":\"transfer\",\"queue\":\"Q\"}"), "not_found");

	for (i = 0; i < 3; i++) {
		r = ok(oc_req(c3, "{\"op\":\"call_next\"}"));
		ck_assert_msg(strcmp(o_tstr(r, "code"), order[i]) == 0, "call %d: want %s, got %s",
			      i, order[i], o_js(r));
		ck_assert_str_eq(o_tstr(r, "queue"), "F");
		if (i > 0)
			ck_assert_str_eq(json_string_value(json_object_get(r, "finished")),
					 order[i - 1]);
		json_decref(r);
	}
	ck_assert_int_eq(office_count("t.code = 'S-001' AND t.queue_id <> t.origin_queue_id"), 1);
	oc_close(k);
	oc_close(c1);
	oc_close(c3);
}
END_TEST

START_TEST(cancel_waiting)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"P\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"P\"}"));
	r = ok(oc_req(k, "{\"op\":\"cancel\",\"ticket\":\"P-001\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "P-001");
	ck_assert_str_eq(o_tstr(r, "state"), "cancelled");
	json_decref(r);
	want_err(oc_req(k, "{\"op\":\"cancel\",\"ticket\":\"P-001\"}"), "conflict");
	want_err(oc_req(k, "{\"op\":\"cancel\",\"ticket\":\"P-009\"}"), "not_found");
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"P-002\"}"));
	ck_assert_int_eq(o_tint(r, "position"), 1);
	json_decref(r);
	ck_assert_int_eq(office_count("t.code = 'P-001' AND t.state = 'cancelled'"), 1);
	oc_close(k);
}
END_TEST

/* ---- status, subscribe, bye --------------------------------------------- */

static const json_t *find_named(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(json_object_get(e, key));

		if (s && strcmp(s, val) == 0)
			return e;
	}
	return NULL;
}

START_TEST(status_shape)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[0]),
		  *d = o_login(g_d.port, g_o.display);
	const json_t *q, *ctr, *recent;
	json_t *r;

	ok_free(oc_req(c, "{\"op\":\"counter_open\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ok_free(oc_req(c, "{\"op\":\"call_next\"}"));
	ok_free(oc_req(c, "{\"op\":\"call_next\"}"));
	ok_free(oc_req(c, "{\"op\":\"recall\"}"));

	r = ok(oc_req(d, "{\"op\":\"status\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "office")), g_o.code);
	ck_assert(json_is_false(json_object_get(r, "stale")));
	ck_assert_int_eq(json_array_size(json_object_get(r, "queues")), 3);
	q = find_named(json_object_get(r, "queues"), "code", "S");
	ck_assert_msg(q != NULL, "no queue S: %s", o_js(r));
	ck_assert_str_eq(json_string_value(json_object_get(q, "name")), "Skatteverket");
	ck_assert(json_is_true(json_object_get(q, "open")));
	ck_assert_int_eq(json_integer_value(json_object_get(q, "waiting")), 1);
	ck_assert_ptr_nonnull(json_object_get(q, "estimated_wait_s"));
	q = find_named(json_object_get(r, "queues"), "code", "F");
	ck_assert_str_eq(json_string_value(json_object_get(q, "name")), "Försäkringskassan");
	ck_assert_int_eq(json_integer_value(json_object_get(q, "waiting")), 0);

	ck_assert_int_eq(json_array_size(json_object_get(r, "counters")), 3);
	ctr = find_named(json_object_get(r, "counters"), "name", "1");
	ck_assert(json_is_true(json_object_get(ctr, "open")));
	ck_assert_str_eq(json_string_value(json_object_get(ctr, "ticket")), "S-002");
	ck_assert_str_eq(json_string_value(json_object_get(ctr, "state")), "called");
	ctr = find_named(json_object_get(r, "counters"), "name", "2");
	ck_assert(json_is_false(json_object_get(ctr, "open")));
	ck_assert(json_is_null(json_object_get(ctr, "ticket")));

	/* Newest first: the recall of S-002, its call, the call of S-001. */
	recent = json_object_get(r, "recent");
	ck_assert_msg(json_array_size(recent) == 3, "recent: %s", o_js(r));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recent, 0), "ticket")),
			 "S-002");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recent, 1), "ticket")),
			 "S-002");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recent, 2), "ticket")),
			 "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recent, 0), "counter")),
			 "1");
	ck_assert_msg(strcmp(json_string_value(json_object_get(json_array_get(recent, 0), "at")),
			     json_string_value(json_object_get(json_array_get(recent, 2), "at"))) >=
			      0,
		      "recent not newest first: %s", o_js(r));
	json_decref(r);
	oc_close(k);
	oc_close(c);
	oc_close(d);
}
END_TEST

static json_t *event_of(struct oc *c, const char *kind)
{
	json_t *e = oc_event(c, kind, 5000);

	ck_assert_msg(e != NULL, "no %s event", kind);
	ck_assert_str_eq(json_string_value(json_object_get(e, "office")), g_o.code);
	ck_assert_msg(json_is_string(json_object_get(e, "at")), "event without at: %s", o_js(e));
	ck_assert_ptr_null(json_object_get(e, "id"));
	ck_assert_ptr_null(json_object_get(e, "ok"));
	return e;
}

START_TEST(subscribe_events)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[0]),
		  *d = o_login(g_d.port, g_o.display);
	json_t *r, *e;
	char *line;

	r = ok(oc_req(d, "{\"id\":\"sub\",\"op\":\"subscribe\"}"));
	ck_assert_int_eq(json_object_size(r), 2); /* just id and ok */
	json_decref(r);
	/* The counter subscribes too: on its own connection the called event
	 * must come before the reply to its call_next. */
	ok_free(oc_req(c, "{\"op\":\"subscribe\"}"));

	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	e = event_of(d, "issued");
	ck_assert_str_eq(json_string_value(json_object_get(e, "ticket")), "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(e, "queue")), "S");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "number")), 1);
	json_decref(e);
	e = event_of(d, "queue");
	ck_assert_str_eq(json_string_value(json_object_get(e, "queue")), "S");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "waiting")), 1);
	json_decref(e);

	ok_free(oc_req(c, "{\"op\":\"counter_open\"}"));
	e = event_of(d, "counter");
	ck_assert_str_eq(json_string_value(json_object_get(e, "counter")), "1");
	ck_assert(json_is_true(json_object_get(e, "open")));
	json_decref(e);

	/* Drop what the counter's own subscription has collected so far. */
	json_array_clear(c->events);
	ck_assert_int_eq(oc_send(c, "{\"id\":\"cn\",\"op\":\"call_next\"}\n"), 0);
	for (;;) {
		json_t *j;

		line = oc_line(c, 5000);
		ck_assert_msg(line != NULL, "no reply to call_next");
		j = json_loads(line, 0, NULL);
		free(line);
		ck_assert_ptr_nonnull(j);
		if (json_object_get(j, "event")) {
			json_array_append_new(c->events, j);
			continue;
		}
		ok(j);
		ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "cn");
		json_decref(j);
		break;
	}
	e = oc_event(c, "called", 0);
	ck_assert_msg(e != NULL, "the called event came after the reply to call_next");
	json_decref(e);
	/* The display got it as well. */
	e = event_of(d, "called");
	ck_assert_str_eq(json_string_value(json_object_get(e, "ticket")), "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(e, "counter")), "1");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "recalls")), 0);
	json_decref(e);

	ok_free(oc_req(c, "{\"op\":\"start\"}"));
	e = event_of(d, "state");
	ck_assert_str_eq(json_string_value(json_object_get(e, "ticket")), "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(e, "state")), "serving");
	json_decref(e);
	oc_close(k);
	oc_close(c);
	oc_close(d);
}
END_TEST

START_TEST(bye_answers_then_closes)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	ck_assert_int_eq(oc_send(k, "{\"id\":1,\"op\":\"ping\"}\n{\"id\":2,\"op\":\"bye\"}\n"), 0);
	r = ok(oc_reply(k, 5000));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = ok(oc_reply(k, 5000));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	ck_assert_msg(oc_closed(k, 5000), "not closed after bye");
	oc_close(k);
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(error_codes)
{
	struct oc *c = oc_connect(g_d.port), *a;
	json_t *r;
	char big[70010];

	ck_assert_ptr_nonnull(c);
	want_err(oc_req(c, "{\"id\":1,\"op\":\"status\"}"), "unauthorized");
	want_err(oc_req(c, "{\"id\":1,\"op\":\"hello\",\"token\":\"kt_nope\"}"), "unauthorized");
	want_err(oc_req(c, "{\"id\":1,\"op\":\"frobnicate\"}"), "unknown_op");
	r = oc_req(c, "{\"id\":1,\"op\":");
	ck_assert(r && json_is_null(json_object_get(r, "id")));
	want_err(r, "bad_request");
	oc_close(c);

	a = o_login(g_d.port, g_o.admin);
	r = oc_req(a, "{\"id\":2,\"op\":\"issue\"}");
	ck_assert_msg(r && strstr(json_string_value(
					  json_object_get(json_object_get(r, "error"), "message"))
					  ?: "",
				  "queue"),
		      "missing field not named: %s", o_js(r));
	want_err(r, "bad_request");
	want_err(oc_req(a, "{\"op\":\"ticket\",\"ticket\":42}"), "bad_request");
	want_err(oc_req(a, "{\"op\":\"call_next\"}"), "bad_request"); /* admin: no counter */
	want_err(oc_req(a, "{\"op\":\"issue\",\"queue\":\"Z\"}"), "not_found");
	want_err(oc_req(a, "{\"op\":\"call_next\",\"counter\":\"99\"}"), "not_found");
	want_err(oc_req(a, "{\"op\":\"ticket\",\"ticket\":\"S-999\"}"), "not_found");
	want_err(oc_req(a, "{\"op\":\"status\",\"office\":\"no-such-office\"}"), "not_found");
	want_err(oc_req(a, "{\"op\":\"start\",\"counter\":\"1\"}"), "conflict");
	want_err(oc_req(a, "{\"op\":\"call_next\",\"counter\":\"1\"}"), "conflict"); /* closed */

	memset(big, 'x', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	(void)oc_send(a, big);
	want_err(oc_reply(a, 5000), "too_large");
	ck_assert_msg(oc_closed(a, 5000), "not closed after too_large");
	oc_close(a);
}
END_TEST

START_TEST(closed_queue_after_restart)
{
	char sql[256], out[64];
	struct oc *k;
	json_t *r;

	snprintf(sql, sizeof sql,
		 "UPDATE kolapp.queues SET open = false WHERE code = 'S' AND office_id = "
		 "(SELECT id FROM kolapp.offices WHERE code = '%s')",
		 g_o.code);
	ck_assert_int_eq(h_psql(g_db, sql, out, sizeof out), 0);
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	ck_assert_int_eq(h_daemon_start(&g_d, g_db, NULL), 0);
	k = o_login(g_d.port, g_o.kiosk);
	want_err(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"), "queue_closed");
	r = ok(oc_req(k, "{\"op\":\"status\"}"));
	ck_assert(json_is_false(
		json_object_get(find_named(json_object_get(r, "queues"), "code", "S"), "open")));
	json_decref(r);
	ok_free(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	ck_assert_int_eq(office_count("true"), 1);
	oc_close(k);
}
END_TEST

/* ---- pipelining, idempotency ------------------------------------------------- */

START_TEST(pipelined_mixed_in_order)
{
	static const char *const ops[] = {
		"\"op\":\"issue\",\"queue\":\"S\"",
		"\"op\":\"status\"",
		"\"op\":\"ticket\",\"ticket\":\"S-001\"",
		"\"op\":\"ping\"",
	};
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char *all = malloc(200 * 64);
	size_t len = 0;
	int i, issued = 0;

	ck_assert_ptr_nonnull(all);
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(all + len, "{\"id\":%d,%s}\n", i, ops[i % 4]);
	ck_assert_int_eq(oc_send(k, all), 0);
	free(all);
	for (i = 0; i < 200; i++) {
		json_t *r = oc_reply(k, 10000);

		ck_assert_msg(r != NULL, "reply %d missing", i);
		ck_assert_msg(json_integer_value(json_object_get(r, "id")) == i,
			      "reply %d out of order: %s", i, o_js(r));
		ok(r);
		if (i % 4 == 0) {
			ck_assert_int_eq(o_tint(r, "number"), ++issued);
		} else if (i % 4 == 1) {
			ck_assert_ptr_nonnull(json_object_get(r, "queues"));
		} else if (i % 4 == 2) {
			ck_assert_str_eq(o_tstr(r, "code"), "S-001");
		}
		json_decref(r);
	}
	ck_assert_int_eq(office_count("true"), 50);
	oc_close(k);
}
END_TEST

START_TEST(idempotent_issue)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"visitor-1\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"visitor-1\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	/* Pipelined retries while the first may still be committing. */
	ck_assert_int_eq(oc_send(k, "{\"id\":1,\"op\":\"issue\",\"queue\":\"F\",\"key\":\"visitor-"
				    "2\"}\n"
				    "{\"id\":2,\"op\":\"issue\",\"queue\":\"F\",\"key\":\"visitor-"
				    "2\"}\n"),
			 0);
	r = ok(oc_reply(k, 5000));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	json_decref(r);
	r = ok(oc_reply(k, 5000));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"visitor-3\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	json_decref(r);
	ck_assert_int_eq(office_count("t.idem_key = 'visitor-1'"), 1);
	ck_assert_int_eq(office_count("t.idem_key = 'visitor-2'"), 1);
	ck_assert_int_eq(office_count("true"), 3);
	oc_close(k);
}
END_TEST

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("ops");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hello_reply_fields);
	tcase_add_test(tc, issue_returns_waiting_ticket);
	tcase_add_test(tc, call_next_recall_start_finish);
	tcase_add_test(tc, no_show_and_close);
	tcase_add_test(tc, call_by_code);
	tcase_add_test(tc, code_number_read_as_decimal);
	tcase_add_test(tc, transfer_keeps_code_and_place);
	tcase_add_test(tc, cancel_waiting);
	tcase_add_test(tc, status_shape);
	tcase_add_test(tc, subscribe_events);
	tcase_add_test(tc, bye_answers_then_closes);
	tcase_add_test(tc, error_codes);
	tcase_add_test(tc, closed_queue_after_restart);
	tcase_add_test(tc, pipelined_mixed_in_order);
	tcase_add_test(tc, idempotent_issue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_lifecycle", lifecycle_suite(), &g_db, NULL);
}
