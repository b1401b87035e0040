/*
 * server: listeners and client connections (libevent bufferevents).
 * Owns sockets, input framing, per-connection reply ordering, output
 * limits and the subscriber lists that events fan out to. Holds no
 * queue logic and knows no protocol: each line goes to the handler.
 */
#ifndef KOLAPP_SERVER_H
#define KOLAPP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

struct server;
struct conn;
struct slot;

/*
 * What the server hands a connection's lines to. The server is only the
 * transport: the per-connection state is the handler's, made by open()
 * and freed by free() when the connection record goes (after its last
 * reply slot, so a late answer never finds it gone).
 */
struct server_handler {
	void *arg;
	void *(*open)(void *arg, struct conn *c);
	/* Whether the next line may be handled now (not while an earlier
	 * one decides who the client is, nor after it said goodbye). */
	bool (*ready)(void *state);
	void (*line)(void *arg, struct conn *c, const char *line, size_t len);
	/* A line over the limit; the handler answers and closes. */
	void (*too_large)(void *arg, struct conn *c, size_t max_line);
	void (*free)(void *state);
};

/* Defaults and bounds: the settings table in daemon/config.c. */
struct server_limits {
	size_t max_line;   /* bytes in one request line */
	size_t max_output; /* bytes queued for one client before it is dropped */
	int max_pending;   /* requests in flight per connection before reading pauses */
	int max_connections;
	int hello_timeout_s; /* idle before a successful hello */
	int idle_timeout_s;  /* idle after hello; 0: none */
	int rate_limit;      /* requests per second per connection; 0: none */
};

/* handler is copied. */
struct server *server_new(struct event_base *base, const struct server_handler *handler,
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
/* Calls fn for every open connection; fn may close the one it is given. */
void server_each_conn(struct server *srv, void (*fn)(void *arg, struct conn *c), void *arg);

/* Gathers one encoded event line for the subscribers of the office;
 * server_emit_flush() writes what was gathered to each of them in one
 * piece (an event for another office flushes first). */
void server_emit(struct server *srv, int office_id, const char *line, size_t len);
void server_emit_flush(struct server *srv);

/* ---- for the handler (session.c) ---- */
/* The handler's state of this connection. */
void *conn_state(const struct conn *c);
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
/* Goes on reading requests once the handler is ready again. */
void conn_resume(struct conn *c);
/* Closes the connection at once (idempotent); reason goes to the log. */
void conn_close(struct conn *c, const char *reason);

#endif
