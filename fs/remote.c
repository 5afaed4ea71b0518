/* SPDX-License-Identifier: MIT */
/*
 * The remote layer: every libe2b call e2bfs makes goes through here, so
 * that request counting, the online/offline state, resuming a paused
 * sandbox and the one remote-error -> errno mapping live in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
int remote_errno(int code)
{
	const e2b_error *e = e2b_error_last();
	int os = e->code == code ? e->os_errno : 0;

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
 * Account for one finished call.  Returns 1 when the caller should try
 * once more because a paused sandbox was just resumed.
 */
static int account(struct fs *fs, int rc, double t0)
{
	double ms = (now_mono() - t0) * 1000.0;
	int sandbox_down = 0, retry = 0;
	const e2b_error *e = e2b_error_last();

	if (rc == E2B_EUNAVAILABLE || rc == E2B_ETIMEOUT ||
	    (rc == E2B_ENOTFOUND && e->http_status == 502))
		sandbox_down = 1;
	pthread_mutex_lock(&fs->lock);
	fs->st.rpc++;
	fs->st.rpc_ms += (uint64_t)ms;
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
	if (sandbox_down && rc != E2B_ETIMEOUT) {
		e2b_sandbox_info *info = NULL;
		double now = now_mono();
		int check = 0, code;

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
		code = check ? e2b_api_get_info(&info, fs->client, fs->sandbox_id) : -1;
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
	}
	return retry;
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

int remote_stat(struct fs *fs, const char *path, e2b_entry_info **out)
{
	int rc;

	if (fs->debug)
		fs_log(fs, "remote: Stat '%s'", path);
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

	RCALL(fs, rc, e2b_fs_mkdir(&created, fs->sb, path));
	if (rc == 0 && !created)
		return -EEXIST;
	return remote_end(fs, rc);
}

int remote_rename(struct fs *fs, const char *from, const char *to)
{
	int rc;

	RCALL(fs, rc, e2b_fs_rename(NULL, fs->sb, from, to));
	return remote_end(fs, rc);
}

int remote_remove(struct fs *fs, const char *path)
{
	int rc;

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
 * "<dir>/.<base>.e2b-tmp-<random>" beside @path (libe2b's pattern).  The
 * base is shortened as needed so that the name stays within NAME_MAX and
 * the path within PATH_MAX whenever @path itself does (the random part
 * alone keeps it unique): a long name must not make its upload fail.
 */
#define TEMP_SUFFIX 26	/* ".", ".e2b-tmp-" and 16 hex digits */
static char *temp_beside(const char *path)
{
	const char *slash = strrchr(path, '/');
	unsigned char rnd[8] = { 0 };
	size_t n = strlen(path) + 32, base, room;
	char *t = malloc(n);
	int fd, len;

	if (!t || !slash)
		goto fail;
	base = strlen(slash + 1);
	if (base > 255 - TEMP_SUFFIX)
		base = 255 - TEMP_SUFFIX;
	room = 4095 - (size_t)(slash - path) - 1;	/* PATH_MAX less NUL, dir, '/' */
	if ((size_t)(slash - path) + 1 >= 4095 || room < TEMP_SUFFIX) {
		free(t);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (base > room - TEMP_SUFFIX)
		base = room - TEMP_SUFFIX;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, rnd, sizeof(rnd)) < 0)
			rnd[0] = (unsigned char)getpid();
		close(fd);
	}
	len = snprintf(t, n, "%.*s/.%.*s.e2b-tmp-%02x%02x%02x%02x%02x%02x%02x%02x",
		       (int)(slash - path), path, (int)base, slash + 1, rnd[0], rnd[1], rnd[2],
		       rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (len < 0 || (size_t)len >= n)
		goto fail;
	return t;
fail:
	free(t);
	errno = ENOMEM;
	return NULL;
}

/*
 * Metadata fixes (chmod, utimens) have no envd RPC, so they run in the
 * sandbox.  Starting a process per file costs a spawn per file, so one
 * long-lived bash per mount (the fixer) reads requests on stdin and
 * answers on stdout; a fix then costs only the chmod/touch it needs.
 * Stdin is first a random token, then per request NUL-terminated fields:
 * sequence number, owner (chown -h value, "UID:GID", "UID" or ":GID", or
 * "=PATH" for PATH's owner and group if it has one; first, as chown
 * clears set-id bits), octal mode, access time, modification time (touch
 * -d values; empty = leave), then the paths it applies to and an empty
 * field.  `read -r -d ''` puts
 * them in variables that are only ever expanded quoted after `--`: a path
 * is data, never shell text.  The tools' stderr comes on stdout, then the
 * line "TOKEN SEQ STATUS"; the token (never on a command line) keeps a
 * path in an error message from forging an answer.  FIX_BODY is also the
 * one-shot fallback run with /bin/sh when the fixer cannot run.
 */
#define FIX_BODY \
	"fix() { " \
	"case \"$o\" in '') ;; =*) chown -h --reference=\"${o#=}\" -- \"$@\" 2>/dev/null ;; " \
	"*) chown -h \"$o\" -- \"$@\" || return 1 ;; esac; " \
	"if [ -n \"$m\" ]; then chmod \"$m\" -- \"$@\" || return 1; fi; " \
	"if [ -n \"$a\" ] && [ \"$a\" = \"$t\" ]; then " \
	"touch -c -h -d \"$a\" -- \"$@\"; return; fi; " \
	"if [ -n \"$a\" ]; then touch -c -h -a -d \"$a\" -- \"$@\" || return 1; fi; " \
	"if [ -n \"$t\" ]; then touch -c -h -m -d \"$t\" -- \"$@\" || return 1; fi; " \
	"return 0; }; "

/* A request is the five fields, then its paths, then an empty field: the
 * same fix for several files costs one chmod and one touch. */
static const char fix_loop[] =
	FIX_BODY
	"IFS= read -r -d '' k || exit 1; "
	"while IFS= read -r -d '' s && IFS= read -r -d '' o && IFS= read -r -d '' m && "
	"IFS= read -r -d '' a && IFS= read -r -d '' t; do "
	"ps=(); while IFS= read -r -d '' p && [ -n \"$p\" ]; do ps+=(\"$p\"); done; "
	"[ ${#ps[@]} -gt 0 ] || exit 1; "
	"fix \"${ps[@]}\" 2>&1; printf '%s %s %d\\n' \"$k\" \"$s\" \"$?\"; done";

static struct {
	pthread_mutex_t lock;	/* one batch at a time; protects the rest */
	e2b_process *proc;	/* NULL = not running */
	int disabled;		/* could not start: one-shot helpers only */
	uint64_t seq;
	char token[33];
	char buf[65536];	/* stdout not yet matched to a request */
	size_t len;
} fixer = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Group commit: callers queue their request; whoever finds no batch in
 * flight becomes the leader, sends every queued request in one stdin
 * write and collects the answers (they come in order), so N concurrent
 * fixes (the upload workers, tar's directory chmods) cost one round trip,
 * not N.
 */
struct fixreq {
	const char *o, *m, *a, *t, *path;
	int rc;			/* 0 / -errno, 1 = fixer failed (fall back) */
	int done;
	struct fixreq *next;
};

#define FIX_BATCH_MAX 128

static struct {
	pthread_mutex_t lock;	/* protects the rest */
	pthread_cond_t cond;	/* a batch ended */
	struct fixreq *head, *tail;
	int leader;		/* a batch is in flight */
} fixq = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int fixer_out(const char *data, size_t len, void *payload)
{
	(void)payload;
	if (len > sizeof(fixer.buf) - 1 - fixer.len) {
		/* Keep the tail: the answer line comes last. */
		if (len > sizeof(fixer.buf) - 1) {
			data += len - (sizeof(fixer.buf) - 1);
			len = sizeof(fixer.buf) - 1;
		}
		if (fixer.len > sizeof(fixer.buf) - 1 - len) {
			size_t drop = fixer.len - (sizeof(fixer.buf) - 1 - len);

			memmove(fixer.buf, fixer.buf + drop, fixer.len - drop);
			fixer.len -= drop;
		}
	}
	memcpy(fixer.buf + fixer.len, data, len);
	fixer.len += len;
	fixer.buf[fixer.len] = '\0';
	return 0;
}

/* Called with fixer.lock held: a dead or confused fixer is killed. */
static void fixer_stop(struct fs *fs, const char *why)
{
	if (!fixer.proc)
		return;
	if (why)
		fs_log(fs, "metadata helper %s, restarting it", why);
	e2b_process_kill(NULL, fixer.proc);
	e2b_process_free(fixer.proc);
	fixer.proc = NULL;
	fixer.len = 0;
}

static int fixer_start(struct fs *fs)
{
	e2b_command_options co = E2B_COMMAND_OPTIONS_INIT;
	const char *argv[] = { "/bin/bash", "-c", fix_loop, "e2bfs-fixer", NULL };
	unsigned char rnd[16] = { 0 };
	int rc, fd;
	double t0;
	size_t i;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(fixer.token + 2 * i, 3, "%02x", rnd[i]);
	co.user = fs->o.user;
	co.stdin_open = 1;
	co.stdin_stream = 1;
	co.tag = "e2bfs-fixer";
	co.on_stdout = fixer_out;
	co.max_output = 1 << 16;
	RCALL(fs, rc, e2b_commands_start_argv(&fixer.proc, fs->sb, argv, &co));
	if (rc < 0) {
		fixer.proc = NULL;
		/* A sandbox without bash: one-shot helpers from now on. */
		if (rc == E2B_ENOTFOUND || rc == E2B_EINVALID || rc == E2B_ERROR)
			fixer.disabled = 1;
		return rc;
	}
	fixer.len = 0;
	t0 = now_mono();
	rc = e2b_process_send_stdin(fixer.proc, fixer.token, sizeof(fixer.token));
	account(fs, rc, t0);
	if (rc < 0) {
		fixer_stop(fs, "did not take its token");
		return rc;
	}
	return 0;
}

static int err_from_text(const char *m)
{
	if (strstr(m, "No such file"))
		return ENOENT;
	if (strstr(m, "Permission denied"))
		return EACCES;
	if (strstr(m, "not permitted"))
		return EPERM;
	if (strstr(m, "File exists"))
		return EEXIST;
	if (strstr(m, "Not a directory"))
		return ENOTDIR;
	if (strstr(m, "Is a directory"))
		return EISDIR;
	if (strstr(m, "Read-only"))
		return EROFS;
	if (strstr(m, "No space"))
		return ENOSPC;
	if (strstr(m, "Invalid argument"))
		return EINVAL;
	if (strstr(m, "File too large"))
		return EFBIG;
	return EIO;
}

/*
 * The answer to request @sq in fixer.buf: 0 / -errno, or 1 if not there
 * yet.  It is the line "TOKEN SEQ STATUS" at a line start; the text before
 * it is that request's tools' output.  A found answer is consumed.
 */
static int fixer_answer(struct fs *fs, const char *sq)
{
	char want[64], *p = fixer.buf, *st, *end;
	size_t wl;
	long v;

	wl = (size_t)snprintf(want, sizeof(want), "%s %s ", fixer.token, sq);
	while ((p = strstr(p, want))) {
		if (p != fixer.buf && p[-1] != '\n') {
			p++;
			continue;
		}
		st = p + wl;
		end = strchr(st, '\n');
		if (!end)
			return 1;
		errno = 0;
		v = strtol(st, NULL, 10);
		if (errno || v < 0)
			v = 1;
		if (v != 0) {
			*p = '\0';
			v = err_from_text(fixer.buf);
			if (v == EIO)
				fs_log(fs, "metadata helper failed: %.200s", fixer.buf);
		}
		end++;
		fixer.len -= (size_t)(end - fixer.buf);
		memmove(fixer.buf, end, fixer.len + 1);
		return (int)-v;
	}
	return 1;
}

/* Do @a and @b ask for the same fix (of maybe other paths)? */
static int same_fix(const struct fixreq *a, const struct fixreq *b)
{
	return !strcmp(a->o, b->o) && !strcmp(a->m, b->m) && !strcmp(a->a, b->a) &&
	       !strcmp(a->t, b->t);
}

/*
 * Order @reqs so that requests asking for the same fix are next to each
 * other (groups in the order of their first member, members in their
 * order): tar's and cp's files share a handful of mtimes but arrive
 * interleaved.  A request whose path occurs twice in the batch keeps its
 * place, as do all after it with that path, so one path's fixes still
 * run in the order they were asked.
 */
static void fix_regroup(struct fixreq **reqs, size_t n)
{
	struct fixreq **out = malloc(n * sizeof(*out));
	char *used = calloc(n, 1), *dup = calloc(n, 1);
	size_t i, j, k = 0;

	if (!out || !used || !dup || n < 3)
		goto done;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!strcmp(reqs[i]->path, reqs[j]->path))
				dup[i] = dup[j] = 1;
	for (i = 0; i < n; i++) {
		if (used[i])
			continue;
		out[k++] = reqs[i];
		used[i] = 1;
		if (dup[i])
			continue;
		for (j = i + 1; j < n; j++) {
			if (!used[j] && !dup[j] && same_fix(reqs[i], reqs[j])) {
				out[k++] = reqs[j];
				used[j] = 1;
			}
		}
	}
	memcpy(reqs, out, n * sizeof(*out));
done:
	free(out);
	free(used);
	free(dup);
}

/*
 * One batch of requests to the fixer, in one stdin write; a run of
 * requests with the same fix (tar's files share their mtime to the
 * second) is one fixer request.  Sets each request's rc: 0 / -errno for
 * the fix itself, or 1 when the fixer failed (stopped) or a group of
 * several failed as a whole (the caller falls back, one by one, which
 * finds whose error it was).  Bounded by op_timeout.  fixer.lock held.
 */
static void fixer_batch(struct fs *fs, struct fixreq **reqs, size_t nreq)
{
	double deadline = now_mono() + fs->o.op_timeout, t0;
	const char *fields[5];
	size_t n = 0, off = 0, i, j, next = 0, ngroups = 0, *gstart;
	uint64_t first;
	int rc, ended = 0;
	char sq[24], *req;

	for (i = 0; i < nreq; i++)
		reqs[i]->rc = 1;
	if (!fixer.proc && (fixer.disabled || fixer_start(fs) < 0))
		return;
	fix_regroup(reqs, nreq);
	gstart = malloc((nreq + 1) * sizeof(*gstart));
	for (i = 0; i < nreq; i++) {
		n += 24 + 1;
		n += strlen(reqs[i]->o) + strlen(reqs[i]->m) + strlen(reqs[i]->a) +
		     strlen(reqs[i]->t) + strlen(reqs[i]->path) + 5;
	}
	req = gstart ? malloc(n) : NULL;
	if (!req) {
		for (i = 0; i < nreq; i++)
			reqs[i]->rc = -ENOMEM;
		free(gstart);
		return;
	}
	first = fixer.seq + 1;
	for (i = 0; i < nreq; i++) {
		if (i && same_fix(reqs[i], reqs[i - 1])) {
			size_t l = strlen(reqs[i]->path);

			memcpy(req + off - 1, reqs[i]->path, l + 1);	/* over the end mark */
			off += l;
			req[off++] = '\0';
			continue;
		}
		gstart[ngroups] = i;
		snprintf(sq, sizeof(sq), "%llu", (unsigned long long)(first + ngroups));
		ngroups++;
		fields[0] = sq;
		fields[1] = reqs[i]->o;
		fields[2] = reqs[i]->m;
		fields[3] = reqs[i]->a;
		fields[4] = reqs[i]->t;
		for (j = 0; j < 5; j++) {
			size_t l = strlen(fields[j]);

			memcpy(req + off, fields[j], l + 1);
			off += l + 1;
		}
		j = strlen(reqs[i]->path);
		memcpy(req + off, reqs[i]->path, j + 1);
		off += j + 1;
		req[off++] = '\0';	/* the end of the group's paths */
	}
	gstart[ngroups] = nreq;
	fixer.seq += ngroups;
	fixer.len = 0;
	fixer.buf[0] = '\0';
	t0 = now_mono();
	rc = e2b_process_send_stdin(fixer.proc, req, off);
	account(fs, rc, t0);
	free(req);
	if (rc < 0) {
		fixer_stop(fs, "did not take a request");
		free(gstart);
		return;
	}
	while (next < ngroups) {
		double left = deadline - now_mono();

		snprintf(sq, sizeof(sq), "%llu", (unsigned long long)(first + next));
		rc = fixer_answer(fs, sq);
		if (rc != 1) {
			size_t g0 = gstart[next], g1 = gstart[next + 1];

			/* A group's error is not each member's: 1 = ask again. */
			for (i = g0; i < g1; i++)
				reqs[i]->rc = rc != 0 && g1 - g0 > 1 ? 1 : rc;
			next++;
			continue;
		}
		if (ended) {
			fixer_stop(fs, "ended");
			break;
		}
		if (left <= 0) {
			fixer_stop(fs, "did not answer in time");
			for (i = gstart[next]; i < nreq; i++)
				reqs[i]->rc = -EIO;
			break;
		}
		/* The poll returns as soon as output has arrived. */
		rc = e2b_process_poll(&ended, fixer.proc, (int)(left * 1000.0) + 1, -1);
		if (rc < 0) {
			fixer_stop(fs, "lost its output stream");
			break;
		}
	}
	free(gstart);
}

/* Queue @r and wait for its answer, leading a batch if none is in flight. */
static void fixer_submit_n(struct fs *fs, struct fixreq **rs, size_t nr)
{
	struct fixreq *batch[FIX_BATCH_MAX], *r;
	size_t n, i;

	if (!nr)
		return;
	pthread_mutex_lock(&fixq.lock);
	for (i = 0; i < nr; i++) {
		r = rs[i];
		r->next = NULL;
		if (fixq.tail)
			fixq.tail->next = r;
		else
			fixq.head = r;
		fixq.tail = r;
	}
	/* Batches leave the queue in order, one at a time: the last one
	 * answered means all are. */
	r = rs[nr - 1];
	while (!r->done) {
		if (fixq.leader) {
			pthread_cond_wait(&fixq.cond, &fixq.lock);
			continue;
		}
		fixq.leader = 1;
		for (n = 0; n < FIX_BATCH_MAX && fixq.head; n++) {
			batch[n] = fixq.head;
			fixq.head = fixq.head->next;
		}
		if (!fixq.head)
			fixq.tail = NULL;
		pthread_mutex_unlock(&fixq.lock);
		pthread_mutex_lock(&fixer.lock);
		fixer_batch(fs, batch, n);
		pthread_mutex_unlock(&fixer.lock);
		pthread_mutex_lock(&fixq.lock);
		for (i = 0; i < n; i++)
			batch[i]->done = 1;
		fixq.leader = 0;
		pthread_cond_broadcast(&fixq.cond);
	}
	pthread_mutex_unlock(&fixq.lock);
}

static void fixer_submit(struct fs *fs, struct fixreq *r)
{
	fixer_submit_n(fs, &r, 1);
}

/* One fix through the fixer, or the same script in a process of its own. */
static int fix_one(struct fs *fs, const char *path, const char *owner, const char *mode,
		   const char *atime, const char *mtime)
{
	const char *argv[] = { "/bin/sh", "-c",
		"o=$1 m=$2 a=$3 t=$4; shift 4; " FIX_BODY "fix \"$@\"",
		"e2bfs-fix", owner, mode, atime, mtime, path, NULL };
	struct fixreq r = { owner, mode, atime, mtime, path, 0, 0, NULL };

	fixer_submit(fs, &r);
	if (r.rc != 1)
		return r.rc;
	return remote_helper(fs, argv, NULL);
}

/*
 * chmod @mode (octal) and touch -h @atime/@mtime (touch -d values) of
 * @path in the sandbox; "" = leave.  Arguments only, never shell text.
 */
int remote_fix_args(struct fs *fs, const char *path, const char *mode, const char *atime,
		    const char *mtime)
{
	return fix_one(fs, path, "", mode, atime, mtime);
}

/*
 * chown -h @path to @uid and/or @gid ((uid_t)-1 / (gid_t)-1 = leave) in
 * the sandbox, as the sandbox user: its kernel applies the usual rules
 * (only root changes the owner; the owner may change the group to one of
 * its own).
 */
int remote_chown(struct fs *fs, const char *path, uid_t uid, gid_t gid)
{
	char o[48];

	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (uid == (uid_t)-1)
		snprintf(o, sizeof(o), ":%lu", (unsigned long)gid);
	else if (gid == (gid_t)-1)
		snprintf(o, sizeof(o), "%lu", (unsigned long)uid);
	else
		snprintf(o, sizeof(o), "%lu:%lu", (unsigned long)uid, (unsigned long)gid);
	return fix_one(fs, path, o, "", "", "");
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
	const char *fifo[] = { "mkfifo", "-m", m, "--", path, NULL };
	const char *dev[] = { "mknod", "-m", m, "--", path, S_ISCHR(mode) ? "c" : "b", maj, mi,
			      NULL };
	/* coreutils' mknod makes no sockets; mknod(2) does. */
	const char *sock[] = { "python3", "-c",
		"import os, sys; os.mknod(sys.argv[1], 0o140000 | int(sys.argv[2], 8))",
		path, m, NULL };
	const char *const *argv;
	int rc;

	snprintf(m, sizeof(m), "%o", (unsigned)(mode & 07777));
	snprintf(maj, sizeof(maj), "%u", major(rdev));
	snprintf(mi, sizeof(mi), "%u", minor(rdev));
	if (S_ISFIFO(mode))
		argv = fifo;
	else if (S_ISCHR(mode) || S_ISBLK(mode))
		argv = dev;
	else if (S_ISSOCK(mode))
		argv = sock;
	else
		return -EPERM;
	rc = remote_helper(fs, argv, NULL);
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

/* @fix, and the owner @owner ("" = leave) first. */
/* @fix as the fixer's mode, atime and mtime fields ("" = leave). */
static void fix_fields(const struct upload_fix *fix, char m[16], char a[48], char t[48])
{
	m[0] = a[0] = t[0] = '\0';
	if (fix->mode >= 0)
		snprintf(m, 16, "%o", (unsigned)fix->mode & 07777);
	if (fix->atime)
		snprintf(a, 48, "@%lld.%09ld", (long long)fix->atime->tv_sec,
			 fix->atime->tv_nsec);
	if (fix->mtime)
		snprintf(t, 48, "@%lld.%09ld", (long long)fix->mtime->tv_sec,
			 fix->mtime->tv_nsec);
}

static int fix_with_owner(struct fs *fs, const char *path, const struct upload_fix *fix,
			  const char *owner)
{
	char m[16], a[48], t[48];

	fix_fields(fix, m, a, t);
	return fix_one(fs, path, owner, m, a, t);
}

int remote_fix(struct fs *fs, const char *path, const struct upload_fix *fix)
{
	return fix_with_owner(fs, path, fix, "");
}

void remote_shutdown(struct fs *fs)
{
	pthread_mutex_lock(&fixer.lock);
	fixer_stop(fs, NULL);
	pthread_mutex_unlock(&fixer.lock);
}

/*
 * Upload the whole of @fd (from offset 0) atomically over @path: to a
 * temporary name beside it, then Move, whose reply is the new entry (so no
 * Stat is needed afterwards).  A failed upload never truncates @path.
 */
int remote_upload_fd(struct fs *fs, const char *path, int fd, const struct upload_fix *fix,
		     e2b_entry_info **out)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	char *tmp = temp_beside(path);
	int rc;

	if (out)
		*out = NULL;
	/* No room beside it for a temporary (a path near PATH_MAX with a
	 * short name): straight over it, as for a new file. */
	if (!tmp && errno == ENAMETOOLONG)
		return remote_upload_new(fs, path, fd, fix);
	if (!tmp)
		return -ENOMEM;
	wo.user = fs->o.user;
	RCALL(fs, rc, (lseek(fd, 0, SEEK_SET) < 0 ? E2B_ERROR :
		       e2b_fs_write_fd(NULL, fs->sb, tmp, fd, &wo)));
	/* As root, a rewrite keeps the file's owner and group (the upload
	 * made the temporary root's); as another user it is that user's file
	 * anyway. */
	if (rc == 0 && fs->o.user && !strcmp(fs->o.user, "root")) {
		const struct upload_fix none = { -1, NULL, NULL };
		size_t pl = strlen(path);
		char *ref = malloc(pl + 2);

		if (!ref) {
			rc = -ENOMEM;
		} else {
			ref[0] = '=';
			memcpy(ref + 1, path, pl + 1);
			rc = fix_with_owner(fs, tmp, fix ? fix : &none, ref);
			free(ref);
		}
		if (rc < 0) {
			e2b_fs_remove(fs->sb, tmp);
			free(tmp);
			return rc;
		}
	} else if (rc == 0 && fix && (fix->mode >= 0 || fix->atime || fix->mtime)) {
		rc = remote_fix(fs, tmp, fix);
		if (rc < 0) {
			e2b_fs_remove(fs->sb, tmp);
			free(tmp);
			return rc;
		}
	}
	if (rc == 0) {
		RCALL(fs, rc, e2b_fs_rename(out, fs->sb, tmp, path));
	}
	if (rc < 0) {
		int keep = rc;

		e2b_fs_remove(fs->sb, tmp);
		rc = keep;
	}
	free(tmp);
	pthread_mutex_lock(&fs->lock);
	fs->st.uploads++;
	if (rc < 0)
		fs->st.upload_errors++;
	pthread_mutex_unlock(&fs->lock);
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
	if (fix && (fix->mode >= 0 || fix->atime || fix->mtime))
		return remote_fix(fs, path, fix);
	return 0;
}

struct sink {
	int fd;
	uint64_t off;
	uint64_t got;
	int (*progress)(void *arg, uint64_t got);
	void *arg;
};

static int sink_cb(const char *data, size_t len, void *payload)
{
	struct sink *s = payload;
	ssize_t n;

	while (len) {
		n = pwrite(s->fd, data, len, (off_t)(s->off + s->got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		s->got += (uint64_t)n;
		data += n;
		len -= (size_t)n;
	}
	return s->progress ? s->progress(s->arg, s->got) : 0;
}

/* Fetch [off, off+len) of @path into @fd at the same offsets. */
int remote_read_to_fd(struct fs *fs, const char *path, int fd, uint64_t off,
		      uint64_t len, uint64_t *got, uint64_t *remote_size)
{
	return remote_read_to_fd_progress(fs, path, fd, off, len, got, remote_size,
					  NULL, NULL);
}

/* The same, calling @progress with the bytes written so far after each
 * piece; a non-zero return from it stops the transfer (an error). */
int remote_read_to_fd_progress(struct fs *fs, const char *path, int fd, uint64_t off,
			       uint64_t len, uint64_t *got, uint64_t *remote_size,
			       int (*progress)(void *arg, uint64_t got), void *arg)
{
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	e2b_read_info info = { 0 };
	struct sink s = { fd, off, 0, progress, arg };
	int rc;

	ro.user = fs->o.user;
	ro.offset = off;
	ro.length = len;
	RCALL(fs, rc, (s.got = 0, e2b_fs_read_stream(&info, fs->sb, path, &ro, sink_cb, &s)));
	*got = s.got;
	if (remote_size)
		*remote_size = info.file_size;
	pthread_mutex_lock(&fs->lock);
	fs->st.cache_misses += s.got;
	pthread_mutex_unlock(&fs->lock);
	return remote_end(fs, rc);
}

/*
 * Run a fixed helper program (argv, never a shell string built from a
 * path).  On failure the helper's stderr picks the errno.
 */
int remote_helper(struct fs *fs, const char *const *argv, char **out)
{
	e2b_command_options co = E2B_COMMAND_OPTIONS_INIT;
	e2b_command_result r = E2B_COMMAND_RESULT_INIT;
	int rc, err = 0;

	co.user = fs->o.user;
	co.timeout_ms = (unsigned)(fs->o.op_timeout * 1000.0);
	co.max_output = 1 << 20;
	RCALL(fs, rc, (e2b_command_result_release(&r),
		       e2b_commands_run_argv(&r, fs->sb, argv, &co)));
	/* Start is not retried by libe2b; the helpers other than ln (alone
	 * or first in a script) are idempotent, so one more try after a
	 * dropped connection is safe. */
	if (rc == E2B_EUNAVAILABLE && strcmp(argv[0], "ln") &&
	    !(!strcmp(argv[0], "sh") && argv[1] && argv[2] && !strncmp(argv[2], "ln ", 3))) {
		RCALL(fs, rc, (e2b_command_result_release(&r),
			       e2b_commands_run_argv(&r, fs->sb, argv, &co)));
	}
	if (rc == E2B_EEXIT) {
		const char *m = r.err ? r.err : "";

		if (strstr(m, "No such file"))
			err = ENOENT;
		else if (strstr(m, "Permission denied"))
			err = EACCES;
		else if (strstr(m, "not permitted"))
			err = EPERM;
		else if (strstr(m, "File exists"))
			err = EEXIST;
		else if (strstr(m, "Not a directory"))
			err = ENOTDIR;
		else if (strstr(m, "Is a directory"))
			err = EISDIR;
		else if (strstr(m, "Read-only"))
			err = EROFS;
		else if (strstr(m, "No space"))
			err = ENOSPC;
		else if (strstr(m, "Invalid argument"))
			err = EINVAL;
		else if (strstr(m, "File too large"))
			err = EFBIG;
		else
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
	e2b_command_result_release(&r);
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
 * The modes and times of the items whose rc is 0, in one fixer exchange;
 * sets their rc (0 / -errno) and returns the first error.
 */
int remote_fix_many(struct fs *fs, struct upload_item *items, size_t n)
{
	struct fixreq *reqs = calloc(n ? n : 1, sizeof(*reqs));
	struct fixreq **rp = calloc(n ? n : 1, sizeof(*rp));
	char (*fields)[112] = calloc(n ? n : 1, sizeof(*fields));
	size_t i, nfix = 0;
	int first = 0;

	if (!reqs || !rp || !fields) {
		for (i = 0; i < n; i++)
			if (items[i].rc == 0)
				items[i].rc = -ENOMEM;
		first = n ? -ENOMEM : 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (items[i].rc == 0 && (items[i].fix.mode >= 0 || items[i].fix.atime ||
					 items[i].fix.mtime)) {
			char *f = fields[nfix];

			fix_fields(&items[i].fix, f, f + 16, f + 64);
			reqs[nfix].o = "";
			reqs[nfix].m = f;
			reqs[nfix].a = f + 16;
			reqs[nfix].t = f + 64;
			reqs[nfix].path = items[i].path;
			rp[nfix] = &reqs[nfix];
			nfix++;
		}
	}
	fixer_submit_n(fs, rp, nfix);
	for (i = 0, nfix = 0; i < n; i++) {
		struct fixreq *r;

		if (items[i].rc < 0)
			continue;
		if (!(items[i].fix.mode >= 0 || items[i].fix.atime || items[i].fix.mtime))
			continue;
		r = &reqs[nfix++];
		/* No usable fixer: a one-shot helper per file. */
		items[i].rc = r->rc == 1 ? fix_one(fs, r->path, "", r->m, r->a, r->t) : r->rc;
		if (items[i].rc < 0 && !first)
			first = items[i].rc;
	}
out:
	free(reqs);
	free(rp);
	free(fields);
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
	long long left;
	int rc;

	rc = e2b_api_get_info(&info, fs->client, fs->sandbox_id);
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

	if (e2b_api_get_info(&info, fs->client, fs->sandbox_id) == 0) {
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

int remote_proc_start(struct fs *fs, const char *cmd, const e2b_command_options *co,
		      e2b_process **out)
{
	return mapped(e2b_commands_start(out, fs->sb, cmd, co));
}

int remote_proc_connect(struct fs *fs, uint32_t pid, const e2b_command_options *co,
			e2b_process **out)
{
	return mapped(e2b_commands_connect(out, fs->sb, pid, co));
}

int remote_proc_wait(e2b_process *h, e2b_command_result *r, e2b_data_cb on_stdout,
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
	return mapped(e2b_commands_send_stdin(fs->sb, pid, buf, size));
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

int remote_watch_open(struct fs *fs, e2b_watch_options *wo, e2b_watch **out)
{
	int rc;

	/* With the entry in each event, attributes are updated, not dropped. */
	wo->include_entry = e2b_sandbox_has_feature(fs->sb, E2B_FEATURE_WATCH_ENTRY_INFO);
	rc = e2b_fs_watch(out, fs->sb, fs->root, wo);
	if (rc < 0 && fs->debug)
		fs_log(fs, "watch: cannot watch '%s': %s", fs->root, e2b_error_last()->message);
	return mapped(rc);
}

const char *remote_watch_run(e2b_watch *w)
{
	return e2b_error_code_str(w ? e2b_watch_run(w) : E2B_ECANCELED);
}

void remote_watch_cancel(e2b_watch *w)
{
	e2b_watch_cancel(w);
}
