/* SPDX-License-Identifier: MIT */
/*
 * Streaming a remote process in one loop (C4): e2b_process_poll() waits on
 * the output stream and on our stdin at once; signals only set flags that
 * the loop turns into remote signals between polls.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* How long one poll may block before signal flags are looked at again. */
#define PROC_POLL_MS 250
#define PROC_STDIN_CHUNK (1024 * 1024)

int proc_opts_init(struct proc_opts *po, const struct cmd_ctx *ctx,
		   const struct cmd_args *args)
{
	unsigned long long t;
	char **vals;
	size_t n;
	int error;

	memset(po, 0, sizeof(*po));
	po->co = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	vals = cmd_args_all(args, "env", &n);
	error = parse_kv_list(&po->envs, vals, n, "env");
	if (error)
		return error;
	po->co.envs = po->envs;
	po->co.envs_count = n;
	if (cmd_arg(args, "cwd"))
		po->cwd = xstrdup(cmd_arg(args, "cwd"));
	po->co.cwd = po->cwd;
	po->co.user = cmd_arg(args, "user") ? cmd_arg(args, "user") : ctx->user;
	for (n = 0; args->spec->options[n].name; n++) {
		if (strcmp(args->spec->options[n].name, "timeout"))
			continue;
		if (cmd_arg(args, "timeout")) {
			error = parse_uint(&t, cmd_arg(args, "timeout"), "timeout", 1, 4294967);
			if (error)
				return error;
			po->co.timeout_ms = (unsigned)(t * 1000);
		}
	}
	return 0;
}

void proc_opts_cwd(struct proc_opts *po, const char *mount_cwd)
{
	if (po->cwd || !mount_cwd)
		return;
	po->cwd = xstrdup(mount_cwd);
	po->co.cwd = po->cwd;
}

void proc_opts_release(struct proc_opts *po)
{
	free(po->envs);
	free(po->cwd);
	memset(po, 0, sizeof(*po));
}

/* Characters that need no quoting for a POSIX shell. */
static int shell_safe(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_-+=./:,@%^", *s))
			return 0;
	}
	return 1;
}

char *proc_command_line(int argc, char **argv)
{
	size_t cap = 1, len = 0, n;
	char *out, *p;
	int i;

	if (argc == 1)
		return xstrdup(argv[0]);
	for (i = 0; i < argc; i++)
		cap += strlen(argv[i]) * 4 + 3;
	out = xmalloc(cap);
	for (i = 0; i < argc; i++) {
		if (i)
			out[len++] = ' ';
		if (shell_safe(argv[i])) {
			n = strlen(argv[i]);
			memcpy(out + len, argv[i], n);
			len += n;
			continue;
		}
		out[len++] = '\'';
		for (p = argv[i]; *p; p++) {
			if (*p == '\'') {
				memcpy(out + len, "'\\''", 4);
				len += 4;
			} else {
				out[len++] = *p;
			}
		}
		out[len++] = '\'';
	}
	out[len] = '\0';
	return out;
}

int proc_output_errno;

int proc_write_stdout(const char *data, size_t len, void *payload)
{
	if (write_all(STDOUT_FILENO, data, len) < 0) {
		proc_output_errno = errno;
		return -1;
	}
	return 0;
}

int proc_write_stderr(const char *data, size_t len, void *payload)
{
	if (write_all(STDERR_FILENO, data, len) < 0) {
		proc_output_errno = errno;
		return -1;
	}
	return 0;
}

/* Forward what stdin has now.  @return 1 at EOF, 0, or -1 on failure. */
static int forward_stdin_once(e2b_sandbox *sb, e2b_process *proc)
{
	static char buf[PROC_STDIN_CHUNK];
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;
	int code;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		code = e2b_process_close_stdin(proc);
		if (code < 0 && code != E2B_ENOTFOUND)
			error_warn("cannot close the remote stdin: %s", e2b_error_last()->message);
		return 1;
	}
	/* Through the process's StreamInput when it was started with
	 * stdin_stream (no round trip per chunk), else one SendInput. */
	code = e2b_process_write_stdin(proc, buf, (size_t)n);
	if (code < 0) {
		/* The process may have just exited; its end event tells. */
		if (code != E2B_ENOTFOUND)
			error_warn("cannot write to the remote stdin: %s",
				   e2b_error_last()->message);
		return -1;
	}
	return 0;
}

int proc_pump(int *out_detached, e2b_sandbox *sb, e2b_process *proc,
	      int forward_stdin, enum proc_interrupt mode)
{
	uint32_t pid = e2b_process_pid(proc);
	int ended = 0, code = 0, seen = 0, r;

	*out_detached = 0;
	/* sig_interrupts counts from sig_catch(): a Ctrl-C that came while
	 * the process was starting is acted on at the first turn. */
	sig_catch();
	/* A closed output pipe must stop the remote side too, not kill us
	 * silently and leave it running: see EPIPE below. */
	signal(SIGPIPE, SIG_IGN);
	while (!ended) {
		if (sig_interrupts != seen) {
			seen = sig_interrupts;
			if (mode == PROC_INT_DETACH) {
				*out_detached = 1;
				break;
			}
			if (seen >= 3) {
				/* The server does not answer; give up on it. */
				*out_detached = 1;
				break;
			}
			code = e2b_commands_signal(NULL, sb, pid, seen == 1 ?
						   E2B_SIGNAL_SIGTERM : E2B_SIGNAL_SIGKILL);
			if (code < 0)
				error_warn("cannot signal process %u: %s", pid,
					   e2b_error_last()->message);
		}
		code = e2b_process_poll(&ended, proc, PROC_POLL_MS,
					forward_stdin ? STDIN_FILENO : -1);
		if (code == E2B_ECANCELED && proc_output_errno) {
			/* Our reader went away (`run ID yes | head`). */
			if (mode == PROC_INT_SIGNAL)
				e2b_commands_signal(NULL, sb, pid, E2B_SIGNAL_SIGKILL);
			else
				*out_detached = 1;
			break;
		}
		if (code < 0)
			break;
		if (forward_stdin && !ended) {
			r = forward_stdin_once(sb, proc);
			if (r != 0)
				forward_stdin = 0;
		}
	}
	sig_default();
	signal(SIGPIPE, SIG_DFL);
	return code;
}

/* Signal names as Go prints them in "signal: killed". */
static const struct {
	const char *name;
	int sig;
} go_signals[] = {
	{ "hangup", SIGHUP }, { "interrupt", SIGINT }, { "quit", SIGQUIT },
	{ "illegal instruction", SIGILL }, { "trace/breakpoint trap", SIGTRAP },
	{ "aborted", SIGABRT }, { "bus error", SIGBUS },
	{ "floating point exception", SIGFPE }, { "killed", SIGKILL },
	{ "user defined signal 1", SIGUSR1 }, { "segmentation fault", SIGSEGV },
	{ "user defined signal 2", SIGUSR2 }, { "broken pipe", SIGPIPE },
	{ "alarm clock", SIGALRM }, { "terminated", SIGTERM },
};

int proc_exit_status(const e2b_process_result *res)
{
	const char *s = res->status ? res->status : "";
	size_t i;

	if (res->exited || res->exit_code > 0)
		return res->exit_code & 0xff;
	if (!strncmp(s, "signal: ", 8)) {
		for (i = 0; i < sizeof(go_signals) / sizeof(go_signals[0]); i++)
			if (!strcmp(s + 8, go_signals[i].name))
				return 128 + go_signals[i].sig;
		return 128 + SIGKILL;
	}
	return res->exit_code < 0 ? 128 + SIGKILL : res->exit_code & 0xff;
}
