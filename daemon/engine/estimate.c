/*
 * Waiting-time estimates: the office's own calling rule run forward.
 *
 * From now, each open counter becomes free when its held ticket is
 * expected to end (or at once when it holds none), and each counter
 * planned to open later does at its planned time; a counter stops at the
 * end of its planned interval (plan_start). The counter that is
 * free first calls the ticket next_ticket() would give it; that ticket's
 * call time is its estimate, and the counter is busy for the expected time
 * of a visit of that queue. Repeat until no counter can call anything.
 * The rule is the very function call_next uses: the simulation takes the
 * tickets it "calls" out of the real waiting lists and puts them back
 * before it returns (nothing else runs meanwhile).
 *
 * A visit's expected time is learnt per queue from finished services (the
 * mean of the last SERVICE_SAMPLES, each clipped at four times their
 * median so that a forgotten finish cannot swamp it; at start-up the same
 * weekday's visits of the last weeks stand in until today has its own),
 * plus the time counters lose to no-shows (their share times their mean
 * time). The spread of a wait is the spread of the sum of the visits before
 * it: the variance adds up, and the 80 % range is +-1.28 standard
 * deviations. A queue with fewer than MIN_SAMPLES services borrows the
 * office's pooled samples; with too few anywhere, the estimate is null
 * rather than a confident number from one observation.
 */
#include "daemon/engine/engine_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SAMPLES 3                      /* a queue's own, else the office's pooled */
#define MAX_STEPS 2000                     /* calls simulated per recomputation: beyond, unknown */
#define REFRESH_US (15 * INT64_C(1000000)) /* recompute as time passes */
/* Offices with more waiting than this re-simulate at most every
 * BIG_EVERY_US; tickets issued in between are extrapolated. */
#define BIG_WAITING 64
#define BIG_EVERY_US (250 * INT64_C(1000))
/* Visitors still to come, at each queue's rate over its last
 * ARRIVAL_COUNT tickets (at least ARRIVAL_MIN, within the last hour), and
 * only as far ahead as those tickets reach back: the past says no more of
 * the future, and without a horizon a queue served second behind a busy
 * one would wait for ever. Counted in tickets rather than minutes, the
 * look-back follows the office's own pace (a quiet queue looks further
 * back than a busy one). At most FUTURE_MAX per queue. */
#define ARRIVAL_COUNT 20
#define ARRIVAL_MIN 3
#define ARRIVAL_MAX_BACK_US (60 * 60 * INT64_C(1000000))
#define FUTURE_MAX 128
/* Bookings not yet checked in, up to this far ahead, are visitors who will
 * come at their time: a counter that has one at 14:30 is not free then. */
#define BOOKED_AHEAD_US (2 * 60 * 60 * INT64_C(1000000))
#define PACE_PRIOR 4 /* visits at the usual pace a counter's ratio starts from */
#define Z80 1.2816   /* two-sided 80 %: the 10th and 90th percentiles */

/* The expected time a counter spends on one visit of a queue, and its variance. */
struct visit {
	double mean_us, var_us2;
	bool known;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Mean and variance of n samples, each clipped at CLIP_MEDIANS times their
 * median. Visit times are skewed (a few long ones): a trimmed mean or the
 * median would say less than the time counters really spend on average,
 * and every estimate would come out low. Clipping only guards the mean
 * against a visit the clerk forgot to finish.
 */
#define CLIP_MEDIANS 4
static void robust_stats(const int64_t *samples, int n, double *mean, double *var)
{
	int64_t v[SERVICE_SAMPLES * 8];
	double sum = 0, sq = 0, clip;

	if (n > (int)(sizeof v / sizeof v[0]))
		n = (int)(sizeof v / sizeof v[0]);
	memcpy(v, samples, (size_t)n * sizeof *v);
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	clip = CLIP_MEDIANS * (n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2);
	for (int i = 0; i < n; i++)
		sum += (double)v[i] < clip ? (double)v[i] : clip;
	*mean = sum / n;
	for (int i = 0; i < n; i++) {
		double x = (double)v[i] < clip ? (double)v[i] : clip;
		sq += (x - *mean) * (x - *mean);
	}
	*var = n > 1 ? sq / (n - 1) : 0;
}

static struct visit visit_of(const struct queue *q, const struct visit *pooled)
{
	struct visit v = { 0 };
	double s_mean, s_var, ns_mean = 0, ns_var = 0, p = 0;

