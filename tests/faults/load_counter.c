/* The load's counters (see load.c): a cycle of call_next, start, finish
 * and no_show, with parks, calls of parked tickets and transfers, each
 * reply checked against what the op promises. */
#include "tests/faults/load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Learn what the counter holds from status (the counter ops are not
 * idempotent: after a lost reply, look before acting again), and the
 * tickets every counter has parked. */
static bool counter_sync(struct counter *c)
{
	json_t *r = NULL, *e, *p;
	enum f_outcome o;
	char name[16];
	size_t i, j;
	bool open = false, found = false;

	o = fc_call(&c->c, "\"op\":\"status\"", &r, F_REPLY_TIMEOUT_MS, NULL, NULL);
	ledger_count(o, false, 0);
	if (o != FO_OK || json_is_true(json_object_get(r, "stale"))) {
		json_decref(r);
		load_pace_ms(20);
		return false;
	}
	snprintf(name, sizeof name, "%d", c->idx + 1);
	json_array_foreach(json_object_get(r, "counters"), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *t = json_string_value(json_object_get(e, "ticket"));

		json_array_foreach(json_object_get(e, "parked"), j, p)
			if (json_string_value(p))
				load_pool_put(&load_parked_pool, json_string_value(p), 0);
		if (!n || strcmp(n, name) != 0)
			continue;
		found = true;
		open = json_is_true(json_object_get(e, "open"));
		snprintf(c->held, sizeof c->held, "%s", t ? t : "");
		c->held_state = t ? f_state_of(json_string_value(json_object_get(e, "state")))
				  : FS_NONE;
		/* status does not say when it was called: no transfer until a
		 * reply tells. */
		c->held_round_ms = 0;
	}
	if (!found) {
		load_unexpected("counter", c->idx, "not in status", r);
		json_decref(r);
		load_pace_ms(20);
		return false;
	}
	json_decref(r);
	if (!open) {
		int64_t t_sent = 0, t_reply = 0;

		o = fc_call(&c->c, "\"op\":\"counter_open\"", &r, F_REPLY_TIMEOUT_MS, &t_sent,
			    &t_reply);
		ledger_count(o, true, 0);
		load_reqlog_add(&c->reqs, OP_OTHER, t_sent, t_reply, o);
		json_decref(r);
		if (o != FO_OK) {
			load_pace_ms(20);
			return false;
		}
	}
	c->synced = true;
	return true;
}

static enum f_op choose(struct counter *c)
{
	int p = load_rnd(&c->seed, 1, 100);
	/* A transfer's step is ordered by the round it ends (ledger.c). */
	bool round_known = c->held_round_ms > 0;

	if (!c->held[0])
		return p <= 20 && !load_pool_empty(&load_parked_pool) ? OP_CALL : OP_CALL_NEXT;
	if (c->held_state == FS_CALLED)
		return p <= 55                        ? OP_START
		     : p <= 67                        ? OP_FINISH
		     : p <= 80                        ? OP_NO_SHOW
		     : p <= 90                        ? OP_PARK
		     : round_known && F_NCOUNTERS > 1 ? OP_TRANSFER
						      : OP_START;
	return p <= 45                        ? OP_FINISH
	     : p <= 70                        ? OP_CALL_NEXT
	     : p <= 78                        ? OP_CALL
	     : p <= 89                        ? OP_PARK
	     : round_known && F_NCOUNTERS > 1 ? OP_TRANSFER
					      : OP_FINISH;
}

