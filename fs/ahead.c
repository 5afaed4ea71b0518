/* SPDX-License-Identifier: MIT */
/*
 * Content fetched ahead of a reader (git status, grep -r, make): programs
 * that read through a tree open one small file after another, and each
 * first read costs a round trip.  When a process opens a second file of a
 * directory within AHEAD_TRIGGER seconds, a run starts there: the
 * directory's small regular files (ahead_size at most), then the
 * directories that follow it in a depth-first walk in name order (its
 * subdirectories, then its later siblings and theirs: the order of git's
 * index and of fts), are fetched whole into the content cache by
 * ahead_threads threads, until ahead_files files or ahead_bytes bytes lie
 * ahead of the reader (a run's window starts at AHEAD_START files and
 * doubles each time the reader moves on into a later directory of it: a
 * reader that stays costs little).  The window counts files: a directory
 * is taken in part when the window ends in it (or it holds more than
 * ahead_files), and the rest follows as the reader's opens in its own
 * directory, counted, bring it nearer.  As the reader moves on, the run is
 * extended; a reader that leaves it for a directory not in it starts a new
 * run there (at its second file) and the old run's queue is dropped.
 *
 * The fetch itself is cache_ahead(): it holds the file's lock over its GET,
 * so an open of that file waits for that one fetch instead of asking again;
 * it never touches a file that is open, dirty or not yet in the sandbox,
 * and its content is keyed by the remote version (mtime, size) like any
 * other, so a change in the sandbox is seen as usual.  A reader never
 * waits for the fetch of another file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "e2bfs.h"

#define AHEAD_MAX_THREADS 64
#define AHEAD_QUEUE 8192	/* files queued at most */
#define AHEAD_RUN 1024		/* directories remembered in a run */
#define AHEAD_RECENT 16		/* directories watched for a trigger */
#define AHEAD_TRIGGER 2.0	/* seconds between two opens of one directory */
#define AHEAD_DEPTH 32		/* depth of the walk below the run's parent */
#define AHEAD_SUBDIRS 4096	/* subdirectories of one directory walked */
#define AHEAD_START 256		/* a run's first window (files) at
				 * AHEAD_START_MS of latency or more, less
				 * nearer (AHEAD_START_MIN at least); doubled
				 * each time the reader moves on to a later
				 * directory of the run, up to ahead_files */
#define AHEAD_START_MS 20.0
#define AHEAD_START_MIN 32

struct ah_job {
	struct inode *in;	/* pinned */
	uint64_t run;
};

/* A directory of the run: files queued up to and including it, and of it
 * (only the run's last directory can still be partly queued). */
struct ah_dir {
	char *path;
	uint64_t cum_files;
	uint64_t cum_bytes;
	uint64_t picked;
};

/* A level of the depth-first walk (owned by the planning thread). */
struct ah_frame {
	char *path;
	char **subs;		/* full paths, in name order */
	size_t n, next;
};

struct ah_recent {
	char *dir;
	char *last;		/* the last file opened in it */
	unsigned opens;
	double t;
};

static pthread_mutex_t ah_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ah_cond = PTHREAD_COND_INITIALIZER;
static struct ah_job queue[AHEAD_QUEUE];	/* protected by ah_lock */
static size_t q_head, q_len;			/* protected by ah_lock */
static uint64_t run_id;				/* protected by ah_lock */
static char *run_start;		/* protected by ah_lock; a new run's directory */
static struct ah_dir run[AHEAD_RUN];		/* protected by ah_lock */
static size_t run_n, run_pos;			/* protected by ah_lock */
static unsigned run_moves;	/* protected by ah_lock; the reader moved on */
static uint64_t run_opens;	/* protected by ah_lock; opens in the reader's
				 * directory since it got there */
static uint64_t run_files, run_bytes;		/* protected by ah_lock; queued */
static int run_more;		/* protected by ah_lock; the walk is not over */
static int run_tail_partial;	/* protected by ah_lock; the last directory
				 * has more files to queue */
static int want_plan, planning;			/* protected by ah_lock */
static struct ah_recent recent[AHEAD_RECENT];	/* protected by ah_lock */
static int ah_stop;				/* protected by ah_lock */
static pthread_t threads[AHEAD_MAX_THREADS];
static unsigned nthreads;

/* The walk: touched only by the thread that has `planning`. */
static struct ah_frame stack[AHEAD_DEPTH];
static size_t depth;

static void frame_release(struct ah_frame *fr)
{
	size_t i;

	for (i = 0; i < fr->n; i++)
		free(fr->subs[i]);
	free(fr->subs);
	free(fr->path);
	memset(fr, 0, sizeof(*fr));
}

