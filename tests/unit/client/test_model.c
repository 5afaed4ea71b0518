/* SPDX-License-Identifier: MIT */
/*
 * JSON mapping: int64 as strings, omitted proto3 defaults, enums by name
 * or number, unknown fields, base64, timestamps, wrong types, and the
 * decoders under allocation failure; entries from protobuf messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "json.h"
#include "model.h"
#include "util.h"
#include "error.h"

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_model_entry_full(void **state)
{
	json_t *j = parse("{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":\"/h/a.txt\","
			  "\"size\":\"4096\",\"mode\":420,\"permissions\":\"-rw-r--r--\","
			  "\"owner\":\"user\",\"group\":\"user\","
			  "\"modifiedTime\":\"2026-05-01T10:00:00.5Z\",\"metadata\":{\"k\":\"v\"},"
			  "\"futureField\":{\"x\":[1,2]}}");
	e2b_entry_info e;

	(void)state;
	assert_int_equal(e2b__entry_from_json(&e, j), 0);
	assert_string_equal(e.name, "a.txt");
	assert_int_equal(e.type, E2B_FILE_TYPE_FILE);
	assert_int_equal(e.size, 4096);
	assert_int_equal(e.mode, 0644);
	assert_false(e.is_symlink);
	assert_int_equal(e.mtime_sec, 1777629600);
	assert_int_equal(e.mtime_nsec, 500000000);
	assert_string_equal(e.symlink_target, "");
	assert_int_equal(e.metadata_count, 1);
	assert_string_equal(e.metadata[0].key, "k");
	e2b__entry_release(&e);
	json_decref(j);
}

static void test_model_entry_omitted_defaults(void **state)
{
	json_t *j = parse("{\"name\":\"empty\"}");
	e2b_entry_info e;

	(void)state;
	assert_int_equal(e2b__entry_from_json(&e, j), 0);
	assert_int_equal(e.size, 0);
	assert_int_equal(e.mode, 0);
	assert_int_equal(e.type, E2B_FILE_TYPE_UNKNOWN);
	assert_int_equal(e.mtime_sec, 0);
	assert_string_equal(e.path, "");
	assert_string_equal(e.owner, "");
	assert_null(e.metadata);
	e2b__entry_release(&e);
	json_decref(j);
}

static void test_model_entry_symlink_and_enums(void **state)
{
	json_t *j = parse("{\"name\":\"link\",\"type\":2,\"size\":9,\"mode\":493,"
			  "\"permissions\":\"Lrwxrwxrwx\",\"symlinkTarget\":\"/opt/data\"}");
	json_t *k = parse("{\"type\":\"FILE_TYPE_FROM_THE_FUTURE\",\"size\":null}");
	e2b_entry_info e;

	(void)state;
	assert_int_equal(e2b__entry_from_json(&e, j), 0);
	assert_int_equal(e.type, E2B_FILE_TYPE_DIR);	/* number form */
	assert_true(e.is_symlink);
	assert_int_equal(e.size, 9);			/* int64 as a number */
	assert_string_equal(e.symlink_target, "/opt/data");
	e2b__entry_release(&e);
	assert_int_equal(e2b__entry_from_json(&e, k), 0);
	assert_int_equal(e.type, E2B_FILE_TYPE_UNKNOWN);	/* unknown name -> 0 */
	e2b__entry_release(&e);
	json_decref(j);
	json_decref(k);
}

static void test_model_entry_wrong_types(void **state)
{
	static const char *const bad[] = {
		"{\"size\":\"12x\"}", "{\"size\":true}", "{\"name\":5}", "{\"mode\":-1}",
		"{\"modifiedTime\":\"yesterday\"}", "{\"size\":\"-5\"}", "[]",
		"{\"metadata\":[1]}", "{\"type\":{}}",
	};
	e2b_entry_info e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = parse(bad[i]);

		assert_int_equal(e2b__entry_from_json(&e, j), E2B_EPROTO);
		json_decref(j);
	}
}

