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
 * The first calls are played again with visit times drawn from the
 * samples, and told their mean (see SAMPLED_PLAYS).
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
#include "daemon/engine/visit_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 2000 /* calls simulated per recomputation: beyond, unknown */

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
/* Where the same weekday of earlier weeks says when visitors come
 * (arrivals.h), newcomers are expected where those weeks had them, at
 * today's pace against theirs, this far ahead instead (and before today
 * has a pace of its own, at theirs): a peak that ends is expected to
 * end, one to come is expected. */
#define ARRIVAL_AHEAD_US (2 * 60 * 60 * INT64_C(1000000))
/* Bookings not yet checked in, up to this far ahead, are visitors who will
 * come at their time: a counter that has one at 14:30 is not free then. */
#define BOOKED_AHEAD_US (2 * 60 * 60 * INT64_C(1000000))

/* One counter of the simulation. */
struct sim_counter {
	struct counter *c;
	int64_t free_at; /* INT64_MAX: calls nothing more */
	int64_t until;   /* calls nothing from then until its next interval */
	int next;        /* that interval, an index into c->plan's pairs */
	double var;      /* of free_at, us^2 */
	bool known;      /* every visit before free_at was known */
	double pace;     /* counter_pace() */
	int drawn;       /* visits drawn for it in this sampled play */
	/* the visit in progress, for the sampled plays' draws */
	const struct visit *held; /* NULL: none */
	double held_for_us;       /* how long it has lasted */
	bool may_noshow;          /* called, not yet started */
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
	int n = c->plan.nhours / 2, i = 0, k;

	s->until = INT64_MAX;
	s->next = n;
	if (!c->plan.planned) {
		s->free_at = c->open ? now : INT64_MAX;
		return;
	}
	while (i < n && c->plan.hours[2 * i + 1] <= now)
		i++;
	if (c->open && i > 0 && (i == n || now < c->plan.hours[2 * i]) &&
	    c->open_changed_at < c->plan.hours[2 * i - 1]) {
		/* Open past the end of the interval it opened in: finishing a
		 * visit before the break (or the day's end), not working on. */
		s->free_at = now;
		s->until = c->plan.hours[2 * i - 1];
		s->next = i;
		return;
	}
	if (c->open ||
	    (i < n && c->plan.hours[2 * i] <= now && c->open_changed_at < c->plan.hours[2 * i])) {
		s->free_at = now;
		if (i < n) {
			s->until = c->plan.hours[2 * i + 1];
			s->next = i + 1;
		}
		return;
	}
	k = i < n && c->plan.hours[2 * i] <= now ? i + 1 : i;
	if (k < n && c->plan.hours[2 * k] < o->day_end) {
		s->free_at = c->plan.hours[2 * k];
		s->until = c->plan.hours[2 * k + 1];
		s->next = k + 1;
	} else {
		s->free_at = INT64_MAX;
	}
}

/* s has reached the end of its interval: on to its next one today. */
static void plan_next(struct sim_counter *s, const struct office *o)
{
	const struct counter *c = s->c;
	int n = c->plan.nhours / 2;

	while (s->next < n && c->plan.hours[2 * s->next + 1] <= s->free_at)
		s->next++;
	if (s->next >= n || c->plan.hours[2 * s->next] >= o->day_end) {
		s->free_at = INT64_MAX;
		return;
	}
	if (c->plan.hours[2 * s->next] > s->free_at)
		s->free_at = c->plan.hours[2 * s->next];
	s->until = c->plan.hours[2 * s->next + 1];
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
	t->est_acc_us = 0;
	t->est_acc_n = 0;
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
	double every_us;            /* 0: none expected */
	struct arrival_forecast fc; /* when fc.at: they come as it says */
	bool coming;                /* any expected: every_us > 0 or fc.at */
	double start;               /* now, as a double */
	double next_at, until;
	struct ticket *t; /* FUTURE_MAX of them, made when the first comes */
	int n;            /* appended so far */
};

/* The time between arrivals in q, 0 when unknown or the queue takes no
 * tickets; *back: how far back they were seen, *seen: how many. */
static double arrival_every_us(const struct queue *q, int64_t now, int64_t *back, int *seen)
{
	int64_t since = now - ARRIVAL_MAX_BACK_US, first = now;
	int n = 0;

	*back = 0;
	*seen = 0;
	if (!queue_takes_tickets(q, now) || !q->active)
		return 0;
	/* (*seen counts them even when they are too few for a pace.) */
	for (int i = q->ntoday; i-- > 0 && n < ARRIVAL_COUNT;) {
		const struct ticket *t = q->today[i];

		if (!t)
			continue;
		if (t->issued_at < since)
			break;
		first = t->issued_at;
		n++;
	}
	*seen = n;
	if (n < ARRIVAL_MIN || now <= first)
		return 0;
	*back = now - first;
	return (double)(now - first) / n;
}

