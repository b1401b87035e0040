/*
 * proto: the kolapp wire protocol, version 1, with no I/O.
 *
 * Owns: line framing rules, decoding one line into a typed request,
 * argument validation, and encoding replies, errors and events as one
 * line each. Pure C over jansson: no sockets, no libevent, no libpq, so
 * that it can be unit-tested and fuzzed on its own.
 */
#ifndef KOLAPP_PROTO_H
#define KOLAPP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/ops.h"

#define PROTO_VERSION 1
#define PROTO_MINOR 1 /* 1.1: the counter workflow */
#define PROTO_DEFAULT_MAX_LINE 65536
#define PROTO_MAX_DEPTH 32 /* JSON nesting accepted in a request */

/* Error codes of the contract, in the order in which they win. */
enum proto_err {
	PROTO_OK = 0,
	PERR_TOO_LARGE,
	PERR_BAD_REQUEST,
	PERR_UNKNOWN_OP,
	PERR_UNAUTHORIZED,
	PERR_FORBIDDEN,
	PERR_NOT_FOUND,
	PERR_QUEUE_CLOSED,
	PERR_CONFLICT,
	PERR_UNAVAILABLE,
	PERR_RATE_LIMITED,
	PERR_MOVED, /* 1.1, several daemons: the office is served by another */
	PERR_INTERNAL,
};

/* "bad_request", "not_found", ...; never NULL. */
const char *proto_err_code(enum proto_err err);


struct proto_error {
	enum proto_err code;
	char message[192];
};

/*
 * A decoded request. `root` owns everything; the other pointers borrow
 * from it and stay valid until proto_request_clear().
 */
struct proto_request {
	json_t *root;
	json_t *id; /* the "id" value, NULL when absent */
	enum proto_op op;
	const char *token;       /* hello */
	const char *queue;       /* issue, transfer */
	const char *key;         /* issue (optional idempotency key) */
	const char *ticket;      /* call, cancel, ticket */
	const char *office;      /* any op (admin picks an office) */
	const char *counter;     /* counter ops (admin names the counter) */
	const char *interpreter; /* issue: an ISO 639-1 code */
	const char *lang;        /* issue: the visitor's language */
	const char *outcome;     /* finish: a code of the queue's outcomes */
	const char *to_counter;  /* transfer to a counter */
	const char *booking;     /* check_in, unbook: a booking's code */
	const char *starts_at;   /* book: ISO 8601 with a zone */
	const char *reference;   /* book: the agency's reference */
	int64_t starts_at_us;    /* book: starts_at parsed, us since the epoch
				    (valid once proto_check_args() passed) */
	int minutes;             /* book: -1 absent */
	int priority;            /* issue: -1 absent, 0 false, 1 true */
	unsigned present;        /* bit per enum proto_arg given (not null) */
	unsigned mistyped;       /* bit per enum proto_arg present but of the
				   wrong type; reported by proto_check_args()
				   only when the op uses that field */
};

/* Result of looking for one line in a buffer. */
enum proto_frame {
	FRAME_NEED_MORE, /* no '\n' yet and still under the limit */
	FRAME_LINE,      /* a complete line */
	FRAME_TOO_LARGE, /* the line is (or will be) longer than max_line */
};

/*
 * Looks for the first line in buf[0..len). On FRAME_LINE, *line_len is
 * the length of the line without "\n" and without one "\r" before it,
 * and *consumed the bytes to drop including the "\n". max_line bounds the
 * line without its terminator.
 */
enum proto_frame proto_frame_find(const char *buf, size_t len, size_t max_line, size_t *line_len,
				  size_t *consumed);

/*
 * Decodes one line (without its terminator) into *req. Checks JSON
 * syntax, UTF-8, nesting depth, that the value is an object, that "op"
 * is a string naming a known op. Argument fields are taken when they
 * are strings; a mistyped one is only noted, because the contract ranks
 * a bad argument after unauthorized and forbidden: proto_check_args()
 * reports it, after authorisation.
 * Returns 0 on success. On failure returns -1 and fills *err; req->id is
 * still set when the line was parsed far enough to find it.
 * The caller calls proto_request_clear() in both cases.
 */
int proto_decode(const char *line, size_t len, struct proto_request *req, struct proto_error *err);

/* Checks the arguments the op uses (others are ignored, as unknown
 * fields are): required ones present, each a non-empty string within
 * its length limit; fills *err (bad_request naming the field) and
 * returns -1 if not. */
int proto_check_args(const struct proto_request *req, struct proto_error *err);

/* Parses an ISO 8601 time with a zone ("2026-12-03T14:30:00+01:00",
 * "2026-12-03 13:30Z", seconds and fractions optional) into microseconds
 * since the epoch. 0, or -1 when s is not such a time. */
int proto_parse_time(const char *s, int64_t *us);

/* Releases what proto_decode() took; safe on a zeroed or cleared req. */
void proto_request_clear(struct proto_request *req);

/*
 * Encoders. Each returns one line ending in "\n", malloc'd (caller
 * frees), and its length in *len; NULL only when out of memory.
 * `id` is echoed verbatim (JSON null when NULL); numbers keep their
 * shortest form (0.1 stays 0.1).
 */
/* {"id":..,"ok":true, ...fields of result} ; result may be NULL */
char *proto_encode_ok(const json_t *id, const json_t *result, size_t *len);
/* The members of a result as they follow "ok":true (",\"k\":v" each; ""
 * for none), for a result sent many times: proto_encode_ok_members(id,
 * that) is byte for byte proto_encode_ok(id, result). */
char *proto_encode_members(const json_t *result, size_t *len);
char *proto_encode_ok_members(const json_t *id, const char *members, size_t mlen, size_t *len);
/* {"id":..,"ok":false,"error":{"code":..,"message":..}} */
char *proto_encode_error(const json_t *id, enum proto_err code, const char *message, size_t *len);
/* The moved error: as proto_encode_error(PERR_MOVED) with the owner's
 * "ADDR:PORT" in error.owner. */
char *proto_encode_moved(const json_t *id, const char *message, const char *owner, size_t *len);
/* The event object as is (it carries "event", never "id"/"ok"). */
char *proto_encode_event(const json_t *event, size_t *len);

/* printf-style helper that fills an error. */
void proto_error_set(struct proto_error *err, enum proto_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Rewrites s[0..len) in place so that it is valid UTF-8 without control
 * characters: each offending byte becomes '?'. proto_error_set() applies
 * it, because messages quote client bytes and a truncation may split a
 * character, and an error reply must still encode.
 */
void proto_text_sanitize(char *s, size_t len);

#endif
