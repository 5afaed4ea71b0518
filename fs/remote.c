/* SPDX-License-Identifier: MIT */
/*
 * The remote layer: every libe2b call e2bfs makes goes through here, so
 * that request counting, the online/offline state, resuming a paused
 * sandbox and the one remote-error -> errno mapping live in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

/*
 * The one mapping from a libe2b failure to a positive errno (sshfs'
 * sftp_request_wait switch).  envd reports most OS errors as "internal"
 * with the OS's reason, which libe2b decodes into e2b_error.os_errno: it
 * decides for E2B_ERROR, E2B_EINVALID and E2B_EPERM; without one, the
 * code alone does.
 */
static int errno_of(int code, int os)
{
	switch (code) {
	case E2B_OK:
		return 0;
	case E2B_ENOTFOUND:
		return ENOENT;
	case E2B_EEXISTS:
		return EEXIST;
	case E2B_EAUTH:
		return EACCES;
	case E2B_EPERM:
		return os == EROFS || os == EACCES ? os : EPERM;
	case E2B_ENOSPC:
		return ENOSPC;
	case E2B_ENOMEM:
		return ENOMEM;
	case E2B_ECONFLICT:
		return EBUSY;
	case E2B_EINVALID:
	case E2B_ERROR:
	case E2B_EEXIT:
		if (os > 0)
			return os;
		return code == E2B_EINVALID ? EINVAL : EIO;
	case E2B_ETIMEOUT:
	case E2B_EUNAVAILABLE:
	case E2B_EPROTO:
	case E2B_ECANCELED:
	default:
		return EIO;
	}
}

int remote_errno(int code)
{
	const e2b_error *e = e2b_error_last();

	return errno_of(code, e->code == code ? e->os_errno : 0);
}

int remote_begin(struct fs *fs)
{
	(void)fs;
	e2b_error_clear();
	return 0;
}

/*
 * The management API says the sandbox does not exist any more (killed,
 * or past its timeout): said once in the log and .e2bfs/status, every
 * remote operation fails with ENOTCONN from now on, and with -o
 * autounmount the mount ends (after the request in progress).
 */
static void sandbox_gone(struct fs *fs)
{
	int first;

	pthread_mutex_lock(&fs->lock);
	first = !fs->gone;
	fs->gone = 1;
	fs->online = 0;
	snprintf(fs->last_error, sizeof(fs->last_error), "sandbox '%s' no longer exists",
		 fs->sandbox_id);
	pthread_mutex_unlock(&fs->lock);
	if (!first)
		return;
	/* Cached listings must not answer ENOENT for a sandbox that is gone:
	 * every lookup asks (and fails with ENOTCONN) from now on. */
	inode_invalidate_all();
	fs_log(fs, "sandbox '%s' no longer exists (killed or expired): operations fail with "
	       "ENOTCONN%s", fs->sandbox_id, fs->o.autounmount ? "; unmounting (autounmount)" : "");
	if (fs->o.autounmount && fs->se)
		fuse_session_exit(fs->se);
}

/*
 * The sandbox did not answer (@rc): ask the API for its state, at most
 * once every two seconds; gone, the mount says so; paused, it is resumed
 * (unless noautoresume).  1 when it was just resumed: the caller tries
 * once more.
 */
