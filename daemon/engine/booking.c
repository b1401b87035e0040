/*
 * Bookings: visits booked for a time (protocol 1.1, sql/011_bookings.sql).
 * Owns each office's bookings in memory (from yesterday on, loaded with
 * the configuration and merged on psql's changes), the ops on them (book,
 * unbook, check_in) and the sweep that turns bookings whose check-in
 * window closed into no-shows. Like every change, these write through:
 * the reply waits for the commit.
 *
 * Which ticket is called when is not here: next.c puts a checked-in
 * ticket (its `appointment`) first within its rank once it is due.
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/log.h"
#include "daemon/util/tzday.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define US 1000000LL
/* Bookings as far ahead as this, no further: a typo in the year is caught. */
#define MAX_AHEAD_US (366LL * 86400 * US)

static const char *const booking_state_names[] = {
	[BK_BOOKED] = "booked",   [BK_CHECKED_IN] = "checked_in", [BK_SERVED] = "served",
	[BK_NO_SHOW] = "no_show", [BK_CANCELLED] = "cancelled",
};

static int booking_state_parse(const char *s)
{
	for (int i = 0; i <= BK_CANCELLED; i++)
		if (s && !strcmp(s, booking_state_names[i]))
			return i;
	return -1;
}

struct booking *office_booking(const struct office *o, const char *code)
{
	/* A few hundred a day at most: a scan is fine. Visitors type the
	 * code in either case. */
	for (int i = 0; code && i < o->nbookings; i++)
		if (!strcasecmp(o->bookings[i]->code, code))
			return o->bookings[i];
	return NULL;
}

/* The ticket a checked-in booking got, while it is today's. */
static struct ticket *booking_ticket(const struct office *o, const struct booking *b)
{
	if (b->state != BK_CHECKED_IN && b->state != BK_SERVED)
		return NULL;
	return b->ticket_day == o->day ? office_ticket(o, b->ticket) : NULL;
}

json_t *booking_json(const struct office *o, const struct booking *b)
{
	char buf[32];
	const struct ticket *t = booking_ticket(o, b);
	enum booking_state st = b->state;
	json_t *j;

	/* served follows the ticket: the database's trigger does the same */
	if (st == BK_CHECKED_IN && t && t->state == TS_DONE)
		st = BK_SERVED;
	j = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s}", "code", b->code, "queue",
		      b->queue->code, "starts_at", iso_time(b->starts_at, buf), "minutes",
		      b->minutes, "interpreter",
		      b->interpreter[0] ? json_string(b->interpreter) : json_null(), "reference",
		      b->reference ? json_string(b->reference) : json_null(), "state",
		      booking_state_names[st]);
	if (b->state == BK_CHECKED_IN || b->state == BK_SERVED)
		json_object_set_new(j, "ticket", json_string(b->ticket));
	return j;
}

static void booking_free(struct booking *b)
{
	if (!b)
		return;
	free(b->reference);
	free(b);
}

void office_bookings_free(struct office *o)
{
	for (int i = 0; i < o->nbookings; i++)
		booking_free(o->bookings[i]);
	free(o->bookings);
	o->bookings = NULL;
	o->nbookings = o->capbookings = 0;
}

static void booking_fill(struct booking *b, struct queue *q, const struct store_booking *row)
{
	b->queue = q;
	b->starts_at = row->starts_at;
	b->minutes = row->minutes;
	snprintf(b->interpreter, sizeof b->interpreter, "%s",
		 row->interpreter ? row->interpreter : "");
	if (!b->reference || !row->reference || strcmp(b->reference, row->reference)) {
		free(b->reference);
		b->reference = row->reference ? xstrdup(row->reference) : NULL;
	}
}

static void booking_take_state(struct booking *b, int state, const struct store_booking *row)
{
	b->state = (enum booking_state)state;
	if (row->ticket && row->ticket_day) {
		snprintf(b->ticket, sizeof b->ticket, "%s", row->ticket);
		if (tzday_parse(row->ticket_day, &b->ticket_day) < 0)
			b->ticket_day = 0;
	}
}

