/* SPDX-License-Identifier: MIT */
/*
 * e2bctl shell: an interactive PTY session.  Our terminal is put in raw
 * mode so every key (Ctrl-C included) goes to the remote side; window
 * size changes are forwarded; the exit status is the remote one.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "proc.h"

#define SHELL_POLL_MS 250
#define SHELL_CHUNK 4096

static const struct cmd_option cmd_shell_options[] = {
	{ "cwd", 'w', "DIR", 0, "working directory in the sandbox" },
	{ "env", 'e', "K=V", CMD_OPT_MULTI, "environment variable (repeatable)" },
	{ "user", 'u', "USER", 0, "sandbox user" },
	{ NULL, 0, NULL, 0, NULL },
};

static struct termios shell_saved;
static int shell_raw;

static void restore_terminal(void)
{
	if (shell_raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &shell_saved);
		shell_raw = 0;
	}
}

static int raw_terminal(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &shell_saved) < 0)
		return -1;
	t = shell_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
		return -1;
	shell_raw = 1;
	atexit(restore_terminal);
	return 0;
}

static void window_size(unsigned *cols, unsigned *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	     ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Forward pending keystrokes.  @return 1 at EOF, 0, -1 on failure. */
static int forward_keys(e2b_sandbox *sb, uint32_t pid, int *eof_sent)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[SHELL_CHUNK];
	ssize_t n;
	int code;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		/* Piped input ended: EOF for the remote line discipline. */
		if (!*eof_sent)
			e2b_pty_send(sb, pid, "\x04", 1);
		*eof_sent = 1;
		return 1;
	}
	code = e2b_pty_send(sb, pid, buf, (size_t)n);
	return code < 0 ? -1 : 0;
}

static int cmd_shell_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_pty_options po = E2B_PTY_OPTIONS_INIT;
	e2b_command_result res = E2B_COMMAND_RESULT_INIT;
	const char *argv[5] = { NULL };
	e2b_kv *envs = NULL, *allenv = NULL;
	e2b_process *proc = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *cmdline = NULL, **vals;
	const char *term = getenv("TERM");
	int error, code, ended = 0, reading = 1, eof_sent = 0, seen = 0;
	unsigned cols, rows;
	size_t n;
	uint32_t pid;

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
	window_size(&cols, &rows);
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
	pid = e2b_process_pid(proc);
	if (isatty(STDIN_FILENO) && raw_terminal() < 0)
		error_warn("cannot put the terminal in raw mode: %s", strerror(errno));
	sig_catch();
	sig_catch_winch();
	while (!ended) {
		if (sig_interrupts != seen) {
			/* Only signals from outside arrive here (raw mode). */
			seen = sig_interrupts;
			e2b_commands_signal(NULL, sb, pid, seen == 1 ? E2B_SIGNAL_SIGTERM :
					    E2B_SIGNAL_SIGKILL);
			if (seen >= 3)
				break;
		}
		if (sig_winch) {
			sig_winch = 0;
			window_size(&cols, &rows);
			code = e2b_pty_resize(sb, pid, cols, rows);
			if (code < 0 && code != E2B_ENOTFOUND)
				error_warn("cannot resize the terminal: %s",
					   e2b_error_last()->message);
		}
		code = e2b_process_poll(&ended, proc, SHELL_POLL_MS,
					reading ? STDIN_FILENO : -1);
		if (code < 0)
			break;
		if (reading && !ended && forward_keys(sb, pid, &eof_sent) != 0)
			reading = 0;
	}
	sig_default();
	restore_terminal();
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
	restore_terminal();
	e2b_command_result_release(&res);
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
