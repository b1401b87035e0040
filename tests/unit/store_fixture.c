/* The engine on the fake store (see store_fixture.h). */
#include "tests/unit/store_fixture.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdio.h>
#include <string.h>

struct fake_store *fs;
int32_t today;

const char *const qcodes[4] = { NULL, "S", "F", "P" }; /* by queue id */
const char *const cnames[4] = { NULL, "1", "2", "3" }; /* by counter id */

static int64_t db_clock(void *arg)
{
	return now_us;
}

/* ---- requests whose reply may come later ------------------------------ */

static struct rq rqs[64];
static int nrq;
static bool in_submit;

static void rq_reply(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	struct rq *r = ctx;

	r->nreplies++;
	r->sync = in_submit;
	r->err = err;
	json_decref(r->res);
	r->res = result;
	r->nev = json_array_size(events);
}

struct rq *submit(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		  const char *key)
{
	struct proto_request args = { .op = op,
				      .counter = counter,
				      .queue = queue,
				      .ticket = ticket,
				      .key = key,
				      .priority = -1 };
	struct engine_req req = { .args = &args, .office_id = 1 };
	struct rq *r;

	ck_assert_int_lt(nrq, (int)(sizeof rqs / sizeof rqs[0]));
	r = &rqs[nrq++];
	in_submit = true;
	engine_submit(eng, &req, rq_reply, r);
	in_submit = false;
	return r;
}

void expect_pending(const struct rq *r)
{
	ck_assert_int_eq(r->nreplies, 0);
}

void expect_later(const struct rq *r, enum proto_err err)
{
	ck_assert_int_eq(r->nreplies, 1);
	ck_assert_int_eq(r->err, err);
	ck_assert_msg(!r->sync, "answered before its commit");
}

const char *rq_code(const struct rq *r)
{
	return str(json_object_get(r->res, "ticket"), "code");
}

struct rq *committed(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		     const char *key)
{
	struct rq *r = submit(op, counter, queue, ticket, key);

	fake_store_settle(fs);
	expect_later(r, PROTO_OK);
	return r;
}

void issue_committed(const char *queue, const char *key, const char *want)
{
	ck_assert_str_eq(rq_code(committed(OP_ISSUE, NULL, queue, NULL, key)), want);
}

/* ---- the engine against the database ---------------------------------- */

const struct fake_ticket *db_ticket(const char *code)
{
	return fake_store_ticket(fs, 1, today, code);
}

/* 1-based place among the waiting tickets of its queue: by sort_at, then
 * id, as the load orders them. */
static int db_position(const struct fake_ticket *t)
{
	int pos = 1;

	for (int i = 0; i < fake_store_ntickets(fs); i++) {
		const struct fake_ticket *o = fake_store_ticket_at(fs, i);
		if (o->office_id == t->office_id && o->day == t->day &&
		    o->queue_id == t->queue_id && !strcmp(o->state, "waiting") &&
		    (o->sort_at < t->sort_at || (o->sort_at == t->sort_at && o->id < t->id)))
			pos++;
	}
	return pos;
}

static void expect_ticket_is_row(const struct fake_ticket *t)
{
	json_t *j = ticket(t->code);
	char buf[32];

	ck_assert_str_eq(str(j, "state"), t->state);
	ck_assert_str_eq(str(j, "queue"), qcodes[t->queue_id]);
	ck_assert_int_eq(num(j, "number"), t->number);
	ck_assert_int_eq(num(j, "recalls"), t->recalls);
	tzday_iso8601(t->issued_at, buf);
	ck_assert_str_eq(str(j, "issued_at"), buf);
	if (t->called_at) {
		tzday_iso8601(t->called_at, buf);
		ck_assert_str_eq(str(j, "called_at"), buf);
	} else {
		assert_null(j, "called_at");
	}
	if (t->counter_id && strcmp(t->state, "waiting"))
		ck_assert_str_eq(str(j, "counter"), cnames[t->counter_id]);
	else
		assert_null(j, "counter");
	if (!strcmp(t->state, "waiting"))
		ck_assert_int_eq(num(j, "position"), db_position(t));
}