	if (q->nservice < MIN_SAMPLES)
		return *pooled;
	robust_stats(q->service, q->nservice, &s_mean, &s_var);
	if (q->nnoshow)
		robust_stats(q->noshow, q->nnoshow, &ns_mean, &ns_var);
	if (q->noutcomes_seen)
		p = (double)q->noshows_seen / q->noutcomes_seen;
	v.mean_us = (1 - p) * s_mean + p * ns_mean;
	v.var_us2 = (1 - p) * s_var + p * ns_var;
	v.known = true;
	return v;
}

void counter_record_visit(struct counter *c, const struct queue *q, int64_t us)
{
	double mean, var, r;

	if (q->nservice < MIN_SAMPLES || us <= 0)
		return;
	robust_stats(q->service, q->nservice, &mean, &var);
	if (mean <= 0)
		return;
	r = (double)us / mean;
	c->pace[c->pace_pos] = (float)(r < 1.0 / CLIP_MEDIANS ? 1.0 / CLIP_MEDIANS
				       : r > CLIP_MEDIANS     ? CLIP_MEDIANS
							      : r);
	c->pace_pos = (c->pace_pos + 1) % PACE_SAMPLES;
	if (c->npace < PACE_SAMPLES)
		c->npace++;
}

/* How long this counter's visits take, as a multiple of its queues' usual:
 * the mean of its recent ratios, drawn towards 1 while there are few (a
 * single long visit says little about the clerk). */
static double counter_pace(const struct counter *c)
{
	double sum = 0;

	if (!c->npace)
		return 1;
	for (int i = 0; i < c->npace; i++)
		sum += c->pace[i];
	return (sum + PACE_PRIOR) / (c->npace + PACE_PRIOR);
}

/* Every queue's samples together, for queues with too few of their own. */
static struct visit visit_pooled(const struct office *o)
{
	int64_t all[SERVICE_SAMPLES * 8];
	int n = 0;
	struct visit v = { 0 };

