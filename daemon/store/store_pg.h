/*
 * store_pg: the engine's store (daemon/engine/store.h) on PostgreSQL.
 * Owns the decoding of load results into the engine's rows (the column
 * positions of the load statements in statements.c live only here) and
 * maps the engine's writes and batches onto pgw's jobs.
 */
#ifndef KOLAPP_STORE_PG_H
#define KOLAPP_STORE_PG_H

#include "daemon/engine/store.h"

struct pgw;

/* Writes and the load go on one connection (their order is the
 * database's); the estimator's history, a read of up to a second over a
 * year of many offices, on another, so that no write or sign-in waits
 * behind it. The two may be the same. */
struct store_pg_conns {
	struct pgw *writes;
	struct pgw *reads;
};

/* The store over conns (which, and whose connections, must outlive the
 * engine); it holds nothing of its own, so there is nothing to free. */
struct engine_store store_pg(const struct store_pg_conns *conns);

#endif
