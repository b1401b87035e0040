/*
 * The visitor's own page, /t/<secret>, without a token: the secret is
 * the key (daemon/util/vsecret.h). Owns the routes under /t/: the page
 * (data/visitor), its ticket as JSON, a stream of that ticket alone, the
 * QR code of the page's URL (libqrencode, as SVG) and the rating after
 * the visit. Whatever the engine says about the ticket goes out as it is;
 * nothing here reads another ticket. A secret that opens nothing (a
 * guess, yesterday's) is a plain 404, the same as an unknown path.
 */
#include "daemon/http/http_int.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/util/vsecret.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qrencode.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define VISITOR_MAX_BODY 256 /* {"rating":5} and some room */

void http_set_public_url(struct http *h, const char *url)
{
	size_t n;

	if (!h)
		return;
	free(h->public_url);
	h->public_url = NULL;
	if (!url || !*url)
		return;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		log_warn("public_url %s is not an http:// or https:// URL: ignored", url);
		return;
	}
	h->public_url = xstrdup(url);
	/* "https://x/" and "https://x" mean the same base. */
	n = strlen(h->public_url);
	while (n > 8 && h->public_url[n - 1] == '/')
		h->public_url[--n] = '\0';
}

static void reply_engine_json(struct evhttp_request *req, json_t *j)
{
	char *enc = json_dumps(j, JSON_COMPACT);

	if (!enc)
		xoom("visitor json");
	reply_json(req, 200, "OK", enc, strlen(enc));
	free(enc);
}

/* ---- the QR code ---------------------------------------------------------- */

/* The page's full URL: public_url, or else what the browser asked for
 * (its Host), so that a demo on a laptop works without a setting. */
static void page_url(struct http *h, struct evhttp_request *req, const char *secret, char *out,
		     size_t outsz)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");

	if (h->public_url)
		snprintf(out, outsz, "%s/t/%s", h->public_url, secret);
	else
		snprintf(out, outsz, "http://%s/t/%s", host && *host ? host : "localhost", secret);
}

/* One path of horizontal runs: small, and crisp at any size. */
static void serve_qr(struct http *h, struct evhttp_request *req, const char *secret)
{
	char url[1024];
	QRcode *qr;
	struct evbuffer *b;
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	const int quiet = 4;

	page_url(h, req, secret, url, sizeof url);
	qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr) {
		reply_text(req, 500, "Internal Server Error", "cannot make the QR code");
		return;
	}
	b = evbuffer_new();
	if (!b)
		xoom("b");
	int size = qr->width + 2 * quiet;
	evbuffer_add_printf(b,
			    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
			    "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
			    "fill=\"#fff\"/><path fill=\"#000\" d=\"",
			    size, size, size, size);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width;) {
			int run = 0;

			while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
				run++;
			if (run)
				evbuffer_add_printf(b, "M%d %dh%dv1h-%dz", x + quiet, y + quiet,
						    run, run);
			x += run ? run : 1;
		}
	evbuffer_add_printf(b, "\"/></svg>\n");
	QRcode_free(qr);
	common_headers(req);
	evhttp_add_header(oh, "Content-Type", "image/svg+xml");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- the rating ------------------------------------------------------------ */

/* A rating waits for its commit; the client may leave meanwhile. */
struct vrate {
	struct evhttp_request *req; /* NULL once libevent has freed it */
	bool detached;              /* the client went; req is ours to free */
};

static void vrate_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct vrate *r = arg;

	if (!evhttp_request_get_connection(r->req))
		r->detached = true;
	else
		r->req = NULL;
}

static int err_status(enum proto_err err, const char **reason)
{
	switch (err) {
	case PERR_BAD_REQUEST: *reason = "Bad Request"; return 400;
	case PERR_NOT_FOUND: *reason = "Not Found"; return 404;
	case PERR_CONFLICT: *reason = "Conflict"; return 409;
	case PERR_UNAVAILABLE: *reason = "Service Unavailable"; return 503;
	default: *reason = "Internal Server Error"; return 500;
	}
}

/* The body of every answer under /t/ that is not the ticket: the
 * protocol's own shape, {"ok":...}. */
static void reply_result(struct evhttp_request *req, enum proto_err err, const char *message,
			 json_t *result)
{
	const char *reason = "OK";
	int code = 200;
	json_t *j;

	if (err == PROTO_OK) {
		j = result ? json_incref(result) : json_object();
		json_object_set_new(j, "ok", json_true());
	} else {
		code = err_status(err, &reason);
		j = json_pack("{s:b, s:{s:s, s:s}}", "ok", false, "error", "code",
			      proto_err_code(err), "message", message ? message : "");
	}
	char *enc = json_dumps(j, JSON_COMPACT);
	if (!enc)
		xoom("enc");
	reply_json(req, code, reason, enc, strlen(enc));
	free(enc);
	json_decref(j);
}

static void vrate_answer(void *ctx, enum proto_err err, const char *message, json_t *result)
{
	struct vrate *r = ctx;
	struct evhttp_connection *evcon = r->req ? evhttp_request_get_connection(r->req) : NULL;

	if (evcon) {
		evhttp_connection_set_closecb(evcon, NULL, NULL);
		reply_result(r->req, err, message, result);
	} else if (r->detached) {
		evhttp_request_free(r->req);
	}
	json_decref(result);
	free(r);
}

