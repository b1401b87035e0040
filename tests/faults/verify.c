/* The verifier: the database against what the clients were told.
 *
 * The rule, per ticket row of the office (clients paused, so every request
 * has either been answered or will never be):
 *
 *  - Let A be the most advanced state any ok reply reported for the ticket
 *    (FS_NONE when no reply named it) and D its state in the database.
 *    D must be A or a legal successor of A; a ticket some reply named
 *    must exist, exactly once, with the number and queue of its code, and
 *    at the counter the replies named.
 *  - Every step from A to D must be paid for by a request that was sent
 *    and never answered (a reply lost in a crash may belong to a commit).
 *    A request answered with an error, `unavailable` included, changed
 *    nothing and pays for nothing:
 *      (none) -> waiting    an unanswered issue: for a keyed ticket, an
 *                           unanswered attempt with its key; unkeyed
 *                           tickets no reply named are at most the
 *                           unanswered unkeyed issues;
 *      waiting -> called    an unanswered call_next of the ticket's
 *                           counter (counted per counter);
 *      called -> serving    an unanswered start sent while the counter
 *                           held this ticket (started_at tells whether the
 *                           ticket went through serving);
 *      -> done              an unanswered finish or call_next sent while
 *                           the counter held this ticket;
 *      called -> no_show    an unanswered no_show while it held it.
 *  - Idempotency: at most one row per key, its code the one every ok
 *    reply for the key named, and its issued_at (the daemon's wall clock
 *    when it handled the request) inside the send/reply window of an
 *    attempt that was answered ok or not at all: a row stamped inside an
 *    attempt answered `unavailable` was committed by that attempt.
 *  - History, not only the final state: every called/serving/done/no_show
 *    event the database logged for a counter must fall (by its time
 *    stamp, the daemon's wall clock when it handled the request) inside
 *    the send/reply window of a request of that counter that was
 *    answered ok or not at all. A later acknowledged op can hide an
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

struct vrow {
	int q, n;
	enum f_state st;
	int counter;
	bool started;
	int64_t issued_us;
	const char *key;
	const char *code;
};

static int counter_of(const char *name)
{
	if (!name || !name[0] || name[1] || name[0] < '1' || name[0] > '0' + F_NCOUNTERS)
		return -1;
	return name[0] - '1';
}

static bool comparable(enum f_state a, enum f_state b)
{
	return !((a == FS_DONE && b == FS_NO_SHOW) || (a == FS_NO_SHOW && b == FS_DONE));
}

/* An unanswered op of counter c, one of ops (up to two), sent while it
 * held code; each one pays once. */
