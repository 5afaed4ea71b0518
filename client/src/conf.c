/* SPDX-License-Identifier: MIT */
/*
 * Config resolution: defaults, the environment layer, URL precedence and
 * the per-protocol URL table.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "conf.h"
#include "json.h"
#include "error.h"
#include "util.h"

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int e2b_config_from_env(e2b_config *cfg)
{
	const char *v;
	int explicit_routing;

	if (!cfg || cfg->version != E2B_CONFIG_VERSION)
		return e2b__error_set(E2B_EINVALID, "invalid config version");
	explicit_routing = cfg->domain || cfg->protocol != E2B_PROTOCOL_DEFAULT;
	if (!cfg->api_key) {
		cfg->api_key = env_nonempty("E2B_API_KEY");
		if (!cfg->api_key)
			cfg->api_key = env_nonempty("X_API_KEY");
	}
	if (!cfg->access_token)
		cfg->access_token = env_nonempty("X_ACCESS_TOKEN");
	if (!cfg->scheme)
		cfg->scheme = env_nonempty("SCHEME");
	if (cfg->protocol == E2B_PROTOCOL_DEFAULT) {
		v = env_nonempty("PROTOCOL");
		if (v)
			cfg->protocol = !strcasecmp(v, "private") ?
				E2B_PROTOCOL_PRIVATE : E2B_PROTOCOL_NATIVE;
	}
	if (!cfg->domain)
		cfg->domain = env_nonempty("E2B_DOMAIN");
	if (!explicit_routing) {
		if (!cfg->api_url)
			cfg->api_url = env_nonempty("E2B_API_URL");
		if (!cfg->sandbox_url)
			cfg->sandbox_url = env_nonempty("E2B_SANDBOX_URL");
	}
	v = env_nonempty("E2B_DEBUG");
	if (v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")))
		cfg->debug = 1;
	return 0;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = e2b__strdup(src);
	return *dst ? 0 : e2b__error_oom();
}

/* Copy a URL override, dropping trailing slashes; must be http(s)://host. */
static int dup_url(char **dst, const char *src, const char *what)
{
	size_t n;

	*dst = NULL;
	if (!src)
		return 0;
	if (strncasecmp(src, "http://", 7) && strncasecmp(src, "https://", 8))
		return e2b__error_set(E2B_EINVALID, "%s '%s' is not an http(s) url",
				      what, src);
	n = strlen(src);
	while (n && src[n - 1] == '/')
		n--;
	*dst = e2b__strndup(src, n);
	return *dst ? 0 : e2b__error_oom();
}

static int valid_domain(const char *d)
{
	const unsigned char *p;

	if (!*d)
		return 0;
	for (p = (const unsigned char *)d; *p; p++)
		if (*p <= ' ' || *p == '/' || *p == '?' || *p == '#' || *p == '@' || *p >= 0x7f)
			return 0;
	return 1;
}

void e2b__conf_release(struct e2b__conf *c)
{
	if (!c)
		return;
	e2b__free(c->api_key);
	e2b__free(c->access_token);
	e2b__free(c->domain);
	e2b__free(c->scheme);
	e2b__free(c->api_url);
	e2b__free(c->api_origin);
	e2b__free(c->sandbox_url);
	e2b__free(c->user);
	e2b__free(c->ca_file);
	e2b__free(c->user_agent);
	e2b__kv_free(c->headers, c->headers_count);
	memset(c, 0, sizeof(*c));
}

/* The string options, copied; the scheme lowercased and checked, the
 * domain checked. */
static int conf_strings(struct e2b__conf *out, const e2b_config *cfg)
{
	size_t i;
	int error;

	error = dup_opt(&out->api_key, cfg->api_key);
	if (!error)
		error = dup_opt(&out->access_token, cfg->access_token);
	if (!error)
		error = dup_opt(&out->domain, cfg->domain ? cfg->domain : E2B_DEFAULT_DOMAIN);
	/* Without an explicit scheme, an explicit API URL tells it. */
	if (!error && !cfg->scheme && cfg->api_url && !strncasecmp(cfg->api_url, "http://", 7))
		error = dup_opt(&out->scheme, "http");
	else if (!error)
		error = dup_opt(&out->scheme, cfg->scheme ? cfg->scheme : E2B_DEFAULT_SCHEME);
	if (!error)
		error = dup_opt(&out->user, cfg->user);
	if (!error)
		error = dup_opt(&out->ca_file, cfg->ca_file);
	if (!error)
		error = dup_url(&out->sandbox_url, cfg->sandbox_url, "sandbox url");
	if (error < 0)
		return error;
	for (i = 0; out->scheme[i]; i++)
		out->scheme[i] = (char)tolower((unsigned char)out->scheme[i]);
	if (strcmp(out->scheme, "http") && strcmp(out->scheme, "https"))
		return e2b__error_set(E2B_EINVALID, "unsupported scheme '%s'", out->scheme);
	if (!valid_domain(out->domain))
		return e2b__error_set(E2B_EINVALID, "invalid domain '%s'", out->domain);
	return 0;
}

