#include "client/commands.h"

#include <string.h>

#include "client/fmt.h"

static const struct command commands[] = {
	{ "ping", OP_PING, "", "check that the server answers (no token needed)",
	  "Sends ping and prints \"pong\" when the server answers.\n"
	  "Needs no token: use it to check that kolappd is up.\n",
	  .render = render_ping },
	{ "issue", OP_ISSUE, "QUEUE [OPTIONS]", "take a new ticket in QUEUE",
	  "Takes a new ticket in QUEUE (a queue code such as S) and prints its\n"
	  "number, its place in the queue and the estimated wait.\n"
	  "--key KEY makes the request idempotent: the same key on the same\n"
	  "business day returns the same ticket instead of a new one, so a\n"
	  "kiosk may safely retry. --priority asks for a priority ticket (a\n"
	  "person with a disability, a frail pensioner); --interpreter LANG\n"
	  "records that the visitor needs an interpreter (ISO 639-1, such as so);\n"
	  "--lang LANG the visitor's language.\n",
	  .render = render_issue },
	{ "call-next", OP_CALL_NEXT, "", "call the next waiting ticket to this counter",
	  "Calls the ticket that has waited longest in this counter's queues\n"
	  "(lower-ranked queues first). A ticket the counter still holds is\n"
	  "finished first. Prints \"Nothing waiting.\" when no one waits.\n",
	  .render = render_call },
	{ "call", OP_CALL, "CODE", "call ticket CODE to this counter",
	  "Calls the waiting ticket CODE (such as S-042) to this counter, out\n"
	  "of turn. A ticket the counter still holds is finished first.\n",
	  .render = render_call },
	{ "recall", OP_RECALL, "", "announce this counter's called ticket again",
	  "Announces the counter's called ticket again, on the display boards\n"
	  "too.\n",
	  .render = render_recall },
	{ "start", OP_START, "", "start serving this counter's called ticket",
	  "Marks the counter's called ticket as being served.\n", .render = render_start },
	{ "finish", OP_FINISH, "[--outcome CODE]", "finish this counter's ticket",
	  "Marks the counter's ticket (called or serving) as done. --outcome\n"
	  "CODE records what the visit was about, from the queue's outcome list\n"
	  "(required where the queue says so).\n",
	  .render = render_finish },
	{ "no-show", OP_NO_SHOW, "", "mark this counter's called ticket as a no-show",
	  "Marks the counter's called ticket as a no-show: the customer did\n"
	  "not come.\n",
	  .render = render_no_show },
	{ "transfer", OP_TRANSFER, "QUEUE", "send this counter's ticket to wait in QUEUE",
	  "Puts the counter's ticket back to waiting, in QUEUE. It keeps its\n"
	  "code and its original place in time.\n",
	  .render = render_transfer },
	{ "send-to", OP_TRANSFER, "COUNTER", "send this counter's ticket to wait for COUNTER",
	  "Puts the counter's ticket back to waiting, for counter COUNTER only\n"
	  "(a visitor who must see one particular clerk). It comes first there\n"
	  "and keeps its code and its original place in time.\n",
	  .render = render_transfer, .field = "to_counter" },
	{ "park", OP_PARK, "", "set this counter's ticket aside and free the counter",
	  "Parks the counter's ticket (waiting for an interpreter, a document, a\n"
	  "phone call): the counter holds nothing and can call the next. Call it\n"
	  "back later with: kolapp call CODE (from any counter).\n",
	  .render = render_park },
	{ "reactivate", OP_REACTIVATE, "CODE", "put a no-show ticket back in line",
	  "A visitor who missed the call is back: the no-show ticket CODE waits\n"
	  "again at its original place in time, if the queue's window (15\n"
	  "minutes unless set otherwise) has not passed.\n",
	  .render = render_reactivate },
	{ "cancel", OP_CANCEL, "CODE", "cancel waiting ticket CODE",
	  "Cancels the waiting ticket CODE (such as S-042) of today.\n", .render = render_cancel },
	{ "open", OP_COUNTER_OPEN, "", "open this counter",
	  "Opens the counter so that it can call tickets.\n", .render = render_counter },
	{ "close", OP_COUNTER_CLOSE, "", "close this counter",
	  "Closes the counter: it cannot call tickets until opened again.\n",
	  .render = render_counter },
	{ "check-in", OP_CHECK_IN, "BOOKING", "check in with booking code BOOKING",
	  "Checks in the visitor of booking BOOKING (8 characters, such as\n"
	  "Q7HX3KPA) and prints the ticket, which waits for its appointment.\n"
	  "Refused (with the time to come back) outside the office's check-in\n"
	  "window, by default 30 minutes before the start to 10 after.\n",
	  .render = render_check_in },
	{ "book", OP_BOOK, "QUEUE --at TIME [OPTIONS]", "book a visit in QUEUE at TIME",
	  "Books a visit in QUEUE at TIME (ISO 8601 with a zone, such as\n"
	  "2026-12-03T14:30:00+01:00) and prints the booking's code for the\n"
	  "visitor. --minutes N (5 to 240, default 15), --interpreter LANG\n"
	  "(ISO 639-1, such as so), --reference REF (the agency's own, at most 64\n"
	  "characters; never a personal number).\n",
	  .render = render_booking },
	{ "unbook", OP_UNBOOK, "BOOKING", "cancel booking BOOKING",
	  "Cancels booking BOOKING, unless the visitor has checked in.\n",
	  .render = render_booking },
	{ "ticket", OP_TICKET, "CODE", "show ticket CODE",
	  "Shows today's ticket CODE (such as S-042): its state, and its\n"
	  "position and estimated wait while it waits.\n",
	  .render = render_ticket },
	{ "status", OP_STATUS, "", "show queues, counters and recent calls",
	  "Shows the office's queues (open or closed, how many wait, the\n"
	  "estimated wait), its counters (open or closed, the ticket each\n"
	  "holds) and the latest calls. Says \"(stale: database unreachable)\"\n"
	  "when the server answers from memory during a database outage.\n",
	  .render = render_status },
	{ "board", OP_SUBSCRIBE, "", "show the office's calls and queues full screen",
	  "A full-screen display board: the latest call large, the last few\n"
	  "calls, each queue's waiting count and estimated wait, and a clock.\n"
	  "Updates as things happen and reconnects by itself when kolappd goes\n"
	  "away (showing \"offline\" meanwhile), through the -H list and to the\n"
	  "office's new owner, saying where it went. q quits.\n",
	  .render = NULL },
	{ "counter", OP_CALL_NEXT, "[--counter NAME]",
	  "work a counter full screen with single keys",
	  "A full-screen counter screen: the held ticket large with its state\n"
	  "and how long it has been held, the tickets parked here, and the\n"
	  "waiting counts of the counter's own queues. Keys: n next, r recall,\n"
	  "s start, f finish, x no-show, p park, b call back the first parked\n"
	  "ticket, t transfer (pick a queue with the arrows or its number,\n"
	  "Enter; Esc cancels), o open, c close, q quit. Reconnects by itself,\n"
	  "like board.\n",
	  .render = NULL },
	{ "watch", OP_SUBSCRIBE, "", "print the office's events as they happen",
	  "Subscribes to the office's events and prints one line for each,\n"
	  "such as \"15:42:01  called   S-042 → counter 3\", until Ctrl-C\n"
	  "(exit 0). When the connection drops (kolappd stopped, or another\n"
	  "daemon took the office over) it reconnects through the -H list,\n"
	  "subscribes again and says so in one line on stderr (events in\n"
	  "between are not shown); exit 3 when no daemon serves the office\n"
	  "again within --timeout. With --json, prints each event line as\n"
	  "received.\n",
	  .watch = true },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *command_field(const struct command *cmd)
{
	const struct proto_op_spec *spec = proto_op_spec(cmd->op);

	if (cmd->field)
		return cmd->field;
	for (int a = 0; spec && a < ARG__COUNT; a++)
		if (spec->required & (1u << a))
			return proto_arg_name((enum proto_arg)a);
	return NULL;
}

bool command_needs_hello(const struct command *cmd)
{
	return !proto_role_may(ROLE_NONE, cmd->op);
}

/* "Roles: counter, admin (with --counter)." from the op table. */
static void roles_print(FILE *f, const struct command *cmd)
{
	static const enum proto_role order[] = { ROLE_KIOSK, ROLE_COUNTER, ROLE_DISPLAY, ROLE_ADMIN,
						 ROLE_BOOKING };
	bool first = true;

	if (!command_needs_hello(cmd))
		return; /* its detail says it needs no token */
	fprintf(f, "Roles:");
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!proto_role_may(order[i], cmd->op))
			continue;
		fprintf(f, "%s %s", first ? "" : ",", proto_role_name(order[i]));
		first = false;
	}
	fprintf(f, "%s.\n", proto_op_is_counter_op(cmd->op) ? " (with --counter)" : "");
}

