/*
 * conn: one TCP connection to kolappd (plain or TLS), line by line, with
 * timeouts.
 *
 * Owns: resolving and connecting (IPv4 or IPv6), writing whole
 * requests, and splitting what comes back into lines and JSON replies.
 * Knows nothing about which ops exist or how to show their results.
 */
#ifndef KOLAPP_CLIENT_CONN_H
#define KOLAPP_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "client/tls.h"

/* Replies may carry a whole status; the server's request limit does not
 * bound them, so allow far more than a request line may be. */
#define CONN_MAX_LINE (1024 * 1024)

enum conn_status {
	CONN_OK = 0,
	CONN_EOF, /* the server closed the connection */
	CONN_TIMEOUT,
	CONN_INTR, /* interrupted by a signal (Ctrl-C in watch) */
	CONN_FAIL, /* I/O error, over-long line or not JSON */
};

struct ssl_st;
struct ssl_ctx_st;

struct conn {
	int fd;
	struct ssl_ctx_st *ssl_ctx; /* both NULL on plain TCP */
	struct ssl_st *ssl;
	bool ssl_broken; /* no close_notify on a dead connection */
	char *buf;
	size_t len, cap;
	size_t consumed; /* bytes of the last returned line, dropped lazily */
	char peer[300];  /* "host port N" for messages */
	char err[512];   /* why the last call failed, for a person */
};

/*
 * Connects to host:port within timeout_ms (each address getaddrinfo
 * returns is tried in turn), then, when tls is non-NULL and enabled,
 * completes a verified TLS handshake within the same timeout.
 * Returns 0, or -1 with c->err set.
 */
int conn_open(struct conn *c, const char *host, const char *port, int timeout_ms,
	      const struct conn_tls *tls);

/* Writes all of data; timeout_ms bounds each wait for the socket. */
enum conn_status conn_send(struct conn *c, const char *data, size_t len, int timeout_ms);

/* Writes req as one compact line (req is not stolen). */
enum conn_status conn_send_json(struct conn *c, const json_t *req, int timeout_ms);

/*
 * Returns the next line (NUL-terminated, without "\r\n") in *line; it
 * stays valid until the next read. timeout_ms < 0 waits forever.
 * *stop, when non-NULL, is polled after each interruption by a signal.
 */
enum conn_status conn_read_line(struct conn *c, char **line, size_t *len, int timeout_ms,
				volatile int *stop);

/* Called for each event line met while waiting for a reply. */
typedef void (*conn_event_fn)(const char *line, const json_t *event, void *arg);

/*
 * Reads lines until a reply (an object without "event") arrives and
 * returns it parsed in *reply and as text in *raw (both owned by the
 * caller). Events on the way go to on_event, or are dropped when NULL.
 * The timeout covers the whole wait, not each line.
 */
enum conn_status conn_read_reply(struct conn *c, int timeout_ms, conn_event_fn on_event, void *arg,
				 json_t **reply, char **raw);

/* Parses one line into a JSON object; NULL (and c->err) if it is not one. */
json_t *conn_parse_line(struct conn *c, const char *line, size_t len);

void conn_close(struct conn *c);

#endif
