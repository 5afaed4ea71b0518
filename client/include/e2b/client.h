/* SPDX-License-Identifier: MIT */
/*
 * Connection configuration and the client object that owns the connection
 * pool.  A client is created from an e2b_config and is shared by every
 * sandbox handle made from it.
 */
#ifndef E2B_CLIENT_H
#define E2B_CLIENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque client: configuration, connection pool, TLS sessions, DNS cache. */
typedef struct e2b_client e2b_client;

/** How API and sandbox URLs are formed from the domain. */
typedef enum e2b_protocol {
	/** Not set: take PROTOCOL from the environment, else native. */
	E2B_PROTOCOL_DEFAULT = 0,
	/** API https://api.<domain>, envd https://<port>-<id>.<domain>. */
	E2B_PROTOCOL_NATIVE = 1,
	/** API <scheme>://<domain>/kruise/api, envd .../kruise/<id>/<port>. */
	E2B_PROTOCOL_PRIVATE = 2,
} e2b_protocol;

/** The Connect codec of envd calls (process and filesystem RPCs). */
typedef enum e2b_codec {
	/**
	 * Not set: the environment variable E2B_CONNECT_CODEC ("json" or
	 * "proto", read by e2b_client_new()) if set, else protobuf.
	 */
	E2B_CODEC_DEFAULT = 0,
	/**
	 * Binary protobuf: application/proto for unary calls,
	 * application/connect+proto for streams.  Process output and input
	 * travel as raw bytes (no base64).  envd (connect-go) and e2bd speak it.
	 */
	E2B_CODEC_PROTO = 1,
	/** Connect JSON (application/json, application/connect+json). */
	E2B_CODEC_JSON = 2,
} e2b_codec;

/** Default values used when a field is left 0/NULL. */
#define E2B_DEFAULT_DOMAIN "e2b.app"
#define E2B_DEFAULT_SCHEME "https"
#define E2B_DEFAULT_TEMPLATE "code-interpreter"
#define E2B_DEFAULT_REQUEST_TIMEOUT_MS 60000u
#define E2B_DEFAULT_SANDBOX_TIMEOUT_S 300u
#define E2B_DEFAULT_ENVD_PORT 49983u
#define E2B_DEFAULT_KEEPALIVE_S 50u
#define E2B_DEFAULT_MAX_CONNECTIONS 16u
#define E2B_DEFAULT_MAX_RETRIES 3u

#define E2B_CONFIG_VERSION 1

/**
 * Connection configuration.  Initialise with E2B_CONFIG_INIT, set what you
 * need, optionally call e2b_config_from_env(), then e2b_client_new().
 *
 * Every pointer is borrowed: e2b_client_new() copies what it needs, so the
 * config and its strings may be released right after that call.
 *
 * URL precedence (highest first):
 *  1. api_url / sandbox_url set explicitly;
 *  2. protocol + domain + scheme set explicitly;
 *  3. the environment (only through e2b_config_from_env());
 *  4. the defaults above.
 *
 * URL table (port = envd_port, default 49983):
 *  - native:  API <scheme>://api.<domain>, envd <scheme>://<port>-<id>.<d>
 *             where <d> is the `domain` the API returned for the sandbox if
 *             any (unless ignore_api_domain), else the configured domain;
 *  - private: API <scheme>://<domain>/kruise/api,
 *             envd <scheme>://<domain>/kruise/<id>/<port>;
 *  - api_url: used verbatim (a trailing '/' is dropped); without an
 *             explicit scheme its scheme becomes the scheme; when neither
 *             domain nor sandbox_url is set and the API reports no domain,
 *             an IP literal or its own host:port for a sandbox (a local
 *             server), envd is reached at the api_url's origin with
 *             header routing;
 *  - sandbox_url: used verbatim as the envd base, the sandbox being chosen
 *             by the E2b-Sandbox-Id / E2b-Sandbox-Port headers (the JS SDK's
 *             E2B_SANDBOX_URL); with sandbox_url_append_id, "/<id>" is
 *             appended instead (the Go client's WithSandboxBaseURL).
 * The routing headers E2b-Sandbox-Id / E2b-Sandbox-Port are sent on every
 * envd request in every mode; they are harmless where unused.
 */
