#include "daemon/net/server.h"
#include "daemon/net/server_int.h"
#include "daemon/net/sendmany.h"
#include "daemon/util/addr.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/pool.h"
#include "daemon/util/rate.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct slot {
	struct slot *next;
	struct conn *conn;
	char *line;
	size_t len;
	bool ready;
	bool close_after;
	struct timespec read_at; /* for kolapp_request_seconds */
};

/* One slot per request: kept for reuse (see pool.h). */
static struct pool slot_pool = POOL_INIT(struct slot, 4096);

void *conn_state(const struct conn *c)
{
	return c->state;
}
const char *conn_peer(const struct conn *c)
{
	return c->peer;
}
const char *conn_peer_host(const struct conn *c)
{
	return c->host;
}

static int64_t now_us(struct server *srv)
{
	struct timeval now;

	event_base_gettimeofday_cached(srv->base, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_usec;
}

bool conn_rate_take(struct conn *c)
{
	return rate_take(&c->rate, c->srv->lim.rate_limit, now_us(c->srv));
}

void server_each_conn(struct server *srv, void (*fn)(void *arg, struct conn *c), void *arg)
{
	struct conn *c, *next;

	for (c = srv->conns; c; c = next) {
		next = c->next;
		fn(arg, c);
	}
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}
bool conn_is_closed(const struct conn *c)
{
	return c->closed;
}
struct conn *slot_conn(struct slot *s)
{
	return s->conn;
}
int server_connection_count(const struct server *srv)
{
	return srv->nconns;
}

static void conn_unref(struct conn *c)
{
	struct slot *s;

	if (--c->refs > 0)
		return;
	while ((s = c->head)) {
		c->head = s->next;
		free(s->line);
		pool_put(&slot_pool, s);
	}
	if (c->state)
		c->srv->handler.free(c->state);
	free(c);
}

void conn_close(struct conn *c, const char *reason)
{
	struct server *srv = c->srv;

	if (c->closed)
		return;
	c->closed = true;
	log_debug("C-%llu %s: closed: %s", (unsigned long long)c->id, c->peer, reason);
	fanout_unlink(c);
	/* libevent holds its own reference while it runs our callbacks, so
	 * freeing here is safe; the conn itself lives on while slots refer to it. */
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	conn_unref(c);
}

bool conn_output_over_limit(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) > c->srv->lim.max_output;
}

/* Writes to the socket at once when nothing is queued before: most
 * replies and events then cost one send() instead of an epoll_ctl to
 * wait for writability, a loop round and another epoll_ctl after. Returns
 * the bytes written; the caller queues the rest. */
bool conn_writable_now(struct conn *c)
{
	return c->plain && !evbuffer_get_length(bufferevent_get_output(c->bev));
}

size_t conn_write_now(struct conn *c, const char *data, size_t len)
{
	ssize_t n;

	if (!conn_writable_now(c))
		return 0;
	n = send(bufferevent_getfd(c->bev), data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* An error shows again on the queued write, which reports it. */
	return n > 0 ? (size_t)n : 0;
}

static void conn_write(struct conn *c, const char *data, size_t len)
{
	size_t n = conn_write_now(c, data, len);

	if (n < len)
		bufferevent_write(c->bev, data + n, len - n);
}

/* Writes every answered reply at the head, in request order. */
static void conn_flush(struct conn *c)
{
	struct slot *s;

	while ((s = c->head) && s->ready) {
		c->head = s->next;
		if (!c->head)
			c->tail = NULL;
		if (!c->closed && !c->draining && s->line) {
			conn_write(c, s->line, s->len);
			metrics_request_done(metrics_seconds_since(&s->read_at));
		}
		if (s->close_after && !c->closed)
			c->draining = true;
		free(s->line);
		pool_put(&slot_pool, s);
	}
	if (c->closed)
		return;
	if (conn_output_over_limit(c)) {
		conn_close(c, "client does not read its replies");
		return;
	}
	if (c->draining || (c->read_eof && !c->head)) {
		bufferevent_disable(c->bev, EV_READ);
		if (!evbuffer_get_length(bufferevent_get_output(c->bev)))
			conn_close(c, c->draining ? "done" : "peer closed");
	}
}

struct slot *conn_slot_new(struct conn *c)
{
	struct slot *s = pool_get(&slot_pool);

	s->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &s->read_at);
	if (c->tail)
		c->tail->next = s;
	else
		c->head = s;
	c->tail = s;
	c->refs++;
	c->npending++;
	return s;
}

static void read_more(struct conn *c);

void slot_complete(struct slot *s, char *line, size_t len, bool close_after)
{
	struct conn *c = s->conn;

	s->line = line;
	s->len = len;
	s->ready = true;
	s->close_after = close_after;
	c->npending--;
	if (!c->closed) {
		conn_flush(c);
		if (!c->closed && c->read_paused && c->npending < c->srv->lim.max_pending / 2) {
			c->read_paused = false;
			bufferevent_enable(c->bev, EV_READ);
			read_more(c);
		}
	}
	conn_unref(c);
}

