/*
 * pgw_order: the order a write transaction's commands are sent in.
 *
 * pgw sends a run of neighbouring executions of one statement as one
 * execution of its array form ("many", pgw.h). A day's batch interleaves
 * offices and statements (an issue here, a call there), so runs of
 * neighbours are short, and each execution of a plpgsql function costs
 * the one write backend its fixed overhead again. Commands that carry a
 * key (the office) may be sent later or earlier than added, so that
 * executions of one statement join one run, as long as commands with
 * the same key keep their order and nothing crosses a barrier. Within a
 * transaction only the order of dependent writes matters, and writes of
 * different offices do not depend on each other.
 *
 * Pure: no I/O, no allocation the caller sees.
 */
#ifndef KOLAPP_PGW_ORDER_H
#define KOLAPP_PGW_ORDER_H

/* One command as the ordering sees it. */
struct pgw_order_cmd {
	const char *stmt; /* statement name: equal names (and nparams) may run together */
	int nparams;
	/* What the command must keep its order with: the other commands of
	 * the same key. NULL: a barrier, which stays where it was added with
	 * nothing moved across it. */
	const char *key;
};

/* Fills order[0..n) with the indexes of cmds in the order to send them:
 * each keyed command joins the latest group of its statement when no
 * command of its key or barrier comes after that group, else starts a new
 * group at the end. Groups are sent one after the other, each in the
 * order its commands were added. */
void pgw_order(const struct pgw_order_cmd *cmds, int n, int *order);

#endif
