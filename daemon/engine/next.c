/*
 * The rule for the next ticket (PROTOCOL.md, call_next), in one place so
 * that a clerk's "why this one?" has a one-line answer:
 *
 *   candidates are the waiting tickets of the open queues the counter
 *   serves, plus those transferred to this counter (rank 0); the lowest
 *   rank wins; within a rank, a priority ticket first (the one waiting
 *   longest), then the ticket with the greatest weighted wait (seconds
 *   waited times its queue's weight at this counter); ties go to the
 *   earlier issue time. A transferred or reactivated ticket keeps its
 *   original time.
 *
 * Appointments (due ones come first within their rank) join here when
 * bookings exist.
 */
#include "daemon/engine/engine_int.h"

#include <limits.h>
#include <stdio.h>

static bool earlier(const struct ticket *a, const struct ticket *b)
{
	return a->sort_at < b->sort_at || (a->sort_at == b->sort_at && a->order < b->order);
}

/* The first priority ticket of a list, or NULL. */
static struct ticket *first_priority(const struct tlist *l)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i]->priority)
			return l->v[i];
	return NULL;
}

static long long waited_s(const struct ticket *t, int64_t now)
{
	return now > t->sort_at ? (long long)((now - t->sort_at) / 1000000) : 0;
}

static bool candidate_queue(const struct counter_queue *cq)
{
	const struct queue *q = cq->queue;

	return q->open && q->active && q->waiting.n > 0;
}

struct ticket *next_ticket(const struct counter *ctr, int64_t now, char *reason, size_t reasonsz)
{
	struct ticket *best = NULL, *t;
	int rank = INT_MAX, at_rank = 0;
	int64_t best_w = -1;
	int best_weight = 1;

	/* Rank 0: tickets sent to this counter by name. */
	if (ctr->for_me.n) {
		t = first_priority(&ctr->for_me);
		best = t ? t : ctr->for_me.v[0];
		snprintf(reason, reasonsz, "transferred to this counter%s, waited %lld s",
			 t ? ", priority" : "", waited_s(best, now));
		return best;
	}
	for (int i = 0; i < ctr->nqueues; i++)
		if (candidate_queue(&ctr->queues[i]) && ctr->queues[i].rank < rank)
			rank = ctr->queues[i].rank;
	if (rank == INT_MAX) {
		snprintf(reason, reasonsz, "nothing waiting");
		return NULL;
	}
	/* Within the rank: priority first, the one waiting longest. */
	for (int i = 0; i < ctr->nqueues; i++) {
		const struct counter_queue *cq = &ctr->queues[i];

		if (cq->rank != rank || !candidate_queue(cq))
			continue;
		at_rank++;
		if (cq->queue->npriority && (t = first_priority(&cq->queue->waiting)) &&
		    (!best || earlier(t, best)))
			best = t;
	}
	if (best) {
		snprintf(reason, reasonsz, "rank %d, priority, waited %lld s", rank,
			 waited_s(best, now));
		return best;
	}
	/* Then the greatest weighted wait: each queue's first in line. */
	for (int i = 0; i < ctr->nqueues; i++) {
		const struct counter_queue *cq = &ctr->queues[i];
		int64_t w;

		if (cq->rank != rank || !candidate_queue(cq))
			continue;
		t = cq->queue->waiting.v[0];
		w = (now > t->sort_at ? now - t->sort_at : 0) * (cq->weight > 0 ? cq->weight : 1);
		if (!best || w > best_w || (w == best_w && earlier(t, best))) {
			best = t;
			best_w = w;
			best_weight = cq->weight > 0 ? cq->weight : 1;
		}
	}
	if (at_rank == 1)
		snprintf(reason, reasonsz, "rank %d, waited longest: %lld s", rank,
			 waited_s(best, now));
	else
		snprintf(reason, reasonsz, "rank %d, weighted wait %d\u00d7%lld s", rank,
			 best_weight, waited_s(best, now));
	return best;
}
