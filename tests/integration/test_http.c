/* Integration test of kolappd's HTTP side (--http): /api/status with a
 * Bearer header and with ?token=, the 401/403/404/405 answers, the board's
 * static files and path traversal, and /api/events (Server-Sent Events)
 * including resuming with Last-Event-ID and the end of a revoked token's
 * streams. A real PostgreSQL and a real kolappd; the HTTP client is a raw
 * socket speaking HTTP/1.0, so the stream arrives unchunked and every
 * reply ends with EOF.
 *
 * A kiosk token on /api/events gets 403, not 401: the token is valid
 * (the same token gets /api/status), the role just may not subscribe,
 * and 401 would tell a client to get a new token, which cannot help. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"
#include "tests/integration/httpc.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;
static int g_http;

/* ---- the raw HTTP client (httpc.h) on the daemon's port ------------------- */

static struct hc_resp http_do(const char *method, const char *target, const char *headers)
{
	return hc_do(g_http, method, target, headers, NULL, 0);
}

static struct hc_resp get(const char *target, const char *headers)
{
	return http_do("GET", target, headers);
}

/* ---- an SSE client ---------------------------------------------------------- */

struct sse {
	int fd;
	char buf[65536];
	size_t len;
};

struct sse_ev {
	char id[32];
	char kind[32];
	json_t *data; /* NULL for a block without data */
	bool retry;   /* the block was "retry: 2000" */
};

static void sse_open(struct sse *s, const char *target, const char *headers)
{
	char *end;

	memset(s, 0, sizeof *s);
	s->fd = hc_send(g_http, "GET", target, headers, NULL, 0);
	/* The response head first: wait for its blank line. */
	long long deadline = h_now_ms() + 5000;
	while (!(end = memmem(s->buf, s->len, "\r\n\r\n", 4))) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		ck_assert_msg(h_now_ms() < deadline, "no SSE response head within 5 s");
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
		ck_assert_msg(n > 0, "SSE connection closed before its head");
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
	}
	ck_assert_msg(!strncmp(s->buf, "HTTP/1.1 200", 12) || !strncmp(s->buf, "HTTP/1.0 200", 12),
		      "SSE reply: %.*s", (int)(end - s->buf), s->buf);
	ck_assert_msg(strcasestr(s->buf, "Content-Type: text/event-stream") != NULL,
		      "not an event stream: %.*s", (int)(end - s->buf), s->buf);
	size_t head = (size_t)(end + 4 - s->buf);
	memmove(s->buf, s->buf + head, s->len - head);
	s->len -= head;
}

static void sse_close(struct sse *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* The next block that is not a comment: an event, or the retry line.
 * false on timeout or EOF. */
static bool sse_next(struct sse *s, struct sse_ev *ev, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char *end;

	memset(ev, 0, sizeof *ev);
	for (;;) {
		while ((end = memmem(s->buf, s->len, "\n\n", 2))) {
			char block[sizeof s->buf];
			size_t blen = (size_t)(end - s->buf);
			memcpy(block, s->buf, blen);
			block[blen] = '\0';
			memmove(s->buf, end + 2, s->len - blen - 2);
			s->len -= blen + 2;
			bool any = false;
			for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
				if (!strncmp(line, "id: ", 4)) {
					snprintf(ev->id, sizeof ev->id, "%s", line + 4);
					any = true;
				} else if (!strncmp(line, "event: ", 7)) {
					snprintf(ev->kind, sizeof ev->kind, "%s", line + 7);
					any = true;
				} else if (!strncmp(line, "data: ", 6)) {
					ev->data = json_loads(line + 6, 0, NULL);
					ck_assert_msg(ev->data != NULL, "data is not JSON: %s",
						      line);
					any = true;
				} else if (!strcmp(line, "retry: 2000")) {
					ev->retry = any = true;
				}
			}
			if (any)
				return true;
		}
		long long left = deadline - h_now_ms();
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
		if (n <= 0)
			return false;
		s->len += (size_t)n;
	}
}

/* True when the server closes the stream (EOF or a reset) before the
 * deadline (h_now_ms() time); what arrives meanwhile is discarded. */
