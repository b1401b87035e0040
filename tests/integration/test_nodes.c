/* Integration test of several daemons on one database (issue 16): two
 * real kolappd with node names split the offices, a hello on the wrong
 * one is answered moved with the owner's address, a SIGKILLed owner's
 * offices are served by the other within 5 s under load with nothing
 * acknowledged lost and no gap in the numbers, kolapp.move_office under
 * load, two daemons started at the same instant, a daemon whose session is
 * cut while its process lives, and the fence itself (sql/014_nodes.sql)
 * on raw sessions. Each test has a database of its own: a daemon claims
 * every office of its database. */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/integration/harness.h"
#include "tests/integration/office.h"
#include "tests/integration/suite_main.h"

#define MAX_ACKS 4000
#define TAKEOVER_LIMIT_MS 5000

static char *g_unused_db;

/* ---- a client that follows moved, as kolapp -H does ------------------- */

struct fc {
	const int *ports;
	int nports;
	const char *token;
	struct oc *c;
	int port; /* where c is */
};

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Says hello somewhere that serves the token's office: the ports in
 * turn, then wherever moved points; waits out unavailable. */
static bool fc_login(struct fc *f, long long deadline)
{
	int next = 0, port = f->ports[0];

	while (h_now_ms() < deadline) {
		struct oc *c = oc_connect(port);
		json_t *r;

		if (!c) {
			port = f->ports[++next % f->nports];
			pause_ms(20);
			continue;
		}
		r = oc_req(c, "{\"op\":\"hello\",\"token\":\"%s\"}", f->token);
		if (r && o_ok(r)) {
			json_decref(r);
			f->c = c;
			f->port = port;
			return true;
		}
		if (r && o_err(r) && !strcmp(o_err(r), "moved")) {
			const char *owner = json_string_value(
				json_object_get(json_object_get(r, "error"), "owner"));
			const char *colon = owner ? strrchr(owner, ':') : NULL;
			ck_assert_msg(colon, "moved without an owner: %s", o_js(r));
			port = atoi(colon + 1);
		} else {
			ck_assert_msg(!r || (o_err(r) && !strcmp(o_err(r), "unavailable")),
				      "hello: %s", r ? o_js(r) : "no answer");
			port = f->ports[++next % f->nports];
			pause_ms(20);
		}
		json_decref(r);
		oc_close(c);
	}
	return false;
}

/* Issues with an idempotency key until it is acknowledged (retrying the
 * same key through reconnects and unavailable); the code into code. */
static bool fc_issue(struct fc *f, const char *key, char *code, size_t codesz, long long deadline)
{
	while (h_now_ms() < deadline) {
		json_t *r;

		if (!f->c && !fc_login(f, deadline))
			return false;
		r = oc_req(f->c, "{\"op\":\"issue\",\"queue\":\"S\",\"key\":\"%s\"}", key);
		if (r && o_ok(r)) {
			snprintf(code, codesz, "%s", o_tstr(r, "code"));
			json_decref(r);
			return true;
		}
		ck_assert_msg(!r || (o_err(r) && !strcmp(o_err(r), "unavailable")), "issue: %s",
			      r ? o_js(r) : "");
		json_decref(r);
		/* Unavailable or gone: its office may be served elsewhere now. */
		oc_close(f->c);
		f->c = NULL;
		pause_ms(20);
	}
	return false;
}

/* ---- a kiosk issuing without pause, as a thread -------------------------- */

struct load {
	struct fc fc;
	pthread_t thread;
	volatile int stop;
	char prefix[16];
	char (*codes)[16];
	long long *at_ms;
	volatile int nacks;
	bool failed;
};

