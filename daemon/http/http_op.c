/* POST /api/op: one request object of the TCP protocol, checked and
 * answered by the session exactly as on TCP (daemon/net/session.c), with
 * the identity the token gave. This file only carries it: the per-address
 * rate limit, the refusals made before the body is read, and the reply. */
#include "daemon/http/http_int.h"
#include "daemon/net/auth.h"
#include "daemon/net/session.h"
#include "daemon/util/log.h"
#include "daemon/util/metrics.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

bool op_rate_take(struct http *h, const char *host)
{
	struct rate_slot *oldest = &h->rates[0];
	struct timeval tv;
	int64_t now;

	if (h->rate_limit <= 0)
		return true;
	event_base_gettimeofday_cached(h->base, &tv);
	now = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	for (int i = 0; i < HTTP_RATE_SLOTS; i++) {
		struct rate_slot *r = &h->rates[i];

		if (r->host[0] && !strcmp(r->host, host))
			return rate_take(&r->bucket, h->rate_limit, now);
		if (r->bucket.at_us < oldest->bucket.at_us)
			oldest = r;
	}
	/* The address used least recently starts over: forgetting one
	 * only gives it a fresh burst. */
	snprintf(oldest->host, sizeof oldest->host, "%s", host);
	rate_init(&oldest->bucket, h->rate_limit, now);
	return rate_take(&oldest->bucket, h->rate_limit, now);
}

void op_refuse(struct evhttp_request *req, int code, const char *reason, enum proto_err err,
	       const char *message)
{
	size_t len = 0;
	char *body = proto_encode_error(NULL, err, message, &len);

	if (!body)
		xoom("body");
	/* Counted like a TCP request refused before its op was known. */
	metrics_request(-1, err);
	reply_json(req, code, reason, body, len);
	free(body);
}

/* The session's answer: the reply line as TCP would send it. */
static void op_answer(void *arg, char *line, size_t len)
{
	struct pending *p = arg;
	struct evhttp_request *req = p->req;
	bool gone = !req || !evhttp_request_get_connection(req);

	if (gone)
		log_debug("http %s: client left before its answer to /api/op", p->host);
	/* The close callback is let go before the reply, which may close. */
	pending_done(p);
	if (!gone && line)
		reply_json(req, 200, "OK", line, len);
	else if (!gone)
		reply_text(req, 500, "Internal Server Error", "out of memory");
	free(line);
}

void op_office_of(const struct pending *p, const struct auth_identity *who, char *out, size_t outsz)
{
	json_t *body = NULL;
	const char *named = NULL;

	/* Only an admin may name another office, and only for an op that
	 * takes one (as the session decides). A body that does not parse is
	 * the session's to refuse. */
	if (who->role == ROLE_ADMIN) {
		int op;

		body = json_loadb(p->body, p->len, 0, NULL);
		op = proto_op_from_name(json_string_value(json_object_get(body, "op")));
		if (op >= 0 && proto_op_uses((enum proto_op)op, ARG_OFFICE))
			named = json_string_value(json_object_get(body, "office"));
	}
	snprintf(out, outsz, "%s", named ? named : who->office);
	json_decref(body);
}

void op_run(struct http *h, struct pending *p, const struct auth_identity *who)
{
	if (who->role == ROLE_DISPLAY) {
		struct evhttp_request *req = p->req;

		pending_done(p);
		op_refuse(req, 403, "Forbidden", PERR_FORBIDDEN,
			  "a display token may not use /api/op");
		return;
	}
	session_request(h->sctx, who, p->body, p->len, op_answer, p);
}
