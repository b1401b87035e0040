/* Unit tests of proto/ answering a decoded request: argument checks,
 * the reply's encoding (the id echoed as sent), op names and error
 * messages. test_proto tests framing and decoding. */
#include "tests/unit/proto_expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Suite *proto_reply_suite(void)
{
	Suite *s = suite_create("proto_reply");
	TCase *a = tcase_create("args"), *e = tcase_create("encode");

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
	suite_add_tcase(s, a);
	suite_add_tcase(s, e);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_reply_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
