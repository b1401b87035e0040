/*
 * kolapp_run: the kolapp binary as a child of a test, its stdout and
 * stderr in files of a private folder, waited for with a deadline. For
 * the tests of what the client does (tests/unit/test_client_follow.c
 * against fake daemons, tests/integration/test_client_hosts.c against a
 * real one).
 */
#ifndef KOLAPP_TESTS_KOLAPP_RUN_H
#define KOLAPP_TESTS_KOLAPP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kolapp_run {
	int status;   /* exit status; -1 when killed or timed out */
	long long ms; /* from the start to the exit */
	char out[16384], err[8192];
};

/* Makes the folder for the output files. 0 or -1. */
int kr_init(void);
/* Removes it (after a run where every test passed). */
void kr_cleanup(void);

long long kr_now_ms(void);

/* Starts $KOLAPP_BUILDDIR/kolapp with argv (NULL-terminated; argv[0] is
 * ignored) and KOLAPP_TOKEN=token, no KOLAPP_HOST or KOLAPP_PORT.
 * *tag names its output files for the calls below. */
pid_t kr_spawn(char *const argv[], const char *token, int *tag);
/* Waits for it up to timeout_ms (then SIGKILL) and reads its output. */
void kr_reap(pid_t pid, int tag, int timeout_ms, struct kolapp_run *r);
/* kr_spawn and kr_reap with 20 s. */
void kr_run(char *const argv[], const char *token, struct kolapp_run *r);
/* Polls the child's stdout (err false) or stderr (err true) until it
 * holds needle n times or timeout_ms passed; what it holds in buf. */
bool kr_wait_output(int tag, bool err, const char *needle, int n, int timeout_ms, char *buf,
		    size_t size);

#endif
