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
	int token_id;
	enum proto_role role;
	int office_id;
	int counter_id;
	char office[40];
	char counter[40];
};

static struct pool session_pool = POOL_INIT(struct session, 4096);

/* A request waiting for its answer: the slot keeps the reply order. */
struct pending {
	struct slot *slot;
	json_t *id;
	int op; /* for metrics; -1 when not decoded */
	bool close_after;
};

static struct pool pending_pool = POOL_INIT(struct pending, 4096);

/* op: for metrics; -1 when the line was not decoded. */
static struct pending *pending_new(struct conn *c, const json_t *id, int op)
{
	struct pending *p = pool_get(&pending_pool);
	p->slot = conn_slot_new(c);
	p->id = id ? json_deep_copy(id) : NULL;
	p->op = op;
	return p;
}

static void pending_answer(struct pending *p, enum proto_err err, const char *message,
			   json_t *result)
{
	size_t len = 0;
	char *line = err == PROTO_OK ? proto_encode_ok(p->id, result, &len)
				     : proto_encode_error(p->id, err, message, &len);
	metrics_request(p->op, err);
	slot_complete(p->slot, line, len, p->close_after);
	json_decref(result);
	json_decref(p->id);
	pool_put(&pending_pool, p);
}

static void engine_answer(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	pending_answer(ctx, err, message, result);
}

static void answer_now(struct conn *c, const json_t *id, int op, enum proto_err err,
		       const char *message, json_t *result, bool close_after)
{
	struct pending *p = pending_new(c, id, op);
	p->close_after = close_after;
	pending_answer(p, err, message, result);
}

static void session_too_large(void *arg, struct conn *c, size_t max_line)
{
	char msg[96];
	snprintf(msg, sizeof msg, "request line longer than %zu bytes", max_line);
	answer_now(c, NULL, -1, PERR_TOO_LARGE, msg, NULL, true);
}

struct hello_wait {
	struct pending *p;
	struct conn *c;
	struct auth *auth;
};

static void hello_done(void *ctx, enum proto_err err, const char *message,
		       const struct auth_identity *id)
{
	struct hello_wait *hw = ctx;
	struct session *s = conn_state(hw->c);

	s->hello_pending = false;
	if (err != PROTO_OK) {
		if (err == PERR_UNAUTHORIZED)
			auth_note_failure(hw->auth, conn_peer_host(hw->c), time(NULL));
		if (err == PERR_UNAUTHORIZED && !conn_is_closed(hw->c)) {
			log_info("C-%llu %s: hello refused: %s", (unsigned long long)conn_id(hw->c),
				 conn_peer(hw->c), message);
			s->authed = false;
			conn_subscribe(hw->c, 0);
		}
		conn_resume(hw->c);
		pending_answer(hw->p, err, message, NULL);
		free(hw);
		return;
	}
	if (!conn_is_closed(hw->c)) {
		/* A new identity subscribes afresh, if its role may. */
		conn_subscribe(hw->c, 0);
		conn_set_authenticated(hw->c);
		s->authed = true;
		s->token_id = id->token_id;
		s->role = id->role;
		s->office_id = id->office_id;
		s->counter_id = id->counter_id;
		snprintf(s->office, sizeof s->office, "%s", id->office);
		snprintf(s->counter, sizeof s->counter, "%s", id->counter);
		log_info("C-%llu %s: hello as %s of office %s%s%s",
			 (unsigned long long)conn_id(hw->c), conn_peer(hw->c),
			 proto_role_name(s->role), s->office, s->counter_id ? ", counter " : "",
			 s->counter_id ? s->counter : "");
	}
	/* Lines that came after hello run now, answered after it in order. */
	conn_resume(hw->c);
	pending_answer(hw->p, PROTO_OK, NULL,
		       json_pack("{s:i, s:i, s:s, s:s, s:s, s:o}", "protocol", PROTO_VERSION,
				 "minor", PROTO_MINOR, "server", "kolappd/" PACKAGE_VERSION, "role",
				 proto_role_name(id->role), "office", id->office, "counter",
				 id->counter_id ? json_string(id->counter) : json_null()));
	free(hw);
}

/* What an op acts on once the session's checks have passed. */
struct target {
	int office_id;
};

typedef void (*session_op_fn)(struct session_ctx *ctx, struct conn *c,
			      const struct proto_request *req, const struct target *tg);

static void session_op_ping(struct session_ctx *ctx, struct conn *c,
			    const struct proto_request *req, const struct target *tg)
{
	answer_now(c, req->id, OP_PING, PROTO_OK, NULL, NULL, false);
}

static void session_op_bye(struct session_ctx *ctx, struct conn *c, const struct proto_request *req,
			   const struct target *tg)
{
	struct session *s = conn_state(c);

	s->said_bye = true;
	answer_now(c, req->id, OP_BYE, PROTO_OK, NULL, NULL, true);
}

static void session_op_hello(struct session_ctx *ctx, struct conn *c,
			     const struct proto_request *req, const struct target *tg)
{
	struct session *s = conn_state(c);
	struct hello_wait *hw;

	if (auth_is_blocked(ctx->auth, conn_peer_host(c), time(NULL))) {
		answer_now(c, req->id, OP_HELLO, PERR_RATE_LIMITED,
			   "too many failed hellos from this address: try again later", NULL,
			   false);
		return;
	}
	hw = xcalloc(1, sizeof *hw);
	hw->c = c;
	hw->auth = ctx->auth;
	hw->p = pending_new(c, req->id, OP_HELLO);
	s->hello_pending = true;
	auth_lookup(ctx->auth, req->token, conn_peer_host(c), hello_done, hw);
}

