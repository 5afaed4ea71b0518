/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for what the fs/ unit tests do not link: remote.c (the network,
 * through libe2b) and libfuse's kernel notifications.  Each records its call
 * in `stub` and answers from it; remote files read as stub_byte().  Also
 * the helpers both tests share (the mount's settings, unpin_all).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stubs.h"

struct stub_state stub = { .lock = PTHREAD_MUTEX_INITIALIZER };

unsigned char stub_byte(uint64_t i)
{
	return (unsigned char)((i * 7 + i / 251) % 251);
}

void stub_reset(void)
{
	pthread_mutex_lock(&stub.lock);
	stub.ncalls = 0;
	stub.upload_rc = 0;
	stub.stat_rc = -ENOENT;
	stub.stat_size = 0;
	stub.stat_mtime = 0;
	stub.ninval_entry = 0;
	stub.ninval_inode = 0;
	pthread_mutex_unlock(&stub.lock);
}

void stub_fs_init(struct fs *fs)
{
	static char root[] = "/";

	memset(fs, 0, sizeof(*fs));
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->cond, NULL);
	fs->root = root;
	fs->uid = 1000;
	fs->gid = 1000;
	fs->o.attr_timeout = 1;
	fs->o.entry_timeout = 2;
	fs->o.dir_cache = 60;
	fs->o.watch_cache = 600;
	fs->o.prefetch_entries = 100000;
	stub_reset();
}

size_t stub_count(const char *what, struct stub_call *out)
{
	size_t i, n = 0;

	pthread_mutex_lock(&stub.lock);
	for (i = 0; i < stub.ncalls && i < 64; i++) {
		if (strcmp(stub.calls[i].what, what))
			continue;
		n++;
		if (out)
			*out = stub.calls[i];
	}
	pthread_mutex_unlock(&stub.lock);
	return n;
}

void unpin_all(struct inode *in, ...)
{
	va_list ap;

	va_start(ap, in);
	for (; in; in = va_arg(ap, struct inode *))
		inode_unpin(in);
	va_end(ap);
}

/* Record a call; stub.lock held.  NULL if the record is full. */
static struct stub_call *record(const char *what, const char *path)
{
	struct stub_call *c;

	if (stub.ncalls++ >= 64)
		return NULL;
	c = &stub.calls[stub.ncalls - 1];
	memset(c, 0, sizeof(*c));
	snprintf(c->what, sizeof(c->what), "%s", what);
	snprintf(c->path, sizeof(c->path), "%s", path ? path : "");
	return c;
}

static void record_fix(struct stub_call *c, const struct upload_fix *fix)
{
	if (!c || !fix)
		return;
	c->mode = fix->mode;
	if (fix->mtime) {
		c->has_mtime = 1;
		c->mtime = *fix->mtime;
	}
}

/* Record an upload of @fd's content; stub.lock held. */
static int record_upload(const char *what, const char *path, int fd,
			 const struct upload_fix *fix)
{
	struct stub_call *c = record(what, path);
	char buf[4096];
	ssize_t r;
	off_t off = 0;

	while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (c && (size_t)off < sizeof(c->data))
			memcpy(c->data + off, buf,
			       (size_t)r < sizeof(c->data) - (size_t)off ? (size_t)r :
			       sizeof(c->data) - (size_t)off);
		off += r;
	}
	if (c)
		c->size = (size_t)off;
	record_fix(c, fix);
	return r < 0 ? -errno : stub.upload_rc;
}

/* The stub sandbox's bytes of @path's [off, off+len), in pieces to @cb
 * (@fd < 0) or written to @fd; recorded as one "read". */
