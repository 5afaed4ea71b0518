/* SPDX-License-Identifier: MIT */
/*
 * Connect RPC over libcurl, in the binary protobuf codec (application/proto,
 * application/connect+proto) unless the configuration asks for JSON.
 * Either way callers build and read json_t: pbjson.c converts through the
 * method's protobuf-c descriptors (a procedure it does not know goes out
 * as JSON).  Unary JSON bodies are never empty.  Streams are parsed as a
 * byte stream of envelopes that may be split or joined anywhere; the
 * server is treated as adversarial (frame size limit, reserved flags, data
 * after end-of-stream, missing end).  End-of-stream messages and unary
 * errors are JSON in both codecs.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "errdecode.h"
#include "error.h"
#include "connect.h"
#include "json.h"
#include "pbjson.h"
#include "util.h"

void e2b__envd_release(struct e2b__envd *e)
{
	if (!e)
		return;
	e2b__free(e->base_url);
	e2b__free(e->sandbox_id);
	e2b__free(e->access_token);
	e2b__free(e->traffic_token);
	e2b__free(e->user);
	e2b__free(e->envd_version);
	memset(e, 0, sizeof(*e));
}

/* The client's custom headers onto @l.  They go first: ours win on
 * collision (later duplicates are sent too, so skip names we set
 * ourselves). */
static int add_custom_headers(struct curl_slist **l, const struct e2b__conf *c)
{
	size_t i;
	int error = 0;

	for (i = 0; i < c->headers_count && !error; i++) {
		const char *k = c->headers[i].key;

		if (!strcasecmp(k, "X-Access-Token") || !strcasecmp(k, "E2b-Sandbox-Id") ||
		    !strcasecmp(k, "E2b-Sandbox-Port") || !strcasecmp(k, "Content-Type"))
			continue;
		error = e2b__headers_add(l, k, c->headers[i].value);
	}
	return error;
}

/* An Authorization header onto @l: Basic, @user with no password. */
static int add_basic_auth(struct curl_slist **l, const char *user)
{
	e2b_buf b = E2B_BUF_INIT;
	int error;

	error = e2b_buf_printf(&b, "%s:", user);
	if (!error) {
		e2b_buf enc = E2B_BUF_INIT;

		error = e2b_buf_puts(&enc, "Basic ");
		if (!error)
			error = e2b__b64_encode(&enc, b.ptr, b.size);
		if (!error)
			error = e2b__headers_add(l, "Authorization", enc.ptr);
		e2b_buf_release(&enc);
	}
	e2b_buf_release(&b);
	return error;
}

int e2b__envd_headers(struct curl_slist **out, const struct e2b__envd *e,
		      const char *content_type, int with_user)
{
	const struct e2b__conf *c = e->conf;
	struct curl_slist *l = NULL;
	char port[16];
	int error;

	error = add_custom_headers(&l, c);
	snprintf(port, sizeof(port), "%u", c->envd_port);
	if (!error)
		error = e2b__headers_add(&l, "E2b-Sandbox-Id", e->sandbox_id);
	if (!error)
		error = e2b__headers_add(&l, "E2b-Sandbox-Port", port);
	if (!error && e->access_token && *e->access_token)
		error = e2b__headers_add(&l, "X-Access-Token", e->access_token);
	if (!error && e->traffic_token && *e->traffic_token)
		error = e2b__headers_add(&l, "e2b-traffic-access-token", e->traffic_token);
	if (!error && c->api_key)
		error = e2b__headers_add(&l, "X-API-Key", c->api_key);
	if (!error && content_type)
		error = e2b__headers_add(&l, "Content-Type", content_type);
	if (!error && with_user && e->user && *e->user)
		error = add_basic_auth(&l, e->user);
	/* Small bodies: skip the 100-continue round trip. */
	if (!error && !curl_slist_append(l, "Expect:"))
		error = e2b__error_oom();
	if (error < 0) {
		curl_slist_free_all(l);
		return error;
	}
	*out = l;
	return 0;
}

static int rpc_url(e2b_buf *url, const struct e2b__envd *e, const char *procedure)
{
	return e2b_buf_printf(url, "%s/%s", e->base_url, procedure);
}

