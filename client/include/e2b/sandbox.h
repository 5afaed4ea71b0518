/* SPDX-License-Identifier: MIT */
/*
 * Sandbox lifecycle (create, connect, pause, resume, kill) through a
 * sandbox handle, and the descriptions of sandboxes (info, lists, metrics,
 * logs) that the handle and the management API (<e2b/mgmt.h>) return.
 */
#ifndef E2B_SANDBOX_H
#define E2B_SANDBOX_H

#include "common.h"
#include "client.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Opaque handle to one sandbox: its id, envd URL, access token and envd
 * version.  One handle may be used from many threads at once.
 */
typedef struct e2b_sandbox e2b_sandbox;

/** Sandbox state reported by the API. */
typedef enum e2b_sandbox_state {
	E2B_SANDBOX_STATE_UNKNOWN = 0,
	E2B_SANDBOX_STATE_RUNNING = 1,
	E2B_SANDBOX_STATE_PAUSED = 2,
} e2b_sandbox_state;

/**
 * A sandbox as described by the management API (create, connect, get,
 * list).  Strings are never NULL ("" when absent); all memory belongs to the
 * object and is freed by e2b_sandbox_info_free() (or with its list).
 */
typedef struct e2b_sandbox_info {
	const char *sandbox_id;
	const char *template_id;
	const char *alias;
	const char *client_id;
	const char *envd_version;
	/** envd access token; "" when none (never in list results). */
	const char *envd_access_token;
	const char *traffic_access_token;
	/** Domain for sandbox traffic returned by the API; "" if none. */
	const char *domain;
	/** Unix time in milliseconds; 0 when unknown. */
	int64_t started_at_ms;
	int64_t end_at_ms;
	int cpu_count;
	int memory_mb;
	int disk_size_mb;
	e2b_sandbox_state state;
	const e2b_kv *metadata;
	size_t metadata_count;
} e2b_sandbox_info;

/** A page (or, with E2B_MGMT_LIST_ALL_PAGES, all pages) of sandboxes. */
typedef struct e2b_sandbox_list {
	e2b_sandbox_info *items;
	size_t count;
	/** Cursor of the next page, "" when there is none. */
	const char *next_token;
} e2b_sandbox_list;

/** One sample of sandbox resource usage. */
typedef struct e2b_sandbox_metric {
	int64_t timestamp_unix;
	int cpu_count;
	double cpu_used_pct;
	int64_t mem_used;
	int64_t mem_total;
	int64_t mem_cache;
	int64_t disk_used;
	int64_t disk_total;
} e2b_sandbox_metric;

typedef struct e2b_sandbox_metrics {
	e2b_sandbox_metric *items;
	size_t count;
} e2b_sandbox_metrics;

/** One line of a sandbox's log (E2B's SandboxLog / SandboxLogEntry). */
typedef struct e2b_sandbox_log {
	/** Unix time in milliseconds; 0 when unknown. */
	int64_t timestamp_ms;
	/** "debug", "info", "warn", "error"; "" when the server gave none. */
	const char *level;
	const char *line;
} e2b_sandbox_log;

typedef struct e2b_sandbox_logs {
	e2b_sandbox_log *items;
	size_t count;
} e2b_sandbox_logs;

/** Resource usage reported by envd itself (GET /metrics). */
typedef struct e2b_envd_metrics {
	int64_t ts;
	int cpu_count;
	double cpu_used_pct;
	int64_t mem_total;
	int64_t mem_used;
	int64_t mem_cache;
	int64_t disk_used;
	int64_t disk_total;
} e2b_envd_metrics;

#define E2B_SANDBOX_CREATE_OPTIONS_VERSION 1

/** Options of e2b_sandbox_create() and e2b_mgmt_create(). */
typedef struct e2b_sandbox_create_options {
	unsigned version;
	/** Template id or alias; NULL = "code-interpreter". */
	const char *template_id;
	/** Lifetime in seconds; 0 = 300. */
	unsigned timeout_s;
	const e2b_kv *metadata;
	size_t metadata_count;
	/** Environment variables of every process in the sandbox. */
	const e2b_kv *env_vars;
	size_t env_vars_count;
	/** Pause instead of kill when the timeout elapses. */
	int auto_pause;
	/** Ask for a secured sandbox (sent only when true). */
	int secure;
	/** -1 = not sent (server default), 0/1 = sent. */
	int allow_internet_access;
	/** -1 = not sent, 0/1 = autoResume.enabled. */
	int auto_resume;
} e2b_sandbox_create_options;

#define E2B_SANDBOX_CREATE_OPTIONS_INIT \
	{ .version = E2B_SANDBOX_CREATE_OPTIONS_VERSION, \
	  .allow_internet_access = -1, .auto_resume = -1 }

#define E2B_SANDBOX_OPEN_OPTIONS_VERSION 1

