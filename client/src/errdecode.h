/* SPDX-License-Identifier: MIT */
/*
 * One mapping from everything a server can answer with (Connect errors
 * with string codes, envd/E2B/OpenKruise JSON with integer codes, plain
 * text from gateways, a bare status) to an e2b_error_code.
 */
#ifndef E2B_ERRDECODE_H
#define E2B_ERRDECODE_H

#include <stddef.h>
#include <jansson.h>

/* Connect code string ("not_found") -> e2b_error_code. */
int e2b__code_from_connect(const char *code, const char *message);
/* OS error text (Go's errno words, strerror in the C locale) -> errno
 * value; the reason ending last wins.  0 when none. */
int e2b__errno_from_text(const char *text);
/* errno value -> e2b_error_code (E2B_OK for 0, E2B_ERROR for the rest). */
int e2b__code_from_errno(int os_errno);
/* HTTP status -> e2b_error_code (E2B_OK for 2xx). */
int e2b__code_from_http(long status);

/*
 * Decode an error response and record it in the thread's error record.
 * @what names the operation ("stat '/x'") and prefixes the message.
 * Returns the code.
 */
int e2b__error_from_response(long status, const char *body, size_t len,
			     const char *request_id, const char *what);

/* Decode a Connect error object ({"code":"...","message":"..."}), e.g. from
 * an end-stream frame.  Records it; returns the code. */
int e2b__error_from_connect_json(const json_t *err, long status,
				 const char *request_id, const char *what);

#endif
