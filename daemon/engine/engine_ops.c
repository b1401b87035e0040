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
	json_object_set_new(ev, "counter",
			    t->counter && t->state != TS_WAITING ? json_string(t->counter->name)
								 : json_null());
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

/* Tickets enter and leave states only here and in engine_rollover(): each
 * op asks ticket_apply() for its transition and writes the same step. */

/* A write that names the ticket and the time only (recall, park, reactivate). */
static void write_ticket(struct change *c, const struct office *o, const struct ticket *t,
			 const char *stmt, int64_t at)
{
	struct sqlargs a;

	args_fill(&a, o, t->day, at);
	const char *v[] = { a.office, a.day, t->code, a.at };
	change_write(c, stmt, 4, v);
}

/* The write for a step that only sets the state (start, finish, no_show, cancel). */
static void write_state(struct change *c, const struct office *o, const struct ticket *t,
			int64_t at)
{
	struct sqlargs a;
	args_fill(&a, o, t->day, at);
	const char *v[] = { a.office, a.day, t->code, ticket_state_name(t->state), a.at };
	change_write(c, "d_set_state", 5, v);
}

/* Ends the counter's held ticket by action (finish or no_show). explicit:
 * a finish the clerk asked for, not one implied by calling the next. */
static void end_held(struct change *c, struct office *o, struct counter *ctr,
		     enum ticket_action action, int64_t now, bool explicit)
{
	struct ticket *t = ctr->held;
	bool started = t->started_at != 0;
	int64_t since_call = now - t->called_at;

	if (ticket_apply(t, action, NULL, NULL, now) < 0)
		return; /* callers checked: the table allows it from called and serving */
	/* The estimates learn from services, not from a called visitor the
	 * clerk skipped with call_next (never started), and count the time
	 * no-shows cost. A ticket carried over midnight is left out. */
	if (t->day == o->day && t->called_at) {
		if (t->state == TS_DONE && (started || explicit)) {
			counter_record_visit(ctr, t->queue, since_call);
			queue_record_service(t->queue, since_call);
		} else if (t->state == TS_NO_SHOW)
			queue_record_noshow(t->queue, since_call);
	}
	write_state(c, o, t, now);
	change_event(c, state_event(o, t, now));
}

static void call_ticket(struct change *c, struct engine *e, struct office *o, struct counter *ctr,
			struct ticket *t, int64_t now)
{
	struct sqlargs a;

	ticket_apply(t, TA_CALL, ctr, NULL, now);
	office_record_call(o, t, now);
	office_estimate_called(o, t, now);
	args_fill(&a, o, t->day, now);
	snprintf(a.counter, sizeof a.counter, "%d", ctr->id);
	const char *v[] = { a.office, a.day, t->code, a.counter, a.at };
	change_write(c, "d_call", 5, v);
	change_event(c, called_event(o, t, now));
	change_event(c, queue_event(e, o, t->queue, now));
}

/* One op against one office: what the handler needs. */
struct op {
	struct engine *e;
	struct office *o;
	struct counter *ctr; /* counter ops: the counter, resolved */
	const struct engine_req *req;
	engine_reply_fn reply;
	void *ctx;
};

static void refuse(const struct op *op, enum proto_err err, const char *message)
{
	op->reply(op->ctx, err, message, NULL);
}

static void reply_ticket(const struct op *op, struct change *c, struct ticket *t)
{
	change_commit(c, json_pack("{s:o}", "ticket", ticket_json(op->e, op->o, t)));
}

