/* SPDX-License-Identifier: MIT */
/*
 * common/random.c: fills exactly the bytes asked for (a guard byte after
 * stays), large requests beyond one getrandom() call's 32 MiB cap complete,
 * and two draws of 32 bytes differ.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "random.h"

static void test_fills(void **state)
{
	unsigned char a[33], b[33];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(e2bu_random(a, 32), 0);
	assert_int_equal(e2bu_random(b, 32), 0);
	assert_int_equal(a[32], 0);
	assert_int_equal(b[32], 0);
	/* 2^-256 chance of a false failure */
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(e2bu_random(a, 0), 0);
}

static void test_large(void **state)
{
	size_t len = (32u << 20) + 4096, i, zeros = 0;
	unsigned char *p = calloc(1, len);

	(void)state;
	assert_non_null(p);
	assert_int_equal(e2bu_random(p, len), 0);
	/* the tail past the first call's cap was written: not all zero */
	for (i = len - 4096; i < len; i++)
		zeros += !p[i];
	assert_true(zeros < 4096);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
