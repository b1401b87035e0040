/*
 * libFuzzer target for the whole request path of one connection:
 * session.c (decode, hello, the role table, error precedence) over the
 * real engine without a database. The server and auth are stubbed here
 * so that every answer is synchronous and each line can be checked as
 * soon as the session's line handler returns.
 *
 * Each line also goes through session_request() (HTTP's POST /api/op)
 * with a fixed identity, and must get exactly one well-formed reply.
 *
 * The office is built with engine_test_* for each input and freed at its
 * end. A shared engine was tried first: today's tickets pile up, and
 * since every input then allocates more than it frees, libFuzzer ran
 * LeakSanitizer after each one and managed 13 executions a second
 * (about 2,300 with leak checks off). Built per input, a leak in the
 * request path is reported as one, and a crash reproduces from its
 * input alone. Set FUZZ_REQUEST_TRACE=1 to print each exchange.
 */
#include "daemon/net/session.h"
#include "daemon/net/server.h"
#include "daemon/net/auth.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "proto/proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1781078400) * SEC) /* 2026-06-10T08:00:00Z */

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_request: invariant failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* ---- the stub server: one connection, replies collected in order ------ */

struct slot {
	struct conn *conn;
	unsigned seq;
	bool done;
};

struct conn {
	void *state;        /* the session's */
	unsigned created;   /* slots handed out */
	unsigned completed; /* slots completed, which must be in order */
	char *last;         /* the last reply line */
	size_t last_len;
	bool last_close;
	bool closed;
	int subscribed; /* office id, 0 for none */
	int resumes;
};

void *conn_state(const struct conn *c)
{
	return c->state;
}
const char *conn_peer(const struct conn *c)
{
	return "fuzz:0";
}
const char *conn_peer_host(const struct conn *c)
{
	return "fuzz";
}
/* Unlimited: the rate limit is server.c's, and it would hide the rest. */
bool conn_rate_take(struct conn *c)
{
	return true;
}
uint64_t conn_id(const struct conn *c)
{
	return 1;
}
bool conn_is_closed(const struct conn *c)
{
	return c->closed;
}
void conn_set_authenticated(struct conn *c) {}
void conn_resume(struct conn *c)
{
	c->resumes++;
}
void conn_close(struct conn *c, const char *reason)
{
	c->closed = true;
}
struct conn *slot_conn(struct slot *s)
{
	return s->conn;
}
/* Only counting roles and closing a token's connections walk them. */
void server_each_conn(struct server *srv, void (*fn)(void *arg, struct conn *c), void *arg)
{
	abort();
}

void conn_subscribe(struct conn *c, int office_id)
{
	CHECK(office_id >= 0, "subscribe to office %d", office_id);
	c->subscribed = office_id;
}

struct slot *conn_slot_new(struct conn *c)
{
	struct slot *s = calloc(1, sizeof *s);

	CHECK(s != NULL, "out of memory");
	s->conn = c;
	s->seq = c->created++;
	return s;
}

void slot_complete(struct slot *s, char *line, size_t len, bool close_after)
{
	struct conn *c = s->conn;

	CHECK(!s->done, "slot %u completed twice", s->seq);
	CHECK(s->seq == c->completed, "slot %u completed before slot %u", s->seq, c->completed);
	CHECK(line != NULL, "slot %u completed without a line", s->seq);
	c->completed++;
	free(c->last);
	c->last = line;
	c->last_len = len;
	c->last_close = close_after;
	free(s);
}

/* ---- the stub auth: four fixed tokens, answered at once --------------- */

bool auth_is_blocked(struct auth *a, const char *host, int64_t now_s)
{
	return false;
}

void auth_note_failure(struct auth *a, const char *host, int64_t now_s) {}

void auth_lookup(struct auth *a, const char *token, const char *from, auth_done_fn done, void *ctx)
{
	struct auth_identity id = { .office_id = 1 };
	int role = proto_role_parse(token);

	snprintf(id.office, sizeof id.office, "HQ");
	if (role < 0) {
		done(ctx, PERR_UNAUTHORIZED, "unknown token", NULL);
		return;
	}
	id.role = (enum proto_role)role;
	if (role == ROLE_COUNTER) {
		id.counter_id = 1;
		snprintf(id.counter, sizeof id.counter, "1");
	}
	done(ctx, PROTO_OK, NULL, &id);
}

