/* SPDX-License-Identifier: MIT */
/*
 * e2bctl mkdir: create a directory and its missing parents (an existing
 * directory is not an error).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_mkdir_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_mkdir_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL;
	int error, code, created = 0;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	path = ctx_path(mount_cwd, args->argv[1]);
	code = e2b_fs_mkdir(&created, sb, path);
	if (code < 0) {
		error = error_path(code, "create directory", path);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "path", json_str(path));
		json_object_set_new(o, "created", json_boolean(created));
		out_json(o);
	}
out:
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_mkdir_spec = {
	.name = "mkdir",
	.usage = "ID PATH",
	.summary = "create a directory (and its parents)",
	.options = cmd_mkdir_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_mkdir_exec,
};
