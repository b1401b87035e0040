#include "tests/integration/suite_main.h"
#include "tests/integration/harness.h"

#include <stdio.h>
#include <stdlib.h>

int h_suite_main(const char *name, Suite *suite, char **db, int (*prepare)(void))
{
	SRunner *sr = srunner_create(suite); /* owns the suite from here */
	int failed, rc;

	h_pg_base_conninfo();
	*db = h_create_db();
	if (!*db) {
		fprintf(stderr, "%s: cannot create a test database\n", name);
		srunner_free(sr);
		return 99;
	}
	rc = h_migrate(*db);
	if (rc != 0 || (prepare && prepare() != 0)) {
		if (rc != 0)
			fprintf(stderr, "%s: kolappd --migrate exited with %d\n", name, rc);
		else
			fprintf(stderr, "%s: preparing the test database failed\n", name);
		srunner_free(sr);
		h_drop_db(*db);
		free(*db);
		return 99;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_drop_db(*db);
	free(*db);
	*db = NULL;
	return failed == 0 ? 0 : 1;
}
