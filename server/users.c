/* SPDX-License-Identifier: MIT */
/* users.c: sandbox users and envd path resolution (stub until landed). */
#include "e2bd.h"
#include "sandbox.h"

int sandbox_user(struct sandbox *sb, const char *name, struct sb_user *out)
{
	return -1;
}

int sandbox_resolve_path(const struct sb_user *u, const char *in,
			 char *out, size_t outlen, char *err, size_t errlen)
{
	return -1;
}
