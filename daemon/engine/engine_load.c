/* The engine's start-up and recovery path: read every office, queue,
 * counter and today's tickets from the database and rebuild memory. */
#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdlib.h>
#include <string.h>

static bool col_bool(PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

static int col_int(PGresult *r, int row, int col)
{
	return atoi(PQgetvalue(r, row, col));
}

static int64_t col_i64(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static struct office *find_in(struct office **offs, int n, int id)
{
	for (int i = 0; i < n; i++)
		if (offs[i]->id == id)
			return offs[i];
	return NULL;
}

static void place_ticket(struct engine *e, struct office *o, struct ticket *t, bool *expire)
{
	if (t->day > o->day) {
		ticket_free(t);   /* the daemon's clock is behind the database's */
		return;
	}
	if (t->day < o->day) {
		if (t->state == TS_WAITING || t->state == TS_CALLED) {
			*expire = true;   /* missed the midnight while no daemon ran */
			ticket_free(t);
			return;
		}
		if (t->state != TS_SERVING || !t->counter || t->counter->held) {
			ticket_free(t);
			return;
		}
		o->carried = xgrow(o->carried, &o->capcarried, o->ncarried + 1, sizeof *o->carried);
		o->carried[o->ncarried++] = t;
		t->counter->held = t;
		return;
	}
	queue_add_today(t->origin, t);
	if (t->key)
		office_key_insert(o, t);
	if (t->state == TS_WAITING)
		queue_waiting_insert(t->queue, t);
	else if ((t->state == TS_CALLED || t->state == TS_SERVING) && t->counter)
		t->counter->held = t;
	if (t->state == TS_DONE && t->called_at && t->finished_at)
		queue_record_service(t->queue, t->finished_at - t->called_at);
}

static int cmp_recent(const void *a, const void *b)
{
	const struct ticket *x = *(struct ticket *const *)a, *y = *(struct ticket *const *)b;
	return x->called_at < y->called_at ? 1 : x->called_at > y->called_at ? -1 : 0;
}

static void rebuild_recent(struct office *o)
{
	struct ticket **called = NULL;
	int n = 0, cap = 0;

	for (int i = 0; i < o->nqueues; i++)
		for (int k = 0; k < o->queues[i]->ntoday; k++) {
			struct ticket *t = o->queues[i]->today[k];
			if (t && t->called_at && t->counter) {
				called = xgrow(called, &cap, n + 1, sizeof *called);
				called[n++] = t;
			}
		}
	o->nrecent = 0;
	if (!n)
		return;
	qsort(called, (size_t)n, sizeof *called, cmp_recent);
	for (int i = n < RECENT_MAX ? n - 1 : RECENT_MAX - 1; i >= 0; i--)
		office_record_call(o, called[i], called[i]->called_at);
	free(called);
}

/* Builds fresh offices from the five load results. */
static int build_offices(struct engine *e, PGresult **r, struct office ***out, int *nout)
{
	int noff = PQntuples(r[0]);
	struct office **offs = xcalloc((size_t)noff, sizeof *offs);
	int64_t now = engine_now(e);

	for (int i = 0; i < noff; i++) {
		struct office *o = xcalloc(1, sizeof *o);
		o->id = col_int(r[0], i, 0);
		o->code = xstrdup(PQgetvalue(r[0], i, 1));
		o->name = xstrdup(PQgetvalue(r[0], i, 2));
		o->tz = xstrdup(PQgetvalue(r[0], i, 3));
		if (tzday_compute(o->tz, now, &o->day, &o->day_end) < 0) {
			log_warn("office %s: unknown time zone %s, using UTC", o->code, o->tz);
			tzday_compute("UTC", now, &o->day, &o->day_end);
		}
		offs[i] = o;
	}
	for (int i = 0; i < PQntuples(r[1]); i++) {
		struct office *o = find_in(offs, noff, col_int(r[1], i, 1));
		if (!o)
			continue;
		struct queue *q = xcalloc(1, sizeof *q);
		q->id = col_int(r[1], i, 0);
		snprintf(q->code, sizeof q->code, "%s", PQgetvalue(r[1], i, 2));
		q->name = xstrdup(PQgetvalue(r[1], i, 3));
		q->open = col_bool(r[1], i, 4);
		q->active = col_bool(r[1], i, 5);
		o->queues = xrealloc(o->queues, (size_t)(o->nqueues + 1) * sizeof *o->queues);
		o->queues[o->nqueues++] = q;
	}
	for (int i = 0; i < PQntuples(r[2]); i++) {
		struct office *o = find_in(offs, noff, col_int(r[2], i, 1));
		if (!o)
			continue;
		struct counter *c = xcalloc(1, sizeof *c);
		c->id = col_int(r[2], i, 0);
		c->name = xstrdup(PQgetvalue(r[2], i, 2));
		c->open = col_bool(r[2], i, 3);
		c->active = col_bool(r[2], i, 4);
		o->counters = xrealloc(o->counters, (size_t)(o->ncounters + 1) * sizeof *o->counters);
		o->counters[o->ncounters++] = c;
	}
	for (int i = 0; i < PQntuples(r[3]); i++) {
		int cid = col_int(r[3], i, 0), qid = col_int(r[3], i, 1);
		for (int k = 0; k < noff; k++) {
			struct counter *c = office_counter_by_id(offs[k], cid);
			struct queue *q = c ? office_queue_by_id(offs[k], qid) : NULL;
			if (!q)
				continue;
			c->queues = xrealloc(c->queues, (size_t)(c->nqueues + 1) * sizeof *c->queues);
			c->queues[c->nqueues++] = (struct counter_queue){ q, col_int(r[3], i, 2) };
		}
	}
	for (int i = 0; i < PQntuples(r[4]); i++) {
		PGresult *t4 = r[4];
		struct office *o = find_in(offs, noff, col_int(t4, i, 0));
		struct ticket *t;
		bool expire = false;
		if (!o)
			continue;
		t = xcalloc(1, sizeof *t);
		if (tzday_parse(PQgetvalue(t4, i, 1), &t->day) < 0)
			t->day = o->day;
		t->origin = office_queue_by_id(o, col_int(t4, i, 2));
		t->queue = office_queue_by_id(o, col_int(t4, i, 3));
		t->number = col_int(t4, i, 4);
		snprintf(t->code, sizeof t->code, "%s", PQgetvalue(t4, i, 5));
		t->state = (enum ticket_state)ticket_state_parse(PQgetvalue(t4, i, 6));
		t->issued_at = col_i64(t4, i, 7);
		t->sort_at = col_i64(t4, i, 8);
		t->called_at = col_i64(t4, i, 9);
		t->started_at = col_i64(t4, i, 10);
		t->finished_at = col_i64(t4, i, 11);
		t->counter = PQgetisnull(t4, i, 12) ? NULL : office_counter_by_id(o, col_int(t4, i, 12));
		t->recalls = col_int(t4, i, 13);
		t->key = PQgetisnull(t4, i, 14) ? NULL : xstrdup(PQgetvalue(t4, i, 14));
		t->order = ++e->order;
		if (!t->origin || !t->queue || t->number < 1 || (int)t->state < 0) {
			ticket_free(t);
			continue;
		}
		place_ticket(e, o, t, &expire);
		if (expire)
			o->day_end = 0;   /* engine_tick() expires them in the database */
	}
	for (int i = 0; i < noff; i++)
		rebuild_recent(offs[i]);
	*out = offs;
	*nout = noff;
	return 0;
}

static void on_loaded(void *arg, const struct pgw_result *res)
{
	struct engine *e = arg;
	struct office **offs;
	int n;

	e->gen++;
	e->loading = false;
	if (!res->ok || res->n != 5) {
		log_warn("engine: loading offices failed: %s", res->error ? res->error : "?");
		e->stale = true;
		if (e->hooks.loaded)
			e->hooks.loaded(e->hooks.loaded_arg, false);
		return;
	}
	build_offices(e, res->results, &offs, &n);
	for (int i = 0; i < e->noffices; i++)
		office_free(e->offices[i]);
	free(e->offices);
	e->offices = offs;
	e->noffices = n;
	e->stale = false;
	log_info("engine: loaded %d office(s)", n);
	engine_tick(e);
	if (e->hooks.loaded)
		e->hooks.loaded(e->hooks.loaded_arg, true);
	if (e->reload_wanted) {
		e->reload_wanted = false;
		engine_load(e);
	}
}

void engine_load(struct engine *e)
{
	static const char *const stmts[] = {
		"load_offices", "load_queues", "load_counters", "load_counter_queues", "load_tickets",
	};
	struct pgw_job *job;

	if (!e->pgw)
		return;
	if (e->loading) {
		e->reload_wanted = true;
		return;
	}
	e->loading = true;
	job = pgw_job_new(false);
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		pgw_job_add(job, stmts[i], 0, NULL);
	pgw_job_on_done(job, on_loaded, e);
	pgw_submit(e->pgw, job);
}
