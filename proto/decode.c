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
	[ARG_BOOKING] = offsetof(struct proto_request, booking),
	[ARG_STARTS_AT] = offsetof(struct proto_request, starts_at),
	[ARG_REFERENCE] = offsetof(struct proto_request, reference),
};

#define MIN_MINUTES 5
#define MAX_MINUTES 240
#define MAX_REFERENCE_CHARS 64

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

/* A booking code: 8 letters of the booking alphabet, in either case
 * (visitors type them). */
static bool is_booking_code(const char *v)
{
	if (strlen(v) != PROTO_BOOKING_LEN)
		return false;
	for (; *v; v++) {
		char c = *v >= 'a' && *v <= 'z' ? (char)(*v - 'a' + 'A') : *v;

		if (!strchr(PROTO_BOOKING_ALPHABET, c))
			return false;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Six digits, an optional - or +, four digits: a personal identity number
 * (YYMMDD-NNNN) or a phone number. kolapp stores no personal data, so a
 * reference that looks like one is refused (sql/011_bookings.sql has the
 * same rule). */
static bool looks_personal(const char *v)
{
	for (; *v; v++) {
		const char *p = v;
		int n = 0;

		while (n < 6 && is_digit(*p))
			p++, n++;
		if (n < 6)
			continue;
		if (*p == '-' || *p == '+')
			p++;
		for (n = 0; n < 4 && is_digit(*p); n++)
			p++;
		if (n == 4)
			return true;
	}
	return false;
}

static int digits(const char **s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (!is_digit(**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int proto_parse_time(const char *s, int64_t *us)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec = 0, off = 0;
	int64_t frac = 0, scale = 100000;

	if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 0 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if ((h = digits(&s, 2)) < 0 || *s++ != ':' || (mi = digits(&s, 2)) < 0)
		return -1;
	if (*s == ':') {
		s++;
		if ((sec = digits(&s, 2)) < 0)
			return -1;
		if (*s == '.' || *s == ',') {
			s++;
			if (!is_digit(*s))
				return -1;
			for (; is_digit(*s); s++, scale /= 10)
				frac += (*s - '0') * scale;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, oh, om = 0;

		if ((oh = digits(&s, 2)) < 0 || oh > 23)
			return -1;
		if (*s == ':')
			s++;
		if (*s && ((om = digits(&s, 2)) < 0 || om > 59))
			return -1;
		off = sign * (oh * 60 + om) * 60;
	} else {
		return -1; /* a time without a zone means different instants to each reader */
	}
	if (*s)
		return -1;
	*us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 +
	      frac;
	return 0;
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
	req->minutes = -1;
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
		if (i == ARG_MINUTES) {
			if (json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
			    json_integer_value(v) <= INT32_MAX)
				req->minutes = (int)json_integer_value(v);
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
	if (req->starts_at && proto_parse_time(req->starts_at, &req->starts_at_us) < 0)
		req->starts_at_us = 0; /* proto_check_args() says why, when the op uses it */
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
					arg_is_string(i)   ? "a string"
					: i == ARG_MINUTES ? "an integer"
							   : "true or false");
			return -1;
		}
	}
	/* Required arguments must be there: all of them, or with A_EITHER
	 * one of them (transfer names a queue or a counter), reported as the
	 * first missing. */
	unsigned need = spec->required & ~A_EITHER;
	bool either = spec->required & A_EITHER;
	if (need && (either ? !(req->present & need) : (req->present & need) != need)) {
		for (int i = 0; i < ARG__COUNT; i++)
			if ((need & (1u << i)) && !(req->present & (1u << i))) {
				proto_error_set(err, PERR_BAD_REQUEST, "missing field: %s",
						proto_arg_name((enum proto_arg)i));
				return -1;
			}
	}
	unsigned given = either ? req->present & need : 0;
	if (given & (given - 1)) {
		int first = __builtin_ctz(given), second = __builtin_ctz(given & (given - 1));

		proto_error_set(err, PERR_BAD_REQUEST, "give %s or %s, not both",
				proto_arg_name((enum proto_arg)first),
				proto_arg_name((enum proto_arg)second));
		return -1;
	}
	if ((req->present & A_MINUTES) && proto_op_uses(req->op, ARG_MINUTES) &&
	    (req->minutes < MIN_MINUTES || req->minutes > MAX_MINUTES)) {
		proto_error_set(err, PERR_BAD_REQUEST, "field minutes must be %d to %d",
				MIN_MINUTES, MAX_MINUTES);
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
		if (i == ARG_BOOKING && !is_booking_code(v)) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field booking must be %d characters of %s",
					PROTO_BOOKING_LEN, PROTO_BOOKING_ALPHABET);
			return -1;
		}
		if (i == ARG_STARTS_AT && proto_parse_time(v, &(int64_t){ 0 }) < 0) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field starts_at must be an ISO 8601 time with a zone, "
					"such "
					"as 2026-12-03T14:30:00+01:00");
			return -1;
		}
		if (i == ARG_REFERENCE && utf8_chars(v) > MAX_REFERENCE_CHARS) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field reference is too long (at most %d characters)",
					MAX_REFERENCE_CHARS);
			return -1;
		}
		if (i == ARG_REFERENCE && looks_personal(v)) {
			proto_error_set(err, PERR_BAD_REQUEST,
					"field reference looks like a personal number or a phone "
					"number: send the agency's own reference");
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