int e2b__rpc_types(const struct e2b__envd *e, const char *procedure,
		   const ProtobufCMessageDescriptor **in,
		   const ProtobufCMessageDescriptor **out)
{
	*in = *out = NULL;
	if (e->conf->codec == E2B_CODEC_JSON || pbjson_method(procedure, in, out) < 0) {
		*in = *out = NULL;
		return 0;
	}
	return 1;
}

int e2b__rpc_pack(e2b_buf *out, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	int error;

	error = e2b_buf_grow(out, n);
	if (error < 0)
		return error;
	protobuf_c_message_pack(m, (uint8_t *)out->ptr + out->size);
	out->size += n;
	out->ptr[out->size] = '\0';
	return 0;
}

/* Serialise @req (NULL = empty) in the codec of @in (NULL = JSON) into @out. */
static int encode_msg(e2b_buf *out, const ProtobufCMessageDescriptor *in, const json_t *req)
{
	char perr[PBJSON_ERR_MAX] = "";
	ProtobufCMessage *m;
	json_t *empty = NULL;
	int error;

	if (!in)
		return req ? e2b__json_dump(out, req) : e2b_buf_puts(out, "{}");
	if (!req)
		req = empty = json_object();
	if (!req)
		return e2b__error_oom();
	error = pbjson_to_pb(&m, in, req, perr);
	json_decref(empty);
	if (error < 0)
		return e2b__error_set(E2B_EINVALID, "cannot encode %s: %s", in->name, perr);
	error = e2b__rpc_pack(out, m);
	protobuf_c_message_free_unpacked(m, NULL);
	return error;
}

/* Parse one message of type @outd (NULL = JSON) into a JSON object. */
static int decode_msg(json_t **out, const ProtobufCMessageDescriptor *outd,
		      const char *data, size_t len)
{
	char perr[PBJSON_ERR_MAX] = "";

	if (!outd)
		return e2b__json_parse_object(out, data, len);
	if (pbjson_decode(out, outd, data, len, perr) < 0) {
		*out = NULL;
		if (strstr(perr, "out of memory"))
			return e2b__error_oom();
		return e2b__error_set(E2B_EPROTO, "%s", perr);
	}
	return 0;
}

int e2b__rpc_unary(json_t **out, const struct e2b__envd *e,
		   const char *procedure, const json_t *req, int idempotent,
		   const char *what)
{
	return e2b__rpc_unary_pb(out, NULL, e, procedure, req, idempotent, what);
}

/* The request's body: @req encoded as message @ind, or as JSON without
 * @ind. */
static int rpc_body(e2b_buf *body, const ProtobufCMessageDescriptor *ind, const json_t *req)
{
	int error = encode_msg(body, ind, req);

	if (error < 0)
		return error;
	if (!body->size && !ind) {
		/* connect-go rejects zero-length unary JSON payloads. */
		error = e2b_buf_puts(body, "{}");
	}
	return error;
}

/* The answer @resp, message @outd (JSON without it), as the caller wants
 * it: the message itself into *@out_pb, or as JSON into *@out. */
static int rpc_answer(json_t **out, ProtobufCMessage **out_pb,
		      const ProtobufCMessageDescriptor *outd, const struct e2b__resp *resp,
		      const char *what)
{
	json_t *j = NULL;
	int error = 0;

	if (outd && out_pb) {
		/* The caller reads the message itself. */
		*out_pb = protobuf_c_message_unpack(outd, NULL, resp->body.size,
						    (const uint8_t *)resp->body.ptr);
		if (!*out_pb) {
			error = e2b__error_set(E2B_EPROTO, "cannot decode %s", outd->name);
			e2b__error_prefix(what);
		}
		return error;
	}
	error = decode_msg(&j, outd, resp->body.ptr, resp->body.size);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (out) {
		*out = j;
		j = NULL;
	}
out:
	json_decref(j);
	return error;
}

