/*
 * engine_int: the engine's private data structures, shared by engine.c
 * (life cycle, loading, commits), engine_ops.c (the ops) and
 * engine_json.c (reply and event objects). Not for other modules.
 */
#ifndef KOLAPP_ENGINE_INT_H
#define KOLAPP_ENGINE_INT_H

#include "daemon/engine/arrivals.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/plan.h"
#include "daemon/engine/ticket_state.h"
#include "daemon/util/vsecret.h"
#include "daemon/util/xalloc.h"

/* A ticket code: a queue code of up to 4, "-", an int of up to 10 digits. */
#define CODE_MAX 16
#define RECENT_MAX 10
#define SERVICE_SAMPLES 32
#define NOSHOW_SAMPLES 16
#define PACE_SAMPLES 16
#define CAL_SAMPLES 128
#define LANG_MAX 4 /* an ISO 639-1 code and its NUL */

struct queue;
struct counter;

/* Kept small: a start-up makes one for each of the day's tickets, and
 * first touches of memory were most of its time (hence the order of the
 * members, which leaves no holes). */
struct ticket {
	char code[CODE_MAX];
	int number;
	int32_t day;          /* business day it belongs to */
	struct queue *origin; /* the queue its code belongs to */
	struct queue *queue;  /* the queue it waits in now */
	int64_t issued_at, sort_at, called_at, started_at, finished_at; /* us */
	struct counter *counter;     /* the counter that called (or parked) it */
	struct counter *for_counter; /* transferred to this counter only, or NULL */
	char *outcome;               /* a code of its queue's outcomes, or NULL */
	int64_t appointment;         /* a checked-in booking's start, us; 0: none */
	uint64_t order;              /* tie-break within one sort_at */
	uint64_t issue_seq;          /* store batch that issued it (0: loaded) */
	/* estimate.c's forecast while waiting */
	int64_t est_call_at, est_sd; /* us */
	uint64_t est_run;            /* the run that set them (office est_run) */
	int64_t est_acc_us;          /* the run's sampled plays' waits' sum, */
	int est_acc_n;               /* and how many called it */
	enum ticket_state state;
	int64_t told_raw_us;     /* the model's wait at issue, before calibration, */
	char *key;               /* idempotency key or NULL */
	struct ticket *key_next; /* chain in the office's key table */
	/* engine_visitor.c: the hash of its visitor's secret (/t/<secret>) */
	uint8_t vhash[VSECRET_HASH];
	int recalls;
	char interpreter[LANG_MAX]; /* "" for none */
	char lang[LANG_MAX];        /* "" for none */
	bool priority;
	bool est_known;
	bool told_known; /* told_raw_us is set: compared with the real wait when called */
	bool has_vhash;
	bool rated; /* the visitor rated the visit (once) */
};

/* Tickets in the order they have waited: (sort_at, order). */
struct tlist {
	struct ticket **v;
	int n, cap;
};

void tlist_insert(struct tlist *l, struct ticket *t);
void tlist_remove(struct tlist *l, struct ticket *t);
/* 1 for the first, 0 when t is not in l. */
int tlist_position(const struct tlist *l, const struct ticket *t);

/* What a queue allows (kolapp.set_queue_policy). */
struct queue_policy {
	int min_calls;           /* calls (the first plus recalls) before no_show */
	int no_show_after_s;     /* seconds after the first call before no_show */
	int reactivate_within_s; /* a no_show may come back this long after */
	bool require_outcome;    /* finish names an outcome */
	bool allow_priority;     /* issue may ask for priority */
};

struct outcome {
	char *code, *name;
};

/* A queue's name and description in a language, for the kiosk. */
struct queue_text {
	char lang[LANG_MAX];
	char *name, *description;
};

/* estimate.c's calibration: log((real + margin) / (told + margin)) of
 * the last CAL_SAMPLES calls, and what they say (when ready). */
struct calib {
	float r[CAL_SAMPLES];
	int n, pos;
	bool ready;
	double mid, lo, hi;
};

