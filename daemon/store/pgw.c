#include "daemon/store/pgw.h"
#include "daemon/store/pgw_job.h"
#include "daemon/store/pgw_int.h"
#include "daemon/store/pgarray.h"
#include "daemon/store/pgstart.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void pgw_io_cb(evutil_socket_t fd, short what, void *arg);
static void pgw_connect(struct pgw *pgw);

static void set_io(struct pgw *pgw, short what)
{
	int fd = pgw->conn ? PQsocket(pgw->conn) : -1;

	if (pgw->io && pgw->io_fd == fd && pgw->io_what == what)
		return;
	if (pgw->io) {
		event_free(pgw->io);
		pgw->io = NULL;
	}
	pgw->io_fd = fd;
	pgw->io_what = what;
	if (fd < 0 || !what)
		return;
	pgw->io = event_new(pgw->base, fd, what | EV_PERSIST, pgw_io_cb, pgw);
	event_add(pgw->io, NULL);
}

/* Fails every queued job (not the in-flight one: the caller does it). */
static void fail_queue(struct pgw *pgw, const char *why)
{
	struct pgw_job *job;

	while ((job = pgw->head)) {
		pgw->head = job->next;
		if (!pgw->head)
			pgw->tail = NULL;
		if (job->internal)
			pgw_job_free(job);
		else
			pgw_job_finish(job, false, why);
	}
}

static void schedule_retry(struct pgw *pgw)
{
	uint32_t r = 0;
	int delay;
	struct timeval tv;

	if (pgw->stopped)
		return;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (uint32_t)pgw->next_seq * 2654435761u;
	/* Full jitter in [backoff/2, backoff]: many daemons do not reconnect in step. */
	delay = pgw->backoff_ms / 2 + (int)(r % (uint32_t)(pgw->backoff_ms / 2 + 1));
	pgw->backoff_ms = pgw->backoff_ms * 2 > PGW_BACKOFF_MAX_MS ? PGW_BACKOFF_MAX_MS
								   : pgw->backoff_ms * 2;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(pgw->retry, &tv);
}

/* Drops the connection, fails everything pending, and retries later. */
static void pgw_lost(struct pgw *pgw, const char *why)
{
	bool notify = pgw->state == PGW_UP;
	struct pgw_job *job;
	char msg[512];

	snprintf(msg, sizeof msg, "%s", why && *why ? why : "connection lost");
	msg[strcspn(msg, "\n")] = '\0';
	if (!pgw->lost_logged) {
		log_warn("%s: %s; retrying in the background", pgw->name, msg);
		pgw->lost_logged = true;
	} else {
		log_debug("%s: still unreachable: %s", pgw->name, msg);
	}
	set_io(pgw, 0);
	if (pgw->conn) {
		if (pgw->last_write)
			pgw->old_pid = PQbackendPID(pgw->conn);
		PQfinish(pgw->conn);
		pgw->conn = NULL;
	}
	pgw->state = PGW_DOWN;
	pgw->last_write = NULL;
	for (; pgw->ninflight > 0; pgw->ninflight--) {
		job = pgw->head;
		pgw->head = job->next;
		if (!pgw->head)
			pgw->tail = NULL;
		if (job->internal) {
			pgw_job_free(job);
		} else if (job->marked) {
			/* Its COMMIT may have run: ask after reconnecting. In
			 * order, so that answers keep the order of the commits. */
			struct pgw_job **pp = &pgw->indoubt;
			while (*pp)
				pp = &(*pp)->next;
			job->next = NULL;
			*pp = job;
			log_warn("%s: batch %llu is in doubt; its answers wait for the "
				 "database",
				 pgw->name, (unsigned long long)job->seq);
		} else {
			pgw_job_finish(job, false, "database unavailable");
		}
	}
	fail_queue(pgw, "database unavailable");
	if (notify && pgw->on_state)
		pgw->on_state(pgw->state_arg, false);
	schedule_retry(pgw);
}

