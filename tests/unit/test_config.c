/* Unit tests of daemon/config (the settings table: parsing, bounds,
 * copying, printing) and daemon/util/addr (listen addresses). */
#include "daemon/config.h"
#include "daemon/util/addr.h"
#include "daemon/util/log.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- parsing ------------------------------------------------------------- */

/* config_set must refuse key = value with exactly want_err. */
static void expect_refused(struct config *cfg, const char *key, const char *value,
			   const char *want_err)
{
	char err[200] = "";

	ck_assert_msg(config_set(cfg, key, value, err, sizeof err) == -1, "%s = %s accepted", key,
		      value);
	ck_assert_str_eq(err, want_err);
}

static void expect_set(struct config *cfg, const char *key, const char *value)
{
	char err[200] = "";

	ck_assert_msg(config_set(cfg, key, value, err, sizeof err) == 0, "%s = %s: %s", key, value,
		      err);
}

START_TEST(defaults)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_ptr_null(cfg.conninfo);
	ck_assert_ptr_null(cfg.conninfo_file);
	ck_assert_ptr_null(cfg.tls_cert);
	ck_assert_ptr_null(cfg.tls_key);
	ck_assert_int_eq(cfg.nlisten, 0);
	ck_assert_int_eq(cfg.nlisten_tls, 0);
	ck_assert_int_eq(cfg.nhttp, 0);
	ck_assert_str_eq(cfg.data_dir, KOLAPP_DATADIR);
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
	ck_assert_uint_eq(cfg.limits.max_line, 65536);
	ck_assert_uint_eq(cfg.limits.max_output, 4194304);
	ck_assert_int_eq(cfg.limits.max_pending, 256);
	ck_assert_int_eq(cfg.limits.max_connections, 20000);
	ck_assert_int_eq(cfg.limits.hello_timeout_s, 30);
	ck_assert_int_eq(cfg.limits.idle_timeout_s, 0);
	ck_assert_int_eq(cfg.limits.rate_limit, 2000);
	config_clear(&cfg);
}
END_TEST

START_TEST(table_rows)
{
	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];

		ck_assert_msg(s->desc && *s->desc, "%s has no description", s->name);
		ck_assert_ptr_eq(config_find(s->name), s);
	}
	ck_assert_uint_eq(config_nsettings, 22);
	ck_assert_ptr_null(config_find("nope"));
	/* What a reload applies, and what waits for a restart. */
	ck_assert(!(config_find("conninfo")->flags & CONFIG_RELOAD));
	ck_assert(!(config_find("conninfo_file")->flags & CONFIG_RELOAD));
	ck_assert(!(config_find("http")->flags & CONFIG_RELOAD));
	ck_assert(!(config_find("data_dir")->flags & CONFIG_RELOAD));
	ck_assert(config_find("public_url")->flags & CONFIG_RELOAD);
	/* A daemon's identity among several holds for its life. */
	ck_assert(!(config_find("node_name")->flags & CONFIG_RELOAD));
	ck_assert(!(config_find("advertise")->flags & CONFIG_RELOAD));
	ck_assert(!(config_find("advertise_http")->flags & CONFIG_RELOAD));
	ck_assert(config_find("max_offices")->flags & CONFIG_RELOAD);
	ck_assert(config_find("estimate_share")->flags & CONFIG_RELOAD);
	ck_assert(config_find("listen")->flags & CONFIG_RELOAD);
	ck_assert(config_find("listen_tls")->flags & CONFIG_RELOAD);
	ck_assert(config_find("tls_cert")->flags & CONFIG_RELOAD);
	ck_assert(config_find("tls_key")->flags & CONFIG_RELOAD);
	ck_assert(config_find("log_level")->flags & CONFIG_RELOAD);
	ck_assert(config_find("rate_limit")->flags & CONFIG_RELOAD);
}
END_TEST

