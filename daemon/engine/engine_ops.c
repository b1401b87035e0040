/*
 * The ops of protocol v1 against one office. Each op checks in the
 * contract's order (not_found, queue_closed, conflict, then unavailable),
 * applies the change in memory, queues its SQL and its events, and
 * commits; the reply waits for the commit.
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text forms of the parameters every statement takes. */
struct sqlargs {
	char office[16], day[16], at[32], counter[16], queue[16], number[16];
};

static void args_fill(struct sqlargs *a, const struct office *o, int32_t day, int64_t at)
{
	snprintf(a->office, sizeof a->office, "%d", o->id);
	tzday_format(day, a->day);
	tzday_iso8601(at, a->at);
}

static bool refuse_if_stale(struct engine *e, engine_reply_fn reply, void *ctx)
{
	if (!engine_is_stale(e))
		return false;
	reply(ctx, PERR_UNAVAILABLE, "the database is unreachable: nothing was changed", NULL);
	return true;
}

static json_t *state_event(const struct office *o, const struct ticket *t, int64_t at)
{
	json_t *ev = office_event(o, "state", at);
	json_object_set_new(ev, "ticket", json_string(t->code));
	json_object_set_new(ev, "state", json_string(ticket_state_name(t->state)));
	json_object_set_new(ev, "queue", json_string(t->queue->code));
	json_object_set_new(ev, "counter", t->counter && t->state != TS_WAITING
				? json_string(t->counter->name) : json_null());
	return ev;
}

static json_t *called_event(const struct office *o, const struct ticket *t, int64_t at)
{
	json_t *ev = office_event(o, "called", at);
	json_object_set_new(ev, "ticket", json_string(t->code));
	json_object_set_new(ev, "counter", json_string(t->counter->name));
	json_object_set_new(ev, "recalls", json_integer(t->recalls));
	json_object_set_new(ev, "queue", json_string(t->queue->code));
	return ev;
}

static void sql_set_state(struct change *c, const struct office *o, const struct ticket *t,
			  int64_t at)
{
	struct sqlargs a;
	args_fill(&a, o, t->day, at);
	const char *v[] = { a.office, a.day, t->code, ticket_state_name(t->state), a.at };
	change_sql(c, "d_set_state", 5, v);
}

/* Ends the counter's held ticket as `state` (done or no_show). */
static void end_held(struct change *c, struct office *o, struct counter *ctr,
		     enum ticket_state state, int64_t now)
{
	struct ticket *t = ctr->held;

	t->state = state;
	t->finished_at = now;
	/* A ticket carried over midnight would skew the new day's estimates. */
	if (state == TS_DONE && t->called_at && t->day == o->day)
		queue_record_service(t->queue, now - t->called_at);
	ctr->held = NULL;
	sql_set_state(c, o, t, now);
	change_event(c, state_event(o, t, now));
}

static void call_ticket(struct change *c, struct engine *e, struct office *o,
			struct counter *ctr, struct ticket *t, int64_t now)
{
	struct sqlargs a;

	queue_waiting_remove(t->queue, t);
	t->state = TS_CALLED;
	t->counter = ctr;
	t->called_at = now;
	t->recalls = 0;
	ctr->held = t;
	office_record_call(o, t, now);
	args_fill(&a, o, t->day, now);
	snprintf(a.counter, sizeof a.counter, "%d", ctr->id);
	const char *v[] = { a.office, a.day, t->code, a.counter, a.at };
	change_sql(c, "d_call", 5, v);
	change_event(c, called_event(o, t, now));
	change_event(c, queue_event(e, o, t->queue, now));
}

/* The rank rule: lowest rank among open queues with waiting tickets,
 * then the ticket waiting longest. */
static struct ticket *pick_next(const struct counter *ctr)
{
	struct ticket *best = NULL;
	int best_rank = 0;

	for (int i = 0; i < ctr->nqueues; i++) {
		const struct queue *q = ctr->queues[i].queue;
		struct ticket *cand;
		if (!q->open || !q->active || !q->nwaiting)
			continue;
		cand = q->waiting[0];
		if (!best || ctr->queues[i].rank < best_rank ||
		    (ctr->queues[i].rank == best_rank &&
		     (cand->sort_at < best->sort_at ||
		      (cand->sort_at == best->sort_at && cand->order < best->order)))) {
			best = cand;
			best_rank = ctr->queues[i].rank;
		}
	}
	return best;
}

