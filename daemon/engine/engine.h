/*
 * engine: the queue engine. Owns every office's state in memory
 * (queues, counters, today's tickets, waiting lists) and the rules that
 * change it. No socket I/O: requests come in as engine_req, answers go
 * out through a callback, events through the emit hook.
 *
 * Write-through: a change is validated and applied in memory, its SQL
 * joins the open group-commit batch, and the reply and events are
 * released only after that batch commits. If a batch fails, every
 * request in it (and in any batch queued behind it) gets `unavailable`
 * and all offices are reloaded from the database.
 */
#ifndef KOLAPP_ENGINE_H
#define KOLAPP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/proto.h"
#include "daemon/engine/store.h"

struct engine;

/* Realtime clock in microseconds since the epoch; injectable for tests. */
typedef int64_t (*engine_clock_fn)(void *arg);
/* One event of a committed change, encoded once: TCP subscribers get
 * `line` as it is, SSE clients it as their data. Valid during the call. */
struct engine_event {
	int office_id;
	const char *kind; /* "called", "issued", ... */
	const char *line; /* the event object and "\n" */
	size_t len;       /* with the "\n" */
};
/* One event for every subscriber of the office. */
typedef void (*engine_emit_fn)(void *arg, const struct engine_event *ev);
/* Called after the events of one change (which all precede its reply):
 * a hook may gather them and write each subscriber once. */
typedef void (*engine_emit_flush_fn)(void *arg);
/* The answer to one request: err == PROTO_OK with result (stolen, may be
 * NULL), or an error and its message. Called exactly once per request,
 * possibly before engine_submit() returns. */
typedef void (*engine_reply_fn)(void *ctx, enum proto_err err, const char *message, json_t *result);
/* Called when a load (start-up or recovery) completes. */
typedef void (*engine_loaded_fn)(void *arg, bool ok);

struct engine_hooks {
	engine_clock_fn clock;
	void *clock_arg;
	engine_emit_fn emit;
	engine_emit_flush_fn emit_flush;
	void *emit_arg;
	engine_loaded_fn loaded;
	void *loaded_arg;
};

/* One authorised, validated request. The engine reads the op and its
 * arguments from the decoded request, so a new argument needs nothing
 * here. */
struct engine_req {
	const struct proto_request *args; /* borrowed for the call */
	int office_id;
	int counter_id; /* counter role: its counter; 0: args->counter names it */
};

/* The engine writes through store (copied). With NULL, every change
 * "commits" at once, as if the database had said yes: for tests that
 * exercise the rules alone. */
struct engine *engine_new(const struct engine_store *store, const struct engine_hooks *hooks);
void engine_free(struct engine *e);
void engine_set_emit_arg(struct engine *e, void *arg);
/* The share of the loop's time (percent, 0: no limit) the estimator may
 * take; beyond it offices re-simulate at most every 250 ms, and not at
 * all once a second's share is spent (but every 15 s). */
void engine_set_estimate_share(struct engine *e, int percent);

/* Loads every office from the database (asynchronously). */
void engine_load(struct engine *e);
/* True while a load is pending or the last one failed. */
bool engine_is_stale(const struct engine *e);
/* To be called when the database connection comes back or is lost. */
void engine_db_state(struct engine *e, bool up);
/* Reloads offices, queues, counters and queue lists (not tickets) and
 * merges them into memory; for changes made in psql. */
void engine_config_changed(struct engine *e);
/* Advances the business day of offices whose local midnight has passed. */
void engine_tick(struct engine *e);

/* Calls fn for every active queue of the offices this daemon serves: its office and code, how many wait,
 * and the original issue time of the first in line (0: none). */
void engine_each_queue(const struct engine *e,
		       void (*fn)(void *arg, const char *office, const char *queue, int waiting,
				  int64_t oldest_us),
		       void *arg);
/*
 * Several daemons on one database (issue 16). Until engine_ownership_on()
 * every office is this daemon's (one daemon, unit tests). After it, an
 * office is served only while daemon/store/own.c says this daemon owns it,
 * with the ownership epoch that every write of the office carries
 * (fencing); other offices are answered "moved" with their owner's
 * address, or "unavailable" while nobody owns them.
 */
enum engine_owner { OWNER_MINE, OWNER_ELSEWHERE, OWNER_NOBODY, OWNER_UNKNOWN_OFFICE };
void engine_ownership_on(struct engine *e);
bool engine_ownership_is_on(const struct engine *e);
/* Records an office's owner: epoch > 0 when it is this daemon (then addr
 * and http are ignored); else the owner's advertised TCP address and HTTP
 * base (NULL: nobody owns it now). Strings are copied. Returns true when
 * this daemon's hold changed (gained, lost or a new epoch). */
bool engine_set_owner(struct engine *e, int office_id, const char *office_code, int64_t epoch,
		      const char *addr, const char *http);
/* Who serves the office with that code. For OWNER_ELSEWHERE, *addr and
 * *http (may be NULL) are the owner's, valid until the next
 * engine_set_owner(). */
