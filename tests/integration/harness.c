/* Integration-test helpers: see harness.h. */
#include "tests/integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <libpq-fe.h>

#ifndef KOLAPP_BUILDDIR
#define KOLAPP_BUILDDIR "."
#endif
#ifndef KOLAPP_SRCDIR
#define KOLAPP_SRCDIR "."
#endif

#define H_START_DEADLINE_MS 10000
#define H_STOP_DEADLINE_MS 10000
#define H_MIGRATE_DEADLINE_MS 120000

static void h_log(const char *what, const char *detail)
{
	fprintf(stderr, "harness: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

long long h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short pause inside a polling loop that has a deadline. */
static void h_tick(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static const char *h_builddir(void)
{
	const char *s = getenv("KOLAPP_BUILDDIR");

	return s && *s ? s : KOLAPP_BUILDDIR;
}

static const char *h_srcdir(void)
{
	const char *s = getenv("KOLAPP_SRCDIR");

	return s && *s ? s : KOLAPP_SRCDIR;
}

/* ---- processes --------------------------------------------------------- */

/* waitpid with a deadline: the raw status in *status, 1 when it exited,
 * 0 on timeout, -1 on error. */
static int h_waitpid(pid_t pid, int *status, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (h_now_ms() >= deadline)
			return 0;
		h_tick();
	}
}

static int h_exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* fork + exec argv; stdout/stderr to logpath when given. */
static pid_t h_spawn(char *const argv[], const char *logpath, bool pdeathsig)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (pdeathsig) {
			/* Die with the test process, even when Check kills it on a
			 * timeout: no orphaned daemons. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
		}
		if (logpath) {
			int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execv(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int h_run(char *const argv[], int timeout_ms)
{
	int status;
	pid_t pid = h_spawn(argv, NULL, true);

	if (pid < 0)
		return -1;
	switch (h_waitpid(pid, &status, timeout_ms)) {
	case 1: return h_exit_code(status);
	case 0:
		h_log("timed out, killing", argv[0]);
		kill(pid, SIGKILL);
		h_waitpid(pid, &status, 5000);
		return -1;
	default: return -1;
	}
}

static void h_rm_rf(const char *dir)
{
	char *argv[] = { (char *)"/bin/rm", (char *)"-rf", (char *)dir, NULL };

	h_run(argv, 30000);
}

/* ---- PostgreSQL ------------------------------------------------------- */

static const char *h_log_dir(void);

static char *pg_base;
static char pg_dir[256];
static pid_t pg_owner;

static void h_pg_stop_private(void)
{
	char tool[1024];

	if (getpid() != pg_owner || !pg_dir[0])
		return;
	snprintf(tool, sizeof tool, "%s/tools/pg", h_srcdir());
	{
		char *argv[] = { tool, (char *)"stop", pg_dir, NULL };

		h_run(argv, 90000);
	}
	h_rm_rf(pg_dir);
	pg_dir[0] = '\0';
}

static char *h_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	size_t n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

const char *h_pg_base_conninfo(void)
{
	const char *env;
	char tool[1024], path[512];
	char *s;
	int rc;

	if (pg_base)
		return pg_base;
	(void)h_log_dir();
	env = getenv("KOLAPP_TEST_CONNINFO");
	if (env && *env) {
		pg_base = strdup(env);
		return pg_base;
	}
	{
		const char *tmp = getenv("TMPDIR");

		snprintf(pg_dir, sizeof pg_dir, "%s/kolapp-test-pg.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
	}
	if (!mkdtemp(pg_dir)) {
		h_log("mkdtemp failed", strerror(errno));
		abort();
	}
	pg_owner = getpid();
	atexit(h_pg_stop_private);
	snprintf(tool, sizeof tool, "%s/tools/pg", h_srcdir());
	{
		char *argv[] = { (char *)"/bin/bash", tool, (char *)"start", pg_dir, NULL };

		rc = h_run(argv, 120000);
	}
	if (rc != 0) {
		h_log("tools/pg start failed; set KOLAPP_TEST_CONNINFO or install postgresql",
		      pg_dir);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/conninfo", pg_dir);
	s = h_slurp(path);
	if (!s) {
		h_log("no conninfo written", path);
		exit(1);
	}
	s[strcspn(s, "\r\n")] = '\0';
	pg_base = s;
	return pg_base;
}

/* CONNINFO with dbname replaced by DBNAME (malloc'd), via libpq's parser so
 * that URIs and quoted values work too. */
static char *h_conninfo_with_db(const char *conninfo, const char *dbname)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	size_t cap = 256, len = 0;
	char *out;

	opts = PQconninfoParse(conninfo, &err);
	if (!opts) {
		h_log("bad conninfo", err ? err : conninfo);
		PQfreemem(err);
		return NULL;
	}
	for (o = opts; o->keyword; o++)
		if (o->val)
			cap += strlen(o->keyword) + 2 * strlen(o->val) + 8;
	cap += 2 * strlen(dbname);
	out = malloc(cap);
	if (!out) {
		PQconninfoFree(opts);
		return NULL;
	}
	out[0] = '\0';
	for (o = opts; o->keyword; o++) {
		const char *v = o->val;
		const char *p;

		if (strcmp(o->keyword, "dbname") == 0)
			v = dbname;
		if (!v)
			continue;
		len += (size_t)sprintf(out + len, "%s%s='", len ? " " : "", o->keyword);
		for (p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				out[len++] = '\\';
			out[len++] = *p;
		}
		out[len++] = '\'';
		out[len] = '\0';
	}
	PQconninfoFree(opts);
	return out;
}

static char *h_conninfo_dbname(const char *conninfo)
{
	PQconninfoOption *opts, *o;
	char *name = NULL;

	opts = PQconninfoParse(conninfo, NULL);
	if (!opts)
		return NULL;
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val)
			name = strdup(o->val);
	PQconninfoFree(opts);
	return name;
}

static void h_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int h_exec(const char *conninfo, const char *sql, char *out, size_t outsz)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;
	int rc = -1;

	if (out && outsz)
		out[0] = '\0';
	if (PQstatus(c) != CONNECTION_OK) {
		if (out && outsz)
			snprintf(out, outsz, "%s", PQerrorMessage(c));
		h_log("connection failed", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQsetNoticeProcessor(c, h_quiet, NULL);
	r = PQexec(c, sql);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		rc = 0;
		if (out && outsz && PQntuples(r) > 0 && PQnfields(r) > 0)
			snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
		break;
	default:
		if (out && outsz)
			snprintf(out, outsz, "%s", PQresultErrorMessage(r));
		break;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

int h_psql(const char *conninfo, const char *sql, char *out, size_t outsz)
{
	return h_exec(conninfo, sql, out, outsz);
}

char *h_create_db(void)
{
	static unsigned counter;
	const char *base = h_pg_base_conninfo();
	char name[64], sql[128], err[512];

	snprintf(name, sizeof name, "kolapp_t_%ld_%u", (long)getpid(), ++counter);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
	h_exec(base, sql, NULL, 0);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	if (h_exec(base, sql, err, sizeof err) != 0) {
		h_log("CREATE DATABASE failed", err);
		return NULL;
	}
	return h_conninfo_with_db(base, name);
}

void h_drop_db(const char *conninfo)
{
	char *name;
	char sql[256], err[512];
	PGconn *c;
	char *quoted;

	if (!conninfo)
		return;
	name = h_conninfo_dbname(conninfo);
	if (!name)
		return;
	c = PQconnectdb(h_pg_base_conninfo());
	if (PQstatus(c) == CONNECTION_OK) {
		quoted = PQescapeIdentifier(c, name, strlen(name));
		if (quoted) {
			snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
				 quoted);
			PQfreemem(quoted);
			PQfinish(c);
			c = NULL;
			if (h_exec(h_pg_base_conninfo(), sql, err, sizeof err) != 0)
				h_log("DROP DATABASE failed", err);
		}
	}
	if (c)
		PQfinish(c);
	free(name);
}

int h_migrate(const char *conninfo)
{
	char bin[1024];
	char *argv[] = { bin, (char *)"--migrate", (char *)"--conninfo", (char *)conninfo, NULL };

	snprintf(bin, sizeof bin, "%s/kolappd", h_builddir());
	return h_run(argv, H_MIGRATE_DEADLINE_MS);
}

/* ---- the daemon ----------------------------------------------------- */

/* Below the kernel's ephemeral range (32768 and up here): a kolappd
 * restarted on its old port must not find it taken by some other test's
 * outgoing connection, which can happen to any port the kernel hands out
 * for bind(port 0) when thousands of connections come and go. */
int h_free_port(void)
{
	static unsigned seed;
	struct sockaddr_in sa;

	if (!seed)
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)h_now_ms();
	for (int attempt = 0; attempt < 200; attempt++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port, one = 1;

		if (fd < 0)
			return -1;
		seed = seed * 1103515245u + 12345u;
		port = 20000 + (int)((seed >> 8) % 12000);
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)port);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			return port;
		}
		close(fd);
	}
	return -1;
}