START_TEST(each_type_parses)
{
	struct config cfg;

	config_init(&cfg);
	expect_set(&cfg, "conninfo", "dbname=a");
	expect_set(&cfg, "conninfo", "dbname=b");
	ck_assert_str_eq(cfg.conninfo, "dbname=b");
	expect_set(&cfg, "tls_key", "/k.pem");
	ck_assert_str_eq(cfg.tls_key, "/k.pem");
	expect_set(&cfg, "data_dir", "/d");
	ck_assert_str_eq(cfg.data_dir, "/d");

	expect_set(&cfg, "listen", "127.0.0.1:1");
	expect_set(&cfg, "listen", "[::1]:2");
	ck_assert_int_eq(cfg.nlisten, 2);
	ck_assert_str_eq(cfg.listen[0], "127.0.0.1:1");
	ck_assert_str_eq(cfg.listen[1], "[::1]:2");
	expect_set(&cfg, "http", "0.0.0.0:8080");
	ck_assert_int_eq(cfg.nhttp, 1);
	ck_assert_str_eq(cfg.http[0], "0.0.0.0:8080");
	ck_assert_int_eq(cfg.nlisten_tls, 0);

	expect_set(&cfg, "max_pending", "7");
	ck_assert_int_eq(cfg.limits.max_pending, 7);
	expect_set(&cfg, "max_line", "300");
	ck_assert_uint_eq(cfg.limits.max_line, 300);
	expect_set(&cfg, "idle_timeout", "60");
	ck_assert_int_eq(cfg.limits.idle_timeout_s, 60);
	/* Only the row's own field moved. */
	ck_assert_int_eq(cfg.limits.hello_timeout_s, 30);
	ck_assert_uint_eq(cfg.limits.max_output, 4194304);

	expect_set(&cfg, "log_level", "debug");
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	expect_set(&cfg, "log_level", "WARNING");
	ck_assert_int_eq(cfg.log_level, LOG_WARN);
	expect_refused(&cfg, "log_level", "loud", "log_level must be debug, info, warn or error");
	ck_assert_int_eq(cfg.log_level, LOG_WARN);
	config_clear(&cfg);
}
END_TEST

START_TEST(list_limit)
{
	static const char *const keys[] = { "listen", "listen_tls", "http" };
	struct config cfg;
	char want[100];

	config_init(&cfg);
	for (size_t k = 0; k < 3; k++) {
		for (int i = 0; i < CONFIG_MAX_LISTEN; i++)
			expect_set(&cfg, keys[k], "127.0.0.1:1");
		snprintf(want, sizeof want, "too many %s addresses (at most 16)", keys[k]);
		expect_refused(&cfg, keys[k], "127.0.0.1:2", want);
	}
	ck_assert_int_eq(cfg.nlisten, CONFIG_MAX_LISTEN);
	ck_assert_int_eq(cfg.nlisten_tls, CONFIG_MAX_LISTEN);
	ck_assert_int_eq(cfg.nhttp, CONFIG_MAX_LISTEN);
	/* Reset empties a list (its default); the other lists stay. */
	config_reset(&cfg, "listen_tls");
	ck_assert_int_eq(cfg.nlisten_tls, 0);
	ck_assert_int_eq(cfg.nlisten, CONFIG_MAX_LISTEN);
	expect_set(&cfg, "listen_tls", "127.0.0.1:3");
	ck_assert_str_eq(cfg.listen_tls[0], "127.0.0.1:3");
	config_clear(&cfg);
}
END_TEST

