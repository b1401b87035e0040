/* The load's kiosks (see load.c): issues, keyed or not, retried under
 * the same key until one is acknowledged, and reactivations of no-shows. */
#include "tests/faults/load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct f_key *new_key(struct kiosk *k, int queue)
{
	struct f_key *key;

	if (k->nkeys == k->capkeys) {
		int cap = k->capkeys ? k->capkeys * 2 : 256;
		struct f_key *nk = realloc(k->keys, (size_t)cap * sizeof *nk);

		if (!nk)
			abort();
		k->keys = nk;
		k->capkeys = cap;
	}
	key = &k->keys[k->nkeys++];
	memset(key, 0, sizeof *key);
	key->queue = queue;
	return key;
}

static void add_attempt(struct f_key *key, int64_t sent, int64_t reply, enum f_outcome o)
{
	if (key->nattempts == key->cap) {
		int cap = key->cap ? key->cap * 2 : 4;
		struct f_attempt *na = realloc(key->att, (size_t)cap * sizeof *na);

		if (!na)
			abort();
		key->att = na;
		key->cap = cap;
	}
	key->att[key->nattempts].sent_us = sent;
	key->att[key->nattempts].reply_us = o == FO_LOST ? 0 : reply;
	key->att[key->nattempts].outcome = o;
	key->nattempts++;
}

/* What a visitor asks for at the kiosk. */
struct issue_req {
	bool priority;
	const char *interpreter; /* NULL for none */
};

static struct issue_req pick_issue(struct kiosk *k)
{
	static const char *const langs[] = { "so", "ti", "ar", "fa" };
	struct issue_req ir = { load_rnd(&k->seed, 1, 100) <= 10, NULL };

	if (load_rnd(&k->seed, 1, 100) <= 10)
		ir.interpreter = langs[load_rnd(&k->seed, 0, 3)];
	return ir;
}

static void issue_members(char *buf, size_t n, int q, const struct issue_req *ir)
{
	size_t len = (size_t)snprintf(buf, n, "\"op\":\"issue\",\"queue\":\"%s\"",
				      f_queue_codes[q]);

	if (ir->priority && len < n)
		len += (size_t)snprintf(buf + len, n - len, ",\"priority\":true");
	if (ir->interpreter && len < n)
		snprintf(buf + len, n - len, ",\"interpreter\":\"%s\"", ir->interpreter);
}

/* An ok issue reply: the ledger learns its ticket. */
static const char *issued(struct kiosk *k, const json_t *r, const struct issue_req *ir,
			  int64_t sent)
{
	const json_t *t = json_object_get(r, "ticket");
	const char *code = json_string_value(json_object_get(t, "code"));
	const char *interp = json_string_value(json_object_get(t, "interpreter"));
	struct f_ack ack = { .op = OP_ISSUE, .counter = -1, .sent_us = sent };

	if (!code) {
		load_unexpected("kiosk", k->idx, "issue ok without a ticket", r);
		ledger_violation("kiosk %d: issue ok without a ticket", k->idx + 1);
		return NULL;
	}
	/* Not its state: a repeated key answers with the ticket as it is now. */
	if (json_is_true(json_object_get(t, "priority")) != ir->priority ||
	    strcmp(interp ? interp : "", ir->interpreter ? ir->interpreter : "") != 0)
		ledger_violation("kiosk %d: issue of %s answered with priority %d interpreter "
				 "'%s'; asked priority %d interpreter '%s'",
				 k->idx + 1, code, json_is_true(json_object_get(t, "priority")),
				 interp ? interp : "", ir->priority,
				 ir->interpreter ? ir->interpreter : "");
	ledger_ticket(t, &ack);
	ledger_count_issue(ir->priority, ir->interpreter != NULL);
	return code;
}

