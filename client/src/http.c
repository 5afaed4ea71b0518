/* SPDX-License-Identifier: MIT */
/*
 * libcurl transport.  All requests of a client share one CURLSH (DNS
 * cache, TLS sessions, connection cache) so connections are reused across
 * calls and threads; the share is the only shared mutable state and is
 * guarded by one mutex per curl lock class.  Easy handles are recycled
 * through a bounded idle pool.
 *
 * Connections are not put in the share: with libcurl 7.88 concurrent
 * curl_easy_perform() calls over a shared connection cache hung in our
 * 8-thread test.  Instead each pooled easy handle keeps its own live
 * connections across performs (curl_easy_reset keeps them), so the pool
 * bounds the number of idle connections.
 *
 * Requests whose callbacks may run on any thread (buffered bodies: every
 * unary RPC, REST call and in-memory transfer) go through one shared multi
 * handle instead, so that concurrent requests from many threads multiplex
 * on one HTTP/2 connection (see mux_perform()).  Requests with caller
 * callbacks run on the calling thread with curl_easy_perform().  Over TLS,
 * HTTP/2 is negotiated by ALPN (CURL_HTTP_VERSION_2TLS, PIPEWAIT); plain
 * http stays on HTTP/1.1 keep-alive, since envd and e2bd have no h2c.
 */
#include <ctype.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "http.h"
#include "util.h"

#define DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
#define MAX_BACKOFF_MS 5000L
#define MAX_RETRY_AFTER_S 30L

struct e2b__hstream;

struct xfer {
	const struct e2b__req *req;
	struct e2b__hstream *hs;	/* set for a stream in the shared mux */
	struct e2b__resp *resp;
	const struct e2b__logger *log;
	size_t body_sent;
	int src_paused;		/* the source returned E2B__SRC_PAUSE */
	int64_t last_rx_ms;
	char errbuf[CURL_ERROR_SIZE];
};

/* A transfer in the shared multiplexer; see mux_perform(). */
struct e2b__mux_item {
	CURL *easy;
	int done;		/* protected by mux_lock */
	CURLcode rc;		/* protected by mux_lock */
	int added;		/* in the multi handle; protected by mux_lock */
	struct e2b__mux_item *next;
};

/*
 * A pollable stream.  Standalone streams own an easy + multi pair pumped
 * by the owner.  Muxed streams (HTTP/2 origins) live in the client's
 * shared multi handle, so they share its connection: whichever thread
 * drives the mux receives their bytes into `inbox`, and the owner's pump
 * hands them to the sink on the owner's thread (see mux_stream_pump()).
 */
struct e2b__hstream {
	struct e2b__http *http;
	CURL *easy;
	CURLM *multi;		/* standalone only */
	struct e2b__req req;
	struct e2b__resp resp;
	struct xfer x;
	int done;
	int result;
	int64_t started_ms;
	int muxed;
	int probe;		/* muxed before its origin's version was known */
	struct e2b__mux_item item;
	pthread_mutex_t in_lock;
	e2b_buf inbox;		/* protected by in_lock */
	int rx_paused;		/* protected by in_lock */
	int64_t in_last_rx_ms;	/* protected by in_lock */
	atomic_int woken;
	int unpause_queued;	/* protected by the mux_lock */
	struct e2b__hstream *unpause_next;	/* protected by the mux_lock */
};

/* Bytes a muxed stream may hold for its owner before reception pauses. */
#define INBOX_PAUSE ((size_t)1024 * 1024)

void e2b__resp_init(struct e2b__resp *r)
{
	memset(r, 0, sizeof(*r));
	e2b_buf_init(&r->body, DEFAULT_MAX_BODY);
	r->retry_after = -1;
	r->content_length = -1;
}

void e2b__resp_release(struct e2b__resp *r)
{
	if (!r)
		return;
	e2b_buf_release(&r->body);
}

static void share_lock(CURL *handle, curl_lock_data data,
		       curl_lock_access access, void *userptr)
{
	struct e2b__http *h = userptr;

	(void)handle;
	(void)access;
	pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	struct e2b__http *h = userptr;

	(void)handle;
	pthread_mutex_unlock(&h->share_locks[data]);
}

int e2b__http_init(struct e2b__http *h, const struct e2b__conf *conf)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->conf = conf;
	h->idle_max = conf->max_connections;
	h->idle = e2b__calloc(h->idle_max, sizeof(*h->idle));
	if (!h->idle)
		return e2b__error_oom();
	h->share = curl_share_init();
	if (!h->share) {
		e2b__free(h->idle);
		return e2b__error_set(E2B_ERROR, "cannot create curl share");
	}
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_mutex_init(&h->mux_lock, NULL);
	pthread_cond_init(&h->mux_cond, NULL);
	h->multi = curl_multi_init();
	if (!h->multi) {
		e2b__http_release(h);
		return e2b__error_set(E2B_ENOMEM, "cannot create curl multi handle");
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)conf->max_connections);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conf->max_connections);
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (conf->insecure)
		e2b__log(&conf->log, E2B_LOG_WARN,
			 "tls certificate verification is disabled (insecure)");
	return 0;
}

