/* The ledger of acknowledged facts: for each ticket the most advanced
 * state an ok reply reported, and the run's counters. */
#include "tests/faults/faults.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void ledger_count_issue(void)
{
	pthread_mutex_lock(&mu);
	stats.issued_ok++;
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

static bool comparable(enum f_state a, enum f_state b)
{
	return !((a == FS_DONE && b == FS_NO_SHOW) || (a == FS_NO_SHOW && b == FS_DONE));
}

static int counter_index(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !s[0] || s[1] || s[0] < '1' || s[0] > '0' + F_NCOUNTERS)
		return -1;
	return s[0] - '1';
}

/* One fact about one ticket, from an ok reply (mu held). */
static void fact(const char *code, int number, enum f_state st, int counter, bool issue)
{
	int q, n;
	struct f_fact *f;

	if (f_parse_code(code, &q, &n) != 0 || (number > 0 && n != number) || st == FS_BAD) {
		pthread_mutex_unlock(&mu);
		ledger_violation("reply names a malformed ticket: code %s number %d state %s",
				 code ? code : "(null)", number, f_state_name(st));
		pthread_mutex_lock(&mu);
		return;
	}
	f = slot(q, n);
	if (!f->known) {
		f->known = true;
		f->counter = -1;
		snprintf(f->queue, sizeof f->queue, "%s", f_queue_codes[q]);
	}
	if (issue)
		f->issue_acked = true;
	if (st >= FS_CALLED && counter >= 0) {
		if (f->counter >= 0 && f->counter != counter) {
			pthread_mutex_unlock(&mu);
			ledger_violation("%s acknowledged at counter %d and at counter %d", code,
					 f->counter + 1, counter + 1);
			pthread_mutex_lock(&mu);
		}
		f->counter = counter;
	}
	if (!comparable(f->state, st)) {
		pthread_mutex_unlock(&mu);
		ledger_violation("%s acknowledged both %s and %s", code, f_state_name(f->state),
				 f_state_name(st));
		pthread_mutex_lock(&mu);
		return;
	}
	/* Replies on different connections may arrive in either order; the
	 * workload only moves tickets forward, so the latest fact is the
	 * most advanced one. */
	if (st > f->state)
		f->state = st;
}

void ledger_ticket(const json_t *t, bool issue)
{
	const char *code = json_string_value(json_object_get(t, "code"));
	enum f_state st = f_state_of(json_string_value(json_object_get(t, "state")));
	int number = (int)json_integer_value(json_object_get(t, "number"));
	int counter = counter_index(json_object_get(t, "counter"));

	if (st >= FS_CALLED && counter < 0) {
		ledger_violation("%s is %s without a counter", code ? code : "(null)",
				 f_state_name(st));
		return;
	}
	pthread_mutex_lock(&mu);
	fact(code, number, st, counter, issue);
	pthread_mutex_unlock(&mu);
}

void ledger_finished(const char *code, int counter)
{
	pthread_mutex_lock(&mu);
	fact(code, 0, FS_DONE, counter, false);
	pthread_mutex_unlock(&mu);
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
