/* SPDX-License-Identifier: MIT */
/*
 * The one report of a broken invariant (see bug.h): one line on stderr,
 * then abort() so a core dump or the test harness keeps the state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bug.h"

void e2bu_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	fprintf(stderr, "%s: BUG: %s:%d: ", program_invocation_short_name, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	abort();
}
