/* The event side of the HTTP server: the ring of each office's recent
 * events (for Last-Event-ID), the Server-Sent Events clients, and
 * http_emit. */
#include "daemon/http/http.h"
#include "daemon/http/http_int.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* ---- the event ring ----------------------------------------------------- */

/* An office's ring starts its ids at the clock, in microseconds: above
 * those of an earlier run, and above those another daemon gave the
 * office's events before this one took it over (unless either averaged
 * over an event a microsecond), so a Last-Event-ID from before is
 * recognised as not resumable here rather than confused with one of
 * this ring's. */
static uint64_t ring_first_id(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct ring **ring_bucket(struct http *h, int office_id)
{
	return &h->rings[(unsigned)office_id & (HTTP_RING_BUCKETS - 1)];
}

static struct ring *ring_get(struct http *h, int office_id, bool create)
{
	struct ring **b = ring_bucket(h, office_id), *r;

	for (r = *b; r; r = r->next)
		if (r->office_id == office_id)
			return r;
	if (!create)
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->office_id = office_id;
	r->next_id = ring_first_id();
	r->next = *b;
	*b = r;
	return r;
}

static void ring_free(struct ring *r)
{
	for (int i = 0; i < r->count; i++)
		free(r->ents[(r->start + i) % HTTP_RING_SIZE].msg);
	free(r);
}

void rings_forget(struct http *h, bool (*keep)(struct http *h, int office_id))
{
	for (int i = 0; i < HTTP_RING_BUCKETS; i++) {
		struct ring **pp = &h->rings[i];

		while (*pp) {
			struct ring *r = *pp;

			if (keep(h, r->office_id)) {
				pp = &r->next;
				continue;
			}
			*pp = r->next;
			ring_free(r);
		}
	}
}

static struct ring_ent *ring_push(struct ring *r, const char *kind, const char *data, size_t dlen)
{
	struct ring_ent *e;
	int slot;

	if (r->count == HTTP_RING_SIZE) {
		free(r->ents[r->start].msg);
		r->start = (r->start + 1) % HTTP_RING_SIZE;
		r->count--;
	}
	slot = (r->start + r->count) % HTTP_RING_SIZE;
	e = &r->ents[slot];
	e->id = r->next_id++;
	e->msg = xasprintf("id: %" PRIu64 "\nevent: %s\ndata: %.*s\n\n", e->id, kind, (int)dlen,
			   data);
	e->len = strlen(e->msg);
	r->count++;
	return e;
}

/* ---- SSE clients ---------------------------------------------------------- */

static void sse_unlink(struct sse *s)
{
	struct http *h = s->h;

	if (s->prev)
		s->prev->next = s->next;
	else
		h->sses = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nsse--;
}

/* The connection is going away (peer closed, error, or we freed it). */
static void sse_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct sse *s = arg;

	log_info("http %s: events stream closed", s->peer);
	/* On EOF libevent detaches an unfinished request instead of freeing it. */
	if (!evhttp_request_get_connection(s->req))
		evhttp_request_free(s->req);
	sse_unlink(s);
	free(s->last);
	free(s);
}

void sse_write(struct sse *s, const char *msg, size_t len)
{
	struct evbuffer *b;

	if (s->doomed)
		return;
	b = evbuffer_new();
	if (!b)
		xoom("b");
	evbuffer_add(b, msg, len);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
	/* A board that does not read would make us buffer without bound. */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > HTTP_SSE_MAX_OUTPUT) {
		log_warn("http %s: events client does not keep up: closing", s->peer);
		s->doomed = true;
		event_active(s->h->reaper, EV_TIMEOUT, 0);
	}
}

/* Frees doomed connections outside the emit chain that noticed them. */
void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct sse *s, *next;

	for (s = h->sses; s; s = next) {
		next = s->next;
		if (s->doomed)
			evhttp_connection_free(s->evcon); /* runs sse_closed_cb */
	}
}

