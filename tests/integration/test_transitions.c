/* The ticket state machine is written twice: in C (ticket_states[] and
 * ticket_transitions[] of daemon/engine/ticket_state.c), which the engine
 * follows, and as data (kolapp.ticket_states and kolapp.ticket_transitions,
 * sql/008_ticket_transitions.sql), which the database's trigger and
 * d_set_state follow. This test holds them to each other row by row, both
 * ways, on a freshly migrated database, and holds the CHECK constraint on
 * tickets.state to the table of states. Each test names every row that
 * differs, not just the first. */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "daemon/engine/ticket_state.h"
#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"

static char *g_db;
static PGconn *g_conn;

static void setup(void)
{
	g_conn = PQconnectdb(g_db);
	ck_assert_msg(PQstatus(g_conn) == CONNECTION_OK, "connecting: %s", PQerrorMessage(g_conn));
}

static void teardown(void)
{
	PQfinish(g_conn);
	g_conn = NULL;
}

/* A query that must return rows; the caller clears the result. */
static PGresult *query(const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(g_conn, sql, nparams, NULL, params, NULL, NULL, 0);

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	return r;
}

static bool cell_true(const PGresult *r, int row, int col)
{
	return strcmp(PQgetvalue(r, row, col), "t") == 0;
}

/* The differences found, one per line, for one assertion at the end. */
struct diffs {
	FILE *f;
	char *text;
	size_t len;
	int n;
};

static void diffs_open(struct diffs *d)
{
	memset(d, 0, sizeof *d);
	d->f = open_memstream(&d->text, &d->len);
	ck_assert_ptr_nonnull(d->f);
}

static void diff(struct diffs *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void diff(struct diffs *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("\n  ", d->f);
	vfprintf(d->f, fmt, ap);
	va_end(ap);
	d->n++;
}

static void diffs_check(struct diffs *d, const char *what)
{
	fclose(d->f);
	ck_assert_msg(d->n == 0, "%s: %d difference%s:%s", what, d->n, d->n == 1 ? "" : "s",
		      d->text);
	free(d->text);
}

/* The row of r whose first column is a (and second b, when b is given),
 * or -1. */
static int find_row(const PGresult *r, const char *a, const char *b)
{
	for (int row = 0; row < PQntuples(r); row++)
		if (strcmp(PQgetvalue(r, row, 0), a) == 0 &&
		    (b == NULL || strcmp(PQgetvalue(r, row, 1), b) == 0))
			return row;
	return -1;
}

static int action_parse(const char *name)
{
	for (int a = 0; a < TA__COUNT; a++)
		if (strcmp(ticket_action_name((enum ticket_action)a), name) == 0)
			return a;
	return -1;
}

START_TEST(states_agree)
{
	PGresult *r = query("SELECT state, waiting, held, parked, final FROM kolapp.ticket_states "
			    "ORDER BY state",
			    0, NULL);
	struct diffs d;

	diffs_open(&d);
	for (int i = 0; i < TS__COUNT; i++) {
		const struct ticket_state_info *s = &ticket_states[i];
		int row = find_row(r, s->name, NULL);

		if (row < 0) {
			diff(&d, "state %s of ticket_state.c is missing from kolapp.ticket_states",
			     s->name);
			continue;
		}
		if (cell_true(r, row, 1) != s->waiting || cell_true(r, row, 2) != s->held ||
		    cell_true(r, row, 3) != s->parked || cell_true(r, row, 4) != s->final)
			diff(&d,
			     "state %s: ticket_state.c has waiting=%d held=%d parked=%d final=%d, "
			     "kolapp.ticket_states waiting=%s held=%s parked=%s final=%s",
			     s->name, s->waiting, s->held, s->parked, s->final,
			     PQgetvalue(r, row, 1), PQgetvalue(r, row, 2), PQgetvalue(r, row, 3),
			     PQgetvalue(r, row, 4));
	}
	for (int row = 0; row < PQntuples(r); row++)
		if (ticket_state_parse(PQgetvalue(r, row, 0)) < 0)
			diff(&d, "state %s of kolapp.ticket_states is missing from ticket_state.c",
			     PQgetvalue(r, row, 0));
	PQclear(r);
	diffs_check(&d, "ticket_state.c and kolapp.ticket_states");
}
END_TEST

START_TEST(transitions_agree)
{
	PGresult *r = query("SELECT from_state, action, to_state FROM kolapp.ticket_transitions "
			    "ORDER BY from_state, action",
			    0, NULL);
	struct diffs d;

	diffs_open(&d);
	for (int i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];
		const char *from = ticket_state_name(t->from);
		const char *action = ticket_action_name(t->action);
		const char *to = ticket_state_name(t->to);
		int row = find_row(r, from, action);

		if (row < 0)
			diff(&d,
			     "(%s, %s, %s) of ticket_state.c is missing from "
			     "kolapp.ticket_transitions",
			     from, action, to);
		else if (strcmp(PQgetvalue(r, row, 2), to) != 0)
			diff(&d,
			     "(%s, %s): ticket_state.c goes to %s, kolapp.ticket_transitions "
			     "to %s",
			     from, action, to, PQgetvalue(r, row, 2));
		/* the database's key forbids two rows for one (from, action);
		 * in C the first would hide the second */
		if (ticket_next_state(t->from, t->action) != (int)t->to)
			diff(&d,
			     "(%s, %s, %s) of ticket_state.c is hidden by an earlier row for "
			     "(%s, %s)",
			     from, action, to, from, action);
	}
	for (int row = 0; row < PQntuples(r); row++) {
		const char *from = PQgetvalue(r, row, 0);
		const char *action = PQgetvalue(r, row, 1);
		const char *to = PQgetvalue(r, row, 2);
		int s = ticket_state_parse(from), a = action_parse(action);

		if (s < 0 || a < 0)
			diff(&d,
			     "(%s, %s, %s) of kolapp.ticket_transitions: ticket_state.c has no "
			     "%s %s",
			     from, action, to, s < 0 ? "state" : "action", s < 0 ? from : action);
		else if (ticket_next_state((enum ticket_state)s, (enum ticket_action)a) < 0)
			diff(&d,
			     "(%s, %s, %s) of kolapp.ticket_transitions is missing from "
			     "ticket_state.c",
			     from, action, to);
		/* a row in both with different targets was named above */
	}
	PQclear(r);
	diffs_check(&d, "ticket_state.c and kolapp.ticket_transitions");
}
END_TEST

