/* An in-memory kolapp database behind the store interface (see
 * fake_store.h): the queue of jobs and the loads; the tables and their
 * writes are fake_db.c's. */
#include "tests/unit/fake_store.h"
#include "tests/unit/fake_db.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cb {
	store_done_fn fn;
	void *arg;
};

/* A queued job: a write batch or a load, in one queue as in pgw. */
struct job {
	struct job *next;
	uint64_t seq;
	bool load, tickets;
	store_ticket_fn on_ticket;
	store_loaded_fn loaded;
	void *loaded_arg;
	bool sent;       /* no longer open to new changes */
	bool doomed;     /* sent behind a batch that failed */
	bool late_write; /* a write was added after it was sent */
	struct fake_write *writes;
	int nwrites, capwrites;
	struct cb *cbs;
	int ncbs, capcbs;
};

struct fake_store {
	int64_t (*clock)(void *arg);
	void *clock_arg;
	bool up;
	int loads_fail_midway; /* the next this many loads fail after their rows */
	struct fake_db db;
	struct job *head, *tail;
	uint64_t last_seq;
	int nrefused;
};

/* ---- the queue of jobs ------------------------------------------------ */

static struct job *job_new(struct fake_store *fs, bool load)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->seq = ++fs->last_seq;
	j->load = load;
	if (fs->tail)
		fs->tail->next = j;
	else
		fs->head = j;
	fs->tail = j;
	return j;
}

static void job_unlink(struct fake_store *fs, struct job *j)
{
	struct job **pp = &fs->head;

	while (*pp != j)
		pp = &(*pp)->next;
	*pp = j->next;
	j->next = NULL;
	fs->tail = NULL;
	for (struct job *k = fs->head; k; k = k->next)
		fs->tail = k;
}

static void job_free(struct job *j)
{
	for (int i = 0; i < j->nwrites; i++) {
		for (int k = 0; k < j->writes[i].n; k++)
			free(j->writes[i].values[k]);
		free(j->writes[i].values);
		free(j->writes[i].stmt);
	}
	free(j->writes);
	free(j->cbs);
	free(j);
}

/* Unlinked before the callbacks run: they may fail, queue or open jobs. */
static void job_finish(struct fake_store *fs, struct job *j, bool ok)
{
	job_unlink(fs, j);
	if (j->load)
		j->loaded(j->loaded_arg, NULL, "database unavailable");
	for (int i = 0; i < j->ncbs; i++)
		j->cbs[i].fn(j->cbs[i].arg, ok);
	job_free(j);
}

/* Fails the queued jobs that sel picks, in order. */
static void fail_jobs(struct fake_store *fs, bool (*sel)(const struct job *j))
{
	struct job *j;

	while (true) {
		for (j = fs->head; j && !sel(j); j = j->next)
			;
		if (!j)
			return;
		job_finish(fs, j, false);
	}
}

static bool unsent_batch(const struct job *j)
{
	return !j->load && !j->sent;
}

static bool unsent_job(const struct job *j)
{
	return j->load || !j->sent;
}

/* ---- the interface ---------------------------------------------------- */

static bool f_is_up(void *self)
{
	return ((struct fake_store *)self)->up;
}

static bool f_has_writes(void *self)
{
	return fake_store_batches(self) > 0;
}

static struct store_batch *f_batch(void *self)
{
	struct fake_store *fs = self;
	struct job *t = fs->tail;

	if (!t || t->load || t->sent)
		t = job_new(fs, false);
	return (struct store_batch *)t;
}

static void f_add(void *self, struct store_batch *b, const char *stmt, int n,
		  const char *const *values)
{
	struct job *j = (struct job *)b;
	struct fake_write *w;

	if (j->sent)
		j->late_write = true;
	j->writes = xgrow(j->writes, &j->capwrites, j->nwrites + 1, sizeof *j->writes);
	w = &j->writes[j->nwrites++];
	w->stmt = xstrdup(stmt);
	w->n = n;
	w->values = xcalloc((size_t)n, sizeof *w->values);
	for (int i = 0; i < n; i++)
		w->values[i] = values[i] ? xstrdup(values[i]) : NULL;
}

