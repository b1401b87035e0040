/* Integration test of POST /api/op: a request object of the TCP protocol
 * over HTTP. Every op of the op table, role by role, against the
 * contract's matrix; replies byte for byte those of TCP; a change answered
 * only after its commit, also to a client that left meanwhile; the
 * refusals (401, 403, 405, 413, 429) and their JSON bodies; the id echo;
 * the request metrics; and a database outage (on a private cluster).
 * Real PostgreSQL, real kolappd with --http. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"
#include "tests/integration/httpc.h"
#include "tests/integration/contract.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o, g_other;
static int g_http;

static const char *srcdir(void)
{
	const char *s = getenv("KOLAPP_SRCDIR");

	return s && *s ? s : KOLAPP_SRCDIR;
}

/* kolappd on conninfo with --http on a fresh port, and extra arguments. */
static void daemon_up(const char *conninfo, const char *extra)
{
	char args[1024];

	g_http = h_free_port();
	ck_assert_int_gt(g_http, 0);
	snprintf(args, sizeof args, "--http 127.0.0.1:%d --data-dir %s/data%s%s", g_http, srcdir(),
		 extra ? " " : "", extra ? extra : "");
	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, conninfo, args), 0);
}

static void setup(void)
{
	o_seed_named(g_db, "ap", &g_o);
	o_seed_named(g_db, "aq", &g_other);
	daemon_up(g_db, NULL);
}

static void teardown(void)
{
	if (g_d.pid > 0)
		ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
}

/* ---- requests ------------------------------------------------------------------ */

/* POST /api/op with the token as a Bearer header (NULL: none). */
static struct hc_resp post_raw(const char *token, const char *body, size_t len)
{
	return hc_do(g_http, "POST", "/api/op", token ? hc_bearer(token) : NULL, body, len);
}

static struct hc_resp post(const char *token, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct hc_resp post(const char *token, const char *fmt, ...)
{
	char body[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	return post_raw(token, body, strlen(body));
}

/* The body of a reply as JSON, checking the headers every answer of
 * /api/op carries (except libevent's own 413). */
static json_t *body_json(const struct hc_resp *r)
{
	char ct[128];
	json_t *j;

	ck_assert_str_eq(hc_header(r, "Content-Type", ct, sizeof ct),
			 "application/json; charset=utf-8");
	ck_assert_ptr_nonnull(hc_header(r, "Cache-Control", ct, sizeof ct));
	j = json_loads(r->body, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

/* A 200 reply, parsed. */
static json_t *op(const char *token, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *op(const char *token, const char *fmt, ...)
{
	char body[4096];
	struct hc_resp r;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	r = post_raw(token, body, strlen(body));
	ck_assert_msg(r.status == 200, "%s: status %d: %s", body, r.status, r.body);
	j = body_json(&r);
	hc_resp_free(&r);
	return j;
}

static json_t *ok(json_t *r)
{
	ck_assert_msg(o_ok(r), "expected ok, got %s", o_js(r));
	return r;
}

static void want_err(json_t *r, const char *code)
{
	ck_assert_msg(r && o_err(r) && strcmp(o_err(r), code) == 0, "expected error %s, got %s",
		      code, o_js(r));
	json_decref(r);
}

static const char *err_message(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "message"));
}

/* A refusal made before the body is read: the status, and the protocol's
 * error object with "id":null. */
static void want_refusal(struct hc_resp *r, int status, const char *code)
{
	json_t *j;

	ck_assert_msg(r->status == status, "want %d, got %d: %s", status, r->status, r->body);
	j = body_json(r);
	ck_assert(json_is_null(json_object_get(j, "id")));
	ck_assert(json_is_false(json_object_get(j, "ok")));
	want_err(j, code);
	hc_resp_free(r);
}

static long office_count(const char *where)
{
	char sql[1024];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s' AND %s",
		 g_o.code, where);
	return o_count(g_db, sql);
}

/* ---- every op, role by role ------------------------------------------------------ */

static void check_role(int role, const char *token)
{
	const char *const *names = contract_role_names;

	for (int op_ = 0; op_ < OP__COUNT; op_++) {
		enum proto_op o = (enum proto_op)op_;
		const char *name = proto_op_name(o);
		int row = contract_row(name);
		char args[128];
		struct hc_resp r;
		json_t *j;
		const char *err;

		ck_assert_msg(row >= 0, "op %s of the op table is not in the contract's matrix",
			      name);
		contract_args(o, args, sizeof args);
		const char *ctr = proto_op_is_counter_op(o) &&
						  (role == R_ADMIN || role == R_COUNTER)
					? ",\"counter\":\"1\""
					: "";
		r = post(token, "{\"id\":%d,\"op\":\"%s\"%s%s}", op_, name, args, ctr);
		if (role == R_DISPLAY) {
			/* A display may use no op over HTTP, not even ping. */
			want_refusal(&r, 403, "forbidden");
			continue;
		}
		ck_assert_msg(r.status == 200, "%s %s: status %d", names[role], name, r.status);
		j = body_json(&r);
		hc_resp_free(&r);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), (json_int_t)op_);
		err = o_err(j);
		if (o == OP_HELLO || o == OP_BYE || o == OP_SUBSCRIBE) {
			ck_assert_msg(err && !strcmp(err, "bad_request") &&
					      strstr(err_message(j), "not available over HTTP"),
				      "%s over HTTP: %s", name, o_js(j));
		} else if (!contract_matrix[row].may[role]) {
			ck_assert_msg(err && !strcmp(err, "forbidden"),
				      "%s may not %s: want forbidden, got %s", names[role], name,
				      o_js(j));
		} else {
			ck_assert_msg(!err || (strcmp(err, "forbidden") && strcmp(err, "unauthorize"
										       "d")),
				      "%s may %s, got %s", names[role], name, o_js(j));
		}
		json_decref(j);
	}
}

