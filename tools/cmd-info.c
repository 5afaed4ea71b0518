/* SPDX-License-Identifier: MIT */
/*
 * e2bctl info: one sandbox's details.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd.h"

static const struct cmd_option cmd_info_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_info_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox_info *info = NULL;
	e2b_client *client;
	char *id = NULL, t[40];
	int64_t left;
	size_t k;
	int error, code;

	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	code = e2b_mgmt_get_info(&info, client, id);
	if (code < 0) {
		error = ctx_sandbox_error(code, id, NULL);
		goto out;
	}
	if (ctx->json) {
		out_json(json_sandbox(info));
		goto out;
	}
	printf("Sandbox ID:    %s\n", info->sandbox_id);
	printf("Template:      %s%s%s%s\n", info->template_id, *info->alias ? " (" : "",
	       info->alias, *info->alias ? ")" : "");
	printf("State:         %s\n", e2b_sandbox_state_str(info->state));
	fmt_time_ms(t, sizeof(t), info->started_at_ms);
	printf("Started:       %s\n", t);
	fmt_time_ms(t, sizeof(t), info->end_at_ms);
	left = info->end_at_ms ? (info->end_at_ms - (int64_t)time(NULL) * 1000) / 1000 : 0;
	if (info->state == E2B_SANDBOX_STATE_RUNNING && left > 0)
		printf("Ends:          %s (in %lldm%02llds)\n", t, (long long)(left / 60),
		       (long long)(left % 60));
	else
		printf("Ends:          %s\n", t);
	printf("envd version:  %s\n", info->envd_version);
	if (*info->domain)
		printf("Domain:        %s\n", info->domain);
	printf("CPUs:          %d\n", info->cpu_count);
	printf("Memory:        %d MiB\n", info->memory_mb);
	if (info->disk_size_mb)
		printf("Disk:          %d MiB\n", info->disk_size_mb);
	for (k = 0; k < info->metadata_count; k++)
		printf("%-14s %s=%s\n", k ? "" : "Metadata:", info->metadata[k].key,
		       info->metadata[k].value);
out:
	e2b_sandbox_info_free(info);
	free(id);
	return error;
}

const struct cmd_spec cmd_info_spec = {
	.name = "info",
	.usage = "ID",
	.summary = "show a sandbox's details",
	.options = cmd_info_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_info_exec,
};