/* When newcomer k (from 0) of f is expected; +inf: none. */
static double future_at(const struct future *f, double start, int k)
{
	int64_t at;

	if (!f->fc.at)
		return start + (k + 1) * f->every_us;
	at = arrival_forecast_at(&f->fc, k);
	return at == INT64_MAX ? INFINITY : (double)at;
}

/* Appends q's arrivals up to time at; the list has room (reserved before
 * the run, as the run may have moved its start). */
static void future_arrive(struct future *f, int64_t at, uint64_t *order)
{
	struct tlist *l = &f->q->waiting;

	while (f->coming && f->next_at <= (double)at && f->next_at <= f->until &&
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
		f->next_at = future_at(f, f->start, f->n);
	}
}

/* When the next visitor comes for a counter that has nothing to call. */
static int64_t next_arrival_for(const struct counter *c, const struct future *fut)
{
	double at = (double)INT64_MAX;

	for (int k = 0; k < c->nqueues; k++) {
		const struct future *f = &fut[c->queues[k].queue->est_index];

		if (f->coming && f->n < FUTURE_MAX && f->next_at <= f->until && f->next_at < at)
			at = f->next_at;
	}
	return at >= (double)INT64_MAX ? INT64_MAX : (int64_t)at;
}

/* What the plays of one run share. */
struct play {
	struct office *o;
	int64_t now;
	const struct visit *visits;
	const struct sim_counter *start; /* each counter as the run begins */
	struct sim_counter *sc;          /* a play's own, from start */
	struct future *fut;
	struct take *log;
	uint64_t future_order; /* the first newcomer's */
	int remaining;         /* real tickets (and phantoms) to call */
};

/*
 * One play of the office forward. The mean play (sample < 0) has every
 * visit last its mean and records each call as the ticket's forecast;
 * sampled play k draws the visits and adds the call times to the sums of
 * the tickets the mean play recorded. At most max_steps calls; the lists
 * are as before when it returns.
 */
static void play(struct play *p, int sample, int max_steps)
{
	struct office *o = p->o;
	struct sim_counter *sc = p->sc;
	uint64_t future_order = p->future_order;
	int remaining = p->remaining, nlog = 0;

	memcpy(sc, p->start, (size_t)o->ncounters * sizeof *sc);
	for (int i = 0; i < o->nqueues; i++) {
		p->fut[i].n = 0;
		p->fut[i].next_at = future_at(&p->fut[i], p->fut[i].start, 0);
	}
	for (int i = 0; sample >= 0 && i < o->ncounters; i++) {
		struct sim_counter *s = &sc[i];
		double rest, u[2];

		strat_uniforms(sample, i, s->drawn++, u);
		if (s->held &&
		    visit_rest(s->held, s->pace, s->held_for_us, s->may_noshow, u, &rest))
			s->free_at = p->now + (int64_t)rest;
	}
	for (int step = 0; remaining > 0 && step < max_steps; step++) {
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
			future_arrive(&p->fut[i], s->free_at, &future_order);
		t = next_ticket(s->c, s->free_at, NULL, 0);
		if (!t) {
			/* Idle until someone comes for it, if anyone will. */
			int64_t at = next_arrival_for(s->c, p->fut);

			s->free_at = at > s->free_at ? at : INT64_MAX;
			continue;
		}
		if (sample < 0) {
			record(t, s, o->est_run);
		} else if (t->est_run == o->est_run) {
			t->est_acc_us += s->free_at - p->now;
			t->est_acc_n++;
		}
		take(p->log, &nlog, t);
		if (t->order < UINT64_MAX / 2)
			remaining--;
		/* A phantom asks when a new ticket would be called; it must
		 * not delay the real ones behind it. */
		if (t->order >= UINT64_MAX - (uint64_t)o->nqueues)
			continue;
		const struct visit *v = &p->visits[t->queue->est_index];

		if (sample >= 0) {
			double u[2];

			strat_uniforms(sample, (int)(s - sc), s->drawn++, u);
			s->free_at += (int64_t)visit_draw(v, s->pace, u);
			continue;
		}
		s->free_at += (int64_t)(v->mean_us * s->pace);
		s->var += v->var_us2 * s->pace * s->pace;
		s->known = s->known && v->known;
	}
	untake(p->log, nlog);
	/* Back as before the play: the newcomers are the lists' last. */
	for (int i = 0; i < o->nqueues; i++)
		o->queues[i]->waiting.n -= p->fut[i].n;
}

/* The tickets of l the sampled plays reached every time are told the mean
 * of those calls. Plain tickets (no priority, no appointment) are called
 * in the list's order: none is told less than one before it. */
