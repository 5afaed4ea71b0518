/* SPDX-License-Identifier: MIT */
/*
 * Sandbox-side changes become kernel cache invalidations: one thread keeps
 * a recursive WatchDir stream on the mounted root open (reconnecting with
 * a growing delay) and turns each event into updated or dropped e2bfs
 * caches plus fuse_lowlevel_notify_inval_entry/_inode, so a file a sandbox
 * process creates, changes or deletes shows up in the mount at once.
 * While the stream is up, the caches it keeps true never expire
 * (inode_watch_state); when it ends, they fall back to the timeouts and
 * the kernel forgets them.  Notifications are sent from this thread only,
 * never from inside a request handler.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

static pthread_t thread;
static int started;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static e2b_fs_watch *current;	/* protected by watch_lock */
static int stop;		/* protected by watch_lock */
static int up;			/* protected by watch_lock */
static int refresh;		/* protected by watch_lock */
static int tried;		/* protected by watch_lock: first open done */
static pthread_cond_t tried_cond = PTHREAD_COND_INITIALIZER;

/*
 * Directories whose own attributes an event took the watch's word from (a
 * name came or went in them, so their mtime changed: git's index replaced
 * in .git), and files whose upload's echo came before the upload was over,
 * are Stat'ed again by one thread once they have had no event for
 * REVAL_QUIET seconds (and are not being uploaded), so the next walk finds
 * them vouched for again (a second git status makes no request).  At most
 * REVAL_MAX are pending; more are left to expire as before.
 */
#define REVAL_QUIET 0.2
#define REVAL_MAX 64
static struct reval {
	char *path;
	double t;		/* its last event */
} reval[REVAL_MAX];		/* protected by watch_lock */
static size_t nreval;		/* protected by watch_lock */
static pthread_cond_t reval_cond = PTHREAD_COND_INITIALIZER;
static pthread_t reval_thread;
static int reval_started;

static void reval_note(const char *path)
{
	size_t i;

	pthread_mutex_lock(&watch_lock);
	for (i = 0; i < nreval && strcmp(reval[i].path, path); i++)
		;
	if (i < nreval) {
		reval[i].t = now_mono();
	} else if (nreval < REVAL_MAX && (reval[nreval].path = strdup(path))) {
		reval[nreval++].t = now_mono();
		pthread_cond_signal(&reval_cond);
	}
	pthread_mutex_unlock(&watch_lock);
}

/* The revalidator's answer for @path: into the record; a file whose size,
 * times or mode changed meanwhile (the sandbox wrote it just after our own
 * change, its event taken for our echo) is dropped from the kernel's
 * caches too. */
static void reval_apply(struct fs *fs, const char *path, const e2b_entry_info *e,
			const struct inode_vtok *tok)
{
	struct stat was, now;
	struct inode *in = inode_find_path(path);
	int known = in && inode_attr_copy(in, &was);

	inode_unpin(in);
	in = inode_update_tok(fs, path, e, tok, &now);
	if (in && known && S_ISREG(now.st_mode) &&
	    (was.st_size != now.st_size || was.st_mode != now.st_mode ||
	     was.st_mtim.tv_sec != now.st_mtim.tv_sec ||
	     was.st_mtim.tv_nsec != now.st_mtim.tv_nsec))
		fuse_lowlevel_notify_inval_inode(fs->se, in->ino, 0, 0);
	inode_unpin(in);
}

