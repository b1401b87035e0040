/*
 * The fixture of the engine's unit tests (test_engine, test_engine_day):
 * an engine without a database on an injectable clock, one office "HQ"
 * with queues S F P, every emitted event kept, and helpers that submit a
 * request and check its reply. setup/teardown are Check's checked fixture.
 * store_fixture.c makes its engine on a store with fixture_hooks(), and
 * the tests on it use the helpers for reads, which answer at once there
 * too.
 */
#ifndef KOLAPP_TESTS_ENGINE_FIXTURE_H
#define KOLAPP_TESTS_ENGINE_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "daemon/engine/engine.h"

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1781078400) * SEC) /* 2026-06-10T08:00:00Z */

extern int64_t now_us; /* the engine's clock */
extern struct engine *eng;
extern json_t *events;  /* every emitted event, in order */
extern int emit_office; /* office id of the last emitted event */
/* The last reply. */
extern int nreplies;
extern enum proto_err r_err;
extern char r_msg[200];
extern json_t *r_res;

/* The fixture's clock and emit hook, for an engine made elsewhere (one
 * on a store, which loads its offices instead). */
struct engine_hooks fixture_hooks(void);
/* A fresh engine with the office, in time zone tz (setup uses UTC). */
void make_engine(const char *tz);
void setup(void);
void teardown(void);
/* A counter serving n queues given as (queue id, rank) pairs. */
void add_counter(int id, const char *name, bool open, int n, ...);
/* Submits one request and returns its error; the reply must come at once. */
enum proto_err sub_args(const struct proto_request *args);
enum proto_err sub(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		   const char *key);
/* Members of the last result, and of objects in it. */
json_t *res(const char *key);
const char *str(json_t *obj, const char *key);
json_int_t num(json_t *obj, const char *key);
void assert_null(json_t *obj, const char *key);
void issue_ok(const char *queue, const char *key, const char *want);
void call_next_ok(const char *counter, const char *want, const char *finished);
json_t *ticket(const char *code);
void expect_state(const char *code, const char *state);
void expect_position(const char *code, int pos);
json_t *status_entry(const char *list, const char *field, const char *name);
json_int_t waiting_count(const char *queue);
const char *held(const char *counter);
json_t *last_event(const char *kind);

#endif
