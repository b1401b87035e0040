/*
 * pgw: the daemon's asynchronous PostgreSQL connection (libpq pipeline
 * mode on the libevent loop; the loop never blocks on the database).
 *
 * Owns the PGconn, a FIFO of jobs and the reconnect timer. A job is a
 * list of prepared-statement executions that run as one transaction (the
 * implicit one of a pipeline up to its Sync); its callbacks run once it
 * has completed (or failed).
 * Group commit: writes that arrive while a job is in flight join the
 * open batch (pgw_batch) and share the next transaction.
 */
#ifndef KOLAPP_PGW_H
#define KOLAPP_PGW_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <libpq-fe.h>

struct pgw;
struct pgw_job;

struct pgw_stmt {
	const char *name;
	const char *sql;
	int nparams;
	/* Optional: a statement taking an array per parameter. A run of
	 * consecutive executions of this statement in one transaction is sent
	 * as one execution of that one (see pgw.c, send_job). */
	const char *many;
	/* With many, optional: the parameter (from 1) that names what its
	 * executions depend on (the office). Executions in one transaction
	 * with different values of it may be sent in another order than
	 * added, so that they join one run (pgw_order.h); those with the
	 * same value, and every command of a statement without it, keep
	 * their order. 0: sent as added. */
	int order_param;
};

/* What a finished job reports. results[i] is the result of the i-th
 * added statement (not BEGIN/COMMIT); valid only during the callback.
 * A run sent as one "many" execution has its result at its first
 * statement and NULL at the others.
 * On failure ok is false, results may be NULL and error says why. */
struct pgw_result {
	bool ok;
	int n;
	PGresult **results;
	const char *error;
	uint64_t seq; /* the job's sequence number */
};

typedef void (*pgw_done_fn)(void *arg, const struct pgw_result *res);
/* Called when the connection becomes usable (up) or is lost (!up). */
typedef void (*pgw_state_fn)(void *arg, bool up);
/* Called for each NOTIFY received. */
typedef void (*pgw_notify_fn)(void *arg, const char *channel, const char *payload);
/* Called with the rows of a streamed statement as they arrive (see
 * pgw_job_add_rows), one or more at a time; r is valid during the call. */
typedef void (*pgw_rows_fn)(void *arg, const PGresult *r);

/* Creates the connection manager; stmts must outlive it. */
struct pgw *pgw_new(struct event_base *base, const char *conninfo, const struct pgw_stmt *stmts,
		    int nstmts, pgw_state_fn on_state, void *state_arg);
/* Starts connecting (asynchronously). */
void pgw_start(struct pgw *pgw);
/* Closes the connection; queued jobs fail; no callback after return. */
void pgw_free(struct pgw *pgw);
bool pgw_is_up(const struct pgw *pgw);
/* True when nothing is queued or in flight. */
bool pgw_is_idle(const struct pgw *pgw);
/* True when a write batch is queued or in flight. */
bool pgw_has_batches(const struct pgw *pgw);
/* A connection for reads beside the daemon's own: it connects when
 * given its first job (no pgw_start: a daemon that never reads this way,
 * or whose start-up check fails, opens none), is logged under name
 * (static), is not counted in the metrics' connects, and keeps no batch
 * tokens (it writes nothing). */
void pgw_set_secondary(struct pgw *pgw, const char *name);
/* What the first connection's check statements said (pgw_set_check). */
enum pgw_verdict { PGW_CHECK_PASS, PGW_CHECK_STOP };
/* Judges results[0..n-1] (each a result, error results included; the
 * first error aborts the rest, PGRES_PIPELINE_ABORTED). STOP closes the
 * connection for good: nothing is retried, the owner should exit. */
typedef enum pgw_verdict (*pgw_check_fn)(void *arg, PGresult *const *results, int n);
/* Statements (no parameters) run first on a connection, before the
 * prepared statements, until fn has once said PASS: the daemon's
 * start-up check on its own connection, not a connection of its own (a
 * backend's start costs about 20 ms). sql must outlive pgw. */
void pgw_set_check(struct pgw *pgw, const char *const *sql, int n, pgw_check_fn fn, void *arg);
/* Statements to LISTEN on after each (re)connect, with a notify handler. */
void pgw_set_listen(struct pgw *pgw, const char *channel, pgw_notify_fn fn, void *arg);

/* A new job, not yet queued; owned by the caller until pgw_submit(). */
struct pgw_job *pgw_job_new(bool transaction);
/* Appends one execution of a prepared statement; values are copied
 * (NULL entries are SQL NULL). */
void pgw_job_add(struct pgw_job *job, const char *stmt, int nparams, const char *const *values);
/* Appends a prepared statement without parameters whose rows go to fn as
 * they arrive (libpq's single-row mode) instead of into one result: the
 * daemon's load of 200,000 tickets was a 110 MB PGresult, memory touched
 * once and thrown away. The job's result for it is the closing one, with
 * no rows (or, where single-row mode could not be set, every row, which
 * fn has had too). fn never runs after the job failed. The rows come in
 * binary format: for a read this size, the server's text output and the
 * client's parsing of it were half of the time (pin every column's type
 * in the SQL and check PQftype). */
void pgw_job_add_rows(struct pgw_job *job, const char *stmt, pgw_rows_fn fn, void *arg);
/* The job, a write batch, commits only while this daemon holds the
 * office with this ownership epoch (checked by d_batch_mark). */
void pgw_job_fence(struct pgw_job *job, int office_id, int64_t epoch);
/* Adds a completion callback; a job may have many (group commit). */
void pgw_job_on_done(struct pgw_job *job, pgw_done_fn fn, void *arg);
/* The same for an arg from malloc that the job owns: freed after fn ran,
 * or with the job when pgw_free drops it without callbacks (a read still
 * in flight when the daemon stops). */
void pgw_job_on_done_owned(struct pgw_job *job, pgw_done_fn fn, void *arg);
/* The same for an arg that free_arg frees (one that holds allocations of
 * its own). */
void pgw_job_on_done_owned_by(struct pgw_job *job, pgw_done_fn fn, void *arg,
			      void (*free_arg)(void *arg));
/* Queues the job; pgw owns it from here. Callbacks never run inside
 * this call. */
void pgw_submit(struct pgw *pgw, struct pgw_job *job);

/*
 * The open write batch: a queued transaction not yet sent, to which a
 * write may add its statements and its callback. Creates and queues a
 * new one when there is none or the open one is full.
 */
struct pgw_job *pgw_batch(struct pgw *pgw);
/* The queued or in-flight job with that sequence number, or NULL when it
 * has completed. */
struct pgw_job *pgw_find_pending(struct pgw *pgw, uint64_t seq);
/* Fails every queued write batch not yet sent: used when an earlier
 * batch failed and later ones were built on its effects. */
void pgw_fail_batches(struct pgw *pgw);
/* Sequence number of a job (increasing in submission order). */
uint64_t pgw_job_seq(const struct pgw_job *job);
/* Number of statements in a job. */
int pgw_job_size(const struct pgw_job *job);

#endif
