#include "daemon/net/session.h"
#include "daemon/net/server.h"
#include "daemon/net/auth.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/pool.h"
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_config.h"

static const char *const role_names[] = { "none", "kiosk", "counter", "display", "admin" };

const char *role_name(enum role r)
{
	return (unsigned)r < 5 ? role_names[r] : "none";
}

int role_parse(const char *s)
{
	for (int i = 1; i < 5; i++)
		if (!strcmp(s, role_names[i]))
			return i;
	return -1;
}

/* The contract's role table. */
static bool role_may(enum role r, enum proto_op op)
{
	switch (r) {
	case ROLE_ADMIN:
		return true;
	case ROLE_KIOSK:
		return op == OP_ISSUE || op == OP_CANCEL || op == OP_TICKET || op == OP_STATUS;
	case ROLE_COUNTER:
		return proto_op_is_counter_op(op) || op == OP_TICKET || op == OP_STATUS ||
		       op == OP_SUBSCRIBE;
	case ROLE_DISPLAY:
		return op == OP_STATUS || op == OP_TICKET || op == OP_SUBSCRIBE;
	default:
		return false;
	}
}

/* A request waiting for its answer: the slot keeps the reply order. */
struct pending {
	struct slot *slot;
	json_t *id;
	int op;                    /* for metrics; -1 when not decoded */
	bool close_after;
};

static struct pool pending_pool = POOL_INIT(struct pending, 4096);

/* The op of the line being handled, for metrics (-1: not decoded). */
static int current_op = -1;

