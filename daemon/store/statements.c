#include "daemon/store/statements.h"

/* Microseconds since 1970 as int8. date_part's float8 gives the same
 * microseconds as extract's numeric for any time before 2106 (53 bits;
 * tests/sql/daemon.sql checks it) at a fraction of the cost. (The
 * tickets' load reads its times in binary instead: TICKET_COLUMNS.) */
#define US(col) "(date_part('epoch', " col ") * 1000000)::int8"

const struct pgw_stmt kolapp_statements[] = {
	/* loads: the engine reads results by column position */
	{ "load_offices",
	  "SELECT o.id, o.code, o.name, o.timezone, encode(k.visitor_key, 'hex'), "
	  "o.checkin_before_s, o.checkin_after_s "
	  "FROM kolapp.offices o LEFT JOIN kolapp.office_keys k ON k.office_id = o.id "
	  "ORDER BY o.id",
	  0, NULL, 0 },
	{ "load_queues",
	  /* with its ticket hours (sql/016) */
	  "SELECT q.id, q.office_id, q.code, q.name, q.open, q.active, q.min_calls, "
	  "q.no_show_after_s, q.reactivate_within_s, q.require_outcome, q.allow_priority, "
	  "p.plan::text FROM kolapp.queues q "
	  "LEFT JOIN kolapp.d_queue_plans() p ON p.queue_id = q.id "
	  "ORDER BY q.office_id, q.id",
	  0, NULL, 0 },
	{ "load_counters",
	  /* with its last open or close (what the estimate makes of a closed
	   * counter within its planned hours) and the plan (sql/015) */
	  "SELECT c.id, c.office_id, c.name, c.open, c.active, " US(
		  "ev.at") ", p.plan::text FROM kolapp.counters c "
			   "LEFT JOIN LATERAL (SELECT e.at FROM kolapp.counter_events e "
			   "WHERE e.counter_id = c.id ORDER BY e.at DESC LIMIT 1) ev ON true "
			   "LEFT JOIN kolapp.d_counter_plans() p ON p.counter_id = c.id "
			   "ORDER BY c.office_id, c.id",
	  0, NULL, 0 },
	{ "load_counter_queues",
	  "SELECT counter_id, queue_id, rank, weight FROM kolapp.counter_queues "
	  "ORDER BY counter_id, rank, queue_id",
	  0, NULL, 0 },
	{ "load_outcomes",
	  "SELECT queue_id, code, name FROM kolapp.outcomes WHERE active ORDER BY queue_id, code",
	  0, NULL, 0 },
	{ "load_queue_texts",
	  "SELECT queue_id, lang, name, description FROM kolapp.queue_texts "
	  "ORDER BY queue_id, lang",
	  0, NULL, 0 },
/* Today's tickets (the office's day is within a day of the server's)
	 * plus any earlier ticket not yet in a final state: two arms, so that
	 * each uses its index (the day's; the partial index on open states)
	 * instead of an OR that scans a year of history. Read in binary
	 * (pgw_job_add_rows), each type pinned by a cast: store_pg.c checks
	 * them and reads the bytes, with no text to make or parse. */
#define TICKET_COLUMNS \
	"SELECT office_id::int4, business_day::date, origin_queue_id::int4, " \
	"queue_id::int4, number::int4, code::text, state::text, " \
	"issued_at::timestamptz, sort_at::timestamptz, called_at::timestamptz, " \
	"started_at::timestamptz, finished_at::timestamptz, counter_id::int4, " \
	"recalls::int4, idem_key::text, id::int8, priority::bool, interpreter::text, " \
	"lang::text, outcome::text, for_counter_id::int4, visitor_hash::bytea, " \
	"rated::bool, appointment::timestamptz FROM kolapp.tickets "
	/* Unordered: store_pg.c sorts the rows (by office, day, sort time, id)
	 * on small keys; sorting the wide rows here spilled to disk beyond a
	 * few ten thousand tickets (work_mem). */
	{ "load_tickets",
	  /* Each office's own days (sql/017) whole and the open tickets of
	   * the days before them, nothing else: the first arm starts at the
	   * earliest such day (today, but in an office's first hour), so a
	   * morning's start reads none of yesterday's finished tickets; the
	   * second takes each office's open tickets before it through the
	   * open tickets' office/day index (sql/025). The constant bound
	   * keeps the planner's estimate of the first arm a day or two. */
	  "WITH d AS MATERIALIZED (SELECT office_id, day FROM kolapp.d_load_days()) " TICKET_COLUMNS
	  "WHERE business_day >= current_date - 1 "
	  "AND business_day >= (SELECT min(day) FROM d) "
	  "AND (state IN ('waiting','called','serving','parked') "
	  "OR (office_id, business_day) IN (SELECT office_id, day FROM d)) "
	  "UNION ALL SELECT t.* FROM kolapp.offices o, LATERAL (" TICKET_COLUMNS
	  "WHERE office_id = o.id "
	  "AND business_day < (SELECT greatest(current_date - 1, min(day)) FROM d) "
	  "AND finished_at IS NULL "
	  "AND state IN ('waiting','called','serving','parked') OFFSET 0) t",
	  0, NULL, 0 },
	/* Bookings from yesterday on (the office's day is within a day of the
	 * server's): check-in needs today's, unbook the future ones. */
	{ "load_bookings",
	  "SELECT b.office_id, b.queue_id, b.code, " US(
		  "b.starts_at") ", b.minutes, "
				 "b.interpreter, b.reference, b.state, t.code, "
				 "t.business_day::text "
				 "FROM kolapp.bookings b LEFT JOIN kolapp.tickets t ON t.id = "
				 "b.ticket_id "
				 "WHERE b.starts_at >= current_date - 1 ORDER BY b.office_id, "
				 "b.starts_at, b.id",
	  0, NULL, 0 },
	/* writes: one function each, so the event log is always written;
	 * those with a run form are regrouped by office (pgw_order.h) */
	{ "d_issue",
	  "SELECT kolapp.d_issue($1::int, $2::int, $3::date, $4::int, $5::text, $6::text, "
	  "$7::timestamptz, $8::boolean, $9::text, $10::text, $11::int, $12::text)",
	  12, "d_issue_many", 1 },
	{ "d_call", "SELECT kolapp.d_call($1::int, $2::date, $3::text, $4::int, $5::timestamptz)",
	  5, "d_call_many", 1 },
	{ "d_recall", "SELECT kolapp.d_recall($1::int, $2::date, $3::text, $4::timestamptz)", 4,
	  NULL, 0 },
	{ "d_set_state",
	  "SELECT kolapp.d_set_state($1::int, $2::date, $3::text, $4::text, $5::timestamptz)", 5,
	  "d_set_state_many", 1 },
	{ "d_transfer",
	  "SELECT kolapp.d_transfer($1::int, $2::date, $3::text, $4::int, $5::timestamptz)", 5,
	  NULL, 0 },
	{ "d_transfer_counter",
	  "SELECT kolapp.d_transfer_counter($1::int, $2::date, $3::text, $4::int, "
	  "$5::timestamptz)",
	  5, NULL, 0 },
	{ "d_park", "SELECT kolapp.d_park($1::int, $2::date, $3::text, $4::timestamptz)", 4, NULL,
	  0 },
	{ "d_reactivate",
	  "SELECT kolapp.d_reactivate($1::int, $2::date, $3::text, $4::timestamptz)", 4, NULL, 0 },
	{ "d_set_outcome", "SELECT kolapp.d_set_outcome($1::int, $2::date, $3::text, $4::text)", 4,
	  NULL, 0 },
	{ "d_counter_set_open",
	  "SELECT kolapp.d_counter_set_open($1::int, $2::boolean, $3::timestamptz)", 3, NULL, 0 },
	{ "d_rate", "SELECT kolapp.d_rate($1::int, $2::date, $3::text, $4::int)", 4, NULL, 0 },
	{ "d_expire", "SELECT kolapp.d_expire($1::int, $2::date, $3::timestamptz)", 3, NULL, 0 },
	{ "d_book",
	  "SELECT kolapp.d_book($1::int, $2::int, $3::text, $4::timestamptz, $5::int, $6::text, "
	  "$7::text, $8::timestamptz)",
	  8, NULL, 0 },
	{ "d_unbook", "SELECT kolapp.d_unbook($1::int, $2::text, $3::timestamptz)", 3, NULL, 0 },
	{ "d_check_in",
	  "SELECT kolapp.d_check_in($1::int, $2::int, $3::date, $4::int, $5::text, "
	  "$6::timestamptz, $7::text, $8::text, $9::int, $10::text)",
	  10, NULL, 0 },
	{ "d_bookings_no_show", "SELECT kolapp.d_bookings_no_show($1::int, $2::timestamptz)", 2,
	  NULL, 0 },
	/* runs of the writes above in one execution (sql/006_batch_writes.sql) */
	{ "d_issue_many",
	  "SELECT kolapp.d_issue_many($1::int[], $2::int[], $3::date[], $4::int[], "
	  "$5::text[], $6::text[], $7::timestamptz[], $8::boolean[], $9::text[], $10::text[], "
	  "$11::int[], $12::text[])",
	  12, NULL, 0 },
	{ "d_call_many",
	  "SELECT kolapp.d_call_many($1::int[], $2::date[], $3::text[], $4::int[], "
	  "$5::timestamptz[])",
	  5, NULL, 0 },
	{ "d_set_state_many",
	  "SELECT kolapp.d_set_state_many($1::int[], $2::date[], $3::text[], "
	  "$4::text[], $5::timestamptz[])",
	  5, NULL, 0 },
	/* in-doubt commits (sql/003_batches.sql) */
	{ "d_batch_mark", "SELECT kolapp.d_batch_mark($1::text, $2::text)", 2, NULL, 0 },
	{ "d_batch_mark_fenced",
	  "SELECT kolapp.d_batch_mark($1::text, $2::text, $3::int[], $4::bigint[])", 4, NULL, 0 },
	{ "d_node_tick",
	  "SELECT office_id, office, node, advertise, advertise_http, epoch, mine, release "
	  "FROM kolapp.d_node_tick($1::text, $2::text, $3::text, $4::int, $5::int[], $6::int[])",
	  6, NULL, 0 },
	{ "d_nodes", "SELECT name, advertise, advertise_http FROM kolapp.d_nodes()", 0, NULL, 0 },
	{ "d_batch_resolve", "SELECT kolapp.d_batch_resolve($1::text, $2::int)", 2, NULL, 0 },
	{ "d_batch_forget", "SELECT kolapp.d_batch_forget()", 0, NULL, 0 },
	/* auth */
	{ "d_token_lookup",
	  "SELECT token_id, role, office_id, office_code, counter_id, counter_name "
	  "FROM kolapp.d_token_lookup($1::bytea)",
	  1, NULL, 0 },
	{ "d_token_used", "SELECT kolapp.d_token_used($1::int, $2::text)", 2, NULL, 0 },
};

