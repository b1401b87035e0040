/*
 * arrivals: when visitors came on the same weekday of earlier weeks, and
 * what that says of the visitors still to come today (estimate.c). Owns
 * each queue's arrival history, a sorted array of the earlier weeks'
 * ticket times moved onto today (a ticket taken at 10:42 four weeks ago
 * is a point at 10:42 today). Pure: no I/O; the engine's load fills it.
 */
#ifndef KOLAPP_ARRIVALS_H
#define KOLAPP_ARRIVALS_H

#include <stdbool.h>
#include <stdint.h>

/* At most this many points a queue (a read's rows beyond them are dropped). */
#define ARRIVAL_HISTORY_MAX 16384

struct arrival_history {
	int64_t *at; /* us, sorted */
	int n;
	int weeks;   /* the weeks they come from (the office had tickets) */
	int32_t day; /* the business day they were moved onto */
};

/* Replaces h's points with a copy of at (any order), moved onto day. */
void arrival_history_set(struct arrival_history *h, int32_t day, int weeks, const int64_t *at,
			 int n);
void arrival_history_free(struct arrival_history *h);

/* The newcomers the earlier weeks expect after now: their points after
 * now, every stride-th of them (the weeks, over how much busier today
 * has been than they were), so that a quiet noon after a busy morning is
 * expected quiet, and a peak is expected before it comes. */
struct arrival_forecast {
	const int64_t *at; /* points into the history; NULL: no forecast */
	int n;
	double stride;
};

/* A forecast for day at now, from today's `seen` arrivals over the
 * `back` us before now (none or few: the weeks' own pace); false (f->at
 * NULL) when the history does not cover today around now well enough
 * to say anything. */
bool arrival_forecast_make(const struct arrival_history *h, int32_t day, int64_t now, int64_t back,
			   int seen, struct arrival_forecast *f);
/* When newcomer k (from 0) is expected; INT64_MAX: none that far. */
int64_t arrival_forecast_at(const struct arrival_forecast *f, int k);

#endif
