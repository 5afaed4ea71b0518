/* SPDX-License-Identifier: MIT */
/*
 * Sandbox handles: create, connect or open one, the envd details a resume
 * replaces (under the handle's lock), traffic tokens, and the lifecycle
 * calls on a handle, which go through the management API (mgmt.c).
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

/* Free a string that held a secret, wiping it first. */
static void free_secret(const char *s)
{
	if (s) {
		explicit_bzero((char *)s, strlen(s));
		e2b__free((char *)s);
	}
}

/* Exchange two owned strings. */
static void swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* Does the API's metadata mark the sandbox as JWT-protected? */
static int jwt_metadata(const e2b_sandbox_info *info)
{
	size_t i;

	for (i = 0; info && i < info->metadata_count; i++)
		if (!strcmp(info->metadata[i].key, E2B__JWT_AUTH_KEY))
			return !strcmp(info->metadata[i].value, "true");
	return 0;
}

/* Update the envd details from an API answer.  Caller holds no lock. */
static int sandbox_apply(e2b_sandbox *sb, const char *template_id,
			 const char *envd_version, const char *token,
			 const char *domain, const char *traffic_token, int jwt)
{
	const struct e2b__conf *c = &sb->client->conf;
	char *url = NULL, *tpl = NULL, *ver = NULL, *tok = NULL, *dom = NULL;
	struct e2b__ttoken tt, old_tt;
	int error;

	error = e2b__conf_envd_url(&url, c, sb->id, domain);
	if (error < 0)
		return error;
	error = e2b__tt_init(&tt, traffic_token, jwt, e2b__wall_ms());
	if (error < 0) {
		e2b__free(url);
		return error;
	}
	/* The Go client's debug mode never refreshes traffic tokens. */
	if (c->skip_lifecycle)
		tt.jwt = 0;
	tpl = e2b__strdup0(template_id);
	ver = e2b__strdup(envd_version && *envd_version ? envd_version : "0.6.0");
	tok = (token && *token) ? e2b__strdup(token) : e2b__strdup0(c->access_token);
	dom = e2b__strdup0(domain);
	if (!tpl || !ver || !tok || !dom) {
		e2b__tt_release(&tt);
		e2b__free(url);
		e2b__free(tpl);
		e2b__free(ver);
		e2b__free(tok);
		e2b__free(dom);
		return e2b__error_oom();
	}
	/* Swap under the lock, free the old values after it: the getters
	 * copy, so nothing outside the lock points into these strings. */
	pthread_mutex_lock(&sb->lock);
	/* An answer that names no template keeps the one known. */
	if (*tpl || !sb->template_id || !*sb->template_id)
		swap_str(&tpl, &sb->template_id);
	swap_str(&url, &sb->envd_url);
	swap_str(&ver, &sb->envd_version);
	swap_str(&tok, &sb->access_token);
	swap_str(&dom, &sb->domain);
	old_tt = sb->tt;
	sb->tt = tt;
	pthread_mutex_unlock(&sb->lock);
	e2b__tt_release(&old_tt);
	e2b__free(tpl);
	e2b__free(url);
	e2b__free(ver);
	free_secret(tok);
	e2b__free(dom);
	return 0;
}

static int sandbox_new(e2b_sandbox **out, e2b_client *client, const char *id)
{
	e2b_sandbox *sb;

	sb = e2b__calloc(1, sizeof(*sb));
	if (!sb)
		return e2b__error_oom();
	sb->client = client;
	sb->id = e2b__strdup(id);
	if (!sb->id) {
		e2b__free(sb);
		return e2b__error_oom();
	}
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->tt_cond, NULL);
	*out = sb;
	return 0;
}

