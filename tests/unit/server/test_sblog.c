/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sblog.c, the per-sandbox log rings: order, the ring's
 * bound and drop count, repeats, cursor/direction/level/search/limit,
 * cuts on UTF-8 boundaries, the v1 line (envd-style JSON), dead logs' time and count bounds,
 * a clock going back, and concurrent writers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/sblog.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static int setup(void **state)
{
	(void)state;
	fake_now = 1764734400000;	/* 2025-12-03T04:00:00Z */
	g_sblog_entries = SBLOG_ENTRIES_DEFAULT;
	g_sblog_keep = SBLOG_KEEP_DEFAULT;
	sblog__set_clock(fake_clock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sblog_clear();
	sblog__set_clock(NULL);
	return 0;
}

static const struct sblog_query all_forward = { .cursor_ms = -1, .limit = 100000 };

/* The messages of @id's entries under @q, joined by '|'. */
static char *messages(const char *id, const struct sblog_query *q)
{
	static char buf[65536];
	json_t *arr = NULL, *e;
	size_t i, n = 0;

	buf[0] = '\0';
	if (sblog_query(&arr, id, q, NULL) < 0)
		return snprintf(buf, sizeof(buf), "(none)") > 0 ? buf : buf;
	json_array_foreach(arr, i, e)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "|" : "",
				      json_string_value(json_object_get(e, "message")));
	json_decref(arr);
	return buf;
}

static void add_n(const char *id, int from, int to)
{
	int i;

	for (i = from; i <= to; i++) {
		fake_now += 10;
		sblog_add(id, SBLOG_INFO, NULL, "m%d", i);
	}
}

static void test_sblog_order_and_unknown_ids(void **state)
{
	json_t *arr;

	(void)state;
	assert_int_equal(sblog_open("a"), 0);
	add_n("a", 1, 3);
	sblog_add("nobody", SBLOG_INFO, NULL, "ignored");
	assert_string_equal(messages("a", &all_forward), "m1|m2|m3");
	assert_int_equal(sblog_query(&arr, "nobody", &all_forward, NULL), -1);
	assert_null(arr);
}

static void test_sblog_ring_drops_the_oldest_and_counts(void **state)
{
	uint64_t dropped = 0;
	json_t *arr;

	(void)state;
	g_sblog_entries = 10;
	sblog_open("r");
	add_n("r", 1, 25);
	assert_string_equal(messages("r", &all_forward), "m16|m17|m18|m19|m20|m21|m22|m23|m24|m25");
	assert_int_equal(sblog_query(&arr, "r", &all_forward, &dropped), 0);
	assert_int_equal(json_array_size(arr), 10);
	assert_int_equal(dropped, 15);
	json_decref(arr);
}

static void test_sblog_repeats_count_on_the_newest(void **state)
{
	const char *kv[] = { "event", "sandbox.timeout", "timeout", "30", NULL };
	json_t *arr, *e;

	(void)state;
	sblog_open("k");
	sblog_add("k", SBLOG_INFO, kv, "timeout set");
	fake_now += 5000;
	sblog_add("k", SBLOG_INFO, kv, "timeout set");
	sblog_add("k", SBLOG_INFO, kv, "timeout set");
	sblog_add("k", SBLOG_WARN, kv, "timeout set");	/* another level: a new entry */
	assert_int_equal(sblog_query(&arr, "k", &all_forward, NULL), 0);
	assert_int_equal(json_array_size(arr), 2);
	e = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    "timeout set (repeated 3 times)");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "fields"),
							      "repeats")), "3");
	assert_string_equal(json_string_value(json_object_get(e, "timestamp")),
			    "2025-12-03T04:00:05.000Z");
	json_decref(arr);
}

static void test_sblog_query_cursor_direction_level_search_limit(void **state)
{
	struct sblog_query q = { .cursor_ms = -1, .limit = 100 };
	int64_t t0 = fake_now;

	(void)state;
	sblog_open("q");
	add_n("q", 1, 5);	/* m1 at t0+10 ... m5 at t0+50 */
	fake_now += 10;
	sblog_add("q", SBLOG_ERROR, NULL, "boom %s", "here");
	q.backward = true;
	assert_string_equal(messages("q", &q), "boom here|m5|m4|m3|m2|m1");
	q.cursor_ms = t0 + 30;
	assert_string_equal(messages("q", &q), "m3|m2|m1");
	q.backward = false;
	assert_string_equal(messages("q", &q), "m3|m4|m5|boom here");
	q.limit = 2;
	assert_string_equal(messages("q", &q), "m3|m4");
	q.limit = 0;
	assert_string_equal(messages("q", &q), "");
	q.limit = 100;
	q.cursor_ms = -1;
	q.min_level = SBLOG_WARN;
	assert_string_equal(messages("q", &q), "boom here");
	q.min_level = SBLOG_DEBUG;
	q.search = "m4";
	assert_string_equal(messages("q", &q), "m4");
	q.search = "M4";	/* case-sensitive */
	assert_string_equal(messages("q", &q), "");
}

static void test_sblog_clock_going_back_keeps_the_order(void **state)
{
	struct sblog_query q = { .cursor_ms = -1, .limit = 100, .backward = true };
	json_t *arr;

	(void)state;
	sblog_open("c");
	sblog_add("c", SBLOG_INFO, NULL, "first");
	fake_now -= 60000;
	sblog_add("c", SBLOG_INFO, NULL, "second");
	assert_string_equal(messages("c", &q), "second|first");
	assert_int_equal(sblog_query(&arr, "c", &all_forward, NULL), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(arr, 0), "timestamp")),
		json_string_value(json_object_get(json_array_get(arr, 1), "timestamp")));
	json_decref(arr);
}