static void *reval_main(void *arg)
{
	struct fs *fs = arg;
	struct inode_vtok tok;
	e2b_entry_info *e;
	struct inode *in;
	struct timespec ts;
	size_t i, k;
	char *path;
	int dirty, vouched;

	pthread_mutex_lock(&watch_lock);
	while (!stop) {
		if (!nreval) {
			pthread_cond_wait(&reval_cond, &watch_lock);
			continue;
		}
		for (i = 1, k = 0; i < nreval; i++)
			if (reval[i].t < reval[k].t)
				k = i;
		if (now_mono() - reval[k].t < REVAL_QUIET) {
			deadline_in(&ts, reval[k].t + REVAL_QUIET - now_mono());
			pthread_cond_timedwait(&reval_cond, &watch_lock, &ts);
			continue;
		}
		path = reval[k].path;
		reval[k] = reval[--nreval];
		pthread_mutex_unlock(&watch_lock);
		/* Still being uploaded, or a directory's mode or times still
		 * queued: after that (its echo may come first).  Vouched for
		 * meanwhile (its echo confirmed it): nothing to ask. */
		in = inode_find_path(path);
		dirty = in && cache_has_pending(in);
		vouched = in && !dirty && inode_attr_vouched(in);
		inode_unpin(in);
		if (vouched) {
			free(path);
			pthread_mutex_lock(&watch_lock);
			continue;
		}
		if (dirty) {
			reval_note(path);
			free(path);
			pthread_mutex_lock(&watch_lock);
			continue;
		}
		e = NULL;
		inode_vouch_begin(&tok);
		if (remote_stat(fs, path, &e) == 0)
			reval_apply(fs, path, e, &tok);
		e2b_entry_info_free(e);
		free(path);
		pthread_mutex_lock(&watch_lock);
	}
	for (i = 0; i < nreval; i++)
		free(reval[i].path);
	nreval = 0;
	pthread_mutex_unlock(&watch_lock);
	return NULL;
}

/* The first attempt to open the stream is over (either way). */
static void first_try_done(void)
{
	pthread_mutex_lock(&watch_lock);
	if (!tried) {
		tried = 1;
		pthread_cond_broadcast(&tried_cond);
	}
	pthread_mutex_unlock(&watch_lock);
}

static int is_stopping(void)
{
	int s;

	pthread_mutex_lock(&watch_lock);
	s = stop;
	pthread_mutex_unlock(&watch_lock);
	return s;
}

/* The echo of our own change on @in at @path: the record stays, unless
 * the sandbox now shows something else than we do (then asked again). */
static void echo_event(struct inode *in, const e2b_fs_event *ev, const char *path)
{
	struct inode_vtok tok;

	/* Unless the sandbox now shows exactly what we do. */
	if (ev->entry && !cache_is_dirty(in)) {
		inode_vouch_begin(&tok);
		/* A file not as we show it: a step of our own
		 * change that came late (a later echo confirms), or
		 * the sandbox changed it inside the window: the
		 * revalidator asks once quiet unless a later echo
		 * vouched.  (A directory's mtime moves with every
		 * name we add: its parent's events handle it.) */
		if (!inode_echo_confirms(in, ev->entry, &tok) &&
		    ev->entry->type == E2B_FILE_TYPE_FILE && !ev->entry->is_symlink) {
			inode_unvouch(in);
			reval_note(path);
		}
	} else if (ev->entry) {
		/* The echo of an upload still finishing (a replace's
		 * Move, a batch's POST land before the upload has set
		 * the file's clean state): checked when it has, and
		 * asked again later if that did not vouch. */
		inode_vouch_begin(&tok);
		inode_echo_stash(in, ev->entry, &tok);
		reval_note(path);
	}
}

/*
 * One watch event on a path below the root: the path's record, the tree
 * under a removed name, the parent's cached listing and the kernel's
 * entries follow it (an echo of our own change leaves them).  Nonzero to
 * stop watching.
 * Long: the event's effects in their order (generation first, then the
 * record, the listing, the kernel last) share the path, its parent, their
 * pinned inodes and the echo/gone/member flags; split further, each step
 * would take them all.
 */
