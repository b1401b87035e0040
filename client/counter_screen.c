/*
 * counter_screen: `kolapp counter`, one clerk's counter full screen with
 * single-key ops. Whatever happens (a reconnect, another client acting
 * on the same counter) it shows the counter as the server reports it,
 * never what it guesses from its own requests.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/ops.h"
#include "client/fmt.h"
#include "client/screen.h"

#define STATUS_MIN_INTERVAL_MS 250
#define KEY_ESC 27

struct cscreen {
	struct link l;
	const char *name; /* the counter's name, from hello or --counter */
	json_t *status;   /* the last status reply */
	json_t *ticket;   /* the held ticket, NULL when none */
	bool dirty;
	long long last_status_ms;
	bool picking; /* the transfer queue picker is up */
	size_t pick;
	char msg[256];
	int msg_attr;
};

static void on_event(const char *line, const json_t *ev, void *arg)
{
	(void)line;
	(void)ev;
	((struct cscreen *)arg)->dirty = true;
}

static const json_t *my_counter(const struct cscreen *s)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(s->status, "counters"), i, c)
		if (s->name && strcmp(jstr_or(c, "name", ""), s->name) == 0)
			return c;
	return NULL;
}

static void refresh_state(struct cscreen *s)
{
	const char *code;
	json_t *r;

	s->last_status_ms = now_ms();
	s->dirty = false;
	if (link_request(&s->l, "status", NULL, &r) < 0)
		return;
	if (!jtrue(r, "ok")) {
		json_decref(r);
		return;
	}
	json_decref(s->status);
	s->status = r;
	json_decref(s->ticket);
	s->ticket = NULL;
	code = jstr(my_counter(s), "ticket");
	if (!code || link_request(&s->l, "ticket", json_pack("{s:s}", "ticket", code), &r) < 0)
		return;
	if (jtrue(r, "ok"))
		s->ticket = json_incref(json_object_get(r, "ticket"));
	json_decref(r);
}

static void say(struct cscreen *s, int attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct cscreen *s, int attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->msg_attr = attr;
}

/* An error reply in words a clerk can act on. */
static void say_error(struct cscreen *s, const json_t *reply)
{
	const json_t *err = json_object_get(reply, "error");
	const char *code = jstr_or(err, "code", "?");
	const char *m = jstr_or(err, "message", "");
	const json_t *c = my_counter(s);

	if (strcmp(code, "moved") == 0)
		say(s, A_BOLD,
		    "The office moved to another daemon \u2014 nothing was done; "
		    "press again once reconnected");
	else if (strcmp(code, "unavailable") == 0)
		/* The database is away, or the office is changing hands. */
		say(s, A_BOLD, "Nothing was changed (%s) \u2014 try again", m);
	else if (strcmp(code, "conflict") == 0 && c && !jtrue(c, "open"))
		say(s, A_BOLD, "The counter is closed: press o to open it");
	else if (strcmp(code, "conflict") == 0 && c && !jstr(c, "ticket"))
		say(s, A_BOLD, "This counter holds no ticket: press n to call the next");
	else if (strcmp(code, "conflict") == 0)
		say(s, A_BOLD, "Not possible while the ticket is %s (%s)",
		    fmt_state(jstr_or(c, "state", "?")), m);
	else if (strcmp(code, "forbidden") == 0 || strcmp(code, "unauthorized") == 0)
		say(s, A_BOLD, "This token may not do that (%s)", m);
	else if (strcmp(code, "rate_limited") == 0)
		say(s, A_BOLD, "Too many requests: wait a moment and try again");
	else
		say(s, A_BOLD, "Refused: %s (%s)", m, code);
}

static void say_done(struct cscreen *s, const char *op, const json_t *r)
{
	const json_t *t = json_object_get(r, "ticket");
	const char *code = jstr_or(t, "code", "?");

	if (strcmp(op, "call_next") == 0 && !json_is_object(t))
		say(s, 0, "Nobody is waiting.");
	else if (strcmp(op, "call_next") == 0 && jstr(r, "finished"))
		say(s, 0, "Finished %s; called %s.", jstr(r, "finished"), code);
	else if (strcmp(op, "call_next") == 0)
		say(s, 0, "Called %s (%s).", code, jstr_or(r, "reason", "next in line"));
	else if (strcmp(op, "counter_open") == 0)
		say(s, 0, "The counter is open.");
	else if (strcmp(op, "counter_close") == 0)
		say(s, 0, "The counter is closed.");
	else if (strcmp(op, "transfer") == 0)
		say(s, 0, "%s now waits in queue %s.", code, jstr_or(t, "queue", "?"));
	else if (strcmp(op, "park") == 0)
		say(s, 0, "%s parked: b calls it back.", code);
	else if (strcmp(op, "call") == 0)
		say(s, 0, "Called %s back.", code);
	else
		say(s, 0, "%s %s.", code, fmt_state(jstr_or(t, "state", "?")));
}

