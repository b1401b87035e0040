/* Assertions on what proto/ makes of one request line (see
 * proto_expect.h). */
#include "tests/unit/proto_expect.h"

#include <stdlib.h>
#include <string.h>

int dec(const char *line, struct proto_request *req, struct proto_error *err)
{
	memset(err, 0, sizeof(*err));
	return proto_decode(line, strlen(line), req, err);
}

char *reply_for(const char *line, size_t len)
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

void expect_reply(const char *line, const char *want)
{
	char *out = reply_for(line, strlen(line));

	ck_assert_str_eq(out, want);
	free(out);
}

void expect_decode_error(const char *line, size_t len, enum proto_err code, const char *msg_prefix)
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

void expect_args_error(const char *line, const char *msg)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec(line, &req, &err), 0);
	ck_assert_int_eq(proto_check_args(&req, &err), -1);
	ck_assert_int_eq(err.code, PERR_BAD_REQUEST);
	ck_assert_str_eq(err.message, msg);
	proto_request_clear(&req);
}

void expect_args_ok(const char *line)
{
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(dec(line, &req, &err), 0);
	ck_assert_msg(proto_check_args(&req, &err) == 0, "%s: %s", line, err.message);
	proto_request_clear(&req);
}

char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}
