#include "daemon/tokens.h"
#include "daemon/store/pgw.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <libpq-fe.h>

struct lookup {
	auth_row_fn fn;
	void *arg;
};

/* Columns of d_token_lookup in daemon/store/statements.c. */
static void on_lookup(void *arg, const struct pgw_result *res)
{
	struct lookup l = *(struct lookup *)arg;
	const PGresult *r = res->ok ? res->results[0] : NULL;
	struct auth_row row;

	free(arg);
	if (!r) {
		l.fn(l.arg, AUTH_NO_DATABASE, NULL);
		return;
	}
	if (PQntuples(r) != 1) {
		l.fn(l.arg, AUTH_NOT_FOUND, NULL);
		return;
	}
	row = (struct auth_row){
		.token_id = atoi(PQgetvalue(r, 0, 0)),
		.role = PQgetvalue(r, 0, 1),
		.office_id = atoi(PQgetvalue(r, 0, 2)),
		.office = PQgetvalue(r, 0, 3),
		.counter_id = PQgetisnull(r, 0, 4) ? 0 : atoi(PQgetvalue(r, 0, 4)),
		.counter = PQgetisnull(r, 0, 5) ? NULL : PQgetvalue(r, 0, 5),
	};
	l.fn(l.arg, AUTH_FOUND, &row);
}

static void lookup(void *self, const char *hash_hex, auth_row_fn fn, void *arg)
{
	struct lookup *l = xmalloc(sizeof *l);
	struct pgw_job *job = pgw_job_new(false);
	const char *v[] = { hash_hex };

	*l = (struct lookup){ fn, arg };
	pgw_job_add(job, "d_token_lookup", 1, v);
	pgw_job_on_done(job, on_lookup, l);
	pgw_submit(self, job);
}

static void used(void *self, int token_id, const char *from)
{
	struct pgw_job *job = pgw_job_new(false);
	char id[16];

	snprintf(id, sizeof id, "%d", token_id);
	const char *v[] = { id, from };
	pgw_job_add(job, "d_token_used", 2, v);
	pgw_submit(self, job);
}

struct auth_source tokens_source(struct pgw *pgw)
{
	return (struct auth_source){ lookup, used, pgw };
}
