/*
 * fake_store: the engine's store interface (daemon/engine/store.h) over
 * tables in memory, for unit tests that need a commit to wait, to fail
 * or to be refused, and a reload to see what was committed, without
 * PostgreSQL.
 *
 * It behaves like store_pg on kolapp's schema, as far as the engine can
 * tell: the write statements do what the SQL functions of
 * sql/001_schema.sql, 002_admin.sql, 006_batch_writes.sql and
 * 008_ticket_transitions.sql do, and are refused where the tables'
 * constraints would refuse them; a batch
 * commits all its writes or none; a batch sent behind one that fails
 * fails too (kolapp.d_batch_mark); loads and batches complete in the
 * order they were queued, and only when the test says so, never inside
 * a call from the engine.
 *
 * What it leaves out: ticket_events and counter_events, in-doubt
 * resolution (a batch in flight when the store goes down waits for the
 * test to complete it), the batch size limit, queues closed or inactive
 * and names (a queue's and an office's name is its code), and value
 * forms the engine never sends (timestamps are
 * "YYYY-MM-DDTHH:MM:SS[.frac]Z", as tzday_iso8601 writes them).
 */
#ifndef KOLAPP_TESTS_FAKE_STORE_H
#define KOLAPP_TESTS_FAKE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/engine/store.h"

struct fake_store;

/* One row of kolapp.tickets. Times in microseconds, 0 for NULL;
 * counter_id 0 for NULL. */
struct fake_ticket {
	long id; /* in insertion order, like the bigserial */
	int office_id;
	int32_t day; /* business_day, days since 1970-01-01 */
	int origin_queue_id, queue_id, number;
	char code[24];
	char state[12];
	int64_t issued_at, sort_at, called_at, started_at, finished_at;
	int counter_id;
	int recalls;
	char *key; /* idem_key or NULL */
	/* protocol 1.1 (migration 9) */
	bool priority;
	char interpreter[4], lang[4]; /* "" for NULL */
	char outcome[40];             /* "" for NULL */
	int for_counter_id;           /* 0 for NULL */
};

/* clock gives the database server's time (current_date of the loads, in
 * UTC). */
struct fake_store *fake_store_new(int64_t (*clock)(void *arg), void *clock_arg);
/* Frees everything; no callback runs (free the engine first). */
void fake_store_free(struct fake_store *fs);
struct engine_store fake_store_iface(struct fake_store *fs);

/* Configuration rows, as psql would insert them; in id order. */
void fake_store_add_office(struct fake_store *fs, int id, const char *code, const char *tz);
void fake_store_add_queue(struct fake_store *fs, int id, int office_id, const char *code);
void fake_store_add_counter(struct fake_store *fs, int id, int office_id, const char *name,
			    bool open);
void fake_store_add_counter_queue(struct fake_store *fs, int counter_id, int queue_id, int rank);

/* Runs one write statement at once in a transaction of its own, as psql
 * would behind the daemon's back: 0, or -1 when it is refused (see
 * fake_store_refusal). */
int fake_store_exec(struct fake_store *fs, const char *stmt, int n, const char *const *values);

/* ---- what the test decides ---- */

/* The connection comes and goes. Going down fails every queued job that
 * was not sent yet, as a lost connection does; batches already sent stay
 * queued (in doubt) for the test to complete. Loads run only while up. */
void fake_store_set_up(struct fake_store *fs, bool up);
/* The event loop ran: every queued batch is sent (pipelined), so later
 * writes open a new batch. */
void fake_store_send(struct fake_store *fs);
/* Completes the oldest queued job, which must be a batch: with ok, it
 * commits unless a write is refused or it was sent behind a batch that
 * failed; without, it fails. Returns 1 when it committed, 0 when it
 * failed, -1 when no batch is at the head of the queue. */
int fake_store_commit_next(struct fake_store *fs, bool ok);
/* Answers the loads at the head of the queue from the tables (while
 * up); returns how many ran. */
int fake_store_run_loads(struct fake_store *fs);
/* The next n loads hand over all their ticket rows and then fail, as a
 * connection lost in the middle of a load does. */
void fake_store_fail_loads_midway(struct fake_store *fs, int n);
/* Commits every batch and runs every load, in order, until nothing is
 * queued or the store is down. */
void fake_store_settle(struct fake_store *fs);
int fake_store_batches(const struct fake_store *fs);
int fake_store_loads(const struct fake_store *fs);
/* Writes in the open (unsent) batch, 0 when there is none. */
int fake_store_open_writes(const struct fake_store *fs);

/* Batches that asked to commit but had a write refused, and why the last
 * one was ("" when none was). */
int fake_store_nrefused(const struct fake_store *fs);
const char *fake_store_refusal(const struct fake_store *fs);

/* ---- the tables ---- */

int fake_store_ntickets(const struct fake_store *fs);
const struct fake_ticket *fake_store_ticket_at(const struct fake_store *fs, int i);
/* The ticket of office and day with that code, or NULL. */
const struct fake_ticket *fake_store_ticket(const struct fake_store *fs, int office_id, int32_t day,
					    const char *code);
bool fake_store_counter_open(const struct fake_store *fs, int counter_id);

#endif