static int check_sandbox_state(struct fs *fs, int rc)
{
	e2b_sandbox_info *info = NULL;
	double now = now_mono();
	int check = 0, code, retry = 0;

	/* At most one state check every two seconds. */
	pthread_mutex_lock(&fs->lock);
	if (now - fs->last_resume_check > 2.0) {
		fs->last_resume_check = now;
		check = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	if (check)
		fs_log(fs, "sandbox unreachable (%s), checking its state",
		       e2b_error_code_str(rc));
	code = check ? e2b_mgmt_get_info(&info, fs->client, fs->sandbox_id) : -1;
	if (code == E2B_ENOTFOUND)
		sandbox_gone(fs);
	if (code == 0) {
		if (info->state == E2B_SANDBOX_STATE_PAUSED && !fs->o.noautoresume) {
			long long left = info->end_at_ms / 1000 - (long long)time(NULL);

			/* With the time it had left, not a fresh 300 s. */
			fs_log(fs, "sandbox '%s' is paused, resuming", fs->sandbox_id);
			if (e2b_sandbox_resume(fs->sb, left > 300 && left < UINT_MAX ?
						    (unsigned)left : 0) == 0)
				retry = 1;
			else
				fs_log(fs, "cannot resume sandbox '%s': %s", fs->sandbox_id,
				       e2b_error_last()->message);
		}
		e2b_sandbox_info_free(info);
	}
	return retry;
}

#define LATENCY_EPOCH 10.0	/* seconds a least call time is kept */

/* A call of one request ended after @ms: the latency estimate is the least
 * of this epoch and the last (the network's distance changes, a slow
 * moment of envd's does not count); lock held. */
static void latency_note_locked(struct fs *fs, double ms)
{
	double now = now_mono(), est;

	if (ms < 0.001)
		ms = 0.001;
	if (now - fs->lat_since >= LATENCY_EPOCH) {
		fs->lat_min[1] = fs->lat_min[0];
		fs->lat_min[0] = ms;
		fs->lat_since = now;
	} else if (ms < fs->lat_min[0]) {
		fs->lat_min[0] = ms;
	}
	est = fs->lat_min[1] > 0 && fs->lat_min[1] < fs->lat_min[0] ? fs->lat_min[1] :
								     fs->lat_min[0];
	atomic_store_explicit(&fs->lat_us, (uint64_t)(est * 1000.0) + 1, memory_order_relaxed);
}

double remote_latency_ms(const struct fs *fs)
{
	uint64_t v = atomic_load_explicit(&fs->lat_us, memory_order_relaxed);

	return v ? (double)(v - 1) / 1000.0 : -1.0;
}

/*
 * Account for one finished call that made @n requests.  Returns 1 when
 * the caller should try once more because a paused sandbox was just
 * resumed.
 */
static int account_n(struct fs *fs, int rc, double t0, uint64_t n)
{
	double ms = (now_mono() - t0) * 1000.0;
	int sandbox_down = 0, retry = 0;
	const e2b_error *e = e2b_error_last();

	if (rc == E2B_EUNAVAILABLE || rc == E2B_ETIMEOUT ||
	    (rc == E2B_ENOTFOUND && e->http_status == 502))
		sandbox_down = 1;
	pthread_mutex_lock(&fs->lock);
	fs->st.rpc += n;
	if (n)
		fs->st.rpc_ms += (uint64_t)ms;
	if (n == 1 && rc >= 0)
		latency_note_locked(fs, ms);
	if (rc < 0 && rc != E2B_ENOTFOUND && rc != E2B_EEXISTS)
		fs->st.rpc_errors++;
	if (sandbox_down) {
		fs->online = 0;
		snprintf(fs->last_error, sizeof(fs->last_error), "%s",
			 e->code == rc ? e->message : e2b_error_code_str(rc));
	} else if (rc >= 0 || rc == E2B_ENOTFOUND || rc == E2B_EEXISTS ||
		   rc == E2B_EINVALID || rc == E2B_ERROR) {
		fs->online = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	if (sandbox_down && rc != E2B_ETIMEOUT)
		retry = check_sandbox_state(fs, rc);
	return retry;
}

static int account(struct fs *fs, int rc, double t0)
{
	return account_n(fs, rc, t0, 1);
}

/* Run EXPR, once more if account() resumed the sandbox. */
#define RCALL(fs, rc, expr) do { \
	double t0_ = now_mono(); \
	e2b_error_clear(); \
	rc = (expr); \
	if (rc < 0 && account(fs, rc, t0_)) { \
		t0_ = now_mono(); \
		rc = (expr); \
		account(fs, rc, t0_); \
	} else if (rc >= 0) { \
		account(fs, rc, t0_); \
	} \
} while (0)

int remote_end(struct fs *fs, int rc)
{
	int err;

	if (rc >= 0)
		return 0;
	pthread_mutex_lock(&fs->lock);
	err = fs->gone ? ENOTCONN : 0;
	pthread_mutex_unlock(&fs->lock);
	if (err)
		return -err;
	err = remote_errno(rc);
	if (err == EIO)
		fs_log(fs, "remote error: %s", e2b_error_last()->code == rc ?
		       e2b_error_last()->message : e2b_error_code_str(rc));
	return -err;
}

/*
 * mkdir answered at once (remote_mkdir_async): the MakeDirs run in order
 * on a thread of their own, and an envd call about such a directory, a
 * path below it or the directory holding it first makes it (pmk_settle:
 * envd's answer must include it), as barriers do (remote_mkdir_flush).
 * Costs one atomic load while none is pending.
 */
struct pmk {
	struct pmk *next;
	char *path;
	int running;
};

static pthread_mutex_t pmk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pmk_cond = PTHREAD_COND_INITIALIZER;
static struct pmk *pmk_head;		/* protected by pmk_lock; in mkdir order */
static atomic_uint pmk_count;
static int pmk_started, pmk_stop;	/* protected by pmk_lock */
static pthread_t pmk_thread;
static unsigned pmk_delay_ms;		/* tests only: E2BFS_TEST_UPLOAD_DELAY_MS */

/* Is one of @a, @b the other or below it? */
static int pmk_related(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return pmk_related(b, a);
	if (la == 1 && a[0] == '/')
		return 1;
	return !strncmp(a, b, la) && (b[la] == 0 || b[la] == '/');
}

static int transient(int rc)
{
	return rc == -EIO || rc == -ENOTCONN || rc == -ETIMEDOUT || rc == -EAGAIN;
}

/* Make @p's directory (claimed by this thread), then forget it. */
static void pmk_run(struct fs *fs, struct pmk *p)
{
	struct pmk **pp;
	unsigned tries;
	int rc, created = 0;

	if (pmk_delay_ms)
		usleep(pmk_delay_ms * 1000u);
	for (tries = 0;; tries++) {
		RCALL(fs, rc, e2b_fs_mkdir(&created, fs->sb, p->path));
		rc = remote_end(fs, rc);
		if (rc == 0 || !transient(rc) || tries >= 4)
			break;
		usleep((250u << tries) * 1000u);
	}
	/* Not made (its files' uploads make it too, or fail as well): said
	 * in the log, as an upload's error is. */
	if (rc < 0)
		fs_log(fs, "mkdir '%s' in the sandbox: error %d", p->path, -rc);
	pthread_mutex_lock(&pmk_lock);
	for (pp = &pmk_head; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	atomic_fetch_sub(&pmk_count, 1);
	pthread_cond_broadcast(&pmk_cond);
	pthread_mutex_unlock(&pmk_lock);
	free(p->path);
	free(p);
}

/* The first pending MakeDir related to @path (any, for NULL) that nobody
 * makes yet, claimed; *busy: a related one is being made.  Lock held. */
static struct pmk *pmk_claim_locked(const char *path, int *busy)
{
	struct pmk *p;

	*busy = 0;
	for (p = pmk_head; p; p = p->next) {
		if (path && !pmk_related(p->path, path))
			continue;
		if (p->running) {
			*busy = 1;
			continue;
		}
		p->running = 1;
		return p;
	}
	return NULL;
}

/* Make the pending MakeDirs related to @path (waiting for those being
 * made), or, for NULL (the thread), all of them as they come until stop. */
static void pmk_drain(struct fs *fs, const char *path)
{
	struct pmk *p;
	int busy;

	pthread_mutex_lock(&pmk_lock);
	for (;;) {
		p = pmk_claim_locked(path, &busy);
		if (p) {
			pthread_mutex_unlock(&pmk_lock);
			pmk_run(fs, p);
			pthread_mutex_lock(&pmk_lock);
			continue;
		}
		if (path ? !busy : pmk_stop)
			break;
		pthread_cond_wait(&pmk_cond, &pmk_lock);
	}
	pthread_mutex_unlock(&pmk_lock);
}

/* Before envd is asked about @path. */
static void pmk_settle(struct fs *fs, const char *path)
{
	if (atomic_load(&pmk_count))
		pmk_drain(fs, path);
}

static void *pmk_main(void *arg)
{
	pmk_drain(arg, NULL);
	return NULL;
}

int remote_mkdir_async(struct fs *fs, const char *path)
{
	struct pmk *p, **pp;
	int online, ok = 1;

	pthread_mutex_lock(&fs->lock);
	online = fs->online;
	pthread_mutex_unlock(&fs->lock);
	p = online ? calloc(1, sizeof(*p)) : NULL;
	if (p)
		p->path = strdup(path);
	pthread_mutex_lock(&pmk_lock);
	if (p && p->path && !pmk_started && !pmk_stop) {
		const char *d = getenv("E2BFS_TEST_UPLOAD_DELAY_MS");

		pmk_delay_ms = d ? (unsigned)strtoul(d, NULL, 10) : 0;
		pmk_started = pthread_create(&pmk_thread, NULL, pmk_main, fs) == 0;
	}
	ok = p && p->path && pmk_started && !pmk_stop;
	if (ok) {
		for (pp = &pmk_head; *pp; pp = &(*pp)->next)
			;
		*pp = p;
		atomic_fetch_add(&pmk_count, 1);
		pthread_cond_broadcast(&pmk_cond);
	}
	pthread_mutex_unlock(&pmk_lock);
	if (ok)
		return 0;
	/* Offline (or no memory, no thread): made now, its error said now. */
	if (p)
		free(p->path);
	free(p);
	return remote_mkdir(fs, path);
}

void remote_mkdir_flush(struct fs *fs)
{
	pmk_settle(fs, "/");
}

/* Stop the MakeDir thread once the pending ones are made. */
static void pmk_shutdown(struct fs *fs)
{
	int started;

	remote_mkdir_flush(fs);
	pthread_mutex_lock(&pmk_lock);
	pmk_stop = 1;
	started = pmk_started;
	pmk_started = 0;
	pthread_cond_broadcast(&pmk_cond);
	pthread_mutex_unlock(&pmk_lock);
	if (started)
		pthread_join(pmk_thread, NULL);
}

int remote_stat(struct fs *fs, const char *path, e2b_entry_info **out)
{
	int rc;

	if (fs->debug)
		fs_log(fs, "remote: Stat '%s'", path);
	pmk_settle(fs, path);
	cache_wait_new(fs, path, 0);	/* write-back: created here, not there yet */
	RCALL(fs, rc, e2b_fs_stat(out, fs->sb, path));
	return remote_end(fs, rc);
}

/* @path and everything @depth levels below it, in one ListDir. */
int remote_list_depth(struct fs *fs, const char *path, unsigned depth, e2b_entry_list **out)
{
	int rc;

	if (fs->debug)
		fs_log(fs, "remote: ListDir '%s' depth %u", path, depth);
	pmk_settle(fs, path);
	cache_wait_new(fs, path, 1);	/* write-back: created here, not there yet */
	RCALL(fs, rc, e2b_fs_list(out, fs->sb, path, depth));
	return remote_end(fs, rc);
}

int remote_list(struct fs *fs, const char *path, e2b_entry_list **out)
{
	return remote_list_depth(fs, path, 1, out);
}

int remote_mkdir(struct fs *fs, const char *path)
{
	int rc, created = 0;

	pmk_settle(fs, path);
	RCALL(fs, rc, e2b_fs_mkdir(&created, fs->sb, path));
	if (rc == 0 && !created)
		return -EEXIST;
	return remote_end(fs, rc);
}

int remote_rename(struct fs *fs, const char *from, const char *to)
{
	int rc;

	pmk_settle(fs, from);
	pmk_settle(fs, to);
	RCALL(fs, rc, e2b_fs_rename(NULL, fs->sb, from, to));
	return remote_end(fs, rc);
}

int remote_remove(struct fs *fs, const char *path)
{
	int rc;

	pmk_settle(fs, path);
	RCALL(fs, rc, e2b_fs_remove(fs->sb, path));
	return remote_end(fs, rc);
}

int remote_create(struct fs *fs, const char *path)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	int rc;

	wo.user = fs->o.user;
	RCALL(fs, rc, e2b_fs_write(NULL, fs->sb, path, "", 0, &wo));
	return remote_end(fs, rc);
}

/*
 * Metadata envd has no RPC for (mode, owner, times, FIFOs) goes through
 * one libe2b meta session per mount (<e2b/meta.h>): a long-lived helper
 * in the sandbox, tagged "e2bfs-fixer" (e2bctl ps hides it), started on
 * first use.  Concurrent callers' operations (the upload workers, tar's
 * directory chmods) go in one exchange, and interleaved operations with
 * the same fields (tar's files share a few mtimes) become one request.
 * After remote_shutdown() a call gets a session of its own, freed with
 * it: a late call neither fails nor leaves a helper behind.
 */
static struct {
	pthread_rwlock_t lock;	/* write: creating or freeing the session */
	e2b_meta_session *s;	/* protected by lock */
	int closed;		/* protected by lock: remote_shutdown() has run */
	e2b_meta_stats seen;	/* protected by fs->lock: counted so far */
} meta = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static int meta_new(struct fs *fs, e2b_meta_session **out)
{
	e2b_meta_options mo = E2B_META_OPTIONS_INIT;

	mo.user = fs->o.user;
	mo.timeout_ms = (unsigned)(fs->o.op_timeout * 1000.0);
	mo.tag = "e2bfs-fixer";
	return e2b_meta_session_new(out, fs->sb, &mo);
}

/* The mount's session, made on first use; returns with meta.lock read
 * locked, also when it is NULL (after remote_shutdown, or no memory). */
static e2b_meta_session *meta_get(struct fs *fs)
{
	pthread_rwlock_rdlock(&meta.lock);
	if (meta.s || meta.closed)
		return meta.s;
	pthread_rwlock_unlock(&meta.lock);
	pthread_rwlock_wrlock(&meta.lock);
	if (!meta.s && !meta.closed && meta_new(fs, &meta.s) < 0) {
		meta.s = NULL;
		e2b_error_clear();
	}
	pthread_rwlock_unlock(&meta.lock);
	pthread_rwlock_rdlock(&meta.lock);
	return meta.s;
}

/*
 * The round trips @s made since @seen, as requests: a helper start is two
 * (the process, its token), an exchange one, an operation run one-shot
 * one.  fs->lock held, so that the counts are taken in order.
 */
static uint64_t meta_requests(e2b_meta_session *s, e2b_meta_stats *seen)
{
	e2b_meta_stats now;
	uint64_t n;

	e2b_meta_session_stats(&now, s);
	n = 2 * (now.starts - seen->starts) + (now.exchanges - seen->exchanges) +
	    (now.oneshots - seen->oneshots);
	*seen = now;
	return n;
}

/*
 * Apply @ops (each gets its error and os_errno) through the mount's
 * session; all once more if the sandbox was paused and is now resumed.
 * Returns the first failure's code.
 */
static int meta_run(struct fs *fs, e2b_meta_op *ops, size_t n)
{
	e2b_meta_stats own = { 0 };
	e2b_meta_session *s, *tmp = NULL;
	uint64_t reqs;
	int rc, again = 1;
	double t0;

	s = meta_get(fs);
	if (!s) {
		rc = meta_new(fs, &tmp);
		if (rc < 0) {
			pthread_rwlock_unlock(&meta.lock);
			return rc;
		}
		s = tmp;
	}
	for (;;) {
		t0 = now_mono();
		e2b_error_clear();
		rc = e2b_meta_session_run(s, ops, n);
		pthread_mutex_lock(&fs->lock);
		reqs = meta_requests(s, tmp ? &own : &meta.seen);
		pthread_mutex_unlock(&fs->lock);
		if (!account_n(fs, rc, t0, reqs) || rc >= 0 || !again--)
			break;
	}
	pthread_rwlock_unlock(&meta.lock);
	e2b_meta_session_free(tmp);
	return rc;
}

/* @op's outcome: 0 or -errno (ENOTCONN once the sandbox is gone). */
static int meta_end(struct fs *fs, const e2b_meta_op *op)
{
	const e2b_error *e = e2b_error_last();
	int err, gone;

	if (op->error >= 0)
		return 0;
	pthread_mutex_lock(&fs->lock);
	gone = fs->gone;
	pthread_mutex_unlock(&fs->lock);
	if (gone)
		return -ENOTCONN;
	err = errno_of(op->error, op->os_errno);
	if (err == EIO)
		fs_log(fs, "metadata helper failed on '%s': %.200s", op->path,
		       e->code == op->error ? e->message : e2b_error_code_str(op->error));
	return -err;
}

/* @fix (NULL = nothing) as the E2B_META_SETATTR of @path. */
static void fix_op(e2b_meta_op *op, const char *path, const struct upload_fix *fix)
{
	memset(op, 0, sizeof(*op));
	op->kind = E2B_META_SETATTR;
	op->path = path;
	if (fix && fix->mode >= 0) {
		op->set |= E2B_META_SET_MODE;
		op->mode = (uint32_t)fix->mode & 07777;
	}
	if (fix && fix->atime) {
		op->set |= E2B_META_SET_ATIME;
		op->atime = *fix->atime;
	}
	if (fix && fix->mtime) {
		op->set |= E2B_META_SET_MTIME;
		op->mtime = *fix->mtime;
	}
}

/* One operation through the session: 0 or -errno. */
static int meta_one(struct fs *fs, e2b_meta_op *op)
{
	if (op->kind == E2B_META_SETATTR && !op->set)
		return 0;
	pmk_settle(fs, op->path);
	if (op->kind == E2B_META_LINK && op->target)
		pmk_settle(fs, op->target);
	meta_run(fs, op, 1);
	return meta_end(fs, op);
}

int remote_fix(struct fs *fs, const char *path, const struct upload_fix *fix)
{
	e2b_meta_op op;

	fix_op(&op, path, fix);
	return meta_one(fs, &op);
}

/* A touch -d value of remote_fix_args() ("" = leave, "now", "@SEC.NSEC")
 * into @op. */
static int parse_time(const char *v, e2b_meta_op *op, unsigned flag, unsigned now_flag,
		      struct timespec *ts)
{
	const char *p;
	char *end;
	long ns = 0;
	int i;

	if (!*v)
		return 0;
	if (!strcmp(v, "now")) {
		op->set |= now_flag;
		return 0;
	}
	if (v[0] != '@')
		return -EINVAL;
	errno = 0;
	ts->tv_sec = (time_t)strtoll(v + 1, &end, 10);
	if (errno || end == v + 1)
		return -EINVAL;
	if (*end == '.') {
		p = end + 1;
		for (i = 0; i < 9; i++)
			ns = ns * 10 + (*p >= '0' && *p <= '9' ? *p++ - '0' : 0);
		while (*p >= '0' && *p <= '9')
			p++;
		end = (char *)p;
	}
	if (*end)
		return -EINVAL;
	ts->tv_nsec = ns;
	op->set |= flag;
	return 0;
}

/*
 * chmod @mode (octal) and touch -h @atime/@mtime (touch -d values: "now"
 * or "@SEC.NSEC") of @path in the sandbox; "" = leave.
 */
int remote_fix_args(struct fs *fs, const char *path, const char *mode, const char *atime,
		    const char *mtime)
{
	e2b_meta_op op;
	unsigned long m;
	char *end;
	int rc;

	fix_op(&op, path, NULL);
	if (*mode) {
		errno = 0;
		m = strtoul(mode, &end, 8);
		if (errno || *end || m > 07777)
			return -EINVAL;
		op.set |= E2B_META_SET_MODE;
		op.mode = (uint32_t)m;
	}
	rc = parse_time(atime, &op, E2B_META_SET_ATIME, E2B_META_SET_ATIME_NOW, &op.atime);
	if (rc == 0)
		rc = parse_time(mtime, &op, E2B_META_SET_MTIME, E2B_META_SET_MTIME_NOW,
				&op.mtime);
	return rc < 0 ? rc : meta_one(fs, &op);
}

/*
 * chown -h @path to @uid and/or @gid ((uid_t)-1 / (gid_t)-1 = leave) in
 * the sandbox, as the sandbox user: its kernel applies the usual rules
 * (only root changes the owner; the owner may change the group to one of
 * its own).
 */
int remote_chown(struct fs *fs, const char *path, uid_t uid, gid_t gid)
{
	e2b_meta_op op;

	fix_op(&op, path, NULL);
	if (uid != (uid_t)-1) {
		op.set |= E2B_META_SET_UID;
		op.uid = (uint32_t)uid;
	}
	if (gid != (gid_t)-1) {
		op.set |= E2B_META_SET_GID;
		op.gid = (uint32_t)gid;
	}
	return meta_one(fs, &op);
}

/* The symbolic link @path holding @target, made in the sandbox. */
int remote_symlink(struct fs *fs, const char *target, const char *path)
{
	e2b_meta_op op = { .kind = E2B_META_SYMLINK, .path = path, .target = target };

	return meta_one(fs, &op);
}

/*
 * The hard link @path to the existing @target, made in the sandbox; in
 * the same request, the file's link count after it (envd has none) in
 * @nlink: 0 if the sandbox did not say.
 */
int remote_link(struct fs *fs, const char *target, const char *path, unsigned *nlink)
{
	e2b_meta_op op = { .kind = E2B_META_LINK, .path = path, .target = target };
	int rc = meta_one(fs, &op);

	*nlink = rc == 0 ? op.nlink : 0;
	return rc;
}

/* Truncate or extend the existing file @path to @size in the sandbox. */
int remote_truncate(struct fs *fs, const char *path, uint64_t size)
{
	e2b_meta_op op = { .kind = E2B_META_TRUNCATE, .path = path, .size = size };

	return meta_one(fs, &op);
}

/*
 * The sandbox's user and group names with their ids (its /etc/passwd and
 * /etc/group, read once when -o idmap=none asks for real owners): envd
 * names owners, it does not number them.
 */
struct idname {
	char *name;
	unsigned long id;
};

static struct {
	pthread_mutex_t lock;	/* protects the rest */
	struct idname *users, *groups;
	size_t nusers, ngroups;
} idmap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t idmap_parse(char *text, struct idname **out)
{
	struct idname *v = NULL, *t;
	size_t n = 0;
	char *line = text, *next, *c1, *c2, *end;

	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* name:x:id:... */
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c1 == line)
			continue;
		errno = 0;
		{
			unsigned long id = strtoul(c2 + 1, &end, 10);

			if (errno || end == c2 + 1 || *end != ':')
				continue;
			t = realloc(v, (n + 1) * sizeof(*v));
			if (!t)
				break;
			v = t;
			v[n].name = strndup(line, (size_t)(c1 - line));
			if (!v[n].name)
				break;
			v[n].id = id;
			n++;
		}
	}
	*out = v;
	return n;
}

