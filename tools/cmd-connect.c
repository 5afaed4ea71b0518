/* SPDX-License-Identifier: MIT */
/*
 * e2bctl connect: make sure a sandbox is running (resuming it if paused)
 * and extend its lifetime to at least --timeout seconds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_connect_options[] = {
	{ "timeout", 't', "S", 0, "minimum lifetime from now in seconds (default 300)" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_connect_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox_info *info = NULL;
	unsigned long long t = 0;
	e2b_client *client;
	char *id = NULL;
	int error, code;

	if (cmd_arg(args, "timeout")) {
		error = parse_uint(&t, cmd_arg(args, "timeout"), "timeout", 1, 4294967);
		if (error)
			goto out;
	}
	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	code = e2b_mgmt_connect(&info, client, id, (unsigned)t);
	if (code < 0) {
		error = ctx_sandbox_error(code, id, NULL);
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
	free(id);
	return error;
}

const struct cmd_spec cmd_connect_spec = {
	.name = "connect",
	.usage = "ID [--timeout S]",
	.summary = "resume a sandbox if paused and extend its lifetime",
	.options = cmd_connect_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_connect_exec,
};
