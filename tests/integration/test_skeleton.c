/* Integration test of the skeleton: migrations, start-up, framing, ping,
 * errors before hello, bye and SIGTERM, against a real PostgreSQL and a
 * real kolappd. One database for the file (plus a throw-away unmigrated
 * one); every protocol test starts its own kolappd. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

static char *g_db; /* migrated in main() */
static struct h_daemon g_d;
static int g_fd = -1;

/* The number of rows of the migrations' bookkeeping table, wherever the
 * schema keeps it: -1 when there is none. */
static long schema_version_rows(const char *conninfo)
{
	char schema[256], sql[512], out[64];

	if (h_psql(conninfo,
		   "SELECT table_schema FROM information_schema.tables "
		   "WHERE table_name = 'schema_version' ORDER BY 1 LIMIT 1",
		   schema, sizeof schema) != 0 ||
	    !schema[0])
		return -1;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\".schema_version", schema);
	if (h_psql(conninfo, sql, out, sizeof out) != 0)
		return -1;
	return strtol(out, NULL, 10);
}

static const char *err_code(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* ---- migrations and start-up -------------------------------------------- */

START_TEST(migrate_twice)
{
	long before, after;

	ck_assert_int_eq(h_migrate(g_db), 0);
	before = schema_version_rows(g_db);
	ck_assert_msg(before > 0, "no schema_version rows after --migrate");
	ck_assert_int_eq(h_migrate(g_db), 0);
	after = schema_version_rows(g_db);
	ck_assert_int_eq(after, before);
}
END_TEST

/* Starts kolappd on db, which must refuse to start: exits non-zero with
 * want in its log, within 10 s. */
static void assert_refuses_to_start(const char *db, const char *want)
{
	struct h_daemon d = { 0 };
	char *log;
	int rc;

	ck_assert_int_eq(h_daemon_spawn(&d, db, NULL), 0);
	rc = h_daemon_wait(&d, 10000);
	if (d.pid > 0)
		h_daemon_kill9(&d);
	log = h_daemon_log(&d);
	ck_assert_msg(rc > 0, "kolappd: status %d (want non-zero exit)", rc);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, want) != NULL, "log does not say \"%s\": %s", want, log);
	ck_assert_msg(strstr(log, "ready") == NULL, "kolappd said ready: %s", log);
	free(log);
	h_daemon_free(&d);
}

START_TEST(unmigrated_refuses_to_start)
{
	char *db = h_create_db();

	ck_assert_ptr_nonnull(db);
	assert_refuses_to_start(db, "no kolapp schema: run kolappd --migrate");
	h_drop_db(db);
	free(db);
}
END_TEST

/* A migrated database changed by sql (which returns a row), on which
 * kolappd must refuse to start saying want. The check runs on the
 * daemon's own connection, before it prepares its statements (which a
 * schema one version behind may well accept). */
static void assert_changed_schema_refused(const char *sql, const char *want)
{
	char *db = h_create_db(), out[64];

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(h_migrate(db), 0);
	ck_assert_int_eq(h_psql(db, sql, out, sizeof out), 0);
	assert_refuses_to_start(db, want);
	h_drop_db(db);
	free(db);
}

START_TEST(schema_behind_refuses_to_start)
{
	assert_changed_schema_refused("DELETE FROM kolapp.schema_version WHERE version = "
				      "(SELECT max(version) FROM kolapp.schema_version) "
				      "RETURNING version",
				      "is behind this kolappd");
}
END_TEST

START_TEST(schema_newer_refuses_to_start)
{
	assert_changed_schema_refused("INSERT INTO kolapp.schema_version (version, name) "
				      "SELECT max(version) + 1, 'from the future' "
				      "FROM kolapp.schema_version RETURNING version",
				      "is newer than this kolappd");
}
END_TEST

/* ---- protocol: each test has its own kolappd and connection ------------- */

static void daemon_setup(void)
{
	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_db, NULL), 0);
	g_fd = h_connect(g_d.port);
	ck_assert_int_ge(g_fd, 0);
}

static void daemon_teardown(void)
{
	h_close(g_fd);
	g_fd = -1;
	if (g_d.pid > 0)
		h_daemon_stop(&g_d);
	h_daemon_free(&g_d);
}