int remote_idmap_load(struct fs *fs)
{
	char *pw = NULL, *gr = NULL;
	size_t len;
	int rc;

	RCALL(fs, rc, e2b_fs_read(&pw, &len, fs->sb, "/etc/passwd", NULL));
	rc = remote_end(fs, rc);
	if (rc == 0) {
		RCALL(fs, rc, e2b_fs_read(&gr, &len, fs->sb, "/etc/group", NULL));
		rc = remote_end(fs, rc);
	}
	pthread_mutex_lock(&idmap.lock);
	if (pw && !idmap.users)
		idmap.nusers = idmap_parse(pw, &idmap.users);
	if (gr && !idmap.groups)
		idmap.ngroups = idmap_parse(gr, &idmap.groups);
	pthread_mutex_unlock(&idmap.lock);
	e2b_free(pw);
	e2b_free(gr);
	return rc;
}

static unsigned long idmap_find(const struct idname *v, size_t n, const char *name)
{
	unsigned long id;
	char *end;
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return v[i].id;
	/* envd gives the number when the sandbox has no name for it. */
	errno = 0;
	id = strtoul(name, &end, 10);
	if (!errno && end != name && !*end)
		return id;
	return 65534;	/* the overflow id ("nobody"), as NFS shows it */
}

/*
 * A FIFO, socket or device node at @path (@mode: type and permissions),
 * made in the sandbox as the sandbox user.  What the sandbox refuses or
 * cannot make is EPERM, as mknod(2) says it (never ENOSYS).
 */
