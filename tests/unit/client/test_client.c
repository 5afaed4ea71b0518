/* SPDX-License-Identifier: MIT */
/*
 * Allocation torture (STYLE T4) for the offline parts of the client:
 * client creation, handle creation, URL building and the public free
 * functions.  Every failing allocation must give E2B_ENOMEM and leak
 * nothing (LeakSanitizer in the sanitizer build, valgrind in CI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <e2b/e2b.h>
#include "alloc.h"

static const e2b_kv headers[] = { { "X-Extra", "1" }, { "X-Other", "2" } };

static int scenario(void)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	char *url = NULL, *envd = NULL;
	int rc;

	cfg.api_key = "k";
	cfg.domain = "example.com";
	cfg.headers = headers;
	cfg.headers_count = 2;
	cfg.user = "user";
	rc = e2b_client_new(&c, &cfg);
	if (rc < 0)
		return rc;
	oo.envd_access_token = "tok";
	oo.envd_version = "0.5.7";
	rc = e2b_sandbox_open(&sb, c, "sb-1", &oo);
	if (rc == 0)
		rc = e2b_client_sandbox_url(&url, c, "sb-1", "edge.example.net");
	if (rc == 0)
		rc = e2b_sandbox_envd_url(&envd, sb);
	if (rc == 0 && strcmp(envd, "https://49983-sb-1.example.com"))
		rc = E2B_ERROR;
	e2b_free(envd);
	e2b_free(url);
	e2b_sandbox_free(sb);
	e2b_client_free(c);
	return rc;
}

static void test_client_offline_scenario(void **state)
{
	(void)state;
	e2b__alloc_fail_after(-1);
	assert_int_equal(scenario(), 0);
}

static void test_client_allocation_torture(void **state)
{
	long n, i;
	int rc;

	(void)state;
	e2b__alloc_fail_after(-1);
	assert_int_equal(scenario(), 0);
	n = e2b__alloc_fail_after(-1);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		e2b__alloc_fail_after(i);
		rc = scenario();
		e2b__alloc_fail_after(-1);
		if (rc != E2B_ENOMEM)
			fail_msg("allocation %ld of %ld: rc %d (%s)", i, n, rc,
				 e2b_error_last()->message);
	}
}

static void test_client_bad_arguments(void **state)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;

	(void)state;
	assert_int_equal(e2b_client_new(&c, NULL), 0);
	assert_int_equal(e2b_sandbox_open(&sb, c, "", NULL), E2B_EINVALID);
	assert_int_equal(e2b_sandbox_open(&sb, c, "a/b", NULL), E2B_EINVALID);
	assert_int_equal(e2b_commands_run(NULL, NULL, "x", NULL), E2B_EINVALID);
	assert_int_equal(e2b_fs_stat(NULL, NULL, "/"), E2B_EINVALID);
	e2b_client_free(c);
	cfg.insecure = 1;
	cfg.log_cb = NULL;
	assert_int_equal(e2b_client_new(&c, &cfg), 0);
	e2b_client_free(c);
	/* Freeing NULL is always fine. */
	e2b_client_free(NULL);
	e2b_sandbox_free(NULL);
	e2b_process_free(NULL);
	e2b_fs_watch_free(NULL);
	e2b_fs_watcher_free(NULL);
	e2b_input_free(NULL);
	assert_int_equal(e2b_fs_watcher_create(NULL, NULL, "/", NULL), E2B_EINVALID);
	assert_int_equal(e2b_fs_watcher_events(NULL, NULL, NULL, NULL), E2B_EINVALID);
	assert_int_equal(e2b_fs_watcher_remove(NULL), E2B_EINVALID);
	assert_null(e2b_fs_watcher_id(NULL));
	assert_int_equal(e2b_input_open(NULL, NULL, 1, 0), E2B_EINVALID);
	assert_int_equal(e2b_input_write(NULL, "x", 1), E2B_EINVALID);
	assert_int_equal(e2b_input_close(NULL), E2B_EINVALID);
	e2b_entry_list_free(NULL);
	e2b_sandbox_list_free(NULL);
	e2b_process_result_release(NULL);
	e2b_free(NULL);
}

/*
 * The numbers of the error codes are ABI: E2B_ERROR is the generic -1
 * (STYLE.md E1) and the others keep their values.  A renumbering fails
 * here, and so does a record whose code is not the enum.
 */
static void test_client_error_codes_are_pinned(void **state)
{
	static const struct {
		e2b_error_code code;
		int value;
		const char *str;
	} pin[] = {
		{ E2B_OK, 0, "success" },
		{ E2B_ERROR, -1, "error" },
		{ E2B_EEXISTS, -2, "already exists" },
		{ E2B_EAUTH, -3, "authentication failed" },
		{ E2B_EPERM, -4, "permission denied" },
		{ E2B_ETIMEOUT, -5, "timed out" },
		{ E2B_ECONFLICT, -6, "conflict" },
		{ E2B_EUNAVAILABLE, -7, "unavailable" },
		{ E2B_EPROTO, -8, "protocol error" },
		{ E2B_EINVALID, -9, "invalid argument" },
		{ E2B_ENOSPC, -10, "no space left" },
		{ E2B_EEXIT, -11, "command exited with nonzero status" },
		{ E2B_ENOMEM, -12, "out of memory" },
		{ E2B_ENOTFOUND, -13, "not found" },
		{ E2B_ECANCELED, -14, "canceled" },
	};
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pin) / sizeof(pin[0]); i++) {
		assert_int_equal((int)pin[i].code, pin[i].value);
		assert_string_equal(e2b_error_code_str(pin[i].code), pin[i].str);
	}
	assert_string_equal(e2b_error_code_str(-15), "unknown error");
	assert_int_equal(sizeof(e2b_error_last()->code), sizeof(e2b_error_code));
	/* The record carries the code as returned. */
	assert_int_equal(e2b_client_new(&c, NULL), 0);
	assert_int_equal(e2b_sandbox_open(&sb, c, "", NULL), E2B_EINVALID);
	assert_true(e2b_error_last()->code == E2B_EINVALID);
	e2b_client_free(c);
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
		cmocka_unit_test(test_client_offline_scenario),
		cmocka_unit_test(test_client_allocation_torture),
		cmocka_unit_test(test_client_bad_arguments),
		cmocka_unit_test(test_client_error_codes_are_pinned),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
