/*
 * kolapp: the command-line client of kolappd.
 *
 * Parses the command line, then runs one short session: reach a daemon
 * that serves the office and say hello there (unless ping; follow.c: the
 * -H list in order, following `moved`), then the command and bye in one
 * write. The contract answers them in order, so the replies are read in
 * turn. An answer lost with the connection is asked for again only where
 * a repeat is harmless; otherwise kolapp says that it cannot know what
 * happened. watch reconnects the same way after a drop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/commands.h"
#include "client/conn.h"
#include "client/fmt.h"
#include "client/follow.h"
#include "client/hosts.h"
#include "client/render.h"
#include "client/screen.h"

enum {
	EXIT_REFUSED = 1, /* an error reply */
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3, /* cannot connect, dropped, timed out */
};

/* The bye reply only lets the server close first (so that it sees a
 * clean close, not a reset); never worth more than this wait. */
#define BYE_WAIT_MS 1000

/* A request is sent again (after a lost answer where that is safe, or a
 * `moved` reply) at most this many times in all. */
#define MAX_ATTEMPTS 4

struct options {
	const char *host, *port, *token, *office, *counter, *key;
	struct host_list hosts; /* host (a list) with port as the default */
	const char *interpreter, *lang, *outcome;
	const char *at, *reference; /* book */
	int minutes;                /* book; 0: not given */
	int priority;
	int timeout_ms;
	int json;
	int help;
	struct conn_tls tls;
};

static volatile int stop_watch;

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kolapp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'kolapp help'.\n");
	exit(EXIT_USAGE);
}

static int parse_timeout(const char *s)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(s, &end);
	if (errno || end == s || *end || !(sec > 0) || sec > 86400)
		usage_error("--timeout wants a number of seconds, not '%s'", s);
	return (int)(sec * 1000 + 0.5);
}

static void check_port(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > 65535)
		usage_error("the port must be a number from 1 to 65535, not '%s'", s);
}

/* KOLAPP_TLS=1 turns TLS on; unset, empty or 0 leaves it off. */
static bool env_tls(void)
{
	const char *v = getenv("KOLAPP_TLS");

	if (!v || !*v || strcmp(v, "0") == 0)
		return false;
	if (strcmp(v, "1") != 0)
		usage_error("KOLAPP_TLS must be 1 or 0, not '%s'", v);
	return true;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_JSON = 256,
		OPT_TIMEOUT,
		OPT_OFFICE,
		OPT_COUNTER,
		OPT_KEY,
		OPT_PRIORITY,
		OPT_INTERPRETER,
		OPT_LANG,
		OPT_OUTCOME,
		OPT_AT,
		OPT_MINUTES,
		OPT_REFERENCE,
		OPT_TLS,
		OPT_CA,
		OPT_INSECURE
	};
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "office", required_argument, NULL, OPT_OFFICE },
		{ "counter", required_argument, NULL, OPT_COUNTER },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "priority", no_argument, NULL, OPT_PRIORITY },
		{ "interpreter", required_argument, NULL, OPT_INTERPRETER },
		{ "lang", required_argument, NULL, OPT_LANG },
		{ "outcome", required_argument, NULL, OPT_OUTCOME },
		{ "at", required_argument, NULL, OPT_AT },
		{ "minutes", required_argument, NULL, OPT_MINUTES },
		{ "reference", required_argument, NULL, OPT_REFERENCE },
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca_opt = NULL;
	bool host_opt = false;
	char why[300];
	int ch;

	o->host = getenv("KOLAPP_HOST");
	o->port = getenv("KOLAPP_PORT");
	o->token = getenv("KOLAPP_TOKEN");
	o->tls.enabled = env_tls();
	o->timeout_ms = 10000;
	/* Our own messages are better than getopt's and end in the hint. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":H:p:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			o->host = optarg;
			host_opt = true;
			break;
		case 'p': o->port = optarg; break;
		case 't': o->token = optarg; break;
		case 'h': o->help = 1; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_TIMEOUT: o->timeout_ms = parse_timeout(optarg); break;
		case OPT_OFFICE: o->office = optarg; break;
		case OPT_COUNTER: o->counter = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_PRIORITY: o->priority = 1; break;
		case OPT_INTERPRETER: o->interpreter = optarg; break;
		case OPT_LANG: o->lang = optarg; break;
		case OPT_OUTCOME: o->outcome = optarg; break;
		case OPT_AT: o->at = optarg; break;
		case OPT_MINUTES: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 100000)
				usage_error("--minutes wants a number of minutes, not '%s'",
					    optarg);
			o->minutes = (int)v;
			break;
		}
		case OPT_REFERENCE: o->reference = optarg; break;
		case OPT_TLS: o->tls.enabled = true; break;
		case OPT_CA: ca_opt = optarg; break;
		case OPT_INSECURE: o->tls.insecure = true; break;
		case ':': usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			/* optopt names a bad short option even inside a group
			 * such as -Jx; a bad long one is only in argv. */
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!o->host || !*o->host)
		o->host = "127.0.0.1";
	if (!o->port || !*o->port)
		o->port = "7878";
	check_port(o->port);
	if (hosts_parse(&o->hosts, o->host, o->port, why, sizeof(why)) < 0)
		usage_error("%s: %s", host_opt ? "-H" : "KOLAPP_HOST", why);
	if (o->token && !*o->token)
		o->token = NULL;
	/* Without TLS these would be silently ignored; a forgotten --tls
	 * must not send the token in the clear unnoticed. */
	if (!o->tls.enabled && ca_opt)
		usage_error("--ca applies to --tls only");
	if (!o->tls.enabled && o->tls.insecure)
		usage_error("--insecure applies to --tls only");
	o->tls.ca_file = ca_opt ? ca_opt : getenv("KOLAPP_CA");
	if (o->tls.ca_file && !*o->tls.ca_file)
		o->tls.ca_file = NULL;
}

