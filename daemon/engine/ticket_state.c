#include "daemon/engine/ticket_state.h"

#include <string.h>

const struct ticket_state_info ticket_states[TS__COUNT] = {
	[TS_WAITING] = { .name = "waiting", .waiting = true },
	[TS_CALLED] = { .name = "called", .held = true },
	[TS_SERVING] = { .name = "serving", .held = true },
	[TS_DONE] = { .name = "done", .final = true },
	/* Not final: reactivate brings it back within the queue's window. */
	[TS_NO_SHOW] = { .name = "no_show" },
	[TS_CANCELLED] = { .name = "cancelled", .final = true },
	[TS_EXPIRED] = { .name = "expired", .final = true },
	[TS_PARKED] = { .name = "parked", .parked = true },
};

static const char *const action_names[TA__COUNT] = {
	[TA_CALL] = "call",       [TA_RECALL] = "recall",
	[TA_START] = "start",     [TA_FINISH] = "finish",
	[TA_NO_SHOW] = "no_show", [TA_TRANSFER] = "transfer",
	[TA_CANCEL] = "cancel",   [TA_EXPIRE] = "expire",
	[TA_PARK] = "park",       [TA_REACTIVATE] = "reactivate",
};

/* The contract's state machine; kolapp.ticket_transitions holds the
 * same rows (tests/integration/test_transitions compares them). */
const struct ticket_transition ticket_transitions[] = {
	{ TS_WAITING, TA_CALL, TS_CALLED },    { TS_WAITING, TA_CANCEL, TS_CANCELLED },
	{ TS_WAITING, TA_EXPIRE, TS_EXPIRED }, { TS_CALLED, TA_RECALL, TS_CALLED },
	{ TS_CALLED, TA_START, TS_SERVING },   { TS_CALLED, TA_FINISH, TS_DONE },
	{ TS_CALLED, TA_NO_SHOW, TS_NO_SHOW }, { TS_CALLED, TA_TRANSFER, TS_WAITING },
	{ TS_CALLED, TA_EXPIRE, TS_EXPIRED },  { TS_CALLED, TA_PARK, TS_PARKED },
	{ TS_SERVING, TA_FINISH, TS_DONE },    { TS_SERVING, TA_TRANSFER, TS_WAITING },
	{ TS_SERVING, TA_PARK, TS_PARKED },    { TS_PARKED, TA_CALL, TS_CALLED },
	{ TS_PARKED, TA_EXPIRE, TS_EXPIRED },  { TS_NO_SHOW, TA_REACTIVATE, TS_WAITING },
};
const int ticket_transitions_count = sizeof ticket_transitions / sizeof ticket_transitions[0];

const char *ticket_state_name(enum ticket_state s)
{
	return (unsigned)s < TS__COUNT ? ticket_states[s].name : "?";
}

int ticket_state_parse(const char *s)
{
	for (int i = 0; i < TS__COUNT; i++)
		if (!strcmp(s, ticket_states[i].name))
			return i;
	return -1;
}

const char *ticket_action_name(enum ticket_action a)
{
	return (unsigned)a < TA__COUNT ? action_names[a] : "?";
}

int ticket_next_state(enum ticket_state from, enum ticket_action action)
{
	for (int i = 0; i < ticket_transitions_count; i++)
		if (ticket_transitions[i].from == from && ticket_transitions[i].action == action)
			return (int)ticket_transitions[i].to;
	return -1;
}
