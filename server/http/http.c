/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 listener (libmicrohttpd, one thread per connection) and the
 * front door of every request: it tells envd traffic (routed by path
 * prefix, headers or Host, as E2B's edge and OpenKruise's gateway do) from
 * management API calls, applies envd's middleware chain (access token,
 * Basic-auth user) and hands the request to the Connect layer, the envd
 * HTTP routes or the management API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "core/e2bd.h"
#include "http/portproxy.h"
#include "http/reqparse.h"
#include "http/rpc.h"
#include "api/sandbox.h"
#include "envd/users.h"

static struct MHD_Daemon *daemon_;

#define HTTP_MAX_CONNECTIONS 4096u

/*
 * Slow clients (issue 9 item 5).  One thread per connection and 4,096
 * connections at most: a client that opens connections and never finishes
 * a request head would hold them all.  So each connection is watched: one
 * that has not sent a complete request head within --header-timeout
 * seconds of connecting, or of the end of its previous request (an idle
 * keep-alive connection), is shut down by the watchdog thread.  A request
 * being served (an open stream, a slow upload) is never cut.  MHD caps the
 * connections of one client address (--max-connections-per-ip), and
 * reaching a cap is logged as a warning (at most every 10 s).
 */
struct conn_watch {
	int fd;
	bool in_request;	/* protected by watch_lock */
	int64_t since_ms;	/* protected by watch_lock; idle since */
	struct conn_watch *prev, *next;	/* protected by watch_lock */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_watch *watch_head;	/* protected by watch_lock */
static pthread_t watchdog_thread;
static atomic_bool watchdog_stop;
static bool watchdog_started;

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct conn_watch *w = *socket_context;
	const union MHD_ConnectionInfo *info;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		w = calloc(1, sizeof(*w));
		if (!w || !info) {
			free(w);
			return;
		}
		w->fd = info->connect_fd;
		w->since_ms = log_now_ms();
		pthread_mutex_lock(&watch_lock);
		w->next = watch_head;
		if (watch_head)
			watch_head->prev = w;
		watch_head = w;
		pthread_mutex_unlock(&watch_lock);
		*socket_context = w;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && w) {
		/* Before MHD closes the socket: the watchdog never sees a reused fd. */
		pthread_mutex_lock(&watch_lock);
		if (w->prev)
			w->prev->next = w->next;
		else
			watch_head = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&watch_lock);
		free(w);
		*socket_context = NULL;
	}
}

/* Mark the connection of @c as serving a request (or idle again). */
static void watch_mark(struct MHD_Connection *c, bool in_request)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_watch *w = info ? info->socket_context : NULL;

	if (!w)
		return;
	pthread_mutex_lock(&watch_lock);
	w->in_request = in_request;
	w->since_ms = log_now_ms();
	pthread_mutex_unlock(&watch_lock);
}

static void *watchdog_main(void *arg)
{
	struct conn_watch *w;
	int64_t now, limit = (int64_t)g_cfg.header_timeout_s * 1000;
	unsigned cut;

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		usleep(250 * 1000);
		now = log_now_ms();
		cut = 0;
		pthread_mutex_lock(&watch_lock);
		for (w = watch_head; w; w = w->next) {
			if (w->in_request || now - w->since_ms < limit)
				continue;
			shutdown(w->fd, SHUT_RDWR);
			w->since_ms = INT64_MAX / 2;	/* once */
			cut++;
		}
		pthread_mutex_unlock(&watch_lock);
		if (cut)
			log_dbg("closed %u connection(s) without a request head for %u s",
				cut, g_cfg.header_timeout_s);
	}
	return NULL;
}

enum req_kind { RK_DONE, RK_MGMT, RK_RPC, RK_ENVD_HTTP, RK_PROXY, RK_NEW };

/* Per-request state, MHD's *con_cls. */
struct http_req {
	enum req_kind kind;
	/* RK_MGMT */
	char *path;
	bool prefixed;
	char *body;
	size_t len, cap;
	bool too_big;
	/* RK_RPC */
	struct rpc_call *call;
	/* RK_ENVD_HTTP (envd.ctx.sb holds a reference) */
	struct envd_request envd;
	char *envd_path;
	bool envd_body;		/* POST /files or /files/compose: pass the body on */
	/* RK_PROXY: a sandbox port other than envd's */
	char *raw_uri;		/* as received, query included */
	struct portproxy *proxy;
};

