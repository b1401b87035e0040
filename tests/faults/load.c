/* The load: kiosks issue tickets (the even-numbered ones with an
 * idempotency key, retried with the same key after `unavailable` or a lost
 * reply until one is acknowledged), counters open once and then cycle
 * call_next / start / finish / no_show. One thread and one connection per
 * client; each sends one request at a time, so "sent and never answered"
 * is well defined per request. */
#include "tests/faults/faults.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define F_REPLY_TIMEOUT_MS 15000

struct kiosk {
	int idx;
	bool keyed;
	unsigned seed;
	pthread_t th;
	struct fc c;
	struct f_key *keys;
	int nkeys, capkeys;
	long lost_unkeyed; /* unkeyed issues sent and never answered */
};

struct counter {
	int idx;
	unsigned seed;
	pthread_t th;
	struct fc c;
	bool synced;          /* held/held_state match the daemon */
	char held[F_CODELEN]; /* "" when the counter holds nothing */
	enum f_state held_state;
	struct f_lostop *lost;
	int nlost, caplost;
	struct f_req *reqs;
	int nreqs, capreqs;
};

static struct kiosk kiosks[F_NKIOSKS];
static struct counter counters[F_NCOUNTERS];
static struct f_tokens tokens;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool pause_req, stop_req;
static int npaused;
static int cur_port;
static long printed_errors;

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
	while (c->fd < 0) {
		enum f_outcome o;

		if (!checkpoint())
			return false;
		if (fc_connect(c, port_now()) != 0) {
			pace_ms(20);
			continue;
		}
		o = fc_call(c, members, NULL, F_REPLY_TIMEOUT_MS, NULL, NULL);
		ledger_count(o, false, 0);
		if (o == FO_OK) {
			ledger_count_hello();
			return true;
		}
		fc_close(c);
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

/* An ok issue reply: the ledger learns its ticket. */
static const char *issued(struct kiosk *k, const json_t *r)
{
	const json_t *t = json_object_get(r, "ticket");
	const char *code = json_string_value(json_object_get(t, "code"));

	if (!code) {
		unexpected("kiosk", k->idx, "issue ok without a ticket", r);
		ledger_violation("kiosk %d: issue ok without a ticket", k->idx + 1);
		return NULL;
	}
	ledger_ticket(t, true);
	ledger_count_issue();
	return code;
}

static void kiosk_keyed(struct kiosk *k, int q)
{
	struct f_key *key = new_key(k, q);
	int keyno = k->nkeys - 1;
	char members[256];
	int backoff = 10;

	snprintf(members, sizeof members, "\"op\":\"issue\",\"queue\":\"%s\",\"key\":\"k%d-%d\"",
		 f_queue_codes[q], k->idx, keyno);
	for (;;) {
		json_t *r = NULL;
		int64_t s = 0, e = 0;
		enum f_outcome o;

		if (!ensure_session(&k->c, tokens.kiosk))
			return;
		o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &s, &e);
		ledger_count(o, true, s);
		add_attempt(key, s, e, o);
		if (o == FO_OK) {
			const char *code = issued(k, r);

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
	char members[128];
	json_t *r = NULL;
	enum f_outcome o;
	int64_t sent = 0;

	if (!ensure_session(&k->c, tokens.kiosk))
		return;
	snprintf(members, sizeof members, "\"op\":\"issue\",\"queue\":\"%s\"", f_queue_codes[q]);
	o = fc_call(&k->c, members, &r, F_REPLY_TIMEOUT_MS, &sent, NULL);
	ledger_count(o, true, sent);
	if (o == FO_OK)
		issued(k, r);
	else if (o == FO_LOST)
		k->lost_unkeyed++;
	else if (o == FO_ERROR)
		unexpected("kiosk", k->idx, "issue refused", r);
	json_decref(r);
}

static void *kiosk_main(void *arg)
{
	struct kiosk *k = arg;

	while (checkpoint()) {
		int q = rnd(&k->seed, 0, F_NQUEUES - 1);

		if (k->keyed)
			kiosk_keyed(k, q);
		else
			kiosk_unkeyed(k, q);
		pace_ms(rnd(&k->seed, 8, 30));
	}
	fc_close(&k->c);
	return NULL;
}

/* ---- counters -------------------------------------------------------------- */

static void add_lost(struct counter *c, enum f_op op)
{
	if (c->nlost == c->caplost) {
		int cap = c->caplost ? c->caplost * 2 : 32;
		struct f_lostop *nl = realloc(c->lost, (size_t)cap * sizeof *nl);

		if (!nl)
			abort();
		c->lost = nl;
		c->caplost = cap;
	}
	c->lost[c->nlost].op = op;
	snprintf(c->lost[c->nlost].held, sizeof c->lost[0].held, "%s", c->held);
	c->nlost++;
}

static void add_req(struct counter *c, enum f_op op, int64_t sent, int64_t reply, enum f_outcome o)
{
	if (c->nreqs == c->capreqs) {
		int cap = c->capreqs ? c->capreqs * 2 : 256;
		struct f_req *nr = realloc(c->reqs, (size_t)cap * sizeof *nr);

		if (!nr)
			abort();
		c->reqs = nr;
		c->capreqs = cap;
	}
	c->reqs[c->nreqs].sent_us = sent;
	c->reqs[c->nreqs].reply_us = o == FO_LOST ? 0 : reply;
	c->reqs[c->nreqs].outcome = o;
	c->reqs[c->nreqs].op = op;
	c->nreqs++;
}

/* Learn what the counter holds from status (the counter ops are not
 * idempotent: after a lost reply, look before acting again). */
static bool counter_sync(struct counter *c)
{
	json_t *r = NULL, *e;
	enum f_outcome o;
	char name[16];
	size_t i;
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

		if (!n || strcmp(n, name) != 0)
			continue;
		found = true;
		open = json_is_true(json_object_get(e, "open"));
		snprintf(c->held, sizeof c->held, "%s", t ? t : "");
		c->held_state = t ? f_state_of(json_string_value(json_object_get(e, "state")))
				  : FS_NONE;
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
		add_req(c, OP_OTHER, t_sent, t_reply, o);
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

	if (!c->held[0])
		return OP_CALL_NEXT;
	if (c->held_state == FS_CALLED)
		return p <= 65 ? OP_START : p <= 80 ? OP_FINISH : OP_NO_SHOW;
	return p <= 60 ? OP_FINISH : OP_CALL_NEXT;
}

static const char *const op_json[] = {
	[OP_CALL_NEXT] = "\"op\":\"call_next\"",
	[OP_START] = "\"op\":\"start\"",
	[OP_FINISH] = "\"op\":\"finish\"",
	[OP_NO_SHOW] = "\"op\":\"no_show\"",
};

/* An ok counter reply: check it says what the op promises, and record it. */
static void counter_ok(struct counter *c, enum f_op op, const json_t *r)
{
	static const enum f_state want[] = {
		[OP_CALL_NEXT] = FS_CALLED,
		[OP_START] = FS_SERVING,
		[OP_FINISH] = FS_DONE,
		[OP_NO_SHOW] = FS_NO_SHOW,
	};
	const json_t *t = json_object_get(r, "ticket");
	const char *code = json_string_value(json_object_get(t, "code"));
	const char *ctr = json_string_value(json_object_get(t, "counter"));
	enum f_state st = f_state_of(json_string_value(json_object_get(t, "state")));
	char name[16];

	snprintf(name, sizeof name, "%d", c->idx + 1);
	ledger_count_counter();
	if (op == OP_CALL_NEXT) {
		const char *fin = json_string_value(json_object_get(r, "finished"));

		if (fin)
			ledger_finished(fin, c->idx);
		if (c->held[0] && (!fin || strcmp(fin, c->held) != 0))
			ledger_violation("counter %s: call_next while holding %s finished %s", name,
					 c->held, fin ? fin : "nothing");
		if (json_is_null(t) || !t) {
			c->held[0] = '\0';
			c->held_state = FS_NONE;
			return;
		}
	}
	if (!code || st != want[op] || !ctr || strcmp(ctr, name) != 0 ||
	    (op != OP_CALL_NEXT && strcmp(code, c->held) != 0)) {
		unexpected("counter", c->idx, "reply does not match the op", r);
		ledger_violation("counter %s: %s reply does not match (held %s)", name, op_json[op],
				 c->held[0] ? c->held : "nothing");
		c->synced = false;
		if (code && st != FS_BAD)
			ledger_ticket(t, false);
		return;
	}
	ledger_ticket(t, false);
	if (st == FS_DONE || st == FS_NO_SHOW) {
		c->held[0] = '\0';
		c->held_state = FS_NONE;
	} else {
		snprintf(c->held, sizeof c->held, "%s", code);
		c->held_state = st;
	}
}

static void *counter_main(void *arg)
{
	struct counter *c = arg;

	while (checkpoint()) {
		enum f_op op;
		enum f_outcome o;
		json_t *r = NULL;
		int64_t sent = 0, got = 0;

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
		o = fc_call(&c->c, op_json[op], &r, F_REPLY_TIMEOUT_MS, &sent, &got);
		ledger_count(o, true, sent);
		add_req(c, op, sent, got, o);
		switch (o) {
		case FO_OK:
			counter_ok(c, op, r);
			if (op == OP_CALL_NEXT && !c->held[0])
				pace_ms(rnd(&c->seed, 5, 20)); /* nobody waiting */
			break;
		case FO_UNAVAILABLE: pace_ms(rnd(&c->seed, 10, 40)); break;
		case FO_ERROR:
			unexpected("counter", c->idx, op_json[op], r);
			c->synced = false;
			break;
		case FO_LOST:
			add_lost(c, op);
			c->synced = false;
			break;
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
	for (i = 0; i < F_NKIOSKS; i++) {
		struct kiosk *k = &kiosks[i];

		memset(k, 0, sizeof *k);
		k->idx = i;
		k->keyed = i % 2 == 0;
		k->seed = seed * 31u + (unsigned)i;
		fc_init(&k->c);
		if (pthread_create(&k->th, NULL, kiosk_main, k) != 0)
			abort();
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		struct counter *c = &counters[i];

		memset(c, 0, sizeof *c);
		c->idx = i;
		c->seed = seed * 17u + 100u + (unsigned)i;
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
	*n = counters[counter].nreqs;
	return counters[counter].reqs;
}

const struct f_lostop *load_lost_ops(int counter, int *n)
{
	*n = counters[counter].nlost;
	return counters[counter].lost;
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
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		free(counters[i].lost);
		counters[i].lost = NULL;
		free(counters[i].reqs);
		counters[i].reqs = NULL;
	}
}