int remote_mknod(struct fs *fs, const char *path, mode_t mode, dev_t rdev)
{
	char m[16], maj[24], mi[24];
	const char *dev[] = { "mknod", "-m", m, "--", path, S_ISCHR(mode) ? "c" : "b", maj, mi,
			      NULL };
	/* coreutils' mknod makes no sockets; mknod(2) does. */
	const char *sock[] = { "python3", "-c",
		"import os, sys; os.mknod(sys.argv[1], 0o140000 | int(sys.argv[2], 8))",
		path, m, NULL };
	const char *const *argv;
	int rc;

	pmk_settle(fs, path);
	snprintf(m, sizeof(m), "%o", (unsigned)(mode & 07777));
	snprintf(maj, sizeof(maj), "%u", major(rdev));
	snprintf(mi, sizeof(mi), "%u", minor(rdev));
	if (S_ISFIFO(mode)) {
		/* Through the session: one exchange, no process of its own. */
		e2b_meta_op op = { .kind = E2B_META_MKFIFO, .path = path,
				   .mode = (uint32_t)mode & 07777 };

		meta_run(fs, &op, 1);
		rc = meta_end(fs, &op);
	} else {
		if (S_ISCHR(mode) || S_ISBLK(mode))
			argv = dev;
		else if (S_ISSOCK(mode))
			argv = sock;
		else
			return -EPERM;
		rc = remote_helper(fs, argv, NULL);
	}
	switch (-rc) {
	case 0:
	case EEXIST:
	case ENOTDIR:
	case EACCES:
	case ENOSPC:
	case EROFS:
	case ENOTCONN:
		return rc;
	case ENOENT:
		/* A missing parent, or a missing tool (a sandbox without
		 * python3 for a socket). */
		return S_ISSOCK(mode) ? -EPERM : rc;
	default:
		return -EPERM;
	}
}

