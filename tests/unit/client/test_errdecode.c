/* SPDX-License-Identifier: MIT */
/*
 * Error decoding for every shape: Connect JSON with a string code, integer
 * code JSON (envd HTTP, E2B, OpenKruise incl. code 0), plain text, HTML,
 * status alone, end-stream error objects.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <e2b/meta.h>
#include "errdecode.h"
#include "error.h"

struct shape {
	long status;
	const char *body;
	const char *request_id;
	int want_code;
	const char *want_msg;	/* substring */
	const char *want_rpc;
	const char *want_rid;
};

static const struct shape shapes[] = {
	{ 404, "{\"code\":\"not_found\",\"message\":\"file not found: lstat /x\"}", NULL,
	  E2B_ENOTFOUND, "what: file not found: lstat /x", "not_found", "" },
	{ 409, "{\"code\":\"already_exists\",\"message\":\"directory already exists\"}", NULL,
	  E2B_EEXISTS, "directory already exists", "already_exists", "" },
	{ 401, "{\"code\":\"unauthenticated\",\"message\":\"invalid username: 'x'\"}", NULL,
	  E2B_EAUTH, "invalid username", "unauthenticated", "" },
	{ 500, "{\"code\":\"internal\",\"message\":\"error: no space left on device\"}", NULL,
	  E2B_ENOSPC, "no space left", "internal", "" },
	{ 500, "{\"code\":\"internal\",\"message\":\"error renaming: directory not empty\"}", NULL,
	  E2B_ERROR, "directory not empty", "internal", "" },
	{ 504, "{\"code\":\"deadline_exceeded\"}", NULL, E2B_ETIMEOUT, "deadline_exceeded",
	  "deadline_exceeded", "" },
	{ 200, "{\"code\":\"some_future_code\",\"message\":\"m\"}", NULL, E2B_ERROR, "m",
	  "some_future_code", "" },
	/* integer codes: envd HTTP layer, E2B API, OpenKruise */
	{ 401, "{\"code\":401,\"message\":"
	       "\"unauthorized access, please provide a valid access token\"}\n",
	  NULL, E2B_EAUTH, "unauthorized access", "", "" },
	{ 507, "{\"code\":507,\"message\":\"not enough disk space available\"}", NULL, E2B_ENOSPC,
	  "not enough disk space", "", "" },
	{ 502, "{\"sandboxId\":\"x\",\"message\":\"The sandbox was not found\",\"code\":502}", NULL,
	  E2B_EUNAVAILABLE, "sandbox was not found", "", "" },
	{ 500, "{\"code\":0,\"headers\":null,\"message\":\"bad body\",\"request_id\":\"abc123\"}",
	  NULL, E2B_ERROR, "bad body", "", "abc123" },
	{ 500, "{\"code\":404,\"message\":\"Sandbox route not found\"}", "hdr-id",
	  E2B_ENOTFOUND, "Sandbox route not found", "", "hdr-id" },
	/* plain text from gateways */
	{ 502, "sandbox not found: default--x\n", NULL, E2B_EUNAVAILABLE,
	  "sandbox not found: default--x", "", "" },
	{ 403, "forbidden: invalid or missing traffic access token", NULL, E2B_EPERM,
	  "forbidden", "", "" },
	{ 404, "404 page not found\n", NULL, E2B_ENOTFOUND, "404 page not found", "", "" },
	{ 503, "<html><body>bad gateway</body></html>", NULL, E2B_EUNAVAILABLE,
	  "http status 503", "", "" },
	/* status alone */
	{ 429, "", NULL, E2B_EUNAVAILABLE, "http status 429", "", "" },
	{ 400, "", NULL, E2B_EINVALID, "http status 400", "", "" },
	{ 409, "", NULL, E2B_ECONFLICT, "", "", "" },
	{ 418, "", NULL, E2B_ERROR, "http status 418", "", "" },
	/* JSON that is not an object, garbage */
	{ 500, "[1,2]", NULL, E2B_ERROR, "http status 500", "", "" },
	{ 503, "{\"code\":", NULL, E2B_EUNAVAILABLE, "{\"code\":", "", "" },
	{ 200, "", NULL, E2B_EPROTO, "http status 200", "", "" },
};

static void test_errdecode_every_shape(void **state)
{
	const e2b_error *e;
	size_t i;
	int code;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *s = &shapes[i];

		e2b_error_clear();
		code = e2b__error_from_response(s->status, s->body, strlen(s->body),
						s->request_id, "what");
		e = e2b_error_last();
		if (code != s->want_code)
			fail_msg("shape %zu: code %d, want %d (%s)",
				 i, code, s->want_code, e->message);
		assert_int_equal(e->code, code);
		assert_int_equal(e->http_status, s->status);
		if (!strstr(e->message, s->want_msg))
			fail_msg("shape %zu: message '%s' lacks '%s'", i, e->message, s->want_msg);
		assert_string_equal(e->rpc_code, s->want_rpc);
		assert_string_equal(e->request_id, s->want_rid);
		assert_null(strchr(e->message, '\n'));
	}
}