static void do_op(struct cscreen *s, const char *op, json_t *args)
{
	json_t *r;

	if (!s->l.up) {
		json_decref(args);
		say(s, A_BOLD, "Not connected \u2014 nothing was sent; wait for the reconnect");
		return;
	}
	if (link_request(&s->l, op, args, &r) < 0) {
		/* The request may or may not have been done: the state read
		 * after the reconnect tells. */
		say(s, A_BOLD, "Connection lost \u2014 check the ticket once reconnected");
		return;
	}
	if (jtrue(r, "ok"))
		say_done(s, op, r);
	else
		say_error(s, r);
	json_decref(r);
	refresh_state(s);
}

static void draw_ticket(const struct cscreen *s, int y)
{
	const char *code = jstr(s->ticket, "code");
	long long called = iso_ms(jstr(s->ticket, "called_at")), held;

	if (!code) {
		put_line(y + 2, 2, A_BOLD, "No ticket held \u2014 press n to call the next");
		return;
	}
	if (big_width(code) + 4 <= COLS && LINES > 20) {
		attron(A_BOLD);
		big_draw(y, 2, code);
		attroff(A_BOLD);
		y += BIG_ROWS + 1;
	}
	put_line(y, 2, A_BOLD, "%s  %s%s%s%s", code, fmt_state(jstr_or(s->ticket, "state", "?")),
		 jtrue(s->ticket, "priority") ? "  [priority]" : "",
		 jstr(s->ticket, "interpreter") ? "  interpreter: " : "",
		 jstr_or(s->ticket, "interpreter", ""));
	if (called >= 0) {
		held = (now_ms() - called) / 1000;
		if (held < 0)
			held = 0;
		put_line(y, 30, 0, "held %lld:%02lld", held / 60, held % 60);
	}
}

/* Whether the counter serves queue code (its status lists them; a 1.0
 * server does not, and then every queue is shown). */
static bool serves(const struct cscreen *s, const char *code)
{
	const json_t *mine = json_object_get(my_counter(s), "queues"), *q;
	size_t i;

	if (!json_is_array(mine))
		return true;
	json_array_foreach(mine, i, q)
		if (json_is_string(q) && strcmp(json_string_value(q), code) == 0)
			return true;
	return false;
}

static void draw_parked(const struct cscreen *s, int y)
{
	const json_t *parked = json_object_get(my_counter(s), "parked"), *p;
	char line[256] = "";
	size_t i, n = 0;

	json_array_foreach(parked, i, p)
		if (json_is_string(p) && n + 16 < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? ", " : "",
					      json_string_value(p));
	if (n)
		put_line(y, 2, 0, "Parked here: %s  (b calls back %s)", line,
			 json_string_value(json_array_get(parked, 0)));
}

static void draw_queues(const struct cscreen *s, int y)
{
	const json_t *q, *queues = json_object_get(s->status, "queues");
	char wait[32];
	size_t i;

	if (s->picking)
		put_line(y++, 2, A_BOLD,
			 "Transfer %s to which queue? \u2191\u2193 or number, "
			 "Enter to send, Esc to cancel",
			 jstr_or(s->ticket, "code", "?"));
	else
		put_line(y++, 2, A_UNDERLINE, "Your queues");
	json_array_foreach(queues, i, q) {
		const char *w = fmt_wait(json_object_get(q, "estimated_wait_s"), wait,
					 sizeof(wait));
		int attr = s->picking && i == s->pick ? A_REVERSE : 0;

		/* Transfer picks from every queue; otherwise only this
		 * counter's own are of interest. */
		if (!s->picking && !serves(s, jstr_or(q, "code", "")))
			continue;
		put_line(y++, 2, attr, "%zu. %-4s %-24s %s", i + 1, jstr_or(q, "code", "?"),
			 jstr_or(q, "name", "?"), "");
		if (jtrue(q, "open"))
			put_line(y - 1, 38, attr, "%lld waiting, about %s", jint(q, "waiting", 0),
				 w ? w : "? min");
		else
			put_line(y - 1, 38, attr, "closed (%lld waiting)", jint(q, "waiting", 0));
	}
}

static void draw(const struct cscreen *s)
{
	const json_t *c = my_counter(s);
	char clock[16];
	time_t t = time(NULL);
	struct tm tm;

	erase();
	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	put_line(0, 1, A_BOLD, "Counter %s", s->name ? s->name : "?");
	if (c)
		put_line(0, 20, A_BOLD, "%s", jtrue(c, "open") ? "open" : "closed");
	put_line(0, COLS - 10 > 0 ? COLS - 10 : 0, A_BOLD, "%s", clock);
	if (!s->l.up)
		put_line(1, 1, A_REVERSE | A_BOLD, " offline \u2014 reconnecting (%s) ",
			 s->l.why[0] ? s->l.why : "connecting");
	else if (jtrue(s->status, "stale"))
		put_line(1, 1, A_REVERSE, " database unreachable \u2014 shown state may be old ");
	else if (*link_note(&s->l))
		put_line(1, 1, A_DIM, "%s", link_note(&s->l));
	if (s->status) {
		draw_ticket(s, 3);
		draw_parked(s, LINES > 20 ? 11 : 5);
		draw_queues(s, LINES > 20 ? 12 : 6);
	}
	put_line(LINES - 2, 1, s->msg_attr, "%s", s->msg);
	put_line(LINES - 1, 1, A_DIM,
		 "n next  r recall  s start  f finish  x no-show  "
		 "p park  b call back  t transfer  o open  c close  q quit");
	refresh();
}