static void kiosk_keyed(struct kiosk *k, int q)
{
	struct f_key *key = new_key(k, q);
	int keyno = k->nkeys - 1;
	struct issue_req ir = pick_issue(k);
	char members[256];
	int backoff = 10;
	size_t len;

	issue_members(members, sizeof members, q, &ir);
	len = strlen(members);
	snprintf(members + len, sizeof members - len, ",\"key\":\"k%d-%d\"", k->idx, keyno);
	for (;;) {
		json_t *r = NULL;
		int64_t s = 0, e = 0;
		enum f_outcome o;

		if (!load_ensure_session(&k->c, load_tokens.kiosk))
			return;
		o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &s, &e);
		ledger_count(o, true, s);
		load_reqlog_sent(&k->reqs, s);
		add_attempt(key, s, e, o);
		if (o == FO_OK) {
			const char *code = issued(k, r, &ir, s);

			if (code && key->code[0] && strcmp(code, key->code) != 0)
				ledger_violation("key k%d-%d answered with %s and with %s", k->idx,
						 keyno, key->code, code);
			else if (code)
				snprintf(key->code, sizeof key->code, "%s", code);
			json_decref(r);
			return;
		}
		if (o == FO_ERROR) {
			load_unexpected("kiosk", k->idx, "issue refused", r);
			json_decref(r);
			return;
		}
		json_decref(r);
		/* unavailable or lost: the same visitor presses again */
		load_pace_ms(backoff);
		backoff = backoff * 2 > 160 ? 160 : backoff * 2;
		if (!load_checkpoint())
			return;
	}
}

static void kiosk_unkeyed(struct kiosk *k, int q)
{
	char members[160];
	struct issue_req ir = pick_issue(k);
	json_t *r = NULL;
	enum f_outcome o;
	int64_t sent = 0;

	if (!load_ensure_session(&k->c, load_tokens.kiosk))
		return;
	issue_members(members, sizeof members, q, &ir);
	o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, NULL);
	ledger_count(o, true, sent);
	load_reqlog_sent(&k->reqs, sent);
	if (o == FO_OK)
		issued(k, r, &ir, sent);
	else if (o == FO_LOST)
		k->lost_unkeyed++;
	else if (o == FO_ERROR)
		load_unexpected("kiosk", k->idx, "issue refused", r);
	json_decref(r);
}

/* A visitor who missed the call is back at the kiosk. False when no
 * no_show ticket is at hand. */
static bool kiosk_reactivate(struct kiosk *k)
{
	struct pool_ent e;
	struct f_req *rq;
	char members[128];
	json_t *r = NULL;
	enum f_outcome o;
	int64_t sent = 0, got = 0;
	int ri;

	if (!load_pool_take(&load_noshow_pool, &k->seed, F_ROUND_GAP_MS * 1000, &e))
		return false;
	if (!load_ensure_session(&k->c, load_tokens.kiosk))
		return true;
	snprintf(members, sizeof members, "\"op\":\"reactivate\",\"ticket\":\"%s\"", e.code);
	o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, &got);
	ledger_count(o, true, sent);
	ri = load_reqlog_add(&k->reqs, OP_REACTIVATE, sent, got, o);
	rq = &k->reqs.v[ri]; /* after the add: it may move the log */
	snprintf(rq->target, sizeof rq->target, "%s", e.code);
	if (o == FO_OK) {
		const json_t *t = json_object_get(r, "ticket");
		const char *code = json_string_value(json_object_get(t, "code"));
		struct f_ack ack = {
			.op = OP_REACTIVATE, .counter = -1, .sent_us = sent, .round_ms = e.round_ms
		};

		if (!code || strcmp(code, e.code) != 0 ||
		    f_state_of(json_string_value(json_object_get(t, "state"))) != FS_WAITING ||
		    json_object_get(t, "for_counter")) {
			load_unexpected("kiosk", k->idx, "reactivate reply does not match", r);
			ledger_violation("kiosk %d: reactivate of %s does not match its reply",
					 k->idx + 1, e.code);
		}
		if (code)
			ledger_ticket(t, &ack);
		ledger_count_op(OP_REACTIVATE);
	} else if (o == FO_UNAVAILABLE) {
		load_pool_put(&load_noshow_pool, e.code, e.round_ms); /* still a no_show */
	} else if (o == FO_ERROR) {
		load_unexpected("kiosk", k->idx, members, r);
	}
	json_decref(r);
	return true;
}

void *load_kiosk_main(void *arg)
{
	struct kiosk *k = arg;

	while (load_checkpoint()) {
		int q = load_rnd(&k->seed, 0, F_NQUEUES - 1);

		/* Now and then a visitor who missed the call comes back. */
		if (load_rnd(&k->seed, 1, 100) > 15 || !kiosk_reactivate(k)) {
			if (k->keyed)
				kiosk_keyed(k, q);
			else
				kiosk_unkeyed(k, q);
		}
		load_pace_ms(load_rnd(&k->seed, 8, 30));
	}
	fc_close(&k->c);
	return NULL;
}