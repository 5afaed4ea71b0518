/* SPDX-License-Identifier: MIT */
/*
 * e2bctl run: run a command in the foreground, stream its output, forward
 * our stdin when it is not a terminal, and exit with its exit code.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

static const struct cmd_option cmd_run_options[] = {
	{ "cwd", 'w', "DIR", 0, "working directory in the sandbox" },
	{ "env", 'e', "K=V", CMD_OPT_MULTI, "environment variable (repeatable)" },
	{ "user", 'u', "USER", 0, "sandbox user to run as" },
	{ "timeout", 't', "S", 0, "kill the command after S seconds (exit 6)" },
	{ "no-stdin", 'n', NULL, 0, "do not forward stdin (the command reads EOF)" },
	{ NULL, 0, NULL, 0, NULL },
};

/*
 * Is our stdin /dev/null or an empty file?  Then the command starts with
 * its stdin closed instead of paying a CloseStdin call at our EOF.
 */
static int stdin_is_empty(void)
{
	struct stat st, null;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return st.st_size == 0;
	return S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev;
}

/* Start @p cmdline in *@p sb; when the sandbox's details came from the cache (@p cached) and
 * look stale, ask the API for them (*@p sb replaced) and start it again. */
static int run_start(e2b_process **proc, e2b_sandbox **sb, struct cmd_ctx *ctx,
		     const char *id, const char *cmdline, struct proc_opts *po, int cached)
{
	int error, code;

	code = e2b_commands_start(proc, *sb, cmdline, &po->co);
	if (cached && (code == E2B_EAUTH || code == E2B_ENOTFOUND || code == E2B_EUNAVAILABLE)) {
		/* Stale details (new token, sandbox gone or paused): ask the API. */
		ctx_sandbox_forget(*sb);
		e2b_sandbox_free(*sb);
		*sb = NULL;
		e2b_error_clear();
		error = ctx_sandbox(ctx, id, sb, NULL);
		if (error)
			return error;
		code = e2b_commands_start(proc, *sb, cmdline, &po->co);
	}
	if (code < 0)
		return error_e2b(code, "cannot run '%s'", cmdline);
	return 0;
}

static int cmd_run_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_process_result res = E2B_PROCESS_RESULT_INIT;
	struct proc_opts po = { 0 };
	e2b_process *proc = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *cmdline = NULL;
	int error, code, detached, forward, cached;

	if (args->argc < 2) {
		error = error_usage("run", "'run' needs a command to run");
		goto out;
	}
	error = proc_opts_init(&po, ctx, args);
	if (error)
		goto out;
	/* Known details of the sandbox save a management call per run. */
	error = ctx_sandbox_cached(ctx, args->argv[0], &sb, &mount_cwd, &cached);
	if (error)
		goto out;
	proc_opts_cwd(&po, mount_cwd);
	forward = !isatty(STDIN_FILENO) && !stdin_is_empty() && !cmd_count(args, "no-stdin");
	po.co.stdin_open = forward;
	po.co.stdin_stream = forward;
	po.co.on_stdout = proc_write_stdout;
	po.co.on_stderr = proc_write_stderr;
	cmdline = proc_command_line(args->argc - 1, args->argv + 1);
	/* From here a Ctrl-C must reach the remote process, even one that
	 * arrives while it is being started (proc_pump acts on it first). */
	sig_catch();
	error = run_start(&proc, &sb, ctx, args->argv[0], cmdline, &po, cached);
	if (error)
		goto out;
	code = proc_pump(&detached, sb, proc, forward, PROC_INT_SIGNAL);
	if (proc_output_errno) {
		/* Like any pipeline member whose reader left: 128 + SIGPIPE. */
		if (proc_output_errno == EPIPE)
			error = 128 + SIGPIPE;
		else
			error = error_msg("cannot write output: %s", strerror(proc_output_errno));
		goto out;
	}
	if (detached) {
		error = error_msg("gave up waiting for process %u", e2b_process_pid(proc));
		error = E2BCTL_EXIT_INTERRUPTED;
		goto out;
	}
	if (code >= 0 || code == E2B_EEXIT)
		code = e2b_process_wait(&res, proc, NULL, NULL, NULL);
	if (code == E2B_ETIMEOUT && po.co.timeout_ms) {
		error = error_msg("command timed out after %u s", po.co.timeout_ms / 1000);
		error = E2BCTL_EXIT_TIMEOUT;
	} else if (code < 0 && code != E2B_EEXIT) {
		error = error_e2b(code, "'%s' failed", cmdline);
	} else {
		error = proc_exit_status(&res);
	}
out:
	e2b_process_result_release(&res);
	e2b_process_free(proc);
	e2b_sandbox_free(sb);
	proc_opts_release(&po);
	free(cmdline);
	free(mount_cwd);
	return error;
}

const struct cmd_spec cmd_run_spec = {
	.name = "run",
	.usage = "ID [--cwd DIR] [--env K=V]... [--user U] [--timeout S] [--] COMMAND...",
	.summary = "run a command and stream its output",
	.description =
		"One COMMAND argument is a shell command line (run with bash -l -c);\n"
		"several are quoted and run as one command with those arguments.\n"
		"stdout and stderr are streamed as they arrive.  When our stdin is not a\n"
		"terminal it is forwarded and the remote stdin closed at its end.  Ctrl-C\n"
		"sends SIGTERM to the command, a second Ctrl-C SIGKILL.  The exit status\n"
		"is the command's (128 + N when killed by signal N).  With ID '.' inside\n"
		"an e2bfs mount, --cwd defaults to the sandbox path of the current\n"
		"directory.\n",
	.options = cmd_run_options,
	.min_args = 1,
	.max_args = -1,
	.flags = CMD_TRAILING | CMD_TERMINAL_HINT,
	.exec = cmd_run_exec,
};