static int on_event(const e2b_fs_event *ev, void *payload)
{
	struct fs *fs = payload;
	struct inode_vtok tok;
	struct inode *in, *pin;
	const char *base;
	char *path, *parent;
	int echo, gone, member, known;

	if (!ev->name || !ev->name[0])
		return is_stopping();
	base = strrchr(ev->name, '/');
	base = base ? base + 1 : ev->name;
	/* Our own upload temporaries come and go with every save (listings
	 * never show them). */
	if (inode_is_upload_temp(base))
		return is_stopping();
	path = path_join(fs->root, ev->name);
	parent = path_parent(path);
	if (!parent) {
		free(path);
		return is_stopping();
	}
	gone = ev->type == E2B_FS_EVENT_REMOVE || ev->type == E2B_FS_EVENT_RENAME;
	member = gone || ev->type == E2B_FS_EVENT_CREATE;
	/* First: answers in flight for this path or above it are older. */
	inode_event_gen(path);
	in = inode_find_path(path);
	/* Created here and not uploaded yet: an event on the path is about
	 * an older object or our own upload landing.  Kept as a possible
	 * echo: the upload's end vouches for the file if the last event
	 * shows exactly what it uploaded (an older object's would not). */
	if (in && cache_is_local_new(in)) {
		if (ev->entry && !gone) {
			inode_vouch_begin(&tok);
			inode_echo_stash(in, ev->entry, &tok);
		}
		inode_unpin(in);
		free(parent);
		free(path);
		return is_stopping();
	}
	pin = inode_find_path(parent);
	/* A create of a name the kernel already resolves to the same kind
	 * of object (a walk got there before the event) keeps its dentry. */
	known = in && ev->type == E2B_FS_EVENT_CREATE && ev->entry &&
		inode_same_kind(in, ev->entry);
	/*
	 * The echo of our own create/upload/setattr (attributes set less than
	 * 0.5 s ago) changes nothing; a sandbox-side change inside that window
	 * still shows at the next open, which always revalidates.  Our change
	 * took the watch's word away from those attributes.
	 */
	echo = in && !gone && inode_is_echo(in);
	if (echo) {
		echo_event(in, ev, path);
		inode_unpin(in);
		in = NULL;
	} else if (in && ev->entry && !gone) {
		inode_vouch_begin(&tok);
		inode_unpin(inode_update_tok(fs, path, ev->entry, &tok, NULL));
	} else if (in && !gone) {
		inode_invalidate(in);
		inode_invalidate_dir(in);
	}
	/* Whatever was at or below a removed or renamed path is gone. */
	if (gone)
		inode_invalidate_tree(path);
	/* Membership and attribute changes are applied to a fresh cached
	 * listing rather than dropping it (our own creates echo back here
	 * too). */
	if (ev->type == E2B_FS_EVENT_UNKNOWN) {
		if (pin)
			inode_invalidate_dir(pin);
	} else {
		inode_listing_event(fs, parent, base, !gone, echo || gone ? NULL : ev->entry);
	}
	/* The directory's own mtime changed with its membership. */
	if (pin && member) {
		inode_unvouch(pin);
		reval_note(parent);
	}
	if (fs->debug)
		fs_log(fs, "watch: event %d on '%s'", (int)ev->type, path);
	if (pin && !echo && !known && member)
		fuse_lowlevel_notify_inval_entry(fs->se, pin->ino, base, strlen(base));
	/* Offset 0: the kernel's cached readdir of the parent goes too. */
	if (pin && (member || ev->type == E2B_FS_EVENT_UNKNOWN))
		fuse_lowlevel_notify_inval_inode(fs->se, pin->ino, 0, 0);
	if (in && !gone && !cache_is_dirty(in))
		fuse_lowlevel_notify_inval_inode(fs->se, in->ino, 0, 0);

	inode_unpin(in);
	inode_unpin(pin);
	free(parent);
	free(path);
	return is_stopping();
}

