/* kolapp's tables in memory and the d_* write functions over them (see
 * fake_db.h). */
#include "tests/unit/fake_db.h"
#include "daemon/util/tzday.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int refuse(struct fake_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(struct fake_db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->refusal, sizeof db->refusal, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the casts of the statements' parameters -------------------------- */

static bool parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (end == s || *end || errno || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool parse_date(const char *s, int32_t *day)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, len = -1;
	bool leap;

	if (!s || sscanf(s, "%d-%d-%d%n", &y, &m, &d, &len) != 3 || s[len] || m < 1 || m > 12)
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return false;
	return tzday_parse(s, day) == 0;
}

/* The form tzday_iso8601 writes, with 0 to 6 digits of fraction. */
static bool parse_timestamptz(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, len = -1, digits = 0;
	int64_t frac = 0;
	char date[32];
	int32_t day;

	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &len) != 6)
		return false;
	s += len;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (digits < 6) {
				frac = frac * 10 + (*s - '0');
				digits++;
			}
		if (!digits)
			return false;
	}
	for (; digits < 6; digits++)
		frac *= 10;
	snprintf(date, sizeof date, "%d-%d-%d", y, mo, d);
	if (strcmp(s, "Z") || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 ||
	    !parse_date(date, &day))
		return false;
	*us = ((int64_t)day * 86400 + h * 3600 + mi * 60 + sec) * 1000000 + frac;
	return true;
}

/* boolin's full words. */
static bool parse_bool(const char *s, bool *out)
{
	static const char *const words[] = { "true",  "t", "yes", "y", "on",  "1",
					     "false", "f", "no",  "n", "off", "0" };

	for (int i = 0; s && i < 12; i++)
		if (!strcasecmp(s, words[i])) {
			*out = i < 6;
			return true;
		}
	return false;
}

/* ---- rows and their constraints --------------------------------------- */

static const struct queue_row *queue_row(const struct fake_db *db, int id)
{
	for (int i = 0; i < db->nqueues; i++)
		if (db->queues[i].id == id)
			return &db->queues[i];
	return NULL;
}

struct counter_row *fake_db_counter(struct fake_db *db, int id)
{
	for (int i = 0; i < db->ncounters; i++)
		if (db->counters[i].id == id)
			return &db->counters[i];
	return NULL;
}

struct fake_ticket *fake_db_ticket(struct fake_db *db, int office, int32_t day, const char *code)
{
	for (int i = 0; i < db->ntickets; i++) {
		struct fake_ticket *t = &db->tickets[i];
		if (t->office_id == office && t->day == day && !strcmp(t->code, code))
			return t;
	}
	return NULL;
}

bool fake_db_state_in(const struct fake_ticket *t, const char *a, const char *b)
{
	return !strcmp(t->state, a) || (b && !strcmp(t->state, b));
}

/* The foreign keys, CHECK constraints (001, 002) and the one held ticket
 * per counter (counter_holds, 024) that a row must meet after each
 * statement. */
