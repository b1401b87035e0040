#ifndef KOLAPP_DAEMON_MIGRATIONS_H
#define KOLAPP_DAEMON_MIGRATIONS_H

/* One schema migration, embedded at build time by tools/embed-sql from
 * sql/NNN_name.sql. The array is ordered by strictly increasing version. */
struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration kolapp_migrations[];
extern const int kolapp_migrations_count;

#endif