START_TEST(bounds)
{
	static const struct {
		const char *key;
		long lo, hi;
	} want[] = {
		{ "max_line", 256, 16777216 }, { "max_output", 4096, 1073741824 },
		{ "max_pending", 1, 100000 },  { "max_connections", 1, 1000000 },
		{ "hello_timeout", 0, 86400 }, { "idle_timeout", 0, 604800 },
		{ "rate_limit", 0, 1000000 },
	};
	struct config cfg, before;
	char v[32], msg[160];

	config_init(&cfg);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct config_setting *s = config_find(want[i].key);

		ck_assert_ptr_nonnull(s);
		snprintf(msg, sizeof msg, "%s must be a whole number from %ld to %ld", want[i].key,
			 want[i].lo, want[i].hi);
		config_copy(&before, &cfg);
		snprintf(v, sizeof v, "%ld", want[i].lo - 1);
		expect_refused(&cfg, want[i].key, v, msg);
		snprintf(v, sizeof v, "%ld", want[i].hi + 1);
		expect_refused(&cfg, want[i].key, v, msg);
		expect_refused(&cfg, want[i].key, "", msg);
		expect_refused(&cfg, want[i].key, "12x", msg);
		expect_refused(&cfg, want[i].key, "99999999999999999999999", msg);
		/* A refused value leaves the old one. */
		ck_assert(config_equal(s, &cfg, &before));
		snprintf(v, sizeof v, "%ld", want[i].hi);
		expect_set(&cfg, want[i].key, v);
		ck_assert(!config_equal(s, &cfg, &before));
		config_clear(&before);
	}
	ck_assert_uint_eq(cfg.limits.max_line, 16777216);
	ck_assert_uint_eq(cfg.limits.max_output, 1073741824);
	ck_assert_int_eq(cfg.limits.max_pending, 100000);
	ck_assert_int_eq(cfg.limits.max_connections, 1000000);
	ck_assert_int_eq(cfg.limits.hello_timeout_s, 86400);
	ck_assert_int_eq(cfg.limits.idle_timeout_s, 604800);
	ck_assert_int_eq(cfg.limits.rate_limit, 1000000);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		snprintf(v, sizeof v, "%ld", want[i].lo);
		expect_set(&cfg, want[i].key, v);
	}
	ck_assert_uint_eq(cfg.limits.max_line, 256);
	ck_assert_uint_eq(cfg.limits.max_output, 4096);
	ck_assert_int_eq(cfg.limits.max_pending, 1);
	ck_assert_int_eq(cfg.limits.max_connections, 1);
	ck_assert_int_eq(cfg.limits.hello_timeout_s, 0);
	ck_assert_int_eq(cfg.limits.idle_timeout_s, 0);
	ck_assert_int_eq(cfg.limits.rate_limit, 0);
	config_clear(&cfg);
}
END_TEST

START_TEST(unknown_key)
{
	struct config cfg;

	config_init(&cfg);
	expect_refused(&cfg, "max_lines", "1000", "unknown setting max_lines");
	expect_refused(&cfg, "", "x", "unknown setting ");
	ck_assert_uint_eq(cfg.limits.max_line, 65536);
	config_clear(&cfg);
}
END_TEST

/* ---- copying and files --------------------------------------------------- */

START_TEST(copy_is_deep)
{
	struct config a, b;

	config_init(&a);
	expect_set(&a, "conninfo", "dbname=a");
	expect_set(&a, "listen", "127.0.0.1:1");
	expect_set(&a, "http", "127.0.0.1:2");
	expect_set(&a, "conninfo_file", "/c");
	expect_set(&a, "max_output", "5000");
	expect_set(&a, "log_level", "error");
	config_copy(&b, &a);
	for (size_t i = 0; i < config_nsettings; i++)
		ck_assert_msg(config_equal(&config_settings[i], &a, &b), "%s differs after a copy",
			      config_settings[i].name);
	ck_assert_ptr_ne(a.conninfo, b.conninfo);
	ck_assert_ptr_ne(a.listen[0], b.listen[0]);
	ck_assert_str_eq(b.conninfo_file, "/c");
	ck_assert_uint_eq(b.limits.max_output, 5000);

	/* Changing the copy changes that row only, and not the original. */
	expect_set(&b, "listen", "127.0.0.1:3");
	for (size_t i = 0; i < config_nsettings; i++)
		ck_assert_msg(config_equal(&config_settings[i], &a, &b) ==
				      !!strcmp(config_settings[i].name, "listen"),
			      "%s", config_settings[i].name);
	ck_assert_int_eq(a.nlisten, 1);
	/* config_take copies one row back. */
	config_take(&b, &a, config_find("listen"));
	ck_assert(config_equal(config_find("listen"), &a, &b));
	ck_assert_int_eq(b.nlisten, 1);
	/* Same count, other address: not equal either. */
	config_reset(&b, "listen");
	expect_set(&b, "listen", "127.0.0.1:9");
	ck_assert(!config_equal(config_find("listen"), &a, &b));
	config_clear(&b);
	ck_assert_str_eq(a.conninfo, "dbname=a");
	ck_assert_str_eq(a.listen[0], "127.0.0.1:1");
	config_clear(&a);
}
END_TEST

