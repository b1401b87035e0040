/*
 * http: the HTTP side of kolappd (libevent evhttp), for the pages people
 * look at and for monitoring. Owns the HTTP listeners, the static files
 * of the pages (datadir/board, counter, kiosk, visitor, i18n), the
 * visitors' own pages under /t/ (no token: the secret in the path), the token check for HTTP
 * requests, the Server-Sent Events clients and a per-office ring of recent
 * events that lets a client resume with Last-Event-ID. Holds no queue
 * logic and no protocol rules: status comes from the engine, events from
 * the engine's emit hook, and POST /api/op goes to the session, which
 * checks and answers it exactly as a TCP request.
 */
#ifndef KOLAPP_HTTP_H
#define KOLAPP_HTTP_H

#include <event2/event.h>

struct http;
struct session_ctx;
struct server;
struct server_limits;
struct engine_event;

/* Events kept per office for Last-Event-ID. */
#define HTTP_RING_SIZE 512

/* datadir holds board/ and counter/ (index.html and its assets); it is
 * copied. sctx (the engine, the token check) must outlive h. */
struct http *http_new(struct event_base *base, struct session_ctx *sctx, const char *datadir,
		      const struct server_limits *limits);
/* The request size and rate limits of POST /api/op: the protocol's
 * max_line and rate_limit (per address here, per connection on TCP). */
void http_set_limits(struct http *h, const struct server_limits *limits);
/* The base URL of the visitors' pages as printed and encoded in their QR
 * codes ("https://kolapp.example.se"); NULL: the request's Host. */
void http_set_public_url(struct http *h, const char *url);
/* Binds "ADDR:PORT" or "[V6ADDR]:PORT"; logs and returns -1 on failure. */
int http_listen(struct http *h, const char *addrport);
/* An engine event for its office's SSE clients (and its ring); h may be NULL. */
void http_emit(struct http *h, const struct engine_event *ev);
/* Closes the event streams opened with the token (revoked); their number.
 * h may be NULL. */
int http_close_token(struct http *h, int token_id);
/* Serves GET /metrics (Prometheus text) with the server's connections. */
void http_set_metrics(struct http *h, struct server *srv);
/* Closes every connection and listener. */
void http_free(struct http *h);

#endif
