/* The harness's client sockets: connecting, sending, and reading whole
 * lines with deadlines (a small buffer per socket keeps what follows a
 * line for the next read). Split from harness.c: one job per file. */
#include "tests/integration/harness.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <libpq-fe.h>

/* ---- sockets ------------------------------------------------------------ */

struct h_buf {
	int fd;
	char *data;
	size_t len, cap;
};

#define H_MAX_BUFS 512
static struct h_buf bufs[H_MAX_BUFS];

static struct h_buf *h_buf_get(int fd, bool create)
{
	int i;
	struct h_buf *free_slot = NULL;

	for (i = 0; i < H_MAX_BUFS; i++) {
		if (bufs[i].data && bufs[i].fd == fd)
			return &bufs[i];
		if (!bufs[i].data && !free_slot)
			free_slot = &bufs[i];
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->fd = fd;
	free_slot->cap = 4096;
	free_slot->len = 0;
	free_slot->data = malloc(free_slot->cap);
	return free_slot->data ? free_slot : NULL;
}

static void h_buf_forget(int fd)
{
	struct h_buf *b = h_buf_get(fd, false);

	if (b) {
		free(b->data);
		memset(b, 0, sizeof *b);
	}
}

int h_connect(int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	h_buf_forget(fd);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

void h_close(int fd)
{
	if (fd < 0)
		return;
	h_buf_forget(fd);
	close(fd);
}

int h_send_n(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int h_send(int fd, const char *s)
{
	return h_send_n(fd, s, strlen(s));
}

char *h_take_line(char *buf, size_t *len)
{
	char *nl = memchr(buf, '\n', *len);
	size_t l;
	char *line;

	if (!nl)
		return NULL;
	l = (size_t)(nl - buf);
	line = malloc(l + 1);
	if (!line)
		return NULL;
	memcpy(line, buf, l);
	line[l] = '\0';
	*len -= l + 1;
	memmove(buf, nl + 1, *len);
	return line;
}

char *h_recv_line(int fd, int timeout_ms)
{
	struct h_buf *b = h_buf_get(fd, true);
	long long deadline = h_now_ms() + timeout_ms;

	if (!b)
		return NULL;
	for (;;) {
		char *line = h_take_line(b->data, &b->len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (line) {
			size_t linelen = strlen(line);

			if (linelen > 0 && line[linelen - 1] == '\r')
				line[linelen - 1] = '\0';
			return line;
		}
		left = deadline - h_now_ms();
		if (left <= 0)
			return NULL;
		if (poll(&p, 1, (int)left) <= 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (b->cap - b->len < 4096) {
			char *nd = realloc(b->data, b->cap * 2);

			if (!nd)
				return NULL;
			b->data = nd;
			b->cap *= 2;
		}
		n = recv(fd, b->data + b->len, b->cap - b->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		b->len += (size_t)n;
	}
}

json_t *h_request(int fd, const char *line)
{
	size_t len = strlen(line);
	char *reply;
	json_t *j;
	json_error_t err;

	if (h_send_n(fd, line, len) != 0)
		return NULL;
	if ((len == 0 || line[len - 1] != '\n') && h_send(fd, "\n") != 0)
		return NULL;
	reply = h_recv_line(fd, 5000);
	if (!reply)
		return NULL;
	j = json_loads(reply, 0, &err);
	if (!j)
		fprintf(stderr, "harness: reply is not JSON (%s): %s\n", err.text, reply);
	free(reply);
	return j;
}

bool h_wait_closed(int fd, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char tmp[4096];
	struct h_buf *b = h_buf_get(fd, false);

	if (b)
		b->len = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - h_now_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n == 0)
			return true;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return errno == ECONNRESET || errno == EPIPE;
		}
	}
}
