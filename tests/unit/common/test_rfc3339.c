/* SPDX-License-Identifier: MIT */
/*
 * common/rfc3339.c: parsing with offsets, fractions and the accepted
 * spellings, rejection of everything else, formatting with each fraction
 * width, and round trips across the calendar (leap days, before 1970).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rfc3339.h"

static void test_parse(void **state)
{
	int64_t s;
	int32_t ns;

	(void)state;
	assert_int_equal(e2bu_rfc3339_parse("1970-01-01T00:00:00Z", &s, &ns), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(e2bu_rfc3339_parse("2024-02-29T12:34:56.5Z", &s, &ns), 0);
	assert_int_equal(s, 1709210096);
	assert_int_equal(ns, 500000000);
	assert_int_equal(e2bu_rfc3339_parse("2024-02-29t14:34:56.123456789123+02:00", &s, &ns), 0);
	assert_int_equal(s, 1709210096);
	assert_int_equal(ns, 123456789);
	assert_int_equal(e2bu_rfc3339_parse("2024-02-29 07:04:56-05:30", &s, NULL), 0);
	assert_int_equal(s, 1709210096);
	assert_int_equal(e2bu_rfc3339_parse("1969-12-31T23:59:59z", &s, &ns), 0);
	assert_int_equal(s, -1);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "2024-02-29", "2024-02-29T12:34:56", "2024-02-29T12:34:56.Z",
		"2024-2-29T12:34:56Z", "2024-02-29X12:34:56Z", "2024-02-29T12:34:56Zx",
		"2024-02-29T12:34:56+0200", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
		"2024-01-32T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
		" 2024-01-01T00:00:00Z", "2024-01-01T00:00:00 Z", "+024-01-01T00:00:00Z",
	};
	int64_t s = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(e2bu_rfc3339_parse(bad[i], &s, NULL), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(e2bu_rfc3339_parse(NULL, &s, NULL), -1);
	assert_int_equal(s, 7);
}

static void test_format(void **state)
{
	char b[E2BU_RFC3339_MAX];

	(void)state;
	assert_int_equal(e2bu_rfc3339_format(b, sizeof(b), 0, 0, E2BU_RFC3339_SHORTEST), 20);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 500000000, E2BU_RFC3339_SHORTEST);
	assert_string_equal(b, "2024-02-29T12:34:56.500Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 123456000, E2BU_RFC3339_SHORTEST);
	assert_string_equal(b, "2024-02-29T12:34:56.123456Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 123456789, E2BU_RFC3339_SHORTEST);
	assert_string_equal(b, "2024-02-29T12:34:56.123456789Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 123456789, 3);
	assert_string_equal(b, "2024-02-29T12:34:56.123Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 5, 9);
	assert_string_equal(b, "2024-02-29T12:34:56.000000005Z");
	e2bu_rfc3339_format(b, sizeof(b), 1709210096, 123456789, 0);
	assert_string_equal(b, "2024-02-29T12:34:56Z");
	e2bu_rfc3339_format(b, sizeof(b), -1, 0, 0);
	assert_string_equal(b, "1969-12-31T23:59:59Z");
	/* nanoseconds out of range: no fraction */
	e2bu_rfc3339_format(b, sizeof(b), 0, 1000000000, E2BU_RFC3339_SHORTEST);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
}

static void test_format_errors(void **state)
{
	char b[E2BU_RFC3339_MAX];

	(void)state;
	errno = 0;
	assert_int_equal(e2bu_rfc3339_format(b, 20, 0, 0, 0), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(e2bu_rfc3339_format(b, 21, 0, 0, 0), 20);
	assert_int_equal(e2bu_rfc3339_format(b, sizeof(b), 0, 0, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(e2bu_rfc3339_format(b, sizeof(b), INT64_MAX, 0, 0), -1);
	assert_int_equal(errno, EOVERFLOW);
}

static void test_round_trip(void **state)
{
	char b[E2BU_RFC3339_MAX];
	int64_t t, s;
	int32_t ns;

	(void)state;
	/* every 7.3 days or so from 1900 to 2100, with a fraction */
	for (t = -2208988800LL; t < 4102444800LL; t += 631151) {
		assert_true(e2bu_rfc3339_format(b, sizeof(b), t, 250000, 6) > 0);
		assert_int_equal(e2bu_rfc3339_parse(b, &s, &ns), 0);
		assert_int_equal(s, t);
		assert_int_equal(ns, 250000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
