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
		"  -f, --config FILE       read settings from FILE (key = value lines)\n"
		"      --check-config      check the configuration and exit\n"
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
	enum { O_HTTP = 256, O_DATA_DIR, O_LISTEN_TLS, O_TLS_CERT, O_TLS_KEY, O_CHECK, O_LEVEL,
	       O_MIGRATE };
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
	return 0;
}

static void replace_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	if (!*dst)
		abort();
}

/* Reads the conninfo from a file, trimmed; the file may hold a password. */
static int read_conninfo_file(const char *path, char **out, char *err, size_t errsize)
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
	replace_str(out, buf);
	return 0;
}

int options_build_config(const struct options *o, bool activated, struct config *cfg,
			 char *err, size_t errsize)
{
	char msg[256];

	config_init(cfg);
	if (o->config_file && config_load_file(cfg, o->config_file, msg, sizeof msg) < 0) {
		snprintf(err, errsize, "%s: %s", o->config_file, msg);
		goto fail;
	}
	/* The command line overrides the file, list by list. */
	if (o->conninfo)
		replace_str(&cfg->conninfo, o->conninfo);
	if (o->data_dir)
		replace_str(&cfg->data_dir, o->data_dir);
	if (o->tls_cert)
		replace_str(&cfg->tls_cert, o->tls_cert);
	if (o->tls_key)
		replace_str(&cfg->tls_key, o->tls_key);
	if (o->level && config_set(cfg, "log_level", o->level, msg, sizeof msg) < 0) {
		snprintf(err, errsize, "--log-level: %s", msg);
		goto fail;
	}
	if (o->nlisten) {
		for (int i = 0; i < cfg->nlisten; i++)
			free(cfg->listen[i]);
		cfg->nlisten = 0;
		for (int i = 0; i < o->nlisten; i++)
			config_add_listen(cfg, o->listen[i]);
	}
	if (o->nlisten_tls) {
		for (int i = 0; i < cfg->nlisten_tls; i++)
			free(cfg->listen_tls[i]);
		cfg->nlisten_tls = 0;
		for (int i = 0; i < o->nlisten_tls; i++)
			config_set(cfg, "listen_tls", o->listen_tls[i], msg, sizeof msg);
	}
	if (o->nhttp) {
		for (int i = 0; i < cfg->nhttp; i++)
			free(cfg->http[i]);
		cfg->nhttp = 0;
		for (int i = 0; i < o->nhttp; i++)
			config_add_http(cfg, o->http[i]);
	}
	if (!cfg->nlisten && !cfg->nlisten_tls && !activated)
		config_add_listen(cfg, "127.0.0.1:7878");
	if (!cfg->conninfo && cfg->conninfo_file &&
	    read_conninfo_file(cfg->conninfo_file, &cfg->conninfo, err, errsize) < 0)
		goto fail;
	if (!cfg->conninfo) {
		snprintf(err, errsize, "no database: pass --conninfo or set conninfo (or conninfo_file) in the config");
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
