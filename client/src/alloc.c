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

static int should_fail(void)
{
	long n;

	atomic_fetch_add(&alloc_count, 1);
	n = atomic_load(&fail_after);
	if (n < 0)
		return 0;
	if (n == 0)
		return 1;
	atomic_fetch_sub(&fail_after, 1);
	return 0;
}

long e2b__alloc_fail_after(long n)
{
	long count = atomic_exchange(&alloc_count, 0);

	atomic_store(&fail_after, n);
	return count;
}

void *e2b__malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *e2b__calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	if (!nmemb || !size)
		return calloc(1, 1);
	return calloc(nmemb, size);
}

void *e2b__realloc(void *ptr, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(ptr, size ? size : 1);
}

void e2b__free(void *ptr)
{
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
