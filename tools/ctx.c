/* SPDX-License-Identifier: MIT */
/*
 * The run context: turns global options, the environment and the profile
 * into one libe2b client (flags beat environment beat profile beat
 * defaults), and resolves sandbox arguments, including "." inside an
 * e2bfs mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "mnt.h"
#include "profile.h"
#include "sbcache.h"

#define KEY_FILE_MAX 4096

/* Read an API key file: the first line, surrounding whitespace dropped. */
static int read_key_file(char **out, const char *path)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0, n;
	ssize_t r;
	int fd, error = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_msg("cannot open API key file '%s': %s", path, strerror(errno));
	/* Like ssh with private keys, but only a warning: the key still works. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		error_warn("API key file '%s' is accessible by other users (chmod 600 it)", path);
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			error = error_msg("cannot read API key file '%s': %s", path,
					  strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	{
		char *s = buf + strspn(buf, " \t");

		if (!*s) {
			error = error_msg("API key file '%s' is empty", path);
			goto out;
		}
		*out = xstrdup(s);
	}
out:
	/* The key must not linger in a stack buffer. */
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return error;
}

static void log_to_stderr(e2b_log_level level, const char *msg, void *payload)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct cmd_ctx *ctx = payload;

	if (level > E2B_LOG_WARN && !ctx->verbose)
		return;
	if (level == E2B_LOG_WARN && ctx->quiet)
		return;
	fprintf(stderr, "e2bctl: %s: %s\n", names[level <= E2B_LOG_DEBUG ? level : 3], msg);
}

static int parse_protocol(e2b_protocol *out, const char *s, const char *from)
{
	if (!strcasecmp(s, "native"))
		*out = E2B_PROTOCOL_NATIVE;
	else if (!strcasecmp(s, "private"))
		*out = E2B_PROTOCOL_PRIVATE;
	else
		return error_usage(NULL, "unknown protocol '%s'%s (use native or private)",
				   s, from);
	return 0;
}

static int check_scheme(const char *s, const char *from)
{
	if (strcmp(s, "http") && strcmp(s, "https"))
		return error_usage(NULL, "unknown scheme '%s'%s (use http or https)", s, from);
	return 0;
}

/* The settings the global flags give (the first of the three sources). */
static int config_from_flags(e2b_config *cfg, struct cmd_ctx *ctx)
{
	const struct global_opts *o = &ctx->opt;
	int error;

	cfg->api_url = o->api_url;
	cfg->sandbox_url = o->sandbox_url;
	cfg->domain = o->domain;
	cfg->scheme = o->scheme;
	error = o->scheme ? check_scheme(o->scheme, "") : 0;
	if (error)
		return error;
	error = o->protocol ? parse_protocol(&cfg->protocol, o->protocol, "") : 0;
	if (error)
		return error;
	if (o->api_key_file) {
		error = read_key_file(&ctx->api_key, o->api_key_file);
		if (error)
			return error;
		cfg->api_key = ctx->api_key;
	}
	return 0;
}

/* The settings neither flags nor environment gave, from the profile @p p (the last of the
 * three sources); its user becomes ctx->user. */
static int config_from_profile(e2b_config *cfg, struct cmd_ctx *ctx, const struct profile *p)
{
	int error;

	if (!cfg->api_url && p->api_url)
		cfg->api_url = p->api_url;
	if (!cfg->sandbox_url && p->sandbox_url)
		cfg->sandbox_url = p->sandbox_url;
	if (!cfg->domain && p->domain)
		cfg->domain = p->domain;
	if (!cfg->scheme && p->scheme) {
		error = check_scheme(p->scheme, " in profile");
		if (error)
			return error;
		cfg->scheme = p->scheme;
	}
	if (cfg->protocol == E2B_PROTOCOL_DEFAULT && p->protocol) {
		error = parse_protocol(&cfg->protocol, p->protocol, " in profile");
		if (error)
			return error;
	}
	if (!cfg->api_key && p->api_key_file) {
		error = read_key_file(&ctx->api_key, p->api_key_file);
		if (error)
			return error;
		cfg->api_key = ctx->api_key;
	}
	if (p->user)
		ctx->user = p->user;
	return 0;
}

int ctx_config(struct cmd_ctx *ctx, const e2b_config **out)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	struct profile *p = ctx->prof;
	int error;

	/* Once per run: a key file is read and warned about once. */
	if (ctx->have_cfg) {
		*out = &ctx->cfg;
		return 0;
	}
	/* 1. flags */
	error = config_from_flags(&cfg, ctx);
	if (error)
		return error;
	/* 2. environment */
	e2b_config_from_env(&cfg);
	/* 3. profile */
	if (p) {
		error = config_from_profile(&cfg, ctx, p);
		if (error)
			return error;
	}
	cfg.user = ctx->user;
	cfg.log_cb = log_to_stderr;
	cfg.log_payload = ctx;
	cfg.user_agent = "e2bctl/" E2B_VERSION;
	ctx->cfg = cfg;
	ctx->have_cfg = 1;
	*out = &ctx->cfg;
	return 0;
}

