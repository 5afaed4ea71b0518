/* SPDX-License-Identifier: MIT */
/*
 * Commands in a sandbox (envd's process.Process service, the Go client's
 * Commands): run in the foreground, start in the background, reconnect,
 * list, signal, and write or close the stdin of a process by pid.  Every
 * function takes the sandbox and is a plain request (or, for a run, one
 * stream read on the calling thread): thread-safe.
 *
 * Writing to a process's input, one vocabulary: "write" sends bytes,
 * "close" sends EOF, and "stdin" names the process's standard input
 * (the PTY's input is written with e2b_pty_write()).
 *  - at start: e2b_commands_options.stdin_data (written, then closed);
 *  - by pid: e2b_commands_write_stdin() / e2b_commands_close_stdin(), one
 *    request each;
 *  - by handle: e2b_process_write_stdin() / e2b_process_close_stdin(),
 *    which go through one input stream when stdin_stream is set;
 *  - in bulk: an input stream (<e2b/input.h>), many writes over one
 *    request.
 */
#ifndef E2B_COMMANDS_H
#define E2B_COMMANDS_H

#include "common.h"
#include "sandbox.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Signals envd can send. */
typedef enum e2b_signal {
	E2B_SIGNAL_SIGTERM = 15,
	E2B_SIGNAL_SIGKILL = 9,
} e2b_signal;

#define E2B_COMMANDS_OPTIONS_VERSION 1
#define E2B_DEFAULT_MAX_OUTPUT (64u * 1024 * 1024)

/** Options of e2b_commands_run(), _start() and the _argv forms. */
typedef struct e2b_commands_options {
	unsigned version;
	/** Extra environment variables. */
	const e2b_kv *envs;
	size_t envs_count;
	/** Working directory; NULL = the user's default. */
	const char *cwd;
	/** Sandbox user; NULL = the config's user. */
	const char *user;
	/** Keep stdin open for e2b_commands_write_stdin(); otherwise the
	 *  process gets /dev/null on envd >= 0.3.0. */
	int stdin_open;
	/**
	 * Bytes written to stdin right after start, after which stdin is
	 * closed (implies stdin_open while writing).  Borrowed for the call.
	 */
	const void *stdin_data;
	size_t stdin_len;
	/**
	 * Deadline in ms sent as Connect-Timeout-Ms: envd kills the process
	 * when it elapses and the call returns E2B_ETIMEOUT.  0 = none.
	 */
	unsigned timeout_ms;
	/** Tag for the process (ProcessConfig tag). */
	const char *tag;
	/**
	 * Output callbacks.  For a foreground run they are called on the
	 * calling thread as bytes arrive; for a background process, from
	 * e2b_process_wait()/_poll() when no callbacks are passed there.
	 * Bytes are passed through exactly.  A stream with a callback is not
	 * captured into the result.
	 */
	e2b_data_cb on_stdout;
	e2b_data_cb on_stderr;
	void *payload;
	/** Capture limit per stream in bytes; 0 = E2B_DEFAULT_MAX_OUTPUT. */
	size_t max_output;
	/**
	 * With stdin_open: e2b_process_write_stdin() on the returned handle
	 * writes through one StreamInput client stream (an e2b_input opened
	 * on first use) instead of one SendInput request per call, and
	 * e2b_process_close_stdin() finishes that stream first.  Write errors
	 * may then surface only at close.
	 */
	int stdin_stream;
} e2b_commands_options;

#define E2B_COMMANDS_OPTIONS_INIT { .version = E2B_COMMANDS_OPTIONS_VERSION }

