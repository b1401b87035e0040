#include "client/screen.h"

#include "client/follow.h"

#include <curses.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile int stop_flag;

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long iso_ms(const char *iso)
{
	struct tm tm = { 0 };
	const char *p;
	long long ms = 0;
	int digits = 0;

	if (!iso || !(p = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
	while (digits > 0 && digits < 3)
		ms *= 10, digits++;
	return (long long)timegm(&tm) * 1000 + ms;
}

void link_init(struct link *l, const struct screen_opts *o, conn_event_fn on_event, void *arg)
{
	memset(l, 0, sizeof(*l));
	l->o = o;
	l->c.fd = -1;
	l->backoff_ms = LINK_BACKOFF_MIN_MS;
	l->on_event = on_event;
	l->arg = arg;
	snprintf(l->why, sizeof(l->why), "connecting");
}

void link_down(struct link *l, const char *why)
{
	if (l->up)
		snprintf(l->lost, sizeof(l->lost), "%s", why);
	if (l->up || l->c.fd >= 0)
		conn_close(&l->c);
	l->c.fd = -1;
	l->up = false;
	snprintf(l->why, sizeof(l->why), "%s", why);
	/* Doubling spares a struggling server a crowd of boards retrying in
	 * step; 8 s keeps a board from lagging long after it is back. */
	l->next_try_ms = now_ms() + l->backoff_ms;
	l->backoff_ms *= 2;
	if (l->backoff_ms > LINK_BACKOFF_MAX_MS)
		l->backoff_ms = LINK_BACKOFF_MAX_MS;
}

void link_close(struct link *l)
{
	if (l->c.fd >= 0)
		conn_close(&l->c);
	l->c.fd = -1;
	l->up = false;
}

static int send_request(struct link *l, const char *op, json_t *args)
{
	json_t *req = args ? args : json_object();
	enum conn_status st;

	json_object_set_new(req, "id", json_integer(++l->id));
	json_object_set_new(req, "op", json_string(op));
	if (l->o->office)
		json_object_set_new(req, "office", json_string(l->o->office));
	if (l->o->counter)
		json_object_set_new(req, "counter", json_string(l->o->counter));
	st = conn_send_json(&l->c, req, l->o->timeout_ms);
	json_decref(req);
	if (st != CONN_OK) {
		link_down(l, l->c.err);
		return -1;
	}
	return 0;
}

/* The office went to another daemon while we were connected (the reply
 * was moved: nothing was done). Reconnect at once, to the owner first. */
static void moved(struct link *l)
{
	char to[300], why[400];

	l->has_moved_to = true;
	snprintf(why, sizeof(why), "the office moved to %s",
		 host_format(&l->moved_to, to, sizeof(to)));
	link_down(l, why);
	l->backoff_ms = LINK_BACKOFF_MIN_MS;
	l->next_try_ms = now_ms();
}

int link_request(struct link *l, const char *op, json_t *args, json_t **reply)
{
	char *raw;

	*reply = NULL;
	if (l->c.fd < 0) {
		json_decref(args);
		return -1;
	}
	if (send_request(l, op, args) < 0)
		return -1;
	if (conn_read_reply(&l->c, l->o->timeout_ms, l->on_event, l->arg, reply, &raw) != CONN_OK) {
		link_down(l, l->c.err);
		return -1;
	}
	free(raw);
	if (follow_moved_owner(*reply, &l->moved_to))
		moved(l);
	return 0;
}

static int expect_ok(struct link *l, const char *op, json_t *args, json_t **reply)
{
	const json_t *err;
	char why[512];

	if (link_request(l, op, args, reply) < 0)
		return -1;
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	err = json_object_get(*reply, "error");
	snprintf(why, sizeof(why), "%s refused: %s", op,
		 json_string_value(json_object_get(err, "message"))
			 ? json_string_value(json_object_get(err, "message"))
			 : "?");
	json_decref(*reply);
	*reply = NULL;
	link_down(l, why);
	return -1;
}

/* One round through the list (follow.c), following moved: the screen
 * keeps its own clock and keys, so it never waits inside follow. */
static int reach_daemon(struct link *l, json_t **hello)
{
	enum follow_status st;
	struct follow f;
	char why[1024];

	follow_init(&f, l->o->hosts, l->o->token, l->o->timeout_ms, l->o->tls);
	f.budget_ms = 0;
	st = follow_connect(&f, l->has_moved_to ? &l->moved_to : NULL, &l->c, hello);
	l->has_moved_to = false;
	if (st == FOLLOW_OK) {
		host_format(&f.at, l->at, sizeof(l->at));
		return 0;
	}
	if (st == FOLLOW_REFUSED) {
		const json_t *err = json_object_get(*hello, "error");
		const char *m = json_string_value(json_object_get(err, "message"));

		snprintf(why, sizeof(why), "hello refused: %s", m ? m : "?");
		json_decref(*hello);
		*hello = NULL;
		link_down(l, why);
		return -1;
	}
	link_down(l, f.err);
	if (st == FOLLOW_UNAVAILABLE) {
		/* A takeover in progress: it ends within seconds, and the
		 * daemons are there to answer, so no need to back off. */
		l->backoff_ms = LINK_BACKOFF_MIN_MS;
		l->next_try_ms = now_ms() + LINK_TAKEOVER_RETRY_MS;
	}
	return -1;
}

/* After a reconnect: one line on what happened, for the screen. */
static void note_reconnect(struct link *l)
{
	char clock[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	snprintf(l->note, sizeof(l->note), "%s: reconnected through %s (%s)", clock, l->at,
		 l->lost[0] ? l->lost : "the connection dropped");
	l->note_until_ms = now_ms() + LINK_NOTE_MS;
}

const char *link_note(const struct link *l)
{
	return l->note[0] && now_ms() < l->note_until_ms ? l->note : "";
}

int link_connect(struct link *l, bool subscribe, json_t **hello)
{
	json_t *r;

	*hello = NULL;
	if (reach_daemon(l, hello) < 0)
		return -1;
	if (subscribe) {
		if (expect_ok(l, "subscribe", NULL, &r) < 0) {
			json_decref(*hello);
			*hello = NULL;
			return -1;
		}
		json_decref(r);
	}
	l->up = true;
	l->backoff_ms = LINK_BACKOFF_MIN_MS;
	l->why[0] = '\0';
	if (l->was_up)
		note_reconnect(l);
	l->was_up = true;
	return 0;
}

int link_drain(struct link *l)
{
	enum conn_status st;
	char *line;
	size_t len;
	json_t *v;

	while (l->up) {
		st = conn_read_line(&l->c, &line, &len, 0, NULL);
		if (st == CONN_TIMEOUT)
			return 0;
		if (st != CONN_OK) {
			link_down(l, l->c.err);
			return -1;
		}
		v = conn_parse_line(&l->c, line, len);
		if (!v) {
			link_down(l, l->c.err);
			return -1;
		}
		/* After a synchronous request nothing but events is due. */
		if (json_object_get(v, "event") && l->on_event)
			l->on_event(line, v, l->arg);
		json_decref(v);
	}
	return -1;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void screen_start(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	/* Before initscr, which leaves handlers it finds in place alone. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setlocale(LC_ALL, "");
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	/* A lone Esc (cancel in the transfer picker) must feel immediate. */
	set_escdelay(50);
}

void screen_end(void)
{
	endwin();
}

bool screen_stopped(void)
{
	return stop_flag != 0;
}

int screen_wait(struct link *l, int timeout_ms)
{
	struct pollfd pfd[2] = { { .fd = 0, .events = POLLIN },
				 { .fd = l->up ? l->c.fd : -1, .events = POLLIN } };
	int ch = getch();

	if (ch != ERR || stop_flag)
		return ch;
	if (timeout_ms < 0)
		timeout_ms = 0;
	/* A signal (SIGWINCH too) ends the wait; getch then reports it. */
	poll(pfd, 2, timeout_ms);
	return getch();
}

/* 3x5 glyphs, row by row, '#' lit; each lit cell is drawn two columns
 * wide so that the letters come out about square on a terminal. */
static const char *glyph(char ch)
{
	static const char *const digits[10] = {
		"####.##.##.####", ".#.##..#..#.###", "###..#####..###", "###..####..####",
		"#.##.####..#..#", "####..###..####", "####..####.####", "###..#..#..#..#",
		"####.#####.####", "####.####..####",
	};
	static const char *const letters[26] = {
		"####.#####.##.#", "##.#.###.#.###.", "####..#..#..###", "##.#.##.##.###.",
		"####..####..###", "####..####..#..", "####..#.##.####", "#.##.#####.##.#",
		"###.#..#..#.###", "..#..#..##.####", "#.##.###.#.##.#", "#..#..#..#..###",
		"#.########.##.#", "##.#.##.##.##.#", "####.##.##.####", "####.#####..#..",
		"####.##.####..#", "####.###.#.##.#", "####..###..####", "###.#..#..#..#.",
		"#.##.##.##.####", "#.##.##.##.#.#.", "#.##.########.#", "#.##.#.#.#.##.#",
		"#.##.#.#..#..#.", "###..#.#.#..###",
	};

	if (ch >= '0' && ch <= '9')
		return digits[ch - '0'];
	if (ch >= 'a' && ch <= 'z')
		ch = (char)(ch - 'a' + 'A');
	if (ch >= 'A' && ch <= 'Z')
		return letters[ch - 'A'];
	if (ch == '-')
		return "......###......";
	if (ch == '>')
		return "#...#...#.#.#..";
	return "...............";
}

#define GLYPH_COLS 8 /* 3 cells of 2 columns, then a gap of 2 */

int big_width(const char *text)
{
	int n = (int)strlen(text);

	return n ? n * GLYPH_COLS - 2 : 0;
}

void big_draw(int y, int x, const char *text)
{
	const char *g;
	int row, col;

	for (; *text; text++, x += GLYPH_COLS) {
		g = glyph(*text);
		for (row = 0; row < BIG_ROWS; row++)
			for (col = 0; col < 3; col++)
				if (g[row * 3 + col] == '#' && x + col * 2 + 1 < COLS)
					mvaddstr(y + row, x + col * 2, "\u2588\u2588");
	}
}

void put_line(int y, int x, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attron(attr);
	/* mvaddnstr counts bytes; the UTF-8 names may run a bit short of
	 * the edge, which is harmless, never past it. */
	mvaddnstr(y, x, buf, COLS - x);
	attroff(attr);
}
