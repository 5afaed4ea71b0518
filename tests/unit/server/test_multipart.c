/* SPDX-License-Identifier: MIT */
/* Unit tests for multipart.c: the streaming form parser behind POST /files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/multipart.h"

struct rec {
	char log[8192];
	size_t len;
	int fail_on_data;
};

static void add(struct rec *r, const char *s, size_t n)
{
	if (r->len + n < sizeof(r->log)) {
		memcpy(r->log + r->len, s, n);
		r->len += n;
		r->log[r->len] = '\0';
	}
}

static int on_begin(void *p, const char *name, const char *filename)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "[%s|%s]", name, filename ? filename : "(none)");
	add(p, buf, strlen(buf));
	return 0;
}

static int on_data(void *p, const char *d, size_t n)
{
	struct rec *r = p;

	if (r->fail_on_data)
		return -1;
	add(r, d, n);
	return 0;
}

static int on_end(void *p)
{
	add(p, "$", 1);
	return 0;
}

static const struct multipart_callbacks cbs = { on_begin, on_data, on_end };

static const char body[] =
	"preamble\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"file\"; filename=\"/home/user/a b.txt\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"hello\r\n--XyZnot-a-boundary\r\n"
	"--XyZ\r\n"
	"content-disposition: form-data; name=other\r\n"
	"\r\n"
	"\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"file\"; filename*=utf-8''%C3%BC%25.txt\r\n"
	"\r\n"
	"\r\n"
	"--XyZ--\r\n"
	"epilogue";

static const char want[] =
	"[file|/home/user/a b.txt]hello\r\n--XyZnot-a-boundary$"
	"[other|(none)]$"
	"[file|\xc3\xbc%.txt]$";

static void test_every_split_point(void **state)
{
	size_t n = strlen(body), cut;

	for (cut = 0; cut <= n; cut++) {
		struct rec r = { .len = 0 };
		char err[128];
		struct multipart_parser *p = multipart_new("multipart/form-data; boundary=XyZ",
							   &cbs, &r, err, sizeof(err));

		assert_non_null(p);
		assert_int_equal(multipart_feed(p, body, cut), 0);
		assert_int_equal(multipart_feed(p, body + cut, n - cut), 0);
		assert_int_equal(multipart_finish(p), 0);
		assert_string_equal(r.log, want);
		multipart_free(p);
	}
}

static void test_byte_at_a_time(void **state)
{
	struct rec r = { .len = 0 };
	char err[128];
	struct multipart_parser *p = multipart_new("multipart/form-data; boundary=\"XyZ\"",
						   &cbs, &r, err, sizeof(err));
	size_t i;

	for (i = 0; body[i]; i++)
		assert_int_equal(multipart_feed(p, body + i, 1), 0);
	assert_int_equal(multipart_finish(p), 0);
	assert_string_equal(r.log, want);
	multipart_free(p);
}

static void test_truncated_and_empty(void **state)
{
	struct rec r = { .len = 0 };
	char err[128];
	struct multipart_parser *p;

	p = multipart_new("multipart/form-data; boundary=XyZ", &cbs, &r, err, sizeof(err));
	assert_int_equal(multipart_feed(p, body, 120), 0);
	assert_int_equal(multipart_finish(p), -1);
	assert_string_equal(multipart_error(p), "unexpected EOF");
	multipart_free(p);
	p = multipart_new("multipart/form-data; boundary=XyZ", &cbs, &r, err, sizeof(err));
	assert_int_equal(multipart_finish(p), 1);
	multipart_free(p);
	assert_null(multipart_new("multipart/form-data", &cbs, &r, err, sizeof(err)));
	assert_null(multipart_new("multipart/form-data; boundary=", &cbs, &r, err, sizeof(err)));
}

static void test_callback_error_stops(void **state)
{
	struct rec r = { .len = 0, .fail_on_data = 1 };
	char err[128];
	struct multipart_parser *p = multipart_new("multipart/form-data; boundary=XyZ",
						   &cbs, &r, err, sizeof(err));

	assert_int_equal(multipart_feed(p, body, strlen(body)), -1);
	assert_int_equal(multipart_feed(p, "x", 1), -1);
	multipart_free(p);
}

static void test_headers_too_large(void **state)
{
	static char big[40000];
	struct rec r = { .len = 0 };
	char err[128];
	struct multipart_parser *p = multipart_new("multipart/form-data; boundary=XyZ",
						   &cbs, &r, err, sizeof(err));

	memset(big, 'h', sizeof(big) - 1);
	assert_int_equal(multipart_feed(p, "--XyZ\r\n", 7), 0);
	assert_int_equal(multipart_feed(p, big, strlen(big)), -1);
	assert_string_equal(multipart_error(p), "multipart part headers too large");
	multipart_free(p);
}

static void test_header_param(void **state)
{
	char out[256];

	assert_int_equal(multipart_header_param("form-data; name=\"file\"; filename=\"a\\\"b\"",
						"filename", out, sizeof(out)), 0);
	assert_string_equal(out, "a\"b");
	assert_int_equal(multipart_header_param("form-data; name=file", "name", out,
						sizeof(out)), 0);
	assert_string_equal(out, "file");
	assert_int_equal(multipart_header_param("form-data; name=file", "filename", out,
						sizeof(out)), -1);
	assert_int_equal(multipart_header_param("form-data; NAME = \"x\" ", "name", out,
						sizeof(out)), 0);
	assert_string_equal(out, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_truncated_and_empty),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_header_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
