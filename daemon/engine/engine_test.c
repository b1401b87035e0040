/*
 * The engine's unit-test construction: offices, queues, counters and
 * bookings built in memory without a store, for tests/unit and the
 * request fuzzer (declared in engine.h). Kept apart from engine.c so that
 * the engine's own model and write-through read without them.
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/tzday.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int engine_test_add_office(struct engine *e, int id, const char *code, const char *tz)
{
	struct office *o = xcalloc(1, sizeof *o);

	o->id = id;
	engine_apply_owner(e, o);
	o->code = xstrdup(code);
	o->name = xstrdup(code);
	o->tz = xstrdup(tz);
	o->checkin_before_s = 1800; /* the database's defaults */
	o->checkin_after_s = 600;
	if (tzday_compute(tz, engine_now(e), &o->day, &o->day_end) < 0) {
		office_free(o);
		return -1;
	}
	e->offices = xrealloc(e->offices, (size_t)(e->noffices + 1) * sizeof *e->offices);
	e->offices[e->noffices++] = o;
	return 0;
}

int engine_test_add_booking(struct engine *e, int office_id, const char *code, const char *queue,
			    int64_t starts_at_us, int minutes)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, queue) : NULL;
	struct store_booking row = { .office_id = office_id,
				     .queue_id = q ? q->id : 0,
				     .code = code,
				     .starts_at = starts_at_us,
				     .minutes = minutes,
				     .state = "booked" };
	return q ? office_add_booking_row(o, &row) : -1;
}

int engine_test_set_checkin_window(struct engine *e, int office_id, int before_s, int after_s)
{
	struct office *o = engine_office(e, office_id);

	if (!o)
		return -1;
	o->checkin_before_s = before_s;
	o->checkin_after_s = after_s;
	return 0;
}

int engine_test_add_queue(struct engine *e, int office_id, int id, const char *code,
			  const char *name)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q;

	e->gen++;
	if (!o)
		return -1;
	q = xcalloc(1, sizeof *q);
	q->id = id;
	snprintf(q->code, sizeof q->code, "%s", code);
	q->name = xstrdup(name);
	q->open = q->active = q->took_tickets = true;
	queue_policy_default(&q->policy);
	o->queues = xrealloc(o->queues, (size_t)(o->nqueues + 1) * sizeof *o->queues);
	o->queues[o->nqueues++] = q;
	return 0;
}

int engine_test_add_counter(struct engine *e, int office_id, int id, const char *name,
			    const int *queue_ids, const int *ranks, int nqueues, bool open)
{
	struct office *o = engine_office(e, office_id);
	struct counter *c;

	e->gen++;
	if (!o)
		return -1;
	c = xcalloc(1, sizeof *c);
	c->id = id;
	c->name = xstrdup(name);
	c->open = open;
	c->active = true;
	c->queues = xcalloc((size_t)nqueues, sizeof *c->queues);
	for (int i = 0; i < nqueues; i++) {
		c->queues[i].queue = office_queue_by_id(o, queue_ids[i]);
		c->queues[i].rank = ranks[i];
		c->queues[i].weight = 1;
		if (!c->queues[i].queue) {
			free(c->queues);
			free(c->name);
			free(c);
			return -1;
		}
	}
	c->nqueues = nqueues;
	o->counters = xrealloc(o->counters, (size_t)(o->ncounters + 1) * sizeof *o->counters);
	o->counters[o->ncounters++] = c;
	return 0;
}

void engine_test_set_queue_open(struct engine *e, int office_id, const char *code, bool open)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, code) : NULL;

	e->gen++;
	if (q) {
		q->open = open;
		q->took_tickets = queue_takes_tickets(q, engine_now(e));
	}
}

int engine_test_set_queue_policy(struct engine *e, int office_id, const char *code, int min_calls,
				 int no_show_after_s, int reactivate_within_s, bool require_outcome,
				 bool allow_priority)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, code) : NULL;

	e->gen++;
	if (!q)
		return -1;
	q->policy = (struct queue_policy){ min_calls, no_show_after_s, reactivate_within_s,
					   require_outcome, allow_priority };
	return 0;
}

int engine_test_add_outcome(struct engine *e, int office_id, const char *queue, const char *code,
			    const char *name)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, queue) : NULL;

	if (!q)
		return -1;
	q->outcomes = xrealloc(q->outcomes, (size_t)(q->noutcomes + 1) * sizeof *q->outcomes);
	q->outcomes[q->noutcomes++] = (struct outcome){ xstrdup(code), xstrdup(name) };
	return 0;
}

int engine_test_set_weight(struct engine *e, int office_id, const char *counter, const char *queue,
			   int weight)
{
	struct office *o = engine_office(e, office_id);
	struct counter *c = o ? office_counter(o, counter) : NULL;

	for (int i = 0; c && i < c->nqueues; i++)
		if (!strcmp(c->queues[i].queue->code, queue)) {
			c->queues[i].weight = weight;
			return 0;
		}
	return -1;
}

/* p (NULL: no such counter or queue) takes the hours; -1 when bad. */
static int set_plan(struct engine *e, struct plan *p, const int64_t *hours, int n)
{
	struct store_plan row = { .planned = hours != NULL, .hours = hours, .nhours = n };

	if (!p || n < 0 || n % 2 || (!hours && n))
		return -1;
	e->gen++;
	plan_take(p, &row);
	return 0;
}

int engine_test_set_counter_hours(struct engine *e, int office_id, const char *counter,
				  const int64_t *hours, int n)
{
	struct office *o = engine_office(e, office_id);
	struct counter *c = o ? office_counter(o, counter) : NULL;

	return set_plan(e, c ? &c->plan : NULL, hours, n);
}

int engine_test_set_queue_hours(struct engine *e, int office_id, const char *code,
				const int64_t *hours, int n)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, code) : NULL;

	return set_plan(e, q ? &q->plan : NULL, hours, n);
}

int engine_test_set_arrivals(struct engine *e, int office_id, const char *code, const int *week,
			     const int64_t *at, int n)
{
	struct office *o = engine_office(e, office_id);
	struct queue *q = o ? office_queue(o, code) : NULL;
	struct store_arrival *rows;

	if (!q)
		return -1;
	rows = xcalloc((size_t)n + 1, sizeof *rows);
	for (int i = 0; i < n; i++)
		rows[i] = (struct store_arrival){ q->id, week[i], at[i] };
	engine_take_arrivals(e, rows, n);
	free(rows);
	return 0;
}

void engine_test_set_estimator_budget(struct engine *e, bool busy, bool spent)
{
	e->est_force_budget = spent ? EST_SPENT : busy ? EST_BUSY : EST_FREE;
}