/* Hands every complete line in the input to the handler. */
static void read_more(struct conn *c)
{
	struct server *srv = c->srv;
	struct evbuffer *in;

	c->refs++; /* the handler may close c under us */
	while (!c->closed && !c->draining && srv->handler.ready(c->state)) {
		struct evbuffer_ptr start, eol;
		size_t avail, len;
		const char *line;

		if (c->npending >= srv->lim.max_pending) {
			c->read_paused = true;
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		in = bufferevent_get_input(c->bev);
		avail = evbuffer_get_length(in);
		if (!avail)
			break;
		evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET);
		eol = evbuffer_search(in, "\n", 1, c->scanned < avail ? &start : NULL);
		if (c->scanned >= avail || eol.pos < 0) {
			c->scanned = avail;
			if (avail > srv->lim.max_line + 1) /* +1: a '\r' may come before '\n' */
				srv->handler.too_large(srv->handler.arg, c, srv->lim.max_line);
			break;
		}
		len = (size_t)eol.pos;
		c->scanned = 0;
		line = (const char *)evbuffer_pullup(in, (ssize_t)len + 1);
		if (len && line[len - 1] == '\r')
			len--;
		if (len > srv->lim.max_line) {
			srv->handler.too_large(srv->handler.arg, c, srv->lim.max_line);
			break;
		}
		srv->handler.line(srv->handler.arg, c, line, len);
		if (!c->closed)
			evbuffer_drain(bufferevent_get_input(c->bev), (size_t)eol.pos + 1);
	}
	conn_unref(c);
}

void conn_set_authenticated(struct conn *c)
{
	struct timeval tv = { c->srv->lim.idle_timeout_s, 0 };

	if (!c->closed)
		bufferevent_set_timeouts(c->bev, c->srv->lim.idle_timeout_s > 0 ? &tv : NULL, NULL);
}

