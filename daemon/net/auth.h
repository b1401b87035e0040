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

struct pgw;
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

struct auth *auth_new(struct pgw *pgw);
void auth_free(struct auth *a);
/* SHA-256 of the token's bytes. */
void auth_hash_token(const char *token, uint8_t out[32]);
/* Looks the token up (asynchronously); calls done exactly once. `from`
 * (the peer's address) is recorded as the token's last use. */
void auth_lookup(struct auth *a, const char *token, const char *from, auth_done_fn done,
		 void *ctx);
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
