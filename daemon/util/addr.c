#include "daemon/util/addr.h"

#include <stdlib.h>
#include <string.h>

int addr_parse(const char *addrport, char *host, size_t hostsz, int *port)
{
	const char *start = addrport, *colon;
	size_t len;
	char *end;
	long p;

	if (addrport[0] == '[') {
		/* The brackets are what lets a V6 address hold colons. */
		const char *close = strchr(addrport, ']');

		if (!close || close[1] != ':')
			return -1;
		start = addrport + 1;
		len = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(addrport, ':');
		if (!colon)
			return -1;
		len = (size_t)(colon - addrport);
	}
	if (!len || len >= hostsz)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return -1;
	memcpy(host, start, len);
	host[len] = '\0';
	*port = (int)p;
	return 0;
}
