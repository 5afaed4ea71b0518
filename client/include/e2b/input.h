/* SPDX-License-Identifier: MIT */
/*
 * Input streams (envd's StreamInput client stream): many writes of a
 * process's stdin or PTY input over one open request, ordered and cheap.
 * See <e2b/commands.h> for the other ways to write a process's input.
 */
#ifndef E2B_INPUT_H
#define E2B_INPUT_H

#include "common.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Opaque input stream to one process (envd's StreamInput client stream):
 * many writes over one open request instead of one SendInput request
 * each, so bulk input is ordered and cheap.  Used by one thread at a time.
 */
typedef struct e2b_input e2b_input;

/** Where e2b_input bytes go. */
enum e2b_input_flags {
	/** Write to the PTY (e2b_pty_start() processes) instead of stdin. */
	E2B_INPUT_PTY = 1 << 0,
};

/**
 * Open an input stream to a running process (it must have been started
 * with stdin_open, or be a PTY with E2B_INPUT_PTY).
 *
 * @param[out] out caller owns; finish with e2b_input_close(), free with
 *                 e2b_input_free()
 * @param flags    e2b_input_flags
 * @return 0, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ENOMEM, E2B_ERROR; an
 *         unknown pid is reported by the first write or by the close
 */
E2B_EXTERN(int) e2b_input_open(e2b_input **out, e2b_sandbox *sb,
			       uint32_t pid, unsigned flags);

/**
 * Send bytes (split into messages of at most 64 KiB).  Returns once
 * libcurl took them (bounded by the request timeout), not when the process
 * read them.
 *
 * @return 0, E2B_ENOTFOUND or E2B_ERROR (envd already rejected the stream:
 *         unknown pid, stdin not enabled), E2B_EUNAVAILABLE, E2B_ETIMEOUT,
 *         E2B_EINVALID (after close), E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_input_write(e2b_input *in, const void *data, size_t len);

/**
 * End the stream and wait for envd's answer (bounded by the request
 * timeout).  The process's stdin stays open; use
 * e2b_commands_close_stdin() for EOF.  Later calls return the same
 * outcome.
 *
 * @return 0, E2B_ENOTFOUND (no such process), E2B_ERROR (stdin not
 *         enabled or closed), E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO
 */
E2B_EXTERN(int) e2b_input_close(e2b_input *in);

/** Abort the stream if still open and free.  Accepts NULL. */
E2B_EXTERN(void) e2b_input_free(e2b_input *in);

#ifdef __cplusplus
}
#endif

#endif /* E2B_INPUT_H */
