/* An in-memory kolapp database behind the store interface (see fake_store.h). */
#include "tests/unit/fake_store.h"
#include "daemon/util/tzday.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX 16

struct office_row {
	int id;
	char code[33], tz[64];
};

struct queue_row {
	int id, office_id;
	char code[8];
};

struct counter_row {
	int id, office_id;
	char name[33];
	bool open;
};

struct write {
	char *stmt;
	int n;
	char **values;
};

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
	struct write *writes;
	int nwrites, capwrites;
	struct cb *cbs;
	int ncbs, capcbs;
};

struct fake_store {
	int64_t (*clock)(void *arg);
	void *clock_arg;
	bool up;
	int loads_fail_midway; /* the next this many loads fail after their rows */
	int bookings_no_show;  /* d_bookings_no_show calls committed or not */
	struct office_row offices[CONFIG_MAX];
	int noffices;
	struct queue_row queues[CONFIG_MAX];
	int nqueues;
	struct counter_row counters[CONFIG_MAX];
	int ncounters;
	struct store_counter_queue cqs[CONFIG_MAX * CONFIG_MAX];
	int ncqs;
	struct fake_ticket *tickets;
	int ntickets, captickets;
	long last_id;
	struct job *head, *tail;
	uint64_t last_seq;
	int nrefused;
	char refusal[256];
};

static int refuse(struct fake_store *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct fake_store *fs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fs->refusal, sizeof fs->refusal, fmt, ap);
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

static const struct queue_row *queue_row(const struct fake_store *fs, int id)
{
	for (int i = 0; i < fs->nqueues; i++)
		if (fs->queues[i].id == id)
			return &fs->queues[i];
	return NULL;
}

static struct counter_row *counter_row(struct fake_store *fs, int id)
{
	for (int i = 0; i < fs->ncounters; i++)
		if (fs->counters[i].id == id)
			return &fs->counters[i];
	return NULL;
}

static struct fake_ticket *find_ticket(struct fake_store *fs, int office, int32_t day,
				       const char *code)
{
	for (int i = 0; i < fs->ntickets; i++) {
		struct fake_ticket *t = &fs->tickets[i];
		if (t->office_id == office && t->day == day && !strcmp(t->code, code))
			return t;
	}
	return NULL;
}

static bool state_in(const struct fake_ticket *t, const char *a, const char *b)
{
	return !strcmp(t->state, a) || (b && !strcmp(t->state, b));
}

/* The foreign keys, CHECK constraints (001, 002) and the one held ticket
 * per counter index that a row must meet after each statement. */