static void *load_run(void *arg)
{
	struct load *l = arg;
	char key[48];

	while (!l->stop && l->nacks < MAX_ACKS) {
		snprintf(key, sizeof key, "%s-%d", l->prefix, l->nacks);
		if (!fc_issue(&l->fc, key, l->codes[l->nacks], sizeof l->codes[0],
			      h_now_ms() + 20000)) {
			l->failed = true;
			break;
		}
		l->at_ms[l->nacks] = h_now_ms();
		__atomic_add_fetch(&l->nacks, 1, __ATOMIC_RELEASE);
	}
	if (l->fc.c)
		oc_close(l->fc.c);
	return NULL;
}

static void load_start(struct load *l, const int *ports, int nports, const char *token,
		       const char *prefix)
{
	memset(l, 0, sizeof *l);
	l->fc = (struct fc){ .ports = ports, .nports = nports, .token = token };
	snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
	l->codes = calloc(MAX_ACKS, sizeof *l->codes);
	l->at_ms = calloc(MAX_ACKS, sizeof *l->at_ms);
	ck_assert(l->codes && l->at_ms);
	ck_assert_int_eq(pthread_create(&l->thread, NULL, load_run, l), 0);
}

static int load_acks(const struct load *l)
{
	return __atomic_load_n(&l->nacks, __ATOMIC_ACQUIRE);
}

/* Waits until the load has n acknowledgements. */
static void load_wait(const struct load *l, int n, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (load_acks(l) < n && !l->failed && h_now_ms() < deadline)
		pause_ms(5);
	ck_assert_msg(load_acks(l) >= n, "%s: %d of %d acknowledged within %d ms", l->prefix,
		      load_acks(l), n, timeout_ms);
}

static void load_stop(struct load *l)
{
	l->stop = 1;
	pthread_join(l->thread, NULL);
	ck_assert_msg(!l->failed, "%s: an issue was not acknowledged within 20 s", l->prefix);
}

/* Every acknowledged ticket is in the database under its key, and the
 * office's numbers of queue S are 1..n without a gap or a repeat. */
static void load_verify(struct load *l, const char *db, const char *office)
{
	size_t cap = (size_t)l->nacks * 48 + 512, at = 0;
	char *sql = malloc(cap);

	ck_assert(sql && l->nacks > 0);
	at += (size_t)snprintf(sql + at, cap - at, "SELECT count(*) FROM (VALUES ");
	for (int i = 0; i < l->nacks; i++)
		at += (size_t)snprintf(sql + at, cap - at, "%s('%s-%d','%s')", i ? "," : "",
				       l->prefix, i, l->codes[i]);
	snprintf(sql + at, cap - at,
		 ") v(k, c) WHERE NOT EXISTS (SELECT 1 FROM kolapp.tickets t JOIN kolapp.offices o"
		 " ON o.id = t.office_id WHERE o.code = '%s' AND t.idem_key = v.k AND t.code = "
		 "v.c)",
		 office);
	ck_assert_int_eq(o_count(db, sql), 0);
	snprintf(sql, cap,
		 "SELECT CASE WHEN count(*) = max(t.number) AND count(DISTINCT t.number) = count(*)"
		 " THEN 1 ELSE 0 END FROM kolapp.tickets t JOIN kolapp.offices o ON o.id = "
		 "t.office_id"
		 " JOIN kolapp.queues q ON q.id = t.origin_queue_id WHERE o.code = '%s' AND q.code "
		 "= 'S'",
		 office);
	ck_assert_msg(o_count(db, sql) == 1, "office %s: the numbers have a gap or a repeat",
		      office);
	free(sql);
	free(l->codes);
	free(l->at_ms);
}

/* ---- daemons and offices ---------------------------------------------- */

struct cluster {
	char *db;
	struct h_daemon d[2];
	int ports[2];
	struct o_office o[4];
	int noffices;
};

static void node_start(struct cluster *k, int i)
{
	char args[64];

	snprintf(args, sizeof args, "--node-name n%d", i);
	memset(&k->d[i], 0, sizeof k->d[i]);
	ck_assert_int_eq(h_daemon_start(&k->d[i], k->db, args), 0);
	k->ports[i] = k->d[i].port;
}

