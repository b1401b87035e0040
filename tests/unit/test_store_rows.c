/* Unit test of how the start-up load reads today's tickets in binary
 * (daemon/store/store_pg.c, on_ticket_rows): results built in memory with
 * libpq's own functions, as the server would send them. The epochs, the
 * NULLs, the visitor hash, a row with an infinite time and columns of
 * other types. Compiled in, for its static functions. */
#include "daemon/store/store_pg.c"

#include <check.h>

#define NCOLS 24

/* The rows handed to the engine, copied out of the call. */
static struct got {
	struct store_ticket t;
	char code[24], state[16], key[32];
	unsigned char hash[STORE_HASH_LEN];
} got[8];
static int ngot;

static void take(void *arg, const struct store_ticket *row)
{
	struct got *g = &got[ngot++];

	(void)arg;
	ck_assert_int_lt(ngot, 8);
	g->t = *row;
	snprintf(g->code, sizeof g->code, "%s", row->code ? row->code : "");
	snprintf(g->state, sizeof g->state, "%s", row->state ? row->state : "");
	snprintf(g->key, sizeof g->key, "%s", row->key ? row->key : "");
	if (row->visitor_hash)
		memcpy(g->hash, row->visitor_hash, sizeof g->hash);
}

/* A result with load_tickets' columns; bad_col (or -1) gets type text. */
static PGresult *result_of(int bad_col)
{
	PGresAttDesc at[NCOLS];
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	ck_assert_ptr_nonnull(r);
	for (int c = 0; c < NCOLS; c++)
		at[c] = (PGresAttDesc){ .name = (char *)"c",
					.typid = c == bad_col ? T_TEXT : ticket_types[c],
					.typlen = -1,
					.format = 1,
					.atttypmod = -1 };
	ck_assert(PQsetResultAttrs(r, NCOLS, at));
	return r;
}

static void put_be(PGresult *r, int row, int col, uint64_t v, int size)
{
	char b[8];

	for (int i = 0; i < size; i++)
		b[i] = (char)(v >> (8 * (size - 1 - i)));
	ck_assert(PQsetvalue(r, row, col, b, size));
}

static void put_null(PGresult *r, int row, int col)
{
	ck_assert(PQsetvalue(r, row, col, NULL, -1));
}

static void put_text(PGresult *r, int row, int col, const char *s)
{
	ck_assert(PQsetvalue(r, row, col, (char *)s, (int)strlen(s)));
}

/* 2026-06-10T08:00:00Z: 20614 days and 1781078400 s after 1970; the
 * server counts from 2000-01-01 (10957 days). */
#define UNIX_US INT64_C(1781078400000000)
#define PG_US (UNIX_US - INT64_C(946684800000000))
#define PG_DAY (20614 - 10957)

/* A called ticket: every column set, times a second apart. */
static void put_row(PGresult *r, int row, const char *code, int64_t sort_pg_us)
{
	static const unsigned char hash[STORE_HASH_LEN] = { 0xde, 0xad, 0xbe, 0xef, [31] = 0x7f };

	put_be(r, row, 0, 7, 4);
	put_be(r, row, 1, PG_DAY, 4);
	put_be(r, row, 2, 71, 4);
	put_be(r, row, 3, 72, 4);
	put_be(r, row, 4, 42, 4);
	put_text(r, row, 5, code);
	put_text(r, row, 6, "called");
	put_be(r, row, 7, (uint64_t)PG_US, 8);
	put_be(r, row, 8, (uint64_t)sort_pg_us, 8);
	put_be(r, row, 9, (uint64_t)(PG_US + 1000000), 8);
	put_null(r, row, 10);
	put_null(r, row, 11);
	put_be(r, row, 12, 3, 4);
	put_be(r, row, 13, 2, 4);
	put_text(r, row, 14, "kiosk-1-0042");
	put_be(r, row, 15, 9000000001ull, 8);
	put_be(r, row, 16, 1, 1);
	put_text(r, row, 17, "so");
	put_null(r, row, 18);
	put_null(r, row, 19);
	put_null(r, row, 20);
	ck_assert(PQsetvalue(r, row, 21, (char *)hash, STORE_HASH_LEN));
	put_be(r, row, 22, 0, 1);
	put_be(r, row, 23, (uint64_t)(-INT64_C(1000000)), 8); /* 1999-12-31T23:59:59Z */
}

static struct load *load_new(void)
{
	struct load *l = calloc(1, sizeof *l);

