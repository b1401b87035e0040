/* Unit tests of proto/: framing, decoding, argument checks, encoding. */
#include "proto/proto.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes a C string line; returns the decode result. */
static int dec(const char *line, struct proto_request *req, struct proto_error *err)
{
	memset(err, 0, sizeof(*err));
	return proto_decode(line, strlen(line), req, err);
}

/* The whole reply the daemon would send for a line that ends at decode
 * or argument checking: an error line, or an empty ok. */
static char *reply_for(const char *line, size_t len)
{
	struct proto_request req = { 0 };
	struct proto_error err = { 0 };
	char *out;

	if (proto_decode(line, len, &req, &err) == 0 && proto_check_args(&req, &err) == 0)
		out = proto_encode_ok(req.id, NULL, NULL);
	else
		out = proto_encode_error(req.id, err.code, err.message, NULL);
	proto_request_clear(&req);
	ck_assert_ptr_nonnull(out);
	return out;
}

static void expect_reply(const char *line, const char *want)
{
	char *out = reply_for(line, strlen(line));

	ck_assert_str_eq(out, want);
	free(out);
}

/* Asserts decode fails with code and exact message; the id must be absent. */
static void expect_decode_error(const char *line, size_t len, enum proto_err code,
				const char *msg_prefix)
{
	struct proto_request req = { 0 };
	struct proto_error err = { 0 };

	ck_assert_int_eq(proto_decode(line, len, &req, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strncmp(err.message, msg_prefix, strlen(msg_prefix)) == 0,
		      "message '%s' does not start with '%s'", err.message, msg_prefix);
	ck_assert_ptr_null(req.id);
	proto_request_clear(&req);
}

static void expect_args_error(const char *line, const char *msg)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec(line, &req, &err), 0);
	ck_assert_int_eq(proto_check_args(&req, &err), -1);
	ck_assert_int_eq(err.code, PERR_BAD_REQUEST);
	ck_assert_str_eq(err.message, msg);
	proto_request_clear(&req);
}

static void expect_args_ok(const char *line)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec(line, &req, &err), 0);
	ck_assert_msg(proto_check_args(&req, &err) == 0, "%s: %s", line, err.message);
	proto_request_clear(&req);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

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

/* ---- argument checks ------------------------------------------------------ */

START_TEST(args_missing)
{
	expect_args_error("{\"op\":\"hello\"}", "missing field: token");
	expect_args_error("{\"op\":\"hello\",\"token\":null}", "missing field: token");
	expect_args_error("{\"op\":\"issue\",\"key\":\"k\"}", "missing field: queue");
	expect_args_error("{\"op\":\"transfer\"}", "missing field: queue");
	expect_args_error("{\"op\":\"call\"}", "missing field: ticket");
	expect_args_error("{\"op\":\"cancel\"}", "missing field: ticket");
	expect_args_error("{\"op\":\"ticket\",\"queue\":\"S\"}", "missing field: ticket");
	expect_args_error("{\"op\":\"hello\",\"token\":\"\"}", "field token must not be empty");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"\"}", "field queue must not be empty");
	expect_args_error("{\"op\":\"call\",\"ticket\":\"\"}", "field ticket must not be empty");
	expect_args_error("{\"op\":\"status\",\"office\":\"\"}", "field office must not be empty");
	expect_reply("{\"id\":9,\"op\":\"cancel\"}",
		     "{\"id\":9,\"ok\":false,\"error\":{\"code\":"
		     "\"bad_request\",\"message\":\"missing field: ticket\"}}\n");
}
END_TEST

