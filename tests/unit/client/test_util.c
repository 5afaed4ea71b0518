/* SPDX-License-Identifier: MIT */
/*
 * e2b_buf ceilings and ownership, version comparison, URL escaping and
 * checked number parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "util.h"
#include "error.h"

static void test_buf_ceiling(void **state)
{
	e2b_buf b;
	char *p;
	size_t n;

	(void)state;
	e2b_buf_init(&b, 8);
	assert_string_equal(b.ptr, "");
	assert_int_equal(e2b_buf_put(&b, "12345678", 8), 0);
	assert_int_equal(e2b_buf_put(&b, "9", 1), E2B_ENOMEM);
	assert_int_equal(b.size, 8);
	assert_string_equal(b.ptr, "12345678");
	e2b_buf_consume(&b, 3);
	assert_string_equal(b.ptr, "45678");
	assert_int_equal(e2b_buf_printf(&b, "%d", 12), 0);
	assert_string_equal(b.ptr, "4567812");
	p = e2b_buf_detach(&b, &n);
	assert_int_equal(n, 7);
	assert_string_equal(p, "4567812");
	assert_int_equal(b.size, 0);
	e2b__free(p);
	p = e2b_buf_detach(&b, &n);	/* empty buffer still yields a string */
	assert_string_equal(p, "");
	e2b__free(p);
	e2b_buf_release(&b);
}

static void test_buf_oom(void **state)
{
	e2b_buf b = E2B_BUF_INIT;

	(void)state;
	e2b__alloc_fail_after(0);
	assert_int_equal(e2b_buf_puts(&b, "x"), E2B_ENOMEM);
	e2b__alloc_fail_after(-1);
	assert_string_equal(b.ptr, "");
	e2b_buf_release(&b);
}

static void test_version_cmp(void **state)
{
	(void)state;
	assert_true(e2b__version_cmp("0.5.7", "0.5.7") == 0);
	assert_true(e2b__version_cmp("0.5.10", "0.5.7") > 0);
	assert_true(e2b__version_cmp("0.2.10", "0.4.0") < 0);
	assert_true(e2b__version_cmp("v1.0", "0.9.9") > 0);
	assert_true(e2b__version_cmp("1", "1.0.0") == 0);
	assert_true(e2b__version_cmp("garbage", "0.0.0") == 0);
	assert_true(e2b__version_cmp(NULL, "0.0.1") < 0);
	assert_true(e2b__version_cmp("0.6.13-rc1", "0.6.13") == 0);
}

static void test_url_escape(void **state)
{
	e2b_buf b = E2B_BUF_INIT;

	(void)state;
	assert_int_equal(e2b__url_escape(&b, "/home/user/a b&c=d?é~._-"), 0);
	assert_string_equal(b.ptr, "%2Fhome%2Fuser%2Fa%20b%26c%3Dd%3F%C3%A9~._-");
	e2b_buf_release(&b);
}

static void test_parse_numbers(void **state)
{
	int64_t i;
	uint64_t u;

	(void)state;
	assert_int_equal(e2b__parse_i64("-42", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(e2b__parse_i64("42x", &i), E2B_EINVALID);
	assert_int_equal(e2b__parse_i64("", &i), E2B_EINVALID);
	assert_int_equal(e2b__parse_i64("99999999999999999999", &i), E2B_EINVALID);
	assert_int_equal(e2b__parse_u64("18446744073709551615", &u), 0);
	assert_int_equal(e2b__parse_u64("-1", &u), E2B_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_ceiling),
		cmocka_unit_test(test_buf_oom),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_parse_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