/* The sandbox's id of user or group @name (or its number as text). */
static unsigned long idmap_id(int group, const char *name)
{
	unsigned long id;

	pthread_mutex_lock(&idmap.lock);
	id = group ? idmap_find(idmap.groups, idmap.ngroups, name ? name : "") :
		     idmap_find(idmap.users, idmap.nusers, name ? name : "");
	pthread_mutex_unlock(&idmap.lock);
	return id;
}

uid_t remote_uid(const char *name)
{
	return (uid_t)idmap_id(0, name);
}

gid_t remote_gid(const char *name)
{
	return (gid_t)idmap_id(1, name);
}

void remote_shutdown(struct fs *fs)
{
	pmk_shutdown(fs);
	/* Waits for the calls using the session (each bounded by
	 * op_timeout); the helper is stopped with it. */
	pthread_rwlock_wrlock(&meta.lock);
	e2b_meta_session_free(meta.s);
	meta.s = NULL;
	meta.closed = 1;
	pthread_rwlock_unlock(&meta.lock);
}

/* Count @n requests made inside one counted call (an atomic write's Move,
 * its attributes' exchange). */
static void count_more(struct fs *fs, uint64_t n)
{
	pthread_mutex_lock(&fs->lock);
	fs->st.rpc += n;
	pthread_mutex_unlock(&fs->lock);
}