	for (int i = 0; i < o->nqueues; i++)
		for (int k = 0; k < o->queues[i]->nservice && n < (int)(sizeof all / sizeof all[0]);
		     k++)
			all[n++] = o->queues[i]->service[k];
	if (n >= MIN_SAMPLES) {
		robust_stats(all, n, &v.mean_us, &v.var_us2);
		v.known = true;
	}
	return v;
}

/* One counter of the simulation. */
struct sim_counter {
	struct counter *c;
	int64_t free_at; /* INT64_MAX: calls nothing more */
	int64_t until;   /* calls nothing from then until its next interval */
	int next;        /* that interval, an index into c->hours' pairs */
	double var;      /* of free_at, us^2 */
	bool known;      /* every visit before free_at was known */
	double pace;     /* counter_pace() */
};

/*
 * Planned hours (sql/015). A counter without a plan serves while it is
 * open, as far as anyone knows. With one, it calls nobody after the end of
 * its interval (the visit under way still ends) and comes back at the
 * start of its next one, today. What it does now overrules the plan for
 * the interval at hand: open before an interval (not having been open
 * since the last one ended), it works on to that interval's end; still
 * open after the end of the interval it opened in, it is finishing a
 * visit and stops; closed within an interval it has not yet opened in, it
 * is expected any moment; closed within one it closed in, it is taken to
 * be away until the next.
 */
static void plan_start(struct sim_counter *s, const struct office *o, int64_t now)
{
	const struct counter *c = s->c;
	int n = c->nhours / 2, i = 0, k;

	s->until = INT64_MAX;
	s->next = n;
	if (!c->planned) {
		s->free_at = c->open ? now : INT64_MAX;
		return;
	}
	while (i < n && c->hours[2 * i + 1] <= now)
		i++;
	if (c->open && i > 0 && (i == n || now < c->hours[2 * i]) &&
	    c->open_changed_at < c->hours[2 * i - 1]) {
		/* Open past the end of the interval it opened in: finishing a
		 * visit before the break (or the day's end), not working on. */
		s->free_at = now;
		s->until = c->hours[2 * i - 1];
		s->next = i;
		return;
	}
	if (c->open || (i < n && c->hours[2 * i] <= now && c->open_changed_at < c->hours[2 * i])) {
		s->free_at = now;
		if (i < n) {
			s->until = c->hours[2 * i + 1];
			s->next = i + 1;
		}
		return;
	}
	k = i < n && c->hours[2 * i] <= now ? i + 1 : i;
	if (k < n && c->hours[2 * k] < o->day_end) {
		s->free_at = c->hours[2 * k];
		s->until = c->hours[2 * k + 1];
		s->next = k + 1;
	} else {
		s->free_at = INT64_MAX;
	}
}

/* s has reached the end of its interval: on to its next one today. */
static void plan_next(struct sim_counter *s, const struct office *o)
{
	const struct counter *c = s->c;
	int n = c->nhours / 2;

	while (s->next < n && c->hours[2 * s->next + 1] <= s->free_at)
		s->next++;
	if (s->next >= n || c->hours[2 * s->next] >= o->day_end) {
		s->free_at = INT64_MAX;
		return;
	}
	if (c->hours[2 * s->next] > s->free_at)
		s->free_at = c->hours[2 * s->next];
	s->until = c->hours[2 * s->next + 1];
	s->next++;
}

/* A ticket added for the estimate of a ticket issued now, one per queue. */
struct phantom {
	struct ticket t;
	struct queue *q;
};

static void record(struct ticket *t, const struct sim_counter *sc, uint64_t run)
{
	t->est_call_at = sc->free_at;
	t->est_sd = (int64_t)sqrt(sc->var);
	t->est_known = sc->known;
	t->est_run = run;
}

/*
 * Taking a ticket out of its waiting list for the simulation, and putting
 * everything back after. Calls nearly always take the first of a list:
 * that is moving the list's start, not its contents, so a long queue costs
 * no more than a short one. A priority ticket further in is cut out; the
 * undo log puts each back where it was, in reverse order.
 */
struct take {
	struct tlist *l;
	struct queue *q; /* whose priority count it was in, or NULL */
	int at;          /* -1: the first, taken by moving the start */
	struct ticket *t;
};

static void take(struct take *log, int *nlog, struct ticket *t)
{
	struct tlist *l = t->for_counter ? &t->for_counter->for_me : &t->queue->waiting;
	struct take *u = &log[(*nlog)++];
	int at = 0;

	while (at < l->n && l->v[at] != t)
		at++;
	*u = (struct take){ l, !t->for_counter && t->priority ? t->queue : NULL, -1, t };
	if (at == 0) {
		l->v++;
		l->cap--;
	} else {
		memmove(l->v + at, l->v + at + 1, (size_t)(l->n - at - 1) * sizeof *l->v);
		u->at = at;
	}
	l->n--;
	if (u->q)
		u->q->npriority--;
}

static void untake(const struct take *log, int nlog)
{
	for (int i = nlog; i-- > 0;) {
		const struct take *u = &log[i];
		struct tlist *l = u->l;

		if (u->at < 0) {
			l->v--;
			l->cap++;
		} else {
			memmove(l->v + u->at + 1, l->v + u->at,
				(size_t)(l->n - u->at) * sizeof *l->v);
			l->v[u->at] = u->t;
		}
		l->n++;
		if (u->q)
			u->q->npriority++;
	}
}

/*
 * Visitors who have not come yet also take counters' time: a queue served
 * at rank 2 waits while rank 1 keeps getting new tickets, and a heavier
 * queue's newcomers pass a lighter one's. The run adds them at each
 * queue's recent rate, evenly spaced, at the end of their queue (they are
 * the newest); their own call times are not estimates of anything.
 */
struct future {
	struct queue *q;
	double every_us; /* 0: none expected */
	double next_at, until;
	struct ticket *t; /* FUTURE_MAX of them, made when the first comes */
	int n;            /* appended so far */
};

/* The time between arrivals in q, 0 when unknown or the queue takes no
 * tickets; *back: how far back they were seen. */
static double arrival_every_us(const struct queue *q, int64_t now, int64_t *back)
{
	int64_t since = now - ARRIVAL_MAX_BACK_US, first = now;
	int n = 0;

	*back = 0;
	if (!q->open || !q->active)
		return 0;
	for (int i = q->ntoday; i-- > 0 && n < ARRIVAL_COUNT;) {
		const struct ticket *t = q->today[i];

		if (!t)
			continue;
		if (t->issued_at < since)
			break;
		first = t->issued_at;
		n++;
	}
	if (n < ARRIVAL_MIN || now <= first)
		return 0;
	*back = now - first;
	return (double)(now - first) / n;
}

/* Appends q's arrivals up to time at; the list has room (reserved before
 * the run, as the run may have moved its start). */
static void future_arrive(struct future *f, int64_t at, uint64_t *order)
{
	struct tlist *l = &f->q->waiting;

	while (f->every_us > 0 && f->next_at <= (double)at && f->next_at <= f->until &&
	       f->n < FUTURE_MAX) {
		struct ticket *t;

		if (!f->t)
			f->t = xcalloc(FUTURE_MAX, sizeof *f->t);
		t = &f->t[f->n++];
		t->queue = t->origin = f->q;
		t->state = TS_WAITING;
		t->sort_at = (int64_t)f->next_at;
		t->order = (*order)++;
		l->v[l->n++] = t;
		f->next_at += f->every_us;
	}
}

/* When the next visitor comes for a counter that has nothing to call. */
static int64_t next_arrival_for(const struct counter *c, const struct future *fut)
{
	double at = (double)INT64_MAX;

	for (int k = 0; k < c->nqueues; k++) {
		const struct future *f = &fut[c->queues[k].queue->est_index];

		if (f->every_us > 0 && f->n < FUTURE_MAX && f->next_at <= f->until &&
		    f->next_at < at)
			at = f->next_at;
	}
	return at >= (double)INT64_MAX ? INT64_MAX : (int64_t)at;
}

void office_estimate(struct office *o, int64_t now)
{
	struct visit pooled = visit_pooled(o);
	struct visit *visits = xcalloc((size_t)o->nqueues, sizeof *visits);
	struct sim_counter *sc = xcalloc((size_t)o->ncounters, sizeof *sc);
	struct phantom *ph = xcalloc((size_t)o->nqueues, sizeof *ph);
	struct take *log;
	struct future *fut = xcalloc((size_t)o->nqueues, sizeof *fut);
	struct ticket *booked = o->nbookings ? xcalloc((size_t)o->nbookings, sizeof *booked) : NULL;
	int nbooked = 0;
	uint64_t future_order = UINT64_MAX / 2; /* below the phantoms', above real ones */
	int nlog = 0, remaining = 0;            /* real tickets (and phantoms) still to call */
	bool any_serving = false;
	char reason[96];

	o->est_gen = o->gen;
	o->est_now = now;
	o->est_run++; /* what an earlier run recorded is not this run's */
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];

