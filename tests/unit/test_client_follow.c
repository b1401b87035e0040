/*
 * How kolapp finds the daemon that serves an office (client/hosts.c,
 * client/follow.c, the screens' link in client/screen.c, and the kolapp
 * binary), against fake daemons in this process (tests/unit/fake_daemon.c:
 * real sockets on free ports) whose answers each test scripts: moved to
 * an owner, unavailable for a while, a loop, a chain too long, a
 * refusal, a vanished host, a lost answer, a daemon that dies under a
 * watch. The same against real daemons: tests/integration/
 * test_client_hosts.c and tests/tui/two-daemons.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/follow.h"
#include "client/hosts.h"
#include "client/screen.h"
#include "tests/unit/fake_daemon.h"
#include "tests/unit/kolapp_run.h"

static long long mono_ms(void)
{
	return kr_now_ms();
}

/* ---- hosts: the -H list ------------------------------------------------- */

static void parse_ok(const char *spec, int n, const char *first_host, const char *first_port)
{
	struct host_list l;
	char err[256];

	ck_assert_msg(hosts_parse(&l, spec, "7878", err, sizeof(err)) == 0, "'%s': %s", spec, err);
	ck_assert_int_eq(l.n, n);
	ck_assert_str_eq(l.addr[0].host, first_host);
	ck_assert_str_eq(l.addr[0].port, first_port);
}

static void parse_bad(const char *spec, const char *why)
{
	struct host_list l;
	char err[256] = "";

	ck_assert_msg(hosts_parse(&l, spec, "7878", err, sizeof(err)) < 0, "'%s' parsed", spec);
	ck_assert_msg(strstr(err, why), "'%s': '%s' does not say '%s'", spec, err, why);
}

START_TEST(hosts_forms)
{
	struct host_list l;
	char err[256], buf[300];

	parse_ok("127.0.0.1", 1, "127.0.0.1", "7878");
	parse_ok("kolapp.example.org:7879", 1, "kolapp.example.org", "7879");
	parse_ok("[::1]:7880", 1, "::1", "7880");
	parse_ok("[::1]", 1, "::1", "7878");
	parse_ok("::1", 1, "::1", "7878"); /* a bare IPv6 literal: no port */
	parse_ok("fe80::1:2", 1, "fe80::1:2", "7878");
	parse_ok("a,b:2,[::1]:3", 3, "a", "7878");
	parse_ok(" a , b:2", 2, "a", "7878");
	ck_assert_int_eq(hosts_parse(&l, "a,b:2,[::1]:3", "7878", err, sizeof(err)), 0);
	ck_assert_str_eq(host_format(&l.addr[1], buf, sizeof(buf)), "b:2");
	ck_assert_str_eq(host_format(&l.addr[2], buf, sizeof(buf)), "[::1]:3");
	ck_assert(!host_same(&l.addr[0], &l.addr[1]));
}
END_TEST

START_TEST(hosts_errors)
{
	struct host_addr h;
	char err[256];

	parse_bad("a,,b", "empty address");
	parse_bad("a,", "empty address");
	parse_bad("a, ,b", "empty address");
	parse_bad("", "empty address");
	parse_bad("a:0", "from 1 to 65535");
	parse_bad("a:65536", "from 1 to 65535");
	parse_bad("a:7x", "from 1 to 65535");
	parse_bad("a:", "from 1 to 65535");
	parse_bad("[::1", "[ADDRESS]:PORT");
	parse_bad("[::1]x", "[ADDRESS]:PORT");
	parse_bad("[]:1", "without a host");
	parse_bad(":1", "without a host");
	parse_bad("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a", "more than 16");
	/* A moved answer's owner must name its port. */
	ck_assert_int_lt(host_parse(&h, "b", 1, NULL, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "no port"));
	ck_assert_int_eq(host_parse(&h, "B:1", 3, NULL, err, sizeof(err)), 0);
}
END_TEST

