/* SPDX-License-Identifier: MIT */
/*
 * proto/pbjson.c: the protobuf <-> JSON converter of the binary Connect
 * codec.  Round trips through real wire bytes, the proto3 JSON rules
 * (omitted defaults, presence of optional fields, int64 strings, enum
 * names, base64 flavours, Timestamp, maps, snake_case input), errors, the
 * procedure table, and the direct output path against protobuf-c's own
 * packing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pbjson.h"
#include "process.pb-c.h"
#include "filesystem.pb-c.h"

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

/* JSON -> wire bytes -> JSON; the result must equal @want (JSON text). */
static void round_trip(const ProtobufCMessageDescriptor *d, const char *in, const char *want)
{
	char err[PBJSON_ERR_MAX] = "";
	json_t *j = parse(in), *back = NULL, *w = parse(want);
	uint8_t *buf;
	size_t len;

	assert_int_equal(pbjson_encode(&buf, &len, d, j, 0, err), 0);
	assert_int_equal(pbjson_decode(&back, d, buf, len, err), 0);
	if (!json_equal(back, w)) {
		char *got = json_dumps(back, JSON_SORT_KEYS);

		print_error("got %s\nwant %s\n", got, want);
		free(got);
		fail();
	}
	free(buf);
	json_decref(j);
	json_decref(back);
	json_decref(w);
}

