/*
 * pgw_job: what pgw sends, inside the daemon's database module. A job is
 * a list of commands with their values, the callbacks to run when it has
 * completed, and what pgw learns while it is in flight. Only pgw.c and
 * pgw_job.c include this; the rest of the daemon sees struct pgw_job as
 * opaque (pgw.h).
 */
#ifndef KOLAPP_PGW_JOB_H
#define KOLAPP_PGW_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <libpq-fe.h>

#include "daemon/store/pgw.h"

enum pgw_cmd_kind { CMD_EXEC_PREPARED, CMD_PREPARE, CMD_EXEC_SQL };

struct pgw_cmd {
	enum pgw_cmd_kind kind;
	char *stmt; /* statement name, or SQL for CMD_EXEC_SQL */
	int nparams;
	char **values;       /* values, their strings and stmt: one allocation */
	int prepare_nparams; /* CMD_PREPARE: parameters of the statement */
	pgw_rows_fn rows;    /* streamed (pgw_job_add_rows), else NULL */
	void *rows_arg;
};

struct pgw_cb {
	pgw_done_fn fn;
	void *arg;
	void (*free_arg)(void *arg); /* pgw_job_on_done_owned: frees arg with the job */
};

struct pgw_job {
	struct pgw_job *next;
	bool transaction;
	bool internal; /* statement preparation after connect */
	int nchecks;   /* internal: its first commands are pgw_set_check's */
	uint64_t seq;
	struct pgw_cmd *cmds;
	int ncmds, cap;
	struct pgw_cb *cbs;
	int ncbs, cbcap;
	PGresult **results; /* one per cmd, filled while reading */
	int *query_cmd;     /* per query sent (the mark aside): its first cmd */
	int nqueries;
	int nres; /* results seen, BEGIN/COMMIT included */
	bool sent;
	bool failed;
	char *error;
	struct timespec queued_at; /* made: a batch's first write */
	struct timespec sent_at;
	bool marked; /* carries a batch token (see sql/003_batches.sql) */
	char token[48];
	struct pgw_job *resolves; /* internal: the in-doubt job this one asks about */
	/* the offices it writes and the ownership epochs it must hold them
	 * with (fencing, see sql/014_nodes.sql) */
	int *fence_office;
	int64_t *fence_epoch;
	int nfence, capfence;
};

/* Appends a command; its values, their strings and stmt are copied into
 * one allocation. */
void pgw_job_add_cmd(struct pgw_job *job, enum pgw_cmd_kind kind, const char *stmt, int nparams,
		     const char *const *values);
/* Runs the job's callbacks with its outcome, then frees it. */
void pgw_job_finish(struct pgw_job *job, bool ok, const char *error);
/* Frees the job and its results without callbacks. */
void pgw_job_free(struct pgw_job *job);

/* Sends job's commands on c (in pipeline mode, no Sync), filling
 * query_cmd; stmts are pgw's (for the "many" forms). False when libpq
 * refused one. */
bool pgw_job_send_cmds(struct pgw_job *job, PGconn *c, const struct pgw_stmt *stmts, int nstmts);
/* The command the next result of job belongs to, or NULL (the mark, or
 * an error of the commit itself). */
const struct pgw_cmd *pgw_job_result_cmd(const struct pgw_job *job);

#endif
