/* The verifier: the database against what the clients were told.
 *
 * The rule, per ticket row of the office (clients paused, so every request
 * has either been answered or will never be):
 *
 *  - A ticket some reply named must exist, exactly once, with the number
 *    and queue of its code.
 *  - Let A be the newest step an ok reply acknowledged for the ticket
 *    (ledger.c orders one ticket's steps: by the call that began their
 *    round, then by the step within it): its state; where it is (called,
 *    serving, parked, done, no_show: the counter); which counter it waits
 *    for (waiting after a transfer to a counter; none after an issue or a
 *    reactivate); whether its round was started (went through serving).
 *    A is "none" when no reply named the ticket. Let D be the same four
 *    of the database row (state, counter_id, for_counter_id, started_at
 *    IS NOT NULL).
 *  - D must be A, or be reached from A by a chain of steps each paid for
 *    by its own request that was sent and never answered (a reply lost in
 *    a crash may belong to a commit), and that could still commit after
 *    the step before it (its window, which ends at the client's next
 *    state-changing send, ends after the previous step's request was
 *    sent). A request answered with an error, `unavailable` included,
 *    changed nothing and pays for nothing. The steps are those of the
 *    transition table (daemon/engine/ticket_state.c) that the workload
 *    uses:
 *      (none) -> waiting        an unanswered issue: for a keyed ticket, an
 *                               unanswered attempt with its key; unkeyed
 *                               tickets no reply named are at most the
 *                               unanswered unkeyed issues;
 *      waiting -> called at c   an unanswered call_next of c, c being the
 *                               counter it waits for if it waits for one
 *                               (counted per counter), or an unanswered
 *                               call of its code by c;
 *      parked -> called at c    an unanswered call of its code by c;
 *      called -> serving        an unanswered start of the counter it is
 *                               at, sent while that counter held it;
 *      called, serving -> done  an unanswered finish, call_next or call of
 *                               that counter, sent while it held it;
 *      called -> no_show        an unanswered no_show, likewise;
 *      called, serving -> parked  an unanswered park, likewise (a parked
 *                               ticket stays at its counter);
 *      called, serving -> waiting for d  an unanswered transfer to d,
 *                               likewise;
 *      no_show -> waiting       an unanswered reactivate of its code.
 *    A call begins an unstarted round; start starts it. So nothing
 *    acknowledged is lost: an acknowledged park is parked in the database
 *    at its counter unless an unanswered call (or a later acknowledged
 *    step) moved it; an acknowledged transfer waits for its counter and
 *    only that counter's call_next may have called it; a reactivated
 *    ticket is not a no_show unless an unanswered call and no_show made it
 *    one again; an acknowledged start keeps started_at for its round.
 *  - Priority and interpreter are what every reply naming the ticket said.
 *  - Idempotency: at most one row per key, its code the one every ok
 *    reply for the key named, and its issued_at (the daemon's wall clock
 *    when it handled the request) inside the send/reply window of an
 *    attempt that was answered ok or not at all: a row stamped inside an
 *    attempt answered `unavailable` was committed by that attempt.
 *  - History, not only the final state: every called, serving, done,
 *    no_show, parked and transferred event the database logged for a
 *    counter must fall (by its time stamp, the daemon's wall clock when it
 *    handled the request) inside the window of a request of that counter
 *    that makes such a step (called: call_next or call; serving: start;
 *    done: finish, call_next or call; no_show: no_show; parked: park;
 *    transferred: transfer) and was answered ok or not at all; every
 *    reactivated event inside the window of a kiosk's reactivate of that
 *    ticket answered ok or not at all. A later acknowledged op can hide an
 *    earlier refused-but-committed one from the state rule; not from
 *    this one.
 *  - Numbers per queue and business day are 1..n without holes or
 *    repeats; every row has exactly one `issued` event. */
#include "tests/faults/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

/* Client and daemon read the same clock; the slack only absorbs rounding. */
#define F_CLOCK_SLACK_US 2000

/* The longest chain of unanswered steps tried for one ticket. */
#define F_MAX_CHAIN 6

