/* Integration test: hostile clients against a real kolappd and a real
 * PostgreSQL. Each case abuses one connection and then checks the
 * contract's answer, that a fresh connection is still served promptly
 * and that a bystander connected before the abuse saw nothing but its
 * own replies. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>

#include "tests/integration/harness.h"

#define PROMPT_MS 1500 /* "promptly", with room for a loaded CI box */
#define MAX_LINE 65536 /* the default max_line */

static char *g_db;
static char g_display_token[128];
static struct h_daemon g_d;
static int g_by = -1; /* the bystander, connected before the abuse */
static int g_by_seq;

static const char *err_code(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* One reply line, parsed; NULL when none came within timeout_ms. */
static json_t *recv_json(int fd, int timeout_ms)
{
	char *line = h_recv_line(fd, timeout_ms);
	json_t *r;

	if (!line)
		return NULL;
	r = json_loads(line, 0, NULL);
	ck_assert_msg(r != NULL, "reply is not JSON: %.200s", line);
	free(line);
	return r;
}

/* Sends len bytes (with their "\n") and reads one reply. */
static json_t *request_n(int fd, const char *buf, size_t len)
{
	ck_assert_int_eq(h_send_n(fd, buf, len), 0);
	return recv_json(fd, 5000);
}

/* The reply to buf[0..len) must be the error `code` with "id":null. */
static void expect_error_null_id(int fd, const char *buf, size_t len, const char *code)
{
	json_t *r = request_n(fd, buf, len);

	ck_assert_msg(r != NULL, "no reply to %.60s", buf);
	ck_assert_msg(json_is_false(json_object_get(r, "ok")), "not refused: %.60s", buf);
	ck_assert_ptr_nonnull(err_code(r));
	ck_assert_str_eq(err_code(r), code);
	ck_assert_msg(json_is_null(json_object_get(r, "id")), "id not null for %.60s", buf);
	json_decref(r);
}

static void expect_error_str(int fd, const char *line, const char *code)
{
	expect_error_null_id(fd, line, strlen(line), code);
}

static void ping_ok(int fd, const char *id)
{
	char req[128];
	json_t *r;

	snprintf(req, sizeof req, "{\"id\":\"%s\",\"op\":\"ping\"}\n", id);
	r = request_n(fd, req, strlen(req));
	ck_assert_msg(r != NULL, "no answer to ping %s", id);
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), id);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

/* A fresh connection gets its ping answered within PROMPT_MS. */
static void fresh_ping_prompt(void)
{
	long long t0 = h_now_ms();
	int fd = h_connect(g_d.port);
	char *line;

	ck_assert_msg(fd >= 0, "cannot connect after the abuse");
	ck_assert_int_eq(h_send(fd, "{\"id\":\"fresh\",\"op\":\"ping\"}\n"), 0);
	line = h_recv_line(fd, PROMPT_MS);
	ck_assert_msg(line != NULL, "fresh ping not answered within %d ms", PROMPT_MS);
	ck_assert_str_eq(line, "{\"id\":\"fresh\",\"ok\":true}");
	ck_assert_msg(h_now_ms() - t0 <= PROMPT_MS, "fresh ping took %lld ms", h_now_ms() - t0);
	free(line);
	h_close(fd);
}

/* What every case ends with: the daemon serves a newcomer promptly, and
 * the bystander's next reply is its own, with no error or stray line. */
static void after_abuse(void)
{
	char id[32];
	json_t *r;

	fresh_ping_prompt();
	snprintf(id, sizeof id, "by%d", ++g_by_seq);
	r = request_n(g_by, "{\"id\":\"status\",\"op\":\"status\"}\n",
		      strlen("{\"id\":\"status\",\"op\":\"status\"}\n"));
	ck_assert_msg(r != NULL, "bystander's status not answered");
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "bystander got an error: %s",
		      err_code(r) ? err_code(r) : "?");
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "status");
	json_decref(r);
	ping_ok(g_by, id);
	/* And it shuts down cleanly: a sanitizer build reports what the
	 * abuse broke (or leaked) in the log and in the exit status. */
	h_close(g_by);
	g_by = -1;
	{
		int rc = h_daemon_stop(&g_d);
		char *log = h_daemon_log(&g_d);

		ck_assert_ptr_nonnull(log);
		ck_assert_msg(!strstr(log, "runtime error") && !strstr(log, "Sanitizer"),
			      "sanitizer report in kolappd's log: %.2000s", log);
		free(log);
		ck_assert_int_eq(rc, 0);
	}
}

