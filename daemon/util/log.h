/*
 * log: one line per event on stderr, with a level and a context prefix.
 * Owns the global log level. Never pass a token to these functions.
 */
#ifndef KOLAPP_LOG_H
#define KOLAPP_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn"/"warning", "error"; -1 when unknown. */
int log_level_parse(const char *name);
/* The name log_level_parse() reads back ("warn" for LOG_WARN). */
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) \
	do { \
		if (log_get_level() <= LOG_DEBUG) \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
