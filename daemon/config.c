#include "daemon/config.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"
#include "proto/proto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <ini.h>

#ifndef KOLAPP_DATADIR
#define KOLAPP_DATADIR "/usr/local/share/kolapp"
#endif

#define XSTR(x) STR_(x)
#define STR_(x) #x

/*
 * The rows. Each macro lets _Generic check the field's C type against
 * the row's type, so a row pointing at the wrong field does not compile.
 */
#define FIELD(f) (((struct config *)0)->f)
#define STR(name_, f, def_, flags_, desc_) \
	{ \
		.name = name_, .type = _Generic(FIELD(f), char *: CONFIG_STR),                 \
	  .offset = offsetof(struct config, f), .def = def_, .flags = flags_, .desc = desc_ \
	}
#define LIST(name_, f, nf, flags_, desc_) \
	{ \
		.name = name_, .type = _Generic(FIELD(f)[0], char *: CONFIG_LIST),             \
	  .offset = offsetof(struct config, f), .count_offset = offsetof(struct config, nf), \
	  .flags = flags_, .desc = desc_ \
	}
#define NUM(name_, f, lo_, hi_, def_, flags_, desc_) \
	{ \
		.name = name_, \
		.type = _Generic(FIELD(f), int \
				 : CONFIG_INT, size_t \
				 : CONFIG_SIZE), \
		.offset = offsetof(struct config, f), .lo = lo_, .hi = hi_, .def = def_, \
		.flags = flags_, .desc = desc_ \
	}
#define LEVEL(name_, f, def_, flags_, desc_) \
	{ \
		.name = name_, \
		.type = _Generic(FIELD(f), int \
				 : CONFIG_LEVEL), \
		.offset = offsetof(struct config, f), .def = def_, .flags = flags_, .desc = desc_ \
	}

const struct config_setting config_settings[] = {
	STR("conninfo", conninfo, NULL, CONFIG_SECRET,
	    "PostgreSQL connection string (libpq key=value or URI)"),
	STR("conninfo_file", conninfo_file, NULL, 0,
	    "file holding the connection string, read when conninfo is not set"),
	/* With no listener at all, options.c adds 127.0.0.1:7878. */
	LIST("listen", listen, nlisten, CONFIG_RELOAD,
	     "plain TCP listener for the protocol, ADDR:PORT or [V6ADDR]:PORT"),
	LIST("listen_tls", listen_tls, nlisten_tls, CONFIG_RELOAD,
	     "TLS listener for the protocol, ADDR:PORT; needs tls_cert and tls_key"),
	STR("tls_cert", tls_cert, NULL, CONFIG_RELOAD,
	    "certificate chain (PEM) of the TLS listeners"),
	STR("tls_key", tls_key, NULL, CONFIG_RELOAD, "private key (PEM) of the TLS listeners"),
	LIST("http", http, nhttp, 0, "HTTP listener for the board, the API and metrics, ADDR:PORT"),
	STR("data_dir", data_dir, KOLAPP_DATADIR, 0,
	    "directory holding the display board's files (board/)"),
	STR("public_url", public_url, NULL, CONFIG_RELOAD,
	    "base URL of the visitors' pages, printed on receipts and in their QR codes "
	    "(https://ko.example.se); unset: the address the kiosk used"),
	STR("node_name", node_name, NULL, 0,
	    "this daemon's name among several on one database (kolapp.nodes); unset: the "
	    "host name and the first listener's port"),
	STR("advertise", advertise, NULL, 0,
	    "ADDR:PORT clients should use for this daemon's TCP listener (sent with moved); "
	    "unset: the first listener"),
	STR("advertise_http", advertise_http, NULL, 0,
	    "base URL of this daemon's HTTP listener for other daemons' redirects "
	    "(http://10.0.0.5:8080); unset: http:// and the first --http address"),
	NUM("max_offices", max_offices, 0, 1000000, "0", CONFIG_RELOAD,
	    "offices this daemon takes at most; 0: its share (all offices over the live daemons)"),
	NUM("estimate_share", estimate_share, 0, 100, "10", CONFIG_RELOAD,
	    "percent of the daemon's time the waiting-time estimator may take; beyond it "
	    "an office's estimates are made again at most every 250 ms, new tickets' in "
	    "between extrapolated, and none once a second's share is spent; 0: no limit"),
	LEVEL("log_level", log_level, "info", CONFIG_RELOAD,
	      "least severe level logged: debug, info, warn or error"),
	NUM("max_line", limits.max_line, 256, 16 << 20, XSTR(PROTO_DEFAULT_MAX_LINE), CONFIG_RELOAD,
	    "longest request line in bytes"),
	NUM("max_output", limits.max_output, 4096, 1L << 30, "4194304", CONFIG_RELOAD,
	    "bytes queued for a client that does not read before it is dropped"),
	NUM("max_pending", limits.max_pending, 1, 100000, "256", CONFIG_RELOAD,
	    "requests in flight on one connection before reading from it pauses"),
	NUM("max_connections", limits.max_connections, 1, 1000000, "20000", CONFIG_RELOAD,
	    "open client connections in all"),
	NUM("hello_timeout", limits.hello_timeout_s, 0, 86400, "30", CONFIG_RELOAD,
	    "seconds a new connection may take to say hello; 0: no limit"),
	NUM("idle_timeout", limits.idle_timeout_s, 0, 86400 * 7, "0", CONFIG_RELOAD,
	    "seconds of silence before an authenticated connection is closed; 0: never"),
	NUM("rate_limit", limits.rate_limit, 0, 1000000, "2000", CONFIG_RELOAD,
	    "requests per second on one connection (and per address on POST /api/op), bursts of "
	    "twice that; 0: no limit"),
};
const size_t config_nsettings = sizeof config_settings / sizeof config_settings[0];

