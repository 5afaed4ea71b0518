/* SPDX-License-Identifier: MIT */
/*
 * e2bctl version: the tool's and the library's versions.
 */
#include <stdio.h>

#include "cmd.h"

static const struct cmd_option cmd_version_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_version_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "e2bctl", json_string(E2B_VERSION));
		json_object_set_new(o, "libe2b", json_string(e2b_version()));
		out_json(o);
	} else {
		printf("e2bctl %s (libe2b %s)\n", E2B_VERSION, e2b_version());
	}
	return 0;
}

const struct cmd_spec cmd_version_spec = {
	.name = "version",
	.usage = "",
	.summary = "print the version",
	.options = cmd_version_options,
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_OFFLINE,
	.exec = cmd_version_exec,
};
