/*
 * live: applies configuration changed in psql while kolappd runs. Owns
 * the LISTEN on channel kolapp_config: a revoked token's connections
 * are closed at once, anything else reloads the configuration.
 */
#ifndef KOLAPP_LIVE_H
#define KOLAPP_LIVE_H

struct pgw;
struct engine;
struct server;
struct auth;

#define LIVE_CHANNEL "kolapp_config"

/* Listens on the pgw connection (again after every reconnect). */
void live_attach(struct pgw *pgw, struct engine *engine, struct server *server,
		 struct auth *auth);

#endif
