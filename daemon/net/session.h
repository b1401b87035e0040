/*
 * session: what one client connection may do. Owns the per-connection
 * identity (role, office, counter) and turns each request line into a
 * reply: decoding, hello, the role rules of the op table (proto/ops.h),
 * then the engine. The contract's error precedence is decided here.
 * The server is its transport: it hands lines over through the
 * server_handler that session_handler() fills.
 */
#ifndef KOLAPP_SESSION_H
#define KOLAPP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/ops.h"

struct conn;
struct engine;
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

/* Counts open connections by role (ROLE_NONE: no hello yet). */
void session_count_roles(struct server *srv, int counts[ROLE__COUNT]);
/* Closes every connection that said hello with this token; returns how many. */
int session_close_token(struct server *srv, int token_id);

#endif