START_TEST(args_ok)
{
	static const char *const ok[] = {
		"{\"op\":\"ping\"}",
		"{\"op\":\"bye\"}",
		"{\"op\":\"status\"}",
		"{\"op\":\"subscribe\"}",
		"{\"op\":\"call_next\",\"counter\":\"3\"}",
		"{\"op\":\"recall\"}",
		"{\"op\":\"start\"}",
		"{\"op\":\"finish\"}",
		"{\"op\":\"no_show\"}",
		"{\"op\":\"counter_open\"}",
		"{\"op\":\"counter_close\",\"office\":\"STO\"}",
		"{\"op\":\"hello\",\"token\":\"abc\"}",
		"{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"k-1\"}",
		"{\"op\":\"transfer\",\"queue\":\"P\"}",
		"{\"op\":\"call\",\"ticket\":\"S-001\"}",
		"{\"op\":\"cancel\",\"ticket\":\"S-001\"}",
		"{\"op\":\"ticket\",\"ticket\":\"S-001\",\"key\":null}",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect_args_ok(ok[i]);
}
END_TEST

static void check_len(const char *op, const char *field, char c, size_t ok_len, const char *msg)
{
	char *v = repeat(c, ok_len + 1), line[1024];

	snprintf(line, sizeof(line),
		 "{\"op\":\"%s\",\"queue\":\"S\",\"ticket\":\"T\",\"%s\":\"%s\"}", op, field, v);
	expect_args_error(line, msg);
	v[ok_len] = '\0';
	snprintf(line, sizeof(line),
		 "{\"op\":\"%s\",\"queue\":\"S\",\"ticket\":\"T\",\"%s\":\"%s\"}", op, field, v);
	expect_args_ok(line);
	free(v);
}

START_TEST(args_lengths)
{
	check_len("issue", "key", 'k', 128, "field key is too long (at most 128 bytes)");
	check_len("issue", "queue", 'Q', 16, "field queue is too long (at most 16 characters)");
	check_len("ticket", "ticket", 't', 256, "field ticket is too long (at most 256 bytes)");
	check_len("hello", "token", 't', 256, "field token is too long (at most 256 bytes)");
	check_len("status", "office", 'o', 256, "field office is too long (at most 256 bytes)");
	check_len("finish", "counter", 'c', 256, "field counter is too long (at most 256 bytes)");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"\"}",
			  "field key must not be empty");
	/* Queue codes count characters, not bytes. */
	expect_args_ok("{\"op\":\"issue\",\"queue\":"
		       "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		       "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}");
}
END_TEST

/* ---- id echo and encoding --------------------------------------------- */

static const struct {
	const char *in, *out;
} ids[] = {
	{ "42", "42" },
	{ "-17", "-17" },
	{ "0", "0" },
	{ "9007199254740993", "9007199254740993" },
	{ "-9223372036854775808", "-9223372036854775808" },
	{ "0.1", "0.1" },
	{ "1e300", "1e300" },
	{ "1E300", "1e300" },
	{ "-0.25", "-0.25" },
	{ "1.0", "1.0" },
	{ "2.5e-8", "2.5e-8" },
	{ "0.30000000000000004", "0.30000000000000004" },
	{ "123456.789", "123456.789" },
	{ "\"\\u00e9\\u20ac\\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\\t\\u0001\"",
	  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \\\"q\\\" \\\\ / \\n\\t\\u0001\"" },
	{ "\"\"", "\"\"" },
	{ "true", "true" },
	{ "false", "false" },
	{ "null", "null" },
	{ "[]", "[]" },
	{ "[1, \"a\", 0.1, [null]]", "[1,\"a\",0.1,[null]]" },
	{ "{\"a\": {\"b\": [0.1, 2]}, \"c\": null, \"d\": 1e-300}",
	  "{\"a\":{\"b\":[0.1,2]},\"c\":null,\"d\":1e-300}" },
	{ "{}", "{}" },
};

START_TEST(id_echo)
{
	char line[256], want[256];

	snprintf(line, sizeof(line), "{\"id\":%s,\"op\":\"ping\"}", ids[_i].in);
	snprintf(want, sizeof(want), "{\"id\":%s,\"ok\":true}\n", ids[_i].out);
	expect_reply(line, want);
	/* The same id comes back on errors too. */
	snprintf(line, sizeof(line), "{\"op\":\"nope\",\"id\":%s}", ids[_i].in);
	snprintf(want, sizeof(want),
		 "{\"id\":%s,\"ok\":false,\"error\":{\"code\":\"unknown_op\","
		 "\"message\":\"unknown op: nope\"}}\n",
		 ids[_i].out);
	expect_reply(line, want);
}
END_TEST