/**
 * Run a shell command (/bin/bash -l -c @p cmd) and wait for it.
 *
 * @param[out] out  filled with output and exit status; may be NULL (then
 *                  nothing is captured); release with
 *                  e2b_process_result_release()
 * @param opts      NULL = defaults
 * @return 0 when the command exited with 0; E2B_EEXIT for a nonzero exit
 *         (out still filled); E2B_ETIMEOUT (opts->timeout_ms elapsed, or
 *         no start event within the request timeout), E2B_EINVALID (e.g.
 *         cwd missing), E2B_EAUTH, E2B_ENOTFOUND, E2B_EUNAVAILABLE (network,
 *         sandbox gone, stream silent for 2x the keepalive interval),
 *         E2B_EPROTO, E2B_ECANCELED (a callback returned nonzero; the
 *         process keeps running), E2B_ENOMEM, E2B_ERROR
 *
 * The Start request is never retried.  Thread-safe.
 */
E2B_EXTERN(int) e2b_commands_run(e2b_process_result *out, e2b_sandbox *sb,
				 const char *cmd,
				 const e2b_commands_options *opts);

/**
 * Run a program with exact arguments and no shell.
 *
 * @param argv NULL-terminated; argv[0] is the program (path or name looked
 *             up in PATH by envd); borrowed
 * @return as e2b_commands_run()
 */
E2B_EXTERN(int) e2b_commands_run_argv(e2b_process_result *out,
				      e2b_sandbox *sb,
				      const char *const *argv,
				      const e2b_commands_options *opts);

/**
 * Start a shell command in the background.  Returns once envd reported
 * the start event (bounded by the request timeout).
 *
 * @param[out] out caller owns, free with e2b_process_free() (which
 *                 disconnects but does not kill)
 * @return as e2b_commands_run() except E2B_EEXIT
 */
E2B_EXTERN(int) e2b_commands_start(e2b_process **out, e2b_sandbox *sb,
				   const char *cmd,
				   const e2b_commands_options *opts);

/** Background form of e2b_commands_run_argv(). */
E2B_EXTERN(int) e2b_commands_start_argv(e2b_process **out, e2b_sandbox *sb,
					const char *const *argv,
					const e2b_commands_options *opts);

/**
 * Subscribe to a running process's further output (envd Connect).  Output
 * produced before this call is not replayed.
 *
 * @param opts only on_stdout/on_stderr/payload/max_output are used; NULL ok
 * @param[out] out caller owns, free with e2b_process_free()
 * @return 0, E2B_ENOTFOUND (no such pid), E2B_EUNAVAILABLE, E2B_EAUTH,
 *         E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_commands_connect(e2b_process **out, e2b_sandbox *sb,
				     uint32_t pid,
				     const e2b_commands_options *opts);

/**
 * List running processes.
 *
 * @param[out] out caller owns, free with e2b_process_list_free()
 * @return 0, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, ...
 */
E2B_EXTERN(int) e2b_commands_list(e2b_process_list **out, e2b_sandbox *sb);

/**
 * Send SIGKILL to a process.
 *
 * @param[out] out_found may be NULL; 0 if the process did not exist (not
 *                        an error)
 * @return 0, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_commands_kill(int *out_found, e2b_sandbox *sb,
				  uint32_t pid);

/** Send @p sig to a process; like e2b_commands_kill() otherwise. */
E2B_EXTERN(int) e2b_commands_signal(int *out_found, e2b_sandbox *sb,
				    uint32_t pid, e2b_signal sig);

/**
 * Write bytes to a process's stdin (it must have been started with
 * stdin_open).  Large inputs are sent in several requests, in order.
 *
 * @return 0, E2B_ENOTFOUND, E2B_ERROR (stdin not enabled or closed),
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EINVALID
 */
E2B_EXTERN(int) e2b_commands_write_stdin(e2b_sandbox *sb, uint32_t pid,
					const void *data, size_t len);

/**
 * Close a process's stdin (EOF).  Needs envd >= 0.5.2.  Closing twice is
 * not an error.
 *
 * @return 0, E2B_ENOTFOUND, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_commands_close_stdin(e2b_sandbox *sb, uint32_t pid);

#ifdef __cplusplus
}
#endif

#endif /* E2B_COMMANDS_H */
