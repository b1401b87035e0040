/* Integration test of TLS: kolappd with --listen-tls (certificate and key
 * from a --config file) next to its plain --listen, against a real
 * PostgreSQL; a TLS client written here with OpenSSL, and the kolapp
 * binary with --tls. The CAs and the server certificate are made at test
 * time with OpenSSL's C API, so no openssl command is needed. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tests/integration/harness.h"

#define TOKSZ 256

static char *g_db;
static struct h_daemon g_d;
static int g_tls_port;
static char g_tls_port_s[16], g_plain_port_s[16]; /* for kolapp's -p */
static char g_dir[256];
static char g_ca[300], g_other_ca[300];
static char g_admin[TOKSZ], g_kiosk[TOKSZ], g_display[TOKSZ];

/* ---- certificates ------------------------------------------------------- */

static EVP_PKEY *new_key(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *k = NULL;

	if (kc && EVP_PKEY_keygen_init(kc) == 1 &&
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) == 1)
		EVP_PKEY_keygen(kc, &k);
	EVP_PKEY_CTX_free(kc);
	return k;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer (self-signed when
 * issuer is NULL): a CA, or a server certificate with san. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name;
	bool ca = san == NULL;

	if (!c)
		return NULL;
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 2 * 86400);
	X509_set_pubkey(c, key);
	name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	if (add_ext(c, issuer ? issuer : c, NID_basic_constraints,
		    ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(c, issuer ? issuer : c, NID_key_usage,
		    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    add_ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash") < 0 ||
	    (san && (add_ext(c, issuer, NID_subject_alt_name, san) < 0 ||
		     add_ext(c, issuer, NID_ext_key_usage, "serverAuth") < 0)) ||
	    X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
		X509_free(c);
		return NULL;
	}
	return c;
}

static int write_pem(const char *file, X509 *cert, EVP_PKEY *key)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", g_dir, file);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = cert ? PEM_write_X509(f, cert)
		  : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

/* ca.pem signs srv.pem (localhost, 127.0.0.1); other-ca.pem signs nothing
 * the daemon shows. Also writes kolappd.conf naming srv.pem/srv.key. */
static int make_pki(void)
{
	EVP_PKEY *ca_key = new_key(), *srv_key = new_key(), *other_key = new_key();
	X509 *ca = NULL, *srv = NULL, *other = NULL;
	char conf[512];
	FILE *f;
	int rc = -1;

	if (!ca_key || !srv_key || !other_key)
		goto out;
	ca = make_cert(ca_key, "kolapp test CA", NULL, NULL, NULL, 1);
	other = make_cert(other_key, "kolapp untrusted CA", NULL, NULL, NULL, 1);
	srv = ca ? make_cert(srv_key, "localhost", ca, ca_key, "DNS:localhost,IP:127.0.0.1", 2)
		 : NULL;
	if (!ca || !other || !srv || write_pem("ca.pem", ca, NULL) < 0 ||
	    write_pem("other-ca.pem", other, NULL) < 0 || write_pem("srv.pem", srv, NULL) < 0 ||
	    write_pem("srv.key", NULL, srv_key) < 0)
		goto out;
	snprintf(conf, sizeof conf, "%s/kolappd.conf", g_dir);
	f = fopen(conf, "w");
	if (!f)
		goto out;
	fprintf(f, "# written by test_tls\ntls_cert = %s/srv.pem\ntls_key = %s/srv.key\n", g_dir,
		g_dir);
	rc = fclose(f) == 0 ? 0 : -1;
out:
	if (rc < 0)
		ERR_print_errors_fp(stderr);
	X509_free(ca);
	X509_free(srv);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(other_key);
	return rc;
}

/* ---- a small TLS line client ------------------------------------------- */

struct tc {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[65536];
	size_t len;
	long verify; /* SSL_get_verify_result after the handshake */
};

static void tc_free(struct tc *t)
{
	if (!t)
		return;
	if (t->ssl)
		SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* Connects to the TLS port trusting ca_file, checking name (an address or
 * a DNS name). *out gets the client even when the handshake failed (to
 * read t->verify); returns whether the handshake succeeded. */
static bool tc_open(const char *ca_file, const char *name, struct tc **out)
{
	struct tc *t = calloc(1, sizeof *t);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	long long deadline = h_now_ms() + 5000;
	struct in_addr ip;

	*out = t;
	ck_assert_ptr_nonnull(t);
	t->fd = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)g_tls_port);
	/* The listener may trail the plain one the harness waited for. */
	for (;;) {
		t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(t->fd, 0);
		if (connect(t->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		close(t->fd);
		t->fd = -1;
		ck_assert_msg(h_now_ms() < deadline, "cannot connect to the TLS port %d: %s",
			      g_tls_port, strerror(errno));
		usleep(50000);
	}
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	t->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(t->ctx);
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL), 1);
	t->ssl = SSL_new(t->ctx);
	ck_assert_ptr_nonnull(t->ssl);
	SSL_set_fd(t->ssl, t->fd);
	if (inet_pton(AF_INET, name, &ip) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name);
	else {
		SSL_set_tlsext_host_name(t->ssl, name);
		SSL_set1_host(t->ssl, name);
	}
	ERR_clear_error();
	if (SSL_connect(t->ssl) != 1) {
		t->verify = SSL_get_verify_result(t->ssl);
		return false;
	}
	t->verify = SSL_get_verify_result(t->ssl);
	return true;
}