static int body_append(struct http_req *r, const char *data, size_t n)
{
	if (r->too_big || r->len + n > E2BD_MAX_JSON_BODY) {
		r->too_big = true;
		return -1;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b) {
			r->too_big = true;
			return -1;
		}
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return 0;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status,
				 const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* What E2B's edge proxy or OpenKruise's gateway says for a sandbox it cannot reach. */
static enum MHD_Result send_not_found_sandbox(struct MHD_Connection *c,
					      const char *id, bool known)
{
	char text[256];
	enum MHD_Result ret = MHD_NO;
	json_t *j;
	char *s;

	if (g_cfg.flavor == FLAVOR_OPENKRUISE) {
		snprintf(text, sizeof(text), "%ssandbox not found: %s",
			 known ? "healthy " : "", id);
		return send_text(c, 502, text);
	}
	j = json_pack("{s:s, s:s, s:i}", "sandboxId", id, "message",
		      "The sandbox was not found", "code", 502);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s) {
		struct MHD_Response *r;

		r = MHD_create_response_from_buffer(strlen(s), s,
						    MHD_RESPMEM_MUST_COPY);
		if (r) {
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/json; charset=utf-8");
			ret = MHD_queue_response(c, 502, r);
			MHD_destroy_response(r);
		}
	}
	free(s);
	json_decref(j);
	return ret;
}

/*
 * The user named by Authorization: Basic, into @name.  Returns 1 if one
 * was sent, 0 if none (absent or not Basic: envd then uses its default).
 */
static int basic_user(struct MHD_Connection *c, char *name, size_t namelen)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	return h ? reqparse_basic_user(h, name, namelen) : 0;
}

static bool token_ok(struct sandbox *sb, struct MHD_Connection *c)
{
	const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    "X-Access-Token");
	size_t n = strlen(sb->access_token);

	return t && strlen(t) == n && CRYPTO_memcmp(t, sb->access_token, n) == 0;
}

static bool test_rpc;

static const struct rpc_method *find_method(const char *path)
{
	const struct rpc_method *tables[] = { fsrpc_methods, process_methods,
					      rpc_test_methods };
	const struct rpc_method *m;
	size_t i;

	for (i = 0; i < (test_rpc ? 3u : 2u); i++)
		for (m = tables[i]; m->path; m++)
			if (strcmp(m->path, path) == 0)
				return m;
	return NULL;
}

/*
 * Find the envd target of a request: *id, *port and the envd-local path.
 * Returns 1 for envd traffic, 0 for the management API, -1 for a
 * malformed /kruise/<id>/<port> path (404).
 */
static int route_envd(struct MHD_Connection *c, const char *url, char *id,
		      size_t idlen, long *port, const char **path)
{
	const char *h;
	int r;

	*path = url;
	r = reqparse_kruise_path(url, id, idlen, port, path);
	if (r != 0)
		return r;
	/* /kruise/api is the management API whatever the headers say. */
	if (strncmp(url, "/kruise/api", 11) == 0 && (url[11] == '/' || !url[11]))
		return 0;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "E2b-Sandbox-Id");
	if (h) {
		if (!*h || strlen(h) >= idlen)
			return -1;
		snprintf(id, idlen, "%s", h);
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						"E2b-Sandbox-Port");
		*port = h ? reqparse_port(h, strlen(h)) : E2BD_ENVD_PORT;
		return 1;
	}
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	return h ? reqparse_host(h, id, idlen, port) : 0;
}

/* A request for one of the sandbox's own ports (not envd's): hand it to
 * the port proxy.  Puts sb's reference. */
static enum MHD_Result begin_port_proxy(struct http_req *req,
					struct MHD_Connection *c,
					struct sandbox *sb, const char *method,
					long port, const char *path, bool kruise)
{
	enum MHD_Result ret;
	char buf[8192];
	const char *target;

	/* Like E2B's edge: no access token for the sandbox's own ports. */
	target = req->raw_uri ? portproxy_target(req->raw_uri, kruise,
						 buf, sizeof(buf)) : path;
	req->proxy = portproxy_begin(c, sb, port, method, target, &ret);
	sandbox_put(sb);
	if (!req->proxy)
		return ret;
	req->kind = RK_PROXY;
	return MHD_YES;
}

