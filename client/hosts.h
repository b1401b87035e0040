/*
 * hosts: the daemons kolapp may talk to. Several kolappd may serve one
 * database, each office served by one of them; -H (or $KOLAPP_HOST)
 * lists where to start looking, "a,b:7879,[::1]:7880", and a `moved`
 * answer names the owner as "ADDR:PORT". Pure parsing, no I/O.
 */
#ifndef KOLAPP_CLIENT_HOSTS_H
#define KOLAPP_CLIENT_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

/* More would only lengthen the time a dead list takes to give up. */
#define HOSTS_MAX 16

struct host_addr {
	char host[256]; /* as getaddrinfo wants it: "::1", not "[::1]" */
	char port[6];
};

struct host_list {
	struct host_addr addr[HOSTS_MAX];
	int n;
};

/*
 * One address of len bytes at s: "host", "host:port", "1.2.3.4:port",
 * "[v6]", "[v6]:port", or a bare IPv6 literal "::1" (more than one
 * colon and no brackets: no port can be told apart, so none is read).
 * Without a port, default_port; when that is NULL a port is required.
 * 0, or -1 with err set (for a person).
 */
int host_parse(struct host_addr *h, const char *s, size_t len, const char *default_port, char *err,
	       size_t errsz);

/* A comma-separated list of addresses, in the order they are to be
 * tried; blanks around an address are ignored. 0, or -1 with err set (an
 * empty entry, a bad port, too many). */
int hosts_parse(struct host_list *l, const char *spec, const char *default_port, char *err,
		size_t errsz);

/* "host:port", or "[v6]:port" when the host has a colon. */
const char *host_format(const struct host_addr *h, char *buf, size_t size);

/* The same address as written (host names are compared without case;
 * two names of one machine are not recognised, the hop limit covers
 * that). */
bool host_same(const struct host_addr *a, const struct host_addr *b);

#endif
