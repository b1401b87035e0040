/* Integration test of group commit against a real PostgreSQL: a run of
 * issues sent as one batched call keeps every idempotency key byte for
 * byte, a batch that interleaves offices goes as runs, and a batch the
 * database refuses is answered `unavailable`, changes nothing, and leaves
 * the daemon's connection usable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;

static void setup(void)
{
	o_seed_named(g_db, "b", &g_o);
	/* Function call counts show which statements the daemon ran. */
	ck_assert_int_eq(h_psql(g_db,
				"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET "
				"track_functions = ''all''', current_database()); END $$",
				NULL, 0),
			 0);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

/* Keys that an array literal would mangle unless each element is quoted
 * and escaped: quotes, backslashes, braces, commas, the word NULL,
 * blanks at either end, non-ASCII text. */
static const char *const awkward_keys[] = {
	"plain-1", "a\"b",     "back\\slash", "{brace}", "comma,x",
	"NULL",    " padded ", "\\\"",        "}{,\"\\", "\xc3\xb6\xe2\x9c\x93",
	"null",    "''",       "tab\there",   "a b c",   "end\\",
};
#define NKEYS (sizeof awkward_keys / sizeof awkward_keys[0])

START_TEST(batched_issues_keep_keys_verbatim)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char *all = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&all, &len);
	char sql[512], out[8192], expect[8192];
	size_t i, elen = 0;

	ck_assert_ptr_nonnull(f);
	/* One write: the daemon reads them in one go, so they share a batch. */
	for (i = 0; i < NKEYS; i++) {
		json_t *req = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)i, "op", "issue",
					"queue", "S", "key", awkward_keys[i]);
		char *line = json_dumps(req, JSON_COMPACT);

		fprintf(f, "%s\n", line);
		free(line);
		json_decref(req);
	}
	fclose(f);
	ck_assert_int_eq(oc_send(k, all), 0);
	free(all);
	for (i = 0; i < NKEYS; i++) {
		json_t *r = oc_reply(k, 10000);
		char want[16];

		ck_assert_msg(o_ok(r), "issue %zu: %s", i, o_js(r));
		snprintf(want, sizeof want, "S-%03zu", i + 1);
		ck_assert_str_eq(o_tstr(r, "code"), want);
		json_decref(r);
	}
	/* Each key as stored, hex-encoded so that no byte can hide. */
	snprintf(sql, sizeof sql,
		 "SELECT string_agg(encode(convert_to(t.idem_key, 'UTF8'), 'hex'), ' ' ORDER BY "
		 "t.id)"
		 " FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s'",
		 g_o.code);
	ck_assert_int_eq(h_psql(g_db, sql, out, sizeof out), 0);
	out[strcspn(out, "\n")] = '\0';
	for (i = 0; i < NKEYS; i++) {
		for (const unsigned char *p = (const unsigned char *)awkward_keys[i]; *p; p++)
			elen += (size_t)snprintf(expect + elen, sizeof expect - elen, "%02x", *p);
		if (i + 1 < NKEYS)
			expect[elen++] = ' ';
	}
	expect[elen] = '\0';
	ck_assert_str_eq(out, expect);
	/* They went as one call of d_issue_many, not one d_issue each. The
	 * backend reports its counts when idle, within about 10 s. */
	{
		long long deadline = h_now_ms() + 20000;
		long calls;

		while ((calls = o_count(g_db, "SELECT coalesce(sum(calls), 0) FROM "
					      "pg_stat_user_functions WHERE funcname = "
					      "'d_issue_many'")) < 1 &&
		       h_now_ms() < deadline)
			usleep(100 * 1000);
		ck_assert_int_ge(calls, 1);
	}

	/* The same keys again: the same tickets, nothing new. */
	for (i = 0; i < NKEYS; i++) {
		json_t *req = json_pack("{s:s,s:s,s:s}", "op", "issue", "queue", "S", "key",
					awkward_keys[i]);
		char *line = json_dumps(req, JSON_COMPACT);
		json_t *r = oc_req(k, "%s", line);
		char want[16];

		snprintf(want, sizeof want, "S-%03zu", i + 1);
		ck_assert_msg(o_ok(r), "repeat %zu: %s", i, o_js(r));
		ck_assert_str_eq(o_tstr(r, "code"), want);
		json_decref(r);
		free(line);
		json_decref(req);
	}
	oc_close(k);
}
END_TEST

