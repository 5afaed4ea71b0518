/* SPDX-License-Identifier: MIT */
/*
 * The content cache: one sparse file on disk per inode whose content was
 * read or written, with a presence map of CACHE_BLOCK blocks filled by
 * ranged GETs (readahead doubles on sequential access).  Writes go to the
 * cache file after the whole content is local.  A dirty file has a sidecar
 * "<cache file>.dirty" holding its remote path, so a later mount finds and
 * uploads what an earlier one could not (a kill -9 loses nothing that was
 * written before it).
 *
 * Write-back: close only queues a dirty file; UP_WORKERS threads upload
 * queued files in parallel, each atomically (temporary name + Move).  A file
 * is queued at most once, so a write before its upload starts rides along
 * with it.  Every change bumps the file's write sequence (wseq) and a
 * successful upload records the sequence it carried (useq).  A barrier
 * (fsync: one file; sync, unmount, starting a process: all files) waits
 * until useq reaches the wseq a file had when the barrier began, or until
 * an attempt fails; failed uploads stay dirty and are retried with backoff
 * by cache_housekeep().
 *
 * Locking: file->lock guards one file and is held across its network I/O
 * (reads of one file are serialized, other files proceed); it is taken
 * before inode_lock and up_lock, never after.  files_lock guards only the
 * list; up_lock the upload queue and the sequence fields.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

#define RA_MAX_BLOCKS 256u	/* 32 MiB readahead at most */
#define UP_WORKERS 8		/* uploads in flight at once */
/* A closed file waits this long before its upload starts, so that the
 * chmod/utimens that tar and cp -p send right after close are folded into
 * the upload instead of costing a call of their own.  Barriers skip it. */
#define UP_SETTLE 0.03

struct file {
	pthread_mutex_t lock;
	struct inode *in;
	int fd;			/* protected by lock; -1 when closed */
	char *cpath;		/* protected by lock; NULL = nothing on disk */
	uint64_t size;		/* protected by lock; logical size */
	uint8_t *present;	/* protected by lock; one byte per block */
	size_t nblocks;		/* protected by lock; entries in present */
	int complete;		/* protected by lock; whole content local */
	int dirty;		/* protected by lock */
	int orphan;		/* protected by lock; remote gone, open here */
	int opens;		/* protected by lock */
	int has_base;		/* protected by lock */
	int64_t base_sec;	/* protected by lock; remote version cached */
	int32_t base_nsec;	/* protected by lock */
	uint64_t base_size;	/* protected by lock */
	mode_t mode;		/* protected by lock; permission bits wanted */
	struct timespec mtime;	/* protected by lock; of the last local write */
	int want_atime;		/* protected by lock; times set while dirty, */
	int want_mtime;		/* protected by lock; applied at upload */
	struct timespec atime_v; /* protected by lock */
	struct timespec mtime_v; /* protected by lock */
	uint64_t seq_next;	/* protected by lock; readahead state */
	uint64_t seq_len;	/* protected by lock; the latest read's size */
	unsigned ra;		/* protected by lock */
	double last_use;	/* protected by lock */
	int ahead;		/* protected by lock; fetched ahead, not opened since */
	double next_retry;	/* protected by lock; background upload backoff */
	double retry_delay;	/* protected by lock */
	int listed;		/* protected by files_lock */
	int queued;		/* protected by up_lock; in the upload queue */
	int busy;		/* protected by up_lock; a worker has it */
	int requeue;		/* protected by up_lock; queued while busy */
	int failed;		/* protected by up_lock; last attempt failed */
	uint64_t wseq;		/* protected by up_lock; last change */
	uint64_t useq;		/* protected by up_lock; last change uploaded */
	uint64_t attempts;	/* protected by up_lock; uploads tried */
	double due;		/* protected by up_lock; queued: start after */
	int local_new;		/* protected by up_lock; created here, not in
				 * the sandbox until its first upload */
	int dirfix;		/* protected by lock; a directory's mode and
				 * times, queued behind the uploads into it */
	int want_mode;		/* protected by lock; with dirfix */
	/* A hard link made while the file was only here (git's loose
	 * objects: link(tmp, obj) then unlink(tmp)): the new name is a copy
	 * of the content, and the two records point at each other until the
	 * link is made in the sandbox (plink_settle) or one name goes. */
	struct file *plink;	/* protected by plink_lock */
	int plink_new;		/* protected by plink_lock; this is the new name */
	/* A sequential reader's stream (stream_main): one GET of blocks
	 * [st_b0, st_b1) whose bytes go to a ring in memory, not to the
	 * cache file: the reader is answered from the ring, which holds
	 * [st_lo, st_hi) of the file and survives the GET until the last
	 * close or a change of the content. */
	int st_active;		/* protected by lock; its GET running */
	int st_cancel;		/* protected by lock; take nothing more, stop */
	int st_waiting;		/* protected by lock; readers waiting for bytes */
	uint64_t st_need;	/* protected by lock; the nearest end a waiting
				 * reader needs (UINT64_MAX: none known) */
	int st_full;		/* protected by lock; the GET waits for room */
	size_t st_b0, st_b1;	/* protected by lock */
	char *st_ring;		/* protected by lock; STREAM_RING bytes or NULL */
	uint64_t st_lo, st_hi;	/* protected by lock */
	uint64_t st_want;	/* protected by lock; the latest read's offset */
	pthread_cond_t st_cond;	/* under lock: bytes a reader needs, or the
				 * stream's end */
	pthread_cond_t st_room;	/* under lock: room in the ring, or cancel */
	int shown;		/* protected by pub_lock; the local mtime was shown
				 * (a getattr answered with it) since the last write */
	struct file *qnext;	/* protected by up_lock */
	struct pub {
		int dirty;
		int orphan;
		int opens;
		uint64_t size;
		struct timespec mtime;
		struct timespec atime;
		int atime_set;
		int mtime_set;
		int dirfix;
		int complete;
		mode_t mode;
	} pub;			/* protected by pub_lock */
	struct file *next;	/* protected by files_lock */
};

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * What getattr and friends need is published under pub_lock whenever a
 * file's lock is released, so they never wait behind an upload or a fetch
 * that holds file->lock for long.
 */
static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file *files;	/* protected by files_lock */

/* Dirty leftovers of an earlier mount, found by cache_init(). */
static char **leftovers;	/* protected by files_lock */
static size_t nleftovers;	/* protected by files_lock */

static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_work = PTHREAD_COND_INITIALIZER;  /* queue or stop */
static pthread_cond_t up_done = PTHREAD_COND_INITIALIZER;  /* an attempt ended */
static struct file *up_head, *up_tail;	/* protected by up_lock */
static pthread_t up_threads[UP_WORKERS]; /* protected by up_lock */
static unsigned up_nthreads;		/* protected by up_lock */
static unsigned up_queued, up_busy;	/* protected by up_lock */
static int up_stop;			/* protected by up_lock */
static unsigned up_urgent;		/* protected by up_lock; barriers waiting */
static unsigned up_new;			/* protected by up_lock; local_new files */
static uint64_t up_seq;			/* protected by up_lock */
static unsigned up_delay_ms;		/* tests only: E2BFS_TEST_UPLOAD_DELAY_MS */
static pthread_mutex_t plink_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint plinks;		/* pending links (a quick "none") */

static int upload_locked(struct fs *fs, struct file *f);
static void enqueue_locked(struct fs *fs, struct file *f);
static struct file **snapshot(size_t *n);

/* The file whose pending link @f is the new name of, or NULL. */
static struct file *plink_source(struct file *f)
{
	struct file *src = NULL;

	if (!atomic_load(&plinks))
		return NULL;
	pthread_mutex_lock(&plink_lock);
	if (f->plink && f->plink_new)
		src = f->plink;
	pthread_mutex_unlock(&plink_lock);
	return src;
}

/* @f's pending link ends: each name goes on as a file of its own. */
static void plink_dissolve(struct file *f)
{
	if (!atomic_load(&plinks))
		return;
	pthread_mutex_lock(&plink_lock);
	if (f->plink) {
		f->plink->plink = NULL;
		f->plink->plink_new = 0;
		f->plink = NULL;
		f->plink_new = 0;
		atomic_fetch_sub(&plinks, 1);
	}
	pthread_mutex_unlock(&plink_lock);
}

static void set_local_new(struct file *f, int v)
{
	pthread_mutex_lock(&up_lock);
	if (f->local_new && !v)
		up_new--;
	else if (!f->local_new && v)
		up_new++;
	f->local_new = v;
	pthread_mutex_unlock(&up_lock);
}

/* *@v, read under @m. */
static int read_locked(pthread_mutex_t *m, const int *v)
{
	int r;

	pthread_mutex_lock(m);
	r = *v;
	pthread_mutex_unlock(m);
	return r;
}

static int is_local_new(struct file *f)
{
	return read_locked(&up_lock, &f->local_new);
}

/* Publish the state readers see, then release the file. */
static void unlock_file(struct file *f)
{
	pthread_mutex_lock(&pub_lock);
	f->pub.dirty = f->dirty;
	f->pub.orphan = f->orphan;
	f->pub.opens = f->opens;
	f->pub.size = f->size;
	f->pub.mtime = f->want_mtime ? f->mtime_v : f->mtime;
	f->pub.atime = f->atime_v;
	f->pub.atime_set = f->want_atime;
	f->pub.mtime_set = f->want_mtime;
	f->pub.dirfix = f->dirfix;
	f->pub.complete = f->complete;
	f->pub.mode = f->mode;
	pthread_mutex_unlock(&pub_lock);
	pthread_mutex_unlock(&f->lock);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path), i;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = i < len ? '/' : 0;
	}
	return 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

int cache_init(struct fs *fs)
{
	DIR *d;
	struct dirent *de;
	char p[4096];
	int rc;

	rc = mkdir_p(fs->cache_dir, 0700);
	if (rc < 0)
		return rc;
	/* Tests only (documented in docs/e2bfs.md): hold each background
	 * upload back, so files are really pending when a test kills us. */
	if (getenv("E2BFS_TEST_UPLOAD_DELAY_MS"))
		up_delay_ms = (unsigned)strtoul(getenv("E2BFS_TEST_UPLOAD_DELAY_MS"), NULL, 10);
	d = opendir(fs->cache_dir);
	if (!d)
		return -errno;
	/* Clean leftovers go; dirty ones are uploaded by cache_recover(). */
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "data-", 5))
			continue;
		if (has_suffix(de->d_name, ".dirty")) {
			char **n = realloc(leftovers, (nleftovers + 1) * sizeof(*n));

			if (!n)
				continue;
			leftovers = n;
			snprintf(p, sizeof(p), "%s/%s", fs->cache_dir, de->d_name);
			p[strlen(p) - 6] = 0;
			leftovers[nleftovers] = strdup(p);
			if (leftovers[nleftovers])
				nleftovers++;
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s.dirty", fs->cache_dir, de->d_name);
		if (access(p, F_OK) == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", fs->cache_dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	return 0;
}

static struct file *get_file(struct inode *in)
{
	struct file *f;

	pthread_mutex_lock(&inode_lock);
	f = in->file;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (f) {
			pthread_mutex_init(&f->lock, NULL);
			pthread_cond_init(&f->st_cond, NULL);
			pthread_cond_init(&f->st_room, NULL);
			f->st_need = UINT64_MAX;
			f->fd = -1;
			f->in = in;
			in->file = f;
		}
	}
	pthread_mutex_unlock(&inode_lock);
	if (f) {
		pthread_mutex_lock(&files_lock);
		if (!f->listed) {
			f->listed = 1;
			f->next = files;
			files = f;
		}
		pthread_mutex_unlock(&files_lock);
	}
	return f;
}