struct vrow {
	int q, n;
	enum f_state st;
	int counter, for_counter; /* 0-based; -1 for none */
	bool started;
	bool priority;
	const char *interpreter; /* "" for none */
	int64_t issued_us;
	const char *key;
	const char *code;
};

/* An unanswered request that may pay for one step. A call or call_next
 * may pay for two: the held ticket's done and the call. */
struct lost {
	const struct f_req *rq;
	int counter; /* -1: a kiosk's */
	bool used_held, used_target;
};

/* Where a chain of unanswered steps stands. */
struct chain {
	enum f_state st;
	int counter, for_counter;
	bool started;
	int64_t after_us; /* the next step's request must end after this */
};

/* The unanswered requests of this pass, and the call_next the chains
 * took, per counter (one call_next calls one ticket; it does not say which). */
struct lostset {
	struct lost *v;
	int n;
	int lost_calls[F_NCOUNTERS];
	int64_t last_call_end[F_NCOUNTERS]; /* the latest end of a lost call_next */
	int need_call[F_NCOUNTERS];
};

static int counter_of(const char *name)
{
	if (!name || !name[0] || name[1] || name[0] < '1' || name[0] > '0' + F_NCOUNTERS)
		return -1;
	return name[0] - '1';
}

static long scalar(PGconn *c, const char *sql, const char *office)
{
	const char *p[1] = { office };
	PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
	long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "faults: verify query failed: %s", PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

static const char rows_sql[] =
	"SELECT t.code, t.number, oq.code, t.state, c.name, t.idem_key,"
	" (extract(epoch FROM t.issued_at) * 1000000)::bigint,"
	" t.started_at IS NOT NULL, t.business_day::text, fc.name, t.priority,"
	" coalesce(t.interpreter, '')"
	" FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
	" JOIN kolapp.queues oq ON oq.id = t.origin_queue_id"
	" LEFT JOIN kolapp.counters c ON c.id = t.counter_id"
	" LEFT JOIN kolapp.counters fc ON fc.id = t.for_counter_id"
	" WHERE o.code = $1 ORDER BY t.id";

static const char events_sql[] =
	"SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
	" WHERE o.code = $1 AND (SELECT count(*) FROM kolapp.ticket_events e"
	"  WHERE e.ticket_id = t.id AND e.kind = 'issued') <> 1";

static const char dupkey_sql[] = "SELECT count(*) FROM (SELECT t.idem_key FROM kolapp.tickets t"
				 " JOIN kolapp.offices o ON o.id = t.office_id WHERE o.code = $1"
				 " AND t.idem_key IS NOT NULL GROUP BY t.business_day, t.idem_key"
				 " HAVING count(*) > 1) d";

static const char events_hist_sql[] =
	"SELECT e.kind, c.name, (extract(epoch FROM e.at) * 1000000)::bigint, t.code"
	" FROM kolapp.ticket_events e JOIN kolapp.tickets t ON t.id = e.ticket_id"
	" JOIN kolapp.offices o ON o.id = e.office_id"
	" LEFT JOIN kolapp.counters c ON c.id = e.counter_id"
	" WHERE o.code = $1 AND e.kind IN ('called', 'serving', 'done', 'no_show', 'parked',"
	" 'transferred', 'reactivated')"
	" ORDER BY e.id";

/* Can a request op log an event of this kind? */
static bool makes(const char *kind, enum f_op op)
{
	if (strcmp(kind, "called") == 0)
		return op == OP_CALL_NEXT || op == OP_CALL;
	if (strcmp(kind, "done") == 0)
		return op == OP_FINISH || op == OP_CALL_NEXT || op == OP_CALL;
	if (strcmp(kind, "serving") == 0)
		return op == OP_START;
	if (strcmp(kind, "no_show") == 0)
		return op == OP_NO_SHOW;
	if (strcmp(kind, "parked") == 0)
		return op == OP_PARK;
	if (strcmp(kind, "transferred") == 0)
		return op == OP_TRANSFER;
	return false;
}

static bool in_window(const struct f_req *r, int64_t at)
{
	return r->sent_us - F_CLOCK_SLACK_US <= at &&
	       (r->end_us == INT64_MAX || at <= r->end_us + F_CLOCK_SLACK_US);
}

/* The requests of one counter whose window holds at and that could log
 * kind: does one of them allow a commit (ok or unanswered)? *refused gets
 * a refused one's index. */
static bool placed_in(const struct f_req *rq, int n, int64_t at, const char *kind, int *refused)
{
	int lo = 0, hi = n, i;
	bool placed = false;

	*refused = -1;
	/* A counter sends one request at a time, so windows are sorted and
	 * disjoint but for the slack: find the first request sent after at,
	 * then look back until a window ends before it. Not a fixed few: the
	 * refusals right after a restart come in microseconds, and several of
	 * them fall within the slack after the request that made the step. An
	 * unanswered request further back cannot have committed this late: a
	 * later one was sent only after the daemon that had it was gone. */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (rq[mid].sent_us - F_CLOCK_SLACK_US <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo - 1; i >= 0; i--) {
		if (rq[i].end_us != INT64_MAX && rq[i].end_us + F_CLOCK_SLACK_US < at)
			break;
		if (!in_window(&rq[i], at) || !makes(kind, rq[i].op))
			continue;
		if (rq[i].outcome == FO_OK || rq[i].outcome == FO_LOST)
			placed = true;
		else
			*refused = i;
	}
	return placed;
}

/* A reactivated event: a kiosk's reactivate of that ticket. */
static bool placed_kiosk(const char *code, int64_t at, const char **refused)
{
	int k, i, n;

	*refused = NULL;
	for (k = 0; k < F_NKIOSKS; k++) {
		const struct f_req *rq = load_kiosk_reqs(k, &n);

		for (i = 0; i < n; i++) {
			if (strcmp(rq[i].target, code) != 0 || !in_window(&rq[i], at))
				continue;
			if (rq[i].outcome == FO_OK || rq[i].outcome == FO_LOST)
				return true;
			*refused = rq[i].outcome == FO_UNAVAILABLE ? "unavailable"
								   : "with an error";
		}
	}
	return false;
}

static void check_history(PGconn *c, const char *office, struct f_verify *v)
{
	const char *p[1] = { office };
	PGresult *res = PQexecParams(c, events_hist_sql, 1, NULL, p, NULL, NULL, 0);
	int i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ledger_violation("event history query failed: %s", PQresultErrorMessage(res));
		v->violations++;
		PQclear(res);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0);
		int ctr = PQgetisnull(res, i, 1) ? -1 : counter_of(PQgetvalue(res, i, 1));
		int64_t at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		const char *code = PQgetvalue(res, i, 3);
		const struct f_req *rq;
		const char *why;
		int n, refused;

		if (strcmp(kind, "reactivated") == 0) {
			if (placed_kiosk(code, at, &why))
				continue;
			if (why)
				ledger_violation("reactivated of %s (at %lld us) was committed by "
						 "a "
						 "reactivate answered %s",
						 code, (long long)at, why);
			else
				ledger_violation("reactivated of %s (at %lld us) falls in no "
						 "reactivate of it",
						 code, (long long)at);
			v->violations++;
			continue;
		}
		if (ctr < 0) {
			ledger_violation("%s event of %s without a counter", kind, code);
			v->violations++;
			continue;
		}
		rq = load_counter_reqs(ctr, &n);
		if (placed_in(rq, n, at, kind, &refused))
			continue;
		if (refused >= 0)
			ledger_violation("%s of %s at counter %d (at %lld us) was committed by "
					 "request %d (%s), which was answered %s",
					 kind, code, ctr + 1, (long long)at, refused + 1,
					 f_op_name(rq[refused].op),
					 rq[refused].outcome == FO_UNAVAILABLE ? "unavailable"
									       : "with an error");
		else
			ledger_violation("%s of %s at counter %d (at %lld us) falls in no request "
					 "of that counter that makes it",
					 kind, code, ctr + 1, (long long)at);
		v->violations++;
	}
	PQclear(res);
}

