/*
 * fake_db: the tables of the fake database (offices, queues, counters,
 * counter_queues, tickets) and the d_* write statements over them, each
 * refused where kolapp's constraints would refuse it (fake_store.h says
 * which SQL they stand for). Internal to fake_store.c, which owns the
 * queue of jobs and answers loads from these tables; tests include
 * fake_store.h, never this.
 */
#ifndef KOLAPP_TESTS_FAKE_DB_H
#define KOLAPP_TESTS_FAKE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/engine/store.h"
#include "tests/unit/fake_store.h"

/* Rows of each configuration table at most: the tests need a handful. */
#define FAKE_CONFIG_MAX 16

struct office_row {
	int id;
	char code[33], tz[64];
};

struct queue_row {
	int id, office_id;
	char code[8];
};

struct counter_row {
	int id, office_id;
	char name[33];
	bool open;
};

/* A write statement and its parameters, NULL for SQL NULL. */
struct fake_write {
	char *stmt;
	int n;
	char **values;
};

struct fake_db {
	struct office_row offices[FAKE_CONFIG_MAX];
	int noffices;
	struct queue_row queues[FAKE_CONFIG_MAX];
	int nqueues;
	struct counter_row counters[FAKE_CONFIG_MAX];
	int ncounters;
	struct store_counter_queue cqs[FAKE_CONFIG_MAX * FAKE_CONFIG_MAX];
	int ncqs;
	struct fake_ticket *tickets;
	int ntickets, captickets;
	long last_id;
	int bookings_no_show; /* d_bookings_no_show calls committed or not */
	char refusal[256];    /* why the last write or batch was refused */
};

/* Runs the writes as one transaction: true when all of them committed;
 * on the first refusal none did, and refusal says why. */
bool fake_db_transaction(struct fake_db *db, const struct fake_write *w, int nw);
/* Frees the tickets; the struct itself is its owner's. */
void fake_db_free(struct fake_db *db);

struct counter_row *fake_db_counter(struct fake_db *db, int id);
/* The ticket of office and day with that code, or NULL. */
struct fake_ticket *fake_db_ticket(struct fake_db *db, int office, int32_t day, const char *code);
bool fake_db_state_in(const struct fake_ticket *t, const char *a, const char *b);

#endif
