/* Unit tests of appointments in the engine, without a database, on the
 * fixture's clock: the check-in window to the microsecond, check_in's
 * answers (same ticket twice, unknown, cancelled, closed queue), book and
 * unbook, the no-show sweep, and the rule for the next ticket with due
 * appointments (the order of calls and each one's reason). Office "HQ" in
 * UTC, queues S(1) F(2) P(3); T0 is 2026-06-10T08:00:00Z. */
#include "tests/unit/engine_fixture.h"

#include <stdlib.h>
#include <string.h>

#define MIN (60 * SEC)
#define APPOINTMENT_LEAD_US_TEST (2 * MIN) /* the contract's 2 minutes */

static enum proto_err check_in(const char *code)
{
	struct proto_request a = {
		.op = OP_CHECK_IN, .booking = code, .priority = -1, .minutes = -1
	};
	return sub_args(&a);
}

static enum proto_err book(const char *queue, int64_t starts_at, int minutes)
{
	struct proto_request a = {
		.op = OP_BOOK,
		.queue = queue,
		.starts_at = "(parsed)",
		.starts_at_us = starts_at,
		.minutes = minutes,
		.interpreter = "ti",
		.reference = "AF-77",
		.priority = -1
	};
	return sub_args(&a);
}

static enum proto_err unbook(const char *code)
{
	struct proto_request a = {
		.op = OP_UNBOOK, .booking = code, .priority = -1, .minutes = -1
	};
	return sub_args(&a);
}

static void add_booking(const char *code, const char *queue, int64_t starts_at)
{
	ck_assert_int_eq(engine_test_add_booking(eng, 1, code, queue, starts_at, 15), 0);
}

/* check_in succeeds with ticket `want` carrying the appointment. */
static void check_in_ok(const char *code, const char *want)
{
	ck_assert_msg(check_in(code) == PROTO_OK, "check_in %s: %s", code, r_msg);
	ck_assert_str_eq(str(res("ticket"), "code"), want);
	ck_assert_str_eq(str(res("ticket"), "state"), "waiting");
	ck_assert_ptr_nonnull(json_object_get(res("ticket"), "appointment"));
	ck_assert_str_eq(str(res("booking"), "state"), "checked_in");
	ck_assert_str_eq(str(res("booking"), "ticket"), want);
}

static const char *reason(void)
{
	return str(r_res, "reason");
}

/* ---- the window ---------------------------------------------------------- */