struct queue {
	int id;
	char code[8];
	char *name;
	bool open, active;
	struct queue_policy policy;
	struct outcome *outcomes;
	int noutcomes;
	struct queue_text *texts;
	int ntexts;
	struct tlist waiting;             /* not those transferred to a counter */
	int npriority;                    /* priority tickets among them */
	int nappointment;                 /* appointment tickets among them; a
					     hint only (estimate.c's runs take
					     tickets without it): 0 = none */
	struct ticket **today;            /* today's tickets of this code, by number - 1 */
	int ntoday, captoday;             /* ntoday == highest number issued today */
	int64_t service[SERVICE_SAMPLES]; /* recent service times, us */
	int nservice, service_pos;
	int64_t noshow[NOSHOW_SAMPLES]; /* time counters lost to no-shows, us */
	int nnoshow, noshow_pos;
	bool outcome_was_noshow[SERVICE_SAMPLES]; /* the last visits' ends */
	int noutcomes_seen, noshows_seen, outcome_pos;
	/* estimate.c: a ticket issued now */
	int est_index;
	int est_servers; /* open counters that serve it, last run */
	double est_visit_mean, est_visit_var;
	int64_t est_new_at, est_new_sd;
	bool est_new_done, est_new_known;
	struct calib cal; /* its own calls' calibration, once it has enough */
	/* the point correction of the last run: cal's record with the
	 * waiting tickets' forecasts as they stand now (estimate_told.c) */
	double est_cal_mid;
	bool est_cal_mixed;
	struct plan plan;                /* its ticket hours (sql/016) */
	bool took_tickets;               /* as last sent: engine_tick() sends a change */
	struct arrival_history arrivals; /* earlier weeks' (estimate.c) */
};

struct counter_queue {
	struct queue *queue;
	int rank;
	int weight; /* balances queues that share a rank */
};

struct counter {
	int id;
	char *name;
	bool open, active;
	struct counter_queue *queues; /* by rank */
	int nqueues;
	struct ticket *held; /* called or serving here, or NULL */
	struct tlist for_me; /* waiting, transferred to this counter */
	struct tlist parked; /* parked here */
	/* estimate.c: this counter's visits over its queues' usual, recent */
	float pace[PACE_SAMPLES];
	int npace, pace_pos;
	/* Its planned hours (sql/015); none: open while it is open. */
	struct plan plan;
	int64_t open_changed_at; /* us: last opened or closed; 0: before the load */
};

struct recent_call {
	char ticket[CODE_MAX];
	char counter[40];
	int64_t at;
};

/* A visit booked for a time (sql/011_bookings.sql). Who the visitor is
 * is not known here: the agency's reference is theirs to resolve. */
enum booking_state { BK_BOOKED, BK_CHECKED_IN, BK_SERVED, BK_NO_SHOW, BK_CANCELLED };

struct booking {
	char code[PROTO_BOOKING_LEN + 1];
	struct queue *queue;
	int64_t starts_at; /* us */
	int minutes;
	char interpreter[LANG_MAX]; /* "" for none */
	char *reference;            /* NULL for none */
	enum booking_state state;
	char ticket[CODE_MAX]; /* checked in: its ticket's code ... */
	int32_t ticket_day;    /* ... and business day */
	uint64_t seq;          /* store batch that last wrote it (0: loaded) */
};

#define KEY_BUCKETS 256

struct office {
	int id;
	char *code, *name, *tz;
	struct queue **queues;
	int nqueues;
	struct counter **counters;
	int ncounters;
	int32_t day;
	int64_t day_end; /* next local midnight, us */
	struct ticket *keys[KEY_BUCKETS];
	struct recent_call recent[RECENT_MAX];
	int nrecent;             /* newest first */
	struct ticket **carried; /* earlier days' tickets still being served */
	int ncarried, capcarried;
	struct booking **bookings; /* from yesterday on, by start (booking.c) */
	int nbookings, capbookings;
	int checkin_before_s, checkin_after_s; /* the check-in window */
	uint64_t gen;                          /* bumped by every change to the office */
	char *status_enc;                      /* engine_status_encoded(), while still true */
	size_t status_len;
	uint64_t status_gen, status_egen;
	bool status_stale;
	int64_t status_at;                   /* when status_enc was built */
	uint64_t est_gen, est_egen, est_run; /* what estimate.c's forecast was made for */
	struct calib cal;                    /* estimate.c: the office's calls, all queues */
	int64_t est_now;
	bool est_counter_opened; /* since the last run (estimate_told.c) */
	/* estimate.c's undo log, kept between runs (malloc would consolidate
	 * on freeing a big one each time); est_log_cap in bytes */
	void *est_log;
	size_t est_log_cap;
	/* the key of its visitors' secrets (kolapp.office_keys); 0: none */
	uint8_t vkey[VSECRET_KEY_MAX];
	int vkeylen;
	/* engine_owner.c: the epoch this daemon serves it with; 0: it does
	 * not serve it (another daemon does, or nobody now) */
	int64_t epoch;
};

