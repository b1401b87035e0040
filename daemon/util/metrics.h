/*
 * metrics: counters and histograms for GET /metrics (Prometheus text
 * format). Owns process-wide tallies; the daemon is single-threaded,
 * so plain integers suffice.
 */
#ifndef KOLAPP_METRICS_H
#define KOLAPP_METRICS_H

#include <stdint.h>
#include <event2/buffer.h>
#include "proto/proto.h"

struct server;
struct engine;

/* One answered request (op may be -1 when it could not be decoded). */
void metrics_request(int op, enum proto_err outcome);
/* One write batch committed or failed: its latency and size. */
void metrics_commit(double seconds, int statements, int ok);
void metrics_db_connected(void);

/* Appends the whole exposition to out. */
void metrics_render(struct evbuffer *out, const struct server *srv, const struct engine *e);

#endif
