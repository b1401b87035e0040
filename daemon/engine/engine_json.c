/* Reply and event objects built from engine state. */
#include "daemon/engine/engine_int.h"
#include "daemon/util/tzday.h"

#include <string.h>


char *iso_time(int64_t us, char *buf)
{
	tzday_iso8601(us, buf);
	return buf;
}

static json_t *time_or_null(int64_t us)
{
	char buf[32];
	return us ? json_string(iso_time(us, buf)) : json_null();
}

json_t *ticket_json(const struct engine *e, const struct office *o, const struct ticket *t)
{
	char buf[32];
	json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:i}", "code", t->code, "queue",
			      t->queue->code, "number", t->number, "state",
			      ticket_state_name(t->state), "issued_at", iso_time(t->issued_at, buf),
			      "counter",
			      t->counter && t->state != TS_WAITING ? json_string(t->counter->name)
								   : json_null(),
			      "recalls", t->recalls);
	if (t->state == TS_WAITING) {
		int pos = ticket_position(t, e->last_now);
		json_object_set_new(j, "position", json_integer(pos));
		ticket_estimate_set(j, e, o, t);
	}
	json_object_set_new(j, "called_at", time_or_null(t->called_at));
	/* 1.1's fields, present only when set: a 1.0 client sees 1.0. */
	if (t->priority)
		json_object_set_new(j, "priority", json_true());
	if (t->interpreter[0])
		json_object_set_new(j, "interpreter", json_string(t->interpreter));
	if (t->lang[0])
		json_object_set_new(j, "lang", json_string(t->lang));
	if (t->outcome)
		json_object_set_new(j, "outcome", json_string(t->outcome));
	if (t->appointment)
		json_object_set_new(j, "appointment", json_string(iso_time(t->appointment, buf)));
	if (t->for_counter && t->state == TS_WAITING)
		json_object_set_new(j, "for_counter", json_string(t->for_counter->name));
	return j;
}

json_t *counter_json(const struct counter *c)
{
	json_t *queues = json_array(), *parked = json_array();

	for (int i = 0; i < c->nqueues; i++)
		json_array_append_new(queues, json_string(c->queues[i].queue->code));
	for (int i = 0; i < c->parked.n; i++)
		json_array_append_new(parked, json_string(c->parked.v[i]->code));
	json_t *j = json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "name", c->name, "open", c->open,
			      "ticket", c->held ? json_string(c->held->code) : json_null(), "state",
			      c->held ? json_string(ticket_state_name(c->held->state))
				      : json_null(),
			      "queues", queues, "parked", parked);
	/* The held ticket's interpreter language, when it asked for one: the
	 * office sees at a glance which counter needs an interpreter now. */
	if (c->held && c->held->interpreter[0])
		json_object_set_new(j, "interpreter", json_string(c->held->interpreter));
	return j;
}

json_t *status_json(const struct engine *e, const struct office *o)
{
	json_t *queues = json_array(), *counters = json_array(), *recent = json_array(), *st;
	char buf[32];

	for (int i = 0; i < o->nqueues; i++) {
		const struct queue *q = o->queues[i];
		json_t *outcomes;

		if (!q->active)
			continue;
		json_t *qj = json_pack("{s:s, s:s, s:b, s:b, s:i}", "code", q->code, "name",
				       q->name, "open", q->open, "issuing",
				       queue_takes_tickets(q, e->last_now), "waiting",
				       q->waiting.n);

		queue_estimate_set(qj, e, o, q);
		json_object_set_new(qj, "priority_waiting", json_integer(q->npriority));
		/* A counter's finish offers these: no other op lists them. */
		outcomes = json_array();
		for (int k = 0; k < q->noutcomes; k++)
			json_array_append_new(outcomes,
					      json_pack("{s:s, s:s}", "code", q->outcomes[k].code,
							"name", q->outcomes[k].name));
		json_object_set_new(qj, "outcomes", outcomes);
		json_object_set_new(qj, "outcome_required",
				    json_boolean(q->policy.require_outcome));
		/* The kiosk's names and descriptions, per language, when set. */
		if (q->ntexts) {
			json_t *texts = json_object();
			for (int k = 0; k < q->ntexts; k++)
				json_object_set_new(texts, q->texts[k].lang,
						    json_pack("{s:s, s:s}", "name",
							      q->texts[k].name, "description",
							      q->texts[k].description));
			json_object_set_new(qj, "texts", texts);
		}
		json_array_append_new(queues, qj);
	}
	for (int i = 0; i < o->ncounters; i++)
		if (o->counters[i]->active)
			json_array_append_new(counters, counter_json(o->counters[i]));
	for (int i = 0; i < o->nrecent; i++)
		json_array_append_new(recent,
				      json_pack("{s:s, s:s, s:s}", "ticket", o->recent[i].ticket,
						"counter", o->recent[i].counter, "at",
						iso_time(o->recent[i].at, buf)));
	st = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "office", o->code, "office_name", o->name,
		       "queues", queues, "counters", counters, "recent", recent, "stale",
		       engine_is_stale(e) || !office_served(o));
	/* Several daemons: which one answered (PROTOCOL.md section 15). */
	if (st && e->node_name)
		json_object_set_new(st, "node", json_string(e->node_name));
	return st;
}

json_t *office_event(const struct office *o, const char *kind, int64_t at)
{
	char buf[32];
	return json_pack("{s:s, s:s, s:s}", "event", kind, "office", o->code, "at",
			 iso_time(at, buf));
}

json_t *queue_event(const struct engine *e, const struct office *o, const struct queue *q,
		    int64_t at)
{
	json_t *ev = office_event(o, "queue", at);
	json_object_set_new(ev, "queue", json_string(q->code));
	json_object_set_new(ev, "open", json_boolean(q->open));
	json_object_set_new(ev, "issuing", json_boolean(queue_takes_tickets(q, at)));
	json_object_set_new(ev, "waiting", json_integer(q->waiting.n));
	json_object_set_new(ev, "priority_waiting", json_integer(q->npriority));
	queue_estimate_set(ev, e, o, q);
	return ev;
}
