/* Integration test of concurrent clients: many kiosks issuing into one
 * queue get gap-free unique numbers, and counters calling from shared
 * queues never get the same ticket. Real PostgreSQL, real kolappd. Each
 * client is a thread with its own connection (struct oc owns its buffer);
 * threads only record, the main thread asserts. */
#include <check.h>
#include <pthread.h>
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

static void setup(void)
{
	o_seed_named(g_db, "c", &g_o);
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

/* ---- 8 kiosks, 400 tickets, one queue ------------------------------------- */

#define KIOSKS 8
#define PER_KIOSK 50

struct kiosk {
	pthread_t th;
	int numbers[PER_KIOSK];
	int n;
	char error[256];
};

static void *kiosk_run(void *arg)
{
	struct kiosk *k = arg;
	struct oc *c = oc_login(g_d.port, g_o.kiosk);
	int i;

	if (!c) {
		snprintf(k->error, sizeof k->error, "hello failed");
		return NULL;
	}
	for (i = 0; i < PER_KIOSK; i++) {
		json_t *r = oc_req(c, "{\"id\":%d,\"op\":\"issue\",\"queue\":\"S\"}", i);

		if (!o_ok(r)) {
			char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

			snprintf(k->error, sizeof k->error, "issue %d: %s", i,
				 s ? s : "(no reply)");
			free(s);
			json_decref(r);
			break;
		}
		k->numbers[k->n++] = (int)o_tint(r, "number");
		json_decref(r);
	}
	oc_close(c);
	return NULL;
}

START_TEST(eight_kiosks_gap_free)
{
	static struct kiosk ks[KIOSKS];
	static bool seen[KIOSKS * PER_KIOSK + 1];
	int i, j;

	memset(ks, 0, sizeof ks);
	memset(seen, 0, sizeof seen);
	for (i = 0; i < KIOSKS; i++)
		ck_assert_int_eq(pthread_create(&ks[i].th, NULL, kiosk_run, &ks[i]), 0);
	for (i = 0; i < KIOSKS; i++)
		pthread_join(ks[i].th, NULL);
	for (i = 0; i < KIOSKS; i++) {
		ck_assert_msg(!ks[i].error[0], "kiosk %d: %s", i, ks[i].error);
		ck_assert_int_eq(ks[i].n, PER_KIOSK);
		for (j = 0; j < ks[i].n; j++) {
			int n = ks[i].numbers[j];

			ck_assert_msg(n >= 1 && n <= KIOSKS * PER_KIOSK, "number %d out of range",
				      n);
			ck_assert_msg(!seen[n], "number %d issued twice", n);
			seen[n] = true;
			/* One kiosk's own tickets come back in increasing order. */
			if (j > 0)
				ck_assert_int_gt(n, ks[i].numbers[j - 1]);
		}
	}
	ck_assert_int_eq(office_count("true"), KIOSKS * PER_KIOSK);
	ck_assert_int_eq(office_count("t.number BETWEEN 1 AND 400"), KIOSKS * PER_KIOSK);
	{
		char sql[512];

		snprintf(sql, sizeof sql,
			 "SELECT count(DISTINCT t.number) FROM kolapp.tickets t JOIN "
			 "kolapp.offices o"
			 " ON o.id = t.office_id WHERE o.code = '%s' AND t.code = 'S-' ||"
			 " lpad(t.number::text, 3, '0')",
			 g_o.code);
		ck_assert_int_eq(o_count(g_db, sql), KIOSKS * PER_KIOSK);
	}
}
END_TEST

/* ---- 3 counters draining shared queues --------------------------------------- */

#define TICKETS 240
#define COUNTERS 3

struct desk {
	pthread_t th;
	const char *token;
	char codes[TICKETS][16];
	int n;
	char error[256];
};

static void *desk_run(void *arg)
{
	struct desk *d = arg;
	struct oc *c = oc_login(g_d.port, d->token);
	json_t *r;

	if (!c) {
		snprintf(d->error, sizeof d->error, "hello failed");
		return NULL;
	}
	for (;;) {
		const char *code;

		r = oc_req(c, "{\"op\":\"call_next\"}");
		if (!o_ok(r)) {
			char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

			snprintf(d->error, sizeof d->error, "call_next: %s", s ? s : "(no reply)");
			free(s);
			json_decref(r);
			break;
		}
		code = o_tstr(r, "code");
		if (!code) {
			json_decref(r);
			break;
		}
		if (d->n == TICKETS) {
			snprintf(d->error, sizeof d->error, "more calls than tickets");
			json_decref(r);
			break;
		}
		snprintf(d->codes[d->n++], sizeof d->codes[0], "%s", code);
		json_decref(r);
	}
	oc_close(c);
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(three_counters_never_share)
{
	static struct desk desks[COUNTERS];
	static char all[TICKETS][16];
	struct oc *k = oc_login(g_d.port, g_o.kiosk);
	int i, j, n = 0;
	char sql[512];

	ck_assert_ptr_nonnull(k);
	for (i = 0; i < TICKETS; i++) {
		json_t *r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"%s\"}", i % 2 ? "F" : "S");

		ck_assert_msg(o_ok(r), "issue %d failed", i);
		json_decref(r);
	}
	oc_close(k);
	memset(desks, 0, sizeof desks);
	for (i = 0; i < COUNTERS; i++) {
		struct oc *c = oc_login(g_d.port, g_o.counter[i]);
		json_t *r;

		ck_assert_ptr_nonnull(c);
		r = oc_req(c, "{\"op\":\"counter_open\"}");
		ck_assert(o_ok(r));
		json_decref(r);
		oc_close(c);
		desks[i].token = g_o.counter[i];
	}
	for (i = 0; i < COUNTERS; i++)
		ck_assert_int_eq(pthread_create(&desks[i].th, NULL, desk_run, &desks[i]), 0);
	for (i = 0; i < COUNTERS; i++)
		pthread_join(desks[i].th, NULL);
	for (i = 0; i < COUNTERS; i++) {
		ck_assert_msg(!desks[i].error[0], "counter %d: %s", i + 1, desks[i].error);
		for (j = 0; j < desks[i].n; j++) {
			ck_assert_int_lt(n, TICKETS);
			memcpy(all[n++], desks[i].codes[j], sizeof all[0]);
		}
	}
	ck_assert_int_eq(n, TICKETS);
	qsort(all, (size_t)n, sizeof all[0], cmp_str);
	for (i = 1; i < n; i++)
		ck_assert_msg(strcmp(all[i - 1], all[i]) != 0, "%s called twice", all[i]);
	/* Every counter got work: the calls really overlapped. */
	for (i = 0; i < COUNTERS; i++)
		ck_assert_msg(desks[i].n > 0, "counter %d called nothing", i + 1);

	/* The database agrees: one call per ticket, all ended by the next call. */
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM (SELECT e.ticket_id FROM kolapp.ticket_events e"
		 " JOIN kolapp.offices o ON o.id = e.office_id WHERE o.code = '%s'"
		 " AND e.kind = 'called' GROUP BY e.ticket_id HAVING count(*) > 1) x",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(DISTINCT e.ticket_id) FROM kolapp.ticket_events e"
		 " JOIN kolapp.offices o ON o.id = e.office_id WHERE o.code = '%s'"
		 " AND e.kind = 'called'",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, sql), TICKETS);
	ck_assert_int_eq(office_count("t.state = 'done'"), TICKETS);
}
END_TEST

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("concurrency");
	TCase *tc = tcase_create("concurrency");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, eight_kiosks_gap_free);
	tcase_add_test(tc, three_counters_never_share);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_concurrency", concurrency_suite(), &g_db, NULL);
}
