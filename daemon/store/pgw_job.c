/* Building, sending, finishing and freeing pgw jobs (see pgw_job.h). */
#include "daemon/store/pgw_job.h"
#include "daemon/store/pgarray.h"
#include "daemon/store/pgw_order.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct pgw_job *pgw_job_new(bool transaction)
{
	struct pgw_job *job = xcalloc(1, sizeof *job);
	job->transaction = transaction;
	clock_gettime(CLOCK_MONOTONIC, &job->queued_at);
	return job;
}

void pgw_job_add(struct pgw_job *job, const char *stmt, int nparams, const char *const *values)
{
	pgw_job_add_cmd(job, CMD_EXEC_PREPARED, stmt, nparams, values);
}

void pgw_job_add_rows(struct pgw_job *job, const char *stmt, pgw_rows_fn fn, void *arg)
{
	pgw_job_add_cmd(job, CMD_EXEC_PREPARED, stmt, 0, NULL);
	job->cmds[job->ncmds - 1].rows = fn;
	job->cmds[job->ncmds - 1].rows_arg = arg;
}

void pgw_job_add_cmd(struct pgw_job *job, enum pgw_cmd_kind kind, const char *stmt, int nparams,
		     const char *const *values)
{
	struct pgw_cmd *c;

	if (job->ncmds == job->cap) {
		job->cap = job->cap ? job->cap * 2 : 8;
		job->cmds = xrealloc(job->cmds, (size_t)job->cap * sizeof *job->cmds);
	}
	c = &job->cmds[job->ncmds++];
	c->kind = kind;
	c->prepare_nparams = 0;
	c->rows = NULL;
	c->rows_arg = NULL;
	c->nparams = nparams;
	/* One block per statement, not one per value: a batch holds
	 * thousands of them. */
	{
		size_t lens[16],
			size = (size_t)nparams * sizeof *c->values, slen = strlen(stmt) + 1;
		char *p;

		if (nparams > 16)
			abort(); /* no statement of ours has more */
		for (int i = 0; i < nparams; i++) {
			lens[i] = values[i] ? strlen(values[i]) + 1 : 0;
			size += lens[i];
		}
		c->values = xcalloc(1, size + slen);
		p = (char *)(c->values + nparams);
		for (int i = 0; i < nparams; i++) {
			if (!values[i])
				continue;
			memcpy(p, values[i], lens[i]);
			c->values[i] = p;
			p += lens[i];
		}
		memcpy(p, stmt, slen);
		c->stmt = p;
	}
}

void pgw_job_on_done(struct pgw_job *job, pgw_done_fn fn, void *arg)
{
	if (job->ncbs == job->cbcap) {
		job->cbcap = job->cbcap ? job->cbcap * 2 : 4;
		job->cbs = xrealloc(job->cbs, (size_t)job->cbcap * sizeof *job->cbs);
	}
	job->cbs[job->ncbs++] = (struct pgw_cb){ fn, arg, NULL };
}

void pgw_job_on_done_owned(struct pgw_job *job, pgw_done_fn fn, void *arg)
{
	pgw_job_on_done_owned_by(job, fn, arg, free);
}

void pgw_job_on_done_owned_by(struct pgw_job *job, pgw_done_fn fn, void *arg,
			      void (*free_arg)(void *arg))
{
	pgw_job_on_done(job, fn, arg);
	job->cbs[job->ncbs - 1].free_arg = free_arg;
}

void pgw_job_fence(struct pgw_job *job, int office_id, int64_t epoch)
{
	if (job->nfence && job->fence_office[job->nfence - 1] == office_id &&
	    job->fence_epoch[job->nfence - 1] == epoch)
		return;
	for (int i = 0; i < job->nfence; i++)
		if (job->fence_office[i] == office_id && job->fence_epoch[i] == epoch)
			return;
	if (job->nfence == job->capfence) {
		job->capfence = job->capfence ? job->capfence * 2 : 4;
		job->fence_office = xrealloc(job->fence_office,
					     (size_t)job->capfence * sizeof *job->fence_office);
		job->fence_epoch = xrealloc(job->fence_epoch,
					    (size_t)job->capfence * sizeof *job->fence_epoch);
	}
	job->fence_office[job->nfence] = office_id;
	job->fence_epoch[job->nfence++] = epoch;
}

uint64_t pgw_job_seq(const struct pgw_job *job)
{
	return job->seq;
}
int pgw_job_size(const struct pgw_job *job)
{
	return job->ncmds;
}

void pgw_job_free(struct pgw_job *job)
{
	free(job->fence_office);
	free(job->fence_epoch);
	for (int i = 0; i < job->ncmds; i++)
		free(job->cmds[i].values);
	if (job->results) {
		for (int i = 0; i < job->ncmds; i++)
			if (job->results[i])
				PQclear(job->results[i]);
		free(job->results);
	}
	free(job->query_cmd);
	free(job->cmds);
	for (int i = 0; i < job->ncbs; i++)
		if (job->cbs[i].free_arg)
			job->cbs[i].free_arg(job->cbs[i].arg);
	free(job->cbs);
	free(job->error);
	free(job);
}

void pgw_job_finish(struct pgw_job *job, bool ok, const char *error)
{
	struct pgw_result res = {
		.ok = ok,
		.n = job->ncmds,
		.results = ok ? job->results : NULL,
		.error = error ? error : job->error,
		.seq = job->seq,
	};
	for (int i = 0; i < job->ncbs; i++)
		job->cbs[i].fn(job->cbs[i].arg, &res);
	pgw_job_free(job);
}

