#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/pool.h"
#include "daemon/util/tzday.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_REFRESH_US (5 * INT64_C(1000000))

static int64_t real_clock(void *arg)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Never backwards: a clock step back must not stamp a call before its
 * issue, which the database refuses (and which would make no sense). */
int64_t engine_now(struct engine *e)
{
	int64_t t = e->hooks.clock(e->hooks.clock_arg);

	if (t < e->last_now)
		t = e->last_now;
	e->last_now = t;
	return t;
}

/* ---- lookups ---------------------------------------------------------- */

struct office *engine_office(const struct engine *e, int id)
{
	for (int i = 0; i < e->noffices; i++)
		if (e->offices[i]->id == id)
			return e->offices[i];
	return NULL;
}

int engine_office_id(const struct engine *e, const char *code)
{
	for (int i = 0; i < e->noffices; i++)
		if (!strcmp(e->offices[i]->code, code))
			return e->offices[i]->id;
	return 0;
}

const char *engine_office_code(const struct engine *e, int office_id)
{
	struct office *o = engine_office(e, office_id);
	return o ? o->code : NULL;
}

int engine_counter_id(const struct engine *e, int office_id, const char *name)
{
	struct office *o = engine_office(e, office_id);
	struct counter *c = o ? office_counter(o, name) : NULL;
	return c ? c->id : 0;
}

void engine_each_queue(const struct engine *e,
		       void (*fn)(void *arg, const char *office, const char *queue, int waiting,
				  int64_t oldest_us),
		       void *arg)
{
	for (int i = 0; i < e->noffices; i++)
		for (int k = 0; k < e->offices[i]->nqueues; k++) {
			const struct queue *q = e->offices[i]->queues[k];
			/* Another daemon's office: its figures are that one's. */
			if (q->active && office_served(e->offices[i]))
				fn(arg, e->offices[i]->code, q->code, q->waiting.n,
				   q->waiting.n ? q->waiting.v[0]->sort_at : 0);
		}
}

struct queue *office_queue(const struct office *o, const char *code)
{
	for (int i = 0; i < o->nqueues; i++)
		if (!strcmp(o->queues[i]->code, code))
			return o->queues[i];
	return NULL;
}

struct queue *office_queue_by_id(const struct office *o, int id)
{
	for (int i = 0; i < o->nqueues; i++)
		if (o->queues[i]->id == id)
			return o->queues[i];
	return NULL;
}

struct counter *office_counter(const struct office *o, const char *name)
{
	for (int i = 0; i < o->ncounters; i++)
		if (!strcmp(o->counters[i]->name, name))
			return o->counters[i];
	return NULL;
}

struct counter *office_counter_by_id(const struct office *o, int id)
{
	for (int i = 0; i < o->ncounters; i++)
		if (o->counters[i]->id == id)
			return o->counters[i];
	return NULL;
}

/* Codes are "<queue code>-<number>", so a lookup is a queue and an index. */
struct ticket *office_ticket(const struct office *o, const char *code)
{
	const char *dash = strrchr(code, '-');
	char qcode[8];
	struct queue *q;
	char *end;
	long n;

	if (!dash || dash == code || (size_t)(dash - code) >= sizeof qcode || !dash[1])
		return NULL;
	memcpy(qcode, code, (size_t)(dash - code));
	qcode[dash - code] = '\0';
	if (dash[1] < '0' || dash[1] > '9')
		return NULL;
	n = strtol(dash + 1, &end, 10);
	if (*end || n < 1)
		return NULL;
	q = office_queue(o, qcode);
	if (!q || n > q->ntoday || !q->today[n - 1])
		return NULL;
	/* The number is read as a number: a clerk typing S-42 means S-042. */
	return q->today[n - 1];
}

static unsigned key_hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % KEY_BUCKETS;
}

struct ticket *office_key_lookup(const struct office *o, const char *key)
{
	for (struct ticket *t = o->keys[key_hash(key)]; t; t = t->key_next)
		if (!strcmp(t->key, key))
			return t;
	return NULL;
}

void office_key_insert(struct office *o, struct ticket *t)
{
	unsigned h = key_hash(t->key);
	t->key_next = o->keys[h];
	o->keys[h] = t;
}

/* ---- waiting lists and statistics -------------------------------------- */

static bool waits_before(const struct ticket *a, const struct ticket *b)
{
	return a->sort_at < b->sort_at || (a->sort_at == b->sort_at && a->order < b->order);
}

