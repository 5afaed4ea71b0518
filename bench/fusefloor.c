/* SPDX-License-Identifier: MIT */
/*
 * fusefloor: the cost of FUSE itself, with no network and no disk.
 *
 * A read-only FUSE file system made in memory: a file "big" whose read is
 * answered from a buffer with one writev (the way e2bfs answers a streamed
 * read from its ring), and a directory "d" of ENTRIES empty files listed
 * with readdirplus (as e2bfs lists).  `cat big` and `ls -l d` through it
 * are the fastest any FUSE daemon using the kernel's caches can do them on
 * this machine; bench/latency prints them beside the cat and ls rows.
 *
 *   fusefloor MOUNTPOINT SIZE_MIB [ENTRIES]
 *
 * Runs in the foreground, multi-threaded as e2bfs does; unmount with
 * fusermount3 -u.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BIG_INO 2
#define DIR_INO 3
#define FILE_INO0 100		/* d/f1 */
#define PATTERN (1u << 20)
#define TIMEOUT 3600.0

static uint64_t big_size;
static unsigned long entries;
static char *pattern;

static int ino_valid(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID || ino == BIG_INO || ino == DIR_INO ||
	       (ino >= FILE_INO0 && ino < FILE_INO0 + entries);
}

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mtime = 1700000000;
	if (ino == FUSE_ROOT_ID || ino == DIR_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = ino == BIG_INO ? (off_t)big_size : 0;
	}
}

static void fill_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	fill_attr(ino, &e->attr);
}

static void ff_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
	/* Listings with attributes, every time (as e2bfs asks). */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = 0;
	unsigned long k;
	char *end;

	if (parent == FUSE_ROOT_ID && !strcmp(name, "big")) {
		ino = BIG_INO;
	} else if (parent == FUSE_ROOT_ID && !strcmp(name, "d")) {
		ino = DIR_INO;
	} else if (parent == DIR_INO && name[0] == 'f' && name[1] >= '1' && name[1] <= '9') {
		k = strtoul(name + 1, &end, 10);
		if (!*end && k >= 1 && k <= entries)
			ino = FILE_INO0 + k - 1;
	}
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_entry(ino, &e);
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (!ino_valid(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* d's entries f1..fENTRIES with their attributes (offsets: 1 + index). */
static void ff_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	char *buf, name[32];
	size_t used = 0, n;
	unsigned long k;

	(void)fi;
	if (ino != DIR_INO) {
		fuse_reply_buf(req, NULL, 0);	/* the root is not listed */
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (k = (unsigned long)off; k < entries; k++) {
		snprintf(name, sizeof(name), "f%lu", k + 1);
		fill_entry(FILE_INO0 + k, &e);
		n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)k + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == FUSE_ROOT_ID || ino == DIR_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fuse_reply_open(req, fi);
}

/* Up to two pieces of the repeating pattern: what a ring hands over. */
static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct iovec iov[2];
	uint64_t o = (uint64_t)off, at;
	size_t n, first;

	(void)ino;
	(void)fi;
	if (o >= big_size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = big_size - o < size ? (size_t)(big_size - o) : size;
	if (n > PATTERN)
		n = PATTERN;
	at = o % PATTERN;
	first = n < PATTERN - at ? n : (size_t)(PATTERN - at);
	iov[0].iov_base = pattern + at;
	iov[0].iov_len = first;
	iov[1].iov_base = pattern;
	iov[1].iov_len = n - first;
	fuse_reply_iov(req, iov, n > first ? 2 : 1);
}

static const struct fuse_lowlevel_ops ops = {
	.init = ff_init,
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.readdirplus = ff_readdirplus,
	.open = ff_open,
	.read = ff_read,
};

int main(int argc, char **argv)
{
	static char opt_o[] = "-o", opt_v[] = "fsname=fusefloor,ro";
	char *fargv[] = { argv[0], opt_o, opt_v, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_loop_config *lc;
	struct fuse_session *se;
	char *end;
	unsigned long mib;
	size_t i;
	int rc = 1;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: fusefloor MOUNTPOINT SIZE_MIB [ENTRIES]\n");
		return 2;
	}
	if (argc == 4) {
		entries = strtoul(argv[3], &end, 10);
		if (*end || entries > 10000000) {
			fprintf(stderr, "fusefloor: bad entry count '%s' (0 to 10000000)\n",
				argv[3]);
			return 2;
		}
	}
	mib = strtoul(argv[2], &end, 10);
	if (*end || !mib || mib > (1ul << 20)) {
		fprintf(stderr, "fusefloor: bad size '%s' (MiB, 1 to 1048576)\n", argv[2]);
		return 2;
	}
	big_size = (uint64_t)mib << 20;
	pattern = malloc(PATTERN);
	if (!pattern)
		return 1;
	for (i = 0; i < PATTERN; i++)
		pattern[i] = (char)(i * 131u >> 3);
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_se;
	if (fuse_session_mount(se, argv[1]) != 0)
		goto out_sig;
	lc = fuse_loop_cfg_create();
	if (lc) {
		fuse_loop_cfg_set_clone_fd(lc, 0);
		fuse_loop_cfg_set_max_threads(lc, 10);
		rc = fuse_session_loop_mt(se, lc) != 0;
		fuse_loop_cfg_destroy(lc);
	}
	fuse_session_unmount(se);
out_sig:
	fuse_remove_signal_handlers(se);
out_se:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	free(pattern);
	return rc;
}
