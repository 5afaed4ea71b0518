/* SPDX-License-Identifier: MIT */
/*
 * The one base64 codec (see b64.h): one table for both alphabets, one
 * decoder that accepts exactly what protojson's reader accepts.
 */
#include <errno.h>
#include <stdint.h>

#include "b64.h"

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t e2bu_b64_enclen(size_t len)
{
	if (len > ((size_t)-1) / 4 * 3 - 3)
		return 0;
	return (len + 2) / 3 * 4;
}

size_t e2bu_b64_encode(char *out, const void *in, size_t len)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = b64_chars[(v >> 6) & 63];
		out[o++] = b64_chars[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Value of @c in either alphabet, -1 for none. */
static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static ssize_t b64_fail(int err, size_t *errpos, size_t pos)
{
	if (errpos)
		*errpos = pos;
	errno = err;
	return -1;
}

ssize_t e2bu_b64_decode(void *out, size_t cap, const char *in, size_t len, size_t *errpos)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i, o = 0, n = len, full, need;
	unsigned char *d = out;
	int v0, v1, v2, v3;

	while (n && in[n - 1] == '=')
		n--;
	if (len - n > 2 || (len != n && len % 4) || n % 4 == 1)
		return b64_fail(EINVAL, errpos, n);
	full = n / 4 * 4;
	need = full / 4 * 3 + (n > full ? n - full - 1 : 0);
	if (need > cap)
		return b64_fail(ENOSPC, errpos, 0);
	for (i = 0; i < n; i += 4) {
		v0 = b64_val(u[i]);
		v1 = i + 1 < n ? b64_val(u[i + 1]) : 0;
		v2 = i + 2 < n ? b64_val(u[i + 2]) : 0;
		v3 = i + 3 < n ? b64_val(u[i + 3]) : 0;
		if ((v0 | v1 | v2 | v3) < 0)
			return b64_fail(EINVAL, errpos, i);
		d[o++] = (unsigned char)(v0 << 2 | v1 >> 4);
		if (i < full || n - i > 2)
			d[o++] = (unsigned char)(v1 << 4 | v2 >> 2);
		if (i < full || n - i > 3)
			d[o++] = (unsigned char)(v2 << 6 | v3);
	}
	return (ssize_t)o;
}
