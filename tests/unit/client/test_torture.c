/* SPDX-License-Identifier: MIT */
/*
 * Allocation torture (STYLE T4) across the offline paths of libe2b:
 * configuration from the environment with URL and header building, error
 * decoding of every shape, envelope parsing with JSON and model decoding,
 * request building, and the traffic token schedule.  Each scenario is run
 * once to count its allocations, then once per allocation with that one
 * failing: every run must return E2B_ENOMEM and leave no block behind
 * (checked with the allocator's live-block counter, and by valgrind when
 * the suite runs under it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <e2b/e2b.h>
#include "alloc.h"
#include "client_int.h"
#include "connect.h"
#include "errdecode.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "traffic.h"
#include "util.h"

/* Keep the first error; a scenario stops at it. */
#define STEP(expr) do { rc = (expr); if (rc < 0) goto out; } while (0)
#define EXPECT(expr, want) do { rc = (expr); if (rc == E2B_ENOMEM) goto out; \
	if (rc != (want)) { rc = E2B_ERROR; goto out; } rc = 0; } while (0)

/* E2B_* environment -> config -> client -> URLs, sandbox handle, headers. */
static int scenario_env_config(void)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	static const e2b_kv headers[] = { { "X-Extra", "1" }, { "X-Access-Token", "no" } };
	struct curl_slist *hl = NULL;
	struct e2b__envd e = { 0 };
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	char *url = NULL, *envd = NULL;
	int rc;

	cfg.headers = headers;
	cfg.headers_count = 2;
	cfg.user_agent = "torture/1";
	STEP(e2b_config_from_env(&cfg));
	STEP(e2b_client_new(&c, &cfg));
	STEP(e2b_client_sandbox_url(&url, c, "ns--sb-2", "edge.example.net"));
	oo.envd_access_token = "tok";
	oo.envd_version = "0.3.0";
	STEP(e2b_sandbox_open(&sb, c, "ns--sb-1", &oo));
	STEP(e2b__sandbox_envd(&e, sb, NULL));
	STEP(e2b__envd_headers(&hl, &e, "application/json", 1));
	STEP(e2b_sandbox_envd_url(&envd, sb));
	if (strcmp(e2b_client_api_url(c), "http://torture.example:8080/kruise/api") ||
	    strcmp(envd, "http://torture.example:8080/kruise/ns--sb-1/49983"))
		rc = E2B_ERROR;
out:
	e2b_free(envd);
	curl_slist_free_all(hl);
	e2b__envd_release(&e);
	e2b_free(url);
	e2b_sandbox_free(sb);
	e2b_client_free(c);
	return rc;
}

/* Every error shape the servers send. */
static int scenario_errors(void)
{
	static const char connect_err[] = "{\"code\":\"not_found\",\"message\":\"file not found\"}";
	static const char envd_err[] = "{\"code\":401,\"message\":\"unauthorized access\"}";
	static const char kruise_err[] = "{\"code\":0,\"headers\":null,\"message\":\"boom\","
		"\"request_id\":\"abc\"}";
	static const char gw_text[] = "healthy sandbox not found: ns--sb\n";
	static const char html[] = "<html><h1>502 Bad Gateway</h1></html>";
	static const char end_err[] = "{\"code\":\"resource_exhausted\",\"message\":\"m\"}";
	json_t *j = NULL;
	int rc;

	EXPECT(e2b__error_from_response(404, connect_err, sizeof(connect_err) - 1, "", "stat"),
	       E2B_ENOTFOUND);
	EXPECT(e2b__error_from_response(401, envd_err, sizeof(envd_err) - 1, NULL, "run"),
	       E2B_EAUTH);
	EXPECT(e2b__error_from_response(500, kruise_err, sizeof(kruise_err) - 1, NULL, NULL),
	       E2B_ERROR);
	EXPECT(e2b__error_from_response(502, gw_text, sizeof(gw_text) - 1, NULL, "x"),
	       E2B_EUNAVAILABLE);
	EXPECT(e2b__error_from_response(502, html, sizeof(html) - 1, NULL, "x"),
	       E2B_EUNAVAILABLE);
	EXPECT(e2b__error_from_response(409, "", 0, NULL, "pause"), E2B_ECONFLICT);
	STEP(e2b__json_parse_object(&j, end_err, sizeof(end_err) - 1));
	EXPECT(e2b__error_from_connect_json(j, 200, "rid", "watch"), E2B_EUNAVAILABLE);
out:
	json_decref(j);
	return rc;
}