static void test_sblog_cuts_on_utf8_boundaries(void **state)
{
	char big[3000], cmd[40];
	const char *kv[] = { "v", big, NULL };
	const char *const argv[] = { "/bin/echo", "it's",
				     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL };
	json_t *arr, *e;
	const char *m, *v;
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);	/* é */
	big[i] = '\0';
	sblog_open("u");
	sblog_add("u", SBLOG_INFO, kv, "%s", big);
	assert_int_equal(sblog_query(&arr, "u", &all_forward, NULL), 0);
	e = json_array_get(arr, 0);
	m = json_string_value(json_object_get(e, "message"));
	v = json_string_value(json_object_get(json_object_get(e, "fields"), "v"));
	assert_non_null(m);
	assert_non_null(v);
	assert_true(strlen(m) <= SBLOG_MESSAGE_MAX && strlen(m) >= SBLOG_MESSAGE_MAX - 1);
	assert_true(strlen(v) <= SBLOG_VALUE_MAX + 3);
	assert_string_equal(v + strlen(v) - 3, "...");
	json_decref(arr);

	sblog_cmdline(cmd, sizeof(cmd), (char *const *)(const char *const[]){
		"/bin/sh", "-c", "echo it's", NULL });
	assert_string_equal(cmd, "/bin/sh -c 'echo it'\\''s'");
	sblog_cmdline(cmd, 20, (char *const *)argv);
	assert_string_equal(cmd, "/bin/echo 'it'\\'...");
	sblog_cmdline(cmd, 26, (char *const *)argv);	/* cut inside an é: the whole é goes */
	assert_string_equal(cmd, "/bin/echo 'it'\\''s' '...");
}

static void test_sblog_line_is_the_entry_as_envd_json(void **state)
{
	const char *kv[] = { "event", "process.start", "pid", "7", "cmd", "ls -l \"x\"",
			     "level", "not this one", NULL };
	json_t *arr;
	char *line;

	(void)state;
	sblog_open("l");
	sblog_add("l", SBLOG_INFO, kv, "process 7 started");
	assert_int_equal(sblog_query(&arr, "l", &all_forward, NULL), 0);
	line = sblog_line(json_array_get(arr, 0));
	assert_string_equal(line, "{\"level\":\"info\",\"logger\":\"processSvc\","
			    "\"message\":\"process 7 started\",\"event\":\"process.start\","
			    "\"pid\":\"7\",\"cmd\":\"ls -l \\\"x\\\"\"}");
	free(line);
	json_decref(arr);
	assert_int_equal(sblog_level_parse("warn"), SBLOG_WARN);
	assert_int_equal(sblog_level_parse("WARN"), -1);
	assert_int_equal(sblog_level_parse(NULL), -1);
}

static void test_sblog_dead_logs_are_kept_then_evicted(void **state)
{
	json_t *arr = NULL;

	(void)state;
	g_sblog_keep = 2;
	sblog_open("live");
	sblog_open("d1");
	sblog_open("d2");
	sblog_open("d3");
	fake_now += 1;
	sblog_retire("d1");
	fake_now += 1;
	sblog_retire("d2");
	sblog_add("d2", SBLOG_INFO, NULL, "late");	/* a process end after the kill */
	assert_string_equal(messages("d1", &all_forward), "");
	assert_string_equal(messages("d2", &all_forward), "late");
	fake_now += 1;
	sblog_retire("d3");	/* the third dead one: d1 goes */
	assert_int_equal(sblog_query(&arr, "d1", &all_forward, NULL), -1);
	assert_int_equal(sblog_query(&arr, "d2", &all_forward, NULL), 0);
	json_decref(arr);
	fake_now += (int64_t)SBLOG_KEEP_DEAD_S * 1000;	/* a day later */
	assert_int_equal(sblog_query(&arr, "d3", &all_forward, NULL), -1);
	assert_int_equal(sblog_query(&arr, "live", &all_forward, NULL), 0);
	json_decref(arr);
	/* A reused ID starts afresh. */
	sblog_add("live", SBLOG_INFO, NULL, "old");
	sblog_open("live");
	assert_string_equal(messages("live", &all_forward), "");
}

#define WRITERS 4
#define PER_WRITER 5000

static void *writer(void *arg)
{
	int i;

	for (i = 0; i < PER_WRITER; i++)
		sblog_add(arg, SBLOG_INFO, NULL, "w%d", i);
	return NULL;
}

static void test_sblog_concurrent_writers_stay_bounded(void **state)
{
	static char id[] = "t";
	pthread_t th[WRITERS];
	uint64_t dropped = 0;
	json_t *arr;
	int i;

	(void)state;
	sblog__set_clock(NULL);
	g_sblog_entries = 100;
	sblog_open("t");
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, id), 0);
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(sblog_query(&arr, "t", &all_forward, &dropped), 0);
	/* Equal neighbours fold into one, so fewer may be stored, never more. */
	assert_true(json_array_size(arr) <= 100 && json_array_size(arr) > 0);
	assert_true(dropped + json_array_size(arr) <= WRITERS * PER_WRITER);
	json_decref(arr);
}

/* Every test starts from no logs, the default bounds and the fake clock. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sblog_order_and_unknown_ids),
		T(test_sblog_ring_drops_the_oldest_and_counts),
		T(test_sblog_repeats_count_on_the_newest),
		T(test_sblog_query_cursor_direction_level_search_limit),
		T(test_sblog_clock_going_back_keeps_the_order),
		T(test_sblog_cuts_on_utf8_boundaries),
		T(test_sblog_line_is_the_entry_as_envd_json),
		T(test_sblog_dead_logs_are_kept_then_evicted),
		T(test_sblog_concurrent_writers_stay_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