static uint64_t f_seq(void *self, const struct store_batch *b)
{
	return ((const struct job *)b)->seq;
}

static struct store_batch *f_pending(void *self, uint64_t seq)
{
	for (struct job *j = ((struct fake_store *)self)->head; j; j = j->next)
		if (!j->load && j->seq == seq)
			return (struct store_batch *)j;
	return NULL;
}

static void f_on_done(void *self, struct store_batch *b, store_done_fn fn, void *arg)
{
	struct job *j = (struct job *)b;

	j->cbs = xgrow(j->cbs, &j->capcbs, j->ncbs + 1, sizeof *j->cbs);
	j->cbs[j->ncbs++] = (struct cb){ fn, arg };
}

static void f_fail_unsent(void *self)
{
	fail_jobs(self, unsent_batch);
}

static void f_load(void *self, bool tickets, store_ticket_fn on_ticket, store_loaded_fn fn,
		   void *arg)
{
	struct job *j = job_new(self, true);

	j->tickets = tickets;
	j->on_ticket = on_ticket;
	j->loaded = fn;
	j->loaded_arg = arg;
}

static const struct store_ops fake_ops = {
	.is_up = f_is_up,
	.has_writes = f_has_writes,
	.batch = f_batch,
	.add = f_add,
	.seq = f_seq,
	.pending = f_pending,
	.on_done = f_on_done,
	.fail_unsent = f_fail_unsent,
	.load = f_load,
};

struct engine_store fake_store_iface(struct fake_store *fs)
{
	return (struct engine_store){ &fake_ops, fs };
}

/* ---- loads ------------------------------------------------------------ */

static int cmp_cq(const void *a, const void *b)
{
	const struct store_counter_queue *x = a, *y = b;

	if (x->counter_id != y->counter_id)
		return x->counter_id < y->counter_id ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->queue_id > y->queue_id) - (x->queue_id < y->queue_id);
}