static char g_path[64];

static void write_conf(const char *text)
{
	FILE *f;
	int fd;

	snprintf(g_path, sizeof g_path, "/tmp/kolapp-test-config-XXXXXX");
	fd = mkstemp(g_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text on top of cfg; returns config_load_file's result. */
static int load(struct config *cfg, const char *text, char *err, size_t errsize)
{
	int rc;

	write_conf(text);
	rc = config_load_file(cfg, g_path, err, errsize);
	unlink(g_path);
	return rc;
}

START_TEST(good_file)
{
	struct config cfg;
	char err[200] = "";

	config_init(&cfg);
	expect_set(&cfg, "listen", "127.0.0.1:1");
	ck_assert_int_eq(load(&cfg,
			      "# comment\nconninfo = dbname=x\nlisten = 127.0.0.1:2\n"
			      "max_line = 1000\nlog_level = debug\n",
			      err, sizeof err),
			 0);
	ck_assert_str_eq(cfg.conninfo, "dbname=x");
	/* A repeatable key adds to what is there. */
	ck_assert_int_eq(cfg.nlisten, 2);
	ck_assert_str_eq(cfg.listen[1], "127.0.0.1:2");
	ck_assert_uint_eq(cfg.limits.max_line, 1000);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	config_clear(&cfg);
}
END_TEST

START_TEST(bad_file_changes_nothing)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "conninfo = dbname=b\nlisten = 127.0.0.1:9\nmax_line = 2000\nlog_level = error\n"
		  "max_pending = banana\n",
		  "line 5: max_pending must be a whole number from 1 to 100000" },
		{ "conninfo = dbname=b\n[main]\nmax_line = 2000\n",
		  /* inih names the first key under the header. */
		  "line 3: sections are not used ([main])" },
		{ "max_line = 2000\nmax_lines = 3000\n", "line 2: unknown setting max_lines" },
		{ "http = 127.0.0.1:8080\nthis line has no equals sign\n",
		  "line 2: not a key = value line" },
	};
	struct config cfg, before;
	char err[200];

	config_init(&cfg);
	expect_set(&cfg, "conninfo", "dbname=a");
	expect_set(&cfg, "listen", "127.0.0.1:1");
	expect_set(&cfg, "max_line", "1000");
	config_copy(&before, &cfg);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_int_eq(load(&cfg, bad[i].text, err, sizeof err), -1);
		ck_assert_str_eq(err, bad[i].err);
		for (size_t j = 0; j < config_nsettings; j++) {
			const struct config_setting *s = &config_settings[j];

			ck_assert_msg(config_equal(s, &cfg, &before),
				      "%s changed by a bad file (%s)", s->name, err);
		}
	}
	ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/kolappd.conf", err, sizeof err), -1);
	ck_assert_str_eq(err, "cannot open /nonexistent/kolappd.conf: No such file or directory");
	ck_assert_str_eq(cfg.conninfo, "dbname=a");
	ck_assert_int_eq(cfg.nlisten, 1);
	ck_assert_uint_eq(cfg.limits.max_line, 1000);
	config_clear(&before);
	config_clear(&cfg);
}
END_TEST

/* ---- printing ------------------------------------------------------------ */

