#include "build_config.h"

#include "daemon/http/http.h"
#include "daemon/http/http_int.h"
#include "daemon/net/auth.h"
#include "daemon/net/server.h"
#include "daemon/net/session.h"
#include "daemon/engine/engine.h"
#include "daemon/util/addr.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* ---- small helpers ---------------------------------------------------- */

void peer_of(struct evhttp_request *req, char *out, size_t outsz, bool with_port)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon)
		evhttp_connection_get_peer(evcon, &addr, &port);
	if (with_port)
		snprintf(out, outsz, "%s:%u", addr ? addr : "?", (unsigned)port);
	else
		snprintf(out, outsz, "%s", addr ? addr : "?");
}

static const char *req_path(struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *p = u ? evhttp_uri_get_path(u) : NULL;
	return p && *p ? p : "/";
}

void common_headers(struct evhttp_request *req)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	if (cors_path(req_path(req)))
		cors_headers(req);
}

/* Logs the path only: the query may hold the token. */
void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	char peer[64];

	if (!b)
		xoom("b");
	common_headers(req);
	evhttp_add_header(oh, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (code == 401)
		evhttp_add_header(oh, "WWW-Authenticate", "Bearer");
	if (code == 405)
		evhttp_add_header(oh, "Allow",
				  strcmp(req_path(req), "/api/op") ? "GET, HEAD" : "POST");
	evbuffer_add_printf(b, "%s\n", body);
	peer_of(req, peer, sizeof peer, true);
	if (code >= 400)
		log_info("http %s: %s -> %d", peer, req_path(req), code);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

void reply_json(struct evhttp_request *req, int code, const char *reason, const char *body,
		size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	char peer[64];

	if (!b)
		xoom("b");
	common_headers(req);
	evhttp_add_header(oh, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (code == 401)
		evhttp_add_header(oh, "WWW-Authenticate", "Bearer");
	evbuffer_add(b, body, len);
	if (code >= 400) {
		peer_of(req, peer, sizeof peer, true);
		log_info("http %s: %s -> %d", peer, req_path(req), code);
	}
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* ---- static files of the pages ------------------------------------------- */

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".json", "application/json; charset=utf-8" },
		{ ".png", "image/png" },
		{ ".svg", "image/svg+xml" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

/* One plain name in the page's folder: no directories, no dot files, nothing to
 * decode, so no request can name a file outside it. */
static bool safe_name(const char *name)
{
	if (!*name || *name == '.' || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
	return true;
}

/* A file of one page's folder (board, counter) under the data directory. */
void serve_file(struct http *h, struct evhttp_request *req, const char *page, const char *name)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	const char *type = safe_name(name) ? content_type(name) : NULL;
	const char *inm;
	char path[4096], etag[64];
	struct evbuffer *b;
	struct stat st;
	int fd;

	if (!type || (size_t)snprintf(path, sizeof path, "%s/%s/%s", h->datadir, page, name) >=
			     sizeof path) {
		reply_text(req, 404, "Not Found", "not found");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)HTTP_MAX_FILE_SIZE) {
		if (fd >= 0)
			close(fd);
		else if (errno != ENOENT)
			log_warn("http: cannot open %s: %s", path, strerror(errno));
		reply_text(req, 404, "Not Found", "not found");
		return;
	}
	/* Revalidated on every load so that an upgrade shows at once; the
	 * 304 keeps that cheap. */
	snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
		 (unsigned long long)st.st_size);
	common_headers(req);
	evhttp_add_header(oh, "Cache-Control", "no-cache");
	evhttp_add_header(oh, "ETag", etag);
	if (!strcmp(name, "index.html"))
		evhttp_add_header(oh, "Content-Security-Policy", HTTP_CSP);
	inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	if (inm && !strcmp(inm, etag)) {
		close(fd);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(oh, "Content-Type", type);
	b = evbuffer_new();
	if (!b)
		xoom("b");
	if (st.st_size == 0)
		close(fd);
	else if (evbuffer_add_file(b, fd, 0, st.st_size) < 0) {
		close(fd);
		evbuffer_free(b);
		reply_text(req, 500, "Internal Server Error", "internal error");
		return;
	}
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- API ---------------------------------------------------------------- */

/* The office's status as one JSON object, from the engine's encoded
 * members (",\"office\":..." each, as after "ok":true in a reply), after
 * "you": who the token is, which a page cannot learn otherwise (TCP's
 * hello says it). */
static void status_reply(struct evhttp_request *req, const struct auth_identity *id,
			 const char *members, size_t mlen)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	json_t *you;
	char *enc;
	struct evbuffer *b;

	if (!members) {
		reply_text(req, 503, "Service Unavailable", "status unavailable");
		return;
	}
	you = json_pack("{s:s, s:s, s:o}", "role", proto_role_name(id->role), "office", id->office,
			"counter", id->counter_id ? json_string(id->counter) : json_null());
	enc = you ? json_dumps(you, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(you);
	if (!enc)
		xoom("you");
	b = evbuffer_new();
	if (!b)
		xoom("b");
	evbuffer_add_printf(b, "{\"you\":%s", enc);
	evbuffer_add(b, members, mlen);
	evbuffer_add(b, "}", 1);
	free(enc);
	common_headers(req);
	evhttp_add_header(oh, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void pending_unlink(struct pending *p)
{
	struct http *h = p->h;

	if (p->prev)
		p->prev->next = p->next;
	else
		h->pendings = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

/* The connection went during the token check. On EOF libevent detaches
 * the unfinished request (ours to free); when it frees the connection
 * itself (evhttp_free) the request goes with it. */
static void pending_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct pending *p = arg;

	log_debug("http %s: client left during the token check", p->host);
	if (!evhttp_request_get_connection(p->req))
		p->detached = true;
	else
		p->req = NULL;
}

static void pending_free(struct pending *p)
{
	if (p->detached)
		evhttp_request_free(p->req);
	free(p->body);
	free(p);
}

void pending_done(struct pending *p)
{
	struct evhttp_connection *evcon = p->req ? evhttp_request_get_connection(p->req) : NULL;

	pending_unlink(p);
	if (evcon)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	pending_free(p);
}

/* The client went during the wait: nothing to answer. */
static bool pending_gone(const struct pending *p)
{
	return !p->req || !evhttp_request_get_connection(p->req);
}

/* A refusal of an API request with a token that did not pass. */
static void refuse(struct evhttp_request *req, enum api api, int code, const char *reason,
		   enum proto_err err, const char *text)
{
	if (api == API_OP)
		op_refuse(req, code, reason, err, text);
	else
		reply_text(req, code, reason, text);
}

static void on_auth(void *ctx, enum proto_err err, const char *message,
		    const struct auth_identity *id)
{
	struct pending *p = ctx;
	struct http *h = p->h;
	struct evhttp_request *req = p->req;
	enum api api = p->api;
	bool has_last = p->has_last;
	uint64_t last_id = p->last_id;
	char office[sizeof p->office];
	int office_id;

	if (pending_gone(p)) {
		pending_done(p);
		return;
	}
	if (api == API_OP && err == PROTO_OK && id) {
		char op_office[sizeof p->office];

		op_office_of(p, id, op_office, sizeof op_office);
		if (owner_is_elsewhere(h, op_office)) {
			pending_done(p);
			answered_for_owner(h, req, op_office, true);
			return;
		}
		/* p waits on, with its close callback, for the answer, which
		 * may come only after a commit. */
		op_run(h, p, id);
		return;
	}
	if (err != PROTO_OK && err != PERR_UNAVAILABLE)
		auth_note_failure(h->auth, p->host, time(NULL));
	snprintf(office, sizeof office, "%s", p->office);
	/* Answered now: the connection's close callback is ours no more. */
	pending_done(p);
	if (err == PERR_UNAVAILABLE) {
		refuse(req, api, 503, "Service Unavailable", err, "cannot check the token now");
		return;
	}
	if (err != PROTO_OK || !id) {
		refuse(req, api, 401, "Unauthorized", PERR_UNAUTHORIZED, "unauthorized");
		return;
	}
	/* The same role rules as the protocol's status and subscribe. */
	if (!proto_role_may(id->role, api == API_EVENTS ? OP_SUBSCRIBE : OP_STATUS)) {
		reply_text(req, 403, "Forbidden", "forbidden");
		return;
	}
	office_id = id->office_id;
	if (office[0]) {
		int named = engine_office_id(h->engine, office);
		if (id->role != ROLE_ADMIN && named != id->office_id) {
			reply_text(req, 403, "Forbidden", "forbidden");
			return;
		}
		office_id = named;
	}
	if (!office_id || !engine_office_code(h->engine, office_id)) {
		reply_text(req, 404, "Not Found", "no such office");
		return;
	}
	if (answered_for_owner(h, req, engine_office_code(h->engine, office_id), false))
		return;
	if (api == API_STATUS) {
		size_t mlen = 0;
		const char *members = engine_status_encoded(h->engine, office_id, &mlen);

		status_reply(req, id, members, mlen);
	} else {
		start_events(h, req, office_id, id->token_id, has_last, last_id);
	}
}

static bool bearer_token(struct evhttp_request *req, const struct evkeyvalq *query, char *out,
			 size_t outsz)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	const char *t = NULL;

	if (a && !strncasecmp(a, "Bearer ", 7)) {
		t = a + 7;
		while (*t == ' ')
			t++;
	} else {
		t = evhttp_find_header(query, "token");
	}
	if (!t || !*t || strlen(t) >= outsz)
		return false;
	snprintf(out, outsz, "%s", t);
	return true;
}

static void handle_api(struct http *h, struct evhttp_request *req, enum api api)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq q;
	struct pending *p;
	char token[HTTP_MAX_TOKEN];
	const char *v;
	bool guessing;

	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		reply_text(req, 400, "Bad Request", "bad query");
		return;
	}
	if (!bearer_token(req, &q, token, sizeof token)) {
		evhttp_clear_headers(&q);
		refuse(req, api, 401, "Unauthorized", PERR_UNAUTHORIZED, "unauthorized");
		return;
	}
	p = xcalloc(1, sizeof *p);
	peer_of(req, p->host, sizeof p->host, false);
	/* The same guard against guessing tokens as for hello; and for
	 * /api/op the request rate limit, before the token costs a query. */
	guessing = auth_is_blocked(h->auth, p->host, time(NULL));
	if (guessing || (api == API_OP && !op_rate_take(h, p->host))) {
		free(p);
		evhttp_clear_headers(&q);
		memset(token, 0, sizeof token);
		refuse(req, api, 429, "Too Many Requests", PERR_RATE_LIMITED,
		       guessing ? "too many failed attempts: try again later"
				: "too many requests: slow down");
		return;
	}
	p->h = h;
	p->req = req;
	p->api = api;
	if (api == API_OP) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);

		/* evhttp refuses a longer body itself (413); max_line may
		 * have shrunk since it read this one. */
		p->len = evbuffer_get_length(in);
		if (p->len > h->max_line) {
			free(p);
			evhttp_clear_headers(&q);
			memset(token, 0, sizeof token);
			refuse(req, api, 413, "Payload Too Large", PERR_TOO_LARGE,
			       "request body longer than max_line");
			return;
		}
		p->body = xmalloc(p->len + 1);
		evbuffer_copyout(in, p->body, p->len);
		p->body[p->len] = '\0';
	}
	v = evhttp_find_header(&q, "office");
	if (v)
		snprintf(p->office, sizeof p->office, "%s", v);
	v = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
	if (!v)
		v = evhttp_find_header(&q, "last_event_id");
	if (v && parse_u64(v, &p->last_id) == 0)
		p->has_last = true;
	evhttp_clear_headers(&q);
	p->next = h->pendings;
	if (h->pendings)
		h->pendings->prev = p;
	h->pendings = p;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), pending_closed_cb, p);
	auth_lookup(h->auth, token, p->host, on_auth, p);
	memset(token, 0, sizeof token);
}

