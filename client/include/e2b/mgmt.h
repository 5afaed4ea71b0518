/* SPDX-License-Identifier: MIT */
/*
 * The management REST API (E2B's SandboxApi): list, describe, create,
 * connect, kill, pause, resume, set the timeout of, and read the metrics
 * and logs of sandboxes by id, without a sandbox handle.  All functions
 * are thread-safe.
 */
#ifndef E2B_MGMT_H
#define E2B_MGMT_H

#include "common.h"
#include "client.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** State filter bits of e2b_mgmt_list_options. */
enum e2b_mgmt_list_state_flags {
	E2B_MGMT_LIST_RUNNING = 1 << 0,
	E2B_MGMT_LIST_PAUSED = 1 << 1,
};

/** Behaviour bits of e2b_mgmt_list_options. */
enum e2b_mgmt_list_flags {
	/** Follow X-Next-Token until the last page. */
	E2B_MGMT_LIST_ALL_PAGES = 1 << 0,
};

#define E2B_MGMT_LIST_OPTIONS_VERSION 1

typedef struct e2b_mgmt_list_options {
	unsigned version;
	/** e2b_mgmt_list_state_flags; 0 = server default (running + paused). */
	unsigned states;
	/** Only sandboxes whose metadata has all these pairs. */
	const e2b_kv *metadata;
	size_t metadata_count;
	/** Page cursor from a previous e2b_sandbox_list.next_token. */
	const char *next_token;
	/** Page size 1..100; 0 = server default. */
	unsigned limit;
	/** e2b_mgmt_list_flags. */
	unsigned flags;
} e2b_mgmt_list_options;

#define E2B_MGMT_LIST_OPTIONS_INIT { .version = E2B_MGMT_LIST_OPTIONS_VERSION }

/**
 * List sandboxes (GET /v2/sandboxes).
 *
 * @param[out] out caller owns, free with e2b_sandbox_list_free()
 * @param opts     NULL = one page, all states
 * @return 0, E2B_EAUTH, E2B_EINVALID, E2B_EUNAVAILABLE, E2B_ETIMEOUT,
 *         E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_list(e2b_sandbox_list **out, e2b_client *client,
			     const e2b_mgmt_list_options *opts);

/**
 * Get one sandbox (GET /sandboxes/{id}).
 *
 * @param[out] out caller owns, free with e2b_sandbox_info_free()
 * @return 0, E2B_ENOTFOUND (404), E2B_EAUTH, E2B_EUNAVAILABLE,
 *         E2B_ETIMEOUT, E2B_EPROTO, E2B_EINVALID, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_get_info(e2b_sandbox_info **out, e2b_client *client,
				 const char *sandbox_id);

/**
 * Kill a sandbox (DELETE /sandboxes/{id}).
 *
 * @param[out] out_found may be NULL; 1 if killed, 0 if not found (404 is
 *                        not an error); always 1 in skip_lifecycle
 * @return 0, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EINVALID,
 *         E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_kill(int *out_found, e2b_client *client,
			     const char *sandbox_id);

/**
 * Set a sandbox's remaining lifetime (POST /sandboxes/{id}/timeout).
 * A no-op in skip_lifecycle.
 *
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID, E2B_EAUTH, E2B_EUNAVAILABLE,
 *         E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_set_timeout(e2b_client *client, const char *sandbox_id,
				    unsigned timeout_s);

/**
 * Create a sandbox without making a handle (POST /sandboxes).
 *
 * @param[out] out caller owns, free with e2b_sandbox_info_free()
 * @return as e2b_sandbox_create()
 */
E2B_EXTERN(int) e2b_mgmt_create(e2b_sandbox_info **out, e2b_client *client,
			       const e2b_sandbox_create_options *opts);

/**
 * Connect to (and if needed resume) a sandbox without making a handle
 * (POST /sandboxes/{id}/connect).
 *
 * @param[out] out may be NULL; caller owns, free with e2b_sandbox_info_free()
 * @return as e2b_sandbox_connect()
 */
E2B_EXTERN(int) e2b_mgmt_connect(e2b_sandbox_info **out, e2b_client *client,
				const char *sandbox_id, unsigned timeout_s);

/**
 * Pause a sandbox (POST /sandboxes/{id}/pause).
 *
 * @param[out] out_paused may be NULL; 0 when it was already paused (409)
 * @return 0, E2B_ENOTFOUND, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT,
 *         E2B_EINVALID, E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_pause(int *out_paused, e2b_client *client,
			      const char *sandbox_id);

/**
 * Resume a paused sandbox (POST /sandboxes/{id}/resume).  Accepts both
 * E2B's 201 + sandbox body and OpenKruise's 204 without a body.
 *
 * @param[out] out may be NULL; set to NULL when the server sent no body;
 *                 caller owns, free with e2b_sandbox_info_free()
 * @return 0, E2B_ENOTFOUND, E2B_ECONFLICT (already running), E2B_EAUTH,
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, E2B_EINVALID, E2B_ERROR
 */
E2B_EXTERN(int) e2b_mgmt_resume(e2b_sandbox_info **out, e2b_client *client,
			       const char *sandbox_id, unsigned timeout_s);

/**
 * Resource usage samples (GET /sandboxes/{id}/metrics).  Not implemented
 * by OpenKruise, whose router answers that path with the sandbox's
 * description: that answer gives E2B_ERROR "... not implemented by this
 * server".
 *
 * @param start_unix, end_unix time window in unix seconds; 0 = unset
 * @param[out] out caller owns, free with e2b_sandbox_metrics_free()
 * @return 0, E2B_ENOTFOUND, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_EPROTO,
 *         E2B_ERROR (no metrics route), ...
 */
E2B_EXTERN(int) e2b_mgmt_metrics(e2b_sandbox_metrics **out, e2b_client *client,
				const char *sandbox_id, int64_t start_unix,
				int64_t end_unix);

/**
 * The sandbox's logs (GET /sandboxes/{id}/logs): the structured
 * "logEntries" when the server sends them, else the plain "logs".
 * A server without the route answers 404 or 405: E2B_ENOTFOUND cannot be
 * told from an unknown sandbox, so callers check the sandbox first.
 *
 * @param start_ms only lines from this unix time in ms on; 0 = all
 * @param limit at most this many lines; 0 = the server's default
 * @param[out] out caller owns, free with e2b_sandbox_logs_free()
 * @return 0, E2B_ENOTFOUND, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_EPROTO, ...
 */
E2B_EXTERN(int) e2b_mgmt_logs(e2b_sandbox_logs **out, e2b_client *client,
			     const char *sandbox_id, int64_t start_ms, unsigned limit);

#ifdef __cplusplus
}
#endif

#endif /* E2B_MGMT_H */
