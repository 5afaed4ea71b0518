/* SPDX-License-Identifier: MIT */
/*
 * e2bctl stat: one file's metadata.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_stat_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_stat_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_entry_info *e = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL, t[48];
	size_t k;
	int error, code;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	path = ctx_path(mount_cwd, args->argv[1]);
	code = e2b_fs_stat(&e, sb, path);
	if (code < 0) {
		error = error_path(code, "stat", path);
		goto out;
	}
	if (ctx->json) {
		out_json(json_entry(e));
		goto out;
	}
	printf("Path:         %s\n", e->path);
	printf("Type:         %s%s\n", e2b_file_type_str(e->type),
	       e->is_symlink && e->type != E2B_FILE_TYPE_SYMLINK ? " (symlink)" : "");
	printf("Size:         %llu\n", (unsigned long long)e->size);
	printf("Mode:         %04o (%s)\n", (unsigned)e->mode, e->permissions);
	printf("Owner:        %s\n", e->owner);
	printf("Group:        %s\n", e->group);
	fmt_time_ns(t, sizeof(t), e->mtime_sec, e->mtime_nsec);
	printf("Modified:     %s\n", e->mtime_sec ? t : "");
	if (*e->symlink_target)
		printf("Target:       %s\n", e->symlink_target);
	for (k = 0; k < e->metadata_count; k++)
		printf("%-13s %s=%s\n", k ? "" : "Metadata:", e->metadata[k].key,
		       e->metadata[k].value);
out:
	e2b_entry_info_free(e);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_stat_spec = {
	.name = "stat",
	.usage = "ID PATH",
	.summary = "show a file's metadata",
	.options = cmd_stat_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_stat_exec,
};
