/*
 * kolapp-lineserver: the floor under kolappd's read path. A libevent +
 * jansson server with kolapp's framing that parses each line and answers
 * {"id":..,"ok":true} and nothing else, so that a benchmark can tell the
 * cost of the event loop and JSON from the cost of kolappd's own work.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#define MAX_LINE 65536

static void reply(struct evbuffer *out, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL);
	json_t *rep = json_object();
	char *s;

	json_object_set(rep, "id",
			req && json_object_get(req, "id") ? json_object_get(req, "id")
							  : json_null());
	json_object_set_new(rep, "ok", req ? json_true() : json_false());
	s = json_dumps(rep, JSON_COMPACT);
	if (s) {
		evbuffer_add(out, s, strlen(s));
		evbuffer_add(out, "\n", 1);
	}
	free(s);
	json_decref(rep);
	json_decref(req);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)arg;
	for (;;) {
		size_t eol = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);

		if (p.pos < 0) {
			if (evbuffer_get_length(in) > MAX_LINE)
				bufferevent_free(bev);
			return;
		}
		reply(out, (const char *)evbuffer_pullup(in, p.pos + (ev_ssize_t)eol),
		      (size_t)p.pos);
		evbuffer_drain(in, (size_t)p.pos + eol);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct bufferevent *bev;
	int one = 1;

	(void)sa;
	(void)salen;
	(void)arg;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, read_cb, NULL, event_cb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct event_base *base;
	struct evconnlistener *l;
	struct event *term, *intr;

	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: kolapp-lineserver PORT  (listens on 127.0.0.1)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	l = evconnlistener_new_bind(base, accept_cb, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
				    (struct sockaddr *)&sin, sizeof sin);
	if (!l) {
		perror("kolapp-lineserver: listen");
		return 1;
	}
	term = evsignal_new(base, SIGTERM, stop_cb, base);
	intr = evsignal_new(base, SIGINT, stop_cb, base);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_base_dispatch(base);
	evconnlistener_free(l);
	event_free(term);
	event_free(intr);
	event_base_free(base);
	return 0;
}