START_TEST(id_absent)
{
	expect_reply("{\"op\":\"ping\"}", "{\"id\":null,\"ok\":true}\n");
}
END_TEST

START_TEST(encode_ok_result)
{
	json_t *id = json_integer(3);
	json_t *res = json_pack("{s:{s:s,s:i,s:n,s:f},s:s,s:b,s:s}", "ticket", "code", "S-042",
				"number", 42, "counter", "estimated_wait_s", 0.1, "finished",
				"S-041", "ok", 0, "id", "x");
	size_t len = 0;
	char *out = proto_encode_ok(id, res, &len);

	ck_assert_str_eq(out,
			 "{\"id\":3,\"ok\":true,\"ticket\":{\"code\":\"S-042\",\"number\":42,"
			 "\"counter\":null,\"estimated_wait_s\":0.1},\"finished\":\"S-041\"}\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	out = proto_encode_ok(NULL, NULL, &len);
	ck_assert_str_eq(out, "{\"id\":null,\"ok\":true}\n");
	free(out);
	json_decref(id);
	json_decref(res);
}
END_TEST

/* The cached form of a result gives the same bytes as encoding it whole. */
START_TEST(encode_ok_members_same_bytes)
{
	json_t *idv[] = { json_integer(7), json_string("s-1"), json_null(), json_real(1.5) };
	json_t *results[] = {
		json_pack("{s:s,s:[{s:i,s:n}],s:b}", "office", "HQ", "queues", "waiting", 3,
			  "estimated_wait_s", "stale", 0),
		json_pack("{s:s,s:i}", "ok", "shadowed", "id", 9),
		json_object(),
		NULL,
	};

	for (size_t i = 0; i < sizeof idv / sizeof idv[0]; i++)
		for (size_t r = 0; r < sizeof results / sizeof results[0]; r++) {
			size_t mlen = 99, len1, len2;
			char *members = proto_encode_members(results[r], &mlen);
			char *whole = proto_encode_ok(idv[i], results[r], &len1);
			char *spliced;

			ck_assert_ptr_nonnull(members);
			ck_assert_uint_eq(mlen, strlen(members));
			spliced = proto_encode_ok_members(idv[i], members, mlen, &len2);
			ck_assert_str_eq(spliced, whole);
			ck_assert_uint_eq(len1, len2);
			free(members);
			free(whole);
			free(spliced);
		}
	for (size_t i = 0; i < sizeof idv / sizeof idv[0]; i++)
		json_decref(idv[i]);
	for (size_t r = 0; r < sizeof results / sizeof results[0]; r++)
		json_decref(results[r]);
}
END_TEST

START_TEST(encode_errors)
{
	json_t *id = json_string("r-1");
	static const char *const codes[] = {
		"ok",           "too_large", "bad_request",  "unknown_op", "unauthorized",
		"forbidden",    "not_found", "queue_closed", "conflict",   "unavailable",
		"rate_limited", "moved",     "internal",
	};
	char want[256];

	for (int c = PROTO_OK; c <= PERR_INTERNAL; c++) {
		char *out = proto_encode_error(id, (enum proto_err)c, "say \"why\"\n", NULL);

		ck_assert_str_eq(proto_err_code((enum proto_err)c), codes[c]);
		snprintf(want, sizeof(want),
			 "{\"id\":\"r-1\",\"ok\":false,\"error\":{\"code\":\"%s\","
			 "\"message\":\"say \\\"why\\\"?\"}}\n",
			 codes[c]);
		ck_assert_str_eq(out, want);
		free(out);
	}
	ck_assert_str_eq(proto_err_code((enum proto_err)999), "internal");
	{
		/* 1.1, several daemons: moved names the owner. */
		char *out = proto_encode_moved(id, "office x is served by 10.0.0.6:7878",
					       "10.0.0.6:7878", NULL);

		ck_assert_str_eq(out, "{\"id\":\"r-1\",\"ok\":false,\"error\":{\"code\":\"moved\","
				      "\"message\":\"office x is served by 10.0.0.6:7878\","
				      "\"owner\":\"10.0.0.6:7878\"}}\n");
		free(out);
	}
	{
		char *out = proto_encode_error(NULL, PERR_INTERNAL, NULL, NULL);
		char *bad = proto_encode_error(NULL, PERR_INTERNAL, "x\xff", NULL);

		ck_assert_str_eq(out, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
				      "\"message\":\"\"}}\n");
		ck_assert_str_eq(bad, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
				      "\"message\":\"x?\"}}\n");
		free(out);
		free(bad);
	}
	json_decref(id);
}
END_TEST

START_TEST(encode_event)
{
	json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "event", "called", "office", "STO",
			       "ticket", "S-042", "counter", "Kassa \xc3\x96", "recalls", 0, "at",
			       "2024-05-01T08:00:00Z");
	size_t len;
	char *out = proto_encode_event(ev, &len);

	ck_assert_str_eq(out, "{\"event\":\"called\",\"office\":\"STO\",\"ticket\":\"S-042\","
			      "\"counter\":\"Kassa "
			      "\xc3\x96\",\"recalls\":0,\"at\":\"2024-05-01T08:00:00Z\"}\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	json_decref(ev);
}
END_TEST

START_TEST(encode_one_line)
{
	json_t *id = json_string("a\nb\r\n\x01");
	json_t *res = json_pack("{s:s,s:[s]}", "text", "l1\nl2\n", "list", "\r\n");
	size_t len;
	char *out = proto_encode_ok(id, res, &len);

	ck_assert_ptr_nonnull(strchr(out, '\n'));
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
	ck_assert_ptr_nonnull(strstr(out, "\"a\\nb\\r\\n\\u0001\""));
	free(out);
	out = proto_encode_error(id, PERR_CONFLICT, "two\nlines", &len);
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
	free(out);
	json_decref(id);
	json_decref(res);
}
END_TEST

/* ---- names ------------------------------------------------------------ */

START_TEST(op_names)
{
	static const char *const names[] = {
		"ping",         "hello",         "bye",    "issue",   "call_next", "call",
		"recall",       "start",         "finish", "no_show", "transfer",  "cancel",
		"counter_open", "counter_close", "ticket", "status",  "subscribe", "park",
		"reactivate",   "check_in",      "book",   "unbook",
	};
	ck_assert_int_eq(OP__COUNT, 22);
	for (int i = 0; i < OP__COUNT; i++) {
		ck_assert_str_eq(proto_op_name((enum proto_op)i), names[i]);
		ck_assert_int_eq(proto_op_from_name(names[i]), i);
		ck_assert_int_eq(proto_op_is_counter_op((enum proto_op)i),
				 i >= OP_CALL_NEXT && i <= OP_TRANSFER
					 ? 1
					 : i == OP_COUNTER_OPEN || i == OP_COUNTER_CLOSE ||
						   i == OP_PARK);
	}
	ck_assert_ptr_null(proto_op_name(OP__COUNT));
	ck_assert_int_eq(proto_op_from_name("Ping"), -1);
	ck_assert_int_eq(proto_op_from_name(""), -1);
	ck_assert_int_eq(proto_op_from_name(NULL), -1);
}
END_TEST

/* Protocol 1.1's arguments: a boolean, language codes, one of two. */
/* book, unbook and check_in: each argument's rule, and the time parsed
 * to the microsecond whatever its zone. */
START_TEST(args_of_bookings)
{
	struct proto_request req;
	struct proto_error err;
	int64_t us;

	expect_args_ok(
		"{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30:00+01:00\","
		"\"minutes\":30,\"interpreter\":\"so\",\"reference\":\"AF-2026-1187\"}");
	expect_args_error("{\"op\":\"book\",\"starts_at\":\"2026-12-03T14:30Z\"}",
			  "missing field: queue");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\"}", "missing field: starts_at");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30\"}",
			  "field starts_at must be an ISO 8601 time with a zone, such as "
			  "2026-12-03T14:30:00+01:00");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-02-29T14:30Z\"}",
			  "field starts_at must be an ISO 8601 time with a zone, such as "
			  "2026-12-03T14:30:00+01:00");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":1764772200}",
			  "field starts_at must be a string");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"minutes\":4}",
			  "field minutes must be 5 to 240");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"minutes\":241}",
			  "field minutes must be 5 to 240");
	expect_args_ok("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
		       "\"minutes\":240}");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"minutes\":\"15\"}",
			  "field minutes must be an integer");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"minutes\":15.5}",
			  "field minutes must be an integer");
	expect_args_ok("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
		       "\"reference\":"
		       "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"reference\":"
			  "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
			  "field reference is too long (at most 64 characters)");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"reference\":\"pnr 19850101-1234\"}",
			  "field reference looks like a personal number or a phone number: send "
			  "the agency's own reference");
	expect_args_error("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T14:30Z\","
			  "\"reference\":\"0701234567\"}",
			  "field reference looks like a personal number or a phone number: send "
			  "the agency's own reference");
	expect_args_ok("{\"op\":\"check_in\",\"booking\":\"Q7HX3KPA\"}");
	expect_args_ok("{\"op\":\"unbook\",\"booking\":\"q7hx3kpa\"}");
	expect_args_error("{\"op\":\"check_in\"}", "missing field: booking");
	expect_args_error("{\"op\":\"check_in\",\"booking\":\"Q7HX3KP\"}",
			  "field booking must be 8 characters of ABCDEFGHJKMNPQRSTUVWXYZ23456789");
	expect_args_error("{\"op\":\"check_in\",\"booking\":\"Q7HX3KP0\"}",
			  "field booking must be 8 characters of ABCDEFGHJKMNPQRSTUVWXYZ23456789");
	expect_args_error("{\"op\":\"unbook\",\"booking\":\"QIHX3KPA\"}",
			  "field booking must be 8 characters of ABCDEFGHJKMNPQRSTUVWXYZ23456789");
	/* minutes unused by check_in: ignored, as unknown fields are */
	expect_args_ok("{\"op\":\"check_in\",\"booking\":\"Q7HX3KPA\",\"minutes\":\"x\"}");

	/* 2026-12-03T13:30:00Z is 1796304600 */
	ck_assert_int_eq(proto_parse_time("2026-12-03T13:30:00Z", &us), 0);
	ck_assert(us == 1796304600LL * 1000000);
	ck_assert_int_eq(proto_parse_time("2026-12-03T14:30:00+01:00", &us), 0);
	ck_assert(us == 1796304600LL * 1000000);
	ck_assert_int_eq(proto_parse_time("2026-12-03 08:00-0530", &us), 0);
	ck_assert(us == 1796304600LL * 1000000);
	ck_assert_int_eq(proto_parse_time("2026-12-03T13:30:00.25z", &us), 0);
	ck_assert(us == 1796304600LL * 1000000 + 250000);
	ck_assert_int_eq(proto_parse_time("2024-02-29T00:00Z", &us), 0);
	ck_assert_int_eq(proto_parse_time("2100-02-29T00:00Z", &us), -1);
	ck_assert_int_eq(proto_parse_time("2026-12-03T24:00Z", &us), -1);
	ck_assert_int_eq(proto_parse_time("2026-12-03T13:30Z junk", &us), -1);
	ck_assert_int_eq(proto_parse_time("2026-12-03T13:30:00.Z", &us), -1);
	ck_assert_int_eq(dec("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T13:30Z\","
			     "\"minutes\":45}",
			     &req, &err),
			 0);
	ck_assert(req.starts_at_us == 1796304600LL * 1000000);
	ck_assert_int_eq(req.minutes, 45);
	proto_request_clear(&req);
	ck_assert_int_eq(dec("{\"op\":\"book\",\"queue\":\"S\",\"starts_at\":\"2026-12-03T13:"
			     "30Z\"}",
			     &req, &err),
			 0);
	ck_assert_int_eq(req.minutes, -1);
	proto_request_clear(&req);
}
END_TEST

