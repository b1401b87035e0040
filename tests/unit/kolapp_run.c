#include "tests/unit/kolapp_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_dir[256];
static int g_tag;

long long kr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kr_init(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(g_dir, sizeof(g_dir), "%s/kolapp-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(g_dir) ? 0 : -1;
}

void kr_cleanup(void)
{
	char path[512];

	for (int tag = 1; tag <= g_tag; tag++) {
		snprintf(path, sizeof(path), "%s/out-%d", g_dir, tag);
		unlink(path);
		snprintf(path, sizeof(path), "%s/err-%d", g_dir, tag);
		unlink(path);
	}
	rmdir(g_dir);
}

static void out_path(int tag, bool err, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s-%d", g_dir, err ? "err" : "out", tag);
}

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;

	buf[n] = '\0';
	if (fp)
		fclose(fp);
}

pid_t kr_spawn(char *const argv[], const char *token, int *tag)
{
	const char *bd = getenv("KOLAPP_BUILDDIR");
	char bin[512], out[512], err[512];
	pid_t pid;

	*tag = ++g_tag;
	snprintf(bin, sizeof(bin), "%s/kolapp", bd && *bd ? bd : KOLAPP_BUILDDIR);
	out_path(*tag, false, out, sizeof(out));
	out_path(*tag, true, err, sizeof(err));
	pid = fork();
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		unsetenv("KOLAPP_HOST");
		unsetenv("KOLAPP_PORT");
		setenv("KOLAPP_TOKEN", token ? token : "", 1);
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

void kr_reap(pid_t pid, int tag, int timeout_ms, struct kolapp_run *r)
{
	long long t0 = kr_now_ms(), deadline = t0 + timeout_ms;
	char path[512];
	int st = 0;

	r->status = -1;
	/* A poll of waitpid with a deadline: the child may hang, and the
	 * test must not. */
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		if (kr_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		poll(NULL, 0, 10);
	}
	r->ms = kr_now_ms() - t0;
	if (pid > 0 && st != -1 && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	out_path(tag, false, path, sizeof(path));
	slurp(path, r->out, sizeof(r->out));
	out_path(tag, true, path, sizeof(path));
	slurp(path, r->err, sizeof(r->err));
}

void kr_run(char *const argv[], const char *token, struct kolapp_run *r)
{
	int tag;
	pid_t pid = kr_spawn(argv, token, &tag);

	kr_reap(pid, tag, 20000, r);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

bool kr_wait_output(int tag, bool err, const char *needle, int n, int timeout_ms, char *buf,
		    size_t size)
{
	long long deadline = kr_now_ms() + timeout_ms;
	char path[512];

	out_path(tag, err, path, sizeof(path));
	for (;;) {
		slurp(path, buf, size);
		if (count(buf, needle) >= n)
			return true;
		if (kr_now_ms() > deadline)
			return false;
		poll(NULL, 0, 20);
	}
}