/* ORDER BY office_id, business_day, sort_at, id */
static int cmp_ticket(const void *a, const void *b)
{
	const struct fake_ticket *x = *(const struct fake_ticket *const *)a;
	const struct fake_ticket *y = *(const struct fake_ticket *const *)b;

	if (x->office_id != y->office_id)
		return x->office_id < y->office_id ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->sort_at != y->sort_at)
		return x->sort_at < y->sort_at ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void answer_load(struct fake_store *fs, struct job *j)
{
	const struct fake_db *db = &fs->db;
	struct store_office offices[FAKE_CONFIG_MAX];
	struct store_queue queues[FAKE_CONFIG_MAX];
	struct store_counter counters[FAKE_CONFIG_MAX];
	struct store_counter_queue cqs[FAKE_CONFIG_MAX * FAKE_CONFIG_MAX];
	const struct fake_ticket **sel = xcalloc((size_t)db->ntickets, sizeof *sel);
	int *order = xcalloc((size_t)db->ntickets + 1, sizeof *order);
	int32_t today = (int32_t)(fs->clock(fs->clock_arg) / (INT64_C(86400) * 1000000));
	struct store_snapshot snap = {
		.offices = offices,
		.noffices = db->noffices,
		.queues = queues,
		.nqueues = db->nqueues,
		.counters = counters,
		.ncounters = db->ncounters,
		.counter_queues = cqs,
		.ncounter_queues = db->ncqs,
		.ticket_order = order,
	};
	int n = 0;

	for (int i = 0; i < db->noffices; i++) {
		const struct office_row *o = &db->offices[i];
		offices[i] =
			(struct store_office){ o->id, o->code, o->code, o->tz, NULL, 1800, 600 };
	}
	for (int i = 0; i < db->nqueues; i++) {
		const struct queue_row *q = &db->queues[i];
		/* The policy columns' defaults (migration 9). */
		queues[i] = (struct store_queue){
			.id = q->id,
			.office_id = q->office_id,
			.code = q->code,
			.name = q->code,
			.open = true,
			.active = true,
			.min_calls = 1,
			.reactivate_within_s = 900,
			.allow_priority = true
		};
	}
	for (int i = 0; i < db->ncounters; i++) {
		const struct counter_row *c = &db->counters[i];
		counters[i] = (struct store_counter){ .id = c->id,
						      .office_id = c->office_id,
						      .name = c->name,
						      .open = c->open,
						      .active = true };
	}
	memcpy(cqs, db->cqs, (size_t)db->ncqs * sizeof *cqs);
	for (int i = 0; i < db->ncqs; i++)
		cqs[i].weight = cqs[i].weight ? cqs[i].weight : 1;
	qsort(cqs, (size_t)db->ncqs, sizeof *cqs, cmp_cq);
	/* load_tickets: since yesterday (current_date - 1), and earlier ones
	 * still open. */
	for (int i = 0; j->tickets && i < db->ntickets; i++) {
		const struct fake_ticket *t = &db->tickets[i];
		if (t->day >= today - 1 || fake_db_state_in(t, "waiting", "called") ||
		    fake_db_state_in(t, "serving", "parked"))
			sel[n++] = t;
	}
	qsort(sel, (size_t)n, sizeof *sel, cmp_ticket);
	/* The rows go out last first, as a server may send them: the engine
	 * must follow ticket_order, not the order of arrival. */
	for (int i = n - 1; i >= 0; i--) {
		const struct fake_ticket *t = sel[i];
		const struct store_ticket row = {
			.office_id = t->office_id,
			.day = t->day,
			.origin_queue_id = t->origin_queue_id,
			.queue_id = t->queue_id,
			.number = t->number,
			.code = t->code,
			.state = t->state,
			.issued_at = t->issued_at,
			.sort_at = t->sort_at,
			.called_at = t->called_at,
			.started_at = t->started_at,
			.finished_at = t->finished_at,
			.counter_id = t->counter_id,
			.recalls = t->recalls,
			.key = t->key,
			.priority = t->priority,
			.interpreter = t->interpreter[0] ? t->interpreter : NULL,
			.lang = t->lang[0] ? t->lang : NULL,
			.outcome = t->outcome[0] ? t->outcome : NULL,
			.for_counter_id = t->for_counter_id,
		};

		j->on_ticket(j->loaded_arg, &row);
		order[i] = n - 1 - i;
	}
	snap.ntickets = n;
	if (fs->loads_fail_midway > 0) {
		fs->loads_fail_midway--;
		j->loaded(j->loaded_arg, NULL, "connection lost during the load");
	} else {
		j->loaded(j->loaded_arg, &snap, NULL);
	}
	free(sel);
	free(order);
}

/* ---- what the test drives --------------------------------------------- */

struct fake_store *fake_store_new(int64_t (*clock)(void *arg), void *clock_arg)
{
	struct fake_store *fs = xcalloc(1, sizeof *fs);

	fs->clock = clock;
	fs->clock_arg = clock_arg;
	fs->up = true;
	return fs;
}

void fake_store_free(struct fake_store *fs)
{
	if (!fs)
		return;
	while (fs->head) {
		struct job *j = fs->head;
		fs->head = j->next;
		job_free(j);
	}
	fake_db_free(&fs->db);
	free(fs);
}

void fake_store_add_office(struct fake_store *fs, int id, const char *code, const char *tz)
{
	struct office_row *o = &fs->db.offices[fs->db.noffices++];

	o->id = id;
	snprintf(o->code, sizeof o->code, "%s", code);
	snprintf(o->tz, sizeof o->tz, "%s", tz);
}

void fake_store_add_queue(struct fake_store *fs, int id, int office_id, const char *code)
{
	struct queue_row *q = &fs->db.queues[fs->db.nqueues++];

	q->id = id;
	q->office_id = office_id;
	snprintf(q->code, sizeof q->code, "%s", code);
}

