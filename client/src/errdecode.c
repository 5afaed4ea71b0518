/* SPDX-License-Identifier: MIT */
/*
 * Error decoding for every shape listed in protocol.md §2.9/§3.4/§3.5.
 * Order: JSON string code (Connect) > JSON integer code (envd HTTP, E2B,
 * OpenKruise; 0 means "use the status") > HTTP status; the message is the
 * JSON "message", else the first line of a text body, else the status.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "errdecode.h"
#include "json.h"

struct code_map {
	const char *name;
	int code;
};

static const struct code_map connect_codes[] = {
	{ "canceled", E2B_ECANCELED },
	{ "unknown", E2B_ERROR },
	{ "invalid_argument", E2B_EINVALID },
	{ "deadline_exceeded", E2B_ETIMEOUT },
	{ "not_found", E2B_ENOTFOUND },
	{ "already_exists", E2B_EEXISTS },
	{ "permission_denied", E2B_EPERM },
	{ "resource_exhausted", E2B_EUNAVAILABLE },
	{ "failed_precondition", E2B_EINVALID },
	{ "aborted", E2B_ECONFLICT },
	{ "out_of_range", E2B_EINVALID },
	{ "unimplemented", E2B_ERROR },
	{ "internal", E2B_ERROR },
	{ "unavailable", E2B_EUNAVAILABLE },
	{ "data_loss", E2B_ERROR },
	{ "unauthenticated", E2B_EAUTH },
};

int e2b__code_from_connect(const char *code, const char *message)
{
	size_t i;
	int c = E2B_ERROR;

	for (i = 0; code && i < sizeof(connect_codes) / sizeof(connect_codes[0]); i++) {
		if (!strcmp(connect_codes[i].name, code)) {
			c = connect_codes[i].code;
			break;
		}
	}
	/* envd reports OS errors as internal with Go's errno text. */
	if (c == E2B_ERROR && message) {
		if (strstr(message, "no space left on device") ||
		    strstr(message, "not enough disk space") ||
		    strstr(message, "disk quota exceeded"))
			c = E2B_ENOSPC;
		else if (strstr(message, "permission denied") ||
			 strstr(message, "operation not permitted") ||
			 strstr(message, "read-only file system"))
			c = E2B_EPERM;
	}
	return c;
}

int e2b__code_from_http(long status)
{
	if (status >= 200 && status < 300)
		return E2B_OK;
	switch (status) {
	case 400: case 405: case 411: case 413: case 415: case 416: case 422:
		return E2B_EINVALID;
	case 401: return E2B_EAUTH;
	case 403: return E2B_EPERM;
	case 404: case 410: return E2B_ENOTFOUND;
	case 409: return E2B_ECONFLICT;
	case 408: case 504: return E2B_ETIMEOUT;
	case 429: case 502: case 503: return E2B_EUNAVAILABLE;
	case 499: return E2B_ECANCELED;
	case 507: return E2B_ENOSPC;
	default: return E2B_ERROR;
	}
}

/* First line of a text body, trimmed, made printable, at most 200 bytes. */
static void text_message(char *dst, size_t cap, const char *body, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len && isspace((unsigned char)body[i]))
		i++;
	for (; i < len && n + 1 < cap && n < 200; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == '\n' || c == '\r')
			break;
		dst[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	while (n && isspace((unsigned char)dst[n - 1]))
		n--;
	dst[n] = '\0';
}

static int looks_like_html(const char *s)
{
	return !strncmp(s, "<!", 2) || !strncmp(s, "<html", 5) || !strncmp(s, "<HTML", 5);
}

int e2b__error_from_connect_json(const json_t *err, long status,
				 const char *request_id, const char *what)
{
	json_t *jc = json_object_get(err, "code");
	json_t *jm = json_object_get(err, "message");
	const char *code = json_is_string(jc) ? json_string_value(jc) : NULL;
	const char *msg = json_is_string(jm) ? json_string_value(jm) : NULL;
	int c;

	c = code ? e2b__code_from_connect(code, msg) : E2B_ERROR;
	return e2b__error_set_http(c, (int)status, code, request_id, "%s%s%s",
				   what ? what : "", what ? ": " : "",
				   msg && *msg ? msg : (code ? code : "unknown error"));
}

int e2b__error_from_response(long status, const char *body, size_t len,
			     const char *request_id, const char *what)
{
	char text[256];
	json_error_t jerr;
	json_t *j = NULL, *jc, *jm, *jr;
	const char *msg = NULL, *rpc = NULL, *rid = request_id;
	int code, http_code, oom;

	code = e2b__code_from_http(status);
	if (code == E2B_OK)
		code = E2B_EPROTO;
	if (len) {
		j = e2b__json_load(body, len, 0, &jerr, &oom);
		/* Decoding needs memory too; say so rather than guess. */
		if (oom)
			return e2b__error_oom();
	}
	if (j && json_is_object(j)) {
		jc = json_object_get(j, "code");
		jm = json_object_get(j, "message");
		jr = json_object_get(j, "request_id");
		if (json_is_string(jm))
			msg = json_string_value(jm);
		if (json_is_string(jr) && (!rid || !*rid))
			rid = json_string_value(jr);
		if (json_is_string(jc)) {
			rpc = json_string_value(jc);
			code = e2b__code_from_connect(rpc, msg);
		} else if (json_is_integer(jc) && json_integer_value(jc) >= 100 &&
			   json_integer_value(jc) <= 599) {
			http_code = e2b__code_from_http(json_integer_value(jc));
			if (http_code != E2B_OK)
				code = http_code;
		}
		if (code == E2B_ERROR && msg)
			code = e2b__code_from_connect(NULL, msg);
		if (!msg && rpc)
			msg = rpc;
	}
	if (!msg && len && !j) {
		text_message(text, sizeof(text), body, len);
		if (*text && !looks_like_html(text))
			msg = text;
	}
	if (!msg || !*msg) {
		snprintf(text, sizeof(text), "http status %ld", status);
		msg = text;
	}
	e2b__error_set_http(code, (int)status, rpc, rid, "%s%s%s",
			    what ? what : "", what ? ": " : "", msg);
	json_decref(j);
	return code;
}
