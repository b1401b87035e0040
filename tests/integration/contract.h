/* The contract's role table (protocol-v1.md with 1.1's additions), written
 * out as the tests' expectation. test_roles (TCP) and test_api_op (HTTP)
 * loop over the daemon's op table (proto/ops.h) and look each op up
 * here, so an op added there without a row here fails, and so does a
 * row the table disagrees with. hello and bye (anyone's) are tested on their own. */
#ifndef KOLAPP_TESTS_CONTRACT_H
#define KOLAPP_TESTS_CONTRACT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto/ops.h"

enum { R_NONE, R_KIOSK, R_COUNTER, R_DISPLAY, R_ADMIN, R_BOOKING, R_N };

static const char *const contract_role_names[R_N] = { "none",    "kiosk", "counter",
						      "display", "admin", "booking" };

static const struct {
	const char *op;
	bool may[R_N];
} contract_matrix[] = {
	/*                   none   kiosk  counter display admin  booking */
	{ "ping", { true, true, true, true, true, true } },
	{ "hello", { true, true, true, true, true, true } },
	{ "bye", { true, true, true, true, true, true } },
	/* 1.1: a counter may issue (a reception desk). */
	{ "issue", { false, true, true, false, true } },
	{ "cancel", { false, true, false, false, true } },
	{ "call_next", { false, false, true, false, true } },
	{ "call", { false, false, true, false, true } },
	{ "recall", { false, false, true, false, true } },
	{ "start", { false, false, true, false, true } },
	{ "finish", { false, false, true, false, true } },
	{ "no_show", { false, false, true, false, true } },
	{ "transfer", { false, false, true, false, true } },
	{ "counter_open", { false, false, true, false, true } },
	{ "counter_close", { false, false, true, false, true } },
	{ "ticket", { false, true, true, true, true } },
	{ "status", { false, true, true, true, true } },
	{ "subscribe", { false, false, true, true, true } },
	{ "park", { false, false, true, false, true } },
	{ "reactivate", { false, true, true, false, true } },
	/* 1.1's appointments: an agency's booking system books and unbooks,
	 * nothing else; the kiosk (and a reception desk) checks in. */
	{ "check_in", { false, true, true, false, true, false } },
	{ "book", { false, false, false, false, true, true } },
	{ "unbook", { false, false, false, false, true, true } },
};

/* The row of op, or -1. */
static inline int contract_row(const char *op)
{
	for (size_t i = 0; i < sizeof contract_matrix / sizeof contract_matrix[0]; i++)
		if (!strcmp(contract_matrix[i].op, op))
			return (int)i;
	return -1;
}

/* The arguments op needs, from its row in the op table, as members to
 * append to a request object (",\"queue\":\"S\""); one of two where
 * either will do (transfer). */
static inline void contract_args(enum proto_op op, char *out, size_t outsz)
{
	const struct proto_op_spec *spec = proto_op_spec(op);

	snprintf(out, outsz, "%s%s%s%s", spec->required & A_QUEUE ? ",\"queue\":\"S\"" : "",
		 spec->required & A_TICKET ? ",\"ticket\":\"S-900\"" : "",
		 spec->required & A_BOOKING ? ",\"booking\":\"ZZZZZZZZ\"" : "",
		 spec->required & A_STARTS_AT ? ",\"starts_at\":\"2000-01-01T10:00:00Z\"" : "");
}

#endif
