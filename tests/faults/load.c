/* The load: kiosks issue tickets (the even-numbered ones with an
 * idempotency key, retried with the same key after `unavailable` or a lost
 * reply until one is acknowledged), some with priority or an interpreter,
 * and now and then reactivate a ticket a counter marked no_show; counters
 * open once and then cycle call_next / start / finish / no_show, park
 * their ticket, call a parked one back (their own or another counter's)
 * and transfer their ticket to another counter. One thread and one
 * connection per client; each sends one request at a time, so "sent and
 * never answered" is well defined per request. */
#include "tests/faults/faults.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define F_REPLY_TIMEOUT_MS 15000
/* Between learning of a round (a call) and the request that ends it with
 * a park, transfer or reactivate: the ledger orders a ticket's steps by
 * the millisecond of their call (ledger.c), so the next call must fall in
 * a later millisecond than this one. */
#define F_ROUND_GAP_MS 2
#define F_POOL_MAX 64

/* A client's state-changing requests, in send order. */
struct reqlog {
	struct f_req *v;
	int n, cap;
	int open_lost; /* the last one, never answered, whose end is not known yet; -1 */
};

/* Tickets the load may act on: parked ones to call back, no-shows to
 * reactivate. Shared by all clients (pool_mu). */
struct pool_ent {
	char code[F_CODELEN];
	int64_t round_ms; /* no_show: the called_at (ms) of the round it ended */
	int64_t since_us; /* when it entered the pool */
};

struct pool {
	struct pool_ent v[F_POOL_MAX];
	int n;
};

struct kiosk {
	int idx;
	bool keyed;
	unsigned seed;
	pthread_t th;
	struct fc c;
	struct f_key *keys;
	int nkeys, capkeys;
	long lost_unkeyed;  /* unkeyed issues sent and never answered */
	struct reqlog reqs; /* its reactivate requests */
};

struct counter {
	int idx;
	unsigned seed;
	pthread_t th;
	struct fc c;
	bool synced;          /* held/held_state match the daemon */
	char held[F_CODELEN]; /* "" when the counter holds nothing */
	enum f_state held_state;
	int64_t held_round_ms; /* the held ticket's called_at (ms); 0 when unknown */
	struct reqlog reqs;
};

static struct kiosk kiosks[F_NKIOSKS];
static struct counter counters[F_NCOUNTERS];
static struct f_tokens tokens;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool pause_req, stop_req;
static int npaused;
static int cur_port, other_port; /* other_port: the second daemon's, or 0 */
static long printed_errors;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pool parked_pool, noshow_pool;

#define NCLIENTS (F_NKIOSKS + F_NCOUNTERS)

/* Load pacing (how fast a visitor walks up to a kiosk, how long a retry
 * backs off), never used to wait for another thread or process. */
static void pace_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int rnd(unsigned *seed, int lo, int hi)
{
	return lo + (int)((unsigned)rand_r(seed) % (unsigned)(hi - lo + 1));
}

static void pool_put(struct pool *p, const char *code, int64_t round_ms)
{
	int i;

	pthread_mutex_lock(&pool_mu);
	for (i = 0; i < p->n && strcmp(p->v[i].code, code) != 0; i++)
		;
	if (i < F_POOL_MAX) {
		snprintf(p->v[i].code, sizeof p->v[i].code, "%s", code);
		p->v[i].round_ms = round_ms;
		p->v[i].since_us = f_wall_us();
		if (i == p->n)
			p->n++;
	}
	pthread_mutex_unlock(&pool_mu);
}

/* Take a random entry that has been in the pool at least min_age_us. */
static bool pool_take(struct pool *p, unsigned *seed, int64_t min_age_us, struct pool_ent *out)
{
	int64_t now = f_wall_us();
	bool got = false;
	int i, tries;

	pthread_mutex_lock(&pool_mu);
	for (tries = 0; tries < 4 && p->n > 0 && !got; tries++) {
		i = rnd(seed, 0, p->n - 1);
		if (now - p->v[i].since_us < min_age_us)
			continue;
		*out = p->v[i];
		p->v[i] = p->v[--p->n];
		got = true;
	}
	pthread_mutex_unlock(&pool_mu);
	return got;
}