static bool take_lost(const struct f_lostop *l, int nl, bool *used, enum f_op a, enum f_op b,
		      const char *code)
{
	int i;

	for (i = 0; i < nl; i++)
		if (!used[i] && (l[i].op == a || l[i].op == b) && strcmp(l[i].held, code) == 0) {
			used[i] = true;
			return true;
		}
	return false;
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
	" t.started_at IS NOT NULL, t.business_day::text"
	" FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = t.office_id"
	" JOIN kolapp.queues oq ON oq.id = t.origin_queue_id"
	" LEFT JOIN kolapp.counters c ON c.id = t.counter_id"
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
	" WHERE o.code = $1 AND e.kind IN ('called', 'serving', 'done', 'no_show')"
	" ORDER BY e.id";

/* The requests of one counter whose window holds at: does one of them
 * allow a commit (ok or unanswered)? *refused gets a refused one's index. */
static bool placed_in(const struct f_req *rq, int n, int64_t at, int *refused)
{
	int lo = 0, hi = n, i;
	bool placed = false;

	*refused = -1;
	/* Windows are sorted and disjoint but for the slack: find the first
	 * request sent after at, then look a few back. */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (rq[mid].sent_us - F_CLOCK_SLACK_US <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo - 1; i >= 0 && i >= lo - 4; i--) {
		int64_t end = rq[i].outcome == FO_LOST ? (i + 1 < n ? rq[i + 1].sent_us : INT64_MAX)
						       : rq[i].reply_us;

		if (end != INT64_MAX && at > end + F_CLOCK_SLACK_US)
			continue;
		if (rq[i].outcome == FO_OK || rq[i].outcome == FO_LOST)
			placed = true;
		else
			*refused = i;
	}
	return placed;
}

static void check_history(PGconn *c, const char *office, struct f_verify *v)
{
	static const char *const opname[] = {
		[OP_CALL_NEXT] = "call_next", [OP_START] = "start", [OP_FINISH] = "finish",
		[OP_NO_SHOW] = "no_show",     [OP_ISSUE] = "issue", [OP_OTHER] = "counter_open",
	};
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
		int n, refused;

		if (ctr < 0) {
			ledger_violation("%s event of %s without a counter", kind, code);
			v->violations++;
			continue;
		}
		rq = load_counter_reqs(ctr, &n);
		if (placed_in(rq, n, at, &refused))
			continue;
		if (refused >= 0)
			ledger_violation("%s of %s at counter %d (at %lld us) was committed by "
					 "request %d (%s), which was answered %s",
					 kind, code, ctr + 1, (long long)at, refused + 1,
					 opname[rq[refused].op],
					 rq[refused].outcome == FO_UNAVAILABLE ? "unavailable"
									       : "with an error");
		else
			ledger_violation("%s of %s at counter %d (at %lld us) falls in no request "
					 "of that counter",
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

/* The step rule of the header comment, for one row. */
static void explain(const struct vrow *r, bool *used[F_NCOUNTERS], int need_call[F_NCOUNTERS],
		    long *unkeyed_unexplained, struct f_verify *v)
{
	const struct f_fact *f = ledger_fact(r->q, r->n);
	enum f_state a = f ? f->state : FS_NONE, d = r->st;
	const struct f_lostop *lo;
	int nlo = 0, c = r->counter;

	if (f && (!comparable(a, d) || d < a)) {
		ledger_violation("%s was acknowledged %s, the database says %s", r->code,
				 f_state_name(a), f_state_name(d));
		v->violations++;
		return;
	}
	if (f && a >= FS_CALLED && f->counter != c) {
		ledger_violation("%s was acknowledged at counter %d, the database has %d", r->code,
				 f->counter + 1, c + 1);
		v->violations++;
	}
	/* Created by an issue whose reply was lost (keyed ones: check_keys). */
	if ((!f || !f->issue_acked) && !r->key)
		(*unkeyed_unexplained)++;
	if (d == a)
		return;
	if (d == FS_WAITING)
		return;
	if (c < 0) {
		ledger_violation("%s is %s without a counter", r->code, f_state_name(d));
		v->violations++;
		return;
	}
	lo = load_lost_ops(c, &nlo);
	if (a <= FS_WAITING)
		need_call[c]++;
	if (r->started && a < FS_SERVING &&
	    !take_lost(lo, nlo, used[c], OP_START, OP_START, r->code)) {
		ledger_violation("%s is %s (started) at counter %d, acknowledged %s, and no "
				 "start for it went unanswered",
				 r->code, f_state_name(d), c + 1, f_state_name(a));
		v->violations++;
	}
	if (d == FS_DONE && a < FS_DONE &&
	    !take_lost(lo, nlo, used[c], OP_FINISH, OP_CALL_NEXT, r->code)) {
		ledger_violation("%s is done at counter %d, acknowledged %s, and no finish or "
				 "call_next while holding it went unanswered",
				 r->code, c + 1, f_state_name(a));
		v->violations++;
	}
	if (d == FS_NO_SHOW && a < FS_NO_SHOW &&
	    !take_lost(lo, nlo, used[c], OP_NO_SHOW, OP_NO_SHOW, r->code)) {
		ledger_violation("%s is no_show at counter %d, acknowledged %s, and no no_show "
				 "for it went unanswered",
				 r->code, c + 1, f_state_name(a));
		v->violations++;
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
	bool *used[F_NCOUNTERS];
	int need_call[F_NCOUNTERS] = { 0 };
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

	for (i = 0; i < F_NCOUNTERS; i++) {
		int nl;

		load_lost_ops(i, &nl);
		used[i] = calloc((size_t)nl + 1, sizeof(bool));
	}
	for (i = 0; i < nrows; i++)
		if (rows[i].q >= 0)
			explain(&rows[i], used, need_call, &unkeyed_unexplained, v);
	for (i = 0; i < F_NCOUNTERS; i++) {
		const struct f_lostop *lo;
		int nl, j, calls = 0;

		lo = load_lost_ops(i, &nl);
		for (j = 0; j < nl; j++)
			calls += lo[j].op == OP_CALL_NEXT;
		if (need_call[i] > calls) {
			ledger_violation("counter %d: %d tickets were called there without an "
					 "acknowledgement, but only %d call_next went unanswered",
					 i + 1, need_call[i], calls);
			v->violations++;
		}
		free(used[i]);
	}
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