/* Keyed rows against the kiosks' key records. */
static void check_keys(struct vrow *rows, int nrows, struct f_verify *v)
{
	int kiosk, i, j;
	int *row_of[F_NKIOSKS];
	int nkeys[F_NKIOSKS];
	const struct f_key *keys[F_NKIOSKS];

	for (kiosk = 0; kiosk < F_NKIOSKS; kiosk++) {
		keys[kiosk] = load_keys(kiosk, &nkeys[kiosk]);
		row_of[kiosk] = malloc(((size_t)nkeys[kiosk] + 1) * sizeof(int));
		for (j = 0; j < nkeys[kiosk]; j++)
			row_of[kiosk][j] = -1;
	}
	for (i = 0; i < nrows; i++) {
		int k, n;

		if (!rows[i].key)
			continue;
		if (sscanf(rows[i].key, "k%d-%d", &k, &n) != 2 || k < 0 || k >= F_NKIOSKS ||
		    n < 0 || n >= nkeys[k]) {
			ledger_violation("%s has key %s that no kiosk sent", rows[i].code,
					 rows[i].key);
			v->violations++;
			continue;
		}
		if (row_of[k][n] >= 0) {
			ledger_violation("key %s committed twice: %s and %s", rows[i].key,
					 rows[row_of[k][n]].code, rows[i].code);
			v->violations++;
		}
		row_of[k][n] = i;
	}
	for (kiosk = 0; kiosk < F_NKIOSKS; kiosk++) {
		for (j = 0; j < nkeys[kiosk]; j++) {
			const struct f_key *key = &keys[kiosk][j];
			const struct vrow *r = row_of[kiosk][j] >= 0 ? &rows[row_of[kiosk][j]]
								     : NULL;
			bool lost = false, placed = false;
			int a, in_refused = -1;

			for (a = 0; a < key->nattempts; a++)
				lost |= key->att[a].outcome == FO_LOST;
			if (key->code[0] && (!r || strcmp(r->code, key->code) != 0)) {
				ledger_violation("key k%d-%d was answered %s, the database has %s",
						 kiosk, j, key->code, r ? r->code : "no ticket");
				v->violations++;
			}
			if (!r)
				continue;
			if (!key->code[0] && !lost) {
				ledger_violation("key k%d-%d: %s committed, yet no attempt went "
						 "unanswered (%d attempts, all refused)",
						 kiosk, j, r->code, key->nattempts);
				v->violations++;
			}
			for (a = 0; a < key->nattempts; a++) {
				const struct f_attempt *at = &key->att[a];
				bool inside = at->sent_us - F_CLOCK_SLACK_US <= r->issued_us &&
					      (at->outcome == FO_LOST ||
					       r->issued_us <= at->reply_us + F_CLOCK_SLACK_US);

				if (!inside)
					continue;
				if (at->outcome == FO_OK || at->outcome == FO_LOST)
					placed = true;
				else
					in_refused = a;
			}
			if (!placed) {
				ledger_violation("key k%d-%d: %s was stamped %lld us, inside "
						 "attempt "
						 "%d of %d which was answered %s: a refused "
						 "request "
						 "committed",
						 kiosk, j, r->code, (long long)r->issued_us,
						 in_refused + 1, key->nattempts,
						 in_refused >= 0 && key->att[in_refused].outcome ==
									    FO_UNAVAILABLE
							 ? "unavailable"
							 : "with an error (or none matches)");
				v->violations++;
			}
		}
		free(row_of[kiosk]);
	}
}

