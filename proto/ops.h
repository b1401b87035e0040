/*
 * ops: the one table of the protocol's ops. For each op: its wire name,
 * who answers it (the connection itself or the queue engine), which
 * roles may call it, its required and optional arguments, whether it
 * acts on a counter and whether it changes state. Decoding, role checks
 * (TCP and HTTP), the client's commands and the tests' role matrix all
 * read it; nothing else lists ops.
 *
 * Adding an op is one row here: the enum, the name lookup and the spec
 * follow, and a build without a handler for it fails (the engine's and
 * the session's handler arrays are built from the same rows).
 */
#ifndef KOLAPP_PROTO_OPS_H
#define KOLAPP_PROTO_OPS_H

#include <stdbool.h>

/* Roles of the contract. ROLE_NONE: no successful hello yet. */
enum proto_role {
	ROLE_NONE = 0,
	ROLE_KIOSK,
	ROLE_COUNTER,
	ROLE_DISPLAY,
	ROLE_ADMIN,
	ROLE_BOOKING, /* an agency's booking system (protocol 1.1) */
	ROLE__COUNT
};

#define MAY_ROLE(r) (1u << ROLE_##r)
/* Ops answered before hello (ping, hello, bye) carry MAY_ANY. */
#define MAY_ANY \
	(MAY_ROLE(NONE) | MAY_ROLE(KIOSK) | MAY_ROLE(COUNTER) | MAY_ROLE(DISPLAY) | \
	 MAY_ROLE(ADMIN) | MAY_ROLE(BOOKING))
#define MAY_ADMIN MAY_ROLE(ADMIN)
#define MAY_KIOSK MAY_ROLE(KIOSK)
#define MAY_COUNTER MAY_ROLE(COUNTER)
#define MAY_DISPLAY MAY_ROLE(DISPLAY)
#define MAY_BOOKING MAY_ROLE(BOOKING)

/* The arguments of requests, one bit each, in the order their errors are
 * reported. All are strings but priority (a boolean) and minutes (an
 * integer). "office" is
 * optional on every op after hello and "counter" on every counter op:
 * the table does not repeat them. */
enum proto_arg {
	ARG_TOKEN = 0,
	ARG_QUEUE,
	ARG_KEY,
	ARG_TICKET,
	ARG_OFFICE,
	ARG_COUNTER,
	ARG_PRIORITY,
	ARG_INTERPRETER,
	ARG_LANG,
	ARG_OUTCOME,
	ARG_TO_COUNTER,
	ARG_BOOKING,   /* a booking's code: 8 characters of PROTO_BOOKING_ALPHABET */
	ARG_STARTS_AT, /* ISO 8601 with a zone: "2026-12-03T14:30:00+01:00" */
	ARG_MINUTES,   /* an integer, 5 to 240 */
	ARG_REFERENCE, /* the agency's own reference, at most 64 characters */
	ARG__COUNT
};
#define A_NONE 0u
#define A_TOKEN (1u << ARG_TOKEN)
#define A_QUEUE (1u << ARG_QUEUE)
#define A_KEY (1u << ARG_KEY)
#define A_TICKET (1u << ARG_TICKET)
#define A_PRIORITY (1u << ARG_PRIORITY)
#define A_INTERPRETER (1u << ARG_INTERPRETER)
#define A_LANG (1u << ARG_LANG)
#define A_OUTCOME (1u << ARG_OUTCOME)
#define A_TO_COUNTER (1u << ARG_TO_COUNTER)
#define A_BOOKING (1u << ARG_BOOKING)
#define A_STARTS_AT (1u << ARG_STARTS_AT)
#define A_MINUTES (1u << ARG_MINUTES)
#define A_REFERENCE (1u << ARG_REFERENCE)
/* In a required set: one of its arguments, not all (transfer names a
 * queue or a counter). */
#define A_EITHER (1u << 31)

/*
 * X(ENUM, name, handler, roles, required, optional, counter, writes)
 *   handler:  SESSION (the connection answers it) or ENGINE (the queue engine)
 *   roles:    who may call it besides admin (admin may call every op)
 *   required: arguments it cannot do without, all of them; with A_EITHER
 *             one of them (transfer: queue or to_counter)
 *   counter:  acts on a counter (the counter role's own; admin names it)
 *   writes:   changes state, so it is answered after the commit
 */
