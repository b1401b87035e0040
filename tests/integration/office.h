/* Shared helpers for the lifecycle, role, concurrency and recovery tests:
 * an office seeded through the psql admin functions, and a small JSON line
 * client that keeps event lines apart from replies.
 *
 * Unlike the harness's h_recv_line (one global table of buffers), a
 * struct oc owns its buffer, so threads may each drive their own. */
#ifndef KOLAPP_TESTS_OFFICE_H
#define KOLAPP_TESTS_OFFICE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "tests/integration/harness.h"

#define O_NCOUNTERS 3
#define O_TOKLEN 160

/* The standard test office CODE (Europe/Stockholm):
 *   queues  S "Skatteverket", F "Forsakringskassan", P "Pensionsmyndigheten"
 *   counter 1 serves S,F   counter 2 serves S,F   counter 3 serves F,S,P
 * and a token for each role (counter tokens per counter). */
struct o_office {
	char code[32];
	char kiosk[O_TOKLEN], display[O_TOKLEN], admin[O_TOKLEN];
	char counter[O_NCOUNTERS][O_TOKLEN]; /* counter "1", "2", "3" */
	char booking[O_TOKLEN];              /* an agency's booking system */
};

/* Seed the office through kolapp.add_office/add_queue/add_counter/
 * create_token. 0 or -1 (the psql error is printed). */
int o_seed(const char *conninfo, const char *code, struct o_office *o);
/* kolapp.create_token(role, office, counter) into out. 0 or -1. */
int o_token(const char *conninfo, const char *role, const char *office, const char *counter,
	    char *out, size_t outsz);
/* The first cell of a query as a number (-1 on error). */
long o_count(const char *conninfo, const char *sql);

struct oc {
	int fd;
	char *buf;
	size_t len, cap;
	json_t *events;  /* event lines read while looking for replies */
	json_t *replies; /* reply lines read while looking for events */
};

/* Connect to 127.0.0.1:port; NULL on failure. */
struct oc *oc_connect(int port);
void oc_close(struct oc *c);
int oc_send(struct oc *c, const char *s);
/* One raw line (malloc'd, without "\n"), or NULL on timeout/EOF. */
char *oc_line(struct oc *c, int timeout_ms);
/* The next reply (a line without "event"), events set aside; NULL on
 * timeout, EOF or a line that is not JSON. */
json_t *oc_reply(struct oc *c, int timeout_ms);
/* The next event of KIND (any kind when NULL), replies set aside. */
json_t *oc_event(struct oc *c, const char *kind, int timeout_ms);
/* Send a printf-formatted request line ("\n" added) and return its reply
 * (5 s). */
json_t *oc_req(struct oc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Connect and hello with TOKEN; NULL unless the hello succeeded. */
struct oc *oc_login(int port, const char *token);
/* True when the peer closed within timeout_ms. */
bool oc_closed(struct oc *c, int timeout_ms);

/* Reply helpers: "ok" is true; the error code or NULL; a member of the
 * reply's "ticket" object as a string (NULL when absent). */
bool o_ok(const json_t *r);
const char *o_err(const json_t *r);
const char *o_tstr(const json_t *r, const char *member);
json_int_t o_tint(const json_t *r, const char *member);

/* The fixture most test files share; each fails the running Check test
 * on error. o_seed_named seeds office PREFIX<pid>; o_daemon_up starts
 * kolappd on db into d (d zeroed first); o_daemon_down stops it. */
void o_seed_named(const char *conninfo, const char *prefix, struct o_office *o);
void o_daemon_up(struct h_daemon *d, const char *conninfo, const char *extra_args);
void o_daemon_down(struct h_daemon *d);
/* oc_login that fails the test when the hello does. */
struct oc *o_login(int port, const char *token);
/* A reply as text for assertion messages (one static buffer, reused). */
const char *o_js(const json_t *j);

#endif
