/*
 * follow: reaching the daemon that serves the token's office.
 *
 * Several kolappd may serve one database and each office is served by
 * one of them, its owner. follow_connect tries the listed daemons in
 * order until one answers, says hello, and when the answer is `moved`
 * connects to the owner it names and says hello again: at most
 * FOLLOW_MAX_HOPS times, and never back to an address already tried in
 * the same round. While daemons answer but none serves the office
 * (`unavailable` for a few seconds after an owner died, or moves that
 * lead nowhere yet) it starts over after a back-off, until its budget is
 * spent. Knows nothing of commands: what to send once connected is the
 * caller's.
 */
#ifndef KOLAPP_CLIENT_FOLLOW_H
#define KOLAPP_CLIENT_FOLLOW_H

#include <jansson.h>

#include "client/conn.h"
#include "client/hosts.h"

/* An owner hands over to another within seconds; a longer chain of
 * moves is a misconfiguration (a wrong --advertise), not a takeover. */
#define FOLLOW_MAX_HOPS 3
/* With more than one address to try, a connection may take this long
 * at most (less when --timeout is shorter): a daemon on the office's
 * network answers within milliseconds, and a host that vanished (its
 * packets dropped, no refusal) must not hold up the next one for the
 * whole --timeout. */
#define FOLLOW_CONNECT_MS 3000
#define FOLLOW_BACKOFF_MIN_MS 200
#define FOLLOW_BACKOFF_MAX_MS 2000

enum follow_status {
	FOLLOW_OK,          /* connected, and the hello (if any) accepted */
	FOLLOW_REFUSED,     /* a daemon refused the hello for good (a bad
			       token): the reply is in *hello */
	FOLLOW_UNAVAILABLE, /* daemons answered, none served the office
			       within the budget */
	FOLLOW_UNREACHABLE, /* no daemon could be reached, or none kept to
			       the protocol */
	FOLLOW_STOPPED,     /* *stop was set while waiting to try again */
};

struct follow {
	const struct host_list *hosts;
	const char *token; /* NULL: connect only (ping needs no hello) */
	int timeout_ms;    /* each connection and each reply */
	int budget_ms;     /* how long to try again while daemons answer
			      but none serves the office; 0: one round */
	const struct conn_tls *tls;
	volatile int *stop;     /* checked during back-off; may be NULL */
	bool retry_unreachable; /* also try again while no daemon answers at
				   all (a long-running mode after a drop) */
	/* After follow_connect: */
	struct host_addr at; /* where the connection is (FOLLOW_OK) */
	int hellos;          /* hello requests sent, for the tests */
	char err[1024];      /* why, for a person (all but FOLLOW_OK) */
};

void follow_init(struct follow *f, const struct host_list *hosts, const char *token, int timeout_ms,
		 const struct conn_tls *tls);

/*
 * Connects c to a daemon that serves the office, trying first (when not
 * NULL: the owner a `moved` reply to a request named) before the list.
 * On FOLLOW_OK c is open and *hello holds the hello reply (NULL without
 * a token); on FOLLOW_REFUSED c is closed and *hello holds the refusal;
 * otherwise c is closed, *hello is NULL and f->err says why. The caller
 * frees *hello.
 */
enum follow_status follow_connect(struct follow *f, const struct host_addr *first, struct conn *c,
				  json_t **hello);

/* Waits ms (a back-off, not a synchronisation: there is nothing to poll
 * for); false when *f->stop was set meanwhile. */
bool follow_pause(const struct follow *f, int ms);

/* The owner a `moved` reply names, in *owner; false when reply is not a
 * `moved` error or its owner is not ADDR:PORT. */
bool follow_moved_owner(const json_t *reply, struct host_addr *owner);

#endif
