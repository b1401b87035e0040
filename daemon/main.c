/*
 * kolappd: start-up, signals, reload and shutdown. Everything else lives
 * in the modules: options/config, pgw (database), engine (queues),
 * server (sockets), session (what a client may do), auth (tokens),
 * http (board and API), live (psql changes), notify (systemd).
 */
#include "build_config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <event2/event.h>

#include "daemon/net/auth.h"
#include "daemon/config.h"
#include "daemon/engine/engine.h"
#include "daemon/http/http.h"
#include "daemon/live.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"
#include "daemon/store/migrate.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "daemon/store/own.h"
#include "daemon/store/pgw.h"
#include "daemon/net/server.h"
#include "daemon/net/session.h"
#include "daemon/store/statements.h"
#include "daemon/store/store_pg.h"
#include "daemon/tokens.h"

#define SHUTDOWN_GRACE_MS 5000

#ifndef KOLAPP_DATADIR
#define KOLAPP_DATADIR "/usr/local/share/kolapp"
#endif

struct daemon {
	struct options opts;
	struct config cfg;
	int activated_fds; /* sockets passed by systemd */
	struct event_base *base;
	struct pgw *pgw;
	struct pgw *reads; /* the estimator's history (store_pg.h) */
	struct store_pg_conns conns;
	struct engine *engine;
	struct auth *auth;
	struct server *server;
	struct http *http; /* NULL without --http */
	struct own *own;   /* NULL without a node name: this daemon serves every office */
	struct session_ctx sctx;
	struct event *sigterm, *sigint, *sighup, *tick, *shutdown_step, *watchdog;
	bool listening;
	bool stopping;
	int shutdown_ticks;
	int exit_code;
};

static void fail_start(struct daemon *d)
{
	d->exit_code = 1;
	event_base_loopexit(d->base, NULL);
}

static int open_listeners(struct daemon *d)
{
	for (int i = 0; i < d->activated_fds; i++) {
		char name[32];
		snprintf(name, sizeof name, "systemd socket %d", 3 + i);
		if (server_adopt_fd(d->server, 3 + i, name) < 0)
			return -1;
	}
	for (int i = 0; i < d->cfg.nlisten; i++)
		if (server_listen(d->server, d->cfg.listen[i]) < 0)
			return -1;
	for (int i = 0; i < d->cfg.nlisten_tls; i++)
		if (server_listen_tls(d->server, d->cfg.listen_tls[i]) < 0)
			return -1;
	for (int i = 0; i < d->cfg.nhttp; i++)
		if (http_listen(d->http, d->cfg.http[i]) < 0)
			return -1;
	return 0;
}

static void on_loaded(void *arg, bool ok)
{
	struct daemon *d = arg;

	if (!ok || d->listening || d->stopping)
		return;
	/* Accept clients only once the offices are in memory. */
	if (open_listeners(d) < 0) {
		fail_start(d);
		return;
	}
	d->listening = true;
	log_info("kolappd %s ready", PACKAGE_VERSION);
	notify_ready("serving");
}

static void on_db_state(void *arg, bool up)
{
	struct daemon *d = arg;

	if (d->own)
		own_db_state(d->own, up);
	else
		engine_db_state(d->engine, up);
}

static void office_lost(void *arg, int office_id, const char *office_code)
{
	struct daemon *d = arg;
	int n = session_close_office(d->server, office_code);

	(void)office_id;
	if (n)
		log_info("office %s: closed %d connection(s); they reconnect to its daemon",
			 office_code, n);
}

/* The identity other daemons send clients to: by default the first
 * listener's address and the first HTTP address. */
static int start_own(struct daemon *d)
{
	char addr[300], http[320];
	struct own_identity id = { .node = d->cfg.node_name, .max_offices = d->cfg.max_offices };

	if (!d->cfg.node_name)
		return 0;
	if (d->cfg.advertise) {
		id.advertise = d->cfg.advertise;
	} else if (d->cfg.nlisten) {
		snprintf(addr, sizeof addr, "%s", d->cfg.listen[0]);
		id.advertise = addr;
		if (!strncmp(addr, "0.0.0.0:", 8) || !strncmp(addr, "[::]:", 5))
			log_warn("node %s advertises %s, which clients cannot connect to: set "
				 "advertise",
				 d->cfg.node_name, addr);
	} else {
		log_error("node_name %s needs advertise (no plain TCP listener to advertise)",
			  d->cfg.node_name);
		return -1;
	}
	if (d->cfg.advertise_http) {
		id.advertise_http = d->cfg.advertise_http;
	} else if (d->cfg.nhttp) {
		snprintf(http, sizeof http, "http://%s", d->cfg.http[0]);
		id.advertise_http = http;
	}
	d->own = own_new(d->base, d->pgw, d->engine, &id, office_lost, d);
	log_info("node %s: serving the offices it owns; others are sent to %s", d->cfg.node_name,
		 "their owners");
	return 0;
}