static void stack_clear(void)
{
	while (depth)
		frame_release(&stack[--depth]);
}

/* Drop the queue and the run's directories; ah_lock held. */
static void run_clear_locked(void)
{
	size_t i;

	while (q_len) {
		inode_unpin(queue[q_head].in);
		q_head = (q_head + 1) % AHEAD_QUEUE;
		q_len--;
	}
	for (i = 0; i < run_n; i++)
		free(run[i].path);
	run_n = run_pos = 0;
	run_moves = 0;
	run_opens = 0;
	run_tail_partial = 0;
	run_files = run_bytes = 0;
}

/*
 * A run's first window: what keeps the fetches ahead of a reader for the
 * round trips they take.  A reader going through cached files at some
 * 0.1-0.2 ms each passes 100-200 of them in 20 ms: 256 files at 20 ms of
 * latency or more; nearer, fewer (at loopback distance a fetch costs the
 * sandbox's CPU more than the reader's wait).
 */
static uint64_t first_window(const struct fs *fs)
{
	double ms = remote_latency_ms(fs);
	uint64_t w;

	if (fs->o.ahead_start)
		return fs->o.ahead_start;
	if (ms < 0 || ms >= AHEAD_START_MS)
		return AHEAD_START;
	w = (uint64_t)(AHEAD_START * ms / AHEAD_START_MS);
	return w < AHEAD_START_MIN ? AHEAD_START_MIN : w;
}

/*
 * How many more files the run may queue: the window less the files queued
 * ahead of the reader, whose place is its directory's first files plus
 * its opens there (at most the directory's end); 0 when the window or
 * ahead_bytes (beyond the reader's directory) is full.  Lock held.
 */
static uint64_t run_room_locked(struct fs *fs)
{
	uint64_t win = first_window(fs) << (run_moves < 16 ? run_moves : 16);
	uint64_t end, at, b;

	if (!run_n)
		return 0;
	end = run[run_pos].cum_files;
	b = run[run_pos].cum_bytes;
	at = end - run[run_pos].picked + run_opens;
	if (at > end)
		at = end;
	/* A reader that stays in its directory (make in a project) does not
	 * get a whole window of the directories after it fetched. */
	if (win > fs->o.ahead_files)
		win = fs->o.ahead_files;
	if (run_files - at >= win || run_bytes - b >= fs->ahead_bytes)
		return 0;
	return win - (run_files - at);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Make @dir's listing known (one ListDir unless fresh; single flight). */
static void ah_list(struct fs *fs, struct inode *dir)
{
	struct inode_vtok tok;
	e2b_entry_list *l = NULL;
	char *path;
	int rc;

	if (inode_dir_begin(dir, &tok) == 0)
		return;
	path = inode_path(dir);
	rc = path ? remote_list(fs, path, &l) : -ESTALE;
	inode_dir_end(fs, &tok, rc == 0 ? l : NULL, 1);
	e2b_entry_list_free(l);
	free(path);
}

/* Of @dir's entries @names (@n, in name order), the small nonempty
 * regular files after the first @skip of them, @limit at most (and
 * ahead_files, ahead_bytes), pinned into @files: their count, their size
 * in *bytes; *more: some were left. */
static size_t pick_files(struct fs *fs, struct inode *dir, char **names, size_t n,
			 uint64_t skip, uint64_t limit, struct inode **files, uint64_t *bytes,
			 int *more)
{
	struct inode *in;
	struct stat st;
	size_t i, nf = 0;

	*more = 0;
	if (limit > fs->o.ahead_files)
		limit = fs->o.ahead_files;
	for (i = 0; i < n; i++) {
		if (inode_is_upload_temp(names[i]) ||
		    inode_dir_lookup(fs, dir, names[i], &in, &st) != INODE_DIR_FOUND)
			continue;
		if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    (uint64_t)st.st_size > fs->ahead_size) {
			inode_unpin(in);
		} else if (skip) {
			skip--;
			inode_unpin(in);
		} else if (nf >= limit || *bytes >= fs->ahead_bytes) {
			inode_unpin(in);
			*more = 1;
			break;
		} else {
			files[nf++] = in;
			*bytes += (uint64_t)st.st_size;
		}
	}
	return nf;
}

/* Queue of the @nf @files (@bytes in all) for run @rid as many as the
 * queue takes (those become the queue's: NULL in @files); their count.
 * ah_lock held. */