START_TEST(window_opens_exactly_at_its_edge)
{
	add_booking("AAAAAAAA", "S", T0 + 60 * MIN); /* 09:00 */
	now_us = T0 + 30 * MIN - 1;                  /* 08:29:59.999999 */
	ck_assert_int_eq(check_in("AAAAAAAA"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "too early: your appointment is at 09:00; check in from 08:30");
	ck_assert_int_eq(waiting_count("S"), 0);
	now_us = T0 + 30 * MIN; /* 08:30:00 */
	check_in_ok("AAAAAAAA", "S-001");
	ck_assert_str_eq(str(res("ticket"), "appointment"), "2026-06-10T09:00:00.000Z");
}
END_TEST

START_TEST(window_closes_exactly_at_its_edge)
{
	add_booking("BBBBBBBB", "S", T0 + 60 * MIN);
	add_booking("CCCCCCCC", "S", T0 + 60 * MIN);
	now_us = T0 + 70 * MIN; /* 09:10:00, the last instant */
	check_in_ok("BBBBBBBB", "S-001");
	now_us = T0 + 70 * MIN + 1;
	ck_assert_int_eq(check_in("CCCCCCCC"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "too late: your appointment was at 09:00; please take a ticket "
				"instead");
	ck_assert_int_eq(waiting_count("S"), 1);
}
END_TEST

START_TEST(window_follows_the_office_setting)
{
	ck_assert_int_eq(engine_test_set_checkin_window(eng, 1, 300, 0), 0);
	add_booking("DDDDDDDD", "S", T0 + 60 * MIN);
	now_us = T0 + 55 * MIN - 1;
	ck_assert_int_eq(check_in("DDDDDDDD"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "too early: your appointment is at 09:00; check in from 08:55");
	now_us = T0 + 60 * MIN + 1;
	ck_assert_int_eq(check_in("DDDDDDDD"), PERR_CONFLICT);
	ck_assert(strncmp(r_msg, "too late", 8) == 0);
}
END_TEST

/* A booking on another day says which day. */
START_TEST(window_names_another_day)
{
	add_booking("EEEEEEEE", "S", T0 + 26 * 60 * MIN); /* tomorrow 10:00 */
	ck_assert_int_eq(check_in("EEEEEEEE"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "too early: your appointment is at 2026-06-11 10:00; check in "
				"from 2026-06-11 09:30");
}
END_TEST

/* ---- check_in's answers --------------------------------------------------- */

START_TEST(check_in_twice_same_ticket)
{
	add_booking("FFFFFFFF", "S", T0 + 20 * MIN);
	check_in_ok("FFFFFFFF", "S-001");
	now_us += SEC;
	check_in_ok("ffffffff", "S-001"); /* typed in lower case */
	ck_assert_int_eq(waiting_count("S"), 1);
	issue_ok("S", NULL, "S-002"); /* numbering goes on */
}
END_TEST

START_TEST(check_in_refusals)
{
	add_booking("GGGGGGGG", "F", T0 + 20 * MIN);
	add_booking("HHHHHHHH", "S", T0 + 20 * MIN);
	ck_assert_int_eq(check_in("ZZZZZZZZ"), PERR_NOT_FOUND);
	ck_assert_str_eq(r_msg, "no such booking: check the code");
	engine_test_set_queue_open(eng, 1, "F", false);
	ck_assert_int_eq(check_in("GGGGGGGG"), PERR_QUEUE_CLOSED);
	ck_assert_int_eq(unbook("HHHHHHHH"), PROTO_OK);
	ck_assert_str_eq(str(res("booking"), "state"), "cancelled");
	ck_assert_int_eq(check_in("HHHHHHHH"), PERR_NOT_FOUND);
	ck_assert_str_eq(r_msg, "booking HHHHHHHH was cancelled");
	ck_assert_int_eq(waiting_count("S") + waiting_count("F"), 0);
}
END_TEST

/* ---- book and unbook --------------------------------------------------------- */

START_TEST(book_and_unbook)
{
	const char *code;
	char saved[16];

	ck_assert_int_eq(book("S", T0 + 90 * MIN, 30), PROTO_OK);
	code = str(res("booking"), "code");
	ck_assert_uint_eq(strlen(code), 8);
	ck_assert_uint_eq(strspn(code, "ABCDEFGHJKMNPQRSTUVWXYZ23456789"), 8);
	snprintf(saved, sizeof saved, "%s", code);
	ck_assert_str_eq(str(res("booking"), "starts_at"), "2026-06-10T09:30:00.000Z");
	ck_assert_int_eq(num(res("booking"), "minutes"), 30);
	ck_assert_str_eq(str(res("booking"), "interpreter"), "ti");
	ck_assert_str_eq(str(res("booking"), "reference"), "AF-77");
	ck_assert_str_eq(str(res("booking"), "state"), "booked");
	ck_assert_int_eq(book("S", T0 + 90 * MIN, -1), PROTO_OK);
	ck_assert_int_eq(num(res("booking"), "minutes"), 15); /* the default */
	ck_assert_str_ne(str(res("booking"), "code"), saved);

	ck_assert_int_eq(book("S", T0, 15), PERR_BAD_REQUEST);
	ck_assert_str_eq(r_msg, "field starts_at is in the past");
	ck_assert_int_eq(book("S", T0 + 367 * 24 * 60 * MIN, 15), PERR_BAD_REQUEST);
	ck_assert_int_eq(book("X", T0 + MIN, 15), PERR_NOT_FOUND);

	ck_assert_int_eq(unbook(saved), PROTO_OK);
	ck_assert_str_eq(str(res("booking"), "state"), "cancelled");
	ck_assert_int_eq(unbook(saved), PROTO_OK); /* a retry: the same answer */
	ck_assert_str_eq(str(res("booking"), "state"), "cancelled");
	ck_assert_int_eq(unbook("ZZZZZZZZ"), PERR_NOT_FOUND);

	add_booking("JJJJJJJJ", "S", T0 + 10 * MIN);
	check_in_ok("JJJJJJJJ", "S-001");
	ck_assert_int_eq(unbook("JJJJJJJJ"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "booking JJJJJJJJ is checked_in: only a booked one can be "
				"cancelled");
}
END_TEST

/* Past its window, a booking is a no-show at the next tick. */
START_TEST(sweep_marks_no_shows)
{
	add_booking("KKKKKKKK", "S", T0 + 10 * MIN);
	add_booking("MMMMMMMM", "S", T0 + 11 * MIN);
	now_us = T0 + 20 * MIN + 1; /* K's window has closed, M's not */
	engine_tick(eng);
	ck_assert_int_eq(unbook("KKKKKKKK"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "booking KKKKKKKK is no_show: only a booked one can be cancelled");
	check_in_ok("MMMMMMMM", "S-001");
}
END_TEST

/* The day change: a booking that never came is a no-show, and what
 * started two days ago leaves memory (the database keeps it). */
START_TEST(day_change_sweeps_and_prunes)
{
	add_booking("UUUUUUUU", "S", T0 + 10 * MIN);
	add_booking("VVVVVVVV", "S", T0 + 3 * 24 * 60 * MIN + 10 * MIN);
	now_us = T0 + 16 * 60 * MIN + 1; /* 00:00 the next day */
	engine_tick(eng);
	ck_assert_int_eq(unbook("UUUUUUUU"), PERR_CONFLICT);
	ck_assert_str_eq(r_msg, "booking UUUUUUUU is no_show: only a booked one can be cancelled");
	now_us = T0 + 3 * 24 * 60 * MIN; /* three days on: another day change */
	engine_tick(eng);
	ck_assert_int_eq(unbook("UUUUUUUU"), PERR_NOT_FOUND);
	ck_assert_int_eq(unbook("VVVVVVVV"), PROTO_OK); /* still in the future */
}
END_TEST

/* ---- the rule ------------------------------------------------------------------ */

/* A due appointment before an older walk-in; one not yet due is no
 * candidate, and the walk-ins go meanwhile. */
START_TEST(rule_due_appointment_first)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_booking("NNNNNNNN", "S", T0 + 30 * MIN);
	issue_ok("S", NULL, "S-001");
	now_us = T0 + 5 * MIN;
	check_in_ok("NNNNNNNN", "S-002");
	issue_ok("S", NULL, "S-003");
	issue_ok("S", NULL, "S-004");
	now_us = T0 + 28 * MIN - 1; /* the appointment is due at 08:28 */
	call_next_ok("1", "S-001", NULL);
	ck_assert_str_eq(reason(), "rank 1, waited longest: 1679 s");
	now_us = T0 + 28 * MIN;
	call_next_ok("1", "S-002", "S-001");
	ck_assert_str_eq(reason(), "rank 1, appointment (-2 min)");
	call_next_ok("1", "S-003", "S-002");
	call_next_ok("1", "S-004", "S-003");
}
END_TEST

/* 20 minutes ahead: nothing to call, even with only that ticket waiting. */
START_TEST(rule_appointment_ahead_not_called)
{
	add_counter(1, "1", true, 1, 1, 1);
	add_booking("PPPPPPPP", "S", T0 + 20 * MIN);
	check_in_ok("PPPPPPPP", "S-001");
	ck_assert_int_eq(sub(OP_CALL_NEXT, "1", NULL, NULL, NULL), PROTO_OK);
	assert_null(r_res, "ticket");
	expect_state("S-001", "waiting");
	/* the clerk may still call it by its code */
	ck_assert_int_eq(sub(OP_CALL, "1", NULL, "S-001", NULL), PROTO_OK);
	expect_state("S-001", "called");
}
END_TEST

/* Within a rank: due appointments by their start, before priority;
 * a lower rank's appointment does not beat a higher rank. */
START_TEST(rule_appointment_order_and_rank)
{
	struct proto_request prio = { .op = OP_ISSUE, .queue = "F", .priority = 1, .minutes = -1 };

	add_counter(1, "1", true, 3, 1, 1, 2, 1, 3, 2); /* S, F rank 1; P rank 2 */
	add_booking("QQQQQQQQ", "S", T0 + 25 * MIN);
	add_booking("RRRRRRRR", "F", T0 + 20 * MIN);
	add_booking("SSSSSSSS", "P", T0 + 10 * MIN);
	check_in_ok("QQQQQQQQ", "S-001"); /* checked in first, starts later */
	check_in_ok("RRRRRRRR", "F-001");
	check_in_ok("SSSSSSSS", "P-001");
	ck_assert_int_eq(sub_args(&prio), PROTO_OK); /* F-002, priority */
	now_us = T0 + 24 * MIN;                      /* both rank-1 appointments due */
	call_next_ok("1", "F-001", NULL);
	ck_assert_str_eq(reason(), "rank 1, appointment (+4 min)");
	call_next_ok("1", "S-001", "F-001");
	call_next_ok("1", "F-002", "S-001");
	ck_assert_str_eq(reason(), "rank 1, priority, waited 1440 s");
	call_next_ok("1", "P-001", "F-002"); /* rank 2 last, 14 min late */
	ck_assert_str_eq(reason(), "rank 2, appointment (+14 min)");
}
END_TEST

/* A queue whose only waiting ticket is an appointment not yet due is no
 * candidate: the next rank's walk-in is called. */
START_TEST(rule_undue_appointment_leaves_rank)
{
	add_counter(1, "1", true, 2, 1, 1, 2, 2);
	add_booking("TTTTTTTT", "S", T0 + 25 * MIN);
	check_in_ok("TTTTTTTT", "S-001");
	issue_ok("F", NULL, "F-001");
	call_next_ok("1", "F-001", NULL);
	ck_assert_str_eq(reason(), "rank 2, waited longest: 0 s");
}
END_TEST


/* position follows the rule: an appointment still to come is not ahead
 * of a walk-in; once due it is; appointments count those that start
 * before them. */
START_TEST(positions_with_appointments)
{
	add_booking("WWWWWWWW", "S", T0 + 20 * MIN);
	add_booking("XXXXXXXX", "S", T0 + 10 * MIN);
	check_in_ok("WWWWWWWW", "S-001");
	check_in_ok("XXXXXXXX", "S-002");
	issue_ok("S", NULL, "S-003");
	expect_position("S-003", 1);
	expect_position("S-002", 1); /* starts first */
	expect_position("S-001", 2);
	now_us = T0 + 8 * MIN; /* S-002 is due */
	expect_position("S-003", 2);
	now_us = T0 + 18 * MIN; /* both are */
	expect_position("S-003", 3);
	expect_position("S-001", 2);
}
END_TEST

/* ---- a whole day ------------------------------------------------------------------ */

/* A day of 08:00-17:00 at one office, on the fixture's clock: a walk-in
 * about every 5 minutes in queue S, a booking every 20 minutes from 08:20
 * to 15:40 in S (each visitor checks in between 15 minutes early and 5
 * minutes late), 3 counters serving S, visits of 3 to 9 minutes (10 for
 * an appointment). Every 10 s: arrivals, then a counter whose visit is
 * over finishes it and calls the next. Measured: how long after its start
 * (or after a late check-in) each appointment is called, and how far
 * walk-ins' estimates at issue are from their real waits. Deterministic
 * (a fixed seed). The goal of issue 15: within 5 minutes of the start. */
#define DAY_TICKETS 400
#define NCTR 2

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ULL << 53);
}

struct simt {
	int64_t issued, called, appt, ready; /* ready: max(start, check-in) */
	int64_t est;                         /* estimate at issue, s; -1: none */
	bool is_appt;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(day_of_appointments_and_walk_ins)
{
	static struct simt tk[DAY_TICKETS + 1];
	int64_t end_at[NCTR] = { 0 }, next_walk_in = T0, late[64], errs[DAY_TICKETS];
	int64_t waits[DAY_TICKETS];
	int64_t checkin_at[32];
	char names[NCTR][4], codes[32][12];
	int nbook = 0, nlate = 0, nerr = 0, within25 = 0, nwalk = 0;

	memset(tk, 0, sizeof tk);
	add_counter(1, "1", true, 1, 1, 1);
	add_counter(2, "2", true, 1, 1, 1);
	for (int i = 0; i < NCTR; i++)
		snprintf(names[i], sizeof names[i], "%d", i + 1);
	for (int64_t start = T0 + 20 * MIN; start <= T0 + 460 * MIN; start += 20 * MIN) {
		static const char abc[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

		snprintf(codes[nbook], sizeof codes[nbook], "DAYBK%c%c2", abc[nbook / 31],
			 abc[nbook % 31]);
		add_booking(codes[nbook], "S", start);
		checkin_at[nbook] = start + (int64_t)((uniform() * 20 - 15) * MIN);
		nbook++;
	}
	for (now_us = T0; now_us <= T0 + 9 * 60 * MIN; now_us += 10 * SEC) {
		if (now_us >= next_walk_in && now_us < T0 + 8 * 60 * MIN) {
			ck_assert_int_eq(sub(OP_ISSUE, NULL, "S", NULL, NULL), PROTO_OK);
			int n = (int)num(res("ticket"), "number");
			json_t *e = json_object_get(res("ticket"), "estimated_wait_s");

			ck_assert_int_le(n, DAY_TICKETS);
			tk[n] = (struct simt){ .issued = now_us,
					       .est = e ? json_integer_value(e) : -1 };
			if (!json_is_integer(e))
				tk[n].est = -1;
			next_walk_in = now_us + (int64_t)((2 + uniform() * 6) * MIN);
		}
		for (int b = 0; b < nbook; b++) {
			if (checkin_at[b] < now_us - 10 * SEC || checkin_at[b] >= now_us)
				continue;
			ck_assert_msg(check_in(codes[b]) == PROTO_OK, "check_in %s: %s", codes[b],
				      r_msg);
			int n = (int)num(res("ticket"), "number");
			int64_t start = T0 + (b + 1) * 20 * MIN;

			tk[n] = (struct simt){ .issued = now_us,
					       .appt = start,
					       .is_appt = true,
					       .ready = start > now_us ? start : now_us,
					       .est = -1 };
		}
		for (int c = 0; c < NCTR; c++) {
			if (now_us < end_at[c])
				continue;
			if (end_at[c]) {
				ck_assert_int_eq(sub(OP_FINISH, names[c], NULL, NULL, NULL),
						 PROTO_OK);
				end_at[c] = 0;
			}
			ck_assert_int_eq(sub(OP_CALL_NEXT, names[c], NULL, NULL, NULL), PROTO_OK);
			if (json_is_null(json_object_get(r_res, "ticket")))
				continue;
			int n = (int)num(res("ticket"), "number");

			tk[n].called = now_us;
			end_at[c] = now_us +
				    (int64_t)((tk[n].is_appt ? 10 : 3 + uniform() * 6) * MIN);
		}
	}
	for (int n = 1; n <= DAY_TICKETS; n++) {
		if (!tk[n].issued)
			continue;
		ck_assert_msg(tk[n].called, "S-%03d was never called", n);
		if (tk[n].is_appt) {
			late[nlate++] = tk[n].called - tk[n].ready;
			/* never before it is due */
			ck_assert_int_ge(tk[n].called, tk[n].appt - APPOINTMENT_LEAD_US_TEST);
			continue;
		}
		waits[nwalk++] = (tk[n].called - tk[n].issued) / SEC;
		if (tk[n].est < 0)
			continue;
		int64_t real = (tk[n].called - tk[n].issued) / SEC;
		int64_t err = tk[n].est - real;

		errs[nerr++] = err < 0 ? -err : err;
		if ((err < 0 ? -err : err) * 4 <= (real > 60 ? real : 60))
			within25++;
	}
	ck_assert_int_eq(nlate, nbook);
	qsort(late, (size_t)nlate, sizeof *late, cmp_i64);
	qsort(errs, (size_t)nerr, sizeof *errs, cmp_i64);
	qsort(waits, (size_t)nwalk, sizeof *waits, cmp_i64);
	fprintf(stderr,
		"day: %d appointments, called after their start (or late check-in): median %lld s, "
		"p90 %lld s, max %lld s; %d walk-ins (wait median %lld s, p90 %lld s), %d with an "
		"estimate, %d%% within 25 %% of the real wait (floor 60 s), median error %lld s\n",
		nlate, (long long)(late[nlate / 2] / SEC), (long long)(late[nlate * 9 / 10] / SEC),
		(long long)(late[nlate - 1] / SEC), nwalk, (long long)waits[nwalk / 2],
		(long long)waits[nwalk * 9 / 10], nerr, nerr ? 100 * within25 / nerr : 0,
		nerr ? (long long)errs[nerr / 2] : -1LL);
	ck_assert_msg(late[nlate - 1] <= 5 * MIN, "an appointment waited %lld s after its start",
		      (long long)(late[nlate - 1] / SEC));
}
END_TEST

static Suite *booking_suite(void)
{
	Suite *s = suite_create("engine_booking");
	TCase *tc = tcase_create("booking");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, window_opens_exactly_at_its_edge);
	tcase_add_test(tc, window_closes_exactly_at_its_edge);
	tcase_add_test(tc, window_follows_the_office_setting);
	tcase_add_test(tc, window_names_another_day);
	tcase_add_test(tc, check_in_twice_same_ticket);
	tcase_add_test(tc, check_in_refusals);
	tcase_add_test(tc, book_and_unbook);
	tcase_add_test(tc, sweep_marks_no_shows);
	tcase_add_test(tc, day_change_sweeps_and_prunes);
	tcase_add_test(tc, rule_due_appointment_first);
	tcase_add_test(tc, rule_appointment_ahead_not_called);
	tcase_add_test(tc, rule_appointment_order_and_rank);
	tcase_add_test(tc, rule_undue_appointment_leaves_rank);
	tcase_add_test(tc, positions_with_appointments);
	tcase_add_test(tc, day_of_appointments_and_walk_ins);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(booking_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