static void op_issue(const struct op *op)
{
	struct engine *e = op->e;
	struct office *o = op->o;
	const struct engine_req *req = op->req;
	struct queue *q = office_queue(o, req->args->queue);
	struct ticket *t;
	struct change *c;
	struct sqlargs a;
	int64_t now = engine_now(e);

	if (!q || !q->active) {
		refuse(op, PERR_NOT_FOUND, "no such queue");
		return;
	}
	if (req->args->key && (t = office_key_lookup(o, req->args->key))) {
		/* After a failed batch memory may hold a ticket the database
		 * does not: answer for it only once reloaded. */
		if (refuse_if_stale(e, op->reply, op->ctx))
			return;
		/* The same visitor pressed twice: the same ticket, once committed. */
		c = change_begin(e, o, op->reply, op->ctx);
		change_wait_for(c, t->issue_seq);
		change_commit(c, issue_result(e, o, t));
		return;
	}
	if (!q->open) {
		refuse(op, PERR_QUEUE_CLOSED, "this queue is closed");
		return;
	}
	if (!queue_takes_tickets(q, now)) {
		refuse(op, PERR_QUEUE_CLOSED, "this queue takes no tickets now (its ticket hours)");
		return;
	}
	if (req->args->priority == 1 && !q->policy.allow_priority) {
		refuse(op, PERR_FORBIDDEN, "this queue takes no priority tickets");
		return;
	}
	if (refuse_if_stale(e, op->reply, op->ctx))
		return;
	t = xcalloc(1, sizeof *t);
	t->priority = req->args->priority == 1;
	snprintf(t->interpreter, sizeof t->interpreter, "%s",
		 req->args->interpreter ? req->args->interpreter : "");
	snprintf(t->lang, sizeof t->lang, "%s", req->args->lang ? req->args->lang : "");
	t->number = q->ntoday + 1;
	t->day = o->day;
	ticket_set_code(t, q);
	t->origin = t->queue = q;
	t->state = TS_WAITING;
	t->issued_at = t->sort_at = now;
	t->order = ++e->order;
	if (req->args->key) {
		t->key = xstrdup(req->args->key);
		office_key_insert(o, t);
	}
	char secret[VSECRET_LEN + 1], vhash[2 * VSECRET_HASH + 1];

	ticket_visitor_init(o, t, secret);
	if (t->has_vhash)
		vsecret_hex(t->vhash, sizeof t->vhash, vhash);
	queue_add_today(q, t);
	waiting_insert(t);

	c = change_begin(e, o, op->reply, op->ctx);
	args_fill(&a, o, t->day, now);
	snprintf(a.queue, sizeof a.queue, "%d", q->id);
	snprintf(a.number, sizeof a.number, "%d", t->number);
	/* Kept with the ticket, so that a view can tell how good estimates
	 * were (kolapp.estimate_accuracy_daily). */
	char est[24];
	int64_t secs;
	bool known = ticket_estimate_at_issue(e, o, t, &secs);

	if (known)
		snprintf(est, sizeof est, "%lld", (long long)secs);
	const char *v[] = {
		a.office,
		a.queue,
		a.day,
		a.number,
		t->code,
		t->key,
		a.at,
		t->priority ? "true" : "false",
		t->interpreter[0] ? t->interpreter : NULL,
		t->lang[0] ? t->lang : NULL,
		known ? est : NULL,
		t->has_vhash ? vhash : NULL
	};
	change_write(c, "d_issue", 12, v);
	t->issue_seq = change_seq(c);
	json_t *ev = office_event(o, "issued", now);
	json_object_set_new(ev, "ticket", json_string(t->code));
	json_object_set_new(ev, "queue", json_string(q->code));
	json_object_set_new(ev, "number", json_integer(t->number));
	change_event(c, ev);
	change_event(c, queue_event(e, o, q, now));
	change_commit(c, issue_result(e, o, t));
}

/* A held ticket whose queue wants an outcome is finished with one, not
 * by calling the next. */
static bool refuse_if_outcome_needed(const struct op *op)
{
	const struct ticket *h = op->ctr->held;
	char msg[160];

	if (!h || !h->queue->policy.require_outcome)
		return false;
	snprintf(msg, sizeof msg,
		 "missing field: outcome (finish %s with its outcome before calling another)",
		 h->code);
	refuse(op, PERR_BAD_REQUEST, msg);
	return true;
}

/* call_next and call: the held ticket (if any) is finished first.
 * reason: why t was chosen (call_next), or NULL. */
static void call_and_finish_held(const struct op *op, struct ticket *t, const char *reason)
{
	struct change *c;
	json_t *finished = json_null(), *result;
	int64_t now = engine_now(op->e);

	if (refuse_if_stale(op->e, op->reply, op->ctx))
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	if (op->ctr->held) {
		finished = json_string(op->ctr->held->code);
		end_held(c, op->o, op->ctr, TA_FINISH, now, false);
	}
	if (t)
		call_ticket(c, op->e, op->o, op->ctr, t, now);
	result = json_pack("{s:o, s:o}", "ticket", t ? ticket_json(op->e, op->o, t) : json_null(),
			   "finished", finished);
	if (t && reason)
		json_object_set_new(result, "reason", json_string(reason));
	change_commit(c, result);
}

