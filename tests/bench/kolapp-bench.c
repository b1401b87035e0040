/*
 * kolapp-bench: a load generator for kolappd.
 *
 * Open loop by default: with --rate R, requests are due on a fixed
 * schedule whatever the replies do, and latency runs from the time a
 * request was due, not from when a free connection could send it, so a
 * stalled daemon shows up as latency instead of silently lowering the
 * offered load (coordinated omission). --rate 0 is closed loop: every
 * connection keeps --pipeline requests in flight.
 */
#include "tests/bench/bench.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>

const char *const op_names[OP_COUNT] = {
	"issue", "call_next", "start", "finish", "status", "setup"
};
const char *const cls_names[CLS_COUNT] = { "issue", "counter", "status" };
const char *const err_codes[ERR_CODES] = {
	"bad_request",  "unknown_op", "unauthorized", "forbidden", "not_found",
	"queue_closed", "conflict",   "unavailable",  "too_large", "rate_limited",
	"internal",     "closed",     "other"
};
#define ERR_CLOSED 11
#define ERR_OTHER 12

struct bench_cfg cfg;
struct stats st;

#define MAX_CONNECTING 256
#define PENDING_CAP (1u << 20)
#define SETUP_TIMEOUT_S 60

static struct event_base *base;
static struct addrinfo *addr;
static struct office *offices;
static int noffices;
static struct conn *conns;
static int nconns, next_connect, connecting, nready, nfailed, ndropped;
static uint64_t t_run, t_meas, t_end;
static bool running;
static struct event *tick_ev, *setup_timer;

/* Per class: connections with room for a request, and requests that were
 * due while none had room (their due times, oldest first). */
static struct {
	struct conn **free;
	unsigned fhead, flen;
	uint64_t *pending;
	unsigned phead, plen;
	int nconns;
	int credit; /* smooth weighted round robin */
} cls[CLS_COUNT];
static uint64_t slots_made, backlog_dropped;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool measuring(uint64_t sched_ns, uint64_t now)
{
	return running && sched_ns >= t_meas && now < t_end;
}

static void die(const char *msg)
{
	fprintf(stderr, "kolapp-bench: %s\n", msg);
	exit(1);
}

/* ---- sending ------------------------------------------------------- */

static void send_line(struct conn *c, const char *line, enum op op, uint64_t sched,
		      uint8_t setup_left)
{
	struct inflight *f;

	if (c->fl_len == c->fl_cap)
		die("internal: in-flight ring full");
	f = &c->fl[(c->fl_head + c->fl_len++) % c->fl_cap];
	f->sched_ns = sched;
	f->sent_ns = now_ns();
	f->op = (uint8_t)op;
	f->setup_left = setup_left;
	bufferevent_write(c->bev, line, strlen(line));
}

static void send_scheduled(struct conn *c, uint64_t sched)
{
	char buf[160];
	enum op op = roles_next_request(c, buf, sizeof buf, ++c->seq);

	send_line(c, buf, op, sched, 0);
}

static bool has_room(const struct conn *c)
{
	return c->ready && !c->dead && c->fl_len < c->limit;
}

/* Give a connection with room the oldest due request of its class, or
 * park it as free. */
static void make_available(struct conn *c)
{
	unsigned k = (unsigned)c->cls;

	if (!running || c->cls == CLS_COUNT)
		return;
	if (cfg.rate <= 0) {
		if (cfg.mix[k])
			while (has_room(c))
				send_scheduled(c, now_ns());
		return;
	}
	while (has_room(c) && cls[k].plen) {
		uint64_t due = cls[k].pending[cls[k].phead];

		cls[k].phead = (cls[k].phead + 1) % PENDING_CAP;
		cls[k].plen--;
		send_scheduled(c, due);
	}
	if (has_room(c) && !c->queued) {
		cls[k].free[(cls[k].fhead + cls[k].flen++) % (unsigned)nconns] = c;
		c->queued = true;
	}
}