struct frames {
	int started;
	int data_bytes;
	int ended;
	e2b_buf scratch;
};

/* What commands.c does with a process event, minus the I/O. */
static int frame_cb(unsigned flags, const char *data, size_t len, void *payload)
{
	struct frames *f = payload;
	e2b_entry_info entry;
	json_t *j = NULL, *ev, *v;
	int rc;

	STEP(e2b__json_parse_object(&j, data, len));
	if (flags & E2B_ENV_FLAG_END) {
		f->ended = 1;
		goto out;
	}
	ev = e2b__json_field(j, "event", NULL);
	if ((v = e2b__json_field(ev, "start", NULL))) {
		f->started = 1;
	} else if ((v = e2b__json_field(ev, "data", NULL))) {
		v = e2b__json_field(v, "stdout", NULL);
		e2b_buf_truncate(&f->scratch, 0);
		STEP(e2b__b64_decode(&f->scratch, json_string_value(v), json_string_length(v)));
		f->data_bytes += (int)f->scratch.size;
	} else if ((v = e2b__json_field(j, "entry", NULL))) {
		STEP(e2b__entry_from_json(&entry, v));
		e2b__entry_release(&entry);
	}
out:
	json_decref(j);
	return rc;
}

/* A process stream and a Stat answer, framed and fed one byte at a time. */
static int scenario_envelopes(void)
{
	static const char *const msgs[] = {
		"{\"event\":{\"start\":{\"pid\":412}}}",
		"{\"event\":{\"data\":{\"stdout\":\"aGVsbG8gdG9ydHVyZQo=\"}}}",
		"{\"entry\":{\"name\":\"c\",\"type\":\"FILE_TYPE_DIRECTORY\",\"path\":\"/tmp/c\","
		"\"size\":\"4096\",\"mode\":493,\"permissions\":\"drwxr-xr-x\",\"owner\":\"user\","
		"\"group\":\"user\",\"modifiedTime\":\"2026-01-02T03:04:05.123Z\","
		"\"metadata\":{\"k\":\"v\"}}}",
		"{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}",
	};
	struct e2b__env_reader rd;
	struct frames f = { 0 };
	e2b_buf wire = E2B_BUF_INIT;
	size_t i;
	int rc = 0;

	e2b_buf_init(&f.scratch, 0);
	e2b__env_reader_init(&rd, 0, frame_cb, &f);
	for (i = 0; i < 4; i++)
		STEP(e2b__env_write(&wire, 0, msgs[i], strlen(msgs[i])));
	STEP(e2b__env_write(&wire, E2B_ENV_FLAG_END, "{}", 2));
	for (i = 0; i < wire.size; i++)
		STEP(e2b__env_reader_feed(&rd, wire.ptr + i, 1));
	if (!f.started || f.data_bytes != 14 || !f.ended)
		rc = E2B_ERROR;
out:
	e2b__env_reader_release(&rd);
	e2b_buf_release(&f.scratch);
	e2b_buf_release(&wire);
	return rc;
}

/* Management answers decoded into public structs, and a request built. */
static int scenario_models(void)
{
	static const char info_json[] =
		"{\"sandboxID\":\"ns--sb\",\"templateID\":\"base\",\"envdVersion\":\"0.2.10\","
		"\"envdAccessToken\":\"t\",\"domain\":\"example.com\",\"startedAt\":"
		"\"2026-01-02T03:04:05+02:00\",\"endAt\":\"<unknown>\",\"cpuCount\":2,"
		"\"memoryMB\":512,\"state\":\"paused\",\"metadata\":{\"a\":\"b\",\"c\":\"d\"}}";
	static const char proc_json[] =
		"{\"pid\":7,\"tag\":\"t\",\"config\":{\"cmd\":\"/bin/bash\","
		"\"args\":[\"-l\",\"-c\",\"echo\"],\"envs\":{\"X\":\"y\"},\"cwd\":\"/tmp\"}}";
	static const e2b_kv kv[] = { { "A", "1" }, { "B", "2" } };
	e2b_sandbox_info info = { 0 };
	e2b_process_info pi = { 0 };
	json_t *j = NULL, *p = NULL, *req = NULL;
	e2b_buf out = E2B_BUF_INIT;
	int rc;

	STEP(e2b__json_parse_object(&j, info_json, sizeof(info_json) - 1));
	STEP(e2b__sandbox_info_from_json(&info, j));
	STEP(e2b__json_parse_object(&p, proc_json, sizeof(proc_json) - 1));
	STEP(e2b__process_info_from_json(&pi, p));
	req = e2b__kv_to_json(kv, 2);
	if (!req) {
		rc = e2b_error_last()->code;
		goto out;
	}
	STEP(e2b__json_set_str(req, "path", "/tmp/x"));
	STEP(e2b__json_dump(&out, req));
	if (info.state != E2B_SANDBOX_STATE_PAUSED || info.metadata_count != 2 ||
	    pi.args_count != 3)
		rc = E2B_ERROR;
out:
	e2b__sandbox_info_release(&info);
	e2b__process_info_release(&pi);
	json_decref(j);
	json_decref(p);
	json_decref(req);
	e2b_buf_release(&out);
	return rc;
}

