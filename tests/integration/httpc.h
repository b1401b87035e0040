/* A raw HTTP/1.0 client for the integration tests of kolappd's HTTP side:
 * one request per connection, so every reply ends with EOF and an event
 * stream arrives unchunked. Failures fail the running Check test. */
#ifndef KOLAPP_TESTS_HTTPC_H
#define KOLAPP_TESTS_HTTPC_H

#include <stddef.h>

struct hc_resp {
	int status;
	char *head; /* status line and headers */
	char *body;
};

void hc_resp_free(struct hc_resp *r);
/* Connects to 127.0.0.1:port and sends one request; headers are whole
 * lines ending in "\r\n" (or NULL); a body (NULL: none) goes with its
 * Content-Length. Returns the socket. */
int hc_send(int port, const char *method, const char *target, const char *headers, const char *body,
	    size_t body_len);
/* Reads a reply until EOF (5 s) and splits it; closes fd. */
struct hc_resp hc_read(int fd, const char *what);
/* hc_send and hc_read in one. */
struct hc_resp hc_do(int port, const char *method, const char *target, const char *headers,
		     const char *body, size_t body_len);
/* The value of a header (case-insensitive name) copied into out, or
 * NULL (out is then ""). */
const char *hc_header(const struct hc_resp *r, const char *name, char *out, size_t outsz);
/* "Authorization: Bearer TOKEN\r\n" (one static buffer, reused). */
const char *hc_bearer(const char *token);

#endif
