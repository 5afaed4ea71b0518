/* SPDX-License-Identifier: MIT */
/*
 * The management API (e2b_mgmt_*) and the sandbox descriptions it returns.
 * Per-route rules of both backends live here: 404 on kill is "not found",
 * 409 on pause is "already paused", OpenKruise resume answers 204 without
 * a body.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "client_int.h"
#include "errdecode.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "rest.h"
#include "util.h"

#define MAX_LIST_PAGES 1000

/* "/sandboxes/<escaped id><suffix>" */
static int sandbox_path(e2b_buf *b, const char *id, const char *suffix)
{
	int error;

	if (!id || !*id)
		return e2b__error_set(E2B_EINVALID, "empty sandbox id");
	error = e2b_buf_puts(b, "/sandboxes/");
	if (!error)
		error = e2b__url_escape(b, id);
	if (!error && suffix)
		error = e2b_buf_puts(b, suffix);
	return error;
}

static int info_from(e2b_sandbox_info **out, json_t *j)
{
	e2b_sandbox_info *info;
	int error;

	info = e2b__calloc(1, sizeof(*info));
	if (!info)
		return e2b__error_oom();
	error = e2b__sandbox_info_from_json(info, j);
	if (error < 0) {
		e2b__free(info);
		return error;
	}
	*out = info;
	return 0;
}

void e2b_sandbox_info_free(e2b_sandbox_info *info)
{
	if (!info)
		return;
	e2b__sandbox_info_release(info);
	e2b__free(info);
}

void e2b_sandbox_list_free(e2b_sandbox_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		e2b__sandbox_info_release(&list->items[i]);
	e2b__free(list->items);
	e2b__free((char *)list->next_token);
	e2b__free(list);
}

void e2b_sandbox_metrics_free(e2b_sandbox_metrics *metrics)
{
	if (!metrics)
		return;
	e2b__free(metrics->items);
	e2b__free(metrics);
}

const char *e2b_sandbox_state_str(e2b_sandbox_state state)
{
	switch (state) {
	case E2B_SANDBOX_STATE_RUNNING: return "running";
	case E2B_SANDBOX_STATE_PAUSED: return "paused";
	default: return "unknown";
	}
}

/* The create request's fields from @opts into @body. */
static int create_body(json_t *body, const e2b_sandbox_create_options *opts)
{
	int error;

	error = e2b__json_set_str(body, "templateID", opts->template_id ?
				  opts->template_id : E2B_DEFAULT_TEMPLATE);
	if (!error)
		error = e2b__json_set_int(body, "timeout", opts->timeout_s ? opts->timeout_s :
					  E2B_DEFAULT_SANDBOX_TIMEOUT_S);
	if (!error && opts->metadata_count)
		error = e2b__json_set_new(body, "metadata",
					  e2b__kv_to_json(opts->metadata, opts->metadata_count));
	if (!error && opts->env_vars_count)
		error = e2b__json_set_new(body, "envVars",
					  e2b__kv_to_json(opts->env_vars, opts->env_vars_count));
	if (!error && opts->auto_pause)
		error = e2b__json_set_bool(body, "autoPause", 1);
	if (!error && opts->secure)
		error = e2b__json_set_bool(body, "secure", 1);
	if (!error && opts->allow_internet_access >= 0)
		error = e2b__json_set_bool(body, "allow_internet_access",
					   opts->allow_internet_access);
	if (!error && opts->auto_resume >= 0) {
		json_t *ar = json_pack("{s:b}", "enabled", opts->auto_resume);

		error = e2b__json_set_new(body, "autoResume", ar);
	}
	return error;
}

int e2b_mgmt_create(e2b_sandbox_info **out, e2b_client *client,
		   const e2b_sandbox_create_options *opts)
{
	static const e2b_sandbox_create_options defaults = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	struct e2b__resp resp;
	json_t *body = NULL, *j = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != E2B_SANDBOX_CREATE_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported create options version %u",
				      opts->version);
	e2b__resp_init(&resp);
	body = json_object();
	if (!body) {
		error = e2b__error_oom();
		goto out;
	}
	error = create_body(body, opts);
	if (error < 0)
		goto out;
	error = e2b__rest_call(&j, &resp, &client->http, "POST", "/sandboxes", body, 0,
			       "create sandbox");
	if (error < 0)
		goto out;
	if (!j) {
		error = e2b__error_set(E2B_EPROTO, "create sandbox: empty response");
		goto out;
	}
	error = info_from(out, j);
