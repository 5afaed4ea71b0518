/* SPDX-License-Identifier: MIT */
/*
 * e2bctl ls: list a sandbox directory (long format, or a JSON array).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_ls_options[] = {
	{ "depth", 'd', "N", 0, "descend N levels (default 1)" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_ls_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_entry_list *list = NULL;
	unsigned long long depth = 1;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL, t[48], sz[32];
	size_t i;
	int error, code;

	if (cmd_arg(args, "depth")) {
		error = parse_uint(&depth, cmd_arg(args, "depth"), "depth", 1, 64);
		if (error)
			goto out;
	}
	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	path = ctx_path(mount_cwd, args->argc > 1 ? args->argv[1] : ".");
	code = e2b_fs_list(&list, sb, path, (unsigned)depth);
	if (code < 0) {
		error = error_path(code, "list", path);
		goto out;
	}
	if (ctx->json) {
		json_t *arr = json_array();

		for (i = 0; i < list->count; i++)
			json_array_append_new(arr, json_entry(&list->items[i]));
		out_json(arr);
		goto out;
	}
	for (i = 0; i < list->count; i++) {
		const e2b_entry_info *e = &list->items[i];

		fmt_time_ns(t, sizeof(t), e->mtime_sec, 0);
		snprintf(sz, sizeof(sz), "%llu", (unsigned long long)e->size);
		printf("%s %-8s %-8s %10s %s %s%s%s\n", *e->permissions ? e->permissions : "?",
		       e->owner, e->group, sz, t, depth > 1 ? e->path : e->name,
		       *e->symlink_target ? " -> " : "", e->symlink_target);
	}
out:
	e2b_entry_list_free(list);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_ls_spec = {
	.name = "ls",
	.usage = "ID [PATH] [--depth N]",
	.summary = "list a directory",
	.description =
		"PATH defaults to the user's home directory.  With --depth above 1 the\n"
		"full path of each entry is shown.\n",
	.options = cmd_ls_options,
	.min_args = 1,
	.max_args = 2,
	.exec = cmd_ls_exec,
};