static struct file *peek_file(struct inode *in)
{
	struct file *f;

	pthread_mutex_lock(&inode_lock);
	f = in->file;
	pthread_mutex_unlock(&inode_lock);
	return f;
}

/* Make sure the cache file exists and is open; lock held. */
static int ensure_fd(struct fs *fs, struct file *f)
{
	char tmpl[4096];
	int fd;

	if (f->fd >= 0)
		return 0;
	if (f->cpath) {
		f->fd = open(f->cpath, O_RDWR | O_CLOEXEC);
		if (f->fd >= 0)
			return 0;
		free(f->cpath);
		f->cpath = NULL;
		f->complete = f->size == 0;
		if (f->present)
			memset(f->present, 0, f->nblocks);
		if (f->dirty)
			return -EIO;
	}
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/data-XXXXXX", fs->cache_dir) >= sizeof(tmpl))
		return -ENAMETOOLONG;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f->cpath = strdup(tmpl);
	if (!f->cpath) {
		close(fd);
		unlink(tmpl);
		return -ENOMEM;
	}
	f->fd = fd;
	return 0;
}

/* Grow the presence map to cover @size; lock held. */
static int grow_map(struct file *f, uint64_t size)
{
	size_t n = (size_t)((size + CACHE_BLOCK - 1) / CACHE_BLOCK);
	uint8_t *p;

	if (n <= f->nblocks)
		return 0;
	p = realloc(f->present, n);
	if (!p)
		return -ENOMEM;
	memset(p + f->nblocks, 0, n - f->nblocks);
	f->present = p;
	f->nblocks = n;
	return 0;
}

/* Forget the content; lock held. */
static void stream_stop(struct file *f);

static void reset_locked(struct file *f, uint64_t size)
{
	stream_stop(f);
	if (f->fd >= 0 && ftruncate(f->fd, 0) < 0) {
		close(f->fd);
		f->fd = -1;
		if (f->cpath)
			unlink(f->cpath);
		free(f->cpath);
		f->cpath = NULL;
	}
	if (f->present)
		memset(f->present, 0, f->nblocks);
	f->size = size;
	f->complete = size == 0;
	f->seq_next = 0;
	f->ra = 1;
}

static void set_base(struct file *f, const struct stat *st)
{
	f->has_base = 1;
	f->base_sec = st->st_mtim.tv_sec;
	f->base_nsec = (int32_t)st->st_mtim.tv_nsec;
	f->base_size = (uint64_t)st->st_size;
}

static int same_base(const struct file *f, const struct stat *st)
{
	return f->has_base && f->base_sec == st->st_mtim.tv_sec &&
	       f->base_nsec == st->st_mtim.tv_nsec && f->base_size == (uint64_t)st->st_size;
}

/* Does the watch vouch that the sandbox's file is still our base?  Lock
 * held. */
static int base_vouched(const struct file *f)
{
	struct stat st;

	return f->has_base && inode_attr_vouched(f->in) && inode_attr_copy(f->in, &st) &&
	       S_ISREG(st.st_mode) && same_base(f, &st);
}

static void sidecar_path(const struct file *f, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.dirty", f->cpath ? f->cpath : "");
}

/* Something more to upload for @f (a batch in flight must not count it
 * as done); its lock held. */
static void bump_wseq(struct file *f)
{
	pthread_mutex_lock(&up_lock);
	f->wseq = ++up_seq;
	pthread_mutex_unlock(&up_lock);
}

/* Mark dirty, recording the remote path beside the data; lock held. */
static void mark_dirty(struct file *f)
{
	char sc[4200];
	char *path;
	int fd;

	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->want_mtime = 0;
	pthread_mutex_lock(&pub_lock);
	f->shown = 0;
	pthread_mutex_unlock(&pub_lock);
	bump_wseq(f);
	if (f->dirty)
		return;
	f->dirty = 1;
	path = inode_path(f->in);
	if (!path || !f->cpath) {
		free(path);
		return;
	}
	sidecar_path(f, sc, sizeof(sc));
	fd = open(sc, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, path, strlen(path)) < 0)
			unlink(sc);
		close(fd);
	}
	free(path);
}

/*
 * rename(2) of a file created here and not uploaded yet: there is nothing
 * to move in the sandbox, its upload simply goes to the new name (git's
 * config.lock -> config, an editor's save by rename).  Over an existing
 * file (@replaces) it is uploaded with the temporary and Move, so the
 * replacement stays atomic there.  The inode table's record is renamed
 * under the file's lock, so no upload can start in between under the old
 * name.  0, or -EAGAIN when @in is not such a file (the caller then moves
 * it in the sandbox).
 */
int cache_rename_new(struct inode *in, const char *from, const char *to, int replaces)
{
	struct file *f = peek_file(in);

	if (!f)
		return -EAGAIN;
	pthread_mutex_lock(&f->lock);
	if (!f->dirty || f->orphan || f->dirfix || !f->cpath || !is_local_new(f)) {
		unlock_file(f);
		return -EAGAIN;
	}
	inode_renamed(from, to);
	if (replaces)
		set_local_new(f, 0);
	unlock_file(f);
	cache_renamed(in);
	return 0;
}

/* A dirty file was renamed: its sidecar must name the new path, or a
 * later mount would upload the leftover to the old one. */
void cache_renamed(struct inode *in)
{
	struct file *f = peek_file(in);
	char sc[4200];
	char *path;
	int fd;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	path = f->dirty ? inode_path(in) : NULL;
	if (path && f->cpath) {
		sidecar_path(f, sc, sizeof(sc));
		fd = open(sc, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, path, strlen(path)) < 0)
				unlink(sc);
			close(fd);
		}
	}
	free(path);
	unlock_file(f);
}

static void clear_dirty(struct file *f)
{
	char sc[4200];

	/* Nothing left to upload: barriers stop waiting for this file. */
	pthread_mutex_lock(&up_lock);
	f->useq = f->wseq;
	f->failed = 0;
	pthread_cond_broadcast(&up_done);
	pthread_mutex_unlock(&up_lock);
	if (!f->dirty)
		return;
	f->dirty = 0;
	if (f->cpath) {
		sidecar_path(f, sc, sizeof(sc));
		unlink(sc);
	}
}

/*
 * An open of @in, whose attributes the sandbox gave as @remote: the local
 * copy is kept, uploaded first or reset, and truncated for O_TRUNC, all
 * under the file's lock; *keep_cache says whether the kernel's pages stay.
 * Long: one locked sequence whose conditions decide together whether the
 * base (and the kernel's cache) is still good; split, each step would need
 * the others' flags (fresh, keep_cache) and the lock held across them.
 */
int cache_open(struct fs *fs, struct inode *in, int flags, const struct stat *remote,
	       int *keep_cache)
{
	struct file *f = get_file(in);
	int rc = 0, fresh = 0;

	if (!f)
		return -ENOMEM;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		cache_plink_settle(fs, in);
	pthread_mutex_lock(&f->lock);
	*keep_cache = 1;
	if (!f->opens)
		f->orphan = 0;
	/* A new writing session on a file whose last one is still queued:
	 * upload that first, so it is the base a later conflict is detected
	 * against (last close wins, the other version is kept). */
	if (f->dirty && !f->opens && (flags & O_ACCMODE) != O_RDONLY && !(flags & O_TRUNC) &&
	    now_mono() >= f->next_retry && upload_locked(fs, f) == 0)
		fresh = 1;	/* the upload set the base; @remote is older */
	/* @remote is NULL when the caller saw the file dirty (its attributes
	 * were ours): an upload that finished since then set the base. */
	if (!remote)
		fresh = 1;
	if (!f->dirty && !f->orphan && !fresh) {
		if (!same_base(f, remote) || !f->cpath) {
			reset_locked(f, (uint64_t)remote->st_size);
			*keep_cache = 0;
		} else if (f->ahead && f->complete) {
			/* Fetched ahead (ahead.c), maybe over an older version
			 * the kernel still caches. */
			*keep_cache = 0;
			pthread_mutex_lock(&fs->lock);
			fs->st.ahead_hits++;
			pthread_mutex_unlock(&fs->lock);
		}
		set_base(f, remote);
		f->mode = remote->st_mode & 07777;
	}
	f->ahead = 0;
	rc = grow_map(f, f->size);
	if (rc == 0)
		rc = ensure_fd(fs, f);
	if (rc == 0 && (flags & O_TRUNC) && (f->size || f->dirty)) {
		stream_stop(f);
		if (ftruncate(f->fd, 0) < 0) {
			rc = -errno;
		} else {
			f->size = 0;
			f->complete = 1;
			mark_dirty(f);
			*keep_cache = 0;
		}
	}
	if (rc == 0) {
		f->opens++;
		f->last_use = now_mono();
	}
	unlock_file(f);
	return rc;
}

int cache_create(struct fs *fs, struct inode *in, const struct stat *remote)
{
	struct file *f = get_file(in);
	int rc;

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	clear_dirty(f);
	f->orphan = 0;
	f->want_atime = 0;
	f->want_mtime = 0;
	reset_locked(f, 0);
	/* Created here: no remote version to detect conflicts against yet,
	 * and nothing in the sandbox until the first upload, which goes
	 * straight to the path (there is nothing to protect). */
	f->has_base = 0;
	f->mode = remote->st_mode & 07777;
	rc = ensure_fd(fs, f);
	if (rc == 0) {
		f->complete = 1;
		f->opens++;
		f->last_use = now_mono();
		set_local_new(f, 1);
		mark_dirty(f);
	}
	unlock_file(f);
	return rc;
}

/* Blocks wholly inside [off, off+got) are present (the last one may end
 * at end of file); lock held. */