		visits[i] = visit_of(q, &pooled);
		q->est_index = i;
		q->est_visit_mean = visits[i].mean_us;
		q->est_visit_var = visits[i].var_us2;
		q->est_servers = 0;
		/* The wait of a ticket issued now: the last in line. */
		ph[i].q = q;
		ph[i].t.queue = ph[i].t.origin = q;
		ph[i].t.state = TS_WAITING;
		ph[i].t.sort_at = now;
		ph[i].t.order = UINT64_MAX - (uint64_t)o->nqueues + (uint64_t)i;
		if (q->active)
			tlist_insert(&q->waiting, &ph[i].t);
		fut[i].q = q;
		int64_t back;

		fut[i].every_us = arrival_every_us(q, now, &back);
		fut[i].next_at = (double)now + fut[i].every_us;
		fut[i].until = (double)(now + back);
	}
	/* Before any take (tlist_insert may move the list); they are not
	 * among the tickets the run must call (their order is the newcomers'). */
	for (int i = 0; i < o->nbookings; i++) {
		const struct booking *b = o->bookings[i];
		struct ticket *t = &booked[nbooked];

		if (b->state != BK_BOOKED || !b->queue->active || !b->queue->open ||
		    b->starts_at + o->checkin_after_s * INT64_C(1000000) < now ||
		    b->starts_at > now + BOOKED_AHEAD_US)
			continue;
		t->queue = t->origin = b->queue;
		t->state = TS_WAITING;
		t->sort_at = now;
		t->appointment = b->starts_at;
		t->order = future_order++;
		tlist_insert(&b->queue->waiting, t);
		b->queue->nappointment++;
		nbooked++;
	}
	/* Room for the newcomers, made now: once the run has taken from a
	 * list, growing it would move what the undo log points into. The log
	 * holds one entry per ticket the run can take, at most MAX_STEPS; it
	 * is the office's, kept between runs: a block allocated and freed on
	 * every run cost more than the run (freeing 64 KiB or more makes
	 * malloc consolidate its free lists). */
	int logmax = 0;

	for (int i = 0; i < o->nqueues; i++) {
		logmax += o->queues[i]->waiting.n;
		if (fut[i].every_us > 0) {
			o->queues[i]->waiting.v =
				xgrow(o->queues[i]->waiting.v, &o->queues[i]->waiting.cap,
				      o->queues[i]->waiting.n + FUTURE_MAX,
				      sizeof(struct ticket *));
			logmax += FUTURE_MAX;
		}
	}
	for (int i = 0; i < o->ncounters; i++)
		logmax += o->counters[i]->for_me.n;
	size_t logsize = (size_t)(logmax < MAX_STEPS ? logmax + 1 : MAX_STEPS) * sizeof *log;

	if (o->est_log_cap < logsize) {
		free(o->est_log);
		o->est_log = xmalloc(logsize);
		o->est_log_cap = logsize;
	}
	log = o->est_log;
	for (int i = 0; i < o->ncounters; i++) {
		struct counter *c = o->counters[i];
		struct sim_counter *s = &sc[i];

		s->c = c;
		s->pace = counter_pace(c);
		plan_start(s, o, now);
		if (!c->active || s->free_at == INT64_MAX) {
			s->free_at = INT64_MAX;
			continue;
		}
		s->known = true;
		any_serving = true;
		for (int k = 0; k < c->nqueues; k++)
			c->queues[k].queue->est_servers++;
		if (c->held && c->open) {
			/* The rest of the visit in progress: what remains of
			 * the expected time, or a little when it has run over. */
			const struct visit *v = &visits[c->held->queue->est_index];
			double mean = v->mean_us * s->pace;
			double left = mean - (double)(now - c->held->called_at);

			s->known = v->known;
			s->free_at = now + (int64_t)(left > 0.1 * mean ? left : 0.1 * mean);
			s->var = v->var_us2 * s->pace * s->pace / 4;
		}
	}
	/* The run ends when every ticket some open counter serves is called,
	 * not when the visitors still to come run out. */
	for (int i = 0; i < o->nqueues; i++)
		if (o->queues[i]->est_servers)
			remaining += o->queues[i]->waiting.n;
	for (int i = 0; i < o->ncounters; i++)
		if (sc[i].free_at != INT64_MAX)
			remaining += o->counters[i]->for_me.n;
	for (int step = 0; any_serving && remaining > 0 && step < MAX_STEPS; step++) {
		struct sim_counter *s = NULL;
		struct ticket *t;

		for (int i = 0; i < o->ncounters; i++)
			if (sc[i].free_at != INT64_MAX && (!s || sc[i].free_at < s->free_at))
				s = &sc[i];
		if (!s)
			break;
		if (s->free_at >= s->until) {
			plan_next(s, o);
			continue;
		}
		for (int i = 0; i < o->nqueues; i++)
			future_arrive(&fut[i], s->free_at, &future_order);
		t = next_ticket(s->c, s->free_at, reason, sizeof reason);
		if (!t) {
			/* Idle until someone comes for it, if anyone will. */
			int64_t at = next_arrival_for(s->c, fut);

			s->free_at = at > s->free_at ? at : INT64_MAX;
			continue;
		}
		record(t, s, o->est_run);
		take(log, &nlog, t);
		if (t->order < UINT64_MAX / 2)
			remaining--;
		/* A phantom asks when a new ticket would be called; it must
		 * not delay the real ones behind it. */
		if (t->order >= UINT64_MAX - (uint64_t)o->nqueues)
			continue;
		s->free_at += (int64_t)(visits[t->queue->est_index].mean_us * s->pace);
		s->var += visits[t->queue->est_index].var_us2 * s->pace * s->pace;
		s->known = s->known && visits[t->queue->est_index].known;
	}
	untake(log, nlog);
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];

		/* Back as before the run: the arrivals are the list's last. */
		q->waiting.n -= fut[i].n;
		free(fut[i].t);
		for (int k = 0; k < nbooked; k++)
			if (booked[k].queue == q) {
				tlist_remove(&q->waiting, &booked[k]);
				q->nappointment--;
			}

		q->est_new_done = ph[i].t.est_run == o->est_run;
		q->est_new_at = ph[i].t.est_call_at;
		q->est_new_sd = ph[i].t.est_sd;
		q->est_new_known = ph[i].t.est_known;
		tlist_remove(&q->waiting, &ph[i].t);
	}
	free(booked);
	free(fut);
	free(ph);
	free(sc);
	free(visits);
}

