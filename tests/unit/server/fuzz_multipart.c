/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the POST /files multipart parser: any body, fed in
 * chunks whose sizes come from the input, must parse exactly as when fed
 * in one piece, and never crash or over-read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

struct acc {
	char *log;
	size_t len, cap;
};

static void put(struct acc *a, const char *s, size_t n)
{
	if (a->len + n + 1 > a->cap) {
		a->cap = (a->len + n + 1) * 2;
		a->log = realloc(a->log, a->cap);
		if (!a->log)
			abort();
	}
	memcpy(a->log + a->len, s, n);
	a->len += n;
	a->log[a->len] = '\0';
}

static int on_begin(void *p, const char *name, const char *filename)
{
	put(p, "<", 1);
	put(p, name, strlen(name));
	put(p, "|", 1);
	if (filename)
		put(p, filename, strlen(filename));
	put(p, ">", 1);
	return 0;
}

static int on_data(void *p, const char *d, size_t n)
{
	put(p, d, n);
	return 0;
}

static int on_end(void *p)
{
	put(p, "$", 1);
	return 0;
}

static const struct multipart_callbacks cbs = { on_begin, on_data, on_end };

static int run(const uint8_t *data, size_t size, size_t step, struct acc *a)
{
	char err[128];
	struct multipart_parser *p = multipart_new("multipart/form-data; boundary=XyZ",
						   &cbs, a, err, sizeof(err));
	size_t off = 0;
	int rc = 0;

	if (!p)
		abort();
	while (off < size && rc == 0) {
		size_t n = size - off < step ? size - off : step;

		rc = multipart_feed(p, (const char *)data + off, n);
		off += n;
	}
	if (rc == 0)
		rc = multipart_finish(p);
	multipart_free(p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acc whole = { 0 }, split = { 0 };
	size_t step;
	int r1, r2;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	r1 = run(data + 1, size - 1, size, &whole);
	r2 = run(data + 1, size - 1, step, &split);
	if (r1 != r2 || whole.len != split.len ||
	    (whole.len && memcmp(whole.log, split.log, whole.len) != 0))
		abort();
	free(whole.log);
	free(split.log);
	return 0;
}
