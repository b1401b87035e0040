#include "daemon/store/store_pg.h"
#include "daemon/store/pgarray.h"
#include "daemon/store/pgw.h"
#include "daemon/util/log.h"
#include "daemon/util/pool.h"
#include "daemon/util/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

/* The store's batches are pgw's jobs: no record of our own. self is the
 * caller's struct store_pg_conns. */
#define WRITES(self) (((const struct store_pg_conns *)(self))->writes)
#define READS(self) (((const struct store_pg_conns *)(self))->reads)
#define JOB(b) ((struct pgw_job *)(b))
#define BATCH(j) ((struct store_batch *)(j))

/* The engine wants today's tickets by office, day, sort time and id (the
 * id breaks ties as the daemon's order of issue did); load_tickets leaves
 * the order to us, so the sort runs on these keys and not on wide rows. */
struct ticket_key {
	int office_id, row;
	int32_t day;
	int64_t sort_at, id;
};

/* load_tickets' rows: handed on as they arrive, their keys kept. */
struct ticket_rows {
	struct ticket_key *keys;
	int n, cap;
	bool sorted;       /* so far, in the engine's order */
	bool checked;      /* the columns' types */
	const char *error; /* set: the rows are not what we asked for */
};

struct load {
	bool tickets;
	store_ticket_fn on_ticket;
	store_loaded_fn fn;
	void *arg;
	struct ticket_rows rows;
};

static const char *const load_stmts[] = {
	"load_offices",  "load_queues",      "load_counters", "load_counter_queues",
	"load_outcomes", "load_queue_texts", "load_bookings", "load_tickets",
};
#define LOAD_CONFIG 7 /* the first seven: configuration (and bookings) without tickets */
#define LOAD_ALL 8
#define R_QUEUE_TEXTS 5
#define R_BOOKINGS 6
#define R_TICKETS 7

static bool pg_is_up(void *self)
{
	return pgw_is_up(WRITES(self));
}

static bool pg_has_writes(void *self)
{
	return pgw_has_batches(WRITES(self));
}

static struct store_batch *pg_batch(void *self)
{
	return BATCH(pgw_batch(WRITES(self)));
}

static void pg_add(void *self, struct store_batch *b, const char *stmt, int n,
		   const char *const *values)
{
	pgw_job_add(JOB(b), stmt, n, values);
}

static void pg_fence(void *self, struct store_batch *b, int office_id, int64_t epoch)
{
	(void)self;
	pgw_job_fence(JOB(b), office_id, epoch);
}

static uint64_t pg_seq(void *self, const struct store_batch *b)
{
	return pgw_job_seq((const struct pgw_job *)b);
}

static struct store_batch *pg_pending(void *self, uint64_t seq)
{
	return BATCH(pgw_find_pending(WRITES(self), seq));
}

/* pgw's callback carries a result; the engine only wants to know ok.
 * One per change, so from a free list. */
struct done {
	store_done_fn fn;
	void *arg;
};

static struct pool done_pool = POOL_INIT(struct done, 4096);

static void on_job_done(void *arg, const struct pgw_result *res)
{
	struct done d = *(struct done *)arg;

	pool_put(&done_pool, arg);
	d.fn(d.arg, res->ok);
}

static void pg_on_done(void *self, struct store_batch *b, store_done_fn fn, void *arg)
{
	struct done *d = pool_get(&done_pool);

	d->fn = fn;
	d->arg = arg;
	pgw_job_on_done(JOB(b), on_job_done, d);
}

static void pg_fail_unsent(void *self)
{
	pgw_fail_batches(WRITES(self));
}

static bool col_bool(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

static int col_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : atoi(PQgetvalue(r, row, col));
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *col_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* A plan column (bigint[] as text, NULL: no plan); the caller frees
 * .hours. */
static struct store_plan plan_of(const PGresult *r, int row, int col)
{
	int64_t *hours = NULL;
	int n = col_str(r, row, col) ? pgarray_parse_int64(col_str(r, row, col), &hours) : -1;

	return (struct store_plan){
		.planned = n >= 0, .hours = hours, .nhours = n >= 0 ? n - n % 2 : 0
	};
}

static int cmp_ticket_key(const void *a, const void *b)
{
	const struct ticket_key *x = a, *y = b;

	if (x->office_id != y->office_id)
		return x->office_id < y->office_id ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->sort_at != y->sort_at)
		return x->sort_at < y->sort_at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Binary values (load_tickets): network byte order; dates and times
 * count from 2000-01-01, ours from 1970-01-01 (tzday's days, unix us). */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US (PG_EPOCH_DAYS * INT64_C(86400000000))

static uint64_t be_bytes(const char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

static int bin_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : (int)(int32_t)be_bytes(PQgetvalue(r, row, col), 4);
}

static int64_t bin_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : (int64_t)be_bytes(PQgetvalue(r, row, col), 8);
}

static int64_t bin_us(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : bin_i64(r, row, col) + PG_EPOCH_US;
}

static bool bin_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] != 0;
}