static void mark_present(struct file *f, uint64_t off, uint64_t got)
{
	uint64_t end = off + got;
	size_t b;

	for (b = (size_t)(off / CACHE_BLOCK);
	     (uint64_t)b * CACHE_BLOCK < end && b < f->nblocks; b++) {
		uint64_t bstart = (uint64_t)b * CACHE_BLOCK, bend = bstart + CACHE_BLOCK;

		if (bstart >= off && (bend <= end || end >= f->size))
			f->present[b] = 1;
	}
}

/*
 * Streaming a sequential reader's file: cat or cp of a large file would
 * otherwise wait one round trip (and a TCP slow start on an idle
 * connection) per readahead window.  One GET runs on its own thread; its
 * bytes go to a ring in memory from which the reader is answered, never
 * through the cache file (writing a file to the local disk cost more CPU
 * than the transfer itself, and the kernel's page cache of the mount keeps
 * what was read).  The GET waits while the ring is full of bytes the reader
 * has not reached yet, so a slow reader slows the transfer instead of
 * growing memory.  Whoever changes the content first stops it
 * (stream_stop: cancel, wait, drop the ring); the last close cancels it.
 */
#define STREAM_MIN (8u << 20)	/* smallest file worth a stream */
#define STREAM_AFTER 4u		/* readahead window (blocks) that starts one */
#define STREAM_FIRST (256u << 10) /* a first read at 0 this large starts one
				   * (cat, cp; not head or an mmap's window) */
#define STREAM_RING (8u << 20)	/* bytes of the file a ring holds */
#define STREAM_BEHIND (2u << 20) /* kept behind the latest read (readahead
				  * requests arrive out of order) */
#define STREAM_RINGS 4u		/* rings at most, over all files */

static unsigned rings;		/* protected by rings_lock */
static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;

struct stream {
	struct fs *fs;
	struct file *f;
	char *path;
	uint64_t off, len, pos;
};

/* Free the ring of a file whose stream has ended; lock held. */
static void ring_free(struct file *f)
{
	if (f->st_active || !f->st_ring)
		return;
	free(f->st_ring);
	f->st_ring = NULL;
	f->st_lo = f->st_hi = 0;
	pthread_mutex_lock(&rings_lock);
	rings--;
	pthread_mutex_unlock(&rings_lock);
}

