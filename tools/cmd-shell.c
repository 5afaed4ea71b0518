/* SPDX-License-Identifier: MIT */
/*
 * e2bctl shell: an interactive PTY session.  Our terminal is put in raw
 * mode so every key (Ctrl-C included) goes to the remote side; window
 * size changes are forwarded; the exit status is the remote one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "term.h"

static const struct cmd_option cmd_shell_options[] = {
	{ "cwd", 'w', "DIR", 0, "working directory in the sandbox" },
	{ "env", 'e', "K=V", CMD_OPT_MULTI, "environment variable (repeatable)" },
	{ "user", 'u', "USER", 0, "sandbox user" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_shell_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_pty_options po = E2B_PTY_OPTIONS_INIT;
	e2b_process_result res = E2B_PROCESS_RESULT_INIT;
	const char *argv[5] = { NULL };
	e2b_kv *envs = NULL, *allenv = NULL;
	e2b_process *proc = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *cmdline = NULL, **vals;
	const char *term = getenv("TERM");
	int error, code, ended = 0;
	unsigned cols, rows;
	size_t n;

	vals = cmd_args_all(args, "env", &n);
	error = parse_kv_list(&envs, vals, n, "env");
	if (error)
		goto out;
	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	/* Our TERM, unless the user set one. */
	allenv = xcalloc(n + 1, sizeof(*allenv));
	if (n)
		memcpy(allenv, envs, n * sizeof(*envs));
	if (term && *term) {
		size_t i;

		for (i = 0; i < n && strcmp(envs[i].key, "TERM"); i++)
			;
		if (i == n) {
			allenv[n].key = "TERM";
			allenv[n++].value = term;
		}
	}
	po.envs = allenv;
	po.envs_count = n;
	if (args->argc > 1) {
		cmdline = proc_command_line(args->argc - 1, args->argv + 1);
		argv[0] = "/bin/bash";
		argv[1] = "-l";
		argv[2] = "-c";
		argv[3] = cmdline;
		po.argv = argv;
	}
	term_size(&cols, &rows);
	po.cols = cols;
	po.rows = rows;
	po.cwd = cmd_arg(args, "cwd") ? cmd_arg(args, "cwd") : mount_cwd;
	po.user = cmd_arg(args, "user") ? cmd_arg(args, "user") : ctx->user;
	po.on_data = proc_write_stdout;
	code = e2b_pty_start(&proc, sb, &po);
	if (code < 0) {
		error = error_e2b(code, "cannot start a terminal session");
		goto out;
	}
	if (term_raw() < 0)
		error_warn("cannot put the terminal in raw mode: %s", strerror(errno));
	code = term_session(&ended, sb, proc);
	term_restore();
	if (!ended) {
		error = code < 0 ? error_e2b(code, "terminal session failed") :
			E2BCTL_EXIT_INTERRUPTED;
		goto out;
	}
	code = e2b_process_wait(&res, proc, NULL, NULL, NULL);
	if (code < 0 && code != E2B_EEXIT)
		error = error_e2b(code, "terminal session failed");
	else
		error = proc_exit_status(&res);
out:
	term_restore();
	e2b_process_result_release(&res);
	e2b_process_free(proc);
	e2b_sandbox_free(sb);
	free(envs);
	free(allenv);
	free(cmdline);
	free(mount_cwd);
	return error;
}

const struct cmd_spec cmd_shell_spec = {
	.name = "shell",
	.usage = "ID [--cwd DIR] [--env K=V]... [--user U] [COMMAND...]",
	.summary = "open an interactive terminal in a sandbox",
	.description =
		"Runs COMMAND (default: a login shell) on a remote PTY.  The local\n"
		"terminal is in raw mode, so Ctrl-C and Ctrl-D go to the remote side;\n"
		"window resizes are forwarded.  Exits with the remote exit status.\n",
	.options = cmd_shell_options,
	.min_args = 1,
	.max_args = -1,
	.flags = CMD_TRAILING,
	.exec = cmd_shell_exec,
};
