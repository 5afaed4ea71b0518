/* SPDX-License-Identifier: MIT */
/*
 * e2bctl attach: follow a running process's further output and feed it our
 * stdin; Ctrl-C detaches and leaves the process running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proc.h"

static const struct cmd_option cmd_attach_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_attach_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process_result res = E2B_PROCESS_RESULT_INIT;
	unsigned long long pid;
	e2b_process *proc = NULL;
	e2b_sandbox *sb = NULL;
	int error, code, detached;

	error = parse_uint(&pid, args->argv[1], "pid", 1, UINT32_MAX);
	if (error)
		goto out;
	error = ctx_sandbox(ctx, args->argv[0], &sb, NULL);
	if (error)
		goto out;
	co.on_stdout = proc_write_stdout;
	co.on_stderr = proc_write_stderr;
	code = e2b_commands_connect(&proc, sb, (uint32_t)pid, &co);
	if (code == E2B_ENOTFOUND) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: process %llu not found in sandbox '%s'\n", pid,
			e2b_sandbox_id(sb));
		error = E2BCTL_EXIT_NOTFOUND;
		goto out;
	}
	if (code < 0) {
		error = error_e2b(code, "cannot attach to process %llu", pid);
		goto out;
	}
	code = proc_pump(&detached, sb, proc, !isatty(STDIN_FILENO), PROC_INT_DETACH);
	if (detached && proc_output_errno)
		goto out;
	if (detached) {
		if (!ctx->quiet)
			fprintf(stderr, "e2bctl: detached from process %llu\n", pid);
		goto out;
	}
	if (code >= 0)
		code = e2b_process_wait(&res, proc, NULL, NULL, NULL);
	if (code < 0 && code != E2B_EEXIT)
		error = error_e2b(code, "process %llu", pid);
	else
		error = proc_exit_status(&res);
out:
	e2b_process_result_release(&res);
	e2b_process_free(proc);
	e2b_sandbox_free(sb);
	return error;
}

const struct cmd_spec cmd_attach_spec = {
	.name = "attach",
	.usage = "ID PID",
	.summary = "follow a running process's output and feed it stdin",
	.description =
		"Output produced before attaching is not replayed.  When the process\n"
		"ends, attach exits with its exit status; Ctrl-C detaches (exit 0)\n"
		"without stopping it.  stdin is forwarded when it is not a terminal\n"
		"(the process needs to have been started with start --stdin).\n",
	.options = cmd_attach_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_attach_exec,
};