int e2b__rpc_unary_pb(json_t **out, ProtobufCMessage **out_pb, const struct e2b__envd *e,
		      const char *procedure, const json_t *req, int idempotent,
		      const char *what)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	e2b_buf url = E2B_BUF_INIT, body = E2B_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	const ProtobufCMessageDescriptor *ind, *outd;
	int error;

	if (out)
		*out = NULL;
	if (out_pb)
		*out_pb = NULL;
	e2b__resp_init(&resp);
	e2b__rpc_types(e, procedure, &ind, &outd);
	/*
	 * An empty answer message is an HTTP body of 0 bytes in protobuf.
	 * nghttpx 1.52 (in front of e2bd in client_h2.sh) ends a connection
	 * carrying thousands of those with GOAWAY INTERNAL_ERROR, which
	 * curl 7.88 reports as a framing error on a call that was answered.
	 * These calls (SendInput, SendSignal, CloseStdin, Update, Remove,
	 * RemoveWatcher) carry a few bytes each way: JSON costs nothing.
	 */
	if (outd && outd->n_fields == 0)
		ind = outd = NULL;
	error = rpc_url(&url, e, procedure);
	if (error < 0)
		goto out;
	error = rpc_body(&body, ind, req);
	if (error < 0)
		goto out;
	error = e2b__envd_headers(&hdrs, e, ind ? "application/proto" : "application/json", 1);
	if (error == 0 && !curl_slist_append(hdrs, "Connect-Protocol-Version: 1"))
		error = e2b__error_oom();
	if (error < 0)
		goto out;
	r.method = "POST";
	r.url = url.ptr;
	r.headers = hdrs;
	r.has_body = 1;
	r.body = body.ptr;
	r.body_len = body.size;
	r.idempotent = idempotent;
	r.any_thread = 1;
	/* A deep ListDir of a big tree is large; still bounded. */
	r.max_body = (size_t)256 * 1024 * 1024;
	error = e2b__http_do(e->http, &r, &resp);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (resp.status != 200) {
		error = e2b__error_from_response(resp.status, resp.body.ptr, resp.body.size,
						 resp.request_id, what);
		goto out;
	}
	/* A server that answers JSON anyway is understood. */
	if (ind && !strncmp(resp.content_type, "application/json", 16))
		outd = NULL;
	error = rpc_answer(out, out_pb, outd, &resp, what);
out:
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&body);
	e2b__resp_release(&resp);
	return error;
}

/* ---- envelopes ------------------------------------------------------ */

void e2b__env_reader_init(struct e2b__env_reader *r, size_t max_frame,
			  e2b__env_cb cb, void *payload)
{
	r->max_frame = max_frame ? max_frame : E2B_ENV_MAX_FRAME;
	e2b_buf_init(&r->buf, r->max_frame + 5);
	r->ended = 0;
	r->cb = cb;
	r->payload = payload;
}

void e2b__env_reader_release(struct e2b__env_reader *r)
{
	e2b_buf_release(&r->buf);
}

size_t e2b__env_reader_pending(const struct e2b__env_reader *r)
{
	return r->buf.size;
}

/* Handle complete envelopes at the start of [p, p+n); returns bytes used. */
static int parse_frames(struct e2b__env_reader *r, const char *p, size_t n,
			size_t *used)
{
	const unsigned char *u;
	uint32_t len;
	unsigned flags;
	size_t off = 0;
	int error;

	while (n - off >= 5) {
		u = (const unsigned char *)p + off;
		flags = u[0];
		len = ((uint32_t)u[1] << 24) | ((uint32_t)u[2] << 16) |
		      ((uint32_t)u[3] << 8) | (uint32_t)u[4];
		if (r->ended)
			return e2b__error_set(E2B_EPROTO, "data after end of stream");
		if (flags & ~(unsigned)(E2B_ENV_FLAG_COMPRESSED | E2B_ENV_FLAG_END))
			return e2b__error_set(E2B_EPROTO, "envelope has reserved flags 0x%02x",
					      flags);
		if (flags & E2B_ENV_FLAG_COMPRESSED)
			return e2b__error_set(E2B_EPROTO, "compressed envelope was not negotiated");
		if (len > r->max_frame)
			return e2b__error_set(E2B_EPROTO,
					      "envelope of %u bytes exceeds the limit of %zu",
					      len, r->max_frame);
		if (n - off - 5 < len)
			break;
		if (flags & E2B_ENV_FLAG_END)
			r->ended = 1;
		error = r->cb(flags, p + off + 5, len, r->payload);
		if (error)
			return error < 0 ? error : E2B_ECANCELED;
		off += 5 + (size_t)len;
	}
	if (r->ended && off < n && n - off < 5)
		return e2b__error_set(E2B_EPROTO, "data after end of stream");
	*used = off;
	return 0;
}