/* The API URL and its origin: the configured one, else from the scheme,
 * domain and protocol. */
static int conf_api_url(struct e2b__conf *out, const e2b_config *cfg)
{
	e2b_buf b = E2B_BUF_INIT;
	const char *p;
	int error;

	if (cfg->api_url) {
		error = dup_url(&out->api_url, cfg->api_url, "api url");
		if (error < 0)
			return error;
		p = strstr(out->api_url, "://") + 3;
		out->api_origin = e2b__strndup(out->api_url, (size_t)(p - out->api_url) +
					       strcspn(p, "/?#"));
		return out->api_origin ? 0 : e2b__error_oom();
	}
	if (out->protocol == E2B_PROTOCOL_PRIVATE)
		error = e2b_buf_printf(&b, "%s://%s/kruise/api", out->scheme, out->domain);
	else
		error = e2b_buf_printf(&b, "%s://api.%s", out->scheme, out->domain);
	if (error == 0) {
		out->api_url = e2b_buf_detach(&b, NULL);
		if (!out->api_url)
			error = e2b__error_oom();
	}
	e2b_buf_release(&b);
	return error;
}

/* The extra headers, each checked (no separator in a name, no line break). */
static int conf_headers(struct e2b__conf *out, const e2b_config *cfg)
{
	const char *k, *v;
	size_t i;

	if (!cfg->headers_count)
		return 0;
	if (!cfg->headers)
		return e2b__error_set(E2B_EINVALID, "headers is NULL");
	out->headers = e2b__calloc(cfg->headers_count, sizeof(*out->headers));
	if (!out->headers)
		return e2b__error_oom();
	for (i = 0; i < cfg->headers_count; i++) {
		k = cfg->headers[i].key;
		v = cfg->headers[i].value;
		if (!k || !v || !*k || strpbrk(k, ": \r\n") || strpbrk(v, "\r\n"))
			return e2b__error_set(E2B_EINVALID, "invalid header %zu", i);
		out->headers[i].key = e2b__strdup(k);
		out->headers[i].value = e2b__strdup(v);
		out->headers_count++;
		if (!out->headers[i].key || !out->headers[i].value)
			return e2b__error_oom();
	}
	return 0;
}

/* "libe2b/<version>[ <the caller's user agent>]". */
static int conf_user_agent(struct e2b__conf *out, const e2b_config *cfg)
{
	e2b_buf b = E2B_BUF_INIT;
	int error;

	error = e2b_buf_printf(&b, "libe2b/%s%s%s", E2B_VERSION,
			       cfg->user_agent ? " " : "",
			       cfg->user_agent ? cfg->user_agent : "");
	if (error < 0)
		return error;
	out->user_agent = e2b_buf_detach(&b, NULL);
	e2b_buf_release(&b);
	return out->user_agent ? 0 : e2b__error_oom();
}

/* Flags, limits and timeouts with their defaults, the codec (or
 * E2B_CONNECT_CODEC), and the log callback. */
static int conf_numbers(struct e2b__conf *out, const e2b_config *cfg)
{
	const char *v;

	out->sandbox_url_append_id = cfg->sandbox_url_append_id;
	out->ignore_api_domain = cfg->ignore_api_domain;
	out->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms :
		E2B_DEFAULT_REQUEST_TIMEOUT_MS;
	out->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000;
	out->call_timeout_ms = cfg->call_timeout_ms;
	out->skip_lifecycle = cfg->skip_lifecycle;
	out->insecure = cfg->insecure;
	out->envd_port = cfg->envd_port ? cfg->envd_port : E2B_DEFAULT_ENVD_PORT;
	if (out->envd_port > 65535)
		return e2b__error_set(E2B_EINVALID, "invalid envd port %u", out->envd_port);
	out->keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : E2B_DEFAULT_KEEPALIVE_S;
	out->max_connections = cfg->max_connections ? cfg->max_connections :
		E2B_DEFAULT_MAX_CONNECTIONS;
	out->max_retries = cfg->retry_disable ? 0 :
		(cfg->max_retries ? cfg->max_retries : E2B_DEFAULT_MAX_RETRIES);
	out->http1_only = cfg->http1_only;
	out->codec = cfg->codec;
	if (out->codec == E2B_CODEC_DEFAULT) {
		v = env_nonempty("E2B_CONNECT_CODEC");
		out->codec = v && !strcasecmp(v, "json") ? E2B_CODEC_JSON : E2B_CODEC_PROTO;
	}
	if (out->codec != E2B_CODEC_PROTO && out->codec != E2B_CODEC_JSON)
		return e2b__error_set(E2B_EINVALID, "unknown codec %d", (int)cfg->codec);
	out->log.cb = cfg->log_cb;
	out->log.payload = cfg->log_payload;
	out->log.debug = cfg->debug;
	return 0;
}

