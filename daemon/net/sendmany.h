/*
 * sendmany: one buffer to many sockets, for the fan-out of an office's
 * events. A send() each costs a system call, and on a virtual machine a
 * call is dear: 10,000 subscribers took about 50 ms of send() alone.
 * Through io_uring (liburing) the sends of up to SENDMANY_DEPTH sockets
 * go in one call (about 30 % less here); where io_uring is not there (no
 * liburing at build time, a kernel or seccomp filter that refuses it),
 * it sends one by one, with the same result.
 *
 * Owns its ring. The sends never block (MSG_DONTWAIT) and are complete
 * when sendmany_send returns: what a socket did not take is the
 * caller's to queue, in order, before anything else is written to it.
 */
#ifndef KOLAPP_SENDMANY_H
#define KOLAPP_SENDMANY_H

#include <stdbool.h>
#include <stddef.h>

#define SENDMANY_DEPTH 4096
/* In sent[]: the ring failed in a way that leaves unknown what this
 * socket took; its stream may be broken, so the caller closes it. */
#define SENDMANY_UNKNOWN ((size_t)-1)

struct sendmany;

/* A sender, through io_uring when batch and the system allow; never NULL
 * (without, it sends one by one). */
struct sendmany *sendmany_new(bool batch);
void sendmany_free(struct sendmany *sm);
/* Whether the sends go through io_uring. */
bool sendmany_batched(const struct sendmany *sm);
/* Sends data[0..len) to each of fds[0..n); sent[i] gets the bytes fds[i]
 * took (0 on an error or a full socket: the error shows again on the
 * caller's queued write), or SENDMANY_UNKNOWN. */
void sendmany_send(struct sendmany *sm, const int *fds, int n, const char *data, size_t len,
		   size_t *sent);

#endif