static void test_model_entry_list(void **state)
{
	json_t *j = parse("[{\"name\":\"a\"},{\"name\":\"b\",\"size\":\"1\"}]");
	e2b_entry_list l;

	(void)state;
	assert_int_equal(e2b__entry_list_from_json(&l, j), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[1].name, "b");
	e2b__entry_release(&l.items[0]);
	e2b__entry_release(&l.items[1]);
	e2b__free(l.items);
	json_decref(j);
	/* absent "entries" is an empty list */
	assert_int_equal(e2b__entry_list_from_json(&l, NULL), 0);
	assert_int_equal(l.count, 0);
	e2b__free(l.items);
}

static void test_model_sandbox_info(void **state)
{
	json_t *j = parse("{\"templateID\":\"code-interpreter\",\"sandboxID\":\"default--x\","
			  "\"clientID\":\"\",\"startedAt\":\"2026-05-01T10:00:00+02:00\","
			  "\"endAt\":\"<unknown>\",\"envdVersion\":\"0.2.10\","
			  "\"envdAccessToken\":\"tok\",\"domain\":\"example.com\",\"cpuCount\":1,"
			  "\"memoryMB\":1024,\"state\":\"paused\",\"metadata\":{\"a\":\"b\"},"
			  "\"network\":{\"allowOut\":[]}}");
	json_t *bad = parse("{\"templateID\":\"x\"}");
	e2b_sandbox_info i;

	(void)state;
	assert_int_equal(e2b__sandbox_info_from_json(&i, j), 0);
	assert_string_equal(i.sandbox_id, "default--x");
	assert_string_equal(i.envd_access_token, "tok");
	assert_int_equal(i.started_at_ms, (int64_t)(1777629600 - 7200) * 1000);
	assert_int_equal(i.end_at_ms, 0);
	assert_int_equal(i.state, E2B_SANDBOX_STATE_PAUSED);
	assert_int_equal(i.memory_mb, 1024);
	assert_string_equal(i.traffic_access_token, "");
	e2b__sandbox_info_release(&i);
	assert_int_equal(e2b__sandbox_info_from_json(&i, bad), E2B_EPROTO);
	json_decref(j);
	json_decref(bad);
}

static void test_model_process_info(void **state)
{
	json_t *j = parse("{\"config\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"sleep 1\"],"
			  "\"envs\":{\"A\":\"1\"}},\"pid\":731,\"tag\":\"t\"}");
	json_t *bad = parse("{\"config\":{\"args\":[1]},\"pid\":1}");
	e2b_process_info p;

	(void)state;
	assert_int_equal(e2b__process_info_from_json(&p, j), 0);
	assert_int_equal(p.pid, 731);
	assert_int_equal(p.args_count, 3);
	assert_string_equal(p.args[2], "sleep 1");
	assert_null(p.args[3]);
	assert_string_equal(p.envs[0].value, "1");
	assert_string_equal(p.cwd, "");
	e2b__process_info_release(&p);
	assert_int_equal(e2b__process_info_from_json(&p, bad), E2B_EPROTO);
	json_decref(j);
	json_decref(bad);
}

static void test_model_metrics(void **state)
{
	json_t *j = parse("{\"ts\":1,\"cpu_count\":2,\"cpu_used_pct\":1.5,\"disk_total\":\"100\"}");
	e2b_envd_metrics m;

	(void)state;
	assert_int_equal(e2b__envd_metrics_from_json(&m, j), 0);
	assert_int_equal(m.cpu_count, 2);
	assert_int_equal(m.disk_total, 100);
	json_decref(j);
}