int e2b__env_reader_feed(struct e2b__env_reader *r, const char *data,
			 size_t len)
{
	size_t used = 0, need;
	const unsigned char *u;
	int error;

	if (!len)
		return 0;
	if (r->ended)
		return e2b__error_set(E2B_EPROTO, "data after end of stream");
	/* Complete a buffered partial envelope first, taking only what it needs. */
	while (r->buf.size && len) {
		if (r->buf.size < 5) {
			need = 5 - r->buf.size;
			if (need > len)
				need = len;
		} else {
			u = (const unsigned char *)r->buf.ptr;
			need = ((size_t)u[1] << 24 | (size_t)u[2] << 16 | (size_t)u[3] << 8 | u[4]);
			if (need > r->max_frame)
				return e2b__error_set(E2B_EPROTO,
						      "envelope of %zu bytes exceeds "
						      "the limit of %zu",
						      need, r->max_frame);
			need = need + 5 - r->buf.size;
			if (need > len)
				need = len;
		}
		error = e2b_buf_put(&r->buf, data, need);
		if (error < 0)
			return error;
		data += need;
		len -= need;
		error = parse_frames(r, r->buf.ptr, r->buf.size, &used);
		if (error < 0)
			return error;
		e2b_buf_consume(&r->buf, used);
		if (r->ended && len)
			return e2b__error_set(E2B_EPROTO, "data after end of stream");
	}
	if (!len)
		return 0;
	error = parse_frames(r, data, len, &used);
	if (error < 0)
		return error;
	return e2b_buf_put(&r->buf, data + used, len - used);
}

int e2b__env_write(e2b_buf *out, unsigned flags, const char *payload,
		   size_t len)
{
	unsigned char h[5];
	int error;

	if (len > UINT32_MAX)
		return e2b__error_set(E2B_EINVALID, "message too large");
	h[0] = (unsigned char)flags;
	h[1] = (unsigned char)(len >> 24);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 8);
	h[4] = (unsigned char)len;
	error = e2b_buf_put(out, h, 5);
	if (error < 0)
		return error;
	return e2b_buf_put(out, payload, len);
}

/* ---- server streams ------------------------------------------------- */

struct e2b__rpc_stream {
	struct e2b__hstream *hs;
	struct e2b__env_reader rd;
	e2b__rpc_msg_cb cb;
	e2b__rpc_output_cb on_output;	/* process output, protobuf codec */
	void *payload;
	const ProtobufCMessageDescriptor *out_desc;	/* NULL = JSON */
	struct curl_slist *hdrs;
	e2b_buf url;
	e2b_buf body;
	int end_seen;
	int end_error;		/* code of an end-stream error, 0 if clean */
	int checked_headers;
	unsigned keepalive_s;
	int64_t last_pump_ms;
	char what[160];
};

static int stream_frame(unsigned flags, const char *data, size_t len, void *payload)
{
	struct e2b__rpc_stream *s = payload;
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);
	json_t *j = NULL, *err;
	const uint8_t *bytes;
	size_t n;
	int error, which;

	/* Output bytes straight to the caller, without a JSON detour. */
	if (!(flags & E2B_ENV_FLAG_END) && s->on_output && s->out_desc &&
	    pbjson_peek_output((const uint8_t *)data, len, &which, &bytes, &n))
		return s->on_output(which, (const char *)bytes, n, s->payload);
	/* The end-of-stream message is JSON in both codecs. */
	error = decode_msg(&j, flags & E2B_ENV_FLAG_END ? NULL : s->out_desc, data, len);
	if (error < 0) {
		e2b__error_prefix(s->what);
		return error;
	}
	if (flags & E2B_ENV_FLAG_END) {
		s->end_seen = 1;
		err = json_object_get(j, "error");
		if (err && json_is_object(err)) {
			s->end_error = e2b__error_from_connect_json(err, resp->status,
								    resp->request_id, s->what);
			error = s->end_error;
		}
		json_decref(j);
		return error;
	}
	error = s->cb(j, s->payload);
	json_decref(j);
	return error;
}