static void op_call_next(const struct op *op)
{
	struct ticket *t;
	char reason[96];

	if (!op->ctr->open) {
		refuse(op, PERR_CONFLICT, "the counter is closed: open it first");
		return;
	}
	t = next_ticket(op->ctr, engine_now(op->e), reason, sizeof reason);
	if (!t && !op->ctr->held) {
		op->reply(op->ctx, PROTO_OK, NULL, json_pack("{s:n, s:n}", "ticket", "finished"));
		return;
	}
	if (refuse_if_outcome_needed(op))
		return;
	call_and_finish_held(op, t, reason);
}

static void op_call(const struct op *op)
{
	struct ticket *t = office_ticket(op->o, op->req->args->ticket);
	char msg[128];

	if (!t) {
		refuse(op, PERR_NOT_FOUND, "no such ticket today");
		return;
	}
	if (!op->ctr->open) {
		refuse(op, PERR_CONFLICT, "the counter is closed: open it first");
		return;
	}
	if (ticket_next_state(t->state, TA_CALL) < 0) {
		ticket_refusal(t, TA_CALL, msg, sizeof msg);
		refuse(op, PERR_CONFLICT, msg);
		return;
	}
	if (refuse_if_outcome_needed(op))
		return;
	call_and_finish_held(op, t, NULL);
}

/* The counter's held ticket, if the action applies to it; otherwise
 * refuses and returns NULL. */
static struct ticket *held_for(const struct op *op, enum ticket_action action)
{
	struct ticket *t = op->ctr->held;
	char msg[128];

	if (!t) {
		refuse(op, PERR_CONFLICT, "the counter holds no ticket");
		return NULL;
	}
	if (ticket_next_state(t->state, action) < 0) {
		ticket_refusal(t, action, msg, sizeof msg);
		refuse(op, PERR_CONFLICT, msg);
		return NULL;
	}
	if (refuse_if_stale(op->e, op->reply, op->ctx))
		return NULL;
	return t;
}

static void op_recall(const struct op *op)
{
	struct ticket *t = held_for(op, TA_RECALL);
	int64_t now = engine_now(op->e);
	struct change *c;

	if (!t)
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_RECALL, NULL, NULL, now);
	office_record_call(op->o, t, now);
	write_ticket(c, op->o, t, "d_recall", now);
	change_event(c, called_event(op->o, t, now));
	reply_ticket(op, c, t);
}

static void op_start(const struct op *op)
{
	struct ticket *t = held_for(op, TA_START);
	int64_t now = engine_now(op->e);
	struct change *c;

	if (!t)
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_START, NULL, NULL, now);
	write_state(c, op->o, t, now);
	change_event(c, state_event(op->o, t, now));
	reply_ticket(op, c, t);
}

static void op_finish(const struct op *op)
{
	const struct ticket *h = op->ctr->held;
	const char *outcome = op->req->args->outcome;
	struct ticket *t;
	struct change *c;
	struct sqlargs a;
	int64_t now;

	/* The contract's order: a bad argument before not_found and conflict. */
	if (h && !outcome && h->queue->policy.require_outcome) {
		refuse(op, PERR_BAD_REQUEST, "missing field: outcome");
		return;
	}
	if (h && outcome && !queue_outcome(h->queue, outcome)) {
		char msg[96];
		snprintf(msg, sizeof msg, "no outcome %.32s for queue %s", outcome, h->queue->code);
		refuse(op, PERR_NOT_FOUND, msg);
		return;
	}
	if (!(t = held_for(op, TA_FINISH)))
		return;
	now = engine_now(op->e);
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	end_held(c, op->o, op->ctr, TA_FINISH, now, true);
	if (outcome) {
		free(t->outcome);
		t->outcome = xstrdup(outcome);
		args_fill(&a, op->o, t->day, now);
		const char *v[] = { a.office, a.day, t->code, outcome };
		change_write(c, "d_set_outcome", 4, v);
	}
	reply_ticket(op, c, t);
}

