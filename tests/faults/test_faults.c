/* Crash safety under load. kolappd runs against its own private
 * PostgreSQL cluster (never a shared one: this test stops it) while six
 * kiosks and three counters keep it busy (load.c), and the main thread:
 *   - SIGKILLs kolappd at random moments and starts it again (>= 20 times);
 *   - stops PostgreSQL with pg_ctl -m immediate, starts it again on the
 *     same port, and requires writes to succeed within 5 s without
 *     restarting kolappd;
 *   - terminates the daemon's backends with pg_terminate_backend.
 * After each fault the clients are paused and the database is checked
 * against everything they were told (verify.c states the rule). Exit 0
 * when nothing was violated, 1 on a violation, 99 when the test itself
 * could not run, 77 when there is no PostgreSQL to run.
 *
 * Environment: KOLAPP_FAULTS_KILLS (default 22), KOLAPP_FAULTS_SEED;
 * KOLAPP_TEST_KEEP_LOGS keeps the daemon logs and the cluster directory;
 * KOLAPP_FAULTS_NODES=2 runs two daemons with node names (PROTOCOL.md
 * section 15): each kill hits the office's owner, the other takes the
 * office over, the clients follow moved, and the killed one comes back. */
#include "tests/faults/faults.h"
#include "tests/integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#ifndef KOLAPP_SRCDIR
#define KOLAPP_SRCDIR "."
#endif

#define F_OFFICE "faults"
#define F_DB "kolapp_faults"
#define F_RESUME_MS 5000 /* the contract: service back within 5 s */
#define F_RESTART_RESUME_MS 15000
#define F_PAUSE_MS 40000 /* > a client's reply timeout */

static char pg_dir[256];
static char pg_port[16];
static char dbconn[256];
static struct h_daemon daemon_;
static struct h_daemon daemon_b; /* the second daemon, KOLAPP_FAULTS_NODES=2 */
static int nnodes = 1;
static unsigned rng;

static struct {
	int kills, pg_restarts, backend_kill_rounds, backends_killed, verifications;
	long long max_restart_resume_ms, max_pg_resume_ms, max_backend_resume_ms;
	long long max_takeover_ms;
	long tickets, lost, chained, verify_violations;
} sum;

static const char *srcdir(void)
{
	const char *s = getenv("KOLAPP_SRCDIR");

	return s && *s ? s : KOLAPP_SRCDIR;
}

static int rnd(int lo, int hi)
{
	return lo + (int)((unsigned)rand_r(&rng) % (unsigned)(hi - lo + 1));
}

/* A random moment in the load to strike at: randomness, not waiting for
 * anything. */
static void random_delay(int lo_ms, int hi_ms)
{
	int ms = rnd(lo_ms, hi_ms);
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void tick(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Run argv (stdout discarded) with a deadline: its exit status or -1. */
static int run(char *const argv[], int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		tick();
	}
}

static int tools_pg(const char *cmd)
{
	char tool[1024];
	char *argv[] = { (char *)"/bin/bash", tool, (char *)cmd, pg_dir, NULL };

	snprintf(tool, sizeof tool, "%s/tools/pg", srcdir());
	return run(argv, 120000);
}

/* tools/pg only stops fast; a crash-like stop uses its own pg_ctl and
 * owner (kolapp-pg when we are root) the way it does. */
static int pg_stop_immediate(void)
{
	char tool[1024];
	char *argv[] = {
		(char *)"/bin/bash",
		(char *)"-c",
		(char *)"source \"$1\" && bin=$(_pg_bindir) && "
			"_pg_as_owner \"$bin/pg_ctl\" stop -D \"$2/data\" -m immediate -w -t 60 -s",
		(char *)"faults-pg",
		tool,
		pg_dir,
		NULL
	};

	snprintf(tool, sizeof tool, "%s/tools/pg", srcdir());
	return run(argv, 90000);
}

static void cluster_cleanup(void)
{
	char *rm[] = { (char *)"/bin/rm", (char *)"-rf", pg_dir, NULL };

	if (!pg_dir[0])
		return;
	if (daemon_.pid > 0)
		h_daemon_kill9(&daemon_);
	if (daemon_b.pid > 0)
		h_daemon_kill9(&daemon_b);
	tools_pg("stop");
	if (getenv("KOLAPP_TEST_KEEP_LOGS"))
		fprintf(stderr, "faults: cluster kept in %s (postgres.log)\n", pg_dir);
	else
		run(rm, 60000);
	pg_dir[0] = '\0';
}

static int read_small(const char *name, char *out, size_t outsz)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", pg_dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(out, (int)outsz, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* 77: no PostgreSQL installed; 99: it would not start. */
static int cluster_up(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[512], sql[128], err[512];
	glob_t g;
	bool have = glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) == 0;

	globfree(&g);
	if (!have) {
		fprintf(stderr, "faults: no PostgreSQL server installed: skipped\n");
		return 77;
	}
	snprintf(pg_dir, sizeof pg_dir, "%s/kolapp-faults-pg.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(pg_dir)) {
		pg_dir[0] = '\0';
		return 99;
	}
	atexit(cluster_cleanup);
	if (tools_pg("start") != 0 || read_small("conninfo", base, sizeof base) != 0 ||
	    read_small("port", pg_port, sizeof pg_port) != 0) {
		fprintf(stderr, "faults: tools/pg start %s failed\n", pg_dir);
		return 99;
	}
	snprintf(sql, sizeof sql, "CREATE DATABASE " F_DB);
	if (h_psql(base, sql, err, sizeof err) != 0) {
		fprintf(stderr, "faults: %s: %s\n", sql, err);
		return 99;
	}
	snprintf(dbconn, sizeof dbconn, "host=127.0.0.1 port=%s user=postgres dbname=" F_DB,
		 pg_port);
	return 0;
}

