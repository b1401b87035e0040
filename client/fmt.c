#include "client/fmt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *jstr_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = jstr(obj, key);

	return s ? s : dflt;
}

long long jint(const json_t *obj, const char *key, long long dflt)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

bool jtrue(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

const char *fmt_queue_open(const json_t *queue)
{
	if (!jtrue(queue, "open"))
		return "closed";
	return json_is_false(json_object_get(queue, "issuing")) ? "no tickets" : "open";
}

/* Accepts what PostgreSQL and the daemon may write: "T" or a space
 * between date and time, optional fractional seconds, and "Z", "+hh",
 * "+hh:mm" or "+hhmm" as the offset. */
static bool parse_iso(const char *s, time_t *out)
{
	struct tm tm;
	int n = 0, oh = 0, om = 0, sign = 0;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n == 0)
		return false;
	p = s + n;
	if (*p == '.' || *p == ',')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d%n", &oh, &n) != 1 || n != 2)
			return false;
		p += 3;
		if (*p == ':')
			p++;
		if (*p >= '0' && *p <= '9') {
			if (sscanf(p, "%2d%n", &om, &n) != 1 || n != 2)
				return false;
			p += 2;
		}
	}
	if (*p != '\0')
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return true;
}

const char *fmt_clock(const char *iso, char *buf, size_t size)
{
	struct tm tm;
	time_t t;

	if (!iso)
		return "-";
	if (!parse_iso(iso, &t) || !localtime_r(&t, &tm) ||
	    strftime(buf, size, "%H:%M:%S", &tm) == 0)
		return iso;
	return buf;
}

const char *fmt_wait(const json_t *seconds, char *buf, size_t size)
{
	double s;
	long min;

	if (!json_is_number(seconds))
		return NULL;
	s = json_number_value(seconds);
	/* Round to the nearest minute: a ceiling makes every estimate look
	 * pessimistic. Anything short of a minute still says "1 min", since
	 * "0 min" would promise a wait of nothing. */
	min = s <= 0 ? 0 : (long)(s / 60 + 0.5);
	if (s > 0 && min < 1)
		min = 1;
	if (min < 60)
		snprintf(buf, size, "%ld min", min);
	else
		snprintf(buf, size, "%ld h %02ld min", min / 60, min % 60);
	return buf;
}

const char *fmt_state(const char *state)
{
	if (!state)
		return "?";
	if (strcmp(state, "no_show") == 0)
		return "no-show";
	return state;
}

size_t utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

void print_padded(FILE *f, const char *s, size_t width)
{
	size_t w = utf8_width(s);

	fputs(s, f);
	for (; w < width; w++)
		fputc(' ', f);
}
