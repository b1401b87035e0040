/* Events to subscribers: the subscriber list of each office, and the
 * fan-out of a change's encoded events to every subscriber of its office
 * (see server.h, server_emit). */
#include "daemon/net/server.h"
#include "daemon/net/server_int.h"
#include "daemon/util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

void fanout_unlink(struct conn *c)
{
	struct server *srv = c->srv;

	if (!c->sub_office)
		return;
	if (c->sub_prev)
		c->sub_prev->sub_next = c->sub_next;
	else
		srv->subs[c->sub_office].head = c->sub_next;
	if (c->sub_next)
		c->sub_next->sub_prev = c->sub_prev;
	c->sub_prev = c->sub_next = NULL;
	c->sub_office = 0;
}

void conn_subscribe(struct conn *c, int office_id)
{
	struct server *srv = c->srv;

	fanout_unlink(c);
	if (office_id <= 0 || c->closed)
		return;
	if (office_id >= srv->nsubs) {
		int n = office_id + 64;
		srv->subs = xrealloc(srv->subs, (size_t)n * sizeof *srv->subs);
		memset(srv->subs + srv->nsubs, 0, (size_t)(n - srv->nsubs) * sizeof *srv->subs);
		srv->nsubs = n;
	}
	c->sub_office = office_id;
	c->sub_next = srv->subs[office_id].head;
	if (c->sub_next)
		c->sub_next->sub_prev = c;
	srv->subs[office_id].head = c;
}

/* One encoding shared by all subscribers: the bytes are referenced, not copied. */
struct shared_line {
	int refs;
	size_t len;
	char *data;
};

static void shared_unref(const void *data, size_t len, void *arg)
{
	struct shared_line *sl = arg;
	if (--sl->refs == 0) {
		free(sl->data);
		free(sl);
	}
}

/* Writes the gathered events to every subscriber of their office: one
 * shared copy, one send() each where the socket takes it at once. */
void server_emit_flush(struct server *srv)
{
	struct shared_line *sl = NULL;
	struct conn *c, *next;
	int office_id = srv->gathered_office;
	size_t len = srv->gathered ? evbuffer_get_length(srv->gathered) : 0;

	srv->gathered_office = 0;
	if (!len)
		return;
	if (office_id <= 0 || office_id >= srv->nsubs || !srv->subs[office_id].head) {
		evbuffer_drain(srv->gathered, len);
		return;
	}
	sl = xcalloc(1, sizeof *sl);
	sl->data = xmalloc(len);
	evbuffer_remove(srv->gathered, sl->data, len);
	sl->len = len;
	sl->refs = 1;
	for (c = srv->subs[office_id].head; c; c = next) {
		size_t n;

		next = c->sub_next;
		if (c->draining)
			continue;
		n = conn_write_now(c, sl->data, sl->len);
		if (n == sl->len)
			continue;
		sl->refs++;
		evbuffer_add_reference(bufferevent_get_output(c->bev), sl->data + n, sl->len - n,
				       shared_unref, sl);
		if (conn_output_over_limit(c))
			conn_close(c, "subscriber does not read its events");
	}
	shared_unref(NULL, 0, sl);
}

void server_emit(struct server *srv, int office_id, const char *line, size_t len)
{
	if (office_id <= 0 || office_id >= srv->nsubs || !srv->subs[office_id].head)
		return;
	if (srv->gathered_office && srv->gathered_office != office_id)
		server_emit_flush(srv);
	if (!srv->gathered && !(srv->gathered = evbuffer_new()))
		xoom("evbuffer_new");
	evbuffer_add(srv->gathered, line, len);
	srv->gathered_office = office_id;
}
