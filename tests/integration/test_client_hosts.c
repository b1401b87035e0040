/*
 * kolapp -H with a list, against a real PostgreSQL and real kolappd.
 * One daemon: an address that refuses is skipped for the next; issue
 * --key through the list stays one ticket; watch survives its daemon's
 * restart. Two daemons with node names splitting the offices: a command
 * sent to the one that does not serve the office follows moved to the
 * one that does; watch follows its office when it is moved on purpose
 * (kolapp.move_office) and when its owner is killed. (Loops, hop limits
 * and lost answers are tested against scripted fakes in
 * tests/unit/test_client_follow.c.)
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

/* ---- two daemons -------------------------------------------------------- */

struct cluster {
	char *db;
	struct h_daemon d[2];
	struct o_office o[2];
	char list[64]; /* "127.0.0.1:P0,127.0.0.1:P1" */
};

static void cluster_up(struct cluster *k)
{
	char args[32];

	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(kr_init(), 0);
	/* A database of its own: a daemon claims every office in it. */
	k->db = h_create_db();
	ck_assert_ptr_nonnull(k->db);
	ck_assert_int_eq(h_migrate(k->db), 0);
	o_seed_named(k->db, "cha", &k->o[0]);
	o_seed_named(k->db, "chb", &k->o[1]);
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "--node-name n%d", i);
		ck_assert_int_eq(h_daemon_start(&k->d[i], k->db, args), 0);
	}
	snprintf(k->list, sizeof(k->list), "127.0.0.1:%d,127.0.0.1:%d", k->d[0].port, k->d[1].port);
}

static void cluster_down(struct cluster *k)
{
	for (int i = 0; i < 2; i++) {
		if (k->d[i].pid > 0)
			h_daemon_stop(&k->d[i]);
		h_daemon_free(&k->d[i]);
	}
	h_drop_db(k->db);
	free(k->db);
	kr_cleanup();
}

/* The index of the daemon that serves office (0 or 1), polled until one
 * does and, when not_this >= 0, it is not that one. */
static int owner_of(const struct cluster *k, const char *office, int not_this, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char sql[256], out[32];

	snprintf(sql, sizeof(sql),
		 "SELECT coalesce((SELECT node FROM kolapp.office_service WHERE office = '%s'"
		 " AND served), '')",
		 office);
	for (;;) {
		ck_assert_int_eq(h_psql(k->db, sql, out, sizeof(out)), 0);
		if (out[0] == 'n' && out[1] - '0' != not_this)
			return out[1] - '0';
		ck_assert_msg(h_now_ms() < deadline, "office %s: served by '%s'", office, out);
		poll(NULL, 0, 50);
	}
}

/* Both daemons serve one office each (the first gives the second one). */
static void wait_split(const struct cluster *k)
{
	long long deadline = h_now_ms() + 15000;

	while (owner_of(k, k->o[0].code, -1, 15000) == owner_of(k, k->o[1].code, -1, 15000)) {
		ck_assert_msg(h_now_ms() < deadline, "the daemons did not split the offices");
		poll(NULL, 0, 50);
	}
}

/* kolapp --json -H list issue S with the kiosk of office o; the code. */
static void kolapp_issue(const char *list, const struct o_office *o, char *code, size_t size)
{
	struct kolapp_run r;
	json_t *j;

	kr_run((char *[]){ "kolapp", "--json", "-H", (char *)list, "issue", "S", NULL }, o->kiosk,
	       &r);
	ck_assert_msg(r.status == 0, "issue: exit %d: %s", r.status, r.err);
	j = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
	snprintf(code, size, "%s",
		 json_string_value(json_object_get(json_object_get(j, "ticket"), "code")));
	json_decref(j);
}

/* Starts kolapp watch for office o through list; returns once it shows
 * the events (issuing until one appears: it may subscribe after the
 * first). */
