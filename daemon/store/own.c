#include "daemon/store/own.h"
#include "daemon/store/pgarray.h"
#include "daemon/util/log.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

/* A dead owner's offices are free as soon as its session ends; they are
 * taken on the tick after the one that saw them free (see d_node_tick's
 * p_orphans), so within two ticks. */
#define OWN_TICK_MS 1000

enum {
	COL_OFFICE_ID,
	COL_OFFICE,
	COL_NODE,
	COL_ADVERTISE,
	COL_HTTP,
	COL_EPOCH,
	COL_MINE,
	COL_RELEASE,
	NCOLS
};

struct id_list {
	int *v;
	int n, cap;
};

struct own {
	struct pgw *pgw;
	struct engine *engine;
	char *node, *advertise, *advertise_http;
	int max_offices;
	own_lost_fn lost;
	void *lost_arg;
	struct event *timer;
	bool up;
	bool in_flight;
	bool engine_started; /* the engine was told the database is up */
	uint64_t generation; /* a tick answered after a reconnect is stale */
	struct id_list release, orphans;
	struct id_list released; /* given up by the tick in flight */
};

static bool ids_has(const struct id_list *l, int id)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

static void ids_add(struct id_list *l, int id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
	}
	l->v[l->n++] = id;
}

static void schedule(struct own *own, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(own->timer, &tv);
}

