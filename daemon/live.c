#include "daemon/live.h"
#include "daemon/net/auth.h"
#include "daemon/engine/engine.h"
#include "daemon/util/log.h"
#include "daemon/store/pgw.h"
#include "daemon/net/server.h"
#include "daemon/net/session.h"
#include "daemon/http/http.h"

#include <string.h>
#include <jansson.h>

struct live {
	struct engine *engine;
	struct server *server;
	struct http *http;
	struct auth *auth;
};

static struct live the_live;

static void on_notify(void *arg, const char *channel, const char *payload)
{
	struct live *l = arg;
	json_t *p = json_loads(payload ? payload : "", 0, NULL);
	const char *table = json_string_value(json_object_get(p, "table"));

	if (table && !strcmp(table, "tokens")) {
		int id = (int)json_integer_value(json_object_get(p, "id"));
		if (json_is_true(json_object_get(p, "revoked")) && id > 0) {
			auth_forget(l->auth, id);
			int n = session_close_token(l->server, id);
			int ns = http_close_token(l->http, id);
			log_info("token %d revoked: closed %d connection(s) and %d event stream(s)",
				 id, n, ns);
		}
	} else {
		/* Cheap to reload whole, and no change can be half-applied. */
		engine_config_changed(l->engine);
	}
	json_decref(p);
}

void live_attach(struct pgw *pgw, struct engine *engine, struct server *server, struct http *http,
		 struct auth *auth)
{
	the_live.engine = engine;
	the_live.server = server;
	the_live.http = http;
	the_live.auth = auth;
	pgw_set_listen(pgw, LIVE_CHANNEL, on_notify, &the_live);
}