/* SQL that writes ticket S-002 of the test office behind the daemon's
 * back: the number the daemon gives next after S-001. */
static void taken_number_sql(char *sql, size_t size)
{
	snprintf(sql, size,
		 "INSERT INTO kolapp.tickets (office_id, business_day, origin_queue_id, queue_id,"
		 " number, code, state, issued_at, sort_at)"
		 " SELECT o.id, kolapp.office_today(o.id), q.id, q.id, 2, 'S-002', 'waiting', "
		 "now(), now()"
		 " FROM kolapp.offices o JOIN kolapp.queues q ON q.office_id = o.id AND q.code = "
		 "'S'"
		 " WHERE o.code = '%s'",
		 g_o.code);
}

/* A row the daemon does not know about takes the number it will give
 * next: the database refuses that batch. */
START_TEST(refused_batch_is_unavailable_and_recovers)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char sql[1024], out[64];
	json_t *r;
	long long deadline;

	r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}");
	ck_assert_msg(o_ok(r), "%s", o_js(r));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	taken_number_sql(sql, sizeof sql);
	ck_assert_int_eq(h_psql(g_db, sql, out, sizeof out), 0);

	r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"refused\"}");
	ck_assert_str_eq(o_err(r) ? o_err(r) : o_js(r), "unavailable");
	json_decref(r);

	/* The daemon reloads from the database and numbers on from there:
	 * its connection must not be stuck in the refused transaction. */
	deadline = h_now_ms() + 10000;
	for (;;) {
		r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"after\"}");
		if (o_ok(r))
			break;
		ck_assert_msg(h_now_ms() < deadline, "no issue succeeded within 10 s: %s", o_js(r));
		ck_assert_str_eq(o_err(r) ? o_err(r) : o_js(r), "unavailable");
		json_decref(r);
		usleep(50 * 1000); /* a poll with a deadline, not a synchronisation */
	}
	ck_assert_str_eq(o_tstr(r, "code"), "S-003");
	json_decref(r);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s' AND t.idem_key = 'refused'",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s'",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 3);
	/* Reads and the other writes work too. */
	r = oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-002\"}");
	ck_assert_msg(o_ok(r), "%s", o_js(r));
	json_decref(r);
	oc_close(k);
}
END_TEST

static long long count_where(const char *office, const char *where)
{
	char sql[512];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s' AND %s",
		 office, where);
	return o_count(g_db, sql);
}

static bool log_has(const char *needle)
{
	char *log = h_daemon_log(&g_d);
	bool found = log && strstr(log, needle);

	free(log);
	return found;
}

/* A batch sent while the one before it commits must not commit when that
 * one fails. The test holds batch k on a row lock (an uncommitted ticket
 * with the number it is about to give), gets batch k+1 sent behind it for
 * another office, then commits the row: k fails on the unique number, and
 * k+1, which nothing in the database refuses, must fail on its guard. */