static int sandbox_from_info(e2b_sandbox **out, e2b_client *client,
			     const e2b_sandbox_info *info)
{
	e2b_sandbox *sb;
	int error;

	error = sandbox_new(&sb, client, info->sandbox_id);
	if (error < 0)
		return error;
	error = sandbox_apply(sb, info->template_id, info->envd_version,
			      info->envd_access_token, info->domain,
			      info->traffic_access_token, jwt_metadata(info));
	if (error < 0) {
		e2b_sandbox_free(sb);
		return error;
	}
	*out = sb;
	return 0;
}

int e2b_sandbox_create(e2b_sandbox **out, e2b_client *client,
		       const e2b_sandbox_create_options *opts)
{
	e2b_sandbox_info *info = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	*out = NULL;
	error = e2b_mgmt_create(&info, client, opts);
	if (error < 0)
		return error;
	error = sandbox_from_info(out, client, info);
	if (error < 0) {
		/* Do not leak a running sandbox we cannot hand out. */
		e2b_mgmt_kill(NULL, client, info->sandbox_id);
	}
	e2b_sandbox_info_free(info);
	return error;
}

int e2b_sandbox_connect(e2b_sandbox **out, e2b_client *client,
			const char *sandbox_id, unsigned timeout_s)
{
	e2b_sandbox_info *info = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	*out = NULL;
	error = e2b_mgmt_connect(&info, client, sandbox_id, timeout_s);
	if (error < 0)
		return error;
	/* The id we were given is authoritative for routing. */
	if (strcmp(info->sandbox_id, sandbox_id)) {
		e2b__free((char *)info->sandbox_id);
		info->sandbox_id = e2b__strdup(sandbox_id);
		if (!info->sandbox_id) {
			e2b_sandbox_info_free(info);
			return e2b__error_oom();
		}
	}
	error = sandbox_from_info(out, client, info);
	e2b_sandbox_info_free(info);
	return error;
}

int e2b_sandbox_open(e2b_sandbox **out, e2b_client *client,
		     const char *sandbox_id, const e2b_sandbox_open_options *opts)
{
	static const e2b_sandbox_open_options defaults = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_sandbox *sb;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != E2B_SANDBOX_OPEN_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported open options version %u",
				      opts->version);
	if (!sandbox_id || !*sandbox_id)
		return e2b__error_set(E2B_EINVALID, "empty sandbox id");
	error = sandbox_new(&sb, client, sandbox_id);
	if (error < 0)
		return error;
	error = sandbox_apply(sb, opts->template_id, opts->envd_version,
			      opts->envd_access_token, opts->domain,
			      opts->traffic_access_token, 0);
	if (error < 0) {
		e2b_sandbox_free(sb);
		return error;
	}
	*out = sb;
	return 0;
}

void e2b_sandbox_free(e2b_sandbox *sb)
{
	if (!sb)
		return;
	e2b__free(sb->id);
	e2b__free(sb->template_id);
	e2b__free(sb->envd_url);
	free_secret(sb->access_token);
	e2b__free(sb->envd_version);
	e2b__free(sb->domain);
	e2b__tt_release(&sb->tt);
	pthread_mutex_destroy(&sb->lock);
	pthread_cond_destroy(&sb->tt_cond);
	e2b__free(sb);
}

int e2b_sandbox_kill_and_free(e2b_sandbox *sb)
{
	int error;

	if (!sb)
		return 0;
	error = e2b_mgmt_kill(NULL, sb->client, sb->id);
	e2b_sandbox_free(sb);
	return error;
}

const char *e2b_sandbox_id(const e2b_sandbox *sb)
{
	return sb ? sb->id : NULL;
}

/* *@out = a copy of *@field, one of @sb's strings a resume replaces. */
static int copy_field(char **out, const e2b_sandbox *sb, char *const *field)
{
	pthread_mutex_lock((pthread_mutex_t *)&sb->lock);
	*out = e2b__strdup0(*field);
	pthread_mutex_unlock((pthread_mutex_t *)&sb->lock);
	return *out ? 0 : e2b__error_oom();
}