/*
 * Upload the whole of @fd (from offset 0) atomically over @path (libe2b's
 * E2B_WRITE_ATOMIC): to a temporary name beside it, with @fix's mode and
 * times set through the mount's session before the Move, whose reply is
 * the new entry (so no Stat is needed afterwards).  A failed upload never
 * truncates @path.  fix->mode < 0 is the upload's own 0644: given, it
 * spares the Stat the library makes to keep the old file's mode.  As
 * root, a rewrite keeps the file's owner and group (the upload makes the
 * temporary root's); as another user it is that user's file anyway.
 */
int remote_upload_fd(struct fs *fs, const char *path, int fd, const struct upload_fix *fix,
		     e2b_entry_info **out)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	e2b_write_info *wi = NULL;
	e2b_meta_session *s;
	e2b_meta_op attrs;
	uint64_t reqs;
	int rc;

	if (out)
		*out = NULL;
	fix_op(&attrs, path, fix);
	/* An upload's own mode (0644) is wanted: no Stat, no chmod. */
	if (fix && fix->mode < 0)
		wo.flags |= E2B_WRITE_UPLOAD_MODE;
	if (fs->o.user && !strcmp(fs->o.user, "root")) {
		attrs.set |= E2B_META_SET_OWNER_OF;
		attrs.owner_of = path;
	}
	s = meta_get(fs);
	wo.user = fs->o.user;
	wo.flags |= E2B_WRITE_ATOMIC;
	wo.attrs = attrs.set ? &attrs : NULL;
	wo.meta_session = s;
	RCALL(fs, rc, (e2b_write_info_free(wi), wi = NULL,
		       lseek(fd, 0, SEEK_SET) < 0 ? E2B_ERROR :
		       e2b_fs_write_fd(&wi, fs->sb, path, fd, &wo)));
	pthread_mutex_lock(&fs->lock);
	reqs = s ? meta_requests(s, &meta.seen) : 0;
	fs->st.uploads++;
	if (rc < 0)
		fs->st.upload_errors++;
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&meta.lock);
	/* The Move (no temporary when the path left no room for one). */
	count_more(fs, reqs + (wi && wi->entry ? 1 : 0));
	if (rc == 0 && out && wi && wi->entry) {
		/* Taken from the write info (filesystem.h allows it). */
		*out = (e2b_entry_info *)wi->entry;
		wi->entry = NULL;
	}
	e2b_write_info_free(wi);
	return remote_end(fs, rc);
}

/*
 * Upload a file created here, which the sandbox does not have yet, straight
 * to @path (no temporary: there is nothing to protect), then its mode and
 * times.
 */
int remote_upload_new(struct fs *fs, const char *path, int fd, const struct upload_fix *fix)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	int rc;

	wo.user = fs->o.user;
	RCALL(fs, rc, (lseek(fd, 0, SEEK_SET) < 0 ? E2B_ERROR :
		       e2b_fs_write_fd(NULL, fs->sb, path, fd, &wo)));
	pthread_mutex_lock(&fs->lock);
	fs->st.uploads++;
	if (rc < 0)
		fs->st.upload_errors++;
	pthread_mutex_unlock(&fs->lock);
	if (rc < 0)
		return remote_end(fs, rc);
	return remote_fix(fs, path, fix);
}

/* A ranged GET handed to a callback; counts what the callback took. */
struct cbsink {
	e2b_data_cb cb;
	void *arg;
	uint64_t got;
};

static int cbsink_cb(const char *data, size_t len, void *payload)
{
	struct cbsink *s = payload;
	int stop = s->cb(data, len, s->arg);

	if (!stop)
		s->got += len;
	return stop;
}

/*
 * Hand [off, off+len) of @path to @cb as it arrives (a non-zero return
 * stops it); a retry after a dropped connection goes on where the data
 * stopped, so @cb sees every byte once and in order.  *got: the bytes @cb
 * took; @remote_size (may be NULL): the file's size as envd saw it.
 */
static int read_range(struct fs *fs, const char *path, uint64_t off, uint64_t len,
		      uint64_t *got, uint64_t *remote_size, e2b_data_cb cb, void *arg, int shared)
{
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	e2b_read_info info = { 0 };
	struct cbsink s = { cb, arg, 0 };
	int rc;

	ro.user = fs->o.user;
	ro.shared = shared && fs->shared_reads;
	RCALL(fs, rc, (ro.offset = off + s.got, ro.length = len - s.got,
		       e2b_fs_read_stream(&info, fs->sb, path, &ro, cbsink_cb, &s)));
	*got = s.got;
	if (remote_size)
		*remote_size = info.file_size;
	pthread_mutex_lock(&fs->lock);
	fs->st.cache_misses += s.got;
	pthread_mutex_unlock(&fs->lock);
	return remote_end(fs, rc);
}

/* Where a range goes in the cache file: the next byte's offset. */
struct fdsink {
	int fd;
	uint64_t pos;
};

