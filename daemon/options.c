#include "daemon/options.h"
#include "daemon/notify.h"
#include "build_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef KOLAPP_DATADIR
#define KOLAPP_DATADIR "/usr/local/share/kolapp"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kolappd [OPTIONS]\n"
		"The kolapp queue-ticketing daemon.\n\n"
		"  -c, --conninfo STR      PostgreSQL connection string (or set it in the config)\n"
		"  -l, --listen ADDR:PORT  listen for clients (repeatable; [::1]:7878 for IPv6;\n"
		"                          default 127.0.0.1:7878)\n"
		"      --listen-tls ADDR:PORT  the same protocol over TLS (repeatable)\n"
		"      --tls-cert FILE     certificate chain (PEM) for the TLS listeners\n"
		"      --tls-key FILE      private key (PEM) for the TLS listeners\n"
		"      --http ADDR:PORT    serve the display board and the HTTP API (repeatable)\n"
		"      --data-dir DIR      where board/ is (default " KOLAPP_DATADIR ")\n"
		"      --node-name NAME    this daemon's name when several share a database\n"
		"      --advertise ADDR:PORT  the TCP address other daemons send clients to\n"
		"      --advertise-http URL   the HTTP base URL other daemons redirect pages to\n"
		"  -f, --config FILE       read settings from FILE (key = value lines)\n"
		"      --check-config      check the configuration, print it and exit\n"
		"      --migrate           create or upgrade the database schema, then exit\n"
		"      --log-level LEVEL   debug, info, warn or error (default info)\n"
		"  -V, --version           print the version and exit\n"
		"  -h, --help              print this help and exit\n\n"
		"Signals: SIGTERM or SIGINT stop cleanly; SIGHUP re-reads the config file.\n");
}

static int add(const char **list, int *n, const char *v, const char *what)
{
	if (*n == CONFIG_MAX_LISTEN) {
		fprintf(stderr, "kolappd: at most %d %s\n", CONFIG_MAX_LISTEN, what);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

int options_parse(struct options *o, int argc, char **argv)
{
	enum {
		O_HTTP = 256,
		O_DATA_DIR,
		O_LISTEN_TLS,
		O_TLS_CERT,
		O_TLS_KEY,
		O_CHECK,
		O_LEVEL,
		O_MIGRATE,
		O_NODE_NAME,
		O_ADVERTISE,
		O_ADVERTISE_HTTP
	};
	static const struct option opts[] = {
		{ "conninfo", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'f' },
		{ "listen-tls", required_argument, NULL, O_LISTEN_TLS },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "http", required_argument, NULL, O_HTTP },
		{ "data-dir", required_argument, NULL, O_DATA_DIR },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "migrate", no_argument, NULL, O_MIGRATE },
		{ "log-level", required_argument, NULL, O_LEVEL },
		{ "node-name", required_argument, NULL, O_NODE_NAME },
		{ "advertise", required_argument, NULL, O_ADVERTISE },
		{ "advertise-http", required_argument, NULL, O_ADVERTISE_HTTP },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof *o);
	while ((ch = getopt_long(argc, argv, "c:l:f:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conninfo = optarg; break;
		case 'f': o->config_file = optarg; break;
		case O_MIGRATE: o->action = ACTION_MIGRATE; break;
		case O_CHECK: o->action = ACTION_CHECK_CONFIG; break;
		case O_LEVEL: o->level = optarg; break;
		case O_DATA_DIR: o->data_dir = optarg; break;
		case O_TLS_CERT: o->tls_cert = optarg; break;
		case O_TLS_KEY: o->tls_key = optarg; break;
		case O_NODE_NAME: o->node_name = optarg; break;
		case O_ADVERTISE: o->advertise = optarg; break;
		case O_ADVERTISE_HTTP: o->advertise_http = optarg; break;
		case 'l':
			if (add(o->listen, &o->nlisten, optarg, "--listen") < 0)
				return 2;
			break;
		case O_LISTEN_TLS:
			if (add(o->listen_tls, &o->nlisten_tls, optarg, "--listen-tls") < 0)
				return 2;
			break;
		case O_HTTP:
			if (add(o->http, &o->nhttp, optarg, "--http") < 0)
				return 2;
			break;
		case 'V':
			printf("kolappd %s (protocol 1%s)\n", PACKAGE_VERSION,
			       notify_supported() ? ", +systemd" : "");
			exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kolappd: unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* Sets conninfo from a file, trimmed; the file may hold a password. */
static int read_conninfo_file(const char *path, struct config *cfg, char *err, size_t errsize)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errsize, "conninfo_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!n) {
		snprintf(err, errsize, "conninfo_file %s is empty", path);
		return -1;
	}
	return config_set(cfg, "conninfo", buf, err, errsize);
}

int options_build_config(const struct options *o, bool activated, struct config *cfg, char *err,
			 size_t errsize)
{
	/* What each option sets: the same table row as the file's key. */
	const struct {
		const char *option, *key, *value;
	} one[] = {
		{ "--conninfo", "conninfo", o->conninfo },
		{ "--data-dir", "data_dir", o->data_dir },
		{ "--tls-cert", "tls_cert", o->tls_cert },
		{ "--tls-key", "tls_key", o->tls_key },
		{ "--log-level", "log_level", o->level },
		{ "--node-name", "node_name", o->node_name },
		{ "--advertise", "advertise", o->advertise },
		{ "--advertise-http", "advertise_http", o->advertise_http },
	};
	const struct {
		const char *option, *key;
		const char *const *values;
		int n;
	} lists[] = {
		{ "--listen", "listen", o->listen, o->nlisten },
		{ "--listen-tls", "listen_tls", o->listen_tls, o->nlisten_tls },
		{ "--http", "http", o->http, o->nhttp },
	};
	char msg[256];

	config_init(cfg);
	if (o->config_file && config_load_file(cfg, o->config_file, msg, sizeof msg) < 0) {
		snprintf(err, errsize, "%s: %s", o->config_file, msg);
		goto fail;
	}
	/* The command line overrides the file, list by list. */
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		if (!one[i].value)
			continue;
		if (config_set(cfg, one[i].key, one[i].value, msg, sizeof msg) < 0) {
			snprintf(err, errsize, "%s: %s", one[i].option, msg);
			goto fail;
		}
	}
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		if (!lists[i].n)
			continue;
		config_reset(cfg, lists[i].key);
		for (int j = 0; j < lists[i].n; j++) {
			const char *v = lists[i].values[j];

			if (config_set(cfg, lists[i].key, v, msg, sizeof msg) < 0) {
				snprintf(err, errsize, "%s: %s", lists[i].option, msg);
				goto fail;
			}
		}
	}
	if (!cfg->nlisten && !cfg->nlisten_tls && !activated &&
	    config_set(cfg, "listen", "127.0.0.1:7878", err, errsize) < 0)
		goto fail;
	if (!cfg->conninfo && cfg->conninfo_file &&
	    read_conninfo_file(cfg->conninfo_file, cfg, err, errsize) < 0)
		goto fail;
	if (!cfg->conninfo) {
		snprintf(err, errsize,
			 "no database: pass --conninfo or set conninfo (or conninfo_file) in the "
			 "config");
		goto fail;
	}
	if (cfg->nlisten_tls && (!cfg->tls_cert || !cfg->tls_key)) {
		snprintf(err, errsize, "TLS listeners need tls_cert and tls_key");
		goto fail;
	}
	return 0;
fail:
	config_clear(cfg);
	return -1;
}