/* No-show only after min_calls calls and no_show_after_s seconds since
 * the first call (the queue's policy): a visitor who stepped out gets a
 * second chance. */
static void op_no_show(const struct op *op)
{
	const struct ticket *h = op->ctr->held;
	struct ticket *t;
	struct change *c;
	char msg[160];

	if (h && h->state == TS_CALLED) {
		const struct queue_policy *p = &h->queue->policy;
		int calls = h->recalls + 1;
		int64_t since = (engine_now(op->e) - h->called_at) / 1000000;

		if (calls < p->min_calls) {
			snprintf(msg, sizeof msg,
				 "ticket %s was called %d time%s: call it %d time%s in all before "
				 "a no-show",
				 h->code, calls, calls == 1 ? "" : "s", p->min_calls,
				 p->min_calls == 1 ? "" : "s");
			refuse(op, PERR_CONFLICT, msg);
			return;
		}
		if (since < p->no_show_after_s) {
			snprintf(msg, sizeof msg,
				 "ticket %s was called %lld s ago: a no-show after %d s", h->code,
				 (long long)since, p->no_show_after_s);
			refuse(op, PERR_CONFLICT, msg);
			return;
		}
	}
	if (!(t = held_for(op, TA_NO_SHOW)))
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	end_held(c, op->o, op->ctr, TA_NO_SHOW, engine_now(op->e), true);
	reply_ticket(op, c, t);
}

static void op_park(const struct op *op)
{
	struct ticket *t = held_for(op, TA_PARK);
	int64_t now = engine_now(op->e);
	struct change *c;

	if (!t)
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_PARK, NULL, NULL, now);
	write_ticket(c, op->o, t, "d_park", now);
	change_event(c, state_event(op->o, t, now));
	reply_ticket(op, c, t);
}

/* A visitor who missed the call is back: waiting again at the original
 * place in time, if within the queue's window. */
static void op_reactivate(const struct op *op)
{
	struct ticket *t = office_ticket(op->o, op->req->args->ticket);
	int64_t now = engine_now(op->e);
	struct change *c;
	char msg[160];

	if (!t) {
		refuse(op, PERR_NOT_FOUND, "no such ticket today");
		return;
	}
	if (ticket_next_state(t->state, TA_REACTIVATE) < 0) {
		ticket_refusal(t, TA_REACTIVATE, msg, sizeof msg);
		refuse(op, PERR_CONFLICT, msg);
		return;
	}
	if ((now - t->finished_at) / 1000000 > t->queue->policy.reactivate_within_s) {
		snprintf(msg, sizeof msg,
			 "ticket %s missed its call more than %d minutes ago: take a new ticket",
			 t->code, t->queue->policy.reactivate_within_s / 60);
		refuse(op, PERR_CONFLICT, msg);
		return;
	}
	if (refuse_if_stale(op->e, op->reply, op->ctx))
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_REACTIVATE, NULL, NULL, now);
	write_ticket(c, op->o, t, "d_reactivate", now);
	change_event(c, state_event(op->o, t, now));
	change_event(c, queue_event(op->e, op->o, t->queue, now));
	reply_ticket(op, c, t);
}

static void op_transfer(const struct op *op)
{
	const char *to_counter = op->req->args->to_counter;
	struct queue *target = to_counter ? NULL : office_queue(op->o, op->req->args->queue);
	struct counter *ctr_to = to_counter ? office_counter(op->o, to_counter) : NULL;
	int64_t now = engine_now(op->e);
	struct ticket *t;
	struct change *c;
	struct sqlargs a;

	if (to_counter && (!ctr_to || !ctr_to->active)) {
		refuse(op, PERR_NOT_FOUND, "no such counter");
		return;
	}
	if (!to_counter && (!target || !target->active)) {
		refuse(op, PERR_NOT_FOUND, "no such queue");
		return;
	}
	if (op->ctr->held && op->ctr->held->day != op->o->day) {
		refuse(op, PERR_CONFLICT, "the ticket is from an earlier business day");
		return;
	}
	t = held_for(op, TA_TRANSFER);
	if (!t)
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_TRANSFER, ctr_to, target, now);
	args_fill(&a, op->o, t->day, now);
	if (ctr_to) {
		snprintf(a.counter, sizeof a.counter, "%d", ctr_to->id);
		const char *v[] = { a.office, a.day, t->code, a.counter, a.at };
		change_write(c, "d_transfer_counter", 5, v);
	} else {
		snprintf(a.queue, sizeof a.queue, "%d", target->id);
		const char *v[] = { a.office, a.day, t->code, a.queue, a.at };
		change_write(c, "d_transfer", 5, v);
	}
	change_event(c, state_event(op->o, t, now));
	change_event(c, queue_event(op->e, op->o, t->queue, now));
	reply_ticket(op, c, t);
}