static bool pool_empty(struct pool *p)
{
	bool e;

	pthread_mutex_lock(&pool_mu);
	e = p->n == 0;
	pthread_mutex_unlock(&pool_mu);
	return e;
}

/* Log a request whose send time is sent: it also ends the window of the
 * client's previous request if that one was never answered. Returns its
 * index. */
static int reqlog_add(struct reqlog *l, enum f_op op, int64_t sent, int64_t reply, enum f_outcome o)
{
	struct f_req *r;

	if (l->open_lost >= 0)
		l->v[l->open_lost].end_us = sent;
	l->open_lost = -1;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 256;
		struct f_req *nr = realloc(l->v, (size_t)cap * sizeof *nr);

		if (!nr)
			abort();
		l->v = nr;
		l->cap = cap;
	}
	r = &l->v[l->n];
	memset(r, 0, sizeof *r);
	r->sent_us = sent;
	r->reply_us = o == FO_LOST ? 0 : reply;
	r->end_us = o == FO_LOST ? INT64_MAX : reply;
	r->outcome = o;
	r->op = op;
	r->to_counter = -1;
	if (o == FO_LOST)
		l->open_lost = l->n;
	return l->n++;
}

/* A kiosk's issue is a state-changing send too. */
static void reqlog_sent(struct reqlog *l, int64_t sent)
{
	if (l->open_lost >= 0)
		l->v[l->open_lost].end_us = sent;
	l->open_lost = -1;
}

static int port_now(void)
{
	int p;

	pthread_mutex_lock(&mu);
	p = cur_port;
	pthread_mutex_unlock(&mu);
	return p;
}

void load_set_port(int port)
{
	pthread_mutex_lock(&mu);
	cur_port = port;
	pthread_mutex_unlock(&mu);
}

void load_set_ports(int port, int other)
{
	pthread_mutex_lock(&mu);
	cur_port = port;
	other_port = other;
	pthread_mutex_unlock(&mu);
}

/* With two daemons: the one that is not `port`. */
static int port_other(int port)
{
	int p;

	pthread_mutex_lock(&mu);
	p = port == cur_port && other_port ? other_port : cur_port;
	pthread_mutex_unlock(&mu);
	return p;
}

/* The port of a moved reply's owner ("ADDR:PORT"), or 0. */
static int moved_port(const json_t *reply)
{
	const char *code = reply ? fc_err(reply) : NULL;
	const char *owner, *colon;

	if (!code || strcmp(code, "moved"))
		return 0;
	owner = json_string_value(json_object_get(json_object_get(reply, "error"), "owner"));
	colon = owner ? strrchr(owner, ':') : NULL;
	return colon ? atoi(colon + 1) : 0;
}

/* Between two requests: park while a pause is asked for. False when the
 * run is over. */
static bool checkpoint(void)
{
	bool go;

	pthread_mutex_lock(&mu);
	if (pause_req && !stop_req) {
		npaused++;
		pthread_cond_broadcast(&cv);
		while (pause_req && !stop_req)
			pthread_cond_wait(&cv, &mu);
		npaused--;
	}
	go = !stop_req;
	pthread_mutex_unlock(&mu);
	return go;
}

static void unexpected(const char *who, int idx, const char *what, const json_t *r)
{
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
	long n;

	pthread_mutex_lock(&mu);
	n = ++printed_errors;
	pthread_mutex_unlock(&mu);
	if (n <= 20)
		fprintf(stderr, "faults: %s %d: %s: %s\n", who, idx + 1, what, s ? s : "(none)");
	free(s);
}

