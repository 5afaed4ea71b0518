/* SPDX-License-Identifier: MIT */
/*
 * e2bctl kill: kill sandboxes.  Every ID is tried; the exit code is that
 * of the last failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_kill_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_kill_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	json_t *arr = ctx->json ? json_array() : NULL;
	e2b_client *client;
	int i, error = 0, e, code, killed;
	char *id;

	e = ctx_client(ctx, &client);
	if (e)
		return e;
	for (i = 0; i < args->argc; i++) {
		e = ctx_resolve_id(ctx, args->argv[i], &id, NULL);
		if (e) {
			error = e;
			continue;
		}
		killed = 0;
		code = e2b_mgmt_kill(&killed, client, id);
		if (code < 0) {
			error = ctx_sandbox_error(code, id, NULL);
		} else if (!killed) {
			error = ctx_sandbox_error(E2B_ENOTFOUND, id, NULL);
		} else if (!arr) {
			printf("%s\n", id);
		}
		if (arr) {
			json_t *o = json_object();

			json_object_set_new(o, "sandboxID", json_str(id));
			json_object_set_new(o, "killed", json_boolean(code >= 0 && killed));
			json_array_append_new(arr, o);
		}
		free(id);
	}
	if (arr)
		out_json(arr);
	return error;
}

const struct cmd_spec cmd_kill_spec = {
	.name = "kill",
	.usage = "ID...",
	.summary = "kill sandboxes",
	.options = cmd_kill_options,
	.min_args = 1,
	.max_args = -1,
	.exec = cmd_kill_exec,
};
