/* SPDX-License-Identifier: MIT */
/*
 * Connect protocol framing for envd's services over HTTP/1.1 with the JSON
 * and the binary protobuf codecs (protocol.md §3), answering in the codec
 * the request's Content-Type names: unary calls, server streams (handler thread +
 * bounded queue drained by the MHD content reader) and client streams
 * (envelopes parsed as upload chunks arrive), plus the HTTP response
 * helpers every envd and management handler uses.
 *
 * Server streams: the handler runs on a detached thread of its own and
 * queues encoded envelopes; the connection thread (thread-per-connection
 * MHD) blocks in the content reader on the stream's condition variable
 * with timed waits, so it can send keepalives, end the stream at the
 * deadline, notice shutdown and poll the socket for a vanished client.
 * The stream object is refcounted by the call, the MHD response and the
 * handler thread; whichever lets go last frees it.
 *
 * Codecs: handlers see and produce json_t whatever the codec; with
 * application/proto and application/connect+proto messages are converted
 * by pbjson.c through the method's protobuf-c descriptors.  Unary errors
 * and end-stream messages are JSON in both codecs, as Connect specifies.
 * Process output has a direct path (rpc_stream_send_output), and so have
 * unary answers too large to build as json_t (rpc_method.unary_raw: ListDir).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/e2bd.h"
#include "pbjson.h"
#include "http/rpc.h"

/* Queue limit for a server stream before rpc_stream_send() blocks. */
#define STREAM_QUEUE_BYTES (4u << 20)
#define STREAM_QUEUE_MSGS 1024
/* Longest timed wait anywhere in a stream, so every loop rechecks state. */
#define STREAM_TICK_MS 1000

int rpc_fail(struct rpc_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

unsigned rpc_code_http_status(const char *code)
{
	static const struct {
		const char *code;
		unsigned status;
	} map[] = {
		{ "canceled", 499 }, { "unknown", 500 },
		{ "invalid_argument", 400 }, { "deadline_exceeded", 504 },
		{ "not_found", 404 }, { "already_exists", 409 },
		{ "permission_denied", 403 }, { "resource_exhausted", 429 },
		{ "failed_precondition", 400 }, { "aborted", 409 },
		{ "out_of_range", 400 }, { "unimplemented", 501 },
		{ "internal", 500 }, { "unavailable", 503 },
		{ "data_loss", 500 }, { "unauthenticated", 401 },
	};
	size_t i;

	if (!code)
		return 500;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].code, code) == 0)
			return map[i].status;
	return 500;
}

