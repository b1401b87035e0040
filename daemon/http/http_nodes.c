/*
 * http_nodes: the HTTP side of several daemons on one database (issue 16).
 * Every URL works through any daemon: a request about an office another
 * daemon owns is redirected there (307, which keeps the method and the
 * body), and while nobody owns it the answer is 503 with Retry-After.
 * The API answers carry CORS headers, so that a page loaded from one
 * daemon can follow a redirect to another, or move to another when its
 * own dies. A visitor's secret this daemon does not know (a ticket issued
 * elsewhere after it loaded its offices) is passed round the live daemons.
 * Event streams of an office this daemon no longer owns are ended, so
 * that their pages reconnect and are redirected to the new owner.
 */
#include "daemon/http/http_int.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* How often the open event streams are checked against the owner table
 * (which daemon/store/own.c refreshes every second). */
#define OWNER_CHECK_MS 1000
/* "Retry-After" while an office has no owner: a takeover takes seconds. */
#define NOBODY_RETRY_S "1"

bool cors_path(const char *path)
{
	return !strncmp(path, "/api/", 5) || !strncmp(path, "/t/", 3);
}

/* Tokens travel in the URL or the Authorization header, never in a
 * cookie, so "*" lets pages of other daemons read the answers without
 * letting another site act with a visitor's or a clerk's credentials. */
void cors_headers(struct evhttp_request *req)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "Access-Control-Allow-Origin", "*");
	evhttp_add_header(oh, "Access-Control-Expose-Headers", "Retry-After");
}

void cors_preflight(struct evhttp_request *req)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	common_headers(req);
	evhttp_add_header(oh, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
	evhttp_add_header(oh, "Access-Control-Allow-Headers",
			  "Authorization, Content-Type, Last-Event-ID");
	evhttp_add_header(oh, "Access-Control-Max-Age", "600");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_send_reply(req, 204, "No Content", NULL);
}

/* The request's path and query as the client sent them ("/api/status?
 * token=..."), on another daemon: the Location of a redirect (allocated). */
static char *same_url_at(struct evhttp_request *req, const char *base)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	const char *query = u ? evhttp_uri_get_query(u) : NULL;

	return xasprintf("%s%s%s%s", base, path && *path ? path : "/", query ? "?" : "",
			 query ? query : "");
}

/* A 307 to location (freed here); body: the protocol's moved error, for a
 * script that does not follow redirects. The Location holds the token when
 * the query did: it goes back to the client that sent it, and is not logged. */
static void redirect(struct evhttp_request *req, char *location, const char *tcp_owner,
		     const char *message, bool count_op)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	size_t len = 0;
	char *body = proto_encode_moved(NULL, message, tcp_owner ? tcp_owner : "", &len);

	if (!body)
		xoom("moved");
	if (count_op)
		metrics_request(-1, PERR_MOVED);
	evhttp_add_header(oh, "Location", location);
	reply_json(req, 307, "Temporary Redirect", body, len);
	free(body);
	free(location);
}

/* 503 while the office has no owner (its owner died, another daemon takes
 * it over within seconds): the protocol's unavailable error on /api/op,
 * text elsewhere, as for the other refusals of each path. */
static void no_owner_now(struct evhttp_request *req, bool api_op)
{
	static const char msg[] = "no daemon serves the office right now: try again in a second";

	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", NOBODY_RETRY_S);
	if (api_op)
		op_refuse(req, 503, "Service Unavailable", PERR_UNAVAILABLE, msg);
	else
		reply_text(req, 503, "Service Unavailable", msg);
}

bool owner_is_elsewhere(const struct http *h, const char *office_code)
{
	const char *addr, *http;
	enum engine_owner owner;

	if (!office_code || !*office_code)
		return false;
	owner = engine_owner_of(h->engine, office_code, &addr, &http);
	return owner == OWNER_ELSEWHERE || owner == OWNER_NOBODY;
}

bool answered_for_owner(struct http *h, struct evhttp_request *req, const char *office_code,
			bool api_op)
{
	const char *addr = NULL, *http = NULL;
	enum engine_owner owner;
	char msg[160];

	if (!office_code)
		return false;
	owner = engine_owner_of(h->engine, office_code, &addr, &http);
	/* An unknown office is answered as before: 404. */
	if (owner == OWNER_MINE || owner == OWNER_UNKNOWN_OFFICE)
		return false;
	if (owner == OWNER_NOBODY) {
		no_owner_now(req, api_op);
		return true;
	}
	if (!http || !*http) {
		/* Its owner serves no HTTP: nothing to send the page to. */
		if (api_op)
			op_refuse(req, 503, "Service Unavailable", PERR_UNAVAILABLE,
				  "the office's daemon serves no HTTP");
		else
			reply_text(req, 503, "Service Unavailable",
				   "the office's daemon serves no HTTP");
		return true;
	}
	snprintf(msg, sizeof msg, "office %s is served by another daemon", office_code);
	redirect(req, same_url_at(req, http), addr, msg, api_op);
	return true;
}