/* estimate_told.c: how far the estimator is within its share */
enum est_budget {
	EST_FREE,  /* within it: every change is run */
	EST_BUSY,  /* over it, the last window or this: an office at most
		      every 250 ms */
	EST_SPENT, /* this window's share is gone: runs only as time passes
		      (every 15 s) until the next */
};

struct engine {
	struct engine_store store;
	bool has_store; /* false: changes commit at once (tests) */
	struct engine_hooks hooks;
	struct office **offices;
	int noffices;
	bool loading;
	struct loaded_rows { /* engine_load.c: the load's tickets, not placed yet */
		struct loaded_row *v;
		int n, cap;
	} loaded_rows;
	bool stale; /* the last load failed or a batch failed */
	bool reload_wanted;
	bool history_loading; /* store->load_history in flight */
	uint64_t loads;       /* successful loads; history_for: the one it is for */
	uint64_t history_for;
	/* store->load_arrivals: in flight; the loads and days (rollovers)
	 * the read in flight is for, and those it must be for */
	bool arrivals_loading;
	uint64_t arrivals_for, arrivals_wanted;
	uint64_t failed_seq; /* highest batch seq already handled as failed */
	uint64_t order;      /* next ticket order */
	bool config_loading; /* a configuration reload is in flight */
	int64_t last_now;    /* engine_now() never goes back */
	bool config_again;   /* another change arrived meanwhile */
	uint64_t gen;        /* bumped by loads, configuration and failures */
	/* engine_owner.c */
	bool ownership; /* several daemons: serve only owned offices */
	struct owner_entry *owners;
	int nowners, capowners;
	char *node_name;
	char **nodes_http;
	int nnodes_http;
	/* estimate_told.c: the estimator's share of the loop, in real time
	 * (CLOCK_MONOTONIC us); over its share, offices re-simulate at most
	 * every so often (see ensure()) */
	int64_t est_share_us; /* of each second; 0: no limit */
	int64_t est_window_at, est_window_spent;
	bool est_was_busy;
	enum est_budget est_force_budget; /* engine_test_set_estimator_budget() */
};

/* engine_owner.c */
/* Sets o->epoch from the owner table (after a load rebuilt o). */
void engine_apply_owner(const struct engine *e, struct office *o);
void engine_owners_free(struct engine *e);
/* The office is served here (always, until ownership is on). */
static inline bool office_served(const struct office *o)
{
	return o->epoch > 0;
}

/* engine.c */
int64_t engine_now(struct engine *e);
struct office *engine_office(const struct engine *e, int id);
struct queue *office_queue(const struct office *o, const char *code);
struct queue *office_queue_by_id(const struct office *o, int id);
struct counter *office_counter(const struct office *o, const char *name);
struct counter *office_counter_by_id(const struct office *o, int id);
struct ticket *office_ticket(const struct office *o, const char *code);
struct ticket *office_key_lookup(const struct office *o, const char *key);
void office_key_insert(struct office *o, struct ticket *t);
/* Puts a waiting ticket in its list (its counter's when transferred to
 * one, else its queue's) or takes it out. */