void e2b__http_release(struct e2b__http *h)
{
	size_t i;
	int j;

	if (!h || !h->share)
		return;
	if (h->multi)
		curl_multi_cleanup(h->multi);
	for (i = 0; i < h->h2_count; i++)
		e2b__free(h->h2_origins[i]);
	for (i = 0; i < h->h1_count; i++)
		e2b__free(h->h1_origins[i]);
	for (i = 0; i < h->idle_count; i++)
		curl_easy_cleanup(h->idle[i]);
	for (i = 0; i < h->stream_multi_count; i++)
		curl_multi_cleanup(h->stream_multis[i]);
	e2b__free(h->idle);
	curl_share_cleanup(h->share);
	for (j = 0; j < CURL_LOCK_DATA_LAST; j++)
		pthread_mutex_destroy(&h->share_locks[j]);
	pthread_mutex_destroy(&h->pool_lock);
	pthread_mutex_destroy(&h->mux_lock);
	pthread_cond_destroy(&h->mux_cond);
	memset(h, 0, sizeof(*h));
}

static CURL *easy_get(struct e2b__http *h)
{
	CURL *e = NULL;

	pthread_mutex_lock(&h->pool_lock);
	if (h->idle_count)
		e = h->idle[--h->idle_count];
	pthread_mutex_unlock(&h->pool_lock);
	if (e) {
		curl_easy_reset(e);
		return e;
	}
	return curl_easy_init();
}

static void easy_put(struct e2b__http *h, CURL *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&h->pool_lock);
	if (h->idle_count < h->idle_max) {
		h->idle[h->idle_count++] = e;
		e = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (e)
		curl_easy_cleanup(e);
}

int e2b__headers_add(struct curl_slist **list, const char *name,
		     const char *value)
{
	e2b_buf b = E2B_BUF_INIT;
	struct curl_slist *n;
	int error;

	error = e2b_buf_printf(&b, "%s: %s", name, value);
	if (error < 0)
		return error;
	n = curl_slist_append(*list, b.ptr);
	e2b_buf_release(&b);
	if (!n)
		return e2b__error_oom();
	*list = n;
	return 0;
}

static void copy_hdr(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* A status line: a new response (after 1xx or a retry) starts afresh. */
static void header_status(struct e2b__resp *r, const char *data, size_t len)
{
	const char *sp = memchr(data, ' ', len);

	r->status = 0;
	if (sp && sp + 4 <= data + len) {
		r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
		if (r->status < 100 || r->status > 999)
			r->status = 0;
	}
	r->headers_done = 0;
	r->request_id[0] = r->next_token[0] = r->content_type[0] = '\0';
	r->content_range[0] = r->last_modified[0] = '\0';
	r->retry_after = -1;
	r->content_length = -1;
}

/* Split header line @data into its @name (NUL-terminated) and its value
 * (*@v, *@vlen; blanks and the line end trimmed); -1 for a line without a
 * colon or with a name too long for @name. */
static int header_split(const char *data, size_t len, char name[32], const char **v,
			size_t *vlen)
{
	const char *colon;
	size_t nlen;

	colon = memchr(data, ':', len);
	if (!colon)
		return -1;
	nlen = (size_t)(colon - data);
	if (nlen >= 32)
		return -1;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	*v = colon + 1;
	*vlen = len - nlen - 1;
	while (*vlen && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*vlen)--;
	}
	while (*vlen && ((*v)[*vlen - 1] == '\r' || (*v)[*vlen - 1] == '\n' ||
			 (*v)[*vlen - 1] == ' '))
		(*vlen)--;
	return 0;
}

/* A Retry-After (@name starting with r or R: seconds or an HTTP date,
 * capped at an hour) or Content-Length header's value into @r. */
static void header_number(struct e2b__resp *r, const char *name, const char *v, size_t vlen)
{
	int64_t n;
	char tmp[32];

	copy_hdr(tmp, sizeof(tmp), v, vlen);
	/* Retry-After may also be an HTTP date. */
	if ((name[0] == 'r' || name[0] == 'R') && e2b__parse_i64(tmp, &n) < 0) {
		char date[64];

		copy_hdr(date, sizeof(date), v, vlen);
		if (e2b__parse_http_date(date, &n) == 0) {
			n -= (int64_t)time(NULL);
			r->retry_after = n < 0 ? 0 : (long)(n > 3600 ? 3600 : n);
		}
		return;
	}
	if (e2b__parse_i64(tmp, &n) == 0 && n >= 0) {
		if (name[0] == 'r' || name[0] == 'R')
			r->retry_after = (long)(n > 3600 ? 3600 : n);
		else
			r->content_length = n;
	}
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	struct e2b__resp *r = x->resp;
	size_t len = size * nmemb, vlen;
	const char *v;
	char name[32];

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		header_status(r, data, len);
		return len;
	}
	if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) {
		if (r->status >= 200)
			r->headers_done = 1;
		return len;
	}
	if (header_split(data, len, name, &v, &vlen) < 0)
		return len;
	if (!strcasecmp(name, "x-request-id"))
		copy_hdr(r->request_id, sizeof(r->request_id), v, vlen);
	else if (!strcasecmp(name, "x-next-token"))
		copy_hdr(r->next_token, sizeof(r->next_token), v, vlen);
	else if (!strcasecmp(name, "content-type"))
		copy_hdr(r->content_type, sizeof(r->content_type), v, vlen);
	else if (!strcasecmp(name, "content-range"))
		copy_hdr(r->content_range, sizeof(r->content_range), v, vlen);
	else if (!strcasecmp(name, "last-modified"))
		copy_hdr(r->last_modified, sizeof(r->last_modified), v, vlen);
	else if (!strcasecmp(name, "retry-after") || !strcasecmp(name, "content-length"))
		header_number(r, name, v, vlen);
	return len;
}