/* Engine events go to the protocol's subscribers and to HTTP's. */
static void emit_both(void *arg, const struct engine_event *ev)
{
	struct daemon *d = arg;

	http_emit(d->http, ev);
	server_emit(d->server, ev->office_id, ev->line, ev->len);
}

static void emit_flush(void *arg)
{
	struct daemon *d = arg;

	server_emit_flush(d->server);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	engine_tick(d->engine);
}

/* From the loop itself: a loop that is stuck stops petting the dog. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_watchdog();
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
	notify_stopping();
	server_stop_listening(d->server);
	event_add(d->shutdown_step, &tv);
}

static bool in_list(char *const *list, int n, const char *v)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

struct unlisten_walk {
	struct daemon *d;
	const struct config *fresh;
	char gone[2 * CONFIG_MAX_LISTEN][80];
	bool gone_tls[2 * CONFIG_MAX_LISTEN];
	int ngone;
};

static void find_gone(void *arg, const char *addr, bool tls)
{
	struct unlisten_walk *w = arg;
	bool keep = tls ? in_list(w->fresh->listen_tls, w->fresh->nlisten_tls, addr)
			: in_list(w->fresh->listen, w->fresh->nlisten, addr);

	/* Sockets systemd passed are not ours to close. */
	if (keep || !strncmp(addr, "systemd", 7) || w->ngone == 2 * CONFIG_MAX_LISTEN)
		return;
	snprintf(w->gone[w->ngone], sizeof w->gone[0], "%s", addr);
	w->gone_tls[w->ngone++] = tls;
}

/* Applies a validated configuration: what can change live does. The
 * rest keeps its running value, so that d->cfg says what runs and a
 * later reload warns again. */
static void apply_config(struct daemon *d, struct config *fresh)
{
	struct unlisten_walk w = { .d = d, .fresh = fresh };

	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];

		if ((s->flags & CONFIG_RELOAD) || config_equal(s, fresh, &d->cfg))
			continue;
		log_warn("reload: %s changes only at a restart", s->name);
		config_take(fresh, &d->cfg, s);
	}
	log_set_level((enum log_level)fresh->log_level);
	server_set_limits(d->server, &fresh->limits);
	http_set_limits(d->http, &fresh->limits);
	http_set_public_url(d->http, fresh->public_url);
	if (d->own)
		own_set_max(d->own, fresh->max_offices);
	engine_set_estimate_share(d->engine, fresh->estimate_share);
	if (fresh->nlisten_tls && server_set_tls(d->server, fresh->tls_cert, fresh->tls_key) < 0)
		log_warn("reload: keeping the old TLS certificate");
	server_each_listener(d->server, find_gone, &w);
	for (int i = 0; i < w.ngone; i++)
		server_unlisten(d->server, w.gone[i], w.gone_tls[i]);
	for (int i = 0; i < fresh->nlisten; i++)
		if (!server_has_listener(d->server, fresh->listen[i], false))
			server_listen(d->server, fresh->listen[i]);
	for (int i = 0; i < fresh->nlisten_tls; i++)
		if (!server_has_listener(d->server, fresh->listen_tls[i], true))
			server_listen_tls(d->server, fresh->listen_tls[i]);
	config_clear(&d->cfg);
	d->cfg = *fresh;
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config fresh;
	char err[512];

	notify_reloading();
	if (options_build_config(&d->opts, d->activated_fds > 0, &fresh, err, sizeof err) < 0) {
		/* A bad file changes nothing: the running configuration stays. */
		log_error("reload refused: %s; keeping the running configuration", err);
	} else {
		apply_config(d, &fresh);
		log_info("configuration reloaded");
	}
	notify_ready("serving");
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

/* Start-up's check, on the daemon's own connection before its first
 * load: an unmigrated database is an operator's mistake to report, not a
 * state to retry. A daemon without a node name serves every office: it
 * is refused where named daemons serve them (the two would both write
 * the same offices). A database not reachable at start-up is checked
 * when it is reached. */
static const char *const startup_check_sql[] = {
	migrate_version_sql,
	"SELECT string_agg(name, ', ') FROM kolapp.live_nodes",
};

static enum pgw_verdict startup_check(void *arg, PGresult *const *r, int n)
{
	struct daemon *d = arg;
	char msg[1024];

	(void)n;
	if (migrate_judge(r[0], msg, sizeof msg) < 0) {
		log_error("%s", msg);
	} else if (d->cfg.node_name) {
		return PGW_CHECK_PASS;
	} else if (PQresultStatus(r[1]) != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r[1]);

		log_error("reading kolapp.live_nodes failed: %.*s", (int)strcspn(m, "\n"), m);
	} else if (!PQgetisnull(r[1], 0, 0)) {
		log_error("daemons with node names serve this database (%s): give this one a "
			  "node_name too (PROTOCOL.md section 15)",
			  PQgetvalue(r[1], 0, 0));
	} else {
		return PGW_CHECK_PASS;
	}
	fail_start(d);
	return PGW_CHECK_STOP;
}