/* ---- follow_connect against fakes --------------------------------------- */

#define NFAKES 5
static struct fake_daemon g_f[NFAKES];
static int g_dead_fd = -1, g_dead_port;

static void fakes_setup(void)
{
	memset(g_f, 0, sizeof(g_f));
	g_dead_port = dead_port(&g_dead_fd);
	ck_assert_int_gt(g_dead_port, 0);
}

static void fakes_start(int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(fake_start(&g_f[i]), 0);
}

static void fakes_teardown(void)
{
	for (int i = 0; i < NFAKES; i++)
		if (g_f[i].port)
			fake_stop(&g_f[i]);
	close(g_dead_fd);
}

/* Fake i answers moved to fake j. */
static void point(int i, int j)
{
	g_f[i].hello = FAKE_HELLO_MOVED;
	fake_addr(&g_f[j], g_f[i].owner, sizeof(g_f[i].owner));
}

/* The list "127.0.0.1:P,..." of the fakes in idx (-1: the dead port). */
static void list_of(struct host_list *l, const int *idx, int n)
{
	char spec[512] = "", err[256];

	for (int i = 0; i < n; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s127.0.0.1:%d",
			 i ? "," : "", idx[i] < 0 ? g_dead_port : g_f[idx[i]].port);
	ck_assert_msg(hosts_parse(l, spec, "7878", err, sizeof(err)) == 0, "%s", err);
}

static enum follow_status follow(const int *idx, int n, int budget_ms, struct follow *f,
				 struct conn *c)
{
	static struct host_list l;
	enum follow_status st;
	json_t *hello;

	list_of(&l, idx, n);
	follow_init(f, &l, "tok", 2000, NULL);
	f->budget_ms = budget_ms;
	st = follow_connect(f, NULL, c, &hello);
	json_decref(hello);
	return st;
}

START_TEST(moved_leads_to_the_owner)
{
	int idx[] = { 0, 1 };
	struct follow f;
	struct conn c;

	fakes_start(3);
	point(0, 2); /* the first listed sends us to one not listed */
	point(1, 2);
	ck_assert_int_eq(follow(idx, 2, 0, &f, &c), FOLLOW_OK);
	ck_assert_int_eq(atoi(f.at.port), g_f[2].port);
	ck_assert_int_eq(g_f[0].hellos, 1);
	ck_assert_int_eq(g_f[1].hellos, 0); /* never needed */
	ck_assert_int_eq(g_f[2].hellos, 1);
	ck_assert_int_eq(f.hellos, 2);
	conn_close(&c);
}
END_TEST

START_TEST(dead_daemon_is_skipped)
{
	int idx[] = { -1, 0 };
	struct follow f;
	struct conn c;

	fakes_start(1);
	ck_assert_int_eq(follow(idx, 2, 0, &f, &c), FOLLOW_OK);
	ck_assert_int_eq(atoi(f.at.port), g_f[0].port);
	conn_close(&c);
}
END_TEST