int ctx_client(struct cmd_ctx *ctx, e2b_client **out)
{
	const e2b_config *c;
	e2b_config cfg;
	int error, code;

	if (ctx->client) {
		*out = ctx->client;
		return 0;
	}
	error = ctx_config(ctx, &c);
	if (error)
		return error;
	if (!ctx->lib_ready) {
		if (e2b_global_init() < 0)
			return error_msg("cannot initialise libe2b");
		ctx->lib_ready = 1;
	}
	cfg = *c;
	/* An agent's client serves runs with and without -v: it logs
	 * everything and log_to_stderr() filters per run. */
	cfg.debug = ctx->verbose || ctx->in_agent;
	/* Said once, with the authentication error it causes. */
	error_no_key = !cfg.api_key;
	error_no_server = !cfg.api_url && !cfg.sandbox_url && !cfg.domain;
	code = e2b_client_new(&ctx->client, &cfg);
	if (code < 0)
		return error_e2b(code, "cannot set up the client");
	*out = ctx->client;
	return 0;
}

int ctx_resolve_id(struct cmd_ctx *ctx, const char *arg, char **out_id,
		   char **out_cwd)
{
	int error;

	*out_id = NULL;
	if (out_cwd)
		*out_cwd = NULL;
	if (!*arg)
		return error_usage(ctx->cmd_name, "empty sandbox ID");
	if (strcmp(arg, "."))  {
		if (strchr(arg, '/'))
			return error_usage(ctx->cmd_name, "malformed sandbox ID '%s'", arg);
		*out_id = xstrdup(arg);
		return 0;
	}
	error = mnt_here(out_id, out_cwd);
	if (error)
		return error;
	return 0;
}

int ctx_id_client(struct cmd_ctx *ctx, const char *arg, char **out_id,
		  char **out_cwd, e2b_client **out_client)
{
	int error;

	error = ctx_resolve_id(ctx, arg, out_id, out_cwd);
	if (error)
		return error;
	return ctx_client(ctx, out_client);
}

int ctx_sandbox_error(int code, const char *id, const char *what)
{
	if (code == E2B_ENOTFOUND && !what) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: sandbox '%s' not found\n", id);
		return E2BCTL_EXIT_NOTFOUND;
	}
	if (what)
		return error_e2b(code, "%s", what);
	return error_e2b(code, "sandbox '%s'", id);
}

/* A string field of the mount's connection file, NULL if null/absent. */
static const char *conn_str(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/*
 * "." inside an e2bfs mount: open the sandbox with the details the mount
 * already holds (.e2bfs/connection), when it is the sandbox and the API
 * this client talks to.  @return 0 (opened, *@p out set) or -1 (ask the
 * API instead)
 */
static int open_from_mount(e2b_sandbox **out, e2b_client *client, const char *id,
			   const char *mnt)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	json_t *j = mnt_read_connection(mnt);
	const char *api;
	int code = -1;

	if (!j)
		return -1;
	api = conn_str(j, "apiUrl");
	if (api && conn_str(j, "sandboxID") && !strcmp(conn_str(j, "sandboxID"), id) &&
	    !strcmp(api, e2b_client_api_url(client))) {
		oo.envd_access_token = conn_str(j, "envdAccessToken");
		oo.envd_version = conn_str(j, "envdVersion");
		oo.domain = conn_str(j, "domain");
		oo.template_id = conn_str(j, "templateID");
		oo.traffic_access_token = conn_str(j, "trafficAccessToken");
		code = e2b_sandbox_open(out, client, id, &oo);
		if (code < 0)
			e2b_error_clear();
	}
	if (oo.envd_access_token)
		explicit_bzero((char *)oo.envd_access_token, strlen(oo.envd_access_token));
	if (oo.traffic_access_token)
		explicit_bzero((char *)oo.traffic_access_token, strlen(oo.traffic_access_token));
	json_decref(j);
	return code < 0 ? -1 : 0;
}

/* Open sandbox @p id with the details in the sandbox cache, when it has a fresh entry.
 * @return 0 (opened, *@p out set) or -1 (ask the API instead) */
static int open_from_cache(e2b_sandbox **out, e2b_client *client, const char *id)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	struct sbcache_entry ce = { 0 };
	int code;

	if (sbcache_load(&ce, e2b_client_api_url(client), id) != 0)
		return -1;
	oo.envd_access_token = ce.envd_access_token;
	oo.envd_version = ce.envd_version;
	oo.domain = ce.domain;
	oo.template_id = ce.template_id;
	code = e2b_sandbox_open(out, client, id, &oo);
	if (code < 0)
		e2b_error_clear();
	sbcache_entry_release(&ce);
	return code < 0 ? -1 : 0;
}

