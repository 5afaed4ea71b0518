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
#include <sys/types.h>

#include "api/sandbox.h"

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

/* Remove the sandbox's writable layer from disk (after nsbox_stop). */
int nsbox_destroy_layer(struct sandbox *sb);

/* Process table hooks (process.c): allocate/free sb->procs. */
int proc_table_init(struct sandbox *sb);
void proc_table_release(struct sandbox *sb);
/* Watch table hooks (fsrpc.c): allocate/free sb->watches. */
int watch_table_init(struct sandbox *sb);
void watch_table_release(struct sandbox *sb);

#endif
