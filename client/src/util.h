/* SPDX-License-Identifier: MIT */
/*
 * Small pure helpers: base64, RFC 3339 and HTTP dates, version compare,
 * URL escaping, checked number parsing.  No client state.
 */
#ifndef E2B_UTIL_H
#define E2B_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Standard alphabet with padding. */
int e2b__b64_encode(e2b_buf *out, const void *data, size_t len);
/* Accepts standard or URL-safe alphabet, padded or not; E2B_EPROTO on bad input. */
int e2b__b64_decode(e2b_buf *out, const char *s, size_t len);

/* "2026-01-02T03:04:05.123Z" or with ±hh:mm offset.  0 or E2B_EPROTO. */
int e2b__parse_rfc3339(const char *s, int64_t *out_sec, int32_t *out_nsec);
/* RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
int e2b__parse_http_date(const char *s, int64_t *out_sec);
void e2b__format_http_date(char *buf, size_t cap, int64_t sec);

/* Compare dotted versions ("0.5.7" vs "0.10.0"); missing parts are 0,
 * a leading 'v' is ignored, anything unparsable sorts as 0.0.0. */
int e2b__version_cmp(const char *a, const char *b);

/* Percent-encode everything but unreserved characters (RFC 3986). */
int e2b__url_escape(e2b_buf *out, const char *s);

/* Checked strtoll/strtoull on a whole string.  0 or E2B_EINVALID. */
int e2b__parse_i64(const char *s, int64_t *out);
int e2b__parse_u64(const char *s, uint64_t *out);

/* Monotonic milliseconds. */
int64_t e2b__now_ms(void);
void e2b__sleep_ms(long ms);

/* "what" strings for messages: "stat '/x'" (subject truncated safely). */
void e2b__what(char *buf, size_t cap, const char *verb, const char *subject);

int e2b__strcaseeq(const char *a, const char *b);

/* The text of errno value err, thread-safe (strerror_r into buf). */
const char *e2b__strerror(int err, char *buf, size_t cap);

#endif