/* config_print's output, malloc'd. */
static char *print(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_print(cfg, f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* Whether text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

START_TEST(print_every_row)
{
	struct config cfg;
	char *out, want[200];
	int lines = 0;

	config_init(&cfg);
	expect_set(&cfg, "conninfo", "dbname=k");
	expect_set(&cfg, "listen", "127.0.0.1:1");
	expect_set(&cfg, "listen", "[::1]:2");
	expect_set(&cfg, "max_line", "4000");
	expect_set(&cfg, "log_level", "warning");
	out = print(&cfg);
	for (size_t i = 0; i < config_nsettings; i++) {
		snprintf(want, sizeof want, "\n%s =", config_settings[i].name);
		ck_assert_msg(!strncmp(out, want + 1, strlen(want + 1)) || strstr(out, want),
			      "%s is not printed:\n%s", config_settings[i].name, out);
	}
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	/* One line a row, and one more for the second listen address. */
	ck_assert_int_eq(lines, (int)config_nsettings + 1);
	ck_assert(has_line(out, "conninfo = dbname=k"));
	ck_assert(has_line(out, "listen = 127.0.0.1:1"));
	ck_assert(has_line(out, "listen = [::1]:2"));
	ck_assert(has_line(out, "listen_tls ="));
	ck_assert(has_line(out, "tls_cert ="));
	ck_assert(has_line(out, "http ="));
	snprintf(want, sizeof want, "data_dir = %s", KOLAPP_DATADIR);
	ck_assert(has_line(out, want));
	ck_assert(has_line(out, "log_level = warn"));
	ck_assert(has_line(out, "max_line = 4000"));
	ck_assert(has_line(out, "max_output = 4194304"));
	ck_assert(has_line(out, "hello_timeout = 30"));
	ck_assert(has_line(out, "idle_timeout = 0"));
	ck_assert(has_line(out, "rate_limit = 2000"));
	free(out);
	config_clear(&cfg);
}
END_TEST

START_TEST(print_masks_passwords)
{
	static const struct {
		const char *conninfo, *shown;
	} cases[] = {
		{ "host=db password=s3cret dbname=k", "host=db password=*** dbname=k" },
		{ "password=s3cret", "password=***" },
		{ "dbname=k password = 's3 \\' cret' user=u", "dbname=k password = *** user=u" },
		{ "dbname=k sslpassword=s3cret", "dbname=k sslpassword=***" },
		{ "passfile=/p dbname=k", "passfile=/p dbname=k" },
		{ "dbname=k password=", "dbname=k password=***" },
		/* What cannot be read is not shown: it might be a password. */
		{ "dbname=k password='s3cret", "dbname=k ***" },
		{ "dbname=k password s3cret", "dbname=k ***" },
		{ "postgresql://u:s3cret@db/k", "postgresql://u:***@db/k" },
		{ "postgres://u@db/k?sslmode=require&password=s3cret&x=1",
		  "postgres://u@db/k?sslmode=require&password=***&x=1" },
		{ "postgresql://u:s3cret@db/k?pass%77ord=s3cret",
		  "postgresql://u:***@db/k?pass%77ord=***" },
		{ "postgresql:///k?host=/run&user=u", "postgresql:///k?host=/run&user=u" },
		/* libpq's user info runs to the first @, even past a ?. */
		{ "postgresql://h:5432?options=a@b&password=s3cret",
		  "postgresql://h:***@b&password=***" },
		{ "postgresql://h:5432?password=s3@b", "postgresql://h:******" },
		{ "postgresql://u:s3@cr3t@h/k", "postgresql://u:***@h/k" },
		{ "kolapp", "kolapp" },
	};
	struct config cfg;
	char *out, want[200];

	config_init(&cfg);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		expect_set(&cfg, "conninfo", cases[i].conninfo);
		out = print(&cfg);
		snprintf(want, sizeof want, "conninfo = %s", cases[i].shown);
		ck_assert_msg(has_line(out, want), "%s printed as:\n%s", cases[i].conninfo, out);
		ck_assert_msg(!strstr(out, "s3"), "a password shows:\n%s", out);
		free(out);
	}
	config_clear(&cfg);
}
END_TEST

/* ---- addr_parse ---------------------------------------------------------- */

static void expect_addr(const char *addrport, const char *want_host, int want_port)
{
	char host[ADDR_HOST_MAX];
	int port = -1;

	ck_assert_msg(addr_parse(addrport, host, sizeof host, &port) == 0, "%s refused", addrport);
	ck_assert_str_eq(host, want_host);
	ck_assert_int_eq(port, want_port);
}

static void expect_bad_addr(const char *addrport, size_t hostsz)
{
	char host[ADDR_HOST_MAX + 8] = "untouched";
	int port = -7;

	ck_assert_msg(addr_parse(addrport, host, hostsz, &port) == -1, "%s accepted", addrport);
	ck_assert_str_eq(host, "untouched");
	ck_assert_int_eq(port, -7);
}

START_TEST(addr_v4_and_names)
{
	expect_addr("127.0.0.1:7878", "127.0.0.1", 7878);
	expect_addr("0.0.0.0:0", "0.0.0.0", 0);
	expect_addr("localhost:65535", "localhost", 65535);
	/* Unbracketed, the last colon splits off the port. */
	expect_addr("::1:80", "::1", 80);
}
END_TEST

START_TEST(addr_v6)
{
	expect_addr("[::1]:7878", "::1", 7878);
	expect_addr("[fe80::1%eth0]:8080", "fe80::1%eth0", 8080);
	expect_bad_addr("[::1]7878", ADDR_HOST_MAX);
	expect_bad_addr("[::1:7878", ADDR_HOST_MAX);
	expect_bad_addr("[]:7878", ADDR_HOST_MAX);
}
END_TEST

START_TEST(addr_missing_or_bad_port)
{
	expect_bad_addr("127.0.0.1", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:", ADDR_HOST_MAX);
	expect_bad_addr("[::1]:", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:http", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:80x", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:65536", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:-1", ADDR_HOST_MAX);
	expect_bad_addr("127.0.0.1:99999999999999999999999", ADDR_HOST_MAX);
	expect_bad_addr(":7878", ADDR_HOST_MAX);
	expect_bad_addr("", ADDR_HOST_MAX);
}
END_TEST

START_TEST(addr_host_too_long)
{
	char addr[ADDR_HOST_MAX + 16], host[ADDR_HOST_MAX];
	int port;

	/* ADDR_HOST_MAX - 1 characters fit with the NUL; one more does not. */
	memset(addr, 'a', ADDR_HOST_MAX - 1);
	strcpy(addr + ADDR_HOST_MAX - 1, ":80");
	ck_assert_int_eq(addr_parse(addr, host, sizeof host, &port), 0);
	ck_assert_uint_eq(strlen(host), ADDR_HOST_MAX - 1);
	memset(addr, 'a', ADDR_HOST_MAX);
	strcpy(addr + ADDR_HOST_MAX, ":80");
	expect_bad_addr(addr, ADDR_HOST_MAX);
	/* The caller's size is what counts, bracketed or not. */
	expect_bad_addr("10.0.0.1:80", 8);
	expect_bad_addr("[::1]:80", 3);
	expect_addr("[::1]:80", "::1", 80);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, table_rows);
	tcase_add_test(tc, each_type_parses);
	tcase_add_test(tc, list_limit);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, copy_is_deep);
	tcase_add_test(tc, good_file);
	tcase_add_test(tc, bad_file_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_test(tc, print_every_row);
	tcase_add_test(tc, print_masks_passwords);
	suite_add_tcase(s, tc);

	tc = tcase_create("addr");

	tcase_add_test(tc, addr_v4_and_names);
	tcase_add_test(tc, addr_v6);
	tcase_add_test(tc, addr_missing_or_bad_port);
	tcase_add_test(tc, addr_host_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