	ck_assert_ptr_nonnull(l);
	l->tickets = true;
	l->on_ticket = take;
	l->rows.sorted = true;
	ngot = 0;
	return l;
}

START_TEST(binary_row_decodes)
{
	struct load *l = load_new();
	PGresult *r = result_of(-1);
	const struct store_ticket *t = &got[0].t;

	put_row(r, 0, "S-042", PG_US);
	on_ticket_rows(l, r);
	ck_assert_ptr_null(l->rows.error);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(t->office_id, 7);
	ck_assert_int_eq(t->day, 20614);
	ck_assert_int_eq(t->origin_queue_id, 71);
	ck_assert_int_eq(t->queue_id, 72);
	ck_assert_int_eq(t->number, 42);
	ck_assert_str_eq(got[0].code, "S-042");
	ck_assert_str_eq(got[0].state, "called");
	ck_assert_int_eq(t->issued_at, UNIX_US);
	ck_assert_int_eq(t->sort_at, UNIX_US);
	ck_assert_int_eq(t->called_at, UNIX_US + 1000000);
	ck_assert_int_eq(t->started_at, 0); /* NULL */
	ck_assert_int_eq(t->finished_at, 0);
	ck_assert_int_eq(t->counter_id, 3);
	ck_assert_int_eq(t->recalls, 2);
	ck_assert_str_eq(got[0].key, "kiosk-1-0042");
	ck_assert(t->priority);
	ck_assert_ptr_null(t->lang);
	ck_assert_ptr_null(t->outcome);
	ck_assert_int_eq(t->for_counter_id, 0);
	ck_assert_ptr_nonnull(t->visitor_hash);
	ck_assert_int_eq(got[0].hash[0], 0xde);
	ck_assert_int_eq(got[0].hash[31], 0x7f);
	ck_assert(!t->rated);
	ck_assert_int_eq(t->appointment, INT64_C(946684799000000));
	/* the key for the order carries the id */
	ck_assert_int_eq(l->rows.n, 1);
	ck_assert_int_eq(l->rows.keys[0].id, INT64_C(9000000001));
	PQclear(r);
	load_free(l);
}
END_TEST

/* 'infinity' in a time: that row is left out, the next is not. */
START_TEST(infinite_time_skips_the_row)
{
	struct load *l = load_new();
	PGresult *r = result_of(-1);

	put_row(r, 0, "S-001", INT64_MAX);
	put_row(r, 1, "S-002", PG_US);
	put_row(r, 2, "S-003", INT64_MIN);
	on_ticket_rows(l, r);
	ck_assert_ptr_null(l->rows.error);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0].code, "S-002");
	ck_assert_int_eq(l->rows.n, 1);
	ck_assert_int_eq(l->rows.keys[0].row, 0); /* numbered as handed on */
	PQclear(r);
	load_free(l);
}
END_TEST

/* A column of another type than the daemon reads fails the load before
 * any row is handed on, and later rows are not read either. */
START_TEST(other_types_fail_the_load)
{
	static const int cols[] = { 0, 1, 7, 15, 16, 21 };

	for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
		struct load *l = load_new();
		PGresult *r = result_of(cols[k]), *ok = result_of(-1);

		put_row(r, 0, "S-001", PG_US);
		put_row(ok, 0, "S-002", PG_US);
		on_ticket_rows(l, r);
		on_ticket_rows(l, ok);
		ck_assert_ptr_nonnull(l->rows.error);
		ck_assert_int_eq(ngot, 0);
		PQclear(r);
		PQclear(ok);
		load_free(l);
	}
}
END_TEST

/* A visitor hash of another length is no hash (the engine never sees
 * fewer bytes than it copies). */
START_TEST(short_hash_is_none)
{
	struct load *l = load_new();
	PGresult *r = result_of(-1);

	put_row(r, 0, "S-001", PG_US);
	ck_assert(PQsetvalue(r, 0, 21, (char *)"abc", 3));
	on_ticket_rows(l, r);
	ck_assert_int_eq(ngot, 1);
	ck_assert_ptr_null(got[0].t.visitor_hash);
	PQclear(r);
	load_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_rows");
	TCase *tc = tcase_create("binary");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, binary_row_decodes);
	tcase_add_test(tc, infinite_time_skips_the_row);
	tcase_add_test(tc, other_types_fail_the_load);
	tcase_add_test(tc, short_hash_is_none);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
