#include "daemon/store/pgstart.h"
#include "daemon/util/xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Defaults first: later keywords win in PQconnectStartParams. JIT is
 * off: the daemon's statements are short writes and whole-table loads,
 * where compiling costs more than it saves (the counters' plans of 5,000
 * counters: 430 ms with it, 76 ms without). */
static const char *const default_keys[] = {
	"keepalives",       "keepalives_idle", "keepalives_interval",
	"keepalives_count", "options",         "fallback_application_name"
};
static const char *const default_vals[] = {
	"1",
	"5",
	"2",
	"3",
	"-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
	"-c tcp_keepalives_count=3 -c jit=off",
	"kolappd"
};
#define NDEFAULTS (sizeof default_keys / sizeof default_keys[0])

static int count_items(const char *list)
{
	int n = 1;

	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}

/* The comma-separated list started at item shift % n; the caller's. A
 * list of one item (a single port for every host) stays as it is. */
static char *rotate(const char *list, unsigned shift)
{
	int n = count_items(list), at = (int)(shift % (unsigned)n);
	size_t len = strlen(list);
	char *out = xmalloc(len + 2), *o = out;
	const char *start = list;

	if (n == 1 || at == 0) {
		memcpy(out, list, len + 1);
		return out;
	}
	for (int i = 0; i < at; i++)
		start = strchr(start, ',') + 1;
	/* start .. end, then the head before it */
	memcpy(o, start, strlen(start));
	o += strlen(start);
	*o++ = ',';
	memcpy(o, list, (size_t)(start - list - 1));
	o += start - list - 1;
	*o = '\0';
	return out;
}

static bool is_host_list(const char *key)
{
	return !strcmp(key, "host") || !strcmp(key, "hostaddr") || !strcmp(key, "port");
}

PGconn *pgstart(const char *conninfo, unsigned shift)
{
	PQconninfoOption *opts, *o;
	const char **keys, **vals;
	char *rotated[3] = { NULL, NULL, NULL };
	int n = 0, nrot = 0, nopts = 0;
	char *err = NULL;
	PGconn *conn;

	opts = PQconninfoParse(conninfo, &err);
	if (!opts) {
		/* libpq reports the same error when it connects: let it. */
		PQfreemem(err);
		keys = xcalloc(NDEFAULTS + 2, sizeof *keys);
		vals = xcalloc(NDEFAULTS + 2, sizeof *vals);
		for (size_t i = 0; i < NDEFAULTS; i++) {
			keys[n] = default_keys[i];
			vals[n++] = default_vals[i];
		}
		keys[n] = "dbname";
		vals[n++] = conninfo;
		conn = PQconnectStartParams(keys, vals, 1);
		free(keys);
		free(vals);
		return conn;
	}
	for (o = opts; o->keyword; o++)
		nopts++;
	keys = xcalloc(NDEFAULTS + (size_t)nopts + 1, sizeof *keys);
	vals = xcalloc(NDEFAULTS + (size_t)nopts + 1, sizeof *vals);
	for (size_t i = 0; i < NDEFAULTS; i++) {
		keys[n] = default_keys[i];
		vals[n++] = default_vals[i];
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		keys[n] = o->keyword;
		if (is_host_list(o->keyword) && strchr(o->val, ',') && nrot < 3)
			vals[n++] = rotated[nrot++] = rotate(o->val, shift);
		else
			vals[n++] = o->val;
	}
	conn = PQconnectStartParams(keys, vals, 0);
	for (int i = 0; i < nrot; i++)
		free(rotated[i]);
	free(keys);
	free(vals);
	PQconninfoFree(opts);
	return conn;
}

int pgstart_timeout_ms(const char *conninfo, int default_ms)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	int ms = default_ms;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "connect_timeout") && o->val && atoi(o->val) > 0)
			ms = atoi(o->val) < 2 ? 2000 : atoi(o->val) * 1000; /* libpq's minimum */
	PQconninfoFree(opts);
	return ms;
}
