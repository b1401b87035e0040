/* Unit tests of daemon/tzday: local business days, midnights, formats. */
#include "daemon/util/tzday.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000)

/* Computes day and next midnight of `at` (seconds) in tz; checks both. */
static void expect_day(const char *tz, int64_t at, const char *want_day, int64_t want_next)
{
	int32_t day = -1, parsed;
	int64_t next = -1;
	char buf[16];

	ck_assert_int_eq(tzday_compute(tz, at * SEC, &day, &next), 0);
	tzday_format(day, buf);
	ck_assert_str_eq(buf, want_day);
	ck_assert_int_eq(tzday_parse(want_day, &parsed), 0);
	ck_assert_int_eq(day, parsed);
	ck_assert_msg(next == want_next * SEC, "%s at %lld: next midnight %lld, want %lld", tz,
		      (long long)at, (long long)(next / SEC), (long long)want_next);
}

START_TEST(compute_utc)
{
	int32_t day;
	int64_t next;

	/* 2026-06-10T12:34:56Z */
	expect_day("UTC", 1781094896, "2026-06-10", 1781136000);
	ck_assert_int_eq(tzday_compute("UTC", INT64_C(1781094896) * SEC, &day, &next), 0);
	ck_assert_int_eq(day, 20614);
	/* exactly midnight belongs to the new day */
	expect_day("UTC", 1781136000, "2026-06-11", 1781136000 + 86400);
	expect_day("UTC", 1781136000 - 1, "2026-06-10", 1781136000);
	expect_day("UTC", 0, "1970-01-01", 86400);
	expect_day("Etc/UTC", 951782400 + 3600, "2000-02-29", 951782400 + 86400);
}
END_TEST

START_TEST(compute_stockholm)
{
	/* summer (CEST, +2): 2026-06-10T22:30Z is 00:30 on the 11th */
	expect_day("Europe/Stockholm", 1781130600, "2026-06-11", 1781128800 + 86400);
	expect_day("Europe/Stockholm", 1781128800 - 1, "2026-06-10", 1781128800);
	/* 2026-06-10T12:34:56Z: same date as UTC, midnight at 22:00Z */
	expect_day("Europe/Stockholm", 1781094896, "2026-06-10", 1781128800);
	/* winter (CET, +1): 2026-01-15T23:30Z is 00:30 on the 16th */
	expect_day("Europe/Stockholm", 1768519800, "2026-01-16", 1768604400);
}
END_TEST

START_TEST(compute_dst_days)
{
	/* 2026-03-29 starts at 2026-03-28T23:00Z (CET) and ends at
	 * 2026-03-29T22:00Z (CEST): 23 hours */
	expect_day("Europe/Stockholm", 1774738800, "2026-03-29", 1774821600);
	expect_day("Europe/Stockholm", 1774738800 + 3 * 3600, "2026-03-29", 1774821600);
	expect_day("Europe/Stockholm", 1774821600 - 1, "2026-03-29", 1774821600);
	expect_day("Europe/Stockholm", 1774821600, "2026-03-30", 1774821600 + 86400);
	/* 2026-10-25 lasts 25 hours: 2026-10-24T22:00Z to 2026-10-25T23:00Z */
	expect_day("Europe/Stockholm", 1792879200, "2026-10-25", 1792969200);
	expect_day("Europe/Stockholm", 1792879200 + 3 * 3600, "2026-10-25", 1792969200);
	expect_day("Europe/Stockholm", 1792969200 - 1, "2026-10-25", 1792969200);
}
END_TEST

/* The memo of recent days (tzday.c) answers per zone and per day only:
 * the same instant in other zones, the next midnight, an earlier day and
 * more zones than it holds all come out as computed afresh. */
START_TEST(compute_memo_per_zone_and_day)
{
	static const char *const zones[] = {
		"UTC",
		"Europe/Stockholm",
		"America/New_York",
		"Asia/Tokyo",
		"Australia/Sydney",
		"Europe/London",
		"Asia/Kolkata",
		"America/Los_Angeles",
		"Africa/Nairobi",
		"Europe/Helsinki",
		"Asia/Dubai",
		"America/Sao_Paulo",
		"Pacific/Auckland",
		"Europe/Lisbon",
		"Asia/Singapore",
		"America/Chicago",
		"Europe/Oslo",
		"Atlantic/Reykjavik",
	};
	int32_t first[18];

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 18; i++) {
			int32_t day;
			int64_t next;

			/* 2026-06-10T22:30Z: the 10th in UTC, the 11th in Stockholm */
			ck_assert_int_eq(tzday_compute(zones[i], INT64_C(1781130600) * SEC, &day,
						       &next),
					 0);
			if (round == 0)
				first[i] = day;
			ck_assert_int_eq(day, first[i]);
		}
	ck_assert_int_ne(first[0], first[1]);
	expect_day("Europe/Stockholm", 1781130600, "2026-06-11", 1781128800 + 86400);
	expect_day("Europe/Stockholm", 1781128800 + 86400, "2026-06-12", 1781128800 + 2 * 86400);
	expect_day("Europe/Stockholm", 1781128800 - 1, "2026-06-10", 1781128800);
	expect_day("UTC", 1781130600, "2026-06-10", 1781136000);
}
END_TEST

