/* proto: one line of JSON into a typed, validated request. */
#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define MAX_ARG_BYTES 256
#define MAX_KEY_BYTES 128
#define MAX_QUEUE_CHARS 16
#define MAX_OP_CHARS_SHOWN 40

/* Where each string argument lands in a request (0: not a string); the
 * order of the enum is the order in which their errors are reported. */
static const size_t arg_offsets[ARG__COUNT] = {
	[ARG_TOKEN] = offsetof(struct proto_request, token),
	[ARG_QUEUE] = offsetof(struct proto_request, queue),
	[ARG_KEY] = offsetof(struct proto_request, key),
	[ARG_TICKET] = offsetof(struct proto_request, ticket),
	[ARG_OFFICE] = offsetof(struct proto_request, office),
	[ARG_COUNTER] = offsetof(struct proto_request, counter),
	[ARG_INTERPRETER] = offsetof(struct proto_request, interpreter),
	[ARG_LANG] = offsetof(struct proto_request, lang),
	[ARG_OUTCOME] = offsetof(struct proto_request, outcome),
	[ARG_TO_COUNTER] = offsetof(struct proto_request, to_counter),
};

static bool arg_is_string(int a)
{
	return arg_offsets[a] != 0;
}

static const char **arg_slot(struct proto_request *req, int a)
{
	return (const char **)((char *)req + arg_offsets[a]);
}

static const char *arg_get(const struct proto_request *req, int a)
{
	return arg_is_string(a) ? *(const char *const *)((const char *)req + arg_offsets[a]) : NULL;
}

/* An ISO 639-1 code: two lowercase letters. */
static bool is_language(const char *v)
{
	return strlen(v) == 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z';
}

/*
 * Nesting depth of the first JSON-ish value in buf, counting [ and {
 * outside strings. It runs before the parser because jansson's own limit
 * (2048) lets a 64 KiB line cost thousands of nested allocations and
 * recursion frames. Invalid JSON may be miscounted; the parser rejects
 * it anyway, so only the bound matters.
 */
static size_t max_depth(const char *buf, size_t len, size_t limit)
{
	size_t depth = 0, worst = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"': in_string = true; break;
		case '[':
		case '{':
			if (++depth > worst) {
				worst = depth;
				if (worst > limit)
					return worst;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default: break;
		}
	}
	return worst;
}

/* Copies at most max_chars UTF-8 characters of s into out (size outsz),
 * so that an unknown op name cannot flood the message. The input comes
 * from jansson and is valid UTF-8; control characters are replaced by
 * proto_error_set() afterwards. */
static void clip_name(const char *s, size_t max_chars, char *out, size_t outsz)
{
	size_t i = 0, chars = 0;

	while (s[i] && chars < max_chars) {
		size_t n = 1;

		while ((s[i + n] & 0xc0) == 0x80)
			n++;
		if (i + n >= outsz - 4)
			break;
		i += n;
		chars++;
	}
	memcpy(out, s, i);
	if (s[i])
		memcpy(out + i, "...", 4);
	else
		out[i] = '\0';
}