/* The GET's bytes, in order: into the ring once there is room. */
static int stream_data(const char *data, size_t len, void *arg)
{
	struct stream *s = arg;
	struct file *f = s->f;
	int stop = 0;

	pthread_mutex_lock(&f->lock);
	while (len && !(stop = f->st_cancel)) {
		/* The ring may drop what lies STREAM_BEHIND before the latest
		 * read (and what it already dropped). */
		uint64_t keep = f->st_want > STREAM_BEHIND ? f->st_want - STREAM_BEHIND : 0;
		uint64_t room, n, at, first;

		if (keep < f->st_lo)
			keep = f->st_lo;
		room = keep + STREAM_RING - f->st_hi;
		if (!room) {
			f->st_full = 1;
			pthread_cond_wait(&f->st_room, &f->lock);
			f->st_full = 0;
			continue;
		}
		n = len < room ? len : room;
		at = f->st_hi % STREAM_RING;
		first = n < STREAM_RING - at ? n : STREAM_RING - at;
		memcpy(f->st_ring + at, data, first);
		memcpy(f->st_ring, data + first, n - first);
		f->st_hi += n;
		if (f->st_hi - f->st_lo > STREAM_RING)
			f->st_lo = f->st_hi - STREAM_RING;
		s->pos += n;
		data += n;
		len -= n;
		/* Wake the readers once the nearest of them can go on (not
		 * for every piece curl hands over). */
		if (f->st_waiting && f->st_hi >= f->st_need) {
			f->st_need = UINT64_MAX;
			pthread_cond_broadcast(&f->st_cond);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return stop;
}

static void *stream_main(void *arg)
{
	struct stream *s = arg;
	struct file *f = s->f;
	uint64_t got = 0;
	int rc;

	rc = remote_read_cb(s->fs, s->path, s->off, s->len, &got, stream_data, s);
	pthread_mutex_lock(&f->lock);
	f->st_active = 0;
	if (f->st_cancel || !f->opens) {
		f->st_cancel = 0;
		ring_free(f);
	}
	pthread_cond_broadcast(&f->st_cond);
	pthread_mutex_unlock(&f->lock);
	if (rc < 0 && s->fs->debug)
		fs_log(s->fs, "stream of '%s' ended early (%d); reads fetch the rest", s->path, rc);
	free(s->path);
	free(s);
	return NULL;
}

/* Stream blocks [b0, end of their missing run) of @f; lock held.  If it
 * cannot start, the reader fetches. */
static void stream_start(struct fs *fs, struct file *f, size_t b0)
{
	size_t n = (size_t)((f->size + CACHE_BLOCK - 1) / CACHE_BLOCK), b1;
	struct stream *s;
	pthread_attr_t at;
	pthread_t t;
	int ok;

	for (b1 = b0; b1 < n && !f->present[b1]; b1++)
		;
	if (b1 == b0 || f->st_active)
		return;
	if (!f->st_ring) {
		pthread_mutex_lock(&rings_lock);
		ok = rings < STREAM_RINGS;
		rings += ok;
		pthread_mutex_unlock(&rings_lock);
		if (!ok)
			return;
		f->st_ring = malloc(STREAM_RING);
		if (!f->st_ring) {
			pthread_mutex_lock(&rings_lock);
			rings--;
			pthread_mutex_unlock(&rings_lock);
			return;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = inode_path(f->in))) {
		free(s);
		ring_free(f);
		return;
	}
	s->fs = fs;
	s->f = f;
	s->off = (uint64_t)b0 * CACHE_BLOCK;
	s->len = ((uint64_t)b1 * CACHE_BLOCK < f->size ? (uint64_t)b1 * CACHE_BLOCK : f->size) -
		 s->off;
	f->st_cancel = 0;
	f->st_b0 = b0;
	f->st_b1 = b1;
	f->st_lo = f->st_hi = f->st_want = s->off;
	f->st_need = UINT64_MAX;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &at, stream_main, s) == 0;
	pthread_attr_destroy(&at);
	if (ok) {
		f->st_active = 1;
		return;
	}
	free(s->path);
	free(s);
	ring_free(f);
}

/*
 * Answer a read of [off, end) from the stream's ring, waiting for the GET
 * to bring it if it will; lock held.  1: answered (*src set), 0: not the
 * ring's (the caller fetches as usual).
 */
static int stream_read(struct file *f, uint64_t off, uint64_t end, struct read_src *src)
{
	uint64_t st_end = (uint64_t)f->st_b1 * CACHE_BLOCK;
	size_t at;

	if (!f->st_ring || off < f->st_lo || end > st_end || off < (uint64_t)f->st_b0 * CACHE_BLOCK)
		return 0;
	if (off > f->st_want) {
		f->st_want = off;
		if (f->st_full)
			pthread_cond_signal(&f->st_room);	/* room for the GET */
	}
	while (f->st_hi < end && f->st_active && !f->st_cancel) {
		f->st_waiting++;
		if (end < f->st_need)
			f->st_need = end;
		pthread_cond_wait(&f->st_cond, &f->lock);
		f->st_waiting--;
	}
	if (!f->st_ring || off < f->st_lo || end > f->st_hi)
		return 0;
	at = (size_t)(off % STREAM_RING);
	src->fd = -1;
	src->mem[0] = f->st_ring + at;
	src->len[0] = end - off < STREAM_RING - at ? (size_t)(end - off) : STREAM_RING - at;
	src->mem[1] = f->st_ring;
	src->len[1] = (size_t)(end - off) - src->len[0];
	return 1;
}

/* Wait for the stream's end; lock held. */
static void stream_wait(struct file *f)
{
	while (f->st_active)
		pthread_cond_wait(&f->st_cond, &f->lock);
}

/* Stop the stream and drop its ring before the content changes; lock
 * held. */
static void stream_stop(struct file *f)
{
	if (f->st_active) {
		f->st_cancel = 1;
		pthread_cond_broadcast(&f->st_cond);
		pthread_cond_signal(&f->st_room);
		stream_wait(f);
	}
	ring_free(f);
}

/* One part of a parallel fetch. */
struct part {
	struct fs *fs;
	const char *path;
	int fd;
	uint64_t off;
	uint64_t len;
	uint64_t got;
	int rc;
	pthread_t thread;
	int started;
};

static void *part_main(void *arg)
{
	struct part *p = arg;

	p->rc = remote_read_to_fd(p->fs, p->path, p->fd, p->off, p->len, &p->got, NULL);
	return NULL;
}

#define PART_MIN (2u * 1024 * 1024)
#define PARTS_MAX 8

/*
 * Fetch blocks [b0, b1) from the sandbox; lock held.  Large ranges are
 * split into up to PARTS_MAX ranged GETs run in parallel (they write to
 * disjoint offsets of the cache file).
 */
static int fetch(struct fs *fs, struct file *f, size_t b0, size_t b1)
{
	uint64_t off = (uint64_t)b0 * CACHE_BLOCK, len, each;
	struct part parts[PARTS_MAX];
	size_t n, i;
	char *path;
	int rc;

	if (off >= f->size)
		return 0;
	len = (uint64_t)(b1 - b0) * CACHE_BLOCK;
	if (off + len > f->size)
		len = f->size - off;
	path = inode_path(f->in);
	if (!path)
		return -ESTALE;
	rc = ensure_fd(fs, f);
	if (rc < 0) {
		free(path);
		return rc;
	}
	n = (size_t)(len / PART_MIN);
	if (n < 1)
		n = 1;
	if (n > PARTS_MAX)
		n = PARTS_MAX;
	each = (len / n + CACHE_BLOCK - 1) / CACHE_BLOCK * CACHE_BLOCK;
	memset(parts, 0, sizeof(parts));
	for (i = 0; i < n; i++) {
		parts[i].fs = fs;
		parts[i].path = path;
		parts[i].fd = f->fd;
		parts[i].off = off + i * each;
		parts[i].len = i + 1 < n ? each : len - i * each;
		if (parts[i].off >= off + len) {
			n = i;
			break;
		}
	}
	/* Part 0 runs on this thread. */
	for (i = 1; i < n; i++)
		parts[i].started = pthread_create(&parts[i].thread, NULL,
						  part_main, &parts[i]) == 0;
	part_main(&parts[0]);
	for (i = 1; i < n; i++) {
		if (parts[i].started)
			pthread_join(parts[i].thread, NULL);
		else
			part_main(&parts[i]);
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		mark_present(f, parts[i].off, parts[i].got);
		if (parts[i].rc < 0 && rc == 0)
			rc = parts[i].rc;
		else if (!parts[i].rc && parts[i].got < parts[i].len && rc == 0)
			rc = -EIO;
	}
	if (rc == -EIO)
		fs_log(fs, "short or failed read of '%s' (changed in the sandbox while open?)",
		       path);
	free(path);
	return rc;
}

/* Make the whole content local; lock held. */
static int ensure_complete(struct fs *fs, struct file *f)
{
	size_t b = 0, e, n;
	int rc;

	stream_wait(f);
	if (f->complete)
		return 0;
	rc = grow_map(f, f->size);
	if (rc < 0)
		return rc;
	n = (size_t)((f->size + CACHE_BLOCK - 1) / CACHE_BLOCK);
	while (b < n) {
		if (f->present[b]) {
			b++;
			continue;
		}
		for (e = b; e < n && !f->present[e]; e++)
			;
		rc = fetch(fs, f, b, e);
		if (rc < 0)
			return rc;
		b = e;
	}
	f->complete = 1;
	return 0;
}

/*
 * Fetch the whole content of @in, as @remote (its latest known attributes)
 * describes it, before a reader asks (ahead.c).  Only a closed, clean file
 * that exists in the sandbox is touched, and only when its lock is free:
 * a reader or an upload that has it goes first.  The lock is held over the
 * GET, so an open of this file waits for this fetch instead of asking too.
 * Long: 37 lines; the complexity is the conditions that say when the file
 * is left alone, each one test in a row, clearer read together.
 */
int cache_ahead(struct fs *fs, struct inode *in, const struct stat *remote)
{
	struct file *f = get_file(in);
	int rc = 0;

	if (!f)
		return -ENOMEM;
	if (pthread_mutex_trylock(&f->lock))
		return 0;
	/* Read whole by a reader already: complete, though not marked so. */
	if (!f->complete && same_base(f, remote) && f->cpath && f->present &&
	    f->nblocks * (uint64_t)CACHE_BLOCK >= f->size &&
	    !memchr(f->present, 0, (size_t)((f->size + CACHE_BLOCK - 1) / CACHE_BLOCK)))
		f->complete = 1;
	if (f->dirty || f->orphan || f->opens || is_local_new(f) ||
	    (same_base(f, remote) && f->cpath && f->complete))
		goto out;
	if (!same_base(f, remote) || !f->cpath)
		reset_locked(f, (uint64_t)remote->st_size);
	set_base(f, remote);
	f->mode = remote->st_mode & 07777;
	f->last_use = now_mono();
	rc = ensure_fd(fs, f);
	if (rc == 0)
		rc = ensure_complete(fs, f);
	if (rc == 0) {
		f->ahead = 1;
		rc = 1;
	}
	/* Not open: no descriptor kept (thousands of files are fetched). */
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
out:
	unlock_file(f);
	return rc;
}

/* The kernel's readahead sends a sequential reader's requests a few at a
 * time, each on its own thread, so they may come out of order: one that
 * starts within two requests of where the reads got to is sequential. */
static int seq_near(const struct file *f, uint64_t off)
{
	uint64_t slack = 2 * (f->seq_len > CACHE_BLOCK ? f->seq_len : CACHE_BLOCK);

	return off + slack >= f->seq_next && off <= f->seq_next + slack;
}

/* Where the reads got to; lock held. */
static void seq_note(struct file *f, uint64_t off, uint64_t end)
{
	if (!seq_near(f, off) || end > f->seq_next)
		f->seq_next = end;
	f->seq_len = end - off;
}

/*
 * A read: the blocks [off, off+size) are made local, then copied into
 * @buf, or, with @emit, handed over as the cache file's descriptor and
 * range (the FUSE reply splices them from the page cache, no copy through
 * us) or as the stream ring's bytes, while the file's lock is held, so
 * they cannot change under it.
 * Long: the read hot path, one critical section under the file's lock
 * with two exits (answer: from the stream or the cache file; out: unlock)
 * that the readahead window, the stream and the fetches all jump to;
 * split, the lock, the range and the answer's source would be spread over
 * helpers that each can end the read.
 */
static int read_common(struct fs *fs, struct inode *in, char *buf, size_t size, off_t off,
		       size_t *out_len, cache_emit_fn *emit, void *arg)
{
	struct file *f = peek_file(in);
	struct read_src src = { .fd = -1 };
	uint64_t end;
	size_t b0, b1, b, n, miss;
	ssize_t r;
	int rc = 0;

	*out_len = 0;
	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	f->last_use = now_mono();
	if ((uint64_t)off >= f->size)
		goto out;
	end = (uint64_t)off + size;
	if (end > f->size)
		end = f->size;
	if (!f->complete) {
		rc = grow_map(f, f->size);
		if (rc < 0)
			goto out;
		n = (size_t)((f->size + CACHE_BLOCK - 1) / CACHE_BLOCK);
		b0 = (size_t)((uint64_t)off / CACHE_BLOCK);
		b1 = (size_t)((end + CACHE_BLOCK - 1) / CACHE_BLOCK);
		for (miss = b0; miss < b1 && f->present[miss]; miss++)
			;
		if (miss < b1) {
			/* Sequential access grows the readahead window; a
			 * long sequential read of a large file streams. */
			if (seq_near(f, (uint64_t)off))
				f->ra = f->ra < RA_MAX_BLOCKS ? f->ra * 2 : RA_MAX_BLOCKS;
			else
				f->ra = 1;
			if (stream_read(f, (uint64_t)off, end, &src))
				goto answer;
			if (!f->st_active && f->size >= STREAM_MIN &&
			    (f->ra >= STREAM_AFTER || (!off && size >= STREAM_FIRST))) {
				stream_start(fs, f, miss);
				if (stream_read(f, (uint64_t)off, end, &src))
					goto answer;
			}
		}
		if (miss < b1) {
			b = b1 + f->ra;
			if (b > n)
				b = n;
			/* Stop at the first block we already have (or that
			 * the stream will bring). */
			if (f->st_active && !f->st_cancel && f->st_b0 >= b1 && b > f->st_b0)
				b = f->st_b0;
			for (b1 = miss; b1 < b && !f->present[b1]; b1++)
				;
			rc = fetch(fs, f, miss, b1);
			if (rc < 0)
				goto out;
		} else {
			pthread_mutex_lock(&fs->lock);
			fs->st.cache_hits += end - (uint64_t)off;
			pthread_mutex_unlock(&fs->lock);
		}
		/* The request may span blocks after a present run. */
		for (b = (size_t)((uint64_t)off / CACHE_BLOCK);
		     b * (uint64_t)CACHE_BLOCK < end; b++) {
			if (!f->present[b]) {
				size_t e2 = b;

				while (e2 < n && !f->present[e2] &&
				       e2 * (uint64_t)CACHE_BLOCK < end)
					e2++;
				rc = fetch(fs, f, b, e2);
				if (rc < 0)
					goto out;
			}
		}
	} else {
		pthread_mutex_lock(&fs->lock);
		fs->st.cache_hits += end - (uint64_t)off;
		pthread_mutex_unlock(&fs->lock);
	}
	rc = ensure_fd(fs, f);
	if (rc < 0)
		goto out;
	if (emit) {
		struct stat cst;

		/* Only what the cache file holds (a hole past its end is
		 * zeros there, which a splice would cut short): else copy. */
		if (fstat(f->fd, &cst) < 0 || (uint64_t)cst.st_size < end) {
			rc = -EAGAIN;	/* the caller copies */
			goto out;
		}
		src.fd = f->fd;
		src.off = off;
		src.len[0] = (size_t)(end - (uint64_t)off);
		goto answer;
	}
	seq_note(f, (uint64_t)off, end);
	r = pread(f->fd, buf, (size_t)(end - (uint64_t)off), off);
	if (r < 0) {
		rc = -errno;
		goto out;
	}
	/* A hole past the cache file's end reads as zeros. */
	if ((uint64_t)r < end - (uint64_t)off)
		memset(buf + r, 0, (size_t)(end - (uint64_t)off) - (size_t)r);
	*out_len = (size_t)(end - (uint64_t)off);
	goto out;
answer:
	seq_note(f, (uint64_t)off, end);
	*out_len = (size_t)(end - (uint64_t)off);
	if (emit) {
		/* Answered, even when that failed (the request is gone
		 * then: nothing more may be sent for it). */
		emit(arg, &src);
		rc = 1;
	} else {
		memcpy(buf, src.mem[0], src.len[0]);
		memcpy(buf + src.len[0], src.mem[1], src.len[1]);
	}
out:
	unlock_file(f);
	return rc;
}

int cache_read(struct fs *fs, struct inode *in, char *buf, size_t size, off_t off,
	       size_t *out_len)
{
	return read_common(fs, in, buf, size, off, out_len, NULL, NULL);
}

int cache_read_emit(struct fs *fs, struct inode *in, size_t size, off_t off,
		    cache_emit_fn *emit, void *arg)
{
	size_t n = 0;

	return read_common(fs, in, NULL, size, off, &n, emit, arg);
}

int cache_write(struct fs *fs, struct inode *in, const char *buf, size_t size, off_t off)
{
	struct file *f = peek_file(in);
	ssize_t w;
	size_t done = 0;
	int rc;

	if (!f)
		return -EBADF;
	/* A name of a pending link: the link first (the other name sees
	 * this write too). */
	cache_plink_settle(fs, in);
	pthread_mutex_lock(&f->lock);
	rc = ensure_complete(fs, f);
	if (rc == 0)
		rc = ensure_fd(fs, f);
	while (rc == 0 && done < size) {
		w = pwrite(f->fd, buf + done, size - done, off + (off_t)done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (done) {
		if ((uint64_t)off + done > f->size)
			f->size = (uint64_t)off + done;
		mark_dirty(f);
	}
	f->last_use = now_mono();
	unlock_file(f);
	return rc < 0 && !done ? rc : (int)done;
}

int cache_truncate(struct fs *fs, struct inode *in, off_t size)
{
	struct file *f = peek_file(in);
	int rc = 0;

	if (!f)
		return -EBADF;
	cache_plink_settle(fs, in);
	pthread_mutex_lock(&f->lock);
	if (size == 0) {
		stream_stop(f);
		if (f->present)
			memset(f->present, 0, f->nblocks);
		f->complete = 1;
	} else {
		rc = ensure_complete(fs, f);
	}
	if (rc == 0)
		rc = ensure_fd(fs, f);
	if (rc == 0 && ftruncate(f->fd, size) < 0)
		rc = -errno;
	if (rc == 0) {
		f->size = (uint64_t)size;
		mark_dirty(f);
	}
	unlock_file(f);
	return rc;
}

/* We made @path in the sandbox: its parent's cached listing shows it. */
static void listing_add(char *path)
{
	char *slash = strrchr(path, '/');
	struct inode *pin;

	if (!slash || slash == path)
		return;
	*slash = 0;
	pin = inode_find_path(path);
	*slash = '/';
	if (pin) {
		inode_listing_update(pin, slash + 1, 1);
		inode_unpin(pin);
	}
}

/* An upload failed: the file stays dirty, retried with backoff; lock held. */
static void upload_failed(struct fs *fs, struct file *f, const char *path, int rc)
{
	f->retry_delay = f->retry_delay < 2 ? 2 : f->retry_delay * 2;
	if (f->retry_delay > 60)
		f->retry_delay = 60;
	f->next_retry = now_mono() + f->retry_delay;
	errno = -rc;
	fs_log(fs, "upload of '%s' failed (kept in cache, retry in %.0f s): %m", path,
	       f->retry_delay);
}

/* A file created here reached the sandbox with mtime @mtime; lock held. */
static void new_uploaded(struct fs *fs, struct file *f, const struct timespec *mtime)
{
	struct stat st;

	f->retry_delay = 0;
	clear_dirty(f);
	set_local_new(f, 0);
	/* The sandbox's copy now has exactly these size and mtime. */
	f->has_base = 1;
	f->base_sec = mtime->tv_sec;
	f->base_nsec = (int32_t)mtime->tv_nsec;
	f->base_size = f->size;
	f->want_atime = 0;
	f->want_mtime = 0;
	/* What the mount showed while dirty stays (no Stat needed). */
	if (inode_stale_attr(f->in, &st)) {
		st.st_size = (off_t)f->size;
		st.st_blocks = (blkcnt_t)((f->size + 511) / 512);
		st.st_mtim = *mtime;
		st.st_ctim = *mtime;
		st.st_mode = (st.st_mode & S_IFMT) | (f->mode & 07777);
		inode_set_attr(fs, f->in, &st);
		inode_echo_settled(f->in);
	}
}

/* Was the local mtime shown since the last write? */
static int mtime_shown(struct file *f)
{
	return read_locked(&pub_lock, &f->shown);
}

/* The mode and times an upload of @f applies; lock held. */
static void upload_fix_of(struct file *f, struct upload_fix *fix)
{
	fix->mode = (f->mode & 07777) != 0644 ? (int)(f->mode & 07777) : -1;
	fix->atime = f->want_atime ? &f->atime_v : NULL;
	/* The mtime the mount has shown (of the last local write, or as
	 * set): the upload must not change it under a program that compares
	 * it (vim's "file changed since reading").  A rewrite whose local
	 * mtime nobody saw takes the sandbox's (the Move's answer gives it):
	 * no process in the sandbox to run for it (vim's save, fsync'ed
	 * before anything stats the file). */
	if (f->want_mtime)
		fix->mtime = &f->mtime_v;
	else if (is_local_new(f) || mtime_shown(f))
		fix->mtime = &f->mtime;
	else
		fix->mtime = NULL;
}

/* Conflict: the remote changed since we fetched it.  Last close wins,
 * but the other version is kept beside it (renamed away here).  0, or the
 * Stat's error (not ENOENT); lock held. */
static int keep_conflict_copy(struct fs *fs, struct file *f, const char *path)
{
	e2b_entry_info *e = NULL;
	struct stat st;
	int rc;

	rc = remote_stat(fs, path, &e);
	if (rc == 0) {
		inode_attr_from_entry(fs, e, &st);
		if (!same_base(f, &st) && S_ISREG(st.st_mode)) {
			char cname[4200];
			time_t t = time(NULL);

			snprintf(cname, sizeof(cname), "%s.e2bfs-conflict-%lld", path,
				 (long long)t);
			fs_log(fs, "conflict on '%s': remote changed since open, "
			       "kept as '%s'",
			       path, cname);
			if (remote_rename(fs, path, cname) == 0)
				listing_add(cname);
		}
	} else if (rc != -ENOENT) {
		e2b_entry_info_free(e);
		return rc;
	}
	e2b_entry_info_free(e);
	return 0;
}

/* After the upload (temporary + Move) of an existing file: its record
 * from the Move's answer @e (fixing a mode or mtime the upload left to
 * the sandbox), or, with no answer, no base; lock held. */
static void settle_uploaded(struct fs *fs, struct file *f, const char *path,
			    const e2b_entry_info *e, const struct upload_fix *fix)
{
	struct stat st;

	if (e) {
		inode_attr_from_entry(fs, e, &st);
		/* Left to the upload (an upload's 0644 wanted): another umask
		 * in the sandbox gave another. */
		if (fix->mode < 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0777) != (f->mode & 0777)) {
			struct upload_fix mf = { (int)(f->mode & 07777), NULL, NULL };

			if (remote_fix(fs, path, &mf) == 0)
				st.st_mode = (st.st_mode & S_IFMT) | (f->mode & 0777);
		}
		/* Shown while the upload ran, which left it to the sandbox:
		 * the mount keeps showing it. */
		if (!fix->mtime && mtime_shown(f)) {
			struct upload_fix tf = { -1, NULL, &f->mtime };

			if (remote_fix(fs, path, &tf) == 0)
				st.st_mtim = f->mtime;
		}
		/* The upload gave the file f->mode before its Move (no
		 * request here); envd's entry shows only its 0777 bits. */
		if (S_ISREG(st.st_mode))
			st.st_mode = (st.st_mode & S_IFMT) | (f->mode & 07777);
		set_base(f, &st);
		st.st_ino = f->in->ino;
		inode_set_attr(fs, f->in, &st);
		inode_echo_settled(f->in);
	} else {
		f->has_base = 0;
		inode_invalidate(f->in);
	}
}

/* Upload a dirty file; lock held.  The error is the one fsync reports. */
/*
 * The upload of a pending link's new name @f (at @path) is the link, made
 * in the sandbox after the old name's upload; lock held.  -EAGAIN: no
 * link to make any more (the old name is gone there): upload the copy.
 */
static int plink_upload(struct fs *fs, struct file *f, struct file *src, const char *path)
{
	char *spath = inode_path(src->in);
	unsigned n = 0;
	int rc;

	if (!spath) {
		plink_dissolve(f);
		return -EAGAIN;
	}
	/* Lock order: the new name, then the old (which never waits for
	 * the new one). */
	rc = cache_flush(fs, src->in);
	if (rc == 0) {
		inode_mark_self(f->in);
		rc = remote_link(fs, spath, path, &n);
	}
	free(spath);
	if (rc == -ENOENT || rc == -EEXIST || rc == -EXDEV || rc == -EPERM || rc == -ENOTSUP) {
		plink_dissolve(f);
		return -EAGAIN;
	}
	if (rc < 0)
		return rc;
	plink_dissolve(f);
	if (fs->debug)
		fs_log(fs, "upload %s: linked in the sandbox", path);
	inode_set_links(src->in, f->in, n >= 2 && n <= 65000 ? n : 2);
	new_uploaded(fs, f, &f->mtime);
	return 0;
}

static int upload_once(struct fs *fs, struct file *f)
{
	struct upload_fix fix;
	e2b_entry_info *e = NULL;
	struct file *src;
	char *path;
	int fd, rc, created;

	if (!f->dirty)
		return 0;
	path = inode_path(f->in);
	if (!path) {
		/* Unlinked or renamed over while open: nothing to upload. */
		clear_dirty(f);
		return 0;
	}
	/* While the watch vouches that the sandbox still has our base (any
	 * event on the path since would have taken that word away), no
	 * Stat: the window left is one event's latency, shorter than a
	 * Stat's before the Move. */
	if (f->has_base && !base_vouched(f)) {
		rc = keep_conflict_copy(fs, f, path);
		if (rc < 0)
			goto out;
	}
	if (!f->cpath) {
		rc = -EIO;
		goto out;
	}
	if ((src = plink_source(f)) != NULL) {
		rc = plink_upload(fs, f, src, path);
		if (rc != -EAGAIN)
			goto out;
	}
	fd = open(f->cpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	inode_mark_self(f->in);
	upload_fix_of(f, &fix);
	created = is_local_new(f);
	if (fs->debug)
		fs_log(fs, "upload %s%s (size %llu)", path,
		       created ? " (new)" : "", (unsigned long long)f->size);
	if (created) {
		rc = remote_upload_new(fs, path, fd, &fix);
	} else {
		rc = remote_upload_fd(fs, path, fd, &fix, &e);
	}
	close(fd);
	if (rc < 0) {
		upload_failed(fs, f, path, rc);
		goto out;
	}
	f->retry_delay = 0;
	clear_dirty(f);
	set_local_new(f, 0);
	if (created) {
		new_uploaded(fs, f, fix.mtime);
		goto out;
	}
	f->want_atime = 0;
	f->want_mtime = 0;
	/* A new file under this name (temporary + Move): not a hard link of
	 * the other names any more. */
	inode_links_broken(f->in);
	settle_uploaded(fs, f, path, e, &fix);
out:
	e2b_entry_info_free(e);
	free(path);
	return rc;
}

/* An upload attempt of @f ended with @rc: barriers learn of it. */
static void record_attempt(struct file *f, int rc)
{
	pthread_mutex_lock(&up_lock);
	f->attempts++;
	f->failed = rc < 0;
	pthread_cond_broadcast(&up_done);
	pthread_mutex_unlock(&up_lock);
}

/* Is an upload under directory @dir (other than @self's) pending? */
static int pending_under(const char *dir, const struct file *self)
{
	struct file **arr;
	size_t n, i, dl = strlen(dir);
	int found = 0, pend;
	char *p;

	arr = snapshot(&n);
	for (i = 0; arr && i < n && !found; i++) {
		if (arr[i] == self)
			continue;
		pthread_mutex_lock(&up_lock);
		pend = arr[i]->useq < arr[i]->wseq && !arr[i]->failed;
		pthread_mutex_unlock(&up_lock);
		if (!pend)
			continue;
		p = inode_path(arr[i]->in);
		found = p && !strncmp(p, dir, dl) && p[dl] == '/';
		free(p);
	}
	free(arr);
	return found;
}

/*
 * Apply a directory's queued mode and times; lock held.  Only once no
 * upload into the directory is pending, since each one would move its
 * mtime again: until then 1 (the worker queues it again).
 */
static int dir_fix_once(struct fs *fs, struct file *f)
{
	struct upload_fix fix;
	struct timespec ts;
	char *path;
	int rc;

	path = inode_path(f->in);
	if (!path) {
		f->dirfix = 0;
		clear_dirty(f);
		return 0;
	}
	if (pending_under(path, f)) {
		free(path);
		pthread_mutex_lock(&up_lock);
		f->requeue = 1;
		/* Not a busy loop while a barrier makes everything due. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&up_done, &up_lock, &ts);
		pthread_mutex_unlock(&up_lock);
		return 1;
	}
	fix.mode = f->want_mode ? (int)(f->mode & 07777) : -1;
	fix.atime = f->want_atime ? &f->atime_v : NULL;
	fix.mtime = f->want_mtime ? &f->mtime_v : NULL;
	inode_mark_self(f->in);
	rc = remote_fix(fs, path, &fix);
	if (rc == -ENOENT)
		rc = 0;		/* removed since: nothing to fix */
	if (rc < 0) {
		upload_failed(fs, f, path, rc);
	} else {
		f->retry_delay = 0;
		f->dirfix = 0;
		f->want_mode = f->want_atime = f->want_mtime = 0;
		clear_dirty(f);
	}
	free(path);
	return rc;
}

/* upload_once(), recording the outcome for barriers; lock held. */
static int upload_locked(struct fs *fs, struct file *f)
{
	int rc;

	if (!f->dirty && !f->dirfix)
		return 0;
	rc = f->dirfix ? dir_fix_once(fs, f) : upload_once(fs, f);
	record_attempt(f, rc < 0 ? rc : 0);
	return rc < 0 ? rc : 0;
}

/*
 * Small files created here ride together: one multipart POST writes them
 * all to their paths (envd makes the parents), one fixer exchange sets
 * their modes and times.  Files being replaced never do (they keep the
 * temporary + Move of upload_once()).
 */
#define UP_BATCH_MAX 64			/* files per POST */
#define UP_BATCH_BYTES (4u << 20)	/* bytes per POST */
#define UP_SMALL (1u << 20)		/* largest file that rides along */

/* Can @f ride in a batch now?  Its lock held. */
static int batchable(struct file *f, int urgent)
{
	return f->dirty && (!f->opens || urgent) && f->cpath && f->size <= UP_SMALL &&
	       is_local_new(f) && !plink_source(f);
}

/* The whole content of @f's cache file, malloc'd; lock held. */
static void *slurp(struct file *f)
{
	char *buf = malloc(f->size ? f->size : 1);
	size_t got = 0;
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = open(f->cpath, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < f->size) {
		r = pread(fd, buf + got, f->size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	if (fd < 0 || got < f->size) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Upload @n files a worker took from the queue: the first locked (it
 * waits), the others only if free now.  Those fit for a batch go in one
 * request; every other one is uploaded alone, as before.
 */
/*
 * One batch: under the files' locks their data, fixes and write sequence
 * are taken and the POST made; the fixer exchange (a chmod/touch in the
 * sandbox, the slow part) runs with the locks released, so that readers
 * of those files (git reading back the objects it just wrote) do not wait
 * for it.  A file written, truncated or given other attributes meanwhile
 * stays dirty and goes again (no longer new: with the temporary and Move).
 * Long: four passes (take and lock, POST and unlock, fix and settle, the
 * rest alone) over the same parallel arrays; which files are locked
 * between the passes is clearer in one function than across helpers.
 */
static void upload_batch(struct fs *fs, struct file **fl, size_t n, int urgent)
{
	struct upload_item *it = calloc(n, sizeof(*it));
	struct file **bf = calloc(n, sizeof(*bf));
	struct timespec (*tv)[2] = calloc(n, sizeof(*tv));
	uint64_t *ws = calloc(n, sizeof(*ws));
	int *alone = calloc(n, sizeof(*alone));
	int ok = it && bf && tv && ws && alone;
	size_t i, k = 0, bytes = 0;

	for (i = 0; ok && i < n; i++) {
		struct file *f = fl[i];
		char *path;
		void *data;

		alone[i] = 1;
		if (i == 0)
			pthread_mutex_lock(&f->lock);
		else if (pthread_mutex_trylock(&f->lock))
			continue;
		if (k == UP_BATCH_MAX || !batchable(f, urgent) ||
		    bytes + f->size > UP_BATCH_BYTES) {
			unlock_file(f);
			continue;
		}
		path = inode_path(f->in);
		/* A name with CR or LF cannot be a multipart filename. */
		data = path && !strpbrk(path, "\r\n") ? slurp(f) : NULL;
		if (!data) {
			free(path);
			unlock_file(f);
			continue;
		}
		alone[i] = 0;
		inode_mark_self(f->in);
		upload_fix_of(f, &it[k].fix);
		/* Copies: the file may change once unlocked. */
		if (it[k].fix.atime) {
			tv[k][0] = *it[k].fix.atime;
			it[k].fix.atime = &tv[k][0];
		}
		if (it[k].fix.mtime) {
			tv[k][1] = *it[k].fix.mtime;
			it[k].fix.mtime = &tv[k][1];
		}
		pthread_mutex_lock(&up_lock);
		ws[k] = f->wseq;
		pthread_mutex_unlock(&up_lock);
		it[k].path = path;
		it[k].data = data;
		it[k].len = f->size;
		bf[k++] = f;
		bytes += f->size;
		if (fs->debug)
			fs_log(fs, "upload %s (new, batched) (size %llu)", path,
			       (unsigned long long)f->size);
	}
	if (k)
		remote_upload_new_many(fs, it, k);
	for (i = 0; i < k; i++) {
		struct file *f = bf[i];

		free((void *)it[i].data);
		if (it[i].rc < 0) {
			upload_failed(fs, f, it[i].path, it[i].rc);
			record_attempt(f, it[i].rc);
			ws[i] = UINT64_MAX;	/* not posted: done */
		} else {
			/* It exists in the sandbox now. */
			set_local_new(f, 0);
		}
		unlock_file(f);
	}
	if (k)
		remote_fix_many(fs, it, k);
	for (i = 0; i < k; i++) {
		struct file *f = bf[i];
		int same;

		if (ws[i] == UINT64_MAX)
			continue;
		pthread_mutex_lock(&f->lock);
		pthread_mutex_lock(&up_lock);
		same = f->wseq == ws[i];
		if (!same)
			f->requeue = 1;
		pthread_mutex_unlock(&up_lock);
		/* Removed or replaced meanwhile (dropped): nothing to retry. */
		if (!f->dirty)
			it[i].rc = 0;
		else if (it[i].rc < 0)
			upload_failed(fs, f, it[i].path, it[i].rc);
		else if (same)
			new_uploaded(fs, f, it[i].fix.mtime);
		record_attempt(f, it[i].rc);
		unlock_file(f);
	}
	for (i = 0; i < k; i++)
		free((void *)it[i].path);
	/* Not fit for the batch (or busy when we looked, or no memory):
	 * alone, as before, now that we hold no other file. */
	for (i = 0; i < n; i++) {
		struct file *f = fl[i];

		if (ok && !alone[i])
			continue;
		pthread_mutex_lock(&f->lock);
		if (!f->opens || urgent)
			upload_locked(fs, f);
		unlock_file(f);
	}
	free(it);
	free(bf);
	free(tv);
	free(ws);
	free(alone);
}

/* Take the queue's head into @take, and with a new file the other new
 * files that are due: they may ride in one request.  The count; up_lock
 * held. */
static size_t take_due(struct file **take)
{
	struct file *f, **pp, *prev;
	size_t n;
	double now;

	n = 0;
	now = now_mono();
	for (pp = &up_head, prev = NULL; *pp && n < UP_BATCH_MAX;) {
		f = *pp;
		if (n && !up_urgent && !up_stop && f->due > now)
			break;	/* the queue is in due order */
		if (n && !f->local_new) {
			prev = f;
			pp = &f->qnext;
			continue;
		}
		*pp = f->qnext;
		if (up_tail == f)
			up_tail = prev;
		f->qnext = NULL;
		f->queued = 0;
		f->busy = 1;
		up_queued--;
		up_busy++;
		take[n++] = f;
		if (!take[0]->local_new)
			break;
	}
	return n;
}

/* One upload worker: takes queued files until told to stop. */
static void *up_main(void *arg)
{
	struct fs *fs = arg;
	struct file *f, *take[UP_BATCH_MAX];
	unsigned urgent;
	size_t n, i;

	pthread_mutex_lock(&up_lock);
	for (;;) {
		while (!up_head && !up_stop)
			pthread_cond_wait(&up_work, &up_lock);
		if (!up_head)
			break;
		if (!up_urgent && !up_stop && up_head->due > now_mono()) {
			struct timespec ts;
			double left = up_head->due - now_mono();

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(left * 1e9);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec += ts.tv_nsec / 1000000000L;
				ts.tv_nsec %= 1000000000L;
			}
			pthread_cond_timedwait(&up_work, &up_lock, &ts);
			continue;
		}
		n = take_due(take);
		pthread_mutex_unlock(&up_lock);
		if (up_delay_ms)
			usleep(up_delay_ms * 1000u);
		/* Still open elsewhere: its next close queues it again (an
		 * intermediate state is uploaded only for a barrier). */
		pthread_mutex_lock(&up_lock);
		urgent = up_urgent;
		pthread_mutex_unlock(&up_lock);
		if (n == 1) {
			f = take[0];
			pthread_mutex_lock(&f->lock);
			if (!f->opens || urgent)
				upload_locked(fs, f);
			unlock_file(f);
		} else {
			upload_batch(fs, take, n, urgent);
		}
		pthread_mutex_lock(&up_lock);
		for (i = 0; i < n; i++) {
			f = take[i];
			f->busy = 0;
			up_busy--;
			/* Queued again while busy: only if something is left to do. */
			if (f->requeue && f->useq < f->wseq && !f->failed)
				enqueue_locked(fs, f);
			f->requeue = 0;
		}
		pthread_cond_broadcast(&up_done);
	}
	pthread_mutex_unlock(&up_lock);
	return NULL;
}

/* Queue @f for a background upload (once); up_lock held. */
static void enqueue_locked(struct fs *fs, struct file *f)
{
	if (f->busy)
		f->requeue = 1;
	if (f->queued || f->busy || up_stop)
		return;
	/* Workers start on first use: not before fuse_daemonize() forks. */
	if (up_nthreads < UP_WORKERS && up_nthreads < up_queued + up_busy + 1) {
		if (pthread_create(&up_threads[up_nthreads], NULL, up_main, fs) == 0)
			up_nthreads++;
	}
	if (!up_nthreads)
		return;
	f->queued = 1;
	f->due = now_mono() + UP_SETTLE;
	f->qnext = NULL;
	if (up_tail)
		up_tail->qnext = f;
	else
		up_head = f;
	up_tail = f;
	up_queued++;
	pthread_cond_signal(&up_work);
}

static void enqueue(struct fs *fs, struct file *f)
{
	pthread_mutex_lock(&up_lock);
	enqueue_locked(fs, f);
	pthread_mutex_unlock(&up_lock);
}

/* close(): the data is safe in the cache file (and its sidecar); the
 * upload runs in the background. */
int cache_close(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);
	int dirty;

	if (!f)
		return 0;
	pthread_mutex_lock(&pub_lock);
	dirty = f->pub.dirty;
	pthread_mutex_unlock(&pub_lock);
	if (dirty)
		enqueue(fs, f);
	return 0;
}

/* fsync(): upload now, on this thread, and report the outcome. */
int cache_flush(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);
	int rc;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	rc = upload_locked(fs, f);
	unlock_file(f);
	return rc;
}

void cache_release(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);
	int gone;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->opens > 0)
		f->opens--;
	if (!f->opens) {
		/* Nobody reads on: the rest is not worth fetching (a GET
		 * waiting for room learns it now). */
		if (f->st_active) {
			f->st_cancel = 1;
			pthread_cond_signal(&f->st_room);
		} else {
			ring_free(f);	/* the GET ended while the file was open */
		}
		if (f->dirty)
			enqueue(fs, f);
		if (f->fd >= 0) {
			close(f->fd);
			f->fd = -1;
		}
		pthread_mutex_lock(&inode_lock);
		gone = in->path == NULL;
		pthread_mutex_unlock(&inode_lock);
		if (gone && f->cpath) {
			unlink(f->cpath);
			free(f->cpath);
			f->cpath = NULL;
			f->has_base = 0;
		}
	}
	unlock_file(f);
}

int cache_local_attr(struct inode *in, struct stat *st)
{
	struct file *f = peek_file(in);
	struct pub p;

	if (!f)
		return 0;
	pthread_mutex_lock(&pub_lock);
	p = f->pub;
	if (p.dirty)
		f->shown = 1;
	pthread_mutex_unlock(&pub_lock);
	if (!p.dirty && !p.orphan && !p.dirfix)
		return 0;
	/* A directory's pending mode and times have no size with them. */
	if (!p.dirfix) {
		st->st_size = (off_t)p.size;
		st->st_blocks = (blkcnt_t)((p.size + 511) / 512);
	}
	if (!p.dirfix || p.mtime_set) {
		st->st_mtim = p.mtime;
		st->st_ctim = p.mtime;
	}
	if (p.atime_set)
		st->st_atim = p.atime;
	st->st_mode = (st->st_mode & S_IFMT) | (p.mode & 07777);
	return 1;
}

int cache_is_open(struct inode *in)
{
	struct file *f = peek_file(in);
	int o = 0;

	if (f) {
		pthread_mutex_lock(&pub_lock);
		o = f->pub.opens > 0 || f->pub.dirty;
		pthread_mutex_unlock(&pub_lock);
	}
	return o;
}

/* chmod of a file with pending data is applied with the upload. */
int cache_set_mode(struct inode *in, mode_t mode)
{
	struct file *f = peek_file(in);
	int deferred = 0;

	if (f) {
		pthread_mutex_lock(&f->lock);
		f->mode = mode & 07777;
		deferred = f->dirty;
		if (deferred)
			bump_wseq(f);
		unlock_file(f);
	}
	return deferred;
}

/* Record the times a setattr asks for, applied later; lock held. */
static void want_times(struct file *f, const struct stat *attr, int to_set,
		       const struct timespec *now)
{
	if (to_set & FUSE_SET_ATTR_ATIME) {
		f->want_atime = 1;
		f->atime_v = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? *now : attr->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME) {
		f->want_mtime = 1;
		f->mtime_v = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? *now : attr->st_mtim;
	}
}

/* utimens of a file with pending data: applied to the upload, so the
 * upload does not reset them.  Returns 1 if deferred. */
int cache_set_times(struct inode *in, const struct stat *attr, int to_set)
{
	struct file *f = peek_file(in);
	struct timespec now;
	int deferred = 0;

	if (!f)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&f->lock);
	if (f->dirty) {
		deferred = 1;
		want_times(f, attr, to_set, &now);
		bump_wseq(f);
	}
	unlock_file(f);
	return deferred;
}

/*
 * chmod/utimens of directory @in (attributes @cur): queued for the upload
 * workers instead of a round trip now (tar sets every directory's last,
 * one after the other).  Barriers wait for it like for an upload; until
 * it is applied the mount shows the new values.  Returns 0, or -ENOMEM.
 */
int cache_dir_fix(struct fs *fs, struct inode *in, const struct stat *cur,
		  const struct stat *attr, int to_set)
{
	struct file *f = get_file(in);
	struct timespec now;

	if (!f)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&f->lock);
	if (!f->dirfix) {
		f->mode = cur->st_mode & 07777;
		f->want_mode = f->want_atime = f->want_mtime = 0;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		f->mode = attr->st_mode & 07777;
		f->want_mode = 1;
	}
	want_times(f, attr, to_set, &now);
	f->dirfix = 1;
	f->next_retry = 0;
	pthread_mutex_lock(&up_lock);
	f->wseq = ++up_seq;
	pthread_mutex_unlock(&up_lock);
	unlock_file(f);
	enqueue(fs, f);
	return 0;
}

