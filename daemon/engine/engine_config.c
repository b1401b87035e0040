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

static void emit_now(struct engine *e, struct office *o, json_t *ev)
{
	engine_emit(e, o->id, ev);
	if (e->hooks.emit_flush)
		e->hooks.emit_flush(e->hooks.emit_arg);
	json_decref(ev);
}

static void set_str(char **dst, const char *v, bool *changed)
{
	if (*dst && !strcmp(*dst, v))
		return;
	free(*dst);
	*dst = xstrdup(v);
	*changed = true;
}

static struct office *merge_office(struct engine *e, PGresult *r, int row)
{
	int id = atoi(PQgetvalue(r, row, 0));
	struct office *o = engine_office(e, id);
	bool changed = false;

	if (!o) {
		o = xcalloc(1, sizeof *o);
		o->id = id;
		o->tz = xstrdup(PQgetvalue(r, row, 3));
		if (tzday_compute(o->tz, engine_now(e), &o->day, &o->day_end) < 0)
			tzday_compute("UTC", engine_now(e), &o->day, &o->day_end);
		e->offices = xrealloc(e->offices, (size_t)(e->noffices + 1) * sizeof *e->offices);
		e->offices[e->noffices++] = o;
		log_info("office %s added", PQgetvalue(r, row, 1));
	}
	set_str(&o->code, PQgetvalue(r, row, 1), &changed);
	set_str(&o->name, PQgetvalue(r, row, 2), &changed);
	return o;
}

static void merge_queue(struct engine *e, struct office *o, PGresult *r, int row, int64_t now)
{
	int id = atoi(PQgetvalue(r, row, 0));
	struct queue *q = office_queue_by_id(o, id);
	bool open = PQgetvalue(r, row, 4)[0] == 't', active = PQgetvalue(r, row, 5)[0] == 't';
	bool changed = false;

	if (!q) {
		q = xcalloc(1, sizeof *q);
		q->id = id;
		o->queues = xrealloc(o->queues, (size_t)(o->nqueues + 1) * sizeof *o->queues);
		o->queues[o->nqueues++] = q;
		changed = true;
	}
	if (strcmp(q->code, PQgetvalue(r, row, 2))) {
		snprintf(q->code, sizeof q->code, "%s", PQgetvalue(r, row, 2));
		changed = true;
	}
	set_str(&q->name, PQgetvalue(r, row, 3), &changed);
	if (q->open != open || q->active != active)
		changed = true;
	q->open = open;
	q->active = active;
	if (changed)
		emit_now(e, o, queue_event(e, o, q, now));
}

static void merge_counter(struct engine *e, struct office *o, PGresult *r, int row,
			  bool take_open, int64_t now)
{
	int id = atoi(PQgetvalue(r, row, 0));
	struct counter *c = office_counter_by_id(o, id);
	bool open = PQgetvalue(r, row, 3)[0] == 't', active = PQgetvalue(r, row, 4)[0] == 't';
	bool changed = false;

	if (!c) {
		c = xcalloc(1, sizeof *c);
		c->id = id;
		c->open = open;
		o->counters = xrealloc(o->counters, (size_t)(o->ncounters + 1) * sizeof *o->counters);
		o->counters[o->ncounters++] = c;
		changed = true;
	}
	set_str(&c->name, PQgetvalue(r, row, 2), &changed);
	/* open is the daemon's own to change; while its writes are in flight
	 * the snapshot may be older than memory. */
	if (take_open && c->open != open) {
		c->open = open;
		changed = true;
	}
	if (c->active != active)
		changed = true;
	c->active = active;
	if (changed) {
		json_t *ev = office_event(o, "counter", now);
		json_object_set_new(ev, "counter", json_string(c->name));
		json_object_set_new(ev, "open", json_boolean(c->open));
		emit_now(e, o, ev);
	}
}

static struct office *office_of_queue(struct engine *e, int qid, struct queue **q)
{
	for (int i = 0; i < e->noffices; i++)
		if ((*q = office_queue_by_id(e->offices[i], qid)))
			return e->offices[i];
	return NULL;
}

static void merge(struct engine *e, PGresult **r)
{
	int64_t now = engine_now(e);
	bool take_open = !e->pgw || !pgw_has_batches(e->pgw);

	for (int i = 0; i < PQntuples(r[0]); i++)
		merge_office(e, r[0], i);
	for (int i = 0; i < PQntuples(r[1]); i++) {
		struct office *o = engine_office(e, atoi(PQgetvalue(r[1], i, 1)));
		if (o)
			merge_queue(e, o, r[1], i, now);
	}
	for (int i = 0; i < PQntuples(r[2]); i++) {
		struct office *o = engine_office(e, atoi(PQgetvalue(r[2], i, 1)));
		if (o)
			merge_counter(e, o, r[2], i, take_open, now);
	}
	/* Queue lists are replaced whole: ranks may have changed in any way. */
	for (int i = 0; i < e->noffices; i++)
		for (int k = 0; k < e->offices[i]->ncounters; k++)
			e->offices[i]->counters[k]->nqueues = 0;
	for (int i = 0; i < PQntuples(r[3]); i++) {
		struct queue *q;
		struct office *o = office_of_queue(e, atoi(PQgetvalue(r[3], i, 1)), &q);
		struct counter *c = o ? office_counter_by_id(o, atoi(PQgetvalue(r[3], i, 0))) : NULL;
		if (!c)
			continue;
		c->queues = xrealloc(c->queues, (size_t)(c->nqueues + 1) * sizeof *c->queues);
		c->queues[c->nqueues++] = (struct counter_queue){ q, atoi(PQgetvalue(r[3], i, 2)) };
	}
}

static void on_config(void *arg, const struct pgw_result *res)
{
	struct engine *e = arg;

	e->config_loading = false;
	e->gen++;
	if (!res->ok || res->n != 4) {
		/* The reconnect path reloads everything, this change included. */
		log_warn("engine: configuration reload failed: %s", res->error ? res->error : "?");
		return;
	}
	if (!e->loading && !e->stale)
		merge(e, res->results);
	else
		e->config_again = true;   /* a full load is under way: redo after it */
	log_info("engine: configuration reloaded");
	if (e->config_again) {
		e->config_again = false;
		engine_config_changed(e);
	}
}

void engine_config_changed(struct engine *e)
{
	static const char *const stmts[] = {
		"load_offices", "load_queues", "load_counters", "load_counter_queues",
	};
	struct pgw_job *job;

	if (!e->pgw)
		return;
	if (e->config_loading) {
		e->config_again = true;
		return;
	}
	e->config_loading = true;
	job = pgw_job_new(false);
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		pgw_job_add(job, stmts[i], 0, NULL);
	pgw_job_on_done(job, on_config, e);
	pgw_submit(e->pgw, job);
}
