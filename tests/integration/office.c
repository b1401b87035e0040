/* Shared helpers for the ticket-lifecycle tests: see office.h. */
#include "tests/integration/office.h"
#include "tests/integration/harness.h"

#include <check.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int o_sql(const char *conninfo, const char *sql, char *out, size_t outsz)
{
	char err[512];

	if (h_psql(conninfo, sql, out ? out : err, out ? outsz : sizeof err) != 0) {
		fprintf(stderr, "office: %s\n  failed: %s\n", sql, out ? out : err);
		return -1;
	}
	return 0;
}

int o_token(const char *conninfo, const char *role, const char *office, const char *counter,
	    char *out, size_t outsz)
{
	char sql[256];

	if (counter)
		snprintf(sql, sizeof sql, "SELECT kolapp.create_token('%s', '%s', '%s')", role,
			 office, counter);
	else
		snprintf(sql, sizeof sql, "SELECT kolapp.create_token('%s', '%s')", role, office);
	if (o_sql(conninfo, sql, out, outsz) != 0 || !out[0])
		return -1;
	return 0;
}

int o_seed(const char *conninfo, const char *code, struct o_office *o)
{
	static const char *const counters[O_NCOUNTERS][2] = {
		{ "1", "ARRAY['S','F']" },
		{ "2", "ARRAY['S','F']" },
		{ "3", "ARRAY['F','S','P']" },
	};
	char sql[1024], out[64];
	int i;

	memset(o, 0, sizeof *o);
	snprintf(o->code, sizeof o->code, "%s", code);
	snprintf(sql, sizeof sql,
		 "SELECT kolapp.add_office('%s', 'Test office %s', 'Europe/Stockholm');"
		 "SELECT kolapp.add_queue('%s', 'S', 'Skatteverket');"
		 "SELECT kolapp.add_queue('%s', 'F', 'Försäkringskassan');"
		 "SELECT kolapp.add_queue('%s', 'P', 'Pensionsmyndigheten');",
		 code, code, code, code, code);
	if (o_sql(conninfo, sql, out, sizeof out) != 0)
		return -1;
	for (i = 0; i < O_NCOUNTERS; i++) {
		snprintf(sql, sizeof sql, "SELECT kolapp.add_counter('%s', '%s', %s)", code,
			 counters[i][0], counters[i][1]);
		if (o_sql(conninfo, sql, out, sizeof out) != 0)
			return -1;
		if (o_token(conninfo, "counter", code, counters[i][0], o->counter[i],
			    sizeof o->counter[i]) != 0)
			return -1;
	}
	if (o_token(conninfo, "kiosk", code, NULL, o->kiosk, sizeof o->kiosk) != 0 ||
	    o_token(conninfo, "display", code, NULL, o->display, sizeof o->display) != 0 ||
	    o_token(conninfo, "admin", code, NULL, o->admin, sizeof o->admin) != 0 ||
	    o_token(conninfo, "booking", code, NULL, o->booking, sizeof o->booking) != 0)
		return -1;
	return 0;
}

long o_count(const char *conninfo, const char *sql)
{
	char out[64];

	if (o_sql(conninfo, sql, out, sizeof out) != 0 || !out[0])
		return -1;
	return strtol(out, NULL, 10);
}

/* ---- the line client ---------------------------------------------------- */

struct oc *oc_connect(int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	int one = 1;
	struct oc *c;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return NULL;
	}
	/* A send blocked on a daemon that stopped reading must not hang the
	 * test past Check's timeout. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->cap = 8192;
	c->buf = malloc(c->cap);
	c->events = json_array();
	c->replies = json_array();
	if (!c->buf) {
		oc_close(c);
		return NULL;
	}
	return c;
}

void oc_close(struct oc *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	json_decref(c->events);
	json_decref(c->replies);
	free(c);
}

int oc_send(struct oc *c, const char *s)
{
	return h_send_n(c->fd, s, strlen(s));
}

char *oc_line(struct oc *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *line = h_take_line(c->buf, &c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (line)
			return line;
		left = deadline - h_now_ms();
		if (left <= 0)
			return NULL;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		if (c->cap - c->len < 4096) {
			char *nb = realloc(c->buf, c->cap * 2);

			if (!nb)
				return NULL;
			c->buf = nb;
			c->cap *= 2;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

/* Read one line as JSON and file it as an event or a reply. */
static int oc_pump(struct oc *c, long long deadline)
{
	long long left = deadline - h_now_ms();
	char *line;
	json_t *j;

	if (left <= 0)
		return -1;
	line = oc_line(c, (int)left);
	if (!line)
		return -1;
	j = json_loads(line, 0, NULL);
	if (!j) {
		fprintf(stderr, "office: a line that is not JSON: %s\n", line);
		free(line);
		return -1;
	}
	free(line);
	json_array_append_new(json_object_get(j, "event") ? c->events : c->replies, j);
	return 0;
}