/**
 * Options of e2b_sandbox_open(): attach to a sandbox without calling the
 * management API, for callers that already know its envd details.
 */
typedef struct e2b_sandbox_open_options {
	unsigned version;
	/** X-Access-Token; NULL = config access_token. */
	const char *envd_access_token;
	/** envd version; NULL = assume current ("0.6.0" feature set). */
	const char *envd_version;
	/** Domain for native envd URLs; NULL = configured domain. */
	const char *domain;
	const char *template_id;
	/**
	 * e2b-traffic-access-token for a sandbox behind the OpenKruise
	 * gateway's JWT auth; NULL = none.  A JWT is refreshed through the
	 * API ahead of its expiry like one from e2b_sandbox_connect().
	 */
	const char *traffic_access_token;
} e2b_sandbox_open_options;

#define E2B_SANDBOX_OPEN_OPTIONS_INIT \
	{ .version = E2B_SANDBOX_OPEN_OPTIONS_VERSION }

/** envd features that depend on its version. */
typedef enum e2b_feature {
	E2B_FEATURE_RECURSIVE_WATCH = 1,	/* 0.1.4 */
	E2B_FEATURE_COMMANDS_STDIN = 2,		/* 0.3.0 */
	E2B_FEATURE_DEFAULT_USER = 3,		/* 0.4.0 */
	E2B_FEATURE_CLOSE_STDIN = 4,		/* 0.5.2 */
	E2B_FEATURE_FILES_COMPOSE = 5,		/* 0.5.5 */
	E2B_FEATURE_OCTET_STREAM_UPLOAD = 6,	/* 0.5.7 */
	E2B_FEATURE_FILE_METADATA = 7,		/* 0.6.2 */
	E2B_FEATURE_WATCH_ENTRY_INFO = 8,	/* 0.6.3 */
	E2B_FEATURE_WATCH_NETWORK_MOUNTS = 9,	/* 0.6.4 */
} e2b_feature;

/* ------------------------------------------------------------------ */
/* Sandbox handle                                                       */
/* ------------------------------------------------------------------ */

/**
 * Create a sandbox (POST /sandboxes) and return a handle to it.
 *
 * @param[out] out caller owns; free with e2b_sandbox_free() (keeps the
 *                 sandbox running) or e2b_sandbox_kill_and_free() (kills it)
 * @param client   the client; must outlive the handle
 * @param opts     NULL = defaults (template "code-interpreter", 300 s)
 * @return 0, E2B_EINVALID, E2B_EAUTH, E2B_EPERM (quota), E2B_ENOTFOUND
 *         (template), E2B_ECONFLICT, E2B_ETIMEOUT, E2B_EUNAVAILABLE,
 *         E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 *
 * Never retried (creation is not idempotent).  Thread-safe.
 */
E2B_EXTERN(int) e2b_sandbox_create(e2b_sandbox **out, e2b_client *client,
				   const e2b_sandbox_create_options *opts);

/**
 * Connect to an existing sandbox (POST /sandboxes/{id}/connect), resuming
 * it if it is paused, and return a handle.
 *
 * @param[out] out  caller owns, free with e2b_sandbox_free()/_close()
 * @param timeout_s new minimum lifetime in seconds; 0 = 300
 * @return 0, E2B_ENOTFOUND, E2B_EAUTH, E2B_ECONFLICT, E2B_ETIMEOUT,
 *         E2B_EUNAVAILABLE, E2B_EPROTO, E2B_EINVALID, E2B_ENOMEM, E2B_ERROR
 *
 * Thread-safe.
 */
E2B_EXTERN(int) e2b_sandbox_connect(e2b_sandbox **out, e2b_client *client,
				    const char *sandbox_id, unsigned timeout_s);

/**
 * Make a handle for a sandbox without any request (no resume, no check
 * that it exists).  The first envd call will fail with E2B_ENOTFOUND or
 * E2B_EUNAVAILABLE if it does not.
 *
 * @param[out] out caller owns, free with e2b_sandbox_free()
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_sandbox_open(e2b_sandbox **out, e2b_client *client,
				 const char *sandbox_id,
				 const e2b_sandbox_open_options *opts);

/**
 * Release the handle.  The sandbox keeps running.  Every process and watch
 * handle of this sandbox must be freed first.  Accepts NULL.
 */
E2B_EXTERN(void) e2b_sandbox_free(e2b_sandbox *sb);

/**
 * Kill the sandbox and free the handle (what the Go client calls Close;
 * here a release is _free, which never kills).  For cleanup paths: the
 * handle is freed even when the kill fails.  Accepts NULL.
 *
 * @return 0 (also when the sandbox was already gone), or the error of
 *         e2b_sandbox_kill()
 */
E2B_EXTERN(int) e2b_sandbox_kill_and_free(e2b_sandbox *sb);

/**
 * @return the sandbox id; borrowed, valid until the handle is freed (the
 *         id of a handle never changes)
 */
