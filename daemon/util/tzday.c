#include "daemon/util/tzday.h"
#include "daemon/util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Howard Hinnant's civil-date algorithms: exact for the proleptic
 * Gregorian calendar, no time zone involved. */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)yoe + era * 400 + (*m <= 2);
}

/* The days computed lately, by zone: glibc reads a zone's file at every
 * tzset(), twice a call here, and a start-up asks for every office's day
 * (for 150 offices that was a third of kolappd's CPU over a year of
 * history). An entry answers while the time asked is within its day;
 * the daemon is one thread. */
#define MEMO_ZONES 16
static struct day_memo {
	char tz[64];
	int64_t from_us, next_us; /* the day's local midnight and the next */
	int32_t day;
} memo[MEMO_ZONES];
static unsigned memo_next;

static const struct day_memo *memo_find(const char *tz, int64_t now_us)
{
	for (int i = 0; i < MEMO_ZONES; i++)
		if (memo[i].next_us > now_us && memo[i].from_us <= now_us &&
		    !strcmp(memo[i].tz, tz))
			return &memo[i];
	return NULL;
}

static void memo_keep(const char *tz, int64_t from_us, int64_t next_us, int32_t day)
{
	struct day_memo *m = &memo[memo_next++ % MEMO_ZONES];

	if (strlen(tz) >= sizeof m->tz)
		return;
	*m = (struct day_memo){ .from_us = from_us, .next_us = next_us, .day = day };
	strcpy(m->tz, tz);
}

static int tzday_compute_uncached(const char *tz, int64_t now_us, int32_t *day,
				  int64_t *next_midnight_us)
{
	char *saved = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	time_t now = (time_t)(now_us / 1000000);
	struct tm tm;
	time_t from, next;
	char path[512];
	int rc = 0;

	/* glibc silently treats an unknown zone as UTC: refuse it instead. */
	if (!tz || !*tz || strstr(tz, "..") || tz[0] == '/') {
		free(saved);
		return -1;
	}
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	if (strcmp(tz, "UTC") != 0 && access(path, R_OK) != 0) {
		free(saved);
		return -1;
	}
	setenv("TZ", tz, 1);
	tzset();
	if (!localtime_r(&now, &tm)) {
		rc = -1;
		goto out;
	}
	*day = days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	from = mktime(&tm);
	/* Where a midnight happens twice (clocks back at 01:00 to 00:00)
	 * mktime may pick the later one: the memo then holds from now on. */
	if (from == (time_t)-1 || from > now)
		from = now;
	tm.tm_mday += 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	next = mktime(&tm);
	if (next == (time_t)-1 || next <= now)
		next = now + 86400; /* cannot happen with sane zone data */
	*next_midnight_us = (int64_t)next * 1000000;
	memo_keep(tz, (int64_t)from * 1000000, *next_midnight_us, *day);
out:
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return rc;
}

int tzday_compute(const char *tz, int64_t now_us, int32_t *day, int64_t *next_midnight_us)
{
	const struct day_memo *m = tz ? memo_find(tz, now_us) : NULL;

	if (m) {
		*day = m->day;
		*next_midnight_us = m->next_us;
		return 0;
	}
	return tzday_compute_uncached(tz, now_us, day, next_midnight_us);
}

void tzday_format(int32_t day, char *buf)
{
	int y;
	unsigned m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000, m % 13, d % 32);
}

int tzday_parse(const char *s, int32_t *day)
{
	int y;
	unsigned m, d;

	if (sscanf(s, "%d-%u-%u", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = days_from_civil(y, m, d);
	return 0;
}

void tzday_iso8601(int64_t us, char *buf)
{
	int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
	int ms = (int)((us - secs * 1000000) / 1000);
	int32_t days = (int32_t)(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400);
	int rem = (int)(secs - (int64_t)days * 86400);
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	/* Years past 9999 do not occur; the bound keeps the format exact. */
	snprintf(buf, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)y % 10000, m % 13,
		 d % 32, (unsigned)rem / 3600 % 24, (unsigned)rem / 60 % 60, (unsigned)rem % 60,
		 (unsigned)ms % 1000);
}

int tzday_local_time(const char *tz, int64_t us, int32_t *day, int *minute_of_day)
{
	int32_t d;
	int64_t next_midnight;
	char *saved;
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	int rc = 0;

	/* tzday_compute() vets the zone the same way (glibc would take an
	 * unknown one as UTC). */
	if (tzday_compute(tz, us, &d, &next_midnight) < 0)
		return -1;
	saved = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	if (!localtime_r(&t, &tm))
		rc = -1;
	else {
		*day = d;
		*minute_of_day = tm.tm_hour * 60 + tm.tm_min;
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return rc;
}