json_t *oc_reply(struct oc *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (json_array_size(c->replies) == 0)
		if (oc_pump(c, deadline) != 0)
			return NULL;
	{
		json_t *r = json_incref(json_array_get(c->replies, 0));

		json_array_remove(c->replies, 0);
		return r;
	}
}

json_t *oc_event(struct oc *c, const char *kind, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	size_t seen = 0;

	for (;;) {
		for (; seen < json_array_size(c->events); seen++) {
			json_t *e = json_array_get(c->events, seen);
			const char *k = json_string_value(json_object_get(e, "event"));

			if (!kind || (k && strcmp(k, kind) == 0)) {
				json_incref(e);
				json_array_remove(c->events, seen);
				return e;
			}
		}
		if (oc_pump(c, deadline) != 0)
			return NULL;
	}
}

json_t *oc_req(struct oc *c, const char *fmt, ...)
{
	char stackbuf[1024];
	char *line = stackbuf;
	va_list ap;
	int n;
	json_t *r = NULL;

	va_start(ap, fmt);
	n = vsnprintf(stackbuf, sizeof stackbuf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof stackbuf - 1) {
		line = malloc((size_t)n + 2);
		if (!line)
			return NULL;
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (oc_send(c, line) == 0)
		r = oc_reply(c, 5000);
	if (line != stackbuf)
		free(line);
	return r;
}

struct oc *oc_login(int port, const char *token)
{
	struct oc *c = oc_connect(port);
	json_t *r;

	if (!c)
		return NULL;
	r = oc_req(c, "{\"id\":\"hello\",\"op\":\"hello\",\"token\":\"%s\"}", token);
	if (!o_ok(r)) {
		char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

		fprintf(stderr, "office: hello failed: %s\n", s ? s : "(no reply)");
		free(s);
		json_decref(r);
		oc_close(c);
		return NULL;
	}
	json_decref(r);
	return c;
}

bool oc_closed(struct oc *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char tmp[4096];

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left = deadline - h_now_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		n = recv(c->fd, tmp, sizeof tmp, 0);
		if (n == 0)
			return true;
		if (n < 0)
			return errno == ECONNRESET;
	}
}

bool o_ok(const json_t *r)
{
	return r && json_is_true(json_object_get(r, "ok"));
}

const char *o_err(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

const char *o_tstr(const json_t *r, const char *member)
{
	return json_string_value(json_object_get(json_object_get(r, "ticket"), member));
}

json_int_t o_tint(const json_t *r, const char *member)
{
	return json_integer_value(json_object_get(json_object_get(r, "ticket"), member));
}

/* ---- the shared fixture ------------------------------------------------- */

void o_seed_named(const char *conninfo, const char *prefix, struct o_office *o)
{
	char code[32];

	snprintf(code, sizeof code, "%s%ld", prefix, (long)getpid());
	ck_assert_int_eq(o_seed(conninfo, code, o), 0);
}

void o_daemon_up(struct h_daemon *d, const char *conninfo, const char *extra_args)
{
	memset(d, 0, sizeof *d);
	ck_assert_int_eq(h_daemon_start(d, conninfo, extra_args), 0);
}

void o_daemon_down(struct h_daemon *d)
{
	if (d->pid > 0)
		h_daemon_stop(d);
	h_daemon_free(d);
}

struct oc *o_login(int port, const char *token)
{
	struct oc *c = oc_login(port, token);

	ck_assert_msg(c != NULL, "hello failed");
	return c;
}

const char *o_js(const json_t *j)
{
	static char buf[2048];
	size_t n;

	if (!j)
		return "(no reply)";
	n = json_dumpb(j, buf, sizeof buf - 1, JSON_COMPACT);
	buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
	return buf;
}