/* The user an envd request runs as, into ctx: Basic auth's, else "user"
 * (envd's defaults where the template has none).  -1 when the named user
 * is unknown: the error is answered (*ret) and sb's reference put. */
static int envd_user(struct MHD_Connection *c, struct sandbox *sb,
		     struct rpc_ctx *ctx, enum MHD_Result *ret)
{
	struct rpc_error err = { 0 };
	char user[128];
	int explicit_user;

	explicit_user = basic_user(c, user, sizeof(user));
	if (explicit_user) {
		if (users_lookup(sb, user, &ctx->user) < 0) {
			const char *ct = MHD_lookup_connection_value(c,
				MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

			rpc_fail(&err, "unauthenticated", "invalid username: '%s'", user);
			sandbox_put(sb);
			*ret = rpc_is_stream_content_type(ct) ?
			       rpc_send_stream_error(c, &err) :
			       rpc_send_connect_error(c, &err);
			return -1;
		}
		ctx->user_explicit = true;
	} else if (users_lookup(sb, "user", &ctx->user) < 0) {
		/* Template without the default user yet: envd's defaults. */
		snprintf(ctx->user.name, sizeof(ctx->user.name), "user");
		ctx->user.uid = 1000;
		ctx->user.gid = 1000;
		snprintf(ctx->user.home, sizeof(ctx->user.home), "/home/user");
	}
	return 0;
}

/* An envd request that is no RPC: envd's HTTP handlers (/files, /health,
 * ...) take it from the body on; an unknown RPC path is a 404.  sb's
 * reference goes with ctx, or is put on failure. */
static enum MHD_Result begin_envd_http(struct http_req *req,
				       struct MHD_Connection *c,
				       struct sandbox *sb, const char *method,
				       const char *path, const struct rpc_ctx *ctx)
{
	if (strncmp(path, "/filesystem.Filesystem/", 23) == 0 ||
	    strncmp(path, "/process.Process/", 17) == 0) {
		sandbox_put(sb);
		return send_text(c, 404, "404 page not found\n");
	}
	req->envd_path = strdup(path);
	if (!req->envd_path) {
		sandbox_put(sb);
		return MHD_NO;
	}
	req->kind = RK_ENVD_HTTP;
	req->envd_body = strcmp(method, "POST") == 0 &&
			 (strcmp(path, "/files") == 0 ||
			  strcmp(path, "/files/compose") == 0);
	req->envd.conn = c;
	req->envd.ctx = *ctx;
	req->envd.method = method;
	req->envd.path = req->envd_path;
	return MHD_YES;
}

/* First call for an envd request: envd's middleware chain, then dispatch. */
static enum MHD_Result begin_envd(struct http_req *req, struct MHD_Connection *c,
				  const char *method, const char *id, long port,
				  const char *path, bool kruise)
{
	struct rpc_ctx ctx = { 0 };
	const struct rpc_method *m;
	struct sandbox *sb;
	enum MHD_Result ret;
	bool exempt;

	sb = sandbox_get(id);
	if (!sb || sandbox_state_get(sb, NULL) != SB_RUNNING) {
		ret = send_not_found_sandbox(c, id, sb != NULL);
		sandbox_put(sb);
		return ret;
	}
	if (port != E2BD_ENVD_PORT)
		return begin_port_proxy(req, c, sb, method, port, path, kruise);
	exempt = (strcmp(method, "GET") == 0 && strcmp(path, "/health") == 0) ||
		 ((strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0) &&
		  strcmp(path, "/files") == 0);
	if (sb->secure && sb->access_token[0] && !exempt && !token_ok(sb, c)) {
		sandbox_put(sb);
		return rpc_send_error(c, 401, "unauthorized access, please provide a valid "
				      "access token or method signing if supported");
	}

	ctx.sb = sb;
	if (envd_user(c, sb, &ctx, &ret) < 0)
		return ret;
	ctx.keepalive_s = 90;

	m = find_method(path);
	if (m) {
		req->call = rpc_call_begin(c, method, m, &ctx, &ret);
		if (!req->call)
			return ret;	/* rpc_call_begin put the reference */
		req->kind = RK_RPC;
		return MHD_YES;
	}
	return begin_envd_http(req, c, sb, method, path, &ctx);
}

static enum MHD_Result begin_request(struct http_req *req,
				     struct MHD_Connection *c, const char *url,
				     const char *method)
{
	const char *path;
	char id[64];
	long port = E2BD_ENVD_PORT;
	int r;

	r = route_envd(c, url, id, sizeof(id), &port, &path);
	if (r < 0)
		return rpc_send_error(c, 404, "not found");
	if (r > 0) {
		log_dbg("envd %s %s %s", id, method, path);
		/* route_envd() moves path past a /kruise/<id>/<port> prefix. */
		return begin_envd(req, c, method, id, port, path, path != url);
	}
	log_dbg("api %s %s", method, url);
	req->prefixed = strncmp(url, "/kruise/api", 11) == 0;
	path = req->prefixed ? url + 11 : url;
	req->path = strdup(*path ? path : "/");
	if (!req->path)
		return MHD_NO;
	req->kind = RK_MGMT;
	return MHD_YES;
}

/*
 * Request hygiene (issue 9 items 8 and 10), checked before any routing.
 * MHD decodes %00 in the URL and its arguments into a NUL that ends the C
 * string we are given ("/etc/passwd%00.png" would read as "/etc/passwd"),
 * so the raw URI is looked at instead.
 */
static bool uri_has_nul(const struct http_req *req)
{
	return req->raw_uri && strstr(req->raw_uri, "%00");
}

struct framing {
	unsigned content_length, transfer_encoding;
	bool te_other;		/* a Transfer-Encoding other than "chunked" */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->content_length++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->transfer_encoding++;
		if (!value || strcasecmp(value, "chunked") != 0)
			f->te_other = true;
	}
	return MHD_YES;
}

