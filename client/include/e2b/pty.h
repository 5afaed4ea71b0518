/* SPDX-License-Identifier: MIT */
/*
 * PTY sessions in a sandbox (the Go client's Pty): start a terminal
 * process, write its input, resize it.  Output arrives through the
 * process handle (<e2b/process.h>).  The functions taking a sandbox and a
 * pid are plain requests and may be called from any thread.
 */
#ifndef E2B_PTY_H
#define E2B_PTY_H

#include "common.h"
#include "sandbox.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

#define E2B_PTY_OPTIONS_VERSION 1

typedef struct e2b_pty_options {
	unsigned version;
	/** Terminal size; 0 = 80x24. */
	unsigned cols;
	unsigned rows;
	/** Program and args; NULL = /bin/bash -i -l. argv NULL-terminated. */
	const char *const *argv;
	/** Extra environment (TERM=xterm-256color, LANG/LC_ALL=C.UTF-8 are
	 *  set unless given here). */
	const e2b_kv *envs;
	size_t envs_count;
	const char *cwd;
	const char *user;
	/** Deadline as in e2b_commands_options; 0 = none. */
	unsigned timeout_ms;
	/** Terminal output; called from e2b_process_wait()/_poll(). */
	e2b_data_cb on_data;
	void *payload;
} e2b_pty_options;

#define E2B_PTY_OPTIONS_INIT { .version = E2B_PTY_OPTIONS_VERSION }

/**
 * Start a PTY session.  Output arrives through opts->on_data while the
 * owner calls e2b_process_poll()/_wait(); send keystrokes with
 * e2b_pty_write(); end with e2b_process_kill() or by sending EOF (0x04).
 *
 * @param[out] out caller owns, free with e2b_process_free()
 * @return as e2b_commands_start()
 */
E2B_EXTERN(int) e2b_pty_start(e2b_process **out, e2b_sandbox *sb,
			      const e2b_pty_options *opts);

/**
 * Send input bytes to a PTY process.
 * @return 0, E2B_ENOTFOUND, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_pty_write(e2b_sandbox *sb, uint32_t pid, const void *data,
			     size_t len);

/**
 * Resize a PTY.
 * @return 0, E2B_ENOTFOUND, E2B_ERROR (not a PTY), E2B_EUNAVAILABLE, ...
 */
E2B_EXTERN(int) e2b_pty_resize(e2b_sandbox *sb, uint32_t pid, unsigned cols,
			       unsigned rows);

#ifdef __cplusplus
}
#endif

#endif /* E2B_PTY_H */
