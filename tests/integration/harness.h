/* Integration-test helpers: a PostgreSQL to test against, throw-away
 * databases, a real kolappd, and line-oriented JSON over TCP.
 * Every wait has a deadline; nothing sleeps blindly. */
#ifndef KOLAPP_TESTS_HARNESS_H
#define KOLAPP_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

/* The base conninfo (to the "postgres" database): $KOLAPP_TEST_CONNINFO, or
 * a private cluster started once per process with tools/pg (stopped at
 * exit). Aborts the process when no PostgreSQL can be had. */
const char *h_pg_base_conninfo(void);

/* CREATE DATABASE kolapp_t_<pid>_<n>; returns a malloc'd conninfo for it,
 * or NULL. */
char *h_create_db(void);
void h_drop_db(const char *conninfo);

/* $KOLAPP_BUILDDIR/kolappd --migrate --conninfo CONNINFO: its exit status
 * (-1 when it could not be run or was killed). */
int h_migrate(const char *conninfo);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int h_free_port(void);

struct h_daemon {
	pid_t pid;
	int port;
	char *conninfo;
	char logpath[512];
};

/* Start kolappd --conninfo CONNINFO --listen 127.0.0.1:<free port> [extra]
 * (extra_args is split on spaces; may be NULL), stderr and stdout to
 * d->logpath, and wait (10 s) until it answers a ping. 0 or -1; on -1 the
 * process, if it exited, has been reaped and d->pid is 0. */
int h_daemon_start(struct h_daemon *d, const char *conninfo, const char *extra_args);
/* Start kolappd with exactly these extra arguments and do not wait for it
 * to come up (for tests of start-up failures). 0 or -1. */
int h_daemon_spawn(struct h_daemon *d, const char *conninfo, const char *extra_args);
/* Start kolappd as systemd's socket activation would: LISTEN_FD (a bound,
 * listening socket) becomes fd 3 with LISTEN_FDS=1 and LISTEN_PID set to
 * the child, and no --listen is passed. d->port is left as the caller set
 * it. Does not wait for the daemon. 0 or -1. */
int h_daemon_spawn_activated(struct h_daemon *d, const char *conninfo, int listen_fd,
			     const char *extra_args);
/* Wait for the process to exit (timeout_ms): exit status, or -1 (still
 * running, or killed by a signal). */
int h_daemon_wait(struct h_daemon *d, int timeout_ms);
/* Connects and pings once (short timeouts): true when a daemon answers. */
bool h_daemon_answers(int port);
/* SIGTERM, then wait 10 s: the exit status, or -1 (then it is SIGKILLed). */
int h_daemon_stop(struct h_daemon *d);
void h_daemon_kill9(struct h_daemon *d);
/* Frees d->conninfo (the log file stays for inspection). */
void h_daemon_free(struct h_daemon *d);
/* The daemon's log as a malloc'd string (or NULL). */
char *h_daemon_log(const struct h_daemon *d);

/* A blocking TCP socket to 127.0.0.1:port (SO_RCVTIMEO 5 s), or -1. */
int h_connect(int port);
/* Write all of s. 0 or -1. */
int h_send(int fd, const char *s);
/* Write len bytes. 0 or -1. */
int h_send_n(int fd, const char *s, size_t len);
/* One line without its "\n" (malloc'd), or NULL on timeout, EOF or error.
 * Bytes after the line are kept for the next call on the same fd. */
char *h_recv_line(int fd, int timeout_ms);
/* The first line of buf[0..*len) (malloc'd, without "\n"), taken out of
 * the buffer; NULL when no whole line is there yet (or out of memory). */
char *h_take_line(char *buf, size_t *len);
/* Send LINE (a "\n" is added when missing), read one reply line (5 s) and
 * parse it; NULL on any failure. */
json_t *h_request(int fd, const char *line);
/* True when the peer closed the connection (read gives 0 or a reset)
 * within timeout_ms; data received meanwhile is discarded. */
bool h_wait_closed(int fd, int timeout_ms);
/* close() that also forgets the fd's buffered bytes. */
void h_close(int fd);

/* Run SQL (PQexec) and copy the first cell of the result (if any) into out
 * ("" when there is none). 0, or -1 (out then holds the error message). */
int h_psql(const char *conninfo, const char *sql, char *out, size_t outsz);

/* Milliseconds on a monotonic clock. */
long long h_now_ms(void);

#endif