void waiting_insert(struct ticket *t);
void waiting_remove(struct ticket *t);
/* Where t stands in the order the rule calls its list (1 = next). */
int ticket_position(const struct ticket *t, int64_t now);
/* The queue's outcome with that code, or NULL. */
const struct outcome *queue_outcome(const struct queue *q, const char *code);
void queue_policy_default(struct queue_policy *p);
/* Frees the queue's outcome list (before a reload replaces it). */
void queue_outcomes_clear(struct queue *q);
/* Frees the queue's texts (before a reload replaces them). */
void queue_texts_clear(struct queue *q);
/* Moves t by action, as the transition table allows (-1 when it does
 * not, and nothing changes), and keeps where it is in step with its
 * state: its waiting list, the counter that holds or parked it. ctr is
 * the calling counter (call) or the counter a transfer sends it to; to
 * is the queue a transfer sends it to (then ctr is NULL). */
int ticket_apply(struct ticket *t, enum ticket_action action, struct counter *ctr, struct queue *to,
		 int64_t now);
/* "ticket S-001 is serving, not called": why action does not apply to t. */
void ticket_refusal(const struct ticket *t, enum ticket_action action, char *buf, size_t bufsz);
void queue_add_today(struct queue *q, struct ticket *t);
/* A finished service, and the time a no-show cost its counter (visit_time.c). */
void queue_record_service(struct queue *q, int64_t us);
void queue_record_noshow(struct queue *q, int64_t us);
/* Earlier days' visits (by queue, the most telling last) put before the
 * samples the queues already have, which stay the newest. */
void queues_seed_earlier(struct office **offs, int noff, const struct store_visit *visits, int n);
/* engine_load.c: reads the earlier weeks' arrivals (store->load_arrivals)
 * unless a read is in flight; engine_take_arrivals() gives every queue
 * its rows (by queue) and every other queue none. */
void engine_load_arrivals(struct engine *e);
void engine_take_arrivals(struct engine *e, const struct store_arrival *rows, int n);
void office_record_call(struct office *o, const struct ticket *t, int64_t at);
void office_free(struct office *o);
/* Sets t->code from q's code and t->number: "S-042". */
void ticket_set_code(struct ticket *t, const struct queue *q);
void ticket_free(struct ticket *t);

/* A change in flight: reply and events are released once it commits. */
struct change;
struct change *change_begin(struct engine *e, struct office *o, engine_reply_fn reply, void *ctx);
/* Adds one write (a statement of the store, by name) to the change. */
void change_write(struct change *c, const char *stmt, int n, const char *const *values);
void change_event(struct change *c, json_t *event);
/* Encodes one event and hands it to the emit hook now. */
void engine_emit(struct engine *e, int office_id, const json_t *event);
/* engine_emit, flushed at once, for what no change carries; takes ev. */
void engine_emit_now(struct engine *e, struct office *o, json_t *ev);
/* The store batch the change joined (0: none yet). */
uint64_t change_seq(const struct change *c);
/* Makes a change without writes of its own wait for the batch with that
 * sequence number while it is pending (0: nothing to wait for). */
void change_wait_for(struct change *c, uint64_t seq);
/* Commits (or, without a database, completes at once) and later replies
 * with result (stolen). */
void change_commit(struct change *c, json_t *result);

/* Whether q issues tickets at now: open, and within its ticket hours. */
bool queue_takes_tickets(const struct queue *q, int64_t now);
/* Whether any of o's counters or queues has planned hours. */
bool office_has_plans(const struct office *o);
/* engine_json.c */
json_t *ticket_json(const struct engine *e, const struct office *o, const struct ticket *t);
json_t *counter_json(const struct counter *c);
json_t *status_json(const struct engine *e, const struct office *o);
json_t *office_event(const struct office *o, const char *kind, int64_t at);
json_t *queue_event(const struct engine *e, const struct office *o, const struct queue *q,
		    int64_t at);
char *iso_time(int64_t us, char *buf);

/* estimate.c: the forecast of when each waiting ticket is called. */
void office_estimate(struct office *o, int64_t now);
/* Learns how a counter's visits compare with its queue's usual (a clerk in
 * training, a counter that takes the hard cases); before the queue's own
 * sample of the visit is recorded. */
void counter_record_visit(struct counter *c, const struct queue *q, int64_t us);
/* Sets estimated_wait_s (and estimated_wait_range_s when known) of a
 * waiting ticket's object, or of a ticket issued now in q. */
