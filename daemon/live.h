/*
 * live: applies configuration changed in psql while kolappd runs. Owns
 * the LISTEN on channel kolapp_config: a revoked token's connections
 * and event streams are closed at once, anything else reloads the
 * configuration.
 */
#ifndef KOLAPP_LIVE_H
#define KOLAPP_LIVE_H

struct pgw;
struct engine;
struct server;
struct http;
struct auth;

#define LIVE_CHANNEL "kolapp_config"

/* Listens on the pgw connection (again after every reconnect). http may
 * be NULL (no --http). */
void live_attach(struct pgw *pgw, struct engine *engine, struct server *server, struct http *http,
		 struct auth *auth);

#endif