START_TEST(vanished_host_costs_seconds_not_the_timeout)
{
	char spec[128], err[256];
	long long t0, took;
	struct host_list l;
	struct follow f;
	struct conn c;
	json_t *hello;
	int bh[2], port;

	fakes_start(1);
	port = blackhole_port(bh);
	ck_assert_int_gt(port, 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d,127.0.0.1:%d", port, g_f[0].port);
	ck_assert_int_eq(hosts_parse(&l, spec, "7878", err, sizeof(err)), 0);
	follow_init(&f, &l, "tok", 20000, NULL);
	t0 = mono_ms();
	ck_assert_int_eq(follow_connect(&f, NULL, &c, &hello), FOLLOW_OK);
	took = mono_ms() - t0;
	ck_assert_msg(took >= FOLLOW_CONNECT_MS - 100 && took < FOLLOW_CONNECT_MS + 2000,
		      "took %lld ms", took);
	ck_assert_int_eq(atoi(f.at.port), g_f[0].port);
	json_decref(hello);
	conn_close(&c);
	close(bh[0]);
	close(bh[1]);
}
END_TEST

START_TEST(moved_to_a_dead_owner_goes_on_down_the_list)
{
	int idx[] = { 0, 1 };
	struct follow f;
	struct conn c;

	fakes_start(2);
	g_f[0].hello = FAKE_HELLO_MOVED;
	snprintf(g_f[0].owner, sizeof(g_f[0].owner), "127.0.0.1:%d", g_dead_port);
	ck_assert_int_eq(follow(idx, 2, 0, &f, &c), FOLLOW_OK);
	ck_assert_int_eq(atoi(f.at.port), g_f[1].port);
	conn_close(&c);
}
END_TEST

START_TEST(a_loop_is_noticed)
{
	int idx[] = { 0 };
	struct follow f;
	struct conn c;

	fakes_start(2);
	point(0, 1);
	point(1, 0);
	ck_assert_int_eq(follow(idx, 1, 0, &f, &c), FOLLOW_UNAVAILABLE);
	ck_assert_msg(strstr(f.err, "moved in a loop"), "%s", f.err);
	ck_assert_int_eq(g_f[0].hellos, 1);
	ck_assert_int_eq(g_f[1].hellos, 1);
}
END_TEST

START_TEST(a_long_chain_is_cut)
{
	int idx[] = { 0 };
	struct follow f;
	struct conn c;

	fakes_start(5);
	for (int i = 0; i < 4; i++)
		point(i, i + 1);
	ck_assert_int_eq(follow(idx, 1, 0, &f, &c), FOLLOW_UNAVAILABLE);
	ck_assert_msg(strstr(f.err, "moved more than 3 times"), "%s", f.err);
	/* The first and FOLLOW_MAX_HOPS owners were asked, no more. */
	ck_assert_int_eq(f.hellos, FOLLOW_MAX_HOPS + 1);
	ck_assert_int_eq(g_f[3].hellos, 1);
	ck_assert_int_eq(g_f[4].hellos, 0);
}
END_TEST

START_TEST(unavailable_until_a_takeover)
{
	int idx[] = { -1, 0 };
	long long t0 = mono_ms();
	struct follow f;
	struct conn c;

	fakes_start(1);
	g_f[0].hello = FAKE_HELLO_UNAVAILABLE;
	g_f[0].ok_after = 3;
	ck_assert_int_eq(follow(idx, 2, 10000, &f, &c), FOLLOW_OK);
	ck_assert_int_eq(g_f[0].hellos, 4);
	/* Back-off 200 + 400 + 800 ms, not the whole budget. */
	ck_assert_int_lt(mono_ms() - t0, 4000);
	conn_close(&c);
}
END_TEST

START_TEST(unavailable_gives_up_within_the_budget)
{
	int idx[] = { 0, 1 };
	long long t0 = mono_ms(), took;
	struct follow f;
	struct conn c;

	fakes_start(2);
	g_f[0].hello = FAKE_HELLO_UNAVAILABLE;
	point(1, 0); /* a stale owner table: the other says go back */
	ck_assert_int_eq(follow(idx, 2, 1500, &f, &c), FOLLOW_UNAVAILABLE);
	took = mono_ms() - t0;
	ck_assert_msg(took >= 1500 && took < 3500, "gave up after %lld ms", took);
	ck_assert_msg(strstr(f.err, "no daemon served the office within 2 s"), "%s", f.err);
	ck_assert_msg(strstr(f.err, "unavailable"), "%s", f.err);
	/* Rounds at 0, 200, 600, 1400, 1500 ms: a bounded number. */
	ck_assert_int_le(g_f[0].hellos, 6);
	ck_assert_int_ge(g_f[0].hellos, 3);
}
END_TEST

START_TEST(refusal_is_final)
{
	int idx[] = { 0, 1 };
	struct follow f;
	struct conn c;

	fakes_start(2);
	g_f[0].hello = FAKE_HELLO_UNAUTHORIZED;
	ck_assert_int_eq(follow(idx, 2, 5000, &f, &c), FOLLOW_REFUSED);
	ck_assert_int_eq(g_f[0].hellos, 1);
	ck_assert_int_eq(g_f[1].hellos, 0);
}
END_TEST

START_TEST(nobody_answers_fails_at_once)
{
	int idx[] = { -1, 0 };
	long long t0 = mono_ms();
	struct follow f;
	struct conn c;

	fakes_start(1);
	g_f[0].hello = FAKE_HELLO_HANGUP;
	ck_assert_int_eq(follow(idx, 2, 5000, &f, &c), FOLLOW_UNREACHABLE);
	ck_assert_int_lt(mono_ms() - t0, 1000);
	ck_assert_msg(strstr(f.err, "Connection refused"), "%s", f.err);
	ck_assert_msg(strstr(f.err, "closed the connection"), "%s", f.err);
}
END_TEST

START_TEST(first_is_tried_before_the_list)
{
	struct host_list l;
	struct host_addr first;
	char err[256], addr[64];
	struct follow f;
	struct conn c;
	json_t *hello;
	int idx[] = { 0 };

	fakes_start(2);
	list_of(&l, idx, 1);
	fake_addr(&g_f[1], addr, sizeof(addr));
	ck_assert_int_eq(host_parse(&first, addr, strlen(addr), NULL, err, sizeof(err)), 0);
	follow_init(&f, &l, "tok", 2000, NULL);
	ck_assert_int_eq(follow_connect(&f, &first, &c, &hello), FOLLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(hello, "office")), "demo");
	ck_assert_int_eq(g_f[0].hellos, 0);
	ck_assert_int_eq(g_f[1].hellos, 1);
	json_decref(hello);
	conn_close(&c);
}
END_TEST

