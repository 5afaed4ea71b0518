/* SPDX-License-Identifier: MIT */
/*
 * The low-level FUSE handlers: one thin function per operation that
 * translates the request, calls the remote layer, the inode table or the
 * content cache, and replies.  POSIX checks envd does not make (rmdir of a
 * non-empty directory, unlink of a directory, rename type rules) are made
 * here before the remote call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* The sandbox is Linux: a name has at most NAME_MAX bytes, and envd can
 * only address a path shorter than PATH_MAX (with its NUL). */
#define SANDBOX_NAME_MAX 255
#define SANDBOX_PATH_MAX 4096

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * -ENAMETOOLONG when @name or the sandbox path @path it makes cannot exist
 * in the sandbox: refused before anything is cached, so write-back never
 * holds a file it can never upload.
 */
static int name_check(const char *name, const char *path)
{
	if (strlen(name) > SANDBOX_NAME_MAX || strlen(path) >= SANDBOX_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Reply an entry for @in, counting the lookup. */
static void reply_entry(fuse_req_t req, struct fs *fs, struct inode *in, const struct stat *st)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = in->ino;
	e.generation = 1;
	e.attr = *st;
	e.attr.st_ino = in->ino;
	/* Long while the watch vouches for the attributes. */
	e.attr_timeout = inode_attr_timeout(fs, in);
	e.entry_timeout = inode_entry_timeout(fs, in);
	inode_ref(in);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		inode_forget(in->ino, 1);
}

static void reply_negative(fuse_req_t req, struct fs *fs)
{
	struct fuse_entry_param e;

	if (fs->o.negative_timeout <= 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.entry_timeout = fs->o.negative_timeout;
	fuse_reply_entry(req, &e);
}

/* The parent's listing is stale after a change in it. */
static void dir_changed(struct inode *parent)
{
	if (parent) {
		inode_invalidate_dir(parent);
		inode_invalidate(parent);
	}
}

/* We added or removed @name in @parent ourselves. */
static void dir_entry_changed(struct fs *fs, struct inode *parent, const char *name, int present)
{
	/* The parent's mtime and ctime are set here, not fetched: the kernel
	 * asks for them after every create, and a Stat each time would double
	 * the cost of tar or git checkout. */
	if (parent) {
		inode_listing_update(parent, name, present);
		cache_dir_changed(parent);
		inode_dir_touched(fs, parent);
	}
}

/* About to change @path ourselves: mark it first, so the watcher's echo,
 * which may arrive before our reply, is recognised.  The record stays
 * pinned (so the mark survives) until the caller unpins it. */
static struct inode *pre_self(const char *path)
{
	struct inode *in = inode_for_path(path);

	if (in)
		inode_mark_self(in);
	return in;
}

/* Fresh attributes of @path (Stat), updating the table; *@out, if asked
 * for, is pinned. */
static int stat_path(struct fs *fs, const char *path, struct inode **out, struct stat *st)
{
	struct inode_vtok tok;
	e2b_entry_info *e = NULL;
	struct inode *in;
	int rc;

	inode_vouch_begin(&tok);
	rc = remote_stat(fs, path, &e);
	if (rc < 0)
		return rc;
	in = inode_update_tok(fs, path, e, &tok, st);
	e2b_entry_info_free(e);
	if (!in)
		return -ENOMEM;
	st->st_ino = in->ino;
	if (out)
		*out = in;
	else
		inode_unpin(in);
	return 0;
}

/* Attributes of @in: cached if fresh, else Stat. */
static int get_attr(struct fs *fs, struct inode *in, struct stat *st)
{
	char *path;
	int rc;

	if (inode_cached_attr(fs, in, st))
		return 0;
	path = inode_path(in);
	if (!path)
		return -ESTALE;
	rc = stat_path(fs, path, NULL, st);
	free(path);
	/* Offline or gone: answer getattr from what we knew rather than fail
	 * every stat (the control directory must stay usable). */
	if ((rc == -EIO || rc == -ENOTCONN) && inode_stale_attr(in, st))
		rc = 0;
	return rc;
}

/*
 * List @dir into the listing cache unless it is fresh; concurrent callers
 * wait for the one ListDir.  0 when the caller should look again.
 */
static int list_dir(struct fs *fs, struct inode *dir)
{
	struct inode_vtok tok;
	e2b_entry_list *l = NULL;
	char *path;
	int rc;

	if (inode_dir_begin(dir, &tok) == 0)
		return 0;
	path = inode_path(dir);
	rc = path ? remote_list(fs, path, &l) : -ESTALE;
	inode_dir_end(fs, &tok, rc == 0 ? l : NULL, 1);
	e2b_entry_list_free(l);
	/* A walk of the tree below is likely next. */
	if (rc == 0)
		prefetch_below(fs, path);
	free(path);
	return rc;
}

static void e2bfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Reads are answered from the cache file by splice(2). */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	/* -o idmap=none numbers the owner names envd gives. */
	if (fs->o.idmap_none && remote_idmap_load(fs) < 0)
		fs_log(fs, "idmap=none: cannot read the sandbox's /etc/passwd and /etc/group; "
		       "owners without a number show as 65534");
	/* The root's listing, before anyone asks (after the owners' numbers:
	 * the listing carries them). */
	prefetch_root(fs);
}

static void e2bfs_destroy(void *userdata)
{
	struct fs *fs = userdata;
	int rc;

	rc = cache_sync_all(fs);
	if (rc < 0)
		fs_log(fs, "unmount: some dirty files could not be uploaded (kept in '%s')",
		       fs->cache_dir);
	cache_shutdown(fs);
}

static void e2bfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct inode *pin, *in;
	struct stat st;
	char *path = NULL;
	int rc, ans;

	CTL_ROUTE(ctl_owns(parent, name), lookup, req, parent, name);
	pin = inode_get(parent);
	if (!pin) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	path = inode_child_path(pin, name);
	if (!path) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	rc = name_check(name, path);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		free(path);
		return;
	}
	in = inode_find_path(path);
	if (in && inode_cached_attr(fs, in, &st)) {
		reply_entry(req, fs, in, &st);
		goto out;
	}
	inode_unpin(in);
	in = NULL;
	/*
	 * A miss lists the directory (every entry's attributes in one
	 * request, once for all concurrent lookups in it) rather than
	 * Stat-ing the one name; a complete listing answers misses.
	 */
	ans = inode_dir_lookup(fs, pin, name, &in, &st);
	if (ans == INODE_DIR_UNKNOWN && list_dir(fs, pin) == 0)
		ans = inode_dir_lookup(fs, pin, name, &in, &st);
	if (ans == INODE_DIR_FOUND) {
		reply_entry(req, fs, in, &st);
		goto out;
	}
	if (ans == INODE_DIR_ABSENT) {
		reply_negative(req, fs);
		goto out;
	}
	rc = stat_path(fs, path, &in, &st);
	if (rc == -ENOENT)
		reply_negative(req, fs);
	else if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, in, &st);
out:
	inode_unpin(in);
	free(path);
}

