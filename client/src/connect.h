/* SPDX-License-Identifier: MIT */
/*
 * Connect protocol (binary protobuf or JSON codec) against envd: the per-sandbox
 * request target (URL + headers), unary calls, the envelope reader and
 * server streams with a keepalive watchdog.  See
 * docs/internals/libe2b-connect.md.
 */
#ifndef E2B_CONNECT_H
#define E2B_CONNECT_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "conf.h"
#include "http.h"

/* A snapshot of how to reach one sandbox's envd; owned strings. */
struct e2b__envd {
	struct e2b__http *http;
	const struct e2b__conf *conf;
	char *base_url;
	char *sandbox_id;
	char *access_token;	/* NULL = none */
	char *traffic_token;	/* e2b-traffic-access-token, NULL = none */
	char *user;		/* effective user, NULL = envd default */
	char *envd_version;
};

void e2b__envd_release(struct e2b__envd *e);

/* Common envd headers plus Content-Type (if given). */
int e2b__envd_headers(struct curl_slist **out, const struct e2b__envd *e,
		      const char *content_type, int with_user);

/*
 * The protobuf message types of @procedure when envd calls to it go in the
 * binary codec (the configured codec is protobuf and pbjson knows the
 * procedure): returns 1 with *in, *out set, else 0 with both NULL (JSON).
 */
int e2b__rpc_types(const struct e2b__envd *e, const char *procedure,
		   const ProtobufCMessageDescriptor **in,
		   const ProtobufCMessageDescriptor **out);

/* Append @m, packed, to @out. */
int e2b__rpc_pack(e2b_buf *out, const ProtobufCMessage *m);

/* Unary RPC.  @out may be NULL.  Returns 0 or the decoded error. */
int e2b__rpc_unary(json_t **out, const struct e2b__envd *e,
		   const char *procedure, const json_t *req, int idempotent,
		   const char *what);
/* The same; when the answer is a protobuf message and @out_pb is not NULL
 * it is unpacked into *out_pb (free with protobuf_c_message_free_unpacked)
 * and *out stays NULL; otherwise *out is its JSON. */
int e2b__rpc_unary_pb(json_t **out, ProtobufCMessage **out_pb, const struct e2b__envd *e,
		      const char *procedure, const json_t *req, int idempotent,
		      const char *what);

/* ---- envelopes ------------------------------------------------------ */

#define E2B_ENV_FLAG_COMPRESSED 0x01
#define E2B_ENV_FLAG_END 0x02
#define E2B_ENV_MAX_FRAME ((size_t)16 * 1024 * 1024)

typedef int (*e2b__env_cb)(unsigned flags, const char *data, size_t len,
			   void *payload);

struct e2b__env_reader {
	e2b_buf buf;
	size_t max_frame;
	int ended;
	e2b__env_cb cb;
	void *payload;
};

void e2b__env_reader_init(struct e2b__env_reader *r, size_t max_frame,
			  e2b__env_cb cb, void *payload);
/* Feed bytes; calls cb per complete envelope.  0 or a negative code. */
int e2b__env_reader_feed(struct e2b__env_reader *r, const char *data,
			 size_t len);
/* Bytes of an incomplete envelope still buffered. */
size_t e2b__env_reader_pending(const struct e2b__env_reader *r);
void e2b__env_reader_release(struct e2b__env_reader *r);

/* Frame @payload as one envelope into @out. */
int e2b__env_write(e2b_buf *out, unsigned flags, const char *payload,
		   size_t len);

/* ---- server streams ------------------------------------------------- */

/* Called with each message object (borrowed); return 0 or a negative code
 * (recorded) / E2B_ECANCELED to stop. */
typedef int (*e2b__rpc_msg_cb)(json_t *msg, void *payload);

/*
 * Process output in the protobuf codec, handed over without a JSON step:
 * @which is 1 (stdout), 2 (stderr) or 3 (pty); @data is borrowed for the
 * call.  Return as for e2b__rpc_msg_cb.
 */
typedef int (*e2b__rpc_output_cb)(int which, const char *data, size_t len,
				  void *payload);

struct e2b__rpc_stream;

/*
 * Open a server stream.  deadline_ms > 0 sends Connect-Timeout-Ms.
 * Returns after the request was started; messages arrive from pump().
 */
int e2b__rpc_stream_open(struct e2b__rpc_stream **out,
			 const struct e2b__envd *e, const char *procedure,
			 const json_t *req, unsigned deadline_ms,
			 e2b__rpc_msg_cb cb, void *payload, const char *what);
/* The same, with @on_output (may be NULL) for the DataEvents of process streams. */
int e2b__rpc_stream_open2(struct e2b__rpc_stream **out,
			  const struct e2b__envd *e, const char *procedure,
			  const json_t *req, unsigned deadline_ms,
			  e2b__rpc_msg_cb cb, e2b__rpc_output_cb on_output,
			  void *payload, const char *what);
/*
 * Process stream activity for up to timeout_ms.  *out_done = 1 when the
 * stream is over; the return value is then its outcome (0 = clean end).
 * Fails with E2B_EUNAVAILABLE when no bytes arrived for twice the
 * keepalive interval.
 */
int e2b__rpc_stream_pump(struct e2b__rpc_stream *s, int timeout_ms, int fd,
			 int *out_done);
void e2b__rpc_stream_wakeup(struct e2b__rpc_stream *s);
void e2b__rpc_stream_free(struct e2b__rpc_stream *s);

/* ---- client streams ------------------------------------------------- */

/*
 * A client-streaming call (process.Process/StreamInput): messages go out as
 * envelopes on a chunked request body that stays open between sends; the
 * one answer arrives after finish().  Used by one thread at a time.
 */
struct e2b__rpc_cstream;

int e2b__rpc_cstream_open(struct e2b__rpc_cstream **out,
			  const struct e2b__envd *e, const char *procedure,
			  const char *what);
/* Queue one message and wait (bounded by the request timeout) until it
 * was handed to the connection.  Fails with the call's outcome if the
 * server already answered (e.g. an error). */
int e2b__rpc_cstream_send(struct e2b__rpc_cstream *s, const json_t *msg);
/* True when the stream speaks the protobuf codec: send_pb() may be used. */
int e2b__rpc_cstream_proto(const struct e2b__rpc_cstream *s);
/* Like send(), with a message of the procedure's input type. */
int e2b__rpc_cstream_send_pb(struct e2b__rpc_cstream *s, const ProtobufCMessage *m);
/* End the request body and wait for the answer.  @out may be NULL. */
int e2b__rpc_cstream_finish(json_t **out, struct e2b__rpc_cstream *s);
void e2b__rpc_cstream_free(struct e2b__rpc_cstream *s);

#endif
