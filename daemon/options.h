/*
 * options: kolappd's command line, and the configuration it yields
 * together with the config file. Owns the rule that the command line
 * overrides the file, also on every reload.
 */
#ifndef KOLAPP_OPTIONS_H
#define KOLAPP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/config.h"

enum options_action { ACTION_RUN, ACTION_MIGRATE, ACTION_CHECK_CONFIG };

struct options {
	enum options_action action;
	const char *config_file;
	const char *conninfo, *level, *data_dir, *tls_cert, *tls_key;
	const char *node_name, *advertise, *advertise_http;
	const char *listen[CONFIG_MAX_LISTEN];
	int nlisten;
	const char *listen_tls[CONFIG_MAX_LISTEN];
	int nlisten_tls;
	const char *http[CONFIG_MAX_LISTEN];
	int nhttp;
};

/* Parses argv; exits for --help and --version. Returns 0, or 2 on a
 * usage error (already reported). */
int options_parse(struct options *o, int argc, char **argv);

/*
 * Builds a complete configuration: defaults, then the config file, then
 * the command line. `activated` says systemd passed listening sockets
 * (then no default listener is added). On error returns -1 with a
 * message naming the file and line; *cfg is then cleared.
 */
int options_build_config(const struct options *o, bool activated, struct config *cfg, char *err,
			 size_t errsize);

#endif
