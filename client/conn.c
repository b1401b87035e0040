#include "client/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

#define READ_CHUNK 16384

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, for poll(); -1 means no deadline. */
static int remaining(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

static long long deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Non-blocking connect so that an unreachable host cannot hang us past
 * the timeout (a blocking connect may wait minutes for SYN retries). */
static int try_connect(const struct addrinfo *ai, long long deadline, int *err)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(*err);
	int fd, flags, r;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1, remaining(deadline));
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		*err = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	if (*err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Polls fd for events until deadline, restarting after signals. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, remaining(deadline));
	while (r < 0 && errno == EINTR);
	return r;
}

static int start_tls(struct conn *c, const char *host, const struct conn_tls *tls,
		     long long deadline)
{
	short events = 0;
	int r;

	if (tls_begin(c, host, tls) < 0)
		return -1;
	while ((r = tls_handshake(c, &events)) == TLS_WAIT) {
		r = wait_fd(c->fd, events, deadline);
		if (r == 0) {
			snprintf(c->err, sizeof(c->err),
				 "TLS: timed out during the handshake with %s "
				 "(is it a TLS port?)",
				 c->peer);
			return -1;
		}
		if (r < 0) {
			snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
			return -1;
		}
	}
	return r == 0 ? 0 : -1;
}

int conn_open(struct conn *c, const char *host, const char *port, int timeout_ms,
	      const struct conn_tls *tls)
{
	struct addrinfo hints, *res = NULL, *ai;
	long long deadline = deadline_after(timeout_ms);
	int r, err = 0;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->peer, sizeof(c->peer), "%s port %s", host, port);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	r = getaddrinfo(host, port, &hints, &res);
	if (r == EAI_ADDRFAMILY || r == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 on hosts with only loopback IPv6. */
		hints.ai_flags = 0;
		r = getaddrinfo(host, port, &hints, &res);
	}
	if (r != 0) {
		snprintf(c->err, sizeof(c->err), "cannot resolve %s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai && c->fd < 0; ai = ai->ai_next)
		c->fd = try_connect(ai, deadline, &err);
	freeaddrinfo(res);
	if (c->fd < 0) {
		if (err == ETIMEDOUT)
			snprintf(c->err, sizeof(c->err), "cannot connect to %s: timed out",
				 c->peer);
		else
			snprintf(c->err, sizeof(c->err), "cannot connect to %s: %s", c->peer,
				 strerror(err));
		return -1;
	}
	if (tls && tls->enabled && start_tls(c, host, tls, deadline) < 0) {
		/* The caller exits without conn_close: keep nothing open. */
		c->ssl_broken = true;
		conn_close(c);
		return -1;
	}
	return 0;
}

/* One send or recv over TCP or TLS: bytes (> 0), 0 at end of stream,
 * IO_WAIT (poll for *events), IO_INTR or IO_FAIL (c->err set). */
enum { IO_WAIT = -1, IO_FAIL = -2, IO_INTR = -3 };

static ssize_t io_send(struct conn *c, const char *data, size_t len, short *events)
{
	ssize_t n;

	if (c->ssl) {
		n = tls_send(c, data, len, events);
		return n == TLS_WAIT ? IO_WAIT : n < 0 ? IO_FAIL : n;
	}
	/* MSG_NOSIGNAL: a server that hung up must give an error message,
	 * not kill us with SIGPIPE. */
	n = send(c->fd, data, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EINTR)
		return IO_INTR;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		*events = POLLOUT;
		return IO_WAIT;
	}
	snprintf(c->err, sizeof(c->err), "lost the connection to %s: %s", c->peer, strerror(errno));
	return IO_FAIL;
}

static ssize_t io_recv(struct conn *c, char *buf, size_t len, short *events)
{
	ssize_t n;

	if (c->ssl) {
		n = tls_recv(c, buf, len, events);
		return n == TLS_WAIT ? IO_WAIT : n < 0 ? IO_FAIL : n;
	}
	n = recv(c->fd, buf, len, 0);
	if (n >= 0)
		return n;
	if (errno == EINTR)
		return IO_INTR;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		*events = POLLIN;
		return IO_WAIT;
	}
	snprintf(c->err, sizeof(c->err), "lost the connection to %s: %s", c->peer, strerror(errno));
	return IO_FAIL;
}

enum conn_status conn_send(struct conn *c, const char *data, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd };
	ssize_t n;
	int r;

	while (len > 0) {
		n = io_send(c, data, len, &pfd.events);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == IO_INTR)
			continue;
		if (n == IO_FAIL)
			return CONN_FAIL;
		if (n == 0) {
			snprintf(c->err, sizeof(c->err), "%s closed the connection", c->peer);
			return CONN_EOF;
		}
		r = poll(&pfd, 1, timeout_ms);
		if (r == 0) {
			snprintf(c->err, sizeof(c->err), "timed out sending to %s", c->peer);
			return CONN_TIMEOUT;
		}
		if (r < 0 && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
			return CONN_FAIL;
		}
	}
	return CONN_OK;
}

