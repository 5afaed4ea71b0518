/* SPDX-License-Identifier: MIT */
/*
 * Processes in a sandbox (envd's process.Process service): run in the
 * foreground, start in the background, reconnect, list, signal, stdin, and
 * PTY sessions.
 *
 * Threading: libe2b starts no threads.  A foreground run streams output on
 * the calling thread.  A background process handle owns its own output
 * stream, which is read only while the owner calls e2b_process_wait() or
 * e2b_process_poll(); until then the output waits in socket buffers (and
 * envd/the process may block once those fill).  A process handle is used by
 * one thread at a time, except e2b_process_cancel(), which any thread may
 * call.  The e2b_commands_* and e2b_pty_* functions that take a sandbox and
 * a pid are plain requests and may be called from any thread.
 */
#ifndef E2B_COMMANDS_H
#define E2B_COMMANDS_H

#include "common.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle to a subscribed process output stream. */
typedef struct e2b_process e2b_process;

/** Signals envd can send. */
typedef enum e2b_signal {
	E2B_SIGNAL_SIGTERM = 15,
	E2B_SIGNAL_SIGKILL = 9,
} e2b_signal;

/**
 * Outcome of a command.  Initialise with E2B_COMMAND_RESULT_INIT and
 * release with e2b_command_result_release().  Filled on success and on
 * E2B_EEXIT; on other errors it may hold partial output.
 */
typedef struct e2b_command_result {
	/** Captured stdout (NUL-terminated for convenience; may contain NUL
	 *  bytes, use out_len).  Owned by the result.  Captured only for a
	 *  stream that has no callback; never NULL after a run ("" if none). */
	char *out;
	size_t out_len;
	/** Captured stderr, same rules. */
	char *err;
	size_t err_len;
	/** Exit code; -1 when killed by a signal. */
	int exit_code;
	/** 1 if the process exited normally (not by a signal). */
	int exited;
	/** envd's status text ("exit status 1", "signal: killed"); "" if none. */
	char *status;
	/** envd's error text for the end event; "" if none. */
	char *error;
	/** 1 if out or err stopped at max_output and later bytes were dropped. */
	int truncated;
	/** Process id in the sandbox. */
	uint32_t pid;
} e2b_command_result;

#define E2B_COMMAND_RESULT_INIT { 0 }

/** Free the buffers of @p res and reset it to E2B_COMMAND_RESULT_INIT. */
E2B_EXTERN(void) e2b_command_result_release(e2b_command_result *res);

#define E2B_COMMAND_OPTIONS_VERSION 1
#define E2B_DEFAULT_MAX_OUTPUT (64u * 1024 * 1024)

/** Options of e2b_commands_run(), _start() and the _argv forms. */
typedef struct e2b_command_options {
	unsigned version;
	/** Extra environment variables. */
	const e2b_kv *envs;
	size_t envs_count;
	/** Working directory; NULL = the user's default. */
	const char *cwd;
	/** Sandbox user; NULL = the config's user. */
	const char *user;
	/** Keep stdin open for e2b_commands_send_stdin(); otherwise the
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
	 * With stdin_open: e2b_process_send_stdin() on the returned handle
	 * writes through one StreamInput client stream (an e2b_input opened
	 * on first use) instead of one SendInput request per call, and
	 * e2b_process_close_stdin() finishes that stream first.  Write errors
	 * may then surface only at close.
	 */
	int stdin_stream;
} e2b_command_options;

#define E2B_COMMAND_OPTIONS_INIT { .version = E2B_COMMAND_OPTIONS_VERSION }

/** A process listed by e2b_commands_list(). Memory belongs to the list. */
typedef struct e2b_process_info {
	uint32_t pid;
	/** "" if none. */
	const char *tag;
	const char *cmd;
	const char *const *args;
	size_t args_count;
	const e2b_kv *envs;
	size_t envs_count;
	/** "" if not set. */
	const char *cwd;
} e2b_process_info;

typedef struct e2b_process_list {
	e2b_process_info *items;
	size_t count;
} e2b_process_list;

/** Free a process list.  Accepts NULL. */
E2B_EXTERN(void) e2b_process_list_free(e2b_process_list *list);

/**
 * Run a shell command (/bin/bash -l -c @p cmd) and wait for it.
 *
 * @param[out] out  filled with output and exit status; may be NULL (then
 *                  nothing is captured); release with
 *                  e2b_command_result_release()
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
E2B_EXTERN(int) e2b_commands_run(e2b_command_result *out, e2b_sandbox *sb,
				 const char *cmd,
				 const e2b_command_options *opts);

/**
 * Run a program with exact arguments and no shell.
 *
 * @param argv NULL-terminated; argv[0] is the program (path or name looked
 *             up in PATH by envd); borrowed
 * @return as e2b_commands_run()
 */
