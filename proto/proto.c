/* proto: names of error codes, and the error helper. */
#include "proto/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Indexed by enum proto_err: the wire strings are part of the contract. */
static const char *const err_codes[] = {
	[PROTO_OK] = "ok",
	[PERR_TOO_LARGE] = "too_large",
	[PERR_BAD_REQUEST] = "bad_request",
	[PERR_UNKNOWN_OP] = "unknown_op",
	[PERR_UNAUTHORIZED] = "unauthorized",
	[PERR_FORBIDDEN] = "forbidden",
	[PERR_NOT_FOUND] = "not_found",
	[PERR_QUEUE_CLOSED] = "queue_closed",
	[PERR_CONFLICT] = "conflict",
	[PERR_UNAVAILABLE] = "unavailable",
	[PERR_RATE_LIMITED] = "rate_limited",
	[PERR_MOVED] = "moved",
	[PERR_INTERNAL] = "internal",
};

const char *proto_err_code(enum proto_err err)
{
	/* An out-of-range value is a bug on our side: say so on the wire
	 * rather than send a code no client knows. */
	if ((unsigned)err >= sizeof(err_codes) / sizeof(err_codes[0]))
		return "internal";
	return err_codes[err];
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if invalid
 * (overlong forms, surrogates and values above U+10FFFF included). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return n;
}

void proto_text_sanitize(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(u + i, len - i);

		if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			u[i++] = '?';
			continue;
		}
		i += n;
	}
}

void proto_error_set(struct proto_error *err, enum proto_err code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return;
	err->code = code;
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	proto_text_sanitize(err->message, strlen(err->message));
}