out:
	json_decref(body);
	json_decref(j);
	e2b__resp_release(&resp);
	return error;
}

/*
 * POST {"timeout": @timeout_s} to the sandbox's @suffix and read its info
 * into @out (may be NULL).  @retry: the call may be repeated (connect is
 * idempotent, resume is not).  @need_info: an empty answer is an error.
 */
static int post_timeout(e2b_sandbox_info **out, e2b_client *client, const char *sandbox_id,
			const char *suffix, const char *verb, unsigned timeout_s, int retry,
			int need_info)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	json_t *body = NULL, *j = NULL;
	char what[256];
	int error;

	E2B_ASSERT_ARG(client);
	if (out)
		*out = NULL;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), verb, sandbox_id);
	body = json_pack("{s:i}", "timeout", (int)(timeout_s ? timeout_s :
						   E2B_DEFAULT_SANDBOX_TIMEOUT_S));
	error = body ? sandbox_path(&path, sandbox_id, suffix) : e2b__error_oom();
	if (!error)
		error = e2b__rest_call(&j, &resp, &client->http, "POST", path.ptr, body, retry,
				       what);
	if (!error && !j && need_info)
		error = e2b__error_set(E2B_EPROTO, "%s: empty response", what);
	if (!error && j && out && (need_info || json_is_object(j)))
		error = info_from(out, j);
	json_decref(body);
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_connect(e2b_sandbox_info **out, e2b_client *client,
		    const char *sandbox_id, unsigned timeout_s)
{
	return post_timeout(out, client, sandbox_id, "/connect", "connect to sandbox", timeout_s,
			    1, 1);
}

/* Append "&name=value" (or "?name=value" first) with the value escaped. */
static int add_query(e2b_buf *b, int *first, const char *name, const char *value)
{
	int error = e2b_buf_printf(b, "%c%s=", *first ? '?' : '&', name);

	*first = 0;
	if (!error)
		error = e2b__url_escape(b, value);
	return error;
}

/* The metadata filter of @opts into @md: urlencode(k)=urlencode(v)&...
 * (then escaped again as one value). */
static int metadata_filter(e2b_buf *md, const e2b_mgmt_list_options *opts)
{
	size_t i;
	int error = 0;

	for (i = 0; !error && i < opts->metadata_count; i++) {
		if (!opts->metadata[i].key || !opts->metadata[i].value) {
			error = e2b__error_set(E2B_EINVALID,
					       "metadata filter %zu has a NULL member", i);
			break;
		}
		if (i)
			error = e2b_buf_puts(md, "&");
		if (!error)
			error = e2b__url_escape(md, opts->metadata[i].key);
		if (!error)
			error = e2b_buf_puts(md, "=");
		if (!error)
			error = e2b__url_escape(md, opts->metadata[i].value);
	}
	return error;
}

/* The path and query of a list request: @opts' filters, page @token. */
static int list_path(e2b_buf *path, const e2b_mgmt_list_options *opts, const char *token)
{
	e2b_buf md = E2B_BUF_INIT;
	char tmp[32];
	int first = 1, error;

	error = e2b_buf_puts(path, "/v2/sandboxes");
	if (!error && opts->states) {
		snprintf(tmp, sizeof(tmp), "%s%s%s",
			 opts->states & E2B_MGMT_LIST_RUNNING ? "running" : "",
			 (opts->states & E2B_MGMT_LIST_RUNNING) &&
			 (opts->states & E2B_MGMT_LIST_PAUSED) ? "," : "",
			 opts->states & E2B_MGMT_LIST_PAUSED ? "paused" : "");
		error = add_query(path, &first, "state", tmp);
	}
	if (!error)
		error = metadata_filter(&md, opts);
	if (!error && md.size)
		error = add_query(path, &first, "metadata", md.ptr);
	if (!error && opts->limit) {
		snprintf(tmp, sizeof(tmp), "%u", opts->limit);
		error = add_query(path, &first, "limit", tmp);
	}
	if (!error && token && *token)
		error = add_query(path, &first, "nextToken", token);
	e2b_buf_release(&md);
	return error;
}