static void test_model_base64(void **state)
{
	e2b_buf b = E2B_BUF_INIT;
	static const char bin[] = "a\0b\377\376";

	(void)state;
	assert_int_equal(e2b__b64_encode(&b, bin, 5), 0);
	assert_string_equal(b.ptr, "YQBi//4=");
	e2b_buf_truncate(&b, 0);
	assert_int_equal(e2b__b64_decode(&b, "YQBi//4=", 8), 0);
	assert_int_equal(b.size, 5);
	assert_memory_equal(b.ptr, bin, 5);
	e2b_buf_truncate(&b, 0);
	assert_int_equal(e2b__b64_decode(&b, "YQBi__4", 7), 0);	/* url-safe, no pad */
	assert_memory_equal(b.ptr, bin, 5);
	e2b_buf_truncate(&b, 0);
	assert_int_equal(e2b__b64_decode(&b, "", 0), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(e2b__b64_decode(&b, "a$==", 4), E2B_EPROTO);
	assert_int_equal(e2b__b64_decode(&b, "a", 1), E2B_EPROTO);
	assert_int_equal(e2b__b64_decode(&b, "YQ===", 5), E2B_EPROTO);
	e2b_buf_release(&b);
}

static void test_model_timestamps(void **state)
{
	int64_t s;
	int32_t ns;

	(void)state;
	assert_int_equal(e2b__parse_rfc3339("1970-01-01T00:00:00Z", &s, &ns), 0);
	assert_int_equal(s, 0);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02T03:04:05.123456789Z", &s, &ns), 0);
	assert_int_equal(ns, 123456789);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02T03:04:05.1234567891Z", &s, &ns), 0);
	assert_int_equal(ns, 123456789);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02T03:04:05-01:30", &s, &ns), 0);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02 03:04:05Z", &s, &ns), 0);
	assert_int_equal(e2b__parse_rfc3339("2026-13-02T03:04:05Z", &s, &ns), E2B_EPROTO);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02T03:04:05", &s, &ns), E2B_EPROTO);
	assert_int_equal(e2b__parse_rfc3339("2026-01-02T03:04:05.Z", &s, &ns), E2B_EPROTO);
	assert_int_equal(e2b__parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &s), 0);
	assert_int_equal(s, 784111777);
}

/* Every allocation of a decode fails in turn: E2B_ENOMEM, never a leak
 * (the leak half is checked by valgrind/ASan in CI). */
static void test_model_decoders_allocation_torture(void **state)
{
	json_t *j = parse("{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":\"/h/a.txt\","
			  "\"size\":\"4096\",\"permissions\":\"-rw-r--r--\",\"owner\":\"u\","
			  "\"group\":\"g\",\"metadata\":{\"k\":\"v\",\"k2\":\"v2\"}}");
	json_t *p = parse("{\"config\":{\"cmd\":\"c\",\"args\":[\"a\",\"b\"],\"envs\":"
			  "{\"A\":\"1\"}},"
			  "\"pid\":1}");
	e2b_entry_info e;
	e2b_process_info pi;
	long n, i;
	int rc;

	(void)state;
	e2b__alloc_fail_after(-1);
	assert_int_equal(e2b__entry_from_json(&e, j), 0);
	e2b__entry_release(&e);
	n = e2b__alloc_fail_after(-1);
	assert_true(n > 5);
	for (i = 0; i < n; i++) {
		e2b__alloc_fail_after(i);
		rc = e2b__entry_from_json(&e, j);
		e2b__alloc_fail_after(-1);
		assert_int_equal(rc, E2B_ENOMEM);
	}
	assert_int_equal(e2b__process_info_from_json(&pi, p), 0);
	e2b__process_info_release(&pi);
	n = e2b__alloc_fail_after(-1);
	for (i = 0; i < n; i++) {
		e2b__alloc_fail_after(i);
		rc = e2b__process_info_from_json(&pi, p);
		e2b__alloc_fail_after(-1);
		assert_int_equal(rc, E2B_ENOMEM);
	}
	json_decref(j);
	json_decref(p);
}