int e2b_sandbox_template_id(char **out, const e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(out);
	*out = NULL;
	E2B_ASSERT_ARG(sb);
	return copy_field(out, sb, &sb->template_id);
}

int e2b_sandbox_envd_version(char **out, const e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(out);
	*out = NULL;
	E2B_ASSERT_ARG(sb);
	return copy_field(out, sb, &sb->envd_version);
}

int e2b_sandbox_envd_url(char **out, const e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(out);
	*out = NULL;
	E2B_ASSERT_ARG(sb);
	return copy_field(out, sb, &sb->envd_url);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d;

	if (!s || !*s)
		return NULL;
	d = e2b__strdup(s);
	if (!d)
		*oom = 1;
	return d;
}


void e2b_sandbox_open_options_release(e2b_sandbox_open_options *opts)
{
	if (!opts)
		return;
	free_secret(opts->envd_access_token);
	e2b__free((char *)opts->envd_version);
	e2b__free((char *)opts->domain);
	e2b__free((char *)opts->template_id);
	free_secret(opts->traffic_access_token);
	memset(opts, 0, sizeof(*opts));
	opts->version = E2B_SANDBOX_OPEN_OPTIONS_VERSION;
}

int e2b_sandbox_get_open_options(e2b_sandbox_open_options *out, const e2b_sandbox *sb)
{
	int oom = 0;

	E2B_ASSERT_ARG(out);
	memset(out, 0, sizeof(*out));
	out->version = E2B_SANDBOX_OPEN_OPTIONS_VERSION;
	E2B_ASSERT_ARG(sb);
	pthread_mutex_lock((pthread_mutex_t *)&sb->lock);
	out->envd_access_token = dup_or_null(sb->access_token, &oom);
	out->envd_version = dup_or_null(sb->envd_version, &oom);
	out->domain = dup_or_null(sb->domain, &oom);
	out->template_id = dup_or_null(sb->template_id, &oom);
	out->traffic_access_token = dup_or_null(sb->tt.token, &oom);
	pthread_mutex_unlock((pthread_mutex_t *)&sb->lock);
	if (oom) {
		e2b_sandbox_open_options_release(out);
		return e2b__error_oom();
	}
	return 0;
}

e2b_client *e2b_sandbox_client(const e2b_sandbox *sb)
{
	return sb ? sb->client : NULL;
}

int e2b_sandbox_has_feature(const e2b_sandbox *sb, e2b_feature feature)
{
	static const char *const min_version[] = {
		[E2B_FEATURE_RECURSIVE_WATCH] = "0.1.4",
		[E2B_FEATURE_COMMANDS_STDIN] = "0.3.0",
		[E2B_FEATURE_DEFAULT_USER] = "0.4.0",
		[E2B_FEATURE_CLOSE_STDIN] = "0.5.2",
		[E2B_FEATURE_FILES_COMPOSE] = "0.5.5",
		[E2B_FEATURE_OCTET_STREAM_UPLOAD] = "0.5.7",
		[E2B_FEATURE_FILE_METADATA] = "0.6.2",
		[E2B_FEATURE_WATCH_ENTRY_INFO] = "0.6.3",
		[E2B_FEATURE_WATCH_NETWORK_MOUNTS] = "0.6.4",
	};
	int has;

	if (!sb || (int)feature <= 0 ||
	    (size_t)feature >= sizeof(min_version) / sizeof(min_version[0]))
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&sb->lock);
	has = e2b__version_cmp(sb->envd_version, min_version[feature]) >= 0;
	pthread_mutex_unlock((pthread_mutex_t *)&sb->lock);
	return has;
}

/* Wait on tt_cond for at most until @deadline (monotonic ms); lock held. */
static int tt_wait(e2b_sandbox *sb, int64_t deadline)
{
	int64_t left = deadline - e2b__now_ms();
	struct timespec ts;

	if (left <= 0)
		return E2B_ETIMEOUT;
	if (left > 200)
		left = 200;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&sb->tt_cond, &sb->lock, &ts);
	return 0;
}