static bool sse_closed_by(struct sse *s, long long deadline)
{
	char junk[4096];

	for (;;) {
		long long left = deadline - h_now_ms();
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(s->fd, junk, sizeof junk);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
}

/* The next real event (skips the retry block). */
static bool sse_event(struct sse *s, struct sse_ev *ev, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (sse_next(s, ev, (int)(deadline - h_now_ms()))) {
		if (!ev->retry)
			return true;
	}
	return false;
}

/* ---- fixtures --------------------------------------------------------------- */

static void setup(void)
{
	char code[32], extra[1024];

	snprintf(code, sizeof code, "h%ld", (long)getpid());
	ck_assert_int_eq(o_seed(g_db, code, &g_o), 0);
	g_http = h_free_port();
	ck_assert_int_gt(g_http, 0);
	snprintf(extra, sizeof extra, "--http 127.0.0.1:%d --data-dir %s/data", g_http,
		 getenv("KOLAPP_SRCDIR") ? getenv("KOLAPP_SRCDIR") : KOLAPP_SRCDIR);
	memset(&g_d, 0, sizeof g_d);
	ck_assert_int_eq(h_daemon_start(&g_d, g_db, extra), 0);
}

static void teardown(void)
{
	if (g_d.pid > 0)
		ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
}

static json_t *tcp_ok(struct oc *c, const char *line)
{
	json_t *r = oc_req(c, "%s", line);
	char *txt = r ? json_dumps(r, JSON_COMPACT) : NULL;

	ck_assert_msg(o_ok(r), "%s: %s", line, txt ? txt : "(no reply)");
	free(txt);
	return r;
}

/* ---- /api/status -------------------------------------------------------------- */

START_TEST(status_with_bearer_and_query)
{
	char target[512], ct[128];
	struct hc_resp r = get("/api/status", hc_bearer(g_o.display));
	json_t *j;

	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Content-Type", ct, sizeof ct),
			 "application/json; charset=utf-8");
	j = json_loads(r.body, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", r.body);
	ck_assert_str_eq(json_string_value(json_object_get(j, "office")), g_o.code);
	ck_assert_int_eq(json_array_size(json_object_get(j, "queues")), 3);
	ck_assert(json_is_false(json_object_get(j, "stale")));
	/* "you": who the token is, first. */
	ck_assert_msg(!strncmp(r.body, "{\"you\":{", 8), "you is not first: %.80s", r.body);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "you"), "role")),
			 "display");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "you"), "office")),
			 g_o.code);
	ck_assert(json_is_null(json_object_get(json_object_get(j, "you"), "counter")));
	json_decref(j);
	hc_resp_free(&r);

	/* ?token= with a counter token, then a kiosk token. */
	snprintf(target, sizeof target, "/api/status?token=%s", g_o.counter[0]);
	r = get(target, NULL);
	ck_assert_int_eq(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "office")), g_o.code);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "you"), "role")),
			 "counter");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "you"), "counter")),
			 "1");
	json_decref(j);
	hc_resp_free(&r);
	snprintf(target, sizeof target, "/api/status?token=%s", g_o.kiosk);
	r = get(target, NULL);
	ck_assert_int_eq(r.status, 200);
	hc_resp_free(&r);

	/* An admin names the office; an unknown one is not found. */
	snprintf(target, sizeof target, "/api/status?office=%s", g_o.code);
	r = get(target, hc_bearer(g_o.admin));
	ck_assert_int_eq(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "office")), g_o.code);
	json_decref(j);
	hc_resp_free(&r);
	r = get("/api/status?office=nosuchoffice", hc_bearer(g_o.admin));
	ck_assert_int_eq(r.status, 404);
	hc_resp_free(&r);
}
END_TEST

/* Several daemons (PROTOCOL.md 16): the API answers pages of other
 * daemons (CORS, preflights); /api/nodes and the shared script. One
 * daemon without a node name serves everything itself: no redirects. */
START_TEST(cors_and_nodes)
{
	char v[256];
	struct hc_resp r = http_do("OPTIONS", "/api/op",
				   "Origin: http://other.example\r\n"
				   "Access-Control-Request-Method: POST\r\n");
	json_t *j;

	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "*");
	ck_assert_ptr_nonnull(hc_header(&r, "Access-Control-Allow-Headers", v, sizeof v));
	ck_assert_msg(strstr(v, "Authorization") && strstr(v, "Content-Type"), "%s", v);
	ck_assert_ptr_nonnull(hc_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
	ck_assert_msg(strstr(v, "POST"), "%s", v);
	hc_resp_free(&r);

	r = get("/api/status", hc_bearer(g_o.display));
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "*");
	hc_resp_free(&r);
	/* Refusals too: a page must be able to read why. */
	r = get("/api/status?token=wrong", NULL);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
	hc_resp_free(&r);
	/* Pages and metrics are not for other origins to read. */
	r = get("/board", NULL);
	ck_assert_ptr_null(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
	hc_resp_free(&r);

	r = get("/api/nodes", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "*");
	j = json_loads(r.body, 0, NULL);
	ck_assert_msg(j && json_is_null(json_object_get(j, "node")) &&
			      json_array_size(json_object_get(j, "nodes")) == 0,
		      "%s", r.body);
	json_decref(j);
	hc_resp_free(&r);

	r = get("/common/nodes.js", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Content-Type", v, sizeof v),
			 "text/javascript; charset=utf-8");
	ck_assert_msg(strstr(r.body, "kolappNodes"), "not the shared script");
	hc_resp_free(&r);
}
END_TEST

