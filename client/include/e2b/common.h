/* SPDX-License-Identifier: MIT */
/*
 * Types and entry points shared by every libe2b module: the export macro,
 * key/value pairs, library-wide initialisation and the deallocator for
 * memory the library hands to callers.
 */
#ifndef E2B_COMMON_H
#define E2B_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration as part of the exported ABI. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define E2B_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define E2B_EXTERN(type) extern type
#endif

/** Library version, as numbers and as a string. */
#define E2B_VERSION_MAJOR 0
#define E2B_VERSION_MINOR 1
#define E2B_VERSION_PATCH 0
#define E2B_VERSION "0.1.0"

/**
 * A string pair used for metadata, environment variables and headers.
 *
 * In inputs both pointers are borrowed for the duration of the call.  In
 * outputs they are owned by the containing object and freed with it.
 */
typedef struct e2b_kv {
	const char *key;
	const char *value;
} e2b_kv;

/**
 * Callback that receives a chunk of bytes (command output, file content).
 *
 * @param data    the bytes; borrowed, valid only during the call; not NUL
 *                terminated and may contain NUL bytes
 * @param len     number of bytes (never 0)
 * @param payload the caller's pointer, passed through unchanged
 * @return 0 to continue; any other value stops the transfer, and the call
 *         that drove it returns E2B_ECANCELED
 */
typedef int (*e2b_data_cb)(const char *data, size_t len, void *payload);

/**
 * Callback that supplies bytes for an upload.
 *
 * @param buf     where to store up to @p cap bytes
 * @param cap     capacity of @p buf (never 0)
 * @param payload the caller's pointer
 * @return number of bytes stored (0 = end of data), or a negative value to
 *         abort the upload (the call then returns E2B_ECANCELED)
 */
typedef long (*e2b_source_cb)(char *buf, size_t cap, void *payload);

/** Severity passed to an #e2b_log_cb. */
typedef enum e2b_log_level {
	E2B_LOG_ERROR = 0,
	E2B_LOG_WARN = 1,
	E2B_LOG_INFO = 2,
	E2B_LOG_DEBUG = 3,
} e2b_log_level;

/**
 * Log sink.  Messages are one line without a trailing newline and never
 * contain API keys or access tokens.  May be called from any thread that
 * is inside a libe2b call, concurrently; the sink must be thread-safe and
 * must not call libe2b (it may run while internal locks are held).
 */
typedef void (*e2b_log_cb)(e2b_log_level level, const char *msg, void *payload);

/**
 * Initialise process-wide state (libcurl's global init).
 *
 * Call once before any other function, while the program is still
 * single-threaded.  Calls are reference counted; each successful call must
 * be paired with e2b_global_shutdown().
 *
 * @return 0, or E2B_ERROR if libcurl could not be initialised
 */
E2B_EXTERN(int) e2b_global_init(void);

/**
 * Release process-wide state once the last e2b_global_init() reference is
 * dropped.  Every client must have been freed.  Not thread-safe.
 */
E2B_EXTERN(void) e2b_global_shutdown(void);

/** @return the library version string ("0.1.0"); static storage */
E2B_EXTERN(const char *) e2b_version(void);

/**
 * Free memory the library returned with "caller owns, free with e2b_free"
 * (read buffers, strings).  Accepts NULL.  Thread-safe.
 */
E2B_EXTERN(void) e2b_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* E2B_COMMON_H */
