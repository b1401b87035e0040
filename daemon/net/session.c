#include "daemon/net/session.h"
#include "daemon/net/server.h"
#include "daemon/net/auth.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/pool.h"
#include "daemon/util/xalloc.h"
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_config.h"

/* One per connection, made when it opens and freed with it. */
struct session {
	bool hello_pending; /* later lines wait: they depend on the identity */
	bool said_bye;      /* nothing after bye is read */
	bool authed;
	struct auth_identity who; /* valid while authed */
};

static struct pool session_pool = POOL_INIT(struct session, 4096);

/* One decoded request on its way through the checks to its handler,
 * whichever transport brought it. */
struct call {
	struct session_ctx *ctx;
	const struct proto_request *req;
	const struct auth_identity *who; /* NULL: no hello yet */
	int office_id;                   /* what it acts on; resolved by check() */
	session_reply_fn reply;
	void *arg;
	struct conn *conn; /* its TCP connection; NULL over HTTP */
};

/* Encodes one answer and counts it; result is stolen. op: -1 when the
 * request was not decoded. */
static char *encode_answer(const json_t *id, int op, enum proto_err err, const char *message,
			   json_t *result, size_t *len)
{
	char *line = err == PROTO_OK ? proto_encode_ok(id, result, len)
				     : proto_encode_error(id, err, message, len);

	metrics_request(op, err);
	json_decref(result);
	return line;
}

static void send_answer(session_reply_fn reply, void *arg, const json_t *id, int op,
			enum proto_err err, const char *message, json_t *result)
{
	size_t len = 0;
	char *line = encode_answer(id, op, err, message, result, &len);

	reply(arg, line, len);
}

static void answer(const struct call *call, enum proto_err err, const char *message, json_t *result)
{
	send_answer(call->reply, call->arg, call->req->id, (int)call->req->op, err, message,
		    result);
}

/* A request the engine answers later: what its answer needs once the
 * request itself is gone. */
struct engine_wait {
	json_t *id;
	int op;
	session_reply_fn reply;
	void *arg;
};

static struct pool wait_pool = POOL_INIT(struct engine_wait, 4096);

static void engine_answer(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	struct engine_wait *w = ctx;

	send_answer(w->reply, w->arg, w->id, w->op, err, message, result);
	json_decref(w->id);
	pool_put(&wait_pool, w);
}

/* ---- TCP: the reply goes into the connection's slot -------------------- */

static void slot_reply(void *arg, char *line, size_t len)
{
	slot_complete(arg, line, len, false);
}

/* The last answer on a connection: it closes once this is written. */
static void answer_and_close(struct slot *slot, const json_t *id, int op, enum proto_err err,
			     const char *message)
{
	size_t len = 0;
	char *line = encode_answer(id, op, err, message, NULL, &len);

	slot_complete(slot, line, len, true);
}

static void session_too_large(void *arg, struct conn *c, size_t max_line)
{
	char msg[96];
	snprintf(msg, sizeof msg, "request line longer than %zu bytes", max_line);
	answer_and_close(conn_slot_new(c), NULL, -1, PERR_TOO_LARGE, msg);
}

struct hello_wait {
	struct slot *slot;
	json_t *id;
	struct conn *c;
	struct auth *auth;
	struct engine *engine;
};

/* Several daemons: a hello for an office another daemon serves is sent
 * there (moved), one nobody serves for the moment is unavailable. True
 * when it answered. */
static bool hello_elsewhere(struct hello_wait *hw, const struct auth_identity *id)
{
	const char *addr, *http;
	char msg[160], *line;
	size_t len = 0;

	if (!engine_ownership_is_on(hw->engine))
		return false;
	switch (engine_owner_of(hw->engine, id->office, &addr, &http)) {
	case OWNER_MINE: return false;
	case OWNER_ELSEWHERE:
		snprintf(msg, sizeof msg, "office %s is served by the daemon at %s", id->office,
			 addr);
		log_info("C-%llu %s: hello for office %s: moved to %s",
			 (unsigned long long)conn_id(hw->c), conn_peer(hw->c), id->office, addr);
		line = proto_encode_moved(hw->id, msg, addr, &len);
		metrics_request(OP_HELLO, PERR_MOVED);
		slot_reply(hw->slot, line, len);
		return true;
	case OWNER_NOBODY:
	case OWNER_UNKNOWN_OFFICE: break;
	}
	snprintf(msg, sizeof msg,
		 "no daemon serves office %s at this moment (a takeover takes seconds): retry",
		 id->office);
	send_answer(slot_reply, hw->slot, hw->id, OP_HELLO, PERR_UNAVAILABLE, msg, NULL);
	return true;
}