static void e2bfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	CTL_ROUTE(ctl_is(ino), forget, req, ino, nlookup);
	inode_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void e2bfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!ctl_is(forgets[i].ino))
			inode_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void e2bfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	struct stat st;
	int rc, detached;

	CTL_ROUTE(ctl_is(ino), getattr, req, ino, fi);
	in = inode_get(ino);
	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	pthread_mutex_lock(&inode_lock);
	detached = in->path == NULL;
	st = in->attr;
	pthread_mutex_unlock(&inode_lock);
	if (detached && cache_is_open(in)) {
		/* Unlinked while open: the local copy answers, with no link. */
		st.st_nlink = 0;
		st.st_ino = in->ino;
		cache_local_attr(in, &st);
		rc = 0;
	} else {
		rc = get_attr(fs, in, &st);
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, inode_attr_timeout(fs, in));
}

/* Run "touch" for the time fields of a setattr. */
static int set_times(struct fs *fs, const char *path, const struct stat *attr, int to_set)
{
	char a[64], m[64];
	int rc;

	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		snprintf(a, sizeof(a), "now");
	else
		snprintf(a, sizeof(a), "@%lld.%09ld", (long long)attr->st_atim.tv_sec,
			 attr->st_atim.tv_nsec);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		snprintf(m, sizeof(m), "now");
	else
		snprintf(m, sizeof(m), "@%lld.%09ld", (long long)attr->st_mtim.tv_sec,
			 attr->st_mtim.tv_nsec);
	/* The metadata fixer (touch -h: a symlink's own times). */
	rc = remote_fix_args(fs, path, "", (to_set & FUSE_SET_ATTR_ATIME) ? a : "",
			     (to_set & FUSE_SET_ATTR_MTIME) ? m : "");
	return rc;
}

/*
 * chown/chgrp: done in the sandbox (the metadata fixer) by the sandbox
 * user, whose kernel decides (root changes owners; an owner may change the
 * group to one of its groups; else EPERM).  The ids are the sandbox's.
 * Unchanged ids cost nothing: with the default idmap that is the mounting
 * user's, shown for every file.
 */
static int set_owner(struct fs *fs, struct inode *in, const char *path, const struct stat *attr,
		     int to_set, struct stat *st)
{
	uid_t u = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
	gid_t g = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
	int rc;

	if (u == st->st_uid)
		u = (uid_t)-1;
	if (g == st->st_gid)
		g = (gid_t)-1;
	if (u == (uid_t)-1 && g == (gid_t)-1)
		return 0;
	/* Write-back: the file must exist there with its data first (an
	 * upload creates it as the sandbox user). */
	if (cache_is_dirty(in)) {
		rc = cache_flush(fs, in);
		if (rc < 0)
			return rc;
	}
	rc = remote_chown(fs, path, u, g);
	if (rc < 0)
		return rc;
	if (fs->o.idmap_none) {
		if (u != (uid_t)-1)
			st->st_uid = u;
		if (g != (gid_t)-1)
			st->st_gid = g;
	}
	/* chown clears the set-user-ID and set-group-ID bits. */
	if (!S_ISDIR(st->st_mode))
		st->st_mode &= ~(mode_t)(S_ISUID | S_ISGID);
	clock_gettime(CLOCK_REALTIME, &st->st_ctim);
	return 0;
}

/* What cache_dir_fix() takes (set_owner() has done the chown bits). */
#define DIR_FIX_ATTRS (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | \
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME | \
		       FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)

/* setattr is about to change the sandbox's file: its echo is ours, and
 * the record takes the answer (*remote). */
static void going_remote(struct inode *in, int *remote)
{
	inode_mark_self(in);
	*remote = 1;
}

/* setattr's size (truncate): of the local copy while the file is open,
 * else in the sandbox; @st gets the new size and mtime.  0 or -errno;
 * *remote set when the sandbox's file changes. */
static int setattr_size(struct fs *fs, struct inode *in, const char *path,
			const struct stat *attr, struct fuse_file_info *fi, struct stat *st,
			int *remote)
{
	int rc;

	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (fi || cache_is_open(in)) {
		rc = cache_truncate(fs, in, attr->st_size);
		if (rc == 0 && !fi && !cache_is_open(in)) {
			going_remote(in, remote);
			rc = cache_flush(fs, in);
		}
		/* A truncation modifies the file: its mtime at once
		 * (the local copy's while its data is pending). */
		if (rc == 0 && !cache_local_attr(in, st)) {
			clock_gettime(CLOCK_REALTIME, &st->st_mtim);
			st->st_ctim = st->st_mtim;
		}
	} else {
		going_remote(in, remote);
		rc = remote_truncate(fs, path, (uint64_t)attr->st_size);
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_ctim = st->st_mtim;
		cache_drop(fs, in);
	}
	if (rc < 0)
		return rc;
	st->st_size = attr->st_size;
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* setattr's mode (chmod): with a pending upload or unchanged, nothing to
 * ask the sandbox.  0 or -errno; *remote as for setattr_size(). */
static int setattr_mode(struct fs *fs, struct inode *in, const char *path,
			const struct stat *attr, struct stat *st, int *remote)
{
	char mode[16];
	int rc;

	snprintf(mode, sizeof(mode), "%o", (unsigned)(attr->st_mode & 07777));
	/* Unchanged modes (tar and cp -a set them all) cost nothing,
	 * and a file with pending data gets its mode with the upload. */
	if (!S_ISLNK(st->st_mode) && !cache_set_mode(in, attr->st_mode) &&
	    (st->st_mode & 07777) != (attr->st_mode & 07777)) {
		going_remote(in, remote);
		rc = remote_fix_args(fs, path, mode, "", "");
		if (rc < 0)
			return rc;
	}
	st->st_mode = (st->st_mode & S_IFMT) | (attr->st_mode & 07777);
	return 0;
}

/* setattr's atime and mtime (touch): with a pending upload they go with
 * it, else to the sandbox now.  0 or -errno; *remote as for
 * setattr_size(). */
static int setattr_times(struct fs *fs, struct inode *in, const char *path,
			 const struct stat *attr, int to_set, struct stat *st, int *remote)
{
	int rc;

	if (cache_set_times(in, attr, to_set)) {
		/* Pending data: the times go with the upload (tar, cp -a). */
		cache_local_attr(in, st);
		return 0;
	}
	going_remote(in, remote);
	rc = set_times(fs, path, attr, to_set);
	if (rc < 0)
		return rc;
	if (to_set & FUSE_SET_ATTR_MTIME) {
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		else
			st->st_mtim = attr->st_mtim;
	}
	if (to_set & FUSE_SET_ATTR_ATIME)
		st->st_atim = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? st->st_mtim
								 : attr->st_atim;
	if (to_set & (FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) {
		rc = stat_path(fs, path, NULL, st);
		if (rc < 0)
			return rc;
	}
	/* Our next open must not see the touch as a remote change. */
	cache_touched(in, st);
	return 0;
}

/* ftruncate of a file unlinked while open: its local copy; @st its
 * attributes then.  0 or -errno. */
static int truncate_unlinked(struct fs *fs, struct inode *in, const struct stat *attr,
			     struct stat *st)
{
	int rc;

	rc = cache_truncate(fs, in, attr->st_size);
	pthread_mutex_lock(&inode_lock);
	*st = in->attr;
	pthread_mutex_unlock(&inode_lock);
	st->st_nlink = 0;
	st->st_ino = in->ino;
	cache_local_attr(in, st);
	return rc;
}

/*
 * setattr: owner, then a directory's deferred fix, size, mode and times,
 * each step on the local copy when that is enough, else in the sandbox.
 * Long: 69 lines; its complexity is the guards (which attributes, open or
 * not) that pick a step, each step already a helper above.
 */
static void e2bfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	struct stat st;
	char *path = NULL;
	int rc = 0, remote = 0;

	CTL_ROUTE(ctl_is(ino), setattr, req, ino, attr, to_set, fi);
	in = inode_get(ino);
	path = in ? inode_path(in) : NULL;
	if (!path && in && fi && to_set == FUSE_SET_ATTR_SIZE && cache_is_open(in)) {
		rc = truncate_unlinked(fs, in, attr, &st);
		goto out;
	}
	if (!path) {
		fuse_reply_err(req, in ? ENOENT : ESTALE);
		return;
	}
	/* A name of a link made here: in the sandbox first (both names
	 * change). */
	cache_plink_settle(fs, in);
	rc = get_attr(fs, in, &st);
	if (rc < 0)
		goto out;
	/*
	 * What changes the sandbox's file marks it ours first (its echo is
	 * expected) and takes the watch's word away from its record.  A
	 * change only of the local copy (ftruncate of an open file, a mode
	 * that goes with the pending upload or is unchanged: vim's save)
	 * leaves both, so the next open and upload need no Stat.
	 */
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		going_remote(in, &remote);
		rc = set_owner(fs, in, path, attr, to_set, &st);
		if (rc < 0)
			goto out;
	}
	/* A directory's mode and times queue behind the uploads into it
	 * (tar sets them last, one directory after the other). */
	if (S_ISDIR(st.st_mode) && !(to_set & ~DIR_FIX_ATTRS) &&
	    cache_dir_fix(fs, in, &st, attr, to_set) == 0) {
		going_remote(in, &remote);
		cache_local_attr(in, &st);
		goto done;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		rc = setattr_size(fs, in, path, attr, fi, &st, &remote);
		if (rc < 0)
			goto out;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		rc = setattr_mode(fs, in, path, attr, &st, &remote);
		if (rc < 0)
			goto out;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		rc = setattr_times(fs, in, path, attr, to_set, &st, &remote);
		if (rc < 0)
			goto out;
	}
done:
	if (remote)
		inode_set_attr(fs, in, &st);
out:
	free(path);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* Lexically resolve TARGET, a link's text, against LINK_DIR (absolute, the
 * directory holding the link): an absolute path with no "", "." or ".."
 * component ("/" for the root).  ".." at "/" stays at "/", as in the
 * sandbox. */