void assert_engine_matches_db(void)
{
	ck_assert(!engine_is_stale(eng));
	for (int q = 1; q <= 3; q++) {
		int max = 0, waiting = 0;
		char code[24];

		for (int i = 0; i < fake_store_ntickets(fs); i++) {
			const struct fake_ticket *t = fake_store_ticket_at(fs, i);
			if (t->office_id != 1 || t->day != today)
				continue;
			if (t->origin_queue_id == q && t->number > max)
				max = t->number;
			if (t->queue_id == q && !strcmp(t->state, "waiting"))
				waiting++;
		}
		for (int n = 1; n <= max + 1; n++) {
			const struct fake_ticket *t;
			snprintf(code, sizeof code, "%s-%03d", qcodes[q], n);
			t = db_ticket(code);
			if (t) {
				expect_ticket_is_row(t);
				continue;
			}
			ck_assert_msg(sub(OP_TICKET, NULL, NULL, code, NULL) == PERR_NOT_FOUND,
				      "%s is not in the database", code);
		}
		ck_assert_int_eq(waiting_count(qcodes[q]), waiting);
	}
	for (int c = 1; c <= 3; c++) {
		json_t *e = status_entry("counters", "name", cnames[c]);
		const struct fake_ticket *h = NULL;

		ck_assert_int_eq(json_is_true(json_object_get(e, "open")),
				 fake_store_counter_open(fs, c));
		for (int i = 0; i < fake_store_ntickets(fs); i++) {
			const struct fake_ticket *t = fake_store_ticket_at(fs, i);
			if (t->counter_id == c &&
			    (!strcmp(t->state, "called") || !strcmp(t->state, "serving")))
				h = t;
		}
		if (h) {
			ck_assert_str_eq(str(e, "ticket"), h->code);
			ck_assert_str_eq(str(e, "state"), h->state);
		} else {
			assert_null(e, "ticket");
		}
	}
	ck_assert(json_is_false(json_object_get(r_res, "stale")));
}

/* ---- fixture ---------------------------------------------------------- */

void store_setup(void)
{
	struct engine_hooks h = fixture_hooks();
	struct engine_store st;

	/* Failed commits and reloads are what these tests make happen. */
	log_set_level(LOG_ERROR);
	now_us = T0;
	events = json_array();
	nreplies = 0;
	r_res = NULL;
	nrq = 0;
	memset(rqs, 0, sizeof rqs);
	ck_assert_int_eq(tzday_parse("2026-06-10", &today), 0);
	fs = fake_store_new(db_clock, NULL);
	fake_store_add_office(fs, 1, "HQ", "UTC");
	fake_store_add_queue(fs, 1, 1, "S");
	fake_store_add_queue(fs, 2, 1, "F");
	fake_store_add_queue(fs, 3, 1, "P");
	fake_store_add_counter(fs, 1, 1, "1", true);
	fake_store_add_counter(fs, 2, 1, "2", true);
	fake_store_add_counter(fs, 3, 1, "3", false);
	fake_store_add_counter_queue(fs, 1, 1, 1);
	fake_store_add_counter_queue(fs, 1, 2, 2);
	fake_store_add_counter_queue(fs, 2, 2, 1);
	fake_store_add_counter_queue(fs, 2, 3, 2);
	fake_store_add_counter_queue(fs, 3, 3, 1);
	fake_store_add_counter_queue(fs, 3, 1, 1);
	st = fake_store_iface(fs);
	eng = engine_new(&st, &h);
	engine_load(eng);
	ck_assert(engine_is_stale(eng));
	ck_assert_int_eq(fake_store_run_loads(fs), 1);
	ck_assert(!engine_is_stale(eng));
}

void store_teardown(void)
{
	fake_store_set_up(fs, true);
	fake_store_settle(fs);
	teardown();
	fake_store_free(fs);
	fs = NULL;
	for (int i = 0; i < nrq; i++)
		json_decref(rqs[i].res);
}