static int fdsink_cb(const char *data, size_t len, void *payload)
{
	struct fdsink *s = payload;
	ssize_t n;

	while (len) {
		n = pwrite(s->fd, data, len, (off_t)s->pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		s->pos += (uint64_t)n;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fetch [off, off+len) of @path into @fd at the same offsets. */
int remote_read_to_fd(struct fs *fs, const char *path, int fd, uint64_t off,
		      uint64_t len, uint64_t *got, uint64_t *remote_size)
{
	struct fdsink s = { fd, off };

	return read_range(fs, path, off, len, got, remote_size, fdsink_cb, &s, 1);
}

/* [off, off+len) of @path to @cb (read_range()). */
int remote_read_cb(struct fs *fs, const char *path, uint64_t off, uint64_t len,
		   uint64_t *got, e2b_data_cb cb, void *arg)
{
	/* (@cb may block: a stream's ring waits for its reader) */
	return read_range(fs, path, off, len, got, NULL, cb, arg, 0);
}

/*
 * Run a fixed helper program (argv, never a shell string built from a
 * path).  On failure the helper's stderr picks the errno (libe2b's
 * e2b_meta_errno_from_text()).
 */
int remote_helper(struct fs *fs, const char *const *argv, char **out)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	int rc, err = 0;

	co.user = fs->o.user;
	co.timeout_ms = (unsigned)(fs->o.op_timeout * 1000.0);
	co.max_output = 1 << 20;
	RCALL(fs, rc, (e2b_process_result_release(&r),
		       e2b_commands_run_argv(&r, fs->sb, argv, &co)));
	/* Start is not retried by libe2b: one more try after a dropped
	 * connection (links, which must not run twice, go through the meta
	 * session instead). */
	if (rc == E2B_EUNAVAILABLE) {
		RCALL(fs, rc, (e2b_process_result_release(&r),
			       e2b_commands_run_argv(&r, fs->sb, argv, &co)));
	}
	if (rc == E2B_EEXIT) {
		const char *m = r.err ? r.err : "";

		/* The tool's reason, as libe2b reads OS error text. */
		err = e2b_meta_errno_from_text(m);
		if (!err)
			err = EIO;
		if (err == EIO)
			fs_log(fs, "helper '%s' failed: %.200s", argv[0], m);
	} else if (rc < 0) {
		err = -remote_end(fs, rc);
	}
	if (!err && out) {
		*out = strdup(r.out ? r.out : "");
		if (!*out)
			err = ENOMEM;
	}
	e2b_process_result_release(&r);
	return -err;
}

int remote_statfs(struct fs *fs, e2b_envd_metrics *m)
{
	int rc;

	RCALL(fs, rc, e2b_sandbox_envd_metrics(m, fs->sb));
	return remote_end(fs, rc);
}

/*
 * Write-back of several small files created here (none exists in the
 * sandbox yet): one multipart POST for all of them, straight to their
 * paths (envd makes missing parents).  Sets each item's rc (0 / -errno);
 * returns the first error.  Their modes and times follow with
 * remote_fix_many().
 */
int remote_upload_new_many(struct fs *fs, struct upload_item *items, size_t n)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	e2b_write_file *wf = calloc(n ? n : 1, sizeof(*wf));
	size_t i;
	int rc, first = 0;

	if (!wf) {
		for (i = 0; i < n; i++)
			items[i].rc = -ENOMEM;
		return n ? -ENOMEM : 0;
	}
	for (i = 0; i < n; i++) {
		wf[i].path = items[i].path;
		wf[i].data = items[i].data;
		wf[i].len = items[i].len;
	}
	wo.user = fs->o.user;
	RCALL(fs, rc, e2b_fs_write_files(fs->sb, wf, n, &wo));
	(void)rc;	/* each entry has its own error */
	for (i = 0; i < n; i++) {
		items[i].rc = wf[i].error < 0 ? remote_end(fs, wf[i].error) : 0;
		pthread_mutex_lock(&fs->lock);
		fs->st.uploads++;
		if (items[i].rc < 0)
			fs->st.upload_errors++;
		pthread_mutex_unlock(&fs->lock);
		if (items[i].rc < 0 && !first)
			first = items[i].rc;
	}
	free(wf);
	return first;
}

/*
 * The modes and times of the items whose rc is 0, in one exchange of the
 * mount's session; sets their rc (0 / -errno) and returns the first error.
 */
int remote_fix_many(struct fs *fs, struct upload_item *items, size_t n)
{
	e2b_meta_op *ops = calloc(n ? n : 1, sizeof(*ops));
	size_t i, k = 0;
	int first = 0;

	if (!ops) {
		for (i = 0; i < n; i++)
			if (items[i].rc == 0)
				items[i].rc = -ENOMEM;
		return n ? -ENOMEM : 0;
	}
	for (i = 0; i < n; i++) {
		if (items[i].rc != 0)
			continue;
		fix_op(&ops[k], items[i].path, &items[i].fix);
		if (ops[k].set)
			k++;
	}
	if (k)
		meta_run(fs, ops, k);
	for (i = 0, k = 0; i < n; i++) {
		e2b_meta_op op;

		if (items[i].rc != 0)
			continue;
		fix_op(&op, items[i].path, &items[i].fix);
		if (!op.set)
			continue;
		items[i].rc = meta_end(fs, &ops[k++]);
		if (items[i].rc < 0 && !first)
			first = items[i].rc;
	}
	free(ops);
	return first;
}

/* ---- the mount's sandbox, its processes and its watch ------------------
 * The calls of main.c, ctl.c and watch.c.  They are neither counted in
 * the request statistics nor retried after a resume (they never were);
 * their failures map through remote_errno() like every other.
 */
static int mapped(int rc)
{
	return rc < 0 ? -remote_errno(rc) : 0;
}

/*
 * Report a failure to reach the sandbox once: the library's message
 * already names it ("sandbox 'X' not found"), so it is not said twice; a
 * connection failure with no server configured says what to set.
 */
static void attach_error(struct fs *fs, const char *verb, int rc, int no_server_set)
{
	const char *m = e2b_error_last()->message;

	if (strstr(m, fs->sandbox_id))
		fprintf(stderr, "e2bfs: %s", m);
	else
		fprintf(stderr, "e2bfs: cannot %s sandbox '%s': %s", verb, fs->sandbox_id, m);
	if (rc == E2B_EUNAVAILABLE && no_server_set)
		fputs(" (no server set: E2B_API_URL or E2B_DOMAIN, or -o api_url=URL "
		      "or -o domain=D; "
		      "the default is E2B's cloud, api.e2b.app)", stderr);
	fputc('\n', stderr);
}

/* Attach to the sandbox: resume it if paused (unless noautoresume). */
int remote_attach(struct fs *fs, int no_server_set)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_sandbox_info *info = NULL;
	char *url = NULL;
	long long left;
	int rc;

	rc = e2b_mgmt_get_info(&info, fs->client, fs->sandbox_id);
	if (rc < 0) {
		attach_error(fs, "find", rc, no_server_set);
		return -1;
	}
	if (info->state == E2B_SANDBOX_STATE_PAUSED) {
		if (fs->o.noautoresume) {
			fprintf(stderr, "e2bfs: sandbox '%s' is paused (noautoresume)\n",
				fs->sandbox_id);
			e2b_sandbox_info_free(info);
			return -1;
		}
		/* Resume with the time it had left (at least the default). */
		left = info->end_at_ms / 1000 - (long long)time(NULL);
		e2b_sandbox_info_free(info);
		rc = e2b_sandbox_connect(&fs->sb, fs->client, fs->sandbox_id,
					 left > 300 && left < UINT_MAX ? (unsigned)left : 0);
	} else {
		oo.envd_access_token = info->envd_access_token[0] ? info->envd_access_token : NULL;
		oo.envd_version = info->envd_version[0] ? info->envd_version : NULL;
		oo.domain = info->domain[0] ? info->domain : NULL;
		oo.template_id = info->template_id;
		rc = e2b_sandbox_open(&fs->sb, fs->client, fs->sandbox_id, &oo);
		e2b_sandbox_info_free(info);
	}
	if (rc < 0) {
		attach_error(fs, "connect to", rc, no_server_set);
		return -1;
	}
	/* Over TLS, content reads share the client's HTTP/2 connection: a
	 * connection per thread cost the fetch-ahead's 64 threads a TLS
	 * handshake each.  Plain HTTP/1.1 keeps a connection per thread. */
	if (e2b_sandbox_envd_url(&url, fs->sb) == 0 && url)
		fs->shared_reads = strncmp(url, "https://", 8) == 0;
	e2b_free(url);
	return 0;
}