START_TEST(refusals)
{
	char target[512];
	struct hc_resp r;

	r = get("/api/status", hc_bearer("not-a-token"));
	ck_assert_int_eq(r.status, 401);
	/* The body must not say what was wrong with the token. */
	ck_assert_msg(!strcasestr(r.body, "invalid") && !strcasestr(r.body, "token"),
		      "401 body says why: %s", r.body);
	hc_resp_free(&r);
	r = get("/api/status?token=not-a-token", NULL);
	ck_assert_int_eq(r.status, 401);
	hc_resp_free(&r);
	r = get("/api/status", NULL);
	ck_assert_int_eq(r.status, 401);
	hc_resp_free(&r);
	r = get("/api/events", NULL);
	ck_assert_int_eq(r.status, 401);
	hc_resp_free(&r);

	snprintf(target, sizeof target, "/api/events?token=%s", g_o.kiosk);
	r = get(target, NULL);
	ck_assert_int_eq(r.status, 403);
	hc_resp_free(&r);

	r = get("/nope", NULL);
	ck_assert_int_eq(r.status, 404);
	hc_resp_free(&r);
	r = get("/api/statuses", hc_bearer(g_o.display));
	ck_assert_int_eq(r.status, 404);
	hc_resp_free(&r);
	r = http_do("POST", "/api/status", hc_bearer(g_o.display));
	ck_assert_int_eq(r.status, 405);
	hc_resp_free(&r);
	r = http_do("DELETE", "/board", NULL);
	ck_assert_int_eq(r.status, 405);
	hc_resp_free(&r);
}
END_TEST

/* ---- the board's files ------------------------------------------------------------ */

START_TEST(board_files)
{
	static const char *const langs[] = { "sv", "en", "ar", "so", "ti", "fa" };
	char v[256];
	struct hc_resp r = get("/board?token=whatever&lang=sv,en", NULL);
	json_t *i18n;

	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Content-Type", v, sizeof v), "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(hc_header(&r, "Cache-Control", v, sizeof v));
	ck_assert_ptr_nonnull(hc_header(&r, "Content-Security-Policy", v, sizeof v));
	ck_assert_msg(strstr(r.body, "<html") && strstr(r.body, "/board/board.js"),
		      "not the board: %.200s", r.body);
	/* Nothing from outside kolappd. */
	ck_assert_msg(!strstr(r.body, "http://") && !strstr(r.body, "https://"),
		      "the board refers to another site");
	hc_resp_free(&r);

	r = get("/board/board.js", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Content-Type", v, sizeof v),
			 "text/javascript; charset=utf-8");
	ck_assert_msg(strstr(r.body, "EventSource") != NULL, "board.js without EventSource");
	hc_resp_free(&r);
	r = get("/board/board.css", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hc_header(&r, "Content-Type", v, sizeof v), "text/css; charset=utf-8");
	hc_resp_free(&r);

	r = get("/board/i18n.json", NULL);
	ck_assert_int_eq(r.status, 200);
	i18n = json_loads(r.body, 0, NULL);
	ck_assert_msg(json_is_object(i18n), "i18n.json is not a JSON object");
	for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		json_t *l = json_object_get(i18n, langs[i]);
		const char *dir = json_string_value(json_object_get(l, "dir"));
		const char *ann = json_string_value(json_object_get(l, "announce"));
		ck_assert_msg(l && dir && json_string_value(json_object_get(l, "name")),
			      "language %s incomplete", langs[i]);
		ck_assert_msg(!strcmp(dir, "ltr") || !strcmp(dir, "rtl"), "%s: dir %s", langs[i],
			      dir);
		ck_assert_msg(ann && strstr(ann, "{ticket}") && strstr(ann, "{counter}"),
			      "%s: announce template", langs[i]);
	}
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(i18n, "ar"), "dir")),
			 "rtl");
	json_decref(i18n);
	hc_resp_free(&r);

	/* If-None-Match with the ETag: 304. */
	r = get("/board/board.css", NULL);
	char etag[128], inm[200];
	ck_assert_ptr_nonnull(hc_header(&r, "ETag", etag, sizeof etag));
	hc_resp_free(&r);
	snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag);
	r = get("/board/board.css", inm);
	ck_assert_int_eq(r.status, 304);
	hc_resp_free(&r);

	/* Only files of board/, however the name is written. */
	static const char *const bad[] = {
		"/board/../../etc/passwd",
		"/board/..%2f..%2fetc%2fpasswd",
		"/board/%2e%2e/x",
		"/board/.hidden",
		"/board/nosuch.js",
		"/board/sub/index.html",
		"/board/../board/index.html",
		"/board//etc/passwd",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = get(bad[i], NULL);
		ck_assert_msg(r.status == 404, "%s: status %d", bad[i], r.status);
		ck_assert_msg(!strstr(r.body, "root:"), "%s: leaked a file", bad[i]);
		hc_resp_free(&r);
	}
}
END_TEST