static void add_events(struct daemon *d)
{
	static const struct timeval one_second = { 1, 0 };
	uint64_t wd = notify_watchdog_usec();

	d->sigterm = evsignal_new(d->base, SIGTERM, signal_cb, d);
	d->sigint = evsignal_new(d->base, SIGINT, signal_cb, d);
	d->sighup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	d->tick = event_new(d->base, -1, EV_PERSIST, tick_cb, d);
	d->shutdown_step = event_new(d->base, -1, EV_PERSIST, shutdown_step_cb, d);
	event_add(d->sigterm, NULL);
	event_add(d->sigint, NULL);
	event_add(d->sighup, NULL);
	event_add(d->tick, &one_second);
	if (wd) {
		struct timeval half = { (time_t)(wd / 2 / 1000000),
					(suseconds_t)(wd / 2 % 1000000) };
		d->watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		event_add(d->watchdog, &half);
	}
}

static void free_all(struct daemon *d)
{
	server_free(d->server);
	http_free(d->http);
	pgw_free(d->reads);
	pgw_free(d->pgw); /* before own: a job it fails may call own back */
	own_free(d->own);
	engine_free(d->engine);
	auth_free(d->auth);
	event_free(d->sigterm);
	event_free(d->sigint);
	event_free(d->sighup);
	event_free(d->tick);
	event_free(d->shutdown_step);
	if (d->watchdog)
		event_free(d->watchdog);
	event_base_free(d->base);
	config_clear(&d->cfg);
	libevent_global_shutdown();
}

int main(int argc, char **argv)
{
	struct daemon d;
	char err[512];
	int rc;

	memset(&d, 0, sizeof d);
	rc = options_parse(&d.opts, argc, argv);
	if (rc)
		return rc;
	d.activated_fds = d.opts.action == ACTION_RUN ? notify_listen_fds() : 0;
	if (options_build_config(&d.opts, d.activated_fds > 0, &d.cfg, err, sizeof err) < 0) {
		fprintf(stderr, "kolappd: %s\n", err);
		return d.opts.action == ACTION_CHECK_CONFIG ? 1 : 2;
	}
	if (d.opts.action == ACTION_CHECK_CONFIG) {
		config_print(&d.cfg, stdout);
		printf("kolappd: configuration OK\n");
		config_clear(&d.cfg);
		return 0;
	}
	log_set_level((enum log_level)d.cfg.log_level);
	if (d.opts.action == ACTION_MIGRATE) {
		rc = run_migrate(d.cfg.conninfo);
		config_clear(&d.cfg);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (!d.base) {
		log_error("cannot create the event loop");
		return 1;
	}
	d.pgw = pgw_new(d.base, d.cfg.conninfo, kolapp_statements, kolapp_statements_count,
			on_db_state, &d);
	pgw_set_check(d.pgw, startup_check_sql, 2, startup_check, &d);
	struct engine_hooks hooks = {
		.emit = emit_both, .emit_flush = emit_flush, .loaded = on_loaded, .loaded_arg = &d
	};
	d.reads = pgw_new(d.base, d.cfg.conninfo, kolapp_read_statements,
			  kolapp_read_statements_count, NULL, NULL);
	pgw_set_secondary(d.reads, "database (reads)");
	d.conns = (struct store_pg_conns){ d.pgw, d.reads };
	struct engine_store store = store_pg(&d.conns);
	d.engine = engine_new(&store, &hooks);
	struct auth_source tokens = tokens_source(d.pgw);
	d.auth = auth_new(&tokens);
	d.sctx.engine = d.engine;
	d.sctx.auth = d.auth;
	struct server_handler handler;
	session_handler(&d.sctx, &handler);
	d.server = server_new(d.base, &handler, &d.cfg.limits);
	if (d.cfg.nlisten_tls && server_set_tls(d.server, d.cfg.tls_cert, d.cfg.tls_key) < 0) {
		free_all(&d);
		return 1;
	}
	if (d.cfg.nhttp)
		d.http = http_new(d.base, &d.sctx, d.cfg.data_dir ? d.cfg.data_dir : KOLAPP_DATADIR,
				  &d.cfg.limits);
	http_set_metrics(d.http, d.server);
	http_set_public_url(d.http, d.cfg.public_url);
	/* The emit hook needs the server and http, made after the engine. */
	engine_set_emit_arg(d.engine, &d);
	engine_set_estimate_share(d.engine, d.cfg.estimate_share);
	live_attach(d.pgw, d.engine, d.server, d.http, d.auth);
	add_events(&d);
	if (start_own(&d) < 0) {
		free_all(&d);
		return 1;
	}

	pgw_start(d.pgw);
	event_base_dispatch(d.base);

	log_info("kolappd stopped");
	free_all(&d);
	return d.exit_code;
}