static int check_row(struct fake_db *db, const struct fake_ticket *t)
{
	const struct queue_row *oq = queue_row(db, t->origin_queue_id);
	const struct queue_row *q = queue_row(db, t->queue_id);
	const struct counter_row *c = t->counter_id ? fake_db_counter(db, t->counter_id) : NULL;
	bool ctr = t->counter_id, called = t->called_at, started = t->started_at;
	bool finished = t->finished_at, shape;

	if (!oq || oq->office_id != t->office_id || !q || q->office_id != t->office_id ||
	    (ctr && (!c || c->office_id != t->office_id)))
		return refuse(db, "ticket %s: queue or counter not of office %d", t->code,
			      t->office_id);
	if (!strcmp(t->state, "waiting"))
		shape = !ctr && !called && !started && !finished && t->recalls == 0;
	else if (!strcmp(t->state, "called"))
		shape = ctr && called && !started && !finished;
	else if (!strcmp(t->state, "serving"))
		shape = ctr && called && started && !finished;
	else if (!strcmp(t->state, "done"))
		shape = ctr && called && finished;
	else if (!strcmp(t->state, "no_show"))
		shape = ctr && called && !started && finished;
	else if (!strcmp(t->state, "cancelled"))
		shape = !ctr && !called && !started && finished;
	else if (!strcmp(t->state, "expired"))
		shape = finished && ctr == called; /* started: parked while served */
	else if (!strcmp(t->state, "parked"))
		shape = ctr && called && !finished;
	else
		shape = false;
	if (t->for_counter_id && strcmp(t->state, "waiting"))
		return refuse(db, "ticket %s: for_counter_id while %s", t->code, t->state);
	if (!shape || t->recalls < 0)
		return refuse(db, "ticket %s: tickets_state_shape (%s)", t->code, t->state);
	if ((called && t->called_at < t->issued_at) ||
	    (started && called && t->started_at < t->called_at) ||
	    (finished && t->finished_at < (started  ? t->started_at
					   : called ? t->called_at
						    : t->issued_at)))
		return refuse(db, "ticket %s: tickets_time_order", t->code);
	if (!fake_db_state_in(t, "called", "serving"))
		return 0;
	for (int i = 0; i < db->ntickets; i++) {
		const struct fake_ticket *o = &db->tickets[i];
		if (o->id != t->id && o->counter_id == t->counter_id &&
		    fake_db_state_in(o, "called", "serving"))
			return refuse(db, "ticket %s: counter %d already holds ticket %s", t->code,
				      t->counter_id, o->code);
	}
	return 0;
}

/* The code's CHECKs: "<queue code>-<at least 3 digits>", the digits the
 * number zero-padded (tickets_code_number), the prefix the origin
 * queue's code (tickets_check_inserted). */
static bool code_fits(const char *code, const char *qcode, int number)
{
	const char *dash = strchr(code, '-'), *d;
	size_t plen = dash ? (size_t)(dash - code) : 0;
	char num[16];

	if (plen < 1 || plen > 4 || code[0] < 'A' || code[0] > 'Z')
		return false;
	for (size_t i = 1; i < plen; i++)
		if ((code[i] < 'A' || code[i] > 'Z') && (code[i] < '0' || code[i] > '9'))
			return false;
	for (d = dash + 1; *d >= '0' && *d <= '9'; d++)
		;
	if (*d || d - dash - 1 < 3)
		return false;
	for (d = dash + 1; *d == '0'; d++)
		;
	snprintf(num, sizeof num, "%d", number);
	return !strcmp(d, num) && strlen(qcode) == plen && !strncmp(code, qcode, plen);
}

/* ---- the write functions ---------------------------------------------- */

/* d_issue(office, queue, day, number, code, key, at, priority, interpreter, lang,
 * estimate, visitor hash) */
static int w_issue(struct fake_db *db, const char *const *v)
{
	struct fake_ticket t = { .id = db->last_id + 1 };
	const struct queue_row *q;
	int64_t at;

	if (!parse_int(v[0], &t.office_id) || !parse_int(v[1], &t.origin_queue_id) ||
	    !parse_date(v[2], &t.day) || !parse_int(v[3], &t.number) || !v[4] ||
	    strlen(v[4]) >= sizeof t.code || !parse_timestamptz(v[6], &at) ||
	    !parse_bool(v[7], &t.priority) || (v[8] && strlen(v[8]) != 2) ||
	    (v[9] && strlen(v[9]) != 2))
		return refuse(db, "d_issue: a NULL or invalid argument");
	snprintf(t.interpreter, sizeof t.interpreter, "%s", v[8] ? v[8] : "");
	snprintf(t.lang, sizeof t.lang, "%s", v[9] ? v[9] : "");
	q = queue_row(db, t.origin_queue_id);
	if (t.number < 1 || !q || !code_fits(v[4], q->code, t.number))
		return refuse(db, "d_issue: code %s, number %d do not fit queue %d", v[4], t.number,
			      t.origin_queue_id);
	snprintf(t.code, sizeof t.code, "%s", v[4]);
	snprintf(t.state, sizeof t.state, "waiting");
	t.queue_id = t.origin_queue_id;
	t.issued_at = t.sort_at = at;
	for (int i = 0; i < db->ntickets; i++) {
		const struct fake_ticket *o = &db->tickets[i];
		if (o->day != t.day)
			continue;
		if ((o->office_id == t.office_id && !strcmp(o->code, t.code)) ||
		    (o->origin_queue_id == t.origin_queue_id && o->number == t.number) ||
		    (v[5] && o->key && o->office_id == t.office_id && !strcmp(o->key, v[5])))
			return refuse(db, "d_issue: %s duplicates %s (unique violation)", t.code,
				      o->code);
	}
	if (check_row(db, &t) < 0)
		return -1;
	t.key = v[5] ? xstrdup(v[5]) : NULL;
	db->tickets = xgrow(db->tickets, &db->captickets, db->ntickets + 1, sizeof *db->tickets);
	db->tickets[db->ntickets++] = t;
	db->last_id = t.id;
	return 0;
}

