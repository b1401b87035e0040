#include "daemon/config.h"
#include "daemon/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <ini.h>

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->log_level = LOG_INFO;
	server_limits_default(&cfg->limits);
}

void config_clear(struct config *cfg)
{
	free(cfg->conninfo);
	for (int i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i]);
	for (int i = 0; i < cfg->nlisten_tls; i++)
		free(cfg->listen_tls[i]);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->conninfo_file);
	for (int i = 0; i < cfg->nhttp; i++)
		free(cfg->http[i]);
	free(cfg->data_dir);
	memset(cfg, 0, sizeof *cfg);
}

int config_add_listen(struct config *cfg, const char *addr)
{
	if (cfg->nlisten == CONFIG_MAX_LISTEN)
		return -1;
	cfg->listen[cfg->nlisten] = strdup(addr);
	if (!cfg->listen[cfg->nlisten])
		abort();
	cfg->nlisten++;
	return 0;
}

int config_add_http(struct config *cfg, const char *addr)
{
	if (cfg->nhttp == CONFIG_MAX_LISTEN)
		return -1;
	cfg->http[cfg->nhttp] = strdup(addr);
	if (!cfg->http[cfg->nhttp])
		abort();
	cfg->nhttp++;
	return 0;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errsize)
{
	long n;

	if (!strcmp(key, "conninfo")) {
		free(cfg->conninfo);
		cfg->conninfo = strdup(value);
		return 0;
	}
	if (!strcmp(key, "listen")) {
		if (config_add_listen(cfg, value) < 0) {
			snprintf(err, errsize, "too many listen addresses (at most %d)", CONFIG_MAX_LISTEN);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "http")) {
		if (config_add_http(cfg, value) < 0) {
			snprintf(err, errsize, "too many http addresses (at most %d)", CONFIG_MAX_LISTEN);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "data_dir")) {
		free(cfg->data_dir);
		cfg->data_dir = strdup(value);
		if (!cfg->data_dir)
			abort();
		return 0;
	}
	if (!strcmp(key, "listen_tls")) {
		if (cfg->nlisten_tls == CONFIG_MAX_LISTEN) {
			snprintf(err, errsize, "too many listen_tls addresses (at most %d)",
				 CONFIG_MAX_LISTEN);
			return -1;
		}
		cfg->listen_tls[cfg->nlisten_tls] = strdup(value);
		if (!cfg->listen_tls[cfg->nlisten_tls++])
			abort();
		return 0;
	}
	if (!strcmp(key, "conninfo_file")) {
		free(cfg->conninfo_file);
		cfg->conninfo_file = strdup(value);
		if (!cfg->conninfo_file)
			abort();
		return 0;
	}
	if (!strcmp(key, "tls_cert") || !strcmp(key, "tls_key")) {
		char **dst = key[4] == 'c' ? &cfg->tls_cert : &cfg->tls_key;
		free(*dst);
		*dst = strdup(value);
		if (!*dst)
			abort();
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		int l = log_level_parse(value);
		if (l < 0) {
			snprintf(err, errsize, "log_level must be debug, info, warn or error");
			return -1;
		}
		cfg->log_level = l;
		return 0;
	}
	struct { const char *key; long lo, hi; } ints[] = {
		{ "max_line", 256, 16 << 20 },
		{ "max_output", 4096, 1L << 30 },
		{ "max_pending", 1, 100000 },
		{ "max_connections", 1, 1000000 },
		{ "hello_timeout", 0, 86400 },
		{ "idle_timeout", 0, 86400 * 7 },
		{ "rate_limit", 0, 1000000 },
	};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		if (strcmp(key, ints[i].key))
			continue;
		if (parse_long(value, ints[i].lo, ints[i].hi, &n) < 0) {
			snprintf(err, errsize, "%s must be a whole number from %ld to %ld", key,
				 ints[i].lo, ints[i].hi);
			return -1;
		}
		switch (i) {
		case 0: cfg->limits.max_line = (size_t)n; break;
		case 1: cfg->limits.max_output = (size_t)n; break;
		case 2: cfg->limits.max_pending = (int)n; break;
		case 3: cfg->limits.max_connections = (int)n; break;
		case 4: cfg->limits.hello_timeout_s = (int)n; break;
		case 5: cfg->limits.idle_timeout_s = (int)n; break;
		case 6: cfg->limits.rate_limit = (int)n; break;
		}
		return 0;
	}
	snprintf(err, errsize, "unknown setting %s", key);
	return -1;
}

struct load_state {
	struct config *cfg;
	char msg[160];             /* the first error; inih reports its line */
	bool failed;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	char msg[160];

	if (st->failed)
		return 1;
	if (section && *section) {
		snprintf(st->msg, sizeof st->msg, "sections are not used ([%s])", section);
		st->failed = true;
		return 0;
	}
	if (config_set(st->cfg, name, value, msg, sizeof msg) < 0) {
		snprintf(st->msg, sizeof st->msg, "%s", msg);
		st->failed = true;
		return 0;
	}
	return 1;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errsize)
{
	struct config fresh;
	struct load_state st = { .cfg = &fresh };
	FILE *f;
	int rc;

	/* Parse onto a copy so that a bad file changes nothing. */
	config_init(&fresh);
	fresh.log_level = cfg->log_level;
	fresh.limits = cfg->limits;
	if (cfg->conninfo)
		fresh.conninfo = strdup(cfg->conninfo);
	for (int i = 0; i < cfg->nlisten; i++)
		config_add_listen(&fresh, cfg->listen[i]);
	for (int i = 0; i < cfg->nlisten_tls; i++)
		config_set(&fresh, "listen_tls", cfg->listen_tls[i], err, errsize);
	if (cfg->tls_cert)
		fresh.tls_cert = strdup(cfg->tls_cert);
	if (cfg->tls_key)
		fresh.tls_key = strdup(cfg->tls_key);
	for (int i = 0; i < cfg->nhttp; i++)
		config_add_http(&fresh, cfg->http[i]);
	if (cfg->data_dir)
		fresh.data_dir = strdup(cfg->data_dir);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		config_clear(&fresh);
		return -1;
	}
	rc = ini_parse_file(f, on_ini, &st);
	fclose(f);
	if (rc != 0) {
		snprintf(err, errsize, "line %d: %s", rc, st.failed ? st.msg : "not a key = value line");
		config_clear(&fresh);
		return -1;
	}
	config_clear(cfg);
	*cfg = fresh;
	return 0;
}
