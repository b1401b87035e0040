/* Unit tests of the engine's record of visits (visit_time.c): the rings
 * of a queue's last services, no-shows and outcomes, and how the earlier
 * weeks' visits read after a load join what today already put there. On
 * bare structs, without an engine or a store. */
#include "daemon/engine/engine_int.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Earlier weeks' visits read after the load go before today's samples,
 * which stay the newest: with 5 of today's, the 27 most telling earlier
 * services come first; with a ring today's fill, none of them. The
 * outcomes' record (no-show share) keeps the same order. */
START_TEST(earlier_visits_go_before_todays_samples)
{
	struct queue q = { .id = 7 }, *qp = &q;
	struct office o = { .queues = &qp, .nqueues = 1 }, *op = &o;
	struct store_visit v[40];
	int64_t newest;

	for (int i = 0; i < 40; i++)
		v[i] = (struct store_visit){ 7, i % 10 == 9, (int64_t)(1000 + i) * 1000000 };
	for (int i = 1; i <= 5; i++)
		queue_record_service(&q, i * 1000000);
	queues_seed_earlier(&op, 1, v, 40);
	ck_assert_int_eq(q.nservice, SERVICE_SAMPLES);
	newest = q.service[(q.service_pos + SERVICE_SAMPLES - 1) % SERVICE_SAMPLES];
	ck_assert_int_eq(newest, 5 * 1000000); /* today's last is still the newest */
	ck_assert_int_eq(q.service[(q.service_pos + SERVICE_SAMPLES - 5) % SERVICE_SAMPLES],
			 1 * 1000000);
	/* before today's five: the earlier services, the last one told last */
	ck_assert_int_eq(q.service[(q.service_pos + SERVICE_SAMPLES - 6) % SERVICE_SAMPLES],
			 1038 * 1000000);
	ck_assert_int_eq(q.nnoshow, 4); /* visits 9, 19, 29, 39 */
	ck_assert_int_eq(q.noutcomes_seen, SERVICE_SAMPLES);
	ck_assert(!q.outcome_was_noshow[(q.outcome_pos + SERVICE_SAMPLES - 1) % SERVICE_SAMPLES]);
	ck_assert(q.outcome_was_noshow[(q.outcome_pos + SERVICE_SAMPLES - 6) % SERVICE_SAMPLES]);
	/* A queue whose ring today's samples fill keeps only those. */
	memset(&q, 0, sizeof q);
	q.id = 7;
	for (int i = 1; i <= SERVICE_SAMPLES; i++)
		queue_record_service(&q, i * 1000000);
	queues_seed_earlier(&op, 1, v, 40);
	for (int k = 0; k < SERVICE_SAMPLES; k++)
		ck_assert_int_lt(q.service[k], 1000 * 1000000);
	ck_assert_int_eq(q.noshows_seen, 0);
	ck_assert_int_eq(q.nnoshow, 4); /* their cost is another ring */
}
END_TEST

static Suite *visit_record_suite(void)
{
	Suite *s = suite_create("visit_record");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, earlier_visits_go_before_todays_samples);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(visit_record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
