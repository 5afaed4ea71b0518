/* SPDX-License-Identifier: MIT */
/*
 * e2bctl create: start a sandbox from a template and print its ID (or,
 * with --json, the whole Sandbox object).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct cmd_option cmd_create_options[] = {
	{ "timeout", 't', "S", 0, "lifetime in seconds (default 300)" },
	{ "metadata", 'm', "K=V", CMD_OPT_MULTI, "metadata pair (repeatable)" },
	{ "env", 'e', "K=V", CMD_OPT_MULTI, "environment variable for every process (repeatable)" },
	{ "auto-pause", 0, NULL, 0, "pause instead of kill when the timeout elapses" },
	{ "secure", 0, NULL, 0, "require an envd access token for sandbox traffic" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_create_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox_create_options co = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	e2b_sandbox_info *info = NULL;
	e2b_kv *meta = NULL, *env = NULL;
	e2b_client *client;
	unsigned long long t;
	char **vals;
	size_t n;
	int error, code;

	co.template_id = args->argc > 0 ? args->argv[0] : "base";
	if (cmd_arg(args, "timeout")) {
		error = parse_uint(&t, cmd_arg(args, "timeout"), "timeout", 1, 4294967);
		if (error)
			goto out;
		co.timeout_s = (unsigned)t;
	}
	vals = cmd_args_all(args, "metadata", &n);
	error = parse_kv_list(&meta, vals, n, "metadata");
	if (error)
		goto out;
	co.metadata = meta;
	co.metadata_count = n;
	vals = cmd_args_all(args, "env", &n);
	error = parse_kv_list(&env, vals, n, "env");
	if (error)
		goto out;
	co.env_vars = env;
	co.env_vars_count = n;
	co.auto_pause = cmd_count(args, "auto-pause") > 0;
	co.secure = cmd_count(args, "secure") > 0;
	error = ctx_client(ctx, &client);
	if (error)
		goto out;
	code = e2b_mgmt_create(&info, client, &co);
	if (code < 0) {
		/* E2B and OpenKruise answer an unknown template with 400. */
		if (code == E2B_ENOTFOUND ||
		    (code == E2B_EINVALID && strstr(e2b_error_last()->message, "not found"))) {
			fflush(stdout);
			fprintf(stderr, "e2bctl: template '%s' not found\n", co.template_id);
			error = E2BCTL_EXIT_NOTFOUND;
		} else {
			error = error_e2b(code, "cannot create sandbox");
		}
		goto out;
	}
	if (ctx->json) {
		e2b_sandbox_info *full = NULL;

		/* The create/connect answer lacks state, metadata and times. */
		if (e2b_mgmt_get_info(&full, client, info->sandbox_id) == 0) {
			e2b_sandbox_info_free(info);
			info = full;
		}
		out_json(json_sandbox(info));
	} else {
		printf("%s\n", info->sandbox_id);
	}
out:
	e2b_sandbox_info_free(info);
	free(meta);
	free(env);
	return error;
}

const struct cmd_spec cmd_create_spec = {
	.name = "create",
	.usage = "[TEMPLATE] [--timeout S] [--metadata K=V]... "
		 "[--env K=V]... [--auto-pause] [--secure]",
	.summary = "create a sandbox and print its ID",
	.description =
		"TEMPLATE is a template ID or alias (default 'base').  With --json the\n"
		"whole Sandbox object is printed instead of the ID.\n",
	.options = cmd_create_options,
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_create_exec,
};
