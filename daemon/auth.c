#include "daemon/auth.h"
#include "daemon/pgw.h"
#include "daemon/session.h"
#include "daemon/log.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct cached {
	uint8_t hash[32];
	struct auth_identity id;
};

struct auth {
	struct pgw *pgw;
	struct cached *cache;
	int ncache, capcache;
};

struct lookup {
	struct auth *a;
	uint8_t hash[32];
	auth_done_fn done;
	void *ctx;
};

struct auth *auth_new(struct pgw *pgw)
{
	struct auth *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	a->pgw = pgw;
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

static void cache_put(struct auth *a, const uint8_t hash[32], const struct auth_identity *id)
{
	struct cached *c = cache_find(a, hash);

	if (!c) {
		if (a->ncache == a->capcache) {
			a->capcache = a->capcache ? a->capcache * 2 : 16;
			a->cache = realloc(a->cache, (size_t)a->capcache * sizeof *a->cache);
			if (!a->cache)
				abort();
		}
		c = &a->cache[a->ncache++];
		memcpy(c->hash, hash, 32);
	}
	c->id = *id;
}

static void cache_drop(struct auth *a, const uint8_t hash[32])
{
	struct cached *c = cache_find(a, hash);
	if (c)
		*c = a->cache[--a->ncache];
}

static void on_lookup(void *arg, const struct pgw_result *res)
{
	struct lookup *l = arg;
	struct auth_identity id;
	struct cached *c;

	if (!res->ok) {
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
	PGresult *r = res->results[0];
	if (PQntuples(r) != 1) {
		cache_drop(l->a, l->hash);
		l->done(l->ctx, PERR_UNAUTHORIZED, "invalid token", NULL);
		free(l);
		return;
	}
	memset(&id, 0, sizeof id);
	id.role = role_parse(PQgetvalue(r, 0, 0));
	id.office_id = atoi(PQgetvalue(r, 0, 1));
	snprintf(id.office, sizeof id.office, "%s", PQgetvalue(r, 0, 2));
	if (!PQgetisnull(r, 0, 3)) {
		id.counter_id = atoi(PQgetvalue(r, 0, 3));
		snprintf(id.counter, sizeof id.counter, "%s", PQgetvalue(r, 0, 4));
	}
	if (id.role <= 0) {
		l->done(l->ctx, PERR_UNAUTHORIZED, "invalid token", NULL);
		free(l);
		return;
	}
	cache_put(l->a, l->hash, &id);
	l->done(l->ctx, PROTO_OK, NULL, &id);
	free(l);
}

void auth_lookup(struct auth *a, const char *token, auth_done_fn done, void *ctx)
{
	struct lookup *l = calloc(1, sizeof *l);
	char hex[2 + 64 + 1] = "\\x";
	static const char digits[] = "0123456789abcdef";
	struct pgw_job *job;

	if (!l)
		abort();
	l->a = a;
	l->done = done;
	l->ctx = ctx;
	auth_hash_token(token, l->hash);
	for (int i = 0; i < 32; i++) {
		hex[2 + 2 * i] = digits[l->hash[i] >> 4];
		hex[3 + 2 * i] = digits[l->hash[i] & 15];
	}
	hex[66] = '\0';
	const char *v[] = { hex };
	job = pgw_job_new(false);
	pgw_job_add(job, "d_token_lookup", 1, v);
	pgw_job_on_done(job, on_lookup, l);
	pgw_submit(a->pgw, job);
}