static void *watch_main(void *arg)
{
	struct fs *fs = arg;
	e2b_fs_watch_options wo = E2B_FS_WATCH_OPTIONS_INIT;
	unsigned delay = 1;
	const char *why;
	int run, ever = 0;

	wo.recursive = 1;
	wo.user = fs->o.user;
	wo.on_event = on_event;
	wo.payload = fs;
	while (!is_stopping()) {
		e2b_fs_watch *w = NULL;

		if (remote_watch_open(fs, &wo, &w) < 0) {
			unsigned i;

			first_try_done();

			for (i = 0; i < delay * 10 && !is_stopping(); i++)
				usleep(100000);
			delay = delay < 16 ? delay * 2 : 30;
			continue;
		}
		/* Events may have been missed while we were not watching; and
		 * what the kernel holds with the short timeouts of that time is
		 * dropped, so the next lookups come here and get the watch's
		 * long ones. */
		if (ever)
			inode_invalidate_all();
		/* Confirmed by envd: from now on its events keep the caches
		 * true, so they need no revalidation. */
		inode_watch_state(1);
		if (ever)
			inode_kernel_forget_all(fs->se);
		ever = 1;
		delay = 1;
		pthread_mutex_lock(&watch_lock);
		current = stop ? NULL : w;
		run = current != NULL;
		up = run;
		pthread_mutex_unlock(&watch_lock);
		first_try_done();
		why = remote_watch_run(run ? w : NULL);
		pthread_mutex_lock(&watch_lock);
		current = NULL;
		up = 0;
		pthread_mutex_unlock(&watch_lock);
		/* Nobody vouches any more: back to the timeouts, and the kernel
		 * forgets what it was told to keep for long. */
		inode_watch_state(0);
		if (!is_stopping() && fs->o.watch_cache > 0)
			inode_kernel_forget_all(fs->se);
		e2b_fs_watch_free(w);
		if (!is_stopping() && fs->debug)
			fs_log(fs, "watch: stream ended (%s), reconnecting", why);
		pthread_mutex_lock(&watch_lock);
		run = refresh;
		refresh = 0;
		pthread_mutex_unlock(&watch_lock);
		if (!is_stopping() && !run)
			sleep(1);
	}
	return NULL;
}

/* `refresh`: restart the stream, so that the kernel forgets what it keeps
 * (from this thread) and the caches resynchronise. */
void watch_refresh(void)
{
	pthread_mutex_lock(&watch_lock);
	if (current) {
		refresh = 1;
		remote_watch_cancel(current);
	}
	pthread_mutex_unlock(&watch_lock);
}

int watch_is_up(void)
{
	int u;

	pthread_mutex_lock(&watch_lock);
	u = up;
	pthread_mutex_unlock(&watch_lock);
	return u;
}

/*
 * Start the stream and wait (at most WATCH_FIRST_WAIT_MS) until envd has
 * confirmed it or refused: what the first requests fetch is then vouched
 * for and never revalidated, which is worth one round trip at mount time.
 */
#define WATCH_FIRST_WAIT_MS 3000
int watch_start(struct fs *fs)
{
	struct timespec dl;

	if (pthread_create(&thread, NULL, watch_main, fs) != 0)
		return -1;
	started = 1;
	reval_started = pthread_create(&reval_thread, NULL, reval_main, fs) == 0;
	deadline_in(&dl, WATCH_FIRST_WAIT_MS / 1000.0);
	pthread_mutex_lock(&watch_lock);
	while (!tried && !stop)
		if (pthread_cond_timedwait(&tried_cond, &watch_lock, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&watch_lock);
	return 0;
}

void watch_stop(struct fs *fs)
{
	(void)fs;
	if (!started)
		return;
	pthread_mutex_lock(&watch_lock);
	stop = 1;
	if (current)
		remote_watch_cancel(current);
	pthread_cond_broadcast(&reval_cond);
	pthread_mutex_unlock(&watch_lock);
	pthread_join(thread, NULL);
	if (reval_started)
		pthread_join(reval_thread, NULL);
	reval_started = 0;
	started = 0;
}
