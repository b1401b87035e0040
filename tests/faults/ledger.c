/* The ledger of acknowledged facts: for each ticket the newest step an ok
 * reply reported (and what every reply said of it), and the run's
 * counters. */
#include "tests/faults/faults.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct f_stats stats;

/* Facts by queue and number: numbers are dense (1..n), so an array. */
static struct f_fact *facts[F_NQUEUES];
static int facts_cap[F_NQUEUES];
static int facts_max[F_NQUEUES];

#define F_MAX_PRINTED 40

/* Messages already reported: each verification re-checks everything, and
 * a fault found once is counted once. */
static char **seen_msgs;
static size_t nseen;

void ledger_init(void)
{
	memset(&stats, 0, sizeof stats);
	memset(facts, 0, sizeof facts);
	memset(facts_cap, 0, sizeof facts_cap);
	memset(facts_max, 0, sizeof facts_max);
}

void ledger_free(void)
{
	int q;

	size_t i;

	for (q = 0; q < F_NQUEUES; q++) {
		free(facts[q]);
		facts[q] = NULL;
	}
	for (i = 0; i < nseen; i++)
		free(seen_msgs[i]);
	free(seen_msgs);
	seen_msgs = NULL;
	nseen = 0;
}


void ledger_violation(const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	size_t i;
	long n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&mu);
	for (i = 0; i < nseen; i++)
		if (strcmp(seen_msgs[i], msg) == 0) {
			pthread_mutex_unlock(&mu);
			return;
		}
	if (nseen < 10000) {
		char **ns = realloc(seen_msgs, (nseen + 1) * sizeof *ns);

		if (ns) {
			seen_msgs = ns;
			seen_msgs[nseen] = strdup(msg);
			if (seen_msgs[nseen])
				nseen++;
		}
	}
	n = ++stats.violations;
	pthread_mutex_unlock(&mu);
	if (n <= F_MAX_PRINTED)
		fprintf(stderr, "faults: VIOLATION: %s\n", msg);
	else if (n == F_MAX_PRINTED + 1)
		fprintf(stderr, "faults: VIOLATION: (further ones only counted)\n");
}

void ledger_count(enum f_outcome o, bool change, int64_t sent_us)
{
	pthread_mutex_lock(&mu);
	stats.sent++;
	switch (o) {
	case FO_OK:
		stats.ok++;
		if (change && sent_us > stats.last_change_ok_sent_us)
			stats.last_change_ok_sent_us = sent_us;
		break;
	case FO_UNAVAILABLE: stats.unavailable++; break;
	case FO_ERROR: stats.errors++; break;
	case FO_LOST: stats.lost++; break;
	}
	pthread_mutex_unlock(&mu);
}

void ledger_count_issue(bool priority, bool interpreter)
{
	pthread_mutex_lock(&mu);
	stats.issued_ok++;
	stats.priority_ok += priority;
	stats.interpreter_ok += interpreter;
	pthread_mutex_unlock(&mu);
}

void ledger_count_op(enum f_op op)
{
	pthread_mutex_lock(&mu);
	if ((unsigned)op <= OP_REACTIVATE)
		stats.op_ok[op]++;
	pthread_mutex_unlock(&mu);
}

void ledger_count_counter(void)
{
	pthread_mutex_lock(&mu);
	stats.counter_ok++;
	pthread_mutex_unlock(&mu);
}

void ledger_count_hello(void)
{
	pthread_mutex_lock(&mu);
	stats.hellos++;
	pthread_mutex_unlock(&mu);
}

struct f_stats ledger_stats(void)
{
	struct f_stats s;

	pthread_mutex_lock(&mu);
	s = stats;
	pthread_mutex_unlock(&mu);
	return s;
}

int f_parse_code(const char *code, int *queue, int *number)
{
	const char *dash;
	char *end;
	long n;
	int q;

	if (!code || !(dash = strchr(code, '-')))
		return -1;
	for (q = 0; q < F_NQUEUES; q++)
		if (strlen(f_queue_codes[q]) == (size_t)(dash - code) &&
		    strncmp(code, f_queue_codes[q], (size_t)(dash - code)) == 0)
			break;
	if (q == F_NQUEUES)
		return -1;
	n = strtol(dash + 1, &end, 10);
	if (*end || n <= 0 || n > 10000000)
		return -1;
	*queue = q;
	*number = (int)n;
	return 0;
}

