/* Unit test of the order the start-up load puts today's tickets in
 * (daemon/store/store_pg.c, sort_ticket_keys): the same as one qsort of
 * them all, for offices interleaved, an office out of order and ids too
 * sparse to count by. Compiled in, for its static functions. */
#include "daemon/store/store_pg.c"

#include <check.h>

/* n keys of noffices offices, as a day's table gives them: interleaved,
 * each office's in the order of issue, except every seventh, swapped
 * with the one before in office 3 (a priority ticket's earlier sort
 * time). Ids count up in the order of issue; office ids are idbase +
 * 0..noffices-1. */
static struct ticket_key *day_keys(int n, int noffices, int idbase)
{
	struct ticket_key *k = calloc((size_t)n, sizeof *k);
	unsigned seed = 12345;

	ck_assert_ptr_nonnull(k);
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		k[i] = (struct ticket_key){ .office_id = idbase + (int)(seed >> 16) % noffices,
					    .row = i,
					    .day = 20788, /* 2026-12-01 */
					    .sort_at = 1000000LL * i,
					    .id = i + 1 };
		if (k[i].office_id == idbase + 3 && i % 7 == 0 && i > 0)
			k[i].sort_at -= 1500000; /* before some of its office's */
	}
	return k;
}

static void assert_sorted_as_qsort(int n, int noffices, int idbase)
{
	struct ticket_key *mine = day_keys(n, noffices, idbase);
	struct ticket_key *ref = day_keys(n, noffices, idbase);

	sort_ticket_keys(mine, n);
	qsort(ref, (size_t)n, sizeof *ref, cmp_ticket_key);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(mine[i].row, ref[i].row);
		ck_assert_int_eq(mine[i].office_id, ref[i].office_id);
	}
	free(mine);
	free(ref);
}

START_TEST(interleaved_offices)
{
	assert_sorted_as_qsort(20000, 50, 1);
}
END_TEST

START_TEST(one_office_and_none)
{
	assert_sorted_as_qsort(1000, 1, 7);
	assert_sorted_as_qsort(0, 1, 7);
	assert_sorted_as_qsort(1, 4, 7);
}
END_TEST

START_TEST(sparse_office_ids)
{
	assert_sorted_as_qsort(500, 9, 2000000000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_order");
	TCase *tc = tcase_create("order");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, interleaved_offices);
	tcase_add_test(tc, one_office_and_none);
	tcase_add_test(tc, sparse_office_ids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