/* Appends one request as a line; exits on the impossible (no memory). */
static void add_request(char **buf, size_t *len, json_t *req)
{
	char *line = json_dumps(req, JSON_COMPACT);
	size_t n = line ? strlen(line) : 0;
	char *p = line ? realloc(*buf, *len + n + 2) : NULL;

	json_decref(req);
	if (!p) {
		fprintf(stderr, "kolapp: out of memory\n");
		exit(EXIT_CONNECT);
	}
	memcpy(p + *len, line, n);
	p[*len + n] = '\n';
	p[*len + n + 1] = '\0';
	*buf = p;
	*len += n + 1;
	free(line);
}

static json_t *command_request(const struct command *cmd, const char *arg, const struct options *o)
{
	json_t *req = json_pack("{s:i, s:s}", "id", 1, "op", proto_op_name(cmd->op));
	const char *field = command_field(cmd);

	if (field)
		json_object_set_new(req, field, json_string(arg));
	if (o->key)
		json_object_set_new(req, "key", json_string(o->key));
	if (o->priority)
		json_object_set_new(req, "priority", json_true());
	if (o->interpreter)
		json_object_set_new(req, "interpreter", json_string(o->interpreter));
	if (o->lang)
		json_object_set_new(req, "lang", json_string(o->lang));
	if (o->outcome)
		json_object_set_new(req, "outcome", json_string(o->outcome));
	if (o->at)
		json_object_set_new(req, "starts_at", json_string(o->at));
	if (o->minutes)
		json_object_set_new(req, "minutes", json_integer(o->minutes));
	if (o->reference)
		json_object_set_new(req, "reference", json_string(o->reference));
	if (o->office)
		json_object_set_new(req, "office", json_string(o->office));
	if (o->counter)
		json_object_set_new(req, "counter", json_string(o->counter));
	return req;
}

/* An error reply: on stdout too with --json (scripts read it there),
 * "code: message" on stderr, exit 1. */
static void refused(const json_t *reply, const char *raw, const struct options *o)
	__attribute__((noreturn));

static void refused(const json_t *reply, const char *raw, const struct options *o)
{
	const json_t *err = json_object_get(reply, "error");
	char *dumped = raw ? NULL : json_dumps(reply, JSON_COMPACT);

	if (o->json && (raw || dumped))
		printf("%s\n", raw ? raw : dumped);
	free(dumped);
	fflush(stdout);
	fprintf(stderr, "kolapp: %s: %s\n", jstr_or(err, "code", "error"),
		jstr_or(err, "message", "(no message)"));
	exit(EXIT_REFUSED);
}

static void die_conn(const struct conn *c)
{
	fprintf(stderr, "kolapp: %s\n", c->err);
	exit(EXIT_CONNECT);
}

static void follow_setup(struct follow *f, const struct command *cmd, const struct options *o)
{
	follow_init(f, &o->hosts, command_needs_hello(cmd) ? o->token : NULL, o->timeout_ms,
		    &o->tls);
	f->stop = &stop_watch;
}

/* Reaches a daemon that serves the office, or exits: 1 when the daemons
 * refuse (a bad token; unavailable until --timeout), 3 when none can be
 * reached. *hello is the caller's to free. */