/* ---- the screens' link (board, counter) -------------------------------- */

static struct host_list g_list;
static struct screen_opts g_so;

static void link_on(struct link *l, const int *idx, int n)
{
	list_of(&g_list, idx, n);
	g_so = (struct screen_opts){ .hosts = &g_list, .token = "tok", .timeout_ms = 2000 };
	link_init(l, &g_so, NULL, NULL);
}

START_TEST(link_follows_moved_and_says_where)
{
	int idx[] = { -1, 0 };
	char port[16];
	struct link l;
	json_t *hello, *r;

	fakes_start(3);
	point(0, 1);
	fake_addr(&g_f[2], g_f[1].req_owner, sizeof(g_f[1].req_owner));
	link_on(&l, idx, 2);
	ck_assert_int_eq(link_connect(&l, true, &hello), 0);
	json_decref(hello);
	snprintf(port, sizeof(port), ":%d", g_f[1].port);
	ck_assert_ptr_nonnull(strstr(l.at, port));
	ck_assert_int_eq(g_f[1].subscribes, 1);
	ck_assert_str_eq(link_note(&l), ""); /* the first connection is no news */

	/* The office moves while we are connected: the reply says so and
	 * the link goes down, to reconnect to the owner first, at once. */
	ck_assert_int_eq(link_request(&l, "status", NULL, &r), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
			 "moved");
	json_decref(r);
	ck_assert(!l.up);
	ck_assert_int_le(l.next_try_ms, now_ms());
	ck_assert_int_eq(link_connect(&l, true, &hello), 0);
	json_decref(hello);
	snprintf(port, sizeof(port), ":%d", g_f[2].port);
	ck_assert_ptr_nonnull(strstr(l.at, port));
	ck_assert_int_eq(g_f[0].hellos, 1); /* not asked again: the owner was known */
	ck_assert_int_eq(g_f[2].subscribes, 1);
	ck_assert_msg(strstr(link_note(&l), "reconnected through 127.0.0.1:"), "%s", link_note(&l));
	ck_assert_msg(strstr(link_note(&l), "the office moved to"), "%s", link_note(&l));
	link_close(&l);
}
END_TEST

