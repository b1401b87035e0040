/* Integration test of durability: kill -9 of kolappd (idempotency keys,
 * acknowledged tickets, held tickets, numbering) and a PostgreSQL outage
 * (unavailable writes, stale reads, service back without a restart). The
 * outage test runs on its own private cluster so that the shared one is
 * never stopped. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"

#define MAX_ACKS 20000

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;

static json_t *ok(json_t *r)
{
	ck_assert_msg(o_ok(r), "expected ok, got %s", o_js(r));
	return r;
}

static long office_count_on(const char *db, const char *where)
{
	static char sql[8192 + 16 * MAX_ACKS]; /* the codes of a whole load */

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
		 " WHERE o.code = '%s' AND %s",
		 g_o.code, where);
	return o_count(db, sql);
}

static void setup(void)
{
	o_seed_named(g_db, "v", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

static void restart_after_kill9(void)
{
	h_daemon_kill9(&g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_d.conninfo, NULL), 0);
}

START_TEST(idempotent_key_survives_kill9)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r;

	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"kiosk1-0001\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	json_decref(r);
	oc_close(k);
	restart_after_kill9();
	k = o_login(g_d.port, g_o.kiosk);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"kiosk1-0001\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-001");
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"kiosk1-0002\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), "S-002");
	json_decref(r);
	ck_assert_int_eq(office_count_on(g_db, "t.idem_key = 'kiosk1-0001'"), 1);
	ck_assert_int_eq(office_count_on(g_db, "true"), 2);
	oc_close(k);
}
END_TEST

/* load_tickets leaves the order to the store, which sorts the rows by
 * office, day, sort time and id: of two tickets with the same sort time
 * the older (lower id) is still first in line after a restart when an
 * UPDATE moved its row behind the other's in the table. */
START_TEST(queue_order_survives_moved_rows)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c;
	char sql[512];
	json_t *r;

	for (int i = 0; i < 3; i++)
		json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	oc_close(k);
	/* S-002 gets S-001's sort time; then a no-op UPDATE writes a new row
	 * version of S-001 after S-003's. */
	snprintf(sql, sizeof sql,
		 "WITH u AS (UPDATE kolapp.tickets t SET sort_at = f.sort_at FROM kolapp.tickets f,"
		 " kolapp.offices o WHERE o.id = t.office_id AND o.code = '%s' AND t.code = 'S-002'"
		 " AND f.office_id = t.office_id AND f.code = 'S-001' RETURNING 1)"
		 " SELECT count(*) FROM u",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 1);
	snprintf(sql, sizeof sql,
		 "WITH u AS (UPDATE kolapp.tickets t SET recalls = t.recalls FROM kolapp.offices o"
		 " WHERE o.id = t.office_id AND o.code = '%s' AND t.code = 'S-001' RETURNING 1)"
		 " SELECT count(*) FROM u",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 1);
	ck_assert_int_eq(office_count_on(g_db, "t.code = 'S-001' AND t.ctid > (SELECT x.ctid FROM"
					       " kolapp.tickets x WHERE x.office_id = t.office_id"
					       " AND x.code = 'S-003')"),
			 1);
	restart_after_kill9();
	c = o_login(g_d.port, g_o.counter[0]);
	json_decref(ok(oc_req(c, "{\"op\":\"counter_open\"}")));
	/* and the rest of the line after it, in order */
	for (int i = 1; i <= 3; i++) {
		char want[8];

		snprintf(want, sizeof want, "S-%03d", i);
		r = ok(oc_req(c, "{\"op\":\"call_next\"}"));
		ck_assert_str_eq(o_tstr(r, "code"), want);
		json_decref(r);
	}
	oc_close(c);
}
END_TEST

/* load_tickets reads its rows in binary (store_pg.c): each column a
 * client sees comes back unchanged, times to the millisecond included. */
static json_t *ticket_of(struct oc *c, const char *code)
{
	json_t *r = ok(oc_req(c, "{\"op\":\"ticket\",\"ticket\":\"%s\"}", code)), *t;

	t = json_incref(json_object_get(r, "ticket"));
	json_decref(r);
	/* what the estimator says may change with a restart */
	json_object_del(t, "estimated_wait_s");
	json_object_del(t, "estimated_wait_range_s");
	return t;
}

