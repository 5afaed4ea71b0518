/* SPDX-License-Identifier: MIT */
/*
 * The thread-local error record behind e2b_error_last().  Fixed-size
 * storage per thread: nothing to allocate, nothing to leak at thread exit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct error_tls {
	e2b_error pub;
	char message[512];
	char rpc_code[48];
	char request_id[128];
};

static _Thread_local struct error_tls tls_err;

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!src)
		src = "";
	n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void fix_pointers(void)
{
	tls_err.pub.message = tls_err.message;
	tls_err.pub.rpc_code = tls_err.rpc_code;
	tls_err.pub.request_id = tls_err.request_id;
}

static int vset(int code, int http_status, const char *rpc_code,
		const char *request_id, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static int vset(int code, int http_status, const char *rpc_code,
		const char *request_id, const char *fmt, va_list ap)
{
	size_t i;

	fix_pointers();
	tls_err.pub.code = (e2b_error_code)code;
	tls_err.pub.http_status = http_status;
	tls_err.pub.os_errno = 0;
	copy_str(tls_err.rpc_code, sizeof(tls_err.rpc_code), rpc_code);
	copy_str(tls_err.request_id, sizeof(tls_err.request_id), request_id);
	vsnprintf(tls_err.message, sizeof(tls_err.message), fmt, ap);
	/* One line: server text may carry newlines. */
	for (i = 0; tls_err.message[i]; i++)
		if (tls_err.message[i] == '\n' || tls_err.message[i] == '\r')
			tls_err.message[i] = ' ';
	return code;
}

int e2b__error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int e2b__error_set_http(int code, int http_status, const char *rpc_code,
			const char *request_id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, http_status, rpc_code, request_id, fmt, ap);
	va_end(ap);
	return code;
}

void e2b__error_set_os_errno(int os_errno)
{
	tls_err.pub.os_errno = os_errno;
}

int e2b__error_oom(void)
{
	return e2b__error_set(E2B_ENOMEM, "out of memory");
}

void e2b__error_prefix(const char *prefix)
{
	char tmp[sizeof(tls_err.message)];
	size_t plen = strlen(prefix), mlen = strlen(tls_err.message);

	if (plen > sizeof(tmp) - 3)
		plen = sizeof(tmp) - 3;
	if (mlen > sizeof(tmp) - 3 - plen)
		mlen = sizeof(tmp) - 3 - plen;
	memcpy(tmp, prefix, plen);
	memcpy(tmp + plen, ": ", 2);
	memcpy(tmp + plen + 2, tls_err.message, mlen);
	tmp[plen + 2 + mlen] = '\0';
	memcpy(tls_err.message, tmp, sizeof(tmp));
}

const e2b_error *e2b_error_last(void)
{
	fix_pointers();
	return &tls_err.pub;
}

void e2b_error_clear(void)
{
	fix_pointers();
	tls_err.pub.code = E2B_OK;
	tls_err.pub.http_status = 0;
	tls_err.pub.os_errno = 0;
	tls_err.message[0] = '\0';
	tls_err.rpc_code[0] = '\0';
	tls_err.request_id[0] = '\0';
}

const char *e2b_error_code_str(int code)
{
	switch (code) {
	case E2B_OK: return "success";
	case E2B_ENOTFOUND: return "not found";
	case E2B_EEXISTS: return "already exists";
	case E2B_EAUTH: return "authentication failed";
	case E2B_EPERM: return "permission denied";
	case E2B_ETIMEOUT: return "timed out";
	case E2B_ECONFLICT: return "conflict";
	case E2B_EUNAVAILABLE: return "unavailable";
	case E2B_EPROTO: return "protocol error";
	case E2B_EINVALID: return "invalid argument";
	case E2B_ENOSPC: return "no space left";
	case E2B_EEXIT: return "command exited with nonzero status";
	case E2B_ENOMEM: return "out of memory";
	case E2B_ERROR: return "error";
	case E2B_ECANCELED: return "canceled";
	default: return "unknown error";
	}
}
