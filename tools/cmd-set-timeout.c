/* SPDX-License-Identifier: MIT */
/*
 * e2bctl set-timeout: set a sandbox's remaining lifetime.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_set_timeout_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_set_timeout_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	unsigned long long t;
	e2b_client *client;
	char *id = NULL;
	int error, code;

	error = parse_uint(&t, args->argv[1], "timeout", 1, 4294967);
	if (error)
		goto out;
	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	code = e2b_mgmt_set_timeout(client, id, (unsigned)t);
	if (code < 0) {
		error = ctx_sandbox_error(code, id, NULL);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "sandboxID", json_str(id));
		json_object_set_new(o, "timeout", json_integer((json_int_t)t));
		out_json(o);
	} else {
		printf("%s\n", id);
	}
out:
	free(id);
	return error;
}

const struct cmd_spec cmd_set_timeout_spec = {
	.name = "set-timeout",
	.usage = "ID SECONDS",
	.summary = "set a sandbox's remaining lifetime",
	.options = cmd_set_timeout_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_set_timeout_exec,
};