/* The estimates of o, recomputed when it changed or time moved on. The
 * cache is what changes, not what the office says: hence the cast. */
static void ensure(const struct engine *e, const struct office *o, int64_t now)
{
	bool changed = o->est_gen != o->gen || o->est_egen != e->gen;
	int waiting = 0;

	if (changed)
		for (int i = 0; i < o->nqueues; i++)
			waiting += o->queues[i]->waiting.n;
	if ((changed && (waiting <= BIG_WAITING || now - o->est_now >= BIG_EVERY_US)) ||
	    now - o->est_now > REFRESH_US || now < o->est_now) {
		office_estimate((struct office *)o, now);
		((struct office *)o)->est_egen = e->gen;
	}
}

/* A ticket the last run did not see (issued since, in a big office): the
 * run's "issued now" time of its queue, one visit per serving counter
 * later for each such ticket ahead of it. False when nothing fits. */
static bool extrapolate(const struct office *o, const struct ticket *t, int64_t *call_at,
			int64_t *sd, bool *known)
{
	const struct queue *q = t->queue;
	const struct tlist *l = &q->waiting;
	int ahead = 0;

	if (t->for_counter || !q->est_new_done || q->est_servers == 0)
		return false;
	/* New tickets go last: those the run did not see are the ones
	 * just before t, back to the newest the run did see. */
	int at = l->n;

	while (at-- > 0 && l->v[at] != t)
		;
	while (at-- > 0 && l->v[at]->est_run != o->est_run)
		ahead++;
	*call_at = q->est_new_at + (int64_t)(ahead * q->est_visit_mean / q->est_servers);
	*sd = (int64_t)sqrt((double)q->est_new_sd * (double)q->est_new_sd +
			    ahead * q->est_visit_var / ((double)q->est_servers * q->est_servers));
	*known = q->est_new_known;
	return true;
}