/* 'infinity' and '-infinity' are the extremes of the binary forms: not
 * a time a ticket can have, and our epoch's offset would overflow them.
 * (As text, they made the load fail: bigint out of range.) */
static bool bin_finite(const PGresult *r, int row, int col, int size)
{
	uint64_t v;

	if (PQgetisnull(r, row, col))
		return true;
	v = be_bytes(PQgetvalue(r, row, col), size);
	return size == 8 ? v != (uint64_t)INT64_MAX && v != (uint64_t)INT64_MIN
			 : v != (uint32_t)INT32_MAX && v != (uint32_t)INT32_MIN;
}

static bool ticket_row_finite(const PGresult *t, int i)
{
	static const int times[] = { 7, 8, 9, 10, 11, 23 };

	if (!bin_finite(t, i, 1, 4))
		return false;
	for (size_t k = 0; k < sizeof times / sizeof times[0]; k++)
		if (!bin_finite(t, i, times[k], 8))
			return false;
	return true;
}

/* The row's result holds the string (NUL-terminated by libpq). */
static const char *bin_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* The types TICKET_COLUMNS pins (pg_type's OIDs, fixed since 7.x): a
 * change to one side without the other fails the load, not the data.
 * Checked once (each row's result has the same columns); the binary
 * forms of these types have fixed sizes, which the readers rely on. */
enum {
	T_BOOL = 16,
	T_BYTEA = 17,
	T_INT8 = 20,
	T_INT4 = 23,
	T_TEXT = 25,
	T_DATE = 1082,
	T_TSTZ = 1184
};
static const unsigned ticket_types[] = {
	T_INT4, T_DATE, T_INT4, T_INT4, T_INT4, T_TEXT,  T_TEXT, T_TSTZ,
	T_TSTZ, T_TSTZ, T_TSTZ, T_TSTZ, T_INT4, T_INT4,  T_TEXT, T_INT8,
	T_BOOL, T_TEXT, T_TEXT, T_TEXT, T_INT4, T_BYTEA, T_BOOL, T_TSTZ,
};
#define TICKET_NCOLS ((int)(sizeof ticket_types / sizeof ticket_types[0]))

static bool ticket_columns_ok(const PGresult *t)
{
	if (PQnfields(t) != TICKET_NCOLS)
		return false;
	for (int c = 0; c < TICKET_NCOLS; c++)
		if (PQftype(t, c) != ticket_types[c] || PQfformat(t, c) != 1)
			return false;
	return true;
}

/* pgw's rows callback for load_tickets: each row goes to the engine as
 * a store_ticket pointing into the row's result (freed after this). */
static void on_ticket_rows(void *arg, const PGresult *t)
{
	struct load *l = arg;
	struct ticket_rows *rs = &l->rows;
	int n = PQntuples(t);

	if (rs->error)
		return;
	if (!rs->checked && n > 0) {
		if (!ticket_columns_ok(t)) {
			rs->error = "load_tickets: the columns are not the types the daemon reads";
			return;
		}
		rs->checked = true;
	}
	for (int i = 0; i < n; i++) {
		bool hashed = !PQgetisnull(t, i, 21) && PQgetlength(t, i, 21) == STORE_HASH_LEN;
		struct store_ticket row;

		if (!ticket_row_finite(t, i)) {
			log_warn("load_tickets: ticket %s has an infinite date or time: skipped",
				 bin_str(t, i, 5));
			continue;
		}
		row = (struct store_ticket){
			.office_id = bin_int(t, i, 0),
			.day = bin_int(t, i, 1) + PG_EPOCH_DAYS,
			.origin_queue_id = bin_int(t, i, 2),
			.queue_id = bin_int(t, i, 3),
			.number = bin_int(t, i, 4),
			.code = bin_str(t, i, 5),
			.state = bin_str(t, i, 6),
			.issued_at = bin_us(t, i, 7),
			.sort_at = bin_us(t, i, 8),
			.called_at = bin_us(t, i, 9),
			.started_at = bin_us(t, i, 10),
			.finished_at = bin_us(t, i, 11),
			.counter_id = bin_int(t, i, 12),
			.recalls = bin_int(t, i, 13),
			.key = bin_str(t, i, 14),
			/* 15 is the id, for the ordering */
			.priority = bin_bool(t, i, 16),
			.interpreter = bin_str(t, i, 17),
			.lang = bin_str(t, i, 18),
			.outcome = bin_str(t, i, 19),
			.for_counter_id = bin_int(t, i, 20),
			.visitor_hash = hashed ? (const unsigned char *)PQgetvalue(t, i, 21) : NULL,
			.rated = bin_bool(t, i, 22),
			.appointment = bin_us(t, i, 23),
		};

		if (rs->n == rs->cap) {
			rs->cap = rs->cap ? rs->cap * 2 : 1024;
			rs->keys = xrealloc(rs->keys, (size_t)rs->cap * sizeof *rs->keys);
		}
		rs->keys[rs->n] = (struct ticket_key){ row.office_id, rs->n, row.day, row.sort_at,
						       bin_i64(t, i, 15) };
		if (rs->n && rs->sorted &&
		    cmp_ticket_key(&rs->keys[rs->n - 1], &rs->keys[rs->n]) > 0)
			rs->sorted = false;
		rs->n++;
		l->on_ticket(l->arg, &row);
	}
}

/* Sorts the keys by office, day, sort time and id. The offices' rows
 * interleave, but each office's come nearly in order (its tickets as
 * they were issued): grouped by office first (a stable counting sort),
 * only an office whose group is out of order is sorted, and on its own.
 * Over 200,000 tickets, one qsort of them all was 8 % of the start-up. */
static void sort_ticket_keys(struct ticket_key *keys, int n)
{
	int max = 0, *at;
	struct ticket_key *tmp;

	for (int i = 0; i < n; i++) {
		if (keys[i].office_id < 0)
			max = INT_MAX; /* not a serial id: the plain sort */
		else if (keys[i].office_id > max)
			max = keys[i].office_id;
	}
	if (max > 10 * n + 1024) { /* ids too sparse to count by */
		qsort(keys, (size_t)n, sizeof *keys, cmp_ticket_key);
		return;
	}
	at = xcalloc((size_t)max + 2, sizeof *at);
	tmp = xmalloc((size_t)n * sizeof *tmp);
	for (int i = 0; i < n; i++)
		at[keys[i].office_id + 1]++;
	for (int o = 1; o <= max + 1; o++)
		at[o] += at[o - 1];
	for (int i = 0; i < n; i++)
		tmp[at[keys[i].office_id]++] = keys[i];
	memcpy(keys, tmp, (size_t)n * sizeof *keys);
	free(tmp);
	free(at);
	for (int from = 0, to; from < n; from = to) {
		bool sorted = true;

		for (to = from + 1; to < n && keys[to].office_id == keys[from].office_id; to++)
			if (sorted && cmp_ticket_key(&keys[to - 1], &keys[to]) > 0)
				sorted = false;
		if (!sorted)
			qsort(keys + from, (size_t)(to - from), sizeof *keys, cmp_ticket_key);
	}
}

/* The streamed rows' numbers in the engine's order; the caller frees
 * the array. */
static int *ticket_order(struct ticket_rows *rs)
{
	int *order = xmalloc((size_t)(rs->n ? rs->n : 1) * sizeof *order);

	if (!rs->sorted)
		sort_ticket_keys(rs->keys, rs->n);
	for (int i = 0; i < rs->n; i++)
		order[i] = rs->keys[i].row;
	return order;
}

static void ticket_rows_free(struct ticket_rows *rs)
{
	free(rs->keys);
	*rs = (struct ticket_rows){ 0 };
}

/* Column positions are those of the load statements in statements.c. */
static void decode(PGresult *const *r, struct ticket_rows *rows, struct store_snapshot *s)
{
	struct store_office *offices;
	struct store_queue *queues;
	struct store_counter *counters;
	struct store_counter_queue *cqs;
	struct store_outcome *outs;
	struct store_queue_text *texts;

	s->noffices = PQntuples(r[0]);
	s->offices = offices = xcalloc((size_t)s->noffices, sizeof *offices);
	for (int i = 0; i < s->noffices; i++)
		offices[i] = (struct store_office){
			col_int(r[0], i, 0), col_str(r[0], i, 1), col_str(r[0], i, 2),
			col_str(r[0], i, 3), col_str(r[0], i, 4), col_int(r[0], i, 5),
			col_int(r[0], i, 6)
		};
	s->nqueues = PQntuples(r[1]);
	s->queues = queues = xcalloc((size_t)s->nqueues, sizeof *queues);
	for (int i = 0; i < s->nqueues; i++)
		queues[i] = (struct store_queue){
			col_int(r[1], i, 0),  col_int(r[1], i, 1),   col_str(r[1], i, 2),
			col_str(r[1], i, 3),  col_bool(r[1], i, 4),  col_bool(r[1], i, 5),
			col_int(r[1], i, 6),  col_int(r[1], i, 7),   col_int(r[1], i, 8),
			col_bool(r[1], i, 9), col_bool(r[1], i, 10), plan_of(r[1], i, 11)
		};
	s->ncounters = PQntuples(r[2]);
	s->counters = counters = xcalloc((size_t)s->ncounters, sizeof *counters);
	for (int i = 0; i < s->ncounters; i++)
		counters[i] = (struct store_counter){
			.id = col_int(r[2], i, 0),
			.office_id = col_int(r[2], i, 1),
			.name = col_str(r[2], i, 2),
			.open = col_bool(r[2], i, 3),
			.active = col_bool(r[2], i, 4),
			.open_changed_at = col_i64(r[2], i, 5),
			.plan = plan_of(r[2], i, 6),
		};
	s->ncounter_queues = PQntuples(r[3]);
	s->counter_queues = cqs = xcalloc((size_t)s->ncounter_queues, sizeof *cqs);
	for (int i = 0; i < s->ncounter_queues; i++)
		cqs[i] = (struct store_counter_queue){ col_int(r[3], i, 0), col_int(r[3], i, 1),
						       col_int(r[3], i, 2), col_int(r[3], i, 3) };
	s->noutcomes = PQntuples(r[4]);
	s->outcomes = outs = xcalloc((size_t)s->noutcomes, sizeof *outs);
	for (int i = 0; i < s->noutcomes; i++)
		outs[i] = (struct store_outcome){ col_int(r[4], i, 0), col_str(r[4], i, 1),
						  col_str(r[4], i, 2) };
	s->nqueue_texts = PQntuples(r[R_QUEUE_TEXTS]);
	s->queue_texts = texts = xcalloc((size_t)s->nqueue_texts, sizeof *texts);
	for (int i = 0; i < s->nqueue_texts; i++)
		texts[i] = (struct store_queue_text){
			col_int(r[R_QUEUE_TEXTS], i, 0), col_str(r[R_QUEUE_TEXTS], i, 1),
			col_str(r[R_QUEUE_TEXTS], i, 2), col_str(r[R_QUEUE_TEXTS], i, 3)
		};
	struct store_booking *bs;
	s->nbookings = PQntuples(r[R_BOOKINGS]);
	s->bookings = bs = xcalloc((size_t)s->nbookings, sizeof *bs);
	for (int i = 0; i < s->nbookings; i++) {
		const PGresult *b = r[R_BOOKINGS];

		bs[i] = (struct store_booking){
			.office_id = col_int(b, i, 0),
			.queue_id = col_int(b, i, 1),
			.code = col_str(b, i, 2),
			.starts_at = col_i64(b, i, 3),
			.minutes = col_int(b, i, 4),
			.interpreter = col_str(b, i, 5),
			.reference = col_str(b, i, 6),
			.state = col_str(b, i, 7),
			.ticket = col_str(b, i, 8),
			.ticket_day = col_str(b, i, 9),
		};
	}
	if (rows) {
		s->ntickets = rows->n;
		s->ticket_order = ticket_order(rows);
	}
}

static void snapshot_free(struct store_snapshot *s)
{
	free((void *)s->offices);
	for (int i = 0; i < s->nqueues; i++)
		free((void *)s->queues[i].plan.hours);
	free((void *)s->queues);
	for (int i = 0; i < s->ncounters; i++)
		free((void *)s->counters[i].plan.hours);
	free((void *)s->counters);
	free((void *)s->counter_queues);
	free((void *)s->outcomes);
	free((void *)s->queue_texts);
	free((void *)s->ticket_order);
	free((void *)s->bookings);
	free((void *)s->visits);
}

static void on_loaded(void *arg, const struct pgw_result *res)
{
	struct load *l = arg;
	struct store_snapshot snap = { 0 };
	int want = l->tickets ? LOAD_ALL : LOAD_CONFIG;

	if (!res->ok || res->n != want) {
		l->fn(l->arg, NULL, res->error ? res->error : "the load returned no rows");
	} else if (l->rows.error) {
		l->fn(l->arg, NULL, l->rows.error);
	} else {
		decode(res->results, l->tickets ? &l->rows : NULL, &snap);
		l->fn(l->arg, &snap, NULL);
		snapshot_free(&snap);
	}
}

/* The job owns the load: freed after on_loaded, or with the job when the
 * daemon stops in the middle of a load. */
static void load_free(void *arg)
{
	struct load *l = arg;

	ticket_rows_free(&l->rows);
	free(l);
}

static void pg_load(void *self, bool tickets, store_ticket_fn on_ticket, store_loaded_fn fn,
		    void *arg)
{
	struct load *l = xmalloc(sizeof *l);
	struct pgw_job *job = pgw_job_new(false);

	*l = (struct load){ tickets, on_ticket, fn, arg, .rows.sorted = true };
	for (int i = 0; i < (tickets ? LOAD_ALL : LOAD_CONFIG); i++) {
		if (i == R_TICKETS)
			pgw_job_add_rows(job, load_stmts[i], on_ticket_rows, l);
		else
			pgw_job_add(job, load_stmts[i], 0, NULL);
	}
	pgw_job_on_done_owned_by(job, on_loaded, l, load_free);
	pgw_submit(WRITES(self), job);
}

struct history {
	store_history_fn fn;
	void *arg;
};

static void on_history(void *arg, const struct pgw_result *res)
{
	struct history *h = arg;
	const PGresult *r = res->ok && res->n == 1 ? res->results[0] : NULL;

	if (!r) {
		h->fn(h->arg, NULL, 0, res->error ? res->error : "no result");
	} else {
		int n = PQntuples(r);
		struct store_visit *vs = xcalloc((size_t)n + 1, sizeof *vs);

		for (int i = 0; i < n; i++)
			vs[i] = (struct store_visit){ col_int(r, i, 0), col_bool(r, i, 1),
						      col_i64(r, i, 2) };
		h->fn(h->arg, vs, n, NULL);
		free(vs);
	}
}

static void pg_load_history(void *self, store_history_fn fn, void *arg)
{
	struct history *h = xmalloc(sizeof *h);
	struct pgw_job *job = pgw_job_new(false);

	*h = (struct history){ fn, arg };
	pgw_job_add(job, "load_history", 0, NULL);
	pgw_job_on_done_owned(job, on_history, h);
	pgw_submit(READS(self), job);
}

struct arrivals {
	store_arrivals_fn fn;
	void *arg;
};

static void on_arrivals(void *arg, const struct pgw_result *res)
{
	struct arrivals *a = arg;
	const PGresult *r = res->ok && res->n == 1 ? res->results[0] : NULL;

	if (!r) {
		a->fn(a->arg, NULL, 0, res->error ? res->error : "no result");
	} else {
		int n = PQntuples(r);
		struct store_arrival *rows = xcalloc((size_t)n + 1, sizeof *rows);

		for (int i = 0; i < n; i++)
			rows[i] = (struct store_arrival){ col_int(r, i, 0), col_int(r, i, 1),
							  col_i64(r, i, 2) };
		a->fn(a->arg, rows, n, NULL);
		free(rows);
	}
}

static void pg_load_arrivals(void *self, store_arrivals_fn fn, void *arg)
{
	struct arrivals *a = xmalloc(sizeof *a);
	struct pgw_job *job = pgw_job_new(false);

	*a = (struct arrivals){ fn, arg };
	pgw_job_add(job, "load_arrivals", 0, NULL);
	pgw_job_on_done_owned(job, on_arrivals, a);
	pgw_submit(READS(self), job);
}

static const struct store_ops pg_ops = {
	.is_up = pg_is_up,
	.has_writes = pg_has_writes,
	.batch = pg_batch,
	.add = pg_add,
	.fence = pg_fence,
	.seq = pg_seq,
	.pending = pg_pending,
	.on_done = pg_on_done,
	.fail_unsent = pg_fail_unsent,
	.load = pg_load,
	.load_history = pg_load_history,
	.load_arrivals = pg_load_arrivals,
};

struct engine_store store_pg(const struct store_pg_conns *conns)
{
	return (struct engine_store){ &pg_ops, (void *)conns };
}