/* hstream sink: check the response looks like a Connect stream, then parse. */
static int stream_sink(const char *data, size_t len, void *payload)
{
	struct e2b__rpc_stream *s = payload;
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);

	if (!s->checked_headers) {
		s->checked_headers = 1;
		if (strncmp(resp->content_type, "application/connect+", 20))
			return e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL,
						   resp->request_id,
						   "%s: unexpected content type '%s' on stream",
						   s->what, resp->content_type);
		/* A server that answers JSON anyway is understood. */
		if (!strncmp(resp->content_type, "application/connect+json", 24))
			s->out_desc = NULL;
	}
	return e2b__env_reader_feed(&s->rd, data, len);
}

int e2b__rpc_stream_open(struct e2b__rpc_stream **out,
			 const struct e2b__envd *e, const char *procedure,
			 const json_t *req, unsigned deadline_ms,
			 e2b__rpc_msg_cb cb, void *payload, const char *what)
{
	return e2b__rpc_stream_open2(out, e, procedure, req, deadline_ms, cb, NULL,
				     payload, what);
}

int e2b__rpc_stream_open2(struct e2b__rpc_stream **out,
			  const struct e2b__envd *e, const char *procedure,
			  const json_t *req, unsigned deadline_ms,
			  e2b__rpc_msg_cb cb, e2b__rpc_output_cb on_output,
			  void *payload, const char *what)
{
	const ProtobufCMessageDescriptor *ind;
	struct e2b__rpc_stream *s;
	struct e2b__req r = { 0 };
	e2b_buf msg = E2B_BUF_INIT;
	char tmp[32];
	int error;

	*out = NULL;
	s = e2b__calloc(1, sizeof(*s));
	if (!s)
		return e2b__error_oom();
	e2b_buf_init(&s->url, 0);
	e2b_buf_init(&s->body, 0);
	snprintf(s->what, sizeof(s->what), "%s", what);
	s->cb = cb;
	s->on_output = on_output;
	s->payload = payload;
	s->keepalive_s = e->conf->keepalive_s;
	e2b__rpc_types(e, procedure, &ind, &s->out_desc);
	e2b__env_reader_init(&s->rd, 0, stream_frame, s);
	error = rpc_url(&s->url, e, procedure);
	if (error < 0)
		goto fail;
	error = encode_msg(&msg, ind, req);
	if (error < 0)
		goto fail;
	error = e2b__env_write(&s->body, 0, msg.ptr, msg.size);
	if (error < 0)
		goto fail;
	error = e2b__envd_headers(&s->hdrs, e, ind ? "application/connect+proto" :
				  "application/connect+json", 1);
	if (error < 0)
		goto fail;
	snprintf(tmp, sizeof(tmp), "%u", s->keepalive_s);
	error = e2b__headers_add(&s->hdrs, "Keepalive-Ping-Interval", tmp);
	if (!error)
		error = e2b__headers_add(&s->hdrs, "Connect-Protocol-Version", "1");
	if (!error)
		error = e2b__headers_add(&s->hdrs, "Accept-Encoding", "identity");
	if (!error && deadline_ms) {
		snprintf(tmp, sizeof(tmp), "%u", deadline_ms);
		error = e2b__headers_add(&s->hdrs, "Connect-Timeout-Ms", tmp);
	}
	if (error < 0)
		goto fail;
	r.method = "POST";
	r.url = s->url.ptr;
	r.headers = s->hdrs;
	r.has_body = 1;
	r.body = s->body.ptr;
	r.body_len = s->body.size;
	r.sink = stream_sink;
	r.sink_payload = s;
	error = e2b__hstream_open(&s->hs, e->http, &r);
	if (error < 0)
		goto fail;
	e2b_buf_release(&msg);
	*out = s;
	return 0;
fail:
	e2b_buf_release(&msg);
	e2b__rpc_stream_free(s);
	return error;
}