static enum cls pick_class(void)
{
	int total = 0, best = -1;

	for (int k = 0; k < CLS_COUNT; k++) {
		cls[k].credit += (int)cfg.mix[k];
		total += (int)cfg.mix[k];
		if (cfg.mix[k] && (best < 0 || cls[k].credit > cls[best].credit))
			best = k;
	}
	cls[best].credit -= total;
	return (enum cls)best;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ns(), due_slots;

	(void)fd;
	(void)what;
	(void)arg;
	if (now >= t_end) {
		event_base_loopbreak(base);
		return;
	}
	if (cfg.rate <= 0)
		return;
	due_slots = (uint64_t)((double)(now - t_run) * cfg.rate / 1e9);
	for (; slots_made < due_slots; slots_made++) {
		uint64_t due = t_run + (uint64_t)((double)slots_made * 1e9 / cfg.rate);
		unsigned k = (unsigned)pick_class();
		struct conn *c = NULL;

		while (cls[k].flen) {
			c = cls[k].free[cls[k].fhead];
			cls[k].fhead = (cls[k].fhead + 1) % (unsigned)nconns;
			cls[k].flen--;
			c->queued = false;
			if (has_room(c))
				break;
			c = NULL;
		}
		if (c) {
			send_scheduled(c, due);
			make_available(c);
		} else if (cls[k].plen < PENDING_CAP) {
			cls[k].pending[(cls[k].phead + cls[k].plen++) % PENDING_CAP] = due;
		} else {
			backlog_dropped++;
		}
	}
}

/* ---- the run ------------------------------------------------------- */

static void start_run(void)
{
	static const struct timeval one_ms = { 0, 1000 };
	FILE *f;

	if (running)
		return;
	if (setup_timer)
		event_del(setup_timer);
	for (int k = 0; k < CLS_COUNT; k++)
		if (cfg.mix[k] && !cls[k].nconns) {
			fprintf(stderr, "kolapp-bench: note: no %s connections, --mix %s ignored\n",
				cls_names[k], cls_names[k]);
			cfg.mix[k] = 0;
		}
	t_run = now_ns();
	t_meas = t_run + (uint64_t)(cfg.warmup * 1e9);
	t_end = t_meas + (uint64_t)(cfg.duration * 1e9);
	running = true;
	fprintf(stderr,
		"kolapp-bench: %d connections ready (%d failed), running %.1f s + %.1f s warm-up\n",
		nready, nfailed, cfg.duration, cfg.warmup);
	if (cfg.ready_file && (f = fopen(cfg.ready_file, "w"))) {
		fprintf(f, "%d\n", nready);
		fclose(f);
	}
	tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick_ev, &one_ms);
	for (int i = 0; i < nconns; i++)
		make_available(&conns[i]);
}

static void connect_more(void);

static void setup_done(struct conn *c, bool ok)
{
	connecting--;
	if (ok) {
		c->ready = true;
		nready++;
		if (c->role == ROLE_DISPLAY && cfg.display_mode == DM_SUBSCRIBE)
			c->office->subscribed++;
	} else {
		nfailed++;
	}
	connect_more();
	if (nready + nfailed == nconns)
		start_run();
}

static void conn_lost(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	if (!c->ready) {
		if (nfailed < 5)
			fprintf(stderr, "kolapp-bench: connection %d failed: %s\n", c->idx, why);
		setup_done(c, false);
	} else {
		if (ndropped < 5)
			fprintf(stderr, "kolapp-bench: connection %d lost: %s\n", c->idx, why);
		ndropped++;
		if (c->role == ROLE_DISPLAY && cfg.display_mode == DM_SUBSCRIBE)
			c->office->subscribed--;
		/* Requests it had in flight are answered by nobody. */
		for (unsigned i = 0; i < c->fl_len; i++) {
			struct inflight *f = &c->fl[(c->fl_head + i) % c->fl_cap];

			if (f->op != OP_SETUP && measuring(f->sched_ns, now_ns()))
				st.errors[f->op][ERR_CLOSED]++;
		}
		c->fl_len = 0;
	}
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->raw) {
		event_free(c->raw);
		c->raw = NULL;
	}
}

