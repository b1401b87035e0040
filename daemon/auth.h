/*
 * auth: tokens. Owns the token hashing (SHA-256; the database stores
 * only hashes) and a cache of identities seen, used only while the
 * database cannot be reached. Never logs or keeps a token itself.
 */
#ifndef KOLAPP_AUTH_H
#define KOLAPP_AUTH_H

#include <stdint.h>
#include "proto/proto.h"

struct pgw;
struct auth;

struct auth_identity {
	int role;                 /* enum role */
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
/* Looks the token up (asynchronously); calls done exactly once. */
void auth_lookup(struct auth *a, const char *token, auth_done_fn done, void *ctx);

#endif