enum engine_owner engine_owner_of(const struct engine *e, const char *office_code,
				  const char **addr, const char **http);
/* The epoch this daemon holds the office with, 0 when it does not. */
int64_t engine_office_epoch(const struct engine *e, int office_id);
/* This daemon's name and the live daemons' HTTP bases (for pages that
 * must find another daemon when theirs dies); copied. */
void engine_set_nodes(struct engine *e, const char *self_name, const char *const *http, int n);
const char *engine_node_name(const struct engine *e);
/* The live daemons' HTTP bases, this one's first; NULL-free, n entries. */
const char *const *engine_nodes_http(const struct engine *e, int *n);

/* Looks up an office by code; 0 when unknown. */
int engine_office_id(const struct engine *e, const char *code);
const char *engine_office_code(const struct engine *e, int office_id);
/* Looks up a counter of an office by name; 0 when unknown. */
int engine_counter_id(const struct engine *e, int office_id, const char *name);

/* Handles one authorised, validated request for an existing office. */
void engine_submit(struct engine *e, const struct engine_req *req, engine_reply_fn reply,
		   void *ctx);
/* The office's status reply, encoded as the members that follow "ok":true
 * (see proto_encode_members), or NULL when there is no such office. Kept
 * until the office changes: status is what every display polls. Owned
 * by the engine; valid until the next call into it. */
const char *engine_status_encoded(struct engine *e, int office_id, size_t *len);

/* ---- the visitor's own page (/t/<secret>) ---- */
/* Which ticket a visitor's secret opened: kept by a page's stream, so
 * that each update needs no search. */
struct engine_visitor {
	int office_id;
	int32_t day;
	char code[24];
	uint8_t hash[32];
};
/* Finds today's ticket whose visitor secret is secret (len bytes, as in
 * the URL); false for any other string, a ticket of an earlier day or an
 * office without visitor pages. */
bool engine_visitor_find(const struct engine *e, const char *secret, size_t len,
			 struct engine_visitor *out);
/* What the visitor's page shows: {"office","office_name","ticket":{...,
 * "queue_name","queue_texts"},"stale"}, about this ticket alone; NULL once
 * the ticket is no longer today's. The caller owns the result. */
json_t *engine_visitor_json(struct engine *e, const struct engine_visitor *v);
/* The visitor's one rating (1-5) of a visit that ended (done): written
 * per queue and day without the ticket; reply as for engine_submit, with
 * {"rated":true}. */
void engine_visitor_rate(struct engine *e, const struct engine_visitor *v, int rating,
			 engine_reply_fn reply, void *ctx);

/* ---- for unit tests: build state without a database ---- */
int engine_test_add_office(struct engine *e, int id, const char *code, const char *tz);
int engine_test_add_queue(struct engine *e, int office_id, int id, const char *code,
			  const char *name);
int engine_test_add_counter(struct engine *e, int office_id, int id, const char *name,
			    const int *queue_ids, const int *ranks, int nqueues, bool open);
void engine_test_set_queue_open(struct engine *e, int office_id, const char *code, bool open);
int engine_test_set_queue_policy(struct engine *e, int office_id, const char *code, int min_calls,
				 int no_show_after_s, int reactivate_within_s, bool require_outcome,
				 bool allow_priority);
int engine_test_add_outcome(struct engine *e, int office_id, const char *queue, const char *code,
			    const char *name);
/* A booked booking (the merge of a configuration reload adds it). */
int engine_test_add_booking(struct engine *e, int office_id, const char *code, const char *queue,
			    int64_t starts_at_us, int minutes);
int engine_test_set_checkin_window(struct engine *e, int office_id, int before_s, int after_s);
int engine_test_set_weight(struct engine *e, int office_id, const char *counter, const char *queue,
			   int weight);
/* The counter's planned hours: n/2 intervals from, until (us); n 0 with
 * a plan is closed all day; hours NULL forgets the plan. */
int engine_test_set_counter_hours(struct engine *e, int office_id, const char *counter,
				  const int64_t *hours, int n);
/* The queue's ticket hours, as engine_test_set_counter_hours; the change
 * is sent as a queue event by the next engine_tick(). */
int engine_test_set_queue_hours(struct engine *e, int office_id, const char *queue,
				const int64_t *hours, int n);
/* When visitors came to the queue on the same weekday of earlier weeks:
 * at[i], a time of today, in week[i] (1: a week ago); n of them, any
 * order. Taken as the store's load_arrivals would give them (every
 * other queue then has none). 0, or -1 when there is no such queue. */
int engine_test_set_arrivals(struct engine *e, int office_id, const char *queue, const int *week,
			     const int64_t *at, int n);
/* As if the estimator were over its share of the loop (busy: offices
 * re-simulate at most every 250 ms of the engine's clock; spent: only as
 * time passes, every 15 s), or as it is (both false). */
void engine_test_set_estimator_budget(struct engine *e, bool busy, bool spent);

#endif
