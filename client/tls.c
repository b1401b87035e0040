#include "client/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client/conn.h"

/*
 * OpenSSL writes to the socket with write(), which raises SIGPIPE when
 * the server has gone; plain TCP avoids that with MSG_NOSIGNAL. Ignoring
 * SIGPIPE for the whole process would instead keep "kolapp watch | head"
 * running after head exits, so block it only around OpenSSL's calls and
 * swallow one it raised (the way libpq does).
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	static const struct timespec zero = { 0, 0 };
	int saved = errno; /* the caller reads the SSL call's errno */
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	sigprocmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* The most specific reason OpenSSL queued, for a person. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int load_trust(struct conn *c, const struct conn_tls *opt)
{
	if (opt->ca_file) {
		/* OpenSSL would only say "system lib" for a missing file. */
		if (access(opt->ca_file, R_OK) != 0) {
			snprintf(c->err, sizeof(c->err), "TLS: cannot read the CA file %s: %s",
				 opt->ca_file, strerror(errno));
			return -1;
		}
		if (SSL_CTX_load_verify_locations(c->ssl_ctx, opt->ca_file, NULL) != 1) {
			snprintf(c->err, sizeof(c->err),
				 "TLS: cannot load CA certificates from %s: %s", opt->ca_file,
				 ssl_reason());
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
		snprintf(c->err, sizeof(c->err),
			 "TLS: cannot load the system's CA certificates: %s", ssl_reason());
		return -1;
	}
	return 0;
}

int tls_begin(struct conn *c, const char *host, const struct conn_tls *opt)
{
	X509_VERIFY_PARAM *param;
	bool ip = is_ip_literal(host);

	ERR_clear_error();
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ssl_ctx || SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1) {
		snprintf(c->err, sizeof(c->err), "TLS: cannot set up: %s", ssl_reason());
		return -1;
	}
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
	/* Partial writes let conn_send advance like send() does. */
	SSL_CTX_set_mode(c->ssl_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* The daemon may close without close_notify (after bye, on idle
	 * timeout); the line framing already shows a truncated reply. */
	SSL_CTX_set_options(c->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (load_trust(c, opt) < 0)
		return -1;
	c->ssl = SSL_new(c->ssl_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(c->err, sizeof(c->err), "TLS: cannot set up: %s", ssl_reason());
		return -1;
	}
	/* RFC 6066 forbids IP literals in SNI. */
	if (!ip && SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		snprintf(c->err, sizeof(c->err), "TLS: bad server name '%s'", host);
		return -1;
	}
	if (!opt->insecure) {
		/* SSL_set1_host matches DNS names only; an address must
		 * match an iPAddress entry of the certificate. */
		param = SSL_get0_param(c->ssl);
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
		       : SSL_set1_host(c->ssl, host) != 1) {
			snprintf(c->err, sizeof(c->err),
				 "TLS: cannot check the certificate against '%s'", host);
			return -1;
		}
	}
	SSL_set_connect_state(c->ssl);
	return 0;
}

static void describe(struct conn *c, bool handshake, const char *reason)
{
	if (handshake)
		snprintf(c->err, sizeof(c->err), "TLS: handshake with %s failed: %s", c->peer,
			 reason);
	else
		snprintf(c->err, sizeof(c->err), "lost the connection to %s: TLS: %s", c->peer,
			 reason);
}

/* Maps the failure of an SSL_* call: 0 (end of stream), TLS_WAIT or
 * TLS_FAIL. errno must be as the call left it. */
static int classify(struct conn *c, int r, short *events, bool handshake)
{
	int saved = errno;
	int e = SSL_get_error(c->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ: *events = POLLIN; return TLS_WAIT;
	case SSL_ERROR_WANT_WRITE: *events = POLLOUT; return TLS_WAIT;
	case SSL_ERROR_ZERO_RETURN: return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && saved == 0)
			return 0; /* EOF without close_notify (OpenSSL 1.1) */
		if (saved == EINTR || saved == EAGAIN) {
			*events = POLLIN | POLLOUT;
			return TLS_WAIT;
		}
		c->ssl_broken = true;
		describe(c, handshake, saved ? strerror(saved) : ssl_reason());
		return TLS_FAIL;
	default:
		c->ssl_broken = true;
		describe(c, handshake, ssl_reason());
		return TLS_FAIL;
	}
}

int tls_handshake(struct conn *c, short *events)
{
	struct sigpipe_guard g;
	long vr;
	int r;

	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	r = SSL_do_handshake(c->ssl);
	sigpipe_restore(&g);
	if (r == 1)
		return 0;
	vr = SSL_get_verify_result(c->ssl);
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_SSL && vr != X509_V_OK) {
		c->ssl_broken = true;
		snprintf(c->err, sizeof(c->err), "TLS: certificate verify failed: %s (%s)",
			 X509_verify_cert_error_string(vr), c->peer);
		return TLS_FAIL;
	}
	r = classify(c, r, events, true);
	if (r == 0) {
		c->ssl_broken = true;
		snprintf(c->err, sizeof(c->err),
			 "TLS: %s closed the connection during the handshake "
			 "(is it a TLS port?)",
			 c->peer);
		return TLS_FAIL;
	}
	return r;
}

ssize_t tls_recv(struct conn *c, void *buf, size_t len, short *events)
{
	struct sigpipe_guard g;
	size_t got = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	/* A TLS 1.3 key update makes a read write: SIGPIPE again. */
	sigpipe_block(&g);
	r = SSL_read_ex(c->ssl, buf, len, &got);
	sigpipe_restore(&g);
	if (r == 1)
		return (ssize_t)got;
	return classify(c, 0, events, false);
}

ssize_t tls_send(struct conn *c, const void *buf, size_t len, short *events)
{
	struct sigpipe_guard g;
	size_t put = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	r = SSL_write_ex(c->ssl, buf, len, &put);
	sigpipe_restore(&g);
	if (r == 1)
		return (ssize_t)put;
	r = classify(c, 0, events, false);
	if (r == 0) {
		/* Writing to a closed stream is a failure, not an EOF. */
		c->ssl_broken = true;
		snprintf(c->err, sizeof(c->err), "%s closed the connection", c->peer);
		return TLS_FAIL;
	}
	return r;
}

size_t tls_pending(const struct conn *c)
{
	int n = c->ssl ? SSL_pending(c->ssl) : 0;

	return n > 0 ? (size_t)n : 0;
}

void tls_end(struct conn *c)
{
	struct sigpipe_guard g;

	if (c->ssl && !c->ssl_broken && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		sigpipe_block(&g);
		(void)SSL_shutdown(c->ssl);
		sigpipe_restore(&g);
	}
	SSL_free(c->ssl);
	SSL_CTX_free(c->ssl_ctx);
	c->ssl = NULL;
	c->ssl_ctx = NULL;
	ERR_clear_error();
}