/*
 * Receive side of a muxed stream, on the driving thread: 2xx bytes queue
 * in the inbox for the owner (pausing reception when it lags), error
 * bodies go to resp->body, read by the owner once the transfer is done.
 */
static size_t mux_stream_write(struct e2b__hstream *s, const char *data, size_t len)
{
	size_t ret = len;

	pthread_mutex_lock(&s->in_lock);
	s->in_last_rx_ms = e2b__now_ms();
	if (s->resp.status >= 200 && s->resp.status < 300) {
		if (s->inbox.size && s->inbox.size + len > INBOX_PAUSE) {
			s->rx_paused = 1;
			ret = CURL_WRITEFUNC_PAUSE;
		} else if (e2b_buf_put(&s->inbox, data, len) < 0) {
			s->resp.cb_error = E2B_ENOMEM;
			ret = CURL_WRITEFUNC_ERROR;
		}
	} else if (e2b_buf_put(&s->resp.body, data, len) < 0) {
		s->resp.cb_error = E2B_ENOMEM;
		ret = CURL_WRITEFUNC_ERROR;
	}
	pthread_mutex_unlock(&s->in_lock);
	return ret;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	struct e2b__resp *r = x->resp;
	size_t len = size * nmemb;
	int error;

	if (x->hs)
		return mux_stream_write(x->hs, data, len);
	x->last_rx_ms = e2b__now_ms();
	if (!len)
		return 0;
	if (x->req->sink && r->status >= 200 && r->status < 300) {
		/* Internal sinks return a negative e2b code they recorded;
		 * anything else means "stop". */
		error = x->req->sink(data, len, x->req->sink_payload);
		if (error) {
			r->cb_error = (error < 0 && error >= E2B_ECANCELED) ?
				error : E2B_ECANCELED;
			return CURL_WRITEFUNC_ERROR;
		}
		r->sunk += len;
		return len;
	}
	error = e2b_buf_put(&r->body, data, len);
	if (error < 0) {
		r->cb_error = error;
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t cap = size * nmemb;
	long n;

	if (x->req->src) {
		n = x->req->src(buf, cap, x->req->src_payload);
		if (n == E2B__SRC_PAUSE) {
			x->src_paused = 1;
			return CURL_READFUNC_PAUSE;
		}
		if (n < 0 || (size_t)n > cap) {
			if (!x->resp->cb_error)
				x->resp->cb_error = E2B_ECANCELED;
			return CURL_READFUNC_ABORT;
		}
		x->body_sent += (size_t)n;
		return (size_t)n;
	}
	n = (long)(x->req->body_len - x->body_sent);
	if ((size_t)n > cap)
		n = (long)cap;
	memcpy(buf, x->req->body + x->body_sent, (size_t)n);
	x->body_sent += (size_t)n;
	return (size_t)n;
}

/* curl rewinds the body when it resends a request on a fresh connection. */
static int seek_cb(void *userp, curl_off_t offset, int origin)
{
	struct xfer *x = userp;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (x->req->src) {
		if (!x->req->src_rewind || x->req->src_rewind(x->req->src_payload) < 0)
			return CURL_SEEKFUNC_CANTSEEK;
	}
	x->body_sent = 0;
	return CURL_SEEKFUNC_OK;
}

#define SETOPT(e, o, v) do { if (curl_easy_setopt((e), (o), (v)) != CURLE_OK) \
	return e2b__error_set(E2B_ERROR, "cannot set curl option %d", (int)(o)); } while (0)