enum conn_status conn_send_json(struct conn *c, const json_t *req, int timeout_ms)
{
	char *line = json_dumps(req, JSON_COMPACT);
	enum conn_status st;
	size_t n;

	if (!line) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return CONN_FAIL;
	}
	n = strlen(line);
	line[n] = '\n'; /* replaces the NUL; the length is known */
	st = conn_send(c, line, n + 1, timeout_ms);
	free(line);
	return st;
}

/* Makes room for one more read; the buffer never needs to exceed one
 * maximal line plus a chunk, because longer input is rejected. */
static int grow(struct conn *c)
{
	size_t want;
	char *p;

	if (c->cap - c->len >= READ_CHUNK)
		return 0;
	want = c->cap ? c->cap * 2 : 2 * READ_CHUNK;
	if (want > CONN_MAX_LINE + 2 * READ_CHUNK)
		want = CONN_MAX_LINE + 2 * READ_CHUNK;
	if (want <= c->cap)
		return 0;
	p = realloc(c->buf, want);
	if (!p)
		return -1;
	c->buf = p;
	c->cap = want;
	return 0;
}

static enum conn_status read_line_until(struct conn *c, char **line, size_t *len,
					long long deadline, volatile int *stop)
{
	struct pollfd pfd = { .fd = c->fd };
	size_t line_len, consumed;
	ssize_t n;
	int r;

	if (c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	for (;;) {
		switch (proto_frame_find(c->buf ? c->buf : "", c->len, CONN_MAX_LINE, &line_len,
					 &consumed)) {
		case FRAME_LINE:
			c->buf[line_len] = '\0';
			c->consumed = consumed;
			*line = c->buf;
			*len = line_len;
			return CONN_OK;
		case FRAME_TOO_LARGE:
			snprintf(c->err, sizeof(c->err), "%s sent a line longer than %d bytes",
				 c->peer, CONN_MAX_LINE);
			return CONN_FAIL;
		case FRAME_NEED_MORE: break;
		}
		if (grow(c) < 0) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return CONN_FAIL;
		}
		n = io_recv(c, c->buf + c->len, c->cap - c->len, &pfd.events);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(c->err, sizeof(c->err), "%s closed the connection", c->peer);
			return CONN_EOF;
		}
		if (n == IO_FAIL)
			return CONN_FAIL;
		if (stop && *stop)
			return CONN_INTR;
		/* Bytes OpenSSL already decrypted would not wake poll(). */
		if (n == IO_INTR || tls_pending(c))
			continue;
		r = poll(&pfd, 1, remaining(deadline));
		if (r == 0) {
			snprintf(c->err, sizeof(c->err), "timed out waiting for %s", c->peer);
			return CONN_TIMEOUT;
		}
		if (r < 0 && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
			return CONN_FAIL;
		}
	}
}

enum conn_status conn_read_line(struct conn *c, char **line, size_t *len, int timeout_ms,
				volatile int *stop)
{
	return read_line_until(c, line, len, deadline_after(timeout_ms), stop);
}

json_t *conn_parse_line(struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *v = json_loadb(line, len, 0, &jerr);

	if (!v || !json_is_object(v)) {
		snprintf(c->err, sizeof(c->err), "%s sent something that is not a JSON object: %s",
			 c->peer, v ? "wrong type" : jerr.text);
		json_decref(v);
		return NULL;
	}
	return v;
}

enum conn_status conn_read_reply(struct conn *c, int timeout_ms, conn_event_fn on_event, void *arg,
				 json_t **reply, char **raw)
{
	long long deadline = deadline_after(timeout_ms);
	enum conn_status st;
	char *line;
	size_t len;
	json_t *v;

	for (;;) {
		st = read_line_until(c, &line, &len, deadline, NULL);
		if (st != CONN_OK)
			return st;
		v = conn_parse_line(c, line, len);
		if (!v)
			return CONN_FAIL;
		if (json_object_get(v, "event")) {
			if (on_event)
				on_event(line, v, arg);
			json_decref(v);
			continue;
		}
		if (!json_is_boolean(json_object_get(v, "ok"))) {
			snprintf(c->err, sizeof(c->err), "%s sent a reply without \"ok\"", c->peer);
			json_decref(v);
			return CONN_FAIL;
		}
		*raw = strndup(line, len);
		if (!*raw) {
			json_decref(v);
			snprintf(c->err, sizeof(c->err), "out of memory");
			return CONN_FAIL;
		}
		*reply = v;
		return CONN_OK;
	}
}

void conn_close(struct conn *c)
{
	tls_end(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = c->consumed = 0;
}
