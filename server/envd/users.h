/* SPDX-License-Identifier: MIT */
/*
 * A sandbox's users (users.c): looked up in the sandbox's own /etc/passwd,
 * and envd's resolution of request paths against a user's home.
 */
#ifndef E2BD_USERS_H
#define E2BD_USERS_H

#include <stddef.h>

#include "api/sandbox.h"

/*
 * Look up @name in the sandbox's /etc/passwd (and /etc/group for the
 * primary group).  Returns 0, or -1 if the user does not exist.
 */
int users_lookup(struct sandbox *sb, const char *name, struct sb_user *out);

/*
 * envd path resolution (protocol.md §2.3): "" stays "" (caller decides),
 * "~" and "~/x" expand to the user's home, relative paths join the home,
 * the result is lexically cleaned.  Writes an absolute sandbox path to
 * @out.  Returns 0, or -1 with a message in @err (invalid_argument).
 */
int users_resolve_path(const struct sb_user *u, const char *in,
			 char *out, size_t outlen, char *err, size_t errlen);

#endif
