/* The load's internals (load.c): what its kiosk threads (load_kiosk.c)
 * and counter threads (load_counter.c) share. load.c owns the clients,
 * the pause handshake, the daemon's ports and the pools of tickets to act
 * on; test_faults.c drives the load through faults.h, never this. */
#ifndef KOLAPP_TESTS_FAULTS_LOAD_INT_H
#define KOLAPP_TESTS_FAULTS_LOAD_INT_H

#include <pthread.h>

#include "tests/faults/faults.h"

#define F_REPLY_TIMEOUT_MS 15000
/* Between learning of a round (a call) and the request that ends it with
 * a park, transfer or reactivate: the ledger orders a ticket's steps by
 * the millisecond of their call (ledger.c), so the next call must fall in
 * a later millisecond than this one. */
#define F_ROUND_GAP_MS 2
#define F_POOL_MAX 64

/* A client's state-changing requests, in send order. */
struct reqlog {
	struct f_req *v;
	int n, cap;
	int open_lost; /* the last one, never answered, whose end is not known yet; -1 */
};

/* Tickets the load may act on: parked ones to call back, no-shows to
 * reactivate. Shared by all clients (pool_mu). */
struct pool_ent {
	char code[F_CODELEN];
	int64_t round_ms; /* no_show: the called_at (ms) of the round it ended */
	int64_t since_us; /* when it entered the pool */
};

struct pool {
	struct pool_ent v[F_POOL_MAX];
	int n;
};

struct kiosk {
	int idx;
	bool keyed;
	unsigned seed;
	pthread_t th;
	struct fc c;
	struct f_key *keys;
	int nkeys, capkeys;
	long lost_unkeyed;  /* unkeyed issues sent and never answered */
	struct reqlog reqs; /* its reactivate requests */
};

struct counter {
	int idx;
	unsigned seed;
	pthread_t th;
	struct fc c;
	bool synced;          /* held/held_state match the daemon */
	char held[F_CODELEN]; /* "" when the counter holds nothing */
	enum f_state held_state;
	int64_t held_round_ms; /* the held ticket's called_at (ms); 0 when unknown */
	struct reqlog reqs;
};

extern struct f_tokens load_tokens;
extern struct pool load_parked_pool, load_noshow_pool;

/* Load pacing (how fast a visitor walks up to a kiosk, how long a retry
 * backs off), never used to wait for another thread or process. */
void load_pace_ms(int ms);
int load_rnd(unsigned *seed, int lo, int hi);
void load_pool_put(struct pool *p, const char *code, int64_t round_ms);
/* Take a random entry that has been in the pool at least min_age_us. */
bool load_pool_take(struct pool *p, unsigned *seed, int64_t min_age_us, struct pool_ent *out);
bool load_pool_empty(struct pool *p);
/* Log a request whose send time is sent: it also ends the window of the
 * client's previous request if that one was never answered. Returns its
 * index. */
int load_reqlog_add(struct reqlog *l, enum f_op op, int64_t sent, int64_t reply, enum f_outcome o);
/* A kiosk's issue is a state-changing send too. */
void load_reqlog_sent(struct reqlog *l, int64_t sent);
/* Between two requests: park while a pause is asked for. False when the
 * run is over. */
bool load_checkpoint(void);
/* A reply the client did not expect: only the first 20 of a run are
 * printed, so that the log stays readable. */
void load_unexpected(const char *who, int idx, const char *what, const json_t *r);
/* Connect and say hello until it works (or the run ends). */
bool load_ensure_session(struct fc *c, const char *token);

/* The threads' bodies; arg is the struct kiosk or struct counter. */
void *load_kiosk_main(void *arg);
void *load_counter_main(void *arg);

#endif