static void op_cancel(const struct op *op)
{
	struct ticket *t = office_ticket(op->o, op->req->args->ticket);
	int64_t now = engine_now(op->e);
	struct change *c;
	char msg[128];

	if (!t) {
		refuse(op, PERR_NOT_FOUND, "no such ticket today");
		return;
	}
	if (ticket_next_state(t->state, TA_CANCEL) < 0) {
		ticket_refusal(t, TA_CANCEL, msg, sizeof msg);
		refuse(op, PERR_CONFLICT, msg);
		return;
	}
	if (refuse_if_stale(op->e, op->reply, op->ctx))
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ticket_apply(t, TA_CANCEL, NULL, NULL, now);
	write_state(c, op->o, t, now);
	change_event(c, state_event(op->o, t, now));
	change_event(c, queue_event(op->e, op->o, t->queue, now));
	reply_ticket(op, c, t);
}

static void set_counter_open(const struct op *op, bool open)
{
	struct counter *ctr = op->ctr;
	int64_t now = engine_now(op->e);
	struct change *c;
	char id[16], at[32];

	if (ctr->open == open) {
		op->reply(op->ctx, PROTO_OK, NULL,
			  json_pack("{s:o}", "counter", counter_json(ctr)));
		return;
	}
	if (refuse_if_stale(op->e, op->reply, op->ctx))
		return;
	c = change_begin(op->e, op->o, op->reply, op->ctx);
	ctr->open = open;
	ctr->open_changed_at = now;
	if (open)
		op->o->est_counter_opened = true;
	snprintf(id, sizeof id, "%d", ctr->id);
	tzday_iso8601(now, at);
	const char *v[] = { id, open ? "true" : "false", at };
	change_write(c, "d_counter_set_open", 3, v);
	json_t *ev = office_event(op->o, "counter", now);
	json_object_set_new(ev, "counter", json_string(ctr->name));
	json_object_set_new(ev, "open", json_boolean(open));
	change_event(c, ev);
	/* Estimates depend on the open counters. */
	for (int i = 0; i < ctr->nqueues; i++)
		change_event(c, queue_event(op->e, op->o, ctr->queues[i].queue, now));
	change_commit(c, json_pack("{s:o}", "counter", counter_json(ctr)));
}

static void op_counter_open(const struct op *op)
{
	set_counter_open(op, true);
}