START_TEST(link_retries_soon_while_unavailable)
{
	int idx[] = { 0 };
	long long before;
	struct link l;
	json_t *hello;

	fakes_start(1);
	g_f[0].hello = FAKE_HELLO_UNAVAILABLE;
	link_on(&l, idx, 1);
	for (int i = 0; i < 4; i++) {
		before = now_ms();
		ck_assert_int_eq(link_connect(&l, true, &hello), -1);
		ck_assert_ptr_null(hello);
		/* Not the doubling back-off: a takeover ends within seconds. */
		ck_assert_int_le(l.next_try_ms - before, LINK_TAKEOVER_RETRY_MS + 100);
		ck_assert_msg(strstr(l.why, "unavailable"), "%s", l.why);
	}
	ck_assert_int_eq(g_f[0].hellos, 4);
	link_close(&l);
}
END_TEST

/* ---- the kolapp binary against fakes ------------------------------------ */

/* kolapp with argv; the result in r. */
static void kolapp(struct kolapp_run *r, char *const argv[])
{
	kr_run(argv, "tok", r);
}

/* "-H" value for the fakes in idx (-1: the dead port). */
static const char *hosts_arg(const int *idx, int n)
{
	static char spec[512];

	spec[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s127.0.0.1:%d",
			 i ? "," : "", idx[i] < 0 ? g_dead_port : g_f[idx[i]].port);
	return spec;
}

/* The "by" of the JSON reply kolapp printed: which fake answered. */
static int answered_by(const struct kolapp_run *r)
{
	json_t *j = json_loads(r->out, JSON_DISABLE_EOF_CHECK, NULL);
	int by = (int)json_integer_value(json_object_get(j, "by"));

	json_decref(j);
	return by;
}

START_TEST(kolapp_follows_moved)
{
	int idx[] = { -1, 0 };
	struct kolapp_run r;

	fakes_start(2);
	point(0, 1);
	kolapp(&r,
	       (char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 2), "status", NULL });
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(answered_by(&r), g_f[1].port);
	ck_assert_int_eq(g_f[0].requests, 0);
	ck_assert_int_eq(g_f[1].requests, 1);
}
END_TEST

START_TEST(kolapp_follows_moved_on_a_request)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(2);
	fake_addr(&g_f[1], g_f[0].req_owner, sizeof(g_f[0].req_owner));
	kolapp(&r, (char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 1), "call-next",
			       NULL });
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(answered_by(&r), g_f[1].port);
	ck_assert_int_eq(g_f[1].requests, 1);
}
END_TEST

START_TEST(kolapp_lost_write_is_not_repeated)
{
	int idx[] = { 0, 1 };
	struct kolapp_run r;

	fakes_start(2);
	g_f[0].lose = 1;
	kolapp(&r, (char *[]){ "kolapp", "-H", (char *)hosts_arg(idx, 2), "call-next", NULL });
	ck_assert_msg(r.status == 3, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "unknown whether it happened"), "%s", r.err);
	ck_assert_int_eq(g_f[0].requests, 1);
	ck_assert_int_eq(g_f[1].requests, 0);
}
END_TEST

START_TEST(kolapp_lost_issue_without_key_is_not_repeated)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(1);
	g_f[0].lose = 1;
	kolapp(&r, (char *[]){ "kolapp", "-H", (char *)hosts_arg(idx, 1), "issue", "S", NULL });
	ck_assert_msg(r.status == 3, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "unknown whether it happened"), "%s", r.err);
	ck_assert_msg(strstr(r.err, "--key"), "%s", r.err);
	ck_assert_int_eq(g_f[0].requests, 1);
}
END_TEST