static int check_row(struct fake_store *fs, const struct fake_ticket *t)
{
	const struct queue_row *oq = queue_row(fs, t->origin_queue_id);
	const struct queue_row *q = queue_row(fs, t->queue_id);
	const struct counter_row *c = t->counter_id ? counter_row(fs, t->counter_id) : NULL;
	bool ctr = t->counter_id, called = t->called_at, started = t->started_at;
	bool finished = t->finished_at, shape;

	if (!oq || oq->office_id != t->office_id || !q || q->office_id != t->office_id ||
	    (ctr && (!c || c->office_id != t->office_id)))
		return refuse(fs, "ticket %s: queue or counter not of office %d", t->code,
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
		return refuse(fs, "ticket %s: for_counter_id while %s", t->code, t->state);
	if (!shape || t->recalls < 0)
		return refuse(fs, "ticket %s: tickets_state_shape (%s)", t->code, t->state);
	if ((called && t->called_at < t->issued_at) ||
	    (started && called && t->started_at < t->called_at) ||
	    (finished && t->finished_at < (started  ? t->started_at
					   : called ? t->called_at
						    : t->issued_at)))
		return refuse(fs, "ticket %s: tickets_time_order", t->code);
	if (!state_in(t, "called", "serving"))
		return 0;
	for (int i = 0; i < fs->ntickets; i++) {
		const struct fake_ticket *o = &fs->tickets[i];
		if (o->id != t->id && o->counter_id == t->counter_id &&
		    state_in(o, "called", "serving"))
			return refuse(fs,
				      "ticket %s: counter %d already holds %s "
				      "(tickets_counter_held_idx)",
				      t->code, t->counter_id, o->code);
	}
	return 0;
}

/* The code's CHECKs: "<queue code>-<at least 3 digits>", the digits the
 * number zero-padded (tickets_code_number), the prefix the origin
 * queue's code (tickets_check_insert). */
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
static int w_issue(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket t = { .id = fs->last_id + 1 };
	const struct queue_row *q;
	int64_t at;

	if (!parse_int(v[0], &t.office_id) || !parse_int(v[1], &t.origin_queue_id) ||
	    !parse_date(v[2], &t.day) || !parse_int(v[3], &t.number) || !v[4] ||
	    strlen(v[4]) >= sizeof t.code || !parse_timestamptz(v[6], &at) ||
	    !parse_bool(v[7], &t.priority) || (v[8] && strlen(v[8]) != 2) ||
	    (v[9] && strlen(v[9]) != 2))
		return refuse(fs, "d_issue: a NULL or invalid argument");
	snprintf(t.interpreter, sizeof t.interpreter, "%s", v[8] ? v[8] : "");
	snprintf(t.lang, sizeof t.lang, "%s", v[9] ? v[9] : "");
	q = queue_row(fs, t.origin_queue_id);
	if (t.number < 1 || !q || !code_fits(v[4], q->code, t.number))
		return refuse(fs, "d_issue: code %s, number %d do not fit queue %d", v[4], t.number,
			      t.origin_queue_id);
	snprintf(t.code, sizeof t.code, "%s", v[4]);
	snprintf(t.state, sizeof t.state, "waiting");
	t.queue_id = t.origin_queue_id;
	t.issued_at = t.sort_at = at;
	for (int i = 0; i < fs->ntickets; i++) {
		const struct fake_ticket *o = &fs->tickets[i];
		if (o->day != t.day)
			continue;
		if ((o->office_id == t.office_id && !strcmp(o->code, t.code)) ||
		    (o->origin_queue_id == t.origin_queue_id && o->number == t.number) ||
		    (v[5] && o->key && o->office_id == t.office_id && !strcmp(o->key, v[5])))
			return refuse(fs, "d_issue: %s duplicates %s (unique violation)", t.code,
				      o->code);
	}
	if (check_row(fs, &t) < 0)
		return -1;
	t.key = v[5] ? xstrdup(v[5]) : NULL;
	fs->tickets = xgrow(fs->tickets, &fs->captickets, fs->ntickets + 1, sizeof *fs->tickets);
	fs->tickets[fs->ntickets++] = t;
	fs->last_id = t.id;
	return 0;
}

/* The ticket (office, day, code) of a d_* call, if in state a or b. */
static struct fake_ticket *target(struct fake_store *fs, const char *const *v, const char *what,
				  const char *a, const char *b)
{
	int office;
	int32_t day;
	struct fake_ticket *t;

	if (!parse_int(v[0], &office) || !parse_date(v[1], &day) || !v[2]) {
		refuse(fs, "%s: a NULL or invalid argument", what);
		return NULL;
	}
	t = find_ticket(fs, office, day, v[2]);
	if (!t)
		refuse(fs, "cannot %s: no ticket %s on %s in office %d", what, v[2], v[1], office);
	else if (!state_in(t, a, b))
		refuse(fs, "cannot %s: ticket %s is %s, expected %s%s%s", what, t->code, t->state,
		       a, b ? " or " : "", b ? b : "");
	else
		return t;
	return NULL;
}

/* d_call(office, day, code, counter, at) */
static int w_call(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "call", "waiting", "parked");
	int64_t at;
	int counter;

	if (!t)
		return -1;
	if (!parse_int(v[3], &counter) || !parse_timestamptz(v[4], &at))
		return refuse(fs, "d_call: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "called");
	t->counter_id = counter;
	t->for_counter_id = 0;
	t->called_at = at;
	t->started_at = 0;
	t->recalls = 0;
	return check_row(fs, t);
}

/* d_park(office, day, code, at): the counter stays the one that parked it. */
static int w_park(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "park", "called", "serving");
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(fs, "d_park: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "parked");
	return check_row(fs, t);
}

/* d_reactivate(office, day, code, at): a no-show waits again, in its place. */
static int w_reactivate(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "reactivate", "no_show", NULL);
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(fs, "d_reactivate: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->counter_id = t->for_counter_id = 0;
	t->called_at = t->started_at = t->finished_at = 0;
	t->recalls = 0;
	return check_row(fs, t);
}

/* d_set_outcome(office, day, code, outcome): on a done ticket. The fake
 * keeps no outcome lists: the engine checks codes before it writes. */
static int w_set_outcome(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "set outcome", "done", NULL);

	if (!t)
		return -1;
	if (!v[3] || strlen(v[3]) >= sizeof t->outcome)
		return refuse(fs, "d_set_outcome: a NULL or invalid argument");
	snprintf(t->outcome, sizeof t->outcome, "%s", v[3]);
	return 0;
}