START_TEST(args_of_1_1)
{
	struct proto_request req;
	struct proto_error err;

	expect_args_ok("{\"op\":\"issue\",\"queue\":\"S\",\"priority\":true,"
		       "\"interpreter\":\"so\",\"lang\":\"ar\"}");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"S\",\"priority\":\"yes\"}",
			  "field priority must be true or false");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"S\",\"interpreter\":\"Somali\"}",
			  "field interpreter must be a two-letter language code such as so");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"S\",\"lang\":\"SV\"}",
			  "field lang must be a two-letter language code such as so");
	expect_args_error("{\"op\":\"issue\",\"queue\":\"S\",\"interpreter\":5}",
			  "field interpreter must be a string");
	/* Unused by the op: ignored, as unknown fields are. */
	expect_args_ok("{\"op\":\"call_next\",\"priority\":\"yes\",\"lang\":\"XX\"}");
	/* transfer: a queue or a counter, exactly one. */
	expect_args_ok("{\"op\":\"transfer\",\"queue\":\"F\"}");
	expect_args_ok("{\"op\":\"transfer\",\"to_counter\":\"3\"}");
	expect_args_error("{\"op\":\"transfer\"}", "missing field: queue");
	expect_args_error("{\"op\":\"transfer\",\"queue\":\"F\",\"to_counter\":\"3\"}",
			  "give queue or to_counter, not both");
	expect_args_ok("{\"op\":\"finish\",\"outcome\":\"advice\"}");
	expect_args_error("{\"op\":\"reactivate\"}", "missing field: ticket");
	/* The decoded values. */
	ck_assert_int_eq(dec("{\"op\":\"issue\",\"queue\":\"S\",\"priority\":false}", &req, &err),
			 0);
	ck_assert_int_eq(req.priority, 0);
	proto_request_clear(&req);
	ck_assert_int_eq(dec("{\"op\":\"issue\",\"queue\":\"S\"}", &req, &err), 0);
	ck_assert_int_eq(req.priority, -1);
	proto_request_clear(&req);
	ck_assert_int_eq(dec("{\"op\":\"issue\",\"queue\":\"S\",\"priority\":null}", &req, &err),
			 0);
	ck_assert_int_eq(req.priority, -1);
	proto_request_clear(&req);
}
END_TEST