/*
 * The traffic token to send now (NULL = none), refreshing it first when
 * due.  One thread refreshes at a time; the others keep using a token that
 * is still valid, or wait (bounded) for the refresh when it is not.  Once
 * the token has expired and cannot be refreshed the request fails closed
 * with E2B_EAUTH instead of being sent.
 */
static int traffic_token(char **out, e2b_sandbox *sb)
{
	const struct e2b__conf *c = &sb->client->conf;
	int64_t deadline = e2b__now_ms() + 2 * (int64_t)c->request_timeout_ms, now, exp;
	char *tok = NULL, cause[256];
	long retry_after, status;
	int error = 0, usable;

	*out = NULL;
	pthread_mutex_lock(&sb->lock);
	for (;;) {
		now = e2b__wall_ms();
		usable = sb->tt.token && (!sb->tt.jwt || now < sb->tt.expires_ms);
		if (e2b__tt_decide(&sb->tt, now) == E2B__TT_USE || (sb->tt_busy && usable))
			break;
		if (sb->tt_busy) {
			if (tt_wait(sb, deadline) < 0) {
				error = e2b__error_set(E2B_ETIMEOUT,
						       "waiting for the traffic access token "
						       "refresh of '%s' timed out", sb->id);
				goto out;
			}
			continue;
		}
		if (e2b__tt_decide(&sb->tt, now) == E2B__TT_EXPIRED) {
			error = e2b__error_set(E2B_EAUTH, "traffic access token of '%s' expired "
					       "before it could be refreshed "
					       "(last refresh: http %ld)",
					       sb->id, sb->tt.last_status);
			goto out;
		}
		sb->tt_busy = 1;
		pthread_mutex_unlock(&sb->lock);
		e2b__debug(&c->log, "refreshing the traffic access token of '%s'", sb->id);
		error = e2b__tt_fetch(&tok, &exp, &retry_after, &status, &sb->client->http, sb->id);
		pthread_mutex_lock(&sb->lock);
		now = e2b__wall_ms();
		if (!error) {
			error = e2b__tt_install(&sb->tt, tok, exp, now);
			if (!error)
				tok = NULL;
		}
		e2b__free(tok);
		tok = NULL;
		if (error < 0)
			e2b__tt_failed(&sb->tt, now, retry_after, status);
		sb->tt_busy = 0;
		pthread_cond_broadcast(&sb->tt_cond);
		if (error == E2B_ENOMEM)
			goto out;
		if (error < 0) {
			if (sb->tt.token && now < sb->tt.expires_ms) {
				/* Still valid: retry after the backoff, use it meanwhile. */
				e2b__log(&c->log, E2B_LOG_WARN, "traffic access token refresh "
					 "of '%s' failed, retrying later: %s", sb->id,
					 e2b_error_last()->message);
				e2b_error_clear();
				error = 0;
				break;
			}
			snprintf(cause, sizeof(cause), "%s", e2b_error_last()->message);
			error = e2b__error_set(E2B_EAUTH, "traffic access token of '%s' expired "
					       "before it could be refreshed: %s", sb->id, cause);
			goto out;
		}
	}
	if (sb->tt.token) {
		*out = e2b__strdup(sb->tt.token);
		if (!*out)
			error = e2b__error_oom();
	}
out:
	pthread_mutex_unlock(&sb->lock);
	return error;
}

