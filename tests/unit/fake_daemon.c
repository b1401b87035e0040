#include "tests/unit/fake_daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What serving one line decided. */
enum served { KEEP, HANG_UP };

static int bind_loopback(int *port, bool do_listen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (do_listen && listen(fd, 16) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int dead_port(int *fd)
{
	int port;

	*fd = bind_loopback(&port, false);
	return *fd < 0 ? -1 : port;
}

int blackhole_port(int fds[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port;

	fds[1] = -1;
	fds[0] = bind_loopback(&port, false);
	if (fds[0] < 0 || listen(fds[0], 0) < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[1] < 0 || connect(fds[1], (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return port;
}

const char *fake_addr(const struct fake_daemon *f, char *buf, size_t size)
{
	snprintf(buf, size, "127.0.0.1:%d", f->port);
	return buf;
}

static void send_line(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;

	json_decref(msg);
	if (!s)
		return;
	s[n] = '\n';
	/* Lines are short and the client reads: a blocking send is fine. */
	(void)!send(fd, s, n + 1, MSG_NOSIGNAL);
	free(s);
}

static json_t *error_reply(json_t *id, const char *code, const char *message)
{
	return json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", id, "ok", 0, "error", "code", code,
			 "message", message);
}

static enum served on_hello(struct fake_daemon *f, int fd, json_t *id)
{
	int n = atomic_fetch_add(&f->hellos, 1) + 1;

	switch (f->hello) {
	case FAKE_HELLO_OK: break;
	case FAKE_HELLO_MOVED:
		send_line(fd,
			  json_pack("{s:O?, s:b, s:{s:s, s:s, s:s}}", "id", id, "ok", 0, "error",
				    "code", "moved", "message",
				    "office demo is served by another daemon", "owner", f->owner));
		return KEEP;
	case FAKE_HELLO_UNAVAILABLE:
		if (f->ok_after > 0 && n > f->ok_after)
			break;
		send_line(fd, error_reply(id, "unavailable", "no daemon serves office demo yet"));
		return KEEP;
	case FAKE_HELLO_UNAUTHORIZED:
		send_line(fd, error_reply(id, "unauthorized", "invalid token"));
		return KEEP;
	case FAKE_HELLO_HANGUP: return HANG_UP;
	}
	send_line(fd, json_pack("{s:O?, s:b, s:i, s:i, s:s, s:s, s:s, s:s}", "id", id, "ok", 1,
				"protocol", 1, "minor", 1, "server", "fake", "role", "counter",
				"office", "demo", "counter", "3"));
	return KEEP;
}

static void note_key(struct fake_daemon *f, const json_t *req)
{
	const char *key = json_string_value(json_object_get(req, "key"));

	pthread_mutex_lock(&f->lock);
	snprintf(f->last_key, sizeof(f->last_key), "%s", key ? key : "");
	if (key)
		f->keyed++;
	pthread_mutex_unlock(&f->lock);
}

static enum served on_subscribe(struct fake_daemon *f, int fd, json_t *id)
{
	atomic_fetch_add(&f->subscribes, 1);
	send_line(fd, json_pack("{s:O?, s:b}", "id", id, "ok", 1));
	/* The event names this fake, so that the test sees who sent it. */
	send_line(fd, json_pack("{s:s, s:s, s:s, s:s, s:i}", "event", "called", "ticket", "S-001",
				"counter", "3", "at", "2026-11-30T12:00:00.000Z", "by", f->port));
	if (!f->die_after_event)
		return KEEP;
	atomic_store(&f->dead, true);
	return HANG_UP;
}

static enum served on_request(struct fake_daemon *f, int fd, json_t *req)
{
	json_t *id = json_object_get(req, "id");
	const char *op = json_string_value(json_object_get(req, "op"));

	if (!op)
		op = "";
	if (strcmp(op, "hello") == 0)
		return on_hello(f, fd, id);
	if (strcmp(op, "bye") == 0) {
		send_line(fd, json_pack("{s:O?, s:b}", "id", id, "ok", 1));
		return HANG_UP;
	}
	if (strcmp(op, "subscribe") == 0)
		return on_subscribe(f, fd, id);
	atomic_fetch_add(&f->requests, 1);
	note_key(f, req);
	if (f->req_owner[0]) {
		send_line(fd,
			  json_pack("{s:O?, s:b, s:{s:s, s:s, s:s}}", "id", id, "ok", 0, "error",
				    "code", "moved", "message", "moved", "owner", f->req_owner));
		return KEEP;
	}
	if (f->unavailable > 0) {
		f->unavailable--;
		send_line(fd, error_reply(id, "unavailable",
					  "the database is unreachable: nothing was changed"));
		return KEEP;
	}
	if (f->lose > 0) {
		f->lose--;
		return HANG_UP; /* as if it died before answering */
	}
	send_line(fd,
		  json_pack("{s:O?, s:b, s:s, s:i}", "id", id, "ok", 1, "op", op, "by", f->port));
	return KEEP;
}

/* Serves one connection until the client or the script ends it. */
static void serve(struct fake_daemon *f, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = f->wake[0], .events = POLLIN } };
	char buf[65536];
	size_t len = 0;
	char *nl;
	ssize_t n;

	for (;;) {
		while ((nl = memchr(buf, '\n', len))) {
			json_t *req = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			enum served s = req ? on_request(f, fd, req) : HANG_UP;

			json_decref(req);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			if (s == HANG_UP)
				return;
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			return;
		if (!p[0].revents)
			continue;
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0 || len + (size_t)n == sizeof(buf))
			return;
		len += (size_t)n;
	}
}

static void *run(void *arg)
{
	struct fake_daemon *f = arg;
	struct pollfd p[2] = { { .fd = f->lfd, .events = POLLIN },
			       { .fd = f->wake[0], .events = POLLIN } };
	int fd;

	while (!atomic_load(&f->dead)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		atomic_fetch_add(&f->connections, 1);
		serve(f, fd);
		/* A dead daemon's port refuses connections: closed before the
		 * client sees the hang-up, so that it cannot connect again. */
		if (atomic_load(&f->dead)) {
			close(f->lfd);
			f->lfd = -1;
		}
		close(fd);
	}
	if (f->lfd >= 0)
		close(f->lfd);
	f->lfd = -1;
	return NULL;
}

int fake_start(struct fake_daemon *f)
{
	pthread_mutex_init(&f->lock, NULL);
	f->lfd = bind_loopback(&f->port, true);
	if (f->lfd < 0)
		return -1;
	if (pipe2(f->wake, O_CLOEXEC) < 0) {
		close(f->lfd);
		return -1;
	}
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		close(f->lfd);
		close(f->wake[0]);
		close(f->wake[1]);
		return -1;
	}
	return 0;
}

void fake_stop(struct fake_daemon *f)
{
	(void)!write(f->wake[1], "x", 1);
	pthread_join(f->thread, NULL);
	close(f->wake[0]);
	close(f->wake[1]);
	pthread_mutex_destroy(&f->lock);
}
