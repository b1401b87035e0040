#include "client/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/fmt.h"

/* The reply's "ticket" when it is an object (it is null when call_next
 * finds nothing). */
static const json_t *reply_ticket(const json_t *reply)
{
	const json_t *t = json_object_get(reply, "ticket");

	return json_is_object(t) ? t : NULL;
}

static const char *code_of(const json_t *t)
{
	return jstr_or(t, "code", "?");
}

/* Where a waiting ticket stands: "position 3, about 6 min". */
static void print_place(const json_t *t, const char *sep, const char *approx)
{
	char wbuf[32];
	const char *wait = fmt_wait(json_object_get(t, "estimated_wait_s"), wbuf, sizeof(wbuf));
	long long pos = jint(t, "position", -1);

	if (pos >= 0)
		printf("%sposition %lld", sep, pos);
	if (wait)
		printf("%s%s%s", sep, approx, wait);
	else
		printf("%swait unknown", sep);
}

/* The state part of a ticket line: "waiting  position 3  ~6 min",
 * "called to counter 3", ... */
static void print_ticket_state(const json_t *t)
{
	const char *state = jstr(t, "state");
	const char *counter = jstr(t, "counter");
	long long recalls = jint(t, "recalls", 0);

	if (state && strcmp(state, "waiting") == 0) {
		printf("waiting");
		print_place(t, "  ", "~");
		return;
	}
	printf("%s", fmt_state(state));
	if (counter && state && strcmp(state, "called") == 0)
		printf(" to counter %s", counter);
	else if (counter)
		printf(" at counter %s", counter);
	if (recalls > 0)
		printf("  (recalled %lldx)", recalls);
}

void render_ping(const json_t *reply)
{
	printf("pong\n");
}

void render_issue(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);
	const char *state = jstr(t, "state");

	printf("Your number: %s  queue %s", code_of(t), jstr_or(t, "queue", "?"));
	/* The same idempotency key may return a ticket that has moved on. */
	if (state && strcmp(state, "waiting") != 0) {
		printf(", ");
		print_ticket_state(t);
	} else {
		print_place(t, ", ", "about ");
	}
	printf("\n");
}

static void print_finished(const json_t *reply, const char *lead)
{
	const char *fin = jstr(reply, "finished");

	if (fin)
		printf("%s(finished %s)", lead, fin);
}

void render_call(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	if (!t) {
		printf("Nothing waiting.");
		print_finished(reply, " ");
	} else {
		printf("Calling %s to counter %s", code_of(t), jstr_or(t, "counter", "?"));
		if (json_is_true(json_object_get(t, "priority")))
			printf(" [priority]");
		if (json_is_string(json_object_get(t, "interpreter")))
			printf(" [interpreter: %s]", jstr_or(t, "interpreter", "?"));
		if (json_is_string(json_object_get(reply, "reason")))
			printf(" (%s)", jstr_or(reply, "reason", ""));
		print_finished(reply, "  ");
	}
	printf("\n");
}

void render_recall(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);
	long long recalls = jint(t, "recalls", -1);

	printf("Calling %s to counter %s again", code_of(t), jstr_or(t, "counter", "?"));
	if (recalls > 0)
		printf("  (recall %lld)", recalls);
	printf("\n");
}

void render_start(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	printf("Serving %s at counter %s\n", code_of(t), jstr_or(t, "counter", "?"));
}

void render_finish(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	printf("Finished %s", code_of(t));
	if (json_is_string(json_object_get(t, "outcome")))
		printf(" (%s)", jstr_or(t, "outcome", ""));
	printf("\n");
}

void render_park(const json_t *reply)
{
	const char *code = code_of(reply_ticket(reply));

	printf("Parked %s: call it back with: kolapp call %s\n", code, code);
}

void render_reactivate(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	printf("%s is waiting again", code_of(t));
	print_place(t, ", ", "about ");
	printf("\n");
}

void render_no_show(const json_t *reply)
{
	printf("%s marked as no-show\n", code_of(reply_ticket(reply)));
}

void render_transfer(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	if (json_is_string(json_object_get(t, "for_counter")))
		printf("Transferred %s to counter %s", code_of(t), jstr_or(t, "for_counter", "?"));
	else
		printf("Transferred %s to queue %s", code_of(t), jstr_or(t, "queue", "?"));
	print_place(t, ", ", "about ");
	printf("\n");
}