static uint64_t queue_files_locked(uint64_t rid, struct inode **files, size_t nf, uint64_t bytes)
{
	uint64_t q = 0;
	size_t i;

	for (i = 0; i < nf && q_len < AHEAD_QUEUE; i++) {
		queue[(q_head + q_len) % AHEAD_QUEUE] = (struct ah_job){ files[i], rid };
		q_len++;
		files[i] = NULL;
		q++;
	}
	run_files += q;
	run_bytes += bytes;
	pthread_cond_broadcast(&ah_cond);
	return q;
}

/* Queue the @nf @files of @path (@bytes in all; @more: it has more) for
 * run @rid and note the directory in the run; ah_lock held. */
static void queue_dir_locked(uint64_t rid, const char *path, struct inode **files, size_t nf,
			     uint64_t bytes, int more)
{
	uint64_t q = queue_files_locked(rid, files, nf, bytes);
	size_t i;

	if (run_n == AHEAD_RUN) {
		/* Forget the directories the reader has left behind. */
		size_t drop = run_pos ? run_pos : 1;

		for (i = 0; i < drop; i++)
			free(run[i].path);
		memmove(run, run + drop, (run_n - drop) * sizeof(run[0]));
		run_n -= drop;
		run_pos = run_pos > drop ? run_pos - drop : 0;
	}
	run[run_n].path = strdup(path);
	run[run_n].cum_files = run_files;
	run[run_n].cum_bytes = run_bytes;
	run[run_n].picked = q;
	/* (no memory for the path: the rest of this directory is left out) */
	run_tail_partial = run[run_n].path && (more || q < nf);
	if (run[run_n].path)
		run_n++;
}

/* Unpin @dir and what is left of @files (@nf: those the queue did not
 * take), free @names (@n). */
static void picks_release(struct inode *dir, char **names, size_t n, struct inode **files,
			  size_t nf)
{
	size_t i;

	for (i = 0; files && i < nf; i++)
		inode_unpin(files[i]);
	free(files);
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	inode_unpin(dir);
}

/*
 * Queue @path's small regular files for run @rid (@limit at most; none
 * with @subdirs_only) and fill @fr with its subdirectories, in name order.
 * 0, or -1 when the run changed (or stopping) meanwhile; @fr is to be
 * released either way.
 */
static int ah_emit(struct fs *fs, uint64_t rid, const char *path, int subdirs_only,
		   uint64_t limit, struct ah_frame *fr)
{
	struct inode *dir = inode_for_path(path), **files = NULL;
	char **names = NULL;
	uint64_t bytes = 0;
	size_t n = 0, nf = 0;
	int rc = 0, more;

	memset(fr, 0, sizeof(*fr));
	fr->path = strdup(path);
	if (!dir || !fr->path)
		goto out;
	ah_list(fs, dir);
	fr->subs = inode_dir_subdirs(path, 0, AHEAD_SUBDIRS, &fr->n);
	if (fr->subs)
		qsort(fr->subs, fr->n, sizeof(*fr->subs), cmp_str);
	if (subdirs_only)
		goto out;
	names = inode_listing_names(dir, &n);
	if (!names)
		goto out;
	qsort(names, n, sizeof(*names), cmp_str);
	files = calloc(n + 1, sizeof(*files));
	if (!files)
		goto out;
	nf = pick_files(fs, dir, names, n, 0, limit, files, &bytes, &more);
	pthread_mutex_lock(&ah_lock);
	if (ah_stop || rid != run_id)
		rc = -1;
	else
		queue_dir_locked(rid, path, files, nf, bytes, more);
	pthread_mutex_unlock(&ah_lock);
out:
	picks_release(dir, names, n, files, nf);
	return rc;
}

static char *parent_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return NULL;
	return s == path ? strdup("/") : strndup(path, (size_t)(s - path));
}

/*
 * Start the walk at @start: its files first, then its subtree, then its
 * later siblings' (the parent's frame resumes after it).  The walk stays
 * below the parent.  0, or -1 when the run changed.
 */
static int walk_begin(struct fs *fs, uint64_t rid, const char *start)
{
	char *parent = strcmp(start, fs->root) ? parent_of(start) : NULL;
	struct ah_frame *fr;
	int rc;

	stack_clear();
	if (parent) {
		fr = &stack[depth++];
		ah_emit(fs, rid, parent, 1, 0, fr);
		while (fr->next < fr->n && strcmp(fr->subs[fr->next], start) <= 0)
			fr->next++;
	}
	free(parent);
	fr = &stack[depth++];
	rc = ah_emit(fs, rid, start, 0, fs->o.ahead_files, fr);
	if (rc < 0)
		stack_clear();
	return rc;
}

/* The next directory of the walk (@limit files of it at most): 1 queued,
 * 0 the walk is over, -1 the run changed. */
