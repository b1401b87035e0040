/* The engine's start-up and recovery path: every office, queue, counter
 * and today's tickets from the store's snapshot, rebuilt in memory. */
#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The office of id among offs; *hint is where the last one was found.
 * Rows come grouped by office, so the hint is nearly always right: a
 * search over 150 offices for each of 200,000 tickets was 8 % of a
 * start-up's CPU. */
static struct office *find_in(struct office **offs, int n, int id, int *hint)
{
	if (*hint < n && offs[*hint]->id == id)
		return offs[*hint];
	for (int i = 0; i < n; i++)
		if (offs[i]->id == id) {
			*hint = i;
			return offs[i];
		}
	return NULL;
}

static void place_ticket(struct engine *e, struct office *o, struct ticket *t, bool *expire)
{
	if (t->day > o->day) {
		ticket_free(t); /* the daemon's clock is behind the database's */
		return;
	}
	if (t->day < o->day) {
		if (ticket_next_state(t->state, TA_EXPIRE) >= 0) {
			*expire = true; /* missed the midnight while no daemon ran */
			ticket_free(t);
			return;
		}
		/* Being served over midnight: it stays with its counter. */
		if (!ticket_states[t->state].held || !t->counter || t->counter->held) {
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
	if (ticket_states[t->state].waiting)
		waiting_insert(t);
	else if (ticket_states[t->state].held && t->counter)
		t->counter->held = t;
	else if (ticket_states[t->state].parked && t->counter)
		tlist_insert(&t->counter->parked, t);
	/* The samples the live path would have taken; the database does not
	 * say which finishes were explicit, so an unstarted visit counts when
	 * it lasted a second or more (a skip takes less). */
	if (t->state == TS_DONE && t->called_at && t->finished_at &&
	    (t->started_at || t->finished_at - t->called_at >= 1000000)) {
		if (t->counter)
			counter_record_visit(t->counter, t->queue, t->finished_at - t->called_at);
		queue_record_service(t->queue, t->finished_at - t->called_at);
	} else if (t->state == TS_NO_SHOW && t->called_at && t->finished_at)
		queue_record_noshow(t->queue, t->finished_at - t->called_at);
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

void queue_policy_from_row(struct queue_policy *p, const struct store_queue *row)
{
	*p = (struct queue_policy){ .min_calls = row->min_calls,
				    .no_show_after_s = row->no_show_after_s,
				    .reactivate_within_s = row->reactivate_within_s,
				    .require_outcome = row->require_outcome,
				    .allow_priority = row->allow_priority };
}

void queues_take_outcomes(struct office *o, const struct store_snapshot *snap)
{
	for (int i = 0; i < o->nqueues; i++)
		queue_outcomes_clear(o->queues[i]);
	for (int i = 0; i < snap->noutcomes; i++) {
		const struct store_outcome *row = &snap->outcomes[i];
		struct queue *q = office_queue_by_id(o, row->queue_id);

		if (!q)
			continue;
		q->outcomes = xrealloc(q->outcomes,
				       (size_t)(q->noutcomes + 1) * sizeof *q->outcomes);
		q->outcomes[q->noutcomes++] =
			(struct outcome){ xstrdup(row->code), xstrdup(row->name) };
	}
}

void queues_take_texts(struct office *o, const struct store_snapshot *snap)
{
	for (int i = 0; i < o->nqueues; i++)
		queue_texts_clear(o->queues[i]);
	for (int i = 0; i < snap->nqueue_texts; i++) {
		const struct store_queue_text *row = &snap->queue_texts[i];
		struct queue *q = office_queue_by_id(o, row->queue_id);
		struct queue_text *qt;

		if (!q)
			continue;
		q->texts = xrealloc(q->texts, (size_t)(q->ntexts + 1) * sizeof *q->texts);
		qt = &q->texts[q->ntexts++];
		snprintf(qt->lang, sizeof qt->lang, "%s", row->lang);
		qt->name = xstrdup(row->name);
		qt->description = xstrdup(row->description ? row->description : "");
	}
}

void office_take_key(struct office *o, const struct store_office *row)
{
	int n = row->visitor_key ? vsecret_unhex(row->visitor_key, o->vkey, sizeof o->vkey) : 0;

	/* Without a good key the office simply has no visitor pages: issue
	 * answers without visitor_path and /t/ finds nothing. */
	if (n < VSECRET_KEY_MIN) {
		if (row->visitor_key)
			log_warn("office %s: visitor key unusable: no visitor pages", o->code);
		n = 0;
	}
	o->vkeylen = n;
}

/* Copies s (NULL: "") into out of size bytes, cut to fit. */
static void copy_field(char *out, size_t size, const char *s)
{
	size_t n = s ? strnlen(s, size - 1) : 0;

	memcpy(out, s ? s : "", n);
	out[n] = '\0';
}

_Static_assert(STORE_HASH_LEN == VSECRET_HASH, "the store's hash is the visitor secret's");

/* A load's ticket row, taken as it streams in (engine_take_ticket_row)
 * and placed once the offices it names are built: only the ids wait, the
 * ticket itself is made at once. Taking the rows as they come, rather
 * than a copy of them all, was about 40 MB less memory touched over
 * 200,000 tickets, and first touches were most of a start-up's time. */
struct loaded_row {
	struct ticket *t;
	int office_id, origin_queue_id, queue_id, counter_id, for_counter_id;
	int state; /* ticket_state_parse(): -1 for none we know */
};

void engine_take_ticket_row(struct engine *e, const struct store_ticket *row)
{
	struct ticket *t = xcalloc(1, sizeof *t);
	struct loaded_rows *rs = &e->loaded_rows;
	/* A code too long for the ticket would be cut and then name another
	 * (the database allows leading zeros): such a row is left out. */
	bool fits = row->code && strlen(row->code) < sizeof t->code;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 1024;
		rs->v = xrealloc(rs->v, (size_t)rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n++] = (struct loaded_row){
		t,
		row->office_id,
		row->origin_queue_id,
		row->queue_id,
		row->counter_id,
		row->for_counter_id,
		fits ? ticket_state_parse(row->state) : -1
	};
	t->day = row->day;
	t->number = row->number;
	copy_field(t->code, sizeof t->code, row->code);
	t->issued_at = row->issued_at;
	t->sort_at = row->sort_at;
	t->called_at = row->called_at;
	t->started_at = row->started_at;
	t->finished_at = row->finished_at;
	t->recalls = row->recalls;
	t->key = row->key ? xstrdup(row->key) : NULL;
	t->priority = row->priority;
	copy_field(t->interpreter, sizeof t->interpreter, row->interpreter);
	copy_field(t->lang, sizeof t->lang, row->lang);
	t->outcome = row->outcome ? xstrdup(row->outcome) : NULL;
	t->appointment = row->appointment;
	t->has_vhash = row->visitor_hash != NULL;
	if (t->has_vhash)
		memcpy(t->vhash, row->visitor_hash, sizeof t->vhash);
	t->rated = row->rated;
}

void engine_drop_ticket_rows(struct engine *e)
{
	struct loaded_rows *rs = &e->loaded_rows;

	for (int i = 0; i < rs->n; i++)
		ticket_free(rs->v[i].t);
	free(rs->v);
	*rs = (struct loaded_rows){ 0 };
}

/* Takes r's ticket for office o, its ids made pointers; NULL when the
 * row is left out (then the ticket is freed). */
static struct ticket *ticket_from_row(struct engine *e, struct office *o, struct loaded_row *r)
{
	struct ticket *t = r->t;

	r->t = NULL;
	t->origin = office_queue_by_id(o, r->origin_queue_id);
	t->queue = office_queue_by_id(o, r->queue_id);
	t->state = r->state < 0 ? TS_WAITING : (enum ticket_state)r->state;
	t->counter = r->counter_id ? office_counter_by_id(o, r->counter_id) : NULL;
	t->for_counter = r->for_counter_id ? office_counter_by_id(o, r->for_counter_id) : NULL;
	t->order = ++e->order;
	/* The database's constraints make these impossible; a row that breaks
	 * them anyway is left out rather than trusted. */
	if (!t->origin || !t->queue || t->number < 1 || r->state < 0) {
		log_warn("office %s: ticket %s cannot be loaded: skipped", o->code, t->code);
		ticket_free(t);
		return NULL;
	}
	return t;
}

void engine_build_offices(struct engine *e, const struct store_snapshot *snap, struct office ***out,
			  int *nout)
{
	int noff = snap->noffices;
	struct office **offs = xcalloc((size_t)noff, sizeof *offs);
	int64_t now = engine_now(e);
	int hint = 0;

	for (int i = 0; i < noff; i++) {
		const struct store_office *row = &snap->offices[i];
		struct office *o = xcalloc(1, sizeof *o);

		o->id = row->id;
		engine_apply_owner(e, o);
		o->code = xstrdup(row->code);
		o->name = xstrdup(row->name);
		o->tz = xstrdup(row->tz);
		o->checkin_before_s = row->checkin_before_s;
		o->checkin_after_s = row->checkin_after_s;
		office_take_key(o, row);
		if (tzday_compute(o->tz, now, &o->day, &o->day_end) < 0) {
			log_warn("office %s: unknown time zone %s, using UTC", o->code, o->tz);
			tzday_compute("UTC", now, &o->day, &o->day_end);
		}
		offs[i] = o;
	}
	for (int i = 0; i < snap->nqueues; i++) {
		const struct store_queue *row = &snap->queues[i];
		struct office *o = find_in(offs, noff, row->office_id, &hint);
		struct queue *q;

		if (!o)
			continue;
		q = xcalloc(1, sizeof *q);
		q->id = row->id;
		snprintf(q->code, sizeof q->code, "%s", row->code);
		q->name = xstrdup(row->name);
		q->open = row->open;
		q->active = row->active;
		queue_policy_from_row(&q->policy, row);
		plan_take(&q->plan, &row->plan);
		q->took_tickets = queue_takes_tickets(q, engine_now(e));
		o->queues = xrealloc(o->queues, (size_t)(o->nqueues + 1) * sizeof *o->queues);
		o->queues[o->nqueues++] = q;
	}
	for (int i = 0; i < snap->ncounters; i++) {
		const struct store_counter *row = &snap->counters[i];
		struct office *o = find_in(offs, noff, row->office_id, &hint);
		struct counter *c;

		if (!o)
			continue;
		c = xcalloc(1, sizeof *c);
		c->id = row->id;
		c->name = xstrdup(row->name);
		c->open = row->open;
		c->active = row->active;
		c->open_changed_at = row->open_changed_at;
		plan_take(&c->plan, &row->plan);
		o->counters = xrealloc(o->counters,
				       (size_t)(o->ncounters + 1) * sizeof *o->counters);
		o->counters[o->ncounters++] = c;
	}
	/* Rows come by counter: the last row's office is looked in first (every
	 * office for every row was 9 M comparisons for 150 offices, a tenth of
	 * the start-up's CPU). */
	for (int i = 0, ck = 0; i < snap->ncounter_queues; i++) {
		const struct store_counter_queue *row = &snap->counter_queues[i];
		struct counter *c = ck < noff ? office_counter_by_id(offs[ck], row->counter_id)
					      : NULL;
		struct queue *q;

		for (int k = 0; !c && k < noff; k++)
			if ((c = office_counter_by_id(offs[k], row->counter_id)))
				ck = k;
		q = c ? office_queue_by_id(offs[ck], row->queue_id) : NULL;
		if (!q)
			continue;
		c->queues = xrealloc(c->queues, (size_t)(c->nqueues + 1) * sizeof *c->queues);
		c->queues[c->nqueues++] = (struct counter_queue){ q, row->rank, row->weight };
	}
	for (int k = 0; k < noff; k++) {
		queues_take_outcomes(offs[k], snap);
		queues_take_texts(offs[k], snap);
	}
	/* Earlier days' visits first, so that today's, placed after, are the
	 * newest samples (a store with load_history sends them later). */
	queues_seed_earlier(offs, noff, snap->visits, snap->nvisits);
	for (int i = 0; i < snap->ntickets; i++) {
		int k = snap->ticket_order[i];
		struct loaded_row *r = k >= 0 && k < e->loaded_rows.n ? &e->loaded_rows.v[k] : NULL;
		struct office *o = r && r->t ? find_in(offs, noff, r->office_id, &hint) : NULL;
		struct ticket *t = o ? ticket_from_row(e, o, r) : NULL;
		bool expire = false;

		if (!t)
			continue;
		place_ticket(e, o, t, &expire);
		if (expire)
			o->day_end = 0; /* engine_tick() expires them in the database */
	}
	engine_drop_ticket_rows(e); /* what no office took */
	for (int i = 0; i < noff; i++) {
		rebuild_recent(offs[i]);
		office_take_bookings(e, offs[i], snap, false);
	}
	*out = offs;
	*nout = noff;
}

/* The same weekday's visits of earlier weeks, read after the load: a
 * daemon started at opening time estimates from its first tickets
 * instead of waiting for three services, and answers before they come
 * (over months of history the read took about 0.1 s of the start-up). */
static void load_history(struct engine *e);

static void on_history(void *arg, const struct store_visit *visits, int n, const char *error)
{
	struct engine *e = arg;

	e->history_loading = false;
	if (e->history_for != e->loads) { /* for offices since replaced */
		load_history(e);
		return;
	}
	if (!visits) {
		log_warn("engine: reading earlier weeks' visits failed: %s; estimates learn from "
			 "today's",
			 error ? error : "?");
		return;
	}
	queues_seed_earlier(e->offices, e->noffices, visits, n);
	for (int i = 0; i < e->noffices; i++)
		e->offices[i]->gen++;
}

static void load_history(struct engine *e)
{
	if (!e->store.ops->load_history || e->history_loading)
		return;
	e->history_loading = true;
	e->history_for = e->loads;
	e->store.ops->load_history(e->store.self, on_history, e);
}

/* When visitors came on the same weekday of the last weeks, for the
 * estimator's newcomers (arrivals.h): read after each load and again
 * when an office's day changes (the points are moved onto one day). */
static void on_arrivals(void *arg, const struct store_arrival *rows, int n, const char *error)
{
	struct engine *e = arg;

	e->arrivals_loading = false;
	if (e->arrivals_for != e->arrivals_wanted) { /* a new load or day since */
		engine_load_arrivals(e);
		return;
	}
	if (!rows) {
		log_warn("engine: reading earlier weeks' arrivals failed: %s; newcomers are "
			 "expected at today's pace",
			 error ? error : "?");
		return;
	}
	engine_take_arrivals(e, rows, n);
}

void engine_load_arrivals(struct engine *e)
{
	if (!e->has_store || !e->store.ops->load_arrivals || e->arrivals_loading)
		return;
	e->arrivals_loading = true;
	e->arrivals_for = e->arrivals_wanted;
	e->store.ops->load_arrivals(e->store.self, on_arrivals, e);
}

/* The queue with that id, and its office's index in *office; the office
 * found last is asked first (an office's queues come together). */
static struct queue *queue_of_id(struct engine *e, int id, int *office)
{
	if (*office >= 0 && *office < e->noffices) {
		struct queue *q = office_queue_by_id(e->offices[*office], id);

		if (q)
			return q;
	}
	for (int i = 0; i < e->noffices; i++) {
		struct queue *q = office_queue_by_id(e->offices[i], id);

		if (q) {
			*office = i;
			return q;
		}
	}
	return NULL;
}

void engine_take_arrivals(struct engine *e, const struct store_arrival *rows, int n)
{
	unsigned *weeks = xcalloc((size_t)e->noffices + 1, sizeof *weeks);
	int64_t *at = xmalloc(((size_t)n + 1) * sizeof *at);
	int k = -1; /* the office of the queue at hand */

	/* An office's weeks are those it had any ticket in: a queue nobody
	 * came to in one of them had none that week. */
	for (int i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && rows[j].queue_id == rows[i].queue_id; j++)
			;
		if (!queue_of_id(e, rows[i].queue_id, &k))
			continue;
		for (int r = i; r < j; r++)
			if (rows[r].week >= 1 && rows[r].week <= 16)
				weeks[k] |= 1u << (rows[r].week - 1);
	}
	for (int i = 0; i < e->noffices; i++) {
		struct office *o = e->offices[i];

		for (int qi = 0; qi < o->nqueues; qi++)
			arrival_history_set(&o->queues[qi]->arrivals, o->day, 0, NULL, 0);
		o->gen++;
	}
	for (int i = 0, j; i < n; i = j) {
		struct queue *q;
		int m = 0;

		for (j = i + 1; j < n && rows[j].queue_id == rows[i].queue_id; j++)
			;
		if (!(q = queue_of_id(e, rows[i].queue_id, &k)))
			continue;
		for (int r = i; r < j; r++)
			at[m++] = rows[r].at_us;
		arrival_history_set(&q->arrivals, e->offices[k]->day, __builtin_popcount(weeks[k]),
				    at, m);
	}
	log_info("engine: %d ticket(s) of the same weekday of earlier weeks read for the "
		 "newcomers",
		 n);
	free(at);
	free(weeks);
}

static void on_ticket_row(void *arg, const struct store_ticket *row)
{
	engine_take_ticket_row(arg, row);
}

static void on_loaded(void *arg, const struct store_snapshot *snap, const char *error)
{
	struct engine *e = arg;
	struct office **offs;
	int n;

	e->gen++;
	e->loading = false;
	if (!snap) {
		engine_drop_ticket_rows(e);
		log_warn("engine: loading offices failed: %s", error ? error : "?");
		e->stale = true;
		if (e->hooks.loaded)
			e->hooks.loaded(e->hooks.loaded_arg, false);
		return;
	}
	engine_build_offices(e, snap, &offs, &n);
	for (int i = 0; i < e->noffices; i++)
		office_free(e->offices[i]);
	free(e->offices);
	e->offices = offs;
	e->noffices = n;
	e->stale = false;
	e->loads++;
	log_info("engine: loaded %d office(s)", n);
	engine_tick(e);
	if (e->hooks.loaded)
		e->hooks.loaded(e->hooks.loaded_arg, true);
	load_history(e);
	e->arrivals_wanted++;
	engine_load_arrivals(e);
	if (e->reload_wanted) {
		e->reload_wanted = false;
		engine_load(e);
	}
}

void engine_load(struct engine *e)
{
	if (!e->has_store)
		return;
	if (e->loading) {
		e->reload_wanted = true;
		return;
	}
	e->loading = true;
	e->store.ops->load(e->store.self, true, on_ticket_row, on_loaded, e);
}