static void expect_bytes(const ProtobufCMessageDescriptor *d, const char *in,
			 const uint8_t *want, size_t want_len)
{
	char err[PBJSON_ERR_MAX] = "";
	json_t *j = parse(in);
	uint8_t *buf;
	size_t len;

	assert_int_equal(pbjson_encode(&buf, &len, d, j, 3, err), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(buf + 3, want, want_len);
	free(buf);
	json_decref(j);
}

static void expect_error(const ProtobufCMessageDescriptor *d, const char *in, const char *needle)
{
	char err[PBJSON_ERR_MAX] = "";
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	json_t *j = parse(in);

	assert_int_equal(pbjson_to_pb(&m, d, j, err), -1);
	assert_null(m);
	if (!strstr(err, needle)) {
		print_error("error '%s' lacks '%s'\n", err, needle);
		fail();
	}
	json_decref(j);
}

static void test_entry_info(void **state)
{
	(void)state;
	round_trip(&filesystem__entry_info__descriptor,
		   "{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":\"/h/a.txt\","
		   "\"size\":\"5000000000\",\"mode\":420,\"permissions\":\"-rw-r--r--\","
		   "\"owner\":\"user\",\"group\":\"user\","
		   "\"modifiedTime\":\"2026-05-01T10:00:00.500Z\",\"metadata\":"
		   "{\"k\":\"v\",\"e\":\"\"},"
		   "\"symlinkTarget\":\"\"}",
		   "{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":\"/h/a.txt\","
		   "\"size\":\"5000000000\",\"mode\":420,\"permissions\":\"-rw-r--r--\","
		   "\"owner\":\"user\",\"group\":\"user\","
		   "\"modifiedTime\":\"2026-05-01T10:00:00.500Z\",\"metadata\":"
		   "{\"k\":\"v\",\"e\":\"\"},"
		   "\"symlinkTarget\":\"\"}");
	/* Readers' latitude: snake_case, int64 as a number, enum as a number,
	 * an offset timestamp, nulls, unknown fields; defaults vanish. */
	round_trip(&filesystem__entry_info__descriptor,
		   "{\"name\":\"\",\"type\":2,\"size\":0,\"mode\":0,\"modified_time\":"
		   "\"2026-05-01T12:00:00.123456+02:00\",\"owner\":null,\"future\":[1,{}],"
		   "\"symlink_target\":\"/x\"}",
		   "{\"type\":\"FILE_TYPE_DIRECTORY\",\"modifiedTime\":"
		   "\"2026-05-01T10:00:00.123456Z\","
		   "\"symlinkTarget\":\"/x\"}");
	round_trip(&filesystem__list_dir_response__descriptor,
		   "{\"entries\":[{\"name\":\"a\",\"size\":\"1\"},{\"name\":\"b\","
		   "\"type\":\"FILE_TYPE_SYMLINK\","
		   "\"modifiedTime\":\"1970-01-01T00:00:01Z\"}]}",
		   "{\"entries\":[{\"name\":\"a\",\"size\":\"1\"},{\"name\":\"b\","
		   "\"type\":\"FILE_TYPE_SYMLINK\","
		   "\"modifiedTime\":\"1970-01-01T00:00:01Z\"}]}");
}

static void test_process_messages(void **state)
{
	(void)state;
	round_trip(&process__start_request__descriptor,
		   "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"echo hi\"],"
		   "\"envs\":{\"A\":\"1\",\"B\":\"\"},\"cwd\":\"\"},\"stdin\":false,\"tag\":\"t\","
		   "\"pty\":{\"size\":{\"cols\":80,\"rows\":24}}}",
		   "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"echo hi\"],"
		   "\"envs\":{\"A\":\"1\",\"B\":\"\"},\"cwd\":\"\"},\"stdin\":false,\"tag\":\"t\","
		   "\"pty\":{\"size\":{\"cols\":80,\"rows\":24}}}");
	/* EndEvent: sint32 below zero; exitCode 0 and exited false are omitted
	 * while the optional error stays even when empty. */
	round_trip(&process__start_response__descriptor,
		   "{\"event\":{\"end\":{\"exitCode\":-1,\"exited\":false,\"status\":"
		   "\"signal: killed\","
		   "\"error\":\"\"}}}",
		   "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":"
		   "\"signal: killed\",\"error\":\"\"}}}");
	round_trip(&process__start_response__descriptor,
		   "{\"event\":{\"end\":{\"exitCode\":0,\"exited\":true,\"status\":"
		   "\"exit status 0\"}}}",
		   "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
	round_trip(&process__connect_response__descriptor, "{\"event\":{\"keepalive\":{}}}",
		   "{\"event\":{\"keepalive\":{}}}");
	round_trip(&process__start_response__descriptor, "{\"event\":{\"start\":{\"pid\":0}}}",
		   "{\"event\":{\"start\":{}}}");
	/* bytes: any base64 flavour in, padded standard out. */
	round_trip(&process__stream_input_request__descriptor,
		   "{\"data\":{\"input\":{\"stdin\":\"-_8\"}}}",
		   "{\"data\":{\"input\":{\"stdin\":\"+/8=\"}}}");
	round_trip(&process__send_signal_request__descriptor,
		   "{\"process\":{\"tag\":\"x\"},\"signal\":9}",
		   "{\"process\":{\"tag\":\"x\"},\"signal\":\"SIGNAL_SIGKILL\"}");
	round_trip(&process__list_request__descriptor, "{}", "{}");
}

static void test_wire_bytes(void **state)
{
	static const uint8_t data_hi[] = { 0x0a, 0x06, 0x12, 0x04, 0x0a, 0x02, 'h', 'i' };
	static const uint8_t end_neg[] = { 0x0a, 0x04, 0x1a, 0x02, 0x08, 0x01 };
	static const uint8_t sel_pid[] = { 0x0a, 0x02, 0x08, 0x2a };
	static const uint8_t empty_tag[] = { 0x1a, 0x00 };

	(void)state;
	expect_bytes(&process__start_response__descriptor,
		     "{\"event\":{\"data\":{\"stdout\":\"aGk=\"}}}", data_hi, sizeof(data_hi));
	/* sint32 -1 is zigzag 1. */
	expect_bytes(&process__start_response__descriptor,
		     "{\"event\":{\"end\":{\"exitCode\":-1}}}", end_neg, sizeof(end_neg));
	expect_bytes(&process__connect_request__descriptor,
		     "{\"process\":{\"pid\":\"42\"}}", sel_pid, sizeof(sel_pid));
	/* An optional string set to "" is on the wire. */
	expect_bytes(&process__start_request__descriptor, "{\"tag\":\"\"}", empty_tag,
		     sizeof(empty_tag));
}

static void test_errors(void **state)
{
	char err[PBJSON_ERR_MAX] = "";
	static const uint8_t junk[] = { 0x0a, 0x7f, 0x01 };
	json_t *j = (json_t *)1;

	(void)state;
	expect_error(&process__stream_input_request__descriptor,
		     "{\"data\":{\"input\":{\"stdin\":\"a$b=\"}}}", "bytes field stdin");
	expect_error(&process__connect_request__descriptor,
		     "{\"process\":{\"pid\":-1}}", "out of range");
	expect_error(&process__connect_request__descriptor,
		     "{\"process\":{\"pid\":4294967296}}", "out of range");
	expect_error(&process__connect_request__descriptor,
		     "{\"process\":{\"pid\":1,\"tag\":\"x\"}}", "oneof");
	expect_error(&filesystem__remove_watcher_request__descriptor,
		     "{\"watcherId\":\"a\",\"watcher_id\":\"b\"}", "duplicate");
	expect_error(&filesystem__entry_info__descriptor,
		     "{\"modifiedTime\":\"yesterday\"}", "Timestamp");
	expect_error(&filesystem__entry_info__descriptor, "{\"type\":\"FILE_TYPE_NOPE\"}",
		     "enum field type");
	expect_error(&process__start_request__descriptor,
		     "{\"process\":{\"args\":[\"a\",3]}}", "string field args");
	expect_error(&process__start_request__descriptor, "{\"stdin\":\"yes\"}", "bool field");
	assert_int_equal(pbjson_decode(&j, &process__start_response__descriptor, junk,
				       sizeof(junk), err), -1);
	assert_null(j);
}

/* bytes <-> base64 for every length around the block size, padded or not. */
static void test_base64_lengths(void **state)
{
	char err[PBJSON_ERR_MAX] = "";
	uint8_t in[70];
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (len = 0; len <= sizeof(in); len++) {
		json_t *j = pbjson_bytes(in, len);
		const char *t;
		ProtobufCBinaryData b;
		size_t tl;

		assert_non_null(j);
		t = json_string_value(j);
		tl = json_string_length(j);
		assert_int_equal(tl % 4, 0);
		assert_int_equal(pbjson_bytes_decode(&b, t, tl, err), 0);
		assert_int_equal(b.len, len);
		assert_memory_equal(b.data, in, len);
		free(b.data);
		while (tl && t[tl - 1] == '=')
			tl--;
		assert_int_equal(pbjson_bytes_decode(&b, t, tl, err), 0);
		assert_int_equal(b.len, len);
		assert_memory_equal(b.data, in, len);
		free(b.data);
		json_decref(j);
	}
	assert_int_equal(pbjson_bytes_decode(&(ProtobufCBinaryData){ 0 }, "QUJDR", 5, err), -1);
	assert_int_equal(pbjson_bytes_decode(&(ProtobufCBinaryData){ 0 }, "QQ===", 5, err), -1);
}

static void test_methods(void **state)
{
	const ProtobufCMessageDescriptor *in, *out;

	(void)state;
	assert_int_equal(pbjson_method("/process.Process/Start", &in, &out), 0);
	assert_ptr_equal(in, &process__start_request__descriptor);
	assert_ptr_equal(out, &process__start_response__descriptor);
	assert_int_equal(pbjson_method("filesystem.Filesystem/GetWatcherEvents", &in, &out), 0);
	assert_ptr_equal(out, &filesystem__get_watcher_events_response__descriptor);
	assert_int_equal(pbjson_method("/process.Process/Nope", &in, &out), -1);
	assert_int_equal(pbjson_method("/e2bd.Test/Echo", &in, &out), -1);
	assert_int_equal(pbjson_method("process.Process", &in, &out), -1);
}

/* The direct output path agrees with protobuf-c for every varint length. */
static void test_output_fast_path(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, 127, 128, 16383, 16384, 262144, 2097152 };
	static const int members[] = { 1, 2, 3 };
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < 3; k++) {
			Process__StartResponse resp;
			Process__ProcessEvent ev;
			Process__ProcessEvent__DataEvent data;
			uint8_t *want, *got, prefix[PBJSON_OUTPUT_PREFIX_MAX];
			uint8_t *payload = calloc(1, sizes[i] + 1);
			ProtobufCBinaryData b = { sizes[i], payload };
			const uint8_t *bytes;
			size_t n, plen, blen;
			int which;

			assert_non_null(payload);
			memset(payload, 'x', sizes[i]);
			process__start_response__init(&resp);
			process__process_event__init(&ev);
			process__process_event__data_event__init(&data);
			data.output_case = (Process__ProcessEvent__DataEvent__OutputCase)members[k];
			if (members[k] == 1)
				data.stdout = b;
			else if (members[k] == 2)
				data.stderr = b;
			else
				data.pty = b;
			ev.event_case = PROCESS__PROCESS_EVENT__EVENT_DATA;
			ev.data = &data;
			resp.event = &ev;
			n = protobuf_c_message_get_packed_size(&resp.base);
			want = malloc(n);
			assert_non_null(want);
			assert_int_equal(protobuf_c_message_pack(&resp.base, want), n);
			plen = pbjson_output_prefix(prefix, members[k], sizes[i]);
			assert_true(plen <= PBJSON_OUTPUT_PREFIX_MAX);
			assert_int_equal(plen + sizes[i], n);
			got = malloc(n);
			assert_non_null(got);
			memcpy(got, prefix, plen);
			memcpy(got + plen, payload, sizes[i]);
			assert_memory_equal(got, want, n);
			assert_int_equal(pbjson_peek_output(want, n, &which, &bytes, &blen), 1);
			assert_int_equal(which, members[k]);
			assert_int_equal(blen, sizes[i]);
			assert_ptr_equal(bytes, want + plen);
			free(got);
			free(want);
			free(payload);
		}
	}
}

