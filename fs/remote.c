/* SPDX-License-Identifier: MIT */
/*
 * The remote layer: every libe2b call e2bfs makes goes through here, so
 * that request counting, the online/offline state, resuming a paused
 * sandbox and the one remote-error -> errno mapping live in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "e2bfs.h"

/*
 * The one mapping from a libe2b failure to a positive errno (sshfs'
 * sftp_request_wait switch).  envd reports most OS errors as "internal"
 * with Go's errno text, so the message is consulted for E2B_ERROR,
 * E2B_EINVALID and E2B_EPERM.
 */
int remote_errno(int code)
{
	const e2b_error *e = e2b_error_last();
	const char *m = e->code == code ? e->message : "";

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
		if (strstr(m, "read-only"))
			return EROFS;
		if (strstr(m, "permission denied"))
			return EACCES;
		return EPERM;
	case E2B_ENOSPC:
		return ENOSPC;
	case E2B_ENOMEM:
		return ENOMEM;
	case E2B_ECONFLICT:
		return EBUSY;
	case E2B_EINVALID:
	case E2B_ERROR:
	case E2B_EEXIT:
		if (strstr(m, "not empty"))
			return ENOTEMPTY;
		if (strstr(m, "not a directory") || strstr(m, "Not a directory"))
			return ENOTDIR;
		if (strstr(m, "is a directory") || strstr(m, "Is a directory"))
			return EISDIR;
		if (strstr(m, "file exists") || strstr(m, "already exists"))
			return EEXIST;
		if (strstr(m, "cross-device"))
			return EXDEV;
		if (strstr(m, "no such file") || strstr(m, "No such file") ||
		    strstr(m, "does not exist"))
			return ENOENT;
		if (strstr(m, "permission denied") || strstr(m, "Permission denied"))
			return EACCES;
		if (strstr(m, "not permitted"))
			return EPERM;
		if (strstr(m, "read-only") || strstr(m, "Read-only"))
			return EROFS;
		if (strstr(m, "too long"))
			return ENAMETOOLONG;
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
	if (sandbox_down && !fs->o.noautoresume && rc != E2B_ETIMEOUT) {
		e2b_sandbox_info *info = NULL;
		double now = now_mono();
		int check = 0;

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
		if (check && e2b_api_get_info(&info, fs->client, fs->sandbox_id) == 0) {
			if (info->state == E2B_SANDBOX_STATE_PAUSED) {
				fs_log(fs, "sandbox '%s' is paused, resuming", fs->sandbox_id);
				if (e2b_sandbox_resume(fs->sb, 0) == 0)
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
	err = remote_errno(rc);
	if (err == EIO)
		fs_log(fs, "remote error: %s", e2b_error_last()->code == rc ?
		       e2b_error_last()->message : e2b_error_code_str(rc));
	return -err;
}

char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (dl == 1 && dir[0] == '/')
		dl = 0;
	p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

int remote_stat(struct fs *fs, const char *path, e2b_entry_info **out)
{
	int rc;

	RCALL(fs, rc, e2b_fs_stat(out, fs->sb, path));
	return remote_end(fs, rc);
}

int remote_list(struct fs *fs, const char *path, e2b_entry_list **out)
{
	int rc;

	RCALL(fs, rc, e2b_fs_list(out, fs->sb, path, 1));
	return remote_end(fs, rc);
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

/* "<dir>/.<base>.e2b-tmp-<random>" beside @path (libe2b's pattern). */
static char *temp_beside(const char *path)
{
	const char *slash = strrchr(path, '/');
	unsigned char rnd[8] = { 0 };
	size_t n = strlen(path) + 32;
	char *t = malloc(n);
	int fd, len;

	if (!t || !slash)
		goto fail;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, rnd, sizeof(rnd)) < 0)
			rnd[0] = (unsigned char)getpid();
		close(fd);
	}
	len = snprintf(t, n, "%.*s/.%s.e2b-tmp-%02x%02x%02x%02x%02x%02x%02x%02x",
		       (int)(slash - path), path, slash + 1, rnd[0], rnd[1], rnd[2], rnd[3],
		       rnd[4], rnd[5], rnd[6], rnd[7]);
	if (len < 0 || (size_t)len >= n)
		goto fail;
	return t;
fail:
	free(t);
	return NULL;
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
	if (!tmp)
		return -ENOMEM;
	wo.user = fs->o.user;
	RCALL(fs, rc, (lseek(fd, 0, SEEK_SET) < 0 ? E2B_ERROR :
		       e2b_fs_write_fd(NULL, fs->sb, tmp, fd, &wo)));
	if (rc == 0 && fix && (fix->mode >= 0 || fix->atime || fix->mtime)) {
		char m[16] = "", a[48] = "", t[48] = "";
		/* A fixed script; mode, times and the path are arguments. */
		const char *argv[] = { "/bin/sh", "-c",
			"if [ -n \"$1\" ]; then chmod \"$1\" -- \"$4\" || exit 1; fi; "
			"if [ -n \"$2\" ]; then touch -c -a -d \"$2\" -- \"$4\" || exit 1; fi; "
			"if [ -n \"$3\" ]; then touch -c -m -d \"$3\" -- \"$4\" || exit 1; fi",
			"e2bfs-fix", m, a, t, tmp, NULL };

		if (fix->mode >= 0)
			snprintf(m, sizeof(m), "%o", (unsigned)fix->mode & 07777);
		if (fix->atime)
			snprintf(a, sizeof(a), "@%lld.%09ld", (long long)fix->atime->tv_sec,
				 fix->atime->tv_nsec);
		if (fix->mtime)
			snprintf(t, sizeof(t), "@%lld.%09ld", (long long)fix->mtime->tv_sec,
				 fix->mtime->tv_nsec);
		rc = remote_helper(fs, argv, NULL);
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

struct sink {
	int fd;
	uint64_t off;
	uint64_t got;
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
	return 0;
}

/* Fetch [off, off+len) of @path into @fd at the same offsets. */
int remote_read_to_fd(struct fs *fs, const char *path, int fd, uint64_t off,
		      uint64_t len, uint64_t *got, uint64_t *remote_size)
{
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	e2b_read_info info = { 0 };
	struct sink s = { fd, off, 0 };
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
	/* Start is not retried by libe2b; the helpers other than ln are
	 * idempotent, so one more try after a dropped connection is safe. */
	if (rc == E2B_EUNAVAILABLE && strcmp(argv[0], "ln")) {
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
