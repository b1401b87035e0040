/*
 * http_int: the records and limits shared by http.c (routing, files, the
 * status API, life cycle) and http_events.c (the event ring and the SSE
 * clients). Nothing else includes it.
 */
#ifndef KOLAPP_HTTP_INT_H
#define KOLAPP_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>

#include "daemon/http/http.h"
#include "daemon/engine/engine.h"
#include "daemon/util/rate.h"
#include "proto/proto.h"

struct evbuffer;
struct auth_identity;
struct session_ctx;

#define HTTP_MAX_HEADERS_SIZE 8192
#define HTTP_TIMEOUT_S 30
#define HTTP_MAX_SSE_CLIENTS 1024
/* Streams that visitors' phones may not take: a full waiting room must
 * not leave the boards and counters without theirs (a visitor's page
 * then polls instead). */
#define HTTP_SSE_RESERVED 128
#define HTTP_SSE_MAX_OUTPUT (1u << 20)
#define HTTP_KEEPALIVE_S 15
#define HTTP_MAX_FILE_SIZE (4u << 20)
#define HTTP_MAX_TOKEN 256
#define HTTP_RING_BUCKETS 256 /* a power of two */
#define HTTP_RATE_SLOTS 1024  /* addresses rate-limited on /api/op; the oldest is reused */
#define HTTP_ALL_METHODS \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

/* The pages need nothing from elsewhere; saying so in the headers keeps
 * it that way and stops the token leaking via Referer. Their requests
 * may go to any daemon (http_nodes.c): a redirect to an office's owner,
 * or the next daemon when theirs died, which may be one started after
 * the page was loaded, so connect-src cannot list them. Scripts, the one
 * way to send data out, still come from this daemon alone. */
#define HTTP_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"connect-src 'self' http: https:; img-src 'self' data:; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'"

struct ring_ent {
	uint64_t id;
	char *msg; /* the whole SSE message, "id: ...\n\n" */
	size_t len;
};

struct ring {
	int office_id;
	uint64_t next_id;
	int start, count;
	struct ring_ent ents[HTTP_RING_SIZE];
	struct ring *next;
};

struct sse {
	struct http *h;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int office_id;
	int token_id; /* whose revocation ends the stream */
	bool doomed;  /* closed from the reaper, not from emit */
	char peer[64];
	/* a visitor's stream (/t/<secret>/events): one ticket, not the ring */
	bool is_visitor;
	bool dirty; /* its office changed since the last look */
	struct engine_visitor visitor;
	char *last; /* the ticket as last sent */
	struct sse *prev, *next;
};

enum api { API_STATUS, API_EVENTS, API_OP };

/* An API request while its token is being checked (and for /api/op,
 * until the session answers it: after the commit for a change). */
struct pending {
	struct http *h;
	struct evhttp_request *req; /* NULL once libevent has freed it */
	bool detached;              /* the client went; req is ours to free */
	enum api api;
	char *body; /* /api/op: the request object (len bytes) */
	size_t len;
	char office[40]; /* ?office= (admin) */
	char host[64];   /* the peer's address, for auth's rate limit */
	bool has_last;
	uint64_t last_id;
	struct pending *prev, *next;
};

struct rate_slot {
	char host[64];
	struct rate_bucket bucket;
};

struct http {
	struct event_base *base;
	struct session_ctx *sctx;
	struct engine *engine;   /* sctx's */
	struct auth *auth;       /* sctx's */
	size_t max_line;         /* the longest /api/op body */
	int rate_limit;          /* /api/op requests a second per address */
	struct rate_slot *rates; /* HTTP_RATE_SLOTS of them */
	struct evhttp *evh;
	char *datadir; /* holds board/ and counter/ */
	/* each office's ring, by office id: every event looks its ring up,
	 * and a list of a thousand offices cost a scan each */
	struct ring *rings[HTTP_RING_BUCKETS];
	struct sse *sses;
	int nsse;
	struct pending *pendings;
	struct event *keepalive, *reaper;
	struct event *visitor_ev;   /* looks at the visitors' streams marked dirty */
	struct event *owner_check;  /* ends the streams of offices that moved away */
	char *public_url;           /* base of the visitors' URLs; NULL: the request's Host */
	struct server *metrics_srv; /* NULL: no /metrics */
};