static int walk_next(struct fs *fs, uint64_t rid, uint64_t limit)
{
	struct ah_frame *fr;
	char *p;
	int rc;

	while (depth) {
		fr = &stack[depth - 1];
		if (fr->next < fr->n && depth < AHEAD_DEPTH) {
			p = fr->subs[fr->next++];
			rc = ah_emit(fs, rid, p, 0, limit, &stack[depth++]);
			if (rc < 0) {
				stack_clear();
				return -1;
			}
			return 1;
		}
		frame_release(fr);
		depth--;
	}
	return 0;
}

/*
 * Queue @limit more files at most of the run's last directory @path, the
 * first @skip of its files being queued already: 1 some were (or it has no
 * more), 0 none, -1 the run changed.
 */
static int tail_more(struct fs *fs, uint64_t rid, const char *path, uint64_t skip,
		     uint64_t limit)
{
	struct inode *dir = inode_for_path(path), **files = NULL;
	char **names = NULL;
	uint64_t bytes = 0, q;
	size_t n = 0, nf = 0;
	int rc = 0, more = 0;

	names = dir ? inode_listing_names(dir, &n) : NULL;
	if (names) {
		qsort(names, n, sizeof(*names), cmp_str);
		files = calloc(n + 1, sizeof(*files));
	}
	if (files)
		nf = pick_files(fs, dir, names, n, skip, limit, files, &bytes, &more);
	pthread_mutex_lock(&ah_lock);
	if (ah_stop || rid != run_id || !run_n || strcmp(run[run_n - 1].path, path)) {
		rc = -1;
	} else {
		q = queue_files_locked(rid, files, nf, bytes);
		run[run_n - 1].picked += q;
		run[run_n - 1].cum_files = run_files;
		run[run_n - 1].cum_bytes = run_bytes;
		run_tail_partial = files && (more || q < nf);
		rc = q > 0 || !run_tail_partial;
	}
	pthread_mutex_unlock(&ah_lock);
	picks_release(dir, names, n, files, nf);
	return rc;
}

/* Extend the run until enough lies ahead of the reader: the rest of its
 * last directory first, then the walk's next ones. */
static void ah_plan(struct fs *fs)
{
	uint64_t rid, room, skip = 0;
	char *start, *tail = NULL;
	int rc = 0;

	pthread_mutex_lock(&ah_lock);
	rid = run_id;
	start = run_start;
	run_start = NULL;
	pthread_mutex_unlock(&ah_lock);
	if (start)
		rc = walk_begin(fs, rid, start);
	free(start);
	while (rc >= 0) {
		pthread_mutex_lock(&ah_lock);
		room = !ah_stop && rid == run_id ? run_room_locked(fs) : 0;
		if (room && run_tail_partial) {
			tail = strdup(run[run_n - 1].path);
			skip = run[run_n - 1].picked;
		}
		pthread_mutex_unlock(&ah_lock);
		if (!room)
			break;
		if (tail) {
			rc = tail_more(fs, rid, tail, skip, room);
			free(tail);
			tail = NULL;
		} else {
			rc = walk_next(fs, rid, room);
		}
		if (rc <= 0)
			break;
	}
	pthread_mutex_lock(&ah_lock);
	if (rid == run_id)
		run_more = depth > 0;
	pthread_mutex_unlock(&ah_lock);
}

static void *ah_main(void *arg)
{
	struct fs *fs = arg;
	struct ah_job job;
	struct stat st;
	uint64_t rid;

	for (;;) {
		pthread_mutex_lock(&ah_lock);
		while (!ah_stop && !q_len && !(want_plan && !planning))
			pthread_cond_wait(&ah_cond, &ah_lock);
		if (ah_stop) {
			pthread_mutex_unlock(&ah_lock);
			return NULL;
		}
		if (want_plan && !planning) {
			want_plan = 0;
			planning = 1;
			pthread_mutex_unlock(&ah_lock);
			ah_plan(fs);
			pthread_mutex_lock(&ah_lock);
			planning = 0;
			pthread_cond_broadcast(&ah_cond);
			pthread_mutex_unlock(&ah_lock);
			continue;
		}
		job = queue[q_head];
		q_head = (q_head + 1) % AHEAD_QUEUE;
		q_len--;
		rid = run_id;
		pthread_mutex_unlock(&ah_lock);
		/* The latest attributes known, not the listing's of when it was
		 * queued: a change reported since is what the reader will see.
		 * Expired ones too (a slow queue): the content is keyed by them,
		 * so an open that finds other ones fetches again. */
		if (job.run == rid &&
		    (inode_cached_attr(fs, job.in, &st) || inode_stale_attr(job.in, &st)) &&
		    S_ISREG(st.st_mode) &&
		    st.st_size > 0 && (uint64_t)st.st_size <= fs->ahead_size &&
		    cache_ahead(fs, job.in, &st) > 0) {
			pthread_mutex_lock(&fs->lock);
			fs->st.ahead_fetched++;
			pthread_mutex_unlock(&fs->lock);
		}
		inode_unpin(job.in);
	}
}

