/* proto: the op table (see ops.h) and the questions asked of it. */
#include "proto/ops.h"

#include <string.h>

#define PROTO_OP_SPEC(E, n, h, r, req, opt, ctr, w) \
	[OP_##E] = { #n, HANDLER_##h, (r) | MAY_ADMIN, (req), (opt), (ctr), (w) },
static const struct proto_op_spec op_specs[OP__COUNT] = { PROTO_OPS(PROTO_OP_SPEC) };
#undef PROTO_OP_SPEC

static const char *const role_names[ROLE__COUNT] = {
	[ROLE_NONE] = "none",       [ROLE_KIOSK] = "kiosk", [ROLE_COUNTER] = "counter",
	[ROLE_DISPLAY] = "display", [ROLE_ADMIN] = "admin", [ROLE_BOOKING] = "booking",
};

static const char *const arg_names[ARG__COUNT] = {
	[ARG_TOKEN] = "token",
	[ARG_QUEUE] = "queue",
	[ARG_KEY] = "key",
	[ARG_TICKET] = "ticket",
	[ARG_OFFICE] = "office",
	[ARG_COUNTER] = "counter",
	[ARG_PRIORITY] = "priority",
	[ARG_INTERPRETER] = "interpreter",
	[ARG_LANG] = "lang",
	[ARG_OUTCOME] = "outcome",
	[ARG_TO_COUNTER] = "to_counter",
	[ARG_BOOKING] = "booking",
	[ARG_STARTS_AT] = "starts_at",
	[ARG_MINUTES] = "minutes",
	[ARG_REFERENCE] = "reference",
};

const struct proto_op_spec *proto_op_spec(enum proto_op op)
{
	return (unsigned)op < OP__COUNT ? &op_specs[op] : NULL;
}

const char *proto_op_name(enum proto_op op)
{
	return (unsigned)op < OP__COUNT ? op_specs[op].name : NULL;
}

int proto_op_from_name(const char *name)
{
	if (!name)
		return -1;
	/* A few dozen short names: a linear scan beats any table setup. */
	for (int i = 0; i < OP__COUNT; i++)
		if (strcmp(op_specs[i].name, name) == 0)
			return i;
	return -1;
}

bool proto_op_is_counter_op(enum proto_op op)
{
	return (unsigned)op < OP__COUNT && op_specs[op].counter;
}

bool proto_role_may(enum proto_role r, enum proto_op op)
{
	return (unsigned)op < OP__COUNT && (unsigned)r < ROLE__COUNT &&
	       (op_specs[op].roles & (1u << r));
}

bool proto_op_uses(enum proto_op op, enum proto_arg a)
{
	const struct proto_op_spec *s = proto_op_spec(op);

	if (!s || (unsigned)a >= ARG__COUNT)
		return false;
	if (a == ARG_OFFICE)
		return !(s->roles & MAY_ROLE(NONE)); /* every op after hello */
	if (a == ARG_COUNTER)
		return s->counter;
	return ((s->required | s->optional) >> a) & 1u;
}

const char *proto_role_name(enum proto_role r)
{
	return (unsigned)r < ROLE__COUNT ? role_names[r] : "none";
}

int proto_role_parse(const char *s)
{
	for (int i = ROLE_NONE + 1; i < ROLE__COUNT; i++)
		if (!strcmp(s, role_names[i]))
			return i;
	return -1;
}

const char *proto_arg_name(enum proto_arg a)
{
	return (unsigned)a < ARG__COUNT ? arg_names[a] : "?";
}
