/* SPDX-License-Identifier: MIT */
/*
 * Error codes returned by every libe2b function, and the per-thread error
 * record that carries the details of the last failure.
 */
#ifndef E2B_ERRORS_H
#define E2B_ERRORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Return codes.  Functions return 0 (E2B_OK) or one of these negative
 * values: a few specific codes for failures a caller can act on, and
 * E2B_ERROR (-1) for everything else (libgit2's GIT_ERROR).  Test for
 * failure with `< 0`.  The numbers are part of the ABI: from 1.0 on they
 * never change and new codes are only ever appended.
 */
typedef enum e2b_error_code {
	E2B_OK = 0,
	/** Any other failure: the generic error. */
	E2B_ERROR = -1,
	/** The object already exists (e.g. mkdir of an existing directory). */
	E2B_EEXISTS = -2,
	/** Missing or rejected API key, access token or user. */
	E2B_EAUTH = -3,
	/** Authenticated but not allowed (HTTP 403, permission_denied). */
	E2B_EPERM = -4,
	/** A deadline elapsed (request timeout, deadline_exceeded, 504). */
	E2B_ETIMEOUT = -5,
	/** The object is in a conflicting state (HTTP 409, aborted). */
	E2B_ECONFLICT = -6,
	/**
	 * The network or the service is unavailable: connection refused or
	 * reset, DNS failure, 502/503/429 after retries, a stream that went
	 * silent (keepalive watchdog), sandbox not running.
	 */
	E2B_EUNAVAILABLE = -7,
	/** The peer broke the protocol (bad JSON, bad envelope, no end). */
	E2B_EPROTO = -8,
	/** Invalid argument, from the caller or reported by the server. */
	E2B_EINVALID = -9,
	/** Out of disk space, inodes or metadata space in the sandbox (507). */
	E2B_ENOSPC = -10,
	/**
	 * A command exited with a nonzero status.  The result (output, exit
	 * code, error text) is still filled in.
	 */
	E2B_EEXIT = -11,
	/** Memory allocation failed, or a size limit was exceeded. */
	E2B_ENOMEM = -12,
	/** The sandbox, file, directory or process does not exist. */
	E2B_ENOTFOUND = -13,
	/** A callback asked to stop, or the operation was cancelled. */
	E2B_ECANCELED = -14,
} e2b_error_code;

/**
 * Details of the last failure on the calling thread.
 *
 * All strings are borrowed: valid until the next libe2b call on the same
 * thread.  Never NULL (empty string when unknown).
 */
typedef struct e2b_error {
	/** The e2b_error_code that was returned. */
	e2b_error_code code;
	/** One-line human-readable message, lowercase, no trailing period. */
	const char *message;
	/** HTTP status of the failed response, 0 if none was received. */
	int http_status;
	/** Connect error code ("not_found", ...), "" if none. */
	const char *rpc_code;
	/** Server request id (X-Request-ID / request_id), "" if none. */
	const char *request_id;
	/**
	 * The operating-system reason in the sandbox, as a Linux errno value
	 * (ENOENT, EACCES, ENOTDIR, ...), when the failure was one: decoded
	 * from envd's error (envd sends OS errors as Go's errno text) or from
	 * the answer of the metadata helper (<e2b/meta.h>).  0 when unknown
	 * or not an OS error.  Set together with @c code; a caller maps it
	 * instead of matching @c message, which is for people.
	 */
	int os_errno;
} e2b_error;

/**
 * Return the error record of the calling thread.
 *
 * Set by the function that failed; a successful call does not clear it.
 * Thread-safe (each thread has its own record).
 *
 * @return borrowed pointer, never NULL; code is E2B_OK when no error has
 *         been recorded since the last e2b_error_clear()
 */
E2B_EXTERN(const e2b_error *) e2b_error_last(void);

/** Reset the calling thread's error record to E2B_OK. */
E2B_EXTERN(void) e2b_error_clear(void);

/**
 * @return a short static description of a code ("not found"), or
 *         "unknown error" for values outside the enum
 */
E2B_EXTERN(const char *) e2b_error_code_str(int code);

#ifdef __cplusplus
}
#endif

#endif /* E2B_ERRORS_H */
