/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with a level filter and UTC timestamps.  Each line is
 * formatted whole and written with one write(2) so lines from concurrent
 * threads never interleave.  Callers never pass keys or tokens here.
 * Control bytes in the message (a path with %0a, an escape sequence) are
 * written as \xNN, so no request can forge a line or drive a terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "rfc3339.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Append MSG to LINE at N (capacity CAP) with control bytes escaped. */
static size_t escape_into(char *line, size_t n, size_t cap, const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p && n < cap; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			line[n++] = (char)*p;
			continue;
		}
		if (n + 4 > cap)
			break;
		line[n++] = '\\';
		line[n++] = 'x';
		line[n++] = hex[*p >> 4];
		line[n++] = hex[*p & 15];
	}
	return n;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048], msg[2048];
	struct timespec ts;
	va_list ap;
	size_t n;
	int r, saved_errno = errno;

	if (lvl > g_cfg.log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	r = e2bu_rfc3339_format(line, sizeof(line), ts.tv_sec, (int32_t)ts.tv_nsec, 3);
	n = r > 0 ? (size_t)r : 0;
	r = snprintf(line + n, sizeof(line) - n, " e2bd %s: ", level_names[lvl]);
	if (r > 0)
		n += (size_t)r;
	/* %m is the caller's errno, whatever strftime left */
	errno = saved_errno;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = escape_into(line, n, sizeof(line) - 1, msg);	/* room for the newline */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

int64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
