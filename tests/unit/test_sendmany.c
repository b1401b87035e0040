/* Unit test of the fan-out's sends (daemon/net/sendmany.c): each case runs
 * through io_uring (where the machine allows it) and one send() each, and
 * both must give every socket the same bytes and say what each took. */
#include "daemon/net/sendmany.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define NPAIRS 64

/* _i of a loop test: 0 through io_uring, 1 one by one. */
static struct sendmany *sender(int i)
{
	return sendmany_new(i == 0);
}

static void pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

/* A connected TCP pair over loopback (which, unlike a socketpair, keeps
 * thousands of one-byte sends in one buffer), non-blocking. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(sv[0], (struct sockaddr *)&a, sizeof a), 0);
	sv[1] = accept(l, NULL, NULL);
	ck_assert_int_ge(sv[1], 0);
	close(l);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

/* Everything readable on fd now, up to size bytes. */
static size_t drain(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size && (n = read(fd, buf + got, size - got)) > 0)
		got += (size_t)n;
	return got;
}

START_TEST(every_socket_gets_the_line)
{
	static const char line[] = "{\"event\":\"called\",\"ticket\":\"S-001\"}\n";
	struct sendmany *sm = sender(_i);
	int sv[NPAIRS][2], fds[NPAIRS];
	size_t sent[NPAIRS];
	char buf[256];

	for (int i = 0; i < NPAIRS; i++) {
		pair(sv[i]);
		fds[i] = sv[i][0];
	}
	sendmany_send(sm, fds, NPAIRS, line, strlen(line), sent);
	for (int i = 0; i < NPAIRS; i++) {
		ck_assert_uint_eq(sent[i], strlen(line));
		ck_assert_uint_eq(drain(sv[i][1], buf, sizeof buf), strlen(line));
		ck_assert_int_eq(memcmp(buf, line, strlen(line)), 0);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	sendmany_free(sm);
}
END_TEST

/* A socket whose buffer is full takes nothing (or a part) and says so;
 * one whose peer has gone takes nothing, without SIGPIPE; the others are
 * not held up by either. */
START_TEST(full_and_closed_sockets_say_what_they_took)
{
	static const char line[] = "0123456789abcdef\n";
	struct sendmany *sm = sender(_i);
	int full[2], gone[2], fine[2], fds[3];
	size_t sent[3], filled = 0;
	char chunk[4096], buf[64];

	pair(full);
	pair(gone);
	pair(fine);
	memset(chunk, 'x', sizeof chunk);
	for (ssize_t n; (n = write(full[0], chunk, sizeof chunk)) > 0;)
		filled += (size_t)n;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_gt(filled, 0);
	close(gone[1]);
	fds[0] = full[0];
	fds[1] = gone[0];
	fds[2] = fine[0];
	sendmany_send(sm, fds, 3, line, strlen(line), sent);
	ck_assert_uint_lt(sent[0], strlen(line));
	ck_assert_uint_eq(sent[1], 0);
	ck_assert_uint_eq(sent[2], strlen(line));
	ck_assert_uint_eq(drain(fine[1], buf, sizeof buf), strlen(line));
	close(full[0]);
	close(full[1]);
	close(gone[0]);
	close(fine[0]);
	close(fine[1]);
	sendmany_free(sm);
}
END_TEST

/* More sockets than one batch holds: the batches follow each other and
 * every send is made once (one socket listed that many times). */
START_TEST(more_than_one_batch)
{
	enum { N = SENDMANY_DEPTH + SENDMANY_DEPTH / 2 + 7 };
	struct sendmany *sm = sender(_i);
	int sv[2], *fds = calloc(N, sizeof *fds);
	size_t *sent = calloc(N, sizeof *sent);
	char *buf = malloc(2 * N);

	ck_assert_ptr_nonnull(fds);
	ck_assert_ptr_nonnull(sent);
	ck_assert_ptr_nonnull(buf);
	tcp_pair(sv);
	for (int i = 0; i < N; i++)
		fds[i] = sv[0];
	sendmany_send(sm, fds, N, "x", 1, sent);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(sent[i], 1);
	ck_assert_uint_eq(drain(sv[1], buf, 2 * N), N);
	close(sv[0]);
	close(sv[1]);
	free(fds);
	free(sent);
	free(buf);
	sendmany_free(sm);
}
END_TEST

/* Which way the sends go here, so that a log says what was tested. */
START_TEST(says_whether_it_batches)
{
	struct sendmany *batched = sendmany_new(true), *each = sendmany_new(false);

	ck_assert(!sendmany_batched(each));
	fprintf(stderr, "sendmany: io_uring %s on this machine\n",
		sendmany_batched(batched) ? "used" : "not available");
	sendmany_free(batched);
	sendmany_free(each);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sendmany");
	TCase *tc = tcase_create("sends");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, every_socket_gets_the_line, 0, 2);
	tcase_add_loop_test(tc, full_and_closed_sockets_say_what_they_took, 0, 2);
	tcase_add_loop_test(tc, more_than_one_batch, 0, 2);
	tcase_add_test(tc, says_whether_it_batches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