const struct command *command_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char options_text[] =
	"Options (anywhere on the line):\n"
	"  -H, --host ADDR[:PORT],...\n"
	"                       the daemons to try, in order (default $KOLAPP_HOST\n"
	"                       or 127.0.0.1; IPv6 as ::1 or [::1]:7879). kolapp\n"
	"                       goes on to the owner of the office when a daemon\n"
	"                       answers moved, and waits up to --timeout while no\n"
	"                       daemon serves it (unavailable: a takeover)\n"
	"  -p, --port PORT      the port of addresses without one (default\n"
	"                       $KOLAPP_PORT or 7878)\n"
	"  -t, --token TOKEN    access token (default $KOLAPP_TOKEN; the variable\n"
	"                       keeps it out of the process list)\n"
	"      --office CODE    act on another office (admin tokens)\n"
	"      --counter NAME   act on counter NAME (admin tokens)\n"
	"      --json           print the server's replies as raw JSON lines\n"
	"      --timeout SEC    wait at most SEC seconds for the server (default 10)\n"
	"      --tls            connect with TLS 1.2 or later (or KOLAPP_TLS=1),\n"
	"                       verifying the server's certificate and name\n"
	"      --ca FILE        trust the CA certificates in FILE (PEM) instead of\n"
	"                       the system's (default $KOLAPP_CA)\n"
	"      --insecure       with --tls, skip the host-name check (the chain\n"
	"                       is still verified)\n"
	"  -h, --help           show this help, or the command's\n";