/* A JWT sandbox's token state: seed, refresh answer installed. */
static int scenario_traffic(void)
{
	/* {"exp":1700000600,"iat":1700000000} and {"exp":1700003600} */
	static const char tok1[] = "eyJhbGciOiJIUzI1NiJ9."
				   "eyJleHAiOjE3MDAwMDA2MDAsImlhdCI6MTcwMDAwMDAwMH0.c2ln";
	static const char tok2[] = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDM2MDB9.c2ln";
	struct e2b__ttoken t;
	char *next;
	int rc;

	memset(&t, 0, sizeof(t));
	STEP(e2b__tt_init(&t, tok1, 1, 1700000000000LL));
	if (!t.jwt) {
		rc = E2B_ERROR;
		goto out;
	}
	next = e2b__strdup(tok2);
	if (!next) {
		rc = e2b__error_oom();
		goto out;
	}
	rc = e2b__tt_install(&t, next, 1700003600000LL, 1700000500000LL);
	if (rc < 0)
		e2b__free(next);
out:
	e2b__tt_release(&t);
	return rc;
}

static void torture(int (*scenario)(void), const char *name)
{
	long n, i, before;
	int rc;

	e2b__alloc_fail_after(-1);
	before = e2b__alloc_live();
	rc = scenario();
	if (rc != 0)
		fail_msg("%s: clean run failed: rc %d (%s)", name, rc, e2b_error_last()->message);
	n = e2b__alloc_fail_after(-1);
	assert_true(n > 0);
	assert_int_equal(e2b__alloc_live(), before);
	for (i = 0; i < n; i++) {
		e2b__alloc_fail_after(i);
		rc = scenario();
		e2b__alloc_fail_after(-1);
		if (rc != E2B_ENOMEM)
			fail_msg("%s: allocation %ld of %ld failing gave rc %d (%s)", name, i, n,
				 rc, e2b_error_last()->message);
		if (e2b__alloc_live() != before)
			fail_msg("%s: allocation %ld of %ld failing leaked %ld block(s)", name, i,
				 n, e2b__alloc_live() - before);
	}
	print_message("%s: %ld allocations, each failed once\n", name, n);
}

static void test_torture_env_config(void **state)
{
	(void)state;
	setenv("E2B_API_KEY", "torture-key", 1);
	setenv("E2B_DOMAIN", "torture.example:8080", 1);
	setenv("PROTOCOL", "private", 1);
	setenv("SCHEME", "http", 1);
	setenv("X_ACCESS_TOKEN", "xtok", 1);
	unsetenv("E2B_API_URL");
	unsetenv("E2B_SANDBOX_URL");
	torture(scenario_env_config, "env config");
}

static void test_torture_errors(void **state)
{
	(void)state;
	torture(scenario_errors, "error decoding");
}

static void test_torture_envelopes(void **state)
{
	(void)state;
	torture(scenario_envelopes, "envelope parsing");
}

static void test_torture_models(void **state)
{
	(void)state;
	torture(scenario_models, "models");
}

static void test_torture_traffic(void **state)
{
	(void)state;
	torture(scenario_traffic, "traffic token");
}

static int setup(void **state)
{
	(void)state;
	return e2b_global_init();
}

static int teardown(void **state)
{
	(void)state;
	e2b_global_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torture_env_config),
		cmocka_unit_test(test_torture_errors),
		cmocka_unit_test(test_torture_envelopes),
		cmocka_unit_test(test_torture_models),
		cmocka_unit_test(test_torture_traffic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
