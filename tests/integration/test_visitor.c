/* Integration test of the visitor's own page (issue 14): the
 * visitor_path that issue answers, the same path for an idempotent
 * re-issue, 404 for a guessed secret and for yesterday's, the secret
 * nowhere in the database in plain text, the ticket's JSON and its
 * stream (live, and about this ticket alone), the QR code and the one
 * rating after the visit. Real PostgreSQL, real kolappd with --http; a
 * raw HTTP/1.0 client, so the stream arrives unchunked. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"
#include "tests/integration/httpc.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;
static int g_http;

static const char *srcdir(void)
{
	const char *s = getenv("KOLAPP_SRCDIR");

	return s && *s ? s : KOLAPP_SRCDIR;
}

static void daemon_up(void)
{
	char extra[1024];

	g_http = h_free_port();
	ck_assert_int_gt(g_http, 0);
	snprintf(extra, sizeof extra, "--http 127.0.0.1:%d --data-dir %s/data", g_http, srcdir());
	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_db, extra), 0);
}

static void setup(void)
{
	o_seed_named(g_db, "v", &g_o);
	daemon_up();
}

static void teardown(void)
{
	if (g_d.pid > 0)
		ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
}

static struct hc_resp get(const char *target)
{
	return hc_do(g_http, "GET", target, NULL, NULL, 0);
}

/* Issues a ticket of queue S as the kiosk and copies its visitor_path. */
static void issue(struct oc *c, const char *key, char *code, char *path)
{
	json_t *r = key ? oc_req(c, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"%s\"}", key)
			: oc_req(c, "{\"op\":\"issue\",\"queue\":\"S\"}");
	const char *p;

	ck_assert_msg(o_ok(r), "issue: %s", o_js(r));
	p = json_string_value(json_object_get(r, "visitor_path"));
	ck_assert_msg(p != NULL, "issue answers no visitor_path: %s", o_js(r));
	snprintf(path, 64, "%s", p);
	snprintf(code, 24, "%s", o_tstr(r, "code"));
	json_decref(r);
}

static void counter_ok(struct oc *c, const char *op)
{
	json_t *r = oc_req(c, "{\"op\":\"%s\"}", op);

	ck_assert_msg(o_ok(r), "%s: %s", op, o_js(r));
	json_decref(r);
}

/* ---- the secret ------------------------------------------------------------- */

START_TEST(issue_answers_a_visitor_path)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char c1[24], p1[64], c2[24], p2[64], again[24], pagain[64];
	regex_t re;

	issue(k, "visit-1", c1, p1);
	issue(k, NULL, c2, p2);
	/* At least 128 bits: 32 base64url characters are 192. */
	ck_assert_int_eq(regcomp(&re, "^/t/[A-Za-z0-9_-]{32}$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, p1, 0, NULL, 0) == 0, "visitor_path %s", p1);
	regfree(&re);
	ck_assert_str_ne(p1, p2);
	/* The kiosk lost the answer and asks again: the same ticket, the same page. */
	issue(k, "visit-1", again, pagain);
	ck_assert_str_eq(again, c1);
	ck_assert_str_eq(pagain, p1);
	oc_close(k);
	/* And after a restart, which forgets everything but the database. */
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
	daemon_up();
	k = o_login(g_d.port, g_o.kiosk);
	issue(k, "visit-1", again, pagain);
	ck_assert_str_eq(pagain, p1);
	struct hc_resp r = get(p1);
	ck_assert_int_eq(r.status, 200);
	hc_resp_free(&r);
	oc_close(k);
}
END_TEST

START_TEST(guessed_secrets_are_404)
{
	static const char *const targets[] = {
		"/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/ticket",
		"/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/events",
		"/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/qr.svg",
		"/t/short",
		"/t/",
		"/t/S-001",
	};
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char code[24], path[64], target[128];

	issue(k, NULL, code, path);
	for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
		struct hc_resp r = get(targets[i]);
		ck_assert_msg(r.status == 404, "%s: %d", targets[i], r.status);
		hc_resp_free(&r);
	}
	/* One character off is as good as a guess. */
	snprintf(target, sizeof target, "%s", path);
	target[5] = target[5] == 'A' ? 'B' : 'A';
	struct hc_resp r = get(target);
	ck_assert_int_eq(r.status, 404);
	hc_resp_free(&r);
	oc_close(k);
}
END_TEST

