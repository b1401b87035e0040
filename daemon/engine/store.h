/*
 * store: what the engine needs from its database, as an interface the
 * engine owns. daemon/store/store_pg.c implements it on PostgreSQL (pgw
 * and the statements of daemon/store/statements.c); the engine's unit
 * tests implement it in memory and make it fail on demand.
 *
 * Writes: a change joins the open batch (group commit) with one or more
 * named statements and their text values; on_done tells whether the
 * batch committed. Reads: a load hands over decoded rows.
 */
#ifndef KOLAPP_ENGINE_STORE_H
#define KOLAPP_ENGINE_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct store_batch; /* one group-commit transaction, the store's */

/* The database's rows as the engine reads them. Strings are borrowed
 * and valid during the load callback only. Times are microseconds since
 * the epoch, 0 for none. */
struct store_office {
	int id;
	const char *code, *name, *tz;
	const char *visitor_key; /* hex; NULL: none (the page /t/ is off) */
	int checkin_before_s, checkin_after_s;
};

/* Planned hours: a counter's (sql/015), a queue's ticket hours (sql/016). */
struct store_plan {
	bool planned;         /* has a plan */
	const int64_t *hours; /* today's and tomorrow's: from, until, ... (us) */
	int nhours;
};

struct store_queue {
	int id, office_id;
	const char *code, *name;
	bool open, active;
	int min_calls, no_show_after_s, reactivate_within_s;
	bool require_outcome, allow_priority;
	struct store_plan plan; /* when it takes tickets */
};

struct store_counter {
	int id, office_id;
	const char *name;
	bool open, active;
	int64_t open_changed_at; /* us: its last open or close, 0: never */
	struct store_plan plan;  /* when it is planned to be open */
};

struct store_counter_queue {
	int counter_id, queue_id, rank, weight;
};

struct store_outcome {
	int queue_id;
	const char *code, *name;
};

/* A queue's name and description in a language (kolapp.set_queue_text). */
struct store_queue_text {
	int queue_id;
	const char *lang, *name, *description;
};

#define STORE_HASH_LEN 32

struct store_ticket {
	int office_id;
	int32_t day; /* business day, days since 1970-01-01 (tzday) */
	int origin_queue_id, queue_id, number;
	const char *code, *state;
	int64_t issued_at, sort_at, called_at, started_at, finished_at;
	int counter_id; /* 0: none */
	int recalls;
	const char *key; /* idempotency key, NULL: none */
	bool priority;
	const char *interpreter, *lang; /* NULL: none */
	const char *outcome;            /* NULL: none */
	int for_counter_id;             /* 0: none */
	const unsigned char
		*visitor_hash; /* SHA-256 of its visitor secret (STORE_HASH_LEN), NULL: none */
	bool rated;            /* the visitor has rated the visit */
	int64_t appointment;   /* 0: none */
};

struct store_booking {
	int office_id, queue_id;
	const char *code;
	int64_t starts_at;
	int minutes;
	const char *interpreter, *reference; /* NULL: none */
	const char *state;
	const char *ticket, *ticket_day; /* checked in: its ticket; else NULL */
};

/* A visit of an earlier day, for the estimator's first samples. */
struct store_visit {
	int queue_id;
	bool noshow;
	int64_t us; /* from the call to the end */
};

struct store_snapshot {
	const struct store_office *offices;
	int noffices;
	const struct store_queue *queues;
	int nqueues;
	const struct store_counter *counters;
	int ncounters;
	const struct store_counter_queue *counter_queues; /* by counter, rank */
	int ncounter_queues;
	const struct store_outcome *outcomes; /* active ones, by queue, code */
	int noutcomes;
	const struct store_queue_text *queue_texts; /* by queue, lang */
	int nqueue_texts;
	/* The ticket rows given to the load's store_ticket_fn, in the engine's
	 * order (by office, day, sort time, id) as their numbers: 0 is the
	 * first row given. */
	const int *ticket_order;
	int ntickets;
	const struct store_booking *bookings; /* from yesterday on, by office, start */
	int nbookings;
	const struct store_visit *visits; /* by queue, the most telling last
					     (none from a store with load_history) */
	int nvisits;
};

/* A ticket row of a load, as it arrives (in no order); row and its
 * strings are valid only during the call. */
typedef void (*store_ticket_fn)(void *arg, const struct store_ticket *row);
/* snap is NULL when the load failed; error then says why. */
typedef void (*store_loaded_fn)(void *arg, const struct store_snapshot *snap, const char *error);
/* A ticket of the same weekday of an earlier week, moved onto today (its
 * local time of day, today): when a visitor came, for the estimator's
 * newcomers (arrivals.h). */
struct store_arrival {
	int queue_id; /* the queue it was issued in */
	int week;     /* 1: a week ago, ... */
	int64_t at_us;
};

typedef void (*store_done_fn)(void *arg, bool ok);
/* visits is NULL when the read failed; error then says why. */
typedef void (*store_history_fn)(void *arg, const struct store_visit *visits, int n,
				 const char *error);
/* rows (by queue) is NULL when the read failed; error then says why. */
typedef void (*store_arrivals_fn)(void *arg, const struct store_arrival *rows, int n,
				  const char *error);

struct store_ops {
	/* The database can be reached now. */
	bool (*is_up)(void *self);
	/* A write batch is queued or in flight. */
	bool (*has_writes)(void *self);
	/* The open batch that changes join; made when there is none. */
	struct store_batch *(*batch)(void *self);
	/* Adds one execution of a named statement; values are copied (NULL
	 * entries are SQL NULL). */
	void (*add)(void *self, struct store_batch *b, const char *stmt, int n,
		    const char *const *values);
	/* The batch commits only if this daemon still holds the office with
	 * this ownership epoch when it does; else it fails as a whole. */
	void (*fence)(void *self, struct store_batch *b, int office_id, int64_t epoch);
	/* The batch's sequence number (increasing in submission order). */
	uint64_t (*seq)(void *self, const struct store_batch *b);
	/* The batch with that number while it has not completed, else NULL. */
	struct store_batch *(*pending)(void *self, uint64_t seq);
	/* fn runs once, after the batch committed (ok) or failed; never
	 * inside this call. */
	void (*on_done)(void *self, struct store_batch *b, store_done_fn fn, void *arg);
	/* Fails every batch not yet sent: they were built on a failed one. */
	void (*fail_unsent)(void *self);
	/* Reads offices, queues, counters, their queue lists, outcomes,
	 * queue texts and bookings and, with tickets, today's tickets and
	 * earlier ones still open (and, where the store has no
	 * load_history, recent visits of the same weekday); fn runs once.
	 * The tickets go to on_ticket one by one before fn runs, never after
	 * (a load without tickets takes NULL). */
	void (*load)(void *self, bool tickets, store_ticket_fn on_ticket, store_loaded_fn fn,
		     void *arg);
	/* Optional: reads recent visits of the same weekday, asked for after
	 * a load so that the daemon answers without waiting for them; fn
	 * runs once. */
	void (*load_history)(void *self, store_history_fn fn, void *arg);
	/* Optional: reads when visitors came on the same weekday of the
	 * last weeks, by queue; fn runs once. */
	void (*load_arrivals)(void *self, store_arrivals_fn fn, void *arg);
};

struct engine_store {
	const struct store_ops *ops;
	void *self;
};

#endif