static int err_index(json_t *reply)
{
	const char *code = json_string_value(
		json_object_get(json_object_get(reply, "error"), "code"));

	for (int i = 0; code && i < ERR_OTHER; i++)
		if (!strcmp(code, err_codes[i]))
			return i;
	return ERR_OTHER;
}

/* "ok":true among the first bytes of a reply (after a short id). */
static bool reply_ok_fast(const char *line, size_t len)
{
	size_t n = len < 96 ? len : 96;
	const char *p = memmem(line, n, "\"ok\":", 5);

	return p && (size_t)(p - line) + 9 <= len && !memcmp(p + 5, "true", 4);
}

static void on_reply(struct conn *c, const char *line, size_t len, uint64_t now)
{
	struct inflight f;
	json_t *reply;
	bool ok;

	if (!c->fl_len) {
		conn_lost(c, "a reply to no request");
		return;
	}
	f = c->fl[c->fl_head];
	c->fl_head = (c->fl_head + 1) % c->fl_cap;
	c->fl_len--;
	/* Parse only what needs reading: the generator shares the two cores
	 * with kolappd, and parsing every 1.5 KB status reply would measure
	 * the generator's JSON decoder more than the daemon. Both servers put
	 * "ok" right after the id. */
	ok = reply_ok_fast(line, len);
	reply = !ok || f.op == OP_SETUP || c->role == ROLE_COUNTER
		      ? json_loadb(line, len, 0, NULL)
		      : NULL;
	if (reply)
		ok = json_is_true(json_object_get(reply, "ok"));
	if (f.op == OP_SETUP) {
		const char *steps[2];
		int n = roles_setup(c, steps);

		if (!ok) {
			char why[200];

			snprintf(why, sizeof why, "setup refused: %.*s",
				 (int)(len > 150 ? 150 : len), line);
			json_decref(reply);
			conn_lost(c, why);
			return;
		}
		if (f.setup_left) {
			char buf[96];

			snprintf(buf, sizeof buf, "{\"id\":\"s%d\",\"op\":\"%s\"}\n", f.setup_left,
				 steps[n - f.setup_left]);
			send_line(c, buf, OP_SETUP, now, (uint8_t)(f.setup_left - 1));
		} else {
			setup_done(c, true);
		}
		json_decref(reply);
		return;
	}
	if (measuring(f.sched_ns, now)) {
		if (ok) {
			st.ok[f.op]++;
			hist_record(&st.lat[f.op], (now - f.sched_ns) / 1000);
		} else {
			st.errors[f.op][err_index(reply)]++;
		}
	}
	roles_on_reply(c, (enum op)f.op, reply, ok, f.sent_ns);
	json_decref(reply);
	make_available(c);
}

/* A subscriber's events. bufferevent's read costs two system calls
 * (FIONREAD, then readv): at 10,000 subscribers the generator took about
 * as much CPU as kolappd's sends, and its loop was the larger part of the
 * fan-out figure. One read() each here. */
#define RAW_MAX 65536
static void raw_read_cb(evutil_socket_t fd, short what, void *arg)
{
	static char buf[2 * RAW_MAX];
	struct conn *c = arg;
	uint64_t now = now_ns();
	size_t len = c->carry_len, start = 0;
	ssize_t n;

	(void)what;
	memcpy(buf, c->carry, c->carry_len);
	n = read(fd, buf + len, RAW_MAX);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_lost(c, n ? strerror(errno) : "closed by the server");
		return;
	}
	len += (size_t)n;
	for (char *nl; (nl = memchr(buf + start, '\n', len - start));
	     start = (size_t)(nl - buf) + 1)
		roles_on_event(c, buf + start, (size_t)(nl - buf) - start, now);
	c->carry_len = len - start;
	if (c->carry_len > RAW_MAX) {
		conn_lost(c, "an event line over 64 KB");
		return;
	}
	if (c->carry_len && !c->carry && !(c->carry = malloc(RAW_MAX)))
		abort();
	memmove(c->carry, buf + start, c->carry_len);
}

