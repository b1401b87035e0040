/*
 * kolappd: start-up, signals and shutdown. Everything else lives in the
 * modules: config, pgw (database), engine (queues), server (sockets),
 * session (what a client may do), auth (tokens).
 */
#include "build_config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <event2/event.h>

#include "daemon/auth.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/live.h"
#include "daemon/log.h"
#include "daemon/migrate.h"
#include "daemon/pgw.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/statements.h"

#define SHUTDOWN_GRACE_MS 5000

struct daemon {
	struct config cfg;
	struct event_base *base;
	struct pgw *pgw;
	struct engine *engine;
	struct auth *auth;
	struct server *server;
	struct session_ctx sctx;
	struct event *sigterm, *sigint, *tick, *shutdown_step;
	bool listening;
	bool stopping;
	int shutdown_ticks;
	int exit_code;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kolappd [OPTIONS]\n"
		"The kolapp queue-ticketing daemon.\n\n"
		"  -c, --conninfo STR    PostgreSQL connection string (or set it in the config)\n"
		"  -l, --listen ADDR:PORT  listen for clients (repeatable; [::1]:7878 for IPv6;\n"
		"                        default 127.0.0.1:7878)\n"
		"  -f, --config FILE     read settings from FILE (key = value lines)\n"
		"      --migrate         create or upgrade the database schema, then exit\n"
		"      --log-level LEVEL debug, info, warn or error (default info)\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n");
}

static void on_loaded(void *arg, bool ok)
{
	struct daemon *d = arg;

	if (!ok || d->listening || d->stopping)
		return;
	/* Accept clients only once the offices are in memory. */
	for (int i = 0; i < d->cfg.nlisten; i++)
		if (server_listen(d->server, d->cfg.listen[i]) < 0) {
			d->exit_code = 1;
			event_base_loopexit(d->base, NULL);
			return;
		}
	d->listening = true;
	log_info("kolappd %s ready", PACKAGE_VERSION);
}

static void on_db_state(void *arg, bool up)
{
	struct daemon *d = arg;
	engine_db_state(d->engine, up);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	engine_tick(d->engine);
}

/* Waits for commits in flight to answer, then lets replies drain. */
static void shutdown_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	bool deadline = ++d->shutdown_ticks * 20 >= SHUTDOWN_GRACE_MS;

	if (!deadline && !pgw_is_idle(d->pgw))
		return;
	server_close_all(d->server);
	event_del(d->shutdown_step);
	event_base_loopexit(d->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, 20000 };

	if (d->stopping) {
		log_warn("second signal: exiting at once");
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = true;
	log_info("signal %d: shutting down", (int)sig);
	server_stop_listening(d->server);
	event_add(d->shutdown_step, &tv);
}

static int run_migrate(const char *conninfo)
{
	char msg[1024];

	if (migrate_run(conninfo, msg, sizeof msg) < 0) {
		log_error("migrate: %s", msg);
		return 1;
	}
	log_info("migrate: %s", msg);
	return 0;
}

/* One blocking check before the loop starts: an unmigrated database is
 * an operator's mistake to report, not a state to retry. */
static int check_schema(const char *conninfo)
{
	char msg[1024], *ci;
	PGconn *conn;
	int rc = 0;

	if (asprintf(&ci, "%s connect_timeout=5", conninfo) < 0)
		return -1;
	conn = PQconnectdb(ci);
	free(ci);
	if (PQstatus(conn) != CONNECTION_OK) {
		log_warn("database not reachable at start-up (%s); will keep trying",
			 strtok(PQerrorMessage(conn), "\n"));
	} else if (migrate_check_current(conn, msg, sizeof msg) < 0) {
		log_error("%s", msg);
		rc = -1;
	}
	PQfinish(conn);
	return rc;
}