static void op_counter_close(const struct op *op)
{
	set_counter_open(op, false);
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

static void op_ticket(const struct op *op)
{
	struct ticket *t = find_any_ticket(op->o, op->req->args->ticket);

	if (!t)
		refuse(op, PERR_NOT_FOUND, "no such ticket today");
	else
		op->reply(op->ctx, PROTO_OK, NULL,
			  json_pack("{s:o}", "ticket", ticket_json(op->e, op->o, t)));
}

static void op_status(const struct op *op)
{
	op->reply(op->ctx, PROTO_OK, NULL, status_json(op->e, op->o));
}

static void op_check_in(const struct op *op)
{
	booking_op_check_in(op->e, op->o, op->req, op->reply, op->ctx);
}

static void op_book(const struct op *op)
{
	booking_op_book(op->e, op->o, op->req, op->reply, op->ctx);
}

static void op_unbook(const struct op *op)
{
	booking_op_unbook(op->e, op->o, op->req, op->reply, op->ctx);
}

/* One handler per engine op, built from the op table's rows
 * (proto/ops.h): an op without its op_<name> here does not build. */
typedef void (*engine_op_fn)(const struct op *op);
#define ENGINE_HANDLER(E, n, h, r, req, opt, ctr, w) ENGINE_HANDLER_##h(E, n)
#define ENGINE_HANDLER_ENGINE(E, n) [OP_##E] = op_##n,
#define ENGINE_HANDLER_SESSION(E, n)
static const engine_op_fn engine_ops[OP__COUNT] = { PROTO_OPS(ENGINE_HANDLER) };
#undef ENGINE_HANDLER

static struct counter *resolve_counter(struct office *o, const struct engine_req *req)
{
	struct counter *ctr = req->counter_id    ? office_counter_by_id(o, req->counter_id)
			    : req->args->counter ? office_counter(o, req->args->counter)
						 : NULL;

	return ctr && ctr->active ? ctr : NULL;
}

void engine_ops_dispatch(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx)
{
	struct op op = { .e = e, .o = o, .req = req, .reply = reply, .ctx = ctx };
	engine_op_fn fn = (unsigned)req->args->op < OP__COUNT ? engine_ops[req->args->op] : NULL;

	if (!fn) {
		/* The session answers these itself: reaching here is a bug. */
		log_error("engine: op %d has no engine handler", (int)req->args->op);
		reply(ctx, PERR_INTERNAL, "op not handled by the engine", NULL);
		return;
	}
	if (proto_op_is_counter_op(req->args->op) && !(op.ctr = resolve_counter(o, req))) {
		reply(ctx, PERR_NOT_FOUND, "no such counter", NULL);
		return;
	}
	fn(&op);
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
	/* Planned hours are read for today and tomorrow: read them again
	 * for the new day's tomorrow. */
	if (office_has_plans(o))
		engine_config_changed(e);
	/* Carried tickets that have finished are done with for good. */
	for (int i = 0; i < o->ncarried; i++) {
		struct ticket *t = o->carried[i];
		if (t->counter && t->counter->held == t)
			o->carried[kept++] = t;
		else
			ticket_free(t);
	}
	o->ncarried = kept;
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];
		if (old_day == o->day)
			break; /* only expiring what the database still has */
		for (int n = 0; n < q->ntoday; n++) {
			struct ticket *t = q->today[n];
			if (!t)
				continue;
			/* Being served over midnight (held, and the day's end
			 * does not expire it): it stays with its counter. */
			if (ticket_states[t->state].held &&
			    ticket_next_state(t->state, TA_EXPIRE) < 0 && t->counter &&
			    t->counter->held == t) {
				o->carried = xgrow(o->carried, &o->capcarried, o->ncarried + 1,
						   sizeof *o->carried);
				o->carried[o->ncarried++] = t;
				t->key_next = NULL;
				continue;
			}
			if (ticket_apply(t, TA_EXPIRE, NULL, NULL, now) == 0) {
				if (!expired)
					expired = json_array();
				json_array_append_new(expired, state_event(o, t, now));
			}
			ticket_free(t);
		}
		q->ntoday = 0;
		q->waiting.n = 0;
		q->npriority = 0;
		q->nappointment = 0;
		/* Service samples stay: how long a visit takes does not change
		 * at midnight, and the morning's first estimates need them. */
	}
	if (old_day != o->day) {
		/* Expiring took each ticket out of these; what is left would
		 * point at freed tickets. */
		for (int i = 0; i < o->ncounters; i++)
			o->counters[i]->for_me.n = o->counters[i]->parked.n = 0;
		memset(o->keys, 0, sizeof o->keys);
		o->nrecent = 0;
		log_info("office %s: a new business day begins", o->code);
	}
	c = change_begin(e, o, NULL, NULL);
	args_fill(&a, o, o->day, now);
	const char *v[] = { a.office, a.day, a.at };
	change_write(c, "d_expire", 3, v);
	json_array_foreach(expired, idx, ev)
		change_event(c, json_incref(ev));
	json_decref(expired);
	for (int i = 0; i < o->nqueues; i++)
		change_event(c, queue_event(e, o, o->queues[i], now));
	change_commit(c, NULL);
	/* Yesterday's bookings that never came, also those of a day no
	 * daemon ran. */
	if (old_day != o->day)
		office_bookings_sweep(e, o, now, true);
}
