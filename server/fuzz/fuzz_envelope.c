/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Connect envelope reader (rpc.c): the input is
 * a client-stream body, consumed once whole and once in small chunks the
 * way upload data arrives; both must yield the same messages, the same
 * error and the same leftover, and never read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/e2bd.h"
#include "http/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct msgs {
	char *all;	/* compact JSON of every message, newline-separated */
	size_t len;
};

static int collect(void *arg, json_t *msg, struct rpc_error *err)
{
	struct msgs *m = arg;
	char *text = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS), *n;
	size_t tl;

	if (!text)
		abort();
	tl = strlen(text);
	n = realloc(m->all, m->len + tl + 2);
	if (!n)
		abort();
	m->all = n;
	memcpy(m->all + m->len, text, tl);
	m->len += tl;
	m->all[m->len++] = '\n';
	m->all[m->len] = '\0';
	free(text);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgs whole = { 0 }, parts = { 0 };
	struct rpc_error e1 = { 0 }, e2 = { 0 };
	size_t chunk, used, off = 0, blen = 0;
	uint8_t flags, *buf;
	size_t plen;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 23) + 1;
	data++;
	size--;
	(void)rpc_envelope_parse(data, size, E2BD_MAX_ENVELOPE, &flags, &plen);

	used = rpc_envelopes_consume(data, size, collect, &whole, &e1);
	if (used > size)
		abort();

	/* The same bytes as chunked upload data, as rpc.c's cstream_feed sees them. */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	while (off < size && !e2.code) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t c;

		memcpy(buf + blen, data + off, n);
		blen += n;
		off += n;
		c = rpc_envelopes_consume(buf, blen, collect, &parts, &e2);
		if (c > blen)
			abort();
		memmove(buf, buf + c, blen - c);
		blen -= c;
	}
	if ((whole.len != parts.len) ||
	    (whole.len && memcmp(whole.all, parts.all, whole.len) != 0))
		abort();
	if ((e1.code == NULL) != (e2.code == NULL) ||
	    (e1.code && strcmp(e1.code, e2.code) != 0))
		abort();
	if (!e1.code && size - used != blen)
		abort();
	free(buf);
	free(whole.all);
	free(parts.all);
	return 0;
}