START_TEST(batch_behind_a_refused_one_does_not_commit)
{
	struct o_office other;
	char sql[1024];
	struct oc *ka, *kb;
	PGconn *pg;
	PGresult *r;
	json_t *rep;
	long long deadline;

	/* A second office, and a daemon that logs each batch it sends. */
	o_daemon_down(&g_d);
	o_seed_named(g_db, "c", &other);
	o_daemon_up(&g_d, g_db, "--log-level debug");
	ka = o_login(g_d.port, g_o.kiosk);
	kb = o_login(g_d.port, other.kiosk);
	rep = oc_req(ka, "{\"op\":\"issue\",\"queue\":\"S\"}");
	ck_assert_msg(o_ok(rep), "%s", o_js(rep));
	json_decref(rep);

	pg = PQconnectdb(g_db);
	ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
	r = PQexec(pg, "BEGIN");
	PQclear(r);
	taken_number_sql(sql, sizeof sql);
	r = PQexec(pg, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
	PQclear(r);

	/* Batch k: blocks on the uncommitted S-002. */
	ck_assert_int_eq(oc_send(ka, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"k\"}\n"), 0);
	deadline = h_now_ms() + 10000;
	while (o_count(g_db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
			     "'kolappd' AND wait_event_type = 'Lock'") < 1) {
		ck_assert_msg(h_now_ms() < deadline,
			      "kolappd's batch never waited for the row lock");
		usleep(20 * 1000);
	}
	/* Batch k+1, for the other office, sent behind it. */
	ck_assert_int_eq(oc_send(kb, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"behind\"}\n"), 0);
	deadline = h_now_ms() + 10000;
	while (!log_has("behind an unanswered batch")) {
		ck_assert_msg(h_now_ms() < deadline,
			      "the second batch was not sent behind the first");
		usleep(20 * 1000);
	}
	r = PQexec(pg, "COMMIT");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(pg);

	rep = oc_reply(ka, 10000);
	ck_assert_str_eq(o_err(rep) ? o_err(rep) : o_js(rep), "unavailable");
	json_decref(rep);
	rep = oc_reply(kb, 10000);
	ck_assert_str_eq(o_err(rep) ? o_err(rep) : o_js(rep), "unavailable");
	json_decref(rep);
	ck_assert_int_eq(count_where(other.code, "t.idem_key = 'behind'"), 0);
	ck_assert_int_eq(count_where(other.code, "true"), 0);
	ck_assert_int_eq(count_where(g_o.code, "t.idem_key = 'k'"), 0);

	/* And both offices work again once the daemon has reloaded. */
	deadline = h_now_ms() + 10000;
	for (;;) {
		rep = oc_req(kb, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"behind\"}");
		if (o_ok(rep))
			break;
		ck_assert_msg(h_now_ms() < deadline, "no issue succeeded within 10 s: %s",
			      o_js(rep));
		json_decref(rep);
		usleep(50 * 1000);
	}
	ck_assert_str_eq(o_tstr(rep, "code"), "S-001");
	json_decref(rep);
	oc_close(ka);
	oc_close(kb);
}
END_TEST

/* Tickets of queue S waiting at the office c is signed in to, from
 * memory (status is answered by the engine, not the database). */
static json_int_t s_waiting(struct oc *c)
{
	json_t *r = oc_req(c, "{\"op\":\"status\"}"), *q;
	json_int_t n = -1;
	size_t i;

	ck_assert_msg(o_ok(r), "%s", o_js(r));
	json_array_foreach(json_object_get(r, "queues"), i, q)
		if (!strcmp(json_string_value(json_object_get(q, "code")), "S"))
			n = json_integer_value(json_object_get(q, "waiting"));
	json_decref(r);
	return n;
}

/* Sends line on c and waits until the engine shows S's waiting count at
 * the office of d moved by delta. */
static void send_until(struct oc *c, const char *line, struct oc *d, int delta)
{
	json_int_t want = s_waiting(d) + delta;
	long long deadline = h_now_ms() + 10000;

	ck_assert_int_eq(oc_send(c, line), 0);
	while (s_waiting(d) != want) {
		if (h_now_ms() >= deadline) {
			char *got = oc_line(c, 100);

			ck_abort_msg("%s did not reach the engine (%s)", line,
				     got ? got : "no answer");
		}
		usleep(10 * 1000);
	}
}

/* A batch that interleaves two offices' issues and calls goes as one run
 * of each statement (pgw_order.c). Held behind two batches that wait for a
 * lock, an issue at office A, a call at office B, an issue at A and a
 * call at B share the third batch, in that order; the database then runs
 * d_call_many for the two calls, never d_call alone (in the order they
 * came, each would have been an execution of its own). */
START_TEST(interleaved_offices_go_as_runs)
{
	struct o_office other;
	struct oc *ka, *kb, *c1, *c2, *da, *db;
	PGconn *pg;
	PGresult *r;
	json_t *rep;
	long long deadline;
	long many;

	o_daemon_down(&g_d);
	o_seed_named(g_db, "e", &other);
	o_daemon_up(&g_d, g_db, "--log-level debug");
	ka = o_login(g_d.port, g_o.kiosk);
	da = o_login(g_d.port, g_o.display);
	kb = o_login(g_d.port, other.kiosk);
	db = o_login(g_d.port, other.display);
	c1 = o_login(g_d.port, other.counter[0]);
	c2 = o_login(g_d.port, other.counter[1]);
	for (int i = 0; i < 2; i++) {
		rep = oc_req(kb, "{\"op\":\"issue\",\"queue\":\"S\"}");
		ck_assert_msg(o_ok(rep), "%s", o_js(rep));
		json_decref(rep);
		rep = oc_req(i ? c2 : c1, "{\"op\":\"counter_open\"}");
		ck_assert_msg(o_ok(rep), "%s", o_js(rep));
		json_decref(rep);
	}

	pg = PQconnectdb(g_db);
	ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
	r = PQexec(pg, "BEGIN; LOCK TABLE kolapp.tickets IN EXCLUSIVE MODE");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* Batches 1 and 2 wait for the lock; the third stays open. */
	ck_assert_int_eq(oc_send(ka, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"held-a\"}\n"), 0);
	deadline = h_now_ms() + 10000;
	while (o_count(g_db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
			     "'kolappd' AND wait_event_type = 'Lock'") < 1) {
		ck_assert_msg(h_now_ms() < deadline, "kolappd's batch never waited for the lock");
		usleep(20 * 1000);
	}
	ck_assert_int_eq(oc_send(kb, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"held-b\"}\n"), 0);
	deadline = h_now_ms() + 10000;
	while (!log_has("behind an unanswered batch")) {
		ck_assert_msg(h_now_ms() < deadline, "the second batch was not sent");
		usleep(20 * 1000);
	}
	send_until(ka, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"run-a1\"}\n", da, 1);
	send_until(c1, "{\"op\":\"call_next\"}\n", db, -1);
	send_until(ka, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"run-a2\"}\n", da, 1);
	send_until(c2, "{\"op\":\"call_next\"}\n", db, -1);
	r = PQexec(pg, "COMMIT");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(pg);

	for (int i = 0; i < 3; i++) {
		rep = oc_reply(ka, 10000);
		ck_assert_msg(o_ok(rep), "issue %d at A: %s", i, o_js(rep));
		json_decref(rep);
	}
	rep = oc_reply(kb, 10000);
	ck_assert_msg(o_ok(rep), "issue at B: %s", o_js(rep));
	json_decref(rep);
	rep = oc_reply(c1, 10000);
	ck_assert_msg(o_ok(rep), "call at B: %s", o_js(rep));
	ck_assert_str_eq(o_tstr(rep, "code"), "S-001");
	json_decref(rep);
	rep = oc_reply(c2, 10000);
	ck_assert_msg(o_ok(rep), "second call at B: %s", o_js(rep));
	ck_assert_str_eq(o_tstr(rep, "code"), "S-002");
	json_decref(rep);
	ck_assert_int_eq(count_where(g_o.code, "t.idem_key IN ('held-a', 'run-a1', 'run-a2')"), 3);
	ck_assert_int_eq(count_where(other.code, "t.state = 'called'"), 2);

	/* The backend reports its counts when idle, within about 10 s. */
	deadline = h_now_ms() + 20000;
	while ((many = o_count(g_db, "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions "
				     "WHERE funcname = 'd_call_many'")) < 1 &&
	       h_now_ms() < deadline)
		usleep(100 * 1000);
	ck_assert_int_eq(many, 1);
	ck_assert_int_eq(o_count(g_db, "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions "
				       "WHERE funcname = 'd_call'"),
			 0);
	oc_close(ka);
	oc_close(da);
	oc_close(kb);
	oc_close(db);
	oc_close(c1);
	oc_close(c2);
}
END_TEST

static Suite *batches_suite(void)
{
	Suite *s = suite_create("batches");
	TCase *tc = tcase_create("group commit");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, batched_issues_keep_keys_verbatim);
	tcase_add_test(tc, refused_batch_is_unavailable_and_recovers);
	tcase_add_test(tc, batch_behind_a_refused_one_does_not_commit);
	tcase_add_test(tc, interleaved_offices_go_as_runs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_batches", batches_suite(), &g_db, NULL);
}