int e2b__sandbox_envd(struct e2b__envd *out, e2b_sandbox *sb, const char *user)
{
	const struct e2b__conf *c = &sb->client->conf;
	int error = 0;

	memset(out, 0, sizeof(*out));
	out->http = &sb->client->http;
	out->conf = c;
	error = traffic_token(&out->traffic_token, sb);
	if (error < 0)
		return error;
	pthread_mutex_lock(&sb->lock);
	out->base_url = e2b__strdup(sb->envd_url);
	out->sandbox_id = e2b__strdup(sb->id);
	out->access_token = e2b__strdup0(sb->access_token);
	out->envd_version = e2b__strdup0(sb->envd_version);
	pthread_mutex_unlock(&sb->lock);
	if (!user)
		user = c->user;
	if (!user && e2b__version_cmp(out->envd_version, "0.4.0") < 0)
		user = "user";
	if (user)
		out->user = e2b__strdup(user);
	if (!out->base_url || !out->sandbox_id || !out->access_token ||
	    !out->envd_version || (user && !out->user)) {
		e2b__envd_release(out);
		error = e2b__error_oom();
	}
	return error;
}

int e2b_sandbox_get_info(e2b_sandbox_info **out, e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(sb);
	return e2b_mgmt_get_info(out, sb->client, sb->id);
}

int e2b_sandbox_set_timeout(e2b_sandbox *sb, unsigned timeout_s)
{
	E2B_ASSERT_ARG(sb);
	return e2b_mgmt_set_timeout(sb->client, sb->id, timeout_s);
}

int e2b_sandbox_pause(int *out_paused, e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(sb);
	return e2b_mgmt_pause(out_paused, sb->client, sb->id);
}

int e2b_sandbox_resume(e2b_sandbox *sb, unsigned timeout_s)
{
	e2b_sandbox_info *info = NULL;
	int error;

	E2B_ASSERT_ARG(sb);
	error = e2b_mgmt_connect(&info, sb->client, sb->id, timeout_s);
	if (error < 0)
		return error;
	error = sandbox_apply(sb, info->template_id, info->envd_version,
			      info->envd_access_token, info->domain,
			      info->traffic_access_token, jwt_metadata(info));
	e2b_sandbox_info_free(info);
	return error;
}

int e2b_sandbox_kill(int *out_found, e2b_sandbox *sb)
{
	E2B_ASSERT_ARG(sb);
	return e2b_mgmt_kill(out_found, sb->client, sb->id);
}

/* GET {envd}{path}; 2xx body into resp. */
static int envd_get(struct e2b__resp *resp, e2b_sandbox *sb, const char *path,
		    const char *what)
{
	struct e2b__envd e;
	struct e2b__req r = { 0 };
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT;
	int error;

	error = e2b__sandbox_envd(&e, sb, NULL);
	if (error < 0)
		return error;
	error = e2b_buf_printf(&url, "%s%s", e.base_url, path);
	if (!error)
		error = e2b__envd_headers(&hdrs, &e, NULL, 0);
	if (error < 0)
		goto out;
	r.method = "GET";
	r.url = url.ptr;
	r.headers = hdrs;
	r.idempotent = 1;
	r.any_thread = 1;
	error = e2b__http_do(e.http, &r, resp);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (resp->status < 200 || resp->status > 299)
		error = e2b__error_from_response(resp->status, resp->body.ptr, resp->body.size,
						 resp->request_id, what);
out:
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b__envd_release(&e);
	return error;
}

int e2b_sandbox_health(e2b_sandbox *sb)
{
	struct e2b__resp resp;
	int error;

	E2B_ASSERT_ARG(sb);
	e2b__resp_init(&resp);
	error = envd_get(&resp, sb, "/health", "envd health");
	e2b__resp_release(&resp);
	return error;
}

int e2b_sandbox_envd_metrics(e2b_envd_metrics *out, e2b_sandbox *sb)
{
	struct e2b__resp resp;
	json_t *j = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	memset(out, 0, sizeof(*out));
	e2b__resp_init(&resp);
	error = envd_get(&resp, sb, "/metrics", "envd metrics");
	if (!error)
		error = e2b__json_parse_object(&j, resp.body.ptr, resp.body.size);
	if (!error)
		error = e2b__envd_metrics_from_json(out, j);
	json_decref(j);
	e2b__resp_release(&resp);
	return error;
}
