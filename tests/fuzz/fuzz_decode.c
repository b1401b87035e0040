/*
 * libFuzzer target for proto/ alone: framing, decoding, argument checks
 * and the encoders that echo a client's id. Whatever the bytes, the
 * reply we would send must be one line of JSON that carries the id the
 * request had (or null).
 */
#include "proto/proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_decode: invariant failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* The reply line must be exactly one "\n"-terminated JSON object whose
 * "id" is the one decoded (JSON null when none was found). */
static void check_reply(char *out, size_t len, const json_t *id, bool ok)
{
	json_error_t jerr;
	json_t *r;

	CHECK(out != NULL, "encoder returned NULL");
	CHECK(len > 0 && out[len - 1] == '\n', "reply does not end in a newline");
	CHECK(memchr(out, '\n', len - 1) == NULL, "reply spans several lines");
	CHECK(memchr(out, '\0', len) == NULL, "reply holds a NUL byte");
	r = json_loadb(out, len, 0, &jerr);
	CHECK(r != NULL, "reply is not JSON: %s: %.*s", jerr.text, (int)len, out);
	CHECK(json_is_object(r), "reply is not an object");
	CHECK(json_is_boolean(json_object_get(r, "ok")), "reply has no boolean ok");
	CHECK(json_is_true(json_object_get(r, "ok")) == ok, "ok flipped");
	if (id)
		CHECK(json_equal(json_object_get(r, "id"), (json_t *)id),
		      "id does not round-trip: %.*s", (int)len, out);
	else
		CHECK(json_is_null(json_object_get(r, "id")), "id not null: %.*s", (int)len, out);
	if (!ok) {
		json_t *e = json_object_get(r, "error");

		CHECK(json_is_string(json_object_get(e, "code")), "error without code");
		CHECK(json_is_string(json_object_get(e, "message")), "error without message");
	}
	json_decref(r);
	free(out);
}

static void one_line(const char *line, size_t len)
{
	struct proto_request req;
	struct proto_error err;
	size_t olen = 0;
	int rc;

	memset(&err, 0, sizeof err);
	rc = proto_decode(line, len, &req, &err);
	if (rc == 0) {
		CHECK(req.root != NULL, "decoded without a root");
		CHECK(proto_op_name(req.op) != NULL, "op out of range: %d", (int)req.op);
		if (proto_check_args(&req, &err) == 0) {
			check_reply(proto_encode_ok(req.id, NULL, &olen), olen, req.id, true);
		} else {
			CHECK(err.code == PERR_BAD_REQUEST, "check_args gave %d", (int)err.code);
			check_reply(proto_encode_error(req.id, err.code, err.message, &olen), olen,
				    req.id, false);
		}
	} else {
		CHECK(rc == -1, "proto_decode returned %d", rc);
		CHECK(err.code == PERR_BAD_REQUEST || err.code == PERR_UNKNOWN_OP ||
			      err.code == PERR_TOO_LARGE,
		      "decode error code %d", (int)err.code);
		CHECK(strlen(err.message) > 0, "empty error message");
		check_reply(proto_encode_error(req.id, err.code, err.message, &olen), olen, req.id,
			    false);
	}
	proto_request_clear(&req);
	/* Clearing twice must be harmless: the daemon's paths rely on it. */
	proto_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	/* The first byte picks a small limit sometimes, so that the
	 * over-the-limit paths are reached with short inputs too. */
	size_t max_line = size && (data[0] & 1) ? 64 : PROTO_DEFAULT_MAX_LINE;
	size_t off = 0;

	/* Every line the framer finds, as the daemon would see them. */
	while (off < size) {
		size_t line_len = (size_t)-1, consumed = (size_t)-1;
		enum proto_frame f = proto_frame_find(buf + off, size - off, max_line, &line_len,
						      &consumed);

		if (f != FRAME_LINE) {
			CHECK(f == FRAME_NEED_MORE || f == FRAME_TOO_LARGE, "frame %d", (int)f);
			if (f == FRAME_NEED_MORE)
				CHECK(memchr(buf + off, '\n', size - off) == NULL &&
					      size - off <= max_line + 1,
				      "NEED_MORE with a line present");
			break;
		}
		CHECK(consumed >= 1 && consumed <= size - off, "consumed %zu of %zu", consumed,
		      size - off);
		CHECK(buf[off + consumed - 1] == '\n', "consumed does not end at a newline");
		CHECK(memchr(buf + off, '\n', consumed - 1) == NULL, "skipped a newline");
		CHECK(line_len == consumed - 1 ||
			      (line_len == consumed - 2 && buf[off + line_len] == '\r'),
		      "line_len %zu consumed %zu", line_len, consumed);
		CHECK(line_len <= max_line, "line over the limit");
		one_line(buf + off, line_len);
		off += consumed;
	}
	/* And the whole input as one line: NULs and stray newlines inside. */
	if (size <= PROTO_DEFAULT_MAX_LINE)
		one_line(buf, size);
	return 0;
}