/* ---- the counter page's files ------------------------------------------------------ */

START_TEST(counter_files)
{
	static const char *const files[][2] = {
		{ "/counter?token=whatever&lang=sv", "text/html; charset=utf-8" },
		{ "/counter/", "text/html; charset=utf-8" },
		{ "/counter/counter.js", "text/javascript; charset=utf-8" },
		{ "/counter/counter.css", "text/css; charset=utf-8" },
		{ "/counter/i18n.json", "application/json; charset=utf-8" },
	};
	static const char *const bad[] = { "/counter/../board/board.js", "/counter/%2e%2e/x",
					   "/counter/.hidden", "/counter/nosuch.js", "/counterx" };
	char v[256];
	struct hc_resp r;
	json_t *i18n = NULL, *sv, *en, *val;
	const char *key;

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		r = get(files[i][0], NULL);
		ck_assert_msg(r.status == 200, "%s: %d", files[i][0], r.status);
		ck_assert_str_eq(hc_header(&r, "Content-Type", v, sizeof v), files[i][1]);
		/* Nothing from outside kolappd, and nothing inline. */
		ck_assert_msg(!strstr(r.body, "http://") && !strstr(r.body, "https://"),
			      "%s refers to another site", files[i][0]);
		if (i < 2) {
			ck_assert_ptr_nonnull(
				hc_header(&r, "Content-Security-Policy", v, sizeof v));
			ck_assert_msg(strstr(v, "script-src 'self'") && !strstr(v, "unsafe-inline"),
				      "%s", v);
			ck_assert_msg(strstr(r.body, "/counter/counter.js") &&
					      !strstr(r.body, "<script>") &&
					      !strstr(r.body, "style="),
				      "not the counter page, or inline code: %.200s", r.body);
		}
		if (i == 4)
			i18n = json_loads(r.body, 0, NULL);
		hc_resp_free(&r);
	}
	/* Swedish and English, with the same texts. */
	ck_assert_msg(json_is_object(i18n), "i18n.json is not a JSON object");
	sv = json_object_get(i18n, "sv");
	en = json_object_get(i18n, "en");
	ck_assert(json_is_object(sv) && json_is_object(en));
	json_object_foreach(sv, key, val)
		ck_assert_msg(json_is_string(json_object_get(en, key)), "en lacks %s", key);
	json_object_foreach(en, key, val)
		ck_assert_msg(json_is_string(json_object_get(sv, key)), "sv lacks %s", key);
	json_decref(i18n);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = get(bad[i], NULL);
		ck_assert_msg(r.status == 404, "%s: status %d", bad[i], r.status);
		hc_resp_free(&r);
	}
	r = http_do("POST", "/counter", NULL);
	ck_assert_int_eq(r.status, 405);
	hc_resp_free(&r);
}
END_TEST

/* ---- /api/events ---------------------------------------------------------------------- */