/* Move the entries of @page to the end of @acc (@page keeps none). */
static int list_append(e2b_sandbox_list *acc, e2b_sandbox_list *page)
{
	e2b_sandbox_info *items;

	items = e2b__realloc(acc->items, (acc->count + page->count) * sizeof(*items));
	if (!items)
		return e2b__error_oom();
	memcpy(items + acc->count, page->items, page->count * sizeof(*items));
	acc->items = items;
	acc->count += page->count;
	page->count = 0;
	return 0;
}

static int list_page(e2b_sandbox_list *acc, e2b_client *client,
		     const e2b_mgmt_list_options *opts, const char *token,
		     char **out_next)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	e2b_sandbox_list page = { 0 };
	json_t *j = NULL;
	size_t i;
	int error;

	*out_next = NULL;
	e2b__resp_init(&resp);
	error = list_path(&path, opts, token);
	if (error < 0)
		goto out;
	error = e2b__rest_call(&j, &resp, &client->http, "GET", path.ptr, NULL, 1,
			       "list sandboxes");
	if (error < 0)
		goto out;
	if (j) {
		error = e2b__sandbox_list_from_json(&page, j);
		if (error < 0)
			goto out;
	}
	if (page.count) {
		error = list_append(acc, &page);
		if (error < 0)
			goto out;
	}
	*out_next = e2b__strdup(resp.next_token);
	if (!*out_next)
		error = e2b__error_oom();
out:
	for (i = 0; i < page.count; i++)
		e2b__sandbox_info_release(&page.items[i]);
	e2b__free(page.items);
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_list(e2b_sandbox_list **out, e2b_client *client,
		 const e2b_mgmt_list_options *opts)
{
	static const e2b_mgmt_list_options defaults = E2B_MGMT_LIST_OPTIONS_INIT;
	e2b_sandbox_list *list;
	char *token = NULL, *next = NULL;
	int error = 0, pages = 0;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != E2B_MGMT_LIST_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported list options version %u",
				      opts->version);
	list = e2b__calloc(1, sizeof(*list));
	if (!list)
		return e2b__error_oom();
	token = e2b__strdup0(opts->next_token);
	if (!token) {
		error = e2b__error_oom();
		goto out;
	}
	for (;;) {
		error = list_page(list, client, opts, token, &next);
		if (error < 0)
			goto out;
		/* A hostile server must not keep us paging forever. */
		if (!(opts->flags & E2B_MGMT_LIST_ALL_PAGES) || !*next ||
		    !strcmp(next, token) || ++pages >= MAX_LIST_PAGES)
			break;
		e2b__free(token);
		token = next;
		next = NULL;
	}
	list->next_token = (opts->flags & E2B_MGMT_LIST_ALL_PAGES) ? e2b__strdup("") : next;
	if (opts->flags & E2B_MGMT_LIST_ALL_PAGES)
		e2b__free(next);
	next = NULL;
	if (!list->next_token)
		error = e2b__error_oom();
out:
	e2b__free(token);
	e2b__free(next);
	if (error < 0) {
		e2b_sandbox_list_free(list);
		return error;
	}
	*out = list;
	return 0;
}

int e2b_mgmt_get_info(e2b_sandbox_info **out, e2b_client *client,
		     const char *sandbox_id)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	json_t *j = NULL;
	char what[256];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "get sandbox", sandbox_id);
	error = sandbox_path(&path, sandbox_id, NULL);
	if (!error)
		error = e2b__rest_call(&j, &resp, &client->http, "GET", path.ptr, NULL, 1, what);
	if (error == E2B_ENOTFOUND && resp.status == 404)
		e2b__error_set_http(E2B_ENOTFOUND, 404, NULL, resp.request_id,
				    "sandbox '%s' not found", sandbox_id);
	if (error < 0)
		goto out;
	if (!j) {
		error = e2b__error_set(E2B_EPROTO, "%s: empty response", what);
		goto out;
	}
	error = info_from(out, j);