int e2b__rpc_stream_pump(struct e2b__rpc_stream *s, int timeout_ms, int fd,
			 int *out_done)
{
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);
	int64_t limit_ms = (int64_t)s->keepalive_s * 2000;
	int error, done = 0;

	*out_done = 0;
	/* Silence only counts while someone is listening: a background
	 * handle nobody pumped for a while has its bytes waiting in the socket. */
	if (e2b__now_ms() - s->last_pump_ms > 1000)
		e2b__hstream_touch(s->hs);
	error = e2b__hstream_pump(s->hs, timeout_ms, fd, &done);
	s->last_pump_ms = e2b__now_ms();
	if (!done) {
		if (error < 0)
			goto finish;
		if (e2b__hstream_idle_ms(s->hs) > limit_ms) {
			error = e2b__error_set(E2B_EUNAVAILABLE,
					       "%s: stream silent for %lld s, "
					       "connection presumed dead",
					       s->what, (long long)(limit_ms / 1000));
			goto finish;
		}
		return 0;
	}
	if (error < 0) {
		/* A callback error (or end-stream error) is already recorded. */
		if (resp->status && resp->status != 200 && !resp->cb_error)
			goto http_error;
		if (!resp->cb_error)
			e2b__error_prefix(s->what);
		goto finish;
	}
	if (resp->status != 200)
		goto http_error;
	if (!s->checked_headers && strncmp(resp->content_type, "application/connect+", 20)) {
		error = e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL,
					    resp->request_id,
					    "%s: unexpected content type '%s' on stream",
					    s->what, resp->content_type);
		goto finish;
	}
	if (!s->end_seen) {
		error = e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL,
					    resp->request_id,
					    "%s: stream ended without end-of-stream%s",
					    s->what, e2b__env_reader_pending(&s->rd) ?
					    " (truncated envelope)" : "");
		goto finish;
	}
	error = s->end_error;
	goto finish;
http_error:
	error = e2b__error_from_response(resp->status, resp->body.ptr, resp->body.size,
					 resp->request_id, s->what);
finish:
	*out_done = 1;
	return error;
}

void e2b__rpc_stream_wakeup(struct e2b__rpc_stream *s)
{
	if (s)
		e2b__hstream_wakeup(s->hs);
}

void e2b__rpc_stream_free(struct e2b__rpc_stream *s)
{
	if (!s)
		return;
	e2b__hstream_free(s->hs);
	e2b__env_reader_release(&s->rd);
	curl_slist_free_all(s->hdrs);
	e2b_buf_release(&s->url);
	e2b_buf_release(&s->body);
	e2b__free(s);
}

/* ---- client streams ------------------------------------------------- */

struct e2b__rpc_cstream {
	struct e2b__hstream *hs;
	struct e2b__env_reader rd;
	struct curl_slist *hdrs;
	e2b_buf url;
	e2b_buf pending;	/* framed messages libcurl has not taken yet */
	int closing;		/* body complete: the source reports EOF */
	int done;		/* transfer over; result in `result` */
	int result;
	int end_seen;
	int end_error;
	int checked_headers;
	const ProtobufCMessageDescriptor *in_desc, *out_desc;	/* NULL = JSON */
	json_t *answer;		/* the one response message */
	unsigned timeout_ms;
	char what[160];
};

static long cstream_src(char *buf, size_t cap, void *payload)
{
	struct e2b__rpc_cstream *s = payload;
	size_t n = s->pending.size;

	if (!n)
		return s->closing ? 0 : E2B__SRC_PAUSE;
	if (n > cap)
		n = cap;
	memcpy(buf, s->pending.ptr, n);
	e2b_buf_consume(&s->pending, n);
	return (long)n;
}

