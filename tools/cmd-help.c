/* SPDX-License-Identifier: MIT */
/*
 * e2bctl help: the command list, or one command's usage and options.
 */
#include <stdio.h>

#include "cmd.h"

static const struct cmd_option cmd_help_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_help_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	const struct cmd_spec *spec = NULL;

	if (args->argc) {
		spec = cmd_find(args->argv[0]);
		if (!spec)
			return cmd_unknown(args->argv[0]);
	}
	cmd_help(stdout, spec);
	return 0;
}

const struct cmd_spec cmd_help_spec = {
	.name = "help",
	.usage = "[COMMAND]",
	.summary = "show help for e2bctl or a command",
	.options = cmd_help_options,
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_OFFLINE,
	.exec = cmd_help_exec,
};
