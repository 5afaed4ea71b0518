/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for envd path resolution (users.c) and the lexical
 * cleaner (sbfs.c): whatever the client sends, the result is a clean
 * absolute path with no `.`/`..` components, and cleaning is idempotent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"
#include "api/sandbox.h"
#include "envd/users.h"
#include "isolate/sbfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *p)
{
	char again[SBFS_PATH_MAX];
	size_t n = strlen(p);

	if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
	    (n > 1 && p[n - 1] == '/') || (n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
	memcpy(again, p, n + 1);
	sbfs_clean(again);
	if (strcmp(again, p) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_user u = { .name = "user", .uid = 1000, .gid = 1000, .home = "/home/user" };
	char in[SBFS_PATH_MAX + 16], out[SBFS_PATH_MAX], err[512], param[256];

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (users_resolve_path(&u, in, out, sizeof(out), err, sizeof(err)) == 0 && out[0])
		check_clean(out);
	if (in[0] == '/' && strlen(in) < SBFS_PATH_MAX) {
		memcpy(out, in, strlen(in) + 1);
		sbfs_clean(out);
		check_clean(out);
	}
	/* Header parameter parsing sees client bytes too. */
	multipart_header_param(in, "filename", param, sizeof(param));
	return 0;
}