static void take_sampled(const struct office *o, const struct tlist *l, int64_t now)
{
	int64_t floor = 0;

	for (int k = 0; k < l->n; k++) {
		struct ticket *t = l->v[k];

		if (t->est_run != o->est_run)
			continue;
		if (t->est_acc_n == SAMPLED_PLAYS)
			t->est_call_at = now + t->est_acc_us / SAMPLED_PLAYS;
		if (t->priority || t->appointment)
			continue;
		if (t->est_call_at < floor)
			t->est_call_at = floor;
		floor = t->est_call_at;
	}
}

void office_estimate(struct office *o, int64_t now)
{
	int64_t pooled_samples[POOLED_MAX];
	struct visit pooled = visit_pooled(o, pooled_samples);
	struct visit *visits = xcalloc((size_t)o->nqueues, sizeof *visits);
	struct sim_counter *start = xcalloc((size_t)o->ncounters, sizeof *start);
	struct sim_counter *sc = xcalloc((size_t)o->ncounters, sizeof *sc);
	struct phantom *ph = xcalloc((size_t)o->nqueues, sizeof *ph);
	struct future *fut = xcalloc((size_t)o->nqueues, sizeof *fut);
	struct ticket *booked = o->nbookings ? xcalloc((size_t)o->nbookings, sizeof *booked) : NULL;
	int nbooked = 0;
	uint64_t future_order = UINT64_MAX / 2; /* below the phantoms', above real ones */
	int remaining = 0;                      /* real tickets (and phantoms) still to call */
	bool any_serving = false;

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
		int seen;

		fut[i].every_us = arrival_every_us(q, now, &back, &seen);
		fut[i].start = (double)now;
		/* Today's count over its look-back against the weeks';
		 * with too few today for a pace (the opening), over the
		 * hour, where the weeks' own pace stands in. */
		if (queue_takes_tickets(q, now) && q->active &&
		    arrival_forecast_make(&q->arrivals, o->day, now,
					  fut[i].every_us > 0 ? back : ARRIVAL_MAX_BACK_US, seen,
					  &fut[i].fc))
			back = ARRIVAL_AHEAD_US;
		fut[i].coming = fut[i].every_us > 0 || fut[i].fc.at;
		/* None after the queue's ticket hours end. */
		int64_t until = plan_next_change(&q->plan, now);

		fut[i].until = (double)(now + back < until ? now + back : until);
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
		if (fut[i].coming) {
			o->queues[i]->waiting.v =
				xgrow(o->queues[i]->waiting.v, &o->queues[i]->waiting.cap,
				      o->queues[i]->waiting.n + FUTURE_MAX,
				      sizeof(struct ticket *));
			logmax += FUTURE_MAX;
		}
	}
	for (int i = 0; i < o->ncounters; i++)
		logmax += o->counters[i]->for_me.n;
	size_t logsize = (size_t)(logmax < MAX_STEPS ? logmax + 1 : MAX_STEPS) *
			 sizeof(struct take);

	if (o->est_log_cap < logsize) {
		free(o->est_log);
		o->est_log = xmalloc(logsize);
		o->est_log_cap = logsize;
	}
	for (int i = 0; i < o->ncounters; i++) {
		struct counter *c = o->counters[i];
		struct sim_counter *s = &start[i];

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
			/* The rest of the visit in progress: what visits longer
			 * than this one so far had left, or a little when it has
			 * outlasted them all. */
			const struct visit *v = &visits[c->held->queue->est_index];
			double mean = v->mean_us * s->pace, rest;

			s->held = v;
			s->held_for_us = (double)(now - c->held->called_at);
			s->may_noshow = c->held->state == TS_CALLED;
			if (!visit_rest(v, s->pace, s->held_for_us, s->may_noshow, NULL, &rest))
				rest = 0.1 * mean;
			s->known = v->known;
			s->free_at = now + (int64_t)rest;
			s->var = v->var_us2 * s->pace * s->pace / 4;
		}
	}
	/* The run ends when every ticket some open counter serves is called,
	 * not when the visitors still to come run out. */
	for (int i = 0; i < o->nqueues; i++)
		if (o->queues[i]->est_servers)
			remaining += o->queues[i]->waiting.n;
	for (int i = 0; i < o->ncounters; i++)
		if (start[i].free_at != INT64_MAX)
			remaining += o->counters[i]->for_me.n;
	if (any_serving) {
		struct play p = { o,   now,        visits,       start,    sc,
				  fut, o->est_log, future_order, remaining };
		play(&p, -1, MAX_STEPS);
		for (int k = 0; k < SAMPLED_PLAYS; k++)
			play(&p, k, SAMPLED_STEPS);
		for (int i = 0; i < o->nqueues; i++)
			take_sampled(o, &o->queues[i]->waiting, now);
		for (int i = 0; i < o->ncounters; i++)
			take_sampled(o, &o->counters[i]->for_me, now);
	}
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];

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
	free(start);
	free(visits);
}
