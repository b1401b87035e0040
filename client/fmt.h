/*
 * fmt: small helpers that turn protocol values into words for people
 * (local clock times, waits in minutes, state names) and read fields
 * out of replies without trusting their types.
 */
#ifndef KOLAPP_CLIENT_FMT_H
#define KOLAPP_CLIENT_FMT_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* The string at key, or NULL when absent, null or not a string. */
const char *jstr(const json_t *obj, const char *key);
/* The string at key, or dflt. */
const char *jstr_or(const json_t *obj, const char *key, const char *dflt);
/* The integer at key, or dflt when absent or not an integer. */
long long jint(const json_t *obj, const char *key, long long dflt);
bool jtrue(const json_t *obj, const char *key);

/* An ISO 8601 instant as local "HH:MM:SS"; the text itself when it does
 * not parse, "-" for NULL. */
const char *fmt_clock(const char *iso, char *buf, size_t size);

/* A wait in seconds as "6 min", "1 min", "1 h 05 min"; NULL when
 * the value is null, absent or not a number (the wait is unknown). */
const char *fmt_wait(const json_t *seconds, char *buf, size_t size);

/* A queue (from status or its event) as "open", "closed", or "no tickets"
 * when it is open but outside its ticket hours (issuing false; a 1.0
 * daemon does not say, and its queues take tickets when open). */
const char *fmt_queue_open(const json_t *queue);

/* "waiting", "no-show", ...: the state as a person would say it. */
const char *fmt_state(const char *state);

/* Characters (not bytes) in a UTF-8 string, for lining up columns with
 * names such as "Återbetalning". */
size_t utf8_width(const char *s);
/* Prints s and pads it with spaces to width characters. */
void print_padded(FILE *f, const char *s, size_t width);

#endif
