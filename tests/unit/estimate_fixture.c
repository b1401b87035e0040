/* Helpers of the estimator's unit tests (estimate_fixture.h). */
#include "tests/unit/estimate_fixture.h"

void learn(const char *counter, const char *queue, int n, int secs)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(sub(OP_ISSUE, NULL, queue, NULL, NULL), PROTO_OK);
		ck_assert_int_eq(sub(OP_CALL, counter, NULL, str(res("ticket"), "code"), NULL),
				 PROTO_OK);
		ck_assert_int_eq(sub(OP_START, counter, NULL, NULL, NULL), PROTO_OK);
		now_us += secs * SEC;
		ck_assert_int_eq(sub(OP_FINISH, counter, NULL, NULL, NULL), PROTO_OK);
	}
	now_us += 61 * 60 * SEC;
}

json_int_t wait_of(const char *code)
{
	json_t *t = ticket(code);
	json_t *w = json_object_get(t, "estimated_wait_s");

	ck_assert_msg(json_is_integer(w), "%s has no estimate", code);
	return json_integer_value(w);
}

json_int_t issue_wait(const char *queue)
{
	ck_assert_int_eq(sub(OP_ISSUE, NULL, queue, NULL, NULL), PROTO_OK);
	return num(res("ticket"), "estimated_wait_s");
}

void two_counters_s_waiting(bool second_open, int n)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", second_open, 1, 1, 1);
	learn("1", "S", 3, 100);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PROTO_OK);
}