static char *link_resolve(const char *link_dir, const char *target)
{
	size_t dn = strlen(link_dir), tn = strlen(target);
	char *out = malloc(dn + tn + 3), *o;
	const char *p = target;

	if (!out)
		return NULL;
	o = out;
	if (target[0] != '/') {
		/* Start from the link's directory (already normal). */
		memcpy(out, link_dir, dn);
		o = out + dn;
		if (o > out && o[-1] == '/')
			o--;
	}
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > out && *--o != '/')
				;
		} else if (!(len == 1 && p[0] == '.')) {
			*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == out)
		*o++ = '/';
	*o = 0;
	return out;
}

/*
 * The link text the local side sees (docs/e2bfs.md "SYMLINKS").  The sandbox
 * is untrusted: unless -o symlinks=raw, no link may resolve to a path out of
 * the mount.  The target is resolved lexically against the link's directory;
 * inside the mounted root it becomes the shortest relative path from the
 * link ("../" only as a prefix, at most one per directory between the link
 * and the mount's root, then names going down), outside it becomes a
 * dangling link into the control directory, "<../ up to the mount's
 * root>.e2bfs/escaped<resolved sandbox path>", which names nothing.  Each
 * link is contained on its own, so a chain of links, and ".." after a link
 * inside a target (resolved away lexically), stay in the mount too.
 */
/* A target out of the mount, for the link @l ("/a/b/link" below the root):
 * "<../ per directory of @l>.e2bfs/escaped<abs>"; NULL with no memory. */
static char *escaped_link(const char *l, const char *abs)
{
	const char *p;
	char *out;
	size_t ups = 0, need, i;

	for (p = strchr(l + 1, '/'); p; p = strchr(p + 1, '/'))
		ups++;
	need = ups * 3 + sizeof(CTL_NAME "/escaped") + strlen(abs);
	out = malloc(need);
	if (out) {
		for (i = 0; i < ups; i++)
			memcpy(out + i * 3, "../", 3);
		snprintf(out + ups * 3, need - ups * 3, "%s%s", CTL_NAME "/escaped",
			 strcmp(abs, "/") ? abs : "");
	}
	return out;
}

/* A target @t in the mount (below the root, "/" for the root itself), for
 * the link @l (likewise): the shortest relative path from the link's
 * directory; NULL with no memory. */
static char *relative_link(const char *l, const char *t)
{
	const char *p;
	char *out;
	size_t ups = 0, need, i;

	if (!strcmp(t, "/"))
		t = "";
	/* Strip the common directory prefix of the link's dir and target. */
	for (;;) {
		const char *ls = strchr(l + 1, '/'), *ts;
		size_t tn, ln;

		if (!ls || !t[0])
			break;
		ts = strchr(t + 1, '/');
		tn = ts ? (size_t)(ts - t) : strlen(t);
		ln = (size_t)(ls - l);
		if (tn != ln || strncmp(t, l, tn))
			break;
		t += tn;
		l = ls;
	}
	/* Count the link's remaining directory components. */
	for (p = strchr(l + 1, '/'); p; p = strchr(p + 1, '/'))
		ups++;
	need = ups * 3 + strlen(t) + 2;
	out = malloc(need);
	if (!out)
		return NULL;
	for (i = 0; i < ups; i++)
		memcpy(out + i * 3, "../", 3);
	snprintf(out + ups * 3, need - ups * 3, "%s", t[0] ? t + 1 : "");
	if (ups && !t[0])
		out[ups * 3 - 1] = 0;
	if (!out[0])
		snprintf(out, need, ".");
	return out;
}

static char *transform_link(struct fs *fs, const char *link_path, const char *target)
{
	size_t rl = strlen(fs->root), off = rl == 1 ? 0 : rl;
	const char *l;
	char *dir, *abs, *out;

	if (fs->o.raw_links)
		return strdup(target);
	dir = path_parent(link_path);
	if (!dir)
		return NULL;
	abs = link_resolve(dir, target);
	free(dir);
	if (!abs)
		return NULL;
	/* link_path is under the root: l is "/a/b/link" below it. */
	l = link_path + off;
	if (!(rl == 1 || (!strncmp(abs, fs->root, rl) && (abs[rl] == '/' || !abs[rl]))))
		out = escaped_link(l, abs);
	else
		out = relative_link(l, abs + off);
	free(abs);
	return out;
}