const int kolapp_statements_count = sizeof kolapp_statements / sizeof kolapp_statements[0];

/* The reads connection's (store_pg.h): long reads that nothing written
 * waits for. */
const struct pgw_stmt kolapp_read_statements[] = {
	/* Visits of the same weekday in the last four weeks, the ones nearest
	 * to this time of day first in each queue (the estimator's seed until
	 * today has samples of its own): the office's own day. Rows come
	 * farthest first, so that the nearest end up the newest in the
	 * engine's sample rings. The ANY(...) repeats the join's days as a
	 * set the day index (sql/021) can use: over 3 million tickets the
	 * planner otherwise scans the table (about 1.1 s against 0.3 s,
	 * machine shared); date_part, not extract, for the order (numeric). */
	{ "load_history",
	  "SELECT queue_id, state = 'no_show', us FROM ("
	  "SELECT t.queue_id, t.state, " US(
		  "t.finished_at - t.called_at") " AS us, "
						 "row_number() OVER (PARTITION BY t.queue_id ORDER "
						 "BY "
						 "abs(date_part('epoch', t.finished_at - (now() - "
						 "k * interval '7 days')))) AS n "
						 "FROM kolapp.offices o CROSS JOIN "
						 "generate_series(1, 4) AS k "
						 "JOIN kolapp.tickets t ON t.office_id = o.id "
						 "AND t.business_day = (now() AT TIME ZONE "
						 "o.timezone)::date - 7 * k "
						 "WHERE t.business_day = ANY (ARRAY(SELECT "
						 "DISTINCT (now() AT TIME ZONE z.timezone)::date "
						 "- 7 * w FROM kolapp.offices z, "
						 "generate_series(1, 4) AS w)) "
						 "AND t.state IN ('done', 'no_show') AND "
						 "t.called_at IS NOT NULL "
						 "AND t.finished_at > t.called_at AND (t.state = "
						 "'no_show' "
						 "OR t.started_at IS NOT NULL OR t.finished_at - "
						 "t.called_at >= interval '1 second')"
						 ") h WHERE n <= 32 ORDER BY queue_id, n DESC",
	  0, NULL, 0 },
	/* The estimator's newcomers: earlier weeks' tickets moved onto
	 * today (sql/023). */
	{ "load_arrivals", "SELECT queue_id, week, at_us FROM kolapp.d_arrivals()", 0, NULL, 0 },
};

const int kolapp_read_statements_count = sizeof kolapp_read_statements /
					 sizeof kolapp_read_statements[0];
