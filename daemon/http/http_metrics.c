/* GET /metrics: the tallies of daemon/util/metrics.c, the connections by
 * role and the engine's queues, in Prometheus text format. */
#include "daemon/http/http_int.h"
#include "daemon/engine/engine.h"
#include "daemon/net/session.h"
#include "daemon/util/metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>

static void histogram(struct evbuffer *out, const char *name, const char *help,
		      const struct metrics_hist *h, const double *bounds, size_t n)
{
	uint64_t cum = 0;

	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < n; i++) {
		cum += h->buckets[i];
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
				    (unsigned long long)cum);
	}
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
			    (unsigned long long)h->count, name, h->sum, name,
			    (unsigned long long)h->count);
}

struct queue_walk {
	const struct engine *e;
	struct evbuffer *out;
	int64_t now_us;
	int pass;
	char last_office[64]; /* pass 2: the office whose line is out */
};

static bool served_here(const struct engine *e, const char *office)
{
	const char *addr, *http;

	return engine_owner_of(e, office, &addr, &http) == OWNER_MINE;
}

/* A label value in the exposition format: \, " and newline escaped. */
static void label_value(struct evbuffer *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

/* Label values here are codes the database constrains to [A-Za-z0-9_-]. */
static void queue_line(void *arg, const char *office, const char *queue, int waiting,
		       int64_t oldest_us)
{
	struct queue_walk *w = arg;

	if (w->pass == 2) {
		/* Queues come office by office: one line per office. */
		if (!strcmp(w->last_office, office))
			return;
		snprintf(w->last_office, sizeof w->last_office, "%s", office);
		evbuffer_add_printf(w->out, "kolapp_office_served{office=\"%s\"} %d\n", office,
				    served_here(w->e, office));
		return;
	}
	if (w->pass == 0)
		evbuffer_add_printf(w->out,
				    "kolapp_tickets_waiting{office=\"%s\",queue=\"%s\"} %d\n",
				    office, queue, waiting);
	else
		evbuffer_add_printf(w->out,
				    "kolapp_longest_wait_seconds{office=\"%s\",queue=\"%s\"} "
				    "%.3f\n",
				    office, queue,
				    oldest_us ? (double)(w->now_us - oldest_us) / 1e6 : 0.0);
}

void http_metrics_render(struct evbuffer *out, struct server *srv, const struct engine *e)
{
	const struct metrics *m = metrics_get();
	int by_role[ROLE__COUNT] = { 0 };
	struct timespec ts;
	struct queue_walk w = { e, out, 0, 0, "" };
	const char *node = engine_node_name(e);

	session_count_roles(srv, by_role);
	evbuffer_add_printf(out, "# HELP kolapp_connections Open client connections by role.\n"
				 "# TYPE kolapp_connections gauge\n");
	for (int r = 0; r < ROLE__COUNT; r++)
		evbuffer_add_printf(out, "kolapp_connections{role=\"%s\"} %d\n",
				    proto_role_name((enum proto_role)r), by_role[r]);
	evbuffer_add_printf(out,
			    "# HELP kolapp_requests_total Requests answered, by op and outcome.\n"
			    "# TYPE kolapp_requests_total counter\n");
	for (int op = 0; op < METRICS_NOPS; op++)
		for (int err = 0; err < METRICS_NERRS; err++)
			if (m->requests[op][err])
				evbuffer_add_printf(out,
						    "kolapp_requests_total{op=\"%s\",outcome=\"%"
						    "s\"} %llu\n",
						    op < OP__COUNT
							    ? proto_op_name((enum proto_op)op)
							    : "invalid",
						    proto_err_code((enum proto_err)err),
						    (unsigned long long)m->requests[op][err]);
	histogram(out, "kolapp_commit_seconds", "Time from sending a write batch to its commit.",
		  &m->commit_seconds, metrics_latency_bounds, METRICS_NLAT);
	histogram(out, "kolapp_commit_batch_statements", "Statements per group commit.",
		  &m->commit_size, metrics_size_bounds, METRICS_NSIZE);
	histogram(out, "kolapp_write_queued_seconds",
		  "Time a write batch waited in kolappd, from its first write to its sending.",
		  &m->write_queued_seconds, metrics_latency_bounds, METRICS_NLAT);
	histogram(out, "kolapp_request_seconds",
		  "Time from reading a TCP request's line to writing its reply.",
		  &m->request_seconds, metrics_latency_bounds, METRICS_NLAT);
	evbuffer_add_printf(
		out,
		"# HELP kolapp_commits_failed_total Write batches the database did not commit.\n"
		"# TYPE kolapp_commits_failed_total counter\nkolapp_commits_failed_total %llu\n"
		"# HELP kolapp_db_connects_total Database connections made (the first included).\n"
		"# TYPE kolapp_db_connects_total counter\nkolapp_db_connects_total %llu\n"
		"# HELP kolapp_db_reconnects_total Database reconnections after a loss.\n"
		"# TYPE kolapp_db_reconnects_total counter\nkolapp_db_reconnects_total %llu\n"
		"# HELP kolapp_estimate_runs_total Runs of the waiting-time estimator.\n"
		"# TYPE kolapp_estimate_runs_total counter\nkolapp_estimate_runs_total %llu\n"
		"# HELP kolapp_estimate_seconds_total Time the estimator's runs took.\n"
		"# TYPE kolapp_estimate_seconds_total counter\nkolapp_estimate_seconds_total %.6f\n"
		"# HELP kolapp_estimate_throttled_total Changes whose estimates came from "
		"an earlier run (the estimator over its share, or a big office).\n"
		"# TYPE kolapp_estimate_throttled_total counter\n"
		"kolapp_estimate_throttled_total %llu\n"
		"# HELP kolapp_stale Whether state may be out of date (database unreachable).\n"
		"# TYPE kolapp_stale gauge\nkolapp_stale %d\n",
		(unsigned long long)m->commits_failed, (unsigned long long)m->db_connects,
		(unsigned long long)(m->db_connects ? m->db_connects - 1 : 0),
		(unsigned long long)m->estimate_runs, m->estimate_seconds,
		(unsigned long long)m->estimate_throttled, engine_is_stale(e));
	clock_gettime(CLOCK_REALTIME, &ts);
	w.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	evbuffer_add_printf(out, "# HELP kolapp_tickets_waiting Tickets waiting now.\n"
				 "# TYPE kolapp_tickets_waiting gauge\n");
	engine_each_queue(e, queue_line, &w);
	w.pass = 1;
	evbuffer_add_printf(out, "# HELP kolapp_longest_wait_seconds How long the ticket first in "
				 "line has waited.\n"
				 "# TYPE kolapp_longest_wait_seconds gauge\n");
	engine_each_queue(e, queue_line, &w);
	/* Which daemon owns which office (several daemons, issue 16). */
	if (node) {
		evbuffer_add_printf(out,
				    "# HELP kolapp_node_info This daemon's name (--node-name).\n"
				    "# TYPE kolapp_node_info gauge\nkolapp_node_info{node=\"");
		label_value(out, node);
		evbuffer_add_printf(out, "\"} 1\n");
	}
	w.pass = 2;
	evbuffer_add_printf(out, "# HELP kolapp_office_served Whether this daemon serves the "
				 "office (1) or another daemon or nobody does now (0).\n"
				 "# TYPE kolapp_office_served gauge\n");
	engine_each_queue(e, queue_line, &w);
}