START_TEST(ticket_fields_survive_kill9)
{
	static const char *const codes[] = { "S-001", "S-002", "S-003" };
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c = o_login(g_d.port, g_o.counter[0]);
	json_t *before[3];

	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"lang\":\"en\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"priority\":true,"
				 "\"interpreter\":\"so\",\"lang\":\"so\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(c, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c, "{\"op\":\"call_next\"}"))); /* S-002, the priority */
	json_decref(ok(oc_req(c, "{\"op\":\"recall\"}")));
	for (int i = 0; i < 3; i++)
		before[i] = ticket_of(k, codes[i]);
	ck_assert_str_eq(json_string_value(json_object_get(before[1], "state")), "called");
	ck_assert_int_eq(json_integer_value(json_object_get(before[1], "recalls")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(before[1], "interpreter")), "so");
	oc_close(k);
	oc_close(c);
	restart_after_kill9();
	k = o_login(g_d.port, g_o.kiosk);
	for (int i = 0; i < 3; i++) {
		json_t *after = ticket_of(k, codes[i]);
		char *b = json_dumps(before[i], JSON_SORT_KEYS),
		     *a = json_dumps(after, JSON_SORT_KEYS);

		ck_assert_str_eq(a, b);
		free(a);
		free(b);
		json_decref(after);
		json_decref(before[i]);
	}
	oc_close(k);
}
END_TEST

/* A time no ticket can have ('infinity', which the schema does not
 * forbid) leaves that row out of the load, not the daemon: the rest of
 * the office is served. */
START_TEST(infinite_time_row_is_skipped)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	char sql[512];

	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	oc_close(k);
	snprintf(sql, sizeof sql,
		 "WITH u AS (UPDATE kolapp.tickets t SET sort_at = 'infinity' FROM "
		 "kolapp.offices o"
		 " WHERE o.id = t.office_id AND o.code = '%s' AND t.code = 'S-002' RETURNING 1)"
		 " SELECT count(*) FROM u",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 1);
	restart_after_kill9();
	k = o_login(g_d.port, g_o.kiosk);
	json_decref(ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}")));
	{
		json_t *r = oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-002\"}");

		ck_assert_msg(r && o_err(r) && !strcmp(o_err(r), "not_found"),
			      "expected not_found, got %s", o_js(r));
		json_decref(r);
	}
	oc_close(k);
}
END_TEST

/* ---- kill -9 under load ---------------------------------------------------- */


struct load {
	pthread_t th;
	int port;
	char (*acked)[16]; /* codes acknowledged as issued (waiting) */
	volatile int n;    /* written by the thread only */
	char error[256];
};

static void *load_run(void *arg)
{
	struct load *l = arg;
	struct oc *c = oc_login(l->port, g_o.kiosk);
	int i;

	if (!c) {
		snprintf(l->error, sizeof l->error, "hello failed");
		return NULL;
	}
	/* Until the daemon dies under us: a lost reply just ends the run. */
	for (i = 0; i < MAX_ACKS; i++) {
		json_t *r = oc_req(c, "{\"op\":\"issue\",\"queue\":\"%s\",\"key\":\"load-%d\"}",
				   i % 3 ? "S" : "F", i);
		const char *code = o_tstr(r, "code");

		if (!o_ok(r) || !code) {
			json_decref(r);
			break;
		}
		snprintf(l->acked[l->n], sizeof l->acked[0], "%s", code);
		__atomic_store_n(&l->n, l->n + 1, __ATOMIC_RELEASE);
		json_decref(r);
	}
	oc_close(c);
	return NULL;
}

