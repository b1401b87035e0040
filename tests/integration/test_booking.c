/* Integration test of appointments (protocol 1.1, issue 15) over TCP,
 * against a real PostgreSQL and a real kolappd: book and unbook with a
 * booking token and every error of theirs, check_in and its errors, the
 * check-in window on both sides of each edge (the edges to the
 * microsecond are in tests/unit/test_engine_booking), psql's bookings and
 * window reaching the daemon, a due appointment called before an older
 * walk-in and one 20 minutes ahead not, a checked-in booking through a
 * kill -9, and the day change (yesterday's tickets expired, yesterday's
 * bookings that never came no_show). Test office: counter 1 serves S,F;
 * 2 S,F; 3 F,S,P. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static const char *message(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "message"));
}

static void want_err(json_t *r, const char *code, const char *msg_prefix)
{
	const char *m = message(r);

	ck_assert_msg(r && o_err(r) && !strcmp(o_err(r), code), "expected %s, got %s", code,
		      o_js(r));
	if (msg_prefix)
		ck_assert_msg(m && !strncmp(m, msg_prefix, strlen(msg_prefix)),
			      "expected a message starting \"%s\", got %s", msg_prefix, o_js(r));
	json_decref(r);
}

/* The first cell of one psql statement on the test database ("" when
 * none); fails the test on error. One static buffer. */
