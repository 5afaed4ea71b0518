/* SPDX-License-Identifier: MIT */
/*
 * The one place libe2b changes file metadata in the sandbox (meta.c), for
 * the library's own callers (the atomic write in filesystem.c).
 */
#ifndef E2B_META_INT_H
#define E2B_META_INT_H

#include <e2b/meta.h>

/*
 * Run @op in a process of its own as @user (NULL = the config's user),
 * bounded by @timeout_ms (0 = default).  Sets op->error/os_errno and the
 * thread's error record; returns 0 or the error.
 */
int e2b__meta_run_oneshot(e2b_sandbox *sb, e2b_meta_op *op, const char *user,
			  unsigned timeout_ms);

#endif
