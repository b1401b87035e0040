/* One buffer to many sockets: io_uring where there is one (sendmany.h). */
#include "build_config.h"

#include "daemon/net/sendmany.h"
#include "daemon/util/xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

struct sendmany {
	bool batched;
#ifdef HAVE_LIBURING
	struct io_uring ring;
#endif
};

struct sendmany *sendmany_new(bool batch)
{
	struct sendmany *sm = xcalloc(1, sizeof *sm);

#ifdef HAVE_LIBURING
	sm->batched = batch && io_uring_queue_init(SENDMANY_DEPTH, &sm->ring, 0) == 0;
#else
	(void)batch;
#endif
	return sm;
}

void sendmany_free(struct sendmany *sm)
{
	if (!sm)
		return;
#ifdef HAVE_LIBURING
	if (sm->batched)
		io_uring_queue_exit(&sm->ring);
#endif
	free(sm);
}

bool sendmany_batched(const struct sendmany *sm)
{
	return sm->batched;
}

static void send_each(const int *fds, int n, const char *data, size_t len, size_t *sent)
{
	for (int i = 0; i < n; i++) {
		ssize_t k = send(fds[i], data, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		sent[i] = k > 0 ? (size_t)k : 0;
	}
}

#ifdef HAVE_LIBURING
/* Up to SENDMANY_DEPTH sends in one io_uring_enter. With MSG_DONTWAIT a
 * send runs at once (a full socket completes with -EAGAIN instead of
 * waiting), so every send has completed when the call returns. Returns
 * how many of fds the ring took; the rest, if any, are the caller's to
 * send (the ring consumed none of them, and is closed so that it never
 * will). */
static int send_batch(struct sendmany *sm, const int *fds, int n, const char *data, size_t len,
		      size_t *sent)
{
	struct io_uring_cqe *cqe;
	int submitted, done = 0;

	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&sm->ring);

		io_uring_prep_send(sqe, fds[i], data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
		sent[i] = SENDMANY_UNKNOWN;
	}
	submitted = io_uring_submit(&sm->ring);
	if (submitted < 0)
		submitted = 0;
	while (done < submitted) {
		int rc = io_uring_wait_cqe(&sm->ring, &cqe);

		if (rc == -EINTR)
			continue;
		if (rc < 0)
			break; /* what the rest got is unknown: SENDMANY_UNKNOWN */
		if (io_uring_cqe_get_data64(cqe) < (uint64_t)n)
			sent[io_uring_cqe_get_data64(cqe)] = cqe->res > 0 ? (size_t)cqe->res : 0;
		io_uring_cqe_seen(&sm->ring, cqe);
		done++;
	}
	if (submitted < n || done < submitted) {
		sm->batched = false;
		io_uring_queue_exit(&sm->ring);
	}
	return submitted;
}
#endif

void sendmany_send(struct sendmany *sm, const int *fds, int n, const char *data, size_t len,
		   size_t *sent)
{
	int at = 0;

#ifdef HAVE_LIBURING
	while (sm->batched && at < n) {
		int k = n - at < SENDMANY_DEPTH ? n - at : SENDMANY_DEPTH;

		at += send_batch(sm, fds + at, k, data, len, sent + at);
	}
#endif
	send_each(fds + at, n - at, data, len, sent + at);
}
