/* SPDX-License-Identifier: MIT */
/*
 * e2bctl ps: the processes running in a sandbox.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_ps_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static json_t *json_process(const e2b_process_info *p)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "tag", *p->tag ? json_str(p->tag) : json_null());
	json_object_set_new(o, "cmd", json_str(p->cmd));
	for (i = 0; i < p->args_count; i++)
		json_array_append_new(a, json_str(p->args[i]));
	json_object_set_new(o, "args", a);
	json_object_set_new(o, "envs", json_kv(p->envs, p->envs_count));
	json_object_set_new(o, "cwd", *p->cwd ? json_str(p->cwd) : json_null());
	return o;
}

static int cmd_ps_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_process_list *list = NULL;
	e2b_sandbox *sb = NULL;
	size_t i, k;
	int error, code;

	error = ctx_sandbox(ctx, args->argv[0], &sb, NULL);
	if (error)
		goto out;
	code = e2b_commands_list(&list, sb);
	if (code < 0) {
		error = error_e2b(code, "cannot list processes");
		goto out;
	}
	if (ctx->json) {
		json_t *arr = json_array();

		for (i = 0; i < list->count; i++)
			json_array_append_new(arr, json_process(&list->items[i]));
		out_json(arr);
		goto out;
	}
	printf("%-8s %-12s %s\n", "PID", "TAG", "COMMAND");
	for (i = 0; i < list->count; i++) {
		const e2b_process_info *p = &list->items[i];

		printf("%-8u %-12s %s", p->pid, *p->tag ? p->tag : "-", p->cmd);
		for (k = 0; k < p->args_count; k++)
			printf(" %s", p->args[k]);
		printf("\n");
	}
out:
	e2b_process_list_free(list);
	e2b_sandbox_free(sb);
	return error;
}

const struct cmd_spec cmd_ps_spec = {
	.name = "ps",
	.usage = "ID",
	.summary = "list processes in a sandbox",
	.options = cmd_ps_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_ps_exec,
};
