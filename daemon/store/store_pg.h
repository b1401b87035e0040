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

/* The store over pgw (which must outlive the engine); it holds nothing
 * of its own, so there is nothing to free. */
struct engine_store store_pg(struct pgw *pgw);

#endif
