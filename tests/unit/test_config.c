/* Unit tests of daemon/config (the settings table: parsing, bounds,
 * copying, printing) and daemon/util/addr (listen addresses). */
#include "daemon/util/addr.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- addr_parse ---------------------------------------------------------- */

static void expect_addr(const char *addrport, const char *want_host, int want_port)
{
	char host[ADDR_HOST_MAX];
	int port = -1;

	ck_assert_msg(addr_parse(addrport, host, sizeof host, &port) == 0, "%s refused",
		      addrport);
	ck_assert_str_eq(host, want_host);
	ck_assert_int_eq(port, want_port);
}

static void expect_bad_addr(const char *addrport, size_t hostsz)
{
	char host[ADDR_HOST_MAX + 8] = "untouched";
	int port = -7;

	ck_assert_msg(addr_parse(addrport, host, hostsz, &port) == -1, "%s accepted", addrport);
	ck_assert_str_eq(host, "untouched");
	ck_assert_int_eq(port, -7);
}

START_TEST(addr_v4_and_names)
{
	expect_addr("127.0.0.1:7878", "127.0.0.1", 7878);
	expect_addr("0.0.0.0:0", "0.0.0.0", 0);
	expect_addr("localhost:65535", "localhost", 65535);
	/* Unbracketed, the last colon splits off the port. */
	expect_addr("::1:80", "::1", 80);
}
END_TEST

START_TEST(addr_v6)
{
	expect_addr("[::1]:7878", "::1", 7878);
	expect_addr("[fe80::1%eth0]:8080", "fe80::1%eth0", 8080);
	expect_bad_addr("[::1]7878", ADDR_HOST_MAX);
	expect_bad_addr("[::1:7878", ADDR_HOST_MAX);
	expect_bad_addr("[]:7878", ADDR_HOST_MAX);
}
END_TEST

START_TEST(addr_missing_or_bad_port)
{
	expect_bad_addr("127.0.0.1", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:", ADDR_HOST_MAX);
	expect_bad_addr("[::1]:", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:http", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:80x", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:65536", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:-1", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:99999999999999999999999", ADDR_HOST_MAX);
	expect_bad_addr(":7878", ADDR_HOST_MAX);
	expect_bad_addr("", ADDR_HOST_MAX);
}
END_TEST

START_TEST(addr_host_too_long)
{
	char addr[ADDR_HOST_MAX + 16], host[ADDR_HOST_MAX];
	int port;

	/* ADDR_HOST_MAX - 1 characters fit with the NUL; one more does not. */
	memset(addr, 'a', ADDR_HOST_MAX - 1);
	strcpy(addr + ADDR_HOST_MAX - 1, ":80");
	ck_assert_int_eq(addr_parse(addr, host, sizeof host, &port), 0);
	ck_assert_uint_eq(strlen(host), ADDR_HOST_MAX - 1);
	memset(addr, 'a', ADDR_HOST_MAX);
	strcpy(addr + ADDR_HOST_MAX, ":80");
	expect_bad_addr(addr, ADDR_HOST_MAX);
	/* The caller's size is what counts, bracketed or not. */
	expect_bad_addr("10.0.0.1:80", 8);
	expect_bad_addr("[::1]:80", 3);
	expect_addr("[::1]:80", "::1", 80);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("addr");

	tcase_add_test(tc, addr_v4_and_names);
	tcase_add_test(tc, addr_v6);
	tcase_add_test(tc, addr_missing_or_bad_port);
	tcase_add_test(tc, addr_host_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
