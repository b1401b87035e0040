/* hist: see hist.h. */
#include "tests/bench/hist.h"

#include <string.h>

#define SUB (1u << HIST_SUB_BITS)

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof *h);
}

/* Values below 2*SUB get a bucket each; above, the top HIST_SUB_BITS+1
 * bits select the bucket, so the width is value/SUB at worst. */
static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return 2 * SUB + (shift - 1) * SUB + (unsigned)((v >> shift) - SUB);
}

static uint64_t bucket_high(unsigned b)
{
	unsigned shift;
	uint64_t mant;

	if (b < 2 * SUB)
		return b;
	shift = (b - 2 * SUB) / SUB + 1;
	mant = SUB + (b - 2 * SUB) % SUB;
	return ((mant + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t us)
{
	if (us > HIST_MAX_US) {
		h->overflow++;
		us = HIST_MAX_US;
	}
	h->counts[bucket_of(us)]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t hist_quantile(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned b;

	if (!h->count)
		return 0;
	if (p >= 1.0)
		return h->max_us;
	want = (uint64_t)(p * (double)h->count);
	if ((double)want < p * (double)h->count)
		want++;
	if (want == 0)
		want = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= want) {
			uint64_t hi = bucket_high(b);

			return hi < h->max_us ? hi : h->max_us;
		}
	}
	return h->max_us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	unsigned b;

	for (b = 0; b < HIST_BUCKETS; b++)
		into->counts[b] += from->counts[b];
	into->count += from->count;
	into->overflow += from->overflow;
	if (from->max_us > into->max_us)
		into->max_us = from->max_us;
}
