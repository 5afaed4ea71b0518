/* SPDX-License-Identifier: MIT */
/*
 * Management REST calls: JSON in, JSON out, X-API-Key, errors decoded.
 */
#ifndef E2B_REST_H
#define E2B_REST_H

#include <jansson.h>

#include "http.h"

/*
 * Call {api}/{path}.  @body may be NULL (no body).  On 2xx returns 0 and,
 * if @out is set and the body is non-empty JSON, *out = parsed value
 * (new reference; object or array).  Otherwise returns the decoded error
 * (resp->status tells the caller which status it was, for 404/409 rules).
 */
int e2b__rest_call(json_t **out, struct e2b__resp *resp, struct e2b__http *h,
		   const char *method, const char *path, const json_t *body,
		   int idempotent, const char *what);

#endif