static int stub_read(const char *path, int fd, uint64_t off, uint64_t len, uint64_t *got,
		     e2b_data_cb cb, void *arg)
{
	char buf[4096];
	struct stub_call *c;
	uint64_t done = 0;
	size_t i, n;

	pthread_mutex_lock(&stub.lock);
	c = record("read", path);
	if (c) {
		c->off = off;
		c->len = len;
	}
	pthread_mutex_unlock(&stub.lock);
	while (done < len) {
		n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = (char)stub_byte(off + done + i);
		if (fd >= 0 && pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			return -EIO;
		if (fd < 0 && cb(buf, n, arg)) {
			*got = done;
			return -EIO;
		}
		done += n;
	}
	*got = done;
	return 0;
}

int remote_read_to_fd(struct fs *fs, const char *path, int fd, uint64_t off, uint64_t len,
		      uint64_t *got, uint64_t *remote_size)
{
	(void)fs;
	if (remote_size)
		*remote_size = 0;
	return stub_read(path, fd, off, len, got, NULL, NULL);
}

int remote_read_cb(struct fs *fs, const char *path, uint64_t off, uint64_t len,
		   uint64_t *got, e2b_data_cb cb, void *arg)
{
	(void)fs;
	return stub_read(path, -1, off, len, got, cb, arg);
}

int remote_stat(struct fs *fs, const char *path, e2b_entry_info **out)
{
	e2b_entry_info *e;
	int rc;

	(void)fs;
	*out = NULL;
	pthread_mutex_lock(&stub.lock);
	record("stat", path);
	rc = stub.stat_rc;
	/* The caller frees it with e2b_entry_info_free(): no strings in it. */
	e = rc == 0 ? calloc(1, sizeof(*e)) : NULL;
	if (e) {
		e->type = E2B_FILE_TYPE_FILE;
		e->mode = 0644;
		e->size = stub.stat_size;
		e->mtime_sec = stub.stat_mtime;
	}
	pthread_mutex_unlock(&stub.lock);
	if (rc == 0 && !e)
		return -ENOMEM;
	*out = e;
	return rc;
}

void remote_mkdir_flush(struct fs *fs)
{
	(void)fs;
}

/* A call with two paths. */
static void record2(const char *op, const char *a, const char *b)
{
	struct stub_call *c;

	pthread_mutex_lock(&stub.lock);
	c = record(op, a);
	if (c)
		snprintf(c->path2, sizeof(c->path2), "%s", b);
	pthread_mutex_unlock(&stub.lock);
}

int remote_rename(struct fs *fs, const char *from, const char *to)
{
	(void)fs;
	record2("rename", from, to);
	return 0;
}

int remote_link(struct fs *fs, const char *target, const char *path, unsigned *nlink)
{
	(void)fs;
	record2("link", target, path);
	*nlink = 2;
	return 0;
}

int remote_upload_new(struct fs *fs, const char *path, int fd, const struct upload_fix *fix)
{
	int rc;

	(void)fs;
	pthread_mutex_lock(&stub.lock);
	rc = record_upload("upload_new", path, fd, fix);
	pthread_mutex_unlock(&stub.lock);
	return rc;
}

int remote_upload_fd(struct fs *fs, const char *path, int fd, const struct upload_fix *fix,
		     e2b_entry_info **out)
{
	int rc;

	(void)fs;
	if (out)
		*out = NULL;
	pthread_mutex_lock(&stub.lock);
	rc = record_upload("upload_fd", path, fd, fix);
	pthread_mutex_unlock(&stub.lock);
	return rc;
}

int remote_upload_new_many(struct fs *fs, struct upload_item *items, size_t n)
{
	struct stub_call *c;
	size_t i;

	(void)fs;
	pthread_mutex_lock(&stub.lock);
	for (i = 0; i < n; i++) {
		c = record("upload_many", items[i].path);
		if (c) {
			c->size = items[i].len;
			memcpy(c->data, items[i].data,
			       items[i].len < sizeof(c->data) ? items[i].len : sizeof(c->data));
		}
		record_fix(c, &items[i].fix);
		items[i].rc = stub.upload_rc;
	}
	pthread_mutex_unlock(&stub.lock);
	return stub.upload_rc;
}

/* The modes and times of a batch's files: recorded, each keeps its rc. */
int remote_fix_many(struct fs *fs, struct upload_item *items, size_t n)
{
	size_t i;

	(void)fs;
	pthread_mutex_lock(&stub.lock);
	for (i = 0; i < n; i++)
		record_fix(record("fix_many", items[i].path), &items[i].fix);
	pthread_mutex_unlock(&stub.lock);
	return 0;
}

int remote_fix(struct fs *fs, const char *path, const struct upload_fix *fix)
{
	(void)fs;
	pthread_mutex_lock(&stub.lock);
	record_fix(record("fix", path), fix);
	pthread_mutex_unlock(&stub.lock);
	return 0;
}

/* -o idmap=none: "alice" is 1001:2002 in the sandbox, anyone else 0. */
uid_t remote_uid(const char *name)
{
	return name && !strcmp(name, "alice") ? 1001 : 0;
}

gid_t remote_gid(const char *name)
{
	return name && !strcmp(name, "alice") ? 2002 : 0;
}

int fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent,
				     const char *name, size_t namelen)
{
	(void)se;
	(void)parent;
	pthread_mutex_lock(&stub.lock);
	if (stub.ninval_entry < 16)
		snprintf(stub.inval_names[stub.ninval_entry], sizeof(stub.inval_names[0]),
			 "%lu:%.*s", (unsigned long)parent, (int)namelen, name);
	stub.ninval_entry++;
	pthread_mutex_unlock(&stub.lock);
	return 0;
}

int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
				     off_t len)
{
	(void)se;
	(void)len;
	pthread_mutex_lock(&stub.lock);
	if (stub.ninval_inode < 16) {
		stub.inval_inodes[stub.ninval_inode] = ino;
		stub.inval_offs[stub.ninval_inode] = off;
	}
	stub.ninval_inode++;
	pthread_mutex_unlock(&stub.lock);
	return 0;
}
