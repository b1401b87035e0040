/* Building, finishing and freeing pgw jobs (see pgw_job.h). */
#include "daemon/store/pgw_job.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct pgw_job *pgw_job_new(bool transaction)
{
	struct pgw_job *job = xcalloc(1, sizeof *job);
	job->transaction = transaction;
	return job;
}

void pgw_job_add(struct pgw_job *job, const char *stmt, int nparams, const char *const *values)
{
	pgw_job_add_cmd(job, CMD_EXEC_PREPARED, stmt, nparams, values);
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
	job->cbs[job->ncbs++] = (struct pgw_cb){ fn, arg };
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