/* Is @dir in the run?  Then the reader got there: the run's position
 * moves on, and the run is planned further if it runs short; ah_lock
 * held. */
static int run_reached_locked(struct fs *fs, const char *dir)
{
	size_t i;

	for (i = run_pos; i < run_n + run_pos; i++) {
		size_t k = i % run_n;

		if (!strcmp(run[k].path, dir)) {
			if (k > run_pos) {
				run_pos = k;
				run_moves++;
				run_opens = 0;
			}
			if (k == run_pos)
				run_opens++;
			if ((run_more || run_tail_partial) && run_room_locked(fs) && !want_plan) {
				want_plan = 1;
				pthread_cond_signal(&ah_cond);
			}
			return 1;
		}
	}
	return 0;
}

/* The recent opens' slot of @dir, else the oldest slot; ah_lock held. */
static struct ah_recent *recent_slot_locked(const char *dir)
{
	struct ah_recent *r = NULL;
	size_t i;

	for (i = 0; i < AHEAD_RECENT; i++) {
		if (recent[i].dir && !strcmp(recent[i].dir, dir)) {
			r = &recent[i];
			break;
		}
		if (!r || recent[i].t < r->t)
			r = &recent[i];
	}
	return r;
}

/*
 * A process opened @path (a remote path) with @flags: the hook that
 * starts and extends runs.  Cheap; never waits for the network.
 */
void ahead_opened(struct fs *fs, const char *path, int flags, int here)
{
	const char *name = strrchr(path, '/');
	struct ah_recent *r;
	double now = now_mono();
	char *dir;

	if (!nthreads || (flags & O_ACCMODE) != O_RDONLY || !name)
		return;
	name++;
	dir = parent_of(path);
	if (!dir)
		return;
	pthread_mutex_lock(&ah_lock);
	if (run_reached_locked(fs, dir))
		goto out;
	/* A file whose content is here starts no run (a reader of files
	 * written here, as git add is, has nothing to wait for); in a run it
	 * still moves the reader on (above). */
	if (here)
		goto out;
	/* Not in the run: is the reader going through this directory? */
	r = recent_slot_locked(dir);
	if (!r->dir || strcmp(r->dir, dir)) {
		free(r->dir);
		free(r->last);
		r->dir = dir;
		dir = NULL;
		r->last = NULL;
		r->opens = 0;
	} else if (now - r->t > AHEAD_TRIGGER) {
		r->opens = 0;
	}
	r->t = now;
	if (r->last && !strcmp(r->last, name))
		goto out;
	free(r->last);
	r->last = strdup(name);
	if (++r->opens < 2)
		goto out;
	/* The second file of this directory: a new run starts here. */
	r->opens = 0;
	run_id++;
	run_clear_locked();
	free(run_start);
	run_start = strdup(r->dir);
	run_opens = 2;
	run_more = 1;
	want_plan = 1;
	pthread_cond_signal(&ah_cond);
out:
	pthread_mutex_unlock(&ah_lock);
	free(dir);
}

int ahead_start(struct fs *fs)
{
	unsigned want = fs->o.ahead_threads;

	if (want > AHEAD_MAX_THREADS)
		want = AHEAD_MAX_THREADS;
	if (!fs->o.ahead_files || !fs->ahead_bytes || !fs->ahead_size)
		want = 0;
	for (nthreads = 0; nthreads < want; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, ah_main, fs) != 0)
			break;
	return nthreads == want ? 0 : -1;
}

void ahead_stop(struct fs *fs)
{
	unsigned i;

	(void)fs;
	pthread_mutex_lock(&ah_lock);
	ah_stop = 1;
	pthread_cond_broadcast(&ah_cond);
	pthread_mutex_unlock(&ah_lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_lock(&ah_lock);
	nthreads = 0;
	run_clear_locked();
	free(run_start);
	run_start = NULL;
	for (i = 0; i < AHEAD_RECENT; i++) {
		free(recent[i].dir);
		free(recent[i].last);
		memset(&recent[i], 0, sizeof(recent[i]));
	}
	pthread_mutex_unlock(&ah_lock);
	stack_clear();
}
