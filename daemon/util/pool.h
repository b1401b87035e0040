/*
 * pool: free lists for the small fixed-size records that every request
 * makes and drops again (reply slots, pending answers, changes). A record
 * put back goes on its pool's list and the next request takes it from
 * there instead of from malloc. At most `keep` records wait on a list, so
 * a burst does not hold its memory for ever.
 *
 * Single-threaded, like the rest of the daemon. Under AddressSanitizer
 * every get is a calloc and every put a free, so that a use after put is
 * still caught.
 */
#ifndef KOLAPP_POOL_H
#define KOLAPP_POOL_H

#include <stddef.h>

struct pool {
	size_t size;
	unsigned keep;
	unsigned nfree;
	void *free; /* first free record; each holds the next */
};

#define POOL_INIT(type, keep_) \
	{ \
		sizeof(type), (keep_), 0, NULL \
	}

/* A zeroed record; aborts when out of memory, like the daemon's xcalloc. */
void *pool_get(struct pool *p);
/* Gives a record from pool_get back (NULL is ignored). */
void pool_put(struct pool *p, void *obj);
/* Frees what waits on the list (at exit). */
void pool_drain(struct pool *p);

#endif
