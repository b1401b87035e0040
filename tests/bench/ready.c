/*
 * kolapp-ready: waits until a starting kolappd answers, for tools/bench's
 * start-up figure. Every half millisecond it connects, sends hello and
 * status, and reads both replies; once status is ok and not stale it
 * prints the wall-clock time of that answer (seconds since the epoch,
 * microseconds) and exits 0. Exits 1 when the daemon's process has gone
 * or after the timeout.
 *
 * The time is the probe's, not its own exit's: tools/bench subtracts the
 * time it started kolappd, so neither the shell's forks nor this
 * program's start count (they did, through a shell loop that ran sleep
 * between attempts: about 80 ms of 320 on 2026-12-01).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads until two lines have come (or the deadline); false otherwise. */
static bool read_two_lines(int fd, char *buf, size_t size, double deadline)
{
	size_t len = 0;
	int lines = 0;

	while (lines < 2) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ms = (int)((deadline - mono_now()) * 1000);
		ssize_t n;

		if (ms <= 0 || poll(&p, 1, ms) <= 0 || len + 1 >= size)
			return false;
		n = read(fd, buf + len, size - len - 1);
		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + (size_t)i] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	return true;
}

/* One attempt: true when the daemon answered status ok and not stale. */
static bool probe(const struct sockaddr_in *sa, const char *hello)
{
	char buf[65536], *second;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	bool ok = false;

	if (fd < 0)
		return false;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 &&
	    write(fd, hello, strlen(hello)) == (ssize_t)strlen(hello) &&
	    read_two_lines(fd, buf, sizeof buf, mono_now() + 2.0)) {
		second = strchr(buf, '\n') + 1;
		ok = strstr(second, "\"ok\":true") && !strstr(second, "\"stale\":true");
	}
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timespec half_ms = { 0, 500000 }, wall;
	char hello[512];
	double deadline;
	pid_t pid;

	if (argc != 6) {
		fprintf(stderr, "usage: kolapp-ready HOST PORT TOKEN PID TIMEOUT_S\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "kolapp-ready: bad address %s\n", argv[1]);
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	snprintf(hello, sizeof hello,
		 "{\"id\":1,\"op\":\"hello\",\"token\":\"%s\"}\n{\"id\":2,\"op\":\"status\"}\n",
		 argv[3]);
	pid = (pid_t)atoi(argv[4]);
	deadline = mono_now() + atof(argv[5]);
	while (mono_now() < deadline) {
		if (probe(&sa, hello)) {
			clock_gettime(CLOCK_REALTIME, &wall);
			printf("%lld.%06ld\n", (long long)wall.tv_sec, wall.tv_nsec / 1000);
			return 0;
		}
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 1;
		nanosleep(&half_ms, NULL);
	}
	return 1;
}