static void cluster_seed(struct cluster *k, int noffices)
{
	static const char *const prefix[] = { "na", "nb", "nc", "nd" };

	memset(k, 0, sizeof *k);
	k->db = h_create_db();
	ck_assert(k->db);
	ck_assert_int_eq(h_migrate(k->db), 0);
	k->noffices = noffices;
	for (int i = 0; i < noffices; i++)
		o_seed_named(k->db, prefix[i], &k->o[i]);
}

static void cluster_down(struct cluster *k)
{
	for (int i = 0; i < 2; i++) {
		/* A clean exit: no leak (sanitizer builds), nothing stuck. */
		if (k->d[i].pid > 0)
			ck_assert_int_eq(h_daemon_stop(&k->d[i]), 0);
		h_daemon_free(&k->d[i]);
	}
	h_drop_db(k->db);
	free(k->db);
}

/* The node serving the office ("n0", "n1"), or "" while nobody does. */
static void owner_of(const struct cluster *k, const char *office, char *out, size_t outsz)
{
	char sql[256];

	snprintf(sql, sizeof sql,
		 "SELECT coalesce((SELECT node FROM kolapp.office_service WHERE office = '%s'"
		 " AND served), '')",
		 office);
	out[0] = '\0';
	ck_assert_int_eq(h_psql(k->db, sql, out, outsz), 0);
}

static long served_by(const struct cluster *k, const char *node)
{
	char sql[160];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM kolapp.office_service WHERE served AND node = '%s'", node);
	return o_count(k->db, sql);
}

/* Polls until n0 serves a offices and n1 serves b. */
static void wait_split(const struct cluster *k, long a, long b, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline && (served_by(k, "n0") != a || served_by(k, "n1") != b))
		pause_ms(50);
	ck_assert_msg(served_by(k, "n0") == a && served_by(k, "n1") == b,
		      "n0 serves %ld (want %ld), n1 serves %ld (want %ld)", served_by(k, "n0"), a,
		      served_by(k, "n1"), b);
}

/* The hello answer of daemon i for the office's kiosk; caller's. */
static json_t *hello_at(const struct cluster *k, int i, const struct o_office *o)
{
	struct oc *c = oc_connect(k->ports[i]);
	json_t *r;

	ck_assert(c);
	r = oc_req(c, "{\"op\":\"hello\",\"token\":\"%s\"}", o->kiosk);
	oc_close(c);
	ck_assert(r);
	return r;
}

/* Exactly one daemon serves each office; the other says moved to it. */
static void assert_one_owner_each(const struct cluster *k)
{
	for (int n = 0; n < k->noffices; n++) {
		char owner[16];
		int mine;
		json_t *r[2];

		owner_of(k, k->o[n].code, owner, sizeof owner);
		ck_assert_msg(owner[0] == 'n', "office %s has no owner", k->o[n].code);
		mine = owner[1] - '0';
		r[0] = hello_at(k, mine, &k->o[n]);
		ck_assert_msg(o_ok(r[0]), "the owner refused: %s", o_js(r[0]));
		/* The other learns of a new owner at its next heartbeat (1 s):
		 * until then it says nobody serves the office, never ok. */
		for (long long deadline = h_now_ms() + 3000;; pause_ms(50)) {
			r[1] = hello_at(k, 1 - mine, &k->o[n]);
			ck_assert_msg(!o_ok(r[1]), "both daemons serve office %s", k->o[n].code);
			if (!strcmp(o_err(r[1]), "moved") || h_now_ms() > deadline)
				break;
			json_decref(r[1]);
		}
		ck_assert_msg(o_err(r[1]) && !strcmp(o_err(r[1]), "moved"),
			      "the other daemon did not say moved: %s", o_js(r[1]));
		{
			char want[32];
			const char *got = json_string_value(
				json_object_get(json_object_get(r[1], "error"), "owner"));
			snprintf(want, sizeof want, "127.0.0.1:%d", k->ports[mine]);
			ck_assert_str_eq(got, want);
		}
		json_decref(r[0]);
		json_decref(r[1]);
	}
}

