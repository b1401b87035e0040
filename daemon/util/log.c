#include "daemon/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	current_level = level;
}
enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *name)
{
	if (!strcasecmp(name, "debug"))
		return LOG_DEBUG;
	if (!strcasecmp(name, "info"))
		return LOG_INFO;
	if (!strcasecmp(name, "warn") || !strcasecmp(name, "warning"))
		return LOG_WARN;
	if (!strcasecmp(name, "error"))
		return LOG_ERROR;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof level_names / sizeof level_names[0])
		return "?";
	return level_names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	/* journald reads "<N>" priorities at the start of each stderr line. */
	static const char *const prio[] = { "<7>", "<6>", "<4>", "<3>" };
	static int journal = -1;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level < current_level)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal) {
		n = snprintf(line, sizeof line, "%s", prio[level]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so that lines from a crash are not interleaved. */
	fprintf(stderr, "%s\n", line);
}