void render_cancel(const json_t *reply)
{
	printf("Cancelled %s\n", code_of(reply_ticket(reply)));
}

void render_counter(const json_t *reply)
{
	const json_t *c = json_object_get(reply, "counter");
	const char *ticket = jstr(c, "ticket");

	printf("Counter %s is %s", jstr_or(c, "name", "?"), jtrue(c, "open") ? "open" : "closed");
	if (ticket)
		printf("  (holding %s, %s)", ticket, fmt_state(jstr(c, "state")));
	printf("\n");
}

void render_ticket(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);
	char cbuf[32];

	printf("%s  ", code_of(t));
	print_ticket_state(t);
	printf("  (queue %s, issued %s)\n", jstr_or(t, "queue", "?"),
	       fmt_clock(jstr(t, "issued_at"), cbuf, sizeof(cbuf)));
}

/* ---- status ---------------------------------------------------------- */

#define MAXCOLS 5

/* A table laid out in two passes: widths first, so that names of any
 * length line up without a fixed column size. */
struct table {
	size_t ncols;
	size_t width[MAXCOLS];
};

static void table_measure(struct table *tb, const char *const *cells)
{
	size_t i, w;

	for (i = 0; i < tb->ncols; i++) {
		w = utf8_width(cells[i]);
		if (w > tb->width[i])
			tb->width[i] = w;
	}
}

static void table_row(const struct table *tb, const char *const *cells)
{
	size_t i;

	printf("  ");
	for (i = 0; i < tb->ncols; i++) {
		if (i + 1 == tb->ncols) {
			printf("%s", cells[i]);
			break;
		}
		print_padded(stdout, cells[i], tb->width[i] + 2);
	}
	printf("\n");
}

static void queue_cells(const json_t *q, const char **cells, char *num, size_t numsz, char *wait,
			size_t waitsz)
{
	const char *w;

	snprintf(num, numsz, "%lld", jint(q, "waiting", 0));
	w = fmt_wait(json_object_get(q, "estimated_wait_s"), wait + 1, waitsz - 1);
	if (w)
		wait[0] = '~';
	cells[0] = jstr_or(q, "code", "?");
	cells[1] = jstr_or(q, "name", "");
	cells[2] = fmt_queue_open(q);
	cells[3] = num;
	cells[4] = w ? wait : "?";
}

static void print_queues(const json_t *queues)
{
	static const char *const head[] = { "QUEUE", "NAME", "OPEN", "WAITING", "EST. WAIT" };
	struct table tb = { .ncols = 5 };
	const char *cells[5];
	char num[24], wait[40];
	const json_t *q;
	size_t i;

	printf("Queues\n");
	if (json_array_size(queues) == 0) {
		printf("  (none)\n");
		return;
	}
	table_measure(&tb, head);
	json_array_foreach(queues, i, q) {
		queue_cells(q, cells, num, sizeof(num), wait, sizeof(wait));
		table_measure(&tb, cells);
	}
	table_row(&tb, head);
	json_array_foreach(queues, i, q) {
		queue_cells(q, cells, num, sizeof(num), wait, sizeof(wait));
		table_row(&tb, cells);
	}
}

static void counter_cells(const json_t *c, const char **cells)
{
	const char *ticket = jstr(c, "ticket");

	cells[0] = jstr_or(c, "name", "?");
	cells[1] = jtrue(c, "open") ? "open" : "closed";
	cells[2] = ticket ? ticket : "-";
	cells[3] = ticket ? fmt_state(jstr(c, "state")) : "-";
}

static void print_counters(const json_t *counters)
{
	static const char *const head[] = { "COUNTER", "OPEN", "TICKET", "STATE" };
	struct table tb = { .ncols = 4 };
	const char *cells[4];
	const json_t *c;
	size_t i;

	printf("Counters\n");
	if (json_array_size(counters) == 0) {
		printf("  (none)\n");
		return;
	}
	table_measure(&tb, head);
	json_array_foreach(counters, i, c) {
		counter_cells(c, cells);
		table_measure(&tb, cells);
	}
	table_row(&tb, head);
	json_array_foreach(counters, i, c) {
		counter_cells(c, cells);
		table_row(&tb, cells);
	}
}