/* Polls until the daemon on port answers a ping. */
static void wait_answers(int port, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (!h_daemon_answers(port)) {
		ck_assert_msg(h_now_ms() < deadline, "no daemon answers on port %d", port);
		pause_ms(20);
	}
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(two_daemons_split_and_say_moved)
{
	struct cluster k;

	cluster_seed(&k, 4);
	node_start(&k, 0);
	wait_split(&k, 4, 0, 5000);
	node_start(&k, 1);
	/* The first gives the second one office at a time. */
	wait_split(&k, 2, 2, 10000);
	assert_one_owner_each(&k);
	cluster_down(&k);
}
END_TEST

START_TEST(started_at_the_same_instant_never_both_own)
{
	struct cluster k;
	long long deadline;

	cluster_seed(&k, 4);
	for (int i = 0; i < 2; i++) {
		char args[64];
		snprintf(args, sizeof args, "--node-name n%d", i);
		k.d[i].port = h_free_port();
		ck_assert_int_eq(h_daemon_spawn(&k.d[i], k.db, args), 0);
		k.ports[i] = k.d[i].port;
	}
	for (int i = 0; i < 2; i++)
		wait_answers(k.ports[i], 10000);
	wait_split(&k, 2, 2, 10000);
	/* While the split settles and after: never two answers ok. */
	deadline = h_now_ms() + 2000;
	while (h_now_ms() < deadline)
		assert_one_owner_each(&k);
	cluster_down(&k);
}
END_TEST

START_TEST(kill9_of_an_owner_under_load)
{
	struct cluster k;
	struct load l[2];
	char owner[16];
	int victim, first_after = -1;
	long long killed_at;

	cluster_seed(&k, 2);
	node_start(&k, 0);
	node_start(&k, 1);
	wait_split(&k, 1, 1, 10000);
	for (int i = 0; i < 2; i++)
		load_start(&l[i], k.ports, 2, k.o[i].kiosk, i ? "kb" : "ka");
	load_wait(&l[0], 30, 10000);
	load_wait(&l[1], 30, 10000);
	owner_of(&k, k.o[0].code, owner, sizeof owner);
	victim = owner[1] - '0';
	killed_at = h_now_ms();
	h_daemon_kill9(&k.d[victim]);
	{
		int before = load_acks(&l[0]);
		load_wait(&l[0], before + 30, 15000);
		for (int i = 0; i < load_acks(&l[0]); i++)
			if (l[0].at_ms[i] > killed_at) {
				first_after = i;
				break;
			}
	}
	ck_assert(first_after >= 0);
	printf("takeover: office served again %lld ms after the SIGKILL of its daemon\n",
	       l[0].at_ms[first_after] - killed_at);
	ck_assert_msg(l[0].at_ms[first_after] - killed_at < TAKEOVER_LIMIT_MS,
		      "served again only after %lld ms", l[0].at_ms[first_after] - killed_at);
	load_wait(&l[1], load_acks(&l[1]) + 10, 10000);
	for (int i = 0; i < 2; i++)
		load_stop(&l[i]);
	for (int i = 0; i < 2; i++)
		load_verify(&l[i], k.db, k.o[i].code);
	wait_split(&k, victim ? 2 : 0, victim ? 0 : 2, 5000);
	cluster_down(&k);
}
END_TEST

START_TEST(move_office_under_load_loses_nothing)
{
	struct cluster k;
	struct load l;
	char owner[16], sql[256], out[256];
	long long deadline;

	cluster_seed(&k, 2);
	node_start(&k, 0);
	node_start(&k, 1);
	wait_split(&k, 1, 1, 10000);
	load_start(&l, k.ports, 2, k.o[0].kiosk, "km");
	load_wait(&l, 30, 10000);
	owner_of(&k, k.o[0].code, owner, sizeof owner);
	snprintf(sql, sizeof sql, "SELECT kolapp.move_office('%s', 'n%d')", k.o[0].code,
		 1 - (owner[1] - '0'));
	ck_assert_int_eq(h_psql(k.db, sql, out, sizeof out), 0);
	deadline = h_now_ms() + 5000;
	for (;;) {
		char now[16];
		owner_of(&k, k.o[0].code, now, sizeof now);
		if (now[0] && strcmp(now, owner))
			break;
		ck_assert_msg(h_now_ms() < deadline, "office not moved within 5 s: %s", out);
		pause_ms(20);
	}
	load_wait(&l, load_acks(&l) + 30, 10000);
	load_stop(&l);
	load_verify(&l, k.db, k.o[0].code);
	/* Pinned: the rebalancing gives the other office back instead. */
	wait_split(&k, 1, 1, 10000);
	{
		char now[16];
		owner_of(&k, k.o[0].code, now, sizeof now);
		ck_assert_str_ne(now, owner);
	}
	cluster_down(&k);
}
END_TEST

/* The daemon's writing session is cut while the daemon is frozen with a
 * request in its socket; the other daemon takes the office; the frozen
 * one, thawed, must not acknowledge the request. */
START_TEST(a_daemon_cut_off_cannot_write_for_a_taken_office)
{
	struct cluster k;
	char owner[16], sql[256], out[64];
	int victim;
	struct oc *c;
	json_t *r;
	long long deadline;

	cluster_seed(&k, 2);
	node_start(&k, 0);
	node_start(&k, 1);
	wait_split(&k, 1, 1, 10000);
	owner_of(&k, k.o[0].code, owner, sizeof owner);
	victim = owner[1] - '0';
	c = o_login(k.ports[victim], k.o[0].kiosk);
	json_decref(oc_req(c, "{\"op\":\"issue\",\"queue\":\"S\"}"));
	ck_assert_int_eq(kill(k.d[victim].pid, SIGSTOP), 0);
	ck_assert_int_eq(oc_send(c, "{\"id\":\"held\",\"op\":\"issue\",\"queue\":\"S\"}\n"), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM kolapp.nodes WHERE name = '%s'",
		 owner);
	ck_assert_int_eq(h_psql(k.db, sql, out, sizeof out), 0);
	deadline = h_now_ms() + 5000;
	for (;;) {
		char now[16];
		owner_of(&k, k.o[0].code, now, sizeof now);
		if (!strcmp(now, victim ? "n0" : "n1"))
			break;
		ck_assert_msg(h_now_ms() < deadline, "the other daemon did not take the office");
		pause_ms(20);
	}
	{
		/* The new owner issues the next number. */
		struct oc *c2 = o_login(k.ports[1 - victim], k.o[0].kiosk);
		r = oc_req(c2, "{\"op\":\"issue\",\"queue\":\"S\"}");
		ck_assert_msg(o_ok(r), "%s", o_js(r));
		ck_assert_str_eq(o_tstr(r, "code"), "S-002");
		json_decref(r);
		oc_close(c2);
	}
	ck_assert_int_eq(kill(k.d[victim].pid, SIGCONT), 0);
	r = oc_reply(c, 10000);
	/* Refused or closed; never ok. */
	ck_assert_msg(!r || !o_ok(r), "the cut-off daemon acknowledged: %s", o_js(r));
	json_decref(r);
	oc_close(c);
	ck_assert_int_eq(o_count(k.db, "SELECT count(*) FROM kolapp.tickets"), 2);
	cluster_down(&k);
}
END_TEST

/* A daemon without a node name would serve every office: it must not
 * start where named daemons serve them. */
START_TEST(an_unnamed_daemon_does_not_join_named_ones)
{
	struct cluster k;
	struct h_daemon solo;
	char *log;

	cluster_seed(&k, 1);
	node_start(&k, 0);
	memset(&solo, 0, sizeof solo);
	solo.port = h_free_port();
	ck_assert_int_eq(h_daemon_spawn(&solo, k.db, NULL), 0);
	ck_assert_int_ne(h_daemon_wait(&solo, 10000), 0);
	log = h_daemon_log(&solo);
	ck_assert_msg(log && strstr(log, "give this one a node_name too"), "log: %s",
		      log ? log : "(none)");
	free(log);
	h_daemon_free(&solo);
	{
		json_t *r = hello_at(&k, 0, &k.o[0]);
		ck_assert_msg(o_ok(r), "the named daemon still serves: %s", o_js(r));
		json_decref(r);
	}
	cluster_down(&k);
}
END_TEST

/* A listening socket that never completes a connection: its backlog is
 * full, so SYNs are dropped as by a host that is switched off. */
static int black_hole(int *port, int fill[8])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		  listen(fd, 0) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	*port = ntohs(sa.sin_port);
	for (int i = 0; i < 8; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof sa); /* EINPROGRESS */
	}
	return fd;
}