/* A set-up subscriber with nothing in flight leaves the bufferevent for
 * raw_read_cb, taking the start of a line the bufferevent holds. */
static void go_raw(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->carry_len = evbuffer_get_length(in);
	if (c->carry_len > RAW_MAX) {
		conn_lost(c, "an event line over 64 KB");
		return;
	}
	if (!(c->carry = malloc(RAW_MAX)))
		abort();
	evbuffer_remove(in, c->carry, c->carry_len);
	bufferevent_disable(c->bev, EV_READ);
	c->raw = event_new(base, bufferevent_getfd(c->bev), EV_READ | EV_PERSIST, raw_read_cb, c);
	if (!c->raw || event_add(c->raw, NULL) < 0)
		abort();
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t now = now_ns();

	while (!c->dead) {
		size_t eol_len = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		const char *line;

		if (p.pos < 0)
			break;
		line = (const char *)evbuffer_pullup(in, p.pos + (ev_ssize_t)eol_len);
		if (memmem(line, (size_t)p.pos, "\"event\":", 8) &&
		    !memmem(line, (size_t)p.pos, "\"ok\":", 5))
			roles_on_event(c, line, (size_t)p.pos, now);
		else
			on_reply(c, line, (size_t)p.pos, now);
		evbuffer_drain(in, (size_t)p.pos + eol_len);
	}
	if (!c->dead && c->ready && !c->raw && !c->fl_len && c->role == ROLE_DISPLAY &&
	    cfg.display_mode == DM_SUBSCRIBE)
		go_raw(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		const char *steps[2];
		char buf[400];
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		snprintf(buf, sizeof buf, "{\"id\":\"hello\",\"op\":\"hello\",\"token\":\"%s\"}\n",
			 c->token);
		send_line(c, buf, OP_SETUP, now_ns(), (uint8_t)roles_setup(c, steps));
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_lost(c, "closed by the server");
	else if (what & BEV_EVENT_ERROR)
		conn_lost(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void connect_more(void)
{
	while (connecting < MAX_CONNECTING && next_connect < nconns) {
		struct conn *c = &conns[next_connect++];

		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			die("cannot make a bufferevent");
		bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		connecting++;
		if (bufferevent_socket_connect(c->bev, addr->ai_addr, (int)addr->ai_addrlen) < 0) {
			/* The error callback has already run. */
			continue;
		}
	}
}

static void setup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr,
		"kolapp-bench: only %d of %d connections ready after %d s; starting anyway\n",
		nready, nconns, SETUP_TIMEOUT_S);
	start_run();
}

/* ---- set-up -------------------------------------------------------- */

static void add_conns(struct office *o, enum role role, int n)
{
	int have = o->ntokens[role];

	if (n > 0 && !have) {
		fprintf(stderr, "kolapp-bench: office %s has no %s tokens\n", o->code,
			role == ROLE_KIOSK     ? "kiosk"
			: role == ROLE_COUNTER ? "counter"
					       : "display");
		exit(1);
	}
	/* Two connections of one counter would refuse each other's cycle;
	 * kiosk and display tokens may be shared by many connections. */
	if (role == ROLE_COUNTER && n > have) {
		fprintf(stderr, "kolapp-bench: office %s has %d counter tokens, --counters %d\n",
			o->code, have, n);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		struct conn *c = &conns[nconns];

		memset(c, 0, sizeof *c);
		c->idx = nconns++;
		c->role = role;
		c->office = o;
		c->token = o->tokens[role][i % have];
		c->cls = role == ROLE_KIOSK          ? CLS_ISSUE
		       : role == ROLE_COUNTER        ? CLS_COUNTER
		       : cfg.display_mode == DM_POLL ? CLS_STATUS
						     : CLS_COUNT;
		/* A counter's next step depends on the last reply. */
		c->limit = role == ROLE_COUNTER ? 1 : cfg.pipeline;
		c->fl_cap = c->limit + 4;
		c->fl = calloc(c->fl_cap, sizeof *c->fl);
		if (!c->fl)
			abort();
		if (c->cls != CLS_COUNT)
			cls[c->cls].nconns++;
	}
}

static void raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= (rlim_t)need)
		return;
	rlim_t old = rl.rlim_cur;

	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(stderr,
			"kolapp-bench: raised the open-file limit from %llu to %llu (the hard "
			"limit)\n",
			(unsigned long long)old, (unsigned long long)rl.rlim_cur);
	if (rl.rlim_cur < (rlim_t)need) {
		fprintf(stderr,
			"kolapp-bench: %d connections need %d files, the hard limit is %llu\n",
			nconns, need, (unsigned long long)rl.rlim_max);
		exit(1);
	}
}

