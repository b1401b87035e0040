/*
 * commands: the table of kolapp's commands, the op each sends, its
 * argument, how its reply is shown, and the help texts.
 */
#ifndef KOLAPP_CLIENT_COMMANDS_H
#define KOLAPP_CLIENT_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "client/render.h"
#include "proto/ops.h"

/* The op a command sends, its argument and who may use it come from the
 * protocol's op table (proto/ops.h); a command adds only how it is typed,
 * shown and explained. */
struct command {
	const char *name;     /* as typed: "call-next" */
	enum proto_op op;     /* as sent */
	const char *synopsis; /* what follows the name in usage */
	const char *summary;  /* one line for the command list */
	const char *detail;   /* a paragraph for "kolapp help COMMAND" */
	render_fn render;
	bool watch;        /* stays connected, printing events */
	const char *field; /* the field its argument fills, when not the op's
				   required one (send-to fills to_counter) */
};

/* The request field the command's one argument fills ("queue"), or NULL
 * when it takes none. */
const char *command_field(const struct command *cmd);
/* Whether it must say hello first (ping need not). */
bool command_needs_hello(const struct command *cmd);

/* The command called name, or NULL. */
const struct command *command_find(const char *name);

/* The whole usage: options and a line for each command. */
void usage_print(FILE *f);
/* One command's usage. */
void command_usage_print(FILE *f, const struct command *cmd);

#endif
