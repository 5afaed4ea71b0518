/* SPDX-License-Identifier: MIT */
/*
 * fs/cache.c on a temporary cache directory, with stubs.c as the sandbox:
 * leftovers of an earlier mount (cache_init, cache_recover), files created
 * here (cache_create, writes, reads with holes, truncate, deferred mode and
 * times, the .dirty sidecar, upload on fsync and its failure, cancel),
 * remote files fetched by blocks with readahead and kept while their
 * version holds, the conflict copy, dropping, and the background upload
 * workers behind a barrier.  The cache is process-wide state: each test
 * uses its own paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "e2bfs.h"
#include "stubs.h"

static struct fs fs;
static char cache_dir[] = "/tmp/e2bfs-unit-cache-XXXXXX";

static void put_file(const char *name, const char *content)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", cache_dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int cache_has(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", cache_dir, name);
	return access(p, F_OK) == 0;
}

/* How many .dirty sidecars in the cache name @path. */
static int sidecars_for(const char *path)
{
	struct dirent *de;
	char p[512], buf[512];
	ssize_t r;
	int n = 0, fd;
	DIR *d = opendir(cache_dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 6, ".dirty"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", cache_dir, de->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[r > 0 ? r : 0] = 0;
		n += !strcmp(buf, path);
	}
	closedir(d);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(cache_dir))
		return -1;
	stub_fs_init(&fs);
	fs.cache_dir = cache_dir;
	/* An earlier mount left a clean file and a dirty one. */
	put_file("data-clean", "clean");
	put_file("data-left", "leftover");
	put_file("data-left.dirty", "/left/file");
	put_file("unrelated", "kept");
	if (inode_init(&fs) < 0)
		return -1;
	return cache_init(&fs);
}

static int group_teardown(void **state)
{
	struct dirent *de;
	char p[512];
	DIR *d;

	(void)state;
	cache_shutdown(&fs);
	d = opendir(cache_dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", cache_dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	return rmdir(cache_dir);
}

/* A record for @path with attributes known (as after a lookup). */
static struct inode *file_at(const char *path, mode_t mode, off_t size, time_t mtime,
			     struct stat *st)
{
	struct inode *in = inode_for_path(path);

	assert_non_null(in);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | mode;
	st->st_size = size;
	st->st_mtim.tv_sec = mtime;
	st->st_nlink = 1;
	inode_set_attr(&fs, in, st);
	return in;
}

/* A file created here at @path holding @data, open and dirty. */
static struct inode *new_file(const char *path, mode_t mode, const char *data, struct stat *st)
{
	struct inode *in = file_at(path, mode, 0, 1, st);
	size_t n = strlen(data);

	assert_int_equal(cache_create(&fs, in, st), 0);
	assert_int_equal(cache_write(&fs, in, data, n, 0), (int)n);
	return in;
}

static void assert_remote_bytes(const char *buf, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] != stub_byte(off + i))
			fail_msg("byte %zu at offset %llu: %u, not %u", i,
				 (unsigned long long)off, (unsigned char)buf[i],
				 stub_byte(off + i));
}

static void test_init_leftovers(void **state)
{
	struct stub_call c;
	uint64_t bytes;
	unsigned nfiles, ndirty;

	(void)state;
	/* Clean leftovers go, dirty ones and foreign files stay. */
	assert_false(cache_has("data-clean"));
	assert_true(cache_has("data-left"));
	assert_true(cache_has("data-left.dirty"));
	assert_true(cache_has("unrelated"));
	cache_stats(&fs, &bytes, &nfiles, &ndirty);
	assert_int_equal(ndirty, 1);
	assert_int_equal(nfiles, 0);

	/* The sandbox does not take it: kept for the next try. */
	stub_reset();
	stub.upload_rc = -EIO;
	cache_recover(&fs);
	assert_int_equal(stub_count("upload_fd", NULL), 1);
	assert_true(cache_has("data-left"));
	cache_stats(&fs, &bytes, &nfiles, &ndirty);
	assert_int_equal(ndirty, 1);

	stub_reset();
	cache_recover(&fs);
	assert_int_equal(stub_count("upload_fd", &c), 1);
	assert_string_equal(c.path, "/left/file");
	assert_int_equal(c.size, 8);
	assert_memory_equal(c.data, "leftover", 8);
	assert_false(cache_has("data-left"));
	assert_false(cache_has("data-left.dirty"));
	cache_stats(&fs, &bytes, &nfiles, &ndirty);
	assert_int_equal(ndirty, 0);
	stub_reset();
	cache_recover(&fs);
	assert_int_equal(stub.ncalls, 0);
}

