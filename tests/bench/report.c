/* report: the table, or with --json one object, of a kolapp-bench run. */
#include "tests/bench/bench.h"

#include <stdio.h>

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const qnames[] = { "p50_ms", "p90_ms", "p99_ms", "p99_9_ms" };

static double ms(uint64_t us)
{
	return (double)us / 1000.0;
}

static json_t *hist_json(const struct hist *h)
{
	json_t *o = json_object();

	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	for (int q = 0; q < 4; q++)
		json_object_set_new(o, qnames[q], json_real(ms(hist_quantile(h, quantiles[q]))));
	json_object_set_new(o, "max_ms", json_real(ms(h->max_us)));
	return o;
}

static void hist_row(const char *name, uint64_t n, const struct hist *h)
{
	printf("%-12s %9llu %10.1f", name, (unsigned long long)n, (double)n / cfg.duration);
	for (int q = 0; q < 4; q++)
		printf(" %9.3f", ms(hist_quantile(h, quantiles[q])));
	printf(" %9.3f\n", ms(h->max_us));
}

static void report_json(const struct run_info *ri)
{
	json_t *o = json_object(), *ops = json_object(), *errs = json_object();
	json_t *conn = json_object();

	json_object_set_new(o, "duration_s", json_real(cfg.duration));
	json_object_set_new(o, "warmup_s", json_real(cfg.warmup));
	json_object_set_new(o, "rate", json_real(cfg.rate));
	json_object_set_new(o, "pipeline", json_integer(cfg.pipeline));
	json_object_set_new(conn, "offices", json_integer(ri->noffices));
	json_object_set_new(conn, "total", json_integer(ri->nconns));
	json_object_set_new(conn, "kiosks", json_integer(ri->nrole[ROLE_KIOSK]));
	json_object_set_new(conn, "counters", json_integer(ri->nrole[ROLE_COUNTER]));
	json_object_set_new(conn, "displays", json_integer(ri->nrole[ROLE_DISPLAY]));
	json_object_set_new(conn, "ready", json_integer(ri->nready));
	json_object_set_new(conn, "failed", json_integer(ri->nfailed));
	json_object_set_new(conn, "lost", json_integer(ri->ndropped));
	json_object_set_new(o, "connections", conn);
	for (int op = 0; op < OP_SETUP; op++) {
		json_t *e = json_object();

		if (!st.ok[op] && !st.lat[op].count) {
			int any = 0;

			for (int k = 0; k < ERR_CODES; k++)
				any |= st.errors[op][k] != 0;
			if (!any) {
				json_decref(e);
				continue;
			}
		}
		json_t *h = hist_json(&st.lat[op]);

		json_object_set_new(h, "ok", json_integer((json_int_t)st.ok[op]));
		json_object_set_new(h, "ops_per_s", json_real((double)st.ok[op] / cfg.duration));
		json_object_set_new(ops, op_names[op], h);
		for (int k = 0; k < ERR_CODES; k++)
			if (st.errors[op][k])
				json_object_set_new(e, err_codes[k],
						    json_integer((json_int_t)st.errors[op][k]));
		if (json_object_size(e))
			json_object_set_new(errs, op_names[op], e);
		else
			json_decref(e);
	}
	json_object_set_new(o, "ops", ops);
	json_object_set_new(o, "errors", errs);
	json_object_set_new(o, "call_next_empty", json_integer((json_int_t)st.call_next_empty));
	json_object_set_new(o, "events", json_integer((json_int_t)st.events));
	json_object_set_new(o, "fanout", hist_json(&st.fanout));
	json_object_set_new(o, "fanout_from_send", hist_json(&st.fanout_send));
	json_object_set_new(o, "fanout_incomplete", json_integer((json_int_t)st.fanout_incomplete));
	json_object_set_new(o, "unsent_at_end", json_integer((json_int_t)ri->pending));
	json_object_set_new(o, "in_flight_at_end", json_integer((json_int_t)ri->inflight));
	json_object_set_new(o, "backlog_dropped", json_integer((json_int_t)ri->backlog_dropped));
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

void report(const struct run_info *ri)
{
	if (cfg.json) {
		report_json(ri);
		return;
	}
	printf("kolapp-bench: %d connections (%d kiosks, %d counters, %d displays) in %d offices; "
	       "%d ready, %d failed, %d lost\n",
	       ri->nconns, ri->nrole[ROLE_KIOSK], ri->nrole[ROLE_COUNTER], ri->nrole[ROLE_DISPLAY],
	       ri->noffices, ri->nready, ri->nfailed, ri->ndropped);
	if (cfg.rate > 0)
		printf("open loop at %.0f ops/s", cfg.rate);
	else
		printf("closed loop, %u in flight per connection", cfg.pipeline);
	printf(", %.1f s measured after %.1f s warm-up; latency in ms from the %s time\n",
	       cfg.duration, cfg.warmup, cfg.rate > 0 ? "scheduled" : "send");
	printf("%-12s %9s %10s %9s %9s %9s %9s %9s\n", "op", "ok", "ops/s", "p50", "p90", "p99",
	       "p99.9", "max");
	for (int op = 0; op < OP_SETUP; op++)
		if (st.ok[op])
			hist_row(op_names[op], st.ok[op], &st.lat[op]);
	if (st.fanout.count) {
		hist_row("fanout", st.fanout.count, &st.fanout);
		hist_row("fanout_send", st.fanout_send.count, &st.fanout_send);
	}
	for (int op = 0; op < OP_SETUP; op++)
		for (int k = 0; k < ERR_CODES; k++)
			if (st.errors[op][k])
				printf("error: %s %s %llu\n", op_names[op], err_codes[k],
				       (unsigned long long)st.errors[op][k]);
	if (st.call_next_empty)
		printf("call_next with nothing waiting: %llu\n",
		       (unsigned long long)st.call_next_empty);
	if (st.fanout_incomplete)
		printf("calls not seen by every subscriber: %llu\n",
		       (unsigned long long)st.fanout_incomplete);
	if (st.events)
		printf("events received: %llu\n", (unsigned long long)st.events);
	if (ri->pending || ri->backlog_dropped)
		printf("due but never sent (the offered rate was not sustained): %llu\n",
		       (unsigned long long)(ri->pending + ri->backlog_dropped));
}
