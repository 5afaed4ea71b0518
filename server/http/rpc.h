/* SPDX-License-Identifier: MIT */
/*
 * Connect RPC plumbing shared by the envd services (rpc.c, by the HTTP
 * layer) and the contract the services implement (fsrpc.c, process.c).
 *
 * The HTTP layer routes a request to a sandbox, checks X-Access-Token,
 * resolves the Basic-auth user into an rpc_ctx, parses the request
 * (bare JSON for unary, one envelope for server streams, envelopes as
 * they arrive for client streams) and calls the method's handler.
 */
#ifndef E2BD_RPC_H
#define E2BD_RPC_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "api/sandbox.h"

struct rpc_ctx {
	struct sandbox *sb;	/* referenced for the life of the call */
	struct sb_user user;	/* Basic-auth user, or the default user */
	bool user_explicit;	/* Authorization: Basic was sent */
	int64_t deadline_ms;	/* log_now_ms() deadline from Connect-Timeout-Ms, 0 = none */
	int keepalive_s;	/* Keepalive-Ping-Interval, default 90 */
};

/* A Connect error: code is one of the Connect code strings, or NULL. */
struct rpc_error {
	const char *code;
	char message[1024];
};

/* Set @err (printf-style) and return -1, for `return rpc_fail(...)`. */
int rpc_fail(struct rpc_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Unary handler: on success store a new reference in *out and return 0;
 * on failure return -1 with @err set.  @req is borrowed.
 */
typedef int (*rpc_unary_fn)(struct rpc_ctx *ctx, json_t *req, json_t **out,
			    struct rpc_error *err);

/*
 * Server-stream handler.  It runs on a thread of its own and sends
 * messages with rpc_stream_send(); when it returns, the end-stream
 * envelope is sent, carrying @err if err->code was set.  The stream layer
 * itself sends the method's keepalive message after keepalive_s seconds
 * without a message, and ends the stream with deadline_exceeded when
 * ctx->deadline_ms passes (rpc_stream_closed() then turns true and
 * rpc_stream_deadline_expired() tells why).
 */
struct rpc_stream;
typedef void (*rpc_stream_fn)(struct rpc_ctx *ctx, json_t *req,
			      struct rpc_stream *s, struct rpc_error *err);

/* Queue one message (borrowed).  Returns 0, or -1 once the stream is closed. */
int rpc_stream_send(struct rpc_stream *s, json_t *msg);
/*
 * Queue one chunk of process output (@which: 1 stdout, 2 stderr, 3 pty)
 * as a StartResponse/ConnectResponse data event: base64 in JSON, the
 * bytes as they are with the protobuf codec.  Returns 0 or -1 as above.
 */
int rpc_stream_send_output(struct rpc_stream *s, int which, const void *data,
			   size_t len);
/* True once the client went away or the deadline passed. */
bool rpc_stream_closed(struct rpc_stream *s);
bool rpc_stream_deadline_expired(struct rpc_stream *s);
/*
 * Sleep until the stream closes or @ms pass; returns true if closed.
 * Handlers that wait for events use this (or their own condition plus
 * rpc_stream_closed()) so a disconnect is noticed within a second.
 */
bool rpc_stream_wait_closed(struct rpc_stream *s, int ms);

/*
 * Client-stream handler (StreamInput): called once per message as it
 * arrives, then once with msg == NULL at the end of the request body.
 * *state is NULL on the first call; the handler owns what it puts there
 * and frees it on the final call (or when it returns -1).  On the final
 * call it stores the response in *out.
 */
typedef int (*rpc_cstream_fn)(struct rpc_ctx *ctx, json_t *msg, void **state,
			      json_t **out, struct rpc_error *err);

/*
 * Optional direct path of a client stream in the protobuf codec: a
 * StreamInputRequest data message comes here as its bytes (@which: 1
 * stdin, 2 pty) instead of as JSON with base64.  Same contract as
 * rpc_cstream_fn otherwise (-1 frees *state).
 */
typedef int (*rpc_cstream_input_fn)(struct rpc_ctx *ctx, int which, const void *data,
				    size_t len, void **state, struct rpc_error *err);

/*
 * Optional direct path of a unary method whose answers can be large
 * (ListDir): the handler writes the answer itself in the call's codec
 * (@proto: binary protobuf, else JSON), with no json_t in between.
 * Returns 0 with *out (malloc'd, taken over by the caller) and *out_len
 * set, -1 with @err set, or 1 when it cannot write this answer: the call
 * then goes to the method's rpc_unary_fn.
 */
typedef int (*rpc_unary_raw_fn)(struct rpc_ctx *ctx, json_t *req, bool proto, char **out,
				size_t *out_len, struct rpc_error *err);

enum rpc_kind { RPC_UNARY, RPC_SERVER_STREAM, RPC_CLIENT_STREAM };

struct rpc_method {
	const char *path;	/* "/filesystem.Filesystem/Stat" */
	enum rpc_kind kind;
	rpc_unary_fn unary;
	rpc_unary_raw_fn unary_raw;	/* may be NULL */
	rpc_stream_fn stream;
	rpc_cstream_fn cstream;
	rpc_cstream_input_fn cstream_input;	/* may be NULL */
	const char *keepalive_json;	/* for streams: '{"keepalive":{}}' etc. */
};

/* Tables terminated by an entry with path == NULL. */
extern const struct rpc_method fsrpc_methods[];
extern const struct rpc_method process_methods[];
/* Test service (rpc.c), routed only when E2BD_TEST_RPC=1. */
extern const struct rpc_method rpc_test_methods[];

/*
 * A plain-HTTP envd request (/files, /files/compose, /health, /envs,
 * /metrics) handed over by the HTTP layer with routing, token check
 * (except for /files, which checks token or signature itself) and user
 * resolution done.  The handler is called like an MHD access handler:
 * repeatedly while the body arrives (*upload_data_size > 0; it must
 * consume the data and set *upload_data_size = 0), then once with
 * *upload_data_size == 0 to queue the response.  handler_state survives
 * between calls; handler_free (if set) is called when the request ends.
 */
struct envd_request {
	struct MHD_Connection *conn;
	struct rpc_ctx ctx;
	const char *method;
	const char *path;	/* envd-local path, prefix stripped, no query */
	void *handler_state;
	void (*handler_free)(void *state);
};

typedef enum MHD_Result (*envd_http_fn)(struct envd_request *r,
					const char *upload_data,
					size_t *upload_data_size);

/* Implemented in files.c: /files (GET, POST), /files/compose, /health, /envs, /metrics. */
enum MHD_Result files_dispatch(struct envd_request *r,
			       const char *upload_data,
			       size_t *upload_data_size);

/* Response helpers (rpc.c). */
/* envd/E2B error JSON {"code":<int>,"message":...}. */
enum MHD_Result rpc_send_error(struct MHD_Connection *c, unsigned status,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Connect unary error JSON with the status from the Connect code table. */
enum MHD_Result rpc_send_connect_error(struct MHD_Connection *c,
				       const struct rpc_error *err);
/* Send a JSON body (borrowed) with @status. */
enum MHD_Result rpc_send_json(struct MHD_Connection *c, unsigned status,
			      json_t *body);
/* HTTP status of a Connect code. */
unsigned rpc_code_http_status(const char *code);

/*
 * The HTTP layer's side of a Connect call (rpc.c, used by http.c).
 * rpc_call_begin() checks method, content type and Connect headers and
 * fills the deadline and keepalive of @ctx; it takes over the sandbox
 * reference in @ctx whatever it returns.  NULL means a response was
 * queued already (*ret says whether that worked).  rpc_call_data() is
 * then called like an MHD access handler (body chunks, then *size == 0
 * to answer) and rpc_call_end() once the request is over, also when the
 * client went away.
 */
struct rpc_call;
struct rpc_call *rpc_call_begin(struct MHD_Connection *c,
				const char *http_method,
				const struct rpc_method *m,
				const struct rpc_ctx *ctx,
				enum MHD_Result *ret);
enum MHD_Result rpc_call_data(struct rpc_call *call, const char *data,
			      size_t *size);
void rpc_call_end(struct rpc_call *call);

/*
 * End every open server stream of @sb with an `unavailable` end-stream
 * carrying @why (the sandbox was killed or paused: its envd is gone).
 * Their handlers see rpc_stream_closed() turn true.
 */
void rpc_streams_abort(struct sandbox *sb, const char *why);

/* Server-stream responses still being written (for a graceful shutdown). */
int rpc_open_streams(void);

/* 200 application/connect+json holding one end-stream envelope with @err. */
enum MHD_Result rpc_send_stream_error(struct MHD_Connection *c,
				      const struct rpc_error *err);
/* True if @content_type is a Connect streaming type (application/connect+...). */
bool rpc_is_stream_content_type(const char *content_type);

/*
 * Parse the envelope at the start of @buf: returns 1 with *flags and
 * *payload_len set when all 5 + *payload_len bytes are there, 0 if more
 * bytes are needed, -1 if the promised length exceeds @max.
 */
int rpc_envelope_parse(const uint8_t *buf, size_t len, size_t max,
		       uint8_t *flags, size_t *payload_len);

/*
 * Consume the complete envelopes at the front of @buf (a client stream's
 * bytes so far): parse each message (flags 0, a JSON object) and call
 * @fn with it (borrowed).  Returns the bytes consumed; stops with @err set
 * on a protocol or JSON error or when @fn returns -1 (having set @err).
 */
size_t rpc_envelopes_consume(const uint8_t *buf, size_t len,
			     int (*fn)(void *arg, json_t *msg,
				       struct rpc_error *err),
			     void *arg, struct rpc_error *err);

#endif
