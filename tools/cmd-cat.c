/* SPDX-License-Identifier: MIT */
/*
 * e2bctl cat: write a sandbox file to stdout, byte for byte.  A progress
 * bar is shown when stdout is redirected and stderr is a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xfer.h"

static const struct cmd_option cmd_cat_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_cat_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	struct xfer_progress p;
	e2b_entry_info *e = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL;
	int error, code, draw;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	sig_hard_exit = 1;
	path = ctx_path(mount_cwd, args->argv[1]);
	draw = !ctx->quiet && !isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	if (draw) {
		code = e2b_fs_stat(&e, sb, path);
		if (code < 0) {
			error = error_path(code, "read", path);
			goto out;
		}
	}
	xfer_progress_start(&p, draw, e ? e->size : UINT64_MAX, 1);
	sig_catch();
	error = xfer_download(sb, path, "-", 0, &p);
	sig_default();
	if (!error && draw)
		xfer_progress_end(&p);
out:
	e2b_entry_info_free(e);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_cat_spec = {
	.name = "cat",
	.usage = "ID PATH",
	.summary = "write a file to stdout",
	.options = cmd_cat_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_cat_exec,
};
