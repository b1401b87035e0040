/*
 * render: successful replies and events as text a counter clerk reads.
 *
 * Every function prints to stdout and copes with missing or mistyped
 * fields (prints "?" or leaves the part out) instead of failing: the
 * daemon may add fields and a display must not die over one.
 */
#ifndef KOLAPP_CLIENT_RENDER_H
#define KOLAPP_CLIENT_RENDER_H

#include <jansson.h>

typedef void (*render_fn)(const json_t *reply);

void render_ping(const json_t *reply);
void render_issue(const json_t *reply);
void render_call(const json_t *reply); /* call_next and call */
void render_recall(const json_t *reply);
void render_start(const json_t *reply);
void render_finish(const json_t *reply);
void render_no_show(const json_t *reply);
void render_transfer(const json_t *reply);
void render_cancel(const json_t *reply);
void render_park(const json_t *reply);
void render_reactivate(const json_t *reply);
void render_counter(const json_t *reply); /* counter_open/close */
void render_ticket(const json_t *reply);
void render_status(const json_t *reply);
void render_booking(const json_t *reply); /* book, unbook */
void render_check_in(const json_t *reply);

/* One line per event, for watch. */
void render_event(const json_t *event);

#endif