START_TEST(secret_not_stored_in_plain_text)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char code[24], path[64], sql[1024], out[256];
	const char *secret;

	issue(k, "plain", code, path);
	secret = path + 3;
	/* Nowhere in the ticket's row, its events, or any text column of the
	 * schema's tables; what is there is its SHA-256. */
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t WHERE t::text LIKE '%%%s%%' "
		 "OR encode(t.visitor_hash, 'hex') LIKE '%%%s%%'",
		 secret, secret);
	ck_assert_int_eq(o_count(g_db, sql), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.ticket_events e WHERE e::text LIKE '%%%s%%'", secret);
	ck_assert_int_eq(o_count(g_db, sql), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = "
		 "t.office_id "
		 "WHERE o.code = '%s' AND t.code = '%s' "
		 "AND t.visitor_hash = sha256(convert_to('%s', 'UTF8'))",
		 g_o.code, code, secret);
	ck_assert_int_eq(o_count(g_db, sql), 1);
	ck_assert_int_eq(h_psql(g_db,
				"SELECT string_agg(table_name || '.' || column_name, ',') "
				"FROM information_schema.columns WHERE table_schema = 'kolapp' "
				"AND column_name LIKE '%secret%'",
				out, sizeof out),
			 0);
	ck_assert_msg(out[0] == '\0', "columns named secret: %s", out);
	oc_close(k);
}
END_TEST

START_TEST(yesterdays_secret_is_404)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char code[24], path[64], sql[1024];

	issue(k, NULL, code, path);
	oc_close(k);
	struct hc_resp r = get(path);
	ck_assert_int_eq(r.status, 200);
	hc_resp_free(&r);
	/* The ticket becomes yesterday's: the guard that keeps a ticket's
	 * identity is the test's to lift (a superuser's), with the daemon
	 * stopped so that it loads the day afresh. */
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
	snprintf(sql, sizeof sql,
		 "ALTER TABLE kolapp.tickets DISABLE TRIGGER tickets_guard; "
		 "UPDATE kolapp.tickets t SET business_day = business_day - 1, "
		 "issued_at = issued_at - interval '1 day', sort_at = sort_at - interval '1 day' "
		 "FROM kolapp.offices o WHERE o.id = t.office_id AND o.code = '%s'; "
		 "ALTER TABLE kolapp.tickets ENABLE TRIGGER tickets_guard",
		 g_o.code);
	char out[256];
	ck_assert_msg(h_psql(g_db, sql, out, sizeof out) == 0, "%s", out);
	daemon_up();
	char target[128];
	static const char *const subs[] = { "", "/ticket", "/events", "/qr.svg" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(target, sizeof target, "%s%s", path, subs[i]);
		r = get(target);
		ck_assert_msg(r.status == 404, "%s: %d", target, r.status);
		hc_resp_free(&r);
	}
}
END_TEST

/* ---- the page, its JSON and its stream ------------------------------------------- */

START_TEST(page_json_and_qr)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char c1[24], p1[64], c2[24], p2[64], target[128];
	json_t *j;

	issue(k, NULL, c1, p1);
	issue(k, NULL, c2, p2);
	struct hc_resp r = get(p2);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "text/html"));
	ck_assert_ptr_nonnull(strcasestr(r.head, "Content-Security-Policy: default-src 'none'"));
	hc_resp_free(&r);
	snprintf(target, sizeof target, "%s/ticket", p2);
	r = get(target);
	ck_assert_int_eq(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_t *t = json_object_get(j, "ticket");
	ck_assert_str_eq(json_string_value(json_object_get(t, "code")), c2);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "position")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "waiting");
	ck_assert_ptr_nonnull(json_object_get(t, "estimated_wait_s"));
	/* Its place, never who is ahead. */
	ck_assert_msg(!strstr(r.body, c1), "the page names another ticket: %s", r.body);
	ck_assert_msg(!strstr(r.body, p1 + 3), "the page names another secret: %s", r.body);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "url")), p2));
	json_decref(j);
	hc_resp_free(&r);
	snprintf(target, sizeof target, "%s/qr.svg", p2);
	r = get(target);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "image/svg+xml"));
	ck_assert_ptr_nonnull(strstr(r.body, "<svg"));
	ck_assert_ptr_nonnull(strstr(r.body, "<path"));
	hc_resp_free(&r);
	oc_close(k);
}
END_TEST

