/*
 * config: kolappd's settings, from defaults, then the config file, then
 * the command line. Every setting is one row of config_settings[]: its
 * name, type, place in struct config, bounds, default, whether a reload
 * applies it, and what it is for. Parsing, copying, clearing, comparing
 * and printing all walk that table; nothing else lists the settings.
 * A file is parsed into a fresh struct and validated as a whole before
 * anyone uses it.
 */
#ifndef KOLAPP_CONFIG_H
#define KOLAPP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "daemon/net/server.h"

#define CONFIG_MAX_LISTEN 16

/* Every field is a row of config_settings[]: a field without one would
 * be lost by config_copy() and leaked by config_clear(). */
struct config {
	char *conninfo;
	char *listen[CONFIG_MAX_LISTEN];
	int nlisten;
	char *listen_tls[CONFIG_MAX_LISTEN];
	int nlisten_tls;
	char *tls_cert, *tls_key;      /* PEM files for the TLS listeners */
	char *conninfo_file;           /* a file holding the conninfo (keeps passwords out) */
	char *http[CONFIG_MAX_LISTEN]; /* HTTP listen addresses; none: no HTTP */
	int nhttp;
	char *data_dir;
	char *public_url; /* base of the visitors' URLs (QR codes, receipts) */
	char *node_name, *advertise, *advertise_http; /* several daemons: see own.h */
	int max_offices;
	int estimate_share; /* percent of the loop; 0: no limit */
	int log_level;
	struct server_limits limits;
};

enum config_type {
	CONFIG_STR,   /* char *; NULL when not set */
	CONFIG_LIST,  /* char *[CONFIG_MAX_LISTEN] and an int count; repeatable */
	CONFIG_INT,   /* a whole number from lo to hi in an int */
	CONFIG_SIZE,  /* the same in a size_t */
	CONFIG_LEVEL, /* a log level name, stored as enum log_level in an int */
};

#define CONFIG_RELOAD 0x1 /* a SIGHUP applies it to the running daemon */
#define CONFIG_SECRET 0x2 /* a conninfo: printed with its passwords masked */

struct config_setting {
	const char *name; /* the key in the file */
	enum config_type type;
	size_t offset;       /* of the value (of a list: its array) in struct config */
	size_t count_offset; /* lists: of the int counting the entries */
	long lo, hi;         /* numbers: the bounds, both allowed */
	const char *def;     /* the default as the file would say it; NULL: none */
	unsigned flags;      /* CONFIG_RELOAD, CONFIG_SECRET */
	const char *desc;    /* one line for people */
};

extern const struct config_setting config_settings[];
extern const size_t config_nsettings;

/* The row of a key; NULL when there is none. */
const struct config_setting *config_find(const char *name);

/* Every setting at its default. */
void config_init(struct config *cfg);
void config_clear(struct config *cfg);
/* dst (uninitialised) becomes a deep copy of src. */
void config_copy(struct config *dst, const struct config *src);
/* Sets one key (a list key adds an entry); -1 with a message when the
 * key or value is bad, and cfg is then unchanged. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errsize);
/* Puts one key back to its default (a list to empty); the key must exist. */
void config_reset(struct config *cfg, const char *key);
/* Whether a and b hold the same value of s (lists: the same entries in
 * the same order). */
bool config_equal(const struct config_setting *s, const struct config *a, const struct config *b);
/* Replaces dst's value of s with a copy of src's. */
void config_take(struct config *dst, const struct config *src, const struct config_setting *s);
/* Writes every setting as "name = value" lines in table order: a list
 * once per entry, a setting without a value as "name =". Passwords in a
 * conninfo show as ***. */
void config_print(const struct config *cfg, FILE *out);
/* Reads key = value lines on top of cfg; on error returns -1 and names
 * the line in err. cfg is untouched on error. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errsize);

#endif