static void send_job(struct pgw *pgw, struct pgw_job *job)
{
	PGconn *c = pgw->conn;
	bool ok = true;

	job->results = xcalloc((size_t)job->ncmds, sizeof *job->results);
	if (job->transaction && !job->internal)
		metrics_write_queued(metrics_seconds_since(&job->queued_at));
	clock_gettime(CLOCK_MONOTONIC, &job->sent_at);
	/* No BEGIN/COMMIT: everything up to a pipeline's Sync is one implicit
	 * transaction, committed at the Sync and rolled back at it on any
	 * error. (An explicit BEGIN stays open after a failed statement, and
	 * the aborted transaction then swallowed every later job.) */
	if (job->transaction && !job->internal) {
		/* The batch before, still unanswered, may yet fail: then this
		 * one must not commit, for it was built on that one's effects. */
		const char *v[2] = { job->token, pgw->last_write ? pgw->last_write->token : NULL };
		snprintf(job->token, sizeof job->token, "%s-%llu", pgw->token_prefix,
			 (unsigned long long)job->seq);
		log_debug("%s: batch %llu sent (%d statements)%s", pgw->name,
			  (unsigned long long)job->seq, job->ncmds,
			  v[1] ? " behind an unanswered batch" : "");
		job->marked = true;
		if (job->nfence) {
			char *f[2] = { pgarray_int_literal(job->fence_office, NULL, job->nfence),
				       pgarray_int_literal(NULL, job->fence_epoch, job->nfence) };
			const char *vf[4] = { v[0], v[1], f[0], f[1] };
			ok = PQsendQueryPrepared(c, "d_batch_mark_fenced", 4, vf, NULL, NULL, 0);
			free(f[0]);
			free(f[1]);
		} else {
			ok = PQsendQueryPrepared(c, "d_batch_mark", 2, v, NULL, NULL, 0);
		}
		pgw->last_write = job;
	}
	if (ok)
		ok = pgw_job_send_cmds(job, c, pgw->stmts, pgw->nstmts);
	if (ok)
		ok = PQpipelineSync(c);
	if (!ok) {
		pgw_lost(pgw, PQerrorMessage(c));
		return;
	}
	job->sent = true;
	pgw->ninflight++;
	/* Write what libpq buffered; the rest goes when the socket allows. */
	switch (PQflush(c)) {
	case 0: set_io(pgw, EV_READ); break;
	case 1: set_io(pgw, EV_READ | EV_WRITE); break;
	default: pgw_lost(pgw, PQerrorMessage(c)); break;
	}
}

static struct pgw_job *first_unsent(const struct pgw *pgw)
{
	struct pgw_job *j = pgw->head;

	for (int i = 0; j && i < pgw->ninflight; i++)
		j = j->next;
	return j;
}

/* Sends queued jobs while the pipeline has room: one at a time until the
 * connection is up (statement preparation, in-doubt questions), then up
 * to PGW_PIPELINE_DEPTH. */
void pgw_kick(struct pgw *pgw)
{
	struct pgw_job *job;

	while (pgw->conn && (job = first_unsent(pgw))) {
		if (pgw->state == PGW_UP
			    ? pgw->ninflight >= PGW_PIPELINE_DEPTH
			    : pgw->ninflight > 0 || !(pgw->state == PGW_PREPARING && job->internal))
			return;
		send_job(pgw, job);
	}
}

