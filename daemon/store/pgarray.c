#include "daemon/store/pgarray.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

char *pgarray_literal(const char *const *elems, int n)
{
	struct strbuf b = { 0 };

	sb_put(&b, "{", 1);
	for (int k = 0; k < n; k++) {
		const char *v = elems[k];

		if (k)
			sb_put(&b, ",", 1);
		if (!v) {
			sb_put(&b, "NULL", 4);
			continue;
		}
		sb_put(&b, "\"", 1);
		for (const char *p = v; *p; p++) {
			size_t plain = strcspn(p, "\"\\");
			sb_put(&b, p, plain);
			p += plain;
			if (!*p)
				break;
			sb_put(&b, "\\", 1);
			sb_put(&b, p, 1);
		}
		sb_put(&b, "\"", 1);
	}
	sb_put(&b, "}", 1);
	return b.s;
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
