#include "daemon/util/metrics.h"

const double metrics_latency_bounds[METRICS_NLAT] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
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

static void observe(uint64_t *buckets, const double *bounds, size_t n, double v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	buckets[i]++;
}

void metrics_commit(double seconds, int statements, int ok)
{
	if (!ok)
		m.commits_failed++;
	observe(m.lat_buckets, metrics_latency_bounds, METRICS_NLAT, seconds);
	m.lat_count++;
	m.lat_sum += seconds;
	observe(m.size_buckets, metrics_size_bounds, METRICS_NSIZE, statements);
	m.size_count++;
	m.size_sum += statements;
}

void metrics_db_connected(void)
{
	m.db_connects++;
}

const struct metrics *metrics_get(void)
{
	return &m;
}