static struct pending *pending_new(struct conn *c, const json_t *id)
{
	struct pending *p = pool_get(&pending_pool);
	p->slot = conn_slot_new(c);
	p->id = id ? json_deep_copy(id) : NULL;
	p->op = current_op;
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

static void answer_now(struct conn *c, const json_t *id, enum proto_err err,
		       const char *message, json_t *result, bool close_after)
{
	struct pending *p = pending_new(c, id);
	p->close_after = close_after;
	pending_answer(p, err, message, result);
}

void session_too_large(struct conn *c, size_t max_line)
{
	char msg[96];
	snprintf(msg, sizeof msg, "request line longer than %zu bytes", max_line);
	answer_now(c, NULL, PERR_TOO_LARGE, msg, NULL, true);
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
	struct session *s = conn_session(hw->c);

	s->hello_pending = false;
	if (err != PROTO_OK) {
		if (err == PERR_UNAUTHORIZED)
			auth_note_failure(hw->auth, conn_peer_host(hw->c), time(NULL));
		if (err == PERR_UNAUTHORIZED && !conn_is_closed(hw->c)) {
			log_info("C-%llu %s: hello refused: %s",
				 (unsigned long long)conn_id(hw->c), conn_peer(hw->c), message);
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
		s->role = (enum role)id->role;
		s->office_id = id->office_id;
		s->counter_id = id->counter_id;
		snprintf(s->office, sizeof s->office, "%s", id->office);
		snprintf(s->counter, sizeof s->counter, "%s", id->counter);
		log_info("C-%llu %s: hello as %s of office %s%s%s",
			 (unsigned long long)conn_id(hw->c), conn_peer(hw->c), role_name(s->role),
			 s->office, s->counter_id ? ", counter " : "", s->counter_id ? s->counter : "");
	}
	/* Lines that came after hello run now, answered after it in order. */
	conn_resume(hw->c);
	pending_answer(hw->p, PROTO_OK, NULL,
		       json_pack("{s:i, s:s, s:s, s:s, s:o}", "protocol", PROTO_VERSION,
				 "server", "kolappd/" PACKAGE_VERSION, "role", role_name((enum role)id->role),
				 "office", id->office,
				 "counter", id->counter_id ? json_string(id->counter) : json_null()));
	free(hw);
}

static void handle(struct session_ctx *ctx, struct conn *c, struct proto_request *req)
{
	struct session *s = conn_session(c);
	struct proto_error err;
	struct engine_req er;
	int office_id;

	switch (req->op) {
	case OP_PING:
		answer_now(c, req->id, PROTO_OK, NULL, NULL, false);
		return;
	case OP_BYE:
		s->said_bye = true;
		answer_now(c, req->id, PROTO_OK, NULL, NULL, true);
		return;
	case OP_HELLO: {
		if (proto_check_args(req, &err) < 0) {
			answer_now(c, req->id, err.code, err.message, NULL, false);
			return;
		}
		if (auth_is_blocked(ctx->auth, conn_peer_host(c), time(NULL))) {
			answer_now(c, req->id, PERR_RATE_LIMITED,
				   "too many failed hellos from this address: try again later",
				   NULL, false);
			return;
		}
		struct hello_wait *hw = calloc(1, sizeof *hw);
		if (!hw)
			abort();
		hw->c = c;
		hw->auth = ctx->auth;
		hw->p = pending_new(c, req->id);
		s->hello_pending = true;
		auth_lookup(ctx->auth, req->token, conn_peer_host(c), hello_done, hw);
		return;
	}
	default:
		break;
	}
	if (!s->authed) {
		answer_now(c, req->id, PERR_UNAUTHORIZED, "say hello with a token first", NULL, false);
		return;
	}
	if (!role_may(s->role, req->op)) {
		char msg[96];
		snprintf(msg, sizeof msg, "a %s token may not %s", role_name(s->role),
			 proto_op_name(req->op));
		answer_now(c, req->id, PERR_FORBIDDEN, msg, NULL, false);
		return;
	}
	if (s->role != ROLE_ADMIN && req->office && strcmp(req->office, s->office)) {
		answer_now(c, req->id, PERR_FORBIDDEN, "this token is for another office", NULL, false);
		return;
	}
	if (s->role == ROLE_COUNTER && req->counter && strcmp(req->counter, s->counter)) {
		answer_now(c, req->id, PERR_FORBIDDEN, "this token is for another counter", NULL, false);
		return;
	}
	if (proto_check_args(req, &err) < 0) {
		answer_now(c, req->id, err.code, err.message, NULL, false);
		return;
	}
	if (s->role == ROLE_ADMIN && proto_op_is_counter_op(req->op) && !req->counter) {
		answer_now(c, req->id, PERR_BAD_REQUEST, "missing field: counter", NULL, false);
		return;
	}
	office_id = s->office_id;
	if (s->role == ROLE_ADMIN && req->office) {
		office_id = engine_office_id(ctx->engine, req->office);
		if (!office_id) {
			answer_now(c, req->id, PERR_NOT_FOUND, "no such office", NULL, false);
			return;
		}
	}
	if (req->op == OP_SUBSCRIBE) {
		if (!engine_office_code(ctx->engine, office_id)) {
			answer_now(c, req->id, PERR_NOT_FOUND, "no such office", NULL, false);
			return;
		}
		conn_subscribe(c, office_id);
		answer_now(c, req->id, PROTO_OK, NULL, NULL, false);
		return;
	}
	if (req->op == OP_STATUS) {
		size_t mlen, len;
		const char *members = engine_status_encoded(ctx->engine, office_id, &mlen);

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
	memset(&er, 0, sizeof er);
	er.op = req->op;
	er.office_id = office_id;
	if (s->role == ROLE_COUNTER)
		er.counter_id = s->counter_id;
	else
		er.counter_name = req->counter;
	er.queue = req->queue;
	er.ticket = req->ticket;
	er.key = req->key;
	engine_submit(ctx->engine, &er, engine_answer, pending_new(c, req->id));
}

void session_on_line(struct session_ctx *ctx, struct conn *c, const char *line, size_t len)
{
	struct proto_request req;
	struct proto_error err;

	current_op = -1;
	if (proto_decode(line, len, &req, &err) < 0)
		answer_now(c, req.id, err.code, err.message, NULL, false);
	else if ((current_op = (int)req.op), !conn_rate_take(c))
		answer_now(c, req.id, PERR_RATE_LIMITED, "too many requests: slow down", NULL, false);
	else
		handle(ctx, c, &req);
	proto_request_clear(&req);
}
