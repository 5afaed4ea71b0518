/* SPDX-License-Identifier: MIT */
/*
 * BUG(): a broken internal invariant, in libe2b, e2bfs, e2bd or e2bctl
 * alike (git's BUG()).  Never compiled out: it prints
 * "<program>: BUG: <file>:<line>: <message>" on stderr and aborts.  Not for
 * bad input, a failed call or OOM: those are errors the caller handles.
 * Depends on libc only, so every part of the tree can include it.
 */
#ifndef E2B_COMMON_BUG_H
#define E2B_COMMON_BUG_H

/* BUG("fmt", ...): printf-style message, one line, no trailing newline. */
#define BUG(...) e2bu_bug(__FILE__, __LINE__, __VA_ARGS__)

void e2bu_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4), cold));

#endif
