/*
 * engine_int: the engine's private data structures, shared by engine.c
 * (life cycle, loading, commits), engine_ops.c (the ops) and
 * engine_json.c (reply and event objects). Not for other modules.
 */
#ifndef KOLAPP_ENGINE_INT_H
#define KOLAPP_ENGINE_INT_H

#include "daemon/engine/engine.h"
#include "daemon/engine/ticket_state.h"
#include "daemon/util/xalloc.h"

#define CODE_MAX 24
#define RECENT_MAX 10
#define SERVICE_SAMPLES 16


struct queue;
struct counter;

struct ticket {
	char code[CODE_MAX];
	int number;
	int32_t day;          /* business day it belongs to */
	struct queue *origin; /* the queue its code belongs to */
	struct queue *queue;  /* the queue it waits in now */
	enum ticket_state state;
	int64_t issued_at, sort_at, called_at, started_at, finished_at; /* us */
	struct counter *counter; /* the counter that called it */
	int recalls;
	uint64_t order;          /* tie-break within one sort_at */
	uint64_t issue_seq;      /* store batch that issued it (0: loaded) */
	char *key;               /* idempotency key or NULL */
	struct ticket *key_next; /* chain in the office's key table */
};

struct queue {
	int id;
	char code[8];
	char *name;
	bool open, active;
	struct ticket **waiting; /* ordered by (sort_at, order) */
	int nwaiting, capwaiting;
	struct ticket **today;            /* today's tickets of this code, by number - 1 */
	int ntoday, captoday;             /* ntoday == highest number issued today */
	int64_t service[SERVICE_SAMPLES]; /* recent service times, us */
	int nservice, service_pos;
};

struct counter_queue {
	struct queue *queue;
	int rank;
};

struct counter {
	int id;
	char *name;
	bool open, active;
	struct counter_queue *queues;
	int nqueues;
	struct ticket *held; /* called or serving here, or NULL */
};

struct recent_call {
	char ticket[CODE_MAX];
	char counter[40];
	int64_t at;
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
	uint64_t gen;     /* bumped by every change to the office */
	char *status_enc; /* engine_status_encoded(), while still true */
	size_t status_len;
	uint64_t status_gen, status_egen;
	bool status_stale;
};

struct engine {
	struct engine_store store;
	bool has_store; /* false: changes commit at once (tests) */
	struct engine_hooks hooks;
	struct office **offices;
	int noffices;
	bool loading;
	bool stale; /* the last load failed or a batch failed */
	bool reload_wanted;
	uint64_t failed_seq; /* highest batch seq already handled as failed */
	uint64_t order;      /* next ticket order */
	bool config_loading; /* a configuration reload is in flight */
	int64_t last_now;    /* engine_now() never goes back */
	bool config_again;   /* another change arrived meanwhile */
	uint64_t gen;        /* bumped by loads, configuration and failures */
};

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
void queue_waiting_insert(struct queue *q, struct ticket *t);
void queue_waiting_remove(struct queue *q, struct ticket *t);
/* Moves t by action, as the transition table allows (-1 when it does
 * not, and nothing changes), and keeps where it is in step with its
 * state: its queue's waiting list, the counter that holds it. ctr is the
 * calling counter (call), to the new queue (transfer). */
int ticket_apply(struct ticket *t, enum ticket_action action, struct counter *ctr, struct queue *to,
		 int64_t now);
/* "ticket S-001 is serving, not called": why action does not apply to t. */
void ticket_refusal(const struct ticket *t, enum ticket_action action, char *buf, size_t bufsz);
int queue_position(const struct queue *q, const struct ticket *t);
void queue_add_today(struct queue *q, struct ticket *t);
void queue_record_service(struct queue *q, int64_t us);
void office_record_call(struct office *o, const struct ticket *t, int64_t at);
void office_free(struct office *o);
void ticket_free(struct ticket *t);

/* A change in flight: reply and events are released once it commits. */
struct change;
struct change *change_begin(struct engine *e, struct office *o, engine_reply_fn reply, void *ctx);
/* Adds one write (a statement of the store, by name) to the change. */
void change_write(struct change *c, const char *stmt, int n, const char *const *values);
void change_event(struct change *c, json_t *event);
/* Encodes one event and hands it to the emit hook now. */
void engine_emit(struct engine *e, int office_id, const json_t *event);
/* The store batch the change joined (0: none yet). */
uint64_t change_seq(const struct change *c);
/* Makes a change without writes of its own wait for the batch with that
 * sequence number while it is pending (0: nothing to wait for). */
void change_wait_for(struct change *c, uint64_t seq);
/* Commits (or, without a database, completes at once) and later replies
 * with result (stolen). */
void change_commit(struct change *c, json_t *result);

/* engine_json.c */
json_t *ticket_json(const struct engine *e, const struct office *o, const struct ticket *t);
json_t *counter_json(const struct counter *c);
json_t *status_json(const struct engine *e, const struct office *o);
json_t *estimate_json(const struct office *o, const struct queue *q, int position);
json_t *office_event(const struct office *o, const char *kind, int64_t at);
json_t *queue_event(const struct engine *e, const struct office *o, const struct queue *q,
		    int64_t at);
char *iso_time(int64_t us, char *buf);

/* engine_ops.c */
void engine_ops_dispatch(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx);
/* engine_load.c: a fresh set of offices from a snapshot (tickets placed). */
void engine_build_offices(struct engine *e, const struct store_snapshot *snap, struct office ***out,
			  int *nout);
/* engine_config.c */
void engine_merge_config(struct engine *e, const struct store_snapshot *snap);
void engine_rollover(struct engine *e, struct office *o);

#endif
