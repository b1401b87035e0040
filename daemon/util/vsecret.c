/* The visitor's secret: derivation, hash and hex (see vsecret.h). */
#include "daemon/util/vsecret.h"

#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* OpenSSL 3 looks HMAC and SHA-256 up by name in its providers on every
 * one-shot HMAC() or EVP_Digest(EVP_sha256()): 1.1-1.9 us a secret,
 * against 0.6-1.1 with the lookups made once (two secrets and a hash an
 * issue). Fetched on first use and kept for the process, as OpenSSL keeps
 * its own; NULL where a lookup failed, and then the one-shot calls. */
static EVP_MAC_CTX *hmac_sha256(void)
{
	static EVP_MAC_CTX *tmpl;
	static bool tried;

	if (!tried) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256",
							 0),
			OSSL_PARAM_construct_end(),
		};

		tried = true;
		tmpl = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac); /* the context keeps its own reference */
		if (tmpl && !EVP_MAC_CTX_set_params(tmpl, params)) {
			EVP_MAC_CTX_free(tmpl);
			tmpl = NULL;
		}
	}
	return tmpl;
}

static const EVP_MD *sha256(void)
{
	static EVP_MD *md;
	static bool tried;

	if (!tried) {
		tried = true;
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	}
	return md ? md : EVP_sha256();
}

/* HMAC-SHA256 of msg under key into mac (32 bytes). */
static void hmac(const uint8_t *key, size_t keylen, const char *msg, size_t n,
		 unsigned char mac[EVP_MAX_MD_SIZE])
{
	EVP_MAC_CTX *ctx = hmac_sha256() ? EVP_MAC_CTX_dup(hmac_sha256()) : NULL;
	unsigned int maclen = 0;
	size_t outlen = 0;

	if (ctx && EVP_MAC_init(ctx, key, keylen, NULL) &&
	    EVP_MAC_update(ctx, (const unsigned char *)msg, n) &&
	    EVP_MAC_final(ctx, mac, &outlen, EVP_MAX_MD_SIZE) && outlen == 32) {
		EVP_MAC_CTX_free(ctx);
		return;
	}
	EVP_MAC_CTX_free(ctx);
	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, n, mac, &maclen);
}

void vsecret_derive(const uint8_t *key, size_t keylen, int32_t day, const char *code,
		    char out[VSECRET_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char msg[64];
	int n = snprintf(msg, sizeof msg, "kolapp-visitor/%ld/%s", (long)day, code);

	/* The message names its purpose, so that a key used elsewhere one
	 * day could not be made to sign a visitor's secret by accident. */
	hmac(key, keylen, msg, (size_t)n, mac);
	/* 24 bytes are 32 base64 characters exactly: no padding. */
	for (int i = 0, o = 0; i < VSECRET_BYTES; i += 3) {
		uint32_t v = (uint32_t)mac[i] << 16 | (uint32_t)mac[i + 1] << 8 | mac[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	out[VSECRET_LEN] = '\0';
}

void vsecret_hash(const char *secret, size_t len, uint8_t out[VSECRET_HASH])
{
	unsigned int n = VSECRET_HASH;

	EVP_Digest(secret, len, out, &n, sha256(), NULL);
}

bool vsecret_well_formed(const char *s, size_t len)
{
	if (len != VSECRET_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(b64url, s[i]))
			return false;
	return true;
}

void vsecret_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vsecret_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t len = hex ? strlen(hex) : 0;

	if (len % 2 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}
