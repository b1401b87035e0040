/*
 * tls: the OpenSSL side of a kolapp connection (TLS 1.2 or later).
 *
 * Owns: the context (trust store, minimum version), certificate and
 * host-name verification, SNI, and non-blocking reads and writes that
 * say which socket event to wait for. Never waits itself: conn.c polls
 * with its own deadlines, so plain TCP and TLS share every timeout.
 */
#ifndef KOLAPP_CLIENT_TLS_H
#define KOLAPP_CLIENT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct conn;

struct conn_tls {
	bool enabled;
	const char *ca_file; /* PEM; NULL means the system's default store */
	bool insecure;       /* skip the host-name check (never the chain) */
};

/* What tls_* return besides a byte count (> 0) or end of stream (0). */
enum {
	TLS_WAIT = -1, /* poll for *events, then call again */
	TLS_FAIL = -2, /* c->err says why */
};

/* Sets up the session on c->fd (connected, non-blocking) for host.
 * 0, or -1 with c->err set. */
int tls_begin(struct conn *c, const char *host, const struct conn_tls *opt);

/* One step of the handshake: 0 when done, TLS_WAIT or TLS_FAIL. A failed
 * verification says "TLS: certificate verify failed: <reason>". */
int tls_handshake(struct conn *c, short *events);

ssize_t tls_recv(struct conn *c, void *buf, size_t len, short *events);
ssize_t tls_send(struct conn *c, const void *buf, size_t len, short *events);

/* Decrypted bytes OpenSSL holds that poll() cannot see. */
size_t tls_pending(const struct conn *c);

/* Sends close_notify when the connection still works (best effort, no
 * waiting) and frees everything. Safe to call twice. */
void tls_end(struct conn *c);

#endif
