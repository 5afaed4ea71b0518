/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the request fields e2bd parses itself
 * (reqparse.c).  The input is up to four NUL-separated fields: a URL
 * path, a Host header, an Authorization header and a list query value
 * (also tried as an RFC 3339 timestamp).  Each parser must stay within
 * its buffers and uphold what its callers rely on.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/reqparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool id_ok(const char *id, size_t idlen, bool host)
{
	size_t i, n = strlen(id);

	if (n == 0 || n >= idlen)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (c == '/')
			return false;
		if (host && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char empty[1];
	char *copy, *field[4] = { empty, empty, empty, empty }, *p, *end;
	char id[64], name[128];
	const char *path;
	json_t *want, *v;
	const char *k;
	long port;
	time_t t;
	int i, r;

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	for (i = 0; i < 4 && p <= end; i++) {
		field[i] = p;
		p += strlen(p) + 1;
	}

	r = reqparse_kruise_path(field[0], id, sizeof(id), &port, &path);
	if (r == 1 && (!id_ok(id, sizeof(id), false) || port < 0 || port > 99999 ||
		       path[0] != '/' ||
		       (strcmp(path, "/") != 0 &&
			(path < field[0] || path > field[0] + strlen(field[0])))))
		abort();

	r = reqparse_host(field[1], id, sizeof(id), &port);
	if (r == 1 && (!id_ok(id, sizeof(id), true) || port > 99999))
		abort();

	r = reqparse_basic_user(field[2], name, sizeof(name));
	if (r == 1 && (strlen(name) >= sizeof(name) || strchr(name, ':')))
		abort();

	want = json_object();
	if (want && reqparse_metadata(field[3], want) == 0) {
		json_object_foreach(want, k, v)
			if (!json_is_string(v))
				abort();
	}
	json_decref(want);
	(void)reqparse_rfc3339(field[3], &t);
	free(copy);
	return 0;
}