void ticket_estimate_set(json_t *obj, const struct engine *e, const struct office *o,
			 const struct ticket *t);
void queue_estimate_set(json_t *obj, const struct engine *e, const struct office *o,
			const struct queue *q);
/* The estimate told at issue, in whole seconds (false when unknown); t
 * keeps the model's own figure for office_estimate_called(). */
bool ticket_estimate_at_issue(const struct engine *e, const struct office *o, struct ticket *t,
			      int64_t *secs);
/* A ticket told an estimate at issue is called: how far off was it. */
void office_estimate_called(struct office *o, struct ticket *t, int64_t now);
/* The waiting ticket's estimate in whole seconds; false when unknown. */
bool ticket_estimate_s(const struct engine *e, const struct office *o, const struct ticket *t,
		       int64_t *secs);

/* next.c: the rule for the next ticket (PROTOCOL.md, call_next). */
/* An appointment ticket becomes a candidate this long before its start. */
#define APPOINTMENT_LEAD_US (120LL * 1000000)
/* The ticket ctr calls next at now, or NULL; why, in one line, in reason
 * (NULL: not wanted). */
struct ticket *next_ticket(const struct counter *ctr, int64_t now, char *reason, size_t reasonsz);

/* booking.c: bookings in memory and the ops on them. */
struct booking *office_booking(const struct office *o, const char *code);
json_t *booking_json(const struct office *o, const struct booking *b);
/* The office's bookings from a snapshot: all of them (merge false, at a
 * load), or merged into memory (a configuration reload: a state only moves
 * forward, and one the daemon is still writing is kept). */
void office_take_bookings(struct engine *e, struct office *o, const struct store_snapshot *snap,
			  bool merge);
void office_bookings_free(struct office *o);
/* Adds one booking of the store's form (tests); -1 when it does not fit. */
int office_add_booking_row(struct office *o, const struct store_booking *row);
/* Bookings still booked after their window closed become no_show (in
 * memory and in the database); force: write even when memory saw none
 * (the day change, for bookings a stopped daemon never knew). */
void office_bookings_sweep(struct engine *e, struct office *o, int64_t now, bool force);
void booking_op_check_in(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx);
void booking_op_book(struct engine *e, struct office *o, const struct engine_req *req,
		     engine_reply_fn reply, void *ctx);
void booking_op_unbook(struct engine *e, struct office *o, const struct engine_req *req,
		       engine_reply_fn reply, void *ctx);

/* engine_ops.c */
void engine_ops_dispatch(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx);
/* engine_load.c */
void queue_policy_from_row(struct queue_policy *p, const struct store_queue *row);
/* Replaces the outcome lists of o's queues with the snapshot's. */
void queues_take_outcomes(struct office *o, const struct store_snapshot *snap);
/* Makes the ticket of a load's row at once; engine_build_offices places
 * it (store_ticket_fn). */
void engine_take_ticket_row(struct engine *e, const struct store_ticket *row);
/* Frees the rows taken and not placed (a failed load). */
void engine_drop_ticket_rows(struct engine *e);
/* A fresh set of offices from a snapshot, the rows taken placed in the
 * snapshot's ticket_order (and then dropped). */
void engine_build_offices(struct engine *e, const struct store_snapshot *snap, struct office ***out,
			  int *nout);
/* Replaces the texts of o's queues with the snapshot's. */
void queues_take_texts(struct office *o, const struct store_snapshot *snap);
/* Sets the office's key from the hex of its row (none when absent). */
void office_take_key(struct office *o, const struct store_office *row);
/* engine_visitor.c */
/* Gives a new ticket of o its visitor hash; secret (VSECRET_LEN + 1)
 * gets the secret, "" when the office has no key. */
void ticket_visitor_init(const struct office *o, struct ticket *t, char *secret);
/* The result of issue: the ticket and, when the office has a key,
 * "visitor_path". */
json_t *issue_result(const struct engine *e, const struct office *o, const struct ticket *t);
/* engine_config.c */
void engine_merge_config(struct engine *e, const struct store_snapshot *snap);
void engine_rollover(struct engine *e, struct office *o);

#endif