void conn_resume(struct conn *c)
{
	if (!c->closed && !c->read_paused)
		read_more(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	read_more(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if ((c->draining || (c->read_eof && !c->head)) &&
	    !evbuffer_get_length(bufferevent_get_output(bev)))
		conn_close(c, c->draining ? "done" : "peer closed");
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		conn_close(c, "idle timeout");
	else if (what & BEV_EVENT_EOF) {
		/* A half-close still gets the answers to what was asked. */
		c->read_eof = true;
		conn_flush(c);
	} else if (what & BEV_EVENT_ERROR)
		conn_close(c, strerror(EVUTIL_SOCKET_ERROR()));
}

static void format_peer(const struct sockaddr *sa, struct conn *c)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(c->peer, sizeof c->peer, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(c->peer, sizeof c->peer, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(host, sizeof host, "local");
		snprintf(c->peer, sizeof c->peer, "local");
	}
	snprintf(c->host, sizeof c->host, "%s", host);
}

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	struct conn *c;
	struct timeval tv;
	int one = 1;

	if (srv->nconns >= srv->lim.max_connections) {
		static const char refusal[] =
			"{\"id\":null,\"ok\":false,\"error\":{\"code\":\"unavailable\","
			"\"message\":\"too many connections\"}}\n";
		ssize_t w = send(fd, refusal, sizeof refusal - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = xcalloc(1, sizeof *c);
	c->srv = srv;
	c->id = ++srv->next_id;
	c->refs = 1;
	c->state = srv->handler.open(srv->handler.arg, c);
	format_peer(sa, c);
	rate_init(&c->rate, srv->lim.rate_limit, now_us(srv));
	if (l->tls) {
		SSL *ssl = SSL_new(srv->tls);
		c->bev = ssl ? bufferevent_openssl_socket_new(srv->base, fd, ssl,
							      BUFFEREVENT_SSL_ACCEPTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (!c->bev && ssl)
			SSL_free(ssl);
	} else {
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
		c->plain = true;
	}
	if (!c->bev) {
		evutil_closesocket(fd);
		srv->handler.free(c->state);
		free(c);
		return;
	}
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* Stop reading once a line's worth is buffered: memory stays bounded. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv->lim.max_line + 2);
	tv.tv_sec = srv->lim.hello_timeout_s;
	tv.tv_usec = 0;
	if (srv->lim.hello_timeout_s > 0)
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("C-%llu %s: connected", (unsigned long long)c->id, c->peer);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	for (struct listener *l = srv->listeners; l; l = l->next)
		evconnlistener_enable(l->l);
}

static void accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg; /* the callbacks' argument, see add_listener() */
	struct server *srv = l->srv;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, 100000 };

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: pause accepting instead of spinning. */
		log_warn("accept: %s; pausing new connections for 100 ms", strerror(err));
		for (struct listener *x = srv->listeners; x; x = x->next)
			evconnlistener_disable(x->l);
		evtimer_add(srv->accept_retry, &tv);
	} else {
		log_warn("accept: %s", strerror(err));
	}
}

struct server *server_new(struct event_base *base, const struct server_handler *handler,
			  const struct server_limits *limits)
{
	struct server *srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->handler = *handler;
	srv->lim = *limits;
	srv->accept_retry = evtimer_new(base, accept_retry_cb, srv);
	return srv;
}

static int parse_addr(const char *addrport, struct sockaddr_storage *ss, int *sslen)
{
	char host[ADDR_HOST_MAX];
	int port;

	if (addr_parse(addrport, host, sizeof host, &port) < 0)
		return -1;
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -1;
}

static int add_listener(struct server *srv, struct evconnlistener *evl, const char *name, bool tls)
{
	struct listener *l = xcalloc(1, sizeof *l);
	l->l = evl;
	l->srv = srv;
	l->tls = tls;
	snprintf(l->addr, sizeof l->addr, "%s", name);
	evconnlistener_set_cb(evl, accept_cb, l);
	evconnlistener_set_error_cb(evl, accept_error_cb);
	l->next = srv->listeners;
	srv->listeners = l;
	log_info("listening on %s%s", name, tls ? " (TLS)" : "");
	return 0;
}

static int listen_on(struct server *srv, const char *addrport, bool tls)
{
	struct sockaddr_storage ss;
	struct evconnlistener *evl;
	int sslen;

	if (tls && !srv->tls) {
		log_error("listen: %s wants TLS but no certificate is configured", addrport);
		return -1;
	}
	if (parse_addr(addrport, &ss, &sslen) < 0) {
		log_error("listen: cannot parse address %s (want ADDR:PORT or [V6ADDR]:PORT)",
			  addrport);
		return -1;
	}
	evl = evconnlistener_new_bind(srv->base, NULL, NULL,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_EXEC |
					      (ss.ss_family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY
									: 0),
				      1024, (struct sockaddr *)&ss, sslen);
	if (!evl) {
		log_error("listen: cannot listen on %s: %s", addrport, strerror(errno));
		return -1;
	}
	return add_listener(srv, evl, addrport, tls);
}

int server_listen(struct server *srv, const char *addrport)
{
	return listen_on(srv, addrport, false);
}

int server_listen_tls(struct server *srv, const char *addrport)
{
	return listen_on(srv, addrport, true);
}

int server_adopt_fd(struct server *srv, int fd, const char *name)
{
	struct evconnlistener *evl;

	evutil_make_socket_nonblocking(fd);
	evl = evconnlistener_new(srv->base, NULL, NULL,
				 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!evl) {
		log_error("listen: cannot use passed socket %d", fd);
		return -1;
	}
	return add_listener(srv, evl, name, false);
}

bool server_has_listener(const struct server *srv, const char *addrport, bool tls)
{
	for (const struct listener *l = srv->listeners; l; l = l->next)
		if (!strcmp(l->addr, addrport) && l->tls == tls)
			return true;
	return false;
}

int server_unlisten(struct server *srv, const char *addrport, bool tls)
{
	for (struct listener **pp = &srv->listeners; *pp; pp = &(*pp)->next) {
		struct listener *l = *pp;
		if (strcmp(l->addr, addrport) || l->tls != tls)
			continue;
		*pp = l->next;
		evconnlistener_free(l->l);
		log_info("stopped listening on %s%s", addrport, tls ? " (TLS)" : "");
		free(l);
		return 0;
	}
	return -1;
}

void server_each_listener(const struct server *srv, void (*fn)(void *, const char *, bool),
			  void *arg)
{
	for (const struct listener *l = srv->listeners; l; l = l->next)
		fn(arg, l->addr, l->tls);
}

int server_set_tls(struct server *srv, const char *cert_file, const char *key_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!ctx)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		log_error("tls: cannot load %s / %s: %s", cert_file, key_file,
			  e ? ERR_reason_error_string(e) : "?");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -1;
	}
	/* Existing TLS connections keep their SSL; new ones get the new context. */
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	srv->tls = ctx;
	return 0;
}

void server_set_limits(struct server *srv, const struct server_limits *limits)
{
	/* Connections made from now on get the new limits; open ones keep
	 * their buffers' watermarks but see the new output and rate limits. */
	srv->lim = *limits;
	/* The read watermark bounds a connection's input: it follows max_line. */
	for (struct conn *c = srv->conns; c; c = c->next)
		bufferevent_setwatermark(c->bev, EV_READ, 0, limits->max_line + 2);
}

void server_stop_listening(struct server *srv)
{
	struct listener *l;

	while ((l = srv->listeners)) {
		srv->listeners = l->next;
		evconnlistener_free(l->l);
		free(l);
	}
	evtimer_del(srv->accept_retry);
}

void server_close_all(struct server *srv)
{
	while (srv->conns)
		conn_close(srv->conns, "server shutting down");
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	server_stop_listening(srv);
	server_close_all(srv);
	event_free(srv->accept_retry);
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	free(srv->subs);
	if (srv->gathered)
		evbuffer_free(srv->gathered);
	sendmany_free(srv->sendmany);
	free(srv->fan_fds);
	free(srv->fan_conns);
	free(srv->fan_sent);
	free(srv);
	pool_drain(&slot_pool);
}