static int tc_send(struct tc *t, const char *s)
{
	size_t n = strlen(s);

	return SSL_write(t->ssl, s, (int)n) == (int)n ? 0 : -1;
}

/* One line (malloc'd, without "\n"); NULL on EOF, error or the 5 s
 * receive timeout. */
static char *tc_line(struct tc *t)
{
	char *nl, *line;
	int n;

	for (;;) {
		nl = memchr(t->buf, '\n', t->len);
		if (nl) {
			line = strndup(t->buf, (size_t)(nl - t->buf));
			t->len -= (size_t)(nl - t->buf) + 1;
			memmove(t->buf, nl + 1, t->len);
			return line;
		}
		if (t->len == sizeof t->buf)
			return NULL;
		n = SSL_read(t->ssl, t->buf + t->len, (int)(sizeof t->buf - t->len));
		if (n <= 0)
			return NULL;
		t->len += (size_t)n;
	}
}

static json_t *tc_request(struct tc *t, const char *req)
{
	char line[1024];
	char *reply;
	json_t *j;

	snprintf(line, sizeof line, "%s\n", req);
	if (tc_send(t, line) < 0)
		return NULL;
	reply = tc_line(t);
	j = reply ? json_loads(reply, 0, NULL) : NULL;
	free(reply);
	return j;
}

/* The same requests over plain TCP (the harness's --listen port). */
static json_t *plain_request(int fd, const char *req)
{
	json_t *r = h_request(fd, req);

	ck_assert_msg(r != NULL, "no plain reply to %s", req);
	return r;
}

/* ---- the kolapp binary -------------------------------------------------- */

