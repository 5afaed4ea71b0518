/* SPDX-License-Identifier: MIT */
/* Test doubles shared by the server unit tests (see stubs.c). */
#ifndef TEST_SERVER_STUBS_H
#define TEST_SERVER_STUBS_H

#include <stdbool.h>
#include <jansson.h>

/* What the fake rpc_stream_send() records; cast to struct rpc_stream *. */
struct test_stream {
	json_t *sent;		/* array of messages, in order */
	volatile bool closed;
	void (*on_send)(struct test_stream *t);
	void *payload;
};

#endif
