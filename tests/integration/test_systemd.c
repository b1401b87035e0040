/* Integration test of operations: the systemd notify protocol (readiness,
 * watchdog, reloading, stopping), socket activation, SIGHUP reloads of the
 * config file (bad files keep the old settings; good ones apply without
 * dropping clients) and --check-config. A real kolappd and a real
 * PostgreSQL; systemd is played by the test: a datagram socket for
 * NOTIFY_SOCKET, and LISTEN_FDS/LISTEN_PID for activation. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "daemon/config.h"
#include "tests/integration/harness.h"

#ifndef KOLAPP_BUILDDIR
#define KOLAPP_BUILDDIR "."
#endif

static char *g_db;      /* migrated in main() */
static char g_tmp[256]; /* notify sockets and config files */
static bool g_systemd;  /* kolappd --version says +systemd */

static const char *builddir(void)
{
	const char *s = getenv("KOLAPP_BUILDDIR");

	return s && *s ? s : KOLAPP_BUILDDIR;
}

/* Runs CMD through the shell; its output (stdout and stderr) into out. */
static int run_capture(const char *cmd, char *out, size_t outsz)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	out[0] = '\0';
	if (!p)
		return -1;
	while (n + 1 < outsz && fgets(out + n, (int)(outsz - n), p))
		n += strlen(out + n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool built_with_systemd(void)
{
	char cmd[1200], out[512];

	snprintf(cmd, sizeof cmd, "'%s/kolappd' --version 2>&1", builddir());
	if (run_capture(cmd, out, sizeof out) != 0)
		return false;
	return strstr(out, "+systemd") != NULL;
}

#define SKIP_WITHOUT_SYSTEMD() \
	do { \
		if (!g_systemd) { \
			fprintf(stderr, \
				"%s: skipped: kolappd was built without " \
				"systemd (no +systemd in --version)\n", \
				__func__); \
			return; \
		} \
	} while (0)

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Polls the daemon's log until it contains needle. */
static bool log_has(const struct h_daemon *d, const char *needle, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *log = h_daemon_log(d);
		bool found = log && strstr(log, needle);
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		free(log);
		if (found)
			return true;
		if (h_now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

/* How many times the daemon's log holds needle. */
static int log_count(const struct h_daemon *d, const char *needle)
{
	char *log = h_daemon_log(d);
	int n = 0;

	for (const char *p = log; p && (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

/* Polls the daemon's log until it holds needle n times. */
static bool log_has_n(const struct h_daemon *d, const char *needle, int n, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (log_count(d, needle) < n) {
		if (h_now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

static bool still_running(struct h_daemon *d)
{
	return d->pid > 0 && h_daemon_wait(d, 100) == -1 && kill(d->pid, 0) == 0;
}

static void assert_ping(int fd, int id)
{
	char req[64];
	json_t *r;

	snprintf(req, sizeof req, "{\"id\":%d,\"op\":\"ping\"}", id);
	r = h_request(fd, req);
	ck_assert_msg(r != NULL, "no reply to ping %d", id);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), id);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

/* A ping padded to exactly len bytes (without the newline): unknown
 * fields are ignored, so only its length matters. */
static char *long_ping(int id, size_t len)
{
	char *s = malloc(len + 2);
	int head;

	ck_assert_ptr_nonnull(s);
	head = snprintf(s, len + 1, "{\"id\":%d,\"op\":\"ping\",\"pad\":\"", id);
	ck_assert((size_t)head + 2 < len);
	memset(s + head, 'x', len - (size_t)head - 2);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

/* Sends a line of len bytes; the reply's error code, "" for ok, or NULL
 * when no reply came. */
static const char *send_long(int fd, int id, size_t len, char *code, size_t codesz)
{
	char *line = long_ping(id, len);
	const char *err;
	char *reply;
	json_t *r;

	/* The server may close before reading it all: the reply still counts. */
	(void)h_send_n(fd, line, len + 1);
	free(line);
	reply = h_recv_line(fd, 5000);
	if (!reply)
		return NULL;
	r = json_loads(reply, 0, NULL);
	free(reply);
	if (!r)
		return NULL;
	err = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
	snprintf(code, codesz, "%s", json_is_true(json_object_get(r, "ok")) ? "" : err ? err : "?");
	json_decref(r);
	return code;
}

/* ---- a fake systemd: NOTIFY_SOCKET ---------------------------------------- */

static int notify_open(char *path, size_t pathsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(path, pathsz, "%s/notify-%ld", g_tmp, (long)getpid());
	ck_assert(strlen(path) < sizeof sa.sun_path);
	unlink(path);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* The next datagram within timeout_ms, NUL-terminated in buf; false on
 * timeout. */
static bool notify_next(int fd, char *buf, size_t bufsz, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - h_now_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, bufsz - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		return true;
	}
}

/* True when the datagram has the line "key" (such as READY=1). */
static bool has_line(const char *msg, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = msg; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Waits for a datagram with the line want; the datagram goes in buf.
 * WATCHDOG=1 in between is counted in *watchdogs (may be NULL). */
static bool notify_wait(int fd, const char *want, char *buf, size_t bufsz, int timeout_ms,
			int *watchdogs)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		if (!notify_next(fd, buf, bufsz, (int)(deadline - h_now_ms())))
			return false;
		if (has_line(buf, want))
			return true;
		if (watchdogs && has_line(buf, "WATCHDOG=1"))
			(*watchdogs)++;
	}
	return false;
}

static unsigned long long monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

START_TEST(notify_ready_watchdog_reload_stop)
{
	struct h_daemon d = { 0 };
	char path[300], msg[1024];
	unsigned long long before, after, stamp;
	const char *m;
	int nfd, fd, watchdogs = 0;
	long long until;

	SKIP_WITHOUT_SYSTEMD();
	nfd = notify_open(path, sizeof path);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "500000", 1);
	/* sd_watchdog_enabled() checks WATCHDOG_PID only when it is set. */
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(h_daemon_spawn(&d, g_db, NULL), 0);

	ck_assert_msg(notify_wait(nfd, "READY=1", msg, sizeof msg, 10000, &watchdogs),
		      "no READY=1 within 10 s (log %s)", d.logpath);
	/* Ready means ready: the first connection is answered, no retrying. */
	fd = h_connect(d.port);
	ck_assert_msg(fd >= 0, "READY=1 sent before the listener accepts");
	assert_ping(fd, 1);

	/* At half of WATCHDOG_USEC, several arrive within 2 s. */
	until = h_now_ms() + 2000;
	while (h_now_ms() < until)
		if (notify_next(nfd, msg, sizeof msg, (int)(until - h_now_ms())) &&
		    has_line(msg, "WATCHDOG=1"))
			watchdogs++;
	ck_assert_msg(watchdogs >= 4, "%d WATCHDOG=1 in ~2 s at WATCHDOG_USEC=500000", watchdogs);

	before = monotonic_usec();
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(notify_wait(nfd, "RELOADING=1", msg, sizeof msg, 5000, NULL),
		      "no RELOADING=1 after SIGHUP");
	after = monotonic_usec();
	m = strstr(msg, "MONOTONIC_USEC=");
	ck_assert_msg(m != NULL, "RELOADING=1 without MONOTONIC_USEC: %s", msg);
	stamp = strtoull(m + strlen("MONOTONIC_USEC="), NULL, 10);
	ck_assert_msg(stamp >= before && stamp <= after,
		      "MONOTONIC_USEC=%llu not within [%llu, %llu]", stamp, before, after);
	ck_assert_msg(notify_wait(nfd, "READY=1", msg, sizeof msg, 5000, NULL),
		      "no READY=1 after the reload");
	assert_ping(fd, 2);

	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	ck_assert_msg(notify_wait(nfd, "STOPPING=1", msg, sizeof msg, 5000, NULL),
		      "no STOPPING=1 after SIGTERM");
	ck_assert_int_eq(h_daemon_wait(&d, 10000), 0);
	h_close(fd);
	close(nfd);
	unlink(path);
	h_daemon_free(&d);
}
END_TEST

/* ---- socket activation ------------------------------------------------- */

START_TEST(socket_activation)
{
	struct h_daemon d = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	char *line;
	int lfd, fd;

	SKIP_WITHOUT_SYSTEMD();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	d.port = ntohs(sa.sin_port);

	ck_assert_int_eq(h_daemon_spawn_activated(&d, g_db, lfd, NULL), 0);
	/* Only kolappd holds it now: whoever answers is kolappd. */
	close(lfd);
	/* The kernel queues the connection until kolappd accepts: the wait
	 * is for the reply. */
	fd = h_connect(d.port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_send(fd, "{\"id\":\"act\",\"op\":\"ping\"}\n"), 0);
	line = h_recv_line(fd, 10000);
	ck_assert_msg(line != NULL, "no reply on the passed socket (log %s)", d.logpath);
	ck_assert_str_eq(line, "{\"id\":\"act\",\"ok\":true}");
	free(line);
	h_close(fd);
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
}
END_TEST

/* ---- SIGHUP reloads ---------------------------------------------------- */

static void start_with_config(struct h_daemon *d, const char *conf, const char *text)
{
	char args[400];

	write_file(conf, text);
	snprintf(args, sizeof args, "--config %s", conf);
	ck_assert_int_eq(h_daemon_start(d, g_db, args), 0);
}

START_TEST(reload_bad_config_keeps_old)
{
	struct h_daemon d = { 0 };
	char conf[300], code[64];
	const char *c;
	int fd;

	snprintf(conf, sizeof conf, "%s/bad-%ld.conf", g_tmp, (long)getpid());
	start_with_config(&d, conf, "log_level = info\nmax_line = 1000\n");
	fd = h_connect(d.port);
	ck_assert_int_ge(fd, 0);
	assert_ping(fd, 1);

	write_file(conf, "log_level = info\n# the next line is wrong\nmax_line = banana\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has(&d, "line 3", 5000),
		      "the log does not name line 3 of the bad file (log %s)", d.logpath);
	ck_assert_msg(still_running(&d), "kolappd exited on a bad config at SIGHUP");
	assert_ping(fd, 2);
	/* Had any of the file been applied, max_line would not be 1000. */
	c = send_long(fd, 3, 1500, code, sizeof code);
	ck_assert_msg(c != NULL, "no reply to a 1500-byte line");
	ck_assert_str_eq(c, "too_large");
	h_close(fd);
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
	unlink(conf);
}
END_TEST

START_TEST(reload_applies_level_and_limit_live)
{
	struct h_daemon d = { 0 };
	char conf[300], code[64];
	const char *c;
	char *log;
	long long deadline;
	int fd, probe;

	snprintf(conf, sizeof conf, "%s/good-%ld.conf", g_tmp, (long)getpid());
	start_with_config(&d, conf, "log_level = info\nmax_line = 1000\n");
	fd = h_connect(d.port);
	ck_assert_int_ge(fd, 0);
	assert_ping(fd, 1);
	/* The old limit holds before the reload (on a throw-away connection). */
	probe = h_connect(d.port);
	ck_assert_int_ge(probe, 0);
	c = send_long(probe, 2, 3000, code, sizeof code);
	ck_assert_msg(c && !strcmp(c, "too_large"), "3000 bytes under max_line = 1000: %s",
		      c ? c : "(no reply)");
	h_close(probe);
	log = h_daemon_log(&d);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(!strstr(log, " debug: "), "debug lines at log_level = info");
	free(log);

	write_file(conf, "log_level = debug\nmax_line = 4000\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	/* Until the reload is applied, probes on fresh connections fail. */
	deadline = h_now_ms() + 5000;
	for (c = NULL; h_now_ms() < deadline;) {
		probe = h_connect(d.port);
		ck_assert_int_ge(probe, 0);
		c = send_long(probe, 3, 3000, code, sizeof code);
		h_close(probe);
		if (c && !*c)
			break;
	}
	ck_assert_msg(c && !*c, "max_line = 4000 not applied within 5 s of SIGHUP: %s",
		      c ? c : "(no reply)");

	/* The connection from before the reload is still there, and has the
	 * new limit too. */
	assert_ping(fd, 4);
	c = send_long(fd, 5, 3000, code, sizeof code);
	ck_assert_msg(c != NULL, "no reply to 3000 bytes on the connection from before the reload");
	ck_assert_msg(!*c, "3000 bytes on the old connection after max_line = 4000: %s", c);
	assert_ping(fd, 6);
	ck_assert_msg(log_has(&d, " debug: ", 5000),
		      "no debug lines after log_level = debug (log %s)", d.logpath);
	h_close(fd);
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
	unlink(conf);
}
END_TEST

START_TEST(reload_warns_restart_only_settings)
{
	struct h_daemon d = { 0 };
	char conf[300];
	int fd;

	snprintf(conf, sizeof conf, "%s/restart-%ld.conf", g_tmp, (long)getpid());
	start_with_config(&d, conf, "data_dir = /nonexistent/a\nmax_line = 1000\n");
	write_file(conf, "data_dir = /nonexistent/b\nmax_line = 2000\nlog_level = debug\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has_n(&d, "configuration reloaded", 1, 5000), "no reload (log %s)",
		      d.logpath);
	ck_assert_int_eq(log_count(&d, "reload: data_dir changes only at a restart"), 1);
	/* The running data_dir is still /nonexistent/a: a second reload of the
	 * same file says so again. */
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has_n(&d, "configuration reloaded", 2, 5000), "no second reload (log %s)",
		      d.logpath);
	ck_assert_int_eq(log_count(&d, "reload: data_dir changes only at a restart"), 2);
	/* What a reload applies is not warned about. */
	ck_assert_int_eq(log_count(&d, "reload: max_line"), 0);
	ck_assert_int_eq(log_count(&d, "reload: log_level"), 0);
	ck_assert_int_eq(log_count(&d, "changes only at a restart"), 2);
	fd = h_connect(d.port);
	ck_assert_int_ge(fd, 0);
	assert_ping(fd, 1);
	h_close(fd);
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
	unlink(conf);
}
END_TEST

/* ---- --check-config ---------------------------------------------------- */

START_TEST(check_config)
{
	char good[300], bad[300], cmd[1400], out[2048];
	const char *first = "conninfo = dbname=nowhere password=***\n";
	const char *ok = "kolappd: configuration OK\n";
	int rc;

	snprintf(good, sizeof good, "%s/check-good-%ld.conf", g_tmp, (long)getpid());
	snprintf(bad, sizeof bad, "%s/check-bad-%ld.conf", g_tmp, (long)getpid());
	write_file(good, "# a comment\nconninfo = dbname=nowhere password=s3cret\n"
			 "listen = 127.0.0.1:1\nlisten = [::1]:2\n"
			 "log_level = debug\nmax_line = 4000\nidle_timeout = 60\n");
	write_file(bad, "conninfo = dbname=nowhere\nlog_level = info\n\nmax_line = banana\n");

	snprintf(cmd, sizeof cmd, "'%s/kolappd' --check-config --config '%s' 2>&1", builddir(),
		 good);
	rc = run_capture(cmd, out, sizeof out);
	ck_assert_msg(rc == 0, "--check-config on a good file: exit %d: %s", rc, out);
	/* The effective settings, every one of them, then the verdict. */
	for (size_t i = 0; i < config_nsettings; i++) {
		char line[64];

		snprintf(line, sizeof line, "\n%s =", config_settings[i].name);
		ck_assert_msg(strstr(out, line) || !strncmp(out, line + 1, strlen(line + 1)),
			      "--check-config does not show %s: %s", config_settings[i].name, out);
	}
	ck_assert_msg(strstr(out, "\nlisten = 127.0.0.1:1\nlisten = [::1]:2\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nmax_line = 4000\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nidle_timeout = 60\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nlog_level = debug\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nrate_limit = 2000\n"), "a default is not shown: %s", out);
	ck_assert_msg(!strncmp(out, first, strlen(first)), "%s", out);
	ck_assert_msg(!strstr(out, "s3cret"), "--check-config shows the password: %s", out);
	ck_assert_msg(strlen(out) >= strlen(ok) && !strcmp(out + strlen(out) - strlen(ok), ok),
		      "%s", out);

	snprintf(cmd, sizeof cmd, "'%s/kolappd' --check-config --config '%s' 2>&1", builddir(),
		 bad);
	rc = run_capture(cmd, out, sizeof out);
	ck_assert_msg(rc > 0, "--check-config on a bad file: exit %d", rc);
	ck_assert_msg(strstr(out, "line 4") != NULL, "the bad line is not named: %s", out);
	ck_assert_msg(strstr(out, "max_line") != NULL, "the bad key is not named: %s", out);
	unlink(good);
	unlink(bad);
}
END_TEST

static Suite *systemd_suite(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, notify_ready_watchdog_reload_stop);
	tcase_add_test(tc, socket_activation);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reload_bad_config_keeps_old);
	tcase_add_test(tc, reload_applies_level_and_limit_live);
	tcase_add_test(tc, reload_warns_restart_only_settings);
	tcase_add_test(tc, check_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed, rc;

	h_pg_base_conninfo();
	g_systemd = built_with_systemd();
	if (!g_systemd)
		fprintf(stderr, "test_systemd: kolappd built without systemd: "
				"the notify and activation tests will skip\n");
	snprintf(g_tmp, sizeof g_tmp, "%s/kolapp-sd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_tmp)) {
		fprintf(stderr, "test_systemd: mkdtemp: %s\n", strerror(errno));
		return 99;
	}
	g_db = h_create_db();
	if (!g_db) {
		fprintf(stderr, "test_systemd: cannot create a test database\n");
		return 99;
	}
	rc = h_migrate(g_db);
	if (rc != 0)
		fprintf(stderr, "test_systemd: kolappd --migrate exited with %d\n", rc);
	sr = srunner_create(systemd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_drop_db(g_db);
	free(g_db);
	rmdir(g_tmp);
	return failed == 0 ? 0 : 1;
}