E2B_EXTERN(int) e2b_commands_run_argv(e2b_command_result *out,
				      e2b_sandbox *sb,
				      const char *const *argv,
				      const e2b_command_options *opts);

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
				   const e2b_command_options *opts);

/** Background form of e2b_commands_run_argv(). */
E2B_EXTERN(int) e2b_commands_start_argv(e2b_process **out, e2b_sandbox *sb,
					const char *const *argv,
					const e2b_command_options *opts);

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
				     const e2b_command_options *opts);

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
 * @param[out] out_killed may be NULL; 0 if the process did not exist (not
 *                        an error)
 * @return 0, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_commands_kill(int *out_killed, e2b_sandbox *sb,
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
E2B_EXTERN(int) e2b_commands_send_stdin(e2b_sandbox *sb, uint32_t pid,
					const void *data, size_t len);

/**
 * Close a process's stdin (EOF).  Needs envd >= 0.5.2.  Closing twice is
 * not an error.
 *
 * @return 0, E2B_ENOTFOUND, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_commands_close_stdin(e2b_sandbox *sb, uint32_t pid);

/* ------------------------------------------------------------------ */
/* Streamed input                                                       */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Process handle                                                       */
/* ------------------------------------------------------------------ */

/** @return the process id in the sandbox */
E2B_EXTERN(uint32_t) e2b_process_pid(const e2b_process *proc);

/**
 * Read the output stream until the process ends.
 *
 * @param[out] out  may be NULL; filled as by e2b_commands_run()
 * @param on_stdout, on_stderr, payload  override the callbacks given at
 *                  start when either is non-NULL
 * @return 0, E2B_EEXIT, E2B_EUNAVAILABLE, E2B_EPROTO, E2B_ETIMEOUT,
 *         E2B_ECANCELED (callback or e2b_process_cancel()), E2B_ERROR;
 *         after the end was seen, later calls return the same outcome
 */
E2B_EXTERN(int) e2b_process_wait(e2b_command_result *out, e2b_process *proc,
				 e2b_data_cb on_stdout, e2b_data_cb on_stderr,
				 void *payload);

/**
 * Read available output for at most @p timeout_ms, delivering it to the
 * start-time callbacks.  Returns early when @p fd (if >= 0) becomes
 * readable, so an interactive loop can also watch its terminal.
 *
 * @param[out] out_ended may be NULL; 1 once the process has ended (then
 *                       use e2b_process_wait() for the result)
 * @param timeout_ms 0 = do not block; capped at 60000
 * @return 0, or the errors of e2b_process_wait() except E2B_EEXIT
 */
E2B_EXTERN(int) e2b_process_poll(int *out_ended, e2b_process *proc,
				 int timeout_ms, int fd);

/** Write to the process's stdin (e2b_commands_send_stdin()). */
E2B_EXTERN(int) e2b_process_send_stdin(e2b_process *proc, const void *data,
				       size_t len);

/** Close the process's stdin (e2b_commands_close_stdin()). */
E2B_EXTERN(int) e2b_process_close_stdin(e2b_process *proc);

/** SIGKILL the process (e2b_commands_kill()). */
E2B_EXTERN(int) e2b_process_kill(int *out_killed, e2b_process *proc);

/**
 * Stop receiving output without killing the process.  The handle must
 * still be freed.  Idempotent.
 */
E2B_EXTERN(void) e2b_process_disconnect(e2b_process *proc);

/**
 * Make a wait/poll running in another thread return E2B_ECANCELED soon.
 * Thread-safe; safe to call from a callback.
 */
E2B_EXTERN(void) e2b_process_cancel(e2b_process *proc);

/** Disconnect (if needed) and free the handle.  Accepts NULL. */
E2B_EXTERN(void) e2b_process_free(e2b_process *proc);

/* ------------------------------------------------------------------ */
/* PTY                                                                  */
/* ------------------------------------------------------------------ */

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
	/** Deadline as in e2b_command_options; 0 = none. */
	unsigned timeout_ms;
	/** Terminal output; called from e2b_process_wait()/_poll(). */
	e2b_data_cb on_data;
	void *payload;
} e2b_pty_options;

#define E2B_PTY_OPTIONS_INIT { .version = E2B_PTY_OPTIONS_VERSION }

/**
 * Start a PTY session.  Output arrives through opts->on_data while the
 * owner calls e2b_process_poll()/_wait(); send keystrokes with
 * e2b_pty_send(); end with e2b_process_kill() or by sending EOF (0x04).
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
E2B_EXTERN(int) e2b_pty_send(e2b_sandbox *sb, uint32_t pid, const void *data,
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

#endif /* E2B_COMMANDS_H */