/* Where a row's value lives in one config (a typedef keeps CAT's const
 * on the pointer, not on the characters). */
typedef char *string;
#define AT(cfg, s, type) ((type *)(void *)((char *)(cfg) + (s)->offset))
#define CAT(cfg, s, type) ((const type *)(const void *)((const char *)(cfg) + (s)->offset))
#define COUNT(cfg, s) ((int *)(void *)((char *)(cfg) + (s)->count_offset))
#define CCOUNT(cfg, s) ((const int *)(const void *)((const char *)(cfg) + (s)->count_offset))

const struct config_setting *config_find(const char *name)
{
	for (size_t i = 0; i < config_nsettings; i++)
		if (!strcmp(config_settings[i].name, name))
			return &config_settings[i];
	return NULL;
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

static int set_value(struct config *cfg, const struct config_setting *s, const char *value,
		     char *err, size_t errsize)
{
	int *count, level;
	char **str;
	long n;

	switch (s->type) {
	case CONFIG_STR:
		str = AT(cfg, s, string);
		free(*str);
		*str = xstrdup(value);
		return 0;
	case CONFIG_LIST:
		count = COUNT(cfg, s);
		if (*count == CONFIG_MAX_LISTEN) {
			snprintf(err, errsize, "too many %s addresses (at most %d)", s->name,
				 CONFIG_MAX_LISTEN);
			return -1;
		}
		AT(cfg, s, string)[(*count)++] = xstrdup(value);
		return 0;
	case CONFIG_INT:
	case CONFIG_SIZE:
		if (parse_long(value, s->lo, s->hi, &n) < 0) {
			snprintf(err, errsize, "%s must be a whole number from %ld to %ld", s->name,
				 s->lo, s->hi);
			return -1;
		}
		if (s->type == CONFIG_INT)
			*AT(cfg, s, int) = (int)n;
		else
			*AT(cfg, s, size_t) = (size_t)n;
		return 0;
	case CONFIG_LEVEL:
		level = log_level_parse(value);
		if (level < 0) {
			snprintf(err, errsize, "%s must be debug, info, warn or error", s->name);
			return -1;
		}
		*AT(cfg, s, int) = level;
		return 0;
	}
	abort();
}

/* Frees what one row holds and leaves it not set. */
static void release(struct config *cfg, const struct config_setting *s)
{
	switch (s->type) {
	case CONFIG_STR:
		free(*AT(cfg, s, string));
		*AT(cfg, s, string) = NULL;
		break;
	case CONFIG_LIST:
		for (int i = 0; i < *COUNT(cfg, s); i++)
			free(AT(cfg, s, string)[i]);
		*COUNT(cfg, s) = 0;
		break;
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_LEVEL: break;
	}
}

static void set_default(struct config *cfg, const struct config_setting *s)
{
	char err[160];

	/* A default the row's own parser refuses is a bug in the table. */
	if (s->def && set_value(cfg, s, s->def, err, sizeof err) < 0)
		abort();
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < config_nsettings; i++)
		set_default(cfg, &config_settings[i]);
}