/*
 * We changed an entry of directory @in: it has a new mtime now, so times
 * still queued for it are dropped (applied later they would undo it).
 */
void cache_dir_changed(struct inode *in)
{
	struct file *f = peek_file(in);

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->dirfix) {
		f->want_atime = f->want_mtime = 0;
		if (!f->want_mode) {
			f->dirfix = 0;
			clear_dirty(f);
		}
	}
	unlock_file(f);
}

void cache_mark_dirty(struct inode *in)
{
	struct file *f = peek_file(in);

	if (f) {
		pthread_mutex_lock(&f->lock);
		mark_dirty(f);
		unlock_file(f);
	}
}

/* The remote times were set to @st's: the cached content is still good. */
void cache_touched(struct inode *in, const struct stat *st)
{
	struct file *f = peek_file(in);

	if (f) {
		pthread_mutex_lock(&f->lock);
		if (!f->dirty && f->has_base && f->base_size == (uint64_t)st->st_size)
			set_base(f, st);
		unlock_file(f);
	}
}

/* Created here, not in the sandbox yet (its upload is pending). */
int cache_is_local_new(struct inode *in)
{
	struct file *f = peek_file(in);

	return f ? is_local_new(f) : 0;
}

/* What readers see of @in's file (all zero without one). */
static struct pub pub_of(struct inode *in)
{
	struct file *f = peek_file(in);
	struct pub p;