static void print_recent(const json_t *recent)
{
	const json_t *r;
	char cbuf[32];
	size_t i;

	printf("Recent calls\n");
	if (json_array_size(recent) == 0) {
		printf("  (none)\n");
		return;
	}
	json_array_foreach(recent, i, r)
		printf("  %s  %s → counter %s\n", fmt_clock(jstr(r, "at"), cbuf, sizeof(cbuf)),
		       jstr_or(r, "ticket", "?"), jstr_or(r, "counter", "?"));
}

void render_status(const json_t *reply)
{
	/* With several daemons, which one answered (its node name). */
	if (jstr(reply, "node"))
		printf("Office %s (served by daemon %s)\n", jstr_or(reply, "office", "?"),
		       jstr(reply, "node"));
	else
		printf("Office %s\n", jstr_or(reply, "office", "?"));
	if (jtrue(reply, "stale"))
		printf("(stale: database unreachable)\n");
	printf("\n");
	print_queues(json_object_get(reply, "queues"));
	printf("\n");
	print_counters(json_object_get(reply, "counters"));
	printf("\n");
	print_recent(json_object_get(reply, "recent"));
}

/* ---- events ---------------------------------------------------------- */

void render_event(const json_t *ev)
{
	const char *kind = jstr_or(ev, "event", "?");
	const char *counter = jstr(ev, "counter");
	const char *state = jstr(ev, "state");
	long long recalls = jint(ev, "recalls", 0);
	char cbuf[32], wbuf[32];
	const char *wait;
	char *dump;

	printf("%s  %-8s ", fmt_clock(jstr(ev, "at"), cbuf, sizeof(cbuf)), kind);
	if (strcmp(kind, "called") == 0) {
		printf("%s → counter %s", jstr_or(ev, "ticket", "?"), counter ? counter : "?");
		if (recalls > 0)
			printf("  (recall %lld)", recalls);
	} else if (strcmp(kind, "issued") == 0) {
		printf("%s in queue %s", jstr_or(ev, "ticket", "?"), jstr_or(ev, "queue", "?"));
	} else if (strcmp(kind, "state") == 0) {
		printf("%s %s", jstr_or(ev, "ticket", "?"), fmt_state(state));
		if (state && strcmp(state, "waiting") == 0 && jstr(ev, "queue"))
			printf(" in queue %s", jstr(ev, "queue"));
		else if (counter)
			printf(" at counter %s", counter);
	} else if (strcmp(kind, "queue") == 0) {
		wait = fmt_wait(json_object_get(ev, "estimated_wait_s"), wbuf, sizeof(wbuf));
		printf("%s %s, %lld waiting, %s%s", jstr_or(ev, "queue", "?"), fmt_queue_open(ev),
		       jint(ev, "waiting", 0), wait ? "~" : "wait unknown", wait ? wait : "");
	} else if (strcmp(kind, "counter") == 0) {
		printf("counter %s %s", counter ? counter : "?",
		       jtrue(ev, "open") ? "opened" : "closed");
	} else {
		/* A kind this client predates: show it whole rather than hide it. */
		dump = json_dumps(ev, JSON_COMPACT);
		printf("%s", dump ? dump : "");
		free(dump);
	}
	printf("\n");
}

void render_booking(const json_t *reply)
{
	const json_t *b = json_object_get(reply, "booking");
	const char *interp = jstr(b, "interpreter"), *ref = jstr(b, "reference");

	printf("Booking %s  queue %s at %s for %lld min", jstr_or(b, "code", "?"),
	       jstr_or(b, "queue", "?"), jstr_or(b, "starts_at", "?"),
	       (long long)json_integer_value(json_object_get(b, "minutes")));
	if (interp)
		printf(", interpreter %s", interp);
	if (ref)
		printf(", reference %s", ref);
	printf(": %s\n", jstr_or(b, "state", "?"));
}

void render_check_in(const json_t *reply)
{
	const json_t *t = reply_ticket(reply);

	render_issue(reply);
	printf("Appointment at %s\n", jstr_or(t, "appointment", "?"));
}
