/* SPDX-License-Identifier: MIT */
/*
 * e2b_buf: the growable byte buffer.  Always NUL-terminated, with a hard
 * ceiling fixed at init so a hostile peer cannot grow it without bound.
 * See docs/internals/libe2b-buf.md.
 */
#ifndef E2B_BUF_H
#define E2B_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct e2b_buf {
	char *ptr;	/* never NULL after init: points at "" when empty */
	size_t size;	/* bytes used, excluding the NUL */
	size_t asize;	/* bytes allocated; 0 while ptr is the static "" */
	size_t max;	/* ceiling for size */
} e2b_buf;

extern char e2b__buf_empty[];

#define E2B_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)
#define E2B_BUF_INIT { e2b__buf_empty, 0, 0, E2B_BUF_DEFAULT_MAX }

void e2b_buf_init(e2b_buf *b, size_t max);
/* Grow so that @extra more bytes fit.  E2B_ENOMEM (error set) on failure
 * or when the ceiling would be passed. */
int e2b_buf_grow(e2b_buf *b, size_t extra);
int e2b_buf_put(e2b_buf *b, const void *data, size_t len);
int e2b_buf_puts(e2b_buf *b, const char *s);
int e2b_buf_printf(e2b_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the first @n bytes (streaming parsers). */
void e2b_buf_consume(e2b_buf *b, size_t n);
void e2b_buf_truncate(e2b_buf *b, size_t len);
/* Hand the bytes to the caller (free with e2b__free); buffer reset.
 * Returns NULL only if allocation of an empty string fails. */
char *e2b_buf_detach(e2b_buf *b, size_t *out_len);
void e2b_buf_release(e2b_buf *b);
void e2b_buf_clear(e2b_buf *b);

#endif