static int cstream_frame(unsigned flags, const char *data, size_t len, void *payload)
{
	struct e2b__rpc_cstream *s = payload;
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);
	json_t *j = NULL, *err;
	int error;

	error = decode_msg(&j, flags & E2B_ENV_FLAG_END ? NULL : s->out_desc, data, len);
	if (error < 0) {
		e2b__error_prefix(s->what);
		return error;
	}
	if (flags & E2B_ENV_FLAG_END) {
		s->end_seen = 1;
		err = json_object_get(j, "error");
		if (err && json_is_object(err)) {
			s->end_error = e2b__error_from_connect_json(err, resp->status,
								    resp->request_id, s->what);
			error = s->end_error;
		}
		json_decref(j);
		return error;
	}
	if (s->answer) {
		json_decref(j);
		return e2b__error_set(E2B_EPROTO, "%s: more than one answer to a client stream",
				      s->what);
	}
	s->answer = j;
	return 0;
}

static int cstream_sink(const char *data, size_t len, void *payload)
{
	struct e2b__rpc_cstream *s = payload;
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);

	if (!s->checked_headers) {
		s->checked_headers = 1;
		if (strncmp(resp->content_type, "application/connect+", 20))
			return e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL,
						   resp->request_id,
						   "%s: unexpected content type '%s' on stream",
						   s->what, resp->content_type);
		if (!strncmp(resp->content_type, "application/connect+json", 24))
			s->out_desc = NULL;
	}
	return e2b__env_reader_feed(&s->rd, data, len);
}

/* The outcome of a finished transfer, recorded once. */
static int cstream_outcome(struct e2b__rpc_cstream *s, int error)
{
	struct e2b__resp *resp = e2b__hstream_resp(s->hs);

	if (error < 0) {
		if (resp->status && resp->status != 200 && !resp->cb_error)
			goto http_error;
		if (!resp->cb_error)
			e2b__error_prefix(s->what);
		return error;
	}
	if (resp->status != 200)
		goto http_error;
	if (!s->checked_headers && strncmp(resp->content_type, "application/connect+", 20))
		return e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL, resp->request_id,
					   "%s: unexpected content type '%s' on stream",
					   s->what, resp->content_type);
	if (!s->end_seen)
		return e2b__error_set_http(E2B_EPROTO, (int)resp->status, NULL, resp->request_id,
					   "%s: stream ended without end-of-stream", s->what);
	return s->end_error;
http_error:
	return e2b__error_from_response(resp->status, resp->body.ptr, resp->body.size,
					resp->request_id, s->what);
}

/* Pump until @until(s) holds or the transfer ends, for at most timeout_ms. */
static int cstream_pump_until(struct e2b__rpc_cstream *s, int (*until)(struct e2b__rpc_cstream *))
{
	int64_t deadline = e2b__now_ms() + s->timeout_ms;
	int error, done = 0;

	while (!s->done && !until(s)) {
		if (e2b__now_ms() > deadline)
			return e2b__error_set(E2B_ETIMEOUT, "%s: no progress within %u ms",
					      s->what, s->timeout_ms);
		error = e2b__hstream_pump(s->hs, 100, -1, &done);
		if (done) {
			s->done = 1;
			s->result = cstream_outcome(s, error);
			break;
		}
		if (error < 0)
			return error;
	}
	return 0;
}

static int cstream_drained(struct e2b__rpc_cstream *s)
{
	return s->pending.size == 0;
}

static int cstream_never(struct e2b__rpc_cstream *s)
{
	(void)s;
	return 0;
}

