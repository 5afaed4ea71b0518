/* SPDX-License-Identifier: MIT */
/*
 * e2bctl mv: rename or move within a sandbox (replaces a file at DST).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_mv_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_mv_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_entry_info *e = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *from = NULL, *to = NULL;
	int error, code;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	from = ctx_path(mount_cwd, args->argv[1]);
	to = ctx_path(mount_cwd, args->argv[2]);
	code = e2b_fs_rename(&e, sb, from, to);
	if (code < 0) {
		error = error_e2b(code, "cannot move '%s' to '%s'", from, to);
		goto out;
	}
	if (ctx->json)
		out_json(json_entry(e));
out:
	e2b_entry_info_free(e);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(from);
	free(to);
	return error;
}

const struct cmd_spec cmd_mv_spec = {
	.name = "mv",
	.usage = "ID SRC DST",
	.summary = "move or rename a file or directory",
	.options = cmd_mv_options,
	.min_args = 3,
	.max_args = 3,
	.exec = cmd_mv_exec,
};
