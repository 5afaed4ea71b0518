/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for the parts of e2bd the filesystem unit tests do not link
 * (rpc.c, log.c, main.c): the error helper, a recording stream and logging.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/e2bd.h"
#include "http/rpc.h"
#include "stubs.h"

struct e2bd_config g_cfg;

int rpc_fail(struct rpc_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int rpc_stream_send(struct rpc_stream *s, json_t *msg)
{
	struct test_stream *t = (struct test_stream *)s;

	json_array_append(t->sent, msg);
	if (t->on_send)
		t->on_send(t);
	return t->closed ? -1 : 0;
}

bool rpc_stream_closed(struct rpc_stream *s)
{
	return ((struct test_stream *)s)->closed;
}

bool rpc_stream_deadline_expired(struct rpc_stream *s)
{
	return false;
}

bool rpc_stream_wait_closed(struct rpc_stream *s, int ms)
{
	return ((struct test_stream *)s)->closed;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
}

int64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
