/* SPDX-License-Identifier: MIT */
/*
 * A process handle (the Go client's CommandHandle) returned by
 * e2b_commands_start(), _connect() and e2b_pty_start(), the result of a
 * process, and the list e2b_commands_list() returns.
 *
 * Threading: libe2b starts no threads.  A process handle owns its own
 * output stream, which is read only while the owner calls
 * e2b_process_wait() or e2b_process_poll(); until then the output waits in
 * socket buffers (and envd/the process may block once those fill).  A
 * process handle is used by one thread at a time, except
 * e2b_process_cancel(), which any thread may call.
 */
#ifndef E2B_PROCESS_H
#define E2B_PROCESS_H

#include "common.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle to a subscribed process output stream. */
typedef struct e2b_process e2b_process;

/**
 * Outcome of a command.  Initialise with E2B_PROCESS_RESULT_INIT and
 * release with e2b_process_result_release().  Filled on success and on
 * E2B_EEXIT; on other errors it may hold partial output.
 */
typedef struct e2b_process_result {
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
} e2b_process_result;

#define E2B_PROCESS_RESULT_INIT { 0 }

/** Free the buffers of @p res and reset it to E2B_PROCESS_RESULT_INIT. */
E2B_EXTERN(void) e2b_process_result_release(e2b_process_result *res);

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
E2B_EXTERN(int) e2b_process_wait(e2b_process_result *out, e2b_process *proc,
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

/** Write to the process's stdin (e2b_commands_write_stdin()). */
E2B_EXTERN(int) e2b_process_write_stdin(e2b_process *proc, const void *data,
				       size_t len);

/** Close the process's stdin (e2b_commands_close_stdin()). */
E2B_EXTERN(int) e2b_process_close_stdin(e2b_process *proc);

/** SIGKILL the process (e2b_commands_kill()). */
E2B_EXTERN(int) e2b_process_kill(int *out_found, e2b_process *proc);

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

#ifdef __cplusplus
}
#endif

#endif /* E2B_PROCESS_H */