static const json_t *counter_in(const json_t *status, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(status, "counters"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return e;
	return NULL;
}

START_TEST(kill9_mid_load)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *c[O_NCOUNTERS];
	static struct load l;
	static char acked[MAX_ACKS][16];
	char held[O_NCOUNTERS][16];
	long long deadline;
	json_t *r;
	int i, n;
	long max_s, max_f;

	/* Counters 1 and 2 hold called tickets, counter 3 serves one. */
	for (i = 0; i < 3; i++)
		json_decref(ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}")));
	for (i = 0; i < O_NCOUNTERS; i++) {
		c[i] = o_login(g_d.port, g_o.counter[i]);
		json_decref(ok(oc_req(c[i], "{\"op\":\"counter_open\"}")));
		r = ok(oc_req(c[i], "{\"op\":\"call_next\"}"));
		ck_assert_ptr_nonnull(o_tstr(r, "code"));
		snprintf(held[i], sizeof held[i], "%s", o_tstr(r, "code"));
		json_decref(r);
	}
	json_decref(ok(oc_req(c[2], "{\"op\":\"start\"}")));
	oc_close(k);

	memset(&l, 0, sizeof l);
	l.port = g_d.port;
	l.acked = acked;
	ck_assert_int_eq(pthread_create(&l.th, NULL, load_run, &l), 0);
	/* Kill once the load is well under way. */
	deadline = h_now_ms() + 20000;
	while (__atomic_load_n(&l.n, __ATOMIC_ACQUIRE) < 150 && h_now_ms() < deadline) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	h_daemon_kill9(&g_d);
	pthread_join(l.th, NULL);
	ck_assert_msg(!l.error[0], "load: %s", l.error);
	n = l.n;
	ck_assert_msg(n >= 150, "only %d tickets acknowledged before the deadline", n);
	for (i = 0; i < O_NCOUNTERS; i++)
		oc_close(c[i]);

	/* Every acknowledged ticket is committed, still waiting: one query
	 * with all their codes. */
	{
		size_t cap = (size_t)n * 16 + 64, len = 0;
		char *where = malloc(cap);

		ck_assert_ptr_nonnull(where);
		len += (size_t)snprintf(where, cap, "t.state = 'waiting' AND t.code IN (");
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(where + len, cap - len, "%s'%s'", i ? "," : "",
						acked[i]);
		snprintf(where + len, cap - len, ")");
		ck_assert_int_eq(office_count_on(g_db, where), n);
		free(where);
	}
	ck_assert_int_ge(office_count_on(g_db, "t.idem_key LIKE 'load-%'"), n);
	{
		char sql[512];

		snprintf(sql, sizeof sql,
			 "SELECT coalesce(max(t.number), 0) FROM kolapp.tickets t JOIN "
			 "kolapp.offices o"
			 " ON o.id = t.office_id WHERE o.code = '%s' AND t.code LIKE 'S-%%'",
			 g_o.code);
		max_s = o_count(g_db, sql);
		snprintf(sql, sizeof sql,
			 "SELECT coalesce(max(t.number), 0) FROM kolapp.tickets t JOIN "
			 "kolapp.offices o"
			 " ON o.id = t.office_id WHERE o.code = '%s' AND t.code LIKE 'F-%%'",
			 g_o.code);
		max_f = o_count(g_db, sql);
	}

	ck_assert_int_eq(h_daemon_start(&g_d, g_d.conninfo, NULL), 0);
	k = o_login(g_d.port, g_o.display);
	r = ok(oc_req(k, "{\"op\":\"status\"}"));
	for (i = 0; i < O_NCOUNTERS; i++) {
		char name[4];
		const json_t *ctr;

		snprintf(name, sizeof name, "%d", i + 1);
		ctr = counter_in(r, name);
		ck_assert_msg(ctr != NULL, "no counter %s: %s", name, o_js(r));
		ck_assert_msg(json_string_value(json_object_get(ctr, "ticket")) &&
				      strcmp(json_string_value(json_object_get(ctr, "ticket")),
					     held[i]) == 0,
			      "counter %s should hold %s: %s", name, held[i], o_js(r));
		ck_assert_str_eq(json_string_value(json_object_get(ctr, "state")),
				 i == 2 ? "serving" : "called");
	}
	json_decref(r);
	oc_close(k);

	/* Numbering continues after the highest committed number. */
	k = o_login(g_d.port, g_o.kiosk);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_int_eq(o_tint(r, "number"), max_s + 1);
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	ck_assert_int_eq(o_tint(r, "number"), max_f + 1);
	json_decref(r);
	/* A retried key of the load answers with its committed ticket. */
	r = ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"load-1\"}"));
	ck_assert_str_eq(o_tstr(r, "code"), acked[1]);
	json_decref(r);
	oc_close(k);
}
END_TEST

/* ---- PostgreSQL outage, on a private cluster ------------------------------ */

static char pg_dir[256];

static const char *srcdir(void)
{
	const char *s = getenv("KOLAPP_SRCDIR");

	return s && *s ? s : KOLAPP_SRCDIR;
}

static int tools_pg(const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof line, "bash '%s/tools/pg' %s '%s' >/dev/null 2>&1", srcdir(), cmd,
		 pg_dir);
	return system(line);
}

/* Unchecked fixtures run in the parent: the cluster is stopped and
 * removed even when the test's process died on a failed assertion. */