/* The next "ticket" message of a visitor's stream; false on timeout. */
static bool next_ticket(int fd, char *buf, size_t cap, size_t *len, json_t **out, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *end;
		while ((end = memmem(buf, *len, "\n\n", 2))) {
			size_t blen = (size_t)(end - buf);
			char *block = strndup(buf, blen);
			memmove(buf, end + 2, *len - blen - 2);
			*len -= blen + 2;
			char *data = strstr(block, "\ndata: ");
			bool is_ticket = !strncmp(block, "event: ticket\n", 14) && data;
			if (is_ticket)
				*out = json_loads(data + 7, 0, NULL);
			free(block);
			if (is_ticket)
				return *out != NULL;
		}
		long long left = deadline - h_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			return false;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
}

START_TEST(stream_is_this_ticket_alone)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	char c1[24], p1[64], c2[24], p2[64], target[128], buf[65536];
	size_t len = 0;
	json_t *t = NULL;

	json_decref(oc_req(c, "{\"op\":\"counter_open\"}"));
	issue(k, NULL, c1, p1);
	issue(k, NULL, c2, p2);
	snprintf(target, sizeof target, "%s/events", p2);
	int fd = hc_send(g_http, "GET", target, NULL, NULL, 0);
	ck_assert(next_ticket(fd, buf, sizeof buf, &len, &t, 5000));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t, "ticket"), "positio"
											  "n")),
			 2);
	json_decref(t);
	/* The ticket ahead is called: this one moves up, and hears of it. */
	counter_ok(c, "call_next");
	ck_assert(next_ticket(fd, buf, sizeof buf, &len, &t, 5000));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t, "ticket"), "positio"
											  "n")),
			 1);
	json_decref(t);
	/* Its own call, with the counter, within a second. */
	long long t0 = h_now_ms();
	counter_ok(c, "call_next");
	ck_assert(next_ticket(fd, buf, sizeof buf, &len, &t, 5000));
	long long took = h_now_ms() - t0;
	json_t *tk = json_object_get(t, "ticket");
	ck_assert_str_eq(json_string_value(json_object_get(tk, "state")), "called");
	ck_assert_str_eq(json_string_value(json_object_get(tk, "counter")), "1");
	ck_assert_msg(took < 1000, "the call reached the visitor's stream after %lld ms", took);
	fprintf(stderr, "test_visitor: call to the visitor's stream: %lld ms\n", took);
	json_decref(t);
	/* Everything the stream said: not a word of the other ticket. */
	buf[len] = '\0';
	ck_assert_msg(!strstr(buf, c1), "the stream names %s", c1);
	close(fd);
	oc_close(k);
	oc_close(c);
}
END_TEST

START_TEST(one_rating_after_the_visit)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	char code[24], path[64], target[128], sql[512];
	struct hc_resp r;

	json_decref(oc_req(c, "{\"op\":\"counter_open\"}"));
	issue(k, NULL, code, path);
	snprintf(target, sizeof target, "%s/rating", path);
	r = hc_do(g_http, "POST", target, NULL, "{\"rating\":5}", 12);
	ck_assert_msg(r.status == 409, "a rating before the visit: %d %s", r.status, r.body);
	hc_resp_free(&r);
	counter_ok(c, "call_next");
	counter_ok(c, "finish");
	r = hc_do(g_http, "POST", target, NULL, "{\"rating\":9}", 12);
	ck_assert_msg(r.status == 400 && strstr(r.body, "rating"), "%d %s", r.status, r.body);
	hc_resp_free(&r);
	r = hc_do(g_http, "POST", target, NULL, "{\"rating\":\"5\"}", 14);
	ck_assert_int_eq(r.status, 400);
	hc_resp_free(&r);
	r = hc_do(g_http, "POST", target, NULL, "{\"rating\":4}", 12);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	hc_resp_free(&r);
	r = hc_do(g_http, "POST", target, NULL, "{\"rating\":1}", 12);
	ck_assert_msg(r.status == 409, "a second rating: %d %s", r.status, r.body);
	hc_resp_free(&r);
	snprintf(sql, sizeof sql,
		 "SELECT ratings * 10 + r4 FROM kolapp.feedback_daily WHERE office = '%s'",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 11);
	r = hc_do(g_http, "GET", target, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 405);
	hc_resp_free(&r);
	oc_close(k);
	oc_close(c);
}
END_TEST