static pid_t watch_start(const struct cluster *k, const struct o_office *o, int *tag)
{
	char code[32], want[64], buf[16384];
	bool seen = false;
	pid_t pid;

	pid = kr_spawn((char *[]){ "kolapp", "--json", "--timeout", "30", "-H", (char *)k->list,
				   "watch", NULL },
		       o->display, tag);
	ck_assert_int_gt(pid, 0);
	for (int i = 0; i < 20 && !seen; i++) {
		kolapp_issue(k->list, o, code, sizeof(code));
		snprintf(want, sizeof(want), "\"ticket\":\"%s\"", code);
		seen = kr_wait_output(*tag, false, want, 1, 500, buf, sizeof(buf));
	}
	ck_assert_msg(seen, "watch showed no issued ticket: %s", buf);
	return pid;
}

/* After the office changed hands: watch says it reconnected to daemon
 * to, and shows a ticket issued there. */
static void watch_moved_to(const struct cluster *k, const struct o_office *o, int tag, int to)
{
	char code[32], want[64], buf[16384];

	snprintf(want, sizeof(want), "watching again through 127.0.0.1:%d", k->d[to].port);
	ck_assert_msg(kr_wait_output(tag, true, want, 1, 20000, buf, sizeof(buf)),
		      "watch did not follow the office to port %d: %s", k->d[to].port, buf);
	kolapp_issue(k->list, o, code, sizeof(code));
	snprintf(want, sizeof(want), "\"ticket\":\"%s\"", code);
	ck_assert_msg(kr_wait_output(tag, false, want, 1, 5000, buf, sizeof(buf)),
		      "no event from the new owner: %s", buf);
}

START_TEST(one_shot_follows_moved_between_daemons)
{
	struct cluster k;
	char other[32], node[32], code[32];
	struct kolapp_run r;

	cluster_up(&k);
	wait_split(&k);
	for (int n = 0; n < 2; n++) {
		int mine = owner_of(&k, k.o[n].code, -1, 5000);

		/* Only the daemon that does not serve the office is named. */
		snprintf(other, sizeof(other), "127.0.0.1:%d", k.d[1 - mine].port);
		kr_run((char *[]){ "kolapp", "--json", "-H", other, "status", NULL }, k.o[n].kiosk,
		       &r);
		ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
		snprintf(node, sizeof(node), "\"node\":\"n%d\"", mine);
		ck_assert_msg(strstr(r.out, node), "not answered by n%d: %s", mine, r.out);
		kolapp_issue(other, &k.o[n], code, sizeof(code));
		ck_assert_str_eq(code, "S-001");
	}
	cluster_down(&k);
}
END_TEST

START_TEST(watch_follows_a_moved_office)
{
	struct cluster k;
	char sql[256], out[64];
	struct kolapp_run r;
	int tag, from;
	pid_t pid;

	cluster_up(&k);
	wait_split(&k);
	pid = watch_start(&k, &k.o[0], &tag);
	from = owner_of(&k, k.o[0].code, -1, 5000);
	snprintf(sql, sizeof(sql), "SELECT kolapp.move_office('%s', 'n%d')", k.o[0].code, 1 - from);
	ck_assert_int_eq(h_psql(k.db, sql, out, sizeof(out)), 0);
	ck_assert_int_eq(owner_of(&k, k.o[0].code, from, 10000), 1 - from);
	watch_moved_to(&k, &k.o[0], tag, 1 - from);
	kill(pid, SIGINT);
	kr_reap(pid, tag, 5000, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	cluster_down(&k);
}
END_TEST

START_TEST(watch_survives_the_owner_kill9)
{
	struct cluster k;
	struct kolapp_run r;
	long long killed;
	int tag, victim;
	pid_t pid;

	cluster_up(&k);
	wait_split(&k);
	pid = watch_start(&k, &k.o[0], &tag);
	victim = owner_of(&k, k.o[0].code, -1, 5000);
	killed = h_now_ms();
	h_daemon_kill9(&k.d[victim]);
	watch_moved_to(&k, &k.o[0], tag, 1 - victim);
	printf("watch: events again through the other daemon %lld ms after the SIGKILL\n",
	       h_now_ms() - killed);
	kill(pid, SIGINT);
	kr_reap(pid, tag, 5000, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	cluster_down(&k);
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

	tc = tcase_create("two daemons");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, one_shot_follows_moved_between_daemons);
	tcase_add_test(tc, watch_follows_a_moved_office);
	tcase_add_test(tc, watch_survives_the_owner_kill9);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_client_hosts", client_hosts_suite(), &g_db, NULL);
}