START_TEST(matrix_kiosk)
{
	check_role(R_KIOSK, g_o.kiosk);
}
END_TEST

START_TEST(matrix_counter)
{
	check_role(R_COUNTER, g_o.counter[0]);
}
END_TEST

START_TEST(matrix_display)
{
	check_role(R_DISPLAY, g_o.display);
}
END_TEST

START_TEST(matrix_admin)
{
	check_role(R_ADMIN, g_o.admin);
}
END_TEST

START_TEST(matrix_booking)
{
	check_role(R_BOOKING, g_o.booking);
}
END_TEST

/* ---- an agency's booking system -------------------------------------------------------- */

/* What issue 15 asks of the HTTP API: a booking system books a time with
 * an interpreter and a reference, the visitor checks in with the code at
 * the kiosk (over HTTP too) and gets a ticket with the appointment; the
 * booking is in the database when the answer comes; another office's
 * booking token cannot touch it. */
START_TEST(booking_token_books_over_http)
{
	char at[32], code[16], q[256];
	time_t start = time(NULL) + 300;
	struct tm tm;
	json_t *r, *b;

	gmtime_r(&start, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = ok(op(g_o.booking,
		  "{\"id\":1,\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\",\"minutes\":30,"
		  "\"interpreter\":\"so\",\"reference\":\"FK-1187\"}",
		  at));
	b = json_object_get(r, "booking");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	snprintf(code, sizeof code, "%s", json_string_value(json_object_get(b, "code")));
	ck_assert_str_eq(json_string_value(json_object_get(b, "state")), "booked");
	ck_assert_str_eq(json_string_value(json_object_get(b, "interpreter")), "so");
	json_decref(r);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM kolapp.bookings WHERE code = '%s' AND state = 'booked' "
		 "AND reference = 'FK-1187' AND starts_at = '%s'",
		 code, at);
	ck_assert_int_eq(o_count(g_db, q), 1);

	/* The other office's booking system: not its booking. */
	r = op(g_other.booking, "{\"op\":\"unbook\",\"booking\":\"%s\"}", code);
	ck_assert_str_eq(o_err(r), "not_found");
	json_decref(r);
	want_err(op(g_o.booking, "{\"op\":\"issue\",\"queue\":\"S\"}"), "forbidden");

	r = ok(op(g_o.kiosk, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code));
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	ck_assert_str_eq(o_tstr(r, "interpreter"), "so");
	ck_assert_ptr_nonnull(o_tstr(r, "appointment"));
	json_decref(r);
	r = op(g_o.booking, "{\"op\":\"unbook\",\"booking\":\"%s\"}", code);
	ck_assert_str_eq(o_err(r), "conflict");
	json_decref(r);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM kolapp.bookings b JOIN kolapp.tickets t ON t.id = "
		 "b.ticket_id "
		 "WHERE b.code = '%s' AND b.state = 'checked_in' AND t.appointment = b.starts_at",
		 code);
	ck_assert_int_eq(o_count(g_db, q), 1);
}
END_TEST