int remote_stat_root(struct fs *fs, const char *path, e2b_entry_info **out)
{
	int rc = e2b_fs_stat(out, fs->sb, path);

	if (rc < 0)
		fprintf(stderr, "e2bfs: cannot stat '%s' in sandbox '%s': %s\n", path,
			fs->sandbox_id, e2b_error_last()->message);
	return mapped(rc);
}

void remote_keepalive(struct fs *fs)
{
	e2b_sandbox_info *info = NULL;

	if (e2b_mgmt_get_info(&info, fs->client, fs->sandbox_id) == 0) {
		int64_t left = info->end_at_ms ? info->end_at_ms / 1000 - time(NULL) : 0;

		/* Only ever extend: ask for 5 minutes when fewer are left. */
		if (info->end_at_ms && left < 240)
			e2b_sandbox_set_timeout(fs->sb, 300);
	}
	e2b_sandbox_info_free(info);
}

int remote_sandbox_info(struct fs *fs, e2b_sandbox_info **out)
{
	return mapped(e2b_sandbox_get_info(out, fs->sb));
}

int remote_set_timeout(struct fs *fs, unsigned secs)
{
	return mapped(e2b_sandbox_set_timeout(fs->sb, secs));
}

int remote_pause(struct fs *fs)
{
	return mapped(e2b_sandbox_pause(NULL, fs->sb));
}

int remote_kill(struct fs *fs)
{
	return mapped(e2b_sandbox_kill(NULL, fs->sb));
}

int remote_proc_list(struct fs *fs, e2b_process_list **out)
{
	return mapped(e2b_commands_list(out, fs->sb));
}

int remote_proc_start(struct fs *fs, const char *cmd, const e2b_commands_options *co,
		      e2b_process **out)
{
	return mapped(e2b_commands_start(out, fs->sb, cmd, co));
}

int remote_proc_connect(struct fs *fs, uint32_t pid, const e2b_commands_options *co,
			e2b_process **out)
{
	return mapped(e2b_commands_connect(out, fs->sb, pid, co));
}

int remote_proc_wait(e2b_process *h, e2b_process_result *r, e2b_data_cb on_stdout,
		     e2b_data_cb on_stderr, void *payload)
{
	int rc = e2b_process_wait(r, h, on_stdout, on_stderr, payload);

	if (rc == 0 || rc == E2B_EEXIT)
		return 0;
	return rc == E2B_ECANCELED ? -ECANCELED : -remote_errno(rc);
}

void remote_proc_cancel(e2b_process *h)
{
	e2b_process_cancel(h);
}

int remote_proc_stdin(struct fs *fs, uint32_t pid, const char *buf, size_t size)
{
	return mapped(e2b_commands_write_stdin(fs->sb, pid, buf, size));
}

int remote_proc_close_stdin(struct fs *fs, uint32_t pid)
{
	return mapped(e2b_commands_close_stdin(fs->sb, pid));
}

int remote_proc_signal(struct fs *fs, uint32_t pid, int kill)
{
	int found;

	if (kill)
		return mapped(e2b_commands_kill(&found, fs->sb, pid));
	return mapped(e2b_commands_signal(&found, fs->sb, pid, E2B_SIGNAL_SIGTERM));
}

int remote_watch_open(struct fs *fs, e2b_fs_watch_options *wo, e2b_fs_watch **out)
{
	int rc;

	/* With the entry in each event, attributes are updated, not dropped. */
	wo->include_entry = e2b_sandbox_has_feature(fs->sb, E2B_FEATURE_WATCH_ENTRY_INFO);
	rc = e2b_fs_watch_start(out, fs->sb, fs->root, wo);
	if (rc < 0 && fs->debug)
		fs_log(fs, "watch: cannot watch '%s': %s", fs->root, e2b_error_last()->message);
	return mapped(rc);
}

const char *remote_watch_run(e2b_fs_watch *w)
{
	return e2b_error_code_str(w ? e2b_fs_watch_run(w) : E2B_ECANCELED);
}

void remote_watch_cancel(e2b_fs_watch *w)
{
	e2b_fs_watch_cancel(w);
}