static int setup_easy(struct e2b__http *h, CURL *e, struct xfer *x)
{
	const struct e2b__conf *c = h->conf;
	const struct e2b__req *req = x->req;
	long timeout = req->timeout_ms ? (long)req->timeout_ms : (long)c->request_timeout_ms;

	SETOPT(e, CURLOPT_URL, req->url);
	SETOPT(e, CURLOPT_SHARE, h->share);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(e, CURLOPT_HTTP_VERSION, c->http1_only ? (long)CURL_HTTP_VERSION_1_1 :
	       (long)CURL_HTTP_VERSION_2TLS);
	SETOPT(e, CURLOPT_PIPEWAIT, 1L);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_TCP_NODELAY, 1L);
	SETOPT(e, CURLOPT_USERAGENT, c->user_agent);
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->insecure) {
		SETOPT(e, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_file)
		SETOPT(e, CURLOPT_CAINFO, c->ca_file);
	if (req->no_timeout) {
		/* Stall detection: less than 1 byte/s for the request timeout. */
		SETOPT(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(e, CURLOPT_LOW_SPEED_TIME, (long)((c->request_timeout_ms + 999) / 1000));
		if (req->timeout_ms)
			SETOPT(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
		/* Hints only: libcurl refuses a new size on a handle that was
		 * recently multiplexed, which must not fail the request. */
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	} else {
		SETOPT(e, CURLOPT_TIMEOUT_MS, timeout);
	}
	SETOPT(e, CURLOPT_HTTPHEADER, req->headers);
	SETOPT(e, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(e, CURLOPT_HEADERDATA, x);
	SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, x);
	if (!strcmp(req->method, "GET")) {
		SETOPT(e, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "HEAD")) {
		SETOPT(e, CURLOPT_NOBODY, 1L);
	} else {
		SETOPT(e, CURLOPT_POST, 1L);
		if (req->src || req->has_body) {
			SETOPT(e, CURLOPT_READFUNCTION, read_cb);
			SETOPT(e, CURLOPT_READDATA, x);
			SETOPT(e, CURLOPT_SEEKFUNCTION, seek_cb);
			SETOPT(e, CURLOPT_SEEKDATA, x);
			SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, req->src ?
			       (curl_off_t)req->src_len : (curl_off_t)req->body_len);
		} else {
			SETOPT(e, CURLOPT_POSTFIELDS, "");
			SETOPT(e, CURLOPT_POSTFIELDSIZE, 0L);
		}
		if (strcmp(req->method, "POST"))
			SETOPT(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return 0;
}

/* Map a transfer failure to an error code and record it.
 * Long: one switch from curl's codes to ours, each a line or two; split,
 * the mapping would be harder to read as a table. */
static int transport_error(struct xfer *x, CURLcode rc, long timeout_ms)
{
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	if (x->resp->cb_error && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK ||
				  rc == CURLE_READ_ERROR)) {
		if (x->resp->cb_error == E2B_ECANCELED && e2b_error_last()->code != E2B_ECANCELED)
			return e2b__error_set(E2B_ECANCELED, "transfer cancelled by callback");
		return x->resp->cb_error;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		if (x->req->no_timeout && !x->req->timeout_ms)
			return e2b__error_set(E2B_ETIMEOUT, "transfer stalled: %s", detail);
		return e2b__error_set(E2B_ETIMEOUT, "request timed out after %ld ms", timeout_ms);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_FAIL_REWIND:
		return e2b__error_set(E2B_EUNAVAILABLE, "connection failed: %s", detail);
	case CURLE_OUT_OF_MEMORY:
		return e2b__error_oom();
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return e2b__error_set(E2B_ERROR, "tls verification failed: %s", detail);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return e2b__error_set(E2B_EINVALID, "bad url: %s", detail);
	default:
		return e2b__error_set(E2B_ERROR, "http request failed (curl %d): %s",
				      (int)rc, detail);
	}
}

static int retryable_rc(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM ||
	       rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PARTIAL_FILE;
}

/*
 * The multiplexer: one CURLM shared by all threads, with no thread of its
 * own.  A caller queues its easy handle on `pending`, then either becomes
 * the driver (if nobody drives) or sleeps on mux_cond.  The driver adds
 * pending handles, runs one perform/poll round without the lock, then
 * retires finished transfers, marks them done and hands leadership back;
 * any waiting caller may take it next.  Only the driver touches `multi`,
 * so libcurl sees one thread at a time; other threads only use
 * curl_multi_wakeup(), which is thread-safe.  Transfer callbacks therefore
 * run on whichever thread drives, which is why only any_thread requests
 * come here.
 */
/* Length of the origin ("scheme://host:port") @url starts with, 0 if none. */
static size_t origin_len(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;

	if (!p)
		return 0;
	p = strchr(p + 3, '/');
	return p ? (size_t)(p - url) : strlen(url);
}

/* Is the origin @url starts with (@n bytes) in @list? */
static int origin_listed(char *const *list, size_t count, const char *url, size_t n)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strlen(list[i]) == n && !strncmp(list[i], url, n))
			return 1;
	return 0;
}

/* Add it to @list (of @cap entries; a full list keeps the ones it has). */
static void origin_note(char **list, size_t *count, size_t cap, const char *url, size_t n)
{
	char *o;

	if (origin_listed(list, *count, url, n) || *count == cap)
		return;
	o = e2b__strndup(url, n);
	if (o)
		list[(*count)++] = o;
}

/* Remember which HTTP version an origin answered the mux in (mux_lock held). */
static void mux_note_version(struct e2b__http *h, CURL *easy)
{
	char *url = NULL;
	long ver = 0;
	size_t n;

	curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
	n = origin_len(url);
	if (!n || !ver)
		return;
	if (ver == CURL_HTTP_VERSION_2_0)
		origin_note(h->h2_origins, &h->h2_count,
			    sizeof(h->h2_origins) / sizeof(h->h2_origins[0]), url, n);
	else if (!strncasecmp(url, "https://", 8))
		origin_note(h->h1_origins, &h->h1_count,
			    sizeof(h->h1_origins) / sizeof(h->h1_origins[0]), url, n);
}

static void mux_drive(struct e2b__http *h, int fd, int poll_ms)
{
	struct e2b__mux_item *it, *next;
	struct e2b__mux_item *item;
	struct e2b__hstream *s;
	struct curl_waitfd wfd;
	CURLMsg *msg;
	long nconn;
	int running = 0, left;

	/* Called with mux_lock held and driving set. */
	for (it = h->pending; it; it = next) {
		next = it->next;
		it->next = NULL;
		if (curl_multi_add_handle(h->multi, it->easy) != CURLM_OK) {
			it->rc = CURLE_OUT_OF_MEMORY;
			it->done = 1;
		} else {
			it->added = 1;
		}
	}
	h->pending = NULL;
	/* Streams whose owner caught up: receive again.  Unpausing may call
	 * their write callback right here, which takes only their in_lock. */
	while (h->unpause) {
		s = h->unpause;
		h->unpause = s->unpause_next;
		s->unpause_next = NULL;
		s->unpause_queued = 0;
		if (s->item.added && !s->item.done)
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
	}
	pthread_mutex_unlock(&h->mux_lock);
	curl_multi_perform(h->multi, &running);
	if (running) {
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = fd;
		wfd.events = CURL_WAIT_POLLIN;
		curl_multi_poll(h->multi, fd >= 0 ? &wfd : NULL, fd >= 0 ? 1 : 0, poll_ms, NULL);
	}
	curl_multi_perform(h->multi, &running);
	pthread_mutex_lock(&h->mux_lock);
	for (;;) {
		msg = curl_multi_info_read(h->multi, &left);
		if (!msg)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		item = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&item);
		nconn = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &nconn);
		h->new_connections += (unsigned long)nconn;
		if (nconn > 0)
			e2b__debug(&h->conf->log, "mux: opened %ld new connection(s), %lu in total",
				   nconn, h->new_connections);
		mux_note_version(h, msg->easy_handle);
		curl_multi_remove_handle(h->multi, msg->easy_handle);
		if (item) {
			item->rc = msg->data.result;
			item->added = 0;
			item->done = 1;
		}
	}
}

