/* SPDX-License-Identifier: MIT */
/*
 * What process.c asks of the isolation layer (nsbox.c): start a process
 * inside a running sandbox, signal it, and hear when it exits.  Pids are
 * pids inside the sandbox's PID namespace.
 */
#ifndef E2BD_NSPROC_H
#define E2BD_NSPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/rpc.h"
#include "api/sandbox.h"

struct nsproc_spawn {
	const struct sb_user *user;
	const char *cwd;	/* absolute, inside the sandbox */
	char *const *argv;	/* NULL-terminated, argv[0] = cmd */
	char *const *envp;	/* NULL-terminated "K=V" */
	bool pty;
	uint16_t cols, rows;
	bool stdin_pipe;	/* else stdin is /dev/null (ignored for pty) */
};

struct nsproc_result {
	pid_t pid;
	int stdin_fd;	/* write end, -1 if none */
	int stdout_fd;	/* read ends, -1 for pty */
	int stderr_fd;
	int pty_fd;	/* master, -1 if no pty */
};

/*
 * Called once per successfully spawned process with its wait status, from
 * nsbox's reader thread (possibly before nsproc_spawn() returns).  If the
 * sandbox's init dies, every outstanding callback is made with SIGKILL.
 * Must not block and must not call back into nsbox.
 */
typedef void (*nsproc_exit_fn)(void *arg, int wstatus);

/*
 * Start a process.  On success fills @out (caller owns the fds) and
 * guarantees exactly one later @cb call.  On failure returns -1 with @err
 * set (invalid_argument for a missing cwd or exec failure, internal
 * otherwise) and @cb is never called.
 */
int nsproc_spawn(struct sandbox *sb, const struct nsproc_spawn *req,
		 nsproc_exit_fn cb, void *arg, struct nsproc_result *out,
		 struct rpc_error *err);

/* Send @sig to a process started with nsproc_spawn(); 0 or -1 with @err. */
int nsproc_signal(struct sandbox *sb, pid_t pid, int sig,
		  struct rpc_error *err);

/* process.c: end every process stream of a sandbox being paused. */
void proc_streams_abort(struct sandbox *sb);

/*
 * Stop the sandbox and free its isolation state and sb->root.  Called by
 * proc_table_release() when the sandbox object itself is freed.
 */
void nsbox_release(struct sandbox *sb);

#endif
