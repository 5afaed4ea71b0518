/* SPDX-License-Identifier: MIT */
/*
 * Internal side of the per-thread error record: set it where a failure is
 * detected, propagate the returned code, never overwrite it on the way up.
 */
#ifndef E2B_ERROR_H
#define E2B_ERROR_H

#include <e2b/errors.h>

/* Record code + message; returns @code so callers can `return e2b__error_set(...)`. */
int e2b__error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same with the HTTP/RPC details. */
int e2b__error_set_http(int code, int http_status, const char *rpc_code,
			const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int e2b__error_oom(void);
/* Attach the sandbox's OS reason (an errno value, 0 = none) to the record
 * just set; every e2b__error_set*() resets it to 0. */
void e2b__error_set_os_errno(int os_errno);
/* Prefix the current message with "<prefix>: " (context the caller lacks). */
void e2b__error_prefix(const char *prefix);

/*
 * Programming errors in arguments.  Unlike libgit2 this never asserts,
 * not even in debug builds: the project rule is that bad input gives a
 * clear error, never a crash, and the unit tests pass NULLs on purpose.
 */
#define E2B_ASSERT_ARG(x) do { if (!(x)) return e2b__error_set(E2B_EINVALID, \
	"invalid argument: %s", #x); } while (0)

/* BUG(): broken internal invariants, the project's one macro (common/bug.h). */
#include "bug.h"

#endif
