/* SPDX-License-Identifier: MIT */
/*
 * The one reader of the kernel's random bytes (see random.h).
 */
#include <errno.h>
#include <sys/random.h>

#include "random.h"

int e2bu_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t off = 0;
	ssize_t r;

	while (off < len) {
		r = getrandom(p + off, len - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)r;
	}
	return 0;
}