static void follow_or_die(struct follow *f, const struct host_addr *first, struct conn *c,
			  json_t **hello, const struct options *o)
{
	switch (follow_connect(f, first, c, hello)) {
	case FOLLOW_OK: return;
	case FOLLOW_REFUSED: refused(*hello, NULL, o);
	case FOLLOW_UNAVAILABLE:
		fprintf(stderr, "kolapp: unavailable: %s\n", f->err);
		exit(EXIT_REFUSED);
	case FOLLOW_STOPPED: exit(0);
	case FOLLOW_UNREACHABLE: break;
	}
	fprintf(stderr, "kolapp: %s\n", f->err);
	exit(EXIT_CONNECT);
}

/*
 * Whether a request whose answer was lost may simply be sent again:
 * it changes nothing, or a repeat returns what the first did (issue
 * with a key, PROTOCOL.md 6.4; check_in, whose booking code is its key:
 * "the same booking again returns the same ticket"). Other writes may or
 * may not have happened, and a repeat would call or finish twice.
 */
static bool safe_to_repeat(const struct command *cmd, const struct options *o)
{
	if (!proto_op_spec(cmd->op)->writes)
		return true;
	return (cmd->op == OP_ISSUE && o->key) || cmd->op == OP_CHECK_IN;
}

/* Sends the command and bye, and reads the command's reply. */
static enum conn_status exchange(struct conn *c, const struct command *cmd, const char *arg,
				 const struct options *o, json_t **reply, char **raw)
{
	enum conn_status st;
	char *out = NULL;
	size_t outlen = 0;

	add_request(&out, &outlen, command_request(cmd, arg, o));
	add_request(&out, &outlen, json_pack("{s:i, s:s}", "id", 2, "op", "bye"));
	st = conn_send(c, out, outlen, o->timeout_ms);
	free(out);
	if (st != CONN_OK)
		return st;
	return conn_read_reply(c, o->timeout_ms, NULL, NULL, reply, raw);
}

/* The answer was lost with the connection: exits unless the request may
 * be sent again (then says so, on one line). */
static void answer_lost(const struct conn *c, enum conn_status st, const struct command *cmd,
			const struct options *o, int attempt)
{
	const char *op = proto_op_name(cmd->op);

	/* A timeout is a daemon that is there but slow (a commit waiting
	 * for the database): asking again would not be quicker. */
	if (safe_to_repeat(cmd, o) && st != CONN_TIMEOUT && attempt < MAX_ATTEMPTS) {
		fprintf(stderr,
			"kolapp: %s before the answer to %s; asking again (safe to repeat)\n",
			c->err, op);
		return;
	}
	if (safe_to_repeat(cmd, o))
		die_conn(c);
	fprintf(stderr,
		"kolapp: %s before the answer to %s: unknown whether it happened; "
		"check with 'kolapp status' before repeating it%s\n",
		c->err, op, cmd->op == OP_ISSUE ? " (issue --key KEY is safe to repeat)" : "");
	exit(EXIT_CONNECT);
}

/* The reply is in: shows it (exit 1 for an error), waits briefly for bye. */
static void finish(struct conn *c, const struct command *cmd, const struct options *o,
		   json_t *reply, char *raw)
{
	json_t *bye;
	char *bye_raw;

	if (!jtrue(reply, "ok"))
		refused(reply, raw, o);
	if (o->json)
		printf("%s\n", raw);
	else
		cmd->render(reply);
	json_decref(reply);
	free(raw);
	fflush(stdout);
	/* Best effort: the command is done whatever happens to bye. The bye
	 * reply only lets the server close first (a clean close, not a
	 * reset). */
	if (conn_read_reply(c, BYE_WAIT_MS, NULL, NULL, &bye, &bye_raw) == CONN_OK) {
		json_decref(bye);
		free(bye_raw);
	}
}

/*
 * An answer unavailable means nothing was changed (PROTOCOL.md 8): the
 * database is away, or the office is changing hands (15.2: its daemon
 * then closes the connection, and another serves it within seconds). The
 * request may be sent again, through the list, until --timeout has passed
 * since the first such answer; true when it is to be.
 */
static bool try_again_later(const json_t *reply, const struct follow *f, const struct options *o,
			    long long *since, int *backoff)
{
	const json_t *err = json_object_get(reply, "error");
	long long left;

	if (strcmp(jstr_or(err, "code", ""), "unavailable") != 0)
		return false;
	if (*since < 0) {
		*since = now_ms();
		fprintf(stderr, "kolapp: unavailable (%s): nothing was changed; trying again\n",
			jstr_or(err, "message", "no message"));
	}
	left = *since + o->timeout_ms - now_ms();
	if (left <= 0 || !follow_pause(f, *backoff < left ? *backoff : (int)left))
		return false;
	*backoff = *backoff * 2 > FOLLOW_BACKOFF_MAX_MS ? FOLLOW_BACKOFF_MAX_MS : *backoff * 2;
	return true;
}

