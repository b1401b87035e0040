/*
 * hist: a log-bucketed latency histogram in the manner of HdrHistogram.
 * Values are microseconds from 0 to 60 s; every bucket above 256 us is
 * at most 1/128 (< 0.8 %) of its value wide, so percentiles are exact to
 * that precision whatever the range, with fixed memory and O(1) record.
 */
#ifndef KOLAPP_BENCH_HIST_H
#define KOLAPP_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7 /* 128 sub-buckets per octave */
#define HIST_MAX_US (60ull * 1000 * 1000)
#define HIST_BUCKETS ((2u << HIST_SUB_BITS) + (20u << HIST_SUB_BITS))

struct hist {
	uint64_t count;
	uint64_t max_us;
	uint64_t overflow; /* values above HIST_MAX_US, clamped */
	uint64_t counts[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t us);
/* The highest value equivalent to the p-th quantile (0 <= p <= 1), in us:
 * conservative, like HdrHistogram's reports. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double p);
void hist_merge(struct hist *into, const struct hist *from);

#endif
