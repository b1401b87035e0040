/*
 * ticket_state: the one ticket state machine. Owns the states, what each
 * state means for where a ticket is (in a waiting list, held by a
 * counter, over), the actions, and the table of allowed (state, action)
 * -> state. The engine moves tickets only through ticket_next_state();
 * the database checks the same table (kolapp.ticket_transitions), and a
 * test compares the two.
 */
#ifndef KOLAPP_TICKET_STATE_H
#define KOLAPP_TICKET_STATE_H

#include <stdbool.h>

enum ticket_state {
	TS_WAITING = 0,
	TS_CALLED,
	TS_SERVING,
	TS_DONE,
	TS_NO_SHOW,
	TS_CANCELLED,
	TS_EXPIRED,
	TS_PARKED, /* set aside by a counter; called back with call */
	TS__COUNT
};

enum ticket_action {
	TA_CALL = 0, /* a counter calls a waiting ticket */
	TA_RECALL,   /* announced again */
	TA_START,    /* the visitor sat down */
	TA_FINISH,
	TA_NO_SHOW,
	TA_TRANSFER,   /* back to waiting, in another queue */
	TA_CANCEL,     /* the visitor gave up (kiosk) */
	TA_EXPIRE,     /* the business day ended */
	TA_PARK,       /* set aside: an interpreter, a document, a phone call */
	TA_REACTIVATE, /* a no-show came back in time */
	TA__COUNT
};

/* What a state says about where the ticket is. */
struct ticket_state_info {
	const char *name; /* wire and database name */
	bool waiting;     /* in its queue's waiting list */
	bool held;        /* held by the counter that called it */
	bool parked;      /* in the parked list of the counter that parked it */
	bool final;       /* nothing happens to it any more */
};

struct ticket_transition {
	enum ticket_state from;
	enum ticket_action action;
	enum ticket_state to;
};

extern const struct ticket_state_info ticket_states[TS__COUNT];
extern const struct ticket_transition ticket_transitions[];
extern const int ticket_transitions_count;

/* "waiting", ...; "?" for an out-of-range value. */
const char *ticket_state_name(enum ticket_state s);
/* The state named s, or -1. */
int ticket_state_parse(const char *s);
/* "call", ...; "?" for an out-of-range value. */
const char *ticket_action_name(enum ticket_action a);
/* The state `action` takes a ticket in `from` to, or -1 when the table
 * does not allow it. */
int ticket_next_state(enum ticket_state from, enum ticket_action action);

#endif
