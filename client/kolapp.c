/*
 * kolapp: the command-line client of kolappd.
 *
 * Parses the command line, then runs one short session: hello (unless
 * ping), the command, bye. The requests are pipelined in one write; the
 * contract answers them in order, so the replies are read in turn.
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

struct options {
	const char *host, *port, *token, *office, *counter, *key;
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

/* "[::1]" as people write it in URLs; getaddrinfo wants "::1". */
static const char *strip_brackets(const char *host)
{
	size_t n = strlen(host);
	char *h;

	if (n < 2 || host[0] != '[' || host[n - 1] != ']')
		return host;
	h = strndup(host + 1, n - 2);
	return h ? h : host;
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
		case 'H': o->host = optarg; break;
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
	o->host = strip_brackets(o->host);
	check_port(o->port);
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

static void die_conn(const struct conn *c)
{
	fprintf(stderr, "kolapp: %s\n", c->err);
	exit(EXIT_CONNECT);
}

/* Reads the next reply; on an error reply reports it and exits 1. */
static json_t *expect_ok(struct conn *c, const struct options *o, conn_event_fn on_event,
			 bool print_raw)
{
	const json_t *err;
	json_t *reply;
	char *raw;

	if (conn_read_reply(c, o->timeout_ms, on_event, NULL, &reply, &raw) != CONN_OK)
		die_conn(c);
	if (!jtrue(reply, "ok")) {
		err = json_object_get(reply, "error");
		/* Scripts using --json get the reply itself on stdout too. */
		if (o->json)
			printf("%s\n", raw);
		fprintf(stderr, "kolapp: %s: %s\n", jstr_or(err, "code", "error"),
			jstr_or(err, "message", "(no message)"));
		exit(EXIT_REFUSED);
	}
	if (print_raw)
		printf("%s\n", raw);
	free(raw);
	return reply;
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

static void on_event_json(const char *line, const json_t *ev, void *arg)
{
	print_event(line, ev, 1);
}

static void on_event_human(const char *line, const json_t *ev, void *arg)
{
	print_event(line, ev, 0);
}

static void on_sigint(int sig)
{
	stop_watch = 1;
}

/* After subscribe: print events until Ctrl-C (0) or the server goes (3). */
static int watch_loop(struct conn *c, const struct options *o, const char *office)
{
	struct sigaction sa;
	enum conn_status st;
	char *line;
	size_t len;
	json_t *v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	/* No SA_RESTART: poll() must return so that we can leave cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!o->json)
		fprintf(stderr, "Watching office %s; Ctrl-C to stop.\n", office);
	for (;;) {
		st = conn_read_line(c, &line, &len, -1, &stop_watch);
		if (st == CONN_INTR)
			return 0;
		if (st != CONN_OK)
			die_conn(c);
		v = conn_parse_line(c, line, len);
		if (!v)
			die_conn(c);
		/* Replies have no business here after subscribe; drop them. */
		if (json_object_get(v, "event"))
			print_event(line, v, o->json);
		json_decref(v);
	}
}

static int run(const struct command *cmd, const char *arg, const struct options *o)
{
	conn_event_fn on_event = NULL;
	json_t *hello = NULL, *reply;
	char *out = NULL, *raw;
	size_t outlen = 0;
	struct conn c;
	int rc = 0;

	if (command_needs_hello(cmd))
		add_request(&out, &outlen,
			    json_pack("{s:i, s:s, s:s}", "id", 0, "op", "hello", "token",
				      o->token));
	add_request(&out, &outlen, command_request(cmd, arg, o));
	if (!cmd->watch)
		add_request(&out, &outlen, json_pack("{s:i, s:s}", "id", 2, "op", "bye"));

	if (conn_open(&c, o->host, o->port, o->timeout_ms, &o->tls) < 0)
		die_conn(&c);
	if (conn_send(&c, out, outlen, o->timeout_ms) != CONN_OK)
		die_conn(&c);
	free(out);

	if (command_needs_hello(cmd))
		hello = expect_ok(&c, o, NULL, false);
	if (cmd->watch) {
		/* Events may slip in before the subscribe reply: show them. */
		on_event = o->json ? on_event_json : on_event_human;
		json_decref(expect_ok(&c, o, on_event, false));
		rc = watch_loop(&c, o, o->office ? o->office : jstr_or(hello, "office", "?"));
	} else {
		reply = expect_ok(&c, o, NULL, o->json);
		if (!o->json)
			cmd->render(reply);
		json_decref(reply);
		fflush(stdout);
		/* Best effort: the command is done whatever happens to bye. */
		if (conn_read_reply(&c, BYE_WAIT_MS, NULL, NULL, &reply, &raw) == CONN_OK) {
			json_decref(reply);
			free(raw);
		}
	}
	json_decref(hello);
	conn_close(&c);
	return rc;
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
		struct screen_opts so = { o.host,    o.port,       o.token, o.office,
					  o.counter, o.timeout_ms, &o.tls };

		return cmd->name[0] == 'b' ? board_main(&so) : counter_main(&so);
	}
	return run(cmd, arg, &o);
}
