/*
 * plan: planned hours, internal to the engine. A counter's hours (sql/015) and a queue's ticket hours (sql/016) as
 * the daemon holds them: the intervals of the office's today and
 * tomorrow, read again on each configuration reload and at the day's
 * change. A plan owns its array.
 */
#ifndef KOLAPP_PLAN_H
#define KOLAPP_PLAN_H

#include <stdbool.h>
#include <stdint.h>

struct store_plan;

/* nhours/2 intervals [from, until) in us since the epoch, by time;
 * planned false: no plan (always); planned with none: never. */
struct plan {
	int64_t *hours;
	int nhours;
	bool planned;
};

/* Copies the row's intervals into p; true when they changed. */
bool plan_take(struct plan *p, const struct store_plan *row);
void plan_free(struct plan *p);

/* Whether at falls within the plan (always when there is none). */
bool plan_covers(const struct plan *p, int64_t at);

/* The first time after at where plan_covers changes; INT64_MAX when it
 * never does within what the plan holds. */
int64_t plan_next_change(const struct plan *p, int64_t at);

#endif
