#include "daemon/util/rate.h"

/* A burst of two seconds' worth is fine; a flood is not. */
#define RATE_BURST_S 2.0

void rate_init(struct rate_bucket *b, int rate, int64_t now_us)
{
	b->budget = RATE_BURST_S * rate;
	b->at_us = now_us;
}

bool rate_take(struct rate_bucket *b, int rate, int64_t now_us)
{
	if (rate <= 0)
		return true;
	b->budget += (double)(now_us - b->at_us) / 1e6 * rate;
	b->at_us = now_us;
	if (b->budget > RATE_BURST_S * rate)
		b->budget = RATE_BURST_S * rate;
	if (b->budget < 1.0)
		return false;
	b->budget -= 1.0;
	return true;
}
