/*
 * notify: talking to systemd. Readiness, reloading, stopping and the
 * watchdog through sd_notify, and listening sockets passed by socket
 * activation through sd_listen_fds. Built without systemd, every call
 * is a no-op (and no Type=notify unit is installed).
 */
#ifndef KOLAPP_NOTIFY_H
#define KOLAPP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* True when this build can notify (configured --with-systemd). */
bool notify_supported(void);
void notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC; call notify_ready() when done. */
void notify_reloading(void);
void notify_stopping(void);
/* The watchdog interval systemd asked for, in microseconds; 0: none. */
uint64_t notify_watchdog_usec(void);
void notify_watchdog(void);
/* Listening sockets passed by systemd (fds 3 ..); 0 when none. */
int notify_listen_fds(void);

#endif
