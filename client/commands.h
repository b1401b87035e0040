/*
 * commands: the table of kolapp's commands, the op each sends, its
 * argument, how its reply is shown, and the help texts.
 */
#ifndef KOLAPP_CLIENT_COMMANDS_H
#define KOLAPP_CLIENT_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "client/render.h"

struct command {
	const char *name;       /* as typed: "call-next" */
	const char *op;         /* as sent: "call_next" */
	const char *arg;        /* the one argument's name in usage, or NULL */
	const char *field;      /* the request field it fills ("queue") */
	const char *synopsis;   /* what follows the name in usage */
	const char *summary;    /* one line for the command list */
	const char *detail;     /* a paragraph for "kolapp help COMMAND" */
	render_fn render;
	bool no_hello;          /* ping works before (and without) a token */
	bool watch;             /* stays connected, printing events */
};

/* The command called name, or NULL. */
const struct command *command_find(const char *name);

/* The whole usage: options and a line for each command. */
void usage_print(FILE *f);
/* One command's usage. */
void command_usage_print(FILE *f, const struct command *cmd);

#endif