/* tickets.state is checked by its own list (a foreign key to the table of
 * states would cost a lookup per ticket). A string the list accepts is
 * written in it, so trying every quoted string of the constraint, every
 * state of both tables and some near misses settles what it accepts. */
START_TEST(state_check_accepts_exactly_the_states)
{
	PGresult *r, *c;
	struct diffs d;
	char *expr, *sql, *c_names;
	size_t len;
	FILE *f;

	r = query("SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint "
		  "WHERE conrelid = 'kolapp.tickets'::regclass AND conname = 'tickets_state_check'",
		  0, NULL);
	ck_assert_msg(PQntuples(r) == 1,
		      "tickets.state has no CHECK constraint tickets_state_check");
	expr = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);

	f = open_memstream(&c_names, &len);
	ck_assert_ptr_nonnull(f);
	fputc('{', f);
	for (int i = 0; i < TS__COUNT; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", ticket_states[i].name);
	fputc('}', f);
	fclose(f);
	{
		const char *params[2] = { expr, c_names };

		c = query("SELECT x.c, x.c IN (SELECT state FROM kolapp.ticket_states) FROM ("
			  " SELECT state FROM kolapp.ticket_states"
			  " UNION SELECT m[1] FROM regexp_matches($1, '''([^'']*)''', 'g') m"
			  " UNION SELECT unnest($2::text[])"
			  " UNION SELECT unnest(ARRAY['', 'WAITING', 'served', 'no-show', 'waiting "
			  "'])"
			  ") x(c) ORDER BY 1",
			  2, params);
	}
	ck_assert_int_ge(PQntuples(c), TS__COUNT);

	f = open_memstream(&sql, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "SELECT coalesce(%s, false) FROM (SELECT $1::text AS state) t", expr);
	fclose(f);
	diffs_open(&d);
	for (int row = 0; row < PQntuples(c); row++) {
		const char *value = PQgetvalue(c, row, 0);
		bool listed = cell_true(c, row, 1);
		bool accepted;

		r = query(sql, 1, &value);
		accepted = cell_true(r, 0, 0);
		PQclear(r);
		if (accepted && !listed)
			diff(&d,
			     "the CHECK on tickets.state accepts \"%s\", which "
			     "kolapp.ticket_states does not list",
			     value);
		else if (!accepted && listed)
			diff(&d,
			     "the CHECK on tickets.state refuses \"%s\", a state of "
			     "kolapp.ticket_states",
			     value);
	}
	PQclear(c);
	free(sql);
	free(c_names);
	free(expr);
	diffs_check(&d, "tickets_state_check and kolapp.ticket_states");
}
END_TEST

static Suite *transitions_suite(void)
{
	Suite *s = suite_create("transitions");
	TCase *tc = tcase_create("C and SQL");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, states_agree);
	tcase_add_test(tc, transitions_agree);
	tcase_add_test(tc, state_check_accepts_exactly_the_states);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_transitions", transitions_suite(), &g_db, NULL);
}
