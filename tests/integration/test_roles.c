/* Integration test of the contract's role table: for each role (and before
 * hello) and each op, allowed or forbidden exactly as protocol-v1.md says;
 * the scope of counter, kiosk and admin tokens across counters and
 * offices. Real PostgreSQL, real kolappd; two offices per test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/suite_main.h"
#include "tests/integration/office.h"
#include "tests/integration/contract.h"
#include "proto/ops.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o, g_other;

static json_t *ok(json_t *r)
{
	ck_assert_msg(o_ok(r), "expected ok, got %s", o_js(r));
	return r;
}

static void want_err(json_t *r, const char *code)
{
	ck_assert_msg(r && o_err(r) && strcmp(o_err(r), code) == 0, "expected error %s, got %s",
		      code, o_js(r));
	json_decref(r);
}

static void setup(void)
{
	o_seed_named(g_db, "r", &g_o);
	o_seed_named(g_db, "rb", &g_other);
	o_daemon_up(&g_d, g_db, NULL);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
}

static void check_role(int role, const char *token)
{
	const char *const *names = contract_role_names;
	struct oc *c;
	int op;

	c = token ? o_login(g_d.port, token) : oc_connect(g_d.port);
	ck_assert_ptr_nonnull(c);
	for (op = 0; op < OP__COUNT; op++) {
		const char *name = proto_op_name((enum proto_op)op);
		int row = contract_row(name);
		char args[128];

		if (op == OP_HELLO || op == OP_BYE)
			continue;
		ck_assert_msg(row >= 0, "op %s of the op table is not in the contract's matrix",
			      name);
		ck_assert_msg(proto_role_may((enum proto_role)role, (enum proto_op)op) ==
				      contract_matrix[row].may[role],
			      "the op table says %s %s %s, the contract the opposite", names[role],
			      contract_matrix[row].may[role] ? "may not" : "may", name);
		contract_args((enum proto_op)op, args, sizeof args);
		/* Admins name the counter; a counter token may name its own. */
		const char *ctr = proto_op_is_counter_op((enum proto_op)op) &&
						  (role == R_ADMIN || role == R_COUNTER)
					? ",\"counter\":\"1\""
					: "";
		json_t *r = oc_req(c, "{\"id\":%d,\"op\":\"%s\"%s%s}", op, name, args, ctr);
		const char *err = o_err(r);

		ck_assert_msg(r != NULL, "%s %s: no reply", names[role], name);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), (json_int_t)op);
		if (role == R_NONE && !contract_matrix[row].may[role])
			ck_assert_msg(err && strcmp(err, "unauthorized") == 0,
				      "before hello, %s: want unauthorized, got %s", name, o_js(r));
		else if (!contract_matrix[row].may[role])
			ck_assert_msg(err && strcmp(err, "forbidden") == 0,
				      "%s may not %s: want forbidden, got %s", names[role], name,
				      o_js(r));
		else
			ck_assert_msg(!err || (strcmp(err, "forbidden") && strcmp(err, "unauthorize"
										       "d")),
				      "%s may %s, got %s", names[role], name, o_js(r));
		json_decref(r);
	}
	oc_close(c);
	/* hello and bye: every role, also before hello. */
	c = oc_connect(g_d.port);
	ck_assert_ptr_nonnull(c);
	if (token)
		json_decref(ok(oc_req(c, "{\"op\":\"hello\",\"token\":\"%s\"}", token)));
	json_decref(ok(oc_req(c, "{\"op\":\"bye\"}")));
	ck_assert_msg(oc_closed(c, 5000), "%s: bye did not close", names[role]);
	oc_close(c);
}

START_TEST(matrix_before_hello)
{
	check_role(R_NONE, NULL);
}
END_TEST

START_TEST(matrix_kiosk)
{
	check_role(R_KIOSK, g_o.kiosk);
}
END_TEST

START_TEST(matrix_counter)
{
	check_role(R_COUNTER, g_o.counter[0]);
}
END_TEST

START_TEST(matrix_display)
{
	check_role(R_DISPLAY, g_o.display);
}
END_TEST

START_TEST(matrix_admin)
{
	check_role(R_ADMIN, g_o.admin);
}
END_TEST

START_TEST(matrix_booking)
{
	check_role(R_BOOKING, g_o.booking);
}
END_TEST

