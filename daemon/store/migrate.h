#ifndef KOLAPP_DAEMON_MIGRATE_H
#define KOLAPP_DAEMON_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

/* Schema migrations embedded from sql/NNN_name.sql (daemon/store/migrations.c).
 *
 * migrate_run is synchronous: it runs for `kolappd --migrate`. Nothing here
 * prints; every outcome is a one-line message in msg (always NUL-terminated when
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

/* Start-up's check, on the daemon's own connection (pgw_set_check):
 * migrate_version_sql's result, error results included, to
 * migrate_judge: 0 when the database is exactly at
 * migrate_latest_version(), else -1 and why (no schema, behind, newer, or
 * the query failed). */
extern const char migrate_version_sql[];
int migrate_judge(const PGresult *r, char *msg, size_t msgsize);

/* The newest schema version this binary knows (0 when it knows none). */
int migrate_latest_version(void);

#endif