	memset(&p, 0, sizeof(p));
	if (f) {
		pthread_mutex_lock(&pub_lock);
		p = f->pub;
		pthread_mutex_unlock(&pub_lock);
	}
	return p;
}

/* Local changes not yet in the sandbox: data, or a directory's mode/times. */
int cache_has_pending(struct inode *in)
{
	struct pub p = pub_of(in);

	return p.dirty || p.dirfix;
}

int cache_has_content(struct inode *in)
{
	return pub_of(in).complete;
}

int cache_is_dirty(struct inode *in)
{
	return pub_of(in).dirty;
}

/* Forget pending data; lock held. */
static void drop_locked(struct file *f)
{
	/* Still open here: the local copy is the file until the last close
	 * (cache_unlinking made it complete). */
	if (f->opens)
		f->orphan = 1;
	stream_stop(f);
	clear_dirty(f);
	set_local_new(f, 0);
	plink_dissolve(f);	/* the other name goes on alone */
	f->has_base = 0;
	if (!f->opens && f->cpath) {
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		unlink(f->cpath);
		free(f->cpath);
		f->cpath = NULL;
	}
}

/*
 * About to remove or replace @in's remote object: if it is open here, fetch
 * whatever the cache lacks, so that reads on the open descriptors keep
 * working on the local copy once the sandbox's is gone (POSIX keeps an
 * unlinked open file until its last close).
 */
