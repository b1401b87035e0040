/* The fault test: concurrent kiosks and counters drive a real kolappd on a
 * private PostgreSQL while kolappd is SIGKILLed, PostgreSQL is stopped in
 * immediate mode and the daemon's backends are terminated. Every reply a
 * client receives is written to a ledger; after each fault the ledger is
 * checked against the database (verify.c explains the rule).
 *
 * Threads: one per kiosk and per counter (load.c), each with its own
 * blocking connection; the main thread injects the faults (test_faults.c)
 * and is the only one that forks. The ledger is shared under one mutex; a
 * client's own records (key attempts, lost counter ops) are written by
 * that client alone and read by the verifier only while the clients are
 * paused, which the pause handshake's mutex orders. */
#ifndef KOLAPP_TESTS_FAULTS_H
#define KOLAPP_TESTS_FAULTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

#define F_NKIOSKS 6   /* even-numbered kiosks use idempotency keys */
#define F_NCOUNTERS 3 /* named "1", "2", "3" */
#define F_NQUEUES 2   /* "S", "F" */
#define F_CODELEN 16

extern const char *const f_queue_codes[F_NQUEUES];

/* Ticket states in the order the workload can move them (it never
 * transfers or cancels, so a ticket only ever moves forward). DONE and
 * NO_SHOW are both final and not successors of each other. */
enum f_state { FS_NONE, FS_WAITING, FS_CALLED, FS_SERVING, FS_DONE, FS_NO_SHOW, FS_BAD };

/* What became of one request. */
enum f_outcome {
	FO_OK,          /* "ok": true: committed */
	FO_ERROR,       /* another error reply: nothing changed */
	FO_UNAVAILABLE, /* "unavailable": nothing changed */
	FO_LOST         /* sent, never answered (connection died, timeout) */
};

enum f_op { OP_CALL_NEXT, OP_START, OP_FINISH, OP_NO_SHOW, OP_ISSUE, OP_OTHER };

enum f_state f_state_of(const char *s);
const char *f_state_name(enum f_state s);
int64_t f_wall_us(void);
long long f_mono_ms(void);

/* ---- client.c: a line client each thread owns -------------------------- */

struct fc {
	int fd;
	long long next_id;
	size_t len;
	char buf[1 << 16];
};

void fc_init(struct fc *c);
int fc_connect(struct fc *c, int port);
void fc_close(struct fc *c);
/* False when the peer has closed (checked without blocking). */
bool fc_alive(struct fc *c);
/* Sends {"id":N,MEMBERS} and waits for its reply. *reply (may be NULL)
 * gets the parsed reply for every outcome but FO_LOST; on FO_LOST the
 * connection is closed. sent_us and reply_us (may be NULL): wall clock just
 * before the send and just after the reply. */
enum f_outcome fc_call(struct fc *c, const char *members, json_t **reply, int timeout_ms,
		       int64_t *sent_us, int64_t *reply_us);
const char *fc_err(const json_t *reply);

/* ---- ledger.c: what the clients were told, and what they sent ---------- */

struct f_stats {
	long sent, ok, unavailable, errors, lost, hellos;
	long issued_ok, counter_ok;
	long violations;
	/* The latest send time of a change that was answered ok: service is
	 * back after a fault once a change sent after it succeeds. */
	int64_t last_change_ok_sent_us;
};

/* One fact per ticket: the most advanced state any reply reported. */
struct f_fact {
	bool known;
	bool issue_acked; /* an issue reply named it */
	enum f_state state;
	int counter;   /* 0-based; -1 while never called */
	char queue[8]; /* the queue of its code */
};

struct f_attempt {
	int64_t sent_us, reply_us;
	enum f_outcome outcome;
};

/* One idempotency key of a keyed kiosk. */
struct f_key {
	int queue;
	int nattempts, cap;
	struct f_attempt *att;
	char code[F_CODELEN]; /* what an ok reply named ("" until one) */
};

/* A counter op that was sent and never answered, and the ticket the
 * counter held (as far as the client knew) when it was sent. */
struct f_lostop {
	enum f_op op;
	char held[F_CODELEN];
};

/* One state-changing request of a counter: the verifier places each
 * ticket event the database logged for the counter inside one of them. */
struct f_req {
	int64_t sent_us, reply_us; /* reply_us 0 when never answered */
	enum f_outcome outcome;
	enum f_op op;
};

void ledger_init(void);
void ledger_free(void);
/* Record the facts of an ok reply's ticket object (issue: it answered an
 * issue). */
void ledger_ticket(const json_t *ticket, bool issue);
/* call_next's "finished": that ticket is done at that counter. */
void ledger_finished(const char *code, int counter);
/* Look up a ticket's fact by queue index and number (NULL when none). */
const struct f_fact *ledger_fact(int queue, int number);
int ledger_max_number(int queue);
/* Report a violation: counted and printed once per distinct message. */
void ledger_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ledger_count(enum f_outcome o, bool change, int64_t sent_us);
struct f_stats ledger_stats(void);
void ledger_count_issue(void);
void ledger_count_counter(void);
void ledger_count_hello(void);
int f_parse_code(const char *code, int *queue, int *number);

/* ---- load.c: the kiosk and counter threads ------------------------------ */

struct f_tokens {
	char kiosk[160];
	char counter[F_NCOUNTERS][160];
};

void load_start(const struct f_tokens *tok, int port, unsigned seed);
/* The daemon's current port (it changes with each restart). */
void load_set_port(int port);
/* Quiesce every client between two requests; 0 or -1 (deadline). */
int load_pause(int timeout_ms);
void load_resume(void);
void load_stop(void);
/* Read only while paused or stopped. */
const struct f_key *load_keys(int kiosk, int *n);
const struct f_lostop *load_lost_ops(int counter, int *n);
const struct f_req *load_counter_reqs(int counter, int *n);
long load_lost_unkeyed(void);
void load_free(void);

/* ---- verify.c ------------------------------------------------------------ */

struct f_verify {
	long tickets;    /* rows checked */
	long lost;       /* acknowledged but missing */
	long violations; /* found by this pass */
};

/* Check the database against the ledger (clients paused). */
int verify_run(const char *conninfo, const char *office, struct f_verify *out);

#endif