/* An office whose local time is about noon now, so that no local midnight
 * (which expires tickets and restarts numbering) falls inside the run. */
static int seed_office(struct f_tokens *tok)
{
	time_t now = time(NULL);
	struct tm tm;
	char tz[32], sql[1024], out[256];
	int off, i;
	static const char *const serves[F_NCOUNTERS] = {
		"ARRAY['S','F']",
		"ARRAY['F','S']",
		"ARRAY['S','F']",
	};

	gmtime_r(&now, &tm);
	off = 12 - tm.tm_hour; /* local = UTC + off; Etc/GMT signs are inverted */
	if (off == 0)
		snprintf(tz, sizeof tz, "Etc/GMT");
	else
		snprintf(tz, sizeof tz, "Etc/GMT%c%d", off > 0 ? '-' : '+', off > 0 ? off : -off);
	snprintf(sql, sizeof sql,
		 "SELECT kolapp.add_office('" F_OFFICE "', 'Fault office', '%s');"
		 "SELECT kolapp.add_queue('" F_OFFICE "', 'S', 'Skatteverket');"
		 "SELECT kolapp.add_queue('" F_OFFICE "', 'F', 'Försäkringskassan');"
		 /* The load reactivates no-shows and issues priority tickets:
		  * said here, not left to the defaults. */
		 "SELECT kolapp.set_queue_policy('" F_OFFICE "', q, reactivate_within_s => 900,"
		 " allow_priority => true) FROM unnest(ARRAY['S', 'F']) q;",
		 tz);
	if (h_psql(dbconn, sql, out, sizeof out) != 0) {
		fprintf(stderr, "faults: seeding failed: %s\n", out);
		return -1;
	}
	for (i = 0; i < F_NCOUNTERS; i++) {
		snprintf(sql, sizeof sql, "SELECT kolapp.add_counter('" F_OFFICE "', '%d', %s)",
			 i + 1, serves[i]);
		if (h_psql(dbconn, sql, out, sizeof out) != 0) {
			fprintf(stderr, "faults: %s: %s\n", sql, out);
			return -1;
		}
		snprintf(sql, sizeof sql,
			 "SELECT kolapp.create_token('counter', '" F_OFFICE "', '%d')", i + 1);
		if (h_psql(dbconn, sql, tok->counter[i], sizeof tok->counter[i]) != 0 ||
		    !tok->counter[i][0])
			return -1;
	}
	if (h_psql(dbconn, "SELECT kolapp.create_token('kiosk', '" F_OFFICE "')", tok->kiosk,
		   sizeof tok->kiosk) != 0 ||
	    !tok->kiosk[0])
		return -1;
	fprintf(stderr, "faults: office %s in %s, cluster %s port %s\n", F_OFFICE, tz, pg_dir,
		pg_port);
	return 0;
}

/* Wait until a change sent after since_us (wall clock) is answered ok:
 * the time it took, or -1 at the deadline. */
