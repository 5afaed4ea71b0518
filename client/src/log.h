/* SPDX-License-Identifier: MIT */
/*
 * Logging through the client's sink.  Callers must never pass keys or
 * tokens; URLs logged here carry none (they travel in headers).
 */
#ifndef E2B_LOG_H
#define E2B_LOG_H

#include <e2b/common.h>

struct e2b__logger {
	e2b_log_cb cb;
	void *payload;
	int debug;
};

void e2b__log(const struct e2b__logger *lg, e2b_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define e2b__debug(lg, ...) do { if ((lg) && (lg)->debug) \
	e2b__log((lg), E2B_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