/* The forecast for t: from the last run, or extrapolated. */
static bool forecast(const struct office *o, const struct ticket *t, int64_t *call_at, int64_t *sd,
		     bool *known)
{
	if (t->est_run == o->est_run) {
		*call_at = t->est_call_at;
		*sd = t->est_sd;
		*known = t->est_known;
		return true;
	}
	return extrapolate(o, t, call_at, sd, known);
}

/*
 * Calibration: the office's own record of how its estimates turned out.
 * Whatever the model cannot know (a counter about to take a break, a
 * clerk's long phone call, newcomers with priority, a queue served second
 * whose counters' first queues keep getting visitors) shows as a ratio
 * between the real wait and the model's: its median moves every estimate
 * (within CAL_LIMIT either way) and its 10th and 90th percentiles make the
 * 80 % range once CAL_MIN calls have been seen; before that, the model's
 * own spread. What the model misses differs between queues (a queue
 * served first at every counter has little to miss), so each queue keeps
 * its own record and uses it once it has CAL_MIN calls; until then, the
 * office's. Ratios are of (wait + CAL_MARGIN), so that a visitor told
 * "now" and called after ten seconds is not an error of infinity.
 */
#define CAL_MIN 20
#define CAL_MARGIN_US (60 * 1e6)
#define CAL_LIMIT 0.5 /* |log| of the largest correction: x1.65 */
/* A queue's record is its last calls only: what it corrects (a peak at
 * the queue's first counters) passes within the hour. */
#define CAL_QUEUE_SAMPLES 40

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static void calib_add(struct calib *c, float r, int keep)
{
	float v[CAL_SAMPLES];

	c->r[c->pos] = r;
	c->pos = (c->pos + 1) % keep;
	if (c->n < keep)
		c->n++;
	c->ready = c->n >= CAL_MIN;
	if (!c->ready)
		return;
	memcpy(v, c->r, (size_t)c->n * sizeof *v);
	qsort(v, (size_t)c->n, sizeof *v, cmp_float);
	c->mid = v[c->n / 2];
	c->lo = v[c->n / 10];
	c->hi = v[c->n - 1 - c->n / 10];
	if (c->mid > CAL_LIMIT)
		c->mid = CAL_LIMIT;
	if (c->mid < -CAL_LIMIT)
		c->mid = -CAL_LIMIT;
}