static void office_add_booking(struct office *o, struct booking *b)
{
	o->bookings = xgrow(o->bookings, &o->capbookings, o->nbookings + 1, sizeof *o->bookings);
	o->bookings[o->nbookings++] = b;
}

int office_add_booking_row(struct office *o, const struct store_booking *row)
{
	struct queue *q = office_queue_by_id(o, row->queue_id);
	int state = booking_state_parse(row->state);
	struct booking *b;

	if (!q || state < 0 || !row->code || strlen(row->code) != PROTO_BOOKING_LEN ||
	    office_booking(o, row->code))
		return -1;
	b = xcalloc(1, sizeof *b);
	snprintf(b->code, sizeof b->code, "%s", row->code);
	booking_fill(b, q, row);
	booking_take_state(b, state, row);
	office_add_booking(o, b);
	return 0;
}

void office_take_bookings(struct engine *e, struct office *o, const struct store_snapshot *snap,
			  bool merge)
{
	bool writing = e->has_store && e->store.ops->has_writes(e->store.self);
	bool *seen = xcalloc((size_t)o->nbookings + 1, sizeof *seen);
	int known = o->nbookings;

	if (!merge)
		office_bookings_free(o);
	for (int i = 0; i < snap->nbookings; i++) {
		const struct store_booking *row = &snap->bookings[i];
		struct queue *q;
		struct booking *b;
		int state;

		if (row->office_id != o->id)
			continue;
		q = office_queue_by_id(o, row->queue_id);
		state = booking_state_parse(row->state);
		if (!q || state < 0 || !row->code || strlen(row->code) != PROTO_BOOKING_LEN) {
			log_warn("office %s: booking %s cannot be loaded: skipped", o->code,
				 row->code ? row->code : "?");
			continue;
		}
		b = merge ? office_booking(o, row->code) : NULL;
		if (b) {
			for (int k = 0; k < known; k++)
				if (o->bookings[k] == b)
					seen[k] = true;
			/* Start, length and the rest are psql's to change; the
			 * state only moves forward from booked, so the database's
			 * wins unless memory is ahead (a write in flight). */
			booking_fill(b, q, row);
			if (b->state == BK_BOOKED && state != BK_BOOKED)
				booking_take_state(b, state, row);
			else if (b->state == BK_CHECKED_IN && state == BK_SERVED)
				booking_take_state(b, state, row);
			continue;
		}
		b = xcalloc(1, sizeof *b);
		snprintf(b->code, sizeof b->code, "%s", row->code);
		booking_fill(b, q, row);
		booking_take_state(b, state, row);
		office_add_booking(o, b);
	}
	/* One in memory and not in the database: a book still being written
	 * (keep it), or deleted by hand or purged (drop it). */
	if (merge && !writing) {
		int kept = 0;

		for (int k = 0; k < o->nbookings; k++) {
			if (k < known && !seen[k]) {
				booking_free(o->bookings[k]);
				continue;
			}
			o->bookings[kept++] = o->bookings[k];
		}
		o->nbookings = kept;
	}
	free(seen);
}

/* ---- the ops ------------------------------------------------------------ */

static bool refuse_if_stale(struct engine *e, engine_reply_fn reply, void *ctx)
{
	if (!engine_is_stale(e))
		return false;
	reply(ctx, PERR_UNAVAILABLE, "the database is unreachable: nothing was changed", NULL);
	return true;
}

/* "14:30", or "2026-12-03 14:30" when it is not on `day`, in the office's
 * time zone: what a visitor reads on the kiosk. */
