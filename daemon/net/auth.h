/*
 * auth: tokens. Owns the token hashing (SHA-256; the database stores
 * only hashes) and a cache of identities seen, used only while the
 * database cannot be reached. Never logs or keeps a token itself.
 */
#ifndef KOLAPP_AUTH_H
#define KOLAPP_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "proto/proto.h"

struct auth;

struct auth_identity {
	int token_id;
	enum proto_role role;
	int office_id;
	int counter_id;
	char office[40];
	char counter[40];
};

/* err == PROTO_OK with id, or unauthorized / unavailable. */
typedef void (*auth_done_fn)(void *ctx, enum proto_err err, const char *message,
			     const struct auth_identity *id);

/* A token as the database knows it (strings valid during the callback). */
struct auth_row {
	int token_id;
	const char *role; /* "kiosk", ... */
	int office_id;
	const char *office;
	int counter_id;      /* 0: none */
	const char *counter; /* NULL: none */
};

enum auth_found { AUTH_FOUND, AUTH_NOT_FOUND, AUTH_NO_DATABASE };
/* row is set only with AUTH_FOUND. */
typedef void (*auth_row_fn)(void *arg, enum auth_found found, const struct auth_row *row);

/* Where tokens are looked up: the database, wired in by main (so that
 * this module needs no database code) and replaced in tests. */
struct auth_source {
	/* Looks up the SHA-256 of a token, as "\\x" and 64 hex digits;
	 * fn runs once, never inside this call. */
	void (*lookup)(void *self, const char *hash_hex, auth_row_fn fn, void *arg);
	/* Records the token's use; nobody waits for it. */
	void (*used)(void *self, int token_id, const char *from);
	void *self;
};

/* src is copied. */
struct auth *auth_new(const struct auth_source *src);
void auth_free(struct auth *a);
/* SHA-256 of the token's bytes. */
void auth_hash_token(const char *token, uint8_t out[32]);
/* Looks the token up (asynchronously); calls done exactly once. `from`
 * (the peer's address) is recorded as the token's last use. */
void auth_lookup(struct auth *a, const char *token, const char *from, auth_done_fn done, void *ctx);
/* Drops a revoked token from the outage cache. */
void auth_forget(struct auth *a, int token_id);

/* Failed hellos per address: after AUTH_FAIL_MAX within AUTH_FAIL_WINDOW_S
 * the address is refused (rate_limited) for AUTH_BLOCK_S. */
#define AUTH_FAIL_MAX 10
#define AUTH_FAIL_WINDOW_S 60
#define AUTH_BLOCK_S 60
bool auth_is_blocked(struct auth *a, const char *host, int64_t now_s);
void auth_note_failure(struct auth *a, const char *host, int64_t now_s);

#endif