static void e2bfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct inode *in = inode_get(ino);
	char *path, *out = NULL, *t = NULL;
	size_t n;
	int rc;

	path = in ? inode_path(in) : NULL;
	if (!path) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	pthread_mutex_lock(&inode_lock);
	if (in->link)
		t = strdup(in->link);
	pthread_mutex_unlock(&inode_lock);
	if (!t) {
		const char *argv[] = { "readlink", "--", path, NULL };

		rc = remote_helper(fs, argv, &out);
		if (rc < 0) {
			fuse_reply_err(req, rc == -EIO ? EINVAL : -rc);
			goto out;
		}
		n = strlen(out);
		if (n && out[n - 1] == '\n')
			out[n - 1] = 0;
		t = transform_link(fs, path, out);
		if (t) {
			pthread_mutex_lock(&inode_lock);
			free(in->link);
			in->link = strdup(t);
			pthread_mutex_unlock(&inode_lock);
		}
	}
	if (!t)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_readlink(req, t);
out:
	free(out);
	free(t);
	free(path);
}

/* The owner a file we create shows: the sandbox user's with -o idmap=none. */
static void new_owner(struct fs *fs, struct stat *st)
{
	const char *user = fs->o.user ? fs->o.user : "user";

	st->st_uid = fs->o.idmap_none ? remote_uid(user) : fs->uid;
	st->st_gid = fs->o.idmap_none ? remote_gid(user) : fs->gid;
}

/* Common tail of mkdir/symlink/link/mknod: Stat the new path, reply. */
/* @path, just made in @pin, as a new entry; a hard link of @link_src
 * (NULL if not one) with @nlink links. */
static void reply_new_link(fuse_req_t req, struct fs *fs, struct inode *pin, const char *path,
			   struct inode *link_src, unsigned nlink)
{
	struct inode *in;
	struct stat st;
	int rc;

	rc = stat_path(fs, path, &in, &st);
	if (rc < 0) {
		dir_changed(pin);
		fuse_reply_err(req, -rc);
		return;
	}
	if (link_src && S_ISREG(st.st_mode)) {
		inode_set_links(link_src, in, nlink);
		st.st_nlink = nlink;
	}
	dir_entry_changed(fs, pin, strrchr(path, '/') + 1, 1);
	inode_mark_self(in);
	/* A directory we just made is empty: lookups in it need no request. */
	if (S_ISDIR(st.st_mode))
		inode_listing_empty(fs, in, NULL);
	reply_entry(req, fs, in, &st);
	inode_unpin(in);
}

static void reply_new(fuse_req_t req, struct fs *fs, struct inode *pin, const char *path)
{
	reply_new_link(req, fs, pin, path, NULL, 0);
}

/* The reply of an op that made @path in @pin: its entry, or -@rc. */
static void reply_made(fuse_req_t req, struct fs *fs, struct inode *pin, const char *path, int rc)
{
	if (rc < 0) {
		dir_changed(pin);
		fuse_reply_err(req, -rc);
	} else {
		reply_new(req, fs, pin, path);
	}
}

static char *child_path(fuse_req_t req, fuse_ino_t parent, const char *name, struct inode **pin)
{
	char *path;
	int rc;

	*pin = inode_get(parent);
	if (ctl_owns(parent, name)) {
		/* The control room is not changed by name operations. */
		fuse_reply_err(req, EPERM);
		return NULL;
	}
	if (!*pin) {
		fuse_reply_err(req, ESTALE);
		return NULL;
	}
	path = inode_child_path(*pin, name);
	if (!path) {
		fuse_reply_err(req, ESTALE);
		return NULL;
	}
	rc = name_check(name, path);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		free(path);
		return NULL;
	}
	return path;
}

/*
 * mkdir: one MakeDir and nothing else.  The new directory's attributes are
 * known (envd makes it 0755, ours, now), so no Stat; another mode is set
 * later with its times, behind the uploads into it (cache_dir_fix), as for
 * tar's chmod.  Its listing is empty, and while the watch is up it stays
 * true without a request (tar x makes a directory and fills it at once).
 */
static void e2bfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = FS(req);
	struct inode *pin, *self, *in;
	struct inode_vtok tok;
	struct stat st, want;
	char *path = child_path(req, parent, name, &pin);
	int rc;

	if (!path)
		return;
	self = pre_self(path);
	inode_vouch_begin(&tok);
	/* Answered now; made in the sandbox in the background, before
	 * anything else asks envd about it (remote.c). */
	rc = remote_mkdir_async(fs, path);
	in = rc == 0 ? inode_for_path(path) : NULL;
	if (rc == 0 && !in)
		rc = -ENOMEM;
	if (rc < 0) {
		dir_changed(pin);
		fuse_reply_err(req, -rc);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0755;
	st.st_nlink = 2;
	st.st_size = 4096;
	st.st_blksize = CACHE_BLOCK;
	new_owner(fs, &st);
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	st.st_atim = st.st_mtim;
	st.st_ctim = st.st_mtim;
	st.st_ino = in->ino;
	if ((mode & 07777) != 0755) {
		want = st;
		want.st_mode = S_IFDIR | (mode & 07777);
		if (cache_dir_fix(fs, in, &st, &want, FUSE_SET_ATTR_MODE) == 0)
			st.st_mode = want.st_mode;
	}
	inode_set_attr(fs, in, &st);
	dir_entry_changed(fs, pin, name, 1);
	inode_mark_self(in);
	inode_listing_empty(fs, in, &tok);
	cache_local_attr(in, &st);
	reply_entry(req, fs, in, &st);
	inode_unpin(in);
out:
	inode_unpin(self);
	free(path);
}

/*
 * mknod: a FIFO, socket or device node made in the sandbox (device nodes
 * only where the sandbox user may), a regular file as an empty upload.
 */
static void e2bfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	struct fs *fs = FS(req);
	struct inode *pin, *self;
	char *path = child_path(req, parent, name, &pin);
	char m[16];
	int rc;

	if (!path)
		return;
	self = pre_self(path);
	rc = stat_path(fs, path, NULL, &(struct stat){ 0 });
	if (rc == 0)
		rc = -EEXIST;
	else if (rc == -ENOENT)
		rc = 0;
	if (rc == 0 && S_ISREG(mode)) {
		rc = remote_create(fs, path);
		snprintf(m, sizeof(m), "%o", (unsigned)(mode & 07777));
		if (rc == 0 && (mode & 07777) != 0644)
			rc = remote_fix_args(fs, path, m, "", "");
	} else if (rc == 0) {
		rc = remote_mknod(fs, path, mode, rdev);
	}
	reply_made(req, fs, pin, path, rc);
	inode_unpin(self);
	free(path);
}

/*
 * What @path is, before removing it: the watch's word while it vouches for
 * the record (rm -rf then costs one request a name), else a Stat.  *in
 * pinned on success.
 */
static int vouched_or_stat(struct fs *fs, const char *path, struct inode **in, struct stat *st)
{
	struct inode *v = inode_find_path(path);

	if (v && inode_attr_vouched(v)) {
		pthread_mutex_lock(&inode_lock);
		*st = v->attr;
		pthread_mutex_unlock(&inode_lock);
		*in = v;
		return 0;
	}
	if (v)
		inode_invalidate(v);
	inode_unpin(v);
	*in = NULL;
	return stat_path(fs, path, in, st);
}