/*
 * Conflicting body framing (two Content-Length headers, Content-Length with
 * Transfer-Encoding, or a coding other than chunked) is how a request is
 * smuggled past a proxy that reads the framing another way: answer 400 and
 * close the connection, so nothing after this request's head is served.
 */
static bool refuse_framing(struct MHD_Connection *c, enum MHD_Result *ret)
{
	struct framing f = { 0 };
	struct MHD_Response *r;
	static const char text[] = "{\"code\":400,\"message\":\"conflicting request framing\"}\n";

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
	if (f.content_length <= 1 && f.transfer_encoding == 0)
		return false;
	if (f.transfer_encoding == 1 && f.content_length == 0 && !f.te_other)
		return false;
	log_warn("request with conflicting framing refused "
		 "(%u Content-Length, %u Transfer-Encoding)",
		 f.content_length, f.transfer_encoding);
	r = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	*ret = MHD_NO;
	if (!r)
		return true;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	*ret = MHD_queue_response(c, 400, r);
	MHD_destroy_response(r);
	return true;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_req *req = *con_cls;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		req->kind = RK_NEW;
	}
	if (req->kind == RK_NEW) {
		enum MHD_Result ret;

		watch_mark(c, true);
		req->kind = RK_DONE;
		if (refuse_framing(c, &ret))
			return ret;
		if (uri_has_nul(req))
			return rpc_send_error(c, 400, "NUL byte in the request URL");
		return begin_request(req, c, url, method);
	}
	switch (req->kind) {
	case RK_MGMT:
		if (*upload_data_size) {
			body_append(req, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		req->kind = RK_DONE;
		return (enum MHD_Result)mgmt_handle(c, method, req->path,
						    req->prefixed, req->body,
						    req->len, req->too_big);
	case RK_RPC:
		return rpc_call_data(req->call, upload_data, upload_data_size);
	case RK_PROXY:
		return portproxy_data(req->proxy, upload_data, upload_data_size);
	case RK_ENVD_HTTP:
		/*
		 * Only the upload routes see the body; for the rest it is
		 * dropped here so their handlers answer once, at the end.
		 */
		if (*upload_data_size && !req->envd_body) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		return files_dispatch(&req->envd, upload_data,
				      upload_data_size);
	default:
		/* A response is queued already: drop any body. */
		*upload_data_size = 0;
		return MHD_YES;
	}
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;

	watch_mark(c, false);
	if (!req)
		return;
	rpc_call_end(req->call);
	portproxy_free(req->proxy);
	free(req->raw_uri);
	if (req->kind == RK_ENVD_HTTP || req->envd_path) {
		if (req->envd.handler_free)
			req->envd.handler_free(req->envd.handler_state);
		sandbox_put(req->envd.ctx.sb);
	}
	free(req->envd_path);
	free(req->path);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* Called first for every request: keep the raw URI (query included). */
static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_req *req = calloc(1, sizeof(*req));

	(void)cls;
	(void)c;
	if (!req)
		return NULL;
	req->kind = RK_NEW;
	req->raw_uri = strdup(uri);
	return req;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (strstr(msg, "limit")) {
		/* A cap reached (total, per client address, threads): warn, at
		 * most every 10 s, with the count of the ones in between. */
		static atomic_llong last_ms;
		static atomic_uint quiet;
		int64_t now = log_now_ms(), last = atomic_load(&last_ms);

		if (now - last >= 10000 &&
		    atomic_compare_exchange_strong(&last_ms, &last, now)) {
			log_warn("connection refused: %s (%u more since the last warning; "
				 "limits: %u connections, %u per client address)", msg,
				 atomic_exchange(&quiet, 0), HTTP_MAX_CONNECTIONS,
				 g_cfg.per_ip_limit);
		} else {
			atomic_fetch_add(&quiet, 1);
		}
		return;
	}
	log_dbg("microhttpd: %s", msg);
}

int http_start(char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			 MHD_USE_ITC | MHD_USE_POLL | MHD_ALLOW_UPGRADE;
	const union MHD_DaemonInfo *info;

	test_rpc = getenv("E2BD_TEST_RPC") && strcmp(getenv("E2BD_TEST_RPC"), "1") == 0;
	if (inet_pton(AF_INET, g_cfg.listen_addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(g_cfg.port);
	} else if (inet_pton(AF_INET6, g_cfg.listen_addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(g_cfg.port);
		flags |= MHD_USE_IPv6;
	} else {
		/* A host name such as localhost: its first address. */
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
		int r = getaddrinfo(g_cfg.listen_addr, NULL, &hints, &ai);

		if (r != 0 || !ai || ai->ai_addrlen > sizeof(ss)) {
			snprintf(err, errlen, "cannot resolve listen address '%s': %s",
				 g_cfg.listen_addr, r ? gai_strerror(r) : "no address");
			if (ai)
				freeaddrinfo(ai);
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_family == AF_INET6) {
			sin6->sin6_port = htons(g_cfg.port);
			flags |= MHD_USE_IPv6;
		} else {
			sin->sin_port = htons(g_cfg.port);
		}
		freeaddrinfo(ai);
	}
	daemon_ = MHD_start_daemon(flags, g_cfg.port, NULL, NULL, access_cb, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, g_cfg.per_ip_limit,
		MHD_OPTION_END);
	if (!daemon_) {
		char ebuf[128];

		snprintf(err, errlen, "cannot listen on %s:%u: %s",
			 g_cfg.listen_addr, g_cfg.port,
			 errno ? strerror_r(errno, ebuf, sizeof(ebuf)) : "libmicrohttpd refused");
		return -1;
	}
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		g_cfg.port = info->port;
	if (g_cfg.header_timeout_s &&
	    pthread_create(&watchdog_thread, NULL, watchdog_main, NULL) == 0)
		watchdog_started = true;
	return 0;
}

void http_stop(void)
{
	int64_t until = log_now_ms() + 2500;

	if (daemon_) {
		/*
		 * Stop accepting, then give open streams (which poll
		 * g_shutting_down at least once a second) time to send their
		 * "unavailable" end-stream before connections are cut.
		 */
		MHD_quiesce_daemon(daemon_);
		while (rpc_open_streams() > 0 && log_now_ms() < until)
			usleep(50 * 1000);
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
	}
	if (watchdog_started) {
		atomic_store(&watchdog_stop, true);
		pthread_join(watchdog_thread, NULL);
		watchdog_started = false;
	}
}
