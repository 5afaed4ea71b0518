/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers with a failure-injection counter for torture tests.
 * The counter is atomic so tests may run threaded scenarios.
 */
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

#include "alloc.h"

static atomic_long fail_after = -1;
static atomic_long alloc_count;
/* Blocks handed out and not yet freed (tests compare it around a run). */
static atomic_long live;

/* Failed allocations on this thread: lets a caller tell "out of memory"
 * from a parse error in libraries that do not (jansson). */
static _Thread_local unsigned long failures;

static int should_fail(void)
{
	long n;

	atomic_fetch_add(&alloc_count, 1);
	n = atomic_load(&fail_after);
	if (n < 0)
		return 0;
	if (n == 0) {
		failures++;
		return 1;
	}
	atomic_fetch_sub(&fail_after, 1);
	return 0;
}

unsigned long e2b__alloc_failures(void)
{
	return failures;
}

long e2b__alloc_fail_after(long n)
{
	long count = atomic_exchange(&alloc_count, 0);

	atomic_store(&fail_after, n);
	return count;
}

long e2b__alloc_live(void)
{
	return atomic_load(&live);
}

void *e2b__malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(size ? size : 1);
	if (p)
		atomic_fetch_add(&live, 1);
	else
		failures++;
	return p;
}

void *e2b__calloc(size_t nmemb, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = (!nmemb || !size) ? calloc(1, 1) : calloc(nmemb, size);
	if (p)
		atomic_fetch_add(&live, 1);
	else
		failures++;
	return p;
}

void *e2b__realloc(void *ptr, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = realloc(ptr, size ? size : 1);
	if (p && !ptr)
		atomic_fetch_add(&live, 1);
	else if (!p)
		failures++;
	return p;
}

void e2b__free(void *ptr)
{
	if (ptr)
		atomic_fetch_sub(&live, 1);
	free(ptr);
}

char *e2b__strndup(const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = e2b__malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *e2b__strdup(const char *s)
{
	if (!s)
		return NULL;
	return e2b__strndup(s, strlen(s));
}

char *e2b__strdup0(const char *s)
{
	return e2b__strdup(s ? s : "");
}
