/* A blocking JSON-line client that one thread owns (the harness's socket
 * helpers share one global buffer table and are for the main thread). */
#include "tests/faults/faults.h"
#include "tests/integration/harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

const char *const f_queue_codes[F_NQUEUES] = { "S", "F" };

int64_t f_wall_us(void)
{
	struct timespec ts;

	/* The daemon stamps issued_at with CLOCK_REALTIME: same clock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long f_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum f_state f_state_of(const char *s)
{
	static const char *const names[] = {
		[FS_WAITING] = "waiting", [FS_CALLED] = "called", [FS_SERVING] = "serving",
		[FS_PARKED] = "parked",   [FS_DONE] = "done",     [FS_NO_SHOW] = "no_show",
	};
	size_t i;

	if (!s)
		return FS_BAD;
	for (i = 1; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum f_state)i;
	return FS_BAD;
}

const char *f_state_name(enum f_state s)
{
	switch (s) {
	case FS_NONE: return "(none)";
	case FS_WAITING: return "waiting";
	case FS_CALLED: return "called";
	case FS_SERVING: return "serving";
	case FS_PARKED: return "parked";
	case FS_DONE: return "done";
	case FS_NO_SHOW: return "no_show";
	default: return "(other)";
	}
}

const char *f_op_name(enum f_op op)
{
	static const char *const names[] = {
		[OP_CALL_NEXT] = "call_next", [OP_START] = "start",
		[OP_FINISH] = "finish",       [OP_NO_SHOW] = "no_show",
		[OP_ISSUE] = "issue",         [OP_OTHER] = "counter_open",
		[OP_CALL] = "call",           [OP_PARK] = "park",
		[OP_TRANSFER] = "transfer",   [OP_REACTIVATE] = "reactivate",
	};

	return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "(op)";
}

void fc_init(struct fc *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

int fc_connect(struct fc *c, int port)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd;

	fc_close(c);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->len = 0;
	return 0;
}

void fc_close(struct fc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

bool fc_alive(struct fc *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	if (c->fd < 0)
		return false;
	/* Nothing is subscribed, so unread input between requests can only
	 * be the end of the connection. */
	return poll(&p, 1, 0) == 0;
}

/* The next line (malloc'd, without "\n"), or NULL on EOF, error or the
 * deadline. */
static char *fc_line(struct fc *c, long long deadline)
{
	for (;;) {
		char *line = h_take_line(c->buf, &c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left;
		ssize_t n;
		int r;

		if (line)
			return line;
		if (c->len == sizeof c->buf)
			return NULL; /* a line longer than any reply we ask for */
		left = deadline - f_mono_ms();
		if (left <= 0)
			return NULL;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

const char *fc_err(const json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

enum f_outcome fc_call(struct fc *c, const char *members, json_t **reply, int timeout_ms,
		       int64_t *sent_us, int64_t *reply_us)
{
	char line[1024];
	long long id = ++c->next_id;
	long long deadline = f_mono_ms() + timeout_ms;
	int n;

	if (reply)
		*reply = NULL;
	n = snprintf(line, sizeof line, "{\"id\":%lld,%s}\n", id, members);
	if (sent_us)
		*sent_us = f_wall_us();
	/* A failed send still counts as sent: we cannot know how much of the
	 * line the daemon read before the connection died. */
	if (c->fd < 0 || n < 0 || (size_t)n >= sizeof line ||
	    h_send_n(c->fd, line, (size_t)n) != 0) {
		fc_close(c);
		return FO_LOST;
	}
	for (;;) {
		char *l = fc_line(c, deadline);
		json_t *j;
		json_int_t got;

		if (!l) {
			fc_close(c);
			return FO_LOST;
		}
		j = json_loads(l, 0, NULL);
		if (!j) {
			ledger_violation("reply is not JSON: %.200s", l);
			free(l);
			fc_close(c);
			return FO_LOST;
		}
		free(l);
		if (json_object_get(j, "event")) {
			json_decref(j);
			continue;
		}
		if (reply_us)
			*reply_us = f_wall_us();
		got = json_integer_value(json_object_get(j, "id"));
		if (!json_is_integer(json_object_get(j, "id")) || got != id) {
			/* Replies come in request order and we send one at a time. */
			ledger_violation("reply id %lld, expected %lld", (long long)got, id);
			json_decref(j);
			fc_close(c);
			return FO_LOST;
		}
		if (json_is_true(json_object_get(j, "ok"))) {
			if (reply)
				*reply = j;
			else
				json_decref(j);
			return FO_OK;
		}
		{
			const char *code = fc_err(j);
			enum f_outcome o = code && strcmp(code, "unavailable") == 0 ? FO_UNAVAILABLE
										    : FO_ERROR;

			if (reply)
				*reply = j;
			else
				json_decref(j);
			return o;
		}
	}
}