static void deliver_notifies(struct pgw *pgw)
{
	PGnotify *n;

	while ((n = PQnotifies(pgw->conn))) {
		if (pgw->on_notify)
			pgw->on_notify(pgw->notify_arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

/* The check's verdict on the first commands of a preparation job; false
 * when it said STOP (the connection is closed then, for good). */
static bool judge_checks(struct pgw *pgw, struct pgw_job *job)
{
	if (pgw->check(pgw->check_arg, job->results, job->nchecks) == PGW_CHECK_PASS) {
		pgw->checked = true;
		return true;
	}
	pgw_job_free(job);
	pgw->stopped = true;
	pgw->lost_logged = true; /* the check said why; no "retrying" line */
	pgw_lost(pgw, "stopped by the start-up check");
	return false;
}

static void on_job_complete(struct pgw *pgw)
{
	struct pgw_job *job = pgw->head;
	bool ok = !job->failed;

	pgw->ninflight--;
	if (pgw->last_write == job)
		pgw->last_write = NULL;
	pgw->head = job->next;
	if (!pgw->head)
		pgw->tail = NULL;
	if (job->internal) {
		struct pgw_job *target = job->resolves;

		if (job->nchecks > 0 && !judge_checks(pgw, job))
			return;
		const char *outcome = target && ok && job->results[0] &&
						      PQntuples(job->results[0]) == 1
					    ? PQgetvalue(job->results[0], 0, 0)
					    : NULL;
		char why[256];
		snprintf(why, sizeof why, "%s",
			 job->error ? job->error : "could not prepare statements");
		if (ok && target && !outcome)
			ok = false;
		if (ok && target)
			pgw_indoubt_answered(pgw, target, outcome);
		pgw_job_free(job);
		if (!ok) {
			pgw_lost(pgw, why);
			return;
		}
		if (pgw->indoubt || (pgw->head && pgw->head->internal)) {
			if (pgw->indoubt && !(pgw->head && pgw->head->internal) &&
			    !evtimer_pending(pgw->resolve_retry, NULL))
				pgw_indoubt_ask(pgw);
			pgw_kick(pgw);
			return;
		}
		pgw->state = PGW_UP;
		pgw->backoff_ms = PGW_BACKOFF_MIN_MS;
		if (pgw->lost_logged || !pgw->was_up)
			log_info("%s: connected", pgw->name);
		pgw->lost_logged = false;
		pgw->was_up = true;
		if (!pgw->secondary)
			metrics_db_connected();
		if (pgw->on_state)
			pgw->on_state(pgw->state_arg, true);
	} else {
		if (!ok)
			log_warn("%s: batch %llu failed: %s", pgw->name,
				 (unsigned long long)job->seq, job->error ? job->error : "?");
		if (job->transaction)
			metrics_commit(metrics_seconds_since(&job->sent_at), job->ncmds, ok);
		pgw_job_finish(job, ok, NULL);
	}
	if (pgw->conn)
		pgw_kick(pgw);
}

/* Between two queries' results: a streamed one's rows come one by one.
 * libpq accepts this only before the query's first result; if it does
 * not, the rows come as one result, which the rows callback takes too. */
static void stream_next(struct pgw *pgw)
{
	const struct pgw_cmd *cmd;

	if (pgw->ninflight > 0 && (cmd = pgw_job_result_cmd(pgw->head)) && cmd->rows)
		PQsetSingleRowMode(pgw->conn);
}

/* Reads every result that has arrived for the in-flight job. */
static void read_results(struct pgw *pgw)
{
	PGconn *c = pgw->conn;
	bool last_null = false;

	while (pgw->ninflight > 0 && !PQisBusy(c)) {
		struct pgw_job *job = pgw->head;
		PGresult *r = PQgetResult(c);
		ExecStatusType st;

		if (!r) {
			if (last_null)
				break; /* between queries and nothing more has arrived */
			last_null = true;
			stream_next(pgw);
			continue;
		}
		last_null = false;
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			on_job_complete(pgw);
			if (!pgw->conn)
				return;
			stream_next(pgw);
			continue;
		}
		if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED ||
		    st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
			if (!job->failed && st != PGRES_PIPELINE_ABORTED) {
				const char *m = PQresultErrorMessage(r);
				job->error = xstrdup(m && *m ? m : "query failed");
				job->error[strcspn(job->error, "\n")] = '\0';
			}
			job->failed = true;
		}
		{
			/* Map the result to its command; the mark comes first. */
			const struct pgw_cmd *cmd = pgw_job_result_cmd(job);
			int idx = cmd ? (int)(cmd - job->cmds) : -1;

			if (cmd && cmd->rows && !job->failed &&
			    (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK))
				cmd->rows(cmd->rows_arg, r);
			if (st == PGRES_SINGLE_TUPLE) {
				PQclear(r); /* one row; its query goes on */
				continue;
			}
			if (idx >= 0 && !job->results[idx])
				job->results[idx] = r;
			else
				PQclear(r);
			job->nres++;
		}
	}
	if (PQstatus(c) == CONNECTION_BAD)
		pgw_lost(pgw, PQerrorMessage(c));
}

static void pgw_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgw *pgw = arg;

	if (pgw->state == PGW_CONNECTING) {
		pgw_connect(pgw);
		return;
	}
	if (what & EV_WRITE) {
		int r = PQflush(pgw->conn);
		if (r < 0) {
			pgw_lost(pgw, PQerrorMessage(pgw->conn));
			return;
		}
		set_io(pgw, r == 0 ? EV_READ : EV_READ | EV_WRITE);
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(pgw->conn)) {
			pgw_lost(pgw, PQerrorMessage(pgw->conn));
			return;
		}
		deliver_notifies(pgw);
		read_results(pgw);
		if (pgw->conn)
			deliver_notifies(pgw);
	}
}