E2B_EXTERN(const char *) e2b_sandbox_id(const e2b_sandbox *sb);

/*
 * The getters below copy: a resume (e2b_sandbox_resume(), or a refresh
 * the library makes) replaces these values and frees the old ones, so no
 * pointer into the handle is ever handed out.  Thread-safe, also against
 * a concurrent resume of the same handle.
 */

/**
 * The template id.
 *
 * @param[out] out caller owns, free with e2b_free(); "" if unknown
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_sandbox_template_id(char **out, const e2b_sandbox *sb);

/**
 * The envd version ("0.6.0" when the API did not say).
 *
 * @param[out] out caller owns, free with e2b_free()
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_sandbox_envd_version(char **out, const e2b_sandbox *sb);

/**
 * The envd base URL.
 *
 * @param[out] out caller owns, free with e2b_free()
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_sandbox_envd_url(char **out, const e2b_sandbox *sb);

/**
 * How to reach this sandbox's envd again, e.g. from another process,
 * without asking the management API: copies of the access token, envd
 * version, domain, template and traffic token as e2b_sandbox_open()
 * takes them (NULL where there is none).  The token is a secret: keep it
 * out of logs and world-readable files.
 *
 * @param[out] out caller owns, release with
 *                 e2b_sandbox_open_options_release()
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_sandbox_get_open_options(e2b_sandbox_open_options *out,
					     const e2b_sandbox *sb);
/** Free (and wipe the secrets of) what e2b_sandbox_get_open_options() filled. */
E2B_EXTERN(void) e2b_sandbox_open_options_release(e2b_sandbox_open_options *opts);

/** @return the client the handle was made from (borrowed) */
E2B_EXTERN(e2b_client *) e2b_sandbox_client(const e2b_sandbox *sb);

/** @return 1 if this sandbox's envd supports @p feature, else 0 */
E2B_EXTERN(int) e2b_sandbox_has_feature(const e2b_sandbox *sb,
					e2b_feature feature);

/**
 * Get the sandbox's details from the API.
 *
 * @param[out] out caller owns, free with e2b_sandbox_info_free()
 * @return 0 or as e2b_mgmt_get_info()
 */
E2B_EXTERN(int) e2b_sandbox_get_info(e2b_sandbox_info **out, e2b_sandbox *sb);

/** Set the remaining lifetime to @p timeout_s seconds from now.
 *  @return 0 or as e2b_mgmt_set_timeout() */
E2B_EXTERN(int) e2b_sandbox_set_timeout(e2b_sandbox *sb, unsigned timeout_s);

/**
 * Pause the sandbox.
 *
 * @param[out] out_paused may be NULL; 1 if paused now, 0 if it was already
 *                        paused (409, not an error)
 * @return 0 or as e2b_mgmt_pause()
 */
E2B_EXTERN(int) e2b_sandbox_pause(int *out_paused, e2b_sandbox *sb);

/**
 * Resume a paused sandbox (through connect, which also works on a running
 * one) and refresh the handle's envd details.
 *
 * @return 0 or as e2b_sandbox_connect()
 */
E2B_EXTERN(int) e2b_sandbox_resume(e2b_sandbox *sb, unsigned timeout_s);

/**
 * Kill the sandbox.  The handle stays valid (for its id) until freed.
 *
 * @param[out] out_found may be NULL; 1 if killed, 0 if it did not exist
 * @return 0 or as e2b_mgmt_kill()
 */
E2B_EXTERN(int) e2b_sandbox_kill(int *out_found, e2b_sandbox *sb);

/**
 * Check that envd answers (GET /health).
 *
 * @return 0 if healthy, E2B_EUNAVAILABLE, E2B_ENOTFOUND, E2B_ETIMEOUT, ...
 */
E2B_EXTERN(int) e2b_sandbox_health(e2b_sandbox *sb);

/**
 * Resource usage as reported by envd (GET /metrics), e.g. for statfs.
 *
 * @param[out] out filled on success
 * @return 0, E2B_EAUTH, E2B_EUNAVAILABLE, E2B_EPROTO, ...
 */
E2B_EXTERN(int) e2b_sandbox_envd_metrics(e2b_envd_metrics *out,
					 e2b_sandbox *sb);

/** Free results.  Accept NULL. */
E2B_EXTERN(void) e2b_sandbox_logs_free(e2b_sandbox_logs *logs);

E2B_EXTERN(void) e2b_sandbox_info_free(e2b_sandbox_info *info);
E2B_EXTERN(void) e2b_sandbox_list_free(e2b_sandbox_list *list);
E2B_EXTERN(void) e2b_sandbox_metrics_free(e2b_sandbox_metrics *metrics);

/** @return "running", "paused" or "unknown" (static) */
E2B_EXTERN(const char *) e2b_sandbox_state_str(e2b_sandbox_state state);

#ifdef __cplusplus
}
#endif

#endif /* E2B_SANDBOX_H */