/* Operational counts only: no tokens, no tickets' contents. Served
 * without a token so that a Prometheus scraper needs no secret; bind
 * the HTTP listener where only the office network can reach it. */
static void serve_metrics(struct http *h, struct evhttp_request *req)
{
	struct evbuffer *body = evbuffer_new();

	if (!body) {
		reply_text(req, 503, "Service Unavailable", "out of memory");
		return;
	}
	http_metrics_render(body, h->metrics_srv, h->engine);
	common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

/* ---- routing ------------------------------------------------------------- */

static void gen_cb(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const char *path = req_path(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool get = m == EVHTTP_REQ_GET, head = m == EVHTTP_REQ_HEAD;

	if (m == EVHTTP_REQ_OPTIONS && cors_path(path)) {
		cors_preflight(req);
	} else if (!strncmp(path, "/common/", 8)) {
		/* What every page shares (finding another daemon). */
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "common", path + 8);
	} else if (!strcmp(path, "/board") || !strcmp(path, "/board/")) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "board", "index.html");
	} else if (!strncmp(path, "/board/", 7)) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "board", path + 7);
	} else if (!strcmp(path, "/counter") || !strcmp(path, "/counter/")) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "counter", "index.html");
	} else if (!strncmp(path, "/counter/", 9)) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "counter", path + 9);
	} else if (!strcmp(path, "/kiosk") || !strcmp(path, "/kiosk/")) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "kiosk", "index.html");
	} else if (!strncmp(path, "/kiosk/", 7)) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else if (!strcmp(path + 7, "i18n.json"))
			serve_file(h, req, "i18n", "visitors.json");
		else
			serve_file(h, req, "kiosk", path + 7);
	} else if (!strncmp(path, "/t/", 3)) {
		visitor_route(h, req, path + 3);
	} else if (!strcmp(path, "/api/op")) {
		if (m != EVHTTP_REQ_POST)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			handle_api(h, req, API_OP);
	} else if (!strcmp(path, "/api/status")) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			handle_api(h, req, API_STATUS);
	} else if (!strcmp(path, "/api/events")) {
		if (!get)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			handle_api(h, req, API_EVENTS);
	} else if (!strcmp(path, "/api/nodes")) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_nodes(h, req);
	} else if (!strcmp(path, "/metrics") && h->metrics_srv) {
		if (!get && !head)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_metrics(h, req);
	} else {
		reply_text(req, 404, "Not Found", "not found");
	}
}