static int run_once(const struct command *cmd, const char *arg, const struct options *o)
{
	struct host_addr owner, *first = NULL;
	long long unavailable_since = -1;
	int backoff = FOLLOW_BACKOFF_MIN_MS;
	enum conn_status st;
	struct follow f;
	json_t *hello, *reply;
	struct conn c;
	char *raw;

	follow_setup(&f, cmd, o);
	/* attempt counts the sends after a lost answer or a moved reply;
	 * waiting out unavailable is bounded by time instead. */
	for (int attempt = 1;;) {
		follow_or_die(&f, first, &c, &hello, o);
		json_decref(hello);
		first = NULL;
		st = exchange(&c, cmd, arg, o, &reply, &raw);
		if (st != CONN_OK) {
			answer_lost(&c, st, cmd, o, attempt++);
			conn_close(&c);
			continue;
		}
		/* An office that moved while we said hello: nothing was done,
		 * so the request goes to its owner. */
		if (follow_moved_owner(reply, &owner) && attempt++ < MAX_ATTEMPTS) {
			json_decref(reply);
			free(raw);
			conn_close(&c);
			first = &owner;
			continue;
		}
		if (try_again_later(reply, &f, o, &unavailable_since, &backoff)) {
			json_decref(reply);
			free(raw);
			conn_close(&c);
			continue;
		}
		finish(&c, cmd, o, reply, raw);
		conn_close(&c);
		return 0;
	}
}

static void print_event(const char *line, const json_t *ev, int json)
{
	if (json)
		printf("%s\n", line);
	else
		render_event(ev);
	/* Someone may be piping watch into another program: no lag. */
	fflush(stdout);
}

static void on_event_print(const char *line, const json_t *ev, void *arg)
{
	print_event(line, ev, *(const int *)arg);
}

static void on_sigint(int sig)
{
	stop_watch = 1;
}

/* After the connection dropped: what a one-shot command would do, except
 * that every failure to find a daemon again is "connection lost" (3). */
static void reconnect_or_die(struct follow *f, const struct host_addr *first, struct conn *c,
			     json_t **hello, const struct options *o, const char *lost)
{
	switch (follow_connect(f, first, c, hello)) {
	case FOLLOW_OK: return;
	case FOLLOW_REFUSED: refused(*hello, NULL, o);
	case FOLLOW_STOPPED: exit(0);
	default: break;
	}
	fprintf(stderr, "kolapp: %s, and no daemon took over: %s\n", lost, f->err);
	exit(EXIT_CONNECT);
}

/*
 * Reaches a daemon that serves the office and subscribes; the office's
 * code (from hello, or --office) in office. lost is NULL the first time,
 * and after a drop says why it dropped.
 */
static void subscribe(struct follow *f, struct conn *c, const struct options *o, char *office,
		      size_t size, const char *lost)
{
	struct host_addr owner, *first = NULL;
	json_t *hello, *reply, *req;
	char *raw;

	for (int attempt = 1;; attempt++) {
		if (lost)
			reconnect_or_die(f, first, c, &hello, o, lost);
		else
			follow_or_die(f, first, c, &hello, o);
		snprintf(office, size, "%s", o->office ? o->office : jstr_or(hello, "office", "?"));
		json_decref(hello);
		first = NULL;
		req = command_request(command_find("watch"), NULL, o);
		/* Events may slip in before the subscribe reply: show them. */
		if (conn_send_json(c, req, o->timeout_ms) != CONN_OK ||
		    conn_read_reply(c, o->timeout_ms, on_event_print, (void *)&o->json, &reply,
				    &raw) != CONN_OK) {
			json_decref(req);
			if (attempt == MAX_ATTEMPTS)
				die_conn(c);
			conn_close(c);
			continue;
		}
		json_decref(req);
		if (follow_moved_owner(reply, &owner) && attempt < MAX_ATTEMPTS) {
			json_decref(reply);
			free(raw);
			conn_close(c);
			first = &owner;
			continue;
		}
		if (!jtrue(reply, "ok"))
			refused(reply, raw, o);
		json_decref(reply);
		free(raw);
		return;
	}
}

