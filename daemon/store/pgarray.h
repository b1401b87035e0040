/*
 * pgarray: PostgreSQL array literals, for sending a run of one statement
 * as one execution with an array per parameter, and for reading integer
 * arrays back. No I/O.
 */
#ifndef KOLAPP_PGARRAY_H
#define KOLAPP_PGARRAY_H

#include <stdint.h>

/* The text array literal of n elements ("{...}"), NULL elements as SQL
 * NULL, every other one quoted with '"' and '\' escaped so that any text
 * survives (commas, braces, blanks, the word NULL). Malloc'd; the caller
 * frees it. Aborts when memory runs out. */
char *pgarray_literal(const char *const *elems, int n);
/* The array literal of n integers ("{1,2,3}"): exactly one of ints and
 * longs is non-NULL. Malloc'd; the caller frees it. */
char *pgarray_int_literal(const int *ints, const int64_t *longs, int n);
/* The integers of a one-dimensional bigint[] in text form ("{1,-2,3}",
 * "{}"), into *out (malloc'd, the caller frees; NULL when empty). Returns
 * their number, or -1 (and *out NULL) for anything else: NULL elements,
 * nesting, text. */
int pgarray_parse_int64(const char *lit, int64_t **out);

#endif
