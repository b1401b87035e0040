/* Unit tests of proto/ reading a request: framing and decoding.
 * test_proto_reply tests what follows (argument checks, encoding). */
#include "tests/unit/proto_expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- framing ---------------------------------------------------------- */

START_TEST(frame_basic)
{
	size_t ll = 99, used = 99;

	ck_assert_int_eq(proto_frame_find("abc", 3, 8, &ll, &used), FRAME_NEED_MORE);
	ck_assert_int_eq(proto_frame_find("", 0, 8, &ll, &used), FRAME_NEED_MORE);
	ck_assert_int_eq(proto_frame_find("abc\nde\n", 7, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 3);
	ck_assert_uint_eq(used, 4);
}
END_TEST

START_TEST(frame_crlf)
{
	size_t ll, used;

	ck_assert_int_eq(proto_frame_find("abc\r\n", 5, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 3);
	ck_assert_uint_eq(used, 5);
	/* Only the "\r" right before "\n" is a terminator. */
	ck_assert_int_eq(proto_frame_find("a\rb\n", 4, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 3);
	ck_assert_int_eq(proto_frame_find("a\r\r\n", 4, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 2);
}
END_TEST

START_TEST(frame_empty_line)
{
	size_t ll = 9, used = 9;

	ck_assert_int_eq(proto_frame_find("\n", 1, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 0);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(proto_frame_find("\r\nx", 3, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 0);
	ck_assert_uint_eq(used, 2);
}
END_TEST

START_TEST(frame_limit_with_newline)
{
	size_t ll, used;

	ck_assert_int_eq(proto_frame_find("12345678\n", 9, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 8);
	ck_assert_int_eq(proto_frame_find("12345678\r\n", 10, 8, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, 8);
	ck_assert_uint_eq(used, 10);
	ck_assert_int_eq(proto_frame_find("123456789\n", 10, 8, &ll, &used), FRAME_TOO_LARGE);
	ck_assert_int_eq(proto_frame_find("123456789\r\n", 11, 8, &ll, &used), FRAME_TOO_LARGE);
}
END_TEST

START_TEST(frame_limit_without_newline)
{
	size_t ll, used;

	ck_assert_int_eq(proto_frame_find("12345678", 8, 8, &ll, &used), FRAME_NEED_MORE);
	/* A "\r" past the limit may still be the terminator's first half. */
	ck_assert_int_eq(proto_frame_find("12345678\r", 9, 8, &ll, &used), FRAME_NEED_MORE);
	ck_assert_int_eq(proto_frame_find("123456789", 9, 8, &ll, &used), FRAME_TOO_LARGE);
	ck_assert_int_eq(proto_frame_find("12345678\rx", 10, 8, &ll, &used), FRAME_TOO_LARGE);
	ck_assert_int_eq(proto_frame_find("1234567890123\n", 14, 8, &ll, &used), FRAME_TOO_LARGE);
}
END_TEST

START_TEST(frame_default_limit)
{
	size_t n = PROTO_DEFAULT_MAX_LINE, ll, used;
	char *buf = repeat('x', n + 2);

	buf[n] = '\n';
	ck_assert_int_eq(proto_frame_find(buf, n + 1, n, &ll, &used), FRAME_LINE);
	ck_assert_uint_eq(ll, n);
	buf[n] = 'x';
	buf[n + 1] = '\n';
	ck_assert_int_eq(proto_frame_find(buf, n + 2, n, &ll, &used), FRAME_TOO_LARGE);
	ck_assert_int_eq(proto_frame_find(buf, n + 1, n, &ll, &used), FRAME_TOO_LARGE);
	free(buf);
}
END_TEST

START_TEST(encode_too_large)
{
	char *out = proto_encode_error(NULL, PERR_TOO_LARGE, "line longer than 65536 bytes", NULL);

	ck_assert_str_eq(out, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"too_large\","
			      "\"message\":\"line longer than 65536 bytes\"}}\n");
	free(out);
}
END_TEST

/* ---- decoding errors ------------------------------------------------------ */

START_TEST(decode_invalid_json)
{
	static const char *const bad[] = {
		"{",
		"{\"op\":\"ping\"",
		"not json",
		"{\"op\":\"ping\"} x",
		"{\"op\":\"ping\"}{}",
		"",
		"   ",
		"{'op':'ping'}",
		"{\"op\":ping}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_decode_error(bad[i], strlen(bad[i]), PERR_BAD_REQUEST, "invalid JSON: ");
	expect_reply("{\"id\":5,\"op\":",
		     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\","
		     "\"message\":\"invalid JSON: unexpected token near end of file at column "
		     "13\"}}\n");
	/* Trailing whitespace is not a second value. */
	expect_reply("{\"id\":5,\"op\":\"ping\"} \t ", "{\"id\":5,\"ok\":true}\n");
}
END_TEST

START_TEST(decode_invalid_utf8)
{
	static const char *const bad[] = {
		"{\"op\":\"ping\",\"x\":\"\xff\"}",
		"{\"op\":\"ping\",\"x\":\"\xc0\xaf\"}",     /* overlong "/" */
		"{\"op\":\"ping\",\"x\":\"\xed\xa0\x80\"}", /* a surrogate */
		"{\"op\":\"ping\",\"\xfe\":1}",
		"{\"op\":\"ping\",\"x\":\"\xe2\x82\"}", /* cut short */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = reply_for(bad[i], strlen(bad[i]));
		json_t *back = json_loads(out, 0, NULL);

		expect_decode_error(bad[i], strlen(bad[i]), PERR_BAD_REQUEST, "invalid JSON: ");
		/* The message quotes the bad bytes: the reply must stay UTF-8. */
		ck_assert_msg(back != NULL, "reply is not valid JSON: %s", out);
		ck_assert_str_eq(json_string_value(
					 json_object_get(json_object_get(back, "error"), "code")),
				 "bad_request");
		json_decref(back);
		free(out);
	}
}
END_TEST

START_TEST(decode_nul_byte)
{
	static const char in_string[] = "{\"op\":\"ping\",\"id\":\"a\0b\"}";
	static const char outside[] = "{\"op\":\"ping\"}\0";
	static const char escaped[] = "{\"op\":\"ping\",\"id\":\"a\\u0000b\"}";

	expect_decode_error(in_string, sizeof(in_string) - 1, PERR_BAD_REQUEST, "invalid JSON: ");
	expect_decode_error(outside, sizeof(outside) - 1, PERR_BAD_REQUEST, "invalid JSON: ");
	expect_decode_error(escaped, sizeof(escaped) - 1, PERR_BAD_REQUEST, "invalid JSON: ");
}
END_TEST

START_TEST(decode_not_object)
{
	static const char *const vals[] = {
		"[]", "[{\"op\":\"ping\"}]", "\"x\"", "1", "null", "true", "0.5"
	};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		expect_decode_error(vals[i], strlen(vals[i]), PERR_BAD_REQUEST,
				    "a request must be a JSON object");
		expect_reply(vals[i],
			     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\","
			     "\"message\":\"a request must be a JSON object\"}}\n");
	}
}
END_TEST

/* {"op":"ping","id":[[...]]} with the object itself as level 1. */
static char *nested(size_t depth, char open, char close)
{
	size_t inner = depth - 1, n = 0;
	char *s = malloc(inner * 2 + 64);

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s, "{\"op\":\"ping\",\"id\":");
	for (size_t i = 0; i < inner; i++)
		s[n++] = open;
	for (size_t i = 0; i < inner; i++)
		s[n++] = close;
	strcpy(s + n, "}");
	return s;
}

START_TEST(decode_depth)
{
	struct proto_request req;
	struct proto_error err;
	char *ok = nested(PROTO_MAX_DEPTH, '[', ']');
	char *deep = nested(PROTO_MAX_DEPTH + 1, '[', ']');
	char *huge = repeat('{', 200000);

	ck_assert_int_eq(dec(ok, &req, &err), 0);
	ck_assert(json_is_array(req.id));
	proto_request_clear(&req);
	expect_decode_error(deep, strlen(deep), PERR_BAD_REQUEST,
			    "invalid JSON: nesting deeper than 32");
	expect_decode_error(huge, strlen(huge), PERR_BAD_REQUEST,
			    "invalid JSON: nesting deeper than 32");
	free(ok);
	free(deep);
	free(huge);
}
END_TEST

START_TEST(decode_depth_ignores_strings)
{
	struct proto_request req;
	struct proto_error err;
	char *brackets = repeat('[', 100);
	char line[512];

	snprintf(line, sizeof(line), "{\"op\":\"ping\",\"id\":\"%s\"}", brackets);
	ck_assert_int_eq(dec(line, &req, &err), 0);
	proto_request_clear(&req);
	/* An escaped quote must not end the string early. */
	snprintf(line, sizeof(line), "{\"op\":\"ping\",\"id\":\"\\\"%s\\\\\"}", brackets);
	ck_assert_int_eq(dec(line, &req, &err), 0);
	ck_assert_uint_eq(strlen(json_string_value(req.id)), 102);
	proto_request_clear(&req);
	free(brackets);
}
END_TEST

START_TEST(decode_missing_op)
{
	expect_reply("{\"id\":7}", "{\"id\":7,\"ok\":false,\"error\":{\"code\":\"bad_request\","
				   "\"message\":\"missing field: op\"}}\n");
	expect_reply("{\"id\":7,\"op\":null}",
		     "{\"id\":7,\"ok\":false,\"error\":{\"code\":\"bad_request\","
		     "\"message\":\"missing field: op\"}}\n");
	expect_reply("{}", "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\","
			   "\"message\":\"missing field: op\"}}\n");
}
END_TEST

START_TEST(decode_op_not_string)
{
	static const char *const ops[] = { "5", "true", "[\"ping\"]", "{\"x\":1}" };
	char line[128], want[256];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(line, sizeof(line), "{\"id\":\"r%zu\",\"op\":%s}", i, ops[i]);
		snprintf(want, sizeof(want),
			 "{\"id\":\"r%zu\",\"ok\":false,\"error\":{\"code\":"
			 "\"bad_request\",\"message\":\"field op must be a string\"}}\n",
			 i);
		expect_reply(line, want);
	}
}
END_TEST

START_TEST(decode_unknown_op)
{
	expect_reply("{\"id\":\"abc\",\"op\":\"fly\"}",
		     "{\"id\":\"abc\",\"ok\":false,\"error\":"
		     "{\"code\":\"unknown_op\",\"message\":\"unknown op: fly\"}}\n");
	/* Case matters, and unknown_op wins over a mistyped argument. */
	expect_reply("{\"id\":[1],\"op\":\"PING\",\"token\":5}",
		     "{\"id\":[1],\"ok\":false,\"error\":"
		     "{\"code\":\"unknown_op\",\"message\":\"unknown op: PING\"}}\n");
	expect_reply("{\"op\":\"\"}", "{\"id\":null,\"ok\":false,\"error\":"
				      "{\"code\":\"unknown_op\",\"message\":\"unknown op: \"}}\n");
	expect_reply("{\"op\":\"a\\u0001b\\nc\"}",
		     "{\"id\":null,\"ok\":false,\"error\":"
		     "{\"code\":\"unknown_op\",\"message\":\"unknown op: a?b?c\"}}\n");
}
END_TEST

START_TEST(decode_unknown_op_clipped)
{
	struct proto_request req;
	struct proto_error err;
	char line[1024], want[256];
	char *xs = repeat('x', 100);
	size_t n = 0;

	snprintf(line, sizeof(line), "{\"op\":\"%s\"}", xs);
	ck_assert_int_eq(dec(line, &req, &err), -1);
	ck_assert_int_eq(err.code, PERR_UNKNOWN_OP);
	snprintf(want, sizeof(want), "unknown op: %.40s...", xs);
	ck_assert_str_eq(err.message, want);
	proto_request_clear(&req);
	/* 60 two-byte characters: 40 whole characters, none split. */
	n = (size_t)sprintf(line, "{\"op\":\"");
	for (int i = 0; i < 60; i++)
		n += (size_t)sprintf(line + n, "\xc3\xa9");
	strcpy(line + n, "\"}");
	ck_assert_int_eq(dec(line, &req, &err), -1);
	ck_assert_uint_eq(strlen(err.message), strlen("unknown op: ") + 80 + 3);
	ck_assert_str_eq(err.message + strlen(err.message) - 5, "\xc3\xa9...");
	proto_request_clear(&req);
	free(xs);
}
END_TEST

START_TEST(decode_mistyped_fields)
{
	/* Each field with an op that uses it: decoding succeeds (the error
	 * ranks after authorisation), proto_check_args() names the field. */
	static const char *const fields[] = {
		"token", "queue", "key", "ticket", "office", "counter"
	};
	static const char *const users[] = {
		"hello", "issue", "issue", "call", "status", "finish"
	};
	static const char *const vals[] = { "5", "true", "[]", "{}", "1.5" };
	struct proto_request req;
	struct proto_error err;
	char line[128], msg[64];

	for (size_t f = 0; f < 6; f++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			snprintf(line, sizeof(line), "{\"id\":1,\"op\":\"%s\",\"%s\":%s}", users[f],
				 fields[f], vals[v]);
			ck_assert_int_eq(dec(line, &req, &err), 0);
			ck_assert_int_eq(proto_check_args(&req, &err), -1);
			ck_assert_int_eq(err.code, PERR_BAD_REQUEST);
			snprintf(msg, sizeof(msg), "field %s must be a string", fields[f]);
			ck_assert_str_eq(err.message, msg);
			ck_assert_int_eq(json_integer_value(req.id), 1);
			proto_request_clear(&req);
		}
		/* null is "not given", and presence is not required here. */
		snprintf(line, sizeof(line), "{\"op\":\"hello\",\"%s\":null}", fields[f]);
		ck_assert_int_eq(dec(line, &req, &err), 0);
		ck_assert_ptr_null(req.token);
		proto_request_clear(&req);
	}
	/* A field the op does not use is ignored, like any unknown field. */
	ck_assert_int_eq(dec("{\"op\":\"ping\",\"queue\":5,\"token\":\"\"}", &req, &err), 0);
	ck_assert_int_eq(proto_check_args(&req, &err), 0);
	proto_request_clear(&req);
	ck_assert_int_eq(dec("{\"op\":\"status\",\"queue\":\"\",\"ticket\":[]}", &req, &err), 0);
	ck_assert_int_eq(proto_check_args(&req, &err), 0);
	proto_request_clear(&req);
}
END_TEST

START_TEST(decode_fields_set)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec("{\"op\":\"transfer\",\"token\":\"t\",\"queue\":\"S\",\"key\":\"k\","
			     "\"ticket\":\"S-001\",\"office\":\"STO\",\"counter\":\"3\"}",
			     &req, &err),
			 0);
	ck_assert_int_eq(req.op, OP_TRANSFER);
	ck_assert_ptr_null(req.id);
	ck_assert_str_eq(req.token, "t");
	ck_assert_str_eq(req.queue, "S");
	ck_assert_str_eq(req.key, "k");
	ck_assert_str_eq(req.ticket, "S-001");
	ck_assert_str_eq(req.office, "STO");
	ck_assert_str_eq(req.counter, "3");
	proto_request_clear(&req);
	ck_assert_ptr_null(req.root);
	ck_assert_ptr_null(req.token);
	proto_request_clear(&req); /* twice is safe */
}
END_TEST

START_TEST(decode_duplicates_and_extras)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec("{\"id\":1,\"op\":\"ping\",\"id\":2,\"op\":\"status\"}", &req, &err),
			 0);
	ck_assert_int_eq(req.op, OP_STATUS);
	ck_assert_int_eq(json_integer_value(req.id), 2);
	proto_request_clear(&req);
	ck_assert_int_eq(dec("{\"op\":\"ping\",\"foo\":[1,{\"x\":null}],\"bar\":1.5,\"Token\":3}",
			     &req, &err),
			 0);
	ck_assert_int_eq(req.op, OP_PING);
	ck_assert_ptr_null(req.token);
	proto_request_clear(&req);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *f = tcase_create("frame"), *d = tcase_create("decode");

	tcase_add_test(f, frame_basic);
	tcase_add_test(f, frame_crlf);
	tcase_add_test(f, frame_empty_line);
	tcase_add_test(f, frame_limit_with_newline);
	tcase_add_test(f, frame_limit_without_newline);
	tcase_add_test(f, frame_default_limit);
	tcase_add_test(f, encode_too_large);
	tcase_add_test(d, decode_invalid_json);
	tcase_add_test(d, decode_invalid_utf8);
	tcase_add_test(d, decode_nul_byte);
	tcase_add_test(d, decode_not_object);
	tcase_add_test(d, decode_depth);
	tcase_add_test(d, decode_depth_ignores_strings);
	tcase_add_test(d, decode_missing_op);
	tcase_add_test(d, decode_op_not_string);
	tcase_add_test(d, decode_unknown_op);
	tcase_add_test(d, decode_unknown_op_clipped);
	tcase_add_test(d, decode_mistyped_fields);
	tcase_add_test(d, decode_fields_set);
	tcase_add_test(d, decode_duplicates_and_extras);
	suite_add_tcase(s, f);
	suite_add_tcase(s, d);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
