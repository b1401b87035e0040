/* The main() every plain integration test shares: one fresh, migrated
 * database for the file, optional seeding, the suite, the database
 * dropped. Exit status as automake's harness reads it: 0 all passed,
 * 1 a test failed, 99 the set-up failed (a hard error). */
#ifndef KOLAPP_TESTS_SUITE_MAIN_H
#define KOLAPP_TESTS_SUITE_MAIN_H

#include <check.h>

/* *db is set to the database's conninfo before prepare (may be NULL)
 * runs and before the suite; prepare returns 0 or -1. */
int h_suite_main(const char *name, Suite *suite, char **db, int (*prepare)(void));

#endif