/* ---- the same bytes as TCP ---------------------------------------------------------- */

/* Requests that change nothing, so that TCP and HTTP see the same state:
 * every framing, decoding, role, scope and argument error, and reads. */
START_TEST(replies_are_the_tcp_lines)
{
	static const char *const lines[] = {
		"not json",
		"[1,2]",
		"{\"id\":5}",
		"{\"id\":[1,{\"a\":null}],\"op\":\"nope\"}",
		"{\"id\":\"x\",\"op\":\"call\",\"ticket\":7}",
		"{\"id\":1.5,\"op\":\"cancel\",\"ticket\":\"S-001\"}",
		"{\"id\":2,\"op\":\"status\",\"office\":\"elsewhere\"}",
		"{\"id\":3,\"op\":\"call_next\",\"counter\":\"2\"}",
		"{\"id\":4,\"op\":\"ticket\",\"ticket\":\"S-999\"}",
		"{\"id\":\"\\u00e5\\u00e4\\u00f6 \\ud83d\\ude00\",\"op\":\"ping\"}",
		"{\"id\":6,\"op\":\"status\"}",
		"{\"id\":null,\"op\":\"recall\"}",
		"{\"op\":\"ticket\"}",
		"{\"id\":7,\"op\":\"transfer\"}",
		"{\"id\":8,\"op\":\"finish\",\"outcome\":\"nosuch\"}",
	};
	struct oc *c = o_login(g_d.port, g_o.counter[0]);

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct hc_resp r;
		char *tcp;

		ck_assert_int_eq(oc_send(c, lines[i]), 0);
		ck_assert_int_eq(oc_send(c, "\n"), 0);
		tcp = oc_line(c, 5000);
		ck_assert_msg(tcp != NULL, "no TCP reply to %s", lines[i]);
		r = post_raw(g_o.counter[0], lines[i], strlen(lines[i]));
		ck_assert_int_eq(r.status, 200);
		/* The body is the TCP line with its newline. */
		ck_assert_msg(strlen(r.body) == strlen(tcp) + 1 &&
				      !strncmp(r.body, tcp, strlen(tcp)) &&
				      r.body[strlen(tcp)] == '\n',
			      "%s:\n  TCP  %s\n  HTTP %s", lines[i], tcp, r.body);
		free(tcp);
		hc_resp_free(&r);
	}
	oc_close(c);
}
END_TEST

START_TEST(id_echo)
{
	static const char *const ids[] = {
		"0", "-12", "1.5", "\"abc\"", "{\"n\":[1,true,null]}", "[]", "null", "\"\\u00e9\""
	};
	json_t *r;

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		json_t *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);

		r = ok(op(g_o.kiosk, "{\"id\":%s,\"op\":\"ping\"}", ids[i]));
		ck_assert_msg(json_equal(json_object_get(r, "id"), want), "id %s came back as %s",
			      ids[i], o_js(r));
		json_decref(r);
		/* Errors echo it too. */
		r = op(g_o.kiosk, "{\"id\":%s,\"op\":\"ticket\"}", ids[i]);
		ck_assert_msg(json_equal(json_object_get(r, "id"), want), "id %s came back as %s",
			      ids[i], o_js(r));
		want_err(r, "bad_request");
		json_decref(want);
	}
	/* No id: null, as on TCP. */
	r = ok(op(g_o.kiosk, "{\"op\":\"ping\"}"));
	ck_assert(json_is_null(json_object_get(r, "id")));
	json_decref(r);
}
END_TEST

/* ---- changes ------------------------------------------------------------------------- */

/* The reply to a change comes after its commit: the row is there the
 * moment the reply is. */
