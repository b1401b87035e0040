/*
 * The fixture of the tests of the engine on the fake store
 * (test_engine_store, test_engine_model, test_fake_store): office HQ in
 * the fake database, the engine made on it with fixture_hooks() and
 * loaded, requests whose reply waits for a commit, and the check that
 * what the engine shows is the database's rows. store_setup and
 * store_teardown are Check's checked fixture.
 */
#ifndef KOLAPP_TESTS_STORE_FIXTURE_H
#define KOLAPP_TESTS_STORE_FIXTURE_H

#include "tests/unit/engine_fixture.h"
#include "tests/unit/fake_store.h"

extern struct fake_store *fs;
extern int32_t today; /* the business day of the database's rows */

extern const char *const qcodes[4]; /* by queue id */
extern const char *const cnames[4]; /* by counter id */

/* ---- requests whose reply may come later ---- */

struct rq {
	int nreplies;
	bool sync; /* answered inside engine_submit() */
	enum proto_err err;
	json_t *res;
	size_t nev; /* events emitted when it was answered */
};

struct rq *submit(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		  const char *key);
void expect_pending(const struct rq *r);
/* Answered once, with err, after the call that made it returned. */
void expect_later(const struct rq *r, enum proto_err err);
const char *rq_code(const struct rq *r);
/* Submits a change, commits whatever is queued, and checks it is ok. */
struct rq *committed(enum proto_op op, const char *counter, const char *queue, const char *ticket,
		     const char *key);
void issue_committed(const char *queue, const char *key, const char *want);

/* ---- the engine against the database ---- */

/* Today's ticket of office HQ with that code, or NULL. */
const struct fake_ticket *db_ticket(const char *code);
/* What the engine shows is the database's rows: every ticket of today
 * (state, queue, number, recalls, times, counter, position), no number
 * the database does not have, each queue's waiting count, each counter's
 * open flag and held ticket; and it is not stale. */
void assert_engine_matches_db(void);

/* Office HQ with queues S F P (ids 1 2 3); counters 1 (S, then F) and
 * 2 (F, then P) open, 3 (P and S alike) closed. The engine loads it. */
void store_setup(void);
/* Whatever is still queued completes while the engine is alive. */
void store_teardown(void);

#endif
