/* SPDX-License-Identifier: MIT */
/*
 * Connect envelope reader: every split point, joined frames, limits, bad
 * flags, data after end-of-stream, and the writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "connect.h"
#include "error.h"

struct seen {
	int n;
	unsigned flags[16];
	char msg[16][128];
};

static int record(unsigned flags, const char *data, size_t len, void *payload)
{
	struct seen *s = payload;

	assert_true(s->n < 16);
	assert_true(len < 128);
	s->flags[s->n] = flags;
	memcpy(s->msg[s->n], data, len);
	s->msg[s->n][len] = '\0';
	s->n++;
	return 0;
}

static void frame(e2b_buf *b, unsigned flags, const char *json)
{
	assert_int_equal(e2b__env_write(b, flags, json, strlen(json)), 0);
}

static void build_stream(e2b_buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":412}}}");
	frame(b, 0, "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}");
	frame(b, 0, "");
	frame(b, 0, "{\"event\":{\"end\":{\"exited\":true}}}");
	frame(b, 2, "{}");
}

static void check_stream(const struct seen *s)
{
	assert_int_equal(s->n, 5);
	assert_string_equal(s->msg[0], "{\"event\":{\"start\":{\"pid\":412}}}");
	assert_string_equal(s->msg[2], "");
	assert_int_equal(s->flags[4], 2);
	assert_string_equal(s->msg[4], "{}");
}

static void test_connect_envelope_whole(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s = { 0 };

	(void)state;
	build_stream(&b);
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size), 0);
	check_stream(&s);
	assert_int_equal(e2b__env_reader_pending(&r), 0);
	assert_true(r.ended);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
}

static void test_connect_envelope_split_at_every_offset(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s;
	size_t cut, cut2;

	(void)state;
	build_stream(&b);
	for (cut = 0; cut <= b.size; cut++) {
		for (cut2 = cut; cut2 <= b.size; cut2 += 7) {
			memset(&s, 0, sizeof(s));
			e2b__env_reader_init(&r, 0, record, &s);
			assert_int_equal(e2b__env_reader_feed(&r, b.ptr, cut), 0);
			assert_int_equal(e2b__env_reader_feed(&r, b.ptr + cut, cut2 - cut), 0);
			assert_int_equal(e2b__env_reader_feed(&r, b.ptr + cut2, b.size - cut2), 0);
			check_stream(&s);
			e2b__env_reader_release(&r);
		}
	}
	e2b_buf_release(&b);
}

static void test_connect_envelope_byte_at_a_time(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s = { 0 };
	size_t i;

	(void)state;
	build_stream(&b);
	e2b__env_reader_init(&r, 0, record, &s);
	for (i = 0; i < b.size; i++)
		assert_int_equal(e2b__env_reader_feed(&r, b.ptr + i, 1), 0);
	check_stream(&s);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
}

static void test_connect_envelope_truncated_is_pending(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s = { 0 };

	(void)state;
	frame(&b, 0, "{\"a\":1}");
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size - 2), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(e2b__env_reader_pending(&r), b.size - 2);
	assert_false(r.ended);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
}

static void test_connect_envelope_oversized_frame(void **state)
{
	struct e2b__env_reader r;
	struct seen s = { 0 };
	const unsigned char hdr[5] = { 0, 0, 0, 0x10, 0x01 };	/* 4097 bytes */

	(void)state;
	e2b__env_reader_init(&r, 4096, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, (const char *)hdr, 5), E2B_EPROTO);
	e2b__env_reader_release(&r);
	/* Same when the header arrives split. */
	e2b__env_reader_init(&r, 4096, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, (const char *)hdr, 3), 0);
	assert_int_equal(e2b__env_reader_feed(&r, (const char *)hdr + 3, 2), E2B_EPROTO);
	e2b__env_reader_release(&r);
	/* The default limit rejects a 4 GiB length without allocating it. */
	{
		const unsigned char big[5] = { 0, 0xff, 0xff, 0xff, 0xff };

		e2b__env_reader_init(&r, 0, record, &s);
		assert_int_equal(e2b__env_reader_feed(&r, (const char *)big, 5), E2B_EPROTO);
		e2b__env_reader_release(&r);
	}
}

static void test_connect_envelope_bad_flags(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s = { 0 };

	(void)state;
	frame(&b, 0x80, "{}");
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size), E2B_EPROTO);
	e2b__env_reader_release(&r);
	e2b_buf_truncate(&b, 0);
	frame(&b, 0x01, "{}");	/* compressed, never negotiated */
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size), E2B_EPROTO);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
	assert_int_equal(s.n, 0);
}

static void test_connect_envelope_data_after_end(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	struct seen s = { 0 };

	(void)state;
	frame(&b, 2, "{}");
	frame(&b, 0, "{}");
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size), E2B_EPROTO);
	e2b__env_reader_release(&r);
	/* ... also when it arrives in a later chunk */
	memset(&s, 0, sizeof(s));
	e2b__env_reader_init(&r, 0, record, &s);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, 7), 0);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr + 7, 1), E2B_EPROTO);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
}

static int stop_second(unsigned flags, const char *data, size_t len, void *payload)
{
	int *n = payload;

	(void)flags;
	(void)data;
	(void)len;
	return ++*n == 2 ? E2B_ECANCELED : 0;
}

static void test_connect_envelope_callback_stops(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	struct e2b__env_reader r;
	int n = 0;

	(void)state;
	build_stream(&b);
	e2b__env_reader_init(&r, 0, stop_second, &n);
	assert_int_equal(e2b__env_reader_feed(&r, b.ptr, b.size), E2B_ECANCELED);
	assert_int_equal(n, 2);
	e2b__env_reader_release(&r);
	e2b_buf_release(&b);
}

static void test_connect_envelope_writer_bytes(void **state)
{
	e2b_buf b = E2B_BUF_INIT;

	(void)state;
	frame(&b, 0, "{\"a\":1}");
	assert_int_equal(b.size, 12);
	assert_memory_equal(b.ptr, "\x00\x00\x00\x00\x07{\"a\":1}", 12);
	e2b_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_envelope_whole),
		cmocka_unit_test(test_connect_envelope_split_at_every_offset),
		cmocka_unit_test(test_connect_envelope_byte_at_a_time),
		cmocka_unit_test(test_connect_envelope_truncated_is_pending),
		cmocka_unit_test(test_connect_envelope_oversized_frame),
		cmocka_unit_test(test_connect_envelope_bad_flags),
		cmocka_unit_test(test_connect_envelope_data_after_end),
		cmocka_unit_test(test_connect_envelope_callback_stops),
		cmocka_unit_test(test_connect_envelope_writer_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