void pgw_queue_front(struct pgw *pgw, struct pgw_job *job)
{
	job->next = pgw->head;
	pgw->head = job;
	if (!pgw->tail)
		pgw->tail = job;
}

/* libpq prints server notices to stderr by default; route them to the log. */
static void notice_cb(void *arg, const char *message)
{
	char line[512];
	snprintf(line, sizeof line, "%s", message);
	line[strcspn(line, "\n")] = '\0';
	log_debug("database notice: %s", line);
}

static void on_connected(struct pgw *pgw)
{
	struct pgw_job *prep = pgw_job_new(false);

	evtimer_del(pgw->connect_timer);
	PQsetNoticeProcessor(pgw->conn, notice_cb, NULL);
	PQsetnonblocking(pgw->conn, 1);
	if (!PQenterPipelineMode(pgw->conn)) {
		pgw_job_free(prep);
		pgw_lost(pgw, PQerrorMessage(pgw->conn));
		return;
	}
	/* Preparation goes first, before any queued job; the SQL rides in
	 * values[0]. The check before it, in the same pipeline: its verdict
	 * comes with the preparation's results, no round trip of its own. */
	prep->internal = true;
	if (pgw->check && !pgw->checked) {
		for (int i = 0; i < pgw->ncheck; i++)
			pgw_job_add_cmd(prep, CMD_EXEC_SQL, pgw->check_sql[i], 0, NULL);
		prep->nchecks = pgw->ncheck;
	}
	for (int i = 0; i < pgw->nstmts; i++) {
		const char *v[1] = { pgw->stmts[i].sql };
		pgw_job_add_cmd(prep, CMD_PREPARE, pgw->stmts[i].name, 1, v);
		prep->cmds[prep->ncmds - 1].prepare_nparams = pgw->stmts[i].nparams;
	}
	if (pgw->listen_channel) {
		char sql[128];
		snprintf(sql, sizeof sql, "LISTEN %s", pgw->listen_channel);
		pgw_job_add_cmd(prep, CMD_EXEC_SQL, sql, 0, NULL);
	}
	pgw->state = PGW_PREPARING;
	pgw_queue_front(pgw, prep);
	set_io(pgw, EV_READ);
	pgw_kick(pgw);
}