/* An ok counter reply: check it says what the op promises, and record it. */
static void counter_ok(struct counter *c, const struct f_req *rq, const json_t *r)
{
	static const enum f_state want[] = {
		[OP_CALL_NEXT] = FS_CALLED, [OP_START] = FS_SERVING, [OP_FINISH] = FS_DONE,
		[OP_NO_SHOW] = FS_NO_SHOW,  [OP_CALL] = FS_CALLED,   [OP_PARK] = FS_PARKED,
		[OP_TRANSFER] = FS_WAITING,
	};
	enum f_op op = rq->op;
	const json_t *t = json_object_get(r, "ticket");
	const char *code = json_string_value(json_object_get(t, "code"));
	const char *ctr = json_string_value(json_object_get(t, "counter"));
	const char *forc = json_string_value(json_object_get(t, "for_counter"));
	enum f_state st = f_state_of(json_string_value(json_object_get(t, "state")));
	struct f_ack ack = { .op = op,
			     .counter = c->idx,
			     .sent_us = rq->sent_us,
			     .round_ms = c->held_round_ms,
			     .started = c->held_state == FS_SERVING };
	char name[16], to[16];
	bool match;

	snprintf(name, sizeof name, "%d", c->idx + 1);
	snprintf(to, sizeof to, "%d", rq->to_counter + 1);
	ledger_count_counter();
	ledger_count_op(op);
	if (op == OP_CALL_NEXT || op == OP_CALL) {
		const char *fin = json_string_value(json_object_get(r, "finished"));

		if (fin)
			ledger_finished(fin, &ack);
		if ((c->held[0] && (!fin || strcmp(fin, c->held) != 0)) || (!c->held[0] && fin))
			ledger_violation("counter %s: %s while holding %s finished %s", name,
					 f_op_name(op), c->held[0] ? c->held : "nothing",
					 fin ? fin : "nothing");
		if (op == OP_CALL_NEXT && (json_is_null(t) || !t)) {
			c->held[0] = '\0';
			c->held_state = FS_NONE;
			c->held_round_ms = 0;
			return;
		}
	}
	if (op == OP_TRANSFER)
		match = ctr == NULL && forc && strcmp(forc, to) == 0;
	else
		match = ctr && strcmp(ctr, name) == 0;
	match = match && code && st == want[op] &&
		(op == OP_CALL_NEXT || strcmp(code, op == OP_CALL ? rq->target : c->held) == 0);
	if (!match) {
		load_unexpected("counter", c->idx, "reply does not match the op", r);
		ledger_violation("counter %s: %s reply does not match (held %s)", name,
				 f_op_name(op), c->held[0] ? c->held : "nothing");
		c->synced = false;
		if (code && st != FS_BAD)
			ledger_ticket(t, &ack);
		return;
	}
	ledger_ticket(t, &ack);
	if (st == FS_CALLED || st == FS_SERVING) {
		snprintf(c->held, sizeof c->held, "%s", code);
		c->held_state = st;
		c->held_round_ms = f_parse_ms(json_string_value(json_object_get(t, "called_at")));
		if (c->held_round_ms < 0)
			c->held_round_ms = 0;
		return;
	}
	if (st == FS_PARKED)
		load_pool_put(&load_parked_pool, code, 0);
	if (st == FS_NO_SHOW)
		load_pool_put(&load_noshow_pool, code,
			      f_parse_ms(json_string_value(json_object_get(t, "called_at"))));
	c->held[0] = '\0';
	c->held_state = FS_NONE;
	c->held_round_ms = 0;
}

void *load_counter_main(void *arg)
{
	struct counter *c = arg;

	while (load_checkpoint()) {
		enum f_op op;
		enum f_outcome o;
		json_t *r = NULL;
		int64_t sent = 0, got = 0;
		struct pool_ent pe;
		struct f_req *rq;
		char members[128];
		int to = -1, ri;

		if (c->c.fd < 0 || !fc_alive(&c->c)) {
			c->synced = false;
			if (!load_ensure_session(&c->c, load_tokens.counter[c->idx]))
				break;
		}
		if (!c->synced) {
			counter_sync(c);
			continue;
		}
		op = choose(c);
		if (op == OP_CALL && !load_pool_take(&load_parked_pool, &c->seed, 0, &pe))
			op = c->held[0] ? OP_FINISH : OP_CALL_NEXT;
		switch (op) {
		case OP_CALL:
			snprintf(members, sizeof members, "\"op\":\"call\",\"ticket\":\"%s\"",
				 pe.code);
			break;
		case OP_TRANSFER:
			to = (c->idx + load_rnd(&c->seed, 1, F_NCOUNTERS - 1)) % F_NCOUNTERS;
			snprintf(members, sizeof members,
				 "\"op\":\"transfer\",\"to_counter\":\"%d\"", to + 1);
			break;
		default: snprintf(members, sizeof members, "\"op\":\"%s\"", f_op_name(op)); break;
		}
		if (op == OP_PARK || op == OP_TRANSFER)
			load_pace_ms(F_ROUND_GAP_MS);
		o = fc_call(&c->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, &got);
		ledger_count(o, true, sent);
		ri = load_reqlog_add(&c->reqs, op, sent, got, o);
		rq = &c->reqs.v[ri]; /* after the add: it may move the log */
		snprintf(rq->held, sizeof rq->held, "%s", c->held);
		if (op == OP_CALL)
			snprintf(rq->target, sizeof rq->target, "%s", pe.code);
		rq->to_counter = to;
		switch (o) {
		case FO_OK:
			counter_ok(c, rq, r);
			if (op == OP_CALL_NEXT && !c->held[0])
				load_pace_ms(load_rnd(&c->seed, 5, 20)); /* nobody waiting */
			break;
		case FO_UNAVAILABLE:
			if (op == OP_CALL)
				load_pool_put(&load_parked_pool, pe.code, 0);
			load_pace_ms(load_rnd(&c->seed, 10, 40));
			break;
		case FO_ERROR:
			/* Another counter called it back first: nothing changed. */
			if (op == OP_CALL && fc_err(r) && strcmp(fc_err(r), "conflict") == 0)
				break;
			load_unexpected("counter", c->idx, members, r);
			c->synced = false;
			break;
		case FO_LOST: c->synced = false; break;
		}
		json_decref(r);
	}
	fc_close(&c->c);
	return NULL;
}