static const char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql(const char *fmt, ...)
{
	static char out[256];
	char q[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	ck_assert_msg(h_psql(g_db, q, out, sizeof out) == 0, "psql failed: %s", q);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* now + secs as ISO 8601 UTC. */
static const char *iso_in(long secs, char *buf, size_t sz)
{
	time_t t = time(NULL) + secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Books in queue S at now + secs through the booking token; the code. */
static void book_in(struct oc *b, long secs, char code[16])
{
	char at[32];
	json_t *r = ok(oc_req(b, "{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\"}",
			      iso_in(secs, at, sizeof at)));

	snprintf(code, 16, "%s",
		 json_string_value(json_object_get(json_object_get(r, "booking"), "code")));
	json_decref(r);
}

static const char *booking_state(const char *code)
{
	return sql("SELECT state FROM kolapp.bookings WHERE code = '%s'", code);
}

/* check_in until the reply satisfies want (psql's change has arrived),
 * polling with a deadline of 1 s: the contract's bound for psql changes. */
static json_t *check_in_until(struct oc *k, const char *code, bool (*want)(const json_t *))
{
	long long t0 = h_now_ms();
	json_t *r;

	for (;;) {
		r = oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code);
		ck_assert_ptr_nonnull(r);
		if (want(r))
			return r;
		ck_assert_msg(h_now_ms() - t0 < 1000, "a psql change took over 1 s to arrive: %s",
			      o_js(r));
		json_decref(r);
		usleep(10000); /* the poll's interval; the deadline decides */
	}
}

static bool is_ok(const json_t *r)
{
	return o_ok(r);
}

static bool is_too_late(const json_t *r)
{
	return o_err(r) && !strcmp(o_err(r), "conflict") && !strncmp(message(r), "too late", 8);
}

static bool is_not_found(const json_t *r)
{
	return o_err(r) && !strcmp(o_err(r), "not_found");
}

static bool is_known(const json_t *r)
{
	return !is_not_found(r);
}

static bool is_cancelled(const json_t *r)
{
	return is_not_found(r) && strstr(message(r), "was cancelled");
}

static bool is_queue_closed(const json_t *r)
{
	return o_err(r) && !strcmp(o_err(r), "queue_closed");
}

static void setup(void)
{
	o_seed_named(g_db, "bk", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

/* ---- book and unbook ------------------------------------------------------- */

START_TEST(book_unbook_and_their_errors)
{
	struct oc *b = o_login(g_d.port, g_o.booking);
	char at[32], code[16];
	json_t *r, *bk;

	iso_in(3600, at, sizeof at);
	r = ok(oc_req(b,
		      "{\"id\":1,\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\","
		      "\"minutes\":30,\"interpreter\":\"so\",\"reference\":\"FK-2026-1187\"}",
		      at));
	bk = json_object_get(r, "booking");
	snprintf(code, sizeof code, "%s", json_string_value(json_object_get(bk, "code")));
	ck_assert_uint_eq(strlen(code), 8);
	ck_assert_uint_eq(strspn(code, "ABCDEFGHJKMNPQRSTUVWXYZ23456789"), 8);
	ck_assert_str_eq(json_string_value(json_object_get(bk, "queue")), "S");
	ck_assert_int_eq(json_integer_value(json_object_get(bk, "minutes")), 30);
	ck_assert_str_eq(json_string_value(json_object_get(bk, "interpreter")), "so");
	ck_assert_str_eq(json_string_value(json_object_get(bk, "reference")), "FK-2026-1187");
	ck_assert_str_eq(json_string_value(json_object_get(bk, "state")), "booked");
	json_decref(r);
	/* Answered after the commit: the row is there now. */
	ck_assert_str_eq(sql("SELECT format('%%s %%s %%s %%s', state, minutes, interpreter, "
			     "starts_at = '%s'::timestamptz) FROM kolapp.bookings WHERE code = "
			     "'%s'",
			     at, code),
			 "booked 30 so t");

	want_err(oc_req(b, "{\"op\":\"book\",\"starts_at\":\"%s\"}", at), "bad_request",
		 "missing field: queue");
	want_err(oc_req(b, "{\"op\":\"book\",\"queue\":\"S\"}"), "bad_request",
		 "missing field: starts_at");
	want_err(oc_req(b, "{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"tomorrow 10:00\"}"),
		 "bad_request", "field starts_at must be an ISO 8601 time with a zone");
	want_err(oc_req(b, "{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\"}",
			iso_in(-60, at, sizeof at)),
		 "bad_request", "field starts_at is in the past");
	iso_in(3600, at, sizeof at);
	want_err(oc_req(b, "{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\",\"minutes\":241}",
			at),
		 "bad_request", "field minutes must be 5 to 240");
	want_err(oc_req(b,
			"{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\",\"minutes\":\"30\"}",
			at),
		 "bad_request", "field minutes must be an integer");
	want_err(oc_req(b,
			"{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\","
			"\"interpreter\":\"Somali\"}",
			at),
		 "bad_request", "field interpreter must be a two-letter language code");
	want_err(oc_req(b,
			"{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\","
			"\"reference\":\"19850101-1234\"}",
			at),
		 "bad_request", "field reference looks like a personal number");
	want_err(oc_req(b, "{\"op\":\"book\",\"queue\":\"X\",\"starts_at\":\"%s\"}", at),
		 "not_found", "no such queue");
	want_err(oc_req(b,
			"{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"%s\",\"office\":"
			"\"elsewhere\"}",
			at),
		 "forbidden", NULL);
	want_err(oc_req(b, "{\"op\":\"status\"}"), "forbidden", NULL);
	want_err(oc_req(b, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code), "forbidden", NULL);
	/* Nothing of those was booked. */
	ck_assert_str_eq(sql("SELECT count(*) FROM kolapp.bookings WHERE office_id = "
			     "kolapp.office_id_of('%s')",
			     g_o.code),
			 "1");

	r = ok(oc_req(b, "{\"op\":\"unbook\",\"booking\":\"%s\"}", code));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "booking"), "state")),
			 "cancelled");
	json_decref(r);
	ck_assert_str_eq(booking_state(code), "cancelled");
	json_decref(ok(oc_req(b, "{\"op\":\"unbook\",\"booking\":\"%s\"}", code))); /* a retry */
	want_err(oc_req(b, "{\"op\":\"unbook\",\"booking\":\"ZZZZZZZZ\"}"), "not_found",
		 "no such booking");
	want_err(oc_req(b, "{\"op\":\"unbook\",\"booking\":\"ZZZ\"}"), "bad_request",
		 "field booking must be 8 characters");
	oc_close(b);
}
END_TEST

/* ---- check_in ---------------------------------------------------------------- */

