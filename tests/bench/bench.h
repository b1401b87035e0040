/*
 * kolapp-bench: shared declarations of the load generator.
 * kolapp-bench.c owns the event loop, the schedule and the report;
 * roles.c knows what each kind of connection sends and how it reads
 * the replies.
 */
#ifndef KOLAPP_BENCH_H
#define KOLAPP_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#include "tests/bench/hist.h"

/* Request kinds: what latency and errors are reported for. */
enum op {
	OP_ISSUE,
	OP_CALL_NEXT,
	OP_START,
	OP_FINISH,
	OP_STATUS,
	OP_SETUP, /* hello, counter_open, subscribe: not timed */
	OP_COUNT
};
extern const char *const op_names[OP_COUNT];

/* Load classes: what the schedule hands out (--mix weights). */
enum cls { CLS_ISSUE, CLS_COUNTER, CLS_STATUS, CLS_COUNT };
extern const char *const cls_names[CLS_COUNT];

enum role { ROLE_KIOSK, ROLE_COUNTER, ROLE_DISPLAY };
enum display_mode { DM_SUBSCRIBE, DM_POLL, DM_IDLE };
enum counter_step { STEP_CALL_NEXT, STEP_START, STEP_FINISH };

#define ERR_CODES 13
extern const char *const err_codes[ERR_CODES]; /* last one: "other" */

/* A request in flight on one connection (replies come in order). */
struct inflight {
	uint64_t sched_ns; /* when it was due (latency starts here) */
	uint64_t sent_ns;
	uint8_t op;
	uint8_t setup_left; /* setup: steps left after this one */
};

/* A call whose fan-out to the office's subscribers is being timed. */
struct call_track {
	char code[16];
	uint64_t reply_ns; /* 0 until the call_next reply is read */
	uint64_t sent_ns;
	uint64_t last_event_ns;
	int events;
	bool done;
};
#define CALL_TRACK 32

struct office {
	char code[64];
	char **tokens[3]; /* per role, from the tokens file */
	char **counters;  /* counter name of each counter token */
	int ntokens[3];
	int subscribed; /* subscribers that completed subscribe */
	unsigned next_queue;
	struct call_track calls[CALL_TRACK];
	unsigned next_call;
};

struct conn {
	int idx;
	enum role role;
	enum cls cls; /* CLS_COUNT: carries no scheduled load */
	struct office *office;
	const char *token;
	struct bufferevent *bev;
	bool ready, dead, queued;
	enum counter_step step;
	uint64_t seq;
	struct inflight *fl; /* ring of pipeline+4 entries */
	unsigned fl_head, fl_len, fl_cap;
	unsigned limit; /* requests in flight allowed once ready */
	/* A subscriber, once set up, reads its events with read() on an
	 * event of its own, not through the bufferevent (kolapp-bench.c,
	 * raw_read_cb); carry holds a line's start until its end comes. */
	struct event *raw;
	char *carry;
	size_t carry_len;
};

struct bench_cfg {
	const char *host, *port, *tokens_file;
	int offices, kiosks, counters, displays;
	enum display_mode display_mode;
	unsigned mix[CLS_COUNT];
	unsigned pipeline;
	double rate, duration, warmup;
	bool json;
	const char *queues[8];
	int nqueues;
	const char *ready_file;
};

struct stats {
	struct hist lat[OP_COUNT];
	uint64_t ok[OP_COUNT];
	uint64_t errors[OP_COUNT][ERR_CODES];
	uint64_t call_next_empty;
	struct hist fanout;      /* call_next reply -> event at the last subscriber */
	struct hist fanout_send; /* call_next sent -> event at the last subscriber */
	uint64_t fanout_incomplete;
	uint64_t events;
};

extern struct bench_cfg cfg;
extern struct stats st;

uint64_t now_ns(void);
/* True while replies count (after the warm-up, before the end). */
bool measuring(uint64_t sched_ns, uint64_t now);

/* What the report says about the run besides the stats. */
struct run_info {
	int noffices, nconns, nready, nfailed, ndropped;
	int nrole[3];
	uint64_t pending, inflight, backlog_dropped;
};

/* report.c */
void report(const struct run_info *ri);

/* roles.c */
int roles_load(const char *path, struct office **offices, int *noffices, int want);
/* Formats the connection's next scheduled request into buf; returns the op. */
enum op roles_next_request(struct conn *c, char *buf, size_t size, uint64_t id);
/* The setup requests after hello (counter_open, subscribe), in order. */
int roles_setup(struct conn *c, const char *steps[2]);
/* Reads one reply to a request of kind op (counter cycle, fan-out). */
void roles_on_reply(struct conn *c, enum op op, json_t *reply, bool ok, uint64_t sent_ns);
void roles_on_event(struct conn *c, const char *line, size_t len, uint64_t now);
void roles_finish(struct office *offices, int n);

#endif