/* ---- a visitor's secret this daemon does not know -------------------------- */

/* The next daemon after this one on a ring of the live daemons' bases in
 * sorted order: every daemon computes the same ring from the same table,
 * so that a secret passed on hop by hop reaches each of them once. NULL
 * when this daemon is alone. */
static const char *ring_next(const char *const *nodes, int n)
{
	const char *self = n > 0 ? nodes[0] : NULL, *after = NULL, *first = NULL;

	for (int i = 1; i < n; i++) {
		if (!strcmp(nodes[i], self))
			continue;
		if (!first || strcmp(nodes[i], first) < 0)
			first = nodes[i];
		if (strcmp(nodes[i], self) > 0 && (!after || strcmp(nodes[i], after) < 0))
			after = nodes[i];
	}
	return after ? after : first;
}

/* The query without its "hop=" member, in out (strlen(query) + 1 bytes);
 * how many hops that member said. */
static int strip_hop(const char *query, char *out)
{
	const char *p = query;
	size_t used = 0;
	int hop = 0;

	out[0] = '\0';
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len > 4 && !strncmp(p, "hop=", 4)) {
			hop = atoi(p + 4);
		} else if (len) {
			if (used)
				out[used++] = '&';
			memcpy(out + used, p, len);
			used += len;
			out[used] = '\0';
		}
		p = amp ? amp + 1 : NULL;
	}
	return hop < 0 ? 0 : hop;
}

bool visitor_pass_on(struct http *h, struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	int n = 0;
	const char *const *nodes = engine_nodes_http(h->engine, &n);
	const char *next = engine_ownership_is_on(h->engine) ? ring_next(nodes, n) : NULL;
	char *rest;
	int hop;

	if (!next || !path)
		return false;
	rest = xmalloc((query ? strlen(query) : 0) + 1);
	hop = strip_hop(query, rest);
	/* Each of the others has looked once: the secret opens nothing. */
	if (hop + 1 >= n) {
		free(rest);
		return false;
	}
	redirect(req, xasprintf("%s%s?%s%shop=%d", next, path, rest, rest[0] ? "&" : "", hop + 1),
		 NULL, "this daemon does not know the ticket: ask the next", false);
	free(rest);
	return true;
}

/* ---- the daemons, for the pages ------------------------------------------ */

json_t *nodes_json(const struct engine *e)
{
	int n = 0;
	const char *const *nodes = engine_nodes_http(e, &n);
	const char *name = engine_node_name(e);
	json_t *list = json_array(), *j;

	for (int i = 0; i < n; i++)
		json_array_append_new(list, json_string(nodes[i]));
	j = json_pack("{s:o, s:o}", "node", name ? json_string(name) : json_null(), "nodes", list);
	if (!j)
		xoom("nodes");
	return j;
}

void serve_nodes(struct http *h, struct evhttp_request *req)
{
	json_t *j = nodes_json(h->engine);
	char *enc = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (!enc)
		xoom("nodes");
	reply_json(req, 200, "OK", enc, strlen(enc));
	free(enc);
}

/* ---- streams of offices that moved --------------------------------------- */

static bool served_here(struct http *h, int office_id)
{
	const char *code = engine_office_code(h->engine, office_id);
	const char *addr, *http;

	return code && engine_owner_of(h->engine, code, &addr, &http) == OWNER_MINE;
}

static void owner_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	bool doomed = false;

	if (!engine_ownership_is_on(h->engine))
		return;
	/* Should the office come back, its ring starts afresh, above the ids
	 * its owner meanwhile gave (http_events.c). */
	rings_forget(h, served_here);
	for (struct sse *s = h->sses; s; s = s->next) {
		const char *code = engine_office_code(h->engine, s->office_id);

		if (s->doomed || !code || served_here(h, s->office_id))
			continue;
		log_info("http %s: office %s is no longer served here: ending its stream", s->peer,
			 code);
		s->doomed = doomed = true;
	}
	if (doomed)
		event_active(h->reaper, EV_TIMEOUT, 0);
}

void owner_check_start(struct http *h)
{
	struct timeval tv = { OWNER_CHECK_MS / 1000, (OWNER_CHECK_MS % 1000) * 1000 };

	h->owner_check = event_new(h->base, -1, EV_PERSIST, owner_check_cb, h);
	if (!h->owner_check)
		xoom("h->owner_check");
	event_add(h->owner_check, &tv);
}