/* http.c */
/* A file of one page's folder (board, counter, kiosk, visitor, i18n). */
void serve_file(struct http *h, struct evhttp_request *req, const char *page, const char *name);
void peer_of(struct evhttp_request *req, char *out, size_t outsz, bool with_port);
/* Headers every reply carries (content security policy, no sniffing). */
void common_headers(struct evhttp_request *req);
void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body);
/* A JSON body (len bytes) with the headers every API reply carries. */
void reply_json(struct evhttp_request *req, int code, const char *reason, const char *body,
		size_t len);
/* Unlinks p from the requests being worked on, lets go of its
 * connection's close callback and frees it. */
void pending_done(struct pending *p);

/* http_op.c: POST /api/op */
/* Takes one request of host from its address's budget; false when spent. */
bool op_rate_take(struct http *h, const char *host);
/* A refusal of /api/op before its body is read: the HTTP status, and the
 * protocol's error object as the body. */
void op_refuse(struct evhttp_request *req, int code, const char *reason, enum proto_err err,
	       const char *message);
/* The office a request of /api/op is about: an admin's "office" member,
 * else the token's. */
void op_office_of(const struct pending *p, const struct auth_identity *who, char *out,
		  size_t outsz);
/* The token is good: the request goes to the session, which answers p. */
void op_run(struct http *h, struct pending *p, const struct auth_identity *who);

/* http_metrics.c: the whole exposition for GET /metrics. */
void http_metrics_render(struct evbuffer *out, struct server *srv, const struct engine *e);

/* http_events.c */
/* Turns req into an event stream of the office for token_id, resuming
 * after last_id when has_last and the ring still holds what followed it. */
void start_events(struct http *h, struct evhttp_request *req, int office_id, int token_id,
		  bool has_last, uint64_t last_id);
void keepalive_cb(evutil_socket_t fd, short what, void *arg);
/* Turns req into an event stream (headers sent) registered for the
 * office; NULL (and a 503 sent) when there are too many. */
struct sse *sse_open(struct http *h, struct evhttp_request *req, int office_id, int token_id);
void sse_write(struct sse *s, const char *msg, size_t len);
/* Frees the rings of the offices keep says no to. */
void rings_forget(struct http *h, bool (*keep)(struct http *h, int office_id));

/* http_visitor.c: everything under /t/ (rest: what follows "/t/") */
void visitor_route(struct http *h, struct evhttp_request *req, const char *rest);
void start_visitor_events(struct http *h, struct evhttp_request *req,
			  const struct engine_visitor *v);
/* Sends the dirty visitors' streams their ticket, if it changed. */
void visitor_refresh_cb(evutil_socket_t fd, short what, void *arg);
void reaper_cb(evutil_socket_t fd, short what, void *arg);

/* http_nodes.c: several daemons on one database */
/* /api/... and /t/...: the paths other daemons' pages may call. */
bool cors_path(const char *path);
void cors_headers(struct evhttp_request *req);
/* The answer to an OPTIONS request (a browser's CORS preflight). */
void cors_preflight(struct evhttp_request *req);
/* Whether another daemon owns the office (by code), or nobody does now. */
bool owner_is_elsewhere(const struct http *h, const char *office_code);
/* When another daemon owns the office (by code), or nobody does now:
 * answers (307 to the owner, or 503 with Retry-After; on /api/op with
 * the protocol's error object) and returns true. False: this daemon
 * serves it (or there is no such office), nothing sent. */
bool answered_for_owner(struct http *h, struct evhttp_request *req, const char *office_code,
			bool api_op);
/* A visitor's secret that opens nothing here: a 307 to the next live
 * daemon while some have not looked (true); false: answer 404. */
bool visitor_pass_on(struct http *h, struct evhttp_request *req);
/* {"node": name or null, "nodes": [HTTP bases of the live daemons, this one's first]} */
json_t *nodes_json(const struct engine *e);
/* GET /api/nodes (no token: the bases are what browsers are given anyway). */
void serve_nodes(struct http *h, struct evhttp_request *req);
/* Starts the once-a-second look at the event streams' offices. */
void owner_check_start(struct http *h);

#endif