/* The fact slot for queue q, number n (mu held). */
static struct f_fact *slot(int q, int n)
{
	if (n >= facts_cap[q]) {
		int cap = facts_cap[q] ? facts_cap[q] : 1024;
		struct f_fact *nf;

		while (cap <= n)
			cap *= 2;
		nf = realloc(facts[q], (size_t)cap * sizeof *nf);
		if (!nf)
			abort();
		memset(nf + facts_cap[q], 0, (size_t)(cap - facts_cap[q]) * sizeof *nf);
		facts[q] = nf;
		facts_cap[q] = cap;
	}
	if (n > facts_max[q])
		facts_max[q] = n;
	return &facts[q][n];
}

static int counter_index(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !s[0] || s[1] || s[0] < '1' || s[0] > '0' + F_NCOUNTERS)
		return -1;
	return s[0] - '1';
}

int64_t f_parse_ms(const char *iso)
{
	struct tm tm;
	int ms, n = 0;

	if (!iso)
		return -1;
	memset(&tm, 0, sizeof tm);
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 ||
	    n != (int)strlen(iso))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* One acknowledged step. */
struct step {
	enum f_state st;
	int counter, for_counter;
	bool started;
	int64_t ord_ms;
	int ord_phase;
};

/* The order key of a step. The states of one ticket are not ordered and
 * replies on different connections reach the ledger in any order (a
 * counter's call_next reply may be recorded before the transfer reply
 * that put the ticket in its list), so each step gets a key that follows
 * the daemon's order of the steps of one ticket:
 *   issue                               (0, 0)
 *   a round begun by a call at T (ms):  called (T, 1), serving (T, 2),
 *                                       parked or no_show (T, 3)
 *   transfer, reactivate ending it:     (T, 4)
 *   done                                (max, 0): final
 * called_at has millisecond resolution, so this needs the next call to be
 * at least a millisecond after T: the load waits 2 ms between learning
 * of a round and sending the park, transfer or reactivate that ends it,
 * and the next call is handled after that send. */
static void order_key(struct step *s, enum f_op op, int64_t called_ms, const struct f_ack *ack)
{
	static const int phase[] = {
		[FS_CALLED] = 1, [FS_SERVING] = 2, [FS_PARKED] = 3, [FS_NO_SHOW] = 3
	};

	s->ord_ms = 0;
	s->ord_phase = 0;
	switch (s->st) {
	case FS_DONE: s->ord_ms = INT64_MAX; break;
	case FS_WAITING:
		if (op == OP_TRANSFER || op == OP_REACTIVATE) {
			s->ord_ms = ack->round_ms;
			s->ord_phase = 4;
		}
		break;
	case FS_CALLED:
	case FS_SERVING:
	case FS_PARKED:
	case FS_NO_SHOW:
		s->ord_ms = called_ms;
		s->ord_phase = phase[s->st];
		break;
	default: break;
	}
}

static bool same_step(const struct f_fact *f, const struct step *s)
{
	return f->state == s->st && f->counter == s->counter && f->for_counter == s->for_counter &&
	       f->started == s->started;
}

/* The fact slot of a code, made known (mu held); NULL when malformed. */
static struct f_fact *known_fact(const char *code, int number)
{
	int q, n;
	struct f_fact *f;

	if (f_parse_code(code, &q, &n) != 0 || (number > 0 && n != number))
		return NULL;
	f = slot(q, n);
	if (!f->known) {
		f->known = true;
		f->state = FS_NONE;
		f->counter = f->for_counter = -1;
		snprintf(f->queue, sizeof f->queue, "%s", f_queue_codes[q]);
	}
	return f;
}

/* One step of one ticket, from an ok reply (mu held). why gets a
 * violation to report once mu is released (another thread may move the
 * facts meanwhile). */
static void fact(const char *code, struct f_fact *f, const struct step *s, enum f_op op,
		 int64_t sent_us, char *why, size_t whylen)
{
	if (op == OP_ISSUE)
		f->issue_acked = true;
	/* An issue is the ticket's first step, whenever its reply arrives. */
	if (f->state != FS_NONE &&
	    (s->ord_ms < f->ord_ms || (s->ord_ms == f->ord_ms && s->ord_phase < f->ord_phase)))
		return;
	if (f->state != FS_NONE && s->ord_ms == f->ord_ms && s->ord_phase == f->ord_phase) {
		if (!same_step(f, s))
			snprintf(why, whylen,
				 "%s acknowledged both %s (counter %d, for %d) and %s (counter %d, "
				 "for %d) as one step",
				 code, f_state_name(f->state), f->counter + 1, f->for_counter + 1,
				 f_state_name(s->st), s->counter + 1, s->for_counter + 1);
		return;
	}
	f->state = s->st;
	f->op = op;
	f->counter = s->counter;
	f->for_counter = s->for_counter;
	f->started = s->started;
	f->ord_ms = s->ord_ms;
	f->ord_phase = s->ord_phase;
	f->sent_us = sent_us;
}