struct run {
	int status; /* exit status, or -1 (killed, or timed out) */
	char out[16384], err[4096];
};

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Starts kolapp with argv (argv[0] ignored) and env, output to files. */
static pid_t kolapp_spawn(char *const argv[], char *const env[], int tag)
{
	char bin[512], out[512], err[512];
	const char *bd = getenv("KOLAPP_BUILDDIR");
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/kolapp", bd && *bd ? bd : KOLAPP_BUILDDIR);
	snprintf(out, sizeof out, "%s/out-%d", g_dir, tag);
	snprintf(err, sizeof err, "%s/err-%d", g_dir, tag);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		for (; env && *env; env++)
			putenv(*env);
		unsetenv("KOLAPP_TOKEN");
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

/* Waits for pid until timeout_ms, killing it then; fills r. */
static void kolapp_reap(pid_t pid, int tag, int timeout_ms, struct run *r)
{
	long long deadline = h_now_ms() + timeout_ms;
	char path[512];
	int st = 0;

	r->status = -1;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		usleep(20000);
	}
	if (st != -1 && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	snprintf(path, sizeof path, "%s/out-%d", g_dir, tag);
	slurp(path, r->out, sizeof r->out);
	snprintf(path, sizeof path, "%s/err-%d", g_dir, tag);
	slurp(path, r->err, sizeof r->err);
}

static void kolapp_run(char *const argv[], char *const env[], struct run *r)
{
	static int tag;

	tag++;
	kolapp_reap(kolapp_spawn(argv, env, tag), tag, 20000, r);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(tls_same_answers_as_plain)
{
	const char *reqs[] = {
		"{\"id\":1,\"op\":\"ping\"}",
		NULL, /* hello, filled in below */
		"{\"id\":3,\"op\":\"status\"}",
	};
	char hello[512];
	struct tc *t;
	int fd = h_connect(g_d.port);
	size_t i;

	snprintf(hello, sizeof hello, "{\"id\":2,\"op\":\"hello\",\"token\":\"%s\"}", g_admin);
	reqs[1] = hello;
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(tc_open(g_ca, "127.0.0.1", &t), "TLS handshake failed: verify %ld (%s)",
		      t->verify, X509_verify_cert_error_string(t->verify));
	ck_assert_int_eq(t->verify, X509_V_OK);
	ck_assert_int_ge(SSL_version(t->ssl), TLS1_2_VERSION);
	for (i = 0; i < 3; i++) {
		json_t *a = tc_request(t, reqs[i]);
		json_t *b = plain_request(fd, reqs[i]);
		char *sa, *sb;

		ck_assert_msg(a != NULL, "no TLS reply to %s", reqs[i]);
		ck_assert_msg(json_is_true(json_object_get(a, "ok")), "TLS %s failed", reqs[i]);
		sa = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
		sb = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
		ck_assert_msg(json_equal(a, b), "TLS and plain differ:\n%s\n%s", sa, sb);
		free(sa);
		free(sb);
		json_decref(a);
		json_decref(b);
	}
	{
		json_t *st = tc_request(t, "{\"id\":4,\"op\":\"status\"}");

		ck_assert_ptr_nonnull(st);
		ck_assert_str_eq(json_string_value(json_object_get(st, "office")), "t");
		ck_assert_str_eq(json_string_value(json_object_get(
					 json_array_get(json_object_get(st, "queues"), 0), "code")),
				 "S");
		json_decref(st);
	}
	tc_free(t);
	h_close(fd);
}
END_TEST

START_TEST(plain_client_on_tls_port_gets_nothing)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096];
	long long deadline = h_now_ms() + 5000;
	bool closed = false;
	ssize_t n;
	struct timeval tv = { 0, 200000 };

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)g_tls_port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* MSG_NOSIGNAL: the server may already have closed. */
	(void)send(fd, "{\"id\":1,\"op\":\"ping\"}\n", 21, MSG_NOSIGNAL);
	while (!closed && h_now_ms() < deadline) {
		n = recv(fd, buf, sizeof buf - 1, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			closed = true;
		} else if (n > 0) {
			buf[n] = '\0';
			/* A TLS alert may come back, but never a reply line. */
			ck_assert_msg(strstr(buf, "\"ok\"") == NULL,
				      "the TLS port answered plain text: %s", buf);
		}
	}
	close(fd);
	ck_assert_msg(closed, "the TLS port kept a plain-text client open for 5 s");
}
END_TEST

START_TEST(untrusting_client_fails_verification)
{
	struct tc *t;

	ck_assert_msg(!tc_open(g_other_ca, "127.0.0.1", &t),
		      "handshake succeeded although the CA is not trusted");
	ck_assert_int_ne(t->verify, X509_V_OK);
	tc_free(t);
	/* The right CA but the wrong name fails too. */
	ck_assert_msg(!tc_open(g_ca, "wrong.example", &t),
		      "handshake succeeded for a name the certificate lacks");
	ck_assert_int_eq(t->verify, X509_V_ERR_HOSTNAME_MISMATCH);
	tc_free(t);
	/* ...and it is the daemon's certificate that names localhost. */
	ck_assert(tc_open(g_ca, "localhost", &t));
	tc_free(t);
}
END_TEST

