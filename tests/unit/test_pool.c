/* Unit test of the free lists (daemon/util/pool.c), compiled in with its lists
 * on even in the sanitizer build, where the daemon's own pools pass
 * through to calloc/free. */
#define POOL_ALWAYS 1
#include "daemon/util/pool.c"

#include <check.h>
#include <stdint.h>

struct rec {
	uint64_t a, b, c;
	char text[40];
};

START_TEST(put_then_get_reuses_zeroed)
{
	struct pool p = POOL_INIT(struct rec, 4);
	struct rec *r = pool_get(&p), *again;

	memset(r, 0x5a, sizeof *r);
	pool_put(&p, r);
	ck_assert_uint_eq(p.nfree, 1);
	again = pool_get(&p);
	ck_assert_ptr_eq(again, r);
	ck_assert_uint_eq(p.nfree, 0);
	for (size_t i = 0; i < sizeof *again; i++)
		ck_assert_int_eq(((unsigned char *)again)[i], 0);
	pool_put(&p, again);
	pool_drain(&p);
	ck_assert_ptr_null(p.free);
	ck_assert_uint_eq(p.nfree, 0);
}
END_TEST

START_TEST(keeps_at_most_keep)
{
	struct pool p = POOL_INIT(struct rec, 3);
	struct rec *r[10];

	for (int i = 0; i < 10; i++)
		r[i] = pool_get(&p);
	for (int i = 0; i < 10; i++)
		pool_put(&p, r[i]);
	ck_assert_uint_eq(p.nfree, 3);
	/* Last in, first out: the most recently used memory first. */
	ck_assert_ptr_eq(pool_get(&p), r[2]);
	ck_assert_ptr_eq(pool_get(&p), r[1]);
	ck_assert_ptr_eq(pool_get(&p), r[0]);
	ck_assert_uint_eq(p.nfree, 0);
	for (int i = 0; i < 3; i++)
		free(r[i]);
	pool_put(&p, NULL);
	ck_assert_uint_eq(p.nfree, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("free lists");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, put_then_get_reuses_zeroed);
	tcase_add_test(tc, keeps_at_most_keep);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
