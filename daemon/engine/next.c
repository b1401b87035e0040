/*
 * The rule for the next ticket (PROTOCOL.md, call_next), in one place so
 * that a clerk's "why this one?" has a one-line answer:
 *
 *   candidates are the waiting tickets of the open queues the counter
 *   serves, plus those transferred to this counter (rank 0); a ticket
 *   with an appointment (a checked-in booking) is a candidate only from
 *   2 minutes before its start. The lowest rank wins; within a rank, a
 *   due appointment first (the earliest start), then a priority ticket
 *   (the one waiting longest), then the ticket with the greatest weighted
 *   wait (seconds waited times its queue's weight at this counter); ties
 *   go to the earlier issue time. A transferred or reactivated ticket
 *   keeps its original time.
 *
 * estimate.c runs this same rule forward in time (now is the simulated
 * instant), so appointments fall due in its forecast too.
 */
#include "daemon/engine/engine_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

static bool earlier(const struct ticket *a, const struct ticket *b)
{
	return a->sort_at < b->sort_at || (a->sort_at == b->sort_at && a->order < b->order);
}

/* A visitor with an appointment waits for its time, not in line. */
static bool is_candidate(const struct ticket *t, int64_t now)
{
	return !t->appointment || now >= t->appointment - APPOINTMENT_LEAD_US;
}

/* The due appointment of a list with the earliest start, or NULL. */
static struct ticket *first_due(const struct tlist *l, int64_t now)
{
	struct ticket *best = NULL;

	for (int i = 0; i < l->n; i++) {
		struct ticket *t = l->v[i];

		if (t->appointment && is_candidate(t, now) &&
		    (!best || t->appointment < best->appointment ||
		     (t->appointment == best->appointment && earlier(t, best))))
			best = t;
	}
	return best;
}

/* The first priority ticket of a list, or NULL. */
static struct ticket *first_priority(const struct tlist *l, int64_t now)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i]->priority && is_candidate(l->v[i], now))
			return l->v[i];
	return NULL;
}

/* The first in line that is not an appointment (those went first when
 * due), or NULL. */
static struct ticket *first_walk_in(const struct tlist *l)
{
	for (int i = 0; i < l->n; i++)
		if (!l->v[i]->appointment)
			return l->v[i];
	return NULL;
}

static long long waited_s(const struct ticket *t, int64_t now)
{
	return now > t->sort_at ? (long long)((now - t->sort_at) / 1000000) : 0;
}

static bool has_candidate(const struct tlist *l, bool appointments, int64_t now)
{
	if (!appointments)
		return l->n > 0;
	for (int i = 0; i < l->n; i++)
		if (is_candidate(l->v[i], now))
			return true;
	return false;
}

static bool candidate_queue(const struct counter_queue *cq, int64_t now)
{
	const struct queue *q = cq->queue;

	return q->open && q->active && q->waiting.n > 0 &&
	       has_candidate(&q->waiting, q->nappointment > 0, now);
}

static long long minutes_late(const struct ticket *t, int64_t now)
{
	return (long long)((now - t->appointment) / 60000000);
}

/* The reason is for the clerk; the estimator asks thousands of times a
 * second and passes none (formatting it was a sixth of kolappd's time). */
__attribute__((format(printf, 3, 4))) static void
	why(char *reason, size_t reasonsz, const char *fmt, ...)
{
	va_list ap;

	if (!reason)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, reasonsz, fmt, ap);
	va_end(ap);
}

struct ticket *next_ticket(const struct counter *ctr, int64_t now, char *reason, size_t reasonsz)
{
	struct ticket *best = NULL, *t;
	int rank = INT_MAX, at_rank = 0;
	int64_t best_w = -1;
	int best_weight = 1;

	/* Rank 0: tickets sent to this counter by name. */
	if (has_candidate(&ctr->for_me, true, now)) {
		if ((t = first_due(&ctr->for_me, now))) {
			why(reason, reasonsz,
			    "transferred to this counter, appointment (%+lld min)",
			    minutes_late(t, now));
			return t;
		}
		t = first_priority(&ctr->for_me, now);
		best = t ? t : first_walk_in(&ctr->for_me);
		if (best) {
			why(reason, reasonsz, "transferred to this counter%s, waited %lld s",
			    t ? ", priority" : "", waited_s(best, now));
			return best;
		}
	}
	for (int i = 0; i < ctr->nqueues; i++)
		if (ctr->queues[i].rank < rank && candidate_queue(&ctr->queues[i], now))
			rank = ctr->queues[i].rank;
	if (rank == INT_MAX) {
		why(reason, reasonsz, "nothing waiting");
		return NULL;
	}
	/* Within the rank: a due appointment first, the earliest start. */
	for (int i = 0; i < ctr->nqueues; i++) {
		const struct counter_queue *cq = &ctr->queues[i];

		if (cq->rank != rank || !cq->queue->nappointment || !candidate_queue(cq, now))
			continue;
		if ((t = first_due(&cq->queue->waiting, now)) &&
		    (!best || t->appointment < best->appointment ||
		     (t->appointment == best->appointment && earlier(t, best))))
			best = t;
	}
	if (best) {
		why(reason, reasonsz, "rank %d, appointment (%+lld min)", rank,
		    minutes_late(best, now));
		return best;
	}
	/* Then priority, the one waiting longest. */
	for (int i = 0; i < ctr->nqueues; i++) {
		const struct counter_queue *cq = &ctr->queues[i];

		if (cq->rank != rank || !candidate_queue(cq, now))
			continue;
		at_rank++;
		if (cq->queue->npriority && (t = first_priority(&cq->queue->waiting, now)) &&
		    (!best || earlier(t, best)))
			best = t;
	}
	if (best) {
		why(reason, reasonsz, "rank %d, priority, waited %lld s", rank,
		    waited_s(best, now));
		return best;
	}
	/* Then the greatest weighted wait: each queue's first in line. */
	for (int i = 0; i < ctr->nqueues; i++) {
		const struct counter_queue *cq = &ctr->queues[i];
		int64_t w;

		if (cq->rank != rank || !candidate_queue(cq, now))
			continue;
		t = cq->queue->nappointment ? first_walk_in(&cq->queue->waiting)
					    : cq->queue->waiting.v[0];
		if (!t)
			continue;
		w = (now > t->sort_at ? now - t->sort_at : 0) * (cq->weight > 0 ? cq->weight : 1);
		if (!best || w > best_w || (w == best_w && earlier(t, best))) {
			best = t;
			best_w = w;
			best_weight = cq->weight > 0 ? cq->weight : 1;
		}
	}
	if (!best) {
		why(reason, reasonsz, "nothing waiting");
		return NULL;
	}
	if (at_rank == 1)
		why(reason, reasonsz, "rank %d, waited longest: %lld s", rank, waited_s(best, now));
	else
		why(reason, reasonsz, "rank %d, weighted wait %d\u00d7%lld s", rank, best_weight,
		    waited_s(best, now));
	return best;
}
