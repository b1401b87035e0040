#include "daemon/util/pool.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* POOL_ALWAYS: the unit test keeps the lists even under the sanitizer. */
#if !defined(POOL_ALWAYS)
#if defined(__SANITIZE_ADDRESS__)
#define POOL_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_PASSTHROUGH 1
#endif
#endif
#endif

void *pool_get(struct pool *p)
{
	void *obj = p->free;

#ifndef POOL_PASSTHROUGH
	if (obj) {
		memcpy(&p->free, obj, sizeof p->free);
		p->nfree--;
		memset(obj, 0, p->size);
		return obj;
	}
#endif
	/* A record must hold the list's link when free. */
	obj = xcalloc(1, p->size > sizeof(void *) ? p->size : sizeof(void *));
	return obj;
}

void pool_put(struct pool *p, void *obj)
{
	if (!obj)
		return;
#ifndef POOL_PASSTHROUGH
	if (p->nfree < p->keep) {
		memcpy(obj, &p->free, sizeof p->free);
		p->free = obj;
		p->nfree++;
		return;
	}
#endif
	free(obj);
}

void pool_drain(struct pool *p)
{
	while (p->free) {
		void *obj = p->free;
		memcpy(&p->free, obj, sizeof p->free);
		free(obj);
	}
	p->nfree = 0;
}