static void pgw_connect(struct pgw *pgw)
{
	PostgresPollingStatusType st;

	if (!pgw->conn) {
		/* application_name lets an in-doubt check recognise our old
		 * backend; keepalives notice a vanished host (pgstart.h). */
		pgw->conn = pgstart(pgw->conninfo, pgw->host_shift);
		if (pgw->conn) {
			struct timeval tv = { pgw->connect_timeout_ms / 1000,
					      (pgw->connect_timeout_ms % 1000) * 1000 };
			evtimer_add(pgw->connect_timer, &tv);
		}
		if (!pgw->conn || PQstatus(pgw->conn) == CONNECTION_BAD) {
			pgw_lost(pgw, pgw->conn ? PQerrorMessage(pgw->conn) : "out of memory");
			return;
		}
		pgw->state = PGW_CONNECTING;
		st = PGRES_POLLING_WRITING;
	} else {
		st = PQconnectPoll(pgw->conn);
	}
	/* libpq may have closed the socket and opened another with the same
	 * number (the next host of a multi-host conninfo): epoll forgot the
	 * old one, so register anew rather than trust the number. */
	set_io(pgw, 0);
	switch (st) {
	case PGRES_POLLING_READING: set_io(pgw, EV_READ); break;
	case PGRES_POLLING_WRITING: set_io(pgw, EV_WRITE); break;
	case PGRES_POLLING_OK: on_connected(pgw); break;
	default: pgw_lost(pgw, PQerrorMessage(pgw->conn)); break;
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	pgw_connect(arg);
}

/* libpq does not time out an asynchronous connect: a host that drops
 * packets would hold it for minutes. Start over one host further. */
static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgw *pgw = arg;
	char msg[96];

	if (pgw->state != PGW_CONNECTING)
		return;
	pgw->host_shift++;
	snprintf(msg, sizeof msg, "no connection within %d ms; trying the next host",
		 pgw->connect_timeout_ms);
	pgw_lost(pgw, msg);
}

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgw *pgw = arg;

	if (pgw->state == PGW_DOWN)
		fail_queue(pgw, "database unavailable");
	else
		pgw_kick(pgw);
}

