/* Unit test of the visitors' secrets (daemon/util/vsecret.c): the
 * derivation against an independent implementation (Python's hmac and
 * base64, the values below), the hash, what a URL may name, and hex. */
#include "daemon/util/vsecret.h"

#include <check.h>
#include <string.h>

static void test_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
}

/* python3: hmac.new(bytes(range(32)), b'kolapp-visitor/20000/S-042',
 * 'sha256').digest()[:24], base64url; and sha256 of that. */
START_TEST(derivation_matches_an_independent_one)
{
	uint8_t key[32], h[VSECRET_HASH];
	char s[VSECRET_LEN + 1], hex[2 * VSECRET_HASH + 1];

	test_key(key);
	vsecret_derive(key, sizeof key, 20000, "S-042", s);
	ck_assert_str_eq(s, "FoDB6exfHiTZXyQG01T9j55uqs_mXAiq");
	vsecret_hash(s, strlen(s), h);
	vsecret_hex(h, sizeof h, hex);
	ck_assert_str_eq(hex, "b81a61c4f6911ca58ec746aa3ed75c9ecef7783dceb2a970a4f0df410599df92");
}
END_TEST

START_TEST(day_code_and_key_each_change_it)
{
	uint8_t key[32];
	char a[VSECRET_LEN + 1], b[VSECRET_LEN + 1];

	test_key(key);
	vsecret_derive(key, sizeof key, 20000, "S-042", a);
	vsecret_derive(key, sizeof key, 20001, "S-042", b);
	ck_assert_str_ne(a, b);
	vsecret_derive(key, sizeof key, 20000, "S-043", b);
	ck_assert_str_ne(a, b);
	key[31] ^= 1;
	vsecret_derive(key, sizeof key, 20000, "S-042", b);
	ck_assert_str_ne(a, b);
	key[31] ^= 1;
	vsecret_derive(key, sizeof key, 20000, "S-042", b);
	ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(well_formed_is_32_base64url_characters)
{
	ck_assert(vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs_mXAiq", 32));
	ck_assert(!vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs_mXAi", 31));
	ck_assert(!vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs_mXAiqq", 33));
	ck_assert(!vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs/mXAiq", 32));
	ck_assert(!vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs.mXAiq", 32));
	/* a NUL inside: strchr would find the terminator */
	ck_assert(!vsecret_well_formed("FoDB6exfHiTZXyQG01T9j55uqs\0mXAiq", 32));
}
END_TEST

START_TEST(hex_both_ways)
{
	uint8_t in[3] = { 0x00, 0xab, 0xff }, out[4];

	char hex[7];
	vsecret_hex(in, 3, hex);
	ck_assert_str_eq(hex, "00abff");
	ck_assert_int_eq(vsecret_unhex("00ABff", out, sizeof out), 3);
	ck_assert(!memcmp(in, out, 3));
	ck_assert_int_eq(vsecret_unhex("abc", out, sizeof out), -1);
	ck_assert_int_eq(vsecret_unhex("zz", out, sizeof out), -1);
	ck_assert_int_eq(vsecret_unhex("0001020304", out, sizeof out), -1); /* too long */
	ck_assert_int_eq(vsecret_unhex("", out, sizeof out), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vsecret");
	TCase *tc = tcase_create("vsecret");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, derivation_matches_an_independent_one);
	tcase_add_test(tc, day_code_and_key_each_change_it);
	tcase_add_test(tc, well_formed_is_32_base64url_characters);
	tcase_add_test(tc, hex_both_ways);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
