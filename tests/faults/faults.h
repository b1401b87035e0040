/* The fault test: concurrent kiosks and counters drive a real kolappd on a
 * private PostgreSQL while kolappd is SIGKILLed, PostgreSQL is stopped in
 * immediate mode and the daemon's backends are terminated. Every reply a
 * client receives is written to a ledger; after each fault the ledger is
 * checked against the database (verify.c explains the rule).
 *
 * Threads: one per kiosk and per counter (load.c), each with its own
 * blocking connection; the main thread injects the faults (test_faults.c)
 * and is the only one that forks. The ledger is shared under one mutex; a
 * client's own records (key attempts, its state-changing requests) are
 * written by that client alone and read by the verifier only while the
 * clients are paused, which the pause handshake's mutex orders. */
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

/* Ticket states the workload reaches. They are not ordered: a ticket may
 * be parked and called back, transferred to a counter and called there,
 * or be a no_show and waiting again, any number of times; only DONE is
 * final. */
enum f_state { FS_NONE, FS_WAITING, FS_CALLED, FS_SERVING, FS_PARKED, FS_DONE, FS_NO_SHOW, FS_BAD };

/* What became of one request. */
enum f_outcome {
	FO_OK,          /* "ok": true: committed */
	FO_ERROR,       /* another error reply: nothing changed */
	FO_UNAVAILABLE, /* "unavailable": nothing changed */
	FO_LOST         /* sent, never answered (connection died, timeout) */
};

enum f_op {
	OP_CALL_NEXT,
	OP_START,
	OP_FINISH,
	OP_NO_SHOW,
	OP_ISSUE,
	OP_OTHER,
	OP_CALL, /* "call" of a ticket by code: the workload calls parked ones back */
	OP_PARK,
	OP_TRANSFER, /* always with to_counter */
	OP_REACTIVATE
};
const char *f_op_name(enum f_op op);

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
	long op_ok[OP_REACTIVATE + 1]; /* ok replies per op */
	long priority_ok, interpreter_ok;
	long violations;
	/* The latest send time of a change that was answered ok: service is
	 * back after a fault once a change sent after it succeeds. */
	int64_t last_change_ok_sent_us;
};

/* What the client knows of one ok reply besides its ticket object. */
struct f_ack {
	enum f_op op;
	int counter;      /* 0-based counter that sent it; -1 for a kiosk */
	int64_t sent_us;  /* when the request was sent */
	int64_t round_ms; /* transfer, reactivate: called_at (ms) of the round it ended */
	bool started;     /* park, finish, done by a call: that round went through serving */
};

/* One ticket's acknowledged facts. States are not ordered, so the ledger
 * keeps the newest acknowledged step (by the order key that ledger.c
 * explains), with what the verifier needs to walk on from it. */
struct f_fact {
	bool known;
	bool issue_acked; /* an issue reply named it */
	bool attrs_seen;  /* a reply named it: priority and interpreter below are facts */
	bool priority;
	char interpreter[4];
	/* The newest acknowledged step. */
	enum f_state state;
	enum f_op op;    /* the request it answered */
	int counter;     /* called/serving/parked/done/no_show: where (0-based); else -1 */
	int for_counter; /* waiting: the counter it waits for; -1 for any */
	bool started;    /* its round went through serving */
	int64_t ord_ms;  /* order key: the round's called_at in ms, ... */
	int ord_phase;   /* ... and the step within the round */
	int64_t sent_us; /* when the request of that step was sent */
	char queue[8];   /* the queue of its code */
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

/* One state-changing request of a counter (and a kiosk's reactivate):
 * the verifier places each ticket event the database logged inside one
 * of them, and an unanswered one may pay for a step no reply showed. */
struct f_req {
	int64_t sent_us, reply_us; /* reply_us 0 when never answered */
	/* The request could commit until end_us: its reply, or when never
	 * answered the client's next state-changing send (INT64_MAX until
	 * then). */
	int64_t end_us;
	enum f_outcome outcome;
	enum f_op op;
	char held[F_CODELEN];   /* counter: the ticket it held when it sent this */
	char target[F_CODELEN]; /* call, reactivate: the ticket named */
	int to_counter;         /* transfer: the 0-based target counter */
};

void ledger_init(void);
void ledger_free(void);
/* Record the facts of an ok reply's ticket object. */
void ledger_ticket(const json_t *ticket, const struct f_ack *ack);
/* A call's "finished": that ticket is done at ack->counter. */
void ledger_finished(const char *code, const struct f_ack *ack);
/* Look up a ticket's fact by queue index and number (NULL when none). */
const struct f_fact *ledger_fact(int queue, int number);
int ledger_max_number(int queue);
/* Report a violation: counted and printed once per distinct message. */
void ledger_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ledger_count(enum f_outcome o, bool change, int64_t sent_us);
struct f_stats ledger_stats(void);
void ledger_count_issue(bool priority, bool interpreter);
void ledger_count_counter(void);
void ledger_count_op(enum f_op op);
void ledger_count_hello(void);
int f_parse_code(const char *code, int *queue, int *number);
/* "2025-03-12T08:41:30.502Z" in ms since the epoch; -1 when malformed. */
int64_t f_parse_ms(const char *iso);

/* ---- load.c: the kiosk and counter threads ------------------------------ */

struct f_tokens {
	char kiosk[160];
	char counter[F_NCOUNTERS][160];
};

void load_start(const struct f_tokens *tok, int port, unsigned seed);
/* The daemon's current port (it changes with each restart). */
void load_set_port(int port);
/* Two daemons (KOLAPP_FAULTS_NODES=2): clients try either, and follow
 * moved. */
void load_set_ports(int port, int other);
/* Quiesce every client between two requests; 0 or -1 (deadline). */
int load_pause(int timeout_ms);
void load_resume(void);
void load_stop(void);
/* Read only while paused or stopped. */
const struct f_key *load_keys(int kiosk, int *n);
const struct f_req *load_counter_reqs(int counter, int *n);
/* A kiosk's reactivate requests. */
const struct f_req *load_kiosk_reqs(int kiosk, int *n);
long load_lost_unkeyed(void);
void load_free(void);

/* ---- verify.c ------------------------------------------------------------ */

struct f_verify {
	long tickets;    /* rows checked */
	long lost;       /* acknowledged but missing */
	long chained;    /* rows not in their acknowledged step: unanswered requests moved them */
	long violations; /* found by this pass */
};

/* Check the database against the ledger (clients paused). */
int verify_run(const char *conninfo, const char *office, struct f_verify *out);

#endif
