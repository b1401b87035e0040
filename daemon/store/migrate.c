#include "daemon/store/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/migrations.h"

static void set_msg(char *msg, size_t msgsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msgsize, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msgsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msgsize, fmt, ap);
	va_end(ap);
}

/* libpq's messages end in a newline (sometimes several lines); ours are one
 * line, so keep the first line only. */
static int first_line_len(const char *s)
{
	size_t n = strcspn(s, "\n");

	return n > 4096 ? 4096 : (int)n;
}

static const char *result_error(PGconn *conn, const PGresult *res)
{
	/* the primary message alone: "ERROR:  " and DETAIL lines are noise in
     * a one-line summary */
	const char *e = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (e == NULL || e[0] == '\0')
		e = PQerrorMessage(conn);
	if (e == NULL || e[0] == '\0')
		e = "unknown error";
	return e;
}

/* The migration runner must not write to stderr behind the caller's back
 * (CREATE EXTENSION IF NOT EXISTS, for one, sends a NOTICE). */
static void discard_notice(void *arg, const char *message) {}

int migrate_latest_version(void)
{
	if (kolapp_migrations_count <= 0)
		return 0;
	return kolapp_migrations[kolapp_migrations_count - 1].version;
}

/* Runs a parameterless statement and checks its status. Returns the result
 * (caller clears) or NULL with msg filled and nothing to clear. */