static int parse_args(struct daemon *d, int argc, char **argv, bool *migrate)
{
	static const struct option opts[] = {
		{ "conninfo", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'f' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL, *config_file = NULL, *level = NULL;
	const char *listens[CONFIG_MAX_LISTEN];
	int nlisten = 0, ch;
	char err[256];

	while ((ch = getopt_long(argc, argv, "c:l:f:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conninfo = optarg; break;
		case 'f': config_file = optarg; break;
		case 'm': *migrate = true; break;
		case 'L': level = optarg; break;
		case 'l':
			if (nlisten == CONFIG_MAX_LISTEN) {
				fprintf(stderr, "kolappd: at most %d --listen\n", CONFIG_MAX_LISTEN);
				return 2;
			}
			listens[nlisten++] = optarg;
			break;
		case 'V':
			printf("kolappd %s (protocol 1)\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kolappd: unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	if (config_file && config_load_file(&d->cfg, config_file, err, sizeof err) < 0) {
		fprintf(stderr, "kolappd: %s: %s\n", config_file, err);
		return 2;
	}
	/* The command line overrides the file. */
	if (conninfo) {
		free(d->cfg.conninfo);
		d->cfg.conninfo = strdup(conninfo);
	}
	if (level && config_set(&d->cfg, "log_level", level, err, sizeof err) < 0) {
		fprintf(stderr, "kolappd: --log-level: %s\n", err);
		return 2;
	}
	if (nlisten) {
		for (int i = 0; i < d->cfg.nlisten; i++)
			free(d->cfg.listen[i]);
		d->cfg.nlisten = 0;
		for (int i = 0; i < nlisten; i++)
			config_add_listen(&d->cfg, listens[i]);
	}
	if (!d->cfg.nlisten)
		config_add_listen(&d->cfg, "127.0.0.1:7878");
	if (!d->cfg.conninfo) {
		fprintf(stderr, "kolappd: no database: pass --conninfo or set conninfo in the config\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d;
	bool migrate = false;
	struct timeval one_second = { 1, 0 };
	int rc;

	memset(&d, 0, sizeof d);
	config_init(&d.cfg);
	rc = parse_args(&d, argc, argv, &migrate);
	if (rc) {
		config_clear(&d.cfg);
		return rc;
	}
	log_set_level((enum log_level)d.cfg.log_level);
	if (migrate) {
		rc = run_migrate(d.cfg.conninfo);
		config_clear(&d.cfg);
		return rc;
	}
	if (check_schema(d.cfg.conninfo) < 0) {
		config_clear(&d.cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (!d.base) {
		log_error("cannot create the event loop");
		return 1;
	}
	d.pgw = pgw_new(d.base, d.cfg.conninfo, kolapp_statements, kolapp_statements_count,
			on_db_state, &d);
	struct engine_hooks hooks = { .emit = server_emit, .loaded = on_loaded, .loaded_arg = &d };
	d.engine = engine_new(d.pgw, &hooks);
	d.auth = auth_new(d.pgw);
	d.sctx.engine = d.engine;
	d.sctx.auth = d.auth;
	d.server = server_new(d.base, &d.sctx, &d.cfg.limits);
	/* The emit hook needs the server, made after the engine. */
	engine_set_emit_arg(d.engine, d.server);
	live_attach(d.pgw, d.engine, d.server, d.auth);

	d.sigterm = evsignal_new(d.base, SIGTERM, signal_cb, &d);
	d.sigint = evsignal_new(d.base, SIGINT, signal_cb, &d);
	d.tick = event_new(d.base, -1, EV_PERSIST, tick_cb, &d);
	d.shutdown_step = event_new(d.base, -1, EV_PERSIST, shutdown_step_cb, &d);
	event_add(d.sigterm, NULL);
	event_add(d.sigint, NULL);
	event_add(d.tick, &one_second);

	pgw_start(d.pgw);
	event_base_dispatch(d.base);

	log_info("kolappd stopped");
	server_free(d.server);
	pgw_free(d.pgw);
	engine_free(d.engine);
	auth_free(d.auth);
	event_free(d.sigterm);
	event_free(d.sigint);
	event_free(d.tick);
	event_free(d.shutdown_step);
	event_base_free(d.base);
	config_clear(&d.cfg);
	libevent_global_shutdown();
	return d.exit_code;
}
