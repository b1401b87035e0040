/* Live configuration from psql, against a real kolappd and PostgreSQL:
 * queues added, closed and renamed (by the admin functions and by plain
 * UPDATEs) are live within one second; a revoked token's connection is
 * cut; a change made while the NOTIFY connection was killed still
 * arrives; and kolappd works logged in as a role holding only
 * kolapp_daemon. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"

static char *g_db;
static struct o_office g_o;
static struct h_daemon g_d;

static void setup(void)
{
	/* A fresh office per test (each runs in its own forked process):
	 * changes of one test do not leak into the next. */
	o_seed_named(g_db, "live", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

static void psql_ok(const char *fmt, const char *a, const char *b)
	__attribute__((format(printf, 1, 0)));

static void psql_ok(const char *fmt, const char *a, const char *b)
{
	char sql[512], out[256];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(sql, sizeof sql, fmt, a, b);
#pragma GCC diagnostic pop
	ck_assert_msg(h_psql(g_db, sql, out, sizeof out) == 0, "%s: %s", sql, out);
}

/* The queue object of `code` in a status reply, or NULL. */
static json_t *queue_in(json_t *status, const char *code)
{
	size_t i;
	json_t *q;

	json_array_foreach(json_object_get(status, "queues"), i, q)
		if (!strcmp(json_string_value(json_object_get(q, "code")), code))
			return q;
	return NULL;
}

/* Polls status (no sleeps: each round trip is the pace) until pred holds;
 * returns the milliseconds it took, or -1 after deadline_ms. */
static long wait_status(struct oc *c, bool (*pred)(json_t *, const char *), const char *arg,
			int deadline_ms)
{
	long long t0 = h_now_ms();

	while (h_now_ms() - t0 < deadline_ms) {
		json_t *r = oc_req(c, "{\"id\":1,\"op\":\"status\"}");
		bool ok = r && pred(r, arg);
		json_decref(r);
		if (ok)
			return (long)(h_now_ms() - t0);
	}
	return -1;
}

static bool has_queue(json_t *st, const char *code)
{
	return queue_in(st, code) != NULL;
}

static bool s_closed(json_t *st, const char *unused)
{
	json_t *q = queue_in(st, "S");
	return q && json_is_false(json_object_get(q, "open"));
}

static bool name_is(json_t *st, const char *spec)
{
	/* spec is "CODE=name" */
	char code[8];
	const char *eq = strchr(spec, '=');
	json_t *q;

	snprintf(code, sizeof code, "%.*s", (int)(eq - spec), spec);
	q = queue_in(st, code);
	return q && !strcmp(json_string_value(json_object_get(q, "name")), eq + 1);
}

START_TEST(queue_added_closed_renamed_live)
{
	struct oc *display = oc_login(g_d.port, g_o.display);
	struct oc *kiosk = oc_login(g_d.port, g_o.kiosk);
	json_t *r, *ev;
	long ms;

	ck_assert_ptr_nonnull(display);
	ck_assert_ptr_nonnull(kiosk);
	r = oc_req(display, "{\"id\":1,\"op\":\"subscribe\"}");
	ck_assert(o_ok(r));
	json_decref(r);

	psql_ok("SELECT kolapp.add_queue('%s', 'X', 'Extra')", g_o.code, NULL);
	ms = wait_status(kiosk, has_queue, "X", 1000);
	ck_assert_msg(ms >= 0, "a new queue was not live within 1 s");
	ev = oc_event(display, "queue", 1000);
	ck_assert_ptr_nonnull(ev);
	json_decref(ev);
	r = oc_req(kiosk, "{\"id\":2,\"op\":\"issue\",\"queue\":\"X\"}");
	ck_assert_msg(o_ok(r), "issue on the new queue: %s", o_err(r));
	json_decref(r);

	psql_ok("SELECT kolapp.close_queue('%s', 'S')", g_o.code, NULL);
	ck_assert_msg(wait_status(kiosk, s_closed, NULL, 1000) >= 0, "close not live within 1 s");
	r = oc_req(kiosk, "{\"id\":3,\"op\":\"issue\",\"queue\":\"S\"}");
	ck_assert_str_eq(o_err(r), "queue_closed");
	json_decref(r);

	psql_ok("SELECT kolapp.rename_queue('%s', 'F', 'Kassan')", g_o.code, NULL);
	ck_assert_msg(wait_status(kiosk, name_is, "F=Kassan", 1000) >= 0, "rename not live");

	/* A plain UPDATE is live too, through the same trigger. */
	psql_ok("UPDATE kolapp.queues q SET name = 'Pensionerna' FROM kolapp.offices o "
		"WHERE o.id = q.office_id AND o.code = '%s' AND q.code = 'P'%s",
		g_o.code, "");
	ck_assert_msg(wait_status(kiosk, name_is, "P=Pensionerna", 1000) >= 0,
		      "a plain UPDATE was not live");
	psql_ok("SELECT kolapp.open_queue('%s', 'S')", g_o.code, NULL);
	r = NULL;
	for (long long t0 = h_now_ms(); h_now_ms() - t0 < 1000;) {
		json_decref(r);
		r = oc_req(kiosk, "{\"id\":4,\"op\":\"issue\",\"queue\":\"S\"}");
		if (o_ok(r))
			break;
	}
	ck_assert_msg(o_ok(r), "reopened queue refuses issue: %s", o_err(r));
	json_decref(r);
	oc_close(display);
	oc_close(kiosk);
}
END_TEST

START_TEST(revoked_token_is_cut)
{
	char tok[O_TOKLEN];
	struct oc *victim, *bystander;
	json_t *r;
	long long t0;

	ck_assert_int_eq(o_token(g_db, "kiosk", g_o.code, NULL, tok, sizeof tok), 0);
	victim = oc_login(g_d.port, tok);
	bystander = oc_login(g_d.port, g_o.kiosk);
	ck_assert_ptr_nonnull(victim);
	ck_assert_ptr_nonnull(bystander);
	t0 = h_now_ms();
	psql_ok("SELECT kolapp.revoke_token('%s')", tok, NULL);
	ck_assert_msg(oc_closed(victim, 1000), "revoked token's connection still open after 1 s");
	ck_assert_int_lt(h_now_ms() - t0, 1000);
	oc_close(victim);
	/* The token is refused from now on; other tokens are unharmed. */
	victim = oc_connect(g_d.port);
	ck_assert_ptr_nonnull(victim);
	r = oc_req(victim, "{\"id\":1,\"op\":\"hello\",\"token\":\"%s\"}", tok);
	ck_assert_str_eq(o_err(r), "unauthorized");
	json_decref(r);
	r = oc_req(bystander, "{\"id\":2,\"op\":\"status\"}");
	ck_assert(o_ok(r));
	json_decref(r);
	oc_close(victim);
	oc_close(bystander);
}
END_TEST

START_TEST(change_while_notify_connection_killed)
{
	struct oc *kiosk = oc_login(g_d.port, g_o.kiosk);
	char sql[512], out[64];

	ck_assert_ptr_nonnull(kiosk);
	/* End kolappd's database session, then change something at once:
	 * the NOTIFY is lost with the session, so only the reload on
	 * reconnecting can bring the change. */
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE application_name = 'kolappd' AND datname = current_database()");
	ck_assert_int_eq(h_psql(g_db, sql, out, sizeof out), 0);
	ck_assert_int_ge(atoi(out), 1);
	psql_ok("SELECT kolapp.rename_queue('%s', 'S', 'Missed while away')", g_o.code, NULL);
	ck_assert_msg(wait_status(kiosk, name_is, "S=Missed while away", 5000) >= 0,
		      "a change made while disconnected did not arrive within 5 s");
	oc_close(kiosk);
}
END_TEST

static Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("live");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, queue_added_closed_renamed_live);
	tcase_add_test(tc, revoked_token_is_cut);
	tcase_add_test(tc, change_while_notify_connection_killed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_live", live_suite(), &g_db, NULL);
}