/*
 * Prints events until Ctrl-C (0). When the connection drops (the daemon
 * died, or handed the office over) it goes through the list again,
 * follows `moved` and subscribes anew, saying so in one line on stderr;
 * when no daemon serves the office within --timeout it exits 3.
 */
static int run_watch(const struct command *cmd, const struct options *o)
{
	struct sigaction sa;
	enum conn_status st;
	char office[128], lost[600], at[300];
	struct follow f;
	struct conn c;
	long long down_ms;
	size_t len;
	char *line;
	json_t *v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	/* No SA_RESTART: poll() must return so that we can leave cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	follow_setup(&f, cmd, o);
	subscribe(&f, &c, o, office, sizeof(office), NULL);
	/* From now on a daemon that does not answer may be one restarting,
	 * or the owner that died while another takes over: keep trying. */
	f.retry_unreachable = true;
	if (!o->json)
		fprintf(stderr, "Watching office %s; Ctrl-C to stop.\n", office);
	for (;;) {
		st = conn_read_line(&c, &line, &len, -1, &stop_watch);
		if (st == CONN_INTR)
			break;
		if (st == CONN_OK && (v = conn_parse_line(&c, line, len))) {
			/* Replies have no business here after subscribe. */
			if (json_object_get(v, "event"))
				print_event(line, v, o->json);
			json_decref(v);
			continue;
		}
		snprintf(lost, sizeof(lost), "%s", c.err);
		conn_close(&c);
		down_ms = now_ms();
		subscribe(&f, &c, o, office, sizeof(office), lost);
		fprintf(stderr,
			"kolapp: %s; watching again through %s after %.1f s "
			"(events meanwhile are not shown)\n",
			lost, host_format(&f.at, at, sizeof(at)),
			(double)(now_ms() - down_ms) / 1000);
	}
	conn_close(&c);
	return 0;
}

static int run(const struct command *cmd, const char *arg, const struct options *o)
{
	return cmd->watch ? run_watch(cmd, o) : run_once(cmd, arg, o);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct options o = { 0 };
	const char *arg = NULL;
	int nargs;

	parse_options(argc, argv, &o);
	if (optind >= argc) {
		if (o.help) {
			usage_print(stdout);
			return 0;
		}
		usage_error("no command given");
	}
	nargs = argc - optind - 1;
	if (strcmp(argv[optind], "help") == 0) {
		if (nargs == 0) {
			usage_print(stdout);
			return 0;
		}
		if (nargs > 1)
			usage_error("help takes one command at most");
		cmd = command_find(argv[optind + 1]);
		if (!cmd)
			usage_error("no such command '%s'", argv[optind + 1]);
		command_usage_print(stdout, cmd);
		return 0;
	}
	cmd = command_find(argv[optind]);
	if (!cmd)
		usage_error("no such command '%s'", argv[optind]);
	if (o.help) {
		command_usage_print(stdout, cmd);
		return 0;
	}
	if (command_field(cmd) && nargs != 1)
		usage_error("%s wants %s: kolapp %s %s", cmd->name,
			    nargs == 0 ? "an argument" : "one argument only", cmd->name,
			    cmd->synopsis);
	if (!command_field(cmd) && nargs != 0)
		usage_error("%s takes no argument", cmd->name);
	if (command_field(cmd))
		arg = argv[optind + 1];
	if (o.key && cmd->op != OP_ISSUE)
		usage_error("--key applies to issue only");
	if ((o.priority || o.lang) && cmd->op != OP_ISSUE)
		usage_error("--priority and --lang apply to issue only");
	if (o.interpreter && cmd->op != OP_ISSUE && cmd->op != OP_BOOK)
		usage_error("--interpreter applies to issue and book only");
	if ((o.at || o.minutes || o.reference) && cmd->op != OP_BOOK)
		usage_error("--at, --minutes and --reference apply to book only");
	if (cmd->op == OP_BOOK && !o.at)
		usage_error("book wants --at TIME: kolapp book %s", cmd->synopsis);
	if (o.outcome && cmd->op != OP_FINISH)
		usage_error("--outcome applies to finish only");
	if (command_needs_hello(cmd) && !o.token)
		usage_error("%s needs a token: pass -t TOKEN or set KOLAPP_TOKEN", cmd->name);
	if (strcmp(cmd->name, "board") == 0 || strcmp(cmd->name, "counter") == 0) {
		struct screen_opts so = { &o.hosts,  o.token,      o.office,
					  o.counter, o.timeout_ms, &o.tls };

		return cmd->name[0] == 'b' ? board_main(&so) : counter_main(&so);
	}
	return run(cmd, arg, &o);
}