static void parse_mix(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;

	memset(cfg.mix, 0, sizeof cfg.mix);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int k;

		for (k = 0; k < CLS_COUNT; k++)
			if (eq && (size_t)(eq - tok) == strlen(cls_names[k]) &&
			    !strncmp(tok, cls_names[k], (size_t)(eq - tok)))
				break;
		if (k == CLS_COUNT)
			die("--mix wants issue=W,counter=W,status=W");
		cfg.mix[k] = (unsigned)strtoul(eq + 1, NULL, 10);
	}
	free(copy);
}

static void parse_queues(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;

	cfg.nqueues = 0;
	for (tok = strtok_r(copy, ",", &save); tok && cfg.nqueues < 8;
	     tok = strtok_r(NULL, ",", &save))
		cfg.queues[cfg.nqueues++] = tok;
	if (!cfg.nqueues)
		die("--queues wants codes such as S,F,P,A");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kolapp-bench --tokens-file FILE [options]\n"
		"  --host H --port P          kolappd address (127.0.0.1:7878)\n"
		"  --offices N                use the first N offices of the tokens file (all)\n"
		"  --kiosks N --counters N --displays N   connections per office (0 0 0)\n"
		"  --display-mode subscribe|poll|idle     (subscribe)\n"
		"  --mix issue=1,counter=3,status=1        weights of the scheduled load\n"
		"  --queues S,F,P,A           queues kiosks issue to, round robin\n"
		"  --pipeline N               requests in flight per kiosk/display (1)\n"
		"  --rate R                   ops/s for all connections, open loop; 0: flat out "
		"(0)\n"
		"  --duration S --warmup S    measured seconds, unmeasured seconds first (5, 1)\n"
		"  --ready-file F             written once every connection is set up\n"
		"  --json                     print one JSON object instead of a table\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", 1, NULL, 'H' },     { "port", 1, NULL, 'p' },
		{ "offices", 1, NULL, 'o' },  { "tokens-file", 1, NULL, 't' },
		{ "kiosks", 1, NULL, 'k' },   { "counters", 1, NULL, 'c' },
		{ "displays", 1, NULL, 'd' }, { "display-mode", 1, NULL, 'm' },
		{ "mix", 1, NULL, 'x' },      { "pipeline", 1, NULL, 'P' },
		{ "rate", 1, NULL, 'r' },     { "duration", 1, NULL, 'D' },
		{ "warmup", 1, NULL, 'w' },   { "json", 0, NULL, 'j' },
		{ "queues", 1, NULL, 'q' },   { "ready-file", 1, NULL, 'R' },
		{ "help", 0, NULL, 'h' },     { NULL, 0, NULL, 0 },
	};
	int ch;

	cfg.host = "127.0.0.1";
	cfg.port = "7878";
	cfg.pipeline = 1;
	cfg.duration = 5;
	cfg.warmup = 1;
	parse_mix("issue=1,counter=3,status=1");
	parse_queues("S,F,P,A");
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': cfg.host = optarg; break;
		case 'p': cfg.port = optarg; break;
		case 'o': cfg.offices = atoi(optarg); break;
		case 't': cfg.tokens_file = optarg; break;
		case 'k': cfg.kiosks = atoi(optarg); break;
		case 'c': cfg.counters = atoi(optarg); break;
		case 'd': cfg.displays = atoi(optarg); break;
		case 'm':
			if (!strcmp(optarg, "subscribe"))
				cfg.display_mode = DM_SUBSCRIBE;
			else if (!strcmp(optarg, "poll"))
				cfg.display_mode = DM_POLL;
			else if (!strcmp(optarg, "idle"))
				cfg.display_mode = DM_IDLE;
			else
				die("--display-mode wants subscribe, poll or idle");
			break;
		case 'x': parse_mix(optarg); break;
		case 'q': parse_queues(optarg); break;
		case 'P': cfg.pipeline = (unsigned)atoi(optarg); break;
		case 'r': cfg.rate = atof(optarg); break;
		case 'D': cfg.duration = atof(optarg); break;
		case 'w': cfg.warmup = atof(optarg); break;
		case 'j': cfg.json = true; break;
		case 'R': cfg.ready_file = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!cfg.tokens_file || optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (cfg.pipeline < 1 || cfg.pipeline > 4096 || cfg.duration <= 0 || cfg.warmup < 0 ||
	    cfg.rate < 0 || cfg.kiosks < 0 || cfg.counters < 0 || cfg.displays < 0)
		die("bad --pipeline, --duration, --warmup, --rate or connection count");
}