static long long wait_resumed(int64_t since_us, int deadline_ms)
{
	long long t0 = h_now_ms();

	for (;;) {
		if (ledger_stats().last_change_ok_sent_us > since_us)
			return h_now_ms() - t0;
		if (h_now_ms() - t0 > deadline_ms)
			return -1;
		tick();
	}
}

static const char *node_args(const struct h_daemon *d)
{
	if (nnodes == 1)
		return NULL;
	return d == &daemon_ ? "--node-name f0" : "--node-name f1";
}

static bool one_alive(struct h_daemon *d)
{
	if (d->pid > 0)
		h_daemon_wait(d, 0);
	return d->pid > 0;
}

static bool daemon_alive(const char *when)
{
	if (one_alive(&daemon_) && (nnodes == 1 || one_alive(&daemon_b)))
		return true;
	ledger_violation("kolappd exited on its own %s (log %s)", when, daemon_.logpath);
	/* The log folder is removed at exit: show why it died while we can. */
	{
		char *log = h_daemon_log(&daemon_);
		if (log) {
			size_t n = strlen(log);
			fprintf(stderr, "faults: ---- the end of kolappd's log ----\n%s\n----\n",
				n > 6000 ? log + n - 6000 : log);
			free(log);
		}
	}
	return false;
}

/* Pause the clients, check the database, resume. False when the clients
 * would not quiesce (the run cannot continue meaningfully). */
static bool checkpoint_verify(const char *after)
{
	struct f_verify v;

	if (load_pause(F_PAUSE_MS) != 0) {
		ledger_violation("clients did not quiesce within %d ms after %s", F_PAUSE_MS,
				 after);
		load_resume();
		return false;
	}
	if (verify_run(dbconn, F_OFFICE, &v) != 0)
		ledger_violation("verification after %s could not run", after);
	sum.verifications++;
	sum.tickets = v.tickets;
	sum.chained = v.chained;
	sum.lost += v.lost;
	sum.verify_violations += v.violations;
	if (v.violations)
		fprintf(stderr, "faults: %ld violations found after %s\n", v.violations, after);
	load_resume();
	return true;
}

/* The daemon serving the office now (with two); daemon_ when unknown. */
static struct h_daemon *office_owner(void)
{
	char out[64];

	if (nnodes == 1 || h_psql(dbconn,
				  "SELECT coalesce((SELECT node FROM kolapp.office_service WHERE "
				  "office = '" F_OFFICE "' AND served), '')",
				  out, sizeof out) != 0)
		return &daemon_;
	return strcmp(out, "f1") == 0 ? &daemon_b : &daemon_;
}

static bool fault_kill9(int i)
{
	char what[64];
	int64_t t;
	long long ms;
	struct h_daemon *victim;

	random_delay(150, 1200);
	if (!daemon_alive("before a kill"))
		return false;
	victim = office_owner();
	h_daemon_kill9(victim);
	t = f_wall_us();
	if (nnodes == 2) {
		/* The other daemon serves the office within 5 s (the contract),
		 * while the killed one is still down. */
		ms = wait_resumed(t, F_RESUME_MS);
		if (ms < 0) {
			ledger_violation("no change acknowledged within %d ms of the SIGKILL of "
					 "the office's daemon (kill %d)",
					 F_RESUME_MS, i + 1);
			return false;
		}
		if (ms > sum.max_takeover_ms)
			sum.max_takeover_ms = ms;
	}
	if (h_daemon_start(victim, dbconn, node_args(victim)) != 0) {
		ledger_violation("kolappd did not come back after kill %d", i + 1);
		return false;
	}
	if (nnodes == 2)
		load_set_ports(daemon_.port, daemon_b.port);
	else
		load_set_port(daemon_.port);
	ms = wait_resumed(t, F_RESTART_RESUME_MS);
	if (ms < 0) {
		ledger_violation("no change acknowledged within %d ms of restart %d",
				 F_RESTART_RESUME_MS, i + 1);
		return false;
	}
	if (ms > sum.max_restart_resume_ms)
		sum.max_restart_resume_ms = ms;
	sum.kills++;
	snprintf(what, sizeof what, "SIGKILL %d", i + 1);
	return checkpoint_verify(what);
}