/* A run of executions of one statement that has a "many" form goes as
 * one execution of that, with an array per parameter. */
static const struct pgw_stmt *find_stmt(const struct pgw_stmt *stmts, int nstmts, const char *name)
{
	for (int i = 0; i < nstmts; i++)
		if (!strcmp(stmts[i].name, name))
			return &stmts[i];
	return NULL;
}

/* How many of the cmds at order[at..n) execute the same statement, when
 * it has a "many" form; 1 otherwise. stmt_of: each cmd's statement. */
static int run_length(const struct pgw_job *job, const struct pgw_stmt *const *stmt_of,
		      const int *order, int at)
{
	const struct pgw_stmt *st = stmt_of[order[at]];
	int j = at + 1;

	if (!st || !st->many)
		return 1;
	while (j < job->ncmds && stmt_of[order[j]] == st &&
	       job->cmds[order[j]].nparams == job->cmds[order[at]].nparams)
		j++;
	return j - at;
}

static bool send_many(PGconn *c, const struct pgw_stmt *st, struct pgw_job *job, const int *run,
		      int n)
{
	const struct pgw_cmd *cmd = &job->cmds[run[0]];
	char **arrays = xcalloc((size_t)cmd->nparams, sizeof *arrays);
	const char **column = xcalloc((size_t)n, sizeof *column);
	bool ok;

	for (int p = 0; p < cmd->nparams; p++) {
		for (int k = 0; k < n; k++)
			column[k] = job->cmds[run[k]].values[p];
		arrays[p] = pgarray_literal(column, n);
	}
	ok = PQsendQueryPrepared(c, st->many, cmd->nparams, (const char *const *)arrays, NULL, NULL,
				 0);
	for (int p = 0; p < cmd->nparams; p++)
		free(arrays[p]);
	free(arrays);
	free(column);
	return ok;
}

/* The order to send a job's cmds in: a transaction's regrouped so that
 * runs are long (pgw_order.h), anything else as added. Fills stmt_of with
 * each executed cmd's statement (NULL for the others), looked up once.
 * The caller frees the order. */
static int *send_order(const struct pgw_job *job, const struct pgw_stmt *stmts, int nstmts,
		       const struct pgw_stmt **stmt_of)
{
	int *order = xcalloc((size_t)job->ncmds + 1, sizeof *order);
	struct pgw_order_cmd *oc;

	for (int i = 0; i < job->ncmds; i++)
		stmt_of[i] = job->cmds[i].kind == CMD_EXEC_PREPARED
				   ? find_stmt(stmts, nstmts, job->cmds[i].stmt)
				   : NULL;
	if (!job->transaction) {
		for (int i = 0; i < job->ncmds; i++)
			order[i] = i;
		return order;
	}
	oc = xcalloc((size_t)job->ncmds + 1, sizeof *oc);
	for (int i = 0; i < job->ncmds; i++) {
		const struct pgw_cmd *cmd = &job->cmds[i];
		int p = stmt_of[i] && stmt_of[i]->many ? stmt_of[i]->order_param : 0;

		oc[i].stmt = cmd->stmt;
		oc[i].nparams = cmd->nparams;
		oc[i].key = p > 0 && p <= cmd->nparams ? cmd->values[p - 1] : NULL;
	}
	pgw_order(oc, job->ncmds, order);
	free(oc);
	return order;
}

bool pgw_job_send_cmds(struct pgw_job *job, PGconn *c, const struct pgw_stmt *stmts, int nstmts)
{
	const struct pgw_stmt **stmt_of = xcalloc((size_t)job->ncmds + 1, sizeof *stmt_of);
	int *order = send_order(job, stmts, nstmts, stmt_of);
	bool ok = true;

	job->query_cmd = xcalloc((size_t)job->ncmds, sizeof *job->query_cmd);
	for (int at = 0; ok && at < job->ncmds; at++) {
		struct pgw_cmd *cmd = &job->cmds[order[at]];
		int run;

		/* a run's result is its first command's */
		job->query_cmd[job->nqueries++] = order[at];
		switch (cmd->kind) {
		case CMD_PREPARE:
			ok = PQsendPrepare(c, cmd->stmt, cmd->values[0], cmd->prepare_nparams,
					   NULL);
			break;
		case CMD_EXEC_SQL:
			ok = PQsendQueryParams(c, cmd->stmt, 0, NULL, NULL, NULL, NULL, 0);
			break;
		case CMD_EXEC_PREPARED:
			run = job->transaction ? run_length(job, stmt_of, order, at) : 1;
			if (run > 1) {
				ok = send_many(c, stmt_of[order[at]], job, order + at, run);
				at += run - 1;
			} else {
				ok = PQsendQueryPrepared(c, cmd->stmt, cmd->nparams,
							 (const char *const *)cmd->values, NULL,
							 NULL, cmd->rows ? 1 : 0);
			}
			break;
		}
	}
	free(order);
	free(stmt_of);
	return ok;
}

/* The command the next result of job belongs to, or NULL (the mark, or
 * an error of the commit itself). */
const struct pgw_cmd *pgw_job_result_cmd(const struct pgw_job *job)
{
	int q = job->nres - (job->marked ? 1 : 0);
	int idx = q >= 0 && q < job->nqueries ? job->query_cmd[q] : -1;

	return idx >= 0 ? &job->cmds[idx] : NULL;
}
