/*
 * proto_expect: what proto/ makes of one request line (decoded, its
 * arguments checked, the reply the daemon would send) as Check
 * assertions, shared by test_proto (framing, decoding) and
 * test_proto_reply (argument checks, encoding).
 */
#ifndef KOLAPP_TESTS_PROTO_EXPECT_H
#define KOLAPP_TESTS_PROTO_EXPECT_H

#include <check.h>
#include <stddef.h>

#include "proto/proto.h"

/* Decodes a C string line; returns the decode result. */
int dec(const char *line, struct proto_request *req, struct proto_error *err);
/* The whole reply the daemon would send for a line that ends at decode
 * or argument checking: an error line, or an empty ok. */
char *reply_for(const char *line, size_t len);
void expect_reply(const char *line, const char *want);
/* Asserts decode fails with code and a message that starts with
 * msg_prefix; the id must be absent. */
void expect_decode_error(const char *line, size_t len, enum proto_err code, const char *msg_prefix);
void expect_args_error(const char *line, const char *msg);
void expect_args_ok(const char *line);
/* n times c; the caller frees it. */
char *repeat(char c, size_t n);

#endif