/* libpq does not time out an asynchronous connect; kolappd gives each
 * attempt 3 s and then starts one host further in the list, so a dead
 * first host costs seconds, not the kernel's two minutes. */
START_TEST(a_first_host_that_drops_packets_is_passed_over)
{
	struct cluster k;
	PQconninfoOption *opts;
	const char *pgport = NULL, *dbname = NULL, *user = NULL;
	char ci[512];
	int bh_port, fill[8], bh;
	struct h_daemon d;
	long long t0;
	char *log;

	cluster_seed(&k, 1);
	opts = PQconninfoParse(k.db, NULL);
	ck_assert(opts);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "port"))
			pgport = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			dbname = o->val;
		else if (!strcmp(o->keyword, "user"))
			user = o->val;
	}
	ck_assert(pgport && dbname);
	bh = black_hole(&bh_port, fill);
	snprintf(ci, sizeof ci,
		 "host=127.0.0.1,127.0.0.1 port=%d,%s dbname=%s%s%s "
		 "target_session_attrs=read-write",
		 bh_port, pgport, dbname, user ? " user=" : "", user ? user : "");
	PQconninfoFree(opts);
	memset(&d, 0, sizeof d);
	d.port = h_free_port();
	t0 = h_now_ms();
	ck_assert_int_eq(h_daemon_spawn(&d, ci, "--node-name n0"), 0);
	wait_answers(d.port, 30000);
	printf("black hole first: kolappd answered %lld ms after its start\n", h_now_ms() - t0);
	log = h_daemon_log(&d);
	ck_assert_msg(log && strstr(log, "trying the next host"), "log: %s", log ? log : "");
	free(log);
	{
		struct oc *c = o_login(d.port, k.o[0].kiosk);
		json_t *r = oc_req(c, "{\"op\":\"issue\",\"queue\":\"S\"}");
		ck_assert_msg(o_ok(r), "%s", o_js(r));
		json_decref(r);
		oc_close(c);
	}
	ck_assert_int_eq(h_daemon_stop(&d), 0);
	h_daemon_free(&d);
	for (int i = 0; i < 8; i++)
		close(fill[i]);
	close(bh);
	cluster_down(&k);
}
END_TEST

