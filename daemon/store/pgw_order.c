/* The order a write transaction's commands are sent in (see pgw_order.h). */
#include "daemon/store/pgw_order.h"
#include "daemon/util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keys to the last group holding one: open addressing, no removal. */
struct keymap {
	const char **key;
	int *group;
	size_t mask;
};

static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (size_t)h;
}

static int *keymap_slot(struct keymap *m, const char *key)
{
	size_t i = hash(key) & m->mask;

	while (m->key[i] && strcmp(m->key[i], key))
		i = (i + 1) & m->mask;
	if (!m->key[i]) {
		m->key[i] = key;
		m->group[i] = -1;
	}
	return &m->group[i];
}

void pgw_order(const struct pgw_order_cmd *cmds, int n, int *order)
{
	/* Groups as lists through next[]; a statement's latest group found
	 * by a scan of the few statements seen (stmt_of, last_of). */
	int *head = xcalloc((size_t)n + 1, sizeof *head),
	    *tail = xcalloc((size_t)n + 1, sizeof *tail);
	int *next = xcalloc((size_t)n + 1, sizeof *next),
	    *stmt_of = xcalloc((size_t)n + 1, sizeof *stmt_of);
	int *last_of = xcalloc((size_t)n + 1, sizeof *last_of);
	int ngroups = 0, nstmts = 0, barrier = -1, k = 0;
	size_t cap = 16;
	struct keymap m;

	while (cap < 2 * (size_t)n)
		cap *= 2;
	m.key = xcalloc(cap, sizeof *m.key);
	m.group = xcalloc(cap, sizeof *m.group);
	m.mask = cap - 1;
	for (int i = 0; i < n; i++) {
		const struct pgw_order_cmd *c = &cmds[i];
		int g = -1, s = -1, *key_last = NULL;

		next[i] = -1;
		if (c->key) {
			int after;

			/* the statement's latest group (stmt_of holds the first command of each) */
			for (s = 0; s < nstmts; s++)
				if (cmds[stmt_of[s]].nparams == c->nparams &&
				    !strcmp(cmds[stmt_of[s]].stmt, c->stmt))
					break;
			key_last = keymap_slot(&m, c->key);
			after = *key_last > barrier ? *key_last : barrier;
			if (s < nstmts && last_of[s] >= after)
				g = last_of[s];
			if (s == nstmts) {
				stmt_of[nstmts] = i;
				last_of[nstmts++] = -1;
			}
		}
		if (g < 0) {
			g = ngroups++;
			head[g] = tail[g] = i;
			if (!c->key)
				barrier = g;
			else
				last_of[s] = g;
		} else {
			next[tail[g]] = i;
			tail[g] = i;
		}
		if (key_last)
			*key_last = g;
	}
	for (int g = 0; g < ngroups; g++)
		for (int i = head[g]; i >= 0; i = next[i])
			order[k++] = i;
	free(m.key);
	free(m.group);
	free(head);
	free(tail);
	free(next);
	free(stmt_of);
	free(last_of);
}