out:
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_kill(int *out_found, e2b_client *client, const char *sandbox_id)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	char what[256];
	int error;

	E2B_ASSERT_ARG(client);
	if (out_found)
		*out_found = 0;
	if (client->conf.skip_lifecycle) {
		if (out_found)
			*out_found = 1;
		return 0;
	}
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "kill sandbox", sandbox_id);
	error = sandbox_path(&path, sandbox_id, NULL);
	if (!error)
		error = e2b__rest_call(NULL, &resp, &client->http, "DELETE",
				       path.ptr, NULL, 1, what);
	if (error == E2B_ENOTFOUND && resp.status == 404) {
		e2b_error_clear();
		error = 0;
	} else if (error == 0 && out_found) {
		*out_found = 1;
	}
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_set_timeout(e2b_client *client, const char *sandbox_id,
			unsigned timeout_s)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	json_t *body;
	char what[256];
	int error;

	E2B_ASSERT_ARG(client);
	if (client->conf.skip_lifecycle)
		return 0;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "set timeout of sandbox", sandbox_id);
	body = json_pack("{s:i}", "timeout", (int)timeout_s);
	error = body ? sandbox_path(&path, sandbox_id, "/timeout") : e2b__error_oom();
	if (!error)
		error = e2b__rest_call(NULL, &resp, &client->http, "POST", path.ptr, body, 1, what);
	json_decref(body);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_pause(int *out_paused, e2b_client *client, const char *sandbox_id)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	char what[256];
	int error;

	E2B_ASSERT_ARG(client);
	if (out_paused)
		*out_paused = 0;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "pause sandbox", sandbox_id);
	error = sandbox_path(&path, sandbox_id, "/pause");
	if (!error)
		error = e2b__rest_call(NULL, &resp, &client->http, "POST", path.ptr, NULL, 1, what);
	if (error == E2B_ECONFLICT && resp.status == 409) {
		/* Already paused. */
		e2b_error_clear();
		error = 0;
	} else if (error == 0 && out_paused) {
		*out_paused = 1;
	}
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

int e2b_mgmt_resume(e2b_sandbox_info **out, e2b_client *client,
		   const char *sandbox_id, unsigned timeout_s)
{
	return post_timeout(out, client, sandbox_id, "/resume", "resume sandbox", timeout_s, 0, 0);
}

int e2b_mgmt_metrics(e2b_sandbox_metrics **out, e2b_client *client,
		    const char *sandbox_id, int64_t start_unix, int64_t end_unix)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	e2b_sandbox_metrics *m = NULL;
	json_t *j = NULL;
	char what[256], tmp[32];
	size_t i, n;
	int error, first = 1;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "get metrics of sandbox", sandbox_id);
	error = sandbox_path(&path, sandbox_id, "/metrics");
	if (!error && start_unix) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)start_unix);
		error = add_query(&path, &first, "start", tmp);
	}
	if (!error && end_unix) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)end_unix);
		error = add_query(&path, &first, "end", tmp);
	}
	if (!error)
		error = e2b__rest_call(&j, &resp, &client->http, "GET", path.ptr, NULL, 1, what);
	if (error < 0)
		goto out;
	if (json_is_object(j) && json_object_get(j, "sandboxID")) {
		/* OpenKruise has no metrics route: its describe handler answers
		 * the subtree (protocol.md §4.2.1). */
		error = e2b__error_set_http(E2B_ERROR, (int)resp.status, NULL, resp.request_id,
					    "%s: not implemented by this server", what);
		goto out;
	}
	if (j && !json_is_array(j)) {
		error = e2b__error_set(E2B_EPROTO, "%s: expected a json array", what);
		goto out;
	}
	n = j ? json_array_size(j) : 0;
	m = e2b__calloc(1, sizeof(*m));
	if (m)
		m->items = e2b__calloc(n ? n : 1, sizeof(*m->items));
	if (!m || !m->items) {
		error = e2b__error_oom();
		goto out;
	}
	for (i = 0; i < n; i++) {
		error = e2b__metric_from_json(&m->items[i], json_array_get(j, i));
		if (error < 0)
			goto out;
		m->count++;
	}
	*out = m;
	m = NULL;
