/*
 * Planned hours: copying them from the store's rows, and asking them
 * whether a time is within them.
 */
#include "daemon/engine/plan.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/engine/store.h"
#include "daemon/util/xalloc.h"

bool plan_take(struct plan *p, const struct store_plan *row)
{
	bool changed = p->planned != row->planned || p->nhours != row->nhours ||
		       (row->nhours &&
			memcmp(p->hours, row->hours, (size_t)row->nhours * sizeof *row->hours));

	if (!changed)
		return false;
	plan_free(p);
	p->planned = row->planned;
	if (row->nhours > 0) {
		p->hours = xmalloc((size_t)row->nhours * sizeof *p->hours);
		memcpy(p->hours, row->hours, (size_t)row->nhours * sizeof *p->hours);
		p->nhours = row->nhours;
	}
	return true;
}

void plan_free(struct plan *p)
{
	free(p->hours);
	*p = (struct plan){ 0 };
}

bool plan_covers(const struct plan *p, int64_t at)
{
	if (!p->planned)
		return true;
	for (int i = 0; i + 1 < p->nhours; i += 2)
		if (p->hours[i] <= at && at < p->hours[i + 1])
			return true;
	return false;
}

int64_t plan_next_change(const struct plan *p, int64_t at)
{
	if (!p->planned)
		return INT64_MAX;
	for (int i = 0; i < p->nhours; i++)
		if (p->hours[i] > at)
			return p->hours[i];
	return INT64_MAX;
}