/* The ticket (office, day, code) of a d_* call, if in state a or b. */
static struct fake_ticket *target(struct fake_db *db, const char *const *v, const char *what,
				  const char *a, const char *b)
{
	int office;
	int32_t day;
	struct fake_ticket *t;

	if (!parse_int(v[0], &office) || !parse_date(v[1], &day) || !v[2]) {
		refuse(db, "%s: a NULL or invalid argument", what);
		return NULL;
	}
	t = fake_db_ticket(db, office, day, v[2]);
	if (!t)
		refuse(db, "cannot %s: no ticket %s on %s in office %d", what, v[2], v[1], office);
	else if (!fake_db_state_in(t, a, b))
		refuse(db, "cannot %s: ticket %s is %s, expected %s%s%s", what, t->code, t->state,
		       a, b ? " or " : "", b ? b : "");
	else
		return t;
	return NULL;
}

/* d_call(office, day, code, counter, at) */
static int w_call(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "call", "waiting", "parked");
	int64_t at;
	int counter;

	if (!t)
		return -1;
	if (!parse_int(v[3], &counter) || !parse_timestamptz(v[4], &at))
		return refuse(db, "d_call: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "called");
	t->counter_id = counter;
	t->for_counter_id = 0;
	t->called_at = at;
	t->started_at = 0;
	t->recalls = 0;
	return check_row(db, t);
}

/* d_park(office, day, code, at): the counter stays the one that parked it. */
static int w_park(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "park", "called", "serving");
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(db, "d_park: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "parked");
	return check_row(db, t);
}

/* d_reactivate(office, day, code, at): a no-show waits again, in its place. */
static int w_reactivate(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "reactivate", "no_show", NULL);
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(db, "d_reactivate: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->counter_id = t->for_counter_id = 0;
	t->called_at = t->started_at = t->finished_at = 0;
	t->recalls = 0;
	return check_row(db, t);
}

/* d_set_outcome(office, day, code, outcome): on a done ticket. The fake
 * keeps no outcome lists: the engine checks codes before it writes. */
static int w_set_outcome(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "set outcome", "done", NULL);

	if (!t)
		return -1;
	if (!v[3] || strlen(v[3]) >= sizeof t->outcome)
		return refuse(db, "d_set_outcome: a NULL or invalid argument");
	snprintf(t->outcome, sizeof t->outcome, "%s", v[3]);
	return 0;
}

/* d_transfer_counter(office, day, code, counter, at): waits for that counter. */
static int w_transfer_counter(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "transfer", "called", "serving");
	int64_t at;
	int counter;

	if (!t)
		return -1;
	if (!parse_int(v[3], &counter) || !fake_db_counter(db, counter) ||
	    !parse_timestamptz(v[4], &at))
		return refuse(db, "d_transfer_counter: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->for_counter_id = counter;
	t->counter_id = 0;
	t->called_at = t->started_at = 0;
	t->recalls = 0;
	return check_row(db, t);
}

