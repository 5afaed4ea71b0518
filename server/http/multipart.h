/* SPDX-License-Identifier: MIT */
/*
 * A streaming multipart/form-data parser for POST /files: the body is fed
 * in whatever chunks the HTTP layer delivers and part data is handed on
 * as it arrives, so uploads of any size run in constant memory.
 */
#ifndef E2BD_MULTIPART_H
#define E2BD_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

struct multipart_callbacks {
	/* A part starts; @filename is NULL when the part has none. */
	int (*part_begin)(void *payload, const char *name, const char *filename);
	int (*part_data)(void *payload, const char *data, size_t len);
	int (*part_end)(void *payload);
};

struct multipart_parser;

/*
 * Parser for a body of @content_type ("multipart/...; boundary=...").
 * NULL with a message in @err when the type carries no usable boundary.
 * Callbacks return 0, or -1 to stop the parse (multipart_feed then returns -1).
 */
struct multipart_parser *multipart_new(const char *content_type,
				       const struct multipart_callbacks *cb,
				       void *payload, char *err, size_t errlen);
/* Feed body bytes.  Returns 0, or -1 on a syntax or callback error. */
int multipart_feed(struct multipart_parser *p, const char *data, size_t len);
/*
 * End of body.  Returns 1 if no part was ever seen (an empty form),
 * 0 if the closing boundary was read, -1 if the body stopped mid-form.
 */
int multipart_finish(struct multipart_parser *p);
/* Last syntax error ("" for callback errors). */
const char *multipart_error(const struct multipart_parser *p);
void multipart_free(struct multipart_parser *p);

/*
 * The value of parameter @key in a header value such as
 * `form-data; name="file"; filename="a b.txt"` (token or quoted string,
 * RFC 2231 `key*=utf-8''...` preferred).  Returns 0, or -1 if absent.
 */
int multipart_header_param(const char *value, const char *key, char *out, size_t outlen);

#endif