/* The interpreter a held ticket asked for is in status, with its counter. */
START_TEST(status_shows_the_interpreter)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	json_t *r, *ctr = NULL;
	size_t i;

	json_decref(oc_req(c, "{\"op\":\"counter_open\"}"));
	r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"interpreter\":\"ti\",\"lang\":\"ti\"}");
	ck_assert_msg(o_ok(r), "%s", o_js(r));
	json_decref(r);
	counter_ok(c, "call_next");
	r = oc_req(k, "{\"op\":\"status\"}");
	ck_assert_msg(o_ok(r), "%s", o_js(r));
	json_array_foreach(json_object_get(r, "counters"), i, ctr) {
		if (!strcmp(json_string_value(json_object_get(ctr, "name")), "1"))
			break;
	}
	ck_assert_ptr_nonnull(ctr);
	ck_assert_str_eq(json_string_value(json_object_get(ctr, "interpreter")), "ti");
	json_decref(r);
	counter_ok(c, "finish");
	r = oc_req(k, "{\"op\":\"status\"}");
	json_array_foreach(json_object_get(r, "counters"), i, ctr) {
		ck_assert_ptr_null(json_object_get(ctr, "interpreter"));
	}
	json_decref(r);
	oc_close(k);
	oc_close(c);
}
END_TEST

/* A booking's visitor checks in at the kiosk: the reply carries the
 * visitor's page like a walk-in's, and the page shows the appointment. */
START_TEST(checked_in_booking_has_a_page)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char q[256], code[32], target[128];
	json_t *r, *j;
	const char *p;

	snprintf(q, sizeof q,
		 "SELECT kolapp.add_booking('%s', 'S', now() + interval '10 minutes', 15, 'so')",
		 g_o.code);
	ck_assert_msg(h_psql(g_db, q, code, sizeof code) == 0, "add_booking: %s", code);
	code[strcspn(code, "\n")] = '\0';
	/* The psql change reaches the daemon within a second: poll for it. */
	long long t0 = h_now_ms();
	while ((r = oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code)) && !o_ok(r)) {
		ck_assert_msg(h_now_ms() - t0 < 2000, "check_in: %s", o_js(r));
		json_decref(r);
		usleep(20000); /* the poll's interval; the deadline above decides */
	}
	p = json_string_value(json_object_get(r, "visitor_path"));
	ck_assert_msg(p && !strncmp(p, "/t/", 3), "check_in answers no visitor_path: %s", o_js(r));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r, "ticket"), "appointment"));
	snprintf(target, sizeof target, "%s/ticket", p);
	json_decref(r);
	struct hc_resp h = get(target);
	ck_assert_int_eq(h.status, 200);
	j = json_loads(h.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_msg(json_is_string(json_object_get(json_object_get(j, "ticket"), "appointment")),
		      "the page's ticket has no appointment: %s", h.body);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "ticket"), "interpret"
											 "er")),
			 "so");
	json_decref(j);
	hc_resp_free(&h);
	oc_close(k);
}
END_TEST

static Suite *visitor_suite(void)
{
	Suite *s = suite_create("visitor");
	TCase *tc = tcase_create("visitor");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, issue_answers_a_visitor_path);
	tcase_add_test(tc, guessed_secrets_are_404);
	tcase_add_test(tc, secret_not_stored_in_plain_text);
	tcase_add_test(tc, yesterdays_secret_is_404);
	tcase_add_test(tc, page_json_and_qr);
	tcase_add_test(tc, stream_is_this_ticket_alone);
	tcase_add_test(tc, one_rating_after_the_visit);
	tcase_add_test(tc, status_shows_the_interpreter);
	tcase_add_test(tc, checked_in_booking_has_a_page);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_visitor", visitor_suite(), &g_db, NULL);
}