/* envd's binary EntryInfo, read straight into an entry (no JSON). */
static void test_model_entry_from_pb(void **state)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Filesystem__EntryInfo__MetadataEntry kv = FILESYSTEM__ENTRY_INFO__METADATA_ENTRY__INIT;
	Filesystem__EntryInfo__MetadataEntry *kvs[1] = { &kv };
	Filesystem__EntryInfo a = FILESYSTEM__ENTRY_INFO__INIT, b = FILESYSTEM__ENTRY_INFO__INIT;
	Filesystem__EntryInfo *items[2] = { &a, &b };
	Filesystem__ListDirResponse list = FILESYSTEM__LIST_DIR_RESPONSE__INIT;
	e2b_entry_list l;
	e2b_entry_info e;
	long n, i;
	int rc;

	(void)state;
	ts.seconds = 1777629600;
	ts.nanos = 500000000;
	kv.key = (char[]){ "k" };
	kv.value = (char[]){ "v" };
	a.name = (char[]){ "a.txt" };
	a.type = FILESYSTEM__FILE_TYPE__FILE_TYPE_FILE;
	a.path = (char[]){ "/h/a.txt" };
	a.size = 4096;
	a.mode = 0100644;
	a.permissions = (char[]){ "-rw-r--r--" };
	a.owner = (char[]){ "user" };
	a.group = (char[]){ "user" };
	a.modified_time = &ts;
	a.n_metadata = 1;
	a.metadata = kvs;
	b.name = (char[]){ "l" };
	b.type = FILESYSTEM__FILE_TYPE__FILE_TYPE_SYMLINK;
	b.path = (char[]){ "/h/l" };
	b.permissions = (char[]){ "Lrwxrwxrwx" };
	b._symlink_target_case = FILESYSTEM__ENTRY_INFO___SYMLINK_TARGET_SYMLINK_TARGET;
	b.symlink_target = (char[]){ "a.txt" };
	assert_int_equal(e2b__entry_from_pb(&e, &a), 0);
	assert_string_equal(e.name, "a.txt");
	assert_string_equal(e.path, "/h/a.txt");
	assert_int_equal(e.type, E2B_FILE_TYPE_FILE);
	assert_int_equal(e.size, 4096);
	assert_int_equal(e.mode, 0644);
	assert_false(e.is_symlink);
	assert_int_equal(e.mtime_sec, 1777629600);
	assert_int_equal(e.mtime_nsec, 500000000);
	assert_string_equal(e.symlink_target, "");
	assert_string_equal(e.owner, "user");
	assert_int_equal(e.metadata_count, 1);
	assert_string_equal(e.metadata[0].value, "v");
	e2b__entry_release(&e);
	list.n_entries = 2;
	list.entries = items;
	assert_int_equal(e2b__entry_list_from_pb(&l, &list), 0);
	assert_int_equal(l.count, 2);
	assert_true(l.items[1].is_symlink);
	assert_string_equal(l.items[1].symlink_target, "a.txt");
	assert_int_equal(l.items[1].mtime_sec, 0);
	for (i = 0; i < (long)l.count; i++)
		e2b__entry_release(&l.items[i]);
	e2b__free(l.items);
	/* Out of range: refused, nothing leaked. */
	b.type = (Filesystem__FileType)7;
	assert_int_equal(e2b__entry_list_from_pb(&l, &list), E2B_EPROTO);
	assert_null(l.items);
	b.type = FILESYSTEM__FILE_TYPE__FILE_TYPE_SYMLINK;
	a.size = -1;
	assert_int_equal(e2b__entry_from_pb(&e, &a), E2B_EPROTO);
	a.size = 4096;
	ts.nanos = 1000000000;
	assert_int_equal(e2b__entry_from_pb(&e, &a), E2B_EPROTO);
	ts.nanos = 5;
	/* Every allocation failing in turn: E2B_ENOMEM, nothing leaked. */
	e2b__alloc_fail_after(-1);
	assert_int_equal(e2b__entry_list_from_pb(&l, &list), 0);
	for (i = 0; i < (long)l.count; i++)
		e2b__entry_release(&l.items[i]);
	e2b__free(l.items);
	n = e2b__alloc_fail_after(-1);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		e2b__alloc_fail_after(i);
		rc = e2b__entry_list_from_pb(&l, &list);
		e2b__alloc_fail_after(-1);
		assert_int_equal(rc, E2B_ENOMEM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_entry_full),
		cmocka_unit_test(test_model_entry_omitted_defaults),
		cmocka_unit_test(test_model_entry_symlink_and_enums),
		cmocka_unit_test(test_model_entry_wrong_types),
		cmocka_unit_test(test_model_entry_list),
		cmocka_unit_test(test_model_sandbox_info),
		cmocka_unit_test(test_model_process_info),
		cmocka_unit_test(test_model_metrics),
		cmocka_unit_test(test_model_base64),
		cmocka_unit_test(test_model_timestamps),
		cmocka_unit_test(test_model_decoders_allocation_torture),
		cmocka_unit_test(test_model_entry_from_pb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
