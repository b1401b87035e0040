/*
 * server: listeners and client connections (libevent bufferevents).
 * Owns sockets, input framing, per-connection reply ordering, output
 * limits and the subscriber lists that events fan out to. Holds no
 * queue logic: each line goes to session_on_line().
 */
#ifndef KOLAPP_SERVER_H
#define KOLAPP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "daemon/net/session.h"

struct server;
struct conn;
struct slot;

struct server_limits {
	size_t max_line;          /* bytes in one request line */
	size_t max_output;        /* bytes queued for one client before it is dropped */
	int max_pending;          /* requests in flight per connection before reading pauses */
	int max_connections;
	int hello_timeout_s;      /* idle before a successful hello */
	int idle_timeout_s;       /* idle after hello; 0: none */
	int rate_limit;           /* requests per second per connection; 0: none */
};

void server_limits_default(struct server_limits *l);

struct server *server_new(struct event_base *base, struct session_ctx *sctx,
			  const struct server_limits *limits);
/* Binds "ADDR:PORT" or "[V6ADDR]:PORT"; logs and returns -1 on failure. */
int server_listen(struct server *srv, const char *addrport);
/* The same with TLS; needs server_set_tls() first. */
int server_listen_tls(struct server *srv, const char *addrport);
/* Loads the certificate chain and key for TLS listeners; -1 (logged) on error. */
int server_set_tls(struct server *srv, const char *cert_file, const char *key_file);
/* Accepts on a socket already listening (socket activation). */
int server_adopt_fd(struct server *srv, int fd, const char *name);
bool server_has_listener(const struct server *srv, const char *addrport, bool tls);
int server_unlisten(struct server *srv, const char *addrport, bool tls);
void server_each_listener(const struct server *srv, void (*fn)(void *, const char *, bool),
			  void *arg);
/* New limits for new connections (and output/rate limits for all). */
void server_set_limits(struct server *srv, const struct server_limits *limits);
/* Stops accepting new connections. */
void server_stop_listening(struct server *srv);
/* Closes every connection (after flushing what is queued, best effort). */
void server_close_all(struct server *srv);
void server_free(struct server *srv);
int server_connection_count(const struct server *srv);
/* Counts open connections by role (index enum role; 0: no hello yet). */
void server_count_roles(const struct server *srv, int counts[5]);
/* Closes every connection that said hello with this token; returns how many. */
int server_close_token(struct server *srv, int token_id);

/* Engine emit hook: encodes the event once and gathers it for the
 * subscribers of the office; server_emit_flush() writes what was gathered
 * to each of them in one piece (an event for another office flushes
 * first). */
void server_emit(void *srv, int office_id, json_t *event);
void server_emit_flush(struct server *srv);

/* ---- used by session.c ---- */
struct session *conn_session(struct conn *c);
const char *conn_peer(const struct conn *c);
/* The peer's address without the port (for per-address limits). */
const char *conn_peer_host(const struct conn *c);
/* Takes one request from the connection's rate budget; false when spent. */
bool conn_rate_take(struct conn *c);
uint64_t conn_id(const struct conn *c);
bool conn_is_closed(const struct conn *c);
/* A place in the connection's reply order; holds a reference on c. */
struct slot *conn_slot_new(struct conn *c);
/* Fills a slot with one encoded line (taken over, may be NULL on OOM)
 * and releases the slot's reference; close_after ends the connection
 * once this reply has been written. */
void slot_complete(struct slot *s, char *line, size_t len, bool close_after);
struct conn *slot_conn(struct slot *s);
/* Adds c to (office_id > 0) or removes it from (0) its office's subscribers. */
void conn_subscribe(struct conn *c, int office_id);
/* After a successful hello: the idle timeout replaces the hello timeout. */
void conn_set_authenticated(struct conn *c);
/* Goes on reading requests after session.hello_pending is cleared. */
void conn_resume(struct conn *c);
/* Closes the connection at once (idempotent); reason goes to the log. */
void conn_close(struct conn *c, const char *reason);

#endif