START_TEST(event_after_call_next)
{
	char target[512];
	struct sse s;
	struct sse_ev ev;
	struct oc *kiosk = oc_login(g_d.port, g_o.kiosk), *ctr = oc_login(g_d.port, g_o.counter[0]);

	ck_assert_ptr_nonnull(kiosk);
	ck_assert_ptr_nonnull(ctr);
	json_decref(tcp_ok(ctr, "{\"op\":\"counter_open\"}"));
	snprintf(target, sizeof target, "/api/events?token=%s", g_o.display);
	sse_open(&s, target, NULL);
	ck_assert(sse_next(&s, &ev, 5000));
	ck_assert_msg(ev.retry, "the stream does not start with retry: 2000");

	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	json_decref(tcp_ok(ctr, "{\"op\":\"call_next\"}"));
	for (;;) {
		ck_assert_msg(sse_event(&s, &ev, 5000), "no called event within 5 s");
		ck_assert_msg(ev.id[0] >= '1' && ev.id[0] <= '9', "event without a numeric id");
		ck_assert_str_eq(json_string_value(json_object_get(ev.data, "event")), ev.kind);
		if (!strcmp(ev.kind, "called"))
			break;
		json_decref(ev.data);
	}
	ck_assert_str_eq(json_string_value(json_object_get(ev.data, "ticket")), "S-001");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data, "counter")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data, "office")), g_o.code);
	json_decref(ev.data);
	sse_close(&s);
	oc_close(kiosk);
	oc_close(ctr);
}
END_TEST

#define MAXEV 64

struct seen {
	int n;
	char id[MAXEV][32];
	char data[MAXEV][512];
};

static void record(struct seen *w, const struct sse_ev *ev)
{
	char *d = json_dumps(ev->data, JSON_COMPACT | JSON_SORT_KEYS);

	ck_assert_int_lt(w->n, MAXEV);
	snprintf(w->id[w->n], sizeof w->id[0], "%s", ev->id);
	snprintf(w->data[w->n], sizeof w->data[0], "%s", d);
	w->n++;
	free(d);
}

/* Reads events into w until one of kind `until` (recorded too). */
static void read_until(struct sse *s, struct seen *w, const char *until)
{
	struct sse_ev ev;

	for (;;) {
		ck_assert_msg(sse_event(s, &ev, 5000), "no %s event within 5 s", until);
		record(w, &ev);
		json_decref(ev.data);
		if (!strcmp(ev.kind, until))
			return;
	}
}

START_TEST(last_event_id_resumes)
{
	char target[512], hdr[128];
	struct sse watcher, a;
	struct seen all = { 0 }, first = { 0 }, resumed = { 0 };
	struct oc *kiosk = oc_login(g_d.port, g_o.kiosk), *ctr = oc_login(g_d.port, g_o.counter[0]);
	int i, cut;

	ck_assert_ptr_nonnull(kiosk);
	ck_assert_ptr_nonnull(ctr);
	json_decref(tcp_ok(ctr, "{\"op\":\"counter_open\"}"));
	/* The watcher stays connected throughout: it sees every event. */
	snprintf(target, sizeof target, "/api/events?token=%s", g_o.display);
	sse_open(&watcher, target, NULL);
	sse_open(&a, target, NULL);

	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	json_decref(tcp_ok(ctr, "{\"op\":\"call_next\"}"));
	read_until(&a, &first, "called");
	read_until(&watcher, &all, "called");
	ck_assert_int_eq(first.n, all.n);
	sse_close(&a);

	/* Missed while away: issues, a call that finishes the held ticket, a recall. */
	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"P\"}"));
	json_decref(tcp_ok(ctr, "{\"op\":\"call_next\"}"));
	json_decref(tcp_ok(ctr, "{\"op\":\"recall\"}"));
	cut = all.n;
	read_until(&watcher, &all, "called"); /* the call_next */
	read_until(&watcher, &all, "called"); /* the recall */
	ck_assert_int_gt(all.n - cut, 4);

	snprintf(hdr, sizeof hdr, "Last-Event-ID: %s\r\n", first.id[first.n - 1]);
	sse_open(&a, target, hdr);
	for (i = cut; i < all.n; i++) {
		struct sse_ev ev;
		ck_assert_msg(sse_event(&a, &ev, 5000), "missed event %d not replayed", i - cut);
		record(&resumed, &ev);
		json_decref(ev.data);
	}
	/* Exactly the missed ones, in order, with their ids. */
	for (i = 0; i < resumed.n; i++) {
		ck_assert_str_eq(resumed.id[i], all.id[cut + i]);
		ck_assert_str_eq(resumed.data[i], all.data[cut + i]);
	}
	/* Ids increase by one. */
	for (i = 1; i < all.n; i++)
		ck_assert_int_eq(strtoull(all.id[i], NULL, 10),
				 strtoull(all.id[i - 1], NULL, 10) + 1);
	/* None repeated: the next event on the resumed stream is a new one. */
	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"F\"}"));
	read_until(&watcher, &all, "queue");
	{
		struct sse_ev ev;
		ck_assert(sse_event(&a, &ev, 5000));
		ck_assert_str_eq(ev.id, all.id[all.n - 2]);
		ck_assert_str_eq(ev.kind, "issued");
		json_decref(ev.data);
	}
	sse_close(&a);

	/* The same with ?last_event_id=, from the very first event. */
	snprintf(target, sizeof target, "/api/events?token=%s&last_event_id=%s", g_o.display,
		 all.id[0]);
	sse_open(&a, target, NULL);
	{
		struct sse_ev ev;
		ck_assert(sse_event(&a, &ev, 5000));
		ck_assert_str_eq(ev.id, all.id[1]);
		json_decref(ev.data);
	}
	sse_close(&a);

	/* An id the daemon cannot resume from: a reset instead of a silent gap. */
	sse_open(&a, target, "Last-Event-ID: 1\r\n");
	{
		struct sse_ev ev;
		ck_assert(sse_event(&a, &ev, 5000));
		ck_assert_str_eq(ev.kind, "reset");
		json_decref(ev.data);
	}
	sse_close(&a);
	sse_close(&watcher);
	oc_close(kiosk);
	oc_close(ctr);
}
END_TEST