START_TEST(error_set_sanitizes)
{
	struct proto_error err;
	char big[400];
	size_t n = 0;

	proto_error_set(&err, PERR_NOT_FOUND, "no ticket %s", "a\xff\tb");
	ck_assert_int_eq(err.code, PERR_NOT_FOUND);
	ck_assert_str_eq(err.message, "no ticket a??b");
	/* Truncation inside a character must not leave half of it. */
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(big + n, "\xe2\x82\xac");
	proto_error_set(&err, PERR_CONFLICT, "x%s", big);
	ck_assert_uint_eq(strlen(err.message), sizeof(err.message) - 1);
	ck_assert_str_eq(err.message + strlen(err.message) - 4, "\xe2\x82\xac?");
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *f = tcase_create("frame"), *d = tcase_create("decode");
	TCase *a = tcase_create("args"), *e = tcase_create("encode");

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
	tcase_add_test(a, args_missing);
	tcase_add_test(a, args_ok);
	tcase_add_test(a, args_lengths);
	tcase_add_loop_test(e, id_echo, 0, (int)(sizeof(ids) / sizeof(ids[0])));
	tcase_add_test(e, id_absent);
	tcase_add_test(e, encode_ok_result);
	tcase_add_test(e, encode_ok_members_same_bytes);
	tcase_add_test(e, encode_errors);
	tcase_add_test(e, encode_event);
	tcase_add_test(e, encode_one_line);
	tcase_add_test(e, op_names);
	tcase_add_test(e, args_of_1_1);
	tcase_add_test(e, args_of_bookings);
	tcase_add_test(e, error_set_sanitizes);
	suite_add_tcase(s, f);
	suite_add_tcase(s, d);
	suite_add_tcase(s, a);
	suite_add_tcase(s, e);
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