int main(int argc, char **argv)
{
	struct addrinfo hints;
	int rc, total = 0;

	parse_args(argc, argv);
	if (roles_load(cfg.tokens_file, &offices, &noffices, cfg.offices) < 0)
		return 1;
	total = noffices * (cfg.kiosks + cfg.counters + cfg.displays);
	if (!total)
		die("no connections: give --kiosks, --counters or --displays");
	conns = calloc((size_t)total, sizeof *conns);
	if (!conns)
		abort();
	for (int i = 0; i < noffices; i++) {
		add_conns(&offices[i], ROLE_KIOSK, cfg.kiosks);
		add_conns(&offices[i], ROLE_COUNTER, cfg.counters);
		add_conns(&offices[i], ROLE_DISPLAY, cfg.displays);
	}
	raise_nofile(nconns + 64);
	for (int k = 0; k < CLS_COUNT; k++) {
		cls[k].free = calloc((size_t)nconns, sizeof *cls[k].free);
		cls[k].pending = cfg.rate > 0 ? malloc(PENDING_CAP * sizeof(uint64_t)) : NULL;
		if (!cls[k].free || (cfg.rate > 0 && !cls[k].pending))
			abort();
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(cfg.host, cfg.port, &hints, &addr);
	if (rc) {
		fprintf(stderr, "kolapp-bench: %s:%s: %s\n", cfg.host, cfg.port, gai_strerror(rc));
		return 1;
	}
	base = event_base_new();
	if (!base)
		die("cannot make the event loop");
	{
		struct timeval tv = { SETUP_TIMEOUT_S, 0 };

		setup_timer = evtimer_new(base, setup_timeout_cb, NULL);
		evtimer_add(setup_timer, &tv);
	}
	connect_more();
	event_base_dispatch(base);
	roles_finish(offices, noffices);
	{
		struct run_info ri = {
			.noffices = noffices,
			.nconns = nconns,
			.nready = nready,
			.nfailed = nfailed,
			.ndropped = ndropped,
			.backlog_dropped = backlog_dropped,
		};

		for (int i = 0; i < nconns; i++) {
			ri.nrole[conns[i].role]++;
			if (!conns[i].dead)
				ri.inflight += conns[i].fl_len;
		}
		for (int k = 0; k < CLS_COUNT; k++)
			ri.pending += cls[k].plen;
		report(&ri);
	}
	return nready ? 0 : 1;
}