/* One round of the mux for the caller (mux_lock held): drive it if nobody
 * does, else wait for the driver's round to end. */
static void mux_round(struct e2b__http *h, int fd, int max_ms)
{
	struct timespec ts;

	if (!h->driving) {
		h->driving = 1;
		mux_drive(h, fd, max_ms < 100 ? max_ms : 100);
		h->driving = 0;
		pthread_cond_broadcast(&h->mux_cond);
		return;
	}
	if (max_ms > 200)
		max_ms = 200;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += max_ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&h->mux_cond, &h->mux_lock, &ts);
}

static CURLcode mux_perform(struct e2b__http *h, CURL *easy)
{
	struct e2b__mux_item it = { easy, 0, CURLE_OK, 0, NULL };

	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)&it);
	pthread_mutex_lock(&h->mux_lock);
	it.next = h->pending;
	h->pending = &it;
	if (h->driving)
		curl_multi_wakeup(h->multi);
	while (!it.done)
		mux_round(h, -1, 200);
	pthread_mutex_unlock(&h->mux_lock);
	return it.rc;
}

unsigned long e2b__http_new_connections(struct e2b__http *h)
{
	unsigned long n;

	pthread_mutex_lock(&h->mux_lock);
	n = h->new_connections;
	pthread_mutex_unlock(&h->mux_lock);
	return n;
}

/* A fresh transfer state and response for the next attempt of @req. */
static void attempt_reset(struct xfer *x, const struct e2b__req *req,
			  struct e2b__resp *resp, const struct e2b__conf *c)
{
	memset(x, 0, sizeof(*x));
	x->req = req;
	x->resp = resp;
	x->log = &c->log;
	e2b_buf_truncate(&resp->body, 0);
	if (req->max_body)
		resp->body.max = req->max_body;
	resp->status = 0;
	resp->cb_error = 0;
	resp->headers_done = 0;
}

/* Run the transfer on @e (through the mux for any_thread requests). */
static CURLcode attempt_perform(struct e2b__http *h, CURL *e, const struct e2b__req *req,
				struct e2b__resp *resp)
{
	const struct e2b__conf *c = h->conf;
	int64_t t0 = e2b__now_ms();
	long ver = 0;
	CURLcode rc;

	if (req->any_thread) {
		rc = mux_perform(h, e);
		/* Errors recorded by callbacks went to the driver's thread. */
		if (resp->cb_error && e2b_error_last()->code != resp->cb_error)
			e2b__error_set(resp->cb_error, "transfer aborted: %s",
				       e2b_error_code_str(resp->cb_error));
	} else {
		rc = curl_easy_perform(e);
	}
	if (c->log.debug) {
		curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &ver);
		e2b__debug(&c->log, "%s %s -> %ld (%s, %s, %lld ms)", req->method,
			   req->url, resp->status,
			   rc == CURLE_OK ? "ok" : curl_easy_strerror(rc),
			   ver == CURL_HTTP_VERSION_2_0 ? "HTTP/2" :
			   ver == CURL_HTTP_VERSION_3 ? "HTTP/3" : "HTTP/1.1",
			   (long long)(e2b__now_ms() - t0));
	}
	return rc;
}

/* The request's own timeout, else the client's call bound, else its
 * per-attempt request timeout. */
static long call_timeout(const struct e2b__req *req, const struct e2b__conf *c)
{
	if (req->timeout_ms)
		return (long)req->timeout_ms;
	return c->call_timeout_ms ? (long)c->call_timeout_ms : (long)c->request_timeout_ms;
}

/* May @req be sent again: idempotent, its body (if any) rewindable, no
 * byte of the answer handed on yet, retries left? */
static int may_retry(const struct e2b__req *req, const struct e2b__resp *resp,
		     const struct e2b__conf *c, unsigned attempt)
{
	return req->idempotent && (!req->src || req->src_rewind) && resp->sunk == 0 &&
	       attempt < c->max_retries;
}

/* The wait before retrying after @rc / @resp, or -1 for no retry: a
 * retryable transport error, or 429/502/503 (honouring Retry-After). */
static long retry_backoff(CURLcode rc, const struct e2b__resp *resp, int can_retry,
			  unsigned attempt)
{
	long backoff;

	if (!can_retry)
		return -1;
	if (rc != CURLE_OK) {
		if (!retryable_rc(rc))
			return -1;
		backoff = 100L << attempt;
	} else if (resp->status == 429 || resp->status == 502 || resp->status == 503) {
		backoff = 100L << attempt;
		if (resp->retry_after >= 0)
			backoff = (resp->retry_after > MAX_RETRY_AFTER_S ?
				   MAX_RETRY_AFTER_S : resp->retry_after) * 1000L;
	} else {
		return -1;
	}
	if (backoff > MAX_BACKOFF_MS && resp->retry_after < 0)
		backoff = MAX_BACKOFF_MS;
	return backoff;
}