START_TEST(kolapp_status_over_tls)
{
	char *tls_argv[] = { "kolapp",     "--tls", "--ca",  g_ca,     "-p",
			     g_tls_port_s, "-t",    g_admin, "status", NULL };
	char *json_tls[] = { "kolapp", "--tls", "--ca",   g_ca,     "-p", g_tls_port_s,
			     "-t",     g_admin, "--json", "status", NULL };
	char *json_plain[] = { "kolapp", "-p",     g_plain_port_s, "-t",
			       g_admin,  "--json", "status",       NULL };
	static struct run a, b, c;

	kolapp_run(tls_argv, NULL, &a);
	ck_assert_msg(a.status == 0, "kolapp --tls status: exit %d, stderr: %s", a.status, a.err);
	ck_assert_msg(strstr(a.out, "Service") != NULL, "no queue in the output: %s", a.out);
	kolapp_run(json_tls, NULL, &b);
	kolapp_run(json_plain, NULL, &c);
	ck_assert_msg(b.status == 0 && c.status == 0, "exit %d / %d: %s %s", b.status, c.status,
		      b.err, c.err);
	ck_assert_str_eq(b.out, c.out);
}
END_TEST

START_TEST(kolapp_wrong_ca_exits_3)
{
	char *argv[] = { "kolapp",     "--tls", "--ca",  g_other_ca, "-p",
			 g_tls_port_s, "-t",    g_admin, "status",   NULL };
	static struct run r;

	kolapp_run(argv, NULL, &r);
	ck_assert_msg(r.status == 3, "exit %d (want 3), stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "kolapp: TLS: certificate verify failed: ") == r.err,
		      "unexpected message: %s", r.err);
	ck_assert_str_eq(r.out, "");
}
END_TEST

START_TEST(kolapp_tls_from_environment)
{
	char ca_env[400];
	char *env[] = { "KOLAPP_TLS=1", ca_env, NULL };
	char *argv[] = { "kolapp", "-p", g_tls_port_s, "ping", NULL };
	static struct run r;

	snprintf(ca_env, sizeof ca_env, "KOLAPP_CA=%s", g_ca);
	kolapp_run(argv, env, &r);
	ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "pong\n");
	/* Without KOLAPP_TLS the same port is not spoken to in plain text. */
	env[0] = "KOLAPP_TLS=0";
	kolapp_run((char *[]){ "kolapp", "--timeout", "2", "-p", g_tls_port_s, "ping", NULL }, env,
		   &r);
	ck_assert_msg(r.status == 3, "plain ping to the TLS port: exit %d", r.status);
}
END_TEST

START_TEST(kolapp_tls_to_plain_port_exits_3)
{
	char *argv[] = { "kolapp", "--tls", "--ca",         g_ca,   "--timeout",
			 "2",      "-p",    g_plain_port_s, "ping", NULL };
	static struct run r;

	kolapp_run(argv, NULL, &r);
	ck_assert_msg(r.status == 3, "exit %d (want 3), stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "kolapp: TLS: ") == r.err, "unexpected message: %s", r.err);
}
END_TEST

START_TEST(kolapp_watch_over_tls)
{
	char *argv[] = { "kolapp",     "--tls", "--ca",    g_ca,     "-H",    "localhost", "-p",
			 g_tls_port_s, "-t",    g_display, "--json", "watch", NULL };
	char hello[512], path[512];
	static char out[16384];
	static struct run r;
	long long deadline;
	pid_t pid = kolapp_spawn(argv, NULL, 100);
	bool seen = false;
	json_t *rep;
	int fd = h_connect(g_d.port);

	ck_assert_int_ge(fd, 0);
	snprintf(hello, sizeof hello, "{\"op\":\"hello\",\"token\":\"%s\"}", g_kiosk);
	rep = plain_request(fd, hello);
	ck_assert(json_is_true(json_object_get(rep, "ok")));
	json_decref(rep);
	/* Issue until watch shows one: it may subscribe after the first. */
	snprintf(path, sizeof path, "%s/out-100", g_dir);
	deadline = h_now_ms() + 10000;
	while (!seen && h_now_ms() < deadline) {
		rep = plain_request(fd, "{\"op\":\"issue\",\"queue\":\"S\"}");
		ck_assert_msg(json_is_true(json_object_get(rep, "ok")), "issue failed");
		json_decref(rep);
		for (int i = 0; i < 10 && !seen; i++) {
			usleep(50000);
			slurp(path, out, sizeof out);
			seen = strstr(out, "\"event\":\"issued\"") != NULL ||
			       strstr(out, "\"event\": \"issued\"") != NULL;
		}
	}
	h_close(fd);
	kill(pid, SIGINT);
	kolapp_reap(pid, 100, 10000, &r);
	ck_assert_msg(seen, "kolapp watch over TLS printed no issued event: %s / %s", r.out, r.err);
	ck_assert_msg(r.status == 0, "watch after SIGINT: exit %d, stderr: %s", r.status, r.err);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tls_same_answers_as_plain);
	tcase_add_test(tc, plain_client_on_tls_port_gets_nothing);
	tcase_add_test(tc, untrusting_client_fails_verification);
	tcase_add_test(tc, kolapp_status_over_tls);
	tcase_add_test(tc, kolapp_wrong_ca_exits_3);
	tcase_add_test(tc, kolapp_tls_from_environment);
	tcase_add_test(tc, kolapp_tls_to_plain_port_exits_3);
	tcase_add_test(tc, kolapp_watch_over_tls);
	suite_add_tcase(s, tc);
	return s;
}

