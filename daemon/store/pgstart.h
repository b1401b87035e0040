/*
 * pgstart: how pgw starts libpq's asynchronous connect. Adds kolappd's
 * defaults before the conninfo's own settings (which win): TCP keepalives
 * on both ends and the application name. For a conninfo naming several
 * hosts it rotates the list by `shift`: libpq ignores connect_timeout in
 * an asynchronous connect, so a host that drops packets (switched off)
 * would hold every attempt for the kernel's two minutes; pgw gives an
 * attempt a few seconds and starts over one host further.
 */
#ifndef KOLAPP_PGSTART_H
#define KOLAPP_PGSTART_H

#include <libpq-fe.h>

/* A connect in progress (poll it with PQconnectPoll), or NULL when out of
 * memory; the caller's. */
PGconn *pgstart(const char *conninfo, unsigned shift);
/* How long an attempt may take: connect_timeout of the conninfo (in ms),
 * else default_ms. */
int pgstart_timeout_ms(const char *conninfo, int default_ms);

#endif