static void outage_cluster_up(void)
{
	snprintf(pg_dir, sizeof pg_dir, "/tmp/kolapp-outage.XXXXXX");
	if (!mkdtemp(pg_dir) || tools_pg("start") != 0) {
		fprintf(stderr, "test_recovery: cannot start a private cluster in %s\n", pg_dir);
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
		fprintf(stderr, "test_recovery: could not remove %s\n", pg_dir);
}

START_TEST(database_outage)
{
	char path[300], conninfo[256];
	struct oc *k, *c;
	json_t *r;
	FILE *f;
	long long deadline;
	int i;
	bool stale = false, back = false;

	ck_assert_msg(pg_dir[0], "no private cluster");
	snprintf(path, sizeof path, "%s/conninfo", pg_dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(conninfo, sizeof conninfo, f));
	fclose(f);
	conninfo[strcspn(conninfo, "\r\n")] = '\0';
	ck_assert_int_eq(h_migrate(conninfo), 0);
	ck_assert_int_eq(o_seed(conninfo, "outage", &g_o), 0);
	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, conninfo, NULL), 0);

	k = o_login(g_d.port, g_o.kiosk);
	c = o_login(g_d.port, g_o.counter[0]);
	for (i = 0; i < 5; i++)
		json_decref(
			ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"pre-%d\"}", i)));
	json_decref(ok(oc_req(c, "{\"op\":\"counter_open\"}")));
	json_decref(ok(oc_req(c, "{\"op\":\"call_next\"}")));

	ck_assert_int_eq(tools_pg("stop"), 0);
	r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}");
	ck_assert_msg(r && o_err(r) && strcmp(o_err(r), "unavailable") == 0,
		      "issue during the outage: %s", o_js(r));
	json_decref(r);
	r = oc_req(c, "{\"op\":\"start\"}");
	ck_assert_msg(r && o_err(r) && strcmp(o_err(r), "unavailable") == 0,
		      "start during the outage: %s", o_js(r));
	json_decref(r);
	deadline = h_now_ms() + 5000;
	while (!stale && h_now_ms() < deadline) {
		r = ok(oc_req(k, "{\"op\":\"status\"}"));
		stale = json_is_true(json_object_get(r, "stale"));
		json_decref(r);
	}
	ck_assert_msg(stale, "status not stale during the outage");
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-002\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "waiting");
	json_decref(r);
	r = ok(oc_req(k, "{\"op\":\"ticket\",\"ticket\":\"S-001\"}"));
	ck_assert_str_eq(o_tstr(r, "state"), "called");
	json_decref(r);

	ck_assert_int_eq(tools_pg("start"), 0);
	deadline = h_now_ms() + 5000;
	while (!back && h_now_ms() < deadline) {
		r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"after\"}");
		ck_assert_msg(r != NULL, "no reply while the database comes back");
		back = o_ok(r);
		if (back)
			ck_assert_int_eq(o_tint(r, "number"), 6);
		json_decref(r);
		if (!back) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL); /* pacing the retries, not synchronising */
		}
	}
	ck_assert_msg(back, "writes not back within 5 s of the database");
	r = ok(oc_req(k, "{\"op\":\"status\"}"));
	ck_assert(json_is_false(json_object_get(r, "stale")));
	json_decref(r);
	json_decref(ok(oc_req(c, "{\"op\":\"start\"}")));

	ck_assert_int_eq(office_count_on(conninfo, "t.idem_key LIKE 'pre-%'"), 5);
	ck_assert_int_eq(office_count_on(conninfo, "t.code = 'S-001' AND t.state = 'serving'"), 1);
	ck_assert_int_eq(office_count_on(conninfo, "true"), 6);
	oc_close(k);
	oc_close(c);
	h_daemon_stop(&g_d);
	h_daemon_free(&g_d);
}
END_TEST

static Suite *recovery_suite(void)
{
	Suite *s = suite_create("recovery");
	TCase *tc = tcase_create("kill9");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, idempotent_key_survives_kill9);
	tcase_add_test(tc, queue_order_survives_moved_rows);
	tcase_add_test(tc, ticket_fields_survive_kill9);
	tcase_add_test(tc, infinite_time_row_is_skipped);
	tcase_add_test(tc, kill9_mid_load);
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
	return h_suite_main("test_recovery", recovery_suite(), &g_db, NULL);
}
