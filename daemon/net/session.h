/*
 * session: what one client connection may do. Owns the per-connection
 * identity (role, office, counter) and turns each request line into a
 * reply: decoding, hello, the role table of the contract, then the
 * engine. The contract's error precedence is decided here.
 */
#ifndef KOLAPP_SESSION_H
#define KOLAPP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct engine;
struct auth;

enum role { ROLE_NONE = 0, ROLE_KIOSK, ROLE_COUNTER, ROLE_DISPLAY, ROLE_ADMIN };

const char *role_name(enum role r);
int role_parse(const char *s);

struct session {
	bool hello_pending;        /* later lines wait: they depend on the identity */
	bool said_bye;             /* nothing after bye is read */
	bool authed;
	int token_id;
	enum role role;
	int office_id;
	int counter_id;
	char office[40];
	char counter[40];
};

struct session_ctx {
	struct engine *engine;
	struct auth *auth;
};

/* Handles one request line (without its terminator). */
void session_on_line(struct session_ctx *ctx, struct conn *c, const char *line, size_t len);
/* Answers a line over the limit with too_large and closes. */
void session_too_large(struct conn *c, size_t max_line);

#endif
