/* proto: finding one "\n"-terminated line in a receive buffer. */
#include "proto/proto.h"

#include <stdint.h>
#include <string.h>

enum proto_frame proto_frame_find(const char *buf, size_t len, size_t max_line, size_t *line_len,
				  size_t *consumed)
{
	/* A legal line has at most max_line bytes, one "\r" and the "\n":
	 * never look further than that, so a flood costs O(max_line). */
	size_t window = max_line > SIZE_MAX - 2 ? SIZE_MAX : max_line + 2;
	size_t scan = len < window ? len : window;
	const char *nl = scan ? memchr(buf, '\n', scan) : NULL;

	if (nl) {
		size_t n = (size_t)(nl - buf);
		size_t used = n + 1;

		if (n > 0 && buf[n - 1] == '\r')
			n--;
		if (n > max_line)
			return FRAME_TOO_LARGE;
		if (line_len)
			*line_len = n;
		if (consumed)
			*consumed = used;
		return FRAME_LINE;
	}
	/*
	 * No newline yet. More than max_line bytes is already fatal unless
	 * the only extra byte is a "\r" that the coming "\n" will absorb;
	 * deciding now spares buffering a line we will refuse anyway.
	 */
	if (len > max_line && !(len - max_line == 1 && buf[max_line] == '\r'))
		return FRAME_TOO_LARGE;
	return FRAME_NEED_MORE;
}