static void test_errdecode_connect_map(void **state)
{
	(void)state;
	assert_int_equal(e2b__code_from_connect("canceled", NULL), E2B_ECANCELED);
	assert_int_equal(e2b__code_from_connect("permission_denied", NULL), E2B_EPERM);
	assert_int_equal(e2b__code_from_connect("resource_exhausted", NULL), E2B_EUNAVAILABLE);
	assert_int_equal(e2b__code_from_connect("aborted", NULL), E2B_ECONFLICT);
	assert_int_equal(e2b__code_from_connect("unavailable", NULL), E2B_EUNAVAILABLE);
	assert_int_equal(e2b__code_from_connect("failed_precondition", NULL), E2B_EINVALID);
	assert_int_equal(e2b__code_from_connect("unknown", "read-only file system"), E2B_EPERM);
	assert_int_equal(e2b__code_from_http(204), E2B_OK);
	assert_int_equal(e2b__code_from_http(504), E2B_ETIMEOUT);
}

static void test_errdecode_end_stream_object(void **state)
{
	json_t *j = json_loads("{\"code\":\"invalid_argument\",\"message\":"
			       "\"cwd '/nope' does not exist\"}",
			       0, NULL);
	json_t *k = json_loads("{\"message\":\"no code\"}", 0, NULL);

	(void)state;
	assert_int_equal(e2b__error_from_connect_json(j, 200, "rid", "start"), E2B_EINVALID);
	assert_string_equal(e2b_error_last()->message, "start: cwd '/nope' does not exist");
	assert_string_equal(e2b_error_last()->rpc_code, "invalid_argument");
	assert_string_equal(e2b_error_last()->request_id, "rid");
	assert_int_equal(e2b__error_from_connect_json(k, 200, NULL, NULL), E2B_ERROR);
	json_decref(j);
	json_decref(k);
}

static void test_errdecode_record_helpers(void **state)
{
	char big[2000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e2b__error_set(E2B_ENOTFOUND, "%s", big);
	assert_int_equal(strlen(e2b_error_last()->message), 511);
	e2b__error_set(E2B_ERROR, "inner");
	e2b__error_prefix("outer");
	assert_string_equal(e2b_error_last()->message, "outer: inner");
	e2b_error_clear();
	assert_int_equal(e2b_error_last()->code, E2B_OK);
	assert_string_equal(e2b_error_last()->message, "");
	assert_string_equal(e2b_error_code_str(E2B_EEXIT), "command exited with nonzero status");
	assert_string_equal(e2b_error_code_str(-100), "unknown error");
}

/* OS reasons: the one that ends last wins, whatever case; a path holding
 * such words does not decide it. */
static void test_errdecode_errno_from_text(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "chmod: cannot access 'x': No such file or directory", ENOENT },
		{ "lstat /a: no such file or directory", ENOENT },
		{ "lstat /permission denied/x: not a directory", ENOTDIR },
		{ "error renaming: rename /a /b: directory not empty", ENOTEMPTY },
		{ "touch: setting times of 'x': Operation not permitted", EPERM },
		{ "mkfifo: cannot create fifo 'x': Permission denied", EACCES },
		{ "open /x: read-only file system", EROFS },
		{ "write: no space left on device", ENOSPC },
		{ "ln: failed to create hard link 'b': File exists", EEXIST },
		{ "truncate: cannot open 'd' for writing: Is a directory", EISDIR },
		{ "rename a b: invalid cross-device link", EXDEV },
		{ "open /dev/x: no such device or address", ENXIO },
		{ "path is a file: /tmp/f", ENOTDIR },
		{ "mkdir /a: file already exists", EEXIST },
		{ "path '/x' does not exist", ENOENT },
		{ "path too long", ENAMETOOLONG },
		{ "something else entirely", 0 },
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(e2b__errno_from_text(cases[i].text), cases[i].want);
	assert_int_equal(e2b__errno_from_text(NULL), 0);
	/* The public door to the same table (fs/'s helpers' stderr). */
	assert_int_equal(e2b_meta_errno_from_text("ln: failed to create symbolic link "
						  "'x': File exists"), EEXIST);
	assert_int_equal(e2b_meta_errno_from_text(NULL), 0);
	assert_int_equal(e2b__code_from_errno(ENOENT), E2B_ENOTFOUND);
	assert_int_equal(e2b__code_from_errno(EEXIST), E2B_EEXISTS);
	assert_int_equal(e2b__code_from_errno(EROFS), E2B_EPERM);
	assert_int_equal(e2b__code_from_errno(ENOTDIR), E2B_ERROR);
	assert_int_equal(e2b__code_from_errno(0), E2B_OK);
	/* The record carries it; any later set resets it. */
	e2b__error_from_response(500, "{\"code\":\"internal\",\"message\":"
				 "\"error renaming: rename /a /b: directory not empty\"}", 81,
				 NULL, "move");
	assert_int_equal(e2b_error_last()->os_errno, ENOTEMPTY);
	e2b__error_set(E2B_ERROR, "x");
	assert_int_equal(e2b_error_last()->os_errno, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errdecode_every_shape),
		cmocka_unit_test(test_errdecode_connect_map),
		cmocka_unit_test(test_errdecode_end_stream_object),
		cmocka_unit_test(test_errdecode_record_helpers),
		cmocka_unit_test(test_errdecode_errno_from_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