static void hello_done(void *ctx, enum proto_err err, const char *message,
		       const struct auth_identity *id)
{
	struct hello_wait *hw = ctx;
	struct session *s = conn_state(hw->c);
	json_t *result = NULL;

	s->hello_pending = false;
	if (err == PROTO_OK && hello_elsewhere(hw, id)) {
		conn_resume(hw->c);
		json_decref(hw->id);
		free(hw);
		return;
	}
	if (err != PROTO_OK) {
		if (err == PERR_UNAUTHORIZED)
			auth_note_failure(hw->auth, conn_peer_host(hw->c), time(NULL));
		if (err == PERR_UNAUTHORIZED && !conn_is_closed(hw->c)) {
			log_info("C-%llu %s: hello refused: %s", (unsigned long long)conn_id(hw->c),
				 conn_peer(hw->c), message);
			s->authed = false;
			conn_subscribe(hw->c, 0);
		}
	} else {
		if (!conn_is_closed(hw->c)) {
			/* A new identity subscribes afresh, if its role may. */
			conn_subscribe(hw->c, 0);
			conn_set_authenticated(hw->c);
			s->authed = true;
			s->who = *id;
			log_info("C-%llu %s: hello as %s of office %s%s%s",
				 (unsigned long long)conn_id(hw->c), conn_peer(hw->c),
				 proto_role_name(s->who.role), s->who.office,
				 s->who.counter_id ? ", counter " : "",
				 s->who.counter_id ? s->who.counter : "");
		}
		result = json_pack("{s:i, s:i, s:s, s:s, s:s, s:o}", "protocol", PROTO_VERSION,
				   "minor", PROTO_MINOR, "server", "kolappd/" PACKAGE_VERSION,
				   "role", proto_role_name(id->role), "office", id->office,
				   "counter",
				   id->counter_id ? json_string(id->counter) : json_null());
	}
	/* Lines that came after hello run now, answered after it in order. */
	conn_resume(hw->c);
	send_answer(slot_reply, hw->slot, hw->id, OP_HELLO, err, message, result);
	json_decref(hw->id);
	free(hw);
}

/* ---- the ops the session answers itself ---------------------------------- */

typedef void (*session_op_fn)(const struct call *call);

static void session_op_ping(const struct call *call)
{
	answer(call, PROTO_OK, NULL, NULL);
}

/* hello, bye and subscribe are about a connection: session_request()
 * refuses them before they get here without one. */
static void session_op_bye(const struct call *call)
{
	struct session *s = conn_state(call->conn);

	s->said_bye = true;
	answer_and_close(call->arg, call->req->id, OP_BYE, PROTO_OK, NULL);
}

static void session_op_hello(const struct call *call)
{
	struct session *s = conn_state(call->conn);
	struct hello_wait *hw;

	if (auth_is_blocked(call->ctx->auth, conn_peer_host(call->conn), time(NULL))) {
		answer(call, PERR_RATE_LIMITED,
		       "too many failed hellos from this address: try again later", NULL);
		return;
	}
	hw = xcalloc(1, sizeof *hw);
	hw->c = call->conn;
	hw->auth = call->ctx->auth;
	hw->engine = call->ctx->engine;
	hw->slot = call->arg;
	hw->id = call->req->id ? json_deep_copy(call->req->id) : NULL;
	s->hello_pending = true;
	auth_lookup(call->ctx->auth, call->req->token, conn_peer_host(call->conn), hello_done, hw);
}