/* ---- the engine: one office HQ (queues S, F; counters 1, 2) ----------- */

static struct engine *g_engine;
static struct conn *g_conn; /* the connection being fuzzed */
static int64_t g_now;
static bool g_trace; /* FUZZ_REQUEST_TRACE=1: print each exchange */

static int64_t fuzz_clock(void *arg)
{
	return g_now;
}

/* Events must be one line each, objects with "event" (the kind the
 * struct names), "office" and "at", never id/ok, and must go only to the
 * office they belong to. */
static void fuzz_emit(void *arg, const struct engine_event *e)
{
	json_t *ev;

	CHECK(e->office_id > 0, "event for office %d", e->office_id);
	CHECK(e->len > 0 && e->line[e->len - 1] == '\n' && !memchr(e->line, '\n', e->len - 1),
	      "event is not one line");
	ev = json_loadb(e->line, e->len - 1, 0, NULL);
	CHECK(json_is_object(ev), "event is not an object: %.*s", (int)e->len, e->line);
	CHECK(e->kind && json_is_string(json_object_get(ev, "event")) &&
		      !strcmp(e->kind, json_string_value(json_object_get(ev, "event"))),
	      "event kind differs from its \"event\"");
	CHECK(json_is_string(json_object_get(ev, "office")), "event without \"office\"");
	CHECK(json_is_string(json_object_get(ev, "at")), "event without \"at\"");
	CHECK(!json_object_get(ev, "id") && !json_object_get(ev, "ok"), "event with id/ok");
	json_decref(ev);
}

static void engine_build(void)
{
	struct engine_hooks h = { .clock = fuzz_clock, .emit = fuzz_emit };
	const int q1[] = { 1, 2 }, r1[] = { 1, 2 };
	const int q2[] = { 2 }, r2[] = { 1 };

	g_now = T0;
	g_engine = engine_new(NULL, &h);
	if (!g_engine || engine_test_add_office(g_engine, 1, "HQ", "Europe/Stockholm") < 0 ||
	    engine_test_add_queue(g_engine, 1, 1, "S", "Service") < 0 ||
	    engine_test_add_queue(g_engine, 1, 2, "F", "Fast") < 0 ||
	    engine_test_add_counter(g_engine, 1, 1, "1", q1, r1, 2, true) < 0 ||
	    engine_test_add_counter(g_engine, 1, 2, "2", q2, r2, 1, true) < 0) {
		fprintf(stderr, "fuzz_request: cannot build the office\n");
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *trace = getenv("FUZZ_REQUEST_TRACE");

	g_trace = trace && *trace && strcmp(trace, "0");
	log_set_level(LOG_ERROR);
	return 0;
}

/* ---- one input: lines to the session, one reply each ------------------ */

static const char *const known_codes[] = {
	"bad_request", "unknown_op",  "unauthorized", "forbidden",    "not_found", "queue_closed",
	"conflict",    "unavailable", "too_large",    "rate_limited", "internal",
};

/* The reply (rlen bytes) to one request line. */
static void check_reply(const char *reply, size_t rlen, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL);
	json_t *req_id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	json_t *r, *id, *ok;
	json_error_t jerr;

	r = json_loadb(reply, rlen, 0, &jerr);
	CHECK(rlen > 0 && reply[rlen - 1] == '\n' && !memchr(reply, '\n', rlen - 1),
	      "reply is not one line");
	CHECK(r != NULL, "reply is not JSON (%s): %.*s", jerr.text, (int)rlen, reply);
	CHECK(json_is_object(r), "reply is not an object");
	ok = json_object_get(r, "ok");
	id = json_object_get(r, "id");
	CHECK(json_is_boolean(ok), "reply without boolean ok: %.*s", (int)rlen, reply);
	CHECK(id != NULL, "reply without id: %.*s", (int)rlen, reply);
	/* A request the parser could not read gets null; otherwise its own id. */
	CHECK(json_is_null(id) || (req_id && json_equal(id, req_id)),
	      "reply id differs from the request's: %.*s", (int)rlen, reply);
	if (json_is_true(ok))
		CHECK(req_id ? json_equal(id, req_id) : json_is_null(id),
		      "ok reply does not echo the id: %.*s", (int)rlen, reply);
	else {
		const char *code = json_string_value(
			json_object_get(json_object_get(r, "error"), "code"));
		bool known = false;

		CHECK(code != NULL, "error without a code");
		for (size_t i = 0; i < sizeof known_codes / sizeof known_codes[0]; i++)
			known = known || !strcmp(code, known_codes[i]);
		CHECK(known, "unknown error code %s", code);
		CHECK(strcmp(code, "unavailable"), "unavailable without a database");
		CHECK(json_is_string(json_object_get(json_object_get(r, "error"), "message")),
		      "error without a message");
	}
	json_decref(r);
	json_decref(req);
}

