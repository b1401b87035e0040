/*
 * session: what a client may do. Owns the per-connection identity (role,
 * office, counter) and turns each request into a reply: decoding, hello,
 * the role rules of the op table (proto/ops.h), then the engine. The
 * contract's error precedence is decided here, once for both transports:
 * the server hands TCP lines over through the server_handler that
 * session_handler() fills, HTTP hands POST /api/op bodies to
 * session_request() with the identity its token gave.
 */
#ifndef KOLAPP_SESSION_H
#define KOLAPP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/ops.h"

struct conn;
struct engine;
struct auth_identity;
struct auth;
struct server;
struct server_handler;

struct session_ctx {
	struct engine *engine;
	struct auth *auth;
};

/* The handler the server calls for each connection (ctx must outlive
 * the server). */
void session_handler(struct session_ctx *ctx, struct server_handler *out);

/* Where one request's answer goes: the reply line, encoded as TCP sends
 * it (ending in "\n"; NULL only when out of memory), becomes the
 * callee's. */
typedef void (*session_reply_fn)(void *arg, char *line, size_t len);

/*
 * One request from a client without a connection of its own (HTTP's
 * POST /api/op), already identified as who (read during the call only). The
 * body is decoded and checked exactly as a TCP line after hello, and
 * answered through reply exactly once, possibly before this returns; a
 * change only after its commit. hello, bye and subscribe are about a
 * connection: bad_request.
 */
void session_request(struct session_ctx *ctx, const struct auth_identity *who, const char *body,
		     size_t len, session_reply_fn reply, void *arg);

/* Counts open connections by role (ROLE_NONE: no hello yet). */
void session_count_roles(struct server *srv, int counts[ROLE__COUNT]);
/* Closes every connection that said hello with this token; returns how many. */
int session_close_token(struct server *srv, int token_id);
/* Closes every connection of the office (its clients reconnect and are
 * sent to its new daemon); returns how many. */
int session_close_office(struct server *srv, const char *office);

#endif