static void e2bfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct inode *pin, *in;
	struct stat st;
	char *path = child_path(req, parent, name, &pin);
	int rc;

	if (!path)
		return;
	in = inode_find_path(path);
	/* Created here and not uploaded yet: nothing to remove there. */
	if (in && cache_cancel_new(fs, in)) {
		inode_detach(in);
		dir_entry_changed(fs, pin, name, 0);
		inode_unpin(in);
		fuse_reply_err(req, 0);
		free(path);
		return;
	}
	/* Not a directory (envd's Remove would take it whole). */
	inode_unpin(in);
	rc = vouched_or_stat(fs, path, &in, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	/* Open here: its descriptors keep the content after the remove. */
	if (rc == 0)
		rc = cache_unlinking(fs, in);
	/* A pending upload is cancelled first, or it could land after the
	 * remove and bring the file back. */
	if (rc == 0 && cache_is_dirty(in))
		cache_drop(fs, in);
	if (rc == 0)
		rc = remote_remove(fs, path);
	if (rc == 0) {
		cache_drop(fs, in);
		inode_detach(in);
		dir_entry_changed(fs, pin, name, 0);
	} else {
		dir_changed(pin);
	}
	inode_unpin(in);
	fuse_reply_err(req, -rc);
	free(path);
}

/* 0 if @path is an empty directory, else -ENOTEMPTY or another error. */
static int check_empty(struct fs *fs, const char *path)
{
	e2b_entry_list *l = NULL;
	int rc;

	rc = remote_list(fs, path, &l);
	if (rc == -EINVAL)
		rc = -ENOTDIR;
	if (rc == 0 && l->count)
		rc = -ENOTEMPTY;
	e2b_entry_list_free(l);
	return rc;
}

static void e2bfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct inode *pin, *in = NULL;
	struct stat st;
	char *path = child_path(req, parent, name, &pin);
	int rc;

	if (!path)
		return;
	/* (Its listing is asked for below all the same.) */
	rc = vouched_or_stat(fs, path, &in, &st);
	if (rc == 0 && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc == 0)
		rc = check_empty(fs, path);
	/* envd's Remove is rm -rf: only ever reached for an empty directory. */
	if (rc == 0)
		rc = remote_remove(fs, path);
	if (rc == 0) {
		inode_detach(in);
		dir_entry_changed(fs, pin, name, 0);
	} else {
		dir_changed(pin);
	}
	inode_unpin(in);
	fuse_reply_err(req, -rc);
	free(path);
}

static void e2bfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct inode *pin, *self;
	char *path = child_path(req, parent, name, &pin);
	int rc;

	if (!path)
		return;
	self = pre_self(path);
	rc = remote_symlink(fs, link, path);
	reply_made(req, fs, pin, path, rc);
	inode_unpin(self);
	free(path);
}

/*
 * link(@src, @path) of a file not uploaded yet, made here (cache_link_new):
 * the new name's entry carries the file's attributes as shown.  1 if
 * answered, 0 if the caller links in the sandbox.
 */
static int link_here(fuse_req_t req, struct fs *fs, struct inode *pin, const char *name,
		     struct inode *src, const char *path)
{
	struct inode *in;
	struct stat st;

	/* The old name's attributes with its local content's size and times. */
	if (!inode_stale_attr(src, &st))
		return 0;
	in = inode_for_path(path);
	if (!in || cache_link_new(fs, src, in) < 0) {
		inode_unpin(in);
		return 0;
	}
	st.st_ino = in->ino;
	inode_set_attr(fs, in, &st);
	inode_set_links(src, in, 2);
	st.st_nlink = 2;
	dir_entry_changed(fs, pin, name, 1);
	reply_entry(req, fs, in, &st);
	inode_unpin(in);
	/* The kernel's attributes of the old name: its count changed. */
	fuse_lowlevel_notify_inval_inode(fs->se, src->ino, -1, 0);
	return 1;
}

static void e2bfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs *fs = FS(req);
	struct inode *pin, *in = inode_get(ino);
	char *path = child_path(req, newparent, newname, &pin);
	char *src = in ? inode_path(in) : NULL;
	int rc;

	if (!path) {
		free(src);
		return;
	}
	if (!src) {
		fuse_reply_err(req, ENOENT);
	} else if (cache_is_local_new(in) && link_here(req, fs, pin, newname, in, path)) {
		/* made here; the sandbox gets it with the new name's upload */
	} else {
		/* The link and the sandbox's link count (envd has none), in
		 * one request. */
		unsigned n = 0;

		if (cache_is_dirty(in))
			cache_flush(fs, in);
		rc = remote_link(fs, src, path, &n);
		if (rc < 0) {
			dir_changed(pin);
			fuse_reply_err(req, -rc);
		} else {
			/* A change through one name is reported for that one only. */
			inode_mark_linked(src);
			inode_mark_linked(path);
			if (n < 2 || n > 65000)
				n = 2;	/* at least the two names */
			reply_new_link(req, fs, pin, path, in, n);
		}
	}
	free(src);
	free(path);
}

/*
 * The attributes of @path (@name in @dir) as stat_path() gives them, but
 * without a request when they are known here: a file created here and not
 * uploaded yet (a Stat would wait for its upload), attributes still fresh,
 * or a name absent from a fresh listing (-ENOENT).
 */
static int known_stat(struct fs *fs, struct inode *dir, const char *name, const char *path,
		      struct inode **out, struct stat *st)
{
	struct inode *in = inode_find_path(path);
	int fresh;

	if (in && inode_cached_attr(fs, in, st)) {
		*out = in;
		return 0;
	}
	if (in && cache_is_local_new(in)) {
		pthread_mutex_lock(&inode_lock);
		*st = in->attr;
		pthread_mutex_unlock(&inode_lock);
		st->st_ino = in->ino;
		cache_local_attr(in, st);
		*out = in;
		return 0;
	}
	inode_unpin(in);
	if (dir && !inode_listing_has(dir, name, &fresh) && fresh)
		return -ENOENT;
	return stat_path(fs, path, out, st);
}

/*
 * rename of @sin, a file created here and not uploaded yet, over @din (if
 * @dexists): done in the cache alone (cache_rename_new), or -EAGAIN.
 */
static int rename_new(struct fs *fs, struct inode *sin, struct inode *din, const char *from,
		      const char *to, int dexists)
{
	int rc;

	/* A replaced file open here keeps its content for its descriptors;
	 * its pending upload must not land over ours. */
	if (dexists && din != sin) {
		rc = cache_unlinking(fs, din);
		if (rc < 0)
			return rc;
		if (cache_is_dirty(din))
			cache_drop(fs, din);
	}
	rc = cache_rename_new(sin, from, to, dexists);
	if (rc == 0 && dexists && din != sin)
		cache_drop(fs, din);
	return rc;
}

/* Whether @from (attributes @sst) may be renamed to @to, which exists
 * with @dst or not (NULL): 0 or the errno rename(2) gives. */
static int rename_check(struct fs *fs, const char *from, const char *to,
			const struct stat *sst, const struct stat *dst, unsigned int flags)
{
	int rc = 0;

	if (dst) {
		if (flags & RENAME_NOREPLACE) {
			rc = -EEXIST;
		} else if (S_ISDIR(sst->st_mode) && !S_ISDIR(dst->st_mode)) {
			rc = -ENOTDIR;
		} else if (!S_ISDIR(sst->st_mode) && S_ISDIR(dst->st_mode)) {
			rc = -EISDIR;
		} else if (S_ISDIR(dst->st_mode)) {
			rc = check_empty(fs, to);
		}
		if (rc < 0)
			return rc;
	}
	if (S_ISDIR(sst->st_mode)) {
		size_t fl = strlen(from);

		if (!strncmp(to, from, fl) && to[fl] == '/')
			return -EINVAL;
	}
	return 0;
}

