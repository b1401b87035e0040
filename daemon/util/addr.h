/*
 * addr: the "ADDR:PORT" / "[V6ADDR]:PORT" form of every listen address
 * (listen, listen_tls, http). Syntax only: whether the host is a numeric
 * address or a name is for the caller's bind to decide.
 */
#ifndef KOLAPP_ADDR_H
#define KOLAPP_ADDR_H

#include <stddef.h>

/* Longest host part (with its NUL) a caller's buffer needs. */
#define ADDR_HOST_MAX 80

/* Splits addrport into a non-empty host (brackets removed) and a port
 * from 0 to 65535. Returns 0, or -1 when the form is wrong or the host
 * does not fit hostsz. */
int addr_parse(const char *addrport, char *host, size_t hostsz, int *port);

#endif