/* d_recall(office, day, code, at) */
static int w_recall(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "recall", "called", NULL);
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(db, "d_recall: a NULL or invalid argument");
	t->recalls++;
	return check_row(db, t);
}

/* d_set_state(office, day, code, state, at) */
static int w_set_state(struct fake_db *db, const char *const *v)
{
	static const struct {
		const char *to, *from, *or_from;
	} rules[] = {
		{ "serving", "called", NULL },
		{ "done", "called", "serving" },
		{ "no_show", "called", NULL },
		{ "cancelled", "waiting", NULL },
	};
	struct fake_ticket *t;
	int64_t at;
	int r;

	for (r = 0; r < 4 && !(v[3] && !strcmp(v[3], rules[r].to)); r++)
		;
	if (r == 4)
		return refuse(db,
			      "d_set_state: state %s is not serving, done, no_show "
			      "or cancelled",
			      v[3] ? v[3] : "NULL");
	t = target(db, v, "set state", rules[r].from, rules[r].or_from);
	if (!t)
		return -1;
	if (!parse_timestamptz(v[4], &at))
		return refuse(db, "d_set_state: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "%s", v[3]);
	if (r == 0)
		t->started_at = at;
	else
		t->finished_at = at;
	return check_row(db, t);
}

/* d_transfer(office, day, code, queue, at): back to waiting, in its
 * place in time (sort_at stays). */
static int w_transfer(struct fake_db *db, const char *const *v)
{
	struct fake_ticket *t = target(db, v, "transfer", "called", "serving");
	int64_t at;
	int queue;

	if (!t)
		return -1;
	if (!parse_int(v[3], &queue) || !parse_timestamptz(v[4], &at))
		return refuse(db, "d_transfer: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->queue_id = queue;
	t->counter_id = t->for_counter_id = 0;
	t->called_at = t->started_at = 0;
	t->recalls = 0;
	return check_row(db, t);
}

/* d_counter_set_open(counter, open, at), the form of 002 */
static int w_counter_set_open(struct fake_db *db, const char *const *v)
{
	struct counter_row *c;
	int id;
	bool open;
	int64_t at;

	if (!parse_int(v[0], &id) || !parse_bool(v[1], &open) || !parse_timestamptz(v[2], &at))
		return refuse(db, "d_counter_set_open: a NULL or invalid argument");
	c = fake_db_counter(db, id);
	if (!c)
		return refuse(db, "no counter with id %d", id);
	c->open = open;
	return 0;
}

/* d_expire(office, day, at): waiting and called tickets of earlier days. */
static int w_expire(struct fake_db *db, const char *const *v)
{
	int office;
	int32_t day;
	int64_t at;

	if (!parse_int(v[0], &office) || !parse_date(v[1], &day) || !parse_timestamptz(v[2], &at))
		return refuse(db, "d_expire: a NULL or invalid argument");
	for (int i = 0; i < db->ntickets; i++) {
		struct fake_ticket *t = &db->tickets[i];
		if (t->office_id != office || t->day >= day ||
		    !(fake_db_state_in(t, "waiting", "called") ||
		      fake_db_state_in(t, "parked", NULL)))
			continue;
		snprintf(t->state, sizeof t->state, "expired");
		t->finished_at = at;
		if (check_row(db, t) < 0)
			return -1;
	}
	return 0;
}

/* d_check_in(office, queue, day, number, ticket, at, interpreter, booking,
 * estimate, visitor hash): the ticket as d_issue makes it; bookings
 * themselves are not modelled here (the integration tests and pgTAP check
 * them). */
static int w_check_in(struct fake_db *db, const char *const *v)
{
	const char *issue[] = { v[0], v[1],    v[2], v[3], v[4], NULL,
				v[5], "false", v[6], NULL, v[8], v[9] };

	if (!v[7] || strlen(v[7]) != 8)
		return refuse(db, "d_check_in: a NULL or invalid booking");
	return w_issue(db, issue);
}

/* d_book, d_unbook, d_bookings_no_show: their arguments only. */
static int w_book(struct fake_db *db, const char *const *v)
{
	int office, queue, minutes;
	int64_t start, at;

	if (!parse_int(v[0], &office) || !parse_int(v[1], &queue) || !v[2] || strlen(v[2]) != 8 ||
	    !parse_timestamptz(v[3], &start) || !parse_int(v[4], &minutes) ||
	    !parse_timestamptz(v[7], &at) || start <= at || minutes < 5 || minutes > 240)
		return refuse(db, "d_book: a NULL or invalid argument");
	return 0;
}

static int w_unbook(struct fake_db *db, const char *const *v)
{
	int office;
	int64_t at;

	if (!parse_int(v[0], &office) || !v[1] || strlen(v[1]) != 8 ||
	    !parse_timestamptz(v[2], &at))
		return refuse(db, "d_unbook: a NULL or invalid argument");
	return 0;
}

static int w_bookings_no_show(struct fake_db *db, const char *const *v)
{
	int office;
	int64_t at;

	if (!parse_int(v[0], &office) || !parse_timestamptz(v[1], &at))
		return refuse(db, "d_bookings_no_show: a NULL or invalid argument");
	db->bookings_no_show++;
	return 0;
}

static const struct {
	const char *name;
	int n;
	int (*fn)(struct fake_db *db, const char *const *values);
} statements[] = {
	{ "d_issue", 12, w_issue },
	{ "d_call", 5, w_call },
	{ "d_recall", 4, w_recall },
	{ "d_set_state", 5, w_set_state },
	{ "d_transfer", 5, w_transfer },
	{ "d_counter_set_open", 3, w_counter_set_open },
	{ "d_expire", 3, w_expire },
	{ "d_park", 4, w_park },
	{ "d_reactivate", 4, w_reactivate },
	{ "d_set_outcome", 4, w_set_outcome },
	{ "d_transfer_counter", 5, w_transfer_counter },
	{ "d_check_in", 10, w_check_in },
	{ "d_book", 8, w_book },
	{ "d_unbook", 3, w_unbook },
	{ "d_bookings_no_show", 2, w_bookings_no_show },
};

static int run_write(struct fake_db *db, const char *stmt, int n, const char *const *values)
{
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
		if (!strcmp(stmt, statements[i].name))
			return n == statements[i].n ? statements[i].fn(db, values)
						    : refuse(db, "%s takes %d parameters, not %d",
							     stmt, statements[i].n, n);
	return refuse(db, "no statement %s", stmt);
}

/* Runs writes as one transaction: all of them, or on the first refusal
 * none (sequences are not rolled back, as in PostgreSQL). */
bool fake_db_transaction(struct fake_db *db, const struct fake_write *w, int nw)
{
	int ntickets = db->ntickets;
	struct fake_ticket *saved = xcalloc((size_t)ntickets, sizeof *saved);
	struct counter_row counters[FAKE_CONFIG_MAX];
	bool ok = true;

	if (ntickets) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(saved, db->tickets, (size_t)ntickets * sizeof *saved);
	memcpy(counters, db->counters, sizeof counters);
	for (int i = 0; ok && i < nw; i++)
		ok = run_write(db, w[i].stmt, w[i].n, (const char *const *)w[i].values) == 0;
	if (!ok) {
		/* Keys never change once inserted: only new rows own new ones. */
		for (int i = ntickets; i < db->ntickets; i++)
			free(db->tickets[i].key);
		if (ntickets)
			memcpy(db->tickets, saved, (size_t)ntickets * sizeof *saved);
		db->ntickets = ntickets;
		memcpy(db->counters, counters, sizeof counters);
	}
	free(saved);
	return ok;
}

void fake_db_free(struct fake_db *db)
{
	for (int i = 0; i < db->ntickets; i++)
		free(db->tickets[i].key);
	free(db->tickets);
}