out:
	e2b_sandbox_metrics_free(m);
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}

void e2b_sandbox_logs_free(e2b_sandbox_logs *logs)
{
	size_t i;

	if (!logs)
		return;
	for (i = 0; i < logs->count; i++) {
		e2b__free((char *)logs->items[i].level);
		e2b__free((char *)logs->items[i].line);
	}
	e2b__free(logs->items);
	e2b__free(logs);
}

/* One element of "logEntries" ({timestamp, level, message}) or "logs"
 * ({timestamp, line}). */
static int log_from_json(e2b_sandbox_log *out, const json_t *j, int entries)
{
	const char *ts, *level = NULL, *line;
	int64_t sec = 0;
	int32_t nsec = 0;
	int err = 0;

	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "log line is not a json object");
	ts = e2b__json_str(j, "timestamp", NULL, &err);
	if (entries)
		level = e2b__json_str(j, "level", NULL, &err);
	line = e2b__json_str(j, entries ? "message" : "line", NULL, &err);
	if (err < 0)
		return err;
	if (ts && e2b__parse_rfc3339(ts, &sec, &nsec) == 0)
		out->timestamp_ms = sec * 1000 + nsec / 1000000;
	else
		e2b_error_clear();
	out->level = e2b__strdup0(level);
	out->line = e2b__strdup0(line);
	if (!out->level || !out->line)
		return e2b__error_oom();
	return 0;
}

int e2b_mgmt_logs(e2b_sandbox_logs **out, e2b_client *client,
		 const char *sandbox_id, int64_t start_ms, unsigned limit)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	e2b_sandbox_logs *l = NULL;
	json_t *j = NULL, *arr;
	char what[256], tmp[32];
	size_t i, n;
	int error, first = 1, entries;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "get logs of sandbox", sandbox_id);
	error = sandbox_path(&path, sandbox_id, "/logs");
	if (!error && start_ms) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)start_ms);
		error = add_query(&path, &first, "start", tmp);
	}
	if (!error && limit) {
		snprintf(tmp, sizeof(tmp), "%u", limit);
		error = add_query(&path, &first, "limit", tmp);
	}
	if (!error)
		error = e2b__rest_call(&j, &resp, &client->http, "GET", path.ptr, NULL, 1, what);
	if (error < 0)
		goto out;
	if (!json_is_object(j) || json_object_get(j, "sandboxID")) {
		/* OpenKruise answers unknown subpaths with the description. */
		error = e2b__error_set_http(E2B_ERROR, (int)resp.status, NULL, resp.request_id,
					    "%s: not implemented by this server", what);
		goto out;
	}
	arr = json_object_get(j, "logEntries");
	entries = json_is_array(arr) && json_array_size(arr) > 0;
	if (!entries)
		arr = json_object_get(j, "logs");
	if (arr && !json_is_array(arr)) {
		error = e2b__error_set(E2B_EPROTO, "%s: 'logs' is not a json array", what);
		goto out;
	}
	n = arr ? json_array_size(arr) : 0;
	l = e2b__calloc(1, sizeof(*l));
	if (l)
		l->items = e2b__calloc(n ? n : 1, sizeof(*l->items));
	if (!l || !l->items) {
		error = e2b__error_oom();
		goto out;
	}
	for (i = 0; i < n; i++) {
		l->count++;
		error = log_from_json(&l->items[i], json_array_get(arr, i), entries);
		if (error < 0)
			goto out;
	}
	*out = l;
	l = NULL;
out:
	e2b_sandbox_logs_free(l);
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}
