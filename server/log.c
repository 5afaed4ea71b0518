/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with a level filter and UTC timestamps.  Each line is
 * formatted whole and written with one write(2) so lines from concurrent
 * threads never interleave.  Callers never pass keys or tokens here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2bd.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int r;

	if (lvl > g_cfg.log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ e2bd %s: ",
		     ts.tv_nsec / 1000000, level_names[lvl]);
	if (r > 0)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;	/* truncated: keep the newline */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