static void daemon_setup(void)
{
	json_t *r;
	char hello[256];

	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_db, NULL), 0);
	g_by = h_connect(g_d.port);
	ck_assert_int_ge(g_by, 0);
	snprintf(hello, sizeof hello, "{\"id\":\"h\",\"op\":\"hello\",\"token\":\"%s\"}",
		 g_display_token);
	r = h_request(g_by, hello);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "bystander's hello refused");
	json_decref(r);
	ping_ok(g_by, "by0");
}

static void daemon_teardown(void)
{
	h_close(g_by);
	g_by = -1;
	if (g_d.pid > 0)
		h_daemon_stop(&g_d);
	h_daemon_free(&g_d);
}

/* ---- garbage ------------------------------------------------------------- */

static uint64_t prng_state;

static uint64_t prng(void) /* xorshift64*: the same bytes on every run */
{
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * UINT64_C(2685821657736338717);
}

START_TEST(random_bytes)
{
	size_t n = 64 * 1024, off = 0, lines = 0;
	char *buf = malloc(n);
	int fd = h_connect(g_d.port);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	prng_state = UINT64_C(0x6b6f6c617070);
	for (size_t i = 0; i < n; i++) {
		buf[i] = (char)(prng() >> 56);
		lines += buf[i] == '\n';
	}
	/* Chunks of 1..4096 bytes; the replies fit in the socket buffers. */
	while (off < n) {
		size_t chunk = 1 + (size_t)(prng() % 4096);

		if (chunk > n - off)
			chunk = n - off;
		ck_assert_int_eq(h_send_n(fd, buf + off, chunk), 0);
		off += chunk;
	}
	free(buf);
	/* End the last partial line: it is a request too. */
	ck_assert_int_eq(h_send(fd, "\n"), 0);
	lines++;
	for (size_t i = 0; i < lines; i++) {
		json_t *r = recv_json(fd, 5000);

		ck_assert_msg(r != NULL, "reply %zu of %zu missing", i, lines);
		ck_assert(json_is_false(json_object_get(r, "ok")));
		ck_assert_msg(json_is_null(json_object_get(r, "id")), "reply %zu has an id", i);
		ck_assert_str_eq(err_code(r), "bad_request");
		json_decref(r);
	}
	ping_ok(fd, "after-random");
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(nul_bytes)
{
	static const char raw_inside[] = "{\"id\":1,\0\"op\":\"ping\"}\n";
	static const char raw_in_string[] = "{\"id\":\"a\0b\",\"op\":\"ping\"}\n";
	static const char raw_after[] = "{\"id\":2,\"op\":\"ping\"}\0\n";
	int fd = h_connect(g_d.port);

	ck_assert_int_ge(fd, 0);
	expect_error_null_id(fd, raw_inside, sizeof raw_inside - 1, "bad_request");
	expect_error_null_id(fd, raw_in_string, sizeof raw_in_string - 1, "bad_request");
	expect_error_null_id(fd, raw_after, sizeof raw_after - 1, "bad_request");
	expect_error_str(fd, "{\"id\":\"a\\u0000b\",\"op\":\"ping\"}\n", "bad_request");
	expect_error_str(fd, "{\"id\":3,\"op\":\"ping\",\"x\":\"\\u0000\"}\n", "bad_request");
	ping_ok(fd, "after-nul");
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(invalid_utf8)
{
	static const char *const bad[] = {
		"{\"id\":\"\xff\",\"op\":\"ping\"}\n",             /* never valid */
		"{\"id\":\"\xc0\xaf\",\"op\":\"ping\"}\n",         /* overlong "/" */
		"{\"id\":\"\xed\xa0\x80\",\"op\":\"ping\"}\n",     /* UTF-16 surrogate */
		"{\"id\":\"\xf4\x90\x80\x80\",\"op\":\"ping\"}\n", /* above U+10FFFF */
		"{\"id\":1,\"op\":\"ping\",\"x\":\"\xe2\x82\"}\n", /* cut short */
		"{\"id\":1,\"op\":\"\xff\xfe\"}\n",                /* in the op */
		"{\"id\":\"\\ud800\",\"op\":\"ping\"}\n",          /* lone surrogate escape */
	};
	json_t *r;
	int fd = h_connect(g_d.port);

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_error_str(fd, bad[i], "bad_request");
	/* Valid multi-byte text is echoed back as is. */
	r = h_request(fd, "{\"id\":\"\xc3\xa5\xf0\x9f\x98\x80\",\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "\xc3\xa5\xf0\x9f\x98\x80");
	json_decref(r);
	h_close(fd);
	after_abuse();
}
END_TEST

/* {"id":1,"op":"ping","x":[[...]]} nested `depth` levels in all. */
static char *nested(int depth, bool closed, size_t *len)
{
	size_t cap = 64 + 2 * (size_t)depth;
	char *s = malloc(cap);
	size_t n;

	ck_assert_ptr_nonnull(s);
	n = (size_t)sprintf(s, "{\"id\":1,\"op\":\"ping\",\"x\":");
	for (int i = 1; i < depth; i++)
		s[n++] = '[';
	if (closed) {
		for (int i = 1; i < depth; i++)
			s[n++] = ']';
		s[n++] = '}';
	}
	s[n++] = '\n';
	*len = n;
	return s;
}

START_TEST(deep_nesting)
{
	int fd = h_connect(g_d.port);
	size_t len;
	char *s;
	json_t *r;
	long long t0;

	ck_assert_int_ge(fd, 0);
	s = nested(32, true, &len);
	r = request_n(fd, s, len);
	free(s);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "32 levels refused");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);

	s = nested(33, true, &len);
	expect_error_null_id(fd, s, len, "bad_request");
	free(s);
	t0 = h_now_ms();
	s = nested(10000, true, &len);
	expect_error_null_id(fd, s, len, "bad_request");
	free(s);
	s = nested(10000, false, &len);
	expect_error_null_id(fd, s, len, "bad_request");
	free(s);
	ck_assert_msg(h_now_ms() - t0 < PROMPT_MS, "deep lines took %lld ms", h_now_ms() - t0);
	ping_ok(fd, "after-deep");
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(huge_numbers)
{
	char line[1024], digits[401];
	int fd = h_connect(g_d.port);
	json_t *r;

	ck_assert_int_ge(fd, 0);
	/* Out of a double's range, or of a 64-bit integer's: not JSON we take. */
	expect_error_str(fd, "{\"id\":1e400,\"op\":\"ping\"}\n", "bad_request");
	expect_error_str(fd, "{\"id\":-1e400,\"op\":\"ping\"}\n", "bad_request");
	expect_error_str(fd, "{\"id\":1180591620717411303424,\"op\":\"ping\"}\n", "bad_request");
	expect_error_str(fd, "{\"id\":9223372036854775808,\"op\":\"ping\"}\n", "bad_request");
	expect_error_str(fd, "{\"id\":1,\"op\":\"ping\",\"x\":1e400}\n", "bad_request");
	memset(digits, '7', 400);
	digits[400] = '\0';
	snprintf(line, sizeof line, "{\"id\":%s,\"op\":\"ping\"}\n", digits);
	expect_error_str(fd, line, "bad_request");

	/* In range: echoed as the same value. */
	r = h_request(fd, "{\"id\":9223372036854775807,\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert(json_integer_value(json_object_get(r, "id")) == INT64_MAX);
	json_decref(r);
	r = h_request(fd, "{\"id\":-0,\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert(json_is_number(json_object_get(r, "id")));
	ck_assert(json_number_value(json_object_get(r, "id")) == 0);
	json_decref(r);
	r = h_request(fd, "{\"id\":-0.0,\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert(json_is_real(json_object_get(r, "id")));
	ck_assert(json_real_value(json_object_get(r, "id")) == 0.0);
	json_decref(r);
	/* 400 digits after the point: a double, round-tripped. */
	snprintf(line, sizeof line, "{\"id\":0.%s,\"op\":\"ping\"}", digits);
	r = h_request(fd, line);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert(json_is_real(json_object_get(r, "id")));
	ck_assert(json_real_value(json_object_get(r, "id")) == strtod(line + 6, NULL));
	json_decref(r);
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(duplicate_keys)
{
	int fd = h_connect(g_d.port);
	json_t *r;

	ck_assert_int_ge(fd, 0);
	/* PROTOCOL.md 2.1: the last occurrence counts. */
	r = h_request(fd, "{\"id\":1,\"id\":2,\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	r = h_request(fd, "{\"id\":3,\"op\":\"bye\",\"op\":\"status\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 3);
	ck_assert_str_eq(err_code(r), "unauthorized");
	json_decref(r);
	/* A bye overridden by a ping must not close the connection. */
	r = h_request(fd, "{\"id\":4,\"op\":\"bye\",\"op\":\"ping\"}");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	ping_ok(fd, "after-dup");
	h_close(fd);
	after_abuse();
}
END_TEST

/* ---- slow, many, half-closed --------------------------------------------- */

START_TEST(slowloris)
{
	const char *req = "{\"id\":\"slow\",\"op\":\"ping\"}\n";
	int fd = h_connect(g_d.port), other = h_connect(g_d.port);
	char *line;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(other, 0);
	for (size_t i = 0; req[i]; i++) {
		long long next = h_now_ms() + 100, t0;
		char id[32];

		ck_assert_int_eq(h_send_n(fd, req + i, 1), 0);
		/* Meanwhile others are served at once. */
		t0 = h_now_ms();
		snprintf(id, sizeof id, "o%zu", i);
		ping_ok(other, id);
		ck_assert_msg(h_now_ms() - t0 < PROMPT_MS, "ping took %lld ms during slowloris",
			      h_now_ms() - t0);
		while (h_now_ms() < next) /* the attacker's pace, not a wait for the server */
			poll(NULL, 0, (int)(next - h_now_ms()));
	}
	line = h_recv_line(fd, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":\"slow\",\"ok\":true}");
	free(line);
	h_close(other);
	h_close(fd);
	after_abuse();
}
END_TEST

static int kolappd_fds(void)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)g_d.pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

START_TEST(many_connections)
{
	enum { TOTAL = 5000, BATCH = 500 };
	static int fds[BATCH];
	struct rlimit rl;
	int before = kolappd_fds(), after = -1;
	long long deadline;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= BATCH + 64, "RLIMIT_NOFILE %llu too low",
		      (unsigned long long)rl.rlim_cur);
	ck_assert_int_gt(before, 0);
	for (int done = 0; done < TOTAL; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			fds[i] = raw_connect(g_d.port);
			ck_assert_msg(fds[i] >= 0, "connection %d: %s", done + i, strerror(errno));
			/* A third say half a request, a third reset instead of closing. */
			if (i % 3 == 1)
				(void)send(fds[i], "{\"id\":1,\"op\"", 12, MSG_NOSIGNAL);
			if (i % 3 == 2) {
				struct linger lg = { 1, 0 };
				setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			}
		}
		for (int i = 0; i < BATCH; i++)
			close(fds[i]);
		ping_ok(g_by, "batch");
	}
	/* Every dropped connection's descriptor is released. */
	deadline = h_now_ms() + 5000;
	while (h_now_ms() < deadline) {
		after = kolappd_fds();
		if (after <= before + 2)
			break;
		poll(NULL, 0, 20);
	}
	ck_assert_msg(after <= before + 2, "kolappd holds %d fds, %d before", after, before);
	after_abuse();
}
END_TEST

START_TEST(half_closed)
{
	const char *reqs = "{\"id\":\"h1\",\"op\":\"ping\"}\n{\"id\":\"h2\",\"op\":\"status\"}\n"
			   "{\"id\":\"h3\",\"op\":\"ping\"}"; /* no "\n": discarded */
	int fd = h_connect(g_d.port);
	json_t *r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_send(fd, reqs), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	r = recv_json(fd, 5000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "h1");
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = recv_json(fd, 5000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "h2");
	ck_assert_str_eq(err_code(r), "unauthorized");
	json_decref(r);
	ck_assert_msg(h_wait_closed(fd, 5000), "no EOF after a half-close (or h3 answered)");
	h_close(fd);
	after_abuse();
}
END_TEST

/* ---- the line limit and pipelining --------------------------------------- */

/* A ping of exactly `len` bytes before its terminator `term`. */
static char *ping_of_len(size_t len, const char *term, size_t *total)
{
	const char *head = "{\"id\":\"big\",\"op\":\"ping\",\"pad\":\"";
	size_t hl = strlen(head), tl = strlen(term);
	char *s = malloc(len + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	memset(s + hl, 'p', len - hl - 2);
	memcpy(s + len - 2, "\"}", 2);
	memcpy(s + len, term, tl + 1);
	*total = len + tl;
	return s;
}

START_TEST(line_at_limit)
{
	const char *terms[] = { "\n", "\r\n" };
	int fd = h_connect(g_d.port);
	size_t total;

	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 2; i++) {
		char *s = ping_of_len(MAX_LINE, terms[i], &total);
		json_t *r = request_n(fd, s, total);

		free(s);
		ck_assert_msg(r != NULL, "no reply to a line of exactly %d bytes", MAX_LINE);
		ck_assert_msg(json_is_true(json_object_get(r, "ok")),
			      "line at the limit refused: %s", err_code(r) ? err_code(r) : "?");
		ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "big");
		json_decref(r);
	}
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(line_over_limit)
{
	int fd = h_connect(g_d.port);
	size_t total;
	char *s = ping_of_len(MAX_LINE + 1, "\n", &total);
	json_t *r;

	ck_assert_int_ge(fd, 0);
	ping_ok(fd, "before");
	/* The server may close before it has read it all: the reply must come. */
	(void)h_send_n(fd, s, total);
	free(s);
	r = recv_json(fd, 5000);
	ck_assert_msg(r != NULL, "no reply to a line one byte over the limit");
	ck_assert_str_eq(err_code(r), "too_large");
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
			 "request line longer than 65536 bytes");
	json_decref(r);
	ck_assert_msg(h_wait_closed(fd, 5000), "connection not closed after too_large");
	h_close(fd);
	after_abuse();
}
END_TEST

START_TEST(pipelined_1000)
{
	enum { N = 1000 };
	char *all = malloc(N * 48);
	size_t len = 0;
	int fd = h_connect(g_d.port);

	ck_assert_ptr_nonnull(all);
	ck_assert_int_ge(fd, 0);
	/* A mix: answered at once, refused by role, refused as not JSON. */
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			len += (size_t)sprintf(all + len, "{\"id\":%d,\"op\":\"ping\"}\n", i);
		else if (i % 3 == 1)
			len += (size_t)sprintf(all + len, "{\"id\":%d,\"op\":\"status\"}\n", i);
		else
			len += (size_t)sprintf(all + len, "{\"id\":%d,\"op\":\n", i);
	}
	ck_assert_int_eq(h_send_n(fd, all, len), 0);
	free(all);
	for (int i = 0; i < N; i++) {
		json_t *r = recv_json(fd, 5000);

		ck_assert_msg(r != NULL, "reply %d missing", i);
		if (i % 3 == 2) {
			ck_assert(json_is_null(json_object_get(r, "id")));
			ck_assert_str_eq(err_code(r), "bad_request");
		} else {
			ck_assert_msg(json_integer_value(json_object_get(r, "id")) == i,
				      "reply %d out of order", i);
			if (i % 3 == 0)
				ck_assert(json_is_true(json_object_get(r, "ok")));
			else
				ck_assert_str_eq(err_code(r), "unauthorized");
		}
		json_decref(r);
	}
	ping_ok(fd, "after-pipeline");
	h_close(fd);
	after_abuse();
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, huge_numbers);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, slowloris);
	tcase_add_test(tc, many_connections);
	tcase_add_test(tc, half_closed);
	tcase_add_test(tc, line_at_limit);
	tcase_add_test(tc, line_over_limit);
	tcase_add_test(tc, pipelined_1000);
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
		fprintf(stderr, "test_hostile: cannot create a test database\n");
		return 99;
	}
	rc = h_migrate(g_db);
	if (rc != 0 ||
	    h_psql(g_db, "SELECT kolapp.add_office('hq', 'Head office', 'Europe/Stockholm')",
		   g_display_token, sizeof g_display_token) != 0 ||
	    h_psql(g_db, "SELECT kolapp.add_queue('hq', 'S', 'Service')", g_display_token,
		   sizeof g_display_token) != 0 ||
	    h_psql(g_db, "SELECT kolapp.create_token('display', 'hq')", g_display_token,
		   sizeof g_display_token) != 0) {
		fprintf(stderr, "test_hostile: setup failed (migrate %d): %s\n", rc,
			g_display_token);
		h_drop_db(g_db);
		free(g_db);
		return 99;
	}
	sr = srunner_create(hostile_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_drop_db(g_db);
	free(g_db);
	return failed == 0 ? 0 : 1;
}
