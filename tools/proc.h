/* SPDX-License-Identifier: MIT */
/*
 * What run, start, attach and shell share: turning our argv into a remote
 * command line and option struct, the single-threaded loop that streams a
 * process's output while forwarding stdin and Ctrl-C, and the mapping of
 * the remote end status to our exit code.
 */
#ifndef E2BCTL_PROC_H
#define E2BCTL_PROC_H

#include "cmd.h"

/** What Ctrl-C does while a process is streamed. */
enum proc_interrupt {
	/* First: SIGTERM to the process, second: SIGKILL (run). */
	PROC_INT_SIGNAL,
	/* Stop streaming, leave the process running (attach). */
	PROC_INT_DETACH,
};

/** Options shared by run and start (--cwd --env --user). */
struct proc_opts {
	e2b_commands_options co;
	e2b_kv *envs;
	char *cwd;		/* owned */
};

/**
 * Fill @p po from --cwd, --env, --user and --timeout (checked before any
 * request is made).  @return 0 or an exit code
 */
int proc_opts_init(struct proc_opts *po, const struct cmd_ctx *ctx,
		   const struct cmd_args *args);

/** Default the working directory to @p mount_cwd (from "."), if any. */
void proc_opts_cwd(struct proc_opts *po, const char *mount_cwd);
void proc_opts_release(struct proc_opts *po);

/**
 * The remote command line: one argument is taken as a shell command line
 * as-is; several are quoted for the shell one by one.  Caller frees.
 */
char *proc_command_line(int argc, char **argv);

/* Output callbacks writing to our stdout/stderr; a failed write stops
 * the stream and leaves its errno in proc_output_errno. */
extern int proc_output_errno;
int proc_write_stdout(const char *data, size_t len, void *payload);
int proc_write_stderr(const char *data, size_t len, void *payload);

/**
 * Stream @p proc until it ends, forwarding stdin (when @p forward_stdin)
 * and handling Ctrl-C per @p mode.
 *
 * @param[out] out_detached 1 if the loop stopped by detaching
 * @return the libe2b code of the stream (0 or negative)
 */
int proc_pump(int *out_detached, e2b_sandbox *sb, e2b_process *proc,
	      int forward_stdin, enum proc_interrupt mode);

/** Exit code for a finished process: its code, or 128 + signal. */
int proc_exit_status(const e2b_process_result *res);

#endif /* E2BCTL_PROC_H */
