#include "client/follow.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The addresses one round has tried: the list, and the owners it was
 * sent to on the way. */
#define ROUND_SEEN_MAX ((HOSTS_MAX + 1) * (FOLLOW_MAX_HOPS + 1))

struct round {
	struct host_addr seen[ROUND_SEEN_MAX];
	int nseen;
	bool answered; /* a daemon answered without serving the office */
};

/* What one hello came back with. */
enum hello_answer { HELLO_OK, HELLO_MOVED, HELLO_UNAVAILABLE, HELLO_REFUSED, HELLO_BROKEN };

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void follow_init(struct follow *f, const struct host_list *hosts, const char *token, int timeout_ms,
		 const struct conn_tls *tls)
{
	memset(f, 0, sizeof(*f));
	f->hosts = hosts;
	f->token = token;
	f->timeout_ms = timeout_ms;
	f->budget_ms = timeout_ms;
	f->tls = tls;
}

/* Adds one reason to f->err: a round that fails says why for each
 * address, not only the last. */
static void note_err(struct follow *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_err(struct follow *f, const char *fmt, ...)
{
	size_t n = strlen(f->err);
	va_list ap;

	if (n && n + 2 < sizeof(f->err)) {
		memcpy(f->err + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(f->err + n, sizeof(f->err) - n, fmt, ap);
	va_end(ap);
}

/* Puts head before what f->err says (cut at the end when too long). */
static void prepend_err(struct follow *f, const char *head)
{
	size_t h = strlen(head), n = strlen(f->err);

	if (h >= sizeof(f->err))
		return;
	if (n > sizeof(f->err) - 1 - h)
		n = sizeof(f->err) - 1 - h;
	memmove(f->err + h, f->err, n);
	memcpy(f->err, head, h);
	f->err[h + n] = '\0';
}

static bool round_seen(const struct round *r, const struct host_addr *h)
{
	for (int i = 0; i < r->nseen; i++)
		if (host_same(&r->seen[i], h))
			return true;
	return false;
}

static void round_add(struct round *r, const struct host_addr *h)
{
	if (r->nseen < ROUND_SEEN_MAX && !round_seen(r, h))
		r->seen[r->nseen++] = *h;
}

bool follow_moved_owner(const json_t *reply, struct host_addr *owner)
{
	const json_t *err = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *addr = json_string_value(json_object_get(err, "owner"));
	char why[128];

	if (!code || strcmp(code, "moved") != 0 || !addr)
		return false;
	return host_parse(owner, addr, strlen(addr), NULL, why, sizeof(why)) == 0;
}

static enum hello_answer classify(const json_t *reply)
{
	const char *code = json_string_value(
		json_object_get(json_object_get(reply, "error"), "code"));

	if (json_is_true(json_object_get(reply, "ok")))
		return HELLO_OK;
	if (code && strcmp(code, "moved") == 0)
		return HELLO_MOVED;
	if (code && strcmp(code, "unavailable") == 0)
		return HELLO_UNAVAILABLE;
	return HELLO_REFUSED;
}

/* Sends hello on c and reads its answer into *reply (HELLO_BROKEN, with
 * c->err, when the exchange itself failed). */
static enum hello_answer say_hello(struct follow *f, struct conn *c, json_t **reply)
{
	json_t *req = json_pack("{s:i, s:s, s:s}", "id", 0, "op", "hello", "token", f->token);
	enum conn_status st;
	char *raw = NULL;

	*reply = NULL;
	f->hellos++;
	st = req ? conn_send_json(c, req, f->timeout_ms) : CONN_FAIL;
	json_decref(req);
	if (st == CONN_OK)
		st = conn_read_reply(c, f->timeout_ms, NULL, NULL, reply, &raw);
	free(raw);
	return st == CONN_OK ? classify(*reply) : HELLO_BROKEN;
}

static const char *error_message(const json_t *reply)
{
	const char *m = json_string_value(
		json_object_get(json_object_get(reply, "error"), "message"));

	return m ? m : "(no message)";
}

/* After a `moved` from the daemon at trail's end: whether to go to owner.
 * A chain that comes back on itself, runs too long or leads to an
 * address this round already tried is given up (the next round may find
 * the ownership settled). */
static bool may_follow(struct follow *f, const struct round *r, const struct host_addr *path,
		       const char *trail, int hops, const struct host_addr *owner)
{
	char to[300];
	bool loop = false;

	for (int i = 0; i <= hops; i++)
		loop = loop || host_same(&path[i], owner);
	host_format(owner, to, sizeof(to));
	if (loop) {
		note_err(f, "moved in a loop: %s \u2192 %s", trail, to);
		return false;
	}
	if (hops >= FOLLOW_MAX_HOPS) {
		note_err(f, "moved more than %d times: %s \u2192 %s", FOLLOW_MAX_HOPS, trail, to);
		return false;
	}
	if (round_seen(r, owner)) {
		note_err(f, "%s \u2192 %s, which was tried already", trail, to);
		return false;
	}
	return true;
}

static int connect_ms(const struct follow *f, int hops)
{
	bool alternatives = f->hosts->n > 1 || hops > 0;

	return alternatives && f->timeout_ms > FOLLOW_CONNECT_MS
		     ? FOLLOW_CONNECT_MS
		     : f->timeout_ms;
}

/* Starts at h and follows `moved` answers from there. */
static enum follow_status chain(struct follow *f, struct round *r, struct host_addr h,
				struct conn *c, json_t **hello)
{
	struct host_addr path[FOLLOW_MAX_HOPS + 1], owner;
	char trail[512] = "", at[300];
	json_t *reply;

	for (int hops = 0;; hops++) {
		path[hops] = h;
		round_add(r, &h);
		host_format(&h, at, sizeof(at));
		snprintf(trail + strlen(trail), sizeof(trail) - strlen(trail), "%s%s",
			 hops ? " \u2192 " : "", at);
		if (conn_open(c, h.host, h.port, connect_ms(f, hops), f->tls) < 0) {
			note_err(f, "%s", c->err);
			return FOLLOW_UNREACHABLE;
		}
		if (!f->token) {
			f->at = h;
			return FOLLOW_OK;
		}
		switch (say_hello(f, c, &reply)) {
		case HELLO_OK:
			f->at = h;
			*hello = reply;
			return FOLLOW_OK;
		case HELLO_REFUSED:
			conn_close(c);
			*hello = reply;
			return FOLLOW_REFUSED;
		case HELLO_BROKEN:
			note_err(f, "%s", c->err);
			conn_close(c);
			return FOLLOW_UNREACHABLE;
		case HELLO_UNAVAILABLE:
			note_err(f, "%s: unavailable: %s", at, error_message(reply));
			conn_close(c);
			json_decref(reply);
			r->answered = true;
			return FOLLOW_UNAVAILABLE;
		case HELLO_MOVED: break;
		}
		conn_close(c);
		if (!follow_moved_owner(reply, &owner)) {
			note_err(f, "%s answered moved without a valid owner address", at);
			json_decref(reply);
			return FOLLOW_UNREACHABLE;
		}
		json_decref(reply);
		r->answered = true;
		if (!may_follow(f, r, path, trail, hops, &owner))
			return FOLLOW_UNAVAILABLE;
		h = owner;
	}
}

/* One pass: first (if any), then each listed address not yet tried. */
static enum follow_status one_round(struct follow *f, const struct host_addr *first, struct conn *c,
				    json_t **hello)
{
	struct round r = { .nseen = 0 };
	enum follow_status st;

	f->err[0] = '\0';
	if (first) {
		st = chain(f, &r, *first, c, hello);
		if (st == FOLLOW_OK || st == FOLLOW_REFUSED)
			return st;
	}
	for (int i = 0; i < f->hosts->n; i++) {
		if (round_seen(&r, &f->hosts->addr[i]))
			continue;
		st = chain(f, &r, f->hosts->addr[i], c, hello);
		if (st == FOLLOW_OK || st == FOLLOW_REFUSED)
			return st;
	}
	return r.answered ? FOLLOW_UNAVAILABLE : FOLLOW_UNREACHABLE;
}

bool follow_pause(const struct follow *f, int ms)
{
	long long until = mono_ms() + ms;
	long long left;

	while ((left = until - mono_ms()) > 0) {
		if (f->stop && *f->stop)
			return false;
		if (poll(NULL, 0, (int)left) < 0 && errno != EINTR)
			break;
	}
	return !(f->stop && *f->stop);
}

enum follow_status follow_connect(struct follow *f, const struct host_addr *first, struct conn *c,
				  json_t **hello)
{
	long long deadline = mono_ms() + (f->budget_ms > 0 ? f->budget_ms : 0);
	int backoff = FOLLOW_BACKOFF_MIN_MS;
	enum follow_status st;
	char head[96];
	long long left;

	*hello = NULL;
	f->hellos = 0;
	c->fd = -1;
	for (;;) {
		st = one_round(f, first, c, hello);
		/* Nobody answering is not a takeover in progress: a one-shot
		 * command says so at once (the screens retry on their own
		 * clock). */
		if (st == FOLLOW_OK || st == FOLLOW_REFUSED ||
		    (st == FOLLOW_UNREACHABLE && !f->retry_unreachable))
			return st;
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		if (!follow_pause(f, backoff < left ? backoff : (int)left))
			return FOLLOW_STOPPED;
		backoff = backoff * 2 > FOLLOW_BACKOFF_MAX_MS ? FOLLOW_BACKOFF_MAX_MS : backoff * 2;
	}
	if (f->budget_ms > 0) {
		snprintf(head, sizeof(head), "%s within %d s: ",
			 st == FOLLOW_UNAVAILABLE ? "no daemon served the office"
						  : "no daemon answered",
			 (f->budget_ms + 999) / 1000);
		prepend_err(f, head);
	}
	return st;
}