/* d_transfer_counter(office, day, code, counter, at): waits for that counter. */
static int w_transfer_counter(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "transfer", "called", "serving");
	int64_t at;
	int counter;

	if (!t)
		return -1;
	if (!parse_int(v[3], &counter) || !counter_row(fs, counter) ||
	    !parse_timestamptz(v[4], &at))
		return refuse(fs, "d_transfer_counter: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->for_counter_id = counter;
	t->counter_id = 0;
	t->called_at = t->started_at = 0;
	t->recalls = 0;
	return check_row(fs, t);
}

/* d_recall(office, day, code, at) */
static int w_recall(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "recall", "called", NULL);
	int64_t at;

	if (!t)
		return -1;
	if (!parse_timestamptz(v[3], &at))
		return refuse(fs, "d_recall: a NULL or invalid argument");
	t->recalls++;
	return check_row(fs, t);
}

/* d_set_state(office, day, code, state, at) */
static int w_set_state(struct fake_store *fs, const char *const *v)
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
		return refuse(fs,
			      "d_set_state: state %s is not serving, done, no_show "
			      "or cancelled",
			      v[3] ? v[3] : "NULL");
	t = target(fs, v, "set state", rules[r].from, rules[r].or_from);
	if (!t)
		return -1;
	if (!parse_timestamptz(v[4], &at))
		return refuse(fs, "d_set_state: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "%s", v[3]);
	if (r == 0)
		t->started_at = at;
	else
		t->finished_at = at;
	return check_row(fs, t);
}

/* d_transfer(office, day, code, queue, at): back to waiting, in its
 * place in time (sort_at stays). */
static int w_transfer(struct fake_store *fs, const char *const *v)
{
	struct fake_ticket *t = target(fs, v, "transfer", "called", "serving");
	int64_t at;
	int queue;

	if (!t)
		return -1;
	if (!parse_int(v[3], &queue) || !parse_timestamptz(v[4], &at))
		return refuse(fs, "d_transfer: a NULL or invalid argument");
	snprintf(t->state, sizeof t->state, "waiting");
	t->queue_id = queue;
	t->counter_id = t->for_counter_id = 0;
	t->called_at = t->started_at = 0;
	t->recalls = 0;
	return check_row(fs, t);
}

/* d_counter_set_open(counter, open, at), the form of 002 */
static int w_counter_set_open(struct fake_store *fs, const char *const *v)
{
	struct counter_row *c;
	int id;
	bool open;
	int64_t at;

	if (!parse_int(v[0], &id) || !parse_bool(v[1], &open) || !parse_timestamptz(v[2], &at))
		return refuse(fs, "d_counter_set_open: a NULL or invalid argument");
	c = counter_row(fs, id);
	if (!c)
		return refuse(fs, "no counter with id %d", id);
	c->open = open;
	return 0;
}

/* d_expire(office, day, at): waiting and called tickets of earlier days. */
static int w_expire(struct fake_store *fs, const char *const *v)
{
	int office;
	int32_t day;
	int64_t at;

	if (!parse_int(v[0], &office) || !parse_date(v[1], &day) || !parse_timestamptz(v[2], &at))
		return refuse(fs, "d_expire: a NULL or invalid argument");
	for (int i = 0; i < fs->ntickets; i++) {
		struct fake_ticket *t = &fs->tickets[i];
		if (t->office_id != office || t->day >= day ||
		    !(state_in(t, "waiting", "called") || state_in(t, "parked", NULL)))
			continue;
		snprintf(t->state, sizeof t->state, "expired");
		t->finished_at = at;
		if (check_row(fs, t) < 0)
			return -1;
	}
	return 0;
}

