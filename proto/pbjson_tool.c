/* SPDX-License-Identifier: MIT */
/*
 * pbjson-tool: the converter on the command line, for tests that talk the
 * binary Connect codec with curl (tests/integration/codec.sh).
 *
 *   pbjson-tool encode [-e] PROCEDURE   JSON request on stdin -> protobuf
 *                                       (-e: as one Connect envelope)
 *   pbjson-tool encode -r PROCEDURE     JSON answer on stdin -> protobuf
 *                                       (what e2bd sends for it)
 *   pbjson-tool decode [-e] PROCEDURE   protobuf answer on stdin -> JSON
 *                                       (-e: a stream of envelopes, one line
 *                                       each; end-of-stream as "eos JSON")
 *
 * JSON output is compact with sorted keys.  Exit 1 on any error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"

static int read_all(uint8_t **out, size_t *out_len)
{
	size_t cap = 1 << 16, len = 0, n;
	uint8_t *buf = malloc(cap), *b;

	while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	if (!buf || ferror(stdin)) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int print_json(const char *prefix, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (!s)
		return -1;
	printf("%s%s\n", prefix, s);
	free(s);
	return 0;
}

static int decode_one(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	char err[PBJSON_ERR_MAX] = "";
	json_t *j;
	int r;

	if (pbjson_decode(&j, d, p, n, err) < 0) {
		fprintf(stderr, "pbjson-tool: %s\n", err);
		return -1;
	}
	r = print_json("", j);
	json_decref(j);
	return r;
}

static int decode_envelopes(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	size_t off = 0, len;
	json_t *j;

	while (n - off >= 5) {
		len = (size_t)p[off + 1] << 24 | (size_t)p[off + 2] << 16 |
		      (size_t)p[off + 3] << 8 | p[off + 4];
		if (n - off - 5 < len)
			break;
		if (p[off] & 2) {
			j = json_loadb((const char *)p + off + 5, len, 0, NULL);
			if (!j || print_json("eos ", j) < 0) {
				fprintf(stderr, "pbjson-tool: end-of-stream is not JSON\n");
				json_decref(j);
				return -1;
			}
			json_decref(j);
		} else if (decode_one(d, p + off + 5, len) < 0) {
			return -1;
		}
		off += 5 + len;
	}
	if (off != n) {
		fprintf(stderr, "pbjson-tool: %zu trailing bytes\n", n - off);
		return -1;
	}
	return 0;
}

/* JSON @data of type @d to protobuf on stdout, as one envelope with @env. */
static int encode(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
		  bool allow_nul, bool env)
{
	char err[PBJSON_ERR_MAX] = "";
	uint8_t *buf;
	size_t len;
	json_t *j;
	int r;

	j = json_loadb((const char *)data, n, allow_nul ? JSON_ALLOW_NUL : 0, NULL);
	if (!j || pbjson_encode(&buf, &len, d, j, 5, err) < 0) {
		fprintf(stderr, "pbjson-tool: %s\n", j ? err : "invalid JSON");
		json_decref(j);
		return -1;
	}
	json_decref(j);
	buf[0] = 0;
	buf[1] = (uint8_t)(len >> 24);
	buf[2] = (uint8_t)(len >> 16);
	buf[3] = (uint8_t)(len >> 8);
	buf[4] = (uint8_t)len;
	r = fwrite(env ? buf : buf + 5, 1, env ? len + 5 : len, stdout) != (env ? len + 5 : len);
	free(buf);
	return r ? -1 : 0;
}

int main(int argc, char **argv)
{
	const ProtobufCMessageDescriptor *in, *out;
	int env = argc == 4 && !strcmp(argv[2], "-e");
	int answer = argc == 4 && !strcmp(argv[2], "-r") && !strcmp(argv[1], "encode");
	uint8_t *data;
	size_t n;
	int r;

	if ((argc != 3 && !env && !answer) ||
	    (strcmp(argv[1], "encode") && strcmp(argv[1], "decode"))) {
		fprintf(stderr, "usage: pbjson-tool encode|decode [-e] PROCEDURE\n"
			"       pbjson-tool encode -r PROCEDURE\n");
		return 2;
	}
	if (pbjson_method(argv[argc - 1], &in, &out) < 0) {
		fprintf(stderr, "pbjson-tool: unknown procedure '%s'\n", argv[argc - 1]);
		return 2;
	}
	if (read_all(&data, &n) < 0) {
		fprintf(stderr, "pbjson-tool: cannot read stdin\n");
		return 1;
	}
	if (!strcmp(argv[1], "decode"))
		r = env ? decode_envelopes(out, data, n) : decode_one(out, data, n);
	else if (answer)	/* an answer's strings may hold NULs (EntryInfo.metadata) */
		r = encode(out, data, n, true, false);
	else
		r = encode(in, data, n, false, env);
	free(data);
	return r < 0;
}
