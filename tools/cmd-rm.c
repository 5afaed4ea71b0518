/* SPDX-License-Identifier: MIT */
/*
 * e2bctl rm: remove a file, or with -r a directory tree.  envd removes
 * recursively and ignores missing paths, so the checks rm(1) users expect
 * are made here with a stat first.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_rm_options[] = {
	{ "recursive", 'r', NULL, 0, "remove directories and their contents" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_rm_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_entry_info *e = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL;
	int error, code;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	path = ctx_path(mount_cwd, args->argv[1]);
	code = e2b_fs_stat(&e, sb, path);
	if (code < 0) {
		error = error_path(code, "remove", path);
		goto out;
	}
	if (e->type == E2B_FILE_TYPE_DIR && !e->is_symlink && !cmd_count(args, "recursive")) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: cannot remove '%s': is a directory (use -r)\n", path);
		error = E2BCTL_EXIT_ERROR;
		goto out;
	}
	code = e2b_fs_remove(sb, path);
	if (code < 0) {
		error = error_path(code, "remove", path);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "path", json_str(path));
		json_object_set_new(o, "removed", json_true());
		out_json(o);
	}
out:
	e2b_entry_info_free(e);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_rm_spec = {
	.name = "rm",
	.usage = "ID PATH [-r]",
	.summary = "remove a file or (with -r) a directory tree",
	.options = cmd_rm_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_rm_exec,
};