typedef struct e2b_config {
	unsigned version;
	/** API key, sent as X-API-Key to the management API and envd. */
	const char *api_key;
	/**
	 * envd access token (X-Access-Token) used when the API does not
	 * return one (envdAccessToken wins when present).
	 */
	const char *access_token;
	/** Domain, e.g. "e2b.app", "example.com", "127.0.0.1:49982". */
	const char *domain;
	/** "https" (default) or "http". */
	const char *scheme;
	/** URL form; see the table above. */
	e2b_protocol protocol;
	/** Management API base URL override. */
	const char *api_url;
	/** envd base URL override. */
	const char *sandbox_url;
	/** Append "/<id>" to sandbox_url (Go client parity); default 0. */
	int sandbox_url_append_id;
	/** Do not use the `domain` returned by the API for envd URLs. */
	int ignore_api_domain;
	/** Timeout of one unary request in ms; 0 = 60000. */
	unsigned request_timeout_ms;
	/** TCP/TLS connect timeout in ms; 0 = 10000. */
	unsigned connect_timeout_ms;
	/**
	 * Default sandbox user for commands and files (sent as Authorization:
	 * Basic base64("<user>:") and as username= on /files).  NULL = let
	 * envd pick its default user; on envd older than 0.4.0 "user" is sent.
	 */
	const char *user;
	/** Extra headers sent on every request (management and envd). */
	const e2b_kv *headers;
	size_t headers_count;
	/** Log requests (method, URL, status, time) at debug level. */
	int debug;
	/**
	 * Skip the lifecycle requests, for an envd run without the management
	 * API (what the Go client calls debug mode): e2b_mgmt_kill() reports
	 * the sandbox found and e2b_mgmt_set_timeout() succeeds, both without
	 * a request, and traffic tokens are never refreshed.  Has nothing to
	 * do with logging (that is @c debug).
	 */
	int skip_lifecycle;
	/** CA bundle file for TLS verification; NULL = system bundle. */
	const char *ca_file;
	/** Disable TLS verification.  Logs a warning on every client. */
	int insecure;
	/** envd port inside the sandbox; 0 = 49983. */
	unsigned envd_port;
	/** Keepalive-Ping-Interval for streams in seconds; 0 = 50. */
	unsigned keepalive_s;
	/**
	 * Connection pool bound per client: idle handles kept, and parallel
	 * connections per host for buffered requests; 0 = 16.
	 */
	unsigned max_connections;
	/** Retries of idempotent requests; 0 = 3; set retry_disable for none. */
	unsigned max_retries;
	int retry_disable;
	/** Force HTTP/1.1 even over TLS. */
	int http1_only;
	/** Log sink; NULL = stderr (only warnings, or everything if debug). */
	e2b_log_cb log_cb;
	void *log_payload;
	/** User-Agent suffix, e.g. "e2bctl/0.1.0"; NULL = none. */
	const char *user_agent;
	/** Codec of envd RPCs; see e2b_codec (default: protobuf). */
	e2b_codec codec;
	/**
	 * Bound on a whole request-response call (unary RPCs, management
	 * calls, in-memory reads and writes) in ms, retries and their backoff
	 * included: each attempt gets what is left of it.  0 = no total
	 * bound: each attempt gets request_timeout_ms and retries stop at
	 * twice that.  Lets e.g. a FUSE daemon give every operation one
	 * deadline.  Streams, streamed transfers and calls whose options carry
	 * their own timeout_ms are not affected.
	 */
	unsigned call_timeout_ms;
} e2b_config;

#define E2B_CONFIG_INIT { .version = E2B_CONFIG_VERSION }

/**
 * Fill the fields the caller left unset from the environment.
 *
 * Call after setting explicit fields.  Read: E2B_API_KEY then X_API_KEY
 * (api_key), X_ACCESS_TOKEN (access_token), E2B_DOMAIN (domain), SCHEME
 * (scheme), PROTOCOL ("private" or "native", case-insensitive), E2B_API_URL
 * (api_url), E2B_SANDBOX_URL (sandbox_url), E2B_DEBUG ("1"/"true" sets
 * debug).  E2B_API_URL and E2B_SANDBOX_URL are not applied when the caller
 * already set domain or protocol explicitly (explicit protocol + domain
 * beats environment URLs).  Empty variables are ignored.
 *
 * The strings stored are borrowed from the process environment: valid
 * until that variable is changed.  Not thread-safe with setenv().
 *
 * @param[in,out] cfg an initialised config
 * @return 0, or E2B_EINVALID if cfg is NULL or has a bad version
 */
E2B_EXTERN(int) e2b_config_from_env(e2b_config *cfg);

/**
 * Create a client.
 *
 * @param[out] out the new client; caller owns, free with e2b_client_free()
 * @param cfg      configuration (copied); NULL = defaults only (no
 *                 environment is read unless e2b_config_from_env() was
 *                 called on it)
 * @return 0, E2B_EINVALID (bad version, scheme or URL), E2B_ENOMEM,
 *         E2B_ERROR (libcurl setup failed)
 *
 * A client is thread-safe: any number of threads may use it and the
 * sandboxes made from it at once.  Requires e2b_global_init().
 */
E2B_EXTERN(int) e2b_client_new(e2b_client **out, const e2b_config *cfg);

/**
 * Free a client and close its connections.  Every sandbox, process and
 * watch handle made from it must already be freed.  Accepts NULL.
 */
E2B_EXTERN(void) e2b_client_free(e2b_client *client);

/**
 * @return the resolved management API base URL (no trailing '/');
 *         borrowed, valid until the client is freed
 */
E2B_EXTERN(const char *) e2b_client_api_url(const e2b_client *client);

/**
 * Compute the envd base URL for a sandbox id without contacting anything.
 *
 * @param[out] out    caller owns, free with e2b_free()
 * @param client      the client
 * @param sandbox_id  sandbox id
 * @param api_domain  `domain` returned by the API for this sandbox, or NULL
 * @return 0, E2B_EINVALID, E2B_ENOMEM
 */
E2B_EXTERN(int) e2b_client_sandbox_url(char **out, const e2b_client *client,
				       const char *sandbox_id,
				       const char *api_domain);

#ifdef __cplusplus
}
#endif

#endif /* E2B_CLIENT_H */
