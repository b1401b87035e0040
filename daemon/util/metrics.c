#include "daemon/util/metrics.h"

/* Finer around the 20 ms the request latency is held to. */
const double metrics_latency_bounds[METRICS_NLAT] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03,
	0.05,   0.075, 0.1,   0.15,  0.25, 0.5,   1,    2.5,
};
const double metrics_size_bounds[METRICS_NSIZE] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };

static struct metrics m;

void metrics_request(int op, enum proto_err outcome)
{
	if (op < 0 || op >= OP__COUNT)
		op = OP__COUNT;
	if ((unsigned)outcome < METRICS_NERRS)
		m.requests[op][outcome]++;
}

static void observe(struct metrics_hist *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

void metrics_commit(double seconds, int statements, int ok)
{
	if (!ok)
		m.commits_failed++;
	observe(&m.commit_seconds, metrics_latency_bounds, METRICS_NLAT, seconds);
	observe(&m.commit_size, metrics_size_bounds, METRICS_NSIZE, statements);
}

void metrics_write_queued(double seconds)
{
	observe(&m.write_queued_seconds, metrics_latency_bounds, METRICS_NLAT, seconds);
}

void metrics_request_done(double seconds)
{
	observe(&m.request_seconds, metrics_latency_bounds, METRICS_NLAT, seconds);
}

void metrics_estimate_run(double seconds)
{
	m.estimate_runs++;
	m.estimate_seconds += seconds;
}

void metrics_estimate_throttled(void)
{
	m.estimate_throttled++;
}

void metrics_db_connected(void)
{
	m.db_connects++;
}

const struct metrics *metrics_get(void)
{
	return &m;
}

double metrics_seconds_since(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}