void config_clear(struct config *cfg)
{
	for (size_t i = 0; i < config_nsettings; i++)
		release(cfg, &config_settings[i]);
	memset(cfg, 0, sizeof *cfg);
}

void config_reset(struct config *cfg, const char *key)
{
	const struct config_setting *s = config_find(key);

	if (!s)
		abort();
	release(cfg, s);
	set_default(cfg, s);
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errsize)
{
	const struct config_setting *s = config_find(key);

	if (!s) {
		snprintf(err, errsize, "unknown setting %s", key);
		return -1;
	}
	return set_value(cfg, s, value, err, errsize);
}

/* Copies one row from src into dst, where that row holds nothing. */
static void copy_value(struct config *dst, const struct config *src, const struct config_setting *s)
{
	const char *str;

	switch (s->type) {
	case CONFIG_STR:
		str = *CAT(src, s, string);
		*AT(dst, s, string) = str ? xstrdup(str) : NULL;
		break;
	case CONFIG_LIST:
		for (int i = 0; i < *CCOUNT(src, s); i++)
			AT(dst, s, string)[i] = xstrdup(CAT(src, s, string)[i]);
		*COUNT(dst, s) = *CCOUNT(src, s);
		break;
	case CONFIG_INT:
	case CONFIG_LEVEL: *AT(dst, s, int) = *CAT(src, s, int); break;
	case CONFIG_SIZE: *AT(dst, s, size_t) = *CAT(src, s, size_t); break;
	}
}

void config_copy(struct config *dst, const struct config *src)
{
	memset(dst, 0, sizeof *dst);
	for (size_t i = 0; i < config_nsettings; i++)
		copy_value(dst, src, &config_settings[i]);
}

void config_take(struct config *dst, const struct config *src, const struct config_setting *s)
{
	release(dst, s);
	copy_value(dst, src, s);
}

static bool same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

bool config_equal(const struct config_setting *s, const struct config *a, const struct config *b)
{
	switch (s->type) {
	case CONFIG_STR: return same_str(*CAT(a, s, string), *CAT(b, s, string));
	case CONFIG_LIST:
		if (*CCOUNT(a, s) != *CCOUNT(b, s))
			return false;
		for (int i = 0; i < *CCOUNT(a, s); i++)
			if (strcmp(CAT(a, s, string)[i], CAT(b, s, string)[i]))
				return false;
		return true;
	case CONFIG_INT:
	case CONFIG_LEVEL: return *CAT(a, s, int) == *CAT(b, s, int);
	case CONFIG_SIZE: return *CAT(a, s, size_t) == *CAT(b, s, size_t);
	}
	abort();
}