static const char *col(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

/* Applies one office's row; returns true when this daemon gained it or
 * holds it with a new epoch (then the engine must load it afresh). */
static bool apply_row(struct own *own, const PGresult *r, int row)
{
	int id = atoi(PQgetvalue(r, row, COL_OFFICE_ID));
	const char *code = PQgetvalue(r, row, COL_OFFICE);
	bool mine = !strcmp(PQgetvalue(r, row, COL_MINE), "t");
	bool release = !strcmp(PQgetvalue(r, row, COL_RELEASE), "t");
	int64_t epoch = strtoll(PQgetvalue(r, row, COL_EPOCH), NULL, 10);
	bool had = engine_office_epoch(own->engine, id) > 0;

	/* Free, and not because this daemon just gave it up for another to
	 * take: an owner died. */
	if (!col(r, row, COL_NODE) && !ids_has(&own->released, id))
		ids_add(&own->orphans, id);
	if (mine && release) {
		/* Stop taking changes now; the release runs after what is in
		 * flight, for it queues behind it on the same connection. Until
		 * another daemon has it, nobody serves it (not "moved" to us). */
		log_info("own: releasing office %s (moved or rebalanced)", code);
		ids_add(&own->release, id);
		engine_set_owner(own->engine, id, code, 0, NULL, NULL);
		if (had && own->lost)
			own->lost(own->lost_arg, id, code);
		return false;
	}
	if (mine) {
		if (engine_office_epoch(own->engine, id) == epoch)
			return false;
		log_info("own: serving office %s (epoch %lld)", code, (long long)epoch);
		engine_set_owner(own->engine, id, code, epoch, NULL, NULL);
		return true;
	}
	engine_set_owner(own->engine, id, code, 0, col(r, row, COL_ADVERTISE),
			 col(r, row, COL_HTTP));
	if (had) {
		log_warn("own: no longer serving office %s (now %s)", code,
			 col(r, row, COL_NODE) ? col(r, row, COL_NODE) : "nobody's");
		if (own->lost)
			own->lost(own->lost_arg, id, code);
	}
	return false;
}

static void apply_nodes(struct own *own, const PGresult *r)
{
	int n = PQntuples(r), k = 0;
	const char **http = xcalloc((size_t)n + 1, sizeof *http);

	/* This daemon's first: a page tries its own daemon before others. */
	if (own->advertise_http)
		http[k++] = own->advertise_http;
	for (int i = 0; i < n; i++)
		if (col(r, i, 2) && strcmp(PQgetvalue(r, i, 0), own->node))
			http[k++] = PQgetvalue(r, i, 2);
	engine_set_nodes(own->engine, own->node, http, k);
	free(http);
}

struct tick {
	struct own *own;
	uint64_t generation;
};

static void on_tick(void *arg, const struct pgw_result *res)
{
	struct tick t = *(struct tick *)arg;
	struct own *own = t.own;
	bool gained = false;

	free(arg);
	if (!own || t.generation != own->generation)
		return;
	own->in_flight = false;
	if (!res->ok || res->n != 2 || !res->results[0] || !res->results[1]) {
		log_warn("own: the heartbeat failed: %s", res->error ? res->error : "no rows");
		/* Not given up after all: the next tick tries again. */
		for (int i = 0; i < own->released.n; i++)
			ids_add(&own->release, own->released.v[i]);
		own->released.n = 0;
		if (own->up)
			schedule(own, OWN_TICK_MS);
		return;
	}
	own->orphans.n = 0;
	for (int i = 0; i < PQntuples(res->results[0]); i++)
		gained |= apply_row(own, res->results[0], i);
	apply_nodes(own, res->results[1]);
	if (!own->engine_started) {
		own->engine_started = true;
		engine_db_state(own->engine, true);
	} else if (gained) {
		engine_load(own->engine);
	}
	schedule(own, own->release.n ? 0 : OWN_TICK_MS);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct own *own = arg;
	struct pgw_job *job;
	struct tick *t;
	char max[16], *release, *orphans;

	(void)fd;
	(void)what;
	if (!own->up || own->in_flight)
		return;
	snprintf(max, sizeof max, "%d", own->max_offices);
	release = pgarray_int_literal(own->release.v, NULL, own->release.n);
	/* What this tick gives up is not an orphan in its answer. */
	own->released.n = 0;
	for (int i = 0; i < own->release.n; i++)
		ids_add(&own->released, own->release.v[i]);
	own->release.n = 0;
	orphans = pgarray_int_literal(own->orphans.v, NULL, own->orphans.n);
	const char *v[6] = {
		own->node, own->advertise, own->advertise_http, max, release, orphans
	};
	job = pgw_job_new(false);
	pgw_job_add(job, "d_node_tick", 6, v);
	pgw_job_add(job, "d_nodes", 0, NULL);
	t = xmalloc(sizeof *t);
	*t = (struct tick){ own, own->generation };
	pgw_job_on_done(job, on_tick, t);
	own->in_flight = true;
	pgw_submit(own->pgw, job);
	free(release);
	free(orphans);
}

struct own *own_new(struct event_base *base, struct pgw *pgw, struct engine *engine,
		    const struct own_identity *id, own_lost_fn lost, void *lost_arg)
{
	struct own *own = xcalloc(1, sizeof *own);

	own->pgw = pgw;
	own->engine = engine;
	own->node = xstrdup(id->node);
	own->advertise = xstrdup(id->advertise);
	own->advertise_http = id->advertise_http ? xstrdup(id->advertise_http) : NULL;
	own->max_offices = id->max_offices;
	own->lost = lost;
	own->lost_arg = lost_arg;
	own->timer = evtimer_new(base, tick_cb, own);
	engine_ownership_on(engine);
	return own;
}

void own_free(struct own *own)
{
	if (!own)
		return;
	event_free(own->timer);
	free(own->node);
	free(own->advertise);
	free(own->advertise_http);
	free(own->release.v);
	free(own->orphans.v);
	free(own->released.v);
	free(own);
}

void own_db_state(struct own *own, bool up)
{
	own->up = up;
	own->generation++;
	own->in_flight = false;
	if (!up) {
		/* The session and its locks are gone: claim afresh, then load. */
		own->engine_started = false;
		own->release.n = 0;
		evtimer_del(own->timer);
		engine_db_state(own->engine, false);
		return;
	}
	tick_cb(-1, 0, own);
}

void own_set_max(struct own *own, int max_offices)
{
	own->max_offices = max_offices;
}
