/* SPDX-License-Identifier: MIT */
/*
 * The HTTP layer: a client-wide curl share (DNS, TLS sessions,
 * connections) guarded by explicit locks, a bounded pool of easy handles,
 * blocking requests with retries, and pollable streams.  Knows nothing
 * about E2B.  See docs/internals/libe2b-http.md.
 */
#ifndef E2B_HTTP_H
#define E2B_HTTP_H

#include <pthread.h>
#include <stdint.h>
#include <curl/curl.h>

#include <e2b/common.h>
#include "buf.h"
#include "conf.h"

struct e2b__http {
	const struct e2b__conf *conf;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL **idle;		/* protected by pool_lock */
	size_t idle_count;	/* protected by pool_lock */
	size_t idle_max;
	/* Multi handles of finished standalone streams, each with the
	 * connection cache it keeps: the next stream to the origin reuses the
	 * connection instead of paying a new handshake. */
	CURLM *stream_multis[8];	/* protected by pool_lock */
	size_t stream_multi_count;	/* protected by pool_lock */
	/* The shared multi handle ("mux") that multiplexes buffered requests
	 * of all threads; see the comment above mux_perform() in http.c. */
	CURLM *multi;		/* touched only by the current driver */
	pthread_mutex_t mux_lock;
	pthread_cond_t mux_cond;
	int driving;		/* protected by mux_lock */
	struct e2b__mux_item *pending;	/* protected by mux_lock */
	unsigned long new_connections;	/* protected by mux_lock; stats */
	/* Muxed streams to unpause at the next round. */
	struct e2b__hstream *unpause;	/* protected by mux_lock */
	/* Origins ("https://host:port") seen speaking HTTP/2 through the mux
	 * (streams to them join the mux), and https origins seen answering
	 * in HTTP/1.1 (streams to them stay out of it).  Protected by mux_lock. */
	char *h2_origins[8];
	size_t h2_count;
	char *h1_origins[8];
	size_t h1_count;
	/* A stream to an https origin of unknown version is in the mux. */
	int probing;
};

struct e2b__req {
	const char *method;		/* GET, POST, DELETE, PUT */
	const char *url;
	struct curl_slist *headers;	/* borrowed */
	/* Body from memory (has_body) or from a callback (src). */
	int has_body;
	const char *body;
	size_t body_len;
	e2b_source_cb src;		/* may return E2B__SRC_PAUSE (streams) */
	void *src_payload;
	int64_t src_len;		/* -1 = unknown (chunked) */
	/* Restart src from the beginning (lets curl and our retries resend
	 * the body); NULL = the body cannot be resent. */
	int (*src_rewind)(void *payload);
	/* Total timeout in ms; 0 = the request timeout; see no_timeout. */
	unsigned timeout_ms;
	/* Long transfer: no total timeout, stall detection only. */
	int no_timeout;
	int idempotent;
	/* 2xx body bytes go to sink when set, else into resp->body. */
	e2b_data_cb sink;
	void *sink_payload;
	size_t max_body;		/* ceiling of resp->body; 0 = 16 MiB */
	/* The callbacks (sink/src) are internal and may run on any thread,
	 * so the request can go through the shared multiplexer. */
	int any_thread;
};

struct e2b__resp {
	long status;
	e2b_buf body;
	char request_id[128];
	char next_token[1024];
	char content_type[128];
	char content_range[128];
	char last_modified[64];
	long retry_after;		/* seconds; -1 = absent */
	int64_t content_length;		/* -1 = absent */
	int cb_error;			/* error code recorded by a callback */
	int headers_done;
	uint64_t sunk;			/* bytes passed to the sink */
};

void e2b__resp_init(struct e2b__resp *r);
void e2b__resp_release(struct e2b__resp *r);

/* Number of new connections the shared multiplexer opened (tests). */
unsigned long e2b__http_new_connections(struct e2b__http *h);

int e2b__http_init(struct e2b__http *h, const struct e2b__conf *conf);
void e2b__http_release(struct e2b__http *h);

/*
 * Perform a request, retrying idempotent ones on connection failures and
 * 429/502/503 (backoff, Retry-After).  Returns 0 once a response arrived
 * (any status; check resp->status), or a negative code for a transport
 * failure (error record set).
 */
int e2b__http_do(struct e2b__http *h, const struct e2b__req *req,
		 struct e2b__resp *resp);

/* A response streamed incrementally under the caller's control. */
struct e2b__hstream;

/*
 * What a stream's source callback returns when it has no bytes yet but the
 * body is not over: the upload pauses until e2b__hstream_resume().
 */
#define E2B__SRC_PAUSE (-0x7ffeL)

/* Start a request; body bytes are delivered to req->sink from pump(). */
int e2b__hstream_open(struct e2b__hstream **out, struct e2b__http *h,
		      const struct e2b__req *req);
/*
 * Wait up to timeout_ms for activity (or for fd to become readable), then
 * process it.  Sets *out_done once the transfer finished (then the result
 * is the return value: 0, or the transport error).
 */
int e2b__hstream_pump(struct e2b__hstream *s, int timeout_ms, int fd,
		      int *out_done);
struct e2b__resp *e2b__hstream_resp(struct e2b__hstream *s);
/* Milliseconds since bytes were last received. */
int64_t e2b__hstream_idle_ms(const struct e2b__hstream *s);
/* Restart the idle clock (the caller was not listening). */
void e2b__hstream_touch(struct e2b__hstream *s);
/* Unpause a source that returned E2B__SRC_PAUSE (owner thread only). */
int e2b__hstream_resume(struct e2b__hstream *s);
/* Interrupt a pump in another thread.  Thread-safe. */
void e2b__hstream_wakeup(struct e2b__hstream *s);
void e2b__hstream_free(struct e2b__hstream *s);

/* Append "Name: value" to a header list; E2B_ENOMEM on failure. */
int e2b__headers_add(struct curl_slist **list, const char *name,
		     const char *value);

#endif
