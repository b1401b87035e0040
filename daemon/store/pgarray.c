#include "daemon/store/pgarray.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The literal's length without its NUL: measured first so that it is built
 * in one allocation, since growing it by realloc made the allocator
 * consolidate its free lists on every batch (perf, issue 17). */
static size_t literal_len(const char *const *elems, int n)
{
	size_t len = 2 + (n > 1 ? (size_t)n - 1 : 0);

	for (int k = 0; k < n; k++) {
		const char *v = elems[k];

		if (!v) {
			len += 4;
			continue;
		}
		len += 2;
		for (const char *p = v; *p; p++)
			len += (*p == '"' || *p == '\\') ? 2 : 1;
	}
	return len;
}

char *pgarray_literal(const char *const *elems, int n)
{
	size_t len = literal_len(elems, n);
	char *s = xmalloc(len + 1), *at = s;

	*at++ = '{';
	for (int k = 0; k < n; k++) {
		const char *v = elems[k];

		if (k)
			*at++ = ',';
		if (!v) {
			memcpy(at, "NULL", 4);
			at += 4;
			continue;
		}
		*at++ = '"';
		for (const char *p = v; *p; p++) {
			if (*p == '"' || *p == '\\')
				*at++ = '\\';
			*at++ = *p;
		}
		*at++ = '"';
	}
	*at++ = '}';
	*at = '\0';
	return s;
}

char *pgarray_int_literal(const int *ints, const int64_t *longs, int n)
{
	size_t cap = (size_t)n * 21 + 3, at = 0;
	char *s = xmalloc(cap);

	s[at++] = '{';
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(s + at, cap - at, "%s%lld", i ? "," : "",
				       ints ? (long long)ints[i] : (long long)longs[i]);
	s[at++] = '}';
	s[at] = '\0';
	return s;
}

int pgarray_parse_int64(const char *lit, int64_t **out)
{
	const char *p = lit;
	int64_t *v = NULL;
	int cap = 0, n = 0;

	*out = NULL;
	if (!p || *p++ != '{')
		return -1;
	if (*p == '}' && !p[1])
		return 0;
	for (;;) {
		char *end;
		long long x;

		if (!(*p == '-' || (*p >= '0' && *p <= '9')))
			goto bad;
		errno = 0;
		x = strtoll(p, &end, 10);
		if (errno || end == p)
			goto bad;
		v = xgrow(v, &cap, n + 1, sizeof *v);
		v[n++] = x;
		p = end;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '}' && !p[1])
			break;
		goto bad;
	}
	*out = v;
	return n;
bad:
	free(v);
	return -1;
}