/* The rename done by envd's Move, after the pending data of @from reached
 * the sandbox; @to exists with @dst or not (NULL).  @sin and @din are the
 * files' inodes.  0 or -errno. */
static int rename_in_sandbox(struct fs *fs, struct inode *sin, struct inode *din,
			     const char *from, const char *to, const struct stat *sst,
			     const struct stat *dst)
{
	int rc;

	/* Write-back: what was written under the old name reaches the
	 * sandbox before the move, so the sandbox never sees the new name
	 * with stale content. */
	if (S_ISDIR(sst->st_mode))
		cache_sync_all(fs);
	else if (cache_is_dirty(sin))
		cache_flush(fs, sin);
	/* A replaced file open here keeps its content for its descriptors. */
	if (dst && din != sin && !S_ISDIR(dst->st_mode)) {
		rc = cache_unlinking(fs, din);
		if (rc < 0)
			return rc;
	}
	/* A replaced file's pending upload must not land over the move. */
	if (dst && din != sin && cache_is_dirty(din))
		cache_drop(fs, din);
	/* envd's Move (Go's os.Rename) refuses to replace a directory, even
	 * an empty one: remove the empty target first, as rename(2) would
	 * replace it, and put it back if the Move then fails. */
	if (dst && S_ISDIR(dst->st_mode)) {
		rc = remote_remove(fs, to);
		if (rc < 0)
			return rc;
	}
	rc = remote_rename(fs, from, to);
	if (rc < 0 && dst && S_ISDIR(dst->st_mode))
		remote_mkdir(fs, to);
	if (rc < 0)
		return rc;
	if (dst && din != sin)
		cache_drop(fs, din);
	inode_renamed(from, to);
	inode_invalidate(sin);
	cache_renamed(sin);
	return rc;
}

static void e2bfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = FS(req);
	struct inode *pin, *npin, *sin = NULL, *din = NULL;
	struct stat sst, dst;
	char *from = NULL, *to = NULL;
	int rc, dexists;

	if (flags & ~RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	from = child_path(req, parent, name, &pin);
	if (!from)
		return;
	to = child_path(req, newparent, newname, &npin);
	if (!to)
		goto out_nofree_reply;
	rc = known_stat(fs, pin, name, from, &sin, &sst);
	if (rc < 0)
		goto out;
	rc = known_stat(fs, npin, newname, to, &din, &dst);
	dexists = rc == 0;
	if (rc < 0 && rc != -ENOENT)
		goto out;
	rc = 0;
	if (!strcmp(from, to))
		goto out;
	rc = rename_check(fs, from, to, &sst, dexists ? &dst : NULL, flags);
	if (rc < 0)
		goto out;
	/* Created here and not uploaded yet: renamed here only, its upload
	 * goes to the new name. */
	if (!S_ISDIR(sst.st_mode) && cache_is_local_new(sin)) {
		rc = rename_new(fs, sin, din, from, to, dexists);
		if (rc != -EAGAIN)
			goto done;
	}
	rc = rename_in_sandbox(fs, sin, din, from, to, &sst, dexists ? &dst : NULL);
done:
	if (rc < 0)
		goto out;
	dir_entry_changed(fs, pin, name, 0);
	dir_entry_changed(fs, npin, newname, 1);
	inode_unpin(sin);
	inode_unpin(din);
	fuse_reply_err(req, 0);
	free(to);
	free(from);
	return;
out:
	inode_unpin(sin);
	inode_unpin(din);
	dir_changed(pin);
	dir_changed(npin);
	fuse_reply_err(req, -rc);
	free(to);
out_nofree_reply:
	free(from);
}

static void e2bfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	struct stat st;
	char *path;
	int rc, keep = 0, dirty;

	CTL_ROUTE(ctl_is(ino), open, req, ino, fi);
	in = inode_get(ino);
	path = in ? inode_path(in) : NULL;
	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* Close-to-open: every open revalidates against the sandbox, unless
	 * the lookup just before it did (cold grep/cat of many small files
	 * would otherwise Stat every file twice). */
	dirty = cache_is_dirty(in);
	if (dirty) {
		rc = get_attr(fs, in, &st);
	} else if (inode_recent_attr(in, fs->o.attr_timeout, &st)) {
		cache_local_attr(in, &st);
		rc = 0;
	} else {
		inode_invalidate(in);
		rc = stat_path(fs, path, NULL, &st);
	}
	if (rc == 0 && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (rc == 0)
		rc = cache_open(fs, in, fi->flags, dirty ? NULL : &st, &keep);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
	} else {
		fi->keep_cache = keep;
		fi->fh = 0;
		fuse_reply_open(req, fi);
		/* ahead.c: fetch what is read next */
		ahead_opened(fs, path, fi->flags, cache_has_content(in));
	}
	free(path);
}

static void e2bfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *pin, *in, *self;
	struct fuse_entry_param e;
	struct stat st;
	char *path = child_path(req, parent, name, &pin);
	int rc;

	if (!path)
		return;
	self = pre_self(path);
	/*
	 * Write-back: the file exists here until its first upload (queued at
	 * close) creates it in the sandbox with its content, mode and times;
	 * until then envd calls about it wait for that upload.  The cache
	 * record comes first: from then on, watch events on the path (about
	 * an older file) are ignored; the attributes and the listing entry
	 * set after it override what an event handled before it did.
	 */
	rc = 0;
	in = inode_for_path(path);
	if (!in)
		rc = -ENOMEM;
	if (rc == 0) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFREG | (mode & 07777);
		st.st_nlink = 1;
		new_owner(fs, &st);
		st.st_blksize = CACHE_BLOCK;
		clock_gettime(CLOCK_REALTIME, &st.st_mtim);
		st.st_atim = st.st_mtim;
		st.st_ctim = st.st_mtim;
		st.st_ino = in->ino;
		rc = cache_create(fs, in, &st);
	}
	if (rc == 0) {
		/* The new file's attributes are known: no Stat. */
		inode_set_attr(fs, in, &st);
		dir_entry_changed(fs, pin, name, 1);
	}
	if (rc < 0)
		dir_changed(pin);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.ino = in->ino;
	e.generation = 1;
	e.attr = st;
	e.attr_timeout = fs->o.attr_timeout;
	e.entry_timeout = fs->o.entry_timeout;
	fi->fh = 0;
	fi->keep_cache = 1;
	inode_ref(in);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		inode_forget(in->ino, 1);
		cache_release(fs, in);
	}
out:
	inode_unpin(in);
	inode_unpin(self);
	free(path);
}

/* A read's answer straight from the cache file (spliced by libfuse) or
 * from the stream's ring. */