/* A key whose value is a password: password, sslpassword. */
static bool secret_key(const char *key, size_t len)
{
	return len >= 8 && !strncmp(key + len - 8, "password", 8);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The same for a URI's query key, which libpq reads %-decoded. */
static bool secret_uri_key(const char *key, size_t len)
{
	char buf[256];
	size_t n = 0;

	/* Longer than any keyword: not libpq's to read, but not ours to show. */
	if (len >= sizeof buf)
		return true;
	for (size_t i = 0; i < len; i++) {
		if (key[i] == '%' && i + 2 < len && hexval(key[i + 1]) >= 0 &&
		    hexval(key[i + 2]) >= 0) {
			buf[n++] = (char)(hexval(key[i + 1]) * 16 + hexval(key[i + 2]));
			i += 2;
		} else {
			buf[n++] = key[i];
		}
	}
	return secret_key(buf, n);
}

/* The URI form: postgresql://user:PASSWORD@host/db?password=PASSWORD&... */
static void print_masked_uri(const char *ci, const char *rest, FILE *out)
{
	const char *at, *colon, *q, *end;

	/* libpq ends the user info at the first @ before any /, even past a
	 * ?; masking to the last one also hides a password with a bare @. */
	at = memrchr(rest, '@', strcspn(rest, "/"));
	colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (colon) {
		fwrite(ci, 1, (size_t)(colon + 1 - ci), out);
		fputs("***", out);
		ci = at;
	}
	/* Parameters from the first ?, even inside what was masked: a value
	 * that runs on past the mask is masked from there. */
	for (q = strchr(rest, '?'); q; q = *end ? end : NULL) {
		const char *key = q + 1, *eq, *from;

		end = key + strcspn(key, "&");
		eq = memchr(key, '=', (size_t)(end - key));
		if (!eq || end <= ci || !secret_uri_key(key, (size_t)(eq - key)))
			continue;
		from = eq + 1 > ci ? eq + 1 : ci;
		fwrite(ci, 1, (size_t)(from - ci), out);
		fputs("***", out);
		ci = end;
	}
	fputs(ci, out);
}

/*
 * Writes a conninfo with every password shown as ***. The key=value form
 * is scanned the way libpq reads it (blanks around =, 'quoted values'
 * with \ escapes); what cannot be scanned is not shown at all, as it
 * might be a secret.
 */
static void print_masked(const char *ci, FILE *out)
{
	static const char blanks[] = " \t\n\r\f\v";
	const char *p = ci, *key, *value;
	size_t keylen;

	if (!strncmp(ci, "postgresql://", 13) || !strncmp(ci, "postgres://", 11)) {
		print_masked_uri(ci, strstr(ci, "://") + 3, out);
		return;
	}
	/* Without an =, libpq takes the whole string as a database name. */
	if (!strchr(ci, '=')) {
		fputs(ci, out);
		return;
	}
	for (;;) {
		p += strspn(p, blanks);
		if (!*p)
			break;
		key = p;
		p += strcspn(p, "= \t\n\r\f\v");
		keylen = (size_t)(p - key);
		p += strspn(p, blanks);
		if (*p != '=' || !keylen)
			goto unreadable;
		p++;
		p += strspn(p, blanks);
		value = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p != '\'')
				goto unreadable;
			p++;
		} else {
			for (; *p && !strchr(blanks, *p); p++)
				if (*p == '\\' && p[1])
					p++;
		}
		if (secret_key(key, keylen)) {
			fwrite(ci, 1, (size_t)(value - ci), out);
			fputs("***", out);
			ci = p;
		}
	}
	fputs(ci, out);
	return;
unreadable:
	fwrite(ci, 1, (size_t)(key - ci), out);
	fputs("***", out);
}

void config_print(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *str;

		switch (s->type) {
		case CONFIG_STR:
			str = *CAT(cfg, s, string);
			if (!str) {
				fprintf(out, "%s =\n", s->name);
			} else if (s->flags & CONFIG_SECRET) {
				fprintf(out, "%s = ", s->name);
				print_masked(str, out);
				fputc('\n', out);
			} else {
				fprintf(out, "%s = %s\n", s->name, str);
			}
			break;
		case CONFIG_LIST:
			if (!*CCOUNT(cfg, s))
				fprintf(out, "%s =\n", s->name);
			for (int j = 0; j < *CCOUNT(cfg, s); j++)
				fprintf(out, "%s = %s\n", s->name, CAT(cfg, s, string)[j]);
			break;
		case CONFIG_INT: fprintf(out, "%s = %d\n", s->name, *CAT(cfg, s, int)); break;
		case CONFIG_SIZE: fprintf(out, "%s = %zu\n", s->name, *CAT(cfg, s, size_t)); break;
		case CONFIG_LEVEL:
			fprintf(out, "%s = %s\n", s->name,
				log_level_name((enum log_level) * CAT(cfg, s, int)));
			break;
		}
	}
}

struct load_state {
	struct config *cfg;
	char msg[160]; /* the first error; inih reports its line */
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
	config_copy(&fresh, cfg);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		config_clear(&fresh);
		return -1;
	}
	rc = ini_parse_file(f, on_ini, &st);
	fclose(f);
	if (rc != 0) {
		snprintf(err, errsize, "line %d: %s", rc,
			 st.failed ? st.msg : "not a key = value line");
		config_clear(&fresh);
		return -1;
	}
	config_clear(cfg);
	*cfg = fresh;
	return 0;
}