START_TEST(kolapp_lost_issue_with_key_is_repeated)
{
	int idx[] = { 0, 1 };
	struct kolapp_run r;

	fakes_start(2);
	/* The owner dies with the answer; the other takes over. */
	g_f[0].lose = 1;
	kolapp(&r, (char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 2), "issue", "S",
			       "--key", "kiosk1-0042", NULL });
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "asking again"), "%s", r.err);
	ck_assert_int_eq(g_f[0].requests + g_f[1].requests, 2);
	ck_assert_int_eq(g_f[0].keyed + g_f[1].keyed, 2);
	ck_assert_str_eq(g_f[0].last_key, "kiosk1-0042");
}
END_TEST

START_TEST(kolapp_lost_read_is_repeated)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(1);
	g_f[0].lose = 2;
	kolapp(&r,
	       (char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 1), "status", NULL });
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(g_f[0].requests, 3);
}
END_TEST

START_TEST(kolapp_request_unavailable_is_sent_again)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(1);
	g_f[0].unavailable = 2;
	kolapp(&r, (char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 1), "call-next",
			       NULL });
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(g_f[0].requests, 3);
	ck_assert_msg(strstr(r.err, "nothing was changed; trying again"), "%s", r.err);
	/* One line, however many times it was sent again. */
	ck_assert_int_eq((int)(strchr(r.err, '\n') - r.err) + 1, (int)strlen(r.err));
}
END_TEST

START_TEST(kolapp_request_unavailable_is_bounded)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(1);
	g_f[0].unavailable = 1000;
	kolapp(&r, (char *[]){ "kolapp", "--timeout", "1", "-H", (char *)hosts_arg(idx, 1),
			       "call-next", NULL });
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "kolapp: unavailable: the database is unreachable"), "%s",
		      r.err);
	ck_assert_msg(r.ms >= 1000 && r.ms < 4000, "took %lld ms", r.ms);
	ck_assert_int_le(g_f[0].requests, 6);
}
END_TEST

START_TEST(kolapp_unavailable_is_bounded)
{
	int idx[] = { 0, -1 };
	struct kolapp_run r;

	fakes_start(1);
	g_f[0].hello = FAKE_HELLO_UNAVAILABLE;
	kolapp(&r, (char *[]){ "kolapp", "--timeout", "1", "-H", (char *)hosts_arg(idx, 2),
			       "status", NULL });
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "no daemon served the office within 1 s"), "%s", r.err);
	ck_assert_msg(r.ms >= 1000 && r.ms < 4000, "took %lld ms", r.ms);
	ck_assert_int_eq(g_f[0].requests, 0);
}
END_TEST

START_TEST(kolapp_loop_is_an_error)
{
	int idx[] = { 0 };
	struct kolapp_run r;

	fakes_start(2);
	point(0, 1);
	point(1, 0);
	kolapp(&r, (char *[]){ "kolapp", "--timeout", "1", "-H", (char *)hosts_arg(idx, 1),
			       "status", NULL });
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "moved in a loop"), "%s", r.err);
	ck_assert_int_le(g_f[0].hellos, 6);
}
END_TEST

START_TEST(kolapp_watch_survives_a_takeover)
{
	int idx[] = { 0, 1 }, tag;
	char buf[16384], by[64];
	struct kolapp_run r;
	pid_t pid;

	fakes_start(2);
	g_f[0].die_after_event = true;
	/* No owner for a moment, then the other one takes over. */
	g_f[1].hello = FAKE_HELLO_UNAVAILABLE;
	g_f[1].ok_after = 2;
	pid = kr_spawn((char *[]){ "kolapp", "--json", "-H", (char *)hosts_arg(idx, 2), "watch",
				   NULL },
		       "tok", &tag);
	ck_assert_int_gt(pid, 0);
	snprintf(by, sizeof(by), "\"by\":%d", g_f[1].port);
	ck_assert_msg(kr_wait_output(tag, false, by, 1, 15000, buf, sizeof(buf)),
		      "no event from the new owner: %s", buf);
	ck_assert_msg(kr_wait_output(tag, true, "watching again through", 1, 5000, buf,
				     sizeof(buf)),
		      "stderr: %s", buf);
	kill(pid, SIGINT);
	kr_reap(pid, tag, 5000, &r);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(g_f[0].subscribes, 1);
	ck_assert_int_eq(g_f[1].subscribes, 1);
	ck_assert_int_eq(g_f[1].hellos, 3);
	/* One line says what happened. */
	ck_assert_int_eq((int)(strchr(r.err, '\n') - r.err) + 1, (int)strlen(r.err));
}
END_TEST

