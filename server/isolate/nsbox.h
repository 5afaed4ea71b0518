/* SPDX-License-Identifier: MIT */
/*
 * The isolation layer: each sandbox's root filesystem (overlayfs over its
 * template), its namespaces (mount, PID, UTS) and the init process that
 * forks every process of the sandbox.  Lifecycle code in sandbox.c calls
 * only these functions; process.c uses nsbox_spawn().
 */
#ifndef E2BD_NSBOX_H
#define E2BD_NSBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/sandbox.h"
#include "http/rpc.h"

/*
 * Called once at start-up, before any thread exists: check that
 * isolation can be set up (root or user namespaces, overlayfs, /proc),
 * move e2bd into a private mount namespace so that sandbox mounts vanish
 * with it.  Returns 0, or -1 with a one-line reason in @err.
 */
int nsbox_global_init(const char *state_dir, char *err, size_t errlen);

/*
 * Mount the sandbox root (creating the writable layer on first use) and
 * start its init process.  Sets sb->root, sb->rootfd, sb->ns.  Idempotent.
 */
int nsbox_start(struct sandbox *sb);

/* Kill every process of the sandbox and unmount its root; the layer stays. */
int nsbox_stop(struct sandbox *sb);

/* Freeze or thaw every process of the sandbox (cgroup v1/v2 freezer, or SIGSTOP). */
int nsbox_freeze(struct sandbox *sb, bool frozen);

/*
 * A TCP connection to @port of the sandbox's servers (its loopback, then
 * its eth0 address), made from inside its network namespace.  -1 with
 * errno if the sandbox is not running or nothing listens there.
 */
int nsbox_connect_port(struct sandbox *sb, int port);

/* Host pid of the sandbox's init (its PID namespace), 0 when not running. */
pid_t nsbox_init_pid(struct sandbox *sb);

/* The memory limit in force in the running sandbox's cgroup; 0 if none. */
uint64_t nsbox_memory_limit(struct sandbox *sb);

/* Memory held by the running sandbox's cgroup (cgroup.h); -1 if none. */
int nsbox_memory_used(struct sandbox *sb, uint64_t *out);

/* Remove the sandbox's writable layer from disk (after nsbox_stop). */
int nsbox_destroy_layer(struct sandbox *sb);

/*
 * Processes: start one inside a running sandbox, signal it, and hear when
 * it exits (process.c).  Pids are pids inside the sandbox's PID namespace.
 */
struct nsbox_spawn_req {
	const struct sb_user *user;
	const char *cwd;	/* absolute, inside the sandbox */
	char *const *argv;	/* NULL-terminated, argv[0] = cmd */
	char *const *envp;	/* NULL-terminated "K=V" */
	bool pty;
	uint16_t cols, rows;
	bool stdin_pipe;	/* else stdin is /dev/null (ignored for pty) */
};

struct nsbox_spawn_result {
	pid_t pid;
	int stdin_fd;	/* write end, -1 if none */
	int stdout_fd;	/* read ends, -1 for pty */
	int stderr_fd;
	int pty_fd;	/* master, -1 if no pty */
};

/*
 * Called once per successfully spawned process with its wait status, from
 * nsbox's reader thread (possibly before nsbox_spawn() returns).  If the
 * sandbox's init dies, every outstanding callback is made with SIGKILL.
 * Must not block and must not call back into nsbox.
 */
typedef void (*nsbox_exit_fn)(void *arg, int wstatus);

/*
 * Start a process.  On success fills @out (caller owns the fds) and
 * guarantees exactly one later @cb call.  On failure returns -1 with @err
 * set (invalid_argument for a missing cwd or exec failure, internal
 * otherwise) and @cb is never called.
 */
int nsbox_spawn(struct sandbox *sb, const struct nsbox_spawn_req *req,
		nsbox_exit_fn cb, void *arg, struct nsbox_spawn_result *out,
		struct rpc_error *err);

/* Send @sig to a process started with nsbox_spawn(); 0 or -1 with @err. */
int nsbox_signal(struct sandbox *sb, pid_t pid, int sig,
		 struct rpc_error *err);

/*
 * Stop the sandbox and free its isolation state and sb->root.  Called by
 * process_table_release() when the sandbox object itself is freed.
 */
void nsbox_release(struct sandbox *sb);

#endif
