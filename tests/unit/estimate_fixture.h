/*
 * What the estimator's unit tests (test_estimate, test_estimate_told)
 * share on top of engine_fixture: visits learnt, and the estimates read
 * back in whole seconds.
 */
#ifndef KOLAPP_ESTIMATE_FIXTURE_H
#define KOLAPP_ESTIMATE_FIXTURE_H

#include "tests/unit/engine_fixture.h"

/* Serves n visits of queue at counter, secs each (call, start, finish), so
 * that the queue has n service samples. Uses the queue's own tickets. */
void learn(const char *counter, const char *queue, int n, int secs);
/* The waiting ticket's estimated_wait_s (it must have one). */
json_int_t wait_of(const char *code);
/* Issues a ticket in queue; its estimated_wait_s. */
json_int_t issue_wait(const char *queue);
/* Counters 1 and 2 serve S (2 open or not), visits of 100 s learnt at
 * counter 1, and n S tickets waiting from S-004 on. */
void two_counters_s_waiting(bool second_open, int n);

#endif