static const char exit_text[] =
	"Exit status: 0 done, 1 the server refused (an error reply, or unavailable\n"
	"until --timeout), 2 usage error, 3 cannot connect, connection lost or\n"
	"timed out (including a failed TLS handshake or certificate verification).\n"
	"A request whose answer is lost with the connection is sent again only\n"
	"when that is safe (reads, issue with --key, check-in); otherwise kolapp\n"
	"says it is unknown whether it happened and exits 3.\n";

void usage_print(FILE *f)
{
	char left[64];
	size_t i;

	fprintf(f, "Usage: kolapp [OPTIONS] COMMAND [ARGS]\n\n"
		   "Command-line client of kolappd, the queue-ticketing daemon.\n\n"
		   "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		snprintf(left, sizeof(left), "%s%s%s", commands[i].name,
			 commands[i].synopsis[0] ? " " : "", commands[i].synopsis);
		fprintf(f, "  ");
		print_padded(f, left, 26);
		fprintf(f, "%s\n", commands[i].summary);
	}
	fprintf(f, "  ");
	print_padded(f, "help [COMMAND]", 26);
	fprintf(f, "show this help, or one command's\n\n%s\n%s", options_text, exit_text);
}

void command_usage_print(FILE *f, const struct command *cmd)
{
	fprintf(f, "Usage: kolapp [OPTIONS] %s%s%s\n\n%s", cmd->name, cmd->synopsis[0] ? " " : "",
		cmd->synopsis, cmd->detail);
	roles_print(f, cmd);
	fprintf(f, "\n%s\n%s", options_text, exit_text);
}