static char log_dir[256];
static pid_t log_dir_owner;

static void h_log_dir_cleanup(void)
{
	if (getpid() != log_dir_owner || !log_dir[0])
		return;
	if (getenv("KOLAPP_TEST_KEEP_LOGS"))
		fprintf(stderr, "harness: daemon logs kept in %s\n", log_dir);
	else
		h_rm_rf(log_dir);
	log_dir[0] = '\0';
}

static const char *h_log_dir(void)
{
	const char *tmp;

	/* Made once, by the first process that asks (h_pg_base_conninfo asks,
	 * so normally the test's main process): Check's forked children share
	 * it, and a child that fails an assertion does not run atexit. */
	if (log_dir[0])
		return log_dir;
	tmp = getenv("TMPDIR");
	snprintf(log_dir, sizeof log_dir, "%s/kolapp-test-log.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(log_dir)) {
		log_dir[0] = '\0';
		return NULL;
	}
	log_dir_owner = getpid();
	atexit(h_log_dir_cleanup);
	return log_dir;
}

/* Daemons this process started and has not reaped: killed at exit so that a
 * failing test (Check exits the forked child) leaves nothing behind. */
#define H_MAX_DAEMONS 32
static pid_t live[H_MAX_DAEMONS];
static pid_t live_owner;

