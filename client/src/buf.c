/* SPDX-License-Identifier: MIT */
/*
 * Growable NUL-terminated buffer with a ceiling (git strbuf, curl dynbuf).
 * Sizes come from the network, so every addition is overflow-checked.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "error.h"

char e2b__buf_empty[1];

void e2b_buf_init(e2b_buf *b, size_t max)
{
	b->ptr = e2b__buf_empty;
	b->size = 0;
	b->asize = 0;
	b->max = max ? max : E2B_BUF_DEFAULT_MAX;
}

int e2b_buf_grow(e2b_buf *b, size_t extra)
{
	size_t need, nsize;
	char *p;

	if (extra > b->max || b->size > b->max - extra)
		return e2b__error_set(E2B_ENOMEM, "buffer limit of %zu bytes exceeded",
				      b->max);
	need = b->size + extra + 1;
	if (need <= b->asize)
		return 0;
	nsize = b->asize ? b->asize : 64;
	while (nsize < need) {
		if (nsize > ((size_t)-1) / 2) {
			nsize = need;
			break;
		}
		nsize *= 2;
	}
	if (nsize > b->max + 1)
		nsize = b->max + 1;
	if (nsize < need)
		nsize = need;
	p = e2b__realloc(b->asize ? b->ptr : NULL, nsize);
	if (!p)
		return e2b__error_oom();
	if (!b->asize)
		p[0] = '\0';
	b->ptr = p;
	b->asize = nsize;
	return 0;
}

int e2b_buf_put(e2b_buf *b, const void *data, size_t len)
{
	int error;

	if (!len)
		return 0;
	error = e2b_buf_grow(b, len);
	if (error < 0)
		return error;
	memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = '\0';
	return 0;
}

int e2b_buf_puts(e2b_buf *b, const char *s)
{
	return e2b_buf_put(b, s, strlen(s));
}

int e2b_buf_printf(e2b_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, error;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return e2b__error_set(E2B_ERROR, "cannot format string");
	error = e2b_buf_grow(b, (size_t)n);
	if (error < 0)
		return error;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->size += (size_t)n;
	return 0;
}

void e2b_buf_consume(e2b_buf *b, size_t n)
{
	if (n >= b->size) {
		e2b_buf_truncate(b, 0);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->size - n);
	b->size -= n;
	b->ptr[b->size] = '\0';
}

void e2b_buf_truncate(e2b_buf *b, size_t len)
{
	if (len >= b->size)
		return;
	b->size = len;
	b->ptr[len] = '\0';
}

char *e2b_buf_detach(e2b_buf *b, size_t *out_len)
{
	char *p;

	if (out_len)
		*out_len = b->size;
	if (b->asize)
		p = b->ptr;
	else
		p = e2b__strdup("");
	b->ptr = e2b__buf_empty;
	b->size = 0;
	b->asize = 0;
	return p;
}

void e2b_buf_release(e2b_buf *b)
{
	if (b->asize)
		e2b__free(b->ptr);
	b->ptr = e2b__buf_empty;
	b->size = 0;
	b->asize = 0;
}

void e2b_buf_clear(e2b_buf *b)
{
	e2b_buf_release(b);
}