/* Where t goes in l: a transferred or reactivated ticket finds its old place. */
static int tlist_find(const struct tlist *l, const struct ticket *t)
{
	int lo = 0, hi = l->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (waits_before(l->v[mid], t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void tlist_insert(struct tlist *l, struct ticket *t)
{
	int at;

	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	at = tlist_find(l, t);
	memmove(l->v + at + 1, l->v + at, (size_t)(l->n - at) * sizeof *l->v);
	l->v[at] = t;
	l->n++;
}

int tlist_position(const struct tlist *l, const struct ticket *t)
{
	int at = tlist_find(l, t);

	return at < l->n && l->v[at] == t ? at + 1 : 0;
}

void tlist_remove(struct tlist *l, struct ticket *t)
{
	int pos = tlist_position(l, t);

	if (!pos)
		return;
	memmove(l->v + pos - 1, l->v + pos, (size_t)(l->n - pos) * sizeof *l->v);
	l->n--;
}

void waiting_insert(struct ticket *t)
{
	if (t->for_counter) {
		tlist_insert(&t->for_counter->for_me, t);
		return;
	}
	tlist_insert(&t->queue->waiting, t);
	if (t->priority)
		t->queue->npriority++;
	if (t->appointment)
		t->queue->nappointment++;
}

void waiting_remove(struct ticket *t)
{
	if (t->for_counter) {
		tlist_remove(&t->for_counter->for_me, t);
		return;
	}
	if (tlist_position(&t->queue->waiting, t) && t->priority)
		t->queue->npriority--;
	if (tlist_position(&t->queue->waiting, t) && t->appointment && t->queue->nappointment > 0)
		t->queue->nappointment--;
	tlist_remove(&t->queue->waiting, t);
}

/* The rule calls a list's due appointments first (by start), then its
 * priority tickets, each group in time (next.c). An appointment ticket
 * counts the appointments that start before it (it is first once due);
 * a walk-in counts the due appointments, not those still to come. */
int ticket_position(const struct ticket *t, int64_t now)
{
	const struct tlist *l = t->for_counter ? &t->for_counter->for_me : &t->queue->waiting;
	int pos = tlist_position(l, t), before = 0;

	if (!pos)
		return 0;
	/* No priority or appointment ticket in the queue: the place in the
	 * list is the position. The scan below, for every reply and event,
	 * was 16 % of kolappd's time with tens of thousands waiting in one
	 * office. */
	if (!t->for_counter && !t->queue->npriority && !t->queue->nappointment)
		return pos;
	for (int i = 0; i < l->n; i++) {
		const struct ticket *o = l->v[i];

		if (o == t)
			continue;
		if (t->appointment) {
			if (o->appointment && (o->appointment < t->appointment ||
					       (o->appointment == t->appointment && i < pos - 1)))
				before++;
			continue;
		}
		if (o->appointment) {
			if (now >= o->appointment - APPOINTMENT_LEAD_US)
				before++;
			continue;
		}
		if (t->priority ? o->priority && i < pos - 1 : o->priority || i < pos - 1)
			before++;
	}
	return before + 1;
}

const struct outcome *queue_outcome(const struct queue *q, const char *code)
{
	for (int i = 0; i < q->noutcomes; i++)
		if (!strcmp(q->outcomes[i].code, code))
			return &q->outcomes[i];
	return NULL;
}

/* The contract's defaults (kolapp.set_queue_policy). */
void queue_policy_default(struct queue_policy *p)
{
	*p = (struct queue_policy){ .min_calls = 1,
				    .no_show_after_s = 0,
				    .reactivate_within_s = 900,
				    .require_outcome = false,
				    .allow_priority = true };
}

int ticket_apply(struct ticket *t, enum ticket_action action, struct counter *ctr, struct queue *to,
		 int64_t now)
{
	int next = ticket_next_state(t->state, action);
	const struct ticket_state_info *from, *into;

	if (next < 0)
		return -1;
	from = &ticket_states[t->state];
	into = &ticket_states[next];
	if (from->waiting)
		waiting_remove(t);
	if (from->held && !into->held && t->counter && t->counter->held == t)
		t->counter->held = NULL;
	if (from->parked && t->counter)
		tlist_remove(&t->counter->parked, t);
	switch (action) {
	case TA_CALL:
		t->counter = ctr;
		t->for_counter = NULL;
		t->called_at = now;
		t->recalls = 0;
		break;
	case TA_RECALL: t->recalls++; break;
	case TA_START: t->started_at = now; break;
	case TA_TRANSFER:
		if (to)
			t->queue = to;
		t->for_counter = to ? NULL : ctr;
		t->counter = NULL;
		t->called_at = t->started_at = 0;
		t->recalls = 0;
		break;
	case TA_REACTIVATE:
		t->counter = NULL;
		t->for_counter = NULL;
		t->called_at = t->started_at = t->finished_at = 0;
		t->recalls = 0;
		break;
	case TA_PARK: break; /* t->counter stays: it is the counter that parked it */
	case TA_FINISH:
	case TA_NO_SHOW:
	case TA_CANCEL:
	case TA_EXPIRE: t->finished_at = now; break;
	case TA__COUNT: break;
	}
	t->state = (enum ticket_state)next;
	if (into->waiting)
		waiting_insert(t);
	if (into->held && t->counter)
		t->counter->held = t;
	if (into->parked && t->counter)
		tlist_insert(&t->counter->parked, t);
	return 0;
}

void ticket_refusal(const struct ticket *t, enum ticket_action action, char *buf, size_t bufsz)
{
	size_t n = (size_t)snprintf(buf, bufsz, "ticket %s is %s, not ", t->code,
				    ticket_state_name(t->state));
	bool first = true;

	for (int i = 0; i < ticket_transitions_count && n < bufsz; i++) {
		if (ticket_transitions[i].action != action)
			continue;
		n += (size_t)snprintf(buf + n, bufsz - n, "%s%s", first ? "" : " or ",
				      ticket_state_name(ticket_transitions[i].from));
		first = false;
	}
}

void queue_add_today(struct queue *q, struct ticket *t)
{
	q->today = xgrow(q->today, &q->captoday, t->number, sizeof *q->today);
	q->today[t->number - 1] = t;
	if (t->number > q->ntoday)
		q->ntoday = t->number;
}

void office_record_call(struct office *o, const struct ticket *t, int64_t at)
{
	memmove(o->recent + 1, o->recent, (RECENT_MAX - 1) * sizeof o->recent[0]);
	snprintf(o->recent[0].ticket, sizeof o->recent[0].ticket, "%s", t->code);
	snprintf(o->recent[0].counter, sizeof o->recent[0].counter, "%s",
		 t->counter ? t->counter->name : "");
	o->recent[0].at = at;
	if (o->nrecent < RECENT_MAX)
		o->nrecent++;
}

void ticket_set_code(struct ticket *t, const struct queue *q)
{
	/* Queue codes have up to 4 characters (the database's check), and a
	 * positive int at most 10 digits: CODE_MAX holds any code. */
	snprintf(t->code, sizeof t->code, "%.4s-%03u", q->code, (unsigned)t->number);
}

void ticket_free(struct ticket *t)
{
	if (!t)
		return;
	free(t->key);
	free(t->outcome);
	free(t);
}

void queue_outcomes_clear(struct queue *q)
{
	for (int i = 0; i < q->noutcomes; i++) {
		free(q->outcomes[i].code);
		free(q->outcomes[i].name);
	}
	free(q->outcomes);
	q->outcomes = NULL;
	q->noutcomes = 0;
}

void queue_texts_clear(struct queue *q)
{
	for (int i = 0; i < q->ntexts; i++) {
		free(q->texts[i].name);
		free(q->texts[i].description);
	}
	free(q->texts);
	q->texts = NULL;
	q->ntexts = 0;
}

void office_free(struct office *o)
{
	if (!o)
		return;
	free(o->est_log);
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];
		for (int n = 0; n < q->ntoday; n++)
			ticket_free(q->today[n]);
		free(q->today);
		free(q->waiting.v);
		queue_outcomes_clear(q);
		queue_texts_clear(q);
		plan_free(&q->plan);
		arrival_history_free(&q->arrivals);
		free(q->name);
		free(q);
	}
	for (int i = 0; i < o->ncounters; i++) {
		free(o->counters[i]->for_me.v);
		free(o->counters[i]->parked.v);
		free(o->counters[i]->queues);
		plan_free(&o->counters[i]->plan);
		free(o->counters[i]->name);
		free(o->counters[i]);
	}
	for (int i = 0; i < o->ncarried; i++)
		ticket_free(o->carried[i]);
	free(o->carried);
	office_bookings_free(o);
	free(o->status_enc);
	free(o->queues);
	free(o->counters);
	free(o->code);
	free(o->name);
	free(o->tz);
	free(o);
}

/* ---- changes: write-through with group commit --------------------------- */

struct change {
	struct engine *e;
	int office_id;
	engine_reply_fn reply;
	void *ctx;
	json_t *events;
	json_t *result;
	struct store_batch *batch;
};

static struct pool change_pool = POOL_INIT(struct change, 4096);

struct change *change_begin(struct engine *e, struct office *o, engine_reply_fn reply, void *ctx)
{
	struct change *c = pool_get(&change_pool);
	o->gen++; /* what status shows is about to change */
	c->e = e;
	c->office_id = o->id;
	c->reply = reply;
	c->ctx = ctx;
	c->events = json_array();
	return c;
}

void change_write(struct change *c, const char *stmt, int n, const char *const *values)
{
	struct engine *e = c->e;

	if (!e->has_store)
		return;
	if (!c->batch) {
		c->batch = e->store.ops->batch(e->store.self);
		/* Fencing: the batch commits only while this daemon still
		 * holds the office with this epoch (sql/014_nodes.sql). */
		if (e->ownership && e->store.ops->fence)
			e->store.ops->fence(e->store.self, c->batch, c->office_id,
					    engine_office_epoch(e, c->office_id));
	}
	e->store.ops->add(e->store.self, c->batch, stmt, n, values);
}

uint64_t change_seq(const struct change *c)
{
	return c->batch ? c->e->store.ops->seq(c->e->store.self, c->batch) : 0;
}

void change_wait_for(struct change *c, uint64_t seq)
{
	struct engine *e = c->e;

	if (e->has_store && seq)
		c->batch = e->store.ops->pending(e->store.self, seq);
}

void change_event(struct change *c, json_t *event)
{
	json_array_append_new(c->events, event);
}

static void engine_batch_failed(struct engine *e);

void engine_emit(struct engine *e, int office_id, const json_t *event)
{
	struct engine_event ev = { .office_id = office_id };
	char *line;

	if (!e->hooks.emit)
		return;
	ev.kind = json_string_value(json_object_get(event, "event"));
	line = proto_encode_event(event, &ev.len);
	if (!line)
		xoom("proto_encode_event");
	ev.line = line;
	e->hooks.emit(e->hooks.emit_arg, &ev);
	free(line);
}

void engine_emit_now(struct engine *e, struct office *o, json_t *ev)
{
	engine_emit(e, o->id, ev);
	if (e->hooks.emit_flush)
		e->hooks.emit_flush(e->hooks.emit_arg);
	json_decref(ev);
}

static void change_done(void *arg, bool ok)
{
	struct change *c = arg;
	struct engine *e = c->e;
	size_t i;
	json_t *ev;

	if (!ok) {
		if (c->reply)
			c->reply(c->ctx, PERR_UNAVAILABLE,
				 "the database did not confirm the change: nothing was changed",
				 NULL);
		json_decref(c->result);
		json_decref(c->events);
		pool_put(&change_pool, c);
		engine_batch_failed(e);
		return;
	}
	/* Events go out before the reply: subscribers learn no later than the caller. */
	json_array_foreach(c->events, i, ev)
		engine_emit(e, c->office_id, ev);
	if (json_array_size(c->events) && e->hooks.emit_flush)
		e->hooks.emit_flush(e->hooks.emit_arg);
	if (c->reply)
		c->reply(c->ctx, PROTO_OK, NULL, c->result);
	else
		json_decref(c->result);
	json_decref(c->events);
	pool_put(&change_pool, c);
}

void change_commit(struct change *c, json_t *result)
{
	struct engine *e = c->e;

	c->result = result;
	if (c->batch)
		e->store.ops->on_done(e->store.self, c->batch, change_done, c);
	else
		change_done(c, true);
}

/* A failed batch means memory may hold what the database does not:
 * refuse what was built on it, then reload. */
static void engine_batch_failed(struct engine *e)
{
	if (e->stale)
		return; /* already handled for this failure */
	e->stale = true;
	e->gen++;
	log_warn("engine: a commit failed; reloading every office from the database");
	if (e->has_store)
		e->store.ops->fail_unsent(e->store.self);
	if (e->has_store && e->store.ops->is_up(e->store.self))
		engine_load(e);
}

bool engine_is_stale(const struct engine *e)
{
	return e->stale || e->loading || (e->has_store && !e->store.ops->is_up(e->store.self));
}

void engine_db_state(struct engine *e, bool up)
{
	e->gen++;
	if (!up)
		e->stale = true; /* not served again before a load */
	if (up) {
		/* Anything may have changed while we were away. */
		e->stale = true;
		engine_load(e);
	}
}

bool queue_takes_tickets(const struct queue *q, int64_t now)
{
	return q->open && plan_covers(&q->plan, now);
}

bool office_has_plans(const struct office *o)
{
	for (int i = 0; i < o->ncounters; i++)
		if (o->counters[i]->plan.planned)
			return true;
	for (int i = 0; i < o->nqueues; i++)
		if (o->queues[i]->plan.planned)
			return true;
	return false;
}

/* Sends the queues whose ticket hours began or ended since the last
 * tick, and has the estimates made again: newcomers stop or start. */
static void office_ticket_hours_tick(struct engine *e, struct office *o, int64_t now)
{
	for (int i = 0; i < o->nqueues; i++) {
		struct queue *q = o->queues[i];

		if (!q->plan.planned || q->took_tickets == queue_takes_tickets(q, now))
			continue;
		q->took_tickets = !q->took_tickets;
		o->gen++;
		if (q->active)
			engine_emit_now(e, o, queue_event(e, o, q, now));
	}
}

void engine_tick(struct engine *e)
{
	int64_t now = engine_now(e);
	bool new_day = false;

	if (engine_is_stale(e))
		return;
	for (int i = 0; i < e->noffices; i++) {
		if (!office_served(e->offices[i]))
			continue; /* its owner writes its day's end */
		if (now >= e->offices[i]->day_end) {
			engine_rollover(e, e->offices[i]);
			new_day = true;
		}
		office_bookings_sweep(e, e->offices[i], now, false);
		office_ticket_hours_tick(e, e->offices[i], now);
	}
	if (new_day) { /* the earlier weeks of the new day's weekday */
		e->arrivals_wanted++;
		engine_load_arrivals(e);
	}
}

/* ---- requests ----------------------------------------------------------- */

void engine_submit(struct engine *e, const struct engine_req *req, engine_reply_fn reply, void *ctx)
{
	struct office *o = engine_office(e, req->office_id);

	if (!o) {
		reply(ctx, PERR_NOT_FOUND, "no such office", NULL);
		return;
	}
	if (!office_served(o)) {
		/* Its sessions are being closed: the next hello finds the owner. */
		reply(ctx, PERR_UNAVAILABLE,
		      "this daemon no longer serves the office: reconnect (hello says where)",
		      NULL);
		return;
	}
	engine_now(e); /* reads too: estimates count from now */
	engine_ops_dispatch(e, o, req, reply, ctx);
}

const char *engine_status_encoded(struct engine *e, int office_id, size_t *len)
{
	struct office *o = engine_office(e, office_id);
	bool stale = engine_is_stale(e) || (o && !office_served(o));
	int64_t now = engine_now(e);

	if (!o)
		return NULL;
	/* Estimates count down as time passes: rebuilt every few seconds
	 * even when nothing changed. */
	if (!o->status_enc || o->status_gen != o->gen || o->status_egen != e->gen ||
	    o->status_stale != stale || now - o->status_at > STATUS_REFRESH_US ||
	    now < o->status_at) {
		o->status_at = now;
		json_t *st = status_json(e, o);

		free(o->status_enc);
		o->status_enc = proto_encode_members(st, &o->status_len);
		json_decref(st);
		if (!o->status_enc)
			return NULL;
		o->status_gen = o->gen;
		o->status_egen = e->gen;
		o->status_stale = stale;
	}
	*len = o->status_len;
	return o->status_enc;
}

struct engine *engine_new(const struct engine_store *store, const struct engine_hooks *hooks)
{
	struct engine *e = xcalloc(1, sizeof *e);

	if (store) {
		e->store = *store;
		e->has_store = true;
	}
	e->hooks = *hooks;
	if (!e->hooks.clock)
		e->hooks.clock = real_clock;
	return e;
}

void engine_set_emit_arg(struct engine *e, void *arg)
{
	e->hooks.emit_arg = arg;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->noffices; i++)
		office_free(e->offices[i]);
	free(e->offices);
	engine_drop_ticket_rows(e); /* of a load still streaming */
	engine_owners_free(e);
	free(e);
}