static void reply_read(void *arg, const struct read_src *src)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(src->len[0]);
	struct iovec iov[2];

	if (src->fd < 0) {
		iov[0].iov_base = (void *)src->mem[0];
		iov[0].iov_len = src->len[0];
		iov[1].iov_base = (void *)src->mem[1];
		iov[1].iov_len = src->len[1];
		fuse_reply_iov((fuse_req_t)arg, iov, src->len[1] ? 2 : 1);
		return;
	}
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = src->fd;
	bv.buf[0].pos = src->off;
	fuse_reply_data((fuse_req_t)arg, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void e2bfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	size_t n = 0;
	char *buf;
	int rc;

	CTL_ROUTE(ctl_is(ino), read, req, ino, size, off, fi);
	in = inode_get(ino);
	if (in && size) {
		rc = cache_read_emit(fs, in, size, off, reply_read, req);
		if (rc == 1)
			return;
		if (rc < 0 && rc != -EAGAIN) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	buf = malloc(size ? size : 1);
	if (!in || !buf) {
		free(buf);
		fuse_reply_err(req, in ? ENOMEM : ESTALE);
		return;
	}
	rc = cache_read(fs, in, buf, size, off, &n);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void e2bfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	int rc;

	CTL_ROUTE(ctl_is(ino), write, req, ino, buf, size, off, fi);
	in = inode_get(ino);
	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	rc = cache_write(fs, in, buf, size, off);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

/*
 * close() queues the upload (write-back); fsync() is the barrier for one
 * file and reports its upload's error.
 */
static void flush_or_sync(fuse_req_t req, fuse_ino_t ino, int barrier)
{
	struct fs *fs = FS(req);
	struct inode *in = inode_get(ino);

	if (!in)
		fuse_reply_err(req, 0);
	else
		fuse_reply_err(req, barrier ? -cache_flush(fs, in) : -cache_close(fs, in));
}

static void e2bfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	CTL_ROUTE(ctl_is(ino), flush, req, ino, fi);
	flush_or_sync(req, ino, 0);
}

static void e2bfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	CTL_ROUTE(ctl_is(ino), fsync, req, ino, datasync, fi);
	flush_or_sync(req, ino, 1);
}

static void e2bfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;

	CTL_ROUTE(ctl_is(ino), release, req, ino, fi);
	in = inode_get(ino);
	if (in)
		cache_release(fs, in);
	fuse_reply_err(req, 0);
}

/* A directory snapshot taken at opendir, served by readdir(plus). */
/* An open directory: a snapshot of one ListDir.  Its entries' records stay
 * pinned until releasedir, so READDIRPLUS can count lookups on them. */
struct dirh {
	char *path;		/* the directory's, at opendir */
	size_t n;
	char **names;
	struct stat *st;
	struct inode **ins;	/* pinned */
};

static void dirh_free(struct dirh *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->names[i]);
		inode_unpin(d->ins[i]);
	}
	free(d->names);
	free(d->st);
	free(d->ins);
	free(d->path);
	free(d);
}

/*
 * A directory handle from @dir's fresh cached listing and its entries'
 * attributes, or NULL when any of them is missing (then opendir asks
 * envd).  A warm `ls -l` costs no request.
 */
static struct dirh *dirh_from_cache(struct fs *fs, struct inode *dir, fuse_ino_t ino,
				    const char *path)
{
	struct dirh *d = NULL;
	char **names, *cp;
	size_t n, i;
	int ok = 0, ans;

	names = inode_listing_names(dir, &n);
	if (!names)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	d->names = calloc(n + 1, sizeof(*d->names));
	d->st = calloc(n + 1, sizeof(*d->st));
	d->ins = calloc(n + 1, sizeof(*d->ins));
	if (!d->names || !d->st || !d->ins)
		goto out;
	for (i = 0; i < n; i++) {
		struct inode *cin;

		if (ino == FUSE_ROOT_ID && !strcmp(names[i], CTL_NAME))
			continue;
		ans = inode_dir_lookup(fs, dir, names[i], &cin, &d->st[d->n]);
		if (ans == INODE_DIR_ABSENT)
			continue;
		if (ans == INODE_DIR_NOATTR) {
			cp = path_join(path, names[i]);
			cin = cp ? inode_find_path(cp) : NULL;
			free(cp);
			if (cin && !inode_cached_attr(fs, cin, &d->st[d->n])) {
				inode_unpin(cin);
				cin = NULL;
			}
		}
		if (!cin)
			goto out;
		d->ins[d->n] = cin;
		d->names[d->n] = names[i];
		names[i] = NULL;
		d->n++;
	}
	ok = 1;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!ok) {
		dirh_free(d);
		d = NULL;
	}
	return d;
}

/* A handle of the directory @ino at @path from the sandbox's listing @l
 * (the control directory and upload temporaries left out), its entries
 * pinned; NULL with no memory. */
static struct dirh *dirh_from_list(struct fs *fs, fuse_ino_t ino, const char *path,
				   const e2b_entry_list *l)
{
	struct inode *cin;
	struct dirh *d;
	char *cp;
	size_t i;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->names = calloc(l->count + 1, sizeof(*d->names));
	d->st = calloc(l->count + 1, sizeof(*d->st));
	d->ins = calloc(l->count + 1, sizeof(*d->ins));
	if (!d->names || !d->st || !d->ins)
		goto fail;
	for (i = 0; i < l->count; i++) {
		if ((ino == FUSE_ROOT_ID && !strcmp(l->items[i].name, CTL_NAME)) ||
		    inode_is_upload_temp(l->items[i].name))
			continue;
		cp = path_join(path, l->items[i].name);
		cin = cp ? inode_for_path(cp) : NULL;
		free(cp);
		if (!cin)
			goto fail;
		d->names[d->n] = strdup(l->items[i].name);
		if (!d->names[d->n]) {
			inode_unpin(cin);
			goto fail;
		}
		inode_attr_from_entry(fs, &l->items[i], &d->st[d->n]);
		cache_local_attr(cin, &d->st[d->n]);
		d->st[d->n].st_ino = cin->ino;
		d->ins[d->n] = cin;
		d->n++;
	}
	return d;
fail:
	dirh_free(d);
	return NULL;
}

static void e2bfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct inode *in;
	struct inode_vtok tok;
	e2b_entry_list *l = NULL;
	struct dirh *d = NULL;
	char *path;
	int rc;

	CTL_ROUTE(ctl_is(ino), opendir, req, ino, fi);
	in = inode_get(ino);
	path = in ? inode_path(in) : NULL;
	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	d = dirh_from_cache(fs, in, ino, path);
	if (!d) {
		rc = list_dir(fs, in);
		if (rc == -EINVAL)
			rc = -ENOTDIR;
		if (rc < 0)
			goto out;
		d = dirh_from_cache(fs, in, ino, path);
	}
	if (d) {
		rc = 0;
		goto reply;
	}
	/* Changed while listed: this handle gets its own snapshot. */
	inode_vouch_begin(&tok);
	rc = remote_list(fs, path, &l);
	if (rc == -EINVAL)
		rc = -ENOTDIR;
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	d = dirh_from_list(fs, ino, path, l);
	if (!d)
		goto out;
	/* After pinning the entries, so their cached attributes stay while
	 * the directory is open. */
	inode_set_listing(fs, in, &tok, l);
	rc = 0;
reply:
	d->path = path;
	path = NULL;
	fi->fh = (uint64_t)(uintptr_t)d;
	/* While the watch vouches for the listing, the kernel keeps it too
	 * (a change it reports drops it: watch.c invalidates offset 0). */
	fi->cache_readdir = fi->keep_cache = inode_listing_vouched(in);
	if (fuse_reply_open(req, fi) == -ENOENT)
		dirh_free(d);
	d = NULL;