START_TEST(counter_token_other_counter)
{
	struct oc *c = o_login(g_d.port, g_o.counter[0]);
	json_t *r;

	want_err(oc_req(c, "{\"op\":\"counter_open\",\"counter\":\"2\"}"), "forbidden");
	want_err(oc_req(c, "{\"op\":\"call_next\",\"counter\":\"2\"}"), "forbidden");
	/* Its own name is fine. */
	r = ok(oc_req(c, "{\"op\":\"counter_open\",\"counter\":\"1\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "counter"), "name")),
			 "1");
	json_decref(r);
	/* Counter 2 stayed closed. */
	r = ok(oc_req(c, "{\"op\":\"status\"}"));
	{
		size_t i;
		json_t *e;

		json_array_foreach(json_object_get(r, "counters"), i, e) {
			const char *n = json_string_value(json_object_get(e, "name"));

			ck_assert(json_is_boolean(json_object_get(e, "open")));
			ck_assert_msg(json_is_true(json_object_get(e, "open")) ==
					      (strcmp(n, "1") == 0),
				      "counter %s: %s", n, o_js(r));
		}
	}
	json_decref(r);
	/* Another office, with or without a counter. */
	want_err(oc_req(c, "{\"op\":\"status\",\"office\":\"%s\"}", g_other.code), "forbidden");
	oc_close(c);
}
END_TEST

START_TEST(kiosk_and_display_other_office)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk), *d = o_login(g_d.port, g_o.display);
	char sql[256];

	want_err(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"office\":\"%s\"}", g_other.code),
		 "forbidden");
	want_err(oc_req(k, "{\"op\":\"status\",\"office\":\"%s\"}", g_other.code), "forbidden");
	want_err(oc_req(d, "{\"op\":\"subscribe\",\"office\":\"%s\"}", g_other.code), "forbidden");
	/* Naming its own office is allowed. */
	json_decref(
		ok(oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\",\"office\":\"%s\"}", g_o.code)));
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o"
		 " ON o.id = t.office_id WHERE o.code = '%s'",
		 g_other.code);
	ck_assert_int_eq(o_count(g_db, sql), 0);
	oc_close(k);
	oc_close(d);
}
END_TEST

START_TEST(admin_names_office_and_counter)
{
	struct oc *a = o_login(g_d.port, g_o.admin), *sub = o_login(g_d.port, g_o.admin);
	json_t *r, *e;
	char sql[256];

	json_decref(ok(oc_req(sub, "{\"op\":\"subscribe\",\"office\":\"%s\"}", g_other.code)));
	r = ok(oc_req(a, "{\"op\":\"issue\",\"queue\":\"F\",\"office\":\"%s\"}", g_other.code));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	json_decref(r);
	e = oc_event(sub, "issued", 5000);
	ck_assert_msg(e != NULL, "no issued event for the other office");
	ck_assert_str_eq(json_string_value(json_object_get(e, "office")), g_other.code);
	json_decref(e);

	r = ok(oc_req(a, "{\"op\":\"counter_open\",\"office\":\"%s\",\"counter\":\"3\"}",
		      g_other.code));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "counter"), "name")),
			 "3");
	json_decref(r);
	r = ok(oc_req(a, "{\"op\":\"call_next\",\"office\":\"%s\",\"counter\":\"3\"}",
		      g_other.code));
	ck_assert_str_eq(o_tstr(r, "code"), "F-001");
	ck_assert_str_eq(o_tstr(r, "counter"), "3");
	json_decref(r);
	/* Without "office" the admin acts on its own office: nothing there. */
	want_err(oc_req(a, "{\"op\":\"ticket\",\"ticket\":\"F-001\"}"), "not_found");
	want_err(oc_req(a, "{\"op\":\"call_next\",\"counter\":\"3\"}"), "conflict");
	want_err(oc_req(a, "{\"op\":\"call_next\",\"counter\":\"9\",\"office\":\"%s\"}",
			g_other.code),
		 "not_found");
	want_err(oc_req(a, "{\"op\":\"status\",\"office\":\"nowhere\"}"), "not_found");
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o"
		 " ON o.id = t.office_id WHERE o.code = '%s' AND t.state = 'called'",
		 g_other.code);
	ck_assert_int_eq(o_count(g_db, sql), 1);
	oc_close(a);
	oc_close(sub);
}
END_TEST

static Suite *roles_suite(void)
{
	Suite *s = suite_create("roles");
	TCase *tc = tcase_create("roles");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, matrix_before_hello);
	tcase_add_test(tc, matrix_kiosk);
	tcase_add_test(tc, matrix_counter);
	tcase_add_test(tc, matrix_display);
	tcase_add_test(tc, matrix_admin);
	tcase_add_test(tc, matrix_booking);
	tcase_add_test(tc, counter_token_other_counter);
	tcase_add_test(tc, kiosk_and_display_other_office);
	tcase_add_test(tc, admin_names_office_and_counter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_roles", roles_suite(), &g_db, NULL);
}