/* Queue @len bytes of @body (copied) as the response, with @ctype. */
static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned status,
				  const char *ctype, const void *body,
				  size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Queue @body (malloc'd; freed whatever happens) as a 200 response with @ctype. */
static enum MHD_Result send_owned(struct MHD_Connection *c, const char *ctype, char *body,
				  size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (len == 0) {
		free(body);
		return send_bytes(c, 200, ctype, "", 0);
	}
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result rpc_send_json(struct MHD_Connection *c, unsigned status,
			      json_t *body)
{
	enum MHD_Result ret;
	char *text;

	text = json_dumps(body, JSON_COMPACT);
	if (!text)
		return MHD_NO;
	ret = send_bytes(c, status, "application/json", text, strlen(text));
	free(text);
	return ret;
}

enum MHD_Result rpc_send_error(struct MHD_Connection *c, unsigned status,
			       const char *fmt, ...)
{
	char msg[1024];
	enum MHD_Result ret = MHD_NO;
	json_t *j;
	char *text = NULL;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_pack("{s:i, s:s}", "code", (int)status, "message", msg);
	if (j)
		text = json_dumps(j, JSON_COMPACT);
	if (!text)
		goto out;
	/* envd's Go encoder ends the body with a newline. */
	len = strlen(text);
	text[len] = '\0';
	{
		char *t = realloc(text, len + 2);

		if (!t)
			goto out;
		text = t;
		text[len] = '\n';
		text[len + 1] = '\0';
	}
	ret = send_bytes(c, status, "application/json; charset=utf-8", text,
			 len + 1);
out:
	free(text);
	json_decref(j);
	return ret;
}

static json_t *connect_error_json(const struct rpc_error *err)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	json_object_set_new(j, "code",
			    json_string(err->code ? err->code : "unknown"));
	if (err->message[0])
		json_object_set_new(j, "message", json_string(err->message));
	return j;
}

enum MHD_Result rpc_send_connect_error(struct MHD_Connection *c,
				       const struct rpc_error *err)
{
	enum MHD_Result ret;
	json_t *j = connect_error_json(err);

	if (!j)
		return MHD_NO;
	ret = rpc_send_json(c, rpc_code_http_status(err->code), j);
	json_decref(j);
	return ret;
}

int rpc_envelope_parse(const uint8_t *buf, size_t len, size_t max,
		       uint8_t *flags, size_t *payload_len)
{
	uint32_t n;

	if (len < 5)
		return 0;
	n = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 8 | (uint32_t)buf[4];
	if (n > max)
		return -1;
	*flags = buf[0];
	*payload_len = n;
	return len - 5 >= n ? 1 : 0;
}

/* A heap envelope: 5-byte header + payload. */
struct env_buf {
	struct env_buf *next;
	size_t len;
	unsigned char data[];
};

static struct env_buf *envelope_new(uint8_t flags, const char *payload,
				    size_t len)
{
	struct env_buf *e;

	if (len > UINT32_MAX)
		return NULL;
	e = malloc(sizeof(*e) + 5 + len);
	if (!e)
		return NULL;
	e->next = NULL;
	e->len = 5 + len;
	e->data[0] = flags;
	e->data[1] = (unsigned char)(len >> 24);
	e->data[2] = (unsigned char)(len >> 16);
	e->data[3] = (unsigned char)(len >> 8);
	e->data[4] = (unsigned char)len;
	memcpy(e->data + 5, payload, len);
	return e;
}

static struct env_buf *envelope_json(uint8_t flags, json_t *j)
{
	struct env_buf *e;
	char *text = json_dumps(j, JSON_COMPACT);

	if (!text)
		return NULL;
	e = envelope_new(flags, text, strlen(text));
	free(text);
	return e;
}

/* A message envelope in the JSON or (@out_desc set) the protobuf codec. */
static struct env_buf *envelope_msg(const ProtobufCMessageDescriptor *out_desc,
				    json_t *j)
{
	char err[PBJSON_ERR_MAX] = "";
	struct env_buf *e;
	uint8_t *buf;
	size_t len, head = offsetof(struct env_buf, data) + 5;

	if (!out_desc)
		return envelope_json(0, j);
	if (pbjson_encode(&buf, &len, out_desc, j, head, err) < 0) {
		log_msg(LOG_WARN, "rpc: cannot encode %s: %s", out_desc->name, err);
		return NULL;
	}
	e = (struct env_buf *)buf;
	e->next = NULL;
	e->len = 5 + len;
	e->data[0] = 0;
	e->data[1] = (unsigned char)(len >> 24);
	e->data[2] = (unsigned char)(len >> 16);
	e->data[3] = (unsigned char)(len >> 8);
	e->data[4] = (unsigned char)len;
	return e;
}

/* The end-stream envelope: {} or {"error":{...}}. */
static struct env_buf *envelope_end(const struct rpc_error *err)
{
	struct env_buf *e;
	json_t *j;

	if (!err || !err->code)
		return envelope_new(2, "{}", 2);
	j = json_pack("{s:o*}", "error", connect_error_json(err));
	if (!j)
		return envelope_new(2, "{}", 2);
	e = envelope_json(2, j);
	json_decref(j);
	return e;
}

#define CT_STREAM_JSON "application/connect+json"
#define CT_STREAM_PROTO "application/connect+proto"
#define CT_UNARY_PROTO "application/proto"

/*
 * The codec a Content-Type names for a unary call or a stream: 1 for
 * protobuf, 0 for JSON (connect-go accepts a charset on JSON), -1 for
 * neither.
 */
static int codec_of(const char *ct, bool stream)
{
	static const char *const json_unary[] = {
		"application/json", "application/json; charset=utf-8",
		"application/json;charset=utf-8",
	};
	static const char *const json_stream[] = {
		CT_STREAM_JSON, CT_STREAM_JSON "; charset=utf-8",
	};
	const char *const *names = stream ? json_stream : json_unary;
	size_t i, n = stream ? 2 : 3;

	if (!ct)
		return -1;
	if (strcasecmp(ct, stream ? CT_STREAM_PROTO : CT_UNARY_PROTO) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (strcasecmp(ct, names[i]) == 0)
			return 0;
	return -1;
}

static enum MHD_Result send_envelopes(struct MHD_Connection *c, bool proto,
				      struct env_buf *a, struct env_buf *b)
{
	enum MHD_Result ret = MHD_NO;
	unsigned char *body;
	size_t len = (a ? a->len : 0) + (b ? b->len : 0);

	body = malloc(len ? len : 1);
	if (!body)
		goto out;
	if (a)
		memcpy(body, a->data, a->len);
	if (b)
		memcpy(body + (a ? a->len : 0), b->data, b->len);
	ret = send_bytes(c, 200, proto ? CT_STREAM_PROTO : CT_STREAM_JSON, body, len);
out:
	free(body);
	free(a);
	free(b);
	return ret;
}

enum MHD_Result rpc_send_stream_error(struct MHD_Connection *c,
				      const struct rpc_error *err)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);

	return send_envelopes(c, codec_of(ct, true) == 1, envelope_end(err), NULL);
}

bool rpc_is_stream_content_type(const char *ct)
{
	return ct && strncasecmp(ct, "application/connect+", 20) == 0;
}

/* --- server streams */

struct rpc_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* any change below */
	int refs;			/* protected by lock */
	bool closed;			/* protected by lock */
	bool deadline_expired;		/* protected by lock */
	bool done;			/* handler returned; protected by lock */
	bool end_queued;		/* end-stream built; protected by lock */
	struct env_buf *head, *tail;	/* protected by lock */
	size_t queued_bytes, queued_msgs;	/* protected by lock */
	/* Used by the connection thread only. */
	struct env_buf *cur;
	size_t cur_off;
	int64_t last_sent_ms;
	int fd;
	/* Owned by the handler thread until done. */
	struct rpc_ctx ctx;
	json_t *req;
	struct rpc_error err;
	const struct rpc_method *m;
	/* Protobuf codec: the output type and the keepalive message; NULL = JSON. */
	const ProtobufCMessageDescriptor *out_desc;
	struct env_buf *keepalive;
	/* Ended by rpc_streams_abort(); protected by lock. */
	bool aborted;
	struct rpc_error abort_err;
	/* Every open stream, for rpc_streams_abort(); protected by live_lock. */
	struct rpc_stream *all_prev, *all_next;
	bool listed;
};

