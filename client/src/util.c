/* SPDX-License-Identifier: MIT */
/*
 * Pure helpers shared by all layers: encodings, dates, versions, numbers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "error.h"
#include "rfc3339.h"
#include "util.h"

int e2b__b64_encode(e2b_buf *out, const void *data, size_t len)
{
	size_t olen = e2bu_b64_enclen(len);
	int error;

	if (!olen && len)
		return e2b__error_set(E2B_ENOMEM, "data too large to encode");
	error = e2b_buf_grow(out, olen);
	if (error < 0)
		return error;
	out->size += e2bu_b64_encode(out->ptr + out->size, data, len);
	return 0;
}

int e2b__b64_decode(e2b_buf *out, const char *s, size_t len)
{
	size_t cap = e2bu_b64_declen(len), pos;
	ssize_t n;
	int error;

	error = e2b_buf_grow(out, cap);
	if (error < 0)
		return error;
	n = e2bu_b64_decode(out->ptr + out->size, cap, s, len, &pos);
	if (n < 0)
		return e2b__error_set(E2B_EPROTO, "invalid base64 data at input byte %zu", pos);
	out->size += (size_t)n;
	out->ptr[out->size] = '\0';
	return 0;
}

static int parse_digits(const char **pp, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*pp)[i]))
			return -1;
		v = v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	*out = v;
	return 0;
}

int e2b__parse_rfc3339(const char *s, int64_t *out_sec, int32_t *out_nsec)
{
	if (e2bu_rfc3339_parse(s, out_sec, out_nsec) < 0)
		return e2b__error_set(E2B_EPROTO, "invalid timestamp '%.64s'", s ? s : "");
	return 0;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

int e2b__parse_http_date(const char *s, int64_t *out_sec)
{
	int D, Y, h, m, sec, M;
	const char *p;

	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	p = s ? strchr(s, ',') : NULL;
	if (!p)
		return E2B_EPROTO;
	p++;
	while (*p == ' ')
		p++;
	if (parse_digits(&p, 2, &D) || *p++ != ' ')
		return E2B_EPROTO;
	for (M = 0; M < 12; M++)
		if (!strncmp(p, months[M], 3))
			break;
	if (M == 12)
		return E2B_EPROTO;
	p += 3;
	if (*p++ != ' ' || parse_digits(&p, 4, &Y) || *p++ != ' ' ||
	    parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &m) ||
	    *p++ != ':' || parse_digits(&p, 2, &sec))
		return E2B_EPROTO;
	*out_sec = e2bu_days_from_civil(Y, M + 1, D) * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}

void e2b__format_http_date(char *buf, size_t cap, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void version_parts(const char *v, long parts[3])
{
	char *end;
	int i;

	parts[0] = parts[1] = parts[2] = 0;
	if (!v)
		return;
	if (*v == 'v' || *v == 'V')
		v++;
	for (i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*v))
			return;
		errno = 0;
		parts[i] = strtol(v, &end, 10);
		if (errno)
			parts[i] = 0;
		v = end;
		if (*v != '.')
			return;
		v++;
	}
}

int e2b__version_cmp(const char *a, const char *b)
{
	long pa[3], pb[3];
	int i;

	version_parts(a, pa);
	version_parts(b, pb);
	for (i = 0; i < 3; i++) {
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	}
	return 0;
}

int e2b__url_escape(e2b_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char tmp[3];
	int error;

	for (p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			error = e2b_buf_put(out, p, 1);
		} else {
			tmp[0] = '%';
			tmp[1] = hex[*p >> 4];
			tmp[2] = hex[*p & 15];
			error = e2b_buf_put(out, tmp, 3);
		}
		if (error < 0)
			return error;
	}
	return 0;
}

int e2b__parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return E2B_EINVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return E2B_EINVALID;
	*out = v;
	return 0;
}

int e2b__parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return E2B_EINVALID;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return E2B_EINVALID;
	*out = v;
	return 0;
}

const char *e2b__strerror(int err, char *buf, size_t cap)
{
	/* GNU strerror_r (we build with _GNU_SOURCE): returns the text, which
	 * may or may not be buf */
	return strerror_r(err, buf, cap);
}

int64_t e2b__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2b__sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int e2b__strcaseeq(const char *a, const char *b)
{
	return a && b && !strcasecmp(a, b);
}

void e2b__what(char *buf, size_t cap, const char *verb, const char *subject)
{
	if (subject)
		snprintf(buf, cap, "%s '%.200s'", verb, subject);
	else
		snprintf(buf, cap, "%s", verb);
}