int e2b__rpc_cstream_open(struct e2b__rpc_cstream **out,
			  const struct e2b__envd *e, const char *procedure,
			  const char *what)
{
	struct e2b__rpc_cstream *s;
	struct e2b__req r = { 0 };
	int error;

	*out = NULL;
	s = e2b__calloc(1, sizeof(*s));
	if (!s)
		return e2b__error_oom();
	e2b_buf_init(&s->url, 0);
	e2b_buf_init(&s->pending, 0);
	snprintf(s->what, sizeof(s->what), "%s", what);
	s->timeout_ms = e->conf->request_timeout_ms;
	e2b__rpc_types(e, procedure, &s->in_desc, &s->out_desc);
	e2b__env_reader_init(&s->rd, 0, cstream_frame, s);
	error = rpc_url(&s->url, e, procedure);
	if (error < 0)
		goto fail;
	error = e2b__envd_headers(&s->hdrs, e, s->in_desc ? "application/connect+proto" :
				  "application/connect+json", 1);
	if (!error)
		error = e2b__headers_add(&s->hdrs, "Connect-Protocol-Version", "1");
	if (!error)
		error = e2b__headers_add(&s->hdrs, "Accept-Encoding", "identity");
	if (error < 0)
		goto fail;
	r.method = "POST";
	r.url = s->url.ptr;
	r.headers = s->hdrs;
	r.src = cstream_src;
	r.src_payload = s;
	r.src_len = -1;
	r.sink = cstream_sink;
	r.sink_payload = s;
	error = e2b__hstream_open(&s->hs, e->http, &r);
	if (error < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	e2b__rpc_cstream_free(s);
	return error;
}

static int cstream_ready(struct e2b__rpc_cstream *s)
{
	if (s->done)
		return s->result < 0 ? s->result :
			e2b__error_set(E2B_EPROTO, "%s: server ended the stream early", s->what);
	if (s->closing)
		return e2b__error_set(E2B_EINVALID, "%s: stream already finished", s->what);
	return 0;
}

/* Hand what is pending to the connection and wait until it was taken. */
static int cstream_push(struct e2b__rpc_cstream *s)
{
	int error;

	error = e2b__hstream_resume(s->hs);
	if (!error)
		error = cstream_pump_until(s, cstream_drained);
	if (!error && s->done && !cstream_drained(s))
		error = s->result < 0 ? s->result :
			e2b__error_set(E2B_EPROTO, "%s: server ended the stream early", s->what);
	return error;
}

int e2b__rpc_cstream_proto(const struct e2b__rpc_cstream *s)
{
	return s->in_desc != NULL;
}

int e2b__rpc_cstream_send(struct e2b__rpc_cstream *s, const json_t *msg)
{
	e2b_buf b = E2B_BUF_INIT;
	int error;

	error = cstream_ready(s);
	if (!error)
		error = encode_msg(&b, s->in_desc, msg);
	if (!error)
		error = e2b__env_write(&s->pending, 0, b.ptr, b.size);
	e2b_buf_release(&b);
	if (error < 0)
		return error;
	return cstream_push(s);
}

int e2b__rpc_cstream_send_pb(struct e2b__rpc_cstream *s, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	unsigned char *h;
	int error;

	error = cstream_ready(s);
	if (error < 0)
		return error;
	if (n > UINT32_MAX)
		return e2b__error_set(E2B_EINVALID, "message too large");
	/* Packed straight behind its envelope header in the pending buffer. */
	error = e2b_buf_grow(&s->pending, 5 + n);
	if (error < 0)
		return error;
	h = (unsigned char *)s->pending.ptr + s->pending.size;
	h[0] = 0;
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
	protobuf_c_message_pack(m, h + 5);
	s->pending.size += 5 + n;
	s->pending.ptr[s->pending.size] = '\0';
	return cstream_push(s);
}

int e2b__rpc_cstream_finish(json_t **out, struct e2b__rpc_cstream *s)
{
	int error;

	if (out)
		*out = NULL;
	if (!s->closing) {
		s->closing = 1;
		error = e2b__hstream_resume(s->hs);
		if (error < 0)
			return error;
	}
	error = cstream_pump_until(s, cstream_never);
	if (error < 0)
		return error;
	if (s->result < 0)
		return s->result;
	if (out) {
		*out = s->answer;
		s->answer = NULL;
	}
	return 0;
}

void e2b__rpc_cstream_free(struct e2b__rpc_cstream *s)
{
	if (!s)
		return;
	e2b__hstream_free(s->hs);
	e2b__env_reader_release(&s->rd);
	curl_slist_free_all(s->hdrs);
	e2b_buf_release(&s->url);
	e2b_buf_release(&s->pending);
	json_decref(s->answer);
	e2b__free(s);
}
