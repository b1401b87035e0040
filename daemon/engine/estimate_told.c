/*
 * What visitors are told: the forecast of estimate.c's last run (or, in a
 * big office, extrapolated from it), kept fresh, corrected by the
 * office's own record of how its estimates turned out (calibration), as
 * estimated_wait_s and its 80 % range.
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_US (15 * INT64_C(1000000)) /* recompute as time passes */
/* Offices with more waiting than this, and every office while the
 * estimator is over its share of the loop, re-simulate at most every
 * THROTTLED_EVERY_US; tickets issued in between are extrapolated. */
#define BIG_WAITING 64
#define THROTTLED_EVERY_US (250 * INT64_C(1000))
/* The estimator's share (estimate_share, 10 % by default): a run costs
 * 50-200 us, and a busy day changes each office tens of times a second;
 * past its share, what a run buys (an estimate a few hundred ms fresher)
 * is not worth the replies it delays. Real time, not the engine's clock:
 * it is CPU. */
#define SHARE_WINDOW_US INT64_C(1000000)
#define Z80 1.2816 /* two-sided 80 %: the 10th and 90th percentiles */

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum est_budget estimator_budget(struct engine *e, int64_t mono)
{
	if (e->est_force_budget != EST_FREE)
		return e->est_force_budget;
	if (!e->est_share_us)
		return EST_FREE;
	if (mono - e->est_window_at >= SHARE_WINDOW_US) {
		e->est_was_busy = e->est_window_spent > e->est_share_us &&
				  mono - e->est_window_at < 2 * SHARE_WINDOW_US;
		e->est_window_at = mono;
		e->est_window_spent = 0;
	}
	if (e->est_window_spent > e->est_share_us)
		return EST_SPENT;
	return e->est_was_busy ? EST_BUSY : EST_FREE;
}

void engine_set_estimate_share(struct engine *e, int percent)
{
	e->est_share_us = percent * SHARE_WINDOW_US / 100;
}

/* A full run of o, its real time counted against the estimator's share.
 * The cache is what changes, not what the engine or the office says:
 * hence the casts. */
static void queues_mix(struct office *o);

static void run(const struct engine *e, const struct office *o, int64_t now)
{
	struct engine *me = (struct engine *)e;
	int64_t t0 = mono_us();

	office_estimate((struct office *)o, now);
	queues_mix((struct office *)o);
	((struct office *)o)->est_counter_opened = false;
	((struct office *)o)->est_egen = e->gen;
	t0 = mono_us() - t0;
	me->est_window_spent += t0;
	metrics_estimate_run((double)t0 / 1e6);
}

/* The estimates of o, recomputed when it changed or time moved on. */
static void ensure(const struct engine *e, const struct office *o, int64_t now)
{
	bool changed = o->est_gen != o->gen || o->est_egen != e->gen;

	if (now - o->est_now > REFRESH_US || now < o->est_now) {
		run(e, o, now);
		return;
	}
	if (!changed)
		return;
	enum est_budget budget = estimator_budget((struct engine *)e, mono_us());
	bool due = now - o->est_now >= THROTTLED_EVERY_US;

	if (budget == EST_FREE && !due) {
		int waiting = 0;

		for (int i = 0; i < o->nqueues; i++)
			waiting += o->queues[i]->waiting.n;
		due = waiting <= BIG_WAITING;
	}
	if (due && budget != EST_SPENT)
		run(e, o, now);
	else
		metrics_estimate_throttled();
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
/* The point estimate moves by three quarters of the median error of
 * tickets called: the whole of it over-corrects as the errors it learnt
 * from age (a peak's lag outlives the peak); half of it left the day
 * 13-17 % low (docs/ESTIMATES.md). Once the queue's waiting tickets are
 * in its record (queue_mix), the median is as fresh as the queue, and
 * the point takes all of it: three quarters left five simulated days of
 * six too low, by 6 % on average over the six. The range takes all of it. */
#define CAL_POINT_SHARE 0.75
#define CAL_MIXED_POINT_SHARE 1.0

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

/*
 * A queue's record learns how wrong the estimates were only when their
 * tickets are called, a whole wait later: in a peak that rises faster
 * than the model expects, an hour late. The tickets still waiting say
 * it sooner: what each was told at issue against what it now looks
 * like to wait. Their ratios join the record's for the point estimate
 * (the newest REV_MAX of them, as many as the record holds): a rising
 * peak shows in them as it rises, a falling one too.
 */
#define REV_MAX CAL_QUEUE_SAMPLES

static void queue_mix(const struct office *o, struct queue *q)
{
	float v[CAL_QUEUE_SAMPLES + REV_MAX];
	const struct calib *c = &q->cal;
	int n = 0, revs = 0, stop = q->waiting.n - 4 * REV_MAX;

	q->est_cal_mixed = false;
	if (!c->ready)
		return;
	for (int i = 0; i < c->n && i < CAL_QUEUE_SAMPLES; i++)
		v[n++] = c->r[i];
	/* Not the whole of a long queue: its newest are past what a run
	 * plays, and would be looked at on every run for nothing. */
	for (int k = q->waiting.n - 1; k >= 0 && k >= stop && revs < REV_MAX; k--) {
		const struct ticket *t = q->waiting.v[k];

		if (!t->told_known || !t->est_known || t->est_run != o->est_run)
			continue;
		/* Its wait so far, and the rest as the run says, corrected by
		 * the record as a new ticket's would be: a queue whose model is
		 * steadily low shows that in its record, not in the tickets
		 * just issued, whose error is still to come. */
		double waited = (double)(o->est_now - t->issued_at);
		double rest = (double)(t->est_call_at - o->est_now) * exp(c->mid);

		v[n++] = (float)log(
			(waited + rest + CAL_MARGIN_US) / ((double)t->told_raw_us + CAL_MARGIN_US));
		revs++;
	}
	if (!revs)
		return;
	qsort(v, (size_t)n, sizeof *v, cmp_float);
	q->est_cal_mid = v[n / 2];
	if (q->est_cal_mid > CAL_LIMIT)
		q->est_cal_mid = CAL_LIMIT;
	if (q->est_cal_mid < -CAL_LIMIT)
		q->est_cal_mid = -CAL_LIMIT;
	q->est_cal_mixed = true;
}

static void queues_mix(struct office *o)
{
	for (int i = 0; i < o->nqueues; i++)
		queue_mix(o, o->queues[i]);
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
		bool mixed = q && c == &q->cal && q->est_cal_mixed;
		double point = mixed ? CAL_MIXED_POINT_SHARE * q->est_cal_mid
				     : CAL_POINT_SHARE * c->mid;

		*mid = base * exp(point) - CAL_MARGIN_US;
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
	bool found = forecast(o, t, &call_at, &sd, &known);

	if (!found && o->est_counter_opened) {
		/* Throttled, and nothing to extrapolate from, where a counter
		 * opened since (perhaps the queue's first): what a receipt
		 * prints is worth a run. Not otherwise: a queue nobody serves,
		 * or one longer than a run plays, stays unknown after one. */
		run(e, o, e->last_now);
		found = forecast(o, t, &call_at, &sd, &known);
	}
	if (!found || !known)
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
