/* proto: one line of JSON into a typed, validated request. */
#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define MAX_ARG_BYTES 256
#define MAX_KEY_BYTES 128
#define MAX_QUEUE_CHARS 16
#define MAX_OP_CHARS_SHOWN 40

/* The string arguments, in the order their errors are reported. */
static const struct {
	const char *name;
	size_t offset;
} arg_fields[] = {
	{ "token", offsetof(struct proto_request, token) },
	{ "queue", offsetof(struct proto_request, queue) },
	{ "key", offsetof(struct proto_request, key) },
	{ "ticket", offsetof(struct proto_request, ticket) },
	{ "office", offsetof(struct proto_request, office) },
	{ "counter", offsetof(struct proto_request, counter) },
};
#define N_ARG_FIELDS (sizeof(arg_fields) / sizeof(arg_fields[0]))

static const char **arg_slot(struct proto_request *req, size_t i)
{
	return (const char **)((char *)req + arg_fields[i].offset);
}

static const char *arg_get(const struct proto_request *req, size_t i)
{
	return *(const char *const *)((const char *)req + arg_fields[i].offset);
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
				i++;	/* the escaped byte cannot end the string */
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
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
		default:
			break;
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

int proto_decode(const char *line, size_t len, struct proto_request *req,
		 struct proto_error *err)
{
	json_error_t jerr;
	json_t *root, *op;
	int opnum;

	memset(req, 0, sizeof(*req));
	if (max_depth(line, len, PROTO_MAX_DEPTH) > PROTO_MAX_DEPTH) {
		proto_error_set(err, PERR_BAD_REQUEST,
				"invalid JSON: nesting deeper than %d levels",
				PROTO_MAX_DEPTH);
		return -1;
	}
	/* No JSON_DISABLE_EOF_CHECK: the whole line must be one value.
	 * JSON_DECODE_ANY so that "1" gets the clearer "not an object".
	 * Without JSON_ALLOW_NUL, "\u0000" is refused, so the borrowed
	 * C strings below are never cut short. */
	root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		proto_error_set(err, PERR_BAD_REQUEST,
				"invalid JSON: %s at column %d",
				jerr.text, jerr.column);
		return -1;
	}
	req->root = root;
	if (!json_is_object(root)) {
		proto_error_set(err, PERR_BAD_REQUEST,
				"a request must be a JSON object");
		return -1;
	}
	req->id = json_object_get(root, "id");

	op = json_object_get(root, "op");
	if (!op || json_is_null(op)) {
		proto_error_set(err, PERR_BAD_REQUEST, "missing field: op");
		return -1;
	}
	if (!json_is_string(op)) {
		proto_error_set(err, PERR_BAD_REQUEST,
				"field op must be a string");
		return -1;
	}
	opnum = proto_op_from_name(json_string_value(op));
	if (opnum < 0) {
		char shown[MAX_OP_CHARS_SHOWN * 4 + 5];

		clip_name(json_string_value(op), MAX_OP_CHARS_SHOWN,
			  shown, sizeof(shown));
		proto_error_set(err, PERR_UNKNOWN_OP, "unknown op: %s", shown);
		return -1;
	}
	req->op = (enum proto_op)opnum;

	for (size_t i = 0; i < N_ARG_FIELDS; i++) {
		json_t *v = json_object_get(root, arg_fields[i].name);

		/* null means "not given": clients often serialise unset
		 * optional fields that way. */
		if (!v || json_is_null(v))
			continue;
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

/* The field a given op cannot do without, or NULL. */
static const char *required_field(enum proto_op op)
{
	switch (op) {
	case OP_HELLO:
		return "token";
	case OP_ISSUE:
	case OP_TRANSFER:
		return "queue";
	case OP_CALL:
	case OP_CANCEL:
	case OP_TICKET:
		return "ticket";
	default:
		return NULL;
	}
}

/* Whether the op reads argument field i (see arg_fields). */
static bool op_uses(enum proto_op op, const char *name)
{
	if (!strcmp(name, "token"))
		return op == OP_HELLO;
	if (!strcmp(name, "queue"))
		return op == OP_ISSUE || op == OP_TRANSFER;
	if (!strcmp(name, "key"))
		return op == OP_ISSUE;
	if (!strcmp(name, "ticket"))
		return op == OP_CALL || op == OP_CANCEL || op == OP_TICKET;
	if (!strcmp(name, "office"))
		return op != OP_PING && op != OP_BYE && op != OP_HELLO;
	if (!strcmp(name, "counter"))
		return proto_op_is_counter_op(op);
	return false;
}

int proto_check_args(const struct proto_request *req, struct proto_error *err)
{
	const char *need = required_field(req->op);

	for (size_t i = 0; i < N_ARG_FIELDS; i++) {
		if ((req->mistyped & (1u << i)) && op_uses(req->op, arg_fields[i].name)) {
			proto_error_set(err, PERR_BAD_REQUEST, "field %s must be a string",
					arg_fields[i].name);
			return -1;
		}
	}

	for (size_t i = 0; need && i < N_ARG_FIELDS; i++) {
		if (strcmp(arg_fields[i].name, need) == 0 && !arg_get(req, i)) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"missing field: %s", need);
			return -1;
		}
	}
	for (size_t i = 0; i < N_ARG_FIELDS; i++) {
		const char *name = arg_fields[i].name;
		const char *v = arg_get(req, i);
		size_t n;

		if (!v || !op_uses(req->op, name))
			continue;
		n = strlen(v);
		if (n == 0) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field %s must not be empty", name);
			return -1;
		}
		if (n > MAX_ARG_BYTES) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field %s is too long (at most %d bytes)",
					name, MAX_ARG_BYTES);
			return -1;
		}
		if (strcmp(name, "key") == 0 && n > MAX_KEY_BYTES) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field key is too long (at most %d bytes)",
					MAX_KEY_BYTES);
			return -1;
		}
		if (strcmp(name, "queue") == 0 &&
		    utf8_chars(v) > MAX_QUEUE_CHARS) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field queue is too long (at most %d characters)",
					MAX_QUEUE_CHARS);
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
