/* SPDX-License-Identifier: MIT */
/* Random identifiers and secrets for e2bd (OpenSSL's CSPRNG). */
#include <stdbool.h>
#include <stddef.h>

#include <openssl/rand.h>

#include "e2bd.h"

int random_hex(char *out, size_t outlen, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[128];
	size_t i;

	if (nbytes > sizeof(buf) || outlen < nbytes * 2 + 1)
		return -1;
	if (RAND_bytes(buf, (int)nbytes) != 1)
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
	unsigned char b;
	size_t i = 0;

	if (outlen < n + 1)
		return -1;
	while (i < n) {
		if (RAND_bytes(&b, 1) != 1)
			return -1;
		/* Reject the top of the range so every character is equally likely. */
		if (b >= 252)
			continue;
		out[i++] = set[b % 36];
	}
	out[n] = '\0';
	return 0;
}