void http_set_limits(struct http *h, const struct server_limits *limits)
{
	if (!h)
		return;
	h->max_line = limits->max_line;
	h->rate_limit = limits->rate_limit;
	/* GETs carry no body; a POST to /api/op one request object. */
	evhttp_set_max_body_size(h->evh, (ev_ssize_t)limits->max_line);
}

void http_set_metrics(struct http *h, struct server *srv)
{
	if (h)
		h->metrics_srv = srv;
}

/* ---- life cycle ------------------------------------------------------------ */

struct http *http_new(struct event_base *base, struct session_ctx *sctx, const char *datadir,
		      const struct server_limits *limits)
{
	struct http *h = xcalloc(1, sizeof *h);
	struct timeval ka = { HTTP_KEEPALIVE_S, 0 };
	h->base = base;
	h->sctx = sctx;
	h->engine = sctx->engine;
	h->auth = sctx->auth;
	h->datadir = xstrdup(datadir);
	h->rates = xcalloc(HTTP_RATE_SLOTS, sizeof *h->rates);
	h->evh = evhttp_new(base);
	if (!h->evh)
		xoom("h->evh");
	evhttp_set_max_headers_size(h->evh, HTTP_MAX_HEADERS_SIZE);
	http_set_limits(h, limits);
	evhttp_set_timeout(h->evh, HTTP_TIMEOUT_S);
	/* Every method reaches gen_cb, so a known path answers 405, not 501. */
	evhttp_set_allowed_methods(h->evh, HTTP_ALL_METHODS);
	evhttp_set_gencb(h->evh, gen_cb, h);
	h->keepalive = event_new(base, -1, EV_PERSIST, keepalive_cb, h);
	h->reaper = event_new(base, -1, 0, reaper_cb, h);
	h->visitor_ev = event_new(base, -1, 0, visitor_refresh_cb, h);
	if (!h->keepalive || !h->reaper || !h->visitor_ev)
		xoom("h->keepalive");
	event_add(h->keepalive, &ka);
	owner_check_start(h);
	return h;
}

int http_listen(struct http *h, const char *addrport)
{
	char host[ADDR_HOST_MAX];
	int port;

	if (addr_parse(addrport, host, sizeof host, &port) < 0) {
		log_error("http: cannot parse address %s (want ADDR:PORT or [V6ADDR]:PORT)",
			  addrport);
		return -1;
	}
	if (!evhttp_bind_socket_with_handle(h->evh, host, (ev_uint16_t)port)) {
		log_error("http: cannot listen on %s: %s", addrport, strerror(errno));
		return -1;
	}
	log_info("http: listening on %s", addrport);
	return 0;
}

static bool keep_no_ring(struct http *h, int office_id)
{
	return false;
}

void http_free(struct http *h)
{
	struct pending *p;

	if (!h)
		return;
	/* Closes every connection: SSE clients unlink in sse_closed_cb. */
	evhttp_free(h->evh);
	while ((p = h->pendings)) {
		/* The database's answer will never come now. */
		pending_unlink(p);
		pending_free(p);
	}
	rings_forget(h, keep_no_ring);
	event_free(h->keepalive);
	event_free(h->reaper);
	event_free(h->visitor_ev);
	event_free(h->owner_check);
	free(h->public_url);
	free(h->datadir);
	free(h->rates);
	free(h);
}