void ledger_ticket(const json_t *t, const struct f_ack *ack)
{
	const char *code = json_string_value(json_object_get(t, "code"));
	const char *interp = json_string_value(json_object_get(t, "interpreter"));
	const json_t *fc = json_object_get(t, "for_counter");
	int number = (int)json_integer_value(json_object_get(t, "number"));
	int64_t called_ms = f_parse_ms(json_string_value(json_object_get(t, "called_at")));
	bool prio = json_is_true(json_object_get(t, "priority"));
	struct step s = { .st = f_state_of(json_string_value(json_object_get(t, "state"))),
			  .counter = counter_index(json_object_get(t, "counter")),
			  .for_counter = fc && !json_is_null(fc) ? counter_index(fc) : -1 };
	struct f_fact *f;
	char why[2][256] = { "", "" };
	bool skip;
	int i;

	if (s.st == FS_BAD || s.st == FS_NONE || (fc && !json_is_null(fc) && s.for_counter < 0)) {
		ledger_violation("reply names a malformed ticket: code %s state %s",
				 code ? code : "(null)",
				 json_string_value(json_object_get(t, "state")));
		return;
	}
	if (s.st != FS_WAITING && (s.counter < 0 || called_ms < 0)) {
		ledger_violation("%s is %s without a counter or a call time",
				 code ? code : "(null)", f_state_name(s.st));
		return;
	}
	if (s.st == FS_WAITING && s.counter >= 0) {
		ledger_violation("%s is waiting at counter %d", code ? code : "(null)",
				 s.counter + 1);
		return;
	}
	s.started = s.st == FS_SERVING || ((s.st == FS_PARKED || s.st == FS_DONE) && ack->started);
	/* A repeated key answers with the ticket as it is now, which may be
	 * parked or done after a round the kiosk knows nothing of: whether
	 * that round was started is unknown, so no step is taken from it. */
	skip = ack->op == OP_ISSUE && (s.st == FS_PARKED || s.st == FS_DONE);
	order_key(&s, ack->op, called_ms, ack);
	pthread_mutex_lock(&mu);
	f = known_fact(code, number);
	if (!f) {
		pthread_mutex_unlock(&mu);
		ledger_violation("reply names a malformed ticket: code %s number %d",
				 code ? code : "(null)", number);
		return;
	}
	/* Priority and interpreter never change: every reply tells them. */
	if (f->attrs_seen && (f->priority != prio || strcmp(f->interpreter, interp ? interp : "")))
		snprintf(why[0], sizeof why[0],
			 "%s acknowledged with priority %d interpreter '%s' and with priority %d "
			 "interpreter '%s'",
			 code, f->priority, f->interpreter, prio, interp ? interp : "");
	f->attrs_seen = true;
	f->priority = prio;
	snprintf(f->interpreter, sizeof f->interpreter, "%s", interp ? interp : "");
	if (skip)
		f->issue_acked = true;
	else
		fact(code, f, &s, ack->op, ack->sent_us, why[1], sizeof why[1]);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < 2; i++)
		if (why[i][0])
			ledger_violation("%s", why[i]);
}

void ledger_finished(const char *code, const struct f_ack *ack)
{
	struct step s = {
		.st = FS_DONE, .counter = ack->counter, .for_counter = -1, .started = ack->started
	};
	struct f_fact *f;
	char why[256] = "";

	order_key(&s, ack->op, 0, ack);
	pthread_mutex_lock(&mu);
	f = known_fact(code, 0);
	if (f)
		fact(code, f, &s, ack->op, ack->sent_us, why, sizeof why);
	pthread_mutex_unlock(&mu);
	if (!f)
		ledger_violation("a call finished a malformed ticket: %s", code ? code : "(null)");
	else if (why[0])
		ledger_violation("%s", why);
}

const struct f_fact *ledger_fact(int q, int n)
{
	const struct f_fact *f = NULL;

	pthread_mutex_lock(&mu);
	if (n > 0 && n < facts_cap[q] && facts[q][n].known)
		f = &facts[q][n];
	pthread_mutex_unlock(&mu);
	return f;
}

int ledger_max_number(int q)
{
	int n;

	pthread_mutex_lock(&mu);
	n = facts_max[q];
	pthread_mutex_unlock(&mu);
	return n;
}
