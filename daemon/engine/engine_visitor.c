/*
 * The visitor's side of a ticket: the secret behind its own page
 * (/t/<secret>), that page's view of the ticket, and the one rating a
 * visitor may give after the visit. Owns which ticket a secret opens
 * (today's only: the page dies with the business day) and what the page
 * may show (this ticket and its queue's names, nothing of anyone else).
 */
#include "daemon/engine/engine_int.h"
#include "daemon/util/tzday.h"

#include <stdio.h>
#include <string.h>

void ticket_visitor_init(const struct office *o, struct ticket *t, char *secret)
{
	secret[0] = '\0';
	t->has_vhash = false;
	if (!o->vkeylen)
		return;
	vsecret_derive(o->vkey, (size_t)o->vkeylen, t->day, t->code, secret);
	vsecret_hash(secret, VSECRET_LEN, t->vhash);
	t->has_vhash = true;
}

json_t *issue_result(const struct engine *e, const struct office *o, const struct ticket *t)
{
	json_t *r = json_pack("{s:o}", "ticket", ticket_json(e, o, t));
	char secret[VSECRET_LEN + 1], path[VSECRET_LEN + 4];

	/* Derived again rather than kept: the same bytes, and no plain
	 * secret stays in memory after the reply. */
	if (o->vkeylen && t->has_vhash) {
		vsecret_derive(o->vkey, (size_t)o->vkeylen, t->day, t->code, secret);
		snprintf(path, sizeof path, "/t/%s", secret);
		json_object_set_new(r, "visitor_path", json_string(path));
	}
	return r;
}

bool engine_visitor_find(const struct engine *e, const char *secret, size_t len,
			 struct engine_visitor *out)
{
	uint8_t h[VSECRET_HASH];

	if (!vsecret_well_formed(secret, len))
		return false;
	vsecret_hash(secret, len, h);
	/* A scan of today's tickets: it runs when a page opens or a visitor
	 * acts, not per event (the stream keeps the handle), and a day's
	 * tickets of every office are a few hundred thousand comparisons at
	 * most. */
	for (int i = 0; i < e->noffices; i++) {
		const struct office *o = e->offices[i];

		for (int k = 0; k < o->nqueues; k++) {
			const struct queue *q = o->queues[k];

			for (int n = 0; n < q->ntoday; n++) {
				const struct ticket *t = q->today[n];

				if (t && t->has_vhash && t->day == o->day &&
				    !memcmp(t->vhash, h, sizeof h)) {
					out->office_id = o->id;
					out->day = t->day;
					snprintf(out->code, sizeof out->code, "%s", t->code);
					memcpy(out->hash, h, sizeof h);
					return true;
				}
			}
		}
	}
	return false;
}

/* The handle's ticket while it is still today's, else NULL. */
static struct ticket *visitor_ticket(const struct engine *e, const struct engine_visitor *v,
				     struct office **op)
{
	struct office *o = engine_office(e, v->office_id);
	struct ticket *t = o && o->day == v->day ? office_ticket(o, v->code) : NULL;

	if (!t || !t->has_vhash || t->day != v->day || memcmp(t->vhash, v->hash, sizeof v->hash))
		return NULL;
	*op = o;
	return t;
}

json_t *engine_visitor_json(struct engine *e, const struct engine_visitor *v)
{
	struct office *o;
	struct ticket *t = visitor_ticket(e, v, &o);
	json_t *tj, *texts;

	if (!t)
		return NULL;
	tj = ticket_json(e, o, t);
	json_object_set_new(tj, "queue_name", json_string(t->queue->name));
	if (t->rated)
		json_object_set_new(tj, "rated", json_true());
	texts = json_object();
	for (int i = 0; i < t->queue->ntexts; i++)
		json_object_set_new(texts, t->queue->texts[i].lang,
				    json_pack("{s:s, s:s}", "name", t->queue->texts[i].name,
					      "description", t->queue->texts[i].description));
	json_object_set_new(tj, "queue_texts", texts);
	return json_pack("{s:s, s:s, s:o, s:b}", "office", o->code, "office_name", o->name,
			 "ticket", tj, "stale", engine_is_stale(e));
}

void engine_visitor_rate(struct engine *e, const struct engine_visitor *v, int rating,
			 engine_reply_fn reply, void *ctx)
{
	struct office *o;
	struct ticket *t = visitor_ticket(e, v, &o);
	struct change *c;
	char office[16], day[16], r[8];

	if (!t) {
		reply(ctx, PERR_NOT_FOUND, "no such ticket today", NULL);
		return;
	}
	if (!office_served(o)) {
		reply(ctx, PERR_UNAVAILABLE, "this daemon does not serve the office now", NULL);
		return;
	}
	if (rating < 1 || rating > 5) {
		reply(ctx, PERR_BAD_REQUEST, "field rating must be a whole number from 1 to 5",
		      NULL);
		return;
	}
	if (t->state != TS_DONE) {
		reply(ctx, PERR_CONFLICT, "the visit has not ended: rate it afterwards", NULL);
		return;
	}
	if (t->rated) {
		reply(ctx, PERR_CONFLICT, "this visit has been rated already", NULL);
		return;
	}
	if (engine_is_stale(e)) {
		reply(ctx, PERR_UNAVAILABLE, "the database is unreachable: nothing was changed",
		      NULL);
		return;
	}
	t->rated = true;
	snprintf(office, sizeof office, "%d", o->id);
	tzday_format(t->day, day);
	snprintf(r, sizeof r, "%d", rating);
	c = change_begin(e, o, reply, ctx);
	const char *vals[] = { office, day, t->code, r };
	change_write(c, "d_rate", 4, vals);
	/* No event: a rating is nobody else's business. */
	change_commit(c, json_pack("{s:b}", "rated", true));
}