int http_close_token(struct http *h, int token_id)
{
	struct sse *s, *next;
	int n = 0;

	if (!h)
		return 0;
	for (s = h->sses; s; s = next) {
		next = s->next;
		if (s->token_id == token_id) {
			evhttp_connection_free(s->evcon); /* runs sse_closed_cb */
			n++;
		}
	}
	return n;
}

void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	/* An event, not a comment: a page sees events only, and silence
	 * is how it notices a daemon whose host vanished. */
	static const char msg[] = "event: keepalive\ndata: {}\n\n";

	bool visitors = false;

	for (struct sse *s = h->sses; s; s = s->next) {
		sse_write(s, msg, sizeof msg - 1);
		/* A visitor's estimate moves with the clock too. */
		if (s->is_visitor)
			visitors = s->dirty = true;
	}
	if (visitors)
		event_active(h->visitor_ev, EV_TIMEOUT, 0);
}

struct sse *sse_open(struct http *h, struct evhttp_request *req, int office_id, int token_id)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct sse *s;

	if (h->nsse >= HTTP_MAX_SSE_CLIENTS) {
		reply_text(req, 503, "Service Unavailable", "too many event streams");
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->h = h;
	s->req = req;
	s->evcon = evcon;
	s->office_id = office_id;
	s->token_id = token_id;
	peer_of(req, s->peer, sizeof s->peer, true);
	s->next = h->sses;
	if (h->sses)
		h->sses->prev = s;
	h->sses = s;
	h->nsse++;

	common_headers(req);
	evhttp_add_header(oh, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_add_header(oh, "X-Accel-Buffering", "no");
	evhttp_connection_set_closecb(evcon, sse_closed_cb, s);
	evhttp_send_reply_start(req, 200, "OK");
	/* The client says nothing after its request: only writes time out. */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct timeval wtv = { 4 * HTTP_KEEPALIVE_S, 0 };
	if (bev)
		bufferevent_set_timeouts(bev, NULL, &wtv);
	sse_write(s, "retry: 2000\n\n", 13);
	return s;
}

void start_events(struct http *h, struct evhttp_request *req, int office_id, int token_id,
		  bool has_last, uint64_t last_id)
{
	struct ring *r = ring_get(h, office_id, true);
	struct sse *s = sse_open(h, req, office_id, token_id);
	int replayed = 0;

	if (!s)
		return;
	if (has_last) {
		uint64_t oldest = r->next_id - (uint64_t)r->count;
		if (last_id + 1 >= oldest && last_id < r->next_id) {
			for (int i = 0; i < r->count; i++) {
				struct ring_ent *e = &r->ents[(r->start + i) % HTTP_RING_SIZE];
				if (e->id > last_id) {
					sse_write(s, e->msg, e->len);
					replayed++;
				}
			}
		} else {
			/* Without an id: the client keeps its Last-Event-ID
			 * until a real event replaces it. */
			static const char reset[] = "event: reset\ndata: {\"event\":\"reset\"}\n\n";
			sse_write(s, reset, sizeof reset - 1);
		}
	}
	log_info("http %s: events stream for office %s opened (%d replayed)", s->peer,
		 engine_office_code(h->engine, office_id), replayed);
}

void http_emit(struct http *h, const struct engine_event *ev)
{
	struct ring_ent *e;

	if (!h || !ev->kind || !ev->len)
		return;
	/* The line's bytes without its "\n" are the SSE data. */
	e = ring_push(ring_get(h, ev->office_id, true), ev->kind, ev->line, ev->len - 1);
	bool visitors = false;

	for (struct sse *s = h->sses; s; s = s->next) {
		if (s->office_id != ev->office_id)
			continue;
		if (!s->is_visitor)
			sse_write(s, e->msg, e->len);
		else
			visitors = s->dirty = true;
	}
	/* Visitors get their ticket, not the event: looked at once the
	 * change's events are all out, from the loop rather than inside the
	 * engine's emit. */
	if (visitors)
		event_active(h->visitor_ev, EV_TIMEOUT, 0);
}
