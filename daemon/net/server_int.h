/*
 * server_int: the connection and server records shared by server.c
 * (listeners, connections, reply order) and fanout.c (subscribers and
 * events). Nothing outside those two includes it.
 */
#ifndef KOLAPP_SERVER_INT_H
#define KOLAPP_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "daemon/net/server.h"
#include "daemon/util/rate.h"

struct conn {
	struct server *srv;
	uint64_t id;
	struct bufferevent *bev;
	char peer[64];
	char host[64];
	void *state;             /* the handler's */
	struct rate_bucket rate; /* the request rate limit */
	struct slot *head, *tail;
	int npending;
	int refs;
	size_t scanned; /* input bytes already searched for '\n' */
	bool closed;
	bool plain;    /* no TLS: the socket may be written directly */
	bool draining; /* write what is queued, then close */
	bool read_paused;
	bool read_eof; /* the peer half-closed: answer, then close */
	int sub_office;
	struct conn *sub_prev, *sub_next;
	struct conn *prev, *next; /* all connections */
};

struct listener {
	struct evconnlistener *l;
	struct listener *next;
	struct server *srv;
	char addr[80];
	bool tls;
};

struct sublist {
	struct conn *head;
};

struct server {
	struct event_base *base;
	struct server_handler handler;
	struct server_limits lim;
	struct listener *listeners;
	struct conn *conns;
	int nconns;
	uint64_t next_id;
	struct sublist *subs; /* indexed by office id */
	int nsubs;
	struct event *accept_retry;
	SSL_CTX *tls;              /* NULL until a certificate is loaded */
	struct evbuffer *gathered; /* encoded events not yet written */
	int gathered_office;
	struct sendmany *sendmany; /* the fan-out's sends (fanout.c) */
	int *fan_fds;              /* its subscribers' sockets, reused */
	struct conn **fan_conns;
	size_t *fan_sent;
	int fan_cap;
};

/* More output queued for c than the limit allows. */
bool conn_output_over_limit(struct conn *c);
/* Writes to the socket at once when nothing is queued before (plain TCP
 * only); returns the bytes written, the caller queues the rest. */
size_t conn_write_now(struct conn *c, const char *data, size_t len);
/* Whether conn_write_now would write to the socket. */
bool conn_writable_now(struct conn *c);
/* Takes c off its office's subscriber list (fanout.c). */
void fanout_unlink(struct conn *c);

#endif