static void local_time(const struct office *o, int64_t us, int32_t day, char *buf, size_t sz)
{
	int32_t d;
	int m;

	if (tzday_local_time(o->tz, us, &d, &m) < 0 && tzday_local_time("UTC", us, &d, &m) < 0) {
		snprintf(buf, sz, "?");
		return;
	}
	if (d == day) {
		snprintf(buf, sz, "%02d:%02d", m / 60, m % 60);
	} else {
		char date[16];

		tzday_format(d, date);
		snprintf(buf, sz, "%s %02d:%02d", date, m / 60, m % 60);
	}
}

static json_t *result_of(const struct engine *e, const struct office *o, const struct booking *b,
			 const struct ticket *t)
{
	json_t *r = t ? issue_result(e, o, t) : json_object();

	/* The ticket and its visitor_path as issue gives them, and the booking. */
	json_object_set_new(r, "booking", booking_json(o, b));
	return r;
}

void booking_op_check_in(struct engine *e, struct office *o, const struct engine_req *req,
			 engine_reply_fn reply, void *ctx)
{
	struct booking *b = office_booking(o, req->args->booking);
	int64_t now = engine_now(e);
	struct ticket *t;
	struct change *c;
	char msg[192], at[32], from[32];

	if (!b) {
		reply(ctx, PERR_NOT_FOUND, "no such booking: check the code", NULL);
		return;
	}
	if (b->state == BK_CANCELLED) {
		snprintf(msg, sizeof msg, "booking %s was cancelled", b->code);
		reply(ctx, PERR_NOT_FOUND, msg, NULL);
		return;
	}
	if (b->state == BK_CHECKED_IN || b->state == BK_SERVED) {
		/* Pressed twice, or a retry: the same ticket, once committed. */
		if (!(t = booking_ticket(o, b))) {
			snprintf(msg, sizeof msg, "booking %s was already used on an earlier day",
				 b->code);
			reply(ctx, PERR_CONFLICT, msg, NULL);
			return;
		}
		if (refuse_if_stale(e, reply, ctx))
			return;
		c = change_begin(e, o, reply, ctx);
		change_wait_for(c, b->seq);
		change_commit(c, result_of(e, o, b, t));
		return;
	}
	if (!b->queue->active) {
		reply(ctx, PERR_NOT_FOUND, "no such queue", NULL);
		return;
	}
	if (!b->queue->open) {
		reply(ctx, PERR_QUEUE_CLOSED, "this queue is closed", NULL);
		return;
	}
	/* The window includes both its edges. */
	local_time(o, b->starts_at, o->day, at, sizeof at);
	if (b->state == BK_NO_SHOW || now > b->starts_at + o->checkin_after_s * US) {
		snprintf(msg, sizeof msg,
			 "too late: your appointment was at %s; please take a ticket instead", at);
		reply(ctx, PERR_CONFLICT, msg, NULL);
		return;
	}
	if (now < b->starts_at - o->checkin_before_s * US) {
		local_time(o, b->starts_at - o->checkin_before_s * US, o->day, from, sizeof from);
		snprintf(msg, sizeof msg, "too early: your appointment is at %s; check in from %s",
			 at, from);
		reply(ctx, PERR_CONFLICT, msg, NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;

	struct queue *q = b->queue;
	struct sqlv {
		char office[16], queue[16], day[16], number[16], at[32], start[32], est[24];
	} a;
	int64_t secs;

	t = xcalloc(1, sizeof *t);
	snprintf(t->interpreter, sizeof t->interpreter, "%s", b->interpreter);
	t->number = q->ntoday + 1;
	t->day = o->day;
	ticket_set_code(t, q);
	t->origin = t->queue = q;
	t->state = TS_WAITING;
	t->issued_at = t->sort_at = now;
	t->appointment = b->starts_at;
	t->order = ++e->order;
	char secret[VSECRET_LEN + 1], vhash[2 * VSECRET_HASH + 1];

	ticket_visitor_init(o, t, secret);
	if (t->has_vhash)
		vsecret_hex(t->vhash, sizeof t->vhash, vhash);
	queue_add_today(q, t);
	waiting_insert(t);
	b->state = BK_CHECKED_IN;
	snprintf(b->ticket, sizeof b->ticket, "%s", t->code);
	b->ticket_day = o->day;

	c = change_begin(e, o, reply, ctx);
	snprintf(a.office, sizeof a.office, "%d", o->id);
	snprintf(a.queue, sizeof a.queue, "%d", q->id);
	tzday_format(t->day, a.day);
	snprintf(a.number, sizeof a.number, "%d", t->number);
	tzday_iso8601(now, a.at);
	bool known = ticket_estimate_at_issue(e, o, t, &secs);
	if (known)
		snprintf(a.est, sizeof a.est, "%lld", (long long)secs);
	const char *v[] = { a.office,
			    a.queue,
			    a.day,
			    a.number,
			    t->code,
			    a.at,
			    t->interpreter[0] ? t->interpreter : NULL,
			    b->code,
			    known ? a.est : NULL,
			    t->has_vhash ? vhash : NULL };
	change_write(c, "d_check_in", 10, v);
	t->issue_seq = b->seq = change_seq(c);
	json_t *ev = office_event(o, "issued", now);
	json_object_set_new(ev, "ticket", json_string(t->code));
	json_object_set_new(ev, "queue", json_string(q->code));
	json_object_set_new(ev, "number", json_integer(t->number));
	json_object_set_new(ev, "appointment", json_string(iso_time(t->appointment, at)));
	change_event(c, ev);
	change_event(c, queue_event(e, o, q, now));
	change_commit(c, result_of(e, o, b, t));
}

/* 8 characters of the booking alphabet, unbiased (bytes of 248 and over
 * are skipped: 248 = 8 * 31), unique among the office's bookings in
 * memory. The database's UNIQUE is the net for the others (31^8 codes:
 * a clash there fails the batch, which answers unavailable). */
static void new_code(const struct office *o, char out[PROTO_BOOKING_LEN + 1])
{
	static const char alphabet[] = PROTO_BOOKING_ALPHABET;

	do {
		unsigned char raw[32];
		int n = 0;

		while (n < PROTO_BOOKING_LEN) {
			if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
				/* never for 32 bytes once the pool is ready; rand()
				 * only keeps the daemon going */
				for (size_t i = 0; i < sizeof raw; i++)
					raw[i] = (unsigned char)rand();
			}
			for (size_t i = 0; i < sizeof raw && n < PROTO_BOOKING_LEN; i++)
				if (raw[i] < 248)
					out[n++] = alphabet[raw[i] % 31];
		}
		out[PROTO_BOOKING_LEN] = '\0';
	} while (office_booking(o, out));
}

void booking_op_book(struct engine *e, struct office *o, const struct engine_req *req,
		     engine_reply_fn reply, void *ctx)
{
	const struct proto_request *args = req->args;
	struct queue *q = office_queue(o, args->queue);
	int64_t now = engine_now(e);
	/* whole milliseconds, as the database is told (tzday_iso8601) */
	int64_t start = args->starts_at_us - args->starts_at_us % 1000;
	struct booking *b;
	struct change *c;
	char office[16], queue[16], minutes[16], startbuf[32], at[32];

	/* A bad argument before not_found, as the contract orders them. */
	if (start <= now) {
		reply(ctx, PERR_BAD_REQUEST, "field starts_at is in the past", NULL);
		return;
	}
	if (start > now + MAX_AHEAD_US) {
		reply(ctx, PERR_BAD_REQUEST, "field starts_at is more than a year ahead", NULL);
		return;
	}
	if (!q || !q->active) {
		reply(ctx, PERR_NOT_FOUND, "no such queue", NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	b = xcalloc(1, sizeof *b);
	new_code(o, b->code);
	b->queue = q;
	b->starts_at = start;
	b->minutes = args->minutes > 0 ? args->minutes : 15;
	snprintf(b->interpreter, sizeof b->interpreter, "%s",
		 args->interpreter ? args->interpreter : "");
	b->reference = args->reference ? xstrdup(args->reference) : NULL;
	b->state = BK_BOOKED;
	office_add_booking(o, b);

	c = change_begin(e, o, reply, ctx);
	snprintf(office, sizeof office, "%d", o->id);
	snprintf(queue, sizeof queue, "%d", q->id);
	snprintf(minutes, sizeof minutes, "%d", b->minutes);
	tzday_iso8601(start, startbuf);
	tzday_iso8601(now, at);
	const char *v[] = { office,       queue,   b->code,
			    startbuf,     minutes, b->interpreter[0] ? b->interpreter : NULL,
			    b->reference, at };
	change_write(c, "d_book", 8, v);
	b->seq = change_seq(c);
	change_commit(c, result_of(e, o, b, NULL));
}

void booking_op_unbook(struct engine *e, struct office *o, const struct engine_req *req,
		       engine_reply_fn reply, void *ctx)
{
	struct booking *b = office_booking(o, req->args->booking);
	int64_t now = engine_now(e);
	struct change *c;
	char msg[160], office[16], at[32];

	if (!b) {
		reply(ctx, PERR_NOT_FOUND, "no such booking", NULL);
		return;
	}
	if (b->state == BK_CANCELLED) {
		/* A retry: the same answer, once the cancellation committed. */
		if (refuse_if_stale(e, reply, ctx))
			return;
		c = change_begin(e, o, reply, ctx);
		change_wait_for(c, b->seq);
		change_commit(c, result_of(e, o, b, NULL));
		return;
	}
	if (b->state != BK_BOOKED) {
		snprintf(msg, sizeof msg, "booking %s is %s: only a booked one can be cancelled",
			 b->code, booking_state_names[b->state]);
		reply(ctx, PERR_CONFLICT, msg, NULL);
		return;
	}
	if (refuse_if_stale(e, reply, ctx))
		return;
	b->state = BK_CANCELLED;
	c = change_begin(e, o, reply, ctx);
	snprintf(office, sizeof office, "%d", o->id);
	tzday_iso8601(now, at);
	const char *v[] = { office, b->code, at };
	change_write(c, "d_unbook", 3, v);
	b->seq = change_seq(c);
	change_commit(c, result_of(e, o, b, NULL));
}

void office_bookings_sweep(struct engine *e, struct office *o, int64_t now, bool force)
{
	int n = 0;
	struct change *c;
	char office[16], at[32];

	for (int i = 0; i < o->nbookings; i++) {
		struct booking *b = o->bookings[i];

		if (b->state == BK_BOOKED && now > b->starts_at + o->checkin_after_s * US) {
			b->state = BK_NO_SHOW;
			n++;
		}
	}
	if (force) {
		/* The day changed: what started two days ago is history, in
		 * the database only (a long-running daemon would pile it up). */
		int kept = 0;

		for (int i = 0; i < o->nbookings; i++) {
			if (o->bookings[i]->starts_at < now - 2 * 86400 * US)
				booking_free(o->bookings[i]);
			else
				o->bookings[kept++] = o->bookings[i];
		}
		o->nbookings = kept;
	}
	if (!n && !force)
		return;
	/* The same rule in SQL, for the same instant: the database marks
	 * exactly these (and any this daemon never loaded). No reply waits
	 * for it; a failure reloads, and the next sweep tries again. */
	c = change_begin(e, o, NULL, NULL);
	snprintf(office, sizeof office, "%d", o->id);
	tzday_iso8601(now, at);
	const char *v[] = { office, at };
	change_write(c, "d_bookings_no_show", 2, v);
	change_commit(c, NULL);
	if (n)
		log_info("office %s: %d booking%s not checked in: no-show", o->code, n,
			 n == 1 ? "" : "s");
}
