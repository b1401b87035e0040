/* Integration test of protocol 1.1's counter workflow over TCP, against a
 * real PostgreSQL and a real kolappd: park and call back, the no-show
 * policy, reactivate, priority and interpreter tickets, outcomes,
 * transfer to a counter, weights, the status additions; who may do what;
 * policies set in psql reaching the daemon; and every new state and field
 * surviving a kill -9. The test office: counter 1 serves S,F; 2 S,F;
 * 3 F,S,P. */
#include <check.h>
#include <stdarg.h>
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

static void want_err(json_t *r, const char *code, const char *message)
{
	const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));

	ck_assert_msg(r && o_err(r) && !strcmp(o_err(r), code), "expected %s, got %s", code,
		      o_js(r));
	if (message)
		ck_assert_msg(m && !strcmp(m, message), "expected message \"%s\", got %s", message,
			      o_js(r));
	json_decref(r);
}

/* One psql statement on the test database; fails the test on error. */
static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
	char q[1024], out[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	ck_assert_msg(h_psql(g_db, q, out, sizeof out) == 0, "psql failed: %s", q);
}

static const char *state_in_db(const char *code)
{
	static char out[64];
	char q[512];

	snprintf(q, sizeof q,
		 "SELECT t.state FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id "
		 "WHERE o.code = '%s' AND t.code = '%s' AND t.business_day = "
		 "(now() AT TIME ZONE o.timezone)::date",
		 g_o.code, code);
	ck_assert_int_eq(h_psql(g_db, q, out, sizeof out), 0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* A member of a status's counter, or of its queue. */
static json_t *status_of(struct oc *c, const char *list, const char *key, const char *name)
{
	json_t *r = ok(oc_req(c, "{\"op\":\"status\"}")), *e, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, list), i, e)
		if (!strcmp(json_string_value(json_object_get(e, key)), name))
			found = json_incref(e);
	json_decref(r);
	ck_assert_msg(found != NULL, "no %s %s in status", list, name);
	return found;
}

/* Applies policy statements in psql, in one transaction with one that
 * closes priority in queue P, and waits (polling, with a deadline) until
 * the daemon refuses a priority ticket in P: the daemon reloads its
 * configuration as a whole, so the other statements are in too. */
static void policy_live(struct oc *kiosk, const char *statements)
{
	char q[1024];
	long long t0 = h_now_ms();
	json_t *r;

	snprintf(q, sizeof q,
		 "%s; SELECT kolapp.set_queue_policy('%s', 'P', allow_priority => false)",
		 statements, g_o.code);
	sql("%s", q);
	while ((r = oc_req(kiosk, "{\"op\":\"issue\",\"queue\":\"P\",\"priority\":true}")) &&
	       o_ok(r)) {
		ck_assert_msg(h_now_ms() - t0 < 1000, "a psql change took over 1 s to arrive");
		json_decref(r);
		usleep(10000); /* the poll's interval; the deadline above decides */
	}
	want_err(r, "forbidden", "this queue takes no priority tickets");
}