START_TEST(check_in_and_its_errors)
{
	struct oc *b = o_login(g_d.port, g_o.booking), *k = o_login(g_d.port, g_o.kiosk);
	char code[16], gone[16], late[16];
	json_t *r, *t;

	book_in(b, 600, code);
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code));
	t = json_object_get(r, "ticket");
	ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "waiting");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(t, "appointment")));
	char tcode[16];
	snprintf(tcode, sizeof tcode, "%s", json_string_value(json_object_get(t, "code")));
	json_decref(r);
	ck_assert_str_eq(booking_state(code), "checked_in");
	ck_assert_str_eq(sql("SELECT t.code || ' ' || t.state || ' ' || "
			     "(t.appointment = b.starts_at)::text FROM kolapp.bookings b "
			     "JOIN kolapp.tickets t ON t.id = b.ticket_id WHERE b.code = '%s'",
			     code),
			 "S-001 waiting true");
	ck_assert_str_eq(tcode, "S-001");
	/* Again (the visitor pressed twice, lower case this time): the same ticket. */
	for (char *p = code; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	ck_assert_str_eq(sql("SELECT count(*) FROM kolapp.tickets WHERE office_id = "
			     "kolapp.office_id_of('%s')",
			     g_o.code),
			 "1");

	want_err(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"ZZZZZZZZ\"}"), "not_found",
		 "no such booking");
	want_err(oc_req(k, "{\"op\":\"check_in\"}"), "bad_request", "missing field: booking");
	want_err(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"OOOOOOOO\"}"), "bad_request",
		 "field booking must be 8 characters");
	book_in(b, 600, gone);
	json_decref(ok(oc_req(b, "{\"op\":\"unbook\",\"booking\":\"%s\"}", gone)));
	want_err(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", gone), "not_found",
		 "booking ");
	/* A counter (a reception desk) may check in too; too early here. */
	book_in(b, 3 * 3600, late);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	want_err(oc_req(c, "{\"op\":\"check_in\",\"booking\":\"%s\"}", late), "conflict",
		 "too early: your appointment is at ");
	oc_close(c);
	/* Closed queue: queue_closed, which wins over the window. */
	sql("SELECT kolapp.close_queue('%s', 'S')", g_o.code);
	r = check_in_until(k, late, is_queue_closed);
	json_decref(r);
	ck_assert_str_eq(booking_state(late), "booked");
	oc_close(b);
	oc_close(k);
}
END_TEST

/* ---- the window, both sides of each edge; psql's changes live ---------------- */

START_TEST(window_edges_and_psql_changes)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char early[16], first[16], last[16], after[16];

	/* Default window, 30 minutes before to 10 after; 30 s of margin on
	 * each side of each edge (the exact edges: the unit tests). */
	snprintf(early, sizeof early, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1830 s')", g_o.code));
	snprintf(first, sizeof first, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1770 s')", g_o.code));
	snprintf(last, sizeof last, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1 hour')", g_o.code));
	snprintf(after, sizeof after, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1 hour')", g_o.code));
	/* Moved by hand into the past (add_booking refuses a past start). */
	sql("UPDATE kolapp.bookings SET starts_at = now() - interval '570 s' WHERE code = '%s'",
	    last);
	sql("UPDATE kolapp.bookings SET starts_at = now() - interval '630 s' WHERE code = '%s'",
	    after);

	/* Each polls until psql's change has arrived; on the way a booking
	 * may be unknown or still at its first start, which changes nothing. */
	want_err(check_in_until(k, early, is_known), "conflict",
		 "too early: your appointment is at ");
	json_decref(check_in_until(k, first, is_ok));
	json_decref(check_in_until(k, last, is_ok));
	json_decref(check_in_until(k, after, is_too_late));
	ck_assert_str_eq(booking_state(first), "checked_in");
	ck_assert_str_eq(booking_state(last), "checked_in");
	ck_assert_str_eq(booking_state(early), "booked");

	/* set_checkin_window reaches the daemon: 20 minutes ahead is inside
	 * the default 30, outside 5. The window is committed before the
	 * booking, so a reload that has the booking has the window. */
	char mid[16];
	snprintf(mid, sizeof mid, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '20 minutes')",
		     g_o.code));
	json_decref(check_in_until(k, mid, is_ok));
	sql("SELECT kolapp.set_checkin_window('%s', 300, 60)", g_o.code);
	snprintf(mid, sizeof mid, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '20 minutes')",
		     g_o.code));
	want_err(check_in_until(k, mid, is_known), "conflict", "too early: ");
	ck_assert_str_eq(booking_state(mid), "booked");
	/* cancel_booking in psql reaches it too (booked and cancelled in one
	 * transaction, so the daemon never sees it booked). */
	char cancel[16];
	snprintf(cancel, sizeof cancel, "%.8s",
		 sql("WITH b AS (SELECT kolapp.add_booking('%s', 'S', now() + interval '1 minute') "
		     "AS code) SELECT code || kolapp.cancel_booking(code)::text FROM b",
		     g_o.code));
	json_decref(check_in_until(k, cancel, is_cancelled));
	ck_assert_str_eq(booking_state(cancel), "cancelled");
	oc_close(k);
}
END_TEST

/* ---- calling on time ------------------------------------------------------------- */

