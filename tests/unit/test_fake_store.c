/* Unit tests of the fake store itself (fake_store.c, fake_db.c): it must
 * refuse what kolapp's database refuses, or the tests of the engine on
 * it (test_engine_store) could pass on writes PostgreSQL would reject.
 * It runs in their fixture so that it checks the tables they start from. */
#include "tests/unit/store_fixture.h"

#include <stdlib.h>

static int exec5(const char *stmt, const char *a, const char *b, const char *c, const char *d,
		 const char *e)
{
	const char *v[] = { a, b, c, d, e };
	return fake_store_exec(fs, stmt, 5, v);
}

static int exec_issue(const char *queue, const char *number, const char *code, const char *key,
		      const char *at)
{
	const char *v[] = { "1", queue,   "2026-06-10", number, code, key,
			    at,  "false", NULL,         NULL,   NULL, NULL };
	return fake_store_exec(fs, "d_issue", 12, v);
}

static void record_done(void *arg, bool ok)
{
	*(int *)arg = ok ? 1 : 0;
}

START_TEST(fake_refuses_what_the_database_refuses)
{
	const char *at = "2026-06-10T08:00:00.000Z", *later = "2026-06-10T08:05:00.5Z";
	const char *day = "2026-06-10";
	struct engine_store st = fake_store_iface(fs);
	struct store_batch *b;
	int outcome = -1;

	ck_assert_int_eq(exec_issue("1", "1", "S-001", "k", at), 0);
	ck_assert_int_eq(exec_issue("1", "1", "S-001", NULL, at), -1);  /* same code */
	ck_assert_int_eq(exec_issue("1", "1", "S-0001", NULL, at), -1); /* same number */
	ck_assert_int_eq(exec_issue("1", "2", "S-003", NULL, at), -1);  /* code != number */
	ck_assert_int_eq(exec_issue("1", "2", "F-002", NULL, at), -1);  /* F is queue 2 */
	ck_assert_int_eq(exec_issue("1", "2", "S-02", NULL, at), -1);   /* too few digits */
	ck_assert_int_eq(exec_issue("9", "2", "S-002", NULL, at), -1);  /* no such queue */
	ck_assert_int_eq(exec_issue("1", "2", "S-002", "k", at), -1);   /* same key */
	ck_assert_int_eq(exec_issue("1", "2", "S-002", NULL, "2026-06-10 08:00"), -1);
	ck_assert_int_eq(exec_issue("1", "x", "S-002", NULL, at), -1);
	ck_assert_int_eq(exec_issue("1", "2", "S-0002", NULL, at), 0); /* zero-padded is fine */
	ck_assert_int_eq(exec_issue("2", "1", "F-001", NULL, at), 0);

	ck_assert_int_eq(exec5("d_call", "1", day, "S-009", "1", later), -1);
	ck_assert_int_eq(exec5("d_call", "1", day, "S-001", "1", "2026-06-10T07:59:59.999Z"), -1);
	ck_assert_int_eq(exec5("d_call", "1", day, "S-001", "9", later), -1);
	ck_assert_int_eq(exec5("d_call", "1", day, "S-001", NULL, later), -1);
	ck_assert_int_eq(exec5("d_call", "1", day, "S-001", "1", later), 0);
	ck_assert_str_eq(db_ticket("S-001")->state, "called");
	ck_assert(db_ticket("S-001")->called_at == T0 + 300 * SEC + 500000);
	ck_assert_int_eq(exec5("d_call", "1", day, "S-001", "2", later), -1); /* not waiting */
	/* counter 1 holds S-001 already */
	ck_assert_int_eq(exec5("d_call", "1", day, "S-0002", "1", later), -1);
	ck_assert_int_eq(exec5("d_set_state", "1", day, "S-001", "bogus", later), -1);
	ck_assert_int_eq(exec5("d_set_state", "1", day, "S-001", "cancelled", later), -1);
	ck_assert_int_eq(exec5("d_set_state", "1", day, "S-001", "serving", later), 0);
	ck_assert_int_eq(exec5("d_set_state", "1", day, "S-001", "no_show", later), -1);
	ck_assert_int_eq(exec5("d_transfer", "1", day, "S-001", "3", later), 0);
	ck_assert_str_eq(db_ticket("S-001")->state, "waiting");
	ck_assert_int_eq(db_ticket("S-001")->queue_id, 3);
	ck_assert(db_ticket("S-001")->called_at == 0 && db_ticket("S-001")->started_at == 0);
	ck_assert(db_ticket("S-001")->sort_at == T0);
	ck_assert_int_eq(exec5("d_transfer", "1", day, "S-001", "2", later), -1); /* waiting */
	ck_assert_int_eq(exec5("d_set_state", "1", day, "S-001", "cancelled", later), 0);
	ck_assert(db_ticket("S-001")->finished_at != 0);
	{
		const char *v[] = { "1", day, "S-0002", later };
		ck_assert_int_eq(fake_store_exec(fs, "d_recall", 4, v), -1); /* waiting */
	}
	{
		const char *v[] = { "3", "true", later };
		ck_assert_int_eq(fake_store_exec(fs, "d_counter_set_open", 3, v), 0);
		ck_assert(fake_store_counter_open(fs, 3));
		v[1] = "maybe";
		ck_assert_int_eq(fake_store_exec(fs, "d_counter_set_open", 3, v), -1);
		v[0] = "99";
		v[1] = "false";
		ck_assert_int_eq(fake_store_exec(fs, "d_counter_set_open", 3, v), -1);
	}
	{
		const char *v[] = { "1", "2026-06-11", "2026-06-11T00:00:01.000Z" };
		ck_assert_int_eq(fake_store_exec(fs, "d_expire", 3, v), 0);
		ck_assert_str_eq(db_ticket("S-001")->state, "cancelled");
		ck_assert_str_eq(db_ticket("S-0002")->state, "expired");
		ck_assert_str_eq(db_ticket("F-001")->state, "expired");
	}
	ck_assert_int_eq(exec5("d_nothing", "1", day, "S-001", "1", later), -1);

	/* A batch is one transaction: a refused write undoes the others. */
	ck_assert_int_eq(exec_issue("3", "1", "P-001", NULL, at), 0);
	b = st.ops->batch(st.self);
	{
		const char *ok[] = { "1", "3",     day,  "2",  "P-002", NULL,
				     at,  "false", NULL, NULL, NULL };
		const char *bad[] = { "1", day, "P-009", "1", later };
		const char *call[] = { "1", day, "P-001", "1", later };
		st.ops->add(st.self, b, "d_call", 5, call);
		st.ops->add(st.self, b, "d_issue", 11, ok);
		st.ops->add(st.self, b, "d_call", 5, bad);
	}
	st.ops->on_done(st.self, b, record_done, &outcome);
	ck_assert_int_eq(outcome, -1); /* never inside the call */
	ck_assert_int_eq(fake_store_commit_next(fs, true), 0);
	ck_assert_int_eq(outcome, 0);
	ck_assert_int_eq(fake_store_nrefused(fs), 1);
	ck_assert_ptr_null(db_ticket("P-002"));
	ck_assert_str_eq(db_ticket("P-001")->state, "waiting");
}
END_TEST

static Suite *fake_store_suite(void)
{
	Suite *s = suite_create("fake_store");
	TCase *tc = tcase_create("fake_store");

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_add_test(tc, fake_refuses_what_the_database_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fake_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
