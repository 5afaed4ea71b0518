/* SPDX-License-Identifier: MIT */
/*
 * The local terminal side of `shell`: raw mode, window size, and the loop
 * that joins our terminal to a remote PTY process.
 */
#ifndef E2BCTL_TERM_H
#define E2BCTL_TERM_H

#include "cmd.h"

/** Our window size (stdin's, else stdout's), 80x24 when unknown. */
void term_size(unsigned *cols, unsigned *rows);

/**
 * Put stdin in raw mode when it is a terminal; restored by
 * term_restore() and at exit.  @return 0, or -1 with errno set
 */
int term_raw(void);
void term_restore(void);

/**
 * Join our terminal to PTY process @p proc until it ends: keystrokes go
 * to it (EOF from a pipe becomes ^D), SIGWINCH becomes a resize, and
 * SIGINT/SIGTERM from outside become SIGTERM, SIGKILL, then giving up.
 *
 * @param[out] out_ended 1 if the process ended (its result is waiting)
 * @return 0 or the libe2b code that stopped the loop
 */
int term_session(int *out_ended, e2b_sandbox *sb, e2b_process *proc);

#endif /* E2BCTL_TERM_H */
