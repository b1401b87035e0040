/*
 * proto: replies and events, one compact line each.
 *
 * A small serializer of our own rather than json_dumps(): jansson prints
 * a real with a fixed precision (0.1 becomes 0.10000000000000001), but an
 * id must come back as the client wrote it, and the reply must put "id"
 * and "ok" first without copying the result object. Strings are escaped
 * as jansson does and stay UTF-8.
 */
#include "proto/proto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		char *p;

		while (cap < sb->len + n + 1)
			cap *= 2;
		p = realloc(sb->p, cap);
		if (!p) {
			sb->oom = true;
			return;
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/* Hands the line over, or frees everything after an allocation failure. */
static char *sb_finish(struct sbuf *sb, size_t *len)
{
	sb_add(sb, "\n", 1);
	if (sb->oom) {
		free(sb->p);
		return NULL;
	}
	if (len)
		*len = sb->len;
	return sb->p;
}

static void enc_string(struct sbuf *sb, const char *s, size_t n)
{
	size_t start = 0;

	sb_add(sb, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		const char *e = NULL;

		if (c == '"')
			e = "\\\"";
		else if (c == '\\')
			e = "\\\\";
		else if (c == '\n')
			e = "\\n";
		else if (c == '\r')
			e = "\\r";
		else if (c == '\t')
			e = "\\t";
		else if (c == '\b')
			e = "\\b";
		else if (c == '\f')
			e = "\\f";
		else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			e = esc;
		}
		if (!e)
			continue;
		sb_add(sb, s + start, i - start);
		sb_str(sb, e);
		start = i + 1;
	}
	sb_add(sb, s + start, n - start);
	sb_add(sb, "\"", 1);
}

/*
 * The shortest of jansson's own renderings that reads back as the same
 * double. jansson formats, so the text stays valid JSON (always a "." or
 * an exponent, never a locale's decimal comma).
 */
static void enc_real(struct sbuf *sb, const json_t *v)
{
	double d = json_real_value(v);
	char buf[64];

	/* Not reachable from parsed input; a daemon bug must not yield an
	 * unparsable line. */
	if (!isfinite(d)) {
		sb_str(sb, "null");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		size_t n = json_dumpb(v, buf, sizeof(buf),
				      JSON_ENCODE_ANY | JSON_REAL_PRECISION(p));
		json_t *back;
		bool same;

		if (n == 0 || n > sizeof(buf))
			continue;
		back = json_loadb(buf, n, JSON_DECODE_ANY, NULL);
		same = back && json_is_real(back) && json_real_value(back) == d;
		json_decref(back);
		if (same || p == 17) {
			sb_add(sb, buf, n);
			return;
		}
	}
	sb_str(sb, "null");
}

static void enc_value(struct sbuf *sb, const json_t *v)
{
	char num[32];

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		bool first = true;

		sb_add(sb, "{", 1);
		json_object_foreach((json_t *)v, key, val) {
			if (!first)
				sb_add(sb, ",", 1);
			first = false;
			enc_string(sb, key, strlen(key));
			sb_add(sb, ":", 1);
			enc_value(sb, val);
		}
		sb_add(sb, "}", 1);
		break;
	}
	case JSON_ARRAY:
		sb_add(sb, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				sb_add(sb, ",", 1);
			enc_value(sb, json_array_get(v, i));
		}
		sb_add(sb, "]", 1);
		break;
	case JSON_STRING: enc_string(sb, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		sb_str(sb, num);
		break;
	case JSON_REAL: enc_real(sb, v); break;
	case JSON_TRUE: sb_str(sb, "true"); break;
	case JSON_FALSE: sb_str(sb, "false"); break;
	case JSON_NULL:
	default: sb_str(sb, "null"); break;
	}
}

static void enc_members(struct sbuf *sb, const json_t *result)
{
	const char *key;
	json_t *val;

	if (!json_is_object(result))
		return;
	json_object_foreach((json_t *)result, key, val) {
		/* A result must not override the envelope: a second
		 * "ok" would leave clients guessing which one wins. */
		if (strcmp(key, "id") == 0 || strcmp(key, "ok") == 0)
			continue;
		sb_add(sb, ",", 1);
		enc_string(sb, key, strlen(key));
		sb_add(sb, ":", 1);
		enc_value(sb, val);
	}
}

char *proto_encode_ok(const json_t *id, const json_t *result, size_t *len)
{
	struct sbuf sb = { 0 };

	sb_str(&sb, "{\"id\":");
	enc_value(&sb, id);
	sb_str(&sb, ",\"ok\":true");
	enc_members(&sb, result);
	sb_add(&sb, "}", 1);
	return sb_finish(&sb, len);
}

char *proto_encode_members(const json_t *result, size_t *len)
{
	struct sbuf sb = { 0 };

	sb_add(&sb, "", 0); /* an empty result is "", not NULL */
	enc_members(&sb, result);
	if (sb.oom) {
		free(sb.p);
		return NULL;
	}
	if (len)
		*len = sb.len;
	return sb.p;
}

char *proto_encode_ok_members(const json_t *id, const char *members, size_t mlen, size_t *len)
{
	struct sbuf sb = { 0 };

	sb_str(&sb, "{\"id\":");
	enc_value(&sb, id);
	sb_str(&sb, ",\"ok\":true");
	sb_add(&sb, members, mlen);
	sb_add(&sb, "}", 1);
	return sb_finish(&sb, len);
}

static char *encode_error(const json_t *id, enum proto_err code, const char *message,
			  const char *owner, size_t *len)
{
	struct sbuf sb = { 0 };
	char *clean = strdup(message ? message : "");

	if (!clean)
		return NULL;
	/* Messages may quote client bytes: keep the reply valid UTF-8. */
	proto_text_sanitize(clean, strlen(clean));
	sb_str(&sb, "{\"id\":");
	enc_value(&sb, id);
	sb_str(&sb, ",\"ok\":false,\"error\":{\"code\":");
	enc_string(&sb, proto_err_code(code), strlen(proto_err_code(code)));
	sb_str(&sb, ",\"message\":");
	enc_string(&sb, clean, strlen(clean));
	if (owner) {
		sb_str(&sb, ",\"owner\":");
		enc_string(&sb, owner, strlen(owner));
	}
	sb_str(&sb, "}}");
	free(clean);
	return sb_finish(&sb, len);
}

char *proto_encode_error(const json_t *id, enum proto_err code, const char *message, size_t *len)
{
	return encode_error(id, code, message, NULL, len);
}

char *proto_encode_moved(const json_t *id, const char *message, const char *owner, size_t *len)
{
	return encode_error(id, PERR_MOVED, message, owner, len);
}

char *proto_encode_event(const json_t *event, size_t *len)
{
	struct sbuf sb = { 0 };

	enc_value(&sb, event);
	return sb_finish(&sb, len);
}
