#include "daemon/util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void xoom(const char *what)
{
	/* No allocation here: the log module may need memory. */
	static const char msg[] = "kolappd: out of memory: ";
	ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);

	w = write(STDERR_FILENO, what, strlen(what));
	w = write(STDERR_FILENO, "\n", 1);
	(void)w;
	abort();
}

void *xmalloc(size_t sz)
{
	void *p = malloc(sz ? sz : 1);

	if (!p)
		xoom("malloc");
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		xoom("calloc");
	return p;
}

void *xrealloc(void *p, size_t sz)
{
	void *q = realloc(p, sz ? sz : 1);

	if (!q)
		xoom("realloc");
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		xoom("strdup");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		xoom("asprintf");
	return s;
}

void *xgrow(void *arr, int *cap, int need, size_t sz)
{
	int ncap;

	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	arr = xrealloc(arr, (size_t)ncap * sz);
	memset((char *)arr + (size_t)*cap * sz, 0, (size_t)(ncap - *cap) * sz);
	*cap = ncap;
	return arr;
}