/* d_check_in(office, queue, day, number, ticket, at, interpreter, booking,
 * estimate, visitor hash): the ticket as d_issue makes it; bookings
 * themselves are not modelled here (the integration tests and pgTAP check
 * them). */
static int w_check_in(struct fake_store *fs, const char *const *v)
{
	const char *issue[] = { v[0], v[1],    v[2], v[3], v[4], NULL,
				v[5], "false", v[6], NULL, v[8], v[9] };

	if (!v[7] || strlen(v[7]) != 8)
		return refuse(fs, "d_check_in: a NULL or invalid booking");
	return w_issue(fs, issue);
}

/* d_book, d_unbook, d_bookings_no_show: their arguments only. */
static int w_book(struct fake_store *fs, const char *const *v)
{
	int office, queue, minutes;
	int64_t start, at;

	if (!parse_int(v[0], &office) || !parse_int(v[1], &queue) || !v[2] || strlen(v[2]) != 8 ||
	    !parse_timestamptz(v[3], &start) || !parse_int(v[4], &minutes) ||
	    !parse_timestamptz(v[7], &at) || start <= at || minutes < 5 || minutes > 240)
		return refuse(fs, "d_book: a NULL or invalid argument");
	return 0;
}

static int w_unbook(struct fake_store *fs, const char *const *v)
{
	int office;
	int64_t at;

	if (!parse_int(v[0], &office) || !v[1] || strlen(v[1]) != 8 ||
	    !parse_timestamptz(v[2], &at))
		return refuse(fs, "d_unbook: a NULL or invalid argument");
	return 0;
}

static int w_bookings_no_show(struct fake_store *fs, const char *const *v)
{
	int office;
	int64_t at;

	if (!parse_int(v[0], &office) || !parse_timestamptz(v[1], &at))
		return refuse(fs, "d_bookings_no_show: a NULL or invalid argument");
	fs->bookings_no_show++;
	return 0;
}

