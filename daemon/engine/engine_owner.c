/*
 * engine_owner: which offices this daemon serves when several daemons
 * share a database. Kept apart from the offices themselves, because a
 * load rebuilds those and ownership must survive it: a table of every
 * office's owner, sorted by office id, that daemon/store/own.c fills.
 */
#include "daemon/engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

struct owner_entry {
	int office_id;
	int64_t epoch; /* > 0: this daemon's */
	char *addr, *http;
};

static struct owner_entry *find_entry(const struct engine *e, int office_id)
{
	int lo = 0, hi = e->nowners - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (e->owners[mid].office_id == office_id)
			return &e->owners[mid];
		if (e->owners[mid].office_id < office_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static struct owner_entry *add_entry(struct engine *e, int office_id)
{
	int at = 0;

	while (at < e->nowners && e->owners[at].office_id < office_id)
		at++;
	if (e->nowners == e->capowners) {
		e->capowners = e->capowners ? e->capowners * 2 : 16;
		e->owners = xrealloc(e->owners, (size_t)e->capowners * sizeof *e->owners);
	}
	memmove(&e->owners[at + 1], &e->owners[at], (size_t)(e->nowners - at) * sizeof *e->owners);
	e->nowners++;
	memset(&e->owners[at], 0, sizeof e->owners[at]);
	e->owners[at].office_id = office_id;
	return &e->owners[at];
}

void engine_ownership_on(struct engine *e)
{
	e->ownership = true;
	for (int i = 0; i < e->noffices; i++)
		engine_apply_owner(e, e->offices[i]);
}

bool engine_ownership_is_on(const struct engine *e)
{
	return e->ownership;
}

static void set_str(char **dst, const char *src)
{
	if (*dst && src && !strcmp(*dst, src))
		return;
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

bool engine_set_owner(struct engine *e, int office_id, const char *office_code, int64_t epoch,
		      const char *addr, const char *http)
{
	struct owner_entry *en = find_entry(e, office_id);
	struct office *o = engine_office(e, office_id);
	int64_t before;

	(void)office_code;
	if (!en)
		en = add_entry(e, office_id);
	before = en->epoch;
	en->epoch = epoch > 0 ? epoch : 0;
	set_str(&en->addr, epoch > 0 ? NULL : addr);
	set_str(&en->http, epoch > 0 ? NULL : http);
	if (o) {
		engine_apply_owner(e, o);
		if (before != en->epoch)
			o->gen++;
	}
	return before != en->epoch;
}

void engine_apply_owner(const struct engine *e, struct office *o)
{
	const struct owner_entry *en;

	if (!e->ownership) {
		o->epoch = 1;
		return;
	}
	en = find_entry(e, o->id);
	o->epoch = en ? en->epoch : 0;
}

enum engine_owner engine_owner_of(const struct engine *e, const char *office_code,
				  const char **addr, const char **http)
{
	int id = engine_office_id(e, office_code);
	const struct owner_entry *en;

	*addr = *http = NULL;
	if (!id)
		return OWNER_UNKNOWN_OFFICE;
	if (!e->ownership)
		return OWNER_MINE;
	en = find_entry(e, id);
	if (!en)
		return OWNER_NOBODY;
	if (en->epoch > 0)
		return OWNER_MINE;
	if (!en->addr)
		return OWNER_NOBODY;
	*addr = en->addr;
	*http = en->http;
	return OWNER_ELSEWHERE;
}

int64_t engine_office_epoch(const struct engine *e, int office_id)
{
	const struct owner_entry *en;

	if (!e->ownership)
		return 0;
	en = find_entry(e, office_id);
	return en ? en->epoch : 0;
}

void engine_set_nodes(struct engine *e, const char *self_name, const char *const *http, int n)
{
	set_str(&e->node_name, self_name);
	for (int i = 0; i < e->nnodes_http; i++)
		free(e->nodes_http[i]);
	free(e->nodes_http);
	e->nodes_http = n ? xcalloc((size_t)n, sizeof *e->nodes_http) : NULL;
	for (int i = 0; i < n; i++)
		e->nodes_http[i] = xstrdup(http[i]);
	e->nnodes_http = n;
}

const char *engine_node_name(const struct engine *e)
{
	return e->node_name;
}

const char *const *engine_nodes_http(const struct engine *e, int *n)
{
	*n = e->nnodes_http;
	return (const char *const *)e->nodes_http;
}

void engine_owners_free(struct engine *e)
{
	for (int i = 0; i < e->nowners; i++) {
		free(e->owners[i].addr);
		free(e->owners[i].http);
	}
	free(e->owners);
	e->owners = NULL;
	e->nowners = e->capowners = 0;
	engine_set_nodes(e, NULL, NULL, 0);
}
