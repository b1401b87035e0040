/* Unit test of PostgreSQL array literals (daemon/store/pgarray.c): what
 * d_issue_many and the other batched calls receive. The integration test
 * test_batches checks the same keys round-trip through a real server;
 * counters' planned hours come back as bigint[]. */
#include "daemon/store/pgarray.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect(const char *const *elems, int n, const char *want)
{
	char *got = pgarray_literal(elems, n);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(plain_null_and_empty)
{
	const char *const two[] = { "S-001", NULL };
	const char *const blank[] = { "" };

	expect(two, 2, "{\"S-001\",NULL}");
	expect(blank, 1, "{\"\"}");
	expect(NULL, 0, "{}");
}
END_TEST

START_TEST(quotes_and_backslashes_escaped)
{
	const char *const awkward[] = { "a\"b", "back\\slash", "\\\"", "end\\" };

	expect(awkward, 4, "{\"a\\\"b\",\"back\\\\slash\",\"\\\\\\\"\",\"end\\\\\"}");
}
END_TEST

/* The fence's offices and epochs, own.c's office lists. */
START_TEST(integers)
{
	int ints[] = { 1, -2, 2147483647 };
	int64_t longs[] = { 9007199254740993LL };
	char *a = pgarray_int_literal(ints, NULL, 3), *b = pgarray_int_literal(NULL, longs, 1),
	     *c = pgarray_int_literal(ints, NULL, 0);

	ck_assert_str_eq(a, "{1,-2,2147483647}");
	ck_assert_str_eq(b, "{9007199254740993}");
	ck_assert_str_eq(c, "{}");
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(structure_characters_quoted)
{
	const char *const words[] = { "NULL", "{brace}", "comma,x", " padded " };

	expect(words, 4, "{\"NULL\",\"{brace}\",\"comma,x\",\" padded \"}");
}
END_TEST

/* Reading bigint[] back: what PostgreSQL prints, and nothing else. */
START_TEST(parse_int64)
{
	int64_t *v;

	ck_assert_int_eq(pgarray_parse_int64("{1,-2,1700000000000000}", &v), 3);
	ck_assert(v[0] == 1 && v[1] == -2 && v[2] == INT64_C(1700000000000000));
	free(v);
	ck_assert_int_eq(pgarray_parse_int64("{}", &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(pgarray_parse_int64("{NULL}", &v), -1);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(pgarray_parse_int64("{1,2", &v), -1);
	ck_assert_int_eq(pgarray_parse_int64("{{1},{2}}", &v), -1);
	ck_assert_int_eq(pgarray_parse_int64("{1,}", &v), -1);
	ck_assert_int_eq(pgarray_parse_int64("{1}x", &v), -1);
	ck_assert_int_eq(pgarray_parse_int64("{99999999999999999999}", &v), -1);
	ck_assert_int_eq(pgarray_parse_int64(NULL, &v), -1);
}
END_TEST

/* A batch's worth: the literal is sized before it is built, so a long
 * mix of plain, escaped and NULL elements must come out whole (ASan in
 * tools/check catches a byte written past it). */
START_TEST(long_mixed_run)
{
	enum { N = 500 };
	const char *elems[N];
	char storage[N][16];
	char want[N * 24] = "{";

	for (int i = 0; i < N; i++) {
		if (i % 7 == 3) {
			elems[i] = NULL;
			strcat(want, i ? ",NULL" : "NULL");
			continue;
		}
		snprintf(storage[i], sizeof storage[i], i % 5 ? "S-%03d" : "q\"%d\\", i);
		elems[i] = storage[i];
		strcat(want, i ? ",\"" : "\"");
		if (i % 5)
			strcat(want, storage[i]);
		else
			sprintf(want + strlen(want), "q\\\"%d\\\\", i);
		strcat(want, "\"");
	}
	strcat(want, "}");
	expect(elems, N, want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("literals");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, plain_null_and_empty);
	tcase_add_test(tc, quotes_and_backslashes_escaped);
	tcase_add_test(tc, structure_characters_quoted);
	tcase_add_test(tc, long_mixed_run);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, parse_int64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
