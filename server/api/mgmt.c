/* SPDX-License-Identifier: MIT */
/*
 * The management REST API: E2B's sandbox routes (protocol.md §4.1, as the
 * JS SDK 2.51 uses them, §9) and, with --flavor openkruise, the answers of
 * OpenKruise's sandbox-manager where it differs (§4.2).  Served at native
 * paths and again under /kruise/api; http.c strips that prefix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/e2bd.h"
#include "http/reqparse.h"
#include "http/rpc.h"
#include "api/sandbox.h"
#include "api/sblog.h"
#include "api/usage.h"
#include "rfc3339.h"

#define OK_MAX_TIMEOUT 2592000
#define DEFAULT_TIMEOUT 300

/* One management request. */
struct mreq {
	struct MHD_Connection *conn;
	const char *method;
	const char *body;
	size_t len;
	bool too_big;
	char request_id[40];
	char domain[256];
};

static bool openkruise(void)
{
	return g_cfg.flavor == FLAVOR_OPENKRUISE;
}

/*
 * Queue @body (stolen, may be NULL for an empty body) with @status and
 * optionally one extra header.  OpenKruise tags every answer with
 * X-Request-ID.
 */
static enum MHD_Result reply(struct mreq *m, unsigned status, json_t *body,
			     const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;
	char *text = NULL;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!text)
			return MHD_NO;
		r = MHD_create_response_from_buffer(strlen(text), text,
						    MHD_RESPMEM_MUST_FREE);
	} else {
		r = MHD_create_response_from_buffer(0, NULL,
						    MHD_RESPMEM_PERSISTENT);
	}
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	if (hname && hval)
		MHD_add_response_header(r, hname, hval);
	if (openkruise())
		MHD_add_response_header(r, "X-Request-ID", m->request_id);
	ret = MHD_queue_response(m->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result fail(struct mreq *m, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* E2B error JSON {"code","message"}, or OpenKruise's with headers and request_id. */
static enum MHD_Result fail(struct mreq *m, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (openkruise())
		j = json_pack("{s:i, s:n, s:s, s:s}", "code", (int)status,
			      "headers", "message", msg, "request_id",
			      m->request_id);
	else
		j = json_pack("{s:i, s:s}", "code", (int)status, "message", msg);
	if (!j)
		return MHD_NO;
	return reply(m, status, j, NULL, NULL);
}

static enum MHD_Result not_found_sb(struct mreq *m, const char *id)
{
	if (openkruise())
		return fail(m, 404,
			    "Sandbox route not found, maybe it is crashed or killed: %s", id);
	return fail(m, 404, "sandbox \"%s\" doesn't exist or you don't have access to it", id);
}

/* Host facts: CPUs of every sandbox, RAM and disk where no limit applies. */
static long cpu_count, memory_mb, disk_mb;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

static void facts_init(void)
{
	struct statvfs vfs;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	cpu_count = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpu_count < 1)
		cpu_count = 1;
	memory_mb = pages > 0 && psize > 0 ?
		    (long)((double)pages * psize / (1024 * 1024)) : 512;
	disk_mb = statvfs(g_cfg.state_dir, &vfs) == 0 ?
		  (long)((double)vfs.f_blocks * vfs.f_frsize / (1024 * 1024)) :
		  1024;
}

static json_t *rfc3339(time_t t)
{
	char buf[E2BU_RFC3339_MAX];

	if (e2bu_rfc3339_format(buf, sizeof(buf), t, 0, 0) < 0)
		buf[0] = '\0';
	return json_string(buf);
}

enum sb_view { VIEW_SANDBOX, VIEW_DETAIL, VIEW_LISTED };

/* A sandbox as E2B's Sandbox / SandboxDetail / ListedSandbox, or OpenKruise's Sandbox model. */
static json_t *sandbox_json(struct mreq *m, struct sandbox *sb, enum sb_view view)
{
	enum sandbox_state st;
	struct usage_room room;
	time_t end;
	json_t *j;
	bool full = openkruise() || view != VIEW_SANDBOX;

	pthread_once(&facts_once, facts_init);
	st = sandbox_state_get(sb, &end);
	j = json_object();
	if (!j)
		return NULL;
	json_object_set_new(j, "templateID", json_string(sb->template_id));
	json_object_set_new(j, "sandboxID", json_string(sb->id));
	json_object_set_new(j, "clientID", json_string(""));
	json_object_set_new(j, "envdVersion", json_string(openkruise() ?
		E2BD_OPENKRUISE_ENVD_VERSION : E2BD_ENVD_VERSION));
	if (sb->secure && sb->access_token[0] && view != VIEW_LISTED)
		json_object_set_new(j, "envdAccessToken",
				    json_string(sb->access_token));
	if (view != VIEW_LISTED || openkruise())
		json_object_set_new(j, "domain", json_string(m->domain));
	if (full) {
		json_object_set_new(j, "alias", json_string(""));
		json_object_set_new(j, "startedAt", rfc3339(sb->started_at));
		json_object_set_new(j, "endAt", rfc3339(end));
		usage_room(sb, &room);
		json_object_set_new(j, "cpuCount", json_integer(cpu_count));
		json_object_set_new(j, "memoryMB",
				    json_integer((json_int_t)(room.mem_total >> 20)));
		json_object_set_new(j, "diskSizeMB",
				    json_integer((json_int_t)(room.disk_total >> 20)));
		json_object_set_new(j, "state", json_string(
			st == SB_RUNNING ? "running" : "paused"));
		json_object_set(j, "metadata", sb->metadata);
	}
	if (view == VIEW_DETAIL && !openkruise())
		json_object_set_new(j, "lifecycle", json_pack("{s:b, s:s}",
			"autoResume", 0, "onTimeout",
			sb->auto_pause ? "pause" : "kill"));
	return j;
}

/* Parse the body as a JSON object; NULL body → empty object when @optional. */
static json_t *body_json(struct mreq *m, bool optional, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	size_t i;

	for (i = 0; i < m->len && (m->body[i] == ' ' || m->body[i] == '\n' ||
				   m->body[i] == '\r' || m->body[i] == '\t'); i++)
		;
	if (i == m->len) {
		if (optional)
			return json_object();
		snprintf(err, errlen, "request body is empty");
		return NULL;
	}
	j = json_loadb(m->body, m->len, 0, &jerr);
	if (!j) {
		snprintf(err, errlen, "Error when parsing request: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "Error when parsing request: expected a JSON object");
		return NULL;
	}
	return j;
}

/*
 * Read integer field @key of @j into *out.  Returns 1 if present, 0 if
 * absent (or null), -1 if not an integer.
 */
static int int_field(json_t *j, const char *key, long long *out)
{
	json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v)) {
		*out = (long long)json_real_value(v);
		return 1;
	}
	return -1;
}

