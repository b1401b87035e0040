/*
 * rate: the request rate limit's token bucket, one rule for every place
 * that limits requests (a TCP connection, an HTTP client's address).
 */
#ifndef KOLAPP_RATE_H
#define KOLAPP_RATE_H

#include <stdbool.h>
#include <stdint.h>

struct rate_bucket {
	double budget; /* requests that may come now */
	int64_t at_us; /* when budget was last brought up to date */
};

/* A bucket that allows a full burst from now_us on. */
void rate_init(struct rate_bucket *b, int rate, int64_t now_us);
/* Takes one request at now_us (microseconds, any monotonic origin) from
 * a budget refilled at `rate` a second; false when spent. rate <= 0: no
 * limit. */
bool rate_take(struct rate_bucket *b, int rate, int64_t now_us);

#endif
