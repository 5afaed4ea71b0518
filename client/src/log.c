/* SPDX-License-Identifier: MIT */
/*
 * Formats one log line and hands it to the configured sink, or to stderr.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *level_name(e2b_log_level level)
{
	switch (level) {
	case E2B_LOG_ERROR: return "error";
	case E2B_LOG_WARN: return "warning";
	case E2B_LOG_INFO: return "info";
	default: return "debug";
	}
}

void e2b__log(const struct e2b__logger *lg, e2b_log_level level,
	      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level >= E2B_LOG_INFO && !(lg && lg->debug))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lg && lg->cb)
		lg->cb(level, msg, lg->payload);
	else
		fprintf(stderr, "libe2b: %s: %s\n", level_name(level), msg);
}