void fake_store_add_counter(struct fake_store *fs, int id, int office_id, const char *name,
			    bool open)
{
	struct counter_row *c = &fs->db.counters[fs->db.ncounters++];

	c->id = id;
	c->office_id = office_id;
	snprintf(c->name, sizeof c->name, "%s", name);
	c->open = open;
}

void fake_store_add_counter_queue(struct fake_store *fs, int counter_id, int queue_id, int rank)
{
	fs->db.cqs[fs->db.ncqs++] = (struct store_counter_queue){ counter_id, queue_id, rank, 1 };
}

int fake_store_exec(struct fake_store *fs, const char *stmt, int n, const char *const *values)
{
	struct fake_write w = { (char *)stmt, n, (char **)values };

	return fake_db_transaction(&fs->db, &w, 1) ? 0 : -1;
}

void fake_store_set_up(struct fake_store *fs, bool up)
{
	fs->up = up;
	if (!up)
		fail_jobs(fs, unsent_job);
}

void fake_store_send(struct fake_store *fs)
{
	for (struct job *j = fs->head; fs->up && j; j = j->next)
		if (!j->load)
			j->sent = true;
}

int fake_store_commit_next(struct fake_store *fs, bool ok)
{
	struct job *j = fs->head;

	if (!j || j->load)
		return -1;
	j->sent = true;
	if (ok && !j->doomed) {
		if (j->late_write) {
			snprintf(fs->db.refusal, sizeof fs->db.refusal,
				 "a write joined batch %llu after it was sent",
				 (unsigned long long)j->seq);
			fs->nrefused++;
			ok = false;
		} else if (!fake_db_transaction(&fs->db, j->writes, j->nwrites)) {
			fs->nrefused++;
			ok = false;
		}
	} else {
		ok = false;
	}
	/* kolapp.d_batch_mark: a batch sent behind a failed one cannot commit. */
	for (struct job *k = j->next; !ok && k; k = k->next)
		if (!k->load && k->sent)
			k->doomed = true;
	job_finish(fs, j, ok);
	return ok;
}

void fake_store_fail_loads_midway(struct fake_store *fs, int n)
{
	fs->loads_fail_midway = n;
}

int fake_store_run_loads(struct fake_store *fs)
{
	int n = 0;

	while (fs->up && fs->head && fs->head->load) {
		struct job *j = fs->head;
		job_unlink(fs, j);
		answer_load(fs, j);
		job_free(j);
		n++;
	}
	return n;
}

void fake_store_settle(struct fake_store *fs)
{
	while (fs->up && fs->head)
		if (fake_store_commit_next(fs, true) < 0)
			fake_store_run_loads(fs);
}

int fake_store_batches(const struct fake_store *fs)
{
	int n = 0;

	for (const struct job *j = fs->head; j; j = j->next)
		n += !j->load;
	return n;
}

int fake_store_loads(const struct fake_store *fs)
{
	int n = 0;

	for (const struct job *j = fs->head; j; j = j->next)
		n += j->load;
	return n;
}

int fake_store_open_writes(const struct fake_store *fs)
{
	const struct job *t = fs->tail;

	return t && !t->load && !t->sent ? t->nwrites : 0;
}

int fake_store_nrefused(const struct fake_store *fs)
{
	return fs->nrefused;
}

const char *fake_store_refusal(const struct fake_store *fs)
{
	return fs->db.refusal;
}

int fake_store_ntickets(const struct fake_store *fs)
{
	return fs->db.ntickets;
}

const struct fake_ticket *fake_store_ticket_at(const struct fake_store *fs, int i)
{
	return i >= 0 && i < fs->db.ntickets ? &fs->db.tickets[i] : NULL;
}

const struct fake_ticket *fake_store_ticket(const struct fake_store *fs, int office_id, int32_t day,
					    const char *code)
{
	return fake_db_ticket((struct fake_db *)&fs->db, office_id, day, code);
}

bool fake_store_counter_open(const struct fake_store *fs, int counter_id)
{
	const struct counter_row *c = fake_db_counter((struct fake_db *)&fs->db, counter_id);

	return c && c->open;
}
