/*
 * kolapp -H with a list, against a real PostgreSQL and a real kolappd:
 * an address that refuses is skipped for the next; issue --key through
 * the list stays one ticket; watch survives its daemon's restart,
 * reconnecting through the list and subscribing again. (Following
 * `moved` between daemons is tested against fake daemons in
 * tests/unit/test_client_follow.c until two real ones can split the
 * offices.)
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/office.h"
#include "tests/integration/suite_main.h"
#include "tests/unit/kolapp_run.h"

static char *g_db;
static struct h_daemon g_d;
static struct o_office g_o;
static int g_dead_fd = -1, g_dead_port;
static char g_list[128]; /* "127.0.0.1:DEAD,127.0.0.1:PORT" */

/* A port that refuses connections while g_dead_fd (bound, not
 * listening) holds it. */
static int hold_dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_dead_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(g_dead_fd, 0);
	ck_assert_int_eq(bind(g_dead_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(g_dead_fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void setup(void)
{
	ck_assert_int_eq(kr_init(), 0);
	o_seed_named(g_db, "ch", &g_o);
	o_daemon_up(&g_d, g_db, NULL);
	g_dead_port = hold_dead_port();
	snprintf(g_list, sizeof(g_list), "127.0.0.1:%d,127.0.0.1:%d", g_dead_port, g_d.port);
}

static void teardown(void)
{
	o_daemon_down(&g_d);
	close(g_dead_fd);
	kr_cleanup();
}

START_TEST(dead_address_is_skipped)
{
	char dead_then_default[64], port[16];
	struct kolapp_run r;

	kr_run((char *[]){ "kolapp", "--json", "-H", g_list, "status", NULL }, g_o.kiosk, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "\"ok\":true"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "\"queues\""), "%s", r.out);
	/* An address without a port takes -p's. */
	snprintf(dead_then_default, sizeof(dead_then_default), "127.0.0.1:%d,127.0.0.1",
		 g_dead_port);
	snprintf(port, sizeof(port), "%d", g_d.port);
	kr_run((char *[]){ "kolapp", "-H", dead_then_default, "-p", port, "ping", NULL }, NULL, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "pong"), "%s", r.out);
}
END_TEST

START_TEST(nothing_reachable_names_each_address)
{
	char list[64];
	struct kolapp_run r;

	snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", g_dead_port, g_dead_port);
	kr_run((char *[]){ "kolapp", "-H", list, "status", NULL }, g_o.kiosk, &r);
	ck_assert_msg(r.status == 3, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "Connection refused"), "%s", r.err);
	/* Within the list the same dead address is tried once per round. */
	ck_assert_msg(r.ms < 3000, "took %lld ms", r.ms);
}
END_TEST

START_TEST(issue_with_key_through_the_list)
{
	char q[512], first[32] = "";
	struct kolapp_run r;

	for (int i = 0; i < 2; i++) {
		json_t *j, *t;

		kr_run((char *[]){ "kolapp", "--json", "-H", g_list, "issue", "S", "--key",
				   "ch-kiosk-1", NULL },
		       g_o.kiosk, &r);
		ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
		j = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
		t = json_object_get(j, "ticket");
		ck_assert_msg(json_is_string(json_object_get(t, "code")), "%s", r.out);
		if (i == 0)
			snprintf(first, sizeof(first), "%s",
				 json_string_value(json_object_get(t, "code")));
		else
			ck_assert_str_eq(json_string_value(json_object_get(t, "code")), first);
		json_decref(j);
	}
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = "
		 "t.office_id WHERE o.code = '%s'",
		 g_o.code);
	ck_assert_int_eq(o_count(g_db, q), 1);
}
END_TEST

/* Issues one ticket in S through a fresh connection; its code in code. */
static void issue_one(char *code, size_t size)
{
	struct oc *k = o_login(g_d.port, g_o.kiosk);
	json_t *r = oc_req(k, "{\"op\":\"issue\",\"queue\":\"S\"}");

	ck_assert_msg(o_ok(r), "issue: %s", o_js(r));
	snprintf(code, size, "%s", o_tstr(r, "code"));
	json_decref(r);
	oc_close(k);
}

/* Until a ping on port answers (a poll with a deadline). */
static bool answers(int port, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		int fd = h_connect(port);
		json_t *r = fd >= 0 ? h_request(fd, "{\"op\":\"ping\"}") : NULL;
		bool ok = r && o_ok(r);

		json_decref(r);
		if (fd >= 0)
			h_close(fd);
		if (ok)
			return true;
		poll(NULL, 0, 50);
	}
	return false;
}

START_TEST(watch_reconnects_after_a_restart)
{
	char code[32], want[64], buf[16384];
	struct kolapp_run r;
	bool seen = false;
	int tag, port = g_d.port;
	pid_t pid;

	pid = kr_spawn((char *[]){ "kolapp", "--json", "--timeout", "30", "-H", g_list, "watch",
				   NULL },
		       g_o.display, &tag);
	ck_assert_int_gt(pid, 0);
	/* Issue until watch shows one: it may subscribe after the first. */
	for (int i = 0; i < 20 && !seen; i++) {
		issue_one(code, sizeof(code));
		snprintf(want, sizeof(want), "\"ticket\":\"%s\"", code);
		seen = kr_wait_output(tag, false, want, 1, 500, buf, sizeof(buf));
	}
	ck_assert_msg(seen, "watch showed no issued ticket: %s", buf);

	/* The daemon goes away and comes back on the same address. */
	ck_assert_int_eq(h_daemon_stop(&g_d), 0);
	h_daemon_free(&g_d);
	memset(&g_d, 0, sizeof(g_d));
	g_d.port = port;
	ck_assert_int_eq(h_daemon_spawn(&g_d, g_db, NULL), 0);
	ck_assert_msg(answers(port, 15000), "kolappd did not come back on port %d", port);
	snprintf(want, sizeof(want), "watching again through 127.0.0.1:%d", port);
	ck_assert_msg(kr_wait_output(tag, true, want, 1, 20000, buf, sizeof(buf)),
		      "watch did not reconnect: %s", buf);

	issue_one(code, sizeof(code));
	snprintf(want, sizeof(want), "\"ticket\":\"%s\"", code);
	ck_assert_msg(kr_wait_output(tag, false, want, 1, 5000, buf, sizeof(buf)),
		      "no event after the reconnect: %s", buf);
	kill(pid, SIGINT);
	kr_reap(pid, tag, 5000, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
}
END_TEST

static Suite *client_hosts_suite(void)
{
	Suite *s = suite_create("client hosts");
	TCase *tc = tcase_create("kolapp -H");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, dead_address_is_skipped);
	tcase_add_test(tc, nothing_reachable_names_each_address);
	tcase_add_test(tc, issue_with_key_through_the_list);
	tcase_add_test(tc, watch_reconnects_after_a_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_client_hosts", client_hosts_suite(), &g_db, NULL);
}