START_TEST(due_appointment_before_older_walk_in)
{
	struct oc *b = o_login(g_d.port, g_o.booking), *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	char soon[16], ahead[16];
	json_t *r;

	json_decref(ok(oc_req(c, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"))); /* S-001, walk-in */
	book_in(b, 60, soon);       /* due: within 2 minutes of its start */
	book_in(b, 20 * 60, ahead); /* 20 minutes ahead: not yet */
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", ahead));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", soon));
	ck_assert_str_eq(o_tstr(r, "code"), "S-003");
	json_decref(r);
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"))); /* S-004 */

	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_msg(!strcmp(o_tstr(r, "code"), "S-003"), "want the due appointment: %s", o_js(r));
	ck_assert_msg(!strncmp(json_string_value(json_object_get(r, "reason")),
			       "rank 1, appointment", 19),
		      "reason: %s", o_js(r));
	json_decref(r);
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-004"); /* not S-002, 20 minutes ahead */
	json_decref(r);
	r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
	ck_assert_msg(json_is_null(json_object_get(r, "ticket")), "S-002 is not due: %s", o_js(r));
	json_decref(r);
	ck_assert_str_eq(sql("SELECT state FROM kolapp.tickets WHERE code = 'S-002' AND office_id "
			     "= "
			     "kolapp.office_id_of('%s')",
			     g_o.code),
			 "waiting");
	oc_close(b);
	oc_close(k);
	oc_close(c);
}
END_TEST

/* ---- kill -9 and the day change ---------------------------------------------------- */

START_TEST(checked_in_survives_kill9)
{
	struct oc *b = o_login(g_d.port, g_o.booking), *k = o_login(g_d.port, g_o.kiosk);
	char code[16], appt[40];
	json_t *r;

	book_in(b, 900, code);
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code));
	snprintf(appt, sizeof appt, "%s", o_tstr(r, "appointment"));
	json_decref(r);
	oc_close(b);
	oc_close(k);

	h_daemon_kill9(&g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_d.conninfo, NULL), 0);
	k = o_login(g_d.port, g_o.kiosk);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	ck_assert_str_eq(o_tstr(r, "appointment"), appt);
	json_decref(r);
	ck_assert_str_eq(booking_state(code), "checked_in");
	r = ok(oc_req(k, "{\"op\":\"check_in\",\"booking\":\"%s\"}", code));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001"); /* still the same ticket */
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002"); /* numbering goes on */
	json_decref(r);
	oc_close(k);
}
END_TEST

/* The office's day ended while no daemon ran: at start-up yesterday's
 * waiting ticket expires and yesterday's booking that never came is a
 * no-show, today's booking stays booked. */
START_TEST(day_change_expires_and_marks_no_shows)
{
	char yesterday[16], today[16];
	long long t0;

	o_daemon_down(&g_d);
	sql("SELECT kolapp.d_issue(o.id, q.id, kolapp.office_today(o.id) - 1, 1, 'S-001', NULL, "
	    "now() - interval '1 day', false, NULL, NULL) FROM kolapp.offices o "
	    "JOIN kolapp.queues q ON q.office_id = o.id AND q.code = 'S' WHERE o.code = '%s'",
	    g_o.code);
	snprintf(yesterday, sizeof yesterday, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1 hour')", g_o.code));
	sql("UPDATE kolapp.bookings SET starts_at = now() - interval '1 day' WHERE code = '%s'",
	    yesterday);
	snprintf(today, sizeof today, "%s",
		 sql("SELECT kolapp.add_booking('%s', 'S', now() + interval '1 hour')", g_o.code));
	ck_assert_str_eq(booking_state(yesterday), "booked");

	o_daemon_up(&g_d, g_db, NULL);
	t0 = h_now_ms();
	while (strcmp(booking_state(yesterday), "no_show") ||
	       strcmp(sql("SELECT state FROM kolapp.tickets WHERE code = 'S-001' AND office_id = "
			  "kolapp.office_id_of('%s')",
			  g_o.code),
		      "expired")) {
		ck_assert_msg(h_now_ms() - t0 < 5000, "not expired within 5 s: booking %s",
			      booking_state(yesterday));
		usleep(20000); /* the poll's interval; the deadline decides */
	}
	ck_assert_str_eq(booking_state(today), "booked");
	ck_assert_str_eq(sql("SELECT count(*) FROM kolapp.booking_no_shows WHERE code = '%s'",
			     yesterday),
			 "1");
}
END_TEST

static Suite *booking_suite(void)
{
	Suite *s = suite_create("booking");
	TCase *tc = tcase_create("booking");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, book_unbook_and_their_errors);
	tcase_add_test(tc, check_in_and_its_errors);
	tcase_add_test(tc, window_edges_and_psql_changes);
	tcase_add_test(tc, due_appointment_before_older_walk_in);
	tcase_add_test(tc, checked_in_survives_kill9);
	tcase_add_test(tc, day_change_expires_and_marks_no_shows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_booking", booking_suite(), &g_db, NULL);
}
