/* SPDX-License-Identifier: MIT */
/*
 * The one allocator of libe2b.  Every allocation goes through here so the
 * allocation-torture tests can fail the Nth one.
 */
#ifndef E2B_ALLOC_H
#define E2B_ALLOC_H

#include <stddef.h>

void *e2b__malloc(size_t size);
void *e2b__calloc(size_t nmemb, size_t size);
void *e2b__realloc(void *ptr, size_t size);
void e2b__free(void *ptr);
char *e2b__strdup(const char *s);
char *e2b__strndup(const char *s, size_t n);
/* Like e2b__strdup but NULL becomes "". */
char *e2b__strdup0(const char *s);

/*
 * Test hook: fail every allocation after the next @n succeed (n < 0
 * disables).  Returns the number of allocations made since the last call.
 * Process-wide; tests only.
 */
long e2b__alloc_fail_after(long n);
/* Allocations that failed on the calling thread so far. */
unsigned long e2b__alloc_failures(void);
/* Test hook: blocks allocated here and not yet freed. */
long e2b__alloc_live(void);

#endif