int e2b__http_do(struct e2b__http *h, const struct e2b__req *req_in,
		 struct e2b__resp *resp)
{
	const struct e2b__conf *c = h->conf;
	struct e2b__req r = *req_in;
	const struct e2b__req *req = &r;
	long timeout = call_timeout(req, c);
	int64_t start = e2b__now_ms(), budget = 2 * (int64_t)timeout, left;
	unsigned attempt = 0;
	struct xfer x;
	CURLcode rc;
	CURL *e;
	long backoff;
	int error = 0, can_retry, bounded;

	/* The client's call bound covers the whole call, retries included. */
	bounded = !req_in->timeout_ms && !req_in->no_timeout && c->call_timeout_ms;
	if (bounded)
		budget = c->call_timeout_ms;

	e = easy_get(h);
	if (!e)
		return e2b__error_set(E2B_ENOMEM, "cannot create curl handle");
	for (;;) {
		attempt_reset(&x, req, resp, c);
		if (attempt)
			curl_easy_reset(e);
		if (bounded) {
			left = budget - (e2b__now_ms() - start);
			r.timeout_ms = left > 1 ? (unsigned)left : 1;
		}
		error = setup_easy(h, e, &x);
		if (error < 0)
			goto out;
		rc = attempt_perform(h, e, req, resp);
		can_retry = may_retry(req, resp, c, attempt) &&
			    e2b__now_ms() - start < (int64_t)timeout;
		backoff = retry_backoff(rc, resp, can_retry, attempt);
		if (backoff < 0) {
			error = rc != CURLE_OK ? transport_error(&x, rc, timeout) : 0;
			goto out;
		}
		/* Keep the whole call within twice the request timeout. */
		if (e2b__now_ms() - start + backoff > budget) {
			if (rc != CURLE_OK)
				error = transport_error(&x, rc, timeout);
			goto out;
		}
		e2b__debug(&c->log, "retrying %s %s in %ld ms", req->method, req->url, backoff);
		e2b__sleep_ms(backoff);
		attempt++;
		if (req->src && req->src_rewind(req->src_payload) < 0) {
			error = e2b__error_set(E2B_EUNAVAILABLE, "cannot resend the request body");
			goto out;
		}
	}
out:
	/* A failed transfer leaves the handle in an unknown state. */
	if (error < 0 && !resp->status) {
		curl_easy_cleanup(e);
		e = NULL;
	}
	easy_put(h, e);
	return error;
}

/* ---------------------------------------------------------------- */
/* Streams                                                            */
/* ---------------------------------------------------------------- */

/*
 * May a stream to @url run in the mux?  When its origin speaks HTTP/2
 * there, and also when it is an https origin not seen answering in
 * HTTP/1.1: ALPN decides on the first connection, so the first stream to
 * an h2 host opens the connection later requests share (PIPEWAIT has the
 * ones started meanwhile wait for it) instead of one of its own.  One
 * such probe at a time (*@p out_probe): over HTTP/1.1 a stream pins one of
 * the mux's bounded connections.  Plain http has no h2c here.
 */
static int mux_stream_origin(struct e2b__http *h, const char *url, int *out_probe)
{
	size_t n = origin_len(url);
	int yes;

	*out_probe = 0;
	if (!n || h->conf->http1_only)
		return 0;
	pthread_mutex_lock(&h->mux_lock);
	yes = origin_listed(h->h2_origins, h->h2_count, url, n);
	if (!yes && !h->probing && !strncasecmp(url, "https://", 8) &&
	    !origin_listed(h->h1_origins, h->h1_count, url, n))
		yes = *out_probe = h->probing = 1;
	pthread_mutex_unlock(&h->mux_lock);
	return yes;
}

/* A multi handle for a standalone stream, with a live connection if a
 * finished stream left one. */
static CURLM *stream_multi_get(struct e2b__http *h)
{
	CURLM *m;

	pthread_mutex_lock(&h->pool_lock);
	m = h->stream_multi_count ? h->stream_multis[--h->stream_multi_count] : NULL;
	pthread_mutex_unlock(&h->pool_lock);
	return m ? m : curl_multi_init();
}