static void op_issue(struct engine *e, struct office *o, const struct engine_req *req,
		     engine_reply_fn reply, void *ctx)
{
	struct queue *q = office_queue(o, req->queue);
	struct ticket *t;
	struct change *c;
	struct sqlargs a;
	int64_t now = engine_now(e);

	if (!q || !q->active) {
		reply(ctx, PERR_NOT_FOUND, "no such queue", NULL);
		return;
	}
	if (req->key && (t = office_key_lookup(o, req->key))) {
		/* After a failed batch memory may hold a ticket the database
		 * does not: answer for it only once reloaded. */
		if (refuse_if_stale(e, reply, ctx))
			return;
		/* The same visitor pressed twice: the same ticket, once committed. */
		struct pgw_job *job = e->pgw && t->issue_seq ? pgw_find_pending(e->pgw, t->issue_seq) : NULL;
		c = change_begin(e, o, reply, ctx);
		change_wait_for(c, job);
		change_commit(c, json_pack("{s:o}", "ticket", ticket_json(e, o, t)));
		return;
	}
	if (!q->open) {
		reply(ctx, PERR_QUEUE_CLOSED, "this queue is closed", NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	t = xcalloc(1, sizeof *t);
	t->number = q->ntoday + 1;
	t->day = o->day;
	snprintf(t->code, sizeof t->code, "%s-%03d", q->code, t->number);
	t->origin = t->queue = q;
	t->state = TS_WAITING;
	t->issued_at = t->sort_at = now;
	t->order = ++e->order;
	if (req->key) {
		t->key = xstrdup(req->key);
		office_key_insert(o, t);
	}
	queue_add_today(q, t);
	queue_waiting_insert(q, t);

	c = change_begin(e, o, reply, ctx);
	args_fill(&a, o, t->day, now);
	snprintf(a.queue, sizeof a.queue, "%d", q->id);
	snprintf(a.number, sizeof a.number, "%d", t->number);
	const char *v[] = { a.office, a.queue, a.day, a.number, t->code, t->key, a.at };
	change_sql(c, "d_issue", 7, v);
	t->issue_seq = change_seq(c);
	json_t *ev = office_event(o, "issued", now);
	json_object_set_new(ev, "ticket", json_string(t->code));
	json_object_set_new(ev, "queue", json_string(q->code));
	json_object_set_new(ev, "number", json_integer(t->number));
	change_event(c, ev);
	change_event(c, queue_event(e, o, q, now));
	change_commit(c, json_pack("{s:o}", "ticket", ticket_json(e, o, t)));
}

static struct counter *resolve_counter(struct office *o, const struct engine_req *req,
				       engine_reply_fn reply, void *ctx)
{
	struct counter *ctr = req->counter_id ? office_counter_by_id(o, req->counter_id)
		: req->counter_name ? office_counter(o, req->counter_name) : NULL;

	if (!ctr || !ctr->active) {
		reply(ctx, PERR_NOT_FOUND, "no such counter", NULL);
		return NULL;
	}
	return ctr;
}

static void op_call(struct engine *e, struct office *o, struct counter *ctr,
		    const struct engine_req *req, engine_reply_fn reply, void *ctx)
{
	int64_t now = engine_now(e);
	struct ticket *t;
	struct change *c;
	json_t *finished = json_null();

	if (req->op == OP_CALL) {
		t = office_ticket(o, req->ticket);
		if (!t) {
			reply(ctx, PERR_NOT_FOUND, "no such ticket today", NULL);
			return;
		}
		if (!ctr->open) {
			reply(ctx, PERR_CONFLICT, "the counter is closed: open it first", NULL);
			return;
		}
		if (t->state != TS_WAITING) {
			char msg[96];
			snprintf(msg, sizeof msg, "ticket %s is %s, not waiting", t->code,
				 ticket_state_name(t->state));
			reply(ctx, PERR_CONFLICT, msg, NULL);
			return;
		}
	} else {
		if (!ctr->open) {
			reply(ctx, PERR_CONFLICT, "the counter is closed: open it first", NULL);
			return;
		}
		t = pick_next(ctr);
		if (!t && !ctr->held) {
			reply(ctx, PROTO_OK, NULL,
			      json_pack("{s:n, s:n}", "ticket", "finished"));
			return;
		}
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	c = change_begin(e, o, reply, ctx);
	if (ctr->held) {
		finished = json_string(ctr->held->code);
		end_held(c, o, ctr, TS_DONE, now);
	}
	if (t)
		call_ticket(c, e, o, ctr, t, now);
	change_commit(c, json_pack("{s:o, s:o}", "ticket", t ? ticket_json(e, o, t) : json_null(),
				   "finished", finished));
}

static void op_held(struct engine *e, struct office *o, struct counter *ctr,
		    const struct engine_req *req, engine_reply_fn reply, void *ctx)
{
	int64_t now = engine_now(e);
	struct ticket *t = ctr->held;
	struct change *c;
	struct sqlargs a;
	struct queue *target = NULL;
	char msg[128];

	if (req->op == OP_TRANSFER) {
		target = office_queue(o, req->queue);
		if (!target || !target->active) {
			reply(ctx, PERR_NOT_FOUND, "no such queue", NULL);
			return;
		}
	}
	if (!t) {
		reply(ctx, PERR_CONFLICT, "the counter holds no ticket", NULL);
		return;
	}
	if ((req->op == OP_RECALL || req->op == OP_START || req->op == OP_NO_SHOW) &&
	    t->state != TS_CALLED) {
		snprintf(msg, sizeof msg, "ticket %s is %s, not called", t->code,
			 ticket_state_name(t->state));
		reply(ctx, PERR_CONFLICT, msg, NULL);
		return;
	}
	if (req->op == OP_TRANSFER && t->day != o->day) {
		reply(ctx, PERR_CONFLICT, "the ticket is from an earlier business day", NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	c = change_begin(e, o, reply, ctx);
	switch (req->op) {
	case OP_RECALL: {
		t->recalls++;
		office_record_call(o, t, now);
		args_fill(&a, o, t->day, now);
		const char *v[] = { a.office, a.day, t->code, a.at };
		change_sql(c, "d_recall", 4, v);
		change_event(c, called_event(o, t, now));
		break;
	}
	case OP_START:
		t->state = TS_SERVING;
		t->started_at = now;
		sql_set_state(c, o, t, now);
		change_event(c, state_event(o, t, now));
		break;
	case OP_FINISH:
		end_held(c, o, ctr, TS_DONE, now);
		break;
	case OP_NO_SHOW:
		end_held(c, o, ctr, TS_NO_SHOW, now);
		break;
	case OP_TRANSFER: {
		t->state = TS_WAITING;
		t->queue = target;
		t->counter = NULL;
		t->called_at = t->started_at = 0;
		t->recalls = 0;
		ctr->held = NULL;
		queue_waiting_insert(target, t);
		args_fill(&a, o, t->day, now);
		snprintf(a.queue, sizeof a.queue, "%d", target->id);
		const char *v[] = { a.office, a.day, t->code, a.queue, a.at };
		change_sql(c, "d_transfer", 5, v);
		change_event(c, state_event(o, t, now));
		change_event(c, queue_event(e, o, target, now));
		break;
	}
	default:
		break;
	}
	change_commit(c, json_pack("{s:o}", "ticket", ticket_json(e, o, t)));
}

static void op_cancel(struct engine *e, struct office *o, const struct engine_req *req,
		      engine_reply_fn reply, void *ctx)
{
	int64_t now = engine_now(e);
	struct ticket *t = office_ticket(o, req->ticket);
	struct change *c;
	char msg[96];

	if (!t) {
		reply(ctx, PERR_NOT_FOUND, "no such ticket today", NULL);
		return;
	}
	if (t->state != TS_WAITING) {
		snprintf(msg, sizeof msg, "ticket %s is %s, not waiting", t->code,
			 ticket_state_name(t->state));
		reply(ctx, PERR_CONFLICT, msg, NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	c = change_begin(e, o, reply, ctx);
	queue_waiting_remove(t->queue, t);
	t->state = TS_CANCELLED;
	t->finished_at = now;
	sql_set_state(c, o, t, now);
	change_event(c, state_event(o, t, now));
	change_event(c, queue_event(e, o, t->queue, now));
	change_commit(c, json_pack("{s:o}", "ticket", ticket_json(e, o, t)));
}

static void op_counter_open(struct engine *e, struct office *o, struct counter *ctr,
			    bool open, engine_reply_fn reply, void *ctx)
{
	int64_t now = engine_now(e);
	struct change *c;
	char id[16];

	if (ctr->open == open) {
		reply(ctx, PROTO_OK, NULL, json_pack("{s:o}", "counter", counter_json(ctr)));
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	c = change_begin(e, o, reply, ctx);
	ctr->open = open;
	snprintf(id, sizeof id, "%d", ctr->id);
	char at[32];
	tzday_iso8601(now, at);
	const char *v[] = { id, open ? "true" : "false", at };
	change_sql(c, "d_counter_set_open", 3, v);
	json_t *ev = office_event(o, "counter", now);
	json_object_set_new(ev, "counter", json_string(ctr->name));
	json_object_set_new(ev, "open", json_boolean(open));
	change_event(c, ev);
	/* Estimates depend on the open counters. */
	for (int i = 0; i < ctr->nqueues; i++)
		change_event(c, queue_event(e, o, ctr->queues[i].queue, now));
	change_commit(c, json_pack("{s:o}", "counter", counter_json(ctr)));
}

static struct ticket *find_any_ticket(const struct office *o, const char *code)
{
	struct ticket *t = office_ticket(o, code);

	/* Yesterday's code is only visible while its counter still serves it. */
	for (int i = 0; !t && i < o->ncarried; i++)
		if (!strcmp(o->carried[i]->code, code) && o->carried[i]->counter &&
		    o->carried[i]->counter->held == o->carried[i])
			t = o->carried[i];
	return t;
}

void engine_ops_dispatch(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx)
{
	struct counter *ctr;
	struct ticket *t;

	switch (req->op) {
	case OP_ISSUE:
		op_issue(e, o, req, reply, ctx);
		return;
	case OP_CANCEL:
		op_cancel(e, o, req, reply, ctx);
		return;
	case OP_TICKET:
		t = find_any_ticket(o, req->ticket);
		if (!t)
			reply(ctx, PERR_NOT_FOUND, "no such ticket today", NULL);
		else
			reply(ctx, PROTO_OK, NULL, json_pack("{s:o}", "ticket", ticket_json(e, o, t)));
		return;
	case OP_STATUS:
		reply(ctx, PROTO_OK, NULL, status_json(e, o));
		return;
	default:
		break;
	}
	if (!proto_op_is_counter_op(req->op)) {
		reply(ctx, PERR_INTERNAL, "op not handled by the engine", NULL);
		return;
	}
	ctr = resolve_counter(o, req, reply, ctx);
	if (!ctr)
		return;
	switch (req->op) {
	case OP_CALL_NEXT:
	case OP_CALL:
		op_call(e, o, ctr, req, reply, ctx);
		break;
	case OP_COUNTER_OPEN:
	case OP_COUNTER_CLOSE:
		op_counter_open(e, o, ctr, req->op == OP_COUNTER_OPEN, reply, ctx);
		break;
	default:
		op_held(e, o, ctr, req, reply, ctx);
		break;
	}
}

/* Local midnight: what still waits or was called expires, numbering
 * starts again; a ticket being served stays with its counter. */
void engine_rollover(struct engine *e, struct office *o)
{
	int64_t now = engine_now(e);
	int32_t old_day = o->day;
	struct change *c;
	struct sqlargs a;
	int kept = 0;
	json_t *expired = NULL, *ev;
	size_t idx;

	if (tzday_compute(o->tz, now, &o->day, &o->day_end) < 0)
		tzday_compute("UTC", now, &o->day, &o->day_end);
	/* Carried tickets that have finished are done with for good. */
	for (int i = 0; i < o->ncarried; i++) {
		struct ticket *t = o->carried[i];
		if (t->counter && t->counter->held == t)
			o->carried[kept++] = t;
		else {
			free(t->key);
			free(t);
		}
	}
	o->ncarried = kept;
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];
		if (old_day == o->day)
			break;   /* only expiring what the database still has */
		for (int n = 0; n < q->ntoday; n++) {
			struct ticket *t = q->today[n];
			if (!t)
				continue;
			if (t->state == TS_SERVING && t->counter && t->counter->held == t) {
				o->carried = xgrow(o->carried, &o->capcarried, o->ncarried + 1,
							 sizeof *o->carried);
				o->carried[o->ncarried++] = t;
				t->key_next = NULL;
				continue;
			}
			if (t->state == TS_CALLED && t->counter && t->counter->held == t)
				t->counter->held = NULL;
			if (t->state == TS_WAITING || t->state == TS_CALLED) {
				t->state = TS_EXPIRED;
				if (!expired)
					expired = json_array();
				json_array_append_new(expired, state_event(o, t, now));
			}
			free(t->key);
			free(t);
		}
		q->ntoday = 0;
		q->nwaiting = 0;
		q->nservice = q->service_pos = 0;
	}
	if (old_day != o->day) {
		memset(o->keys, 0, sizeof o->keys);
		o->nrecent = 0;
		log_info("office %s: a new business day begins", o->code);
	}
	c = change_begin(e, o, NULL, NULL);
	args_fill(&a, o, o->day, now);
	const char *v[] = { a.office, a.day, a.at };
	change_sql(c, "d_expire", 3, v);
	json_array_foreach(expired, idx, ev)
		change_event(c, json_incref(ev));
	json_decref(expired);
	for (int i = 0; i < o->nqueues; i++)
		change_event(c, queue_event(e, o, o->queues[i], now));
	change_commit(c, NULL);
}