struct pgw *pgw_new(struct event_base *base, const char *conninfo, const struct pgw_stmt *stmts,
		    int nstmts, pgw_state_fn on_state, void *state_arg)
{
	struct pgw *pgw = xcalloc(1, sizeof *pgw);

	pgw->base = base;
	pgw->conninfo = xstrdup(conninfo);
	pgw->stmts = stmts;
	pgw->nstmts = nstmts;
	pgw->on_state = on_state;
	pgw->state_arg = state_arg;
	pgw->name = "database";
	pgw->io_fd = -1;
	pgw->backoff_ms = PGW_BACKOFF_MIN_MS;
	pgw->next_seq = 1;
	pgw->retry = evtimer_new(base, retry_cb, pgw);
	pgw->connect_timer = evtimer_new(base, connect_timeout_cb, pgw);
	pgw->connect_timeout_ms = pgstart_timeout_ms(conninfo, PGW_CONNECT_TIMEOUT_MS);
	pgw->deferred = event_new(base, -1, 0, deferred_cb, pgw);
	pgw->resolve_retry = evtimer_new(base, pgw_indoubt_retry_cb, pgw);
	pgw->forget = event_new(base, -1, EV_PERSIST, pgw_forget_cb, pgw);
	{
		static const struct timeval minute = { 60, 0 };
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		/* Unique across restarts: pid and start time. */
		snprintf(pgw->token_prefix, sizeof pgw->token_prefix, "%d-%lld", (int)getpid(),
			 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		event_add(pgw->forget, &minute);
	}
	return pgw;
}

void pgw_set_secondary(struct pgw *pgw, const char *name)
{
	pgw->name = name;
	pgw->secondary = true;
	event_del(pgw->forget);
}

void pgw_set_check(struct pgw *pgw, const char *const *sql, int n, pgw_check_fn fn, void *arg)
{
	pgw->check_sql = sql;
	pgw->ncheck = n;
	pgw->check = fn;
	pgw->check_arg = arg;
}

void pgw_set_listen(struct pgw *pgw, const char *channel, pgw_notify_fn fn, void *arg)
{
	pgw->listen_channel = channel;
	pgw->on_notify = fn;
	pgw->notify_arg = arg;
}

void pgw_start(struct pgw *pgw)
{
	pgw->started = true;
	pgw_connect(pgw);
}

void pgw_free(struct pgw *pgw)
{
	struct pgw_job *job;

	if (!pgw)
		return;
	set_io(pgw, 0);
	if (pgw->conn)
		PQfinish(pgw->conn);
	pgw->conn = NULL;
	pgw->ninflight = 0;
	pgw->last_write = NULL;
	/* Free without callbacks: the owner is going away. */
	while ((job = pgw->head)) {
		pgw->head = job->next;
		pgw_job_free(job);
	}
	while ((job = pgw->indoubt)) {
		pgw->indoubt = job->next;
		pgw_job_free(job);
	}
	event_free(pgw->retry);
	event_free(pgw->connect_timer);
	event_free(pgw->deferred);
	event_free(pgw->resolve_retry);
	event_free(pgw->forget);
	free(pgw->conninfo);
	free(pgw);
}

bool pgw_is_up(const struct pgw *pgw)
{
	return pgw->state == PGW_UP;
}
bool pgw_is_idle(const struct pgw *pgw)
{
	return !pgw->head && !pgw->indoubt;
}

void pgw_submit(struct pgw *pgw, struct pgw_job *job)
{
	job->seq = pgw->next_seq++;
	job->next = NULL;
	if (pgw->tail)
		pgw->tail->next = job;
	else
		pgw->head = job;
	pgw->tail = job;
	/* Sent after the current loop iteration: writes made meanwhile
	 * join the same batch, and no callback runs inside this call. A
	 * secondary connects on its first job, from the loop too. */
	if (pgw->secondary && !pgw->started) {
		static const struct timeval now = { 0, 0 };

		pgw->started = true;
		pgw->state = PGW_CONNECTING;
		evtimer_add(pgw->retry, &now);
	} else if (pgw->state == PGW_UP || pgw->state == PGW_DOWN) {
		event_active(pgw->deferred, 0, 0);
	}
}

struct pgw_job *pgw_batch(struct pgw *pgw)
{
	struct pgw_job *t = pgw->tail;

	if (t && !t->sent && t->transaction && !t->internal && t->ncmds < PGW_BATCH_MAX)
		return t;
	t = pgw_job_new(true);
	pgw_submit(pgw, t);
	return t;
}

struct pgw_job *pgw_find_pending(struct pgw *pgw, uint64_t seq)
{
	for (struct pgw_job *j = pgw->head; j; j = j->next)
		if (j->seq == seq)
			return j;
	return NULL;
}

void pgw_fail_batches(struct pgw *pgw)
{
	struct pgw_job **pp = &pgw->head, *failed = NULL, **ftail = &failed;

	/* Unlink first, then call back: callbacks may queue new jobs. */
	while (*pp) {
		struct pgw_job *j = *pp;
		if (!j->sent && j->transaction && !j->internal) {
			*pp = j->next;
			j->next = NULL;
			*ftail = j;
			ftail = &j->next;
		} else {
			pp = &j->next;
		}
	}
	pgw->tail = NULL;
	for (struct pgw_job *j = pgw->head; j; j = j->next)
		pgw->tail = j;
	while (failed) {
		struct pgw_job *j = failed;
		failed = j->next;
		pgw_job_finish(j, false, "an earlier batch failed");
	}
}

bool pgw_has_batches(const struct pgw *pgw)
{
	for (const struct pgw_job *j = pgw->head; j; j = j->next)
		if (j->transaction && !j->internal)
			return true;
	return false;
}
