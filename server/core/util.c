/* SPDX-License-Identifier: MIT */
/*
 * Random identifiers and secrets for e2bd, from the kernel's CSPRNG
 * (common/random.c): no per-thread generator state in the short-lived
 * connection threads that ask for them.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/e2bd.h"
#include "random.h"

int random_hex(char *out, size_t outlen, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[128];
	size_t i;

	if (nbytes > sizeof(buf) || outlen < nbytes * 2 + 1)
		return -1;
	if (e2bu_random(buf, nbytes) < 0)
		return -1;
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

int random_alnum(char *out, size_t outlen, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char pool[64];
	size_t i = 0, used = sizeof(pool);

	if (outlen < n + 1)
		return -1;
	while (i < n) {
		if (used == sizeof(pool)) {
			if (e2bu_random(pool, sizeof(pool)) < 0)
				return -1;
			used = 0;
		}
		/* Reject the top of the range so every character is equally likely. */
		if (pool[used] < 252)
			out[i++] = set[pool[used] % 36];
		used++;
	}
	out[n] = '\0';
	return 0;
}