/* Keep a finished stream's multi handle, and so its connection cache. */
static void stream_multi_put(struct e2b__http *h, CURLM *m)
{
	size_t cap = sizeof(h->stream_multis) / sizeof(h->stream_multis[0]);

	pthread_mutex_lock(&h->pool_lock);
	if (h->stream_multi_count < cap) {
		h->stream_multis[h->stream_multi_count++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (m)
		curl_multi_cleanup(m);
}

int e2b__hstream_open(struct e2b__hstream **out, struct e2b__http *h,
		      const struct e2b__req *req)
{
	struct e2b__hstream *s;
	int error;

	*out = NULL;
	s = e2b__calloc(1, sizeof(*s));
	if (!s)
		return e2b__error_oom();
	s->http = h;
	s->req = *req;
	s->req.no_timeout = 1;
	e2b__resp_init(&s->resp);
	e2b_buf_init(&s->inbox, E2B_BUF_DEFAULT_MAX);
	pthread_mutex_init(&s->in_lock, NULL);
	atomic_init(&s->woken, 0);
	s->x.req = &s->req;
	s->x.resp = &s->resp;
	s->x.log = &h->conf->log;
	s->x.last_rx_ms = s->started_ms = s->in_last_rx_ms = e2b__now_ms();
	/* Only a stream whose body is fixed may run on other threads, and
	 * only an HTTP/2 connection can carry it beside other requests. */
	s->muxed = !req->src && mux_stream_origin(h, req->url, &s->probe);
	if (s->muxed)
		s->x.hs = s;
	else
		s->multi = stream_multi_get(h);
	s->easy = curl_easy_init();
	if ((!s->muxed && !s->multi) || !s->easy) {
		error = e2b__error_set(E2B_ENOMEM, "cannot create curl handles");
		goto fail;
	}
	error = setup_easy(h, s->easy, &s->x);
	if (error < 0)
		goto fail;
	/* The keepalive watchdog, not curl, decides when a stream is dead. */
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 0L);
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, 0L);
	/* Process output arrives in envelopes of up to 256 KiB (e2bd): take
	 * one per read instead of reassembling it from 64 KiB pieces. */
	curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (s->muxed) {
		s->item.easy = s->easy;
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (char *)&s->item);
		pthread_mutex_lock(&h->mux_lock);
		s->item.next = h->pending;
		h->pending = &s->item;
		if (h->driving)
			curl_multi_wakeup(h->multi);
		pthread_mutex_unlock(&h->mux_lock);
		e2b__debug(&h->conf->log, "%s %s: stream joins the shared connection",
			   s->req.method, s->req.url);
	} else if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
		error = e2b__error_set(E2B_ERROR, "cannot start stream");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	e2b__hstream_free(s);
	return error;
}

/* Take a muxed stream out of the shared multi before it is freed. */
static void mux_stream_detach(struct e2b__hstream *s)
{
	struct e2b__http *h = s->http;
	struct e2b__mux_item **pp;
	struct e2b__hstream **sp;

	pthread_mutex_lock(&h->mux_lock);
	for (pp = &h->pending; *pp; pp = &(*pp)->next) {
		if (*pp == &s->item) {
			*pp = s->item.next;
			break;
		}
	}
	for (sp = &h->unpause; *sp; sp = &(*sp)->unpause_next) {
		if (*sp == s) {
			*sp = s->unpause_next;
			break;
		}
	}
	if (s->item.added && !s->item.done) {
		/* Only a driver may touch the multi: become it for a moment. */
		while (h->driving) {
			curl_multi_wakeup(h->multi);
			mux_round(h, -1, 50);
		}
		h->driving = 1;
		pthread_mutex_unlock(&h->mux_lock);
		curl_multi_remove_handle(h->multi, s->easy);
		pthread_mutex_lock(&h->mux_lock);
		s->item.added = 0;
		h->driving = 0;
		pthread_cond_broadcast(&h->mux_cond);
	}
	pthread_mutex_unlock(&h->mux_lock);
}

/* End a muxed stream with @error (from its sink) and stop its transfer. */
static int mux_stream_fail(struct e2b__hstream *s, int error)
{
	s->resp.cb_error = (error < 0 && error >= E2B_ECANCELED) ? error : E2B_ECANCELED;
	if (s->resp.cb_error == E2B_ECANCELED && e2b_error_last()->code != E2B_ECANCELED)
		e2b__error_set(E2B_ECANCELED, "transfer cancelled by callback");
	mux_stream_detach(s);
	s->done = 1;
	s->result = s->resp.cb_error;
	return s->result;
}

/*
 * Pump a muxed stream: deliver bytes the mux received to the sink on this
 * thread, and otherwise drive (or wait for) the mux until bytes arrive,
 * the transfer ends, @fd is readable, a wakeup or the timeout.
 */
static int mux_stream_pump(struct e2b__hstream *s, int timeout_ms, int fd, int *out_done)
{
	struct e2b__http *h = s->http;
	int64_t deadline = e2b__now_ms() + timeout_ms;
	e2b_buf got;
	struct pollfd pfd;
	int done, paused, error;
	CURLcode rc;

	for (;;) {
		pthread_mutex_lock(&h->mux_lock);
		done = s->item.done;
		rc = s->item.rc;
		pthread_mutex_unlock(&h->mux_lock);
		pthread_mutex_lock(&s->in_lock);
		got = s->inbox;
		e2b_buf_init(&s->inbox, got.max);
		paused = s->rx_paused;
		s->rx_paused = 0;
		pthread_mutex_unlock(&s->in_lock);
		if (paused) {
			pthread_mutex_lock(&h->mux_lock);
			if (!s->unpause_queued) {
				s->unpause_queued = 1;
				s->unpause_next = h->unpause;
				h->unpause = s;
			}
			curl_multi_wakeup(h->multi);
			pthread_mutex_unlock(&h->mux_lock);
		}
		if (got.size) {
			error = s->req.sink(got.ptr, (size_t)got.size, s->req.sink_payload);
			s->resp.sunk += got.size;
			e2b_buf_release(&got);
			if (error) {
				*out_done = 1;
				return mux_stream_fail(s, error);
			}
			return 0;
		}
		e2b_buf_release(&got);
		if (done) {
			s->done = 1;
			e2b__debug(&h->conf->log, "%s %s -> %ld (shared stream %s, %lld ms)",
				   s->req.method, s->req.url, s->resp.status,
				   curl_easy_strerror(rc),
				   (long long)(e2b__now_ms() - s->started_ms));
			s->result = rc == CURLE_OK ? 0 : transport_error(&s->x, rc, 0);
			*out_done = 1;
			return s->result;
		}
		if (atomic_exchange(&s->woken, 0))
			return 0;
		if (fd >= 0) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, 0) > 0)
				return 0;
		}
		if (e2b__now_ms() >= deadline)
			return 0;
		pthread_mutex_lock(&h->mux_lock);
		if (!s->item.done)
			mux_round(h, fd, (int)(deadline - e2b__now_ms()) + 1);
		pthread_mutex_unlock(&h->mux_lock);
	}
}