/* StreamInput data is found in place; start and keepalive are not. */
static void test_input_peek(void **state)
{
	static const char *const msgs[] = {
		"{\"data\":{\"input\":{\"stdin\":\"aGk=\"}}}",
		"{\"data\":{\"input\":{\"pty\":\"\"}}}",
		"{\"start\":{\"process\":{\"pid\":3}}}",
		"{\"keepalive\":{}}",
		"{\"data\":{}}",
	};
	static const int want[] = { 1, 2, 0, 0, 0 };
	char err[PBJSON_ERR_MAX] = "";
	const uint8_t *bytes;
	size_t i, len, n;
	uint8_t *buf;
	int which;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		json_t *j = parse(msgs[i]);

		assert_int_equal(pbjson_encode(&buf, &len,
					       &process__stream_input_request__descriptor,
					       j, 0, err), 0);
		which = 0;
		assert_int_equal(pbjson_peek_input(buf, len, &which, &bytes, &n), want[i] != 0);
		if (want[i]) {
			assert_int_equal(which, want[i]);
			assert_int_equal(n, want[i] == 1 ? 2 : 0);
			if (n)
				assert_memory_equal(bytes, "hi", 2);
		}
		free(buf);
		json_decref(j);
	}
}

/* Anything but exactly one DataEvent goes the generic way. */
static void test_output_peek_rejects(void **state)
{
	static const uint8_t start[] = { 0x0a, 0x04, 0x0a, 0x02, 0x08, 0x07 };
	static const uint8_t two[] = { 0x0a, 0x06, 0x12, 0x04, 0x0a, 0x02, 'h', 'i', 0x10, 0x01 };
	static const uint8_t short_len[] = { 0x0a, 0x06, 0x12, 0x04, 0x0a, 0x03, 'h', 'i' };
	static const uint8_t bad_member[] = { 0x0a, 0x06, 0x12, 0x04, 0x22, 0x02, 'h', 'i' };
	const uint8_t *bytes;
	size_t n;
	int which;

	(void)state;
	assert_int_equal(pbjson_peek_output(start, sizeof(start), &which, &bytes, &n), 0);
	assert_int_equal(pbjson_peek_output(two, sizeof(two), &which, &bytes, &n), 0);
	assert_int_equal(pbjson_peek_output(short_len, sizeof(short_len), &which, &bytes, &n), 0);
	assert_int_equal(pbjson_peek_output(bad_member, sizeof(bad_member), &which, &bytes, &n), 0);
	assert_int_equal(pbjson_peek_output(start, 0, &which, &bytes, &n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_info),
		cmocka_unit_test(test_process_messages),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_base64_lengths),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_output_fast_path),
		cmocka_unit_test(test_output_peek_rejects),
		cmocka_unit_test(test_input_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
