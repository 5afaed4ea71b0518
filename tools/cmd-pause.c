/* SPDX-License-Identifier: MIT */
/*
 * e2bctl pause: pause a running sandbox (its memory and files are kept).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_pause_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_pause_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_client *client;
	char *id = NULL;
	int error, code, paused = 0;

	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	code = e2b_mgmt_pause(&paused, client, id);
	if (code < 0) {
		error = ctx_sandbox_error(code, id, NULL);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "sandboxID", json_str(id));
		json_object_set_new(o, "state", json_string("paused"));
		json_object_set_new(o, "alreadyPaused", json_boolean(!paused));
		out_json(o);
	} else {
		printf("%s\n", id);
		if (!paused && !ctx->quiet)
			fprintf(stderr, "e2bctl: sandbox '%s' was already paused\n", id);
	}
out:
	free(id);
	return error;
}

const struct cmd_spec cmd_pause_spec = {
	.name = "pause",
	.usage = "ID",
	.summary = "pause a sandbox",
	.options = cmd_pause_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_pause_exec,
};
