/*
 * Visit times: the record of each queue's last visits, no-shows and
 * outcomes (and each counter's pace) as the engine's ops and its load
 * feed it; what one visit of a queue costs a counter, learnt from them
 * (robust mean and variance); and the draws of visit times for
 * estimate.c's sampled plays.
 */
#include "daemon/engine/visit_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SAMPLES 3 /* a queue's own, else the office's pooled */
#define PACE_PRIOR 4  /* visits at the usual pace a counter's ratio starts from */
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
static void robust_stats(const int64_t *samples, int n, double *mean, double *var, double *clip_out)
{
	int64_t v[SERVICE_SAMPLES * 8];
	double sum = 0, sq = 0, clip;

	if (n > (int)(sizeof v / sizeof v[0]))
		n = (int)(sizeof v / sizeof v[0]);
	memcpy(v, samples, (size_t)n * sizeof *v);
	if (n <= SERVICE_SAMPLES) {
		/* A queue's own ring: an inline insertion sort is a third of
		 * qsort's time at this size, and this runs per recorded visit
		 * while the day's tickets load. */
		for (int i = 1; i < n; i++) {
			int64_t x = v[i];
			int j = i;

			for (; j > 0 && v[j - 1] > x; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	} else {
		qsort(v, (size_t)n, sizeof *v, cmp_i64);
	}
	clip = CLIP_MEDIANS * (n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2);
	for (int i = 0; i < n; i++)
		sum += (double)v[i] < clip ? (double)v[i] : clip;
	*mean = sum / n;
	for (int i = 0; i < n; i++) {
		double x = (double)v[i] < clip ? (double)v[i] : clip;
		sq += (x - *mean) * (x - *mean);
	}
	*var = n > 1 ? sq / (n - 1) : 0;
	if (clip_out)
		*clip_out = clip;
}

struct visit visit_of(const struct queue *q, const struct visit *pooled)
{
	struct visit v = { 0 };
	double s_mean, s_var, ns_mean = 0, ns_var = 0, p = 0;

	if (q->nservice < MIN_SAMPLES)
		return *pooled;
	robust_stats(q->service, q->nservice, &s_mean, &s_var, &v.svc_clip);
	if (q->nnoshow)
		robust_stats(q->noshow, q->nnoshow, &ns_mean, &ns_var, &v.ns_clip);
	if (q->noutcomes_seen && q->nnoshow)
		p = (double)q->noshows_seen / q->noutcomes_seen;
	v.mean_us = (1 - p) * s_mean + p * ns_mean;
	v.var_us2 = (1 - p) * s_var + p * ns_var;
	v.known = true;
	v.svc = q->service;
	v.nsvc = q->nservice;
	v.ns = q->noshow;
	v.nns = q->nnoshow;
	v.p_noshow = p;
	return v;
}

/* ---- recording: the queues' last visits, no-shows and outcomes -------- */

static void record_outcome(struct queue *q, bool noshow)
{
	if (q->noutcomes_seen == SERVICE_SAMPLES)
		q->noshows_seen -= q->outcome_was_noshow[q->outcome_pos];
	else
		q->noutcomes_seen++;
	q->outcome_was_noshow[q->outcome_pos] = noshow;
	q->noshows_seen += noshow;
	q->outcome_pos = (q->outcome_pos + 1) % SERVICE_SAMPLES;
}

static void push_service(struct queue *q, int64_t us)
{
	q->service[q->service_pos] = us;
	q->service_pos = (q->service_pos + 1) % SERVICE_SAMPLES;
	if (q->nservice < SERVICE_SAMPLES)
		q->nservice++;
}

static void push_noshow(struct queue *q, int64_t us)
{
	q->noshow[q->noshow_pos] = us;
	q->noshow_pos = (q->noshow_pos + 1) % NOSHOW_SAMPLES;
	if (q->nnoshow < NOSHOW_SAMPLES)
		q->nnoshow++;
}

void queue_record_service(struct queue *q, int64_t us)
{
	if (us <= 0)
		return;
	push_service(q, us);
	record_outcome(q, false);
}

void queue_record_noshow(struct queue *q, int64_t us)
{
	push_noshow(q, us > 0 ? us : 0);
	record_outcome(q, true);
}

/* The k-th oldest of a ring's n newest, pos being where the next goes. */
static int ring_at(int pos, int n, int k, int size)
{
	return (pos - n + k + size) % size;
}

/* Puts n earlier visits of q before the samples q has: those are copied
 * out, the earlier ones recorded, and they recorded again after them. */
static void queue_seed_one(struct queue *q, const struct store_visit *v, int n)
{
	int64_t svc[SERVICE_SAMPLES], ns[NOSHOW_SAMPLES];
	bool out[SERVICE_SAMPLES];
	int nsvc = q->nservice, nns = q->nnoshow, nout = q->noutcomes_seen;

	for (int k = 0; k < nsvc; k++)
		svc[k] = q->service[ring_at(q->service_pos, nsvc, k, SERVICE_SAMPLES)];
	for (int k = 0; k < nns; k++)
		ns[k] = q->noshow[ring_at(q->noshow_pos, nns, k, NOSHOW_SAMPLES)];
	for (int k = 0; k < nout; k++)
		out[k] = q->outcome_was_noshow[ring_at(q->outcome_pos, nout, k, SERVICE_SAMPLES)];
	q->nservice = q->service_pos = 0;
	q->nnoshow = q->noshow_pos = 0;
	q->noutcomes_seen = q->noshows_seen = q->outcome_pos = 0;
	for (int i = 0; i < n; i++) {
		if (v[i].noshow)
			queue_record_noshow(q, v[i].us);
		else
			queue_record_service(q, v[i].us);
	}
	for (int k = 0; k < nsvc; k++)
		push_service(q, svc[k]);
	for (int k = 0; k < nns; k++)
		push_noshow(q, ns[k]);
	for (int k = 0; k < nout; k++)
		record_outcome(q, out[k]);
}

void queues_seed_earlier(struct office **offs, int noff, const struct store_visit *visits, int n)
{
	for (int i = 0, j; i < n; i = j) {
		struct queue *q = NULL;

		for (j = i + 1; j < n && visits[j].queue_id == visits[i].queue_id; j++)
			;
		for (int k = 0; k < noff && !q; k++)
			q = office_queue_by_id(offs[k], visits[i].queue_id);
		if (q)
			queue_seed_one(q, visits + i, j - i);
	}
}

void counter_record_visit(struct counter *c, const struct queue *q, int64_t us)
{
	double mean, var, r;

	if (q->nservice < MIN_SAMPLES || us <= 0)
		return;
	robust_stats(q->service, q->nservice, &mean, &var, NULL);
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
double counter_pace(const struct counter *c)
{
	double sum = 0;

	if (!c->npace)
		return 1;
	for (int i = 0; i < c->npace; i++)
		sum += c->pace[i];
	return (sum + PACE_PRIOR) / (c->npace + PACE_PRIOR);
}

/* Every queue's samples together (into all, POOLED_MAX), for queues with
 * too few of their own. */
struct visit visit_pooled(const struct office *o, int64_t *all)
{
	int n = 0;
	struct visit v = { 0 };

	for (int i = 0; i < o->nqueues; i++)
		for (int k = 0; k < o->queues[i]->nservice && n < POOLED_MAX; k++)
			all[n++] = o->queues[i]->service[k];
	if (n >= MIN_SAMPLES) {
		robust_stats(all, n, &v.mean_us, &v.var_us2, &v.svc_clip);
		v.known = true;
		v.svc = all;
		v.nsvc = n;
	}
	return v;
}

/*
 * The sampled plays. A play with every visit at its mean says when the
 * counters are free on average, not when the first of them is: with two
 * busy counters the next visitor goes to whichever finishes first, on
 * average well before either's expected end. So the first SAMPLED_STEPS
 * calls are played SAMPLED_PLAYS more times with each visit drawn from
 * the queue's own samples (the visit in progress from those longer than
 * it has lasted so far), and a ticket called within every one of them is
 * told the mean of its call times.
 *
 * The draws are stratified: the j-th visit of a counter takes, across the
 * plays, evenly spaced points rotated by a hash of (counter, j), so that
 * the plays together cover the samples evenly and their mean is not off
 * by the luck of a few draws. Nothing is random: the same office state
 * gives the same estimates.
 */

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finaliser */
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* The uniforms of play k for counter i's j-th visit: the second in
 * another order of the plays (7 is prime to SAMPLED_PLAYS). */
void strat_uniforms(int k, int i, int j, double u[2])
{
	for (int d = 0; d < 2; d++) {
		uint64_t h = mix64(((uint64_t)(unsigned)i << 32) ^ ((uint64_t)(unsigned)j << 1) ^
				   (uint64_t)d);
		int slot = d ? (k * 7 + 3) % SAMPLED_PLAYS : k;
		double x = (slot + 0.5) / SAMPLED_PLAYS + (double)(h >> 11) / 9007199254740992.0;

		u[d] = x - floor(x);
	}
}

/* One visit's time at pace, drawn from v's samples by the uniforms u. */
double visit_draw(const struct visit *v, double pace, const double u[2])
{
	const int64_t *x = v->svc;
	int n = v->nsvc;
	double clip = v->svc_clip, d;

	if (!n)
		return v->mean_us * pace;
	if (v->nns && u[0] < v->p_noshow) {
		x = v->ns;
		n = v->nns;
		clip = v->ns_clip;
	}
	d = (double)x[(int)(u[1] * n)];
	return (d < clip ? d : clip) * pace;
}

/* The rest of a visit that has lasted elapsed_us: among v's samples (at
 * pace) longer than that, the mean of what they have left, or one of
 * them drawn by the uniforms u when given (no-shows only while the
 * visitor may still not come). False when every sample is shorter. */
bool visit_rest(const struct visit *v, double pace, double elapsed_us, bool may_noshow,
		const double *u, double *rest)
{
	double sum_s = 0, sum_n = 0, ws, wn;
	int cs = 0, cn = 0, pick;

	for (int i = 0; i < v->nsvc; i++) {
		double d = (v->svc[i] < v->svc_clip ? (double)v->svc[i] : v->svc_clip) * pace;

		if (d > elapsed_us) {
			sum_s += d - elapsed_us;
			cs++;
		}
	}
	for (int i = 0; may_noshow && i < v->nns; i++) {
		double d = (v->ns[i] < v->ns_clip ? (double)v->ns[i] : v->ns_clip) * pace;

		if (d > elapsed_us) {
			sum_n += d - elapsed_us;
			cn++;
		}
	}
	/* each sample's weight: its kind's share over that kind's samples */
	ws = cs ? (1 - (may_noshow ? v->p_noshow : 0)) / v->nsvc : 0;
	wn = cn ? v->p_noshow / v->nns : 0;
	if (cs * ws + cn * wn <= 0)
		return false;
	if (!u) {
		*rest = (sum_s * ws + sum_n * wn) / (cs * ws + cn * wn);
		return true;
	}
	bool noshow = u[0] * (cs * ws + cn * wn) < cn * wn;
	const int64_t *x = noshow ? v->ns : v->svc;
	int n = noshow ? v->nns : v->nsvc;
	double clip = noshow ? v->ns_clip : v->svc_clip;

	pick = (int)(u[1] * (noshow ? cn : cs));
	for (int i = 0; i < n; i++) {
		double d = (x[i] < clip ? (double)x[i] : clip) * pace;

		if (d > elapsed_us && pick-- == 0) {
			*rest = d - elapsed_us;
			return true;
		}
	}
	return false;
}
