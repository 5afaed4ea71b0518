/* SPDX-License-Identifier: MIT */
/*
 * fusefloor: the cost of moving a file's bytes through /dev/fuse alone.
 *
 * A FUSE file system of one read-only file, "big", whose content is made in
 * memory (no network, no disk): a read is answered from a buffer with one
 * writev, the way e2bfs answers a streamed read from its ring.  `cat` of it
 * is the fastest any FUSE daemon using the kernel's page cache can deliver
 * a file on this machine; bench/latency prints it beside the cat row.
 *
 *   fusefloor MOUNTPOINT SIZE_MIB
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
#define PATTERN (1u << 20)

static uint64_t big_size;
static char *pattern;

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)big_size;
	}
}

static void ff_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, "big") != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = BIG_INO;
	e.attr_timeout = 3600;
	e.entry_timeout = 3600;
	fill_attr(BIG_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != BIG_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != BIG_INO) {
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

	if (argc != 3) {
		fprintf(stderr, "usage: fusefloor MOUNTPOINT SIZE_MIB\n");
		return 2;
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