static int seed(void)
{
	char out[TOKSZ];

	return h_psql(g_db, "SELECT kolapp.add_office('t','T','UTC')", out, sizeof out) ||
			       h_psql(g_db, "SELECT kolapp.add_queue('t','S','Service')", out,
				      sizeof out) ||
			       h_psql(g_db, "SELECT kolapp.add_counter('t','1',ARRAY['S'])", out,
				      sizeof out) ||
			       h_psql(g_db, "SELECT kolapp.create_token('admin','t')", g_admin,
				      TOKSZ) ||
			       h_psql(g_db, "SELECT kolapp.create_token('kiosk','t')", g_kiosk,
				      TOKSZ) ||
			       h_psql(g_db, "SELECT kolapp.create_token('display','t')", g_display,
				      TOKSZ)
		     ? -1
		     : 0;
}

static void remove_dir(void)
{
	static const char *files[] = { "ca.pem", "other-ca.pem", "srv.pem", "srv.key",
				       "kolappd.conf" };
	char path[512];
	size_t i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
		unlink(path);
	}
	for (i = 0; i <= 100; i++) { /* the tags kolapp_spawn used */
		snprintf(path, sizeof path, "%s/out-%zu", g_dir, i);
		unlink(path);
		snprintf(path, sizeof path, "%s/err-%zu", g_dir, i);
		unlink(path);
	}
	rmdir(g_dir);
}

int main(void)
{
	char extra[1024];
	SRunner *sr;
	int failed;

	snprintf(g_dir, sizeof g_dir, "/tmp/kolapp-tls-XXXXXX");
	if (!mkdtemp(g_dir) || make_pki() < 0) {
		fprintf(stderr, "test_tls: cannot make the certificates in %s\n", g_dir);
		return 99;
	}
	snprintf(g_ca, sizeof g_ca, "%s/ca.pem", g_dir);
	snprintf(g_other_ca, sizeof g_other_ca, "%s/other-ca.pem", g_dir);
	h_pg_base_conninfo();
	g_db = h_create_db();
	if (!g_db || h_migrate(g_db) != 0 || seed() != 0) {
		fprintf(stderr, "test_tls: cannot create, migrate or seed a test database\n");
		return 99;
	}
	g_tls_port = h_free_port();
	snprintf(extra, sizeof extra, "--config %s/kolappd.conf --listen-tls 127.0.0.1:%d", g_dir,
		 g_tls_port);
	if (h_daemon_start(&g_d, g_db, extra) != 0) {
		fprintf(stderr, "test_tls: kolappd %s did not start\n", extra);
		return 99;
	}
	snprintf(g_tls_port_s, sizeof g_tls_port_s, "%d", g_tls_port);
	snprintf(g_plain_port_s, sizeof g_plain_port_s, "%d", g_d.port);
	sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (h_daemon_stop(&g_d) != 0) {
		fprintf(stderr, "test_tls: kolappd did not stop cleanly\n");
		failed++;
	}
	h_daemon_free(&g_d);
	h_drop_db(g_db);
	free(g_db);
	remove_dir();
	return failed == 0 ? 0 : 1;
}
