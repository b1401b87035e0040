/*
 * metrics: process-wide tallies for GET /metrics. A leaf: the modules
 * that count (session, pgw) call in, and the HTTP side reads the
 * tallies to render them (daemon/http/http_metrics.c). The daemon is
 * single-threaded, so plain integers suffice.
 */
#ifndef KOLAPP_METRICS_H
#define KOLAPP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "proto/proto.h"

#define METRICS_NOPS (OP__COUNT + 1) /* + undecodable */
#define METRICS_NERRS (PERR_INTERNAL + 1)
#define METRICS_NLAT 12
#define METRICS_NSIZE 11

struct metrics {
	uint64_t requests[METRICS_NOPS][METRICS_NERRS];
	uint64_t lat_buckets[METRICS_NLAT + 1], lat_count;
	double lat_sum;
	uint64_t size_buckets[METRICS_NSIZE + 1], size_count;
	double size_sum;
	uint64_t commits_failed;
	uint64_t db_connects;
};

/* Upper bounds of the histograms' buckets (seconds; statements). */
extern const double metrics_latency_bounds[METRICS_NLAT];
extern const double metrics_size_bounds[METRICS_NSIZE];

/* One answered request (op may be -1 when it could not be decoded). */
void metrics_request(int op, enum proto_err outcome);
/* One write batch committed or failed: its latency and size. */
void metrics_commit(double seconds, int statements, int ok);
void metrics_db_connected(void);
/* The tallies so far. */
const struct metrics *metrics_get(void);

#endif
