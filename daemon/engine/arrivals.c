/*
 * The earlier weeks' arrivals as a forecast of today's (arrivals.h).
 *
 * Today's own pace (the estimator's look-back) says how busy today is;
 * the earlier weeks say how that pace changes from now on. Today's
 * arrivals over the look-back, against the earlier weeks' over the same
 * minutes, give how much busier today is (its ratio, shrunk towards 1 by
 * SHRINK arrivals either side and kept within RATIO_MIN..RATIO_MAX); the
 * newcomers then come where the earlier weeks' points after now are, one
 * for every weeks / ratio of them. With few arrivals on either side (the
 * opening), the ratio is about 1: the weeks' own pace.
 */
#include "daemon/engine/arrivals.h"

#include "daemon/util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Today has had its own pace (at least SEEN_MIN arrivals) and the weeks
 * fewer than PAST_MIN over the same minutes: they say nothing about
 * today at this hour (a queue new, or closed then). */
#define SEEN_MIN 3
#define PAST_MIN 3
#define SHRINK 3.0
#define RATIO_MIN (1.0 / 3)
#define RATIO_MAX 3.0

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void arrival_history_set(struct arrival_history *h, int32_t day, int weeks, const int64_t *at,
			 int n)
{
	if (n > ARRIVAL_HISTORY_MAX)
		n = ARRIVAL_HISTORY_MAX;
	free(h->at);
	*h = (struct arrival_history){ .weeks = weeks, .day = day };
	if (n <= 0)
		return;
	h->at = xmalloc((size_t)n * sizeof *h->at);
	memcpy(h->at, at, (size_t)n * sizeof *h->at);
	h->n = n;
	qsort(h->at, (size_t)n, sizeof *h->at, cmp_i64);
}

void arrival_history_free(struct arrival_history *h)
{
	free(h->at);
	*h = (struct arrival_history){ 0 };
}

/* The first point at or after t. */
static int first_from(const struct arrival_history *h, int64_t t)
{
	int lo = 0, hi = h->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (h->at[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool arrival_forecast_make(const struct arrival_history *h, int32_t day, int64_t now, int64_t back,
			   int seen, struct arrival_forecast *f)
{
	*f = (struct arrival_forecast){ 0 };
	if (!h->n || h->weeks < 1 || h->day != day || back <= 0 || seen < 0)
		return false;
	int from = first_from(h, now - back), upto = first_from(h, now);

	if ((seen >= SEEN_MIN && upto - from < PAST_MIN) || upto == h->n)
		return false;
	double per_week = (double)(upto - from) / h->weeks;
	double ratio = (seen + SHRINK) / (per_week + SHRINK);

	ratio = ratio < RATIO_MIN ? RATIO_MIN : ratio > RATIO_MAX ? RATIO_MAX : ratio;
	f->at = h->at + upto;
	f->n = h->n - upto;
	f->stride = h->weeks / ratio;
	return true;
}

int64_t arrival_forecast_at(const struct arrival_forecast *f, int k)
{
	double j = ceil((k + 1) * f->stride) - 1;

	if (!f->at || j >= f->n)
		return INT64_MAX;
	return f->at[j < 0 ? 0 : (int)j];
}
