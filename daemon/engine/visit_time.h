/*
 * visit_time: the engine's knowledge of how long visits take
 * (visit_time.c): its record of each queue's visits (queue_record_*,
 * declared in engine_int.h for the ops and the load) and what it makes
 * of them for the waiting-time estimates (estimate.c). Internal to the
 * engine.
 */
#ifndef KOLAPP_VISIT_TIME_H
#define KOLAPP_VISIT_TIME_H

#include "daemon/engine/engine_int.h"

/* The expected time a counter spends on one visit of a queue, and its
 * variance; and the samples the sampled plays draw visits from. */
struct visit {
	double mean_us, var_us2;
	bool known;
	const int64_t *svc, *ns; /* services; time lost to no-shows */
	int nsvc, nns;
	double svc_clip, ns_clip; /* each sample counts at most this */
	double p_noshow;
};

/* A queue's visit time; pooled when it has too few samples of its own. */
struct visit visit_of(const struct queue *q, const struct visit *pooled);
/* Every queue's samples together, copied into all (POOLED_MAX of them);
 * the result points into all. */
#define POOLED_MAX (SERVICE_SAMPLES * 8)
struct visit visit_pooled(const struct office *o, int64_t *all);
/* How long this counter's visits take, as a multiple of its queues' usual. */
double counter_pace(const struct counter *c);

/* The sampled plays (estimate.c): SAMPLED_PLAYS of the first SAMPLED_STEPS
 * calls with visit times drawn by stratified uniforms. */
#define SAMPLED_PLAYS 16
#define SAMPLED_STEPS 48
void strat_uniforms(int k, int i, int j, double u[2]);
double visit_draw(const struct visit *v, double pace, const double u[2]);
bool visit_rest(const struct visit *v, double pace, double elapsed_us, bool may_noshow,
		const double *u, double *rest);

#endif
