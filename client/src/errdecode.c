/* SPDX-License-Identifier: MIT */
/*
 * Error decoding for every shape listed in protocol.md §2.9/§3.4/§3.5.
 * Order: JSON string code (Connect) > JSON integer code (envd HTTP, E2B,
 * OpenKruise; 0 means "use the status") > HTTP status; the message is the
 * JSON "message", else the first line of a text body, else the status.
 * The one place where OS error text (envd's, the metadata helper's)
 * becomes an errno value (e2b_error.os_errno).
 */
#include <ctype.h>
#include <errno.h>
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

/*
 * OS error texts: Linux strerror(3) in the C locale, which the sandbox's
 * tools print (the metadata helper runs them with LC_ALL=C), and Go's
 * syscall.Errno strings, which are the same words in lower case (envd
 * sends OS errors as "internal" with that text).  Matched ignoring case.
 */
static const struct os_text {
	const char *text;
	int os_errno;
} os_texts[] = {
	{ "operation not permitted", EPERM },
	{ "no such file or directory", ENOENT },
	{ "input/output error", EIO },
	{ "no such device or address", ENXIO },
	{ "bad file descriptor", EBADF },
	{ "permission denied", EACCES },
	{ "device or resource busy", EBUSY },
	{ "file exists", EEXIST },
	{ "invalid cross-device link", EXDEV },
	{ "no such device", ENODEV },
	{ "not a directory", ENOTDIR },
	{ "is a directory", EISDIR },
	{ "invalid argument", EINVAL },
	{ "text file busy", ETXTBSY },
	{ "file too large", EFBIG },
	{ "no space left on device", ENOSPC },
	{ "not enough disk space", ENOSPC },	/* envd's own words */
	{ "path is a file", ENOTDIR },		/* envd: a parent is a file */
	{ "read-only file system", EROFS },
	{ "too many links", EMLINK },
	{ "file name too long", ENAMETOOLONG },
	{ "directory not empty", ENOTEMPTY },
	{ "too many levels of symbolic links", ELOOP },
	{ "value too large for defined data type", EOVERFLOW },
	{ "operation not supported", EOPNOTSUPP },
	{ "stale file handle", ESTALE },
	{ "disk quota exceeded", EDQUOT },
	/* Go's io/fs words (fs.ErrExist, fs.ErrNotExist) and envd's. */
	{ "already exists", EEXIST },
	{ "does not exist", ENOENT },
	{ "path too long", ENAMETOOLONG },
};

/* End offset of the last case-insensitive occurrence of @needle, or 0. */
static size_t last_match_end(const char *hay, const char *needle)
{
	size_t hl = strlen(hay), nl = strlen(needle), i, j, end = 0;

	for (i = 0; nl && i + nl <= hl; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)hay[i + j]) != needle[j])
				break;
		if (j == nl)
			end = i + nl;
	}
	return end;
}

/*
 * The errno whose text ends last in @text (Go and coreutils put the OS
 * reason at the end, after the path, so a path that happens to hold such
 * words does not decide it); on a tie the longer text ("no such device or
 * address" over "no such device").  0 when none.
 */
int e2b__errno_from_text(const char *text)
{
	size_t i, end, best_end = 0, best_len = 0;
	int best = 0;

	if (!text)
		return 0;
	for (i = 0; i < sizeof(os_texts) / sizeof(os_texts[0]); i++) {
		size_t len = strlen(os_texts[i].text);

		end = last_match_end(text, os_texts[i].text);
		if (end && (end > best_end || (end == best_end && len > best_len))) {
			best = os_texts[i].os_errno;
			best_end = end;
			best_len = len;
		}
	}
	return best;
}

int e2b__code_from_errno(int os_errno)
{
	switch (os_errno) {
	case 0:
		return E2B_OK;
	case ENOENT:
		return E2B_ENOTFOUND;
	case EEXIST:
		return E2B_EEXISTS;
	case EACCES: case EPERM: case EROFS:
		return E2B_EPERM;
	case ENOSPC: case EDQUOT:
		return E2B_ENOSPC;
	case EINVAL: case ENAMETOOLONG:
		return E2B_EINVALID;
	default:
		return E2B_ERROR;
	}
}

int e2b__code_from_connect(const char *code, const char *message)
{
	size_t i;
	int c = E2B_ERROR, os;

	for (i = 0; code && i < sizeof(connect_codes) / sizeof(connect_codes[0]); i++) {
		if (!strcmp(connect_codes[i].name, code)) {
			c = connect_codes[i].code;
			break;
		}
	}
	/* envd reports OS errors as internal with Go's errno text: only the
	 * space and permission classes change the code. */
	if (c == E2B_ERROR && message) {
		os = e2b__errno_from_text(message);
		if (os == ENOSPC || os == EDQUOT)
			c = E2B_ENOSPC;
		else if (os == EACCES || os == EPERM || os == EROFS)
			c = E2B_EPERM;
	}
	return c;
}

/* The error code of HTTP status @status.
 * Long: a lookup table written as one switch, a line per class; split, the
 * table would be harder to read. */
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
	e2b__error_set_http(c, (int)status, code, request_id, "%s%s%s",
			    what ? what : "", what ? ": " : "",
			    msg && *msg ? msg : (code ? code : "unknown error"));
	e2b__error_set_os_errno(e2b__errno_from_text(msg));
	return c;
}

/* The error code, message, rpc code and request id an error body @j (an
 * object) gives; @code, from the HTTP status, unless it says better.  *@rid
 * is taken only when the headers had none. */
static int json_error_fields(const json_t *j, int code, const char **msg, const char **rpc,
			     const char **rid)
{
	json_t *jc, *jm, *jr;
	int http_code;

	jc = json_object_get(j, "code");
	jm = json_object_get(j, "message");
	jr = json_object_get(j, "request_id");
	if (json_is_string(jm))
		*msg = json_string_value(jm);
	if (json_is_string(jr) && (!*rid || !**rid))
		*rid = json_string_value(jr);
	if (json_is_string(jc)) {
		*rpc = json_string_value(jc);
		code = e2b__code_from_connect(*rpc, *msg);
	} else if (json_is_integer(jc) && json_integer_value(jc) >= 100 &&
		   json_integer_value(jc) <= 599) {
		http_code = e2b__code_from_http(json_integer_value(jc));
		if (http_code != E2B_OK)
			code = http_code;
	}
	if (code == E2B_ERROR && *msg)
		code = e2b__code_from_connect(NULL, *msg);
	if (!*msg && *rpc)
		*msg = *rpc;
	return code;
}

int e2b__error_from_response(long status, const char *body, size_t len,
			     const char *request_id, const char *what)
{
	char text[256];
	json_error_t jerr;
	json_t *j = NULL;
	const char *msg = NULL, *rpc = NULL, *rid = request_id;
	int code, oom;

	code = e2b__code_from_http(status);
	if (code == E2B_OK)
		code = E2B_EPROTO;
	if (len) {
		j = e2b__json_load(body, len, 0, &jerr, &oom);
		/* Decoding needs memory too; say so rather than guess. */
		if (oom)
			return e2b__error_oom();
	}
	if (j && json_is_object(j))
		code = json_error_fields(j, code, &msg, &rpc, &rid);
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
	/* Only the server's words: @what holds the caller's path. */
	e2b__error_set_os_errno(e2b__errno_from_text(msg));
	json_decref(j);
	return code;
}
