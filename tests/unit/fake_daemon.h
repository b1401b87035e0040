/*
 * fake_daemon: a tiny scripted stand-in for kolappd, for testing how the
 * client finds the daemon that serves an office. A real listening socket
 * on 127.0.0.1 (a free port), served by a thread of the test process; it
 * answers hello as its script says (ok, moved to an owner, unavailable,
 * or a hang-up), answers other requests with ok (or loses the answer by
 * closing), and counts what it was asked. Several fakes make a cluster
 * whose ownership the test decides, which the real daemons cannot do on
 * demand.
 */
#ifndef KOLAPP_TESTS_FAKE_DAEMON_H
#define KOLAPP_TESTS_FAKE_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum fake_hello {
	FAKE_HELLO_OK,          /* a counter of office demo, counter 3 */
	FAKE_HELLO_MOVED,       /* moved, owner: the fake's owner */
	FAKE_HELLO_UNAVAILABLE, /* unavailable; then ok once ok_after hellos
				   were refused, when ok_after > 0 */
	FAKE_HELLO_UNAUTHORIZED,
	FAKE_HELLO_HANGUP, /* closes without answering */
};

struct fake_daemon {
	/* The script: set before fake_start (owner may be set after, for
	 * fakes that point at each other). */
	enum fake_hello hello;
	char owner[64]; /* "127.0.0.1:PORT" for FAKE_HELLO_MOVED */
	int ok_after;
	int lose;             /* lose the answer to this many requests (close) */
	int unavailable;      /* answer this many requests unavailable */
	char req_owner[64];   /* when set, requests are answered moved here */
	bool die_after_event; /* after subscribe: one event, then close and
				 stop listening (the owner died) */

	/* What it saw. */
	atomic_int connections, hellos, requests, subscribes;
	pthread_mutex_t lock;
	char last_key[128]; /* the "key" of the last request ("" when none) */
	int keyed;          /* requests that carried a key */

	int port;
	/* Private. */
	int lfd, wake[2];
	atomic_bool dead;
	pthread_t thread;
};

/* Binds a free port, listens and starts serving. 0 or -1. */
int fake_start(struct fake_daemon *f);
/* Stops the thread and closes everything. */
void fake_stop(struct fake_daemon *f);
/* "127.0.0.1:PORT" into buf. */
const char *fake_addr(const struct fake_daemon *f, char *buf, size_t size);

/* A port that refuses connections while the returned socket (bound, not
 * listening) stays open: no other process can take it meanwhile. */
int dead_port(int *fd);

/* A port whose connections hang, as to a host that vanished (its packets
 * dropped): a listener with a backlog of 0, filled by one connection
 * that is never accepted. fds[0] and fds[1] are to be closed after. */
int blackhole_port(int fds[2]);

#endif