START_TEST(change_answered_after_commit)
{
	json_t *r;

	r = ok(op(g_o.kiosk, "{\"id\":1,\"op\":\"issue\",\"queue\":\"S\",\"key\":\"http-1\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	json_decref(r);
	ck_assert_int_eq(office_count("t.idem_key = 'http-1' AND t.state = 'waiting'"), 1);
	/* The same key again: the same ticket, nothing new. */
	r = ok(op(g_o.kiosk, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"http-1\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);

	json_decref(ok(op(g_o.counter[0], "{\"op\":\"counter_open\"}")));
	r = ok(op(g_o.counter[0], "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "counter"), "1");
	ck_assert_msg(json_is_string(json_object_get(r, "reason")), "no reason: %s", o_js(r));
	json_decref(r);
	ck_assert_int_eq(office_count("t.code = 'S-001' AND t.state = 'called'"), 1);
	r = ok(op(g_o.counter[0], "{\"op\":\"park\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "parked");
	json_decref(r);
	ck_assert_int_eq(office_count("t.code = 'S-001' AND t.state = 'parked'"), 1);
	/* Another counter calls the parked ticket back. */
	json_decref(ok(op(g_o.counter[1], "{\"op\":\"counter_open\"}")));
	r = ok(op(g_o.counter[1], "{\"op\":\"call\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "counter"), "2");
	json_decref(r);
	r = ok(op(g_o.counter[1], "{\"op\":\"finish\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "done");
	json_decref(r);
	ck_assert_int_eq(office_count("t.code = 'S-001' AND t.state = 'done'"), 1);
	/* An admin names the office and the counter. */
	r = ok(op(g_o.admin, "{\"op\":\"issue\",\"queue\":\"F\",\"office\":\"%s\"}", g_other.code));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	json_decref(r);
	want_err(op(g_o.admin, "{\"op\":\"call_next\"}"), "bad_request");
	want_err(op(g_o.admin, "{\"op\":\"status\",\"office\":\"nowhere\"}"), "not_found");
}
END_TEST

/* Clients that leave while their change waits for its commit, held up by
 * a lock on the tickets (and the others, in the one database pipeline,
 * while their token is checked): nothing is written to them, every change
 * still commits, numbering has no gap, and kolappd goes on (and stops
 * cleanly: teardown). */
START_TEST(client_leaves_before_its_answer)
{
	PGconn *lock = PQconnectdb(g_db);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	PGresult *res;
	char body[128];
	json_t *r;

	ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
	res = PQexec(lock, "BEGIN; LOCK TABLE kolapp.tickets IN EXCLUSIVE MODE");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	for (int i = 0; i < 30; i++) {
		snprintf(body, sizeof body,
			 "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"gone-%d\"}", i);
		close(hc_send(g_http, "POST", "/api/op", hc_bearer(g_o.kiosk), body, strlen(body)));
	}
	/* The first has reached the engine and waits for its commit (a read
	 * over TCP is answered from memory). */
	long long deadline = h_now_ms() + 5000;
	for (;;) {
		r = ok(oc_req(c, "{\"op\":\"status\"}"));
		json_int_t waiting = json_integer_value(
			json_object_get(json_array_get(json_object_get(r, "queues"), 0), "waitin"
											 "g"));
		json_decref(r);
		if (waiting >= 1)
			break;
		ck_assert_msg(h_now_ms() < deadline, "no issue reached the engine");
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL); /* pacing the polls, not synchronising */
	}
	ck_assert_int_eq(office_count("true"), 0);
	res = PQexec(lock, "COMMIT");
	PQclear(res);
	PQfinish(lock);
	/* Behind all thirty in the pipeline. */
	r = ok(op(g_o.kiosk, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"after\"}"));
	ck_assert_int_eq(o_tint(r, "number"), 31);
	json_decref(r);
	ck_assert_int_eq(office_count("t.idem_key LIKE 'gone-%'"), 30);
	oc_close(c);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------ */

START_TEST(refusals)
{
	char target[512], v[128];
	struct hc_resp r;

	r = post(NULL, "{\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(hc_header(&r, "WWW-Authenticate", v, sizeof v));
	want_refusal(&r, 401, "unauthorized");
	r = post("not-a-token", "{\"op\":\"ping\"}");
	/* The body must not say what was wrong with the token. */
	ck_assert_msg(!strcasestr(r.body, "invalid") && !strcasestr(r.body, "token"),
		      "401 body says why: %s", r.body);
	want_refusal(&r, 401, "unauthorized");
	r = post(g_o.display, "{\"op\":\"ping\"}");
	want_refusal(&r, 403, "forbidden");

	/* ?token= works as the header does. */
	snprintf(target, sizeof target, "/api/op?token=%s", g_o.kiosk);
	r = hc_do(g_http, "POST", target, NULL, "{\"id\":9,\"op\":\"ping\"}", 20);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"id\":9,\"ok\":true}\n");
	hc_resp_free(&r);

	/* Only POST. */
	r = hc_do(g_http, "GET", target, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(hc_header(&r, "Allow", v, sizeof v), "POST");
	hc_resp_free(&r);
	/* An empty body is a request that is not JSON, as an empty line. */
	want_err(op(g_o.kiosk, "%s", ""), "bad_request");
}
END_TEST

/* Requests over HTTP count in the metrics like TCP's, refusals included. */
START_TEST(metrics_count_http_requests)
{
	static const char ping_ok[] = "kolapp_requests_total{op=\"ping\",outcome=\"ok\"} ";
	static const char unauth[] = "kolapp_requests_total{op=\"invalid\",outcome="
				     "\"unauthorized\"} ";
	struct hc_resp r;
	long before_ok = 0, before_unauth = 0, after_ok = 0, after_unauth = 0;
	const char *p;

	r = hc_do(g_http, "GET", "/metrics", NULL, NULL, 0);
	if ((p = strstr(r.body, ping_ok)))
		before_ok = atol(p + sizeof ping_ok - 1);
	if ((p = strstr(r.body, unauth)))
		before_unauth = atol(p + sizeof unauth - 1);
	hc_resp_free(&r);
	for (int i = 0; i < 3; i++)
		json_decref(ok(op(g_o.kiosk, "{\"op\":\"ping\"}")));
	r = post("wrong", "{\"op\":\"ping\"}");
	hc_resp_free(&r);
	r = hc_do(g_http, "GET", "/metrics", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull((p = strstr(r.body, ping_ok)));
	after_ok = atol(p + sizeof ping_ok - 1);
	ck_assert_ptr_nonnull((p = strstr(r.body, unauth)));
	after_unauth = atol(p + sizeof unauth - 1);
	hc_resp_free(&r);
	ck_assert_int_eq(after_ok, before_ok + 3);
	ck_assert_int_eq(after_unauth, before_unauth + 1);
}
END_TEST

/* ---- limits: max_line 300, rate_limit 5 --------------------------------------------------- */

static char g_conf[256];

static void limits_setup(void)
{
	char extra[300];
	FILE *f;

	o_seed_named(g_db, "al", &g_o);
	snprintf(g_conf, sizeof g_conf, "/tmp/kolapp-api-op-%d.conf", (int)getpid());
	f = fopen(g_conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("max_line = 300\nrate_limit = 5\n", f);
	fclose(f);
	snprintf(extra, sizeof extra, "--config %s", g_conf);
	daemon_up(g_db, extra);
}

static void limits_teardown(void)
{
	teardown();
	unlink(g_conf);
}

START_TEST(body_over_max_line)
{
	char body[400];
	struct hc_resp r;
	json_t *j;

	/* Exactly max_line bytes: a ping padded with spaces. */
	memset(body, ' ', sizeof body);
	memcpy(body, "{\"op\":\"ping\"", 12);
	body[299] = '}';
	r = post_raw(g_o.kiosk, body, 300);
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	json_decref(ok(j));
	hc_resp_free(&r);
	/* One more: 413, written by libevent before kolappd sees it. */
	body[299] = ' ';
	body[300] = '}';
	r = post_raw(g_o.kiosk, body, 301);
	ck_assert_int_eq(r.status, 413);
	hc_resp_free(&r);
	/* The same limit as TCP's line. */
	struct oc *c = o_login(g_d.port, g_o.kiosk);
	body[301] = '\n';
	ck_assert_int_eq(h_send_n(c->fd, body, 302), 0);
	j = oc_reply(c, 5000);
	want_err(j, "too_large");
	oc_close(c);
}
END_TEST

START_TEST(rate_limited_per_address)
{
	int ok_n = 0, limited = 0;
	struct hc_resp r;

	/* A burst of twice the rate passes, then the address is refused. */
	for (int i = 0; i < 30; i++) {
		r = post(g_o.kiosk, "{\"op\":\"ping\"}");
		if (r.status == 200) {
			ok_n++;
			hc_resp_free(&r);
		} else {
			limited++;
			want_refusal(&r, 429, "rate_limited");
		}
	}
	ck_assert_msg(ok_n >= 10 && ok_n < 30 && limited > 0, "%d passed, %d refused", ok_n,
		      limited);
	/* A second later the budget is back. */
	sleep(1);
	json_decref(ok(op(g_o.kiosk, "{\"op\":\"ping\"}")));
	/* TCP connections keep their own budget. */
	struct oc *c = o_login(g_d.port, g_o.kiosk);
	json_decref(ok(oc_req(c, "{\"op\":\"ping\"}")));
	oc_close(c);
}
END_TEST

/* ---- a database outage, on a private cluster ------------------------------------------------ */

static char pg_dir[256];

static int tools_pg(const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof line, "bash '%s/tools/pg' %s '%s' >/dev/null 2>&1", srcdir(), cmd,
		 pg_dir);
	return system(line);
}

/* Unchecked fixtures run in the parent: the cluster goes even when the
 * test's process died on a failed assertion. */
static void outage_cluster_up(void)
{
	snprintf(pg_dir, sizeof pg_dir, "/tmp/kolapp-api-op.XXXXXX");
	if (!mkdtemp(pg_dir) || tools_pg("start") != 0) {
		fprintf(stderr, "test_api_op: cannot start a private cluster in %s\n", pg_dir);
		pg_dir[0] = '\0';
	}
}

static void outage_cluster_down(void)
{
	char line[512];

	if (!pg_dir[0])
		return;
	tools_pg("stop");
	snprintf(line, sizeof line, "rm -rf '%s'", pg_dir);
	if (system(line) != 0)
		fprintf(stderr, "test_api_op: could not remove %s\n", pg_dir);
}

START_TEST(database_outage)
{
	char path[300], conninfo[256];
	struct hc_resp r;
	json_t *j;
	FILE *f;
	long long deadline;
	bool back = false;

	ck_assert_msg(pg_dir[0], "no private cluster");
	snprintf(path, sizeof path, "%s/conninfo", pg_dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(conninfo, sizeof conninfo, f));
	fclose(f);
	conninfo[strcspn(conninfo, "\r\n")] = '\0';
	ck_assert_int_eq(h_migrate(conninfo), 0);
	ck_assert_int_eq(o_seed(conninfo, "apout", &g_o), 0);
	daemon_up(conninfo, NULL);
	json_decref(ok(op(g_o.kiosk, "{\"op\":\"issue\",\"queue\":\"S\"}")));

	ck_assert_int_eq(tools_pg("stop"), 0);
	/* A token seen before is trusted from memory; the change is refused,
	 * nothing changed, and reads still work. */
	j = op(g_o.kiosk, "{\"id\":1,\"op\":\"issue\",\"queue\":\"S\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 1);
	want_err(j, "unavailable");
	j = ok(op(g_o.kiosk, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	json_decref(j);
	/* A token never seen cannot be checked now: 503. */
	r = post(g_o.admin, "{\"op\":\"ping\"}");
	want_refusal(&r, 503, "unavailable");

	ck_assert_int_eq(tools_pg("start"), 0);
	deadline = h_now_ms() + 5000;
	while (!back && h_now_ms() < deadline) {
		j = op(g_o.kiosk, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"after\"}");
		back = o_ok(j);
		if (back)
			ck_assert_int_eq(o_tint(j, "number"), 2);
		json_decref(j);
		if (!back) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL); /* pacing the retries, not synchronising */
		}
	}
	ck_assert_msg(back, "writes over HTTP not back within 5 s of the database");
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
}
END_TEST

static Suite *api_op_suite(void)
{
	Suite *s = suite_create("api_op");
	TCase *tc = tcase_create("api_op");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, matrix_kiosk);
	tcase_add_test(tc, matrix_counter);
	tcase_add_test(tc, matrix_display);
	tcase_add_test(tc, matrix_admin);
	tcase_add_test(tc, matrix_booking);
	tcase_add_test(tc, booking_token_books_over_http);
	tcase_add_test(tc, replies_are_the_tcp_lines);
	tcase_add_test(tc, id_echo);
	tcase_add_test(tc, change_answered_after_commit);
	tcase_add_test(tc, client_leaves_before_its_answer);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, metrics_count_http_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, limits_setup, limits_teardown);
	tcase_add_test(tc, body_over_max_line);
	tcase_add_test(tc, rate_limited_per_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("outage");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, outage_cluster_up, outage_cluster_down);
	tcase_add_test(tc, database_outage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_api_op", api_op_suite(), &g_db, NULL);
}