/* The picker's keys; true while it stays up. */
static void pick_key(struct cscreen *s, int ch)
{
	const json_t *queues = json_object_get(s->status, "queues");
	size_t n = json_array_size(queues);

	if (ch == KEY_ESC) {
		s->picking = false;
		say(s, 0, "Transfer cancelled.");
	} else if (ch == KEY_UP && s->pick > 0) {
		s->pick--;
	} else if (ch == KEY_DOWN && s->pick + 1 < n) {
		s->pick++;
	} else if (ch >= '1' && ch <= '9' && (size_t)(ch - '1') < n) {
		s->pick = (size_t)(ch - '1');
	} else if ((ch == '\n' || ch == '\r' || ch == KEY_ENTER) && s->pick < n) {
		s->picking = false;
		do_op(s, "transfer",
		      json_pack("{s:s}", "queue",
				jstr_or(json_array_get(queues, s->pick), "code", "")));
	}
}

/* Returns false on q. */
static bool key(struct cscreen *s, int ch)
{
	static const struct {
		int key;
		enum proto_op op;
	} ops[] = {
		{ 'n', OP_CALL_NEXT },    { 'r', OP_RECALL },        { 's', OP_START },
		{ 'f', OP_FINISH },       { 'x', OP_NO_SHOW },       { 'p', OP_PARK },
		{ 'o', OP_COUNTER_OPEN }, { 'c', OP_COUNTER_CLOSE },
	};
	size_t i;

	if (ch == KEY_RESIZE) {
		clearok(curscr, TRUE);
		return true;
	}
	if (s->picking) {
		pick_key(s, ch);
		return true;
	}
	if (ch == 'q' || ch == 'Q')
		return false;
	if (ch == 't') {
		if (!s->ticket) {
			say(s, A_BOLD, "No ticket to transfer: press n to call the next");
		} else if (json_array_size(json_object_get(s->status, "queues"))) {
			s->picking = true;
			s->pick = 0;
		}
		return true;
	}
	if (ch == 'b') {
		const json_t *first = json_array_get(json_object_get(my_counter(s), "parked"), 0);

		if (!json_is_string(first))
			say(s, A_BOLD, "Nothing parked at this counter");
		else
			do_op(s, "call", json_pack("{s:s}", "ticket", json_string_value(first)));
		return true;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ch == ops[i].key)
			do_op(s, proto_op_name(ops[i].op), NULL);
	return true;
}

static int next_wait(const struct cscreen *s)
{
	long long now = now_ms();
	int t = 1000 - (int)(now % 1000);

	if (!s->l.up && s->l.next_try_ms - now < t)
		t = (int)(s->l.next_try_ms - now);
	if (s->l.up && s->dirty && s->last_status_ms + STATUS_MIN_INTERVAL_MS - now < t)
		t = (int)(s->last_status_ms + STATUS_MIN_INTERVAL_MS - now);
	return t < 0 ? 0 : t;
}

/* Connects; 2 when the token names no counter and --counter is missing. */
static int connect_once(struct cscreen *s)
{
	json_t *hello;

	if (link_connect(&s->l, true, &hello) < 0)
		return 0;
	if (!s->name && jstr(hello, "counter"))
		s->name = strdup(jstr(hello, "counter"));
	json_decref(hello);
	if (!s->name)
		return 2;
	refresh_state(s);
	return 0;
}

int counter_main(const struct screen_opts *o)
{
	struct cscreen s = { 0 };
	int ch, rc = 0;
	bool go = true;

	s.name = o->counter;
	link_init(&s.l, o, on_event, &s);
	screen_start();
	while (go && !screen_stopped()) {
		if (!s.l.up && now_ms() >= s.l.next_try_ms) {
			draw(&s);
			if ((rc = connect_once(&s)) != 0)
				break;
		}
		if (s.l.up && s.dirty && now_ms() >= s.last_status_ms + STATUS_MIN_INTERVAL_MS)
			refresh_state(&s);
		draw(&s);
		for (ch = screen_wait(&s.l, next_wait(&s)); ch != ERR && go; ch = getch())
			go = key(&s, ch);
		if (s.l.up)
			link_drain(&s.l);
	}
	screen_end();
	if (rc == 2)
		fprintf(stderr, "kolapp: counter needs a counter token, or an admin "
				"token with --counter NAME\n");
	link_close(&s.l);
	json_decref(s.status);
	json_decref(s.ticket);
	if (s.name != o->counter)
		free((char *)s.name);
	return rc;
}