/* ---- the same line without a connection (HTTP's POST /api/op) -------- */

struct http_reply {
	int n;
	char *line;
	size_t len;
};

static void http_reply_cb(void *arg, char *line, size_t len)
{
	struct http_reply *r = arg;

	r->n++;
	free(r->line);
	r->line = line;
	r->len = len;
}

/* As a kiosk, a counter or an admin by turns: exactly one reply, at once
 * (no database), checked like a TCP one; hello, bye and subscribe are
 * refused. */
static void check_connectionless(struct session_ctx *ctx, const char *line, size_t len, int turn)
{
	static const enum proto_role roles[] = { ROLE_KIOSK, ROLE_COUNTER, ROLE_ADMIN };
	struct auth_identity who = { .token_id = 7, .office_id = 1 };
	struct http_reply r = { 0 };
	struct proto_request req;
	struct proto_error err;

	who.role = roles[turn % 3];
	snprintf(who.office, sizeof who.office, "HQ");
	if (who.role == ROLE_COUNTER) {
		who.counter_id = 1;
		snprintf(who.counter, sizeof who.counter, "1");
	}
	session_request(ctx, &who, line, len, http_reply_cb, &r);
	CHECK(r.n == 1, "a connectionless request got %d replies", r.n);
	CHECK(r.line != NULL, "a connectionless request got no line");
	check_reply(r.line, r.len, line, len);
	if (proto_decode(line, len, &req, &err) == 0 &&
	    (req.op == OP_HELLO || req.op == OP_BYE || req.op == OP_SUBSCRIBE))
		CHECK(strstr(r.line, "\"bad_request\"") != NULL, "%s over HTTP: %.*s",
		      proto_op_name(req.op), (int)r.len, r.line);
	proto_request_clear(&req);
	free(r.line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct conn c;
	size_t off = 0;

	engine_build();
	memset(&c, 0, sizeof c);
	g_conn = &c;
	struct session_ctx ctx = { .engine = g_engine, .auth = NULL };
	struct server_handler h;

	session_handler(&ctx, &h);
	c.state = h.open(h.arg, &c);
	/* As server.c: one line at a time, nothing after bye or too_large. */
	while (off < size && !c.closed && h.ready(c.state) && !c.last_close) {
		const char *nl = memchr(buf + off, '\n', size - off);
		size_t used = nl ? (size_t)(nl - (buf + off)) + 1 : size - off;
		size_t len = nl ? used - 1 : used;
		unsigned before = c.created;

		if (len && buf[off + len - 1] == '\r')
			len--;
		g_now += SEC;
		if (len > PROTO_DEFAULT_MAX_LINE)
			h.too_large(h.arg, &c, PROTO_DEFAULT_MAX_LINE);
		else
			h.line(h.arg, &c, buf + off, len);
		CHECK(c.created == before + 1, "line at %zu got %u replies", off,
		      c.created - before);
		CHECK(c.completed == c.created, "line at %zu: reply not sent", off);
		CHECK(h.ready(c.state) || c.last_close,
		      "the session still waits after a synchronous hello");
		if (g_trace)
			fprintf(stderr, "> %.*s\n< %.*s", (int)len, buf + off, (int)c.last_len,
				c.last);
		if (len > PROTO_DEFAULT_MAX_LINE)
			CHECK(c.last_close, "too_large does not close");
		else
			check_reply(c.last, c.last_len, buf + off, len);
		if (len <= PROTO_DEFAULT_MAX_LINE)
			check_connectionless(&ctx, buf + off, len, (int)(off % 3));
		if (c.last_close)
			CHECK(!h.ready(c.state) || len > PROTO_DEFAULT_MAX_LINE,
			      "closed after a line that was not bye");
		off += used;
	}
	free(c.last);
	h.free(c.state);
	g_conn = NULL;
	engine_free(g_engine);
	g_engine = NULL;
	return 0;
}
