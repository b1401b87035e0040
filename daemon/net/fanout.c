/* Events to subscribers: the subscriber list of each office, and the
 * fan-out of a change's encoded events to every subscriber of its office
 * (see server.h, server_emit). */
#include "daemon/net/server.h"
#include "daemon/net/server_int.h"
#include "daemon/net/sendmany.h"
#include "daemon/util/log.h"
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

/* Room for n subscribers in the fan-out's arrays. */
static void fan_reserve(struct server *srv, int n)
{
	if (n <= srv->fan_cap)
		return;
	srv->fan_cap = n + n / 2 + 64;
	srv->fan_fds = xrealloc(srv->fan_fds, (size_t)srv->fan_cap * sizeof *srv->fan_fds);
	srv->fan_conns = xrealloc(srv->fan_conns, (size_t)srv->fan_cap * sizeof *srv->fan_conns);
	srv->fan_sent = xrealloc(srv->fan_sent, (size_t)srv->fan_cap * sizeof *srv->fan_sent);
}

/* Queues what c did not take of the shared line, after what it holds. */
static void fan_queue_rest(struct conn *c, struct shared_line *sl, size_t from)
{
	if (from == SENDMANY_UNKNOWN) {
		conn_close(c, "the kernel lost track of what it sent to this subscriber");
		return;
	}
	if (from >= sl->len)
		return;
	sl->refs++;
	evbuffer_add_reference(bufferevent_get_output(c->bev), sl->data + from, sl->len - from,
			       shared_unref, sl);
	if (conn_output_over_limit(c))
		conn_close(c, "subscriber does not read its events");
}

/* Writes the gathered events to every subscriber of their office: one
 * shared copy; to the sockets with nothing queued before, in one batch
 * of sends (sendmany.h), and what they do not take queued after. */
void server_emit_flush(struct server *srv)
{
	struct shared_line *sl = NULL;
	struct conn *c, *next;
	int office_id = srv->gathered_office, n = 0;
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
		next = c->sub_next; /* c may be closed and freed below */
		if (c->draining)
			continue;
		if (!conn_writable_now(c)) {
			fan_queue_rest(c, sl, 0);
			continue;
		}
		fan_reserve(srv, n + 1);
		srv->fan_fds[n] = bufferevent_getfd(c->bev);
		srv->fan_conns[n++] = c;
	}
	if (!srv->sendmany) { /* made once there is a subscriber to write to */
		srv->sendmany = sendmany_new(true);
		log_info("events to subscribers: %s",
			 sendmany_batched(srv->sendmany) ? "sent in batches (io_uring)"
							 : "one send() each (no io_uring)");
	}
	/* No callback runs in between: nothing else is written to these
	 * sockets before their rest is queued. */
	sendmany_send(srv->sendmany, srv->fan_fds, n, sl->data, sl->len, srv->fan_sent);
	for (int i = 0; i < n; i++)
		fan_queue_rest(srv->fan_conns[i], sl, srv->fan_sent[i]);
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
