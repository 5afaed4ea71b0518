/* SPDX-License-Identifier: MIT */
/*
 * rm -rf of a sandbox's state on the host: never follows a symlink, never
 * crosses into another mount, and works on trees of any depth and path
 * length.  A sandbox can build a tree deeper than PATH_MAX (nftw then
 * fails with ENAMETOOLONG and leaves it behind) or deeper than the fds we
 * may hold: everything is done relative to directory fds, and a directory
 * found RMTREE_MAX_DEPTH levels down is first renamed to the top of the
 * tree being removed, so at most RMTREE_MAX_DEPTH fds are open at a time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/e2bd.h"

#define RMTREE_MAX_DEPTH 32

struct rmtree {
	int topfd;		/* the directory being emptied */
	dev_t dev;		/* its filesystem: other mounts are left alone */
	unsigned long moved;	/* directories hoisted to the top */
	int error;		/* first errno that left something behind */
};

static void rm_note(struct rmtree *t, int e)
{
	if (!t->error)
		t->error = e;
}

static void rm_dir_contents(struct rmtree *t, int fd, int depth);

/* Remove @name in directory @dfd (a file, a link or a whole tree). */
static void rm_at(struct rmtree *t, int dfd, const char *name, int depth)
{
	char hoisted[64];
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rm_note(t, errno);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			rm_note(t, errno);
		return;
	}
	if (st.st_dev != t->dev)
		return;		/* a mount point: not ours to empty */
	if (depth >= RMTREE_MAX_DEPTH) {
		/* Too deep to hold another fd: move it up and come back. */
		snprintf(hoisted, sizeof(hoisted), ".e2bd-rm-%lu", ++t->moved);
		if (renameat(dfd, name, t->topfd, hoisted) < 0)
			rm_note(t, errno);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			rm_note(t, errno);
		return;
	}
	rm_dir_contents(t, fd, depth + 1);
	close(fd);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		rm_note(t, errno);
}

/* Remove everything in the directory open as @fd (the fd is kept). */
static void rm_dir_contents(struct rmtree *t, int fd, int depth)
{
	struct dirent *de;
	DIR *d;
	int dup_fd;

	dup_fd = dup(fd);
	if (dup_fd < 0) {
		rm_note(t, errno);
		return;
	}
	d = fdopendir(dup_fd);
	if (!d) {
		rm_note(t, errno);
		close(dup_fd);
		return;
	}
	rewinddir(d);	/* the dup shares the offset a previous pass left at the end */
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rm_at(t, dirfd(d), de->d_name, depth);
	}
	closedir(d);
}

int rmtree(const char *path)
{
	struct rmtree t = { .topfd = -1 };
	unsigned long before;
	struct stat st;
	int pass;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	t.topfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t.topfd < 0)
		return -1;
	t.dev = st.st_dev;
	/* Each pass removes what it can and hoists what is too deep; stop
	 * when a pass hoists nothing (bounded: every hoist shortens the
	 * deepest chain by RMTREE_MAX_DEPTH levels). */
	for (pass = 0; pass < 1 << 20; pass++) {
		before = t.moved;
		rm_dir_contents(&t, t.topfd, 1);
		if (t.moved == before)
			break;
	}
	close(t.topfd);
	if (rmdir(path) < 0 && errno != ENOENT) {
		if (!t.error)
			t.error = errno;
	}
	if (t.error) {
		char ebuf[128];

		log_warn("cannot remove all of '%s': %s", path,
			 strerror_r(t.error, ebuf, sizeof(ebuf)));
		errno = t.error;
		return -1;
	}
	return 0;
}