static void test_create_write_read(void **state)
{
	struct inode *in;
	struct stat st, la;
	struct timespec before;
	char buf[100];
	size_t n = 99;

	(void)state;
	stub_reset();
	clock_gettime(CLOCK_REALTIME, &before);
	in = file_at("/new.txt", 0640, 0, 1, &st);
	assert_int_equal(cache_is_local_new(in), 0);
	assert_int_equal(cache_is_dirty(in), 0);
	assert_int_equal(cache_local_attr(in, &la), 0);
	/* No content yet. */
	assert_int_equal(cache_read(&fs, in, buf, 10, 0, &n), -EBADF);
	assert_int_equal(cache_write(&fs, in, "x", 1, 0), -EBADF);
	assert_int_equal(cache_truncate(&fs, in, 0), -EBADF);

	assert_int_equal(cache_create(&fs, in, &st), 0);
	assert_int_equal(cache_is_local_new(in), 1);
	assert_int_equal(cache_is_dirty(in), 1);
	assert_int_equal(cache_is_open(in), 1);
	/* The sidecar names the remote path, for a later mount. */
	assert_int_equal(sidecars_for("/new.txt"), 1);

	assert_int_equal(cache_write(&fs, in, "hello", 5, 0), 5);
	assert_int_equal(cache_write(&fs, in, "X", 1, 10), 1);
	memset(buf, 'q', sizeof(buf));
	assert_int_equal(cache_read(&fs, in, buf, sizeof(buf), 0, &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "hello\0\0\0\0\0X", 11);
	assert_int_equal(cache_read(&fs, in, buf, 3, 2, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "llo", 3);
	assert_int_equal(cache_read(&fs, in, buf, 10, 11, &n), 0);
	assert_int_equal(n, 0);

	/* What getattr shows while the data is only here. */
	memset(&la, 0, sizeof(la));
	la.st_mode = S_IFREG | 0777;
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, 11);
	assert_int_equal(la.st_blocks, 1);
	assert_int_equal(la.st_mode, S_IFREG | 0640);
	assert_true(la.st_mtim.tv_sec >= before.tv_sec);
	/* Created here: nothing was asked of the sandbox. */
	assert_int_equal(stub.ncalls, 0);
	cache_drop(&fs, in);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_truncate(void **state)
{
	struct inode *in;
	struct stat st, la;
	char buf[16];
	size_t n;

	(void)state;
	in = new_file("/trunc.txt", 0644, "abcdefgh", &st);
	assert_int_equal(cache_truncate(&fs, in, 3), 0);
	assert_int_equal(cache_read(&fs, in, buf, sizeof(buf), 0, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, 3);
	/* Growing reads as zeros. */
	assert_int_equal(cache_truncate(&fs, in, 6), 0);
	assert_int_equal(cache_read(&fs, in, buf, sizeof(buf), 0, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "abc\0\0\0", 6);
	assert_int_equal(cache_truncate(&fs, in, 0), 0);
	assert_int_equal(cache_read(&fs, in, buf, sizeof(buf), 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cache_is_dirty(in), 1);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, 0);
	cache_drop(&fs, in);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_mode_and_times(void **state)
{
	struct inode *in, *clean;
	struct stat st, la, want;

	(void)state;
	in = new_file("/mt.txt", 0644, "abc", &st);
	/* Dirty: deferred to the upload, shown meanwhile. */
	assert_int_equal(cache_set_mode(in, 0600), 1);
	memset(&want, 0, sizeof(want));
	want.st_mtim.tv_sec = 1234;
	want.st_mtim.tv_nsec = 5;
	want.st_atim.tv_sec = 99;
	assert_int_equal(cache_set_times(in, &want, FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME), 1);
	memset(&la, 0, sizeof(la));
	la.st_mode = S_IFREG;
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_mode, S_IFREG | 0600);
	assert_int_equal(la.st_mtim.tv_sec, 1234);
	assert_int_equal(la.st_mtim.tv_nsec, 5);
	assert_int_equal(la.st_atim.tv_sec, 99);
	/* A later write is a later mtime. */
	assert_int_equal(cache_write(&fs, in, "d", 1, 3), 1);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_true(la.st_mtim.tv_sec > 1234);
	assert_int_equal(la.st_size, 4);
	/* No content here: nothing deferred. */
	clean = file_at("/mt-clean.txt", 0644, 0, 1, &st);
	assert_int_equal(cache_set_mode(clean, 0600), 0);
	assert_int_equal(cache_set_times(clean, &want, FUSE_SET_ATTR_MTIME), 0);
	inode_unpin(clean);
	cache_drop(&fs, in);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_flush_new(void **state)
{
	struct inode *in;
	struct stat st, want, got;
	struct stub_call c;

	(void)state;
	in = new_file("/up/new.txt", 0644, "payload", &st);
	assert_int_equal(cache_set_mode(in, 0600), 1);
	memset(&want, 0, sizeof(want));
	want.st_mtim.tv_sec = 1234;
	want.st_mtim.tv_nsec = 5;
	assert_int_equal(cache_set_times(in, &want, FUSE_SET_ATTR_MTIME), 1);
	stub_reset();
	assert_int_equal(cache_flush(&fs, in), 0);
	/* Straight to its path (nothing there to protect), with mode and mtime. */
	assert_int_equal(stub_count("upload_new", &c), 1);
	assert_int_equal(stub_count("upload_fd", NULL), 0);
	assert_int_equal(stub_count("stat", NULL), 0);
	assert_string_equal(c.path, "/up/new.txt");
	assert_int_equal(c.size, 7);
	assert_memory_equal(c.data, "payload", 7);
	assert_int_equal(c.mode, 0600);
	assert_int_equal(c.has_mtime, 1);
	assert_int_equal(c.mtime.tv_sec, 1234);
	assert_int_equal(c.mtime.tv_nsec, 5);
	assert_int_equal(cache_is_dirty(in), 0);
	assert_int_equal(cache_is_local_new(in), 0);
	assert_int_equal(sidecars_for("/up/new.txt"), 0);
	assert_int_equal(cache_local_attr(in, &got), 0);
	/* The mount keeps showing what it showed, now as the sandbox's. */
	assert_int_equal(inode_cached_attr(&fs, in, &got), 1);
	assert_int_equal(got.st_size, 7);
	assert_int_equal(got.st_mode, S_IFREG | 0600);
	assert_int_equal(got.st_mtim.tv_sec, 1234);
	/* Clean: nothing more to upload. */
	assert_int_equal(cache_flush(&fs, in), 0);
	assert_int_equal(stub.ncalls, 1);
	assert_int_equal(cache_is_open(in), 1);
	cache_release(&fs, in);
	assert_int_equal(cache_is_open(in), 0);
	inode_unpin(in);
}

static void test_flush_fails_then_cancel(void **state)
{
	struct inode *in;
	struct stat st;

	(void)state;
	in = new_file("/up/fail.txt", 0644, "data", &st);
	stub_reset();
	stub.upload_rc = -EIO;
	assert_int_equal(cache_flush(&fs, in), -EIO);
	assert_int_equal(stub_count("upload_new", NULL), 1);
	/* Kept: dirty, still new, its sidecar on disk. */
	assert_int_equal(cache_is_dirty(in), 1);
	assert_int_equal(cache_is_local_new(in), 1);
	assert_int_equal(sidecars_for("/up/fail.txt"), 1);
	/* unlink before any upload: nothing to remove in the sandbox. */
	assert_int_equal(cache_cancel_new(&fs, in), 1);
	assert_int_equal(cache_is_dirty(in), 0);
	assert_int_equal(cache_is_local_new(in), 0);
	assert_int_equal(sidecars_for("/up/fail.txt"), 0);
	stub_reset();
	assert_int_equal(cache_flush(&fs, in), 0);
	assert_int_equal(stub.ncalls, 0);
	assert_int_equal(cache_cancel_new(&fs, in), 0);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_renamed_sidecar(void **state)
{
	struct inode *in;
	struct stat st;

	(void)state;
	in = new_file("/mv/a", 0644, "m", &st);
	assert_int_equal(sidecars_for("/mv/a"), 1);
	inode_renamed("/mv/a", "/mv/b");
	cache_renamed(in);
	assert_int_equal(sidecars_for("/mv/a"), 0);
	assert_int_equal(sidecars_for("/mv/b"), 1);
	cache_drop(&fs, in);
	assert_int_equal(sidecars_for("/mv/b"), 0);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_remote_blocks(void **state)
{
	const uint64_t size = 10 * (uint64_t)CACHE_BLOCK - 100;
	struct inode *in;
	struct stat rst;
	struct stub_call c;
	static char buf[CACHE_BLOCK];
	uint64_t hits0, bytes;
	unsigned nfiles, ndirty;
	size_t n;
	int keep = -1;

	(void)state;
	in = file_at("/remote.bin", 0644, (off_t)size, 1000, &rst);
	stub_reset();
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	assert_int_equal(keep, 0);	/* nothing cached of this version */
	assert_int_equal(stub.ncalls, 0);
	assert_int_equal(cache_is_dirty(in), 0);
	assert_int_equal(cache_is_local_new(in), 0);

	/* A first read at 0: that block and a readahead of two more. */
	assert_int_equal(cache_read(&fs, in, buf, 10, 0, &n), 0);
	assert_int_equal(n, 10);
	assert_remote_bytes(buf, 10, 0);
	assert_int_equal(stub_count("read", &c), 1);
	assert_string_equal(c.path, "/remote.bin");
	assert_int_equal(c.off, 0);
	assert_int_equal(c.len, 3 * (uint64_t)CACHE_BLOCK);
	/* A seek elsewhere: that block and one more. */
	assert_int_equal(cache_read(&fs, in, buf, 10, 5 * CACHE_BLOCK, &n), 0);
	assert_remote_bytes(buf, 10, 5 * (uint64_t)CACHE_BLOCK);
	assert_int_equal(stub_count("read", &c), 2);
	assert_int_equal(c.off, 5 * (uint64_t)CACHE_BLOCK);
	assert_int_equal(c.len, 2 * (uint64_t)CACHE_BLOCK);
	/* Present: no request, counted as a hit. */
	hits0 = fs.st.cache_hits;
	assert_int_equal(cache_read(&fs, in, buf, 100, 1000, &n), 0);
	assert_remote_bytes(buf, 100, 1000);
	assert_int_equal(stub_count("read", NULL), 2);
	assert_int_equal(fs.st.cache_hits, hits0 + 100);
	/* Across a present block into a missing one: only what is missing,
	 * up to the next present block. */
	assert_int_equal(cache_read(&fs, in, buf, 10, 3 * CACHE_BLOCK - 5, &n), 0);
	assert_int_equal(n, 10);
	assert_remote_bytes(buf, 10, 3 * (uint64_t)CACHE_BLOCK - 5);
	assert_int_equal(stub_count("read", &c), 3);
	assert_int_equal(c.off, 3 * (uint64_t)CACHE_BLOCK);
	assert_int_equal(c.len, 2 * (uint64_t)CACHE_BLOCK);
	/* The last block ends at end of file. */
	assert_int_equal(cache_read(&fs, in, buf, 1000, (off_t)size - 3, &n), 0);
	assert_int_equal(n, 3);
	assert_remote_bytes(buf, 3, size - 3);
	assert_int_equal(stub_count("read", &c), 4);
	assert_int_equal(c.off + c.len, size);
	cache_stats(&fs, &bytes, &nfiles, &ndirty);
	assert_true(nfiles >= 1);
	assert_true(bytes >= 6 * (uint64_t)CACHE_BLOCK);
	cache_release(&fs, in);

	/* The same version again: the cache (and the kernel's) is kept. */
	keep = -1;
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	assert_int_equal(keep, 1);
	assert_int_equal(cache_read(&fs, in, buf, 10, 0, &n), 0);
	assert_remote_bytes(buf, 10, 0);
	assert_int_equal(stub_count("read", NULL), 4);
	cache_release(&fs, in);
	/* Changed in the sandbox (another mtime): fetched anew. */
	rst.st_mtim.tv_sec = 2000;
	keep = -1;
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	assert_int_equal(keep, 0);
	assert_int_equal(cache_read(&fs, in, buf, 10, 0, &n), 0);
	assert_remote_bytes(buf, 10, 0);
	assert_int_equal(stub_count("read", &c), 5);
	assert_int_equal(c.off, 0);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_write_remote_and_conflict(void **state)
{
	struct inode *in, *cf;
	struct stat rst, la;
	struct stub_call c;
	char buf[8];
	size_t n;
	int keep;

	(void)state;
	in = file_at("/same.txt", 0644, 100, 50, &rst);
	stub_reset();
	assert_int_equal(cache_open(&fs, in, O_RDWR, &rst, &keep), 0);
	/* A write needs the whole content first. */
	assert_int_equal(cache_write(&fs, in, "zz", 2, 0), 2);
	assert_int_equal(stub_count("read", &c), 1);
	assert_int_equal(c.off, 0);
	assert_int_equal(c.len, 100);
	assert_int_equal(cache_read(&fs, in, buf, 5, 0, &n), 0);
	assert_memory_equal(buf, "zz", 2);
	assert_remote_bytes(buf + 2, 3, 2);
	assert_int_equal(cache_is_dirty(in), 1);
	assert_int_equal(cache_is_local_new(in), 0);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, 100);
	/* Unchanged in the sandbox: replaced, no conflict copy. */
	stub.stat_rc = 0;
	stub.stat_size = 100;
	stub.stat_mtime = 50;
	assert_int_equal(cache_flush(&fs, in), 0);
	assert_int_equal(stub_count("stat", &c), 1);
	assert_string_equal(c.path, "/same.txt");
	assert_int_equal(stub_count("rename", NULL), 0);
	assert_int_equal(stub_count("upload_new", NULL), 0);
	assert_int_equal(stub_count("upload_fd", &c), 1);
	assert_string_equal(c.path, "/same.txt");
	assert_int_equal(c.size, 100);
	assert_memory_equal(c.data, "zz", 2);
	assert_int_equal(c.mode, -1);	/* 0644: nothing to fix */
	assert_int_equal(cache_is_dirty(in), 0);
	cache_release(&fs, in);
	inode_unpin(in);

	/* Changed in the sandbox since it was fetched: the other version is
	 * kept beside it, ours wins. */
	cf = file_at("/conf.txt", 0644, 100, 50, &rst);
	stub_reset();
	assert_int_equal(cache_open(&fs, cf, O_RDWR, &rst, &keep), 0);
	assert_int_equal(cache_write(&fs, cf, "w", 1, 0), 1);
	stub.stat_rc = 0;
	stub.stat_size = 100;
	stub.stat_mtime = 60;
	assert_int_equal(cache_flush(&fs, cf), 0);
	assert_int_equal(stub_count("rename", &c), 1);
	assert_string_equal(c.path, "/conf.txt");
	assert_memory_equal(c.path2, "/conf.txt.e2bfs-conflict-", 25);
	assert_int_equal(stub_count("upload_fd", &c), 1);
	assert_string_equal(c.path, "/conf.txt");
	/* Reopened as the sandbox has it; a failed Stat (not "gone") is then
	 * the upload's error. */
	cache_release(&fs, cf);
	rst.st_mtim.tv_sec = 60;
	assert_int_equal(cache_open(&fs, cf, O_RDWR, &rst, &keep), 0);
	assert_int_equal(cache_write(&fs, cf, "v", 1, 0), 1);
	stub_reset();
	stub.stat_rc = -EIO;
	assert_int_equal(cache_flush(&fs, cf), -EIO);
	assert_int_equal(cache_is_dirty(cf), 1);
	cache_drop(&fs, cf);
	cache_release(&fs, cf);
	inode_unpin(cf);
}

static void test_drop_open(void **state)
{
	struct inode *in;
	struct stat rst, la;
	char buf[8];
	size_t n;
	int keep;

	(void)state;
	in = file_at("/drop.txt", 0644, 10, 70, &rst);
	assert_int_equal(cache_open(&fs, in, O_RDWR, &rst, &keep), 0);
	assert_int_equal(cache_write(&fs, in, "abc", 3, 0), 3);
	assert_int_equal(cache_unlinking(&fs, in), 0);
	stub_reset();
	cache_drop(&fs, in);
	/* Never uploaded, but open here: the local copy is the file. */
	assert_int_equal(cache_is_dirty(in), 0);
	assert_int_equal(cache_flush(&fs, in), 0);
	assert_int_equal(stub.ncalls, 0);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, 10);
	assert_int_equal(cache_read(&fs, in, buf, 3, 0, &n), 0);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(stub.ncalls, 0);
	cache_release(&fs, in);
	inode_unpin(in);
}

static void test_rename_new(void **state)
{
	struct inode *a, *b, *r;
	struct stat st;
	struct stub_call c;

	(void)state;
	/* git's config.lock -> config: the upload just goes to the new name. */
	a = new_file("/rn/a.lock", 0644, "cfg", &st);
	stub_reset();
	assert_int_equal(cache_rename_new(a, "/rn/a.lock", "/rn/a", 0), 0);
	assert_int_equal(stub.ncalls, 0);
	{
		char *p = inode_path(a);

		assert_string_equal(p, "/rn/a");
		free(p);
	}
	assert_int_equal(sidecars_for("/rn/a"), 1);
	assert_int_equal(sidecars_for("/rn/a.lock"), 0);
	assert_int_equal(cache_is_local_new(a), 1);
	assert_int_equal(cache_flush(&fs, a), 0);
	assert_int_equal(stub_count("upload_new", &c), 1);
	assert_string_equal(c.path, "/rn/a");
	assert_memory_equal(c.data, "cfg", 3);
	assert_int_equal(stub_count("rename", NULL), 0);
	/* Uploaded now: a rename is the sandbox's business. */
	assert_int_equal(cache_rename_new(a, "/rn/a", "/rn/z", 0), -EAGAIN);
	assert_null(inode_find_path("/rn/z"));

	/* Over an existing file: uploaded with the temporary and Move. */
	b = new_file("/rn/b.tmp", 0644, "new", &st);
	stub_reset();
	assert_int_equal(cache_rename_new(b, "/rn/b.tmp", "/rn/b", 1), 0);
	assert_int_equal(cache_is_local_new(b), 0);
	assert_int_equal(cache_flush(&fs, b), 0);
	assert_int_equal(stub_count("upload_new", NULL), 0);
	assert_int_equal(stub_count("upload_fd", &c), 1);
	assert_string_equal(c.path, "/rn/b");
	/* A file with no content here is not ours to move. */
	r = file_at("/rn/remote", 0644, 5, 1, &st);
	assert_int_equal(cache_rename_new(r, "/rn/remote", "/rn/r2", 0), -EAGAIN);
	cache_release(&fs, a);
	cache_release(&fs, b);
	unpin_all(a, b, r, NULL);
}

static void test_ahead_and_evict(void **state)
{
	struct inode *in, *open_in;
	struct stat rst, ost;
	struct stub_call c;
	char buf[16];
	uint64_t bytes;
	unsigned nfiles, ndirty;
	size_t n;
	int keep = -1;

	(void)state;
	in = file_at("/ahead.bin", 0644, 3000, 10, &rst);
	stub_reset();
	/* Fetched whole before anyone opens it. */
	assert_int_equal(cache_ahead(&fs, in, &rst), 1);
	assert_int_equal(stub_count("read", &c), 1);
	assert_int_equal(c.off, 0);
	assert_int_equal(c.len, 3000);
	assert_int_equal(cache_ahead(&fs, in, &rst), 0);	/* already local */
	assert_int_equal(fs.st.ahead_hits, 0);
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	assert_int_equal(fs.st.ahead_hits, 1);
	assert_int_equal(keep, 0);	/* the kernel may hold an older version */
	assert_int_equal(cache_read(&fs, in, buf, 16, 2000, &n), 0);
	assert_int_equal(n, 16);
	assert_remote_bytes(buf, 16, 2000);
	assert_int_equal(stub_count("read", NULL), 1);
	/* Open: left alone. */
	assert_int_equal(cache_ahead(&fs, in, &rst), 0);
	cache_release(&fs, in);

	/* Over the cache's size: closed clean files go, open ones stay. */
	open_in = file_at("/evict-open.bin", 0644, 100, 10, &ost);
	assert_int_equal(cache_open(&fs, open_in, O_RDONLY, &ost, &keep), 0);
	assert_int_equal(cache_read(&fs, open_in, buf, 16, 0, &n), 0);
	stub_reset();
	fs.cache_max = 1;
	cache_housekeep(&fs);
	fs.cache_max = 0;
	cache_stats(&fs, &bytes, &nfiles, &ndirty);
	assert_int_equal(nfiles, 1);
	assert_int_equal(cache_read(&fs, open_in, buf, 16, 0, &n), 0);
	assert_remote_bytes(buf, 16, 0);
	assert_int_equal(stub_count("read", NULL), 0);
	/* The evicted one is fetched again. */
	keep = -1;
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	assert_int_equal(keep, 0);
	assert_int_equal(cache_read(&fs, in, buf, 16, 0, &n), 0);
	assert_remote_bytes(buf, 16, 0);
	assert_int_equal(stub_count("read", NULL), 1);
	cache_release(&fs, in);
	cache_release(&fs, open_in);
	unpin_all(in, open_in, NULL);
}

/* unlink of a file open here: what the cache lacks is fetched first, then
 * the local copy is the file until its last close. */
static void test_unlink_while_open(void **state)
{
	const uint64_t size = 4 * (uint64_t)CACHE_BLOCK;
	struct inode *in;
	struct stat rst, la;
	struct stub_call c;
	char buf[16];
	size_t n;
	int keep;

	(void)state;
	in = file_at("/unl.bin", 0644, (off_t)size, 80, &rst);
	assert_int_equal(cache_open(&fs, in, O_RDONLY, &rst, &keep), 0);
	stub_reset();
	assert_int_equal(cache_read(&fs, in, buf, 16, 0, &n), 0);
	assert_int_equal(stub_count("read", &c), 1);
	assert_true(c.off + c.len < size);	/* not all of it yet */
	assert_int_equal(cache_unlinking(&fs, in), 0);
	assert_int_equal(stub_count("read", &c), 2);
	assert_int_equal(c.off + c.len, size);
	cache_drop(&fs, in);
	stub_reset();
	assert_int_equal(cache_read(&fs, in, buf, 16, (off_t)size - 16, &n), 0);
	assert_int_equal(n, 16);
	assert_remote_bytes(buf, 16, size - 16);
	assert_int_equal(stub.ncalls, 0);
	assert_int_equal(cache_local_attr(in, &la), 1);
	assert_int_equal(la.st_size, (off_t)size);
	/* Already orphaned: nothing more to fetch. */
	assert_int_equal(cache_unlinking(&fs, in), 0);
	assert_int_equal(stub.ncalls, 0);
	cache_release(&fs, in);
	inode_unpin(in);
}

/* A directory's queued times give way to a later change of its entries;
 * a queued mode stays. */
static void test_dir_changed(void **state)
{
	struct inode *d;
	struct stat cur, attr, la;

	(void)state;
	d = inode_for_path("/dc");
	memset(&cur, 0, sizeof(cur));
	cur.st_mode = S_IFDIR | 0755;
	cur.st_mtim.tv_sec = 5;
	inode_set_attr(&fs, d, &cur);
	attr = cur;
	attr.st_mtim.tv_sec = 777;
	assert_int_equal(cache_dir_fix(&fs, d, &cur, &attr, FUSE_SET_ATTR_MTIME), 0);
	la = cur;
	assert_int_equal(cache_local_attr(d, &la), 1);
	assert_int_equal(la.st_mtim.tv_sec, 777);
	cache_dir_changed(d);
	la = cur;
	assert_int_equal(cache_local_attr(d, &la), 0);
	attr.st_mode = S_IFDIR | 0711;
	assert_int_equal(cache_dir_fix(&fs, d, &cur, &attr,
				       FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_MTIME), 0);
	cache_dir_changed(d);
	la = cur;
	assert_int_equal(cache_local_attr(d, &la), 1);
	assert_int_equal(la.st_mode, S_IFDIR | 0711);
	assert_int_equal(la.st_mtim.tv_sec, 5);
	inode_unpin(d);
}

static void test_background_uploads(void **state)
{
	struct inode *a, *b, *d;
	struct stat st, cur, attr, la;
	struct stub_call c;
	unsigned pending, failed;

	(void)state;
	stub_reset();
	a = new_file("/bg/a", 0644, "bg-a", &st);
	/* A directory's chmod, queued behind the uploads into it (/bg/a's is
	 * pending: not applied before, shown meanwhile). */
	d = inode_for_path("/bg");
	memset(&cur, 0, sizeof(cur));
	cur.st_mode = S_IFDIR | 0755;
	inode_set_attr(&fs, d, &cur);
	attr = cur;
	attr.st_mode = S_IFDIR | 0700;
	assert_int_equal(cache_dir_fix(&fs, d, &cur, &attr, FUSE_SET_ATTR_MODE), 0);
	la = cur;
	assert_int_equal(cache_local_attr(d, &la), 1);
	assert_int_equal(la.st_mode, S_IFDIR | 0700);
	cache_release(&fs, a);	/* last close: queued for a worker */
	assert_int_equal(cache_sync_all(&fs), 0);
	/* The barrier returns once the uploads are recorded, maybe before a
	 * worker has published the file's state and left it: join them. */
	cache_shutdown(&fs);
	assert_int_equal(stub_count("upload_new", NULL) + stub_count("upload_many", NULL), 1);
	if (!stub_count("upload_new", &c))
		stub_count("upload_many", &c);
	assert_string_equal(c.path, "/bg/a");
	assert_memory_equal(c.data, "bg-a", 4);
	assert_int_equal(stub_count("fix", &c), 1);
	assert_string_equal(c.path, "/bg");
	assert_int_equal(c.mode, 0700);
	assert_int_equal(cache_is_dirty(a), 0);
	assert_int_equal(cache_local_attr(d, &la), 0);
	cache_upload_counts(&pending, &failed);
	assert_int_equal(pending, 0);
	assert_int_equal(failed, 0);

	/* Without workers (unmounting) the barrier uploads itself; a failed
	 * upload fails it and is counted. */
	b = new_file("/bg/b", 0644, "bg-b", &st);
	stub_reset();
	stub.upload_rc = -EIO;
	cache_release(&fs, b);
	assert_int_equal(cache_sync_all(&fs), -EIO);
	assert_int_equal(cache_is_dirty(b), 1);
	cache_upload_counts(&pending, &failed);
	assert_int_equal(failed, 1);
	assert_int_equal(stub_count("upload_new", &c), 1);
	assert_string_equal(c.path, "/bg/b");
	inode_unpin(a);
	inode_unpin(b);
	inode_unpin(d);
}

/* Before envd is asked about a directory, files created in it are sent. */
static void test_wait_new(void **state)
{
	struct inode *x, *y;
	struct stat st;
	struct stub_call c;

	(void)state;
	x = new_file("/wn/sub/x", 0644, "xx", &st);
	y = new_file("/wn2/y", 0644, "yy", &st);
	stub_reset();
	cache_wait_new(&fs, "/wn/sub/x", 0);
	assert_int_equal(stub_count("upload_new", &c), 1);
	assert_string_equal(c.path, "/wn/sub/x");
	assert_int_equal(cache_is_local_new(x), 0);
	assert_int_equal(cache_is_local_new(y), 1);
	/* A name that only starts the same is another directory. */
	cache_wait_new(&fs, "/wn", 1);
	assert_int_equal(stub_count("upload_new", NULL), 1);
	cache_wait_new(&fs, "/wn2", 1);
	assert_int_equal(stub_count("upload_new", &c), 2);
	assert_string_equal(c.path, "/wn2/y");
	assert_int_equal(cache_is_local_new(y), 0);
	/* Below the root: everything, /bg/b's failed upload too. */
	cache_wait_new(&fs, "/", 1);
	assert_int_equal(stub.ncalls, 3);
	assert_int_equal(stub_count("upload_new", &c), 3);
	assert_string_equal(c.path, "/bg/b");
	stub_reset();
	cache_wait_new(&fs, "/", 1);
	assert_int_equal(stub.ncalls, 0);
	cache_release(&fs, x);
	cache_release(&fs, y);
	unpin_all(x, y, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_leftovers),
		cmocka_unit_test(test_create_write_read),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_mode_and_times),
		cmocka_unit_test(test_flush_new),
		cmocka_unit_test(test_flush_fails_then_cancel),
		cmocka_unit_test(test_renamed_sidecar),
		cmocka_unit_test(test_remote_blocks),
		cmocka_unit_test(test_write_remote_and_conflict),
		cmocka_unit_test(test_drop_open),
		cmocka_unit_test(test_rename_new),
		cmocka_unit_test(test_ahead_and_evict),
		cmocka_unit_test(test_unlink_while_open),
		cmocka_unit_test(test_background_uploads),
		cmocka_unit_test(test_dir_changed),
		cmocka_unit_test(test_wait_new),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
