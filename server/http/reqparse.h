/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers for the untrusted parts of a request that e2bd interprets
 * itself (routing prefix, Host, Basic auth, list filters, timestamps).
 * No I/O and no global state, so the fuzzer (server/fuzz) drives them
 * directly.
 */
#ifndef E2BD_REQPARSE_H
#define E2BD_REQPARSE_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

/* A decimal port of 1-5 digits in @s[0..n); -1 if not one. */
long reqparse_port(const char *s, size_t n);

/*
 * The path form /kruise/<id>/<port>[/<rest>] (but not /kruise/api...):
 * returns 1 with @id, *port and *path (the envd path, "/" when no rest;
 * points into @url) set, 0 if @url is not of that form, -1 if malformed.
 */
int reqparse_kruise_path(const char *url, char *id, size_t idlen,
			 long *port, const char **path);

/* Host ^(\d+)-([A-Za-z0-9-]+)\. : 1 with @id and *port set, else 0. */
int reqparse_host(const char *host, char *id, size_t idlen, long *port);

/*
 * The user of an Authorization header value: 1 with @name set for a
 * well-formed "Basic base64(user:password)", else 0 (absent, another
 * scheme or undecodable: envd then uses its default user).
 */
int reqparse_basic_user(const char *authz, char *name, size_t namelen);

/*
 * Add the pairs of a list `metadata` query value (already query-decoded
 * once: "k=v&k2=v2", each key and value percent-encoded once more) to
 * the object @want.  Returns 0, or -1 on allocation failure.
 */
int reqparse_metadata(const char *q, json_t *want);

/* RFC 3339 date-time (fraction and offset optional) into *out: 0 or -1. */
int reqparse_rfc3339(const char *s, time_t *out);

#endif
