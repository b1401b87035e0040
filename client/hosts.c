#include "client/hosts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A port is 1 to 65535 written in decimal digits, nothing else. */
static bool port_valid(const char *s, size_t len)
{
	unsigned long n = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	return n >= 1 && n <= 65535;
}

static int set_port(struct host_addr *h, const char *s, size_t len, char *err, size_t errsz)
{
	if (!port_valid(s, len)) {
		snprintf(err, errsz, "the port must be a number from 1 to 65535, not '%.*s'",
			 (int)len, s);
		return -1;
	}
	memcpy(h->port, s, len);
	h->port[len] = '\0';
	return 0;
}

static int set_host(struct host_addr *h, const char *s, size_t len, char *err, size_t errsz)
{
	if (len == 0) {
		snprintf(err, errsz, "an address without a host");
		return -1;
	}
	if (len >= sizeof(h->host)) {
		snprintf(err, errsz, "the host name '%.40s...' is too long", s);
		return -1;
	}
	memcpy(h->host, s, len);
	h->host[len] = '\0';
	return 0;
}

/* What follows the host: nothing (the default port) or ":port". */
static int set_tail(struct host_addr *h, const char *s, size_t len, const char *default_port,
		    char *err, size_t errsz)
{
	if (len > 0)
		return set_port(h, s + 1, len - 1, err, errsz);
	if (!default_port) {
		snprintf(err, errsz, "'%s' has no port", h->host);
		return -1;
	}
	return set_port(h, default_port, strlen(default_port), err, errsz);
}

int host_parse(struct host_addr *h, const char *s, size_t len, const char *default_port, char *err,
	       size_t errsz)
{
	const char *close, *colon;

	memset(h, 0, sizeof(*h));
	if (len > 0 && s[0] == '[') {
		close = memchr(s, ']', len);
		if (!close || (close + 1 < s + len && close[1] != ':')) {
			snprintf(err, errsz, "'%.*s' is not [ADDRESS]:PORT", (int)len, s);
			return -1;
		}
		if (set_host(h, s + 1, (size_t)(close - s - 1), err, errsz) < 0)
			return -1;
		return set_tail(h, close + 1, len - (size_t)(close + 1 - s), default_port, err,
				errsz);
	}
	colon = memchr(s, ':', len);
	if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
		colon = NULL; /* a bare IPv6 literal: "::1" */
	if (set_host(h, s, colon ? (size_t)(colon - s) : len, err, errsz) < 0)
		return -1;
	return set_tail(h, colon ? colon : s + len, colon ? len - (size_t)(colon - s) : 0,
			default_port, err, errsz);
}

int hosts_parse(struct host_list *l, const char *spec, const char *default_port, char *err,
		size_t errsz)
{
	const char *p = spec, *comma;
	size_t len;

	memset(l, 0, sizeof(*l));
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		/* "a, b" as people type it in a variable */
		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			snprintf(err, errsz, "an empty address in the list '%s'", spec);
			return -1;
		}
		if (l->n == HOSTS_MAX) {
			snprintf(err, errsz, "more than %d addresses in the list", HOSTS_MAX);
			return -1;
		}
		if (host_parse(&l->addr[l->n], p, len, default_port, err, errsz) < 0)
			return -1;
		l->n++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

const char *host_format(const struct host_addr *h, char *buf, size_t size)
{
	bool v6 = strchr(h->host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%s", v6 ? "[" : "", h->host, v6 ? "]" : "", h->port);
	return buf;
}

bool host_same(const struct host_addr *a, const struct host_addr *b)
{
	return strcasecmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}
