/* In-doubt batches: a write batch whose COMMIT was sent when the
 * connection dropped is answered only once the database says whether it
 * committed (sql/003_batches.sql, d_batch_resolve), so that nothing is
 * acknowledged that was not, nor refused that was. */
#include "daemon/store/pgw_int.h"
#include "daemon/store/pgw_job.h"
#include "daemon/util/log.h"

#include <stdio.h>
#include <string.h>

/* One question per in-doubt batch, asked before anything else is sent. */
void pgw_indoubt_ask(struct pgw *pgw)
{
	for (struct pgw_job *d = pgw->indoubt; d; d = d->next) {
		struct pgw_job *q = pgw_job_new(false);
		char pid[16];
		snprintf(pid, sizeof pid, "%d", pgw->old_pid);
		const char *v[] = { d->token, pid };
		q->internal = true;
		q->resolves = d;
		pgw_job_add(q, "d_batch_resolve", 2, v);
		q->seq = pgw->next_seq++;
		pgw_queue_front(pgw, q);
	}
}

void pgw_indoubt_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgw *pgw = arg;

	if (pgw->state != PGW_PREPARING || !pgw->indoubt)
		return;
	pgw_indoubt_ask(pgw);
	pgw_kick(pgw);
}

/* The database said what became of an in-doubt batch. */
void pgw_indoubt_answered(struct pgw *pgw, struct pgw_job *target, const char *outcome)
{
	static const struct timeval soon = { 0, 100000 };
	struct pgw_job **pp;

	if (!strcmp(outcome, "pending")) {
		/* The old backend was still there and has been asked to end. */
		if (!evtimer_pending(pgw->resolve_retry, NULL))
			evtimer_add(pgw->resolve_retry, &soon);
		return;
	}
	for (pp = &pgw->indoubt; *pp && *pp != target; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = target->next;
	log_info("%s: in-doubt batch %llu %s", pgw->name, (unsigned long long)target->seq,
		 !strcmp(outcome, "committed") ? "had committed" : "had not committed");
	if (!strcmp(outcome, "committed")) {
		/* Results of its statements are gone; writers need only "ok". */
		pgw_job_finish(target, true, NULL);
	} else {
		pgw_job_finish(target, false, "database connection lost before the commit");
	}
}

void pgw_forget_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgw *pgw = arg;
	struct pgw_job *job;

	if (pgw->state != PGW_UP)
		return;
	job = pgw_job_new(false);
	pgw_job_add(job, "d_batch_forget", 0, NULL);
	pgw_submit(pgw, job);
}
