/* SPDX-License-Identifier: MIT */
/*
 * The resolved, owned copy of an e2b_config, and URL construction for the
 * management API and envd (protocol.md §1.2).  Pure; unit-tested for every
 * combination.
 */
#ifndef E2B_CONF_H
#define E2B_CONF_H

#include <e2b/client.h>
#include "log.h"

struct e2b__conf {
	char *api_key;
	char *access_token;
	char *domain;
	char *scheme;
	e2b_protocol protocol;
	char *api_url;		/* resolved, no trailing '/' */
	char *api_origin;	/* scheme://authority of an explicit api_url */
	int domain_set;		/* domain given (not the default) */
	char *sandbox_url;	/* override or NULL, no trailing '/' */
	int sandbox_url_append_id;
	int ignore_api_domain;
	unsigned request_timeout_ms;
	unsigned connect_timeout_ms;
	/* Bound on a whole buffered call, retries included; 0 = none. */
	unsigned call_timeout_ms;
	char *user;
	e2b_kv *headers;
	size_t headers_count;
	int skip_lifecycle;
	char *ca_file;
	int insecure;
	unsigned envd_port;
	unsigned keepalive_s;
	unsigned max_connections;
	unsigned max_retries;
	int http1_only;
	e2b_codec codec;	/* E2B_CODEC_PROTO or E2B_CODEC_JSON */
	char *user_agent;	/* full User-Agent value */
	struct e2b__logger log;
};

int e2b__conf_init(struct e2b__conf *out, const e2b_config *cfg);
void e2b__conf_release(struct e2b__conf *c);

/* envd base URL for a sandbox (no trailing '/').  @api_domain may be NULL. */
int e2b__conf_envd_url(char **out, const struct e2b__conf *c, const char *id,
		       const char *api_domain);

#endif
