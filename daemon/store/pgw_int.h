/*
 * pgw_int: the connection manager's record, shared by pgw.c (the
 * connection's life: connect, check, prepare, retry; the queue and its
 * pipeline) and pgw_indoubt.c (batches whose commit was in flight when
 * the connection dropped, and the batch tokens kept to answer for them).
 * Nothing outside those two includes it.
 */
#ifndef KOLAPP_PGW_INT_H
#define KOLAPP_PGW_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "daemon/store/pgw.h"

#define PGW_BATCH_MAX 1024 /* statements in one group commit */
/* Write batches sent before the previous one has answered. The backend
 * runs them one after the other, so the next batch is ready the moment a
 * commit ends instead of a round trip later; each one is guarded by the
 * token of the one before it (see d_batch_mark). */
#ifndef PGW_PIPELINE_DEPTH
#define PGW_PIPELINE_DEPTH 2
#endif
#define PGW_BACKOFF_MIN_MS 100
#define PGW_BACKOFF_MAX_MS 2000     /* the contract wants service back within 5 s */
#define PGW_CONNECT_TIMEOUT_MS 3000 /* per attempt, unless the conninfo says */

enum pgw_state { PGW_DOWN, PGW_CONNECTING, PGW_PREPARING, PGW_UP };

struct pgw {
	struct event_base *base;
	char *conninfo;
	const struct pgw_stmt *stmts;
	int nstmts;
	pgw_state_fn on_state;
	void *state_arg;
	const char *listen_channel;
	pgw_notify_fn on_notify;
	void *notify_arg;
	const char *const *check_sql;
	int ncheck;
	pgw_check_fn check;
	void *check_arg;
	const char *name; /* in the log: "database", or "database (reads)" */
	bool secondary;   /* pgw_set_secondary */
	bool started;     /* pgw_start, or a secondary's first job */
	bool checked;     /* the check has said PASS once */
	bool stopped;     /* it said STOP: no more connecting */

	PGconn *conn;
	enum pgw_state state;
	struct event *io; /* on PQsocket(); re-made when it changes */
	int io_fd;
	short io_what;
	struct event *retry;         /* reconnect timer */
	struct event *connect_timer; /* an attempt that takes too long */
	int connect_timeout_ms;
	unsigned host_shift;    /* where a multi-host list starts (pgstart.h) */
	struct event *deferred; /* sends or fails queued jobs outside callers' frames */
	int backoff_ms;
	bool was_up; /* for logging each transition once */
	bool lost_logged;

	struct pgw_job *head, *tail; /* queue; the first ninflight are sent */
	int ninflight;
	struct pgw_job *last_write; /* the newest write batch sent, until it completes */
	uint64_t next_seq;

	/* Batches whose COMMIT may or may not have happened when the
	 * connection dropped: answered only once the database says which. */
	struct pgw_job *indoubt;
	int old_pid; /* the backend that ran them */
	struct event *resolve_retry;
	struct event *forget; /* clears old batch tokens now and then */
	char token_prefix[32];
};

/* Sends queued jobs while the pipeline has room (pgw.c). */
void pgw_kick(struct pgw *pgw);
/* Puts job at the head of the queue, before anything not yet sent. */
void pgw_queue_front(struct pgw *pgw, struct pgw_job *job);

/* pgw_indoubt.c: one question per in-doubt batch, queued first; the
 * database's answer about target ("committed", "not committed",
 * "pending"); the timer that asks again while the old backend lives;
 * the timer that clears old batch tokens. */
void pgw_indoubt_ask(struct pgw *pgw);
void pgw_indoubt_answered(struct pgw *pgw, struct pgw_job *target, const char *outcome);
void pgw_indoubt_retry_cb(evutil_socket_t fd, short what, void *arg);
void pgw_forget_cb(evutil_socket_t fd, short what, void *arg);

#endif
