/* SPDX-License-Identifier: MIT */
/*
 * common/b64.c: RFC 4648 test vectors both ways, every length around the
 * block size round-trips, URL-safe and unpadded input, the errors with the
 * offsets Go's decoder names, and the capacity check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"

static const char *const vec[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void test_vectors(void **state)
{
	char enc[16], dec[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i][0]);
		assert_int_equal(e2bu_b64_enclen(n), strlen(vec[i][1]));
		assert_int_equal(e2bu_b64_encode(enc, vec[i][0], n), strlen(vec[i][1]));
		assert_string_equal(enc, vec[i][1]);
		assert_int_equal(e2bu_b64_decode(dec, sizeof(dec), vec[i][1], strlen(vec[i][1]),
						 NULL), (ssize_t)n);
		assert_memory_equal(dec, vec[i][0], n);
	}
}

static void test_round_trip(void **state)
{
	unsigned char in[64], out[64];
	char enc[128];
	size_t len, n, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 250);
	for (len = 0; len <= sizeof(in); len++) {
		n = e2bu_b64_encode(enc, in, len);
		assert_int_equal(n % 4, 0);
		assert_int_equal(e2bu_b64_decode(out, len, enc, n, NULL), (ssize_t)len);
		assert_memory_equal(out, in, len);
		/* unpadded too */
		while (n && enc[n - 1] == '=')
			n--;
		assert_int_equal(e2bu_b64_decode(out, len, enc, n, NULL), (ssize_t)len);
		assert_memory_equal(out, in, len);
		assert_true(e2bu_b64_declen(n) >= len);
	}
}

static void test_alphabets(void **state)
{
	unsigned char out[8];

	(void)state;
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "YQBi//4=", 8, NULL), 5);
	assert_memory_equal(out, "a\0b\xff\xfe", 5);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "YQBi__4", 7, NULL), 5);
	assert_memory_equal(out, "a\0b\xff\xfe", 5);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "+-/_", 4, NULL), 3);
	assert_memory_equal(out, "\xfb\xef\xff", 3);
}

static void test_errors(void **state)
{
	unsigned char out[16];
	size_t pos = 99;

	(void)state;
	errno = 0;
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "a$==", 4, &pos), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pos, 0);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "Zm9vY$==", 8, &pos), -1);
	assert_int_equal(pos, 4);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "a", 1, &pos), -1);
	assert_int_equal(pos, 1);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "YQ===", 5, &pos), -1);
	assert_int_equal(pos, 2);
	/* padded but not a multiple of four */
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "Zm9vY=", 6, &pos), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "Zm 9", 4, NULL), -1);
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "Zm9v\n", 5, NULL), -1);
	/* NUL inside the given length is a bad character, not an end */
	assert_int_equal(e2bu_b64_decode(out, sizeof(out), "Zm\0v", 4, NULL), -1);
}

static void test_capacity(void **state)
{
	unsigned char out[8];

	(void)state;
	memset(out, 0x55, sizeof(out));
	errno = 0;
	assert_int_equal(e2bu_b64_decode(out, 5, "Zm9vYmFy", 8, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(out[0], 0x55);
	assert_int_equal(e2bu_b64_decode(out, 6, "Zm9vYmFy", 8, NULL), 6);
	assert_int_equal(e2bu_b64_decode(out, 4, "Zm9vYg", 6, NULL), 4);
	assert_int_equal(e2bu_b64_decode(out, 3, "Zm9vYg", 6, NULL), -1);
	assert_int_equal(e2bu_b64_decode(NULL, 0, "", 0, NULL), 0);
	assert_int_equal(e2bu_b64_enclen(SIZE_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_alphabets),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