static bool fault_pg_immediate(void)
{
	char port[16];
	int64_t t;
	long long ms;

	random_delay(200, 1200);
	if (pg_stop_immediate() != 0) {
		fprintf(stderr, "faults: pg_ctl stop -m immediate failed\n");
		return false;
	}
	random_delay(300, 1500); /* how long the outage lasts */
	if (tools_pg("start") != 0 || read_small("port", port, sizeof port) != 0) {
		fprintf(stderr, "faults: PostgreSQL did not start again\n");
		return false;
	}
	if (strcmp(port, pg_port) != 0) {
		/* Someone took the port meanwhile: kolappd cannot find it. */
		fprintf(stderr, "faults: PostgreSQL came back on port %s, not %s\n", port, pg_port);
		return false;
	}
	t = f_wall_us();
	ms = wait_resumed(t, F_RESUME_MS);
	if (ms < 0)
		ledger_violation("no change acknowledged within %d ms of PostgreSQL being back "
				 "(without restarting kolappd)",
				 F_RESUME_MS);
	if (ms > sum.max_pg_resume_ms)
		sum.max_pg_resume_ms = ms;
	sum.pg_restarts++;
	if (!daemon_alive("during the database outage"))
		return false;
	return checkpoint_verify("PostgreSQL immediate stop") && ms >= 0;
}

static bool fault_backends(void)
{
	char out[64];
	int64_t t;
	long long ms;
	long n;

	random_delay(200, 1200);
	if (h_psql(dbconn,
		   "SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid))"
		   " FROM pg_stat_activity a WHERE a.datname = current_database()"
		   " AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'",
		   out, sizeof out) != 0) {
		fprintf(stderr, "faults: pg_terminate_backend failed: %s\n", out);
		return false;
	}
	n = strtol(out, NULL, 10);
	if (n < 1)
		ledger_violation("no backend of kolappd found to terminate");
	t = f_wall_us();
	sum.backends_killed += (int)n;
	sum.backend_kill_rounds++;
	ms = wait_resumed(t, F_RESUME_MS);
	if (ms < 0)
		ledger_violation("no change acknowledged within %d ms of the backend kill",
				 F_RESUME_MS);
	if (ms > sum.max_backend_resume_ms)
		sum.max_backend_resume_ms = ms;
	if (!daemon_alive("after its backends were terminated"))
		return false;
	return checkpoint_verify("pg_terminate_backend") && ms >= 0;
}

static void summary(const struct f_stats *s, long long ms, int kills_wanted)
{
	printf("faults: ---- summary (%.1f s) ----\n", (double)ms / 1000.0);
	printf("faults: kolappd SIGKILLs survived   %d of %d\n", sum.kills, kills_wanted);
	printf("faults: PostgreSQL immediate stops  %d (writes back after at most %lld ms)\n",
	       sum.pg_restarts, sum.max_pg_resume_ms);
	printf("faults: backend kills               %d rounds, %d backends (back after at most "
	       "%lld ms)\n",
	       sum.backend_kill_rounds, sum.backends_killed, sum.max_backend_resume_ms);
	printf("faults: restart to first ok change  at most %lld ms\n", sum.max_restart_resume_ms);
	if (nnodes == 2)
		printf("faults: takeover by the other daemon at most %lld ms after a SIGKILL\n",
		       sum.max_takeover_ms);
	printf("faults: requests sent               %ld (hello %ld)\n", s->sent, s->hellos);
	printf("faults: acknowledged (ok)           %ld (issues %ld, counter ops %ld)\n", s->ok,
	       s->issued_ok, s->counter_ok);
	printf("faults:   priority / interpreter    %ld / %ld issues\n", s->priority_ok,
	       s->interpreter_ok);
	printf("faults:   park / call back          %ld / %ld\n", s->op_ok[OP_PARK],
	       s->op_ok[OP_CALL]);
	printf("faults:   transfer to a counter     %ld\n", s->op_ok[OP_TRANSFER]);
	printf("faults:   no_show / reactivate      %ld / %ld\n", s->op_ok[OP_NO_SHOW],
	       s->op_ok[OP_REACTIVATE]);
	printf("faults: unavailable answers         %ld\n", s->unavailable);
	printf("faults: other error answers         %ld\n", s->errors);
	printf("faults: never answered (lost)       %ld\n", s->lost);
	printf("faults: verifications               %d\n", sum.verifications);
	printf("faults: tickets verified            %ld\n", sum.tickets);
	printf("faults:   moved by unanswered ones  %ld\n", sum.chained);
	printf("faults: tickets lost                %ld\n", sum.lost);
	printf("faults: violations                  %ld\n", s->violations);
	fflush(stdout);
}

