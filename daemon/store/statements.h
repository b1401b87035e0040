/*
 * statements: every SQL statement kolappd runs, prepared once per
 * database connection. Names are what the engine and auth pass to
 * pgw_job_add(); all inputs are parameters.
 */
#ifndef KOLAPP_STATEMENTS_H
#define KOLAPP_STATEMENTS_H

#include "daemon/store/pgw.h"

extern const struct pgw_stmt kolapp_statements[];
extern const int kolapp_statements_count;
/* For the connection for reads (store_pg.h): load_history, load_arrivals. */
extern const struct pgw_stmt kolapp_read_statements[];
extern const int kolapp_read_statements_count;

#endif