static void setup(void)
{
	o_seed_named(g_db, "w", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

START_TEST(hello_says_minor_1)
{
	struct oc *c = oc_connect(g_d.port);
	json_t *r = ok(oc_req(c, "{\"op\":\"hello\",\"token\":\"%s\"}", g_o.kiosk));

	ck_assert_int_eq(json_integer_value(json_object_get(r, "protocol")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "minor")), 1);
	json_decref(r);
	oc_close(c);
}
END_TEST

START_TEST(park_and_call_back)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c1 = o_login(g_d.port, g_o.counter[0]);
	struct oc *c2 = o_login(g_d.port, g_o.counter[1]);
	json_t *r, *c;

	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"interpreter\":\"ti\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c2, "{\"op\":\"counter_open\"}")));
	want_err(oc_req(c1, "{\"op\":\"park\"}"), "conflict", "the counter holds no ticket");
	r = ok(oc_req(c1, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "rank 1, waited longest: 0 s");
	ck_assert_str_eq(o_tstr(r, "interpreter"), "ti");
	json_decref(r);
	r = ok(oc_req(c1, "{\"op\":\"park\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "parked");
	json_decref(r);
	ck_assert_str_eq(state_in_db("S-001"), "parked");
	c = status_of(c1, "counters", "name", "1");
	ck_assert_ptr_null(json_string_value(json_object_get(c, "ticket")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "parked"), 0)),
			 "S-001");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "queues"), 0)), "S");
	json_decref(c);
	/* Called back from another counter. */
	r = ok(oc_req(c2, "{\"op\":\"call\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "counter"), "2");
	json_decref(r);
	ck_assert_str_eq(state_in_db("S-001"), "called");
	/* Roles: a kiosk may not park, a display may not reactivate. */
	want_err(oc_req(k, "{\"op\":\"park\"}"), "forbidden", "a kiosk token may not park");
	oc_close(k);
	oc_close(c1);
	oc_close(c2);
}
END_TEST

START_TEST(no_show_policy_and_reactivate)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c1 = o_login(g_d.port, g_o.counter[0]);
	struct oc *d = o_login(g_d.port, g_o.display);
	json_t *r;

	char q[256];

	snprintf(q, sizeof q, "SELECT kolapp.set_queue_policy('%s', 'S', min_calls => 2)",
		 g_o.code);
	policy_live(k, q);
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"call_next\"}")));
	want_err(oc_req(c1, "{\"op\":\"no_show\"}"), "conflict",
		 "ticket S-001 was called 1 time: call it 2 times in all before a no-show");
	json_decref(ok(oc_req(c1, "{\"op\":\"recall\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"no_show\"}")));
	ck_assert_str_eq(state_in_db("S-001"), "no_show");
	want_err(oc_req(d, "{\"op\":\"reactivate\",\"ticket\":\"S-001\"}"), "forbidden", NULL);
	want_err(oc_req(k, "{\"op\":\"reactivate\",\"ticket\":\"S-002\"}"), "conflict",
		 "ticket S-002 is waiting, not no_show");
	r = ok(oc_req(k, "{\"op\":\"reactivate\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	ck_assert_int_eq(o_tint(r, "position"), 1);
	json_decref(r);
	ck_assert_str_eq(state_in_db("S-001"), "waiting");
	oc_close(k);
	oc_close(c1);
	oc_close(d);
}
END_TEST

START_TEST(outcomes_priority_transfer_to_counter)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c1 = o_login(g_d.port, g_o.counter[0]);
	struct oc *c2 = o_login(g_d.port, g_o.counter[1]);
	json_t *r, *q;

	char stmts[512];

	snprintf(stmts, sizeof stmts,
		 "SELECT kolapp.add_outcome('%s', 'S', 'advice', 'Advice given'); "
		 "SELECT kolapp.set_queue_policy('%s', 'S', require_outcome => true)",
		 g_o.code, g_o.code);
	policy_live(k, stmts);
	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c2, "{\"op\":\"counter_open\"}")));
	/* Priority in S: position 1 ahead of an older ticket; status counts it. */
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"priority\":true,\"lang\":\"so\"}"));
	ck_assert_int_eq(o_tint(r, "position"), 1);
	ck_assert_str_eq(o_tstr(r, "lang"), "so");
	json_decref(r);
	q = status_of(k, "queues", "code", "S");
	ck_assert_int_eq(json_integer_value(json_object_get(q, "priority_waiting")), 1);
	json_decref(q);
	r = ok(oc_req(c1, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "rank 1, priority, waited 0 s");
	json_decref(r);
	/* An outcome is required: neither finish nor call_next without one. */
	want_err(oc_req(c1, "{\"op\":\"finish\"}"), "bad_request", "missing field: outcome");
	want_err(oc_req(c1, "{\"op\":\"call_next\"}"), "bad_request", NULL);
	want_err(oc_req(c1, "{\"op\":\"finish\",\"outcome\":\"nonsense\"}"), "not_found", NULL);
	r = ok(oc_req(c1, "{\"op\":\"finish\",\"outcome\":\"advice\"}"));
	ck_assert_str_eq(o_tstr(r, "outcome"), "advice");
	json_decref(r);
	ck_assert_int_eq(o_count(g_db, "SELECT count(*) FROM kolapp.tickets WHERE outcome = "
				       "'advice'"),
			 1);
	/* Transfer to a counter: only counter 2 sees it, and first. */
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	r = ok(oc_req(c1, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	want_err(oc_req(c1, "{\"op\":\"transfer\",\"to_counter\":\"9\"}"), "not_found",
		 "no such counter");
	want_err(oc_req(c1, "{\"op\":\"transfer\",\"queue\":\"F\",\"to_counter\":\"2\"}"),
		 "bad_request", "give queue or to_counter, not both");
	r = ok(oc_req(c1, "{\"op\":\"transfer\",\"to_counter\":\"2\"}"));
	ck_assert_str_eq(o_tstr(r, "for_counter"), "2");
	json_decref(r);
	r = ok(oc_req(c2, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "transferred to this counter, waited 0 s");
	json_decref(r);
	oc_close(k);
	oc_close(c1);
	oc_close(c2);
}
END_TEST

/* Every new state and field is in the database before it is answered:
 * after a kill -9 the daemon loads them back. */
START_TEST(new_states_survive_kill9)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c1 = o_login(g_d.port, g_o.counter[0]);
	struct oc *c2 = o_login(g_d.port, g_o.counter[1]);
	json_t *r, *c;

	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c2, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"interpreter\":\"ar\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"priority\":true}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"call\",\"ticket\":\"S-001\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"park\"}"))); /* S-001 parked at 1 */
	json_decref(ok(oc_req(c1, "{\"op\":\"call\",\"ticket\":\"S-002\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"transfer\",\"to_counter\":\"2\"}"))); /* S-002 for 2 */
	json_decref(ok(oc_req(c1, "{\"op\":\"call\",\"ticket\":\"S-003\"}")));
	json_decref(ok(oc_req(c1, "{\"op\":\"no_show\"}"))); /* S-003 no_show */
	oc_close(k);
	oc_close(c1);
	oc_close(c2);

	h_daemon_kill9(&g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_d.conninfo, NULL), 0);

	k = o_login(g_d.port, g_o.kiosk);
	c1 = o_login(g_d.port, g_o.counter[0]);
	c2 = o_login(g_d.port, g_o.counter[1]);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "parked");
	ck_assert_str_eq(o_tstr(r, "interpreter"), "ar");
	json_decref(r);
	c = status_of(k, "counters", "name", "1");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "parked"), 0)),
			 "S-001");
	json_decref(c);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-004\"}"));
	ck_assert(json_is_true(json_object_get(json_object_get(r, "ticket"), "priority")));
	ck_assert_int_eq(o_tint(r, "position"), 1);
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-002\"}"));
	ck_assert_str_eq(o_tstr(r, "for_counter"), "2");
	json_decref(r);
	/* Counter 1 does not see S-002 (for counter 2) but the priority S-004. */
	r = ok(oc_req(c1, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-004");
	json_decref(r);
	r = ok(oc_req(c2, "{\"op\":\"call_next\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	json_decref(r);
	/* The no-show can still come back, and the parked one be called back. */
	json_decref(ok(oc_req(k, "{\"op\":\"reactivate\",\"ticket\":\"S-003\"}")));
	r = ok(oc_req(c2, "{\"op\":\"call\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "called");
	json_decref(r);
	oc_close(k);
	oc_close(c1);
	oc_close(c2);
}
END_TEST

/* The estimate a visitor is told is kept with the ticket
 * (kolapp.estimate_accuracy_daily compares it with the real wait). */
START_TEST(estimate_kept_with_ticket)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	struct oc *c1 = o_login(g_d.port, g_o.counter[0]);
	json_t *r, *w;
	char q[512];

	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	/* Three services teach the model; the fourth ticket waits behind one. */
	for (int i = 0; i < 3; i++) {
		json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
		json_decref(ok(oc_req(c1, "{\"op\":\"call_next\"}")));
		json_decref(ok(oc_req(c1, "{\"op\":\"start\"}")));
		json_decref(ok(oc_req(c1, "{\"op\":\"finish\"}")));
	}
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	w = json_object_get(json_object_get(r, "ticket"), "estimated_wait_s");
	ck_assert_msg(json_is_integer(w), "no estimate after three services: %s", o_js(r));
	ck_assert(json_is_array(json_object_get(json_object_get(r, "ticket"), "estimated_wait_"
									      "range_s")));
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o "
		 "ON o.id = t.office_id WHERE o.code = '%s' AND t.code = 'S-005' AND "
		 "t.estimated_wait_s = %lld",
		 g_o.code, (long long)json_integer_value(w));
	ck_assert_msg(o_count(g_db, q) == 1, "the database does not hold the estimate told: %s",
		      o_js(r));
	json_decref(r);
	oc_close(k);
	oc_close(c1);
}
END_TEST

static json_int_t wait_estimate(struct oc *c, const char *code, json_int_t lo, json_int_t hi);

/* A daemon started at opening time estimates from its first tickets: the
 * same weekday's visits of earlier weeks stand in until today has its own
 * (nine 10-minute visits in S a week ago, at this time of day). They are
 * read after the daemon answers, so the estimate is polled for. */
/* Nine S visits of 600 s a week ago at this time of day, read by a
 * restarted daemon as the estimator's first samples. */
static void restart_with_last_weeks_visits(void)
{
	sql("INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id, "
	    "number, code, state, issued_at, sort_at, counter_id, called_at, started_at, "
	    "finished_at) SELECT o.id, (now() AT TIME ZONE o.timezone)::date - 7, q.id, q.id, n, "
	    "'S-' || lpad(n::text, 3, '0'), 'done', at, at, c.id, at, at, "
	    "at + interval '600 seconds' FROM kolapp.offices o "
	    "JOIN kolapp.queues q ON q.office_id = o.id AND q.code = 'S' "
	    "JOIN kolapp.counters c ON c.office_id = o.id AND c.name = '1' "
	    "CROSS JOIN generate_series(1, 9) AS n "
	    "CROSS JOIN LATERAL (SELECT now() - interval '7 days' + n * interval '1 minute' AS at) "
	    "a "
	    "WHERE o.code = '%s'",
	    g_o.code);
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	ck_assert_int_eq(h_daemon_start(&g_d, g_d.conninfo, NULL), 0);
}

/* How many earlier weeks' arrivals the daemon last said it read after a
 * load, polled in its log (the read follows the first answers) until it
 * is at least want or 5 s have passed; -1: it said none. */
static long earlier_arrivals_read(long want)
{
	static const char what[] = " ticket(s) of the same weekday of earlier weeks read";
	long n = -1;

	for (long long t0 = h_now_ms(); n < want && h_now_ms() - t0 < 5000;) {
		char *log = h_daemon_log(&g_d), *last = NULL;

		for (char *at = log ? strstr(log, what) : NULL; at; at = strstr(at + 1, what))
			last = at;
		if (last) {
			while (last > log && last[-1] >= '0' && last[-1] <= '9')
				last--;
			n = strtol(last, NULL, 10);
		}
		free(log);
		if (n < want)
			usleep(20 * 1000); /* pacing the polls of the log */
	}
	return n;
}

START_TEST(estimate_seeded_from_same_weekday)
{
	struct oc *k, *c1;
	json_int_t s;

	restart_with_last_weeks_visits();
	k = o_login(g_d.port, g_o.kiosk);
	c1 = o_login(g_d.port, g_o.counter[0]);
	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	/* Behind one 10-minute visit at the only counter. */
	s = wait_estimate(k, "S-002", 540, 660);
	ck_assert_msg(s >= 540 && s <= 660, "S-002: %lld s from last week's visits, want ~600",
		      (long long)s);
	/* The same tickets say when visitors came (kolapp.d_arrivals). */
	long n = earlier_arrivals_read(9);
	ck_assert_msg(n >= 9, "the daemon read %ld earlier arrivals, want at least 9", n);
	oc_close(k);
	oc_close(c1);
}
END_TEST

/* The estimate of a ticket, polled until it is in [lo, hi] or the
 * deadline passes; returns the last one seen (-1: none). */
static json_int_t wait_estimate(struct oc *c, const char *code, json_int_t lo, json_int_t hi)
{
	json_int_t s = -1;

	for (long long t0 = h_now_ms(); h_now_ms() - t0 < 5000;) {
		json_t *r = ok(oc_req(c, "{\"op\":\"ticket\",\"ticket\":\"%s\"}", code));
		json_t *w = json_object_get(json_object_get(r, "ticket"), "estimated_wait_s");

		s = json_is_integer(w) ? json_integer_value(w) : -1;
		json_decref(r);
		if (s >= lo && s <= hi)
			break;
		usleep(50 * 1000); /* pacing the polls (and the rate limit), not synchronising */
	}
	return s;
}

/* Counters' planned hours set in psql reach the estimate: counter 2 is
 * planned to close within five minutes, so after the two visitors called
 * now (10-minute visits) counter 1 alone calls the next two: the fourth
 * waits about 1200 s, not 600. Forgetting the plan gives 600 again. */
START_TEST(planned_close_reaches_the_estimate)
{
	struct oc *k, *c1, *c2;
	json_int_t s;

	restart_with_last_weeks_visits();
	k = o_login(g_d.port, g_o.kiosk);
	c1 = o_login(g_d.port, g_o.counter[0]);
	c2 = o_login(g_d.port, g_o.counter[1]);
	json_decref(ok(oc_req(c1, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c2, "{\"op\":\"counter_open\"}")));
	for (int i = 0; i < 4; i++)
		json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	s = wait_estimate(k, "S-004", 540, 660);
	ck_assert_msg(s >= 540 && s <= 660, "fourth of two counters: %lld s", (long long)s);
	/* From midnight to five minutes from now (or the day's end). */
	sql("SELECT kolapp.set_counter_hours(o.code, '2', "
	    "to_char(now() AT TIME ZONE o.timezone, 'YYYY-MM-DD'), '00:00-' || "
	    "CASE WHEN (now() AT TIME ZONE o.timezone)::time >= '23:55' THEN '24:00' "
	    "ELSE to_char(now() AT TIME ZONE o.timezone + interval '5 minutes', 'HH24:MI') END) "
	    "FROM kolapp.offices o WHERE o.code = '%s'",
	    g_o.code);
	s = wait_estimate(k, "S-004", 1140, 1260);
	ck_assert_msg(s >= 1140 && s <= 1260, "counter 2 closing soon: %lld s, want ~1200",
		      (long long)s);
	sql("SELECT kolapp.clear_counter_hours('%s', '2')", g_o.code);
	s = wait_estimate(k, "S-004", 540, 660);
	ck_assert_msg(s >= 540 && s <= 660, "plan forgotten: %lld s, want ~600", (long long)s);
	oc_close(k);
	oc_close(c1);
	oc_close(c2);
}
END_TEST

/* The next queue event for queue saying issuing is want; NULL when none
 * came within 5 s. Caller frees it. */
static json_t *wait_issuing(struct oc *d, const char *queue, bool want)
{
	for (long long t0 = h_now_ms(); h_now_ms() - t0 < 5000;) {
		json_t *ev = oc_event(d, "queue", 5000 - (int)(h_now_ms() - t0));

		if (!ev)
			return NULL;
		if (!strcmp(json_string_value(json_object_get(ev, "queue")) ?: "", queue) &&
		    json_is_boolean(json_object_get(ev, "issuing")) &&
		    json_is_true(json_object_get(ev, "issuing")) == want)
			return ev;
		json_decref(ev);
	}
	return NULL;
}

/* A queue's ticket hours set in psql close it to the kiosk and tell the
 * board: closed for today, the queue's event says issuing false while it
 * stays open (its visitors are still called); forgetting the hours opens
 * it to the kiosk again. */
START_TEST(ticket_hours_from_psql_close_the_kiosk)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *d = o_login(g_d.port, g_o.display);
	json_t *ev;

	ck_assert_ptr_nonnull(d);
	json_decref(ok(oc_req(d, "{\"op\":\"subscribe\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	sql("SELECT kolapp.set_queue_hours(o.code, 'S', "
	    "to_char(now() AT TIME ZONE o.timezone, 'YYYY-MM-DD'), 'closed') "
	    "FROM kolapp.offices o WHERE o.code = '%s'",
	    g_o.code);
	ev = wait_issuing(d, "S", false);
	ck_assert_msg(ev, "no queue event saying S issues no tickets");
	ck_assert(json_is_true(json_object_get(ev, "open")));
	json_decref(ev);
	want_err(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"), "queue_closed",
		 "this queue takes no tickets now (its ticket hours)");
	json_decref(ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}")));
	sql("SELECT kolapp.clear_queue_hours('%s', 'S')", g_o.code);
	ev = wait_issuing(d, "S", true);
	ck_assert_msg(ev, "no queue event saying S issues tickets again");
	json_decref(ev);
	ev = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_str_eq(o_tstr(ev, "code"), "S-002");
	json_decref(ev);
	oc_close(k);
	oc_close(d);
}
END_TEST

static Suite *workflow_suite(void)
{
	Suite *s = suite_create("workflow");
	TCase *tc = tcase_create("workflow");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hello_says_minor_1);
	tcase_add_test(tc, park_and_call_back);
	tcase_add_test(tc, no_show_policy_and_reactivate);
	tcase_add_test(tc, outcomes_priority_transfer_to_counter);
	tcase_add_test(tc, new_states_survive_kill9);
	tcase_add_test(tc, estimate_kept_with_ticket);
	tcase_add_test(tc, estimate_seeded_from_same_weekday);
	tcase_add_test(tc, planned_close_reaches_the_estimate);
	tcase_add_test(tc, ticket_hours_from_psql_close_the_kiosk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_workflow", workflow_suite(), &g_db, NULL);
}