static PGresult *exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK,
		      "%s: %s", sql, PQerrorMessage(c));
	return r;
}

/* The fence on raw sessions: a batch naming a stale epoch, or an office
 * whose lock another session holds, is refused with nothing written. */
START_TEST(the_fence_refuses_a_stale_epoch)
{
	struct cluster k;
	PGconn *x, *y, *x2;
	PGresult *r;
	char sql[512];
	int office_id;
	long long e1, e2;

	cluster_seed(&k, 1);
	x = PQconnectdb(k.db);
	y = PQconnectdb(k.db);
	ck_assert(PQstatus(x) == CONNECTION_OK && PQstatus(y) == CONNECTION_OK);
	r = exec_ok(x, "SELECT office_id, epoch FROM kolapp.d_node_tick('x', '127.0.0.1:1', NULL,"
		       " 0, '{}', '{}') WHERE mine");
	ck_assert_int_eq(PQntuples(r), 1);
	office_id = atoi(PQgetvalue(r, 0, 0));
	e1 = atoll(PQgetvalue(r, 0, 1));
	PQclear(r);
	/* x writes with its epoch. */
	snprintf(sql, sizeof sql, "SELECT kolapp.d_batch_mark('t1', NULL, '{%d}', '{%lld}')",
		 office_id, e1);
	PQclear(exec_ok(x, sql));
	/* x's session ends; y takes the office. */
	PQfinish(x);
	snprintf(sql, sizeof sql,
		 "SELECT epoch FROM kolapp.d_node_tick('y', '127.0.0.1:2', NULL, 0, '{}', '{%d}')"
		 " WHERE mine",
		 office_id);
	{
		long long deadline = h_now_ms() + 5000;
		for (;;) {
			r = exec_ok(y, sql);
			if (PQntuples(r) == 1)
				break;
			PQclear(r);
			ck_assert_msg(h_now_ms() < deadline, "y did not get the office");
			pause_ms(20);
		}
	}
	e2 = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	ck_assert_int_gt(e2, e1);
	/* x comes back on a new session with its old epoch: refused, and
	 * the token of the refused batch is not written. */
	x2 = PQconnectdb(k.db);
	ck_assert(PQstatus(x2) == CONNECTION_OK);
	snprintf(sql, sizeof sql, "SELECT kolapp.d_batch_mark('t2', NULL, '{%d}', '{%lld}')",
		 office_id, e1);
	r = PQexec(x2, sql);
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "55P03");
	PQclear(r);
	/* Even with the new epoch: y holds the lock. */
	snprintf(sql, sizeof sql, "SELECT kolapp.d_batch_mark('t3', NULL, '{%d}', '{%lld}')",
		 office_id, e2);
	r = PQexec(x2, sql);
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	/* y, the owner, may write. */
	snprintf(sql, sizeof sql, "SELECT kolapp.d_batch_mark('t4', NULL, '{%d}', '{%lld}')",
		 office_id, e2);
	PQclear(exec_ok(y, sql));
	ck_assert_int_eq(o_count(k.db, "SELECT count(*) FROM kolapp.batches WHERE token IN"
				       " ('t1', 't2', 't3', 't4')"),
			 2);
	PQfinish(x2);
	PQfinish(y);
	cluster_down(&k);
}
END_TEST

static Suite *nodes_suite(void)
{
	Suite *s = suite_create("nodes");
	TCase *tc = tcase_create("nodes");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, the_fence_refuses_a_stale_epoch);
	tcase_add_test(tc, two_daemons_split_and_say_moved);
	tcase_add_test(tc, started_at_the_same_instant_never_both_own);
	tcase_add_test(tc, move_office_under_load_loses_nothing);
	tcase_add_test(tc, a_daemon_cut_off_cannot_write_for_a_taken_office);
	tcase_add_test(tc, an_unnamed_daemon_does_not_join_named_ones);
	tcase_add_test(tc, a_first_host_that_drops_packets_is_passed_over);
	suite_add_tcase(s, tc);
	/* Alone, for repetitions: CK_RUN_CASE=takeover (docs/OPERATIONS.md). */
	tc = tcase_create("takeover");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kill9_of_an_owner_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return h_suite_main("test_nodes", nodes_suite(), &g_unused_db, NULL);
}
