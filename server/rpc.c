/* SPDX-License-Identifier: MIT */
/* rpc.c: Connect framing and HTTP response helpers (stub until landed). */
#include <stdarg.h>
#include <stdio.h>
#include "e2bd.h"
#include "rpc.h"

int rpc_fail(struct rpc_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status,
				const char *fmt, ...)
{
	return MHD_NO;
}