/* Connect and say hello until it works (or the run ends). */
static bool ensure_session(struct fc *c, const char *token)
{
	char members[256];

	snprintf(members, sizeof members, "\"op\":\"hello\",\"token\":\"%s\"", token);
	/* A connection to a killed daemon is noticed before sending on it, so
	 * that a request it never saw is not counted as possibly committed. */
	if (c->fd >= 0 && !fc_alive(c))
		fc_close(c);
	int port = port_now();

	while (c->fd < 0) {
		enum f_outcome o;
		json_t *reply = NULL;
		int to;

		if (!checkpoint())
			return false;
		if (fc_connect(c, port) != 0) {
			/* Two daemons: the other may serve the office now. */
			port = port_other(port);
			pace_ms(20);
			continue;
		}
		o = fc_call(c, members, &reply, F_REPLY_TIMEOUT_MS, NULL, NULL);
		ledger_count(o, false, 0);
		to = moved_port(reply);
		json_decref(reply);
		if (o == FO_OK) {
			ledger_count_hello();
			return true;
		}
		fc_close(c);
		if (to) {
			port = to; /* follow moved at once */
			continue;
		}
		port = port_other(port);
		pace_ms(20);
	}
	return true;
}

/* ---- kiosks ---------------------------------------------------------------- */

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
	struct issue_req ir = { rnd(&k->seed, 1, 100) <= 10, NULL };

	if (rnd(&k->seed, 1, 100) <= 10)
		ir.interpreter = langs[rnd(&k->seed, 0, 3)];
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
		unexpected("kiosk", k->idx, "issue ok without a ticket", r);
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

		if (!ensure_session(&k->c, tokens.kiosk))
			return;
		o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &s, &e);
		ledger_count(o, true, s);
		reqlog_sent(&k->reqs, s);
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
			unexpected("kiosk", k->idx, "issue refused", r);
			json_decref(r);
			return;
		}
		json_decref(r);
		/* unavailable or lost: the same visitor presses again */
		pace_ms(backoff);
		backoff = backoff * 2 > 160 ? 160 : backoff * 2;
		if (!checkpoint())
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

	if (!ensure_session(&k->c, tokens.kiosk))
		return;
	issue_members(members, sizeof members, q, &ir);
	o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, NULL);
	ledger_count(o, true, sent);
	reqlog_sent(&k->reqs, sent);
	if (o == FO_OK)
		issued(k, r, &ir, sent);
	else if (o == FO_LOST)
		k->lost_unkeyed++;
	else if (o == FO_ERROR)
		unexpected("kiosk", k->idx, "issue refused", r);
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

	if (!pool_take(&noshow_pool, &k->seed, F_ROUND_GAP_MS * 1000, &e))
		return false;
	if (!ensure_session(&k->c, tokens.kiosk))
		return true;
	snprintf(members, sizeof members, "\"op\":\"reactivate\",\"ticket\":\"%s\"", e.code);
	o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, &got);
	ledger_count(o, true, sent);
	ri = reqlog_add(&k->reqs, OP_REACTIVATE, sent, got, o);
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
			unexpected("kiosk", k->idx, "reactivate reply does not match", r);
			ledger_violation("kiosk %d: reactivate of %s does not match its reply",
					 k->idx + 1, e.code);
		}
		if (code)
			ledger_ticket(t, &ack);
		ledger_count_op(OP_REACTIVATE);
	} else if (o == FO_UNAVAILABLE) {
		pool_put(&noshow_pool, e.code, e.round_ms); /* still a no_show */
	} else if (o == FO_ERROR) {
		unexpected("kiosk", k->idx, members, r);
	}
	json_decref(r);
	return true;
}