/* Open sandbox @p id with the details the management API gives (refused while it is
 * paused), and keep them in the sandbox cache. */
static int open_from_api(e2b_sandbox **out, e2b_client *client, const char *id)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	struct sbcache_entry ce = { 0 };
	e2b_sandbox_info *info = NULL;
	int error = 0, code;

	code = e2b_mgmt_get_info(&info, client, id);
	if (code < 0)
		return ctx_sandbox_error(code, id, NULL);
	if (info->state == E2B_SANDBOX_STATE_PAUSED) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: sandbox '%s' is paused "
			"(resume it with 'e2bctl resume %s')\n",
			id, id);
		error = E2BCTL_EXIT_CONFLICT;
		goto out;
	}
	if (*info->envd_access_token)
		oo.envd_access_token = info->envd_access_token;
	if (*info->envd_version)
		oo.envd_version = info->envd_version;
	if (*info->domain)
		oo.domain = info->domain;
	if (*info->template_id)
		oo.template_id = info->template_id;
	code = e2b_sandbox_open(out, client, id, &oo);
	if (code < 0) {
		error = error_e2b(code, "cannot open sandbox '%s'", id);
	} else {
		/* Borrowed from info: stored, not released. */
		ce.envd_access_token = (char *)oo.envd_access_token;
		ce.envd_version = (char *)oo.envd_version;
		ce.domain = (char *)oo.domain;
		ce.template_id = (char *)oo.template_id;
		sbcache_store(e2b_client_api_url(client), id, &ce);
	}
out:
	e2b_sandbox_info_free(info);
	return error;
}

/*
 * ctx_sandbox(), the details taken without a management call when
 * @cached and either "." names an e2bfs mount that offers them
 * (.e2bfs/connection) or the sandbox cache (sbcache.c) has a fresh entry
 * (*out_cached = 1).  A successful lookup refreshes the cache entry.
 */
static int sandbox_open(struct cmd_ctx *ctx, const char *arg, e2b_sandbox **out,
			char **out_cwd, int cached, int *out_cached)
{
	e2b_client *client;
	char *id = NULL;
	int error;

	*out = NULL;
	if (out_cached)
		*out_cached = 0;
	if (cached && !strcmp(arg, ".")) {
		char *mnt = NULL;

		error = mnt_here_at(&id, out_cwd, &mnt);
		if (!error)
			error = ctx_client(ctx, &client);
		if (!error && open_from_mount(out, client, id, mnt) == 0)
			*out_cached = 1;
		free(mnt);
		if (error || *out)
			goto out;
	} else {
		error = ctx_id_client(ctx, arg, &id, out_cwd, &client);
		if (error)
			goto out;
	}
	if (cached && open_from_cache(out, client, id) == 0) {
		*out_cached = 1;
		goto out;
	}
	error = open_from_api(out, client, id);
out:
	if (error && out_cwd) {
		free(*out_cwd);
		*out_cwd = NULL;
	}
	free(id);
	return error;
}

int ctx_sandbox(struct cmd_ctx *ctx, const char *arg, e2b_sandbox **out,
		char **out_cwd)
{
	return sandbox_open(ctx, arg, out, out_cwd, 0, NULL);
}

int ctx_sandbox_cached(struct cmd_ctx *ctx, const char *arg, e2b_sandbox **out,
		       char **out_cwd, int *out_cached)
{
	return sandbox_open(ctx, arg, out, out_cwd, 1, out_cached);
}

void ctx_sandbox_forget(e2b_sandbox *sb)
{
	sbcache_forget(e2b_client_api_url(e2b_sandbox_client(sb)), e2b_sandbox_id(sb));
}

char *ctx_path(const char *mount_cwd, const char *path)
{
	/* "~" and "~/x" name the user's home, as a shell would (envd takes
	 * relative paths from there). */
	if (!strcmp(path, "~"))
		return xstrdup(".");
	if (!strncmp(path, "~/", 2))
		return xstrdup(path[2] ? path + 2 : ".");
	if (!mount_cwd || path[0] == '/')
		return xstrdup(path);
	if (!strcmp(path, "."))
		return xstrdup(mount_cwd);
	return xasprintf("%s%s%s", mount_cwd,
			 mount_cwd[strlen(mount_cwd) - 1] == '/' ? "" : "/", path);
}

void ctx_release(struct cmd_ctx *ctx)
{
	e2b_client_free(ctx->client);
	ctx->client = NULL;
	if (ctx->lib_ready)
		e2b_global_shutdown();
	ctx->lib_ready = 0;
	if (ctx->api_key) {
		explicit_bzero(ctx->api_key, strlen(ctx->api_key));
		free(ctx->api_key);
		ctx->api_key = NULL;
	}
	profile_free(ctx->prof);
	ctx->prof = NULL;
	ctx->have_cfg = 0;
}
