/* The load: kiosks issue tickets (the even-numbered ones with an
 * idempotency key, retried with the same key after `unavailable` or a lost
 * reply until one is acknowledged), some with priority or an interpreter,
 * and now and then reactivate a ticket a counter marked no_show; counters
 * open once and then cycle call_next / start / finish / no_show, park
 * their ticket, call a parked one back (their own or another counter's)
 * and transfer their ticket to another counter. One thread and one
 * connection per client; each sends one request at a time, so "sent and
 * never answered" is well defined per request. Here: what the clients
 * share and the control of the load; the kiosks are load_kiosk.c, the
 * counters load_counter.c. */
#include "tests/faults/load_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct kiosk kiosks[F_NKIOSKS];
static struct counter counters[F_NCOUNTERS];
struct f_tokens load_tokens;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool pause_req, stop_req;
static int npaused;
static int cur_port, other_port; /* other_port: the second daemon's, or 0 */
static long printed_errors;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
struct pool load_parked_pool, load_noshow_pool;

#define NCLIENTS (F_NKIOSKS + F_NCOUNTERS)

void load_pace_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int load_rnd(unsigned *seed, int lo, int hi)
{
	return lo + (int)((unsigned)rand_r(seed) % (unsigned)(hi - lo + 1));
}

void load_pool_put(struct pool *p, const char *code, int64_t round_ms)
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

bool load_pool_take(struct pool *p, unsigned *seed, int64_t min_age_us, struct pool_ent *out)
{
	int64_t now = f_wall_us();
	bool got = false;
	int i, tries;

	pthread_mutex_lock(&pool_mu);
	for (tries = 0; tries < 4 && p->n > 0 && !got; tries++) {
		i = load_rnd(seed, 0, p->n - 1);
		if (now - p->v[i].since_us < min_age_us)
			continue;
		*out = p->v[i];
		p->v[i] = p->v[--p->n];
		got = true;
	}
	pthread_mutex_unlock(&pool_mu);
	return got;
}

bool load_pool_empty(struct pool *p)
{
	bool e;

	pthread_mutex_lock(&pool_mu);
	e = p->n == 0;
	pthread_mutex_unlock(&pool_mu);
	return e;
}

int load_reqlog_add(struct reqlog *l, enum f_op op, int64_t sent, int64_t reply, enum f_outcome o)
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

void load_reqlog_sent(struct reqlog *l, int64_t sent)
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

bool load_checkpoint(void)
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

void load_unexpected(const char *who, int idx, const char *what, const json_t *r)
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

bool load_ensure_session(struct fc *c, const char *token)
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

		if (!load_checkpoint())
			return false;
		if (fc_connect(c, port) != 0) {
			/* Two daemons: the other may serve the office now. */
			port = port_other(port);
			load_pace_ms(20);
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
		load_pace_ms(20);
	}
	return true;
}

/* ---- control --------------------------------------------------------------- */

void load_start(const struct f_tokens *tok, int port, unsigned seed)
{
	int i;

	load_tokens = *tok;
	cur_port = port;
	pause_req = stop_req = false;
	npaused = 0;
	memset(&load_parked_pool, 0, sizeof load_parked_pool);
	memset(&load_noshow_pool, 0, sizeof load_noshow_pool);
	for (i = 0; i < F_NKIOSKS; i++) {
		struct kiosk *k = &kiosks[i];

		memset(k, 0, sizeof *k);
		k->idx = i;
		k->keyed = i % 2 == 0;
		k->seed = seed * 31u + (unsigned)i;
		k->reqs.open_lost = -1;
		fc_init(&k->c);
		if (pthread_create(&k->th, NULL, load_kiosk_main, k) != 0)
			abort();
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		struct counter *c = &counters[i];

		memset(c, 0, sizeof *c);
		c->idx = i;
		c->seed = seed * 17u + 100u + (unsigned)i;
		c->reqs.open_lost = -1;
		fc_init(&c->c);
		if (pthread_create(&c->th, NULL, load_counter_main, c) != 0)
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