int main(void)
{
	struct f_tokens tok;
	struct f_stats s;
	const char *e;
	int kills = 22, i, rc;
	bool ok = true;
	long long t0 = h_now_ms();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((e = getenv("KOLAPP_FAULTS_KILLS")) && atoi(e) > 0)
		kills = atoi(e);
	if ((e = getenv("KOLAPP_FAULTS_NODES")) && atoi(e) == 2)
		nnodes = 2;
	rng = (e = getenv("KOLAPP_FAULTS_SEED")) && *e ? (unsigned)strtoul(e, NULL, 10)
						       : (unsigned)time(NULL) ^ (unsigned)getpid();
	printf("faults: seed %u (KOLAPP_FAULTS_SEED), %d kills\n", rng, kills);
	ledger_init();
	rc = cluster_up();
	if (rc != 0)
		return rc;
	if (h_migrate(dbconn) != 0 || seed_office(&tok) != 0) {
		fprintf(stderr, "faults: cannot migrate or seed %s\n", dbconn);
		return 99;
	}
	memset(&daemon_, 0, sizeof daemon_);
	memset(&daemon_b, 0, sizeof daemon_b);
	if (h_daemon_start(&daemon_, dbconn, node_args(&daemon_)) != 0)
		return 99;
	if (nnodes == 2 && h_daemon_start(&daemon_b, dbconn, node_args(&daemon_b)) != 0)
		return 99;
	load_start(&tok, daemon_.port, rng);
	if (nnodes == 2)
		load_set_ports(daemon_.port, daemon_b.port);
	if (wait_resumed(0, F_RESTART_RESUME_MS) < 0) {
		ledger_violation("the load never got a change acknowledged");
		ok = false;
	}

	/* The database faults are spread among the kills so that each hits
	 * a daemon with a different history (fresh, after reloads, ...). */
	for (i = 0; ok && i < kills; i++) {
		ok = fault_kill9(i);
		if (ok && (i == kills / 4 || i == (3 * kills) / 4))
			ok = fault_pg_immediate();
		if (ok && (i == kills / 8 || i == kills / 2 || i == (7 * kills) / 8))
			ok = fault_backends();
	}

	load_stop();
	if (ok) {
		struct f_verify v;

		if (verify_run(dbconn, F_OFFICE, &v) == 0) {
			sum.verifications++;
			sum.tickets = v.tickets;
			sum.chained = v.chained;
			sum.lost += v.lost;
		} else {
			ok = false;
		}
		if (daemon_alive("at the end") && h_daemon_stop(&daemon_) != 0)
			ledger_violation("kolappd did not exit 0 on SIGTERM (log %s)",
					 daemon_.logpath);
		if (nnodes == 2 && daemon_b.pid > 0 && h_daemon_stop(&daemon_b) != 0)
			ledger_violation("the second kolappd did not exit 0 on SIGTERM (log %s)",
					 daemon_b.logpath);
	}
	s = ledger_stats();
	if (ok && (s.issued_ok < 200 || s.counter_ok < 100))
		ledger_violation("too little progress: %ld issues, %ld counter ops acknowledged",
				 s.issued_ok, s.counter_ok);
	/* A daemon that refused the 1.1 ops would pass the rule vacuously. */
	if (ok && (s.priority_ok < 10 || s.op_ok[OP_PARK] < 10 || s.op_ok[OP_CALL] < 10 ||
		   s.op_ok[OP_TRANSFER] < 10 || s.op_ok[OP_REACTIVATE] < 10))
		ledger_violation("too few 1.1 steps acknowledged: %ld priority issues, %ld parks, "
				 "%ld call backs, %ld transfers, %ld reactivations",
				 s.priority_ok, s.op_ok[OP_PARK], s.op_ok[OP_CALL],
				 s.op_ok[OP_TRANSFER], s.op_ok[OP_REACTIVATE]);
	s = ledger_stats();
	summary(&s, h_now_ms() - t0, kills);
	h_daemon_free(&daemon_);
	h_daemon_free(&daemon_b);
	load_free();
	ledger_free();
	if (s.violations > 0 || sum.lost > 0)
		return 1;
	return ok ? 0 : 99;
}