START_TEST(kolapp_help_names_the_list)
{
	struct kolapp_run r;

	kolapp(&r, (char *[]){ "kolapp", "--help", NULL });
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strstr(r.out, "ADDR[:PORT],..."), "%s", r.out);
	ck_assert_msg(strstr(r.out, "moved"), "%s", r.out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client follow");
	TCase *hosts = tcase_create("hosts"), *follow = tcase_create("follow"),
	      *screens = tcase_create("screens"), *bin = tcase_create("kolapp");
	SRunner *sr;
	int failed;

	if (kr_init() < 0) {
		perror("kr_init");
		return 99;
	}
	tcase_add_test(hosts, hosts_forms);
	tcase_add_test(hosts, hosts_errors);
	suite_add_tcase(s, hosts);

	tcase_add_checked_fixture(follow, fakes_setup, fakes_teardown);
	tcase_add_test(follow, moved_leads_to_the_owner);
	tcase_add_test(follow, dead_daemon_is_skipped);
	tcase_add_test(follow, vanished_host_costs_seconds_not_the_timeout);
	tcase_add_test(follow, moved_to_a_dead_owner_goes_on_down_the_list);
	tcase_add_test(follow, a_loop_is_noticed);
	tcase_add_test(follow, a_long_chain_is_cut);
	tcase_add_test(follow, unavailable_until_a_takeover);
	tcase_add_test(follow, unavailable_gives_up_within_the_budget);
	tcase_add_test(follow, refusal_is_final);
	tcase_add_test(follow, nobody_answers_fails_at_once);
	tcase_add_test(follow, first_is_tried_before_the_list);
	tcase_set_timeout(follow, 30);
	suite_add_tcase(s, follow);

	tcase_add_checked_fixture(screens, fakes_setup, fakes_teardown);
	tcase_add_test(screens, link_follows_moved_and_says_where);
	tcase_add_test(screens, link_retries_soon_while_unavailable);
	tcase_set_timeout(screens, 30);
	suite_add_tcase(s, screens);

	tcase_add_checked_fixture(bin, fakes_setup, fakes_teardown);
	tcase_add_test(bin, kolapp_follows_moved);
	tcase_add_test(bin, kolapp_follows_moved_on_a_request);
	tcase_add_test(bin, kolapp_lost_write_is_not_repeated);
	tcase_add_test(bin, kolapp_lost_issue_without_key_is_not_repeated);
	tcase_add_test(bin, kolapp_lost_issue_with_key_is_repeated);
	tcase_add_test(bin, kolapp_lost_read_is_repeated);
	tcase_add_test(bin, kolapp_unavailable_is_bounded);
	tcase_add_test(bin, kolapp_request_unavailable_is_sent_again);
	tcase_add_test(bin, kolapp_request_unavailable_is_bounded);
	tcase_add_test(bin, kolapp_loop_is_an_error);
	tcase_add_test(bin, kolapp_watch_survives_a_takeover);
	tcase_add_test(bin, kolapp_help_names_the_list);
	tcase_set_timeout(bin, 60);
	suite_add_tcase(s, bin);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* The runs' output stays for a look when a test failed. */
	if (!failed)
		kr_cleanup();
	return failed ? 1 : 0;
}
