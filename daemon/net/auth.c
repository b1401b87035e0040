#include "daemon/net/auth.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>

struct cached {
	uint8_t hash[32];
	struct auth_identity id;
	int64_t recorded_s; /* when its use was last written */
};

#define FAIL_SLOTS 1024       /* addresses tracked; the oldest is reused */
#define USE_RECORD_EVERY_S 60 /* last-use writes per token at most this often */

struct fail_slot {
	char host[64];
	int count;
	int64_t window_start, blocked_until;
};

struct auth {
	struct auth_source src;
	struct cached *cache;
	int ncache, capcache;
	struct fail_slot fails[FAIL_SLOTS];
};

struct lookup {
	struct auth *a;
	uint8_t hash[32];
	char from[64];
	auth_done_fn done;
	void *ctx;
};

struct auth *auth_new(const struct auth_source *src)
{
	struct auth *a = xcalloc(1, sizeof *a);
	a->src = *src;
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	OPENSSL_cleanse(a->cache, (size_t)a->capcache * sizeof *a->cache);
	free(a->cache);
	free(a);
}

void auth_hash_token(const char *token, uint8_t out[32])
{
	unsigned int n = 32;
	EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL);
}

static struct cached *cache_find(struct auth *a, const uint8_t hash[32])
{
	struct cached *hit = NULL;
	/* Constant time in the hash: scan everything, compare without early exit. */
	for (int i = 0; i < a->ncache; i++)
		if (!CRYPTO_memcmp(a->cache[i].hash, hash, 32))
			hit = &a->cache[i];
	return hit;
}

static struct cached *cache_put(struct auth *a, const uint8_t hash[32],
				const struct auth_identity *id)
{
	struct cached *c = cache_find(a, hash);

	if (!c) {
		if (a->ncache == a->capcache) {
			a->capcache = a->capcache ? a->capcache * 2 : 16;
			a->cache = xrealloc(a->cache, (size_t)a->capcache * sizeof *a->cache);
		}
		c = &a->cache[a->ncache++];
		memset(c, 0, sizeof *c);
		memcpy(c->hash, hash, 32);
	}
	c->id = *id;
	return c;
}

void auth_forget(struct auth *a, int token_id)
{
	for (int i = 0; i < a->ncache; i++)
		if (a->cache[i].id.token_id == token_id) {
			a->cache[i] = a->cache[--a->ncache];
			i--;
		}
}

/* Last use is bookkeeping, not authorisation: written at most once a
 * minute per token, in its own small job that nobody waits for. */
static void record_use(struct auth *a, struct cached *c, const char *from)
{
	int64_t now = time(NULL);

	if (now - c->recorded_s < USE_RECORD_EVERY_S)
		return;
	c->recorded_s = now;
	a->src.used(a->src.self, c->id.token_id, from);
}

static struct fail_slot *fail_find(struct auth *a, const char *host, bool create, int64_t now)
{
	struct fail_slot *oldest = &a->fails[0];

	for (int i = 0; i < FAIL_SLOTS; i++) {
		struct fail_slot *f = &a->fails[i];
		if (f->host[0] && !strcmp(f->host, host))
			return f;
		if (f->window_start < oldest->window_start)
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof *oldest);
	snprintf(oldest->host, sizeof oldest->host, "%s", host);
	oldest->window_start = now;
	return oldest;
}

bool auth_is_blocked(struct auth *a, const char *host, int64_t now_s)
{
	struct fail_slot *f = fail_find(a, host, false, now_s);
	return f && f->blocked_until > now_s;
}

void auth_note_failure(struct auth *a, const char *host, int64_t now_s)
{
	struct fail_slot *f = fail_find(a, host, true, now_s);

	if (now_s - f->window_start > AUTH_FAIL_WINDOW_S) {
		f->window_start = now_s;
		f->count = 0;
	}
	if (++f->count >= AUTH_FAIL_MAX) {
		f->blocked_until = now_s + AUTH_BLOCK_S;
		f->count = 0;
		f->window_start = now_s;
		log_warn("%s: %d failed hellos: refusing hello for %d s", host, AUTH_FAIL_MAX,
			 AUTH_BLOCK_S);
	}
}

static void cache_drop(struct auth *a, const uint8_t hash[32])
{
	struct cached *c = cache_find(a, hash);
	if (c)
		*c = a->cache[--a->ncache];
}

static void on_lookup(void *arg, enum auth_found found, const struct auth_row *row)
{
	struct lookup *l = arg;
	struct auth_identity id;
	struct cached *c;
	int role;

	if (found == AUTH_NO_DATABASE) {
		/* The database is away: trust what it told us before. */
		c = cache_find(l->a, l->hash);
		if (c)
			l->done(l->ctx, PROTO_OK, NULL, &c->id);
		else
			l->done(l->ctx, PERR_UNAVAILABLE,
				"the database is unreachable: cannot check the token", NULL);
		free(l);
		return;
	}
	role = found == AUTH_FOUND ? proto_role_parse(row->role) : -1;
	if (role <= 0) {
		cache_drop(l->a, l->hash);
		l->done(l->ctx, PERR_UNAUTHORIZED, "invalid token", NULL);
		free(l);
		return;
	}
	memset(&id, 0, sizeof id);
	id.token_id = row->token_id;
	id.role = (enum proto_role)role;
	id.office_id = row->office_id;
	snprintf(id.office, sizeof id.office, "%s", row->office);
	if (row->counter) {
		id.counter_id = row->counter_id;
		snprintf(id.counter, sizeof id.counter, "%s", row->counter);
	}
	c = cache_put(l->a, l->hash, &id);
	record_use(l->a, c, l->from);
	l->done(l->ctx, PROTO_OK, NULL, &id);
	free(l);
}

void auth_lookup(struct auth *a, const char *token, const char *from, auth_done_fn done, void *ctx)
{
	struct lookup *l = xcalloc(1, sizeof *l);
	char hex[2 + 64 + 1] = "\\x";
	static const char digits[] = "0123456789abcdef";
	l->a = a;
	snprintf(l->from, sizeof l->from, "%s", from ? from : "");
	l->done = done;
	l->ctx = ctx;
	auth_hash_token(token, l->hash);
	for (int i = 0; i < 32; i++) {
		hex[2 + 2 * i] = digits[l->hash[i] >> 4];
		hex[3 + 2 * i] = digits[l->hash[i] & 15];
	}
	hex[66] = '\0';
	a->src.lookup(a->src.self, hex, on_lookup, l);
}