static const struct {
	const char *name;
	int n;
	int (*fn)(struct fake_store *fs, const char *const *values);
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

static int run_write(struct fake_store *fs, const char *stmt, int n, const char *const *values)
{
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
		if (!strcmp(stmt, statements[i].name))
			return n == statements[i].n ? statements[i].fn(fs, values)
						    : refuse(fs, "%s takes %d parameters, not %d",
							     stmt, statements[i].n, n);
	return refuse(fs, "no statement %s", stmt);
}

/* Runs writes as one transaction: all of them, or on the first refusal
 * none (sequences are not rolled back, as in PostgreSQL). */
static bool run_transaction(struct fake_store *fs, const struct write *w, int nw)
{
	int ntickets = fs->ntickets;
	struct fake_ticket *saved = xcalloc((size_t)ntickets, sizeof *saved);
	struct counter_row counters[CONFIG_MAX];
	bool ok = true;

	if (ntickets) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(saved, fs->tickets, (size_t)ntickets * sizeof *saved);
	memcpy(counters, fs->counters, sizeof counters);
	for (int i = 0; ok && i < nw; i++)
		ok = run_write(fs, w[i].stmt, w[i].n, (const char *const *)w[i].values) == 0;
	if (!ok) {
		/* Keys never change once inserted: only new rows own new ones. */
		for (int i = ntickets; i < fs->ntickets; i++)
			free(fs->tickets[i].key);
		if (ntickets)
			memcpy(fs->tickets, saved, (size_t)ntickets * sizeof *saved);
		fs->ntickets = ntickets;
		memcpy(fs->counters, counters, sizeof counters);
	}
	free(saved);
	return ok;
}

int fake_store_exec(struct fake_store *fs, const char *stmt, int n, const char *const *values)
{
	struct write w = { (char *)stmt, n, (char **)values };

	return run_transaction(fs, &w, 1) ? 0 : -1;
}

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
	struct write *w;

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
	struct store_office offices[CONFIG_MAX];
	struct store_queue queues[CONFIG_MAX];
	struct store_counter counters[CONFIG_MAX];
	struct store_counter_queue cqs[CONFIG_MAX * CONFIG_MAX];
	const struct fake_ticket **sel = xcalloc((size_t)fs->ntickets, sizeof *sel);
	int *order = xcalloc((size_t)fs->ntickets + 1, sizeof *order);
	int32_t today = (int32_t)(fs->clock(fs->clock_arg) / (INT64_C(86400) * 1000000));
	struct store_snapshot snap = {
		.offices = offices,
		.noffices = fs->noffices,
		.queues = queues,
		.nqueues = fs->nqueues,
		.counters = counters,
		.ncounters = fs->ncounters,
		.counter_queues = cqs,
		.ncounter_queues = fs->ncqs,
		.ticket_order = order,
	};
	int n = 0;

	for (int i = 0; i < fs->noffices; i++) {
		const struct office_row *o = &fs->offices[i];
		offices[i] =
			(struct store_office){ o->id, o->code, o->code, o->tz, NULL, 1800, 600 };
	}
	for (int i = 0; i < fs->nqueues; i++) {
		const struct queue_row *q = &fs->queues[i];
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
	for (int i = 0; i < fs->ncounters; i++) {
		const struct counter_row *c = &fs->counters[i];
		counters[i] = (struct store_counter){ .id = c->id,
						      .office_id = c->office_id,
						      .name = c->name,
						      .open = c->open,
						      .active = true };
	}
	memcpy(cqs, fs->cqs, (size_t)fs->ncqs * sizeof *cqs);
	for (int i = 0; i < fs->ncqs; i++)
		cqs[i].weight = cqs[i].weight ? cqs[i].weight : 1;
	qsort(cqs, (size_t)fs->ncqs, sizeof *cqs, cmp_cq);
	/* load_tickets: since yesterday (current_date - 1), and earlier ones
	 * still open. */
	for (int i = 0; j->tickets && i < fs->ntickets; i++) {
		const struct fake_ticket *t = &fs->tickets[i];
		if (t->day >= today - 1 || state_in(t, "waiting", "called") ||
		    state_in(t, "serving", "parked"))
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
	for (int i = 0; i < fs->ntickets; i++)
		free(fs->tickets[i].key);
	free(fs->tickets);
	free(fs);
}

void fake_store_add_office(struct fake_store *fs, int id, const char *code, const char *tz)
{
	struct office_row *o = &fs->offices[fs->noffices++];

	o->id = id;
	snprintf(o->code, sizeof o->code, "%s", code);
	snprintf(o->tz, sizeof o->tz, "%s", tz);
}

void fake_store_add_queue(struct fake_store *fs, int id, int office_id, const char *code)
{
	struct queue_row *q = &fs->queues[fs->nqueues++];

	q->id = id;
	q->office_id = office_id;
	snprintf(q->code, sizeof q->code, "%s", code);
}

void fake_store_add_counter(struct fake_store *fs, int id, int office_id, const char *name,
			    bool open)
{
	struct counter_row *c = &fs->counters[fs->ncounters++];

	c->id = id;
	c->office_id = office_id;
	snprintf(c->name, sizeof c->name, "%s", name);
	c->open = open;
}

void fake_store_add_counter_queue(struct fake_store *fs, int counter_id, int queue_id, int rank)
{
	fs->cqs[fs->ncqs++] = (struct store_counter_queue){ counter_id, queue_id, rank, 1 };
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
			refuse(fs, "a write joined batch %llu after it was sent",
			       (unsigned long long)j->seq);
			fs->nrefused++;
			ok = false;
		} else if (!run_transaction(fs, j->writes, j->nwrites)) {
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
	return fs->refusal;
}

int fake_store_ntickets(const struct fake_store *fs)
{
	return fs->ntickets;
}

const struct fake_ticket *fake_store_ticket_at(const struct fake_store *fs, int i)
{
	return i >= 0 && i < fs->ntickets ? &fs->tickets[i] : NULL;
}

const struct fake_ticket *fake_store_ticket(const struct fake_store *fs, int office_id, int32_t day,
					    const char *code)
{
	return find_ticket((struct fake_store *)fs, office_id, day, code);
}

bool fake_store_counter_open(const struct fake_store *fs, int counter_id)
{
	const struct counter_row *c = counter_row((struct fake_store *)fs, counter_id);

	return c && c->open;
}