void office_estimate_called(struct office *o, struct ticket *t, int64_t now)
{
	double real = (double)(now - t->issued_at);
	float r;

	if (!t->told_known)
		return;
	t->told_known = false; /* a later call (reactivated, transferred) is another wait */
	r = (float)log((real + CAL_MARGIN_US) / ((double)t->told_raw_us + CAL_MARGIN_US));
	calib_add(&o->cal, r, CAL_SAMPLES);
	if (t->origin) /* it was told for the queue it was issued in */
		calib_add(&t->origin->cal, r, CAL_QUEUE_SAMPLES);
}

/* What the visitor is told for a model's wait w (us, sd its spread) in
 * queue q: the wait and its 80 % range, in us, calibrated when the queue
 * (else the office) can. */
static void told(const struct office *o, const struct queue *q, double w, double sd, double *mid,
		 double *lo, double *hi)
{
	const struct calib *c = q && q->cal.ready ? &q->cal : &o->cal;

	if (w < 0)
		w = 0;
	if (!c->ready) {
		*mid = w;
		*lo = w - Z80 * sd;
		*hi = w + Z80 * sd;
	} else {
		double base = w + CAL_MARGIN_US;

		*mid = base * exp(c->mid) - CAL_MARGIN_US;
		*lo = base * exp(c->lo) - CAL_MARGIN_US;
		*hi = base * exp(c->hi) - CAL_MARGIN_US;
		/* The model's own spread, where it is the wider. */
		if (w - Z80 * sd < *lo)
			*lo = w - Z80 * sd;
		if (w + Z80 * sd > *hi)
			*hi = w + Z80 * sd;
	}
	*mid = *mid > 0 ? *mid : 0;
	*lo = *lo > 0 ? *lo : 0;
	*hi = *hi > *mid ? *hi : *mid;
	*lo = *lo < *mid ? *lo : *mid;
}

static json_int_t whole_s(double us)
{
	return (json_int_t)(us / 1e6 + 0.5);
}

/* estimated_wait_s, and estimated_wait_range_s when known, into obj. */
static void told_json(json_t *obj, const struct office *o, const struct queue *q, bool done,
		      bool known, int64_t call_at, int64_t sd, int64_t now)
{
	double mid, lo, hi;

	if (!done || !known) {
		json_object_set_new(obj, "estimated_wait_s", json_null());
		return;
	}
	told(o, q, (double)(call_at - now), (double)sd, &mid, &lo, &hi);
	json_object_set_new(obj, "estimated_wait_s", json_integer(whole_s(mid)));
	json_object_set_new(obj, "estimated_wait_range_s",
			    json_pack("[I, I]", whole_s(lo), whole_s(hi)));
}

void ticket_estimate_set(json_t *obj, const struct engine *e, const struct office *o,
			 const struct ticket *t)
{
	int64_t now = e->last_now, call_at = 0, sd = 0;
	bool known = false, done;

	ensure(e, o, now);
	done = forecast(o, t, &call_at, &sd, &known);
	told_json(obj, o, t->queue, done, known, call_at, sd, now);
}

void queue_estimate_set(json_t *obj, const struct engine *e, const struct office *o,
			const struct queue *q)
{
	ensure(e, o, e->last_now);
	told_json(obj, o, q, q->est_new_done, q->est_new_known, q->est_new_at, q->est_new_sd,
		  e->last_now);
}

bool ticket_estimate_s(const struct engine *e, const struct office *o, const struct ticket *t,
		       int64_t *secs)
{
	int64_t call_at, sd;
	double mid, lo, hi;
	bool known;

	ensure(e, o, e->last_now);
	if (!forecast(o, t, &call_at, &sd, &known) || !known)
		return false;
	told(o, t->queue, (double)(call_at - e->last_now), (double)sd, &mid, &lo, &hi);
	*secs = whole_s(mid);
	return true;
}

bool ticket_estimate_at_issue(const struct engine *e, const struct office *o, struct ticket *t,
			      int64_t *secs)
{
	int64_t call_at, sd;
	bool known;

	if (!ticket_estimate_s(e, o, t, secs))
		return false;
	forecast(o, t, &call_at, &sd, &known);
	t->told_known = true;
	t->told_raw_us = call_at > e->last_now ? call_at - e->last_now : 0;
	return true;
}