/* A {string: string} object, or absent. */
static bool string_map_ok(json_t *v)
{
	const char *k;
	json_t *x;

	if (!v || json_is_null(v))
		return true;
	if (!json_is_object(v))
		return false;
	json_object_foreach(v, k, x)
		if (!json_is_string(x))
			return false;
	return true;
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/*
 * Kubernetes IsQualifiedName, which OpenKruise applies to metadata keys
 * (they become annotations): [prefix/]name, the name 1-63 of
 * [A-Za-z0-9-_.] starting and ending alphanumeric, the prefix a DNS-1123
 * subdomain (lowercase, at most 253).  The prefix (@pl bytes of @key,
 * @name what follows its slash) here, the whole key below.
 */
static bool qualified_prefix(const char *key, size_t pl, const char *name)
{
	size_t i;

	if (pl == 0 || pl > 253 || strchr(name, '/'))
		return false;
	for (i = 0; i < pl; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9')) ||
	    !((key[pl - 1] >= 'a' && key[pl - 1] <= 'z') ||
	      (key[pl - 1] >= '0' && key[pl - 1] <= '9')))
		return false;
	return true;
}

static bool qualified_name(const char *key)
{
	const char *slash = strchr(key, '/'), *name = slash ? slash + 1 : key;
	size_t n = strlen(name), i;

	if (slash && !qualified_prefix(key, (size_t)(slash - key), name))
		return false;
	if (n == 0 || n > 63 || !alnum(name[0]) || !alnum(name[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!alnum(name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return false;
	return true;
}

/* Find a template: --template names first, then the built-in base. */
static bool template_find(const char *name, const char **lower)
{
	size_t i;

	for (i = 0; i < g_cfg.ntemplates; i++) {
		if (strcmp(g_cfg.templates[i].name, name) == 0) {
			*lower = g_cfg.templates[i].rootfs;
			return true;
		}
	}
	if (strcmp(name, "base") == 0 || strcmp(name, "code-interpreter") == 0) {
		*lower = NULL;
		return true;
	}
	return false;
}

/* A create's "timeout" into o->timeout_s (E2B's or sandbox-manager's
 * rules); -1 when it answered a 400 (*ret). */
static int create_timeout(struct mreq *m, json_t *body, struct sandbox_opts *o,
			  enum MHD_Result *ret)
{
	long long timeout = DEFAULT_TIMEOUT;
	int r;

	r = int_field(body, "timeout", &timeout);
	if (r < 0) {
		*ret = fail(m, 400, "timeout must be an integer");
		return -1;
	}
	if (openkruise()) {
		if (r == 0 || timeout == 0)
			timeout = DEFAULT_TIMEOUT;
		if (timeout < 30 || timeout > OK_MAX_TIMEOUT) {
			*ret = fail(m, 400, "timeout should between 30 and %d", OK_MAX_TIMEOUT);
			return -1;
		}
	} else {
		if (r == 0)
			timeout = DEFAULT_TIMEOUT;
		if (timeout < 0 || timeout > INT32_MAX) {
			*ret = fail(m, 400, "timeout must be between 0 and %d", INT32_MAX);
			return -1;
		}
	}
	o->timeout_s = (int)timeout;
	return 0;
}

/* A create's booleans (autoPause, allow_internet_access, secure) into @o,
 * whose template_id is set; -1 when it answered a 400 (*ret). */
static int create_flags(struct mreq *m, json_t *body, bool v2, struct sandbox_opts *o,
			enum MHD_Result *ret)
{
	json_t *v;

	v = json_object_get(body, "autoPause");
	if (v && !json_is_boolean(v) && !json_is_null(v)) {
		*ret = fail(m, 400, "autoPause must be a boolean");
		return -1;
	}
	o->auto_pause = json_is_true(v);
	v = json_object_get(body, "allow_internet_access");
	if (v && !json_is_boolean(v) && !json_is_null(v)) {
		*ret = fail(m, 400, "allow_internet_access must be a boolean");
		return -1;
	}
	/* allow_internet_access: false, or a template with --network NAME=none */
	o->no_internet = json_is_false(v) || util_cfg_network_none(o->template_id);
	v = json_object_get(body, "secure");
	if (v && !json_is_boolean(v) && !json_is_null(v)) {
		*ret = fail(m, 400, "secure must be a boolean");
		return -1;
	}
	/* v2 sandboxes are always secured; OpenKruise always mints a token. */
	o->secure = v2 || openkruise() || json_is_true(v);
	return 0;
}

/* A create's metadata and envVars (borrowed from @body) into @o, NULL when
 * null; -1 when it answered a 400 (*ret). */
static int create_maps(struct mreq *m, json_t *body, struct sandbox_opts *o,
		       enum MHD_Result *ret)
{
	o->metadata = json_object_get(body, "metadata");
	o->env_vars = json_object_get(body, "envVars");
	if (!string_map_ok(o->metadata) || !string_map_ok(o->env_vars)) {
		*ret = fail(m, 400, "metadata and envVars must map strings to strings");
		return -1;
	}
	if (json_is_null(o->metadata))
		o->metadata = NULL;
	if (json_is_null(o->env_vars))
		o->env_vars = NULL;
	if (openkruise() && o->metadata) {
		const char *k;
		json_t *mv;

		json_object_foreach(o->metadata, k, mv) {
			if (!qualified_name(k)) {
				*ret = fail(m, 400, "metadata key '%s' is not a valid "
					    "Kubernetes qualified name", k);
				return -1;
			}
		}
	}
	return 0;
}

static enum MHD_Result do_create(struct mreq *m, bool v2)
{
	struct sandbox_opts o = { 0 };
	struct sandbox *sb = NULL;
	char err[512];
	json_t *body, *v;
	const char *tmpl;
	enum MHD_Result ret;

	body = body_json(m, false, err, sizeof(err));
	if (!body)
		return fail(m, 400, "%s", err);
	v = json_object_get(body, "templateID");
	if (v && !json_is_string(v)) {
		ret = fail(m, 400, "templateID must be a string");
		goto out;
	}
	tmpl = v ? json_string_value(v) : g_cfg.default_template;
	if (!tmpl || !tmpl[0]) {
		ret = fail(m, 400, "templateID is required");
		goto out;
	}
	if (!template_find(tmpl, &o.lower)) {
		ret = openkruise() ? fail(m, 400, "Template or Checkpoint not found") :
				     fail(m, 400, "template '%s' not found", tmpl);
		goto out;
	}
	o.template_id = tmpl;
	if (create_timeout(m, body, &o, &ret) < 0 || create_flags(m, body, v2, &o, &ret) < 0 ||
	    create_maps(m, body, &o, &ret) < 0)
		goto out;
	if (sandbox_create(&o, &sb, err, sizeof(err)) < 0) {
		ret = fail(m, 500, "%s", err);
		goto out;
	}
	ret = reply(m, 201, sandbox_json(m, sb, VIEW_SANDBOX), NULL, NULL);
	sandbox_put(sb);
out:
	json_decref(body);
	return ret;
}

/* Metadata filter: pairs parsed from the query. */
struct filter {
	json_t *want;	/* {k: v} */
};

static bool filter_match(struct filter *f, struct sandbox *sb)
{
	const char *k;
	json_t *v, *have;

	json_object_foreach(f->want, k, v) {
		have = json_object_get(sb->metadata, k);
		if (!json_is_string(have) ||
		    strcmp(json_string_value(have), json_string_value(v)) != 0)
			return false;
	}
	return true;
}

/* OpenKruise treats every other query key as an exact metadata filter. */
static enum MHD_Result extra_filter_cb(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	struct filter *f = cls;

	if (strcmp(key, "state") == 0 || strcmp(key, "limit") == 0 ||
	    strcmp(key, "nextToken") == 0 || strcmp(key, "metadata") == 0 ||
	    strcmp(key, "order") == 0 || strcmp(key, "startedAfter") == 0 ||
	    strcmp(key, "template") == 0)
		return MHD_YES;
	json_object_set_new(f->want, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* Order by start time (newest first unless ascending), then by ID. */
static int cmp_desc(const void *a, const void *b)
{
	const struct sandbox *x = *(struct sandbox *const *)a;
	const struct sandbox *y = *(struct sandbox *const *)b;

	if (x->started_at != y->started_at)
		return x->started_at > y->started_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_asc(const void *a, const void *b)
{
	const struct sandbox *x = *(struct sandbox *const *)a;
	const struct sandbox *y = *(struct sandbox *const *)b;

	if (x->started_at != y->started_at)
		return x->started_at < y->started_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Does @sb's template match the filter (ID, or the built-in's alias)? */
static bool template_match(struct sandbox *sb, const char *want)
{
	bool builtin_want = strcmp(want, "base") == 0 ||
			    strcmp(want, "code-interpreter") == 0;
	bool builtin_have = strcmp(sb->template_id, "base") == 0 ||
			    strcmp(sb->template_id, "code-interpreter") == 0;

	if (strcmp(sb->template_id, want) == 0)
		return true;
	return builtin_want && builtin_have && !sb->lower;
}

/* The query of GET /sandboxes and GET /v2/sandboxes, parsed. */
struct list_query {
	struct filter f;
	bool want_running, want_paused, asc, have_after;
	long limit;
	long long tok_t;	/* nextToken's cursor: start time and ID */
	char tok_id[64];
	time_t after;
	const char *tmpl;
};

static const char *list_arg(struct mreq *m, const char *key)
{
	return MHD_lookup_connection_value(m->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Query argument @key that is @yes or @no: 1 for @yes, 0 for @no or when
 * absent, -1 for anything else. */
static int arg_either(struct mreq *m, const char *key, const char *yes, const char *no)
{
	const char *q = list_arg(m, key);

	if (q && strcmp(q, yes) == 0)
		return 1;
	if (q && strcmp(q, no) != 0)
		return -1;
	return 0;
}

/* state=running,paused (either, both, in any order). */
static int list_parse_state(struct mreq *m, struct list_query *lq, const char *q,
			    enum MHD_Result *ret)
{
	const char *tok = q, *end;
	size_t tl;

	lq->want_running = lq->want_paused = false;
	while (*tok) {
		end = strchr(tok, ',');
		tl = end ? (size_t)(end - tok) : strlen(tok);
		if (tl == 7 && strncmp(tok, "running", 7) == 0) {
			lq->want_running = true;
		} else if (tl == 6 && strncmp(tok, "paused", 6) == 0) {
			lq->want_paused = true;
		} else if (tl) {
			*ret = fail(m, 400, "invalid state '%.*s'", (int)tl, tok);
			return -1;
		}
		tok += tl + (end ? 1 : 0);
	}
	return 0;
}

/* nextToken=<started_at>_<id>, as the X-Next-Token this API sent. */
static int list_parse_token(struct list_query *lq, const char *q)
{
	size_t idlen;
	char *end;

	errno = 0;
	lq->tok_t = strtoll(q, &end, 10);
	idlen = *end == '_' ? strlen(end + 1) : 0;
	if (errno || end == q || *end != '_' || idlen == 0 || idlen >= sizeof(lq->tok_id))
		return -1;
	memcpy(lq->tok_id, end + 1, idlen + 1);
	return 0;
}

/* The v2 arguments: state, limit, nextToken, order, startedAfter, template
 * and (OpenKruise) any other key as a metadata filter. */
static int list_parse_v2(struct mreq *m, struct list_query *lq, enum MHD_Result *ret)
{
	const char *q;
	char *end;
	int r;

	q = list_arg(m, "state");
	if (q && list_parse_state(m, lq, q, ret) < 0)
		return -1;
	q = list_arg(m, "limit");
	if (q) {
		errno = 0;
		lq->limit = strtol(q, &end, 10);
		if (errno || end == q || *end || lq->limit < 1 || lq->limit > 100) {
			*ret = fail(m, 400, "limit must be between 1 and 100");
			return -1;
		}
	}
	q = list_arg(m, "nextToken");
	if (q && *q && list_parse_token(lq, q) < 0) {
		*ret = fail(m, 400, "invalid nextToken");
		return -1;
	}
	r = arg_either(m, "order", "asc", "desc");
	if (r < 0) {
		*ret = fail(m, 400, "order must be asc or desc");
		return -1;
	}
	if (r == 1)
		lq->asc = true;
	q = list_arg(m, "startedAfter");
	if (q) {
		if (reqparse_rfc3339(q, &lq->after) < 0) {
			*ret = fail(m, 400, "startedAfter must be an RFC 3339 date-time");
			return -1;
		}
		lq->have_after = true;
	}
	lq->tmpl = list_arg(m, "template");
	if (openkruise())
		MHD_get_connection_values(m->conn, MHD_GET_ARGUMENT_KIND, extra_filter_cb, &lq->f);
	return 0;
}

/* Is @sb (in state @st) listed: state, metadata, start time, template, and
 * not before the nextToken cursor in the listing's order? */
static bool list_wanted(struct list_query *lq, struct sandbox *sb, enum sandbox_state st)
{
	long long t = (long long)sb->started_at;

	if (!((st == SB_RUNNING && lq->want_running) || (st == SB_PAUSED && lq->want_paused)))
		return false;
	if (!filter_match(&lq->f, sb))
		return false;
	if (lq->have_after && sb->started_at < lq->after)
		return false;
	if (lq->tmpl && !template_match(sb, lq->tmpl))
		return false;
	if (lq->tok_id[0] && ((lq->asc ? t < lq->tok_t : t > lq->tok_t) ||
			      (t == lq->tok_t && strcmp(sb->id, lq->tok_id) < 0)))
		return false;	/* before the cursor */
	return true;
}

/* Send @arr (consumed) with X-Next-Token when a page is cut, else with
 * E2B's X-Total-Running when running sandboxes were asked for. */
static enum MHD_Result list_reply(struct mreq *m, struct list_query *lq, json_t *arr,
				  const char *next, int total_running)
{
	char tr[32];

	if (next[0])
		return reply(m, 200, arr, "X-Next-Token", next);
	if (lq->want_running && !openkruise()) {
		snprintf(tr, sizeof(tr), "%d", total_running);
		return reply(m, 200, arr, "X-Total-Running", tr);
	}
	return reply(m, 200, arr, NULL, NULL);
}

static enum MHD_Result do_list(struct mreq *m, bool v2)
{
	struct list_query lq = { .want_running = true, .want_paused = v2, .limit = 100 };
	struct sandbox **list = NULL;
	char next[128] = "";
	json_t *arr = NULL;
	enum MHD_Result ret;
	int n = -1, i, count = 0, total_running = 0;
	const char *q;

	lq.f.want = json_object();
	if (!lq.f.want)
		return MHD_NO;
	if (v2 && list_parse_v2(m, &lq, &ret) < 0)
		goto out;
	q = list_arg(m, "metadata");
	if (q && reqparse_metadata(q, lq.f.want) < 0) {
		ret = MHD_NO;
		goto out;
	}
	n = sandbox_list(&list);
	if (n < 0) {
		ret = fail(m, 500, "out of memory");
		goto out;
	}
	qsort(list, (size_t)n, sizeof(*list), lq.asc ? cmp_asc : cmp_desc);
	arr = json_array();
	for (i = 0; i < n && arr; i++) {
		enum sandbox_state st = sandbox_state_get(list[i], NULL);

		if (st == SB_RUNNING)
			total_running++;
		if (!list_wanted(&lq, list[i], st))
			continue;
		if (v2 && count == lq.limit) {
			snprintf(next, sizeof(next), "%lld_%s",
				 (long long)list[i]->started_at, list[i]->id);
			break;
		}
		json_array_append_new(arr, sandbox_json(m, list[i], VIEW_LISTED));
		count++;
	}
	if (!arr) {
		ret = MHD_NO;
		goto out;
	}
	ret = list_reply(m, &lq, arr, next, total_running);
	arr = NULL;
out:
	json_decref(arr);
	json_decref(lq.f.want);
	if (n >= 0)
		sandbox_list_free(list, n);
	return ret;
}

/* POST /sandboxes/{id}/timeout */
static enum MHD_Result do_timeout(struct mreq *m, struct sandbox *sb)
{
	char err[512];
	json_t *body;
	long long t = 0;
	enum MHD_Result ret;
	int r;

	body = body_json(m, false, err, sizeof(err));
	if (!body)
		return fail(m, openkruise() ? 500 : 400, "%s", err);
	r = int_field(body, "timeout", &t);
	json_decref(body);
	if (openkruise()) {
		/* sandbox-manager answers 500 for everything but 404. */
		if (r <= 0 || t < 1 || t > OK_MAX_TIMEOUT)
			return fail(m, 500, "timeout should between 1 and %d", OK_MAX_TIMEOUT);
		if (sandbox_state_get(sb, NULL) != SB_RUNNING)
			return fail(m, 500, "sandbox %s is not running", sb->id);
	} else if (r <= 0 || t < 0 || t > INT32_MAX) {
		return fail(m, 400, "timeout must be an integer between 0 and %d", INT32_MAX);
	}
	if (sandbox_set_timeout(sb, (int)t, false) < 0)
		return not_found_sb(m, sb->id);
	ret = reply(m, 204, NULL, NULL, NULL);
	return ret;
}

static enum MHD_Result do_pause(struct mreq *m, struct sandbox *sb)
{
	int r = sandbox_pause(sb);

	if (r < 0)
		return sandbox_state_get(sb, NULL) == SB_DEAD ?
		       not_found_sb(m, sb->id) :
		       fail(m, 500, "cannot pause sandbox %s", sb->id);
	if (r > 0)
		return fail(m, 409, "Sandbox %s is already paused", sb->id);
	return reply(m, 204, NULL, NULL, NULL);
}

static enum MHD_Result do_resume(struct mreq *m, struct sandbox *sb)
{
	char err[512];
	json_t *body;
	long long t = 15;
	int r;

	body = body_json(m, !openkruise(), err, sizeof(err));
	if (!body)
		return fail(m, 500, "%s", err);
	r = int_field(body, "timeout", &t);
	json_decref(body);
	if (openkruise()) {
		if (r <= 0 || t < 1 || t > OK_MAX_TIMEOUT)
			return fail(m, 500, "timeout should between 1 and %d", OK_MAX_TIMEOUT);
	} else if (r < 0 || t < 0 || t > INT32_MAX) {
		return fail(m, 400, "timeout must be an integer between 0 and %d", INT32_MAX);
	}
	r = sandbox_resume(sb, (int)t, false);
	if (r < 0)
		return sandbox_state_get(sb, NULL) == SB_DEAD ?
		       not_found_sb(m, sb->id) :
		       fail(m, 500, "cannot resume sandbox %s", sb->id);
	if (r > 0)
		return fail(m, 409, "Sandbox %s is already running", sb->id);
	if (openkruise())
		return reply(m, 204, NULL, NULL, NULL);
	return reply(m, 201, sandbox_json(m, sb, VIEW_SANDBOX), NULL, NULL);
}

/* POST /sandboxes/{id}/connect and /v2/sandboxes/{id}/connect */
static enum MHD_Result do_connect(struct mreq *m, struct sandbox *sb, bool v2)
{
	char err[512];
	json_t *body;
	long long t = DEFAULT_TIMEOUT;
	int r;

	body = body_json(m, v2, err, sizeof(err));
	if (!body) {
		if (openkruise())
			return fail(m, 500, "%s", err);
		return fail(m, 400, "%s", err);
	}
	r = int_field(body, "timeout", &t);
	json_decref(body);
	if (r < 0 || (r == 0 && !v2) || t < 0 || t > INT32_MAX ||
	    (openkruise() && (t < 1 || t > OK_MAX_TIMEOUT)))
		return fail(m, 400, "timeout must be an integer between %d and %d",
			    openkruise() ? 1 : 0,
			    openkruise() ? OK_MAX_TIMEOUT : INT32_MAX);
	if (r == 0)
		t = DEFAULT_TIMEOUT;
	/*
	 * A resumed sandbox runs for the timeout given; a running one is
	 * only ever extended (connect never shortens its end time).
	 */
	r = sandbox_resume(sb, (int)t, false);
	if (r < 0)
		return sandbox_state_get(sb, NULL) == SB_DEAD ?
		       not_found_sb(m, sb->id) :
		       fail(m, openkruise() ? 400 : 500, "cannot resume sandbox %s", sb->id);
	if (r > 0) {
		if (sandbox_set_timeout(sb, (int)t, true) < 0)
			return not_found_sb(m, sb->id);
		return reply(m, 200, sandbox_json(m, sb, VIEW_SANDBOX), NULL, NULL);
	}
	return reply(m, 201, sandbox_json(m, sb, VIEW_SANDBOX), NULL, NULL);
}

static enum MHD_Result do_refresh(struct mreq *m, struct sandbox *sb)
{
	char err[512];
	json_t *body;
	long long d = 0;
	int r;

	body = body_json(m, true, err, sizeof(err));
	if (!body)
		return fail(m, 400, "%s", err);
	r = int_field(body, "duration", &d);
	json_decref(body);
	if (r < 0 || d < 0 || d > 3600)
		return fail(m, 400, "duration must be an integer between 0 and 3600");
	if (sandbox_set_timeout(sb, (int)d, true) < 0)
		return not_found_sb(m, sb->id);
	return reply(m, 204, NULL, NULL, NULL);
}

/* One SandboxMetric sample of @sb, now: its processes' CPU and memory. */
static json_t *metric_now(struct sandbox *sb)
{
	time_t now = time(NULL);
	struct usage_room room;
	struct usage u;
	json_t *one;

	pthread_once(&facts_once, facts_init);
	one = json_object();
	if (!one)
		return NULL;
	json_object_set_new(one, "timestamp", rfc3339(now));
	json_object_set_new(one, "timestampUnix", json_integer(now));
	json_object_set_new(one, "cpuCount", json_integer(cpu_count));
	(void)usage_sample(sb, &u);	/* not running: all zero */
	json_object_set_new(one, "cpuUsedPct",
			    json_real((double)(long long)(u.cpu_pct * 100 + 0.5) / 100));
	json_object_set_new(one, "memUsed", json_integer((json_int_t)u.mem_bytes));
	usage_room(sb, &room);
	json_object_set_new(one, "memTotal", json_integer((json_int_t)room.mem_total));
	json_object_set_new(one, "memCache", json_integer(0));
	json_object_set_new(one, "diskUsed", json_integer((json_int_t)room.disk_used));
	json_object_set_new(one, "diskTotal", json_integer((json_int_t)room.disk_total));
	return one;
}

static enum MHD_Result do_metrics(struct mreq *m, struct sandbox *sb)
{
	json_t *arr = json_array(), *one = metric_now(sb);

	if (!one || !arr) {
		json_decref(one);
		json_decref(arr);
		return MHD_NO;
	}
	json_array_append_new(arr, one);
	return reply(m, 200, arr, NULL, NULL);
}

/* GET /sandboxes/metrics?sandbox_ids=a,b: {"sandboxes": {id: SandboxMetric}}. */
static enum MHD_Result do_metrics_many(struct mreq *m)
{
	const char *q = MHD_lookup_connection_value(m->conn, MHD_GET_ARGUMENT_KIND,
						    "sandbox_ids");
	const char *p, *comma;
	json_t *all, *map;
	struct sandbox *sb;
	char id[64];
	size_t n;
	int count = 0;

	if (!q || !*q)
		return fail(m, 400, "sandbox_ids is required");
	map = json_object();
	all = json_pack("{s:o}", "sandboxes", map);
	if (!all)
		return MHD_NO;
	for (p = q; *p; p = comma ? comma + 1 : p + n) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (++count > 100) {
			json_decref(all);
			return fail(m, 400, "at most 100 sandbox_ids");
		}
		if (n == 0 || n >= sizeof(id))
			continue;
		memcpy(id, p, n);
		id[n] = '\0';
		sb = sandbox_get(id);
		if (sb && sandbox_state_get(sb, NULL) != SB_DEAD)
			json_object_set_new(map, id, metric_now(sb));
		sandbox_put(sb);
	}
	return reply(m, 200, all, NULL, NULL);
}

/* One entry of GET /templates, E2B's Template schema.  The build ID is
 * derived from the name so it stays the same across restarts. */
static json_t *template_json(const char *name, const char *rootfs,
			     const char *alias, bool public)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	uint64_t mem = util_cfg_memory_limit(name) >> 20, disk = util_cfg_disk_limit(name) >> 20;
	char build[40];
	struct stat st;
	time_t t = stat(rootfs ? rootfs : "/usr", &st) == 0 ? st.st_mtime : time(NULL);
	json_t *aliases = json_array(), *names = json_array();

	if (!mem || mem > (uint64_t)memory_mb)
		mem = (uint64_t)memory_mb;	/* no limit, or more than the host has */
	if (!disk)
		disk = (uint64_t)disk_mb;

	if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16)
		memset(md, 0, 16);
	snprintf(build, sizeof(build),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
		 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
	json_array_append_new(names, json_string(name));
	if (alias) {
		json_array_append_new(aliases, json_string(alias));
		json_array_append_new(names, json_string(alias));
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:o, "
			 "s:n, s:n, s:i, s:i, s:s, s:s}",
		"templateID", name, "buildID", build,
		"cpuCount", (json_int_t)cpu_count,
		"memoryMB", (json_int_t)mem, "diskSizeMB", (json_int_t)disk,
		"public", public,
		"aliases", aliases, "names", names,
		"createdAt", rfc3339(t), "updatedAt", rfc3339(t),
		"createdBy", "lastSpawnedAt", "spawnCount", 0, "buildCount", 1,
		"envdVersion", E2BD_ENVD_VERSION, "buildStatus", "ready");
}

/* GET /templates: every --template, then the built-in base (alias
 * code-interpreter) unless a --template of that name replaces it. */
static enum MHD_Result do_templates(struct mreq *m)
{
	const char *lower = NULL;
	json_t *arr = json_array();
	size_t i;

	if (!arr)
		return fail(m, 500, "out of memory");
	pthread_once(&facts_once, facts_init);
	for (i = 0; i < g_cfg.ntemplates; i++)
		json_array_append_new(arr, template_json(g_cfg.templates[i].name,
							 g_cfg.templates[i].rootfs,
							 NULL, false));
	if (template_find("base", &lower) && !lower)
		json_array_append_new(arr, template_json("base", NULL,
			template_find("code-interpreter", &lower) && !lower ?
			"code-interpreter" : NULL, true));
	return reply(m, 200, arr, NULL, NULL);
}

/* A query argument as an integer in [@min, @max]; 1 if absent, -1 if bad. */
static int arg_int(struct mreq *m, const char *key, long long min, long long max,
		   long long *out)
{
	const char *q = list_arg(m, key);
	char *end;

	if (!q)
		return 1;
	errno = 0;
	*out = strtoll(q, &end, 10);
	if (errno || end == q || *end || *out < min || *out > max)
		return -1;
	return 0;
}

/* The v2 logs query's direction, level and search into @q; -1 when it
 * answered a 400 (*ret). */
static int logs_parse_v2(struct mreq *m, struct sblog_query *q, enum MHD_Result *ret)
{
	const char *s;
	int r;

	r = arg_either(m, "direction", "forward", "backward");
	if (r < 0) {
		*ret = fail(m, 400, "direction must be forward or backward");
		return -1;
	}
	q->backward = r == 0;
	s = list_arg(m, "level");
	if (s) {
		r = sblog_level_parse(s);
		if (r < 0) {
			*ret = fail(m, 400, "level must be debug, info, warn or error");
			return -1;
		}
		q->min_level = (enum sblog_level)r;
	}
	q->search = list_arg(m, "search");
	if (q->search && strlen(q->search) > 256) {
		*ret = fail(m, 400, "search is longer than 256 bytes");
		return -1;
	}
	return 0;
}

static enum MHD_Result logs_reply_v1(struct mreq *m, json_t *entries);

/*
 * Sandbox logs (sblog.c), of a live sandbox or a killed one still kept.
 * v1: `start` (ms, entries from it on) and `limit` (default 1000), oldest
 * first, as {"logs": [{timestamp, line}], "logEntries": [SandboxLogEntry]}.
 * v2: `cursor` (ms), `limit` (0-1000, default 1000), `direction`
 * (backward, newest first, is the default as in E2B's API: entries at or
 * before the cursor; forward: at or after it), `level` (the least level),
 * `search` (substring of the message, at most 256 bytes), as {"logs":
 * [SandboxLogEntry]}.
 */
static enum MHD_Result do_logs(struct mreq *m, const char *id, bool v2)
{
	struct sblog_query q = { .cursor_ms = -1, .limit = 1000,
				 .min_level = SBLOG_DEBUG };
	long long v;
	json_t *entries = NULL;
	enum MHD_Result ret;
	int r;

	r = arg_int(m, v2 ? "cursor" : "start", 0, INT64_MAX, &v);
	if (r < 0)
		return fail(m, 400, "%s must be a non-negative integer (ms)",
			    v2 ? "cursor" : "start");
	if (r == 0)
		q.cursor_ms = v;
	r = arg_int(m, "limit", 0, v2 ? 1000 : INT32_MAX, &v);
	if (r < 0)
		return fail(m, 400, v2 ? "limit must be between 0 and 1000" :
			    "limit must be a non-negative integer");
	if (r == 0)
		q.limit = (size_t)v;
	if (v2 && logs_parse_v2(m, &q, &ret) < 0)
		return ret;
	r = sblog_query(&entries, id, &q, NULL);
	if (r == -1)
		return not_found_sb(m, id);
	if (r < 0)
		return fail(m, 500, "out of memory");
	if (v2)
		return reply(m, 200, json_pack("{s:o}", "logs", entries), NULL, NULL);
	return logs_reply_v1(m, entries);
}

/* The v1 answer: @entries (consumed) as {"logs": [{timestamp, line}],
 * "logEntries": @entries}. */
static enum MHD_Result logs_reply_v1(struct mreq *m, json_t *entries)
{
	json_t *lines, *line, *e;
	size_t i;
	char *text;

	lines = json_array();
	if (!lines) {
		json_decref(entries);
		return fail(m, 500, "out of memory");
	}
	json_array_foreach(entries, i, e) {
		text = sblog_line(e);
		line = text ? json_pack("{s:O, s:s}", "timestamp",
					json_object_get(e, "timestamp"), "line", text) : NULL;
		free(text);
		if (!line || json_array_append_new(lines, line) < 0) {
			json_decref(lines);
			json_decref(entries);
			return fail(m, 500, "out of memory");
		}
	}
	return reply(m, 200, json_pack("{s:o, s:o}", "logs", lines, "logEntries",
				       entries), NULL, NULL);
}

static int hexnib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * OpenKruise's key wrapper for SDKs that insist on ^e2b_[0-9a-f]+$
 * (protocol.md §1.9): "e2b_" "6f6b6167" "01", 8 hex digits of the raw
 * length, the raw key in hex, then 16 hex digits of
 * SHA-256("openkruise-agents/e2b-key-compat/v1" + raw).  Unwraps into
 * @raw; -1 if @k is not a well-formed wrapped key.
 */
static int unwrap_key(const char *k, char *raw, size_t rawlen)
{
	static const char salt[] = "openkruise-agents/e2b-key-compat/v1";
	unsigned char md[EVP_MAX_MD_SIZE], buf[sizeof(salt) + 256];
	size_t len = 0, i, klen = strlen(k);
	unsigned int mdlen = 0;
	int hi, lo;

	if (strncmp(k, "e2b_6f6b616701", 14) != 0 || klen < 14 + 8 + 16)
		return -1;
	for (i = 14; i < 22; i++) {
		if (hexnib(k[i]) < 0)
			return -1;
		len = len * 16 + (size_t)hexnib(k[i]);
	}
	if (len == 0 || len >= rawlen || len > 256 || klen != 22 + 2 * len + 16)
		return -1;
	for (i = 0; i < len; i++) {
		hi = hexnib(k[22 + 2 * i]);
		lo = hexnib(k[23 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (char)(hi * 16 + lo);
	}
	raw[len] = '\0';
	memcpy(buf, salt, sizeof(salt) - 1);
	memcpy(buf + sizeof(salt) - 1, raw, len);
	if (EVP_Digest(buf, sizeof(salt) - 1 + len, md, &mdlen, EVP_sha256(),
		       NULL) != 1 || mdlen < 8)
		return -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	for (i = 0; i < 8; i++) {
		hi = hexnib(k[22 + 2 * len + 2 * i]);
		lo = hexnib(k[23 + 2 * len + 2 * i]);
		if (hi < 0 || lo < 0 || (unsigned)(hi * 16 + lo) != md[i])
			return -1;
	}
	return 0;
}

static bool key_equal(const char *k)
{
	size_t n = strlen(g_cfg.api_key);

	return n && strlen(k) == n && CRYPTO_memcmp(k, g_cfg.api_key, n) == 0;
}

static bool key_ok(struct MHD_Connection *c)
{
	const char *k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
	char raw[sizeof(g_cfg.api_key)];
	bool ok;

	if (!k)
		return false;
	if (key_equal(k))
		return true;
	if (!openkruise() || unwrap_key(k, raw, sizeof(raw)) < 0)
		return false;
	ok = key_equal(raw);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

static bool is_hex32(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

static void fill_request(struct mreq *m)
{
	const char *h;

	h = MHD_lookup_connection_value(m->conn, MHD_HEADER_KIND, "X-Request-ID");
	if (h && is_hex32(h))
		snprintf(m->request_id, sizeof(m->request_id), "%s", h);
	else if (util_random_hex(m->request_id, sizeof(m->request_id), 16) < 0)
		snprintf(m->request_id, sizeof(m->request_id),
			 "00000000000000000000000000000000");
	if (g_cfg.domain) {
		snprintf(m->domain, sizeof(m->domain), "%s", g_cfg.domain);
		return;
	}
	h = MHD_lookup_connection_value(m->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!h || !*h)
		h = "localhost";
	if (strncmp(h, "api.", 4) == 0)
		h += 4;
	snprintf(m->domain, sizeof(m->domain), "%s", h);
}

static enum MHD_Result unknown_path(struct mreq *m)
{
	if (openkruise()) {
		static const char text[] = "404 page not found\n";
		struct MHD_Response *r;
		enum MHD_Result ret;

		r = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
		ret = MHD_queue_response(m->conn, 404, r);
		MHD_destroy_response(r);
		return ret;
	}
	return fail(m, 404, "not found");
}

static enum MHD_Result method_not_allowed(struct mreq *m, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!openkruise()) {
		json_t *j = json_pack("{s:i, s:s}", "code", 405, "message",
				      "method not allowed");

		return j ? reply(m, 405, j, MHD_HTTP_HEADER_ALLOW, allow) : MHD_NO;
	}
	r = MHD_create_response_from_buffer(19, (void *)"Method Not Allowed\n",
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	ret = MHD_queue_response(m->conn, 405, r);
	MHD_destroy_response(r);
	return ret;
}

/* Route names for sandbox-scoped actions. */
enum action {
	A_NONE, A_CREATE, A_LIST, A_CREATE_V2, A_LIST_V2, A_GET, A_DELETE,
	A_TIMEOUT, A_PAUSE, A_RESUME, A_CONNECT, A_CONNECT_V2, A_REFRESH,
	A_METRICS, A_METRICS_MANY, A_LOGS, A_LOGS_V2, A_TEMPLATES,
};

/*
 * OpenKruise's sandbox-manager registers fewer routes, on Go 1.22's
 * ServeMux, each also as a trailing-slash subtree: POST /sandboxes,
 * GET /v2/sandboxes, GET/DELETE /sandboxes/{id}, POST
 * /sandboxes/{id}/{pause,resume,connect,timeout}.  A path matched only
 * by patterns of other methods is 405; otherwise the most specific
 * pattern of the method serves it, so e.g. GET /sandboxes/{id}/metrics is
 * the describe handler and POST /sandboxes/{id}/refreshes the create
 * handler (protocol.md §4.2.1).
 */
static enum action route_openkruise(const char *method, const char *path,
				    char *id, size_t idlen, const char **allow)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
	     del = strcmp(method, "DELETE") == 0;
	const char *p, *slash, *sub;
	size_t n;

	if (strcmp(path, "/v2/sandboxes") == 0 ||
	    strncmp(path, "/v2/sandboxes/", 14) == 0) {
		*allow = "GET";
		return get ? A_LIST_V2 : A_NONE;
	}
	if (strcmp(path, "/sandboxes") == 0) {
		*allow = "POST";
		return post ? A_CREATE : A_NONE;
	}
	if (strncmp(path, "/sandboxes/", 11) != 0)
		return A_NONE;
	p = path + 11;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= idlen) {
		*allow = "POST";	/* the POST /sandboxes/ subtree */
		return post ? A_CREATE : A_NONE;
	}
	memcpy(id, p, n);
	id[n] = '\0';
	sub = slash ? slash + 1 : "";
	if (post) {
		if (strcmp(sub, "pause") == 0)
			return A_PAUSE;
		if (strcmp(sub, "resume") == 0)
			return A_RESUME;
		if (strcmp(sub, "connect") == 0)
			return A_CONNECT;
		if (strcmp(sub, "timeout") == 0)
			return A_TIMEOUT;
		return A_CREATE;
	}
	if (get)
		return A_GET;
	if (del)
		return A_DELETE;
	*allow = "DELETE, GET, POST";
	return A_NONE;
}

/*
 * Match @path: fills *id for sandbox routes.  Returns the action for
 * @method, A_NONE with *allow set for a known path with another method,
 * or A_NONE with *allow NULL for an unknown path.
 * Long: the routing table of E2B's paths, a few lines per path; split, the
 * paths and their methods would no longer read in one place.
 */
static enum action route(const char *method, const char *path, char *id,
			 size_t idlen, const char **allow)
{
	const char *p, *slash, *sub;
	bool v2 = false, get = strcmp(method, "GET") == 0,
	     post = strcmp(method, "POST") == 0;
	size_t n;

	*allow = NULL;
	if (openkruise())
		return route_openkruise(method, path, id, idlen, allow);
	if (strcmp(path, "/sandboxes") == 0 || strcmp(path, "/v2/sandboxes") == 0) {
		v2 = path[1] == 'v';
		*allow = "GET, POST";
		return post ? (v2 ? A_CREATE_V2 : A_CREATE) :
		       get ? (v2 ? A_LIST_V2 : A_LIST) : A_NONE;
	}
	if (strcmp(path, "/sandboxes/metrics") == 0) {
		*allow = "GET";
		return get ? A_METRICS_MANY : A_NONE;
	}
	if (strcmp(path, "/templates") == 0) {
		*allow = "GET";
		return get ? A_TEMPLATES : A_NONE;
	}
	if (strncmp(path, "/sandboxes/", 11) == 0) {
		p = path + 11;
	} else if (strncmp(path, "/v2/sandboxes/", 14) == 0) {
		p = path + 14;
		v2 = true;
	} else {
		return A_NONE;
	}
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= idlen)
		return A_NONE;
	memcpy(id, p, n);
	id[n] = '\0';
	sub = slash ? slash + 1 : NULL;
	if (v2) {
		if (sub && strcmp(sub, "connect") == 0) {
			*allow = "POST";
			return post ? A_CONNECT_V2 : A_NONE;
		}
		if (sub && strcmp(sub, "logs") == 0) {
			*allow = "GET";
			return get ? A_LOGS_V2 : A_NONE;
		}
		return A_NONE;
	}
	if (!sub) {
		*allow = "GET, DELETE";
		return get ? A_GET : strcmp(method, "DELETE") == 0 ? A_DELETE : A_NONE;
	}
	if (strcmp(sub, "metrics") == 0) {
		*allow = "GET";
		return get ? A_METRICS : A_NONE;
	}
	if (strcmp(sub, "logs") == 0) {
		*allow = "GET";
		return get ? A_LOGS : A_NONE;
	}
	*allow = "POST";
	if (strcmp(sub, "timeout") == 0)
		return post ? A_TIMEOUT : A_NONE;
	if (strcmp(sub, "pause") == 0)
		return post ? A_PAUSE : A_NONE;
	if (strcmp(sub, "resume") == 0)
		return post ? A_RESUME : A_NONE;
	if (strcmp(sub, "connect") == 0)
		return post ? A_CONNECT : A_NONE;
	if (strcmp(sub, "refreshes") == 0)
		return post ? A_REFRESH : A_NONE;
	*allow = NULL;
	return A_NONE;
}

/* GET or HEAD /health: "OK", as E2B's API answers it. */
static enum MHD_Result do_health(struct mreq *m)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (strcmp(m->method, "GET") != 0 && strcmp(m->method, "HEAD") != 0)
		return method_not_allowed(m, "GET");
	r = MHD_create_response_from_buffer(2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(m->conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* Action @a on the live sandbox @sb (id @id; the caller's reference). */
static enum MHD_Result do_sandbox_action(struct mreq *m, enum action a, struct sandbox *sb,
					 const char *id)
{
	switch (a) {
	case A_GET:
		return reply(m, 200, sandbox_json(m, sb, VIEW_DETAIL), NULL, NULL);
	case A_DELETE:
		if (sandbox_kill(sb) < 0 && !openkruise())
			return not_found_sb(m, id);
		return reply(m, 204, NULL, NULL, NULL);
	case A_TIMEOUT:
		return do_timeout(m, sb);
	case A_PAUSE:
		return do_pause(m, sb);
	case A_RESUME:
		return do_resume(m, sb);
	case A_CONNECT:
		return do_connect(m, sb, false);
	case A_CONNECT_V2:
		return do_connect(m, sb, true);
	case A_REFRESH:
		return do_refresh(m, sb);
	case A_METRICS:
		return do_metrics(m, sb);
	default:
		return unknown_path(m);
	}
}

/* Action @a on sandbox @id: its logs (a killed sandbox's too), else the
 * live sandbox's action; 404 when it is gone (sandbox-manager: 204 for a
 * DELETE of a killed one). */
static enum MHD_Result do_sandbox_route(struct mreq *m, enum action a, const char *id)
{
	struct sandbox *sb;
	enum MHD_Result ret;

	if (a == A_LOGS || a == A_LOGS_V2)
		return do_logs(m, id, a == A_LOGS_V2);	/* a killed sandbox's too */
	sb = sandbox_get(id);
	if (sb && sandbox_state_get(sb, NULL) == SB_DEAD) {
		/* Being killed right now: already gone for the API. */
		sandbox_put(sb);
		sb = NULL;
		if (a == A_DELETE && openkruise())
			return reply(m, 204, NULL, NULL, NULL);
	}
	if (!sb) {
		if (a == A_DELETE && openkruise() && sandbox_was_killed(id))
			return reply(m, 204, NULL, NULL, NULL);
		return not_found_sb(m, id);
	}
	ret = do_sandbox_action(m, a, sb, id);
	sandbox_put(sb);
	return ret;
}

int mgmt_handle(struct MHD_Connection *c, const char *method,
		const char *path, bool prefixed, const char *body, size_t len,
		bool too_big)
{
	struct mreq m = { .conn = c, .method = method, .body = body ? body : "",
			  .len = body ? len : 0, .too_big = too_big };
	char trimmed[1024], id[64];
	const char *allow;
	enum action a;
	size_t n = strlen(path);

	fill_request(&m);
	if (n >= sizeof(trimmed))
		return unknown_path(&m);
	memcpy(trimmed, path, n + 1);
	/* Go's mux also serves each pattern's trailing-slash subtree. */
	if (n > 1 && trimmed[n - 1] == '/')
		trimmed[n - 1] = '\0';

	if (strcmp(trimmed, "/health") == 0 && !prefixed)
		return do_health(&m);
	a = route(method, trimmed, id, sizeof(id), &allow);
	if (a == A_NONE)
		return allow ? method_not_allowed(&m, allow) : unknown_path(&m);
	if (!key_ok(c))
		return openkruise() ? fail(&m, 401, "Invalid API Key") :
				      fail(&m, 401, "Invalid API key");
	if (too_big)
		return fail(&m, 413, "request body larger than %u bytes",
			    E2BD_MAX_JSON_BODY);
	switch (a) {
	case A_CREATE:
		return do_create(&m, false);
	case A_CREATE_V2:
		return do_create(&m, true);
	case A_LIST:
		return do_list(&m, false);
	case A_LIST_V2:
		return do_list(&m, true);
	case A_METRICS_MANY:
		return do_metrics_many(&m);
	case A_TEMPLATES:
		return do_templates(&m);
	default:
		return do_sandbox_route(&m, a, id);
	}
}