START_TEST(compute_bad_zone)
{
	int32_t day = 7;
	int64_t next = 7;

	ck_assert_int_eq(tzday_compute("Nowhere/Nothing", 0, &day, &next), -1);
	ck_assert_int_eq(tzday_compute("", 0, &day, &next), -1);
	ck_assert_int_eq(tzday_compute(NULL, 0, &day, &next), -1);
	ck_assert_int_eq(tzday_compute("../../../etc/passwd", 0, &day, &next), -1);
	ck_assert_int_eq(tzday_compute("/etc/localtime", 0, &day, &next), -1);
	ck_assert_int_eq(day, 7);
	ck_assert_int_eq(next, 7);
}
END_TEST

START_TEST(compute_keeps_tz)
{
	int32_t day;
	int64_t next;

	setenv("TZ", "America/New_York", 1);
	ck_assert_int_eq(tzday_compute("Europe/Stockholm", 0, &day, &next), 0);
	ck_assert_str_eq(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	ck_assert_int_eq(tzday_compute("UTC", 0, &day, &next), 0);
	ck_assert_ptr_null(getenv("TZ"));
}
END_TEST

static void expect_iso(int64_t us, const char *want)
{
	char buf[32];

	memset(buf, 'x', sizeof buf);
	tzday_iso8601(us, buf);
	ck_assert_str_eq(buf, want);
}

START_TEST(iso8601)
{
	expect_iso(0, "1970-01-01T00:00:00.000Z");
	expect_iso(INT64_C(1781094896) * SEC + 123456, "2026-06-10T12:34:56.123Z");
	expect_iso(INT64_C(1781094896) * SEC + 999999, "2026-06-10T12:34:56.999Z");
	expect_iso(INT64_C(951782400) * SEC + 1000, "2000-02-29T00:00:00.001Z");
	expect_iso(INT64_C(951868799) * SEC, "2000-02-29T23:59:59.000Z");
	expect_iso(999, "1970-01-01T00:00:00.000Z");
	expect_iso(-1, "1969-12-31T23:59:59.999Z");
	expect_iso(-1000, "1969-12-31T23:59:59.999Z");
	expect_iso(-1001, "1969-12-31T23:59:59.998Z");
	expect_iso(-SEC, "1969-12-31T23:59:59.000Z");
	expect_iso(-1500000, "1969-12-31T23:59:58.500Z");
	expect_iso(-INT64_C(86400) * SEC, "1969-12-31T00:00:00.000Z");
	expect_iso(-INT64_C(86400) * SEC - 1, "1969-12-30T23:59:59.999Z");
	expect_iso(-INT64_C(2208988800) * SEC, "1900-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(format_parse)
{
	char buf[16];
	int32_t day;

	tzday_format(0, buf);
	ck_assert_str_eq(buf, "1970-01-01");
	tzday_format(-1, buf);
	ck_assert_str_eq(buf, "1969-12-31");
	tzday_format(20614, buf);
	ck_assert_str_eq(buf, "2026-06-10");
	ck_assert_int_eq(tzday_parse("2000-02-29", &day), 0);
	ck_assert_int_eq(day, 11016);
	ck_assert_int_eq(tzday_parse("1900-03-01", &day), 0);
	tzday_format(day, buf);
	ck_assert_str_eq(buf, "1900-03-01");
	/* days from 1600 to 2400 survive a round trip (every day near now) */
	for (int32_t d = -135140; d <= 157040; d += (d > -1000 && d < 25000) ? 1 : 97) {
		int32_t back = 0;
		tzday_format(d, buf);
		ck_assert_int_eq(strlen(buf), 10);
		ck_assert_int_eq(tzday_parse(buf, &back), 0);
		ck_assert_int_eq(back, d);
	}
	ck_assert_int_eq(tzday_parse("2026-13-01", &day), -1);
	ck_assert_int_eq(tzday_parse("2026-00-10", &day), -1);
	ck_assert_int_eq(tzday_parse("2026-01-00", &day), -1);
	ck_assert_int_eq(tzday_parse("2026-01-32", &day), -1);
	ck_assert_int_eq(tzday_parse("yesterday", &day), -1);
	ck_assert_int_eq(tzday_parse("", &day), -1);
}
END_TEST

static Suite *tzday_suite(void)
{
	Suite *s = suite_create("tzday");
	TCase *tc = tcase_create("tzday");

	tcase_add_test(tc, compute_utc);
	tcase_add_test(tc, compute_stockholm);
	tcase_add_test(tc, compute_dst_days);
	tcase_add_test(tc, compute_memo_per_zone_and_day);
	tcase_add_test(tc, compute_bad_zone);
	tcase_add_test(tc, compute_keeps_tz);
	tcase_add_test(tc, iso8601);
	tcase_add_test(tc, format_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tzday_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