/* Revoking a token ends its event streams as it ends its TCP
 * connections: a board whose token was revoked must stop getting the
 * office's events at once, not at its next reconnect. Other streams of
 * the office go on. */
START_TEST(revoked_token_stream_is_closed)
{
	char tok[O_TOKLEN], sql[512], out[256];
	struct sse victim, bystander;
	struct sse_ev ev;
	struct hc_resp r;
	struct oc *kiosk;
	long long t0;

	ck_assert_int_eq(o_token(g_db, "display", g_o.code, NULL, tok, sizeof tok), 0);
	sse_open(&victim, "/api/events", hc_bearer(tok));
	sse_open(&bystander, "/api/events", hc_bearer(g_o.display));
	/* The retry block: both streams are past the token check. */
	ck_assert(sse_next(&victim, &ev, 5000) && ev.retry);
	ck_assert(sse_next(&bystander, &ev, 5000) && ev.retry);

	snprintf(sql, sizeof sql, "SELECT kolapp.revoke_token('%s')", tok);
	t0 = h_now_ms();
	ck_assert_msg(h_psql(g_db, sql, out, sizeof out) == 0, "%s", out);
	ck_assert_msg(sse_closed_by(&victim, t0 + 1000),
		      "the revoked token's event stream is still open after 1 s");
	sse_close(&victim);

	kiosk = o_login(g_d.port, g_o.kiosk);
	json_decref(tcp_ok(kiosk, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_msg(sse_event(&bystander, &ev, 5000), "the other stream got no event");
	json_decref(ev.data);
	sse_close(&bystander);
	oc_close(kiosk);

	r = get("/api/events", hc_bearer(tok));
	ck_assert_int_eq(r.status, 401);
	hc_resp_free(&r);
}
END_TEST

/* Clients that leave while their token is being checked, or in the middle
 * of a stream: the daemon must neither crash nor leak (ASan, and the exit
 * status checked in teardown), and goes on serving. */
START_TEST(clients_that_leave)
{
	char target[512], status[512];
	struct hc_resp r;

	/* Valid tokens: ten failures would get this address refused (429). */
	snprintf(target, sizeof target, "/api/events?token=%s", g_o.display);
	snprintf(status, sizeof status, "/api/status?token=%s", g_o.kiosk);
	for (int i = 0; i < 20; i++) {
		int fd = hc_send(g_http, "GET", i % 2 ? target : status, NULL, NULL, 0);
		close(fd);
	}
	for (int i = 0; i < 5; i++) {
		struct sse s;
		sse_open(&s, target, NULL);
		sse_close(&s);
	}
	r = get("/api/status", hc_bearer(g_o.display));
	ck_assert_int_eq(r.status, 200);
	hc_resp_free(&r);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_with_bearer_and_query);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, cors_and_nodes);
	tcase_add_test(tc, board_files);
	tcase_add_test(tc, counter_files);
	tcase_add_test(tc, event_after_call_next);
	tcase_add_test(tc, last_event_id_resumes);
	tcase_add_test(tc, clients_that_leave);
	tcase_add_test(tc, revoked_token_stream_is_closed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_http", http_suite(), &g_db, NULL);
}