static void session_op_subscribe(struct session_ctx *ctx, struct conn *c,
				 const struct proto_request *req, const struct target *tg)
{
	if (!engine_office_code(ctx->engine, tg->office_id)) {
		answer_now(c, req->id, OP_SUBSCRIBE, PERR_NOT_FOUND, "no such office", NULL, false);
		return;
	}
	conn_subscribe(c, tg->office_id);
	answer_now(c, req->id, OP_SUBSCRIBE, PROTO_OK, NULL, NULL, false);
}

/* Every op the engine answers. */
static void session_to_engine(struct session_ctx *ctx, struct conn *c,
			      const struct proto_request *req, const struct target *tg)
{
	struct session *s = conn_state(c);
	struct engine_req er;

	if (req->op == OP_STATUS) {
		size_t mlen, len;
		const char *members = engine_status_encoded(ctx->engine, tg->office_id, &mlen);

		if (members) {
			/* Answered from the office's encoded status: no tree to
			 * build or encode per poll. */
			struct slot *slot = conn_slot_new(c);
			char *line = proto_encode_ok_members(req->id, members, mlen, &len);

			metrics_request(OP_STATUS, PROTO_OK);
			slot_complete(slot, line, len, false);
			return;
		}
	}
	er = (struct engine_req){ .args = req,
				  .office_id = tg->office_id,
				  .counter_id = s->role == ROLE_COUNTER ? s->counter_id : 0 };
	engine_submit(ctx->engine, &er, engine_answer, pending_new(c, req->id, req->op));
}

/* One handler per op, from the op table's rows: an op without one does
 * not build. */
#define SESSION_HANDLER(E, n, h, r, req, opt, ctr, w) SESSION_HANDLER_##h(E, n)
#define SESSION_HANDLER_SESSION(E, n) [OP_##E] = session_op_##n,
#define SESSION_HANDLER_ENGINE(E, n) [OP_##E] = session_to_engine,
static const session_op_fn session_ops[OP__COUNT] = { PROTO_OPS(SESSION_HANDLER) };
#undef SESSION_HANDLER

/* The checks every op goes through, in the contract's order: unauthorized,
 * forbidden, bad argument, then not_found for the office. */
static void handle(struct session_ctx *ctx, struct conn *c, const struct proto_request *req)
{
	struct session *s = conn_state(c);
	enum proto_role role = s->authed ? s->role : ROLE_NONE;
	struct proto_error err;
	struct target tg = { .office_id = s->office_id };
	int op = (int)req->op;

	if (!proto_role_may(role, req->op)) {
		if (!s->authed)
			answer_now(c, req->id, op, PERR_UNAUTHORIZED,
				   "say hello with a token first", NULL, false);
		else {
			char msg[96];
			snprintf(msg, sizeof msg, "a %s token may not %s", proto_role_name(role),
				 proto_op_name(req->op));
			answer_now(c, req->id, op, PERR_FORBIDDEN, msg, NULL, false);
		}
		return;
	}
	if (proto_op_uses(req->op, ARG_OFFICE) && role != ROLE_ADMIN && req->office &&
	    strcmp(req->office, s->office)) {
		answer_now(c, req->id, op, PERR_FORBIDDEN, "this token is for another office", NULL,
			   false);
		return;
	}
	if (proto_op_uses(req->op, ARG_COUNTER) && role == ROLE_COUNTER && req->counter &&
	    strcmp(req->counter, s->counter)) {
		answer_now(c, req->id, op, PERR_FORBIDDEN, "this token is for another counter",
			   NULL, false);
		return;
	}
	if (proto_check_args(req, &err) < 0) {
		answer_now(c, req->id, op, err.code, err.message, NULL, false);
		return;
	}
	if (role == ROLE_ADMIN && proto_op_is_counter_op(req->op) && !req->counter) {
		answer_now(c, req->id, op, PERR_BAD_REQUEST, "missing field: counter", NULL, false);
		return;
	}
	if (role == ROLE_ADMIN && req->office && proto_op_uses(req->op, ARG_OFFICE)) {
		tg.office_id = engine_office_id(ctx->engine, req->office);
		if (!tg.office_id) {
			answer_now(c, req->id, op, PERR_NOT_FOUND, "no such office", NULL, false);
			return;
		}
	}
	session_ops[req->op](ctx, c, req, &tg);
}

static void session_line(void *arg, struct conn *c, const char *line, size_t len)
{
	struct proto_request req;
	struct proto_error err;

	if (proto_decode(line, len, &req, &err) < 0)
		answer_now(c, req.id, -1, err.code, err.message, NULL, false);
	else if (!conn_rate_take(c))
		answer_now(c, req.id, (int)req.op, PERR_RATE_LIMITED,
			   "too many requests: slow down", NULL, false);
	else
		handle(arg, c, &req);
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

	counts[s->authed ? s->role : ROLE_NONE]++;
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

	if (s->authed && s->token_id == tc->token_id) {
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
