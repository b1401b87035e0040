/* Unit test of the request rate limit's token bucket (daemon/util/rate.c),
 * which TCP connections and HTTP clients share. */
#include "daemon/util/rate.h"

#include <check.h>

#define S INT64_C(1000000)

START_TEST(burst_of_two_seconds_then_refused)
{
	struct rate_bucket b;
	int n = 0;

	rate_init(&b, 10, 5 * S);
	while (rate_take(&b, 10, 5 * S))
		n++;
	ck_assert_int_eq(n, 20);
	ck_assert(!rate_take(&b, 10, 5 * S));
	/* A tenth of a second later one more may come, not two. */
	ck_assert(rate_take(&b, 10, 5 * S + S / 10));
	ck_assert(!rate_take(&b, 10, 5 * S + S / 10));
}
END_TEST

START_TEST(refill_stops_at_the_burst)
{
	struct rate_bucket b;
	int n = 0;

	rate_init(&b, 3, 0);
	for (int i = 0; i < 6; i++)
		ck_assert(rate_take(&b, 3, 0));
	ck_assert(!rate_take(&b, 3, 0));
	/* An hour of silence saves no more than a burst. */
	while (rate_take(&b, 3, 3600 * S))
		n++;
	ck_assert_int_eq(n, 6);
}
END_TEST

START_TEST(zero_is_no_limit)
{
	struct rate_bucket b;

	rate_init(&b, 0, 0);
	for (int i = 0; i < 100000; i++)
		ck_assert(rate_take(&b, 0, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rate");
	TCase *tc = tcase_create("token bucket");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, burst_of_two_seconds_then_refused);
	tcase_add_test(tc, refill_stops_at_the_burst);
	tcase_add_test(tc, zero_is_no_limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