static void session_op_subscribe(const struct call *call)
{
	if (!engine_office_code(call->ctx->engine, call->office_id)) {
		answer(call, PERR_NOT_FOUND, "no such office", NULL);
		return;
	}
	conn_subscribe(call->conn, call->office_id);
	answer(call, PROTO_OK, NULL, NULL);
}

/* Every op the engine answers. */
static void session_to_engine(const struct call *call)
{
	const struct proto_request *req = call->req;
	struct engine_req er;
	struct engine_wait *w;

	if (req->op == OP_STATUS) {
		size_t mlen, len;
		const char *members = engine_status_encoded(call->ctx->engine, call->office_id,
							    &mlen);

		if (members) {
			/* Answered from the office's encoded status: no tree to
			 * build or encode per poll. */
			char *line = proto_encode_ok_members(req->id, members, mlen, &len);

			metrics_request(OP_STATUS, PROTO_OK);
			call->reply(call->arg, line, len);
			return;
		}
	}
	er = (struct engine_req){
		.args = req,
		.office_id = call->office_id,
		.counter_id = call->who->role == ROLE_COUNTER ? call->who->counter_id : 0
	};
	w = pool_get(&wait_pool);
	w->id = req->id ? json_deep_copy(req->id) : NULL;
	w->op = (int)req->op;
	w->reply = call->reply;
	w->arg = call->arg;
	engine_submit(call->ctx->engine, &er, engine_answer, w);
}

/* One handler per op, from the op table's rows: an op without one does
 * not build. */
#define SESSION_HANDLER(E, n, h, r, req, opt, ctr, w) SESSION_HANDLER_##h(E, n)
#define SESSION_HANDLER_SESSION(E, n) [OP_##E] = session_op_##n,
#define SESSION_HANDLER_ENGINE(E, n) [OP_##E] = session_to_engine,
static const session_op_fn session_ops[OP__COUNT] = { PROTO_OPS(SESSION_HANDLER) };
#undef SESSION_HANDLER

/* The checks every op goes through, in the contract's order: unauthorized,
 * forbidden, bad argument, then not_found for the office. Answers a
 * refusal itself and returns -1; on 0, call->office_id is the office the
 * op acts on. */
static int check(struct call *call)
{
	const struct proto_request *req = call->req;
	const struct auth_identity *who = call->who;
	enum proto_role role = who ? who->role : ROLE_NONE;
	struct proto_error err;

	if (!proto_role_may(role, req->op)) {
		if (!who) {
			answer(call, PERR_UNAUTHORIZED, "say hello with a token first", NULL);
		} else {
			char msg[96];
			snprintf(msg, sizeof msg, "a %s token may not %s", proto_role_name(role),
				 proto_op_name(req->op));
			answer(call, PERR_FORBIDDEN, msg, NULL);
		}
		return -1;
	}
	if (proto_op_uses(req->op, ARG_OFFICE) && role != ROLE_ADMIN && req->office &&
	    strcmp(req->office, who->office)) {
		answer(call, PERR_FORBIDDEN, "this token is for another office", NULL);
		return -1;
	}
	if (proto_op_uses(req->op, ARG_COUNTER) && role == ROLE_COUNTER && req->counter &&
	    strcmp(req->counter, who->counter)) {
		answer(call, PERR_FORBIDDEN, "this token is for another counter", NULL);
		return -1;
	}
	if (proto_check_args(req, &err) < 0) {
		answer(call, err.code, err.message, NULL);
		return -1;
	}
	if (role == ROLE_ADMIN && proto_op_is_counter_op(req->op) && !req->counter) {
		answer(call, PERR_BAD_REQUEST, "missing field: counter", NULL);
		return -1;
	}
	call->office_id = who ? who->office_id : 0;
	if (role == ROLE_ADMIN && req->office && proto_op_uses(req->op, ARG_OFFICE)) {
		call->office_id = engine_office_id(call->ctx->engine, req->office);
		if (!call->office_id) {
			answer(call, PERR_NOT_FOUND, "no such office", NULL);
			return -1;
		}
	}
	return 0;
}