START_TEST(ping_round_trip)
{
	char *line;

	ck_assert_int_eq(h_send(g_fd, "{\"id\":1,\"op\":\"ping\"}\n"), 0);
	line = h_recv_line(g_fd, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":1,\"ok\":true}");
	free(line);
}
END_TEST

static void assert_ping_works(int fd, int id)
{
	char req[64];
	json_t *r;

	snprintf(req, sizeof req, "{\"id\":%d,\"op\":\"ping\"}", id);
	r = h_request(fd, req);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), id);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

START_TEST(malformed_json)
{
	json_t *r = h_request(g_fd, "{\"id\":1,\"op\":");

	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_ptr_nonnull(err_code(r));
	ck_assert_str_eq(err_code(r), "bad_request");
	json_decref(r);
	assert_ping_works(g_fd, 2);
}
END_TEST

START_TEST(oversized_line)
{
	size_t n = 70000;
	char *big = malloc(n + 1);
	json_t *r;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n - 1);
	big[n - 1] = '\n';
	big[n] = '\0';
	/* The server may close before it has read everything: a failed send
	 * is fine, the reply must still arrive. */
	(void)h_send_n(g_fd, big, n);
	free(big);
	{
		char *line = h_recv_line(g_fd, 5000);

		ck_assert_msg(line != NULL, "no reply to an oversized line");
		r = json_loads(line, 0, NULL);
		free(line);
	}
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_ptr_nonnull(err_code(r));
	ck_assert_str_eq(err_code(r), "too_large");
	json_decref(r);
	ck_assert_msg(h_wait_closed(g_fd, 5000), "connection not closed after too_large");
}
END_TEST

START_TEST(pipelined_pings_in_order)
{
	char *all = malloc(100 * 40);
	size_t len = 0;
	int i;

	ck_assert_ptr_nonnull(all);
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(all + len, "{\"id\":%d,\"op\":\"ping\"}\n", i);
	ck_assert_int_eq(h_send_n(g_fd, all, len), 0);
	free(all);
	for (i = 0; i < 100; i++) {
		char *line = h_recv_line(g_fd, 5000);
		json_t *r;

		ck_assert_msg(line != NULL, "reply %d missing", i);
		r = json_loads(line, 0, NULL);
		ck_assert_msg(r != NULL, "reply %d is not JSON: %s", i, line);
		free(line);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		ck_assert(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
}
END_TEST

START_TEST(unauthorized_before_hello)
{
	json_t *r = h_request(g_fd, "{\"id\":7,\"op\":\"status\"}");

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 7);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_ptr_nonnull(err_code(r));
	ck_assert_str_eq(err_code(r), "unauthorized");
	json_decref(r);
	assert_ping_works(g_fd, 8);
}
END_TEST

START_TEST(bye_closes)
{
	json_t *r = h_request(g_fd, "{\"id\":\"b\",\"op\":\"bye\"}");

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "b");
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	ck_assert_msg(h_wait_closed(g_fd, 5000), "connection not closed after bye");
}
END_TEST

START_TEST(sigterm_exits_zero)
{
	assert_ping_works(g_fd, 1);
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
}
END_TEST

static Suite *skeleton_suite(void)
{
	Suite *s = suite_create("skeleton");
	TCase *tc = tcase_create("migrate");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, migrate_twice);
	tcase_add_test(tc, unmigrated_refuses_to_start);
	tcase_add_test(tc, schema_behind_refuses_to_start);
	tcase_add_test(tc, schema_newer_refuses_to_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_add_test(tc, ping_round_trip);
	tcase_add_test(tc, malformed_json);
	tcase_add_test(tc, oversized_line);
	tcase_add_test(tc, pipelined_pings_in_order);
	tcase_add_test(tc, unauthorized_before_hello);
	tcase_add_test(tc, bye_closes);
	tcase_add_test(tc, sigterm_exits_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed, rc;

	h_pg_base_conninfo();
	g_db = h_create_db();
	if (!g_db) {
		fprintf(stderr, "test_skeleton: cannot create a test database\n");
		return 99; /* a hard error for automake's harness */
	}
	rc = h_migrate(g_db);
	if (rc != 0)
		fprintf(stderr, "test_skeleton: kolappd --migrate exited with %d\n", rc);
	sr = srunner_create(skeleton_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_drop_db(g_db);
	free(g_db);
	return failed == 0 ? 0 : 1;
}
