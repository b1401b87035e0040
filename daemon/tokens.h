/*
 * tokens: auth's source of tokens (net/auth.h) on the database (pgw and
 * the d_token_* statements). Wiring between two layers that do not know
 * each other, like live.c.
 */
#ifndef KOLAPP_TOKENS_H
#define KOLAPP_TOKENS_H

#include "daemon/net/auth.h"

struct pgw;

/* A source over pgw (which must outlive it); nothing to free. */
struct auth_source tokens_source(struct pgw *pgw);

#endif