static void dispatch(struct call *call)
{
	if (check(call) == 0)
		session_ops[call->req->op](call);
}

/* ping needs nothing from a connection; the session's other ops are
 * about one. */
static bool needs_connection(enum proto_op op)
{
	return proto_op_spec(op)->handler == HANDLER_SESSION && op != OP_PING;
}

void session_request(struct session_ctx *ctx, const struct auth_identity *who, const char *body,
		     size_t len, session_reply_fn reply, void *arg)
{
	struct proto_request req;
	struct proto_error err;

	if (proto_decode(body, len, &req, &err) < 0) {
		send_answer(reply, arg, req.id, -1, err.code, err.message, NULL);
	} else if (needs_connection(req.op)) {
		char msg[160];
		snprintf(msg, sizeof msg,
			 "%s is not available over HTTP: the token goes with every request, "
			 "events come from GET /api/events",
			 proto_op_name(req.op));
		send_answer(reply, arg, req.id, (int)req.op, PERR_BAD_REQUEST, msg, NULL);
	} else {
		struct call call = {
			.ctx = ctx, .req = &req, .who = who, .reply = reply, .arg = arg
		};
		dispatch(&call);
	}
	proto_request_clear(&req);
}

static void session_line(void *arg, struct conn *c, const char *line, size_t len)
{
	struct session *s = conn_state(c);
	struct slot *slot = conn_slot_new(c);
	struct proto_request req;
	struct proto_error err;

	if (proto_decode(line, len, &req, &err) < 0) {
		send_answer(slot_reply, slot, req.id, -1, err.code, err.message, NULL);
	} else if (!conn_rate_take(c)) {
		send_answer(slot_reply, slot, req.id, (int)req.op, PERR_RATE_LIMITED,
			    "too many requests: slow down", NULL);
	} else {
		struct call call = { .ctx = arg,
				     .req = &req,
				     .who = s->authed ? &s->who : NULL,
				     .reply = slot_reply,
				     .arg = slot,
				     .conn = c };
		dispatch(&call);
	}
	proto_request_clear(&req);
}

static void *session_open(void *arg, struct conn *c)
{
	return pool_get(&session_pool);
}

static bool session_ready(void *state)
{
	const struct session *s = state;

	return !s->hello_pending && !s->said_bye;
}

static void session_free(void *state)
{
	pool_put(&session_pool, state);
}

void session_handler(struct session_ctx *ctx, struct server_handler *out)
{
	*out = (struct server_handler){
		.arg = ctx,
		.open = session_open,
		.ready = session_ready,
		.line = session_line,
		.too_large = session_too_large,
		.free = session_free,
	};
}

static void count_one(void *arg, struct conn *c)
{
	const struct session *s = conn_state(c);
	int *counts = arg;

	counts[s->authed ? s->who.role : ROLE_NONE]++;
}

void session_count_roles(struct server *srv, int counts[ROLE__COUNT])
{
	server_each_conn(srv, count_one, counts);
}

struct token_close {
	int token_id;
	int n;
};

static void close_if_token(void *arg, struct conn *c)
{
	const struct session *s = conn_state(c);
	struct token_close *tc = arg;

	if (s->authed && s->who.token_id == tc->token_id) {
		conn_close(c, "token revoked");
		tc->n++;
	}
}

int session_close_token(struct server *srv, int token_id)
{
	struct token_close tc = { token_id, 0 };

	server_each_conn(srv, close_if_token, &tc);
	return tc.n;
}

struct office_close {
	const char *office;
	int n;
};

static void close_if_office(void *arg, struct conn *c)
{
	const struct session *s = conn_state(c);
	struct office_close *oc = arg;

	if (s->authed && !strcmp(s->who.office, oc->office)) {
		conn_close(c, "office served elsewhere now");
		oc->n++;
	}
}

int session_close_office(struct server *srv, const char *office)
{
	struct office_close oc = { office, 0 };

	server_each_conn(srv, close_if_office, &oc);
	return oc.n;
}