int proto_decode(const char *line, size_t len, struct proto_request *req, struct proto_error *err)
{
	json_error_t jerr;
	json_t *root, *op;
	int opnum;

	memset(req, 0, sizeof(*req));
	if (max_depth(line, len, PROTO_MAX_DEPTH) > PROTO_MAX_DEPTH) {
		proto_error_set(err, PERR_BAD_REQUEST,
				"invalid JSON: nesting deeper than %d levels", PROTO_MAX_DEPTH);
		return -1;
	}
	/* No JSON_DISABLE_EOF_CHECK: the whole line must be one value.
	 * JSON_DECODE_ANY so that "1" gets the clearer "not an object".
	 * Without JSON_ALLOW_NUL, "\u0000" is refused, so the borrowed
	 * C strings below are never cut short. */
	root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		proto_error_set(err, PERR_BAD_REQUEST, "invalid JSON: %s at column %d", jerr.text,
				jerr.column);
		return -1;
	}
	req->root = root;
	if (!json_is_object(root)) {
		proto_error_set(err, PERR_BAD_REQUEST, "a request must be a JSON object");
		return -1;
	}
	req->id = json_object_get(root, "id");

	op = json_object_get(root, "op");
	if (!op || json_is_null(op)) {
		proto_error_set(err, PERR_BAD_REQUEST, "missing field: op");
		return -1;
	}
	if (!json_is_string(op)) {
		proto_error_set(err, PERR_BAD_REQUEST, "field op must be a string");
		return -1;
	}
	opnum = proto_op_from_name(json_string_value(op));
	if (opnum < 0) {
		char shown[MAX_OP_CHARS_SHOWN * 4 + 5];

		clip_name(json_string_value(op), MAX_OP_CHARS_SHOWN, shown, sizeof(shown));
		proto_error_set(err, PERR_UNKNOWN_OP, "unknown op: %s", shown);
		return -1;
	}
	req->op = (enum proto_op)opnum;

	req->priority = -1;
	for (int i = 0; i < ARG__COUNT; i++) {
		json_t *v = json_object_get(root, proto_arg_name((enum proto_arg)i));

		/* null means "not given": clients often serialise unset
		 * optional fields that way. */
		if (!v || json_is_null(v))
			continue;
		req->present |= 1u << i;
		if (i == ARG_PRIORITY) {
			if (json_is_boolean(v))
				req->priority = json_is_true(v);
			else
				req->mistyped |= 1u << i;
			continue;
		}
		if (!json_is_string(v)) {
			req->mistyped |= 1u << i;
			continue;
		}
		*arg_slot(req, i) = json_string_value(v);
	}
	return 0;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if ((*s & 0xc0) != 0x80)
			n++;
	return n;
}

int proto_check_args(const struct proto_request *req, struct proto_error *err)
{
	const struct proto_op_spec *spec = proto_op_spec(req->op);

	if (!spec) {
		proto_error_set(err, PERR_INTERNAL, "request without an op");
		return -1;
	}
	for (int i = 0; i < ARG__COUNT; i++) {
		if ((req->mistyped & (1u << i)) && proto_op_uses(req->op, (enum proto_arg)i)) {
			proto_error_set(err, PERR_BAD_REQUEST, "field %s must be %s",
					proto_arg_name((enum proto_arg)i),
					arg_is_string(i) ? "a string" : "true or false");
			return -1;
		}
	}
	/* One required argument: it must be there. Several: one of them
	 * (transfer names a queue or a counter), reported as the first. */
	if (spec->required && !(req->present & spec->required)) {
		for (int i = 0; i < ARG__COUNT; i++)
			if (spec->required & (1u << i)) {
				proto_error_set(err, PERR_BAD_REQUEST, "missing field: %s",
						proto_arg_name((enum proto_arg)i));
				return -1;
			}
	}
	unsigned given = req->present & spec->required;
	if (given & (given - 1)) {
		int first = __builtin_ctz(given), second = __builtin_ctz(given & (given - 1));

		proto_error_set(err, PERR_BAD_REQUEST, "give %s or %s, not both",
				proto_arg_name((enum proto_arg)first),
				proto_arg_name((enum proto_arg)second));
		return -1;
	}
	for (int i = 0; i < ARG__COUNT; i++) {
		const char *name = proto_arg_name((enum proto_arg)i);
		const char *v = arg_get(req, i);
		size_t n;

		if (!v || !proto_op_uses(req->op, (enum proto_arg)i))
			continue;
		n = strlen(v);
		if (n == 0) {
			proto_error_set(err, PERR_BAD_REQUEST, "field %s must not be empty", name);
			return -1;
		}
		if (n > MAX_ARG_BYTES) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field %s is too long (at most %d bytes)", name,
					MAX_ARG_BYTES);
			return -1;
		}
		if (i == ARG_KEY && n > MAX_KEY_BYTES) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field key is too long (at most %d bytes)", MAX_KEY_BYTES);
			return -1;
		}
		if (i == ARG_QUEUE && utf8_chars(v) > MAX_QUEUE_CHARS) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field queue is too long (at most %d characters)",
					MAX_QUEUE_CHARS);
			return -1;
		}
		if ((i == ARG_INTERPRETER || i == ARG_LANG) && !is_language(v)) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field %s must be a two-letter language code such as so",
					name);
			return -1;
		}
	}
	return 0;
}

void proto_request_clear(struct proto_request *req)
{
	if (!req)
		return;
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}