int cache_unlinking(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);
	int rc = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (f->opens && !f->orphan)
		rc = ensure_complete(fs, f);
	unlock_file(f);
	return rc;
}

/* The remote object is gone (unlink, overwritten): never upload it. */
void cache_drop(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	drop_locked(f);
	unlock_file(f);
}

/*
 * unlink of a file created here whose upload has not happened: there is
 * nothing in the sandbox to remove.  Returns 1 if so (the upload is
 * cancelled), 0 if the caller must remove it remotely.
 */
int cache_cancel_new(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in);
	int was;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	was = is_local_new(f);
	if (was)
		drop_locked(f);
	unlock_file(f);
	return was;
}

/* @d (brand new, its lock held) becomes a copy of @s (lock held) that
 * waits to be linked to it. */
static int plink_copy(struct fs *fs, struct file *s, struct file *d)
{
	char buf[65536];
	uint64_t off = 0;
	ssize_t r;
	int sfd, rc;

	clear_dirty(d);
	d->orphan = 0;
	reset_locked(d, 0);
	d->has_base = 0;
	rc = ensure_fd(fs, d);
	if (rc < 0)
		return rc;
	sfd = open(s->cpath, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	while (rc == 0 && off < s->size) {
		r = pread(sfd, buf, sizeof(buf), (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || pwrite(d->fd, buf, (size_t)r, (off_t)off) != r)
			rc = -EIO;
		else
			off += (uint64_t)r;
	}
	close(sfd);
	/* (a cache file this record had before may be longer) */
	if (rc == 0 && ftruncate(d->fd, (off_t)s->size) < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	d->size = s->size;
	d->complete = 1;
	d->mode = s->mode;
	d->last_use = now_mono();
	set_local_new(d, 1);
	mark_dirty(d);
	/* The same file under a second name: its times too. */
	d->mtime = s->mtime;
	d->want_mtime = s->want_mtime;
	d->mtime_v = s->mtime_v;
	d->want_atime = s->want_atime;
	d->atime_v = s->atime_v;
	return 0;
}

int cache_link_new(struct fs *fs, struct inode *src, struct inode *dst)
{
	struct file *s = peek_file(src), *d = get_file(dst);
	int rc = -EAGAIN, ok;

	if (!s || !d || s == d)
		return -EAGAIN;
	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&plink_lock);
	ok = !s->plink && !d->plink;
	pthread_mutex_unlock(&plink_lock);
	if (ok && is_local_new(s) && s->dirty && s->complete && s->cpath && !s->dirfix &&
	    s->size <= UP_SMALL && !is_local_new(d)) {
		pthread_mutex_lock(&d->lock);
		rc = plink_copy(fs, s, d);
		if (rc == 0) {
			pthread_mutex_lock(&plink_lock);
			s->plink = d;
			d->plink = s;
			d->plink_new = 1;
			atomic_fetch_add(&plinks, 1);
			pthread_mutex_unlock(&plink_lock);
		} else {
			drop_locked(d);
			rc = -EAGAIN;
		}
		unlock_file(d);
	}
	unlock_file(s);
	if (rc == 0)
		enqueue(fs, d);
	return rc;
}

void cache_plink_settle(struct fs *fs, struct inode *in)
{
	struct file *f = peek_file(in), *d = NULL;

	if (!f || !atomic_load(&plinks))
		return;
	pthread_mutex_lock(&plink_lock);
	if (f->plink)
		d = f->plink_new ? f : f->plink;
	pthread_mutex_unlock(&plink_lock);
	if (d)
		cache_flush(fs, d->in);
}

/* Snapshot of the file list (files are never freed). */
static struct file **snapshot(size_t *n)
{
	struct file *f, **arr = NULL, **tmp;
	size_t cnt = 0, cap = 0;

	pthread_mutex_lock(&files_lock);
	for (f = files; f; f = f->next) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp)
				break;
			arr = tmp;
		}
		arr[cnt++] = f;
	}
	pthread_mutex_unlock(&files_lock);
	*n = cnt;
	return arr;
}

