/*
 * vsecret: the visitor's secret, the key to a ticket's own page
 * (/t/<secret>). Owns the derivation (HMAC-SHA256 of the office's key
 * over the business day and the ticket's code: the same ticket always
 * gets the same secret, so an idempotent re-issue can give it again,
 * even from another daemon or after a restart), its hash (SHA-256, the
 * only form stored) and the hex forms the store speaks. No I/O.
 */
#ifndef KOLAPP_VSECRET_H
#define KOLAPP_VSECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSECRET_KEY_MIN 32 /* bytes of an office's key */
#define VSECRET_KEY_MAX 64
#define VSECRET_BYTES 24 /* 192 bits of the HMAC: more than the 128 asked */
#define VSECRET_LEN 32   /* base64url characters of those bytes */
#define VSECRET_HASH 32  /* SHA-256 */

/* The secret of the ticket `code` of business day `day` (days since the
 * epoch) under key, as VSECRET_LEN base64url characters and a NUL. */
void vsecret_derive(const uint8_t *key, size_t keylen, int32_t day, const char *code,
		    char out[VSECRET_LEN + 1]);
/* SHA-256 of the secret's characters. */
void vsecret_hash(const char *secret, size_t len, uint8_t out[VSECRET_HASH]);
/* True when s is VSECRET_LEN base64url characters (what a URL may name). */
bool vsecret_well_formed(const char *s, size_t len);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void vsecret_hex(const uint8_t *in, size_t n, char *out);
/* Parses hex into at most max bytes; the count, or -1 when malformed. */
int vsecret_unhex(const char *hex, uint8_t *out, size_t max);

#endif
