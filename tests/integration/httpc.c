#include "tests/integration/httpc.h"
#include "tests/integration/harness.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void hc_resp_free(struct hc_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

int hc_send(int port, const char *method, const char *target, const char *headers, const char *body,
	    size_t body_len)
{
	char req[4096];
	int fd = h_connect(port);

	ck_assert_int_ge(fd, 0);
	if (body)
		snprintf(req, sizeof req,
			 "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n\r\n",
			 method, target, headers ? headers : "", body_len);
	else
		snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", method,
			 target, headers ? headers : "");
	ck_assert_int_eq(h_send(fd, req), 0);
	if (body && body_len)
		ck_assert_int_eq(h_send_n(fd, body, body_len), 0);
	return fd;
}

struct hc_resp hc_read(int fd, const char *what)
{
	long long deadline = h_now_ms() + 5000;
	char *buf = NULL, *sep;
	size_t len = 0, cap = 0;
	struct hc_resp r = { 0 };

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - h_now_ms();
		ssize_t n;

		ck_assert_msg(left > 0, "no complete reply to %s within 5 s", what);
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		/* A reset after the whole reply (the server closed with our
		 * unread body in its buffer) still leaves the reply. */
		if (n < 0 && errno == ECONNRESET && len)
			break;
		ck_assert_msg(n > 0 || errno == EINTR, "read: %s", strerror(errno));
		if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	ck_assert_ptr_nonnull(buf);
	buf[len] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	ck_assert_msg(sep != NULL, "no end of headers in: %s", buf);
	*sep = '\0';
	r.head = strdup(buf);
	r.body = strdup(sep + 4);
	ck_assert_int_eq(sscanf(buf, "HTTP/1.%*d %d", &r.status), 1);
	free(buf);
	return r;
}

struct hc_resp hc_do(int port, const char *method, const char *target, const char *headers,
		     const char *body, size_t body_len)
{
	char what[256];

	snprintf(what, sizeof what, "%s %.200s", method, target);
	return hc_read(hc_send(port, method, target, headers, body, body_len), what);
}

const char *hc_header(const struct hc_resp *r, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *end = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
			return out;
		}
	}
	out[0] = '\0';
	return NULL;
}

const char *hc_bearer(const char *token)
{
	static char h[256];

	snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", token);
	return h;
}
