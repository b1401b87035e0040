/*
 * Live configuration: offices, queues, counters and counter queue lists
 * changed in psql are merged into the running engine without touching
 * tickets, so nobody waiting loses their place and no write is refused.
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdlib.h>
#include <string.h>

static void set_str(char **dst, const char *v, bool *changed)
{
	if (*dst && !strcmp(*dst, v))
		return;
	free(*dst);
	*dst = xstrdup(v);
	*changed = true;
}

static struct office *merge_office(struct engine *e, const struct store_office *row)
{
	int id = row->id;
	struct office *o = engine_office(e, id);
	bool changed = false;

	if (!o) {
		o = xcalloc(1, sizeof *o);
		o->id = id;
		engine_apply_owner(e, o);
		o->tz = xstrdup(row->tz);
		if (tzday_compute(o->tz, engine_now(e), &o->day, &o->day_end) < 0)
			tzday_compute("UTC", engine_now(e), &o->day, &o->day_end);
		e->offices = xrealloc(e->offices, (size_t)(e->noffices + 1) * sizeof *e->offices);
		e->offices[e->noffices++] = o;
		log_info("office %s added", row->code);
	}
	set_str(&o->code, row->code, &changed);
	set_str(&o->name, row->name, &changed);
	o->checkin_before_s = row->checkin_before_s;
	o->checkin_after_s = row->checkin_after_s;
	office_take_key(o, row);
	return o;
}

static void merge_queue(struct engine *e, struct office *o, const struct store_queue *row,
			int64_t now)
{
	int id = row->id;
	struct queue *q = office_queue_by_id(o, id);
	bool open = row->open, active = row->active;
	bool changed = false;

	if (!q) {
		q = xcalloc(1, sizeof *q);
		q->id = id;
		q->took_tickets = true;
		o->queues = xrealloc(o->queues, (size_t)(o->nqueues + 1) * sizeof *o->queues);
		o->queues[o->nqueues++] = q;
		changed = true;
	}
	if (strcmp(q->code, row->code)) {
		snprintf(q->code, sizeof q->code, "%s", row->code);
		changed = true;
	}
	set_str(&q->name, row->name, &changed);
	if (q->open != open || q->active != active)
		changed = true;
	q->open = open;
	q->active = active;
	queue_policy_from_row(&q->policy, row);
	plan_take(&q->plan, &row->plan);
	if (q->took_tickets != queue_takes_tickets(q, now)) {
		q->took_tickets = !q->took_tickets;
		changed = true;
	}
	if (changed)
		engine_emit_now(e, o, queue_event(e, o, q, now));
}

static void merge_counter(struct engine *e, struct office *o, const struct store_counter *row,
			  bool take_open, int64_t now)
{
	int id = row->id;
	struct counter *c = office_counter_by_id(o, id);
	bool open = row->open, active = row->active;
	bool changed = false;

	if (!c) {
		c = xcalloc(1, sizeof *c);
		c->id = id;
		c->open = open;
		c->open_changed_at = row->open_changed_at;
		o->counters = xrealloc(o->counters,
				       (size_t)(o->ncounters + 1) * sizeof *o->counters);
		o->counters[o->ncounters++] = c;
		changed = true;
	}
	set_str(&c->name, row->name, &changed);
	/* open is the daemon's own to change; while its writes are in flight
	 * the snapshot may be older than memory. */
	if (take_open && c->open != open) {
		c->open = open;
		c->open_changed_at = row->open_changed_at;
		changed = true;
	}
	plan_take(&c->plan, &row->plan); /* on_config's new gen redoes the estimates */
	if (c->active != active)
		changed = true;
	c->active = active;
	if (changed) {
		json_t *ev = office_event(o, "counter", now);
		json_object_set_new(ev, "counter", json_string(c->name));
		json_object_set_new(ev, "open", json_boolean(c->open));
		engine_emit_now(e, o, ev);
	}
}

static struct office *office_of_queue(struct engine *e, int qid, struct queue **q)
{
	for (int i = 0; i < e->noffices; i++)
		if ((*q = office_queue_by_id(e->offices[i], qid)))
			return e->offices[i];
	return NULL;
}

void engine_merge_config(struct engine *e, const struct store_snapshot *snap)
{
	int64_t now = engine_now(e);
	bool take_open = !e->has_store || !e->store.ops->has_writes(e->store.self);

	for (int i = 0; i < snap->noffices; i++)
		merge_office(e, &snap->offices[i]);
	for (int i = 0; i < snap->nqueues; i++) {
		struct office *o = engine_office(e, snap->queues[i].office_id);
		if (o)
			merge_queue(e, o, &snap->queues[i], now);
	}
	for (int i = 0; i < snap->ncounters; i++) {
		struct office *o = engine_office(e, snap->counters[i].office_id);
		if (o)
			merge_counter(e, o, &snap->counters[i], take_open, now);
	}
	/* Queue lists are replaced whole: ranks may have changed in any way. */
	for (int i = 0; i < e->noffices; i++)
		for (int k = 0; k < e->offices[i]->ncounters; k++)
			e->offices[i]->counters[k]->nqueues = 0;
	for (int i = 0; i < snap->ncounter_queues; i++) {
		const struct store_counter_queue *row = &snap->counter_queues[i];
		struct queue *q;
		struct office *o = office_of_queue(e, row->queue_id, &q);
		struct counter *c = o ? office_counter_by_id(o, row->counter_id) : NULL;

		if (!c)
			continue;
		c->queues = xrealloc(c->queues, (size_t)(c->nqueues + 1) * sizeof *c->queues);
		c->queues[c->nqueues++] = (struct counter_queue){ q, row->rank, row->weight };
	}
	for (int i = 0; i < e->noffices; i++) {
		queues_take_outcomes(e->offices[i], snap);
		office_take_bookings(e, e->offices[i], snap, true);
		queues_take_texts(e->offices[i], snap);
	}
}

static void on_config(void *arg, const struct store_snapshot *snap, const char *error)
{
	struct engine *e = arg;

	e->config_loading = false;
	e->gen++;
	if (!snap) {
		/* The reconnect path reloads everything, this change included. */
		log_warn("engine: configuration reload failed: %s", error ? error : "?");
		return;
	}
	if (!e->loading && !e->stale)
		engine_merge_config(e, snap);
	else
		e->config_again = true; /* a full load is under way: redo after it */
	log_info("engine: configuration reloaded");
	if (e->config_again) {
		e->config_again = false;
		engine_config_changed(e);
	}
}

void engine_config_changed(struct engine *e)
{
	if (!e->has_store)
		return;
	if (e->config_loading) {
		e->config_again = true;
		return;
	}
	e->config_loading = true;
	e->store.ops->load(e->store.self, false, NULL, on_config, e);
}