static void rate(struct http *h, struct evhttp_request *req, const struct engine_visitor *v)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char body[VISITOR_MAX_BODY + 1], host[64];
	json_t *j, *jr;
	struct vrate *r;

	peer_of(req, host, sizeof host, false);
	if (!op_rate_take(h, host)) {
		reply_result(req, PERR_RATE_LIMITED, "too many requests: slow down", NULL);
		return;
	}
	if (len > VISITOR_MAX_BODY) {
		reply_result(req, PERR_BAD_REQUEST, "the body is one object: {\"rating\": 1 to 5}",
			     NULL);
		return;
	}
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	j = json_loadb(body, len, 0, NULL);
	jr = json_object_get(j, "rating");
	if (!json_is_integer(jr)) {
		json_decref(j);
		reply_result(req, PERR_BAD_REQUEST,
			     "field rating must be a whole number from 1 to 5", NULL);
		return;
	}
	json_int_t n = json_integer_value(jr);
	json_decref(j);
	r = xcalloc(1, sizeof *r);
	r->req = req;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), vrate_closed_cb, r);
	engine_visitor_rate(h->engine, v, n < 0 || n > 9 ? 0 : (int)n, vrate_answer, r);
}

/* ---- routing --------------------------------------------------------------- */

void visitor_route(struct http *h, struct evhttp_request *req, const char *rest)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
	const char *slash = strchr(rest, '/');
	size_t slen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *sub = slash ? slash + 1 : NULL;
	struct engine_visitor v;
	char secret[VSECRET_LEN + 1];

	/* The page's own files (a secret has no dot): /t/visitor.js. */
	if (!slash && memchr(rest, '.', slen)) {
		if (!get)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else if (!strcmp(rest, "i18n.json"))
			serve_file(h, req, "i18n", "visitors.json");
		else
			serve_file(h, req, "visitor", rest);
		return;
	}
	if (!engine_visitor_find(h->engine, rest, slen, &v)) {
		/* Issued by another daemon after this one loaded its
		 * offices, perhaps: the others look before the 404. */
		if (!visitor_pass_on(h, req))
			reply_text(req, 404, "Not Found", "not found");
		return;
	}
	/* Found, but in an office another daemon serves: what this one
	 * holds of it is stale. */
	if (answered_for_owner(h, req, engine_office_code(h->engine, v.office_id), false))
		return;
	memcpy(secret, rest, VSECRET_LEN);
	secret[VSECRET_LEN] = '\0';
	if (!sub) {
		if (!get)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_file(h, req, "visitor", "index.html");
	} else if (!strcmp(sub, "ticket")) {
		json_t *j = get ? engine_visitor_json(h->engine, &v) : NULL;

		if (!get)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else if (!j)
			reply_text(req, 404, "Not Found", "not found");
		else {
			/* What the receipt prints under its QR code. */
			char url[1024];
			page_url(h, req, secret, url, sizeof url);
			json_object_set_new(j, "url", json_string(url));
			reply_engine_json(req, j);
		}
		json_decref(j);
	} else if (!strcmp(sub, "events")) {
		if (m != EVHTTP_REQ_GET)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			start_visitor_events(h, req, &v);
	} else if (!strcmp(sub, "qr.svg")) {
		if (!get)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			serve_qr(h, req, secret);
	} else if (!strcmp(sub, "rating")) {
		if (m != EVHTTP_REQ_POST)
			reply_text(req, 405, "Method Not Allowed", "method not allowed");
		else
			rate(h, req, &v);
	} else {
		reply_text(req, 404, "Not Found", "not found");
	}
}

/* ---- the stream of one ticket ------------------------------------------------ */

/* Sends the ticket when it changed since the last message; at the end of
 * its day the stream says "gone" and ends. */
static void visitor_push(struct sse *s)
{
	json_t *j = engine_visitor_json(s->h->engine, &s->visitor);
	char *enc, *msg;

	s->dirty = false;
	if (!j) {
		static const char gone[] = "event: gone\ndata: {}\n\n";
		sse_write(s, gone, sizeof gone - 1);
		s->doomed = true;
		event_active(s->h->reaper, EV_TIMEOUT, 0);
		return;
	}
	enc = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!enc)
		xoom("enc");
	if (s->last && !strcmp(s->last, enc)) {
		free(enc);
		return;
	}
	msg = xasprintf("event: ticket\ndata: %s\n\n", enc);
	sse_write(s, msg, strlen(msg));
	free(msg);
	free(s->last);
	s->last = enc;
}

void visitor_refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	for (struct sse *s = h->sses; s; s = s->next)
		if (s->is_visitor && s->dirty && !s->doomed)
			visitor_push(s);
}

void start_visitor_events(struct http *h, struct evhttp_request *req,
			  const struct engine_visitor *v)
{
	struct sse *s;

	if (h->nsse >= HTTP_MAX_SSE_CLIENTS - HTTP_SSE_RESERVED) {
		reply_text(req, 503, "Service Unavailable", "too many event streams: poll ticket");
		return;
	}
	s = sse_open(h, req, v->office_id, 0);
	if (!s)
		return;
	s->is_visitor = true;
	s->visitor = *v;
	visitor_push(s);
}
