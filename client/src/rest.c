/* SPDX-License-Identifier: MIT */
/*
 * The management API transport: E2B and OpenKruise share the routes but
 * not all behaviours (204 without body, plain-text errors); this layer only
 * moves JSON and decodes errors, the API layer applies per-route rules.
 */
#include <string.h>
#include <strings.h>

#include "errdecode.h"
#include "error.h"
#include "json.h"
#include "rest.h"

/* The request's headers onto @hdrs: the client's (its X-API-Key replaced
 * by the configured key), JSON in (@has_body) and out. */
static int rest_headers(struct curl_slist **hdrs, const struct e2b__conf *c, int has_body)
{
	size_t i;
	int error = 0;

	for (i = 0; i < c->headers_count && !error; i++) {
		if (strcasecmp(c->headers[i].key, "X-API-Key"))
			error = e2b__headers_add(hdrs, c->headers[i].key, c->headers[i].value);
	}
	if (!error && c->api_key)
		error = e2b__headers_add(hdrs, "X-API-Key", c->api_key);
	if (!error && has_body)
		error = e2b__headers_add(hdrs, "Content-Type", "application/json");
	if (!error)
		error = e2b__headers_add(hdrs, "Accept", "application/json");
	if (!error && !curl_slist_append(*hdrs, "Expect:"))
		error = e2b__error_oom();
	return error;
}

/* The JSON answer @resp into *@out. */
static int rest_answer(json_t **out, const struct e2b__resp *resp, const char *what)
{
	json_error_t jerr;
	json_t *j;
	int oom;

	j = e2b__json_load(resp->body.ptr, resp->body.size, 0, &jerr, &oom);
	if (oom)
		return e2b__error_oom();
	if (!j)
		return e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL,
					   resp->request_id, "%s: invalid json: %s",
					   what, jerr.text);
	*out = j;
	return 0;
}

int e2b__rest_call(json_t **out, struct e2b__resp *resp, struct e2b__http *h,
		   const char *method, const char *path, const json_t *body,
		   int idempotent, const char *what)
{
	const struct e2b__conf *c = h->conf;
	struct e2b__req r = { 0 };
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT, b = E2B_BUF_INIT;
	int error = 0;

	if (out)
		*out = NULL;
	error = e2b_buf_printf(&url, "%s%s", c->api_url, path);
	if (error < 0)
		goto out;
	error = rest_headers(&hdrs, c, body != NULL);
	if (!error && body)
		error = e2b__json_dump(&b, body);
	if (error < 0)
		goto out;
	r.method = method;
	r.url = url.ptr;
	r.headers = hdrs;
	r.has_body = body != NULL;
	r.body = b.ptr;
	r.body_len = b.size;
	r.idempotent = idempotent;
	r.any_thread = 1;
	r.max_body = (size_t)64 * 1024 * 1024;
	error = e2b__http_do(h, &r, resp);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (resp->status < 200 || resp->status > 299) {
		error = e2b__error_from_response(resp->status, resp->body.ptr, resp->body.size,
						 resp->request_id, what);
		goto out;
	}
	if (out && resp->body.size)
		error = rest_answer(out, resp, what);
out:
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&b);
	return error;
}
