/*
 * config: kolappd's settings, from defaults, then the config file, then
 * the command line. A file is parsed into a fresh struct and validated
 * as a whole before anyone uses it.
 */
#ifndef KOLAPP_CONFIG_H
#define KOLAPP_CONFIG_H

#include <stddef.h>
#include "daemon/net/server.h"

#define CONFIG_MAX_LISTEN 16

struct config {
	char *conninfo;
	char *listen[CONFIG_MAX_LISTEN];
	int nlisten;
	char *listen_tls[CONFIG_MAX_LISTEN];
	int nlisten_tls;
	char *tls_cert, *tls_key;  /* PEM files for the TLS listeners */
	char *conninfo_file;       /* a file holding the conninfo (keeps passwords out) */
	char *http[CONFIG_MAX_LISTEN];  /* HTTP listen addresses; none: no HTTP */
	int nhttp;
	char *data_dir;                 /* NULL: the compiled-in default */
	int log_level;
	struct server_limits limits;
};

void config_init(struct config *cfg);
void config_clear(struct config *cfg);
/* Reads key = value lines into cfg; on error returns -1 and names the
 * line in err. cfg is untouched on error. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errsize);
/* Adds a listen address; -1 when there are too many. */
int config_add_listen(struct config *cfg, const char *addr);
/* Adds an HTTP listen address; -1 when there are too many. */
int config_add_http(struct config *cfg, const char *addr);
/* Sets one key; -1 with a message when the key or value is bad. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errsize);

#endif