static void *kiosk_main(void *arg)
{
	struct kiosk *k = arg;

	while (checkpoint()) {
		int q = rnd(&k->seed, 0, F_NQUEUES - 1);

		/* Now and then a visitor who missed the call comes back. */
		if (rnd(&k->seed, 1, 100) > 15 || !kiosk_reactivate(k)) {
			if (k->keyed)
				kiosk_keyed(k, q);
			else
				kiosk_unkeyed(k, q);
		}
		pace_ms(rnd(&k->seed, 8, 30));
	}
	fc_close(&k->c);
	return NULL;
}

/* ---- counters -------------------------------------------------------------- */

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
		pace_ms(20);
		return false;
	}
	snprintf(name, sizeof name, "%d", c->idx + 1);
	json_array_foreach(json_object_get(r, "counters"), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *t = json_string_value(json_object_get(e, "ticket"));

		json_array_foreach(json_object_get(e, "parked"), j, p)
			if (json_string_value(p))
				pool_put(&parked_pool, json_string_value(p), 0);
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
		unexpected("counter", c->idx, "not in status", r);
		json_decref(r);
		pace_ms(20);
		return false;
	}
	json_decref(r);
	if (!open) {
		int64_t t_sent = 0, t_reply = 0;

		o = fc_call(&c->c, "\"op\":\"counter_open\"", &r, F_REPLY_TIMEOUT_MS, &t_sent,
			    &t_reply);
		ledger_count(o, true, 0);
		reqlog_add(&c->reqs, OP_OTHER, t_sent, t_reply, o);
		json_decref(r);
		if (o != FO_OK) {
			pace_ms(20);
			return false;
		}
	}
	c->synced = true;
	return true;
}

static enum f_op choose(struct counter *c)
{
	int p = rnd(&c->seed, 1, 100);
	/* A transfer's step is ordered by the round it ends (ledger.c). */
	bool round_known = c->held_round_ms > 0;

	if (!c->held[0])
		return p <= 20 && !pool_empty(&parked_pool) ? OP_CALL : OP_CALL_NEXT;
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
		unexpected("counter", c->idx, "reply does not match the op", r);
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
		pool_put(&parked_pool, code, 0);
	if (st == FS_NO_SHOW)
		pool_put(&noshow_pool, code,
			 f_parse_ms(json_string_value(json_object_get(t, "called_at"))));
	c->held[0] = '\0';
	c->held_state = FS_NONE;
	c->held_round_ms = 0;
}

static void *counter_main(void *arg)
{
	struct counter *c = arg;

	while (checkpoint()) {
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
			if (!ensure_session(&c->c, tokens.counter[c->idx]))
				break;
		}
		if (!c->synced) {
			counter_sync(c);
			continue;
		}
		op = choose(c);
		if (op == OP_CALL && !pool_take(&parked_pool, &c->seed, 0, &pe))
			op = c->held[0] ? OP_FINISH : OP_CALL_NEXT;
		switch (op) {
		case OP_CALL:
			snprintf(members, sizeof members, "\"op\":\"call\",\"ticket\":\"%s\"",
				 pe.code);
			break;
		case OP_TRANSFER:
			to = (c->idx + rnd(&c->seed, 1, F_NCOUNTERS - 1)) % F_NCOUNTERS;
			snprintf(members, sizeof members,
				 "\"op\":\"transfer\",\"to_counter\":\"%d\"", to + 1);
			break;
		default: snprintf(members, sizeof members, "\"op\":\"%s\"", f_op_name(op)); break;
		}
		if (op == OP_PARK || op == OP_TRANSFER)
			pace_ms(F_ROUND_GAP_MS);
		o = fc_call(&c->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, &got);
		ledger_count(o, true, sent);
		ri = reqlog_add(&c->reqs, op, sent, got, o);
		rq = &c->reqs.v[ri]; /* after the add: it may move the log */
		snprintf(rq->held, sizeof rq->held, "%s", c->held);
		if (op == OP_CALL)
			snprintf(rq->target, sizeof rq->target, "%s", pe.code);
		rq->to_counter = to;
		switch (o) {
		case FO_OK:
			counter_ok(c, rq, r);
			if (op == OP_CALL_NEXT && !c->held[0])
				pace_ms(rnd(&c->seed, 5, 20)); /* nobody waiting */
			break;
		case FO_UNAVAILABLE:
			if (op == OP_CALL)
				pool_put(&parked_pool, pe.code, 0);
			pace_ms(rnd(&c->seed, 10, 40));
			break;
		case FO_ERROR:
			/* Another counter called it back first: nothing changed. */
			if (op == OP_CALL && fc_err(r) && strcmp(fc_err(r), "conflict") == 0)
				break;
			unexpected("counter", c->idx, members, r);
			c->synced = false;
			break;
		case FO_LOST: c->synced = false; break;
		}
		json_decref(r);
	}
	fc_close(&c->c);
	return NULL;
}