int e2b__hstream_pump(struct e2b__hstream *s, int timeout_ms, int fd,
		      int *out_done)
{
	struct curl_waitfd wfd;
	CURLMsg *msg;
	int running = 0, left, nfds = 0;
	uint64_t sunk;
	long nconn;
	CURLMcode mc;

	*out_done = 0;
	if (s->done) {
		*out_done = 1;
		return s->result;
	}
	if (s->muxed)
		return mux_stream_pump(s, timeout_ms, fd, out_done);
	sunk = s->resp.sunk;
	mc = curl_multi_perform(s->multi, &running);
	/*
	 * Bytes that had reached the socket before this call were handed to
	 * the sink by that perform: the caller must see them now, not after
	 * a poll that waits for more (the 15 s stalls of request/answer
	 * exchanges over one stream).
	 */
	if (mc == CURLM_OK && running && timeout_ms > 0 && s->resp.sunk == sunk) {
		memset(&wfd, 0, sizeof(wfd));
		if (fd >= 0) {
			wfd.fd = fd;
			wfd.events = CURL_WAIT_POLLIN;
			nfds = 1;
		}
		mc = curl_multi_poll(s->multi, nfds ? &wfd : NULL, (unsigned)nfds,
				     timeout_ms, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(s->multi, &running);
	}
	if (mc != CURLM_OK)
		return e2b__error_set(E2B_ERROR, "stream failed: %s", curl_multi_strerror(mc));
	for (;;) {
		msg = curl_multi_info_read(s->multi, &left);
		if (!msg)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		s->done = 1;
		nconn = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &nconn);
		e2b__debug(&s->http->conf->log, "%s %s -> %ld (stream %s, %lld ms, "
			   "opened %ld new connection(s))",
			   s->req.method, s->req.url, s->resp.status,
			   curl_easy_strerror(msg->data.result),
			   (long long)(e2b__now_ms() - s->started_ms), nconn);
		if (msg->data.result != CURLE_OK)
			s->result = transport_error(&s->x, msg->data.result, 0);
		else
			s->result = 0;
	}
	if (s->done) {
		*out_done = 1;
		return s->result;
	}
	return 0;
}

struct e2b__resp *e2b__hstream_resp(struct e2b__hstream *s)
{
	return &s->resp;
}

int64_t e2b__hstream_idle_ms(const struct e2b__hstream *s)
{
	int64_t last;

	if (!s->muxed)
		return e2b__now_ms() - s->x.last_rx_ms;
	pthread_mutex_lock((pthread_mutex_t *)&s->in_lock);
	last = s->in_last_rx_ms;
	pthread_mutex_unlock((pthread_mutex_t *)&s->in_lock);
	return e2b__now_ms() - last;
}

void e2b__hstream_touch(struct e2b__hstream *s)
{
	s->x.last_rx_ms = e2b__now_ms();
	pthread_mutex_lock(&s->in_lock);
	s->in_last_rx_ms = s->x.last_rx_ms;
	pthread_mutex_unlock(&s->in_lock);
}

int e2b__hstream_resume(struct e2b__hstream *s)
{
	CURLcode rc;

	/* Unpausing a transfer that never paused (no connection yet) is an
	 * error in libcurl, so only undo a pause we saw. */
	if (s->done || !s->x.src_paused || s->muxed)
		return 0;
	s->x.src_paused = 0;
	rc = curl_easy_pause(s->easy, CURLPAUSE_CONT);
	if (rc != CURLE_OK)
		return e2b__error_set(E2B_ERROR, "cannot resume stream upload: %s",
				      curl_easy_strerror(rc));
	return 0;
}

void e2b__hstream_wakeup(struct e2b__hstream *s)
{
	if (!s)
		return;
	if (s->muxed) {
		atomic_store(&s->woken, 1);
		curl_multi_wakeup(s->http->multi);
		pthread_cond_broadcast(&s->http->mux_cond);
	} else if (s->multi) {
		curl_multi_wakeup(s->multi);
	}
}

void e2b__hstream_free(struct e2b__hstream *s)
{
	if (!s)
		return;
	if (s->muxed && s->easy)
		mux_stream_detach(s);
	if (s->probe) {
		pthread_mutex_lock(&s->http->mux_lock);
		s->http->probing = 0;
		pthread_mutex_unlock(&s->http->mux_lock);
	}
	if (s->multi && s->easy)
		curl_multi_remove_handle(s->multi, s->easy);
	if (s->easy)
		curl_easy_cleanup(s->easy);
	/* A stream that ended left its connection in the multi's cache (one
	 * cut short had curl close it). */
	if (s->multi && s->done && s->result == 0)
		stream_multi_put(s->http, s->multi);
	else if (s->multi)
		curl_multi_cleanup(s->multi);
	e2b__resp_release(&s->resp);
	e2b_buf_release(&s->inbox);
	pthread_mutex_destroy(&s->in_lock);
	e2b__free(s);
}