int e2b__conf_init(struct e2b__conf *out, const e2b_config *cfg)
{
	static const e2b_config defaults = E2B_CONFIG_INIT;
	int error;

	memset(out, 0, sizeof(*out));
	if (!cfg)
		cfg = &defaults;
	if (cfg->version != E2B_CONFIG_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported e2b_config version %u",
				      cfg->version);
	error = conf_strings(out, cfg);
	if (!error) {
		out->protocol = cfg->protocol == E2B_PROTOCOL_PRIVATE ?
			E2B_PROTOCOL_PRIVATE : E2B_PROTOCOL_NATIVE;
		out->domain_set = cfg->domain != NULL;
		error = conf_api_url(out, cfg);
	}
	if (!error)
		error = conf_headers(out, cfg);
	if (!error)
		error = conf_user_agent(out, cfg);
	if (!error)
		error = conf_numbers(out, cfg);
	if (error < 0)
		e2b__conf_release(out);
	return error;
}

/* A subdomain of an IP literal cannot resolve, so such a returned domain
 * (e.g. "127.0.0.1:8080" from a local server) is not usable for native
 * URLs. */
static int is_ip_literal_host(const char *d)
{
	const char *p;

	if (*d == '[')
		return 1;
	for (p = d; *p && *p != ':'; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return 0;
	return p != d;
}

/*
 * Only an API URL was configured (no domain, no sandbox URL), and the API
 * says its sandboxes live at its own address or at an IP literal (a local
 * e2bd): then envd is reached at the API's origin with header routing,
 * as E2B_SANDBOX_URL would, instead of at <port>-<id>.e2b.app.
 */
static int api_origin_serves_envd(const struct e2b__conf *c, const char *api_domain)
{
	const char *authority;

	if (!c->api_origin || c->domain_set)
		return 0;
	if (!api_domain || !*api_domain || c->ignore_api_domain || is_ip_literal_host(api_domain))
		return 1;
	authority = strstr(c->api_origin, "://") + 3;
	return !strcasecmp(authority, api_domain);
}

int e2b__conf_envd_url(char **out, const struct e2b__conf *c, const char *id,
		       const char *api_domain)
{
	e2b_buf b = E2B_BUF_INIT;
	const char *domain = c->domain;
	int error;

	*out = NULL;
	if (!id || !*id)
		return e2b__error_set(E2B_EINVALID, "empty sandbox id");
	if (strpbrk(id, "/?#@ \t\r\n:%"))
		return e2b__error_set(E2B_EINVALID, "invalid sandbox id '%s'", id);
	if (c->sandbox_url) {
		if (c->sandbox_url_append_id)
			error = e2b_buf_printf(&b, "%s/%s", c->sandbox_url, id);
		else
			error = e2b_buf_puts(&b, c->sandbox_url);
	} else if (c->protocol == E2B_PROTOCOL_PRIVATE) {
		error = e2b_buf_printf(&b, "%s://%s/kruise/%s/%u", c->scheme,
				       c->domain, id, c->envd_port);
	} else if (api_origin_serves_envd(c, api_domain)) {
		error = e2b_buf_puts(&b, c->api_origin);
	} else {
		if (api_domain && *api_domain && !c->ignore_api_domain &&
		    valid_domain(api_domain) && !is_ip_literal_host(api_domain))
			domain = api_domain;
		error = e2b_buf_printf(&b, "%s://%u-%s.%s", c->scheme, c->envd_port,
				       id, domain);
	}
	if (error < 0)
		goto out;
	*out = e2b_buf_detach(&b, NULL);
	if (!*out)
		error = e2b__error_oom();
out:
	e2b_buf_release(&b);
	return error;
}