static bool at_goal(const struct chain *s, const struct vrow *r)
{
	if (s->st != r->st)
		return false;
	if (s->st == FS_WAITING)
		return s->for_counter == r->for_counter;
	return s->counter == r->counter && s->started == r->started;
}

static int64_t later(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* One unanswered step of the header comment's list from s, then the
 * rest of the chain: true when it reaches the row within depth steps.
 * Each request pays once (used_held, used_target); on failure every mark
 * is undone. */
static bool walk(struct lostset *ls, const struct vrow *r, const struct chain *s, int depth)
{
	int i, c;

	if (at_goal(s, r))
		return true;
	if (depth == 0)
		return false;
	if (s->st == FS_WAITING)
		for (c = 0; c < F_NCOUNTERS; c++) {
			struct chain n = { FS_CALLED, c, -1, false, s->after_us };

			/* A call_next does not say which ticket it would have
			 * called: the chains' calls are counted against the
			 * counter's unanswered call_next afterwards. */
			if ((s->for_counter >= 0 && c != s->for_counter) || !ls->lost_calls[c] ||
			    ls->last_call_end[c] <= s->after_us)
				continue;
			ls->need_call[c]++;
			if (walk(ls, r, &n, depth - 1))
				return true;
			ls->need_call[c]--;
		}
	for (i = 0; i < ls->n; i++) {
		struct lost *l = &ls->v[i];
		const struct f_req *q = l->rq;
		struct chain n = *s;
		bool *mark = &l->used_held;

		if (q->end_us <= s->after_us)
			continue;
		n.after_us = later(s->after_us, q->sent_us);
		if (q->op == OP_CALL && (s->st == FS_WAITING || s->st == FS_PARKED)) {
			if (l->used_target || strcmp(q->target, r->code) != 0)
				continue;
			n.st = FS_CALLED;
			n.counter = l->counter;
			n.for_counter = -1;
			n.started = false;
			mark = &l->used_target;
		} else if (q->op == OP_REACTIVATE && s->st == FS_NO_SHOW) {
			if (l->used_target || strcmp(q->target, r->code) != 0)
				continue;
			n.st = FS_WAITING;
			n.counter = n.for_counter = -1;
			n.started = false;
			mark = &l->used_target;
		} else if ((s->st == FS_CALLED || s->st == FS_SERVING) &&
			   l->counter == s->counter && !l->used_held &&
			   strcmp(q->held, r->code) == 0) {
			switch (q->op) {
			case OP_START:
				if (s->st != FS_CALLED)
					continue;
				n.st = FS_SERVING;
				n.started = true;
				break;
			case OP_FINISH:
			case OP_CALL_NEXT:
			case OP_CALL: n.st = FS_DONE; break;
			case OP_NO_SHOW:
				if (s->st != FS_CALLED)
					continue;
				n.st = FS_NO_SHOW;
				break;
			case OP_PARK: n.st = FS_PARKED; break;
			case OP_TRANSFER:
				n.st = FS_WAITING;
				n.counter = -1;
				n.for_counter = q->to_counter;
				n.started = false;
				break;
			default: continue;
			}
		} else {
			continue;
		}
		*mark = true;
		if (walk(ls, r, &n, depth - 1))
			return true;
		*mark = false;
	}
	return false;
}

static void describe(char *buf, size_t n, enum f_state st, int counter, int for_counter,
		     bool started)
{
	if (st == FS_WAITING && for_counter >= 0)
		snprintf(buf, n, "waiting for counter %d", for_counter + 1);
	else if (st == FS_NONE || st == FS_WAITING)
		snprintf(buf, n, "%s", f_state_name(st));
	else
		snprintf(buf, n, "%s at counter %d%s", f_state_name(st), counter + 1,
			 st == FS_PARKED || st == FS_DONE
				 ? (started ? " (started)" : " (not started)")
				 : "");
}

/* The step rule of the header comment, for one row. */
static void explain(const struct vrow *r, struct lostset *ls, long *unkeyed_unexplained,
		    struct f_verify *v)
{
	const struct f_fact *f = ledger_fact(r->q, r->n);
	struct chain s = { FS_WAITING, -1, -1, false, r->issued_us - F_CLOCK_SLACK_US };
	char want[80], got[80];
	int depth;

	if (r->st != FS_WAITING && r->counter < 0) {
		ledger_violation("%s is %s without a counter", r->code, f_state_name(r->st));
		v->violations++;
		return;
	}
	if (f && f->attrs_seen &&
	    (f->priority != r->priority || strcmp(f->interpreter, r->interpreter) != 0)) {
		ledger_violation("%s was acknowledged with priority %s interpreter '%s', the "
				 "database has priority %s interpreter '%s'",
				 r->code, f->priority ? "true" : "false", f->interpreter,
				 r->priority ? "true" : "false", r->interpreter);
		v->violations++;
	}
	/* Created by an issue whose reply was lost (keyed ones: check_keys);
	 * from there on the chain starts at waiting. */
	if ((!f || !f->issue_acked) && !r->key)
		(*unkeyed_unexplained)++;
	if (f && f->state != FS_NONE) {
		s.st = f->state;
		s.counter = f->counter;
		s.for_counter = f->for_counter;
		s.started = f->started;
		s.after_us = f->sent_us - F_CLOCK_SLACK_US;
	}
	/* Shortest chains first: they pay with the fewest requests. */
	for (depth = 0; depth <= F_MAX_CHAIN; depth++)
		if (walk(ls, r, &s, depth)) {
			v->chained += depth > 0;
			return;
		}
	describe(want, sizeof want, f ? f->state : FS_NONE, s.counter, s.for_counter, s.started);
	describe(got, sizeof got, r->st, r->counter, r->for_counter, r->started);
	ledger_violation("%s was acknowledged %s (by %s), the database has it %s, and no chain of "
			 "unanswered requests leads there",
			 r->code, want, f ? f_op_name(f->op) : "no reply", got);
	v->violations++;
}

/* Every request of this run that was sent and never answered. */
static void collect_lost(struct lostset *ls)
{
	int c, i, n, cap = 64;

	memset(ls, 0, sizeof *ls);
	ls->v = malloc((size_t)cap * sizeof *ls->v);
	for (c = -F_NKIOSKS; c < F_NCOUNTERS; c++) {
		/* kiosks as -1..-F_NKIOSKS, then the counters */
		const struct f_req *rq = c < 0 ? load_kiosk_reqs(-c - 1, &n)
					       : load_counter_reqs(c, &n);

		for (i = 0; i < n; i++) {
			if (rq[i].outcome != FO_LOST)
				continue;
			if (ls->n == cap) {
				cap *= 2;
				ls->v = realloc(ls->v, (size_t)cap * sizeof *ls->v);
				if (!ls->v)
					abort();
			}
			ls->v[ls->n].rq = &rq[i];
			ls->v[ls->n].counter = c < 0 ? -1 : c;
			ls->v[ls->n].used_held = ls->v[ls->n].used_target = false;
			ls->n++;
			if (c >= 0 && rq[i].op == OP_CALL_NEXT) {
				ls->lost_calls[c]++;
				ls->last_call_end[c] = later(ls->last_call_end[c], rq[i].end_us);
			}
		}
	}
}

static int load_rows(PGresult *res, struct vrow *rows, struct f_verify *v)
{
	int i, n = PQntuples(res);
	const char *day0 = n ? PQgetvalue(res, 0, 8) : "";

	for (i = 0; i < n; i++) {
		struct vrow *r = &rows[i];
		char want[F_CODELEN + 8];

		r->code = PQgetvalue(res, i, 0);
		r->st = f_state_of(PQgetvalue(res, i, 3));
		r->counter = PQgetisnull(res, i, 4) ? -1 : counter_of(PQgetvalue(res, i, 4));
		r->key = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
		r->issued_us = strtoll(PQgetvalue(res, i, 6), NULL, 10);
		r->started = PQgetvalue(res, i, 7)[0] == 't';
		r->for_counter = PQgetisnull(res, i, 9) ? -1 : counter_of(PQgetvalue(res, i, 9));
		r->priority = PQgetvalue(res, i, 10)[0] == 't';
		r->interpreter = PQgetvalue(res, i, 11);
		if (f_parse_code(r->code, &r->q, &r->n) != 0 ||
		    strtol(PQgetvalue(res, i, 1), NULL, 10) != r->n ||
		    strcmp(PQgetvalue(res, i, 2), f_queue_codes[r->q]) != 0 || r->st == FS_BAD) {
			ledger_violation("row %s (number %s, queue %s, state %s) is malformed",
					 r->code, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
					 PQgetvalue(res, i, 3));
			v->violations++;
			r->q = -1;
			continue;
		}
		snprintf(want, sizeof want, "%s-%03d", f_queue_codes[r->q], r->n);
		if (strcmp(want, r->code) != 0) {
			ledger_violation("code %s should be %s", r->code, want);
			v->violations++;
		}
		if (strcmp(PQgetvalue(res, i, 8), day0) != 0) {
			/* The office's zone keeps local midnight hours away. */
			ledger_violation("tickets of two business days (%s, %s)", day0,
					 PQgetvalue(res, i, 8));
			v->violations++;
		}
	}
	return n;
}

int verify_run(const char *conninfo, const char *office, struct f_verify *v)
{
	PGconn *c = PQconnectdb(conninfo);
	const char *p[1] = { office };
	PGresult *res;
	struct vrow *rows;
	struct lostset ls;
	long unkeyed_unexplained = 0, x;
	int i, q, n, nrows;
	char *seen[F_NQUEUES];
	int maxn[F_NQUEUES] = { 0 };

	memset(v, 0, sizeof *v);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "faults: verify cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	res = PQexecParams(c, rows_sql, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "faults: verify query failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(c);
		return -1;
	}
	rows = calloc((size_t)PQntuples(res) + 1, sizeof *rows);
	nrows = load_rows(res, rows, v);
	v->tickets = nrows;

	/* Numbers: 1..max, each once, per queue (one business day). */
	for (i = 0; i < nrows; i++)
		if (rows[i].q >= 0 && rows[i].n > maxn[rows[i].q])
			maxn[rows[i].q] = rows[i].n;
	for (q = 0; q < F_NQUEUES; q++) {
		int lm = ledger_max_number(q);

		if (lm > maxn[q])
			maxn[q] = lm;
		seen[q] = calloc((size_t)maxn[q] + 1, 1);
	}
	for (i = 0; i < nrows; i++) {
		if (rows[i].q < 0)
			continue;
		if (seen[rows[i].q][rows[i].n]++) {
			ledger_violation("%s exists twice", rows[i].code);
			v->violations++;
		}
	}
	for (q = 0; q < F_NQUEUES; q++) {
		int top = 0;

		for (n = 1; n <= maxn[q]; n++)
			if (seen[q][n])
				top = n;
		for (n = 1; n <= maxn[q]; n++) {
			const struct f_fact *f = ledger_fact(q, n);

			if (!seen[q][n] && f) {
				ledger_violation("%s-%03d was acknowledged %s and is not in the "
						 "database",
						 f_queue_codes[q], n, f_state_name(f->state));
				v->lost++;
				v->violations++;
			} else if (!seen[q][n] && n < top) {
				ledger_violation("numbering hole: %s-%03d missing below %s-%03d",
						 f_queue_codes[q], n, f_queue_codes[q], top);
				v->violations++;
			}
		}
		free(seen[q]);
	}

	collect_lost(&ls);
	for (i = 0; i < nrows; i++)
		if (rows[i].q >= 0)
			explain(&rows[i], &ls, &unkeyed_unexplained, v);
	for (i = 0; i < F_NCOUNTERS; i++)
		if (ls.need_call[i] > ls.lost_calls[i]) {
			ledger_violation("counter %d: %d tickets were called there without an "
					 "acknowledgement, but only %d call_next went unanswered",
					 i + 1, ls.need_call[i], ls.lost_calls[i]);
			v->violations++;
		}
	free(ls.v);
	if (unkeyed_unexplained > load_lost_unkeyed()) {
		ledger_violation("%ld unkeyed tickets no reply named, but only %ld unkeyed issues "
				 "went unanswered",
				 unkeyed_unexplained, load_lost_unkeyed());
		v->violations++;
	}
	check_keys(rows, nrows, v);
	check_history(c, office, v);

	x = scalar(c, events_sql, office);
	if (x != 0) {
		ledger_violation("%ld tickets do not have exactly one issued event", x);
		v->violations++;
	}
	x = scalar(c, dupkey_sql, office);
	if (x != 0) {
		ledger_violation("%ld idempotency keys have more than one ticket", x);
		v->violations++;
	}
	free(rows);
	PQclear(res);
	PQfinish(c);
	return 0;
}