#define PROTO_OPS(X) \
	X(PING, ping, SESSION, MAY_ANY, A_NONE, A_NONE, false, false) \
	X(HELLO, hello, SESSION, MAY_ANY, A_TOKEN, A_NONE, false, false) \
	X(BYE, bye, SESSION, MAY_ANY, A_NONE, A_NONE, false, false) \
	X(ISSUE, issue, ENGINE, MAY_KIOSK | MAY_COUNTER, A_QUEUE, \
	  A_KEY | A_PRIORITY | A_INTERPRETER | A_LANG, false, true) \
	X(CALL_NEXT, call_next, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(CALL, call, ENGINE, MAY_COUNTER, A_TICKET, A_NONE, true, true) \
	X(RECALL, recall, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(START, start, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(FINISH, finish, ENGINE, MAY_COUNTER, A_NONE, A_OUTCOME, true, true) \
	X(NO_SHOW, no_show, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(TRANSFER, transfer, ENGINE, MAY_COUNTER, A_EITHER | A_QUEUE | A_TO_COUNTER, A_NONE, \
	  true, true) \
	X(CANCEL, cancel, ENGINE, MAY_KIOSK, A_TICKET, A_NONE, false, true) \
	X(COUNTER_OPEN, counter_open, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(COUNTER_CLOSE, counter_close, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(TICKET, ticket, ENGINE, MAY_KIOSK | MAY_COUNTER | MAY_DISPLAY, A_TICKET, A_NONE, false, \
	  false) \
	X(STATUS, status, ENGINE, MAY_KIOSK | MAY_COUNTER | MAY_DISPLAY, A_NONE, A_NONE, false, \
	  false) \
	X(SUBSCRIBE, subscribe, SESSION, MAY_COUNTER | MAY_DISPLAY, A_NONE, A_NONE, false, false) \
	X(PARK, park, ENGINE, MAY_COUNTER, A_NONE, A_NONE, true, true) \
	X(REACTIVATE, reactivate, ENGINE, MAY_KIOSK | MAY_COUNTER, A_TICKET, A_NONE, false, true) \
	X(CHECK_IN, check_in, ENGINE, MAY_KIOSK | MAY_COUNTER, A_BOOKING, A_NONE, false, true) \
	X(BOOK, book, ENGINE, MAY_BOOKING, A_QUEUE | A_STARTS_AT, \
	  A_MINUTES | A_INTERPRETER | A_REFERENCE, false, true) \
	X(UNBOOK, unbook, ENGINE, MAY_BOOKING, A_BOOKING, A_NONE, false, true)

#define PROTO_OP_ENUM(E, n, h, r, req, opt, ctr, w) OP_##E,
enum proto_op { PROTO_OPS(PROTO_OP_ENUM) OP__COUNT };
#undef PROTO_OP_ENUM

enum proto_handler { HANDLER_SESSION, HANDLER_ENGINE };

struct proto_op_spec {
	const char *name; /* on the wire: "call_next" */
	enum proto_handler handler;
	unsigned roles;    /* bits of enum proto_role; admin always */
	unsigned required; /* bits of enum proto_arg */
	unsigned optional;
	bool counter;
	bool writes;
};

/* The op's row; NULL for an out-of-range value. */
const struct proto_op_spec *proto_op_spec(enum proto_op op);
/* Wire name of an op ("call_next"); NULL for an out-of-range value. */
const char *proto_op_name(enum proto_op op);
/* Looks up an op by wire name; returns -1 when unknown. */
int proto_op_from_name(const char *name);
/* True for ops that act on a counter. */
bool proto_op_is_counter_op(enum proto_op op);
/* Whether a connection of role r may call op (ROLE_NONE: before hello). */
bool proto_role_may(enum proto_role r, enum proto_op op);
/* Whether op reads argument a (required, optional, or the implicit
 * office and counter). */
bool proto_op_uses(enum proto_op op, enum proto_arg a);

/* "kiosk", ...; "none" for ROLE_NONE or an out-of-range value. */
const char *proto_role_name(enum proto_role r);
/* The role named s (not "none"), or -1. */
int proto_role_parse(const char *s);
/* The letters of a booking code: no I, L, O, 0 or 1, which are misread. */
#define PROTO_BOOKING_ALPHABET "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#define PROTO_BOOKING_LEN 8

/* The argument's wire name ("queue"). */
const char *proto_arg_name(enum proto_arg a);

#endif
