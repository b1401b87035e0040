/*
 * xalloc: the daemon's one policy for running out of memory. A promise
 * to a client cannot be kept half way and no error path could free
 * enough to go on, so each of these logs and aborts instead of returning
 * NULL; systemd restarts the daemon and it reloads from the database,
 * where everything acknowledged already is.
 */
#ifndef KOLAPP_XALLOC_H
#define KOLAPP_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t sz);
/* Zeroed; n == 0 still returns a unique pointer. */
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t sz);
/* strdup; NULL gives "". */
char *xstrdup(const char *s);
/* asprintf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* arr grown so that it holds need elements of sz bytes (new ones zeroed),
 * *cap updated; doubling. */
void *xgrow(void *arr, int *cap, int need, size_t sz);
/* Logs and aborts: for a library that reports failure by NULL or -1
 * (libevent, jansson) where nothing sensible can follow. */
void xoom(const char *what) __attribute__((noreturn));

#endif