/*
 * The barrier: every change made before the call has reached the sandbox,
 * or its upload failed (then the first error; the file stays dirty and is
 * retried).  Uploads run on the workers, in parallel.
 */
static int barrier(struct fs *fs, struct file **arr, size_t n)
{
	uint64_t *want, *tried;
	size_t i;
	int rc = 0;

	want = calloc(n + 1, sizeof(*want));
	tried = calloc(n + 1, sizeof(*tried));
	if (!want || !tried) {
		free(want);
		free(tried);
		return -ENOMEM;
	}
	pthread_mutex_lock(&up_lock);
	up_urgent++;
	pthread_cond_broadcast(&up_work);
	for (i = 0; i < n; i++) {
		struct file *f = arr[i];

		want[i] = f->wseq;
		tried[i] = f->attempts;
		if (f->useq < f->wseq)
			enqueue_locked(fs, f);
	}
	for (i = 0; i < n; i++) {
		struct file *f = arr[i];

		while (f->useq < want[i] && !(f->attempts > tried[i] && f->failed)) {
			if (!f->queued && !f->busy && (up_stop || !up_nthreads)) {
				/* No workers (unmounting): upload here. */
				pthread_mutex_unlock(&up_lock);
				pthread_mutex_lock(&f->lock);
				upload_locked(fs, f);
				unlock_file(f);
				pthread_mutex_lock(&up_lock);
				if (f->useq < want[i] && f->attempts == tried[i])
					break;
				continue;
			}
			if (!f->queued && !f->busy)
				enqueue_locked(fs, f);
			pthread_cond_wait(&up_done, &up_lock);
		}
		if (f->useq < want[i] && rc == 0)
			rc = -EIO;
	}
	up_urgent--;
	pthread_mutex_unlock(&up_lock);
	free(want);
	free(tried);
	return rc;
}

int cache_sync_all(struct fs *fs)
{
	struct file **arr;
	size_t n;
	int rc;

	remote_mkdir_flush(fs);
	arr = snapshot(&n);
	rc = arr || !n ? barrier(fs, arr, n) : -ENOMEM;
	free(arr);
	return rc;
}

/*
 * Before envd is asked about @path (Stat; with @subtree, a listing of it):
 * files created here under that name (in that directory or below) and not
 * yet uploaded are uploaded first, so envd's answer includes them.  Costs
 * nothing while no such file exists.
 */
void cache_wait_new(struct fs *fs, const char *path, int subtree)
{
	struct file **arr;
	size_t n, m = 0, i, pl = strlen(path);
	char *p;

	pthread_mutex_lock(&up_lock);
	n = up_new;
	pthread_mutex_unlock(&up_lock);
	if (!n)
		return;
	arr = snapshot(&n);
	for (i = 0; arr && i < n; i++) {
		if (!is_local_new(arr[i]))
			continue;
		p = inode_path(arr[i]->in);
		if (p && (subtree ? (pl == 1 && path[0] == '/') ||
				    (!strncmp(p, path, pl) && p[pl] == '/') : !strcmp(p, path)))
			arr[m++] = arr[i];
		free(p);
	}
	if (m)
		barrier(fs, arr, m);
	free(arr);
}

/* Stop the upload workers (after the last barrier of the unmount). */
void cache_shutdown(struct fs *fs)
{
	unsigned i, n;

	(void)fs;
	pthread_mutex_lock(&up_lock);
	up_stop = 1;
	pthread_cond_broadcast(&up_work);
	n = up_nthreads;
	pthread_mutex_unlock(&up_lock);
	for (i = 0; i < n; i++)
		pthread_join(up_threads[i], NULL);
	pthread_mutex_lock(&up_lock);
	up_nthreads = 0;
	pthread_mutex_unlock(&up_lock);
}

/* Background uploads waiting or running, and files whose last upload
 * failed (for .e2bfs/status). */
void cache_upload_counts(unsigned *out_pending, unsigned *out_failed)
{
	struct file **arr;
	size_t n, i;

	arr = snapshot(&n);
	pthread_mutex_lock(&up_lock);
	*out_pending = up_queued + up_busy;
	*out_failed = 0;
	for (i = 0; i < n; i++)
		if (arr[i]->failed && arr[i]->useq < arr[i]->wseq)
			(*out_failed)++;
	pthread_mutex_unlock(&up_lock);
	free(arr);
}

/* Upload what an earlier mount left dirty. */
void cache_recover(struct fs *fs)
{
	char buf[4097], sc[4200];
	size_t i, keep = 0;
	ssize_t r;
	int fd, dfd, rc;

	pthread_mutex_lock(&files_lock);
	for (i = 0; i < nleftovers; i++) {
		snprintf(sc, sizeof(sc), "%s.dirty", leftovers[i]);
		fd = open(sc, O_RDONLY | O_CLOEXEC);
		r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		dfd = open(leftovers[i], O_RDONLY | O_CLOEXEC);
		if (r <= 0 || buf[0] != '/' || dfd < 0) {
			if (dfd >= 0)
				close(dfd);
			unlink(sc);
			free(leftovers[i]);
			continue;
		}
		buf[r] = 0;
		rc = remote_upload_fd(fs, buf, dfd, NULL, NULL);
		close(dfd);
		if (rc == 0) {
			fs_log(fs, "uploaded '%s' left dirty by an earlier mount", buf);
			unlink(leftovers[i]);
			unlink(sc);
			free(leftovers[i]);
		} else {
			leftovers[keep++] = leftovers[i];
		}
	}
	nleftovers = keep;
	pthread_mutex_unlock(&files_lock);
}

void cache_stats(struct fs *fs, uint64_t *bytes, unsigned *nfiles, unsigned *ndirty)
{
	struct file **arr;
	struct stat st;
	size_t n, i;

	*bytes = 0;
	*nfiles = 0;
	*ndirty = 0;
	arr = snapshot(&n);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&pub_lock);
		if (arr[i]->pub.dirty)
			(*ndirty)++;
		pthread_mutex_unlock(&pub_lock);
		/* A busy file (upload, fetch) is left out of the byte count. */
		if (pthread_mutex_trylock(&arr[i]->lock))
			continue;
		if (arr[i]->cpath && stat(arr[i]->cpath, &st) == 0) {
			*bytes += (uint64_t)st.st_blocks * 512;
			(*nfiles)++;
		}
		unlock_file(arr[i]);
	}
	free(arr);
	pthread_mutex_lock(&files_lock);
	*ndirty += (unsigned)nleftovers;
	pthread_mutex_unlock(&files_lock);
}

static int cmp_use(const void *a, const void *b)
{
	double x = (*(struct file *const *)a)->last_use, y = (*(struct file *const *)b)->last_use;

	return x < y ? -1 : x > y;
}

/* Queue again the failed uploads of the closed files in @arr whose
 * backoff is over (all of them once a probe finds the sandbox answering). */
static void retry_uploads(struct fs *fs, struct file **arr, size_t n)
{
	e2b_entry_info *probe = NULL;
	int waiting;
	size_t i;

	/* Uploads are waiting out a backoff: probe the sandbox (which also
	 * resumes a paused one) and retry them all as soon as it answers. */
	for (i = 0, waiting = 0; i < n; i++) {
		if (pthread_mutex_trylock(&arr[i]->lock))
			continue;
		if ((arr[i]->dirty || arr[i]->dirfix) && !arr[i]->opens &&
		    now_mono() < arr[i]->next_retry)
			waiting = 1;
		unlock_file(arr[i]);
	}
	if (waiting && remote_stat(fs, fs->root, &probe) == 0) {
		e2b_entry_info_free(probe);
		for (i = 0; i < n; i++) {
			pthread_mutex_lock(&arr[i]->lock);
			arr[i]->next_retry = 0;
			unlock_file(arr[i]);
		}
	}
	for (i = 0; i < n; i++) {
		if (pthread_mutex_trylock(&arr[i]->lock))
			continue;
		if ((arr[i]->dirty || arr[i]->dirfix) && !arr[i]->opens &&
		    now_mono() >= arr[i]->next_retry)
			enqueue(fs, arr[i]);
		unlock_file(arr[i]);
	}
}

/* Evict the least recently used clean, closed files of @arr while the
 * cache is over cache_max. */
static void evict_lru(struct fs *fs, struct file **arr, size_t n)
{
	uint64_t bytes;
	unsigned nf, nd;
	struct stat st;
	size_t i;

	cache_stats(fs, &bytes, &nf, &nd);
	if (fs->cache_max && bytes > fs->cache_max) {
		qsort(arr, n, sizeof(*arr), cmp_use);
		for (i = 0; i < n && bytes > fs->cache_max; i++) {
			struct file *f = arr[i];

			pthread_mutex_lock(&f->lock);
			if (!f->opens && !f->dirty && f->cpath) {
				stream_stop(f);
				if (stat(f->cpath, &st) == 0)
					bytes -= bytes > (uint64_t)st.st_blocks * 512 ?
						 (uint64_t)st.st_blocks * 512 : bytes;
				if (f->fd >= 0)
					close(f->fd);
				f->fd = -1;
				unlink(f->cpath);
				free(f->cpath);
				f->cpath = NULL;
				f->has_base = 0;
				if (f->present)
					memset(f->present, 0, f->nblocks);
				f->complete = 0;
			}
			unlock_file(f);
		}
	}
}

/*
 * Periodic work: retry failed uploads of closed files, and evict the least
 * recently used clean, closed files while the cache is over cache_max.
 */
void cache_housekeep(struct fs *fs)
{
	struct file **arr;
	size_t n;

	if (nleftovers)
		cache_recover(fs);
	arr = snapshot(&n);
	retry_uploads(fs, arr, n);
	evict_lru(fs, arr, n);
	free(arr);
}
