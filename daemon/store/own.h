/*
 * own: which offices this daemon serves when several share one database
 * (daemons started with a node name). Owns the node's heartbeat in
 * kolapp.nodes, the claim and release of offices through advisory locks
 * held by pgw's session (the one that writes, so that a daemon that lost
 * it cannot write: see sql/014_nodes.sql), and keeping the engine's owner
 * table current. Every second one job, kolapp.d_node_tick, does it all.
 *
 * It also orders the start of service after (re)connecting: the claim
 * first, then the engine's load, so that the load sees what was claimed.
 */
#ifndef KOLAPP_OWN_H
#define KOLAPP_OWN_H

#include <stdbool.h>
#include <event2/event.h>

#include "daemon/engine/engine.h"
#include "daemon/store/pgw.h"

struct own;

struct own_identity {
	const char *node;           /* kolapp.nodes.name */
	const char *advertise;      /* ADDR:PORT for moved */
	const char *advertise_http; /* base URL for pages; NULL: no HTTP */
	int max_offices;            /* 0: its share of all offices */
};

/* Called when this daemon stops serving an office (taken over, moved,
 * released): close what is attached to it. */
typedef void (*own_lost_fn)(void *arg, int office_id, const char *office_code);

/* Turns the engine's ownership on; strings of id are copied. */
struct own *own_new(struct event_base *base, struct pgw *pgw, struct engine *engine,
		    const struct own_identity *id, own_lost_fn lost, void *lost_arg);
void own_free(struct own *own);
/* From pgw's state callback, instead of engine_db_state(): on up, claims
 * first and lets the engine load after. */
void own_db_state(struct own *own, bool up);
void own_set_max(struct own *own, int max_offices);

#endif
