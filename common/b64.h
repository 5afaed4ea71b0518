/* SPDX-License-Identifier: MIT */
/*
 * Base64 (RFC 4648) for libe2b, e2bd and protojson: encode with the
 * standard alphabet, padded; decode either alphabet (standard or URL-safe),
 * padded or not, as Go's protojson reader accepts it.  libc only, plain
 * buffers whose capacity the caller gives.
 */
#ifndef E2B_COMMON_B64_H
#define E2B_COMMON_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Characters e2bu_b64_encode() writes for @len bytes (without the NUL);
 * 0 for a @len so large that the result would not fit a size_t. */
size_t e2bu_b64_enclen(size_t len);

/* Encode @len bytes of @in into @out, which holds e2bu_b64_enclen(@len) + 1
 * bytes; NUL-terminates and returns the length written. */
size_t e2bu_b64_encode(char *out, const void *in, size_t len);

/* Bytes that are always enough to decode @len characters. */
static inline size_t e2bu_b64_declen(size_t len)
{
	return len / 4 * 3 + 3;
}

/*
 * Decode @len characters of @in into @out (capacity @cap); returns the
 * number of bytes, or -1 with errno EINVAL (bad character, padding or
 * length; *@errpos, if not NULL, is the input offset Go's decoder would
 * name) or ENOSPC (the result exceeds @cap; nothing useful written).
 */
ssize_t e2bu_b64_decode(void *out, size_t cap, const char *in, size_t len, size_t *errpos);

#endif