static void h_live_cleanup(void)
{
	int i, st;

	if (getpid() != live_owner)
		return;
	for (i = 0; i < H_MAX_DAEMONS; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			h_waitpid(live[i], &st, 5000);
			live[i] = 0;
		}
}

static void h_live_add(pid_t pid)
{
	int i;

	if (live_owner != getpid()) {
		memset(live, 0, sizeof live);
		live_owner = getpid();
		atexit(h_live_cleanup);
	}
	for (i = 0; i < H_MAX_DAEMONS; i++)
		if (live[i] <= 0) {
			live[i] = pid;
			return;
		}
}

static void h_live_del(pid_t pid)
{
	int i;

	if (live_owner != getpid())
		return;
	for (i = 0; i < H_MAX_DAEMONS; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void h_log_tail(const struct h_daemon *d)
{
	char *log = h_daemon_log(d);
	size_t n;

	if (!log)
		return;
	n = strlen(log);
	fprintf(stderr, "harness: --- %s (tail) ---\n%s\nharness: ---\n", d->logpath,
		n > 4000 ? log + n - 4000 : log);
	free(log);
}

char *h_daemon_log(const struct h_daemon *d)
{
	return d->logpath[0] ? h_slurp(d->logpath) : NULL;
}

int h_daemon_spawn(struct h_daemon *d, const char *conninfo, const char *extra_args)
{
	static unsigned n;
	char bin[1024], listen[64];
	char *argv[64];
	char *extra = NULL, *as_user = NULL;
	int argc = 0;
	const char *dir = h_log_dir();
	pid_t pid;

	if (!dir)
		return -1;
	if (d->conninfo != conninfo) {
		free(d->conninfo);
		d->conninfo = conninfo ? strdup(conninfo) : NULL;
	}
	d->pid = 0;
	if (d->port <= 0)
		d->port = h_free_port();
	snprintf(d->logpath, sizeof d->logpath, "%s/kolappd-%ld-%u.log", dir, (long)getpid(), ++n);
	snprintf(bin, sizeof bin, "%s/kolappd", h_builddir());
	snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
	argv[argc++] = bin;
	if (d->conninfo) {
		/* KOLAPP_TEST_DAEMON_USER runs kolappd as another login (one that
		 * holds only kolapp_daemon) while the test itself stays superuser. */
		const char *user = getenv("KOLAPP_TEST_DAEMON_USER");
		if (user && *user && asprintf(&as_user, "%s user=%s", d->conninfo, user) < 0)
			as_user = NULL;
		argv[argc++] = (char *)"--conninfo";
		argv[argc++] = as_user ? as_user : d->conninfo;
	}
	argv[argc++] = (char *)"--listen";
	argv[argc++] = listen;
	if (extra_args) {
		char *save = NULL, *tok;

		extra = strdup(extra_args);
		for (tok = strtok_r(extra, " ", &save); tok && argc < 62;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
	}
	argv[argc] = NULL;
	pid = h_spawn(argv, d->logpath, true);
	free(extra);
	free(as_user);
	if (pid < 0)
		return -1;
	d->pid = pid;
	h_live_add(pid);
	return 0;
}

int h_daemon_spawn_activated(struct h_daemon *d, const char *conninfo, int listen_fd,
			     const char *extra_args)
{
	static unsigned n;
	char bin[1024];
	char *argv[64];
	char *extra = NULL;
	int argc = 0;
	const char *dir = h_log_dir();
	pid_t parent = getpid();
	pid_t pid;

	if (!dir || listen_fd < 0)
		return -1;
	if (d->conninfo != conninfo) {
		free(d->conninfo);
		d->conninfo = conninfo ? strdup(conninfo) : NULL;
	}
	d->pid = 0;
	snprintf(d->logpath, sizeof d->logpath, "%s/kolappd-act-%ld-%u.log", dir, (long)getpid(),
		 ++n);
	snprintf(bin, sizeof bin, "%s/kolappd", h_builddir());
	argv[argc++] = bin;
	if (d->conninfo) {
		argv[argc++] = (char *)"--conninfo";
		argv[argc++] = d->conninfo;
	}
	if (extra_args) {
		char *save = NULL, *tok;

		extra = strdup(extra_args);
		for (tok = strtok_r(extra, " ", &save); tok && argc < 62;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
	}
	argv[argc] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(extra);
		return -1;
	}
	if (pid == 0) {
		char pidbuf[32];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(d->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* dup2 onto itself would keep FD_CLOEXEC, and exec would close it. */
		if (listen_fd == 3)
			fcntl(3, F_SETFD, 0);
		else if (dup2(listen_fd, 3) < 0)
			_exit(127);
		/* LISTEN_PID must name the process that execs kolappd: this one. */
		snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDS", "1", 1);
		unsetenv("LISTEN_FDNAMES");
		execv(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(extra);
	d->pid = pid;
	h_live_add(pid);
	return 0;
}

int h_daemon_wait(struct h_daemon *d, int timeout_ms)
{
	int st;

	if (d->pid <= 0)
		return -1;
	if (h_waitpid(d->pid, &st, timeout_ms) != 1)
		return -1;
	h_live_del(d->pid);
	d->pid = 0;
	return h_exit_code(st);
}

/* Connect and ping once (short timeouts): true when the daemon answers. */
bool h_daemon_answers(int port)
{
	int fd = h_connect(port);
	char *line;
	json_t *j;
	bool ok = false;

	if (fd < 0)
		return false;
	if (h_send(fd, "{\"id\":\"h-ready\",\"op\":\"ping\"}\n") == 0) {
		line = h_recv_line(fd, 1000);
		if (line) {
			j = json_loads(line, 0, NULL);
			ok = j && json_is_true(json_object_get(j, "ok"));
			json_decref(j);
			free(line);
		}
	}
	h_close(fd);
	return ok;
}

int h_daemon_start(struct h_daemon *d, const char *conninfo, const char *extra_args)
{
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		long long deadline;
		int st;

		d->port = h_free_port();
		if (h_daemon_spawn(d, conninfo, extra_args) != 0)
			return -1;
		deadline = h_now_ms() + H_START_DEADLINE_MS;
		while (h_now_ms() < deadline) {
			if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
				h_live_del(d->pid);
				d->pid = 0;
				break;
			}
			if (h_daemon_answers(d->port))
				return 0;
			h_tick();
		}
		if (d->pid > 0) {
			/* Running but not answering within the deadline. */
			h_log("kolappd did not answer a ping within 10 s", d->logpath);
			h_log_tail(d);
			h_daemon_kill9(d);
			return -1;
		}
		h_log("kolappd exited during start-up", d->logpath);
		h_log_tail(d);
		/* Maybe the port was taken meanwhile: try another. */
	}
	return -1;
}

void h_daemon_kill9(struct h_daemon *d)
{
	int st;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	h_waitpid(d->pid, &st, 5000);
	h_live_del(d->pid);
	d->pid = 0;
}

int h_daemon_stop(struct h_daemon *d)
{
	int st, r;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	r = h_waitpid(d->pid, &st, H_STOP_DEADLINE_MS);
	if (r != 1) {
		h_log("kolappd did not exit within 10 s of SIGTERM", d->logpath);
		h_daemon_kill9(d);
		return -1;
	}
	h_live_del(d->pid);
	d->pid = 0;
	return h_exit_code(st);
}

void h_daemon_free(struct h_daemon *d)
{
	if (d->pid > 0)
		h_daemon_kill9(d);
	free(d->conninfo);
	d->conninfo = NULL;
}