static PGresult *exec_ok(PGconn *conn, const char *sql, ExecStatusType want, const char *what,
			 char *msg, size_t msgsize)
{
	PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != want) {
		const char *e = result_error(conn, res);

		set_msg(msg, msgsize, "%s failed: %.*s", what, first_line_len(e), e);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* *version = the newest applied migration, or -1 when kolapp.schema_version
 * does not exist (no kolapp schema at all, as far as we are concerned). */
static int read_version(PGconn *conn, int *version, char *msg, size_t msgsize)
{
	PGresult *res;
	int exists;

	res = exec_ok(conn, "SELECT to_regclass('kolapp.schema_version') IS NOT NULL",
		      PGRES_TUPLES_OK, "reading the schema version", msg, msgsize);
	if (res == NULL)
		return -1;
	exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists) {
		*version = -1;
		return 0;
	}
	res = exec_ok(conn, "SELECT coalesce(max(version), 0) FROM kolapp.schema_version",
		      PGRES_TUPLES_OK, "reading the schema version", msg, msgsize);
	if (res == NULL)
		return -1;
	*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* PG_DIAG_STATEMENT_POSITION counts characters from 1 in the whole
 * migration text; a line number is what a person can act on. */
static int error_line(const char *sql, const PGresult *res)
{
	const char *pos = res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	long chars, seen = 0;
	int line = 1;

	if (pos == NULL || (chars = atol(pos)) <= 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)sql; *p != '\0'; p++) {
		if ((*p & 0xC0) == 0x80)
			continue; /* UTF-8 continuation byte */
		if (++seen >= chars)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

static void rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

/* One migration in one transaction, with its schema_version row. */
static int apply_one(PGconn *conn, const struct migration *m, char *msg, size_t msgsize)
{
	char version[16];
	const char *params[2];
	PGresult *res;
	const char *e;
	int line;

	res = exec_ok(conn, "BEGIN", PGRES_COMMAND_OK, "BEGIN", msg, msgsize);
	if (res == NULL)
		return -1;
	PQclear(res);

	/* The simple-query protocol is what lets one string hold many
     * statements; the text is compiled into the binary, never user input. */
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_EMPTY_QUERY) {
		e = result_error(conn, res);
		line = error_line(m->sql, res);
		if (line > 0)
			set_msg(msg, msgsize, "migration %s failed at line %d: %.*s", m->name, line,
				first_line_len(e), e);
		else
			set_msg(msg, msgsize, "migration %s failed: %.*s", m->name,
				first_line_len(e), e);
		PQclear(res);
		rollback(conn);
		return -1;
	}
	PQclear(res);

	snprintf(version, sizeof version, "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	res = PQexecParams(conn,
			   "INSERT INTO kolapp.schema_version (version, name) VALUES ($1::int, $2)",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		e = result_error(conn, res);
		set_msg(msg, msgsize, "migration %s failed recording its version: %.*s", m->name,
			first_line_len(e), e);
		PQclear(res);
		rollback(conn);
		return -1;
	}
	PQclear(res);

	/* COMMIT can still fail (deferred constraints, a lost connection). */
	res = PQexec(conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		e = result_error(conn, res);
		set_msg(msg, msgsize, "migration %s failed at commit: %.*s", m->name,
			first_line_len(e), e);
		PQclear(res);
		rollback(conn);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int lock_migrations(PGconn *conn, int lock, char *msg, size_t msgsize)
{
	char key[24];
	const char *params[1] = { key };
	PGresult *res;

	snprintf(key, sizeof key, "%lld", (long long)MIGRATE_LOCK_KEY);
	res = PQexecParams(conn,
			   lock ? "SELECT pg_advisory_lock($1::bigint)"
				: "SELECT pg_advisory_unlock($1::bigint)",
			   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *e = result_error(conn, res);

		set_msg(msg, msgsize, "%s the migration lock failed: %.*s",
			lock ? "taking" : "releasing", first_line_len(e), e);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int run_locked(PGconn *conn, char *msg, size_t msgsize)
{
	int latest = migrate_latest_version();
	int current, applied = 0;

	if (read_version(conn, &current, msg, msgsize) != 0)
		return -1;
	if (current < 0)
		current = 0;
	if (current > latest) {
		set_msg(msg, msgsize,
			"database schema version %d is newer than this kolappd (knows up to %d): "
			"upgrade kolappd",
			current, latest);
		return -1;
	}
	for (int i = 0; i < kolapp_migrations_count; i++) {
		const struct migration *m = &kolapp_migrations[i];

		if (m->version <= current)
			continue;
		if (apply_one(conn, m, msg, msgsize) != 0) {
			if (applied > 0) {
				size_t len = strlen(msg);

				set_msg(msg + len, msgsize - len,
					" (applied %d before it; the database is at version %d)",
					applied, current);
			}
			return -1;
		}
		applied++;
		current = m->version;
	}
	if (applied == 0)
		set_msg(msg, msgsize, "database is up to date at version %d", current);
	else
		set_msg(msg, msgsize, "applied %d migration%s, now at version %d", applied,
			applied == 1 ? "" : "s", current);
	return 0;
}

int migrate_run(const char *conninfo, char *msg, size_t msgsize)
{
	/* expand_dbname: conninfo may be a full connection string or URI; the
     * fallback name only applies when it does not set application_name. */
	const char *const keys[] = { "fallback_application_name", "dbname", NULL };
	const char *const vals[] = { "kolappd-migrate", conninfo, NULL };
	PGconn *conn;
	int rc;

	set_msg(msg, msgsize, "%s", "");
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		set_msg(msg, msgsize, "cannot connect to the database: out of memory");
		return -1;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *e = PQerrorMessage(conn);

		set_msg(msg, msgsize, "cannot connect to the database: %.*s", first_line_len(e), e);
		PQfinish(conn);
		return -1;
	}
	PQsetNoticeProcessor(conn, discard_notice, NULL);

	if (lock_migrations(conn, 1, msg, msgsize) != 0) {
		PQfinish(conn);
		return -1;
	}
	rc = run_locked(conn, msg, msgsize);
	if (rc == 0) {
		/* Keep the summary; on failure here the session ends below anyway,
         * which releases the lock too. */
		char unlock_msg[256];

		if (lock_migrations(conn, 0, unlock_msg, sizeof unlock_msg) != 0) {
			set_msg(msg, msgsize, "%s", unlock_msg);
			rc = -1;
		}
	}
	PQfinish(conn);
	return rc;
}

const char migrate_version_sql[] = "SELECT coalesce(max(version), 0) FROM kolapp.schema_version";

int migrate_judge(const PGresult *r, char *msg, size_t msgsize)
{
	int latest = migrate_latest_version();
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int current;

	set_msg(msg, msgsize, "%s", "");
	if (state && (!strcmp(state, "42P01") || !strcmp(state, "3F000"))) {
		/* undefined_table, invalid_schema_name */
		set_msg(msg, msgsize,
			"the database has no kolapp schema: run kolappd --migrate --conninfo ...");
		return -1;
	}
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *e = r ? PQresultErrorMessage(r) : "";

		set_msg(msg, msgsize, "reading the schema version failed: %.*s",
			first_line_len(e && *e ? e : "no result"), e && *e ? e : "no result");
		return -1;
	}
	current = atoi(PQgetvalue(r, 0, 0));
	if (current > latest) {
		set_msg(msg, msgsize,
			"database schema version %d is newer than this kolappd (knows up to %d): "
			"upgrade kolappd",
			current, latest);
		return -1;
	}
	if (current < latest) {
		set_msg(msg, msgsize,
			"database schema version %d is behind this kolappd (%d): run kolappd "
			"--migrate",
			current, latest);
		return -1;
	}
	return 0;
}
