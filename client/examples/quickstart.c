/* SPDX-License-Identifier: MIT */
/*
 * The quick start in C: create a sandbox, run `echo hello`, make a
 * directory, close.  Configuration comes from the environment
 * (E2B_API_KEY, E2B_DOMAIN or E2B_API_URL/E2B_SANDBOX_URL, ...).
 *
 *   $ E2B_API_KEY=... E2B_API_URL=http://127.0.0.1:49982 \
 *     E2B_SANDBOX_URL=http://127.0.0.1:49982 ./quickstart [template]
 *   hello
 *   created /tmp/demo
 */
#include <stdio.h>

#include <e2b/e2b.h>

static int fail(const char *what)
{
	const e2b_error *err = e2b_error_last();

	fprintf(stderr, "quickstart: %s: %s (%s)\n", what, err->message,
		e2b_error_code_str(err->code));
	return 1;
}

int main(int argc, char **argv)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_sandbox_create_options co = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	e2b_process_result res = E2B_PROCESS_RESULT_INIT;
	e2b_client *client = NULL;
	e2b_sandbox *sb = NULL;
	int created = 0, rc = 1;

	if (e2b_global_init() < 0)
		return fail("init");
	if (e2b_config_from_env(&cfg) < 0 || e2b_client_new(&client, &cfg) < 0) {
		rc = fail("client");
		goto out;
	}
	co.template_id = argc > 1 ? argv[1] : NULL;	/* NULL = code-interpreter */
	if (e2b_sandbox_create(&sb, client, &co) < 0) {
		rc = fail("create sandbox");
		goto out;
	}
	if (e2b_commands_run(&res, sb, "echo hello", NULL) < 0) {
		rc = fail("run");
		goto out;
	}
	fwrite(res.out, 1, res.out_len, stdout);
	if (e2b_fs_mkdir(&created, sb, "/tmp/demo") < 0) {
		rc = fail("mkdir");
		goto out;
	}
	printf("%s /tmp/demo\n", created ? "created" : "already had");
	rc = 0;
out:
	e2b_process_result_release(&res);
	if (sb && e2b_sandbox_kill_and_free(sb) < 0 && rc == 0)
		rc = fail("close");
	e2b_client_free(client);
	e2b_global_shutdown();
	return rc;
}
