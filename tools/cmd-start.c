/* SPDX-License-Identifier: MIT */
/*
 * e2bctl start: start a command in the background and print its pid.
 */
#include <stdio.h>
#include <stdlib.h>

#include "proc.h"

static const struct cmd_option cmd_start_options[] = {
	{ "cwd", 'w', "DIR", 0, "working directory in the sandbox" },
	{ "env", 'e', "K=V", CMD_OPT_MULTI, "environment variable (repeatable)" },
	{ "user", 'u', "USER", 0, "sandbox user to run as" },
	{ "tag", 0, "TAG", 0, "tag shown by ps" },
	{ "stdin", 0, NULL, 0, "keep stdin open so that attach can feed it" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_start_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	struct proc_opts po = { 0 };
	e2b_process *proc = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *cmdline = NULL;
	int error, code;

	if (args->argc < 2) {
		error = error_usage("start", "'start' needs a command to run");
		goto out;
	}
	error = proc_opts_init(&po, ctx, args);
	if (error)
		goto out;
	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	proc_opts_cwd(&po, mount_cwd);
	po.co.tag = cmd_arg(args, "tag");
	po.co.stdin_open = cmd_count(args, "stdin") > 0;
	cmdline = proc_command_line(args->argc - 1, args->argv + 1);
	code = e2b_commands_start(&proc, sb, cmdline, &po.co);
	if (code < 0) {
		error = error_e2b(code, "cannot run '%s'", cmdline);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "sandboxID", json_str(e2b_sandbox_id(sb)));
		json_object_set_new(o, "pid", json_integer(e2b_process_pid(proc)));
		out_json(o);
	} else {
		printf("%u\n", e2b_process_pid(proc));
	}
out:
	/* Disconnects only: the process keeps running. */
	e2b_process_free(proc);
	e2b_sandbox_free(sb);
	proc_opts_release(&po);
	free(cmdline);
	free(mount_cwd);
	return error;
}

const struct cmd_spec cmd_start_spec = {
	.name = "start",
	.usage = "ID [--cwd DIR] [--env K=V]... [--user U] [--tag T] [--] COMMAND...",
	.summary = "start a command in the background and print its pid",
	.description =
		"COMMAND is interpreted as by run.  The process's output is not kept;\n"
		"use attach to follow it.\n",
	.options = cmd_start_options,
	.min_args = 1,
	.max_args = -1,
	.flags = CMD_TRAILING,
	.exec = cmd_start_exec,
};
