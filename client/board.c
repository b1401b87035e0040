/*
 * board: `kolapp board`, the office's calls and queues full screen, for a
 * terminal in the waiting room. Stays up across kolappd restarts.
 */
#include <curses.h>
#include <string.h>
#include <time.h>

#include "client/fmt.h"
#include "client/screen.h"

/* Events come in bursts (a call is called + state + queue): one status
 * per burst is enough, and never more than this often. */
#define STATUS_MIN_INTERVAL_MS 250
#define RECENT_SHOWN 6

struct board {
	struct link l;
	json_t *status; /* the last status reply, NULL before one */
	bool dirty;     /* an event since that status */
	long long last_status_ms;
};

static void on_event(const char *line, const json_t *ev, void *arg)
{
	struct board *b = arg;
	json_t *recent = json_object_get(b->status, "recent");

	(void)line;
	b->dirty = true;
	/* The call goes up at once; the status that follows confirms it. */
	if (json_is_array(recent) && strcmp(jstr_or(ev, "event", ""), "called") == 0)
		json_array_insert_new(recent, 0,
				      json_pack("{s:s?, s:s?, s:s?}", "ticket", jstr(ev, "ticket"),
						"counter", jstr(ev, "counter"), "at",
						jstr(ev, "at")));
}

static void refresh_status(struct board *b)
{
	json_t *r;

	b->last_status_ms = now_ms();
	b->dirty = false;
	if (link_request(&b->l, "status", NULL, &r) < 0)
		return;
	if (jtrue(r, "ok")) {
		json_decref(b->status);
		b->status = r;
	} else {
		json_decref(r);
	}
}

static void draw_header(const struct board *b)
{
	char clock[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	put_line(0, 1, A_BOLD, "%s",
		 b->status ? jstr_or(b->status, "office_name", jstr_or(b->status, "office", ""))
			   : "kolapp");
	put_line(0, COLS - 10 > 0 ? COLS - 10 : 0, A_BOLD, "%s", clock);
	if (!b->l.up)
		put_line(1, 1, A_REVERSE | A_BOLD, " offline \u2014 reconnecting (%s) ",
			 b->l.why[0] ? b->l.why : "connecting");
	else if (jtrue(b->status, "stale"))
		put_line(1, 1, A_REVERSE,
			 " database unreachable \u2014 the board may be out of date ");
	else if (*link_note(&b->l))
		put_line(1, 1, A_DIM, "%s", link_note(&b->l));
}

static int draw_calls(const json_t *recent, int y)
{
	const json_t *c = json_array_get(recent, 0);
	char big[64], at[16];
	size_t i;

	if (!c) {
		put_line(y + 2, 2, A_BOLD, "No calls yet today");
		return y + 4;
	}
	snprintf(big, sizeof(big), "%s>%s", jstr_or(c, "ticket", "?"), jstr_or(c, "counter", "?"));
	if (big_width(big) + 4 > COLS)
		snprintf(big, sizeof(big), "%s", jstr_or(c, "ticket", "?"));
	if (big_width(big) + 4 <= COLS && LINES > 24) {
		attron(A_BOLD);
		big_draw(y, 2, big);
		attroff(A_BOLD);
		y += BIG_ROWS + 1;
	}
	put_line(y, 2, A_BOLD, "Now calling %s at counter %s", jstr_or(c, "ticket", "?"),
		 jstr_or(c, "counter", "?"));
	y += 2;
	if (json_array_size(recent) > 1)
		put_line(y++, 2, A_UNDERLINE, "Last calls");
	for (i = 1; i < json_array_size(recent) && i <= RECENT_SHOWN; i++) {
		c = json_array_get(recent, i);
		put_line(y++, 4, 0, "%-8s \u2192 counter %-6s %s", jstr_or(c, "ticket", "?"),
			 jstr_or(c, "counter", "?"), fmt_clock(jstr(c, "at"), at, sizeof(at)));
	}
	return y + 1;
}

static void draw_queues(const json_t *queues, int y)
{
	const json_t *q;
	char wait[32];
	size_t i;

	put_line(y++, 2, A_UNDERLINE, "Queue                          Waiting   Estimated wait");
	json_array_foreach(queues, i, q) {
		const char *w = fmt_wait(json_object_get(q, "estimated_wait_s"), wait,
					 sizeof(wait));

		put_line(y, 2, 0, "%-4s %s", jstr_or(q, "code", "?"), jstr_or(q, "name", "?"));
		if (!jtrue(q, "open"))
			put_line(y, 33, 0, "closed");
		else if (json_is_false(json_object_get(q, "issuing")))
			put_line(y, 33, 0, "%7lld   no tickets now", jint(q, "waiting", 0));
		else
			put_line(y, 33, 0, "%7lld   %s", jint(q, "waiting", 0), w ? w : "-");
		y++;
	}
}

static void draw(const struct board *b)
{
	int y;

	erase();
	draw_header(b);
	if (b->status) {
		y = draw_calls(json_object_get(b->status, "recent"), 3);
		draw_queues(json_object_get(b->status, "queues"), y);
	}
	put_line(LINES - 1, 1, A_DIM, "q quits");
	refresh();
}

static int next_wait(const struct board *b)
{
	long long now = now_ms();
	int t = 1000 - (int)(now % 1000); /* the clock's next second */

	if (!b->l.up && b->l.next_try_ms - now < t)
		t = (int)(b->l.next_try_ms - now);
	if (b->l.up && b->dirty && b->last_status_ms + STATUS_MIN_INTERVAL_MS - now < t)
		t = (int)(b->last_status_ms + STATUS_MIN_INTERVAL_MS - now);
	return t < 0 ? 0 : t;
}

int board_main(const struct screen_opts *o)
{
	struct board b = { 0 };
	json_t *hello;
	int ch;

	link_init(&b.l, o, on_event, &b);
	screen_start();
	while (!screen_stopped()) {
		if (!b.l.up && now_ms() >= b.l.next_try_ms) {
			draw(&b);
			if (link_connect(&b.l, true, &hello) == 0) {
				json_decref(hello);
				b.dirty = true;
				b.last_status_ms = 0;
			}
		}
		if (b.l.up && b.dirty && now_ms() >= b.last_status_ms + STATUS_MIN_INTERVAL_MS)
			refresh_status(&b);
		draw(&b);
		for (ch = screen_wait(&b.l, next_wait(&b)); ch != ERR; ch = getch()) {
			if (ch == 'q' || ch == 'Q')
				goto out;
			if (ch == KEY_RESIZE)
				clearok(curscr, TRUE);
		}
		if (b.l.up)
			link_drain(&b.l);
	}
out:
	screen_end();
	link_close(&b.l);
	json_decref(b.status);
	return 0;
}
