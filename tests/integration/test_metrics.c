/* GET /metrics, parsed: every line is a comment (# HELP / # TYPE) or a
 * sample "name{labels} value", and the samples say what was done:
 * requests by op and outcome, connections by role, commits, and the
 * tickets waiting per queue. Real kolappd, real PostgreSQL. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/office.h"

static char *g_db;
static struct o_office g_o;

/* A plain HTTP/1.0 GET: the whole response, malloc'd. */
static char *http_get(int port, const char *path)
{
	char req[256], buf[4096];
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	int fd = h_connect(port);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	ck_assert_int_eq(h_send(fd, req), 0);
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		if (len + (size_t)n + 1 > cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	out[len] = '\0';
	h_close(fd);
	return out;
}

/* Checks one exposition line's syntax; fills name (with labels) and value. */
static bool parse_sample(const char *line, char *key, size_t keysz, double *value)
{
	const char *p = line, *sp;
	char *end;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return false;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		/* label="value" pairs; values here never contain '}' or '"'. */
		p = strchr(p, '}');
		if (!p)
			return false;
		p++;
	}
	if (*p != ' ')
		return false;
	sp = p;
	*value = strtod(sp + 1, &end);
	if (end == sp + 1 || *end)
		return false;
	if ((size_t)(sp - line) >= keysz)
		return false;
	memcpy(key, line, (size_t)(sp - line));
	key[sp - line] = '\0';
	return true;
}

struct sample {
	char key[256];
	double value;
};

/* Parses the body; asserts every line is well formed; returns the samples. */
static int parse_metrics(const char *resp, struct sample *out, int max)
{
	const char *body = strstr(resp, "\r\n\r\n");
	char *copy, *line, *save;
	int n = 0;

	ck_assert_ptr_nonnull(body);
	ck_assert_msg(strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 200 "), "%.80s", resp);
	ck_assert_msg(strstr(resp, "text/plain; version=0.0.4"), "content type missing");
	copy = strdup(body + 4);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))
			continue;
		ck_assert_int_lt(n, max);
		ck_assert_msg(parse_sample(line, out[n].key, sizeof out[n].key, &out[n].value),
			      "not an exposition line: '%s'", line);
		n++;
	}
	free(copy);
	return n;
}

static double value_of(const struct sample *s, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].key, key))
			return s[i].value;
	ck_abort_msg("no sample %s", key);
	return -1;
}

START_TEST(metrics_parsed)
{
	enum { MAX = 512 };
	static struct sample s[MAX];
	struct h_daemon d = { 0 };
	char args[64], key[256], *resp;
	struct oc *kiosk, *display;
	int http_port = h_free_port(), n;

	snprintf(args, sizeof args, "--http 127.0.0.1:%d", http_port);
	ck_assert_int_eq(h_daemon_start(&d, g_db, args), 0);
	kiosk = oc_login(d.port, g_o.kiosk);
	display = oc_login(d.port, g_o.display);
	ck_assert_ptr_nonnull(kiosk);
	ck_assert_ptr_nonnull(display);
	for (int i = 0; i < 3; i++) {
		json_t *r = oc_req(kiosk, "{\"id\":%d,\"op\":\"issue\",\"queue\":\"S\"}", i);
		ck_assert(o_ok(r));
		json_decref(r);
	}
	json_t *r = oc_req(kiosk, "{\"id\":9,\"op\":\"issue\",\"queue\":\"NOPE\"}");
	ck_assert_str_eq(o_err(r), "not_found");
	json_decref(r);

	resp = http_get(http_port, "/metrics");
	n = parse_metrics(resp, s, MAX);
	free(resp);
	ck_assert_int_gt(n, 10);
	ck_assert(value_of(s, n, "kolapp_requests_total{op=\"issue\",outcome=\"ok\"}") == 3);
	ck_assert(value_of(s, n, "kolapp_requests_total{op=\"issue\",outcome=\"not_found\"}") == 1);
	ck_assert(value_of(s, n, "kolapp_requests_total{op=\"hello\",outcome=\"ok\"}") == 2);
	ck_assert(value_of(s, n, "kolapp_connections{role=\"kiosk\"}") == 1);
	ck_assert(value_of(s, n, "kolapp_connections{role=\"display\"}") == 1);
	snprintf(key, sizeof key, "kolapp_tickets_waiting{office=\"%s\",queue=\"S\"}", g_o.code);
	ck_assert(value_of(s, n, key) == 3);
	snprintf(key, sizeof key, "kolapp_longest_wait_seconds{office=\"%s\",queue=\"S\"}",
		 g_o.code);
	ck_assert(value_of(s, n, key) >= 0);
	/* Three issues committed in one to three batches. */
	double commits = value_of(s, n, "kolapp_commit_seconds_count");
	ck_assert(commits >= 1 && commits <= 3);
	ck_assert(value_of(s, n, "kolapp_commit_batch_statements_sum") == 3);
	ck_assert(value_of(s, n, "kolapp_commit_seconds_bucket{le=\"+Inf\"}") == commits);
	/* Every batch sent had waited a measured while; every request
	 * answered over TCP (the harness's ping, two hellos, four issues) was
	 * timed, and the issues each took at least as long as the batch that
	 * committed them. */
	ck_assert(value_of(s, n, "kolapp_write_queued_seconds_count") == commits);
	double answered = 0;
	for (int i = 0; i < n; i++)
		if (!strncmp(s[i].key, "kolapp_requests_total{", 22))
			answered += s[i].value;
	ck_assert(answered == 7);
	ck_assert(value_of(s, n, "kolapp_request_seconds_count") == answered);
	ck_assert(value_of(s, n, "kolapp_request_seconds_bucket{le=\"+Inf\"}") == answered);
	ck_assert(value_of(s, n, "kolapp_request_seconds_sum") >=
		  value_of(s, n, "kolapp_commit_seconds_sum"));
	ck_assert(value_of(s, n, "kolapp_request_seconds_bucket{le=\"0.0005\"}") <=
		  value_of(s, n, "kolapp_request_seconds_bucket{le=\"0.02\"}"));
	/* Each issue asked the estimator; three changes a second are well
	 * within its share, so none was left to an earlier run. */
	ck_assert(value_of(s, n, "kolapp_estimate_runs_total") >= 3);
	ck_assert(value_of(s, n, "kolapp_estimate_seconds_total") >= 0);
	ck_assert(value_of(s, n, "kolapp_estimate_throttled_total") == 0);
	ck_assert(value_of(s, n, "kolapp_stale") == 0);
	ck_assert(value_of(s, n, "kolapp_db_connects_total") >= 1);

	oc_close(kiosk);
	oc_close(display);
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	SRunner *sr;
	int failed;

	h_pg_base_conninfo();
	g_db = h_create_db();
	if (!g_db || h_migrate(g_db) != 0 || o_seed(g_db, "met", &g_o) != 0) {
		fprintf(stderr, "test_metrics: cannot prepare a test database\n");
		return 99;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metrics_parsed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_drop_db(g_db);
	free(g_db);
	return failed == 0 ? 0 : 1;
}
