/* SPDX-License-Identifier: MIT */
/* A throw-away directory tree that plays a sandbox root in unit tests. */
#ifndef TEST_SERVER_FAKEROOT_H
#define TEST_SERVER_FAKEROOT_H

#include "api/sandbox.h"

struct fakeroot {
	char dir[256];		/* host path of the tree */
	struct sandbox sb;	/* rootfd = O_PATH fd on dir */
	struct sb_user user;	/* "user", with this process's uid/gid */
};

/*
 * Build the tree:
 *   etc/passwd, etc/group        root (0) and user (1000 -> our uid)
 *   home/user/a.txt "hello\n"    0644
 *   home/user/empty              0644, 0 bytes
 *   home/user/dir/sub/f          "f"
 *   home/user/link -> /opt/data  (absolute, inside the root)
 *   home/user/abs -> /etc        (absolute: must not be the host's /etc)
 *   home/user/esc -> ../../../../../../../etc
 *   home/user/broken -> /nope
 *   home/user/loop1 <-> loop2
 *   home/user/chain1 -> chain2 -> link
 *   opt/data/x                   0755 dir with one file
 */
int fakeroot_setup(void **state);
int fakeroot_teardown(void **state);

/* Host path of a sandbox path in the fake root (static buffer). */
const char *fakeroot_host(struct fakeroot *f, const char *path);

#endif
