/* Unit tests of the earlier weeks' arrivals as a forecast
 * (daemon/engine/arrivals.c): which points become newcomers, and when
 * the history says nothing. Times in seconds from a "now" of 10 000 s. */
#include "daemon/engine/arrivals.h"

#include <check.h>
#include <stdlib.h>

#define SEC INT64_C(1000000)
#define NOW (10000 * SEC)
#define DAY 20000

static struct arrival_history h;

static void teardown(void)
{
	arrival_history_free(&h);
}

/* `weeks` weeks, each with `past` visitors over the 1000 s before now
 * and one every 10 s for 1000 s after it; given in no order. */
static void weeks_of(int weeks, int past)
{
	int64_t at[4096];
	int n = 0;

	for (int w = 0; w < weeks; w++) {
		for (int i = 0; i < 100; i++)
			at[n++] = NOW + (10 * i + 5 + w) * SEC;
		for (int i = 0; i < past; i++)
			at[n++] = NOW - 1000 * SEC + (i * 1000 / past) * SEC;
	}
	arrival_history_set(&h, DAY, weeks, at, n);
}

/* As busy today as the weeks were: each week's points in turn, one
 * newcomer for every `weeks` of them. */
START_TEST(as_busy_as_the_weeks)
{
	struct arrival_forecast f;

	weeks_of(2, 20);
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 20, &f));
	ck_assert_double_eq_tol(f.stride, 2.0, 1e-9);
	/* sorted: 5, 6, 15, 16, ...: every second one */
	ck_assert_int_eq(arrival_forecast_at(&f, 0), NOW + 6 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 1), NOW + 16 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 99), NOW + 996 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 100), INT64_MAX);
}
END_TEST

/* Twice as busy: about two newcomers for each of a single week's
 * points; the ratio is shrunk by three either side ((40 + 3) / (20 + 3)). */
START_TEST(busier_today)
{
	struct arrival_forecast f;

	weeks_of(1, 20);
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 40, &f));
	ck_assert_double_eq_tol(f.stride, 23.0 / 43.0, 1e-9);
	/* newcomer k at point ceil((k + 1) * stride) - 1: 0, 1, 1, 2 */
	ck_assert_int_eq(arrival_forecast_at(&f, 0), NOW + 5 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 1), NOW + 15 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 2), NOW + 15 * SEC);
	ck_assert_int_eq(arrival_forecast_at(&f, 3), NOW + 25 * SEC);
	/* Never more than three times the weeks' pace. */
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 500, &f));
	ck_assert_double_eq_tol(f.stride, 1.0 / 3, 1e-9);
}
END_TEST

/* The history says nothing: another day's, none after now, today busy
 * where the weeks had two visitors, no weeks at all. */
START_TEST(says_nothing)
{
	struct arrival_forecast f;

	weeks_of(2, 20);
	ck_assert(!arrival_forecast_make(&h, DAY + 7, NOW, 1000 * SEC, 20, &f));
	ck_assert_ptr_null(f.at);
	ck_assert_int_eq(arrival_forecast_at(&f, 0), INT64_MAX);
	ck_assert(!arrival_forecast_make(&h, DAY, NOW + 2000 * SEC, 1000 * SEC, 20, &f));
	weeks_of(2, 1); /* two points in the look-back */
	ck_assert(!arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 20, &f));
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 2, &f));
	arrival_history_set(&h, DAY, 0, NULL, 0);
	ck_assert(!arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 20, &f));
}
END_TEST

/* The opening: nobody yet, today or in the weeks, and the weeks' own pace
 * follows; two visitors today already, a little more; nobody today where
 * the weeks had 20 each, a third of theirs. */
START_TEST(the_opening)
{
	struct arrival_forecast f;

	weeks_of(4, 0);
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 0, &f));
	ck_assert_double_eq_tol(f.stride, 4.0, 1e-9);
	ck_assert_int_eq(arrival_forecast_at(&f, 0), NOW + 8 * SEC); /* 5, 6, 7, 8 */
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 2, &f));
	ck_assert_double_eq_tol(f.stride, 4.0 * 3 / 5, 1e-9);
	weeks_of(4, 20);
	ck_assert(arrival_forecast_make(&h, DAY, NOW, 1000 * SEC, 0, &f));
	ck_assert_double_eq_tol(f.stride, 12.0, 1e-9);
}
END_TEST

/* A history longer than ARRIVAL_HISTORY_MAX keeps that many. */
START_TEST(bounded)
{
	int n = ARRIVAL_HISTORY_MAX + 100;
	int64_t *at = malloc((size_t)n * sizeof *at);

	for (int i = 0; i < n; i++)
		at[i] = (int64_t)(n - i) * SEC;
	arrival_history_set(&h, DAY, 4, at, n);
	free(at);
	ck_assert_int_eq(h.n, ARRIVAL_HISTORY_MAX);
	for (int i = 1; i < h.n; i++)
		ck_assert(h.at[i - 1] <= h.at[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arrivals");
	TCase *tc = tcase_create("arrivals");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, as_busy_as_the_weeks);
	tcase_add_test(tc, busier_today);
	tcase_add_test(tc, says_nothing);
	tcase_add_test(tc, the_opening);
	tcase_add_test(tc, bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
