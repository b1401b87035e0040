#ifndef KOLAPP_DAEMON_MIGRATE_H
#define KOLAPP_DAEMON_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

/* Schema migrations embedded from sql/NNN_name.sql (daemon/store/migrations.c).
 *
 * These functions are synchronous: they run for `kolappd --migrate` and once
 * at start-up, before the event loop owns the connection. They never print;
 * every outcome is a one-line message in msg (always NUL-terminated when
 * msgsize > 0, no trailing newline). */

/* The advisory lock key (pg_advisory_lock, bigint) that serialises
 * concurrent migrators: "kolapp" in ASCII followed by 0x0001. Other kolapp
 * advisory locks must use other keys. */
#define MIGRATE_LOCK_KEY 0x6b6f6c6170700001LL

/* Connects with conninfo, applies every migration newer than the database,
 * each in its own transaction, and records it in kolapp.schema_version.
 * Idempotent. Returns 0 with a summary ("applied 1 migration, now at
 * version 1", "database is up to date at version 1") or -1 with the reason
 * (also when the database is newer than this binary). */
int migrate_run(const char *conninfo, char *msg, size_t msgsize);

/* For start-up, on an open blocking connection (not in pipeline mode):
 * 0 when the database is exactly at migrate_latest_version(), else -1 and
 * why (no schema, behind, newer, or the query failed). */
int migrate_check_current(PGconn *conn, char *msg, size_t msgsize);

/* The newest schema version this binary knows (0 when it knows none). */
int migrate_latest_version(void);

#endif