/* ---- control --------------------------------------------------------------- */

void load_start(const struct f_tokens *tok, int port, unsigned seed)
{
	int i;

	tokens = *tok;
	cur_port = port;
	pause_req = stop_req = false;
	npaused = 0;
	memset(&parked_pool, 0, sizeof parked_pool);
	memset(&noshow_pool, 0, sizeof noshow_pool);
	for (i = 0; i < F_NKIOSKS; i++) {
		struct kiosk *k = &kiosks[i];

		memset(k, 0, sizeof *k);
		k->idx = i;
		k->keyed = i % 2 == 0;
		k->seed = seed * 31u + (unsigned)i;
		k->reqs.open_lost = -1;
		fc_init(&k->c);
		if (pthread_create(&k->th, NULL, kiosk_main, k) != 0)
			abort();
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		struct counter *c = &counters[i];

		memset(c, 0, sizeof *c);
		c->idx = i;
		c->seed = seed * 17u + 100u + (unsigned)i;
		c->reqs.open_lost = -1;
		fc_init(&c->c);
		if (pthread_create(&c->th, NULL, counter_main, c) != 0)
			abort();
	}
}

int load_pause(int timeout_ms)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	pause_req = true;
	while (npaused < NCLIENTS && rc == 0)
		rc = pthread_cond_timedwait(&cv, &mu, &ts);
	rc = npaused == NCLIENTS ? 0 : -1;
	pthread_mutex_unlock(&mu);
	return rc;
}

void load_resume(void)
{
	pthread_mutex_lock(&mu);
	pause_req = false;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

void load_stop(void)
{
	int i;

	pthread_mutex_lock(&mu);
	stop_req = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < F_NKIOSKS; i++)
		pthread_join(kiosks[i].th, NULL);
	for (i = 0; i < F_NCOUNTERS; i++)
		pthread_join(counters[i].th, NULL);
}

const struct f_key *load_keys(int kiosk, int *n)
{
	*n = kiosks[kiosk].keyed ? kiosks[kiosk].nkeys : 0;
	return kiosks[kiosk].keys;
}

const struct f_req *load_counter_reqs(int counter, int *n)
{
	*n = counters[counter].reqs.n;
	return counters[counter].reqs.v;
}

const struct f_req *load_kiosk_reqs(int kiosk, int *n)
{
	*n = kiosks[kiosk].reqs.n;
	return kiosks[kiosk].reqs.v;
}

long load_lost_unkeyed(void)
{
	long n = 0;
	int i;

	for (i = 0; i < F_NKIOSKS; i++)
		n += kiosks[i].lost_unkeyed;
	return n;
}

void load_free(void)
{
	int i, j;

	for (i = 0; i < F_NKIOSKS; i++) {
		for (j = 0; j < kiosks[i].nkeys; j++)
			free(kiosks[i].keys[j].att);
		free(kiosks[i].keys);
		kiosks[i].keys = NULL;
		free(kiosks[i].reqs.v);
		kiosks[i].reqs.v = NULL;
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		free(counters[i].reqs.v);
		counters[i].reqs.v = NULL;
	}
}
