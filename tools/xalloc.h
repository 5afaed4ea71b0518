/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that never return NULL: a command line tool has no
 * better answer to running out of memory than to stop (git, tmux).
 */
#ifndef E2BCTL_XALLOC_H
#define E2BCTL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow an array of @p n elements of @p size to hold at least @p need. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* asprintf that dies on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* E2BCTL_XALLOC_H */