/*
 * live_lock guards the list of open streams and the counters below; it
 * is taken before a stream's own lock, never while holding one.
 */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_stream *all_streams;	/* protected by live_lock */

static void stream_list_add(struct rpc_stream *s)
{
	pthread_mutex_lock(&live_lock);
	s->all_prev = NULL;
	s->all_next = all_streams;
	if (all_streams)
		all_streams->all_prev = s;
	all_streams = s;
	s->listed = true;
	pthread_mutex_unlock(&live_lock);
}

static void stream_list_del(struct rpc_stream *s)
{
	pthread_mutex_lock(&live_lock);
	if (s->listed) {
		if (s->all_prev)
			s->all_prev->all_next = s->all_next;
		else
			all_streams = s->all_next;
		if (s->all_next)
			s->all_next->all_prev = s->all_prev;
		s->listed = false;
	}
	pthread_mutex_unlock(&live_lock);
}

void rpc_streams_abort(struct sandbox *sb, const char *why)
{
	struct rpc_stream *s;

	pthread_mutex_lock(&live_lock);
	for (s = all_streams; s; s = s->all_next) {
		if (s->ctx.sb != sb)
			continue;
		pthread_mutex_lock(&s->lock);
		if (!s->closed && !s->done) {
			s->closed = true;
			s->aborted = true;
			rpc_fail(&s->abort_err, "unavailable", "%s", why);
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&live_lock);
}

static void stream_unref(struct rpc_stream *s)
{
	struct env_buf *e, *next;
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	stream_list_del(s);
	for (e = s->head; e; e = next) {
		next = e->next;
		free(e);
	}
	free(s->cur);
	free(s->keepalive);
	json_decref(s->req);
	sandbox_put(s->ctx.sb);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void stream_close(struct rpc_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Absolute CLOCK_MONOTONIC time @ms from now for the condition waits. */
static void deadline_ts(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Queue envelope @e (taken over), waiting while the queue is full. */
static int stream_queue(struct rpc_stream *s, struct env_buf *e)
{
	struct timespec ts;

	if (!e)
		return -1;
	pthread_mutex_lock(&s->lock);
	while (!s->closed && (s->queued_bytes >= STREAM_QUEUE_BYTES ||
			      s->queued_msgs >= STREAM_QUEUE_MSGS)) {
		deadline_ts(&ts, STREAM_TICK_MS);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		if (g_shutting_down)
			s->closed = true;
	}
	if (s->closed) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return -1;
	}
	if (s->tail)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->queued_bytes += e->len;
	s->queued_msgs++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int rpc_stream_send(struct rpc_stream *s, json_t *msg)
{
	return stream_queue(s, envelope_msg(s->out_desc, msg));
}

int rpc_stream_send_output(struct rpc_stream *s, int which, const void *data,
			   size_t len)
{
	static const char *const names[] = { "stdout", "stderr", "pty" };
	uint8_t prefix[PBJSON_OUTPUT_PREFIX_MAX];
	struct env_buf *e;
	size_t n;
	json_t *j;
	int r;

	if (which < 1 || which > 3)
		return -1;
	if (!s->out_desc) {
		json_t *b64 = pbjson_bytes(data, len);

		j = b64 ? json_pack("{s:{s:{s:o}}}", "event", "data", names[which - 1], b64) : NULL;
		if (!j)
			return -1;
		r = rpc_stream_send(s, j);
		json_decref(j);
		return r;
	}
	/* StartResponse/ConnectResponse{event{data{<which>: bytes}}}, bytes as they are. */
	n = pbjson_output_prefix(prefix, which, len);
	if (n + len > UINT32_MAX)
		return -1;
	e = malloc(sizeof(*e) + 5 + n + len);
	if (!e)
		return -1;
	e->next = NULL;
	e->len = 5 + n + len;
	e->data[0] = 0;
	e->data[1] = (unsigned char)((n + len) >> 24);
	e->data[2] = (unsigned char)((n + len) >> 16);
	e->data[3] = (unsigned char)((n + len) >> 8);
	e->data[4] = (unsigned char)(n + len);
	memcpy(e->data + 5, prefix, n);
	memcpy(e->data + 5 + n, data, len);
	return stream_queue(s, e);
}

bool rpc_stream_closed(struct rpc_stream *s)
{
	bool closed;

	pthread_mutex_lock(&s->lock);
	closed = s->closed;
	pthread_mutex_unlock(&s->lock);
	return closed;
}

bool rpc_stream_deadline_expired(struct rpc_stream *s)
{
	bool expired;

	pthread_mutex_lock(&s->lock);
	expired = s->deadline_expired;
	pthread_mutex_unlock(&s->lock);
	return expired;
}

bool rpc_stream_wait_closed(struct rpc_stream *s, int ms)
{
	struct timespec ts;
	bool closed;

	deadline_ts(&ts, ms > 0 ? ms : 0);
	pthread_mutex_lock(&s->lock);
	while (!s->closed) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	closed = s->closed;
	pthread_mutex_unlock(&s->lock);
	return closed;
}

/* Live server-stream handler threads (for the test service's Stats). */
static int live_streams;	/* protected by live_lock */

static void *stream_thread(void *arg)
{
	struct rpc_stream *s = arg;

	s->m->stream(&s->ctx, s->req, s, &s->err);
	pthread_mutex_lock(&s->lock);
	s->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	stream_unref(s);
	pthread_mutex_lock(&live_lock);
	live_streams--;
	pthread_mutex_unlock(&live_lock);
	return NULL;
}

/* True if the peer closed or reset the connection. */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	if (fd < 0)
		return false;
	if (poll(&p, 1, 0) <= 0)
		return false;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* Copy up to max bytes of the envelope being sent (s->cur) to buf, freeing
 * it once all sent; the count.  Called with s->lock held. */
static size_t stream_copy_cur(struct rpc_stream *s, char *buf, size_t max)
{
	size_t n = s->cur->len - s->cur_off;

	if (n > max)
		n = max;
	memcpy(buf, s->cur->data + s->cur_off, n);
	s->cur_off += n;
	if (s->cur_off == s->cur->len) {
		free(s->cur);
		s->cur = NULL;
		s->cur_off = 0;
	}
	return n;
}

/* Make the first queued envelope the one being sent, at now, and wake a
 * producer waiting for room.  Called with s->lock held. */
static void stream_dequeue(struct rpc_stream *s, int64_t now)
{
	s->cur = s->head;
	s->head = s->cur->next;
	if (!s->head)
		s->tail = NULL;
	s->queued_bytes -= s->cur->len;
	s->queued_msgs--;
	s->last_sent_ms = now;
	pthread_cond_broadcast(&s->cond);
}

/* The error that ends the stream now, in *end (the first of these that
 * holds: aborted, deadline, done, shutdown; derr holds the last two), or
 * NULL; -1 when the stream was closed with nothing to send.  Called with
 * s->lock held. */
static int stream_end_error(struct rpc_stream *s, struct rpc_error *derr,
			    const struct rpc_error **end)
{
	*end = NULL;
	if (s->aborted) {
		*end = &s->abort_err;
	} else if (s->deadline_expired) {
		rpc_fail(derr, "deadline_exceeded", "context deadline exceeded");
		*end = derr;
	} else if (s->done) {
		*end = &s->err;
	} else if (s->closed) {
		return -1;
	} else if (g_shutting_down) {
		s->closed = true;
		pthread_cond_broadcast(&s->cond);
		rpc_fail(derr, "unavailable", "server shutting down");
		*end = derr;
	}
	return 0;
}

/* When the method has keepalives and one is due at now, make it the
 * envelope being sent (true); else shorten *wait_ms to when it is due.
 * Called with s->lock held. */
static bool stream_keepalive(struct rpc_stream *s, int64_t now,
			     int64_t *wait_ms)
{
	if (s->m->keepalive_json && s->ctx.keepalive_s > 0) {
		int64_t due = s->last_sent_ms +
			      (int64_t)s->ctx.keepalive_s * 1000;

		if (now >= due) {
			const char *k = s->m->keepalive_json;

			if (s->keepalive)
				s->cur = envelope_new(0,
						      (const char *)s->keepalive->data + 5,
						      s->keepalive->len - 5);
			else
				s->cur = envelope_new(0, k, strlen(k));
			s->last_sent_ms = now;
			if (s->cur)
				return true;
		} else if (due - now < *wait_ms) {
			*wait_ms = due - now;
		}
	}
	return false;
}

/*
 * MHD content reader: hand out queued envelopes; in between, wait with a
 * bounded timeout and emit keepalives, the deadline error, or notice the
 * client leaving.  Never returns 0 (that would make MHD spin).
 */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rpc_stream *s = cls;
	struct rpc_error derr = { 0 };
	const struct rpc_error *end;
	struct timespec ts;
	int64_t now, wait_ms;
	size_t n;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->cur) {
			n = stream_copy_cur(s, buf, max);
			pthread_mutex_unlock(&s->lock);
			return (ssize_t)n;
		}
		if (s->end_queued) {
			pthread_mutex_unlock(&s->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		now = log_now_ms();
		if (s->head) {
			stream_dequeue(s, now);
			continue;
		}
		if (!s->closed && s->ctx.deadline_ms && now >= s->ctx.deadline_ms) {
			s->closed = true;
			s->deadline_expired = true;
			pthread_cond_broadcast(&s->cond);
		}
		if (stream_end_error(s, &derr, &end) < 0) {
			pthread_mutex_unlock(&s->lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (end) {
			s->cur = envelope_end(end);
			s->end_queued = true;
			if (!s->cur) {
				pthread_mutex_unlock(&s->lock);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
			continue;
		}
		wait_ms = STREAM_TICK_MS;
		if (stream_keepalive(s, now, &wait_ms))
			continue;
		if (s->ctx.deadline_ms && s->ctx.deadline_ms - now < wait_ms)
			wait_ms = s->ctx.deadline_ms - now;
		if (wait_ms < 1)
			wait_ms = 1;
		deadline_ts(&ts, wait_ms);
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT &&
		    !s->head && !s->done && peer_gone(s->fd)) {
			s->closed = true;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
}

/* Stream responses MHD still holds (shutdown waits for them to end). */
static int open_responses;	/* protected by live_lock */

int rpc_open_streams(void)
{
	int n;

	pthread_mutex_lock(&live_lock);
	n = open_responses;
	pthread_mutex_unlock(&live_lock);
	return n;
}

static void stream_reader_free(void *cls)
{
	struct rpc_stream *s = cls;

	pthread_mutex_lock(&live_lock);
	open_responses--;
	pthread_mutex_unlock(&live_lock);

	stream_close(s);
	stream_unref(s);
}

/* --- calls */

struct rpc_call {
	struct MHD_Connection *conn;
	const struct rpc_method *m;
	struct rpc_ctx ctx;		/* holds the sandbox reference */
	/* Protobuf codec: the method's message types; NULL = JSON. */
	const ProtobufCMessageDescriptor *in_desc, *out_desc;
	unsigned char *buf;
	size_t len, cap;
	size_t limit;
	bool too_big;
	/* client streams */
	void *cs_state;
	bool cs_started, cs_finished;
	struct rpc_error cs_err;	/* first failure; code NULL = none */
	/* server streams */
	struct rpc_stream *stream;
};

static int buf_append(struct rpc_call *call, const char *data, size_t n)
{
	if (call->len + n > call->limit) {
		call->too_big = true;
		return -1;
	}
	if (call->len + n > call->cap) {
		size_t cap = call->cap ? call->cap : 4096;
		unsigned char *b;

		while (cap < call->len + n)
			cap *= 2;
		if (cap > call->limit)
			cap = call->limit;
		b = realloc(call->buf, cap);
		if (!b) {
			call->too_big = true;
			return -1;
		}
		call->buf = b;
		call->cap = cap;
	}
	memcpy(call->buf + call->len, data, n);
	call->len += n;
	return 0;
}

/* Parse Connect-Timeout-Ms and Keepalive-Ping-Interval into @ctx. */
static int parse_headers(struct MHD_Connection *c, struct rpc_ctx *ctx,
			 bool stream, struct rpc_error *err)
{
	const char *v;
	size_t i, n;
	int64_t ms = 0;
	long k;
	char *end;

	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					"Connect-Protocol-Version");
	if (v && strcmp(v, "1") != 0)
		return rpc_fail(err, "invalid_argument",
				"connect-protocol-version must be \"1\": got \"%s\"", v);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connect-Timeout-Ms");
	ctx->deadline_ms = 0;
	if (v) {
		n = strlen(v);
		if (n == 0 || n > 10)
			return rpc_fail(err, "invalid_argument",
					"protocol error: timeout \"%s\" is too long", v);
		for (i = 0; i < n; i++) {
			if (v[i] < '0' || v[i] > '9')
				return rpc_fail(err, "invalid_argument",
						"protocol error: invalid timeout \"%s\"", v);
			ms = ms * 10 + (v[i] - '0');
		}
		/* Like connect-go and envd, a zero timeout means none. */
		if (ms > 0)
			ctx->deadline_ms = log_now_ms() + ms;
	}
	ctx->keepalive_s = 90;
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Keepalive-Ping-Interval");
	if (v) {
		errno = 0;
		k = strtol(v, &end, 10);
		if (!errno && end != v && !*end && k > 0 && k <= 86400)
			ctx->keepalive_s = (int)k;
	}
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					stream ? "Connect-Content-Encoding" :
						 MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (v && strcasecmp(v, "identity") != 0)
		return rpc_fail(err, "unimplemented",
				"unknown compression \"%s\": supported encodings are identity", v);
	return 0;
}

struct rpc_call *rpc_call_begin(struct MHD_Connection *c,
				const char *http_method,
				const struct rpc_method *m,
				const struct rpc_ctx *ctx,
				enum MHD_Result *ret)
{
	struct rpc_call *call = NULL;
	struct MHD_Response *r;
	struct rpc_error err = { 0 };
	const char *ct;
	bool stream = m->kind != RPC_UNARY;
	struct rpc_ctx local = *ctx;
	const ProtobufCMessageDescriptor *in_desc = NULL, *out_desc = NULL;
	int codec;

	if (strcmp(http_method, "POST") != 0) {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r) {
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
			*ret = MHD_queue_response(c, 405, r);
			MHD_destroy_response(r);
		} else {
			*ret = MHD_NO;
		}
		goto fail;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	codec = codec_of(ct, stream);
	/* The test service has no message types: JSON only. */
	if (codec == 1 && pbjson_method(m->path, &in_desc, &out_desc) < 0)
		codec = -1;
	if (codec < 0) {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r) {
			MHD_add_response_header(r, "Accept-Post", stream ?
				CT_STREAM_JSON ", " CT_STREAM_PROTO :
				"application/json, application/json; charset=utf-8, "
				CT_UNARY_PROTO);
			*ret = MHD_queue_response(c, 415, r);
			MHD_destroy_response(r);
		} else {
			*ret = MHD_NO;
		}
		goto fail;
	}
	if (parse_headers(c, &local, stream, &err) < 0) {
		*ret = stream ? rpc_send_stream_error(c, &err) :
				rpc_send_connect_error(c, &err);
		goto fail;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		*ret = MHD_NO;
		goto fail;
	}
	call->conn = c;
	call->m = m;
	call->ctx = local;
	call->in_desc = in_desc;
	call->out_desc = out_desc;
	/*
	 * A client stream buffers at most one partial envelope plus the
	 * upload chunk that completes it (which may start the next one), so
	 * twice the envelope limit is never reached by a valid stream.
	 */
	call->limit = m->kind == RPC_UNARY ? E2BD_MAX_JSON_BODY :
		      m->kind == RPC_SERVER_STREAM ? 5 + E2BD_MAX_ENVELOPE + 1 :
						     2 * (5 + E2BD_MAX_ENVELOPE);
	return call;
fail:
	sandbox_put(local.sb);
	return NULL;
}

/*
 * Parse @len bytes of JSON into an object, or (@in_desc set) a protobuf
 * message of that type into its JSON form; fail with invalid_argument.
 */
static json_t *parse_message(const ProtobufCMessageDescriptor *in_desc,
			     const unsigned char *p, size_t len,
			     struct rpc_error *err)
{
	char perr[PBJSON_ERR_MAX] = "";
	json_error_t jerr;
	json_t *j;

	if (in_desc) {
		if (pbjson_decode(&j, in_desc, p, len, perr) < 0) {
			rpc_fail(err, "invalid_argument", "unmarshal into %s: %s",
				 in_desc->name, perr);
			return NULL;
		}
		return j;
	}
	if (len == 0) {
		rpc_fail(err, "invalid_argument",
			 "zero-length payload is not a valid JSON object");
		return NULL;
	}
	j = json_loadb((const char *)p, len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		rpc_fail(err, "invalid_argument",
			 "unmarshal message: invalid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		rpc_fail(err, "invalid_argument",
			 "unmarshal message: expected a JSON object");
		return NULL;
	}
	return j;
}

/* A unary answer in the protobuf codec. */
static enum MHD_Result send_message_pb(struct MHD_Connection *c,
				       const ProtobufCMessageDescriptor *d,
				       json_t *out)
{
	char perr[PBJSON_ERR_MAX] = "";
	struct rpc_error err = { 0 };
	enum MHD_Result ret;
	uint8_t *buf;
	size_t len;

	if (pbjson_encode(&buf, &len, d, out, 0, perr) < 0) {
		rpc_fail(&err, "internal", "marshal %s: %s", d->name, perr);
		return rpc_send_connect_error(c, &err);
	}
	ret = send_bytes(c, 200, CT_UNARY_PROTO, buf, len);
	free(buf);
	return ret;
}

static enum MHD_Result finish_unary(struct rpc_call *call)
{
	struct rpc_error err = { 0 };
	enum MHD_Result ret;
	json_t *req, *out = NULL;

	if (call->too_big) {
		rpc_fail(&err, "resource_exhausted",
			 "request body larger than %u bytes", E2BD_MAX_JSON_BODY);
		/* Documented choice: 413 rather than connect-go's 429. */
		{
			json_t *j = connect_error_json(&err);

			ret = j ? rpc_send_json(call->conn, 413, j) : MHD_NO;
			json_decref(j);
		}
		return ret;
	}
	req = parse_message(call->in_desc, call->buf, call->len, &err);
	if (!req)
		return rpc_send_connect_error(call->conn, &err);
	if (call->m->unary_raw) {
		char *body;
		size_t blen;
		int rc = call->m->unary_raw(&call->ctx, req, call->out_desc != NULL, &body,
					    &blen, &err);

		if (rc <= 0) {
			json_decref(req);
			if (rc < 0)
				return rpc_send_connect_error(call->conn, &err);
			return send_owned(call->conn, call->out_desc ? CT_UNARY_PROTO :
					  "application/json", body, blen);
		}
	}
	if (call->m->unary(&call->ctx, req, &out, &err) < 0) {
		if (!err.code)
			rpc_fail(&err, "internal", "internal error");
		ret = rpc_send_connect_error(call->conn, &err);
	} else {
		if (!out)
			out = json_object();
		if (out && call->out_desc)
			ret = send_message_pb(call->conn, call->out_desc, out);
		else
			ret = out ? rpc_send_json(call->conn, 200, out) : MHD_NO;
	}
	json_decref(out);
	json_decref(req);
	return ret;
}

/* Validate the single request envelope of a server stream. */
static json_t *stream_request(struct rpc_call *call, struct rpc_error *err)
{
	uint8_t flags;
	size_t plen;
	int r;

	if (call->too_big) {
		rpc_fail(err, "resource_exhausted",
			 "message larger than %u bytes", E2BD_MAX_ENVELOPE);
		return NULL;
	}
	if (call->len == 0) {
		rpc_fail(err, "invalid_argument",
			 "unary request has zero messages");
		return NULL;
	}
	r = rpc_envelope_parse(call->buf, call->len, E2BD_MAX_ENVELOPE,
			       &flags, &plen);
	if (r < 0) {
		rpc_fail(err, "resource_exhausted",
			 "message size is larger than configured max %u",
			 E2BD_MAX_ENVELOPE);
		return NULL;
	}
	if (r == 0) {
		if (call->len < 5)
			rpc_fail(err, "invalid_argument",
				 "protocol error: incomplete envelope: got %zu of 5 header bytes",
				 call->len);
		else
			rpc_fail(err, "invalid_argument",
				 "protocol error: promised %zu bytes in enveloped message, "
				 "got %zu bytes",
				 plen, call->len - 5);
		return NULL;
	}
	if (flags != 0) {
		rpc_fail(err, "invalid_argument",
			 "protocol error: invalid envelope flags %d", flags);
		return NULL;
	}
	if (call->len > 5 + plen) {
		rpc_fail(err, "invalid_argument",
			 "unary request has multiple messages");
		return NULL;
	}
	return parse_message(call->in_desc, call->buf + 5, plen, err);
}

static enum MHD_Result finish_server_stream(struct rpc_call *call)
{
	struct rpc_error err = { 0 };
	const union MHD_ConnectionInfo *ci;
	struct rpc_stream *s = NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;
	pthread_attr_t attr;
	pthread_t tid;
	json_t *req;

	req = stream_request(call, &err);
	if (!req)
		return rpc_send_stream_error(call->conn, &err);
	s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(req);
		return MHD_NO;
	}
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->refs = 2;	/* the call's and the response's */
	s->m = call->m;
	s->out_desc = call->out_desc;
	if (s->out_desc && s->m->keepalive_json) {
		json_t *k = json_loads(s->m->keepalive_json, 0, NULL);

		s->keepalive = k ? envelope_msg(s->out_desc, k) : NULL;
		json_decref(k);
	}
	s->req = req;
	s->ctx = call->ctx;
	s->ctx.sb = sandbox_ref(call->ctx.sb);
	s->last_sent_ms = log_now_ms();
	ci = MHD_get_connection_info(call->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	call->stream = s;
	stream_list_add(s);

	/* Room for a whole 256 KiB output envelope per write. */
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024 + 64,
					      stream_reader, s,
					      stream_reader_free);
	if (!r) {
		s->refs = 1;	/* only the call's: freed in rpc_call_end */
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				s->out_desc ? CT_STREAM_PROTO : CT_STREAM_JSON);
	pthread_mutex_lock(&live_lock);
	open_responses++;
	pthread_mutex_unlock(&live_lock);
	s->refs++;	/* the handler thread's */
	pthread_mutex_lock(&live_lock);
	live_streams++;
	pthread_mutex_unlock(&live_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, stream_thread, s) != 0) {
		pthread_mutex_lock(&live_lock);
		live_streams--;
		pthread_mutex_unlock(&live_lock);
		s->refs--;
		rpc_fail(&s->err, "resource_exhausted", "cannot start a thread");
		s->done = true;
	}
	pthread_attr_destroy(&attr);
	ret = MHD_queue_response(call->conn, 200, r);
	MHD_destroy_response(r);	/* drops the response's ref once MHD is done */
	return ret;
}

/*
 * rpc_envelopes_consume() in the codec of @in_desc; with @raw, protobuf
 * messages that pbjson_peek_input() recognises go to it as bytes.
 */
static size_t envelopes_consume(const ProtobufCMessageDescriptor *in_desc,
				const uint8_t *buf, size_t len,
				int (*fn)(void *arg, json_t *msg,
					  struct rpc_error *err),
				int (*raw)(void *arg, int which, const uint8_t *data,
					   size_t n, struct rpc_error *err),
				void *arg, struct rpc_error *err)
{
	const uint8_t *bytes;
	size_t blen;
	int which;

	size_t off = 0, plen;
	uint8_t flags;
	json_t *msg;
	int r;

	while (!err->code) {
		r = rpc_envelope_parse(buf + off, len - off, E2BD_MAX_ENVELOPE,
				       &flags, &plen);
		if (r == 0)
			break;
		if (r < 0) {
			rpc_fail(err, "resource_exhausted",
				 "message size is larger than configured max %u",
				 E2BD_MAX_ENVELOPE);
			break;
		}
		if (flags != 0) {
			rpc_fail(err, "invalid_argument",
				 "protocol error: invalid envelope flags %d", flags);
			break;
		}
		if (in_desc && raw &&
		    pbjson_peek_input(buf + off + 5, plen, &which, &bytes, &blen)) {
			off += 5 + plen;
			r = raw(arg, which, bytes, blen, err);
			if (r < 0 && !err->code)
				rpc_fail(err, "internal", "internal error");
			continue;
		}
		msg = parse_message(in_desc, buf + off + 5, plen, err);
		off += 5 + plen;
		if (!msg)
			break;
		r = fn(arg, msg, err);
		json_decref(msg);
		if (r < 0 && !err->code)
			rpc_fail(err, "internal", "internal error");
	}
	return off;
}

size_t rpc_envelopes_consume(const uint8_t *buf, size_t len,
			     int (*fn)(void *arg, json_t *msg,
				       struct rpc_error *err),
			     void *arg, struct rpc_error *err)
{
	return envelopes_consume(NULL, buf, len, fn, NULL, arg, err);
}

/* One client-stream message for the handler. */
static int cstream_one(void *arg, json_t *msg, struct rpc_error *err)
{
	struct rpc_call *call = arg;
	json_t *out = NULL;
	int r;

	call->cs_started = true;
	r = call->m->cstream(&call->ctx, msg, &call->cs_state, &out, err);
	if (r < 0)
		call->cs_finished = true;	/* the handler freed its state */
	json_decref(out);
	return r;
}

/* One client-stream message of input bytes for the handler's direct path. */
static int cstream_one_input(void *arg, int which, const uint8_t *data, size_t n,
			     struct rpc_error *err)
{
	struct rpc_call *call = arg;
	int r;

	call->cs_started = true;
	r = call->m->cstream_input(&call->ctx, which, data, n, &call->cs_state, err);
	if (r < 0)
		call->cs_finished = true;	/* the handler freed its state */
	return r;
}

/* Feed the buffered bytes of a client stream to the handler, message by message. */
static void cstream_feed(struct rpc_call *call)
{
	size_t off;

	off = envelopes_consume(call->in_desc, call->buf, call->len, cstream_one,
				call->m->cstream_input ? cstream_one_input : NULL,
				call, &call->cs_err);
	if (off) {
		memmove(call->buf, call->buf + off, call->len - off);
		call->len -= off;
	}
}

/* Give the handler its final call so it frees its state; keep @out if asked. */
static int cstream_finish(struct rpc_call *call, json_t **out,
			  struct rpc_error *err)
{
	json_t *tmp = NULL;
	int r;

	if (call->cs_finished)
		return 0;
	call->cs_finished = true;
	r = call->m->cstream(&call->ctx, NULL, &call->cs_state,
			     out ? out : &tmp, err);
	json_decref(tmp);
	return r;
}

static enum MHD_Result finish_client_stream(struct rpc_call *call)
{
	struct rpc_error err = { 0 }, ignored = { 0 };
	enum MHD_Result ret;
	json_t *out = NULL;

	if (!call->cs_err.code && call->len > 0) {
		uint8_t flags;
		size_t plen = 0;

		if (call->len < 5)
			rpc_fail(&call->cs_err, "invalid_argument",
				 "protocol error: incomplete envelope: got %zu of 5 header bytes",
				 call->len);
		else if (rpc_envelope_parse(call->buf, call->len,
					    E2BD_MAX_ENVELOPE, &flags, &plen) == 0)
			rpc_fail(&call->cs_err, "invalid_argument",
				 "protocol error: promised %zu bytes in enveloped message, "
				 "got %zu bytes",
				 plen, call->len - 5);
	}
	if (call->too_big && !call->cs_err.code)
		rpc_fail(&call->cs_err, "resource_exhausted",
			 "message size is larger than configured max %u",
			 E2BD_MAX_ENVELOPE);
	if (call->cs_err.code) {
		cstream_finish(call, NULL, &ignored);
		return rpc_send_stream_error(call->conn, &call->cs_err);
	}
	if (cstream_finish(call, &out, &err) < 0) {
		json_decref(out);
		if (!err.code)
			rpc_fail(&err, "internal", "internal error");
		return rpc_send_stream_error(call->conn, &err);
	}
	if (!out)
		out = json_object();
	ret = send_envelopes(call->conn, call->out_desc != NULL,
			     out ? envelope_msg(call->out_desc, out) : NULL,
			     envelope_end(NULL));
	json_decref(out);
	return ret;
}

enum MHD_Result rpc_call_data(struct rpc_call *call, const char *data,
			      size_t *size)
{
	if (*size > 0) {
		if (!call->too_big && !call->cs_err.code)
			buf_append(call, data, *size);
		*size = 0;
		if (call->m->kind == RPC_CLIENT_STREAM && !call->too_big)
			cstream_feed(call);
		return MHD_YES;
	}
	switch (call->m->kind) {
	case RPC_UNARY:
		return finish_unary(call);
	case RPC_SERVER_STREAM:
		return finish_server_stream(call);
	default:
		return finish_client_stream(call);
	}
}

void rpc_call_end(struct rpc_call *call)
{
	struct rpc_error ignored = { 0 };

	if (!call)
		return;
	if (call->m->kind == RPC_CLIENT_STREAM)
		cstream_finish(call, NULL, &ignored);
	if (call->stream) {
		stream_close(call->stream);
		stream_unref(call->stream);
	}
	sandbox_put(call->ctx.sb);
	free(call->buf);
	free(call);
}

/*
 * The test service (/e2bd.Test/...), served only when E2BD_TEST_RPC=1 is in
 * e2bd's environment: it exercises the framing above without depending on
 * processes or files (tests/integration/connect.sh).
 */
static int test_echo(struct rpc_ctx *ctx, json_t *req, json_t **out,
		     struct rpc_error *err)
{
	*out = json_incref(req);
	return 0;
}

static int test_stats(struct rpc_ctx *ctx, json_t *req, json_t **out,
		      struct rpc_error *err)
{
	int n;

	pthread_mutex_lock(&live_lock);
	n = live_streams;
	pthread_mutex_unlock(&live_lock);
	*out = json_pack("{s:i}", "streams", n);
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

/* {"count":N,"intervalMs":M,"failCode":"..."}: N ticks M ms apart. */
static void test_tick(struct rpc_ctx *ctx, json_t *req, struct rpc_stream *s,
		      struct rpc_error *err)
{
	json_int_t count = json_integer_value(json_object_get(req, "count"));
	json_int_t interval = json_integer_value(json_object_get(req, "intervalMs"));
	const char *fail_code = json_string_value(json_object_get(req, "failCode"));
	json_int_t i;
	json_t *msg;

	for (i = 0; i < count; i++) {
		if (i > 0 && interval > 0 &&
		    rpc_stream_wait_closed(s, (int)interval))
			return;
		msg = json_pack("{s:I}", "tick", i);
		if (!msg || rpc_stream_send(s, msg) < 0) {
			json_decref(msg);
			return;
		}
		json_decref(msg);
	}
	if (fail_code)
		rpc_fail(err, fail_code, "requested failure");
}

struct test_count {
	json_int_t n;
};

static int test_count(struct rpc_ctx *ctx, json_t *msg, void **state,
		      json_t **out, struct rpc_error *err)
{
	struct test_count *c = *state;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return rpc_fail(err, "internal", "out of memory");
		*state = c;
	}
	if (msg) {
		if (json_object_get(msg, "fail")) {
			free(c);
			*state = NULL;
			return rpc_fail(err, "invalid_argument", "requested failure");
		}
		c->n++;
		return 0;
	}
	*out = json_pack("{s:I}", "count", c->n);
	free(c);
	*state = NULL;
	return 0;
}

const struct rpc_method rpc_test_methods[] = {
	{ .path = "/e2bd.Test/Echo", .kind = RPC_UNARY, .unary = test_echo },
	{ .path = "/e2bd.Test/Stats", .kind = RPC_UNARY, .unary = test_stats },
	{ .path = "/e2bd.Test/Tick", .kind = RPC_SERVER_STREAM,
	  .stream = test_tick, .keepalive_json = "{\"keepalive\":{}}" },
	{ .path = "/e2bd.Test/Count", .kind = RPC_CLIENT_STREAM,
	  .cstream = test_count },
	{ .path = NULL },
};
