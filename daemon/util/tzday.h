/*
 * tzday: business days in an office's time zone. A business day is the
 * office's local calendar date, counted as days since 1970-01-01.
 */
#ifndef KOLAPP_TZDAY_H
#define KOLAPP_TZDAY_H

#include <stdint.h>

/* Computes the local day of `now_us` in zone `tz` (an IANA name) and the
 * instant of the next local midnight. Returns 0, or -1 for a bad zone. */
int tzday_compute(const char *tz, int64_t now_us, int32_t *day, int64_t *next_midnight_us);
/* Formats a day as YYYY-MM-DD into buf (at least 11 bytes). */
void tzday_format(int32_t day, char *buf);
/* Parses YYYY-MM-DD; -1 on error. */
int tzday_parse(const char *s, int32_t *day);
/* Formats microseconds since the epoch as ISO 8601 UTC with milliseconds
 * ("2026-11-26T15:38:00.123Z") into buf (at least 25 bytes). */
void tzday_iso8601(int64_t us, char *buf);

/* The local day and the minute of that day (0..1439) of `us` in zone tz,
 * for times shown to people ("14:30"). 0, or -1 for a bad zone. */
int tzday_local_time(const char *tz, int64_t us, int32_t *day, int *minute_of_day);

#endif
