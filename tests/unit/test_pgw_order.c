/* Unit test of the order a write transaction's commands are sent in
 * (daemon/store/pgw_order.c): runs of one statement grow across offices,
 * an office's own commands and barriers keep their order. The integration
 * and fault tests send real batches through it to PostgreSQL. */
#include "daemon/store/pgw_order.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmds written "stmt:key" ("stmt" alone: a barrier); the order is compared
 * as the same strings joined by spaces. */
static void expect(const char *const *in, int n, const char *want)
{
	struct pgw_order_cmd c[32];
	char names[32][16], got[512] = "";
	int order[32];

	ck_assert_int_le(n, 32);
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(in[i], ':');

		snprintf(names[i], sizeof names[i], "%.*s",
			 (int)(colon ? colon - in[i] : (long)strlen(in[i])), in[i]);
		c[i] = (struct pgw_order_cmd){ names[i], 5, colon ? colon + 1 : NULL };
	}
	pgw_order(c, n, order);
	for (int i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, in[order[i]]);
	}
	ck_assert_str_eq(got, want);
}

START_TEST(offices_interleaved_run_together)
{
	const char *in[] = { "issue:1", "call:2", "issue:3", "call:4", "issue:2", "call:5" };

	expect(in, 6, "issue:1 issue:3 call:2 call:4 call:5 issue:2");
}
END_TEST

START_TEST(an_office_keeps_its_order)
{
	/* office 1 finishes (state) before its counter calls again */
	const char *a[] = { "state:1", "call:2", "call:1" };
	/* a call, a start and a call of one office: the second call cannot
	 * go back before the start */
	const char *b[] = { "call:1", "state:1", "call:1", "call:2" };

	expect(a, 3, "state:1 call:2 call:1");
	expect(b, 4, "call:1 state:1 call:1 call:2");
}
END_TEST

START_TEST(nothing_crosses_a_barrier)
{
	const char *in[] = { "issue:1", "recall", "issue:2", "call:3", "issue:4" };

	expect(in, 5, "issue:1 recall issue:2 issue:4 call:3");
}
END_TEST

START_TEST(parameter_counts_apart)
{
	struct pgw_order_cmd c[] = {
		{ "issue", 10, "1" }, { "issue", 12, "2" }, { "issue", 10, "3" }
	};
	int order[3];

	pgw_order(c, 3, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
}
END_TEST

START_TEST(nothing_and_one)
{
	struct pgw_order_cmd c = { "issue", 5, "1" };
	int order[1] = { -1 };

	pgw_order(&c, 0, order);
	ck_assert_int_eq(order[0], -1);
	pgw_order(&c, 1, order);
	ck_assert_int_eq(order[0], 0);
}
END_TEST

/* Random batches: a permutation; commands of one key, and every barrier
 * with everything, in the order added; fewer groups than commands when
 * offices interleave. */
START_TEST(random_batches_keep_what_matters)
{
	enum { N = 400 };
	static const char *stmts[] = { "issue", "call", "state", "transfer" };
	static char keys[N][8];
	struct pgw_order_cmd c[N];
	int order[N], pos[N];
	unsigned seed = 12345;
	long runs_before = 0, runs_after = 0;

	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 1103515245u + 12345u;
			int s = (int)((seed >> 16) % 4), office = (int)((seed >> 8) % 60);

			snprintf(keys[i], sizeof keys[i], "%d", office);
			/* "transfer" stands for a statement without a run form */
			c[i] = (struct pgw_order_cmd){ stmts[s], 5,
						       s == 3 && office < 6 ? NULL : keys[i] };
		}
		pgw_order(c, N, order);
		for (int i = 0; i < N; i++)
			pos[i] = -1;
		for (int i = 0; i < N; i++) {
			ck_assert_int_ge(order[i], 0);
			ck_assert_int_lt(order[i], N);
			ck_assert_int_eq(pos[order[i]], -1);
			pos[order[i]] = i;
		}
		for (int i = 0; i < N; i++)
			for (int j = i + 1; j < N; j++)
				if (!c[i].key || !c[j].key || !strcmp(c[i].key, c[j].key))
					ck_assert_msg(pos[i] < pos[j],
						      "round %d: %d and %d swapped", round, i, j);
		for (int i = 0; i < N; i++) {
			runs_before += !i || strcmp(c[i].stmt, c[i - 1].stmt);
			runs_after += !i || strcmp(c[order[i]].stmt, c[order[i - 1]].stmt);
		}
	}
	/* 400 commands of 60 offices: long runs, not one per command */
	ck_assert_msg(runs_after * 4 < runs_before, "runs %ld before, %ld after", runs_before,
		      runs_after);
}
END_TEST

static Suite *order_suite(void)
{
	Suite *s = suite_create("pgw_order");
	TCase *tc = tcase_create("order");

	tcase_add_test(tc, offices_interleaved_run_together);
	tcase_add_test(tc, an_office_keeps_its_order);
	tcase_add_test(tc, nothing_crosses_a_barrier);
	tcase_add_test(tc, parameter_counts_apart);
	tcase_add_test(tc, nothing_and_one);
	tcase_add_test(tc, random_batches_keep_what_matters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(order_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
