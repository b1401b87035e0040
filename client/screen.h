/*
 * screen: what kolapp's two full-screen commands (board, counter) share:
 * a connection to kolappd that comes back by itself, the curses setup,
 * waiting for keys and server lines at once, and large block letters.
 *
 * Requests are synchronous (send, then read until the reply): on a
 * loopback or office LAN that is a few milliseconds, and it keeps the
 * screens free of request bookkeeping. Events met on the way are passed
 * to the screen's callback like those read while idle.
 */
#ifndef KOLAPP_CLIENT_SCREEN_H
#define KOLAPP_CLIENT_SCREEN_H

#include <stdbool.h>
#include <jansson.h>

#include "client/conn.h"
#include "client/hosts.h"

struct screen_opts {
	const struct host_list *hosts; /* tried in order, following moved */
	const char *token, *office, *counter;
	int timeout_ms;
	const struct conn_tls *tls;
};

#define LINK_BACKOFF_MIN_MS 500
#define LINK_BACKOFF_MAX_MS 8000
/* While daemons answer but none serves the office yet (a takeover takes
 * up to 5 s), retry at this pace, not the back-off's. */
#define LINK_TAKEOVER_RETRY_MS 1000
/* How long the line saying what happened stays up after a reconnect. */
#define LINK_NOTE_MS 15000

struct link {
	const struct screen_opts *o;
	struct conn c;
	bool up;
	int backoff_ms;
	long long next_try_ms; /* when down: the next connection attempt */
	long long id;
	conn_event_fn on_event;
	void *arg;
	char why[1024];            /* why the link is down, for the status line */
	bool was_up;               /* connected before: the next connection is a reconnect */
	char lost[512];            /* why the last connection dropped */
	char at[300];              /* the daemon connected to: "host:port" */
	struct host_addr moved_to; /* a request was answered moved: the */
	bool has_moved_to;         /* owner, tried first on reconnecting */
	char note[900];            /* what the last reconnect did, for the screen */
	long long note_until_ms;
};

void link_init(struct link *l, const struct screen_opts *o, conn_event_fn on_event, void *arg);
/* Connects and says hello (and subscribes when asked); on success the
 * hello reply in *hello (caller frees). On failure schedules the next try
 * with backoff and returns -1. */
int link_connect(struct link *l, bool subscribe, json_t **hello);
/*
 * Sends op with the fields of args (stolen; may be NULL) plus office and
 * counter from the options, and waits for the reply (caller frees).
 * Returns -1 when the connection is lost (the link is then down). A
 * reply `moved` (nothing done) is returned too, and takes the link down
 * to reconnect to the owner at once.
 */
int link_request(struct link *l, const char *op, json_t *args, json_t **reply);
/* Hands every complete event line already received to on_event; -1 when
 * the connection is lost. */
int link_drain(struct link *l);
void link_down(struct link *l, const char *why);
void link_close(struct link *l);
/* The line to show about the last reconnect ("" when there is none, or
 * it is old). */
const char *link_note(const struct link *l);

long long now_ms(void);
/* An ISO 8601 UTC instant ("2025-03-12T08:14:03.512Z") in ms since the
 * epoch, or -1 when it does not parse. */
long long iso_ms(const char *iso);

/* Curses on, Ctrl-C and SIGTERM turned into screen_stopped(). */
void screen_start(void);
void screen_end(void);
bool screen_stopped(void);
/* Waits up to timeout_ms for a key or for data on the link; returns the
 * key (ERR when none), after which the caller drains the link. */
int screen_wait(struct link *l, int timeout_ms);

/* Width of text drawn in block letters; draws it at y, x (5 rows). */
int big_width(const char *text);
void big_draw(int y, int x, const char *text);
#define BIG_ROWS 5

/* Prints s clipped to the screen width at y, x. */
void put_line(int y, int x, int attr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Entry points, called from kolapp.c. */
int board_main(const struct screen_opts *o);
int counter_main(const struct screen_opts *o);

#endif