out:
	if (rc < 0) {
		dirh_free(d);
		fuse_reply_err(req, -rc);
	}
	e2b_entry_list_free(l);
	free(path);
}

/* Is @path @dir's entry @name? */
static int is_child_path(const char *path, const char *dir, const char *name)
{
	size_t dl;

	if (!path || !dir)
		return 0;
	dl = strlen(dir);
	if (dl == 1 && dir[0] == '/')
		dl = 0;
	return !strncmp(path, dir, dl) && path[dl] == '/' && !strcmp(path + dl + 1, name);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = FS(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size, ent;
	off_t i;

	buf = calloc(1, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	for (i = off; (size_t)i < d->n + 2; i++) {
		struct fuse_entry_param e;
		const char *name;

		memset(&e, 0, sizeof(e));
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? ino : 1;
			e.attr.st_mode = S_IFDIR;
		} else {
			struct inode *cin = d->ins[i - 2];

			name = d->names[i - 2];
			e.attr = d->st[i - 2];
			if (plus) {
				/* The attributes as they are now, not at opendir:
				 * an event may have changed them since. */
				inode_cached_attr(fs, cin, &e.attr);
				e.ino = cin->ino;
				e.generation = 1;
				e.attr_timeout = inode_attr_timeout(fs, cin);
				e.entry_timeout = inode_entry_timeout(fs, cin);
				/*
				 * The record may have been renamed or removed
				 * since: then the name is not its name, and a
				 * dentry for it would alias a directory under
				 * two names.  A plain entry then.
				 */
				pthread_mutex_lock(&inode_lock);
				if (!is_child_path(cin->path, d->path, name))
					e.ino = 0;
				pthread_mutex_unlock(&inode_lock);
			}
		}
		if (plus)
			ent = fuse_add_direntry_plus(req, p, rem, name, &e, i + 1);
		else
			ent = fuse_add_direntry(req, p, rem, name, &e.attr, i + 1);
		if (ent > rem)
			break;
		if (plus && e.ino)
			inode_ref(d->ins[i - 2]);
		p += ent;
		rem -= ent;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void e2bfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	CTL_ROUTE(ctl_is(ino), readdir, req, ino, size, off, fi);
	do_readdir(req, ino, size, off, fi, 0);
}

static void e2bfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	CTL_ROUTE(ctl_is(ino), readdirplus, req, ino, size, off, fi);
	do_readdir(req, ino, size, off, fi, 1);
}

static void e2bfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	CTL_ROUTE(ctl_is(ino), releasedir, req, ino, fi);
	dirh_free((struct dirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void e2bfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void e2bfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	e2b_envd_metrics m;
	struct statvfs sv;
	int rc;

	memset(&m, 0, sizeof(m));
	memset(&sv, 0, sizeof(sv));
	rc = remote_statfs(fs, &m);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (fsblkcnt_t)(m.disk_total / 4096);
	sv.f_bfree = (fsblkcnt_t)(m.disk_total > m.disk_used ?
				  (m.disk_total - m.disk_used) / 4096 : 0);
	sv.f_bavail = sv.f_bfree;
	sv.f_files = 1u << 24;
	sv.f_ffree = 1u << 23;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

#define XATTR_PREFIX "user.e2b."

static void e2bfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = FS(req);
	struct inode *in;
	e2b_entry_info *e = NULL;
	char *path;
	size_t i;
	int rc;

	/*
	 * Only user.* is supported (user.e2b.* is envd's metadata).  The
	 * others are EOPNOTSUPP, not ENODATA: ls -l and cp -a then stop asking
	 * for security.selinux and the POSIX ACLs of every file on the mount
	 * (coreutils remembers an unsupported device), one FUSE round trip per
	 * name and file otherwise.
	 */
	if (strncmp(name, "user.", 5)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	CTL_ROUTE(ctl_is(ino), getxattr, req, ino, name, size);
	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX))) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	in = inode_get(ino);
	path = in ? inode_path(in) : NULL;
	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	rc = remote_stat(fs, path, &e);
	if (rc == 0) {
		rc = -ENODATA;
		for (i = 0; i < e->metadata_count; i++) {
			const char *v = e->metadata[i].value;
			size_t vl = strlen(v);

			if (strcmp(e->metadata[i].key, name + strlen(XATTR_PREFIX)))
				continue;
			rc = 0;
			if (!size)
				fuse_reply_xattr(req, vl);
			else if (size < vl)
				fuse_reply_err(req, ERANGE);
			else
				fuse_reply_buf(req, v, vl);
			break;
		}
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	e2b_entry_info_free(e);
	free(path);
}

static void e2bfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	struct inode *in;
	e2b_entry_info *e = NULL;
	char *path, *buf = NULL;
	size_t i, len = 0, pl = strlen(XATTR_PREFIX);
	int rc;

	CTL_ROUTE(ctl_is(ino), listxattr, req, ino, size);
	in = inode_get(ino);
	path = in ? inode_path(in) : NULL;
	if (!path) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	rc = remote_stat(fs, path, &e);
	if (rc < 0)
		goto out;
	for (i = 0; i < e->metadata_count; i++)
		len += pl + strlen(e->metadata[i].key) + 1;
	if (!size) {
		fuse_reply_xattr(req, len);
		goto done;
	}
	if (size < len) {
		rc = -ERANGE;
		goto out;
	}
	buf = malloc(len + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	len = 0;
	for (i = 0; i < e->metadata_count; i++) {
		size_t kl = strlen(e->metadata[i].key);

		memcpy(buf + len, XATTR_PREFIX, pl);
		memcpy(buf + len + pl, e->metadata[i].key, kl + 1);
		len += pl + kl + 1;
	}
	fuse_reply_buf(req, buf, len);
	goto done;
out:
	fuse_reply_err(req, -rc);
done:
	free(buf);
	e2b_entry_info_free(e);
	free(path);
}

static void e2bfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	/* envd sets metadata only with an upload; not a separate call. */
	fuse_reply_err(req, ENOTSUP);
}

const struct fuse_lowlevel_ops e2bfs_ops = {
	.init = e2bfs_init,
	.destroy = e2bfs_destroy,
	.lookup = e2bfs_lookup,
	.forget = e2bfs_forget,
	.forget_multi = e2bfs_forget_multi,
	.getattr = e2bfs_getattr,
	.setattr = e2bfs_setattr,
	.readlink = e2bfs_readlink,
	.mknod = e2bfs_mknod,
	.mkdir = e2bfs_mkdir,
	.unlink = e2bfs_unlink,
	.rmdir = e2bfs_rmdir,
	.symlink = e2bfs_symlink,
	.rename = e2bfs_rename,
	.link = e2bfs_link,
	.open = e2bfs_open,
	.create = e2bfs_create,
	.read = e2bfs_read,
	.write = e2bfs_write,
	.flush = e2bfs_flush,
	.fsync = e2bfs_fsync,
	.release = e2bfs_release,
	.opendir = e2bfs_opendir,
	.readdir = e2bfs_readdir,
	.readdirplus = e2bfs_readdirplus,
	.releasedir = e2bfs_releasedir,
	.fsyncdir = e2bfs_fsyncdir,
	.statfs = e2bfs_statfs,
	.getxattr = e2bfs_getxattr,
	.listxattr = e2bfs_listxattr,
	.setxattr = e2bfs_setxattr,
};
