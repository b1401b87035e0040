/* roles: what kiosks, counters and displays send, and how their replies
 * move them on. See bench.h. */
#include "tests/bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void push(char ***arr, int *n, const char *s)
{
	char **na = realloc(*arr, (size_t)(*n + 1) * sizeof **arr);

	if (!na)
		abort();
	na[(*n)++] = xstrdup(s);
	*arr = na;
}

/* Lines "office role counter token"; counter is "-" unless role is counter.
 * Offices keep the file's order so that --offices N takes the first N. */
int roles_load(const char *path, struct office **offices, int *noffices, int want)
{
	FILE *f = fopen(path, "r");
	char line[512], office[64], role[32], counter[64], token[256];
	struct office *o = NULL;
	int n = 0, lineno = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		int r, i;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %31s %63s %255s", office, role, counter, token) != 4) {
			fprintf(stderr, "kolapp-bench: %s:%d: want \"office role counter token\"\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		if (!strcmp(role, "kiosk"))
			r = ROLE_KIOSK;
		else if (!strcmp(role, "counter"))
			r = ROLE_COUNTER;
		else if (!strcmp(role, "display"))
			r = ROLE_DISPLAY;
		else
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(o[i].code, office))
				break;
		if (i == n) {
			if (want > 0 && n == want)
				continue;
			o = realloc(o, (size_t)(n + 1) * sizeof *o);
			if (!o)
				abort();
			memset(&o[n], 0, sizeof o[n]);
			snprintf(o[n].code, sizeof o[n].code, "%s", office);
			n++;
		}
		if (r == ROLE_COUNTER) {
			int k = o[i].ntokens[r];

			push(&o[i].counters, &k, counter);
		}
		push(&o[i].tokens[r], &o[i].ntokens[r], token);
	}
	fclose(f);
	if (want > 0 && n < want) {
		fprintf(stderr, "kolapp-bench: %s has %d offices, --offices wants %d\n", path, n,
			want);
		free(o);
		return -1;
	}
	*offices = o;
	*noffices = n;
	return 0;
}

enum op roles_next_request(struct conn *c, char *buf, size_t size, uint64_t id)
{
	switch (c->role) {
	case ROLE_KIOSK: {
		const char *q = cfg.queues[c->office->next_queue++ % (unsigned)cfg.nqueues];

		snprintf(buf, size, "{\"id\":%llu,\"op\":\"issue\",\"queue\":\"%s\"}\n",
			 (unsigned long long)id, q);
		return OP_ISSUE;
	}
	case ROLE_COUNTER: {
		static const char *const names[] = { "call_next", "start", "finish" };
		static const enum op ops[] = { OP_CALL_NEXT, OP_START, OP_FINISH };

		snprintf(buf, size, "{\"id\":%llu,\"op\":\"%s\"}\n", (unsigned long long)id,
			 names[c->step]);
		return ops[c->step];
	}
	case ROLE_DISPLAY: break;
	}
	snprintf(buf, size, "{\"id\":%llu,\"op\":\"status\"}\n", (unsigned long long)id);
	return OP_STATUS;
}

int roles_setup(struct conn *c, const char *steps[2])
{
	if (c->role == ROLE_COUNTER) {
		steps[0] = "counter_open";
		return 1;
	}
	if (c->role == ROLE_DISPLAY && cfg.display_mode == DM_SUBSCRIBE) {
		steps[0] = "subscribe";
		return 1;
	}
	return 0;
}

static struct call_track *track_find(struct office *o, const char *code, bool create)
{
	struct call_track *t;
	unsigned i;

	for (i = 0; i < CALL_TRACK; i++)
		if (!strcmp(o->calls[i].code, code))
			return &o->calls[i];
	if (!create)
		return NULL;
	t = &o->calls[o->next_call++ % CALL_TRACK];
	/* A call overwritten before every subscriber saw it: a lost event or
	 * a subscriber far behind; either way it must show in the report. */
	if (t->code[0] && !t->done && t->reply_ns && measuring(t->sent_ns, t->reply_ns))
		st.fanout_incomplete++;
	memset(t, 0, sizeof *t);
	snprintf(t->code, sizeof t->code, "%s", code);
	return t;
}

static void track_check(struct office *o, struct call_track *t)
{
	uint64_t d;

	if (t->done || !t->reply_ns || t->events < o->subscribed)
		return;
	t->done = true;
	if (!measuring(t->sent_ns, t->last_event_ns))
		return;
	/* The daemon may write the event before the reply: then the last
	 * subscriber was not behind the caller at all. */
	d = t->last_event_ns > t->reply_ns ? t->last_event_ns - t->reply_ns : 0;
	hist_record(&st.fanout, d / 1000);
	hist_record(&st.fanout_send, (t->last_event_ns - t->sent_ns) / 1000);
}

void roles_on_reply(struct conn *c, enum op op, json_t *reply, bool ok, uint64_t sent_ns)
{
	json_t *ticket;
	const char *code;

	if (c->role != ROLE_COUNTER || op == OP_SETUP)
		return;
	if (!ok) {
		/* call_next finishes a held ticket itself: restart the cycle. */
		c->step = STEP_CALL_NEXT;
		return;
	}
	switch (op) {
	case OP_CALL_NEXT:
		ticket = json_object_get(reply, "ticket");
		code = json_string_value(json_object_get(ticket, "code"));
		if (!code) {
			st.call_next_empty++;
			c->step = STEP_CALL_NEXT;
			return;
		}
		c->step = STEP_START;
		if (c->office->subscribed > 0) {
			struct call_track *t = track_find(c->office, code, true);

			t->reply_ns = now_ns();
			t->sent_ns = sent_ns;
			track_check(c->office, t);
		}
		return;
	case OP_START: c->step = STEP_FINISH; return;
	default: c->step = STEP_CALL_NEXT; return;
	}
}

/* The string value of "name": in an event line as kolappd writes it
 * (compact, no escapes in codes) into out; false when it is not there. */
static bool event_field(const char *line, size_t len, const char *name, char *out, size_t size)
{
	char key[32];
	int klen = snprintf(key, sizeof key, "\"%s\":\"", name);
	const char *p = memmem(line, len, key, (size_t)klen), *end;

	if (!p)
		return false;
	p += klen;
	end = memchr(p, '"', len - (size_t)(p - line));
	if (!end || (size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

void roles_on_event(struct conn *c, const char *line, size_t len, uint64_t now)
{
	char kind[16], code[16];
	struct call_track *t;

	st.events++;
	/* Only calls are timed, and without a JSON parse: at 10,000
	 * subscribers a parse of every call's event cost the generator about
	 * as much CPU as kolappd spends sending it, on the same two cores. */
	if (!event_field(line, len, "event", kind, sizeof kind) || strcmp(kind, "called") ||
	    !event_field(line, len, "ticket", code, sizeof code))
		return;
	t = track_find(c->office, code, true);
	t->events++;
	t->last_event_ns = now;
	if (!t->sent_ns)
		t->sent_ns = now;
	track_check(c->office, t);
}

void roles_finish(struct office *offices, int n)
{
	int i;
	unsigned k;

	for (i = 0; i < n; i++)
		for (k = 0; k < CALL_TRACK; k++) {
			struct call_track *t = &offices[i].calls[k];

			if (t->code[0] && !t->done && t->reply_ns && offices[i].subscribed > 0 &&
			    measuring(t->sent_ns, t->reply_ns) &&
			    now_ns() - t->reply_ns > 1000000000ull)
				st.fanout_incomplete++;
		}
}
