/*
 * metrics: process-wide tallies for GET /metrics. A leaf: the modules
 * that count (session, server, pgw) call in, and the HTTP side reads the
 * tallies to render them (daemon/http/http_metrics.c). The daemon is
 * single-threaded, so plain integers suffice.
 */
#ifndef KOLAPP_METRICS_H
#define KOLAPP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "proto/proto.h"

#define METRICS_NOPS (OP__COUNT + 1) /* + undecodable */
#define METRICS_NERRS (PERR_INTERNAL + 1)
#define METRICS_NLAT 16
#define METRICS_NSIZE 11
#define METRICS_NMAX 16 /* the most bounds a histogram has */

struct metrics_hist {
	uint64_t buckets[METRICS_NMAX + 1], count; /* the last bucket: above every bound */
	double sum;
};

struct metrics {
	uint64_t requests[METRICS_NOPS][METRICS_NERRS];
	struct metrics_hist commit_seconds; /* a write batch's send to its commit */
	struct metrics_hist commit_size;    /* statements a batch */
	/* Where a request's time goes (the tail latency's breakdown): a
	 * batch's wait in kolappd before it is sent, and a TCP request's
	 * whole time in kolappd, its line read to its reply written. */
	struct metrics_hist write_queued_seconds;
	struct metrics_hist request_seconds;
	uint64_t commits_failed;
	uint64_t db_connects;
	/* the waiting-time estimator: full runs and their time, and changes
	 * answered from an earlier run (over its share, estimate_share) */
	uint64_t estimate_runs, estimate_throttled;
	double estimate_seconds;
};

/* Upper bounds of the histograms' buckets (seconds; statements). */
extern const double metrics_latency_bounds[METRICS_NLAT];
extern const double metrics_size_bounds[METRICS_NSIZE];

/* One answered request (op may be -1 when it could not be decoded). */
void metrics_request(int op, enum proto_err outcome);
/* One write batch committed or failed: its latency and size. */
void metrics_commit(double seconds, int statements, int ok);
/* One write batch sent, seconds after its first write was queued. */
void metrics_write_queued(double seconds);
/* One TCP request answered, seconds after its line was read. */
void metrics_request_done(double seconds);
void metrics_db_connected(void);
/* One run of the estimator, seconds long; one change it left to the last. */
void metrics_estimate_run(double seconds);
void metrics_estimate_throttled(void);
/* The tallies so far. */
const struct metrics *metrics_get(void);

/* Seconds from since to now (CLOCK_MONOTONIC). */
double metrics_seconds_since(const struct timespec *since);

#endif
