/* SPDX-License-Identifier: MIT */
/*
 * Transfers between local files and a sandbox.
 *
 * Nothing half-written is ever visible at a destination: uploads go to a
 * temporary name beside the target that libe2b moves over it at the end
 * (E2B_WRITE_ATOMIC), downloads go to a local temporary file renamed at
 * the end, and both temporaries are removed on failure or Ctrl-C.
 *
 * Trees are copied by worker processes (the tool stays single-threaded,
 * C4): the parent plans the copy, creates every directory, splits the
 * files among the workers by size, and draws the progress bar from the
 * byte counts the workers send up a pipe.  Each worker opens its own
 * client after fork(): curl handles must never be shared across fork.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xfer.h"

#define XFER_DRAW_MS 100
#define XFER_MAX_WORKERS 16
/* Files from this size up are moved in parallel parts of at least... */
#define XFER_SPLIT_MIN (64ull << 20)
#define XFER_PART_MIN (16ull << 20)

/* One report from a worker; 16 bytes, so a pipe write is atomic. */
struct xfer_msg {
	uint64_t bytes;
	uint64_t files;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_duration(char *buf, size_t cap, uint64_t s)
{
	if (s >= 3600)
		snprintf(buf, cap, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else
		snprintf(buf, cap, "%02llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
}

static void draw(struct xfer_progress *p, int final)
{
	char done[16], total[16], rate[16], eta[24], files[48] = "";
	int64_t el = now_ms() - p->start_ms;
	double bps = el > 0 ? (double)p->done * 1000.0 / (double)el : 0;

	fmt_size(done, sizeof(done), p->done);
	fmt_size(rate, sizeof(rate), (uint64_t)bps);
	if (p->files_total > 1)
		snprintf(files, sizeof(files), "  %llu/%llu files",
			 (unsigned long long)p->files_done, (unsigned long long)p->files_total);
	if (p->total != UINT64_MAX && p->total) {
		fmt_size(total, sizeof(total), p->total);
		if (final)
			fmt_duration(eta, sizeof(eta), (uint64_t)(el / 1000));
		else if (bps > 0 && p->done <= p->total)
			fmt_duration(eta, sizeof(eta),
				     (uint64_t)((double)(p->total - p->done) / bps));
		else
			snprintf(eta, sizeof(eta), "--:--");
		fprintf(stderr, "\r%3d%% %8s / %-8s %8s/s  %s %s%s\033[K",
			(int)(p->done >= p->total ? 100 : p->done * 100 / p->total),
			done, total, rate, final ? "in" : "ETA", eta, files);
	} else {
		fprintf(stderr, "\r%8s %8s/s%s\033[K", done, rate, files);
	}
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

void xfer_progress_start(struct xfer_progress *p, int draw_bar, uint64_t total,
			 uint64_t files)
{
	memset(p, 0, sizeof(*p));
	p->draw = draw_bar;
	p->report_fd = -1;
	p->total = total;
	p->files_total = files;
	p->start_ms = p->last_ms = now_ms();
}

static void report(struct xfer_progress *p, uint64_t files)
{
	struct xfer_msg m = { p->unreported, files };

	p->unreported = 0;
	p->last_ms = now_ms();
	/* Progress is cosmetic: a full or closed pipe loses nothing else. */
	if (write(p->report_fd, &m, sizeof(m)) < 0)
		p->report_fd = -1;
}

void xfer_progress_add(struct xfer_progress *p, uint64_t bytes)
{
	int64_t t;

	p->done += bytes;
	if (p->report_fd >= 0) {
		p->unreported += bytes;
		if (now_ms() - p->last_ms >= XFER_DRAW_MS)
			report(p, 0);
		return;
	}
	if (!p->draw)
		return;
	t = now_ms();
	if (t - p->last_ms >= XFER_DRAW_MS) {
		p->last_ms = t;
		draw(p, 0);
	}
}

void xfer_progress_file(struct xfer_progress *p)
{
	p->files_done++;
	if (p->report_fd >= 0)
		report(p, 1);
}

void xfer_progress_end(struct xfer_progress *p)
{
	if (p->report_fd >= 0 && p->unreported)
		report(p, 0);
	if (p->draw)
		draw(p, 1);
}

/* ---- single files ---- */

struct up_src {
	int fd;
	int err;		/* errno of a failed read */
	struct xfer_progress *p;
};

static long up_read(char *buf, size_t cap, void *payload)
{
	struct up_src *s = payload;
	ssize_t n;

	for (;;) {
		if (sig_interrupts)
			return -1;
		n = read(s->fd, buf, cap);
		if (n >= 0)
			break;
		if (errno != EINTR) {
			s->err = errno;
			return -1;
		}
	}
	if (s->p)
		xfer_progress_add(s->p, (uint64_t)n);
	return (long)n;
}

int xfer_upload_fd(e2b_sandbox *sb, int fd, const char *local,
		   const char *remote, struct xfer_progress *p)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	struct up_src src = { fd, 0, p };
	int code;

	wo.flags = E2B_WRITE_ATOMIC;
	code = e2b_fs_write_stream(NULL, sb, remote, up_read, &src, &wo);
	if (code == E2B_ECANCELED && src.err)
		return error_msg("cannot read '%s': %s", local, strerror(src.err));
	if (code == E2B_ECANCELED && sig_interrupts)
		return E2BCTL_EXIT_INTERRUPTED;
	if (code < 0)
		return error_e2b(code, "cannot upload '%s' to '%s'", local, remote);
	if (p)
		xfer_progress_file(p);
	return 0;
}

struct down_dst {
	int fd;
	int err;
	struct xfer_progress *p;
};

static int down_write(const char *data, size_t len, void *payload)
{
	struct down_dst *d = payload;

	if (sig_interrupts)
		return -1;
	if (write_all(d->fd, data, len) < 0) {
		d->err = errno;
		return -1;
	}
	if (d->p)
		xfer_progress_add(d->p, len);
	return 0;
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

int xfer_download(e2b_sandbox *sb, const char *remote, const char *local,
		  unsigned mode, struct xfer_progress *p)
{
	struct down_dst d = { -1, 0, p };
	char *tmp = NULL, *dir = NULL, *slash;
	const char *base;
	int error = 0, code;

	if (!strcmp(local, "-")) {
		d.fd = STDOUT_FILENO;
		code = e2b_fs_read_stream(NULL, sb, remote, NULL, down_write, &d);
		goto check;
	}
	dir = xstrdup(local);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = local + (slash - dir) + 1;
		tmp = xasprintf("%s/.%s.e2bctl-XXXXXX", slash == dir ? "" : dir, base);
	} else {
		tmp = xasprintf(".%s.e2bctl-XXXXXX", local);
	}
	d.fd = mkostemp(tmp, O_CLOEXEC);
	if (d.fd < 0) {
		error = error_msg("cannot create '%s': %s", local, strerror(errno));
		goto out;
	}
	if (strlen(tmp) < sizeof(sig_cleanup_path))
		memcpy(sig_cleanup_path, tmp, strlen(tmp) + 1);
	if (fchmod(d.fd, (mode ? mode : 0644) & 07777 & ~current_umask()) < 0) {
		error = error_msg("cannot set the mode of '%s': %s", local, strerror(errno));
		goto out;
	}
	code = e2b_fs_read_stream(NULL, sb, remote, NULL, down_write, &d);
check:
	if (code == E2B_ECANCELED && d.err) {
		error = error_msg("cannot write '%s': %s", local, strerror(d.err));
		goto out;
	}
	if (code == E2B_ECANCELED && sig_interrupts) {
		error = E2BCTL_EXIT_INTERRUPTED;
		goto out;
	}
	if (code < 0) {
		error = error_path(code, "download", remote);
		goto out;
	}
	if (!tmp)
		goto out;
	if (close(d.fd) < 0) {
		d.fd = -1;
		error = error_msg("cannot write '%s': %s", local, strerror(errno));
		goto out;
	}
	d.fd = -1;
	sig_cleanup_path[0] = '\0';
	if (rename(tmp, local) < 0) {
		error = error_msg("cannot rename '%s' to '%s': %s", tmp, local, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (p)
		xfer_progress_file(p);
out:
	if (tmp) {
		if (d.fd >= 0)
			close(d.fd);
		unlink(tmp);
	}
	sig_cleanup_path[0] = '\0';
	free(tmp);
	free(dir);
	return error;
}

/* ---- trees ---- */

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (n && dir[n - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

static void plan_dir(struct xfer_plan *plan, const char *dir, const struct xfer_dir_attr *a)
{
	plan->dirs = xreallocarray(plan->dirs, plan->ndirs + 1, sizeof(*plan->dirs));
	plan->dir_attrs = xreallocarray(plan->dir_attrs, plan->ndirs + 1,
					sizeof(*plan->dir_attrs));
	plan->dir_attrs[plan->ndirs] = *a;
	plan->dirs[plan->ndirs++] = xstrdup(dir);
}

static void plan_job(struct xfer_plan *plan, char *src, char *dst, uint64_t size,
		     unsigned mode)
{
	struct xfer_job *j;

	plan->jobs = xreallocarray(plan->jobs, plan->njobs + 1, sizeof(*plan->jobs));
	j = &plan->jobs[plan->njobs++];
	j->src = src;
	j->dst = dst;
	j->size = size;
	j->mode = mode;
	plan->total += size;
}

static int walk_local(struct xfer_plan *plan, const char *src, const char *dst,
		      unsigned depth)
{
	struct xfer_dir_attr attr;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int error = 0;

	if (depth > 256)
		return error_msg("'%s': directory tree too deep", src);
	d = opendir(src);
	if (!d)
		return error_msg("cannot open directory '%s': %s", src, strerror(errno));
	if (fstat(dirfd(d), &st) < 0) {
		error = error_msg("cannot stat '%s': %s", src, strerror(errno));
		closedir(d);
		return error;
	}
	attr.mode = st.st_mode & 07777;
	attr.atime = st.st_atim;
	attr.mtime = st.st_mtim;
	plan_dir(plan, dst, &attr);
	for (;;) {
		char *s, *t;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		s = join(src, de->d_name);
		t = join(dst, de->d_name);
		if (lstat(s, &st) < 0) {
			error = error_msg("cannot stat '%s': %s", s, strerror(errno));
			goto next;
		}
		if (S_ISLNK(st.st_mode)) {
			/* Files behind links are copied; linked directories could loop. */
			if (stat(s, &st) < 0 || !S_ISREG(st.st_mode)) {
				error_warn("skipping symbolic link '%s'", s);
				goto next;
			}
		}
		if (S_ISDIR(st.st_mode)) {
			error = walk_local(plan, s, t, depth + 1);
			if (error)
				goto next;
		} else if (S_ISREG(st.st_mode)) {
			plan_job(plan, s, t, (uint64_t)st.st_size, st.st_mode & 07777);
			continue;
		} else {
			error_warn("skipping special file '%s'", s);
		}
next:
		free(s);
		free(t);
		if (error)
			break;
	}
	if (!error && errno)
		error = error_msg("cannot read directory '%s': %s", src, strerror(errno));
	closedir(d);
	return error;
}

int xfer_plan_upload(struct xfer_plan *plan, const char *src, const char *dst)
{
	memset(plan, 0, sizeof(*plan));
	plan->upload = 1;
	return walk_local(plan, src, dst, 0);
}

/* A remote directory's attributes (envd has its permission bits and
 * mtime, not its atime). */
static void remote_attr(struct xfer_dir_attr *a, const e2b_entry_info *e)
{
	a->mode = e->mode & 07777;
	a->atime.tv_sec = 0;
	a->atime.tv_nsec = UTIME_OMIT;
	a->mtime.tv_sec = (time_t)e->mtime_sec;
	a->mtime.tv_nsec = e->mtime_nsec;
	if (!e->mtime_sec)
		a->mtime.tv_nsec = UTIME_OMIT;
}

int xfer_plan_download(struct xfer_plan *plan, e2b_sandbox *sb,
		       const char *src, const char *dst)
{
	/* Breadth first: remote directories to visit and their local twins. */
	char **rq = NULL, **lq = NULL;
	struct xfer_dir_attr *aq = NULL;
	size_t head = 0, tail = 0, i;
	e2b_entry_list *list = NULL;
	e2b_entry_info *root = NULL;
	int error = 0, code;

	memset(plan, 0, sizeof(*plan));
	code = e2b_fs_stat(&root, sb, src);
	if (code < 0)
		return error_path(code, "stat", src);
	rq = xreallocarray(rq, 1, sizeof(*rq));
	lq = xreallocarray(lq, 1, sizeof(*lq));
	aq = xreallocarray(aq, 1, sizeof(*aq));
	rq[tail] = xstrdup(src);
	lq[tail] = xstrdup(dst);
	remote_attr(&aq[tail++], root);
	e2b_entry_info_free(root);
	while (head < tail) {
		const char *rdir = rq[head], *ldir = lq[head];

		plan_dir(plan, ldir, &aq[head]);
		head++;
		code = e2b_fs_list(&list, sb, rdir, 1);
		if (code < 0) {
			error = error_path(code, "list", rdir);
			break;
		}
		for (i = 0; i < list->count; i++) {
			const e2b_entry_info *e = &list->items[i];

			if (strchr(e->name, '/') || !strcmp(e->name, "..") ||
			    !strcmp(e->name, ".") ||
			    !*e->name) {
				/* Adversarial server: never write outside DST. */
				error_warn("skipping entry with bad name '%s'", e->name);
				continue;
			}
			if (e->type == E2B_FILE_TYPE_DIR && !e->is_symlink) {
				rq = xreallocarray(rq, tail + 1, sizeof(*rq));
				lq = xreallocarray(lq, tail + 1, sizeof(*lq));
				aq = xreallocarray(aq, tail + 1, sizeof(*aq));
				rq[tail] = join(rdir, e->name);
				lq[tail] = join(ldir, e->name);
				remote_attr(&aq[tail++], e);
			} else if (e->type == E2B_FILE_TYPE_FILE) {
				plan_job(plan, join(rdir, e->name), join(ldir, e->name), e->size,
					 e->mode);
			} else {
				error_warn("skipping '%s' (%s)", e->path,
					   e->is_symlink ? "symbolic link" : "special file");
			}
		}
		e2b_entry_list_free(list);
		list = NULL;
	}
	for (i = 0; i < tail; i++) {
		free(rq[i]);
		free(lq[i]);
	}
	free(rq);
	free(lq);
	free(aq);
	return error;
}

void xfer_plan_release(struct xfer_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->ndirs; i++)
		free(plan->dirs[i]);
	for (i = 0; i < plan->njobs; i++) {
		free(plan->jobs[i].src);
		free(plan->jobs[i].dst);
	}
	free(plan->dirs);
	free(plan->dir_attrs);
	free(plan->jobs);
	memset(plan, 0, sizeof(*plan));
}

static int make_dirs(struct xfer_plan *plan, e2b_sandbox *sb)
{
	struct stat st;
	size_t i;
	int code;

	for (i = 0; i < plan->ndirs; i++) {
		const char *dir = plan->dirs[i];

		if (plan->upload) {
			code = e2b_fs_mkdir(NULL, sb, dir);
			if (code < 0)
				return error_e2b(code, "cannot create directory '%s'", dir);
		} else if (mkdir(dir, 0777) < 0) {
			if (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
				return error_msg("cannot create directory '%s': %s", dir,
						 strerror(errno));
		}
	}
	return 0;
}

/* A file's mode worth setting after an upload (envd makes files 0644). */
static int mode_to_set(unsigned mode)
{
	mode &= 07777;
	return mode && mode != 0644;
}

/*
 * In the sandbox, through one libe2b metadata session: the modes of the
 * uploaded files in @jobs, then the modes and times of @dirs deepest
 * first (after the files, whose writes changed the directories' mtimes;
 * a directory without write or search permission last).  The session
 * makes one chmod of each run of same-mode files and sends up to 128
 * operations per exchange.  Every failure is printed; @return 0 or the
 * exit code of the first
 */
static int apply_remote(e2b_sandbox *sb, const struct xfer_job *jobs, size_t njobs,
			char *const *dirs, const struct xfer_dir_attr *attrs, size_t ndirs)
{
	e2b_meta_session *s = NULL;
	e2b_meta_op *ops = xcalloc(njobs + ndirs + 1, sizeof(*ops));
	const char *what;
	size_t i, n = 0;
	int code, error = 0;

	for (i = 0; i < njobs; i++) {
		if (!mode_to_set(jobs[i].mode))
			continue;
		ops[n].kind = E2B_META_SETATTR;
		ops[n].path = jobs[i].dst;
		ops[n].set = E2B_META_SET_MODE;
		ops[n++].mode = jobs[i].mode & 07777;
	}
	for (i = ndirs; i-- > 0;) {
		ops[n].kind = E2B_META_SETATTR;
		ops[n].path = dirs[i];
		ops[n].set = E2B_META_SET_MODE | E2B_META_SET_ATIME | E2B_META_SET_MTIME;
		ops[n].mode = attrs[i].mode;
		ops[n].atime = attrs[i].atime;
		ops[n++].mtime = attrs[i].mtime;
	}
	if (!n)
		goto out;
	if (n == 1 && ops[0].set == E2B_META_SET_MODE) {
		/* One file: one process, no helper to start and stop. */
		code = e2b_meta_set_mode(sb, ops[0].path, ops[0].mode, NULL);
		if (code < 0)
			error = error_path(code, "set the mode of", ops[0].path);
		goto out;
	}
	code = e2b_meta_session_new(&s, sb, NULL);
	if (code == 0)
		code = e2b_meta_session_run(s, ops, n);
	if (code == 0)
		goto out;
	if (!s) {
		error = error_e2b(code, "cannot set modes in the sandbox");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!ops[i].error)
			continue;
		what = ops[i].set == E2B_META_SET_MODE ? "the mode" : "the mode and times";
		if (ops[i].os_errno) {
			/* Each operation's own reason (the record holds the first). */
			error_msg("cannot set %s of '%s': %s", what, ops[i].path,
				  strerror(ops[i].os_errno));
			code = error_exit_code(ops[i].error);
		} else {
			code = error_e2b(ops[i].error, "cannot set %s of '%s'", what, ops[i].path);
		}
		if (!error)
			error = code;
	}
out:
	e2b_meta_session_free(s);
	free(ops);
	return error;
}

int xfer_apply_modes(e2b_sandbox *sb, const struct xfer_job *jobs, size_t n)
{
	return apply_remote(sb, jobs, n, NULL, NULL, 0);
}

/*
 * Here: the downloaded directories' modes and times, deepest first (after
 * their files).  @return 0 or an exit code
 */
static int apply_local(const struct xfer_plan *plan)
{
	struct timespec ts[2];
	size_t i;
	int error = 0;

	for (i = plan->ndirs; i-- > 0;) {
		const struct xfer_dir_attr *a = &plan->dir_attrs[i];

		ts[0] = a->atime;
		ts[1] = a->mtime;
		if (chmod(plan->dirs[i], a->mode & ~current_umask() & 07777) < 0 ||
		    utimensat(AT_FDCWD, plan->dirs[i], ts, 0) < 0) {
			int e = error_msg("cannot set the mode and times of '%s': %s",
					  plan->dirs[i], strerror(errno));

			if (!error)
				error = e;
		}
	}
	return error;
}

static int run_job(e2b_sandbox *sb, const struct xfer_job *j, int upload,
		   struct xfer_progress *p)
{
	int fd, error;

	if (!upload)
		return xfer_download(sb, j->src, j->dst, j->mode, p);
	fd = open(j->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_msg("cannot open '%s': %s", j->src, strerror(errno));
	error = xfer_upload_fd(sb, fd, j->src, j->dst, p);
	close(fd);
	return error;
}

/* Run the jobs whose owner is @p worker (all when -1); first error wins. */
static int run_jobs(e2b_sandbox *sb, struct xfer_plan *plan, const int *owner,
		    int worker, struct xfer_progress *p)
{
	int error = 0, e;
	size_t i;

	for (i = 0; i < plan->njobs && !sig_interrupts; i++) {
		if (worker >= 0 && owner[i] != worker)
			continue;
		e = run_job(sb, &plan->jobs[i], plan->upload, p);
		if (e == E2BCTL_EXIT_INTERRUPTED)
			return e;
		if (e && !error)
			error = e;
	}
	return sig_interrupts ? E2BCTL_EXIT_INTERRUPTED : error;
}

static int cmp_size_desc(const void *a, const void *b, void *payload)
{
	const struct xfer_job *jobs = payload;
	uint64_t x = jobs[*(const size_t *)a].size, y = jobs[*(const size_t *)b].size;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Give each job to the least loaded worker, biggest files first. */
static int *assign(const struct xfer_plan *plan, unsigned workers)
{
	size_t *order = xcalloc(plan->njobs, sizeof(*order)), i;
	uint64_t load[XFER_MAX_WORKERS] = { 0 };
	int *owner = xcalloc(plan->njobs, sizeof(*owner));
	unsigned w, best;

	for (i = 0; i < plan->njobs; i++)
		order[i] = i;
	qsort_r(order, plan->njobs, sizeof(*order), cmp_size_desc, plan->jobs);
	for (i = 0; i < plan->njobs; i++) {
		best = 0;
		for (w = 1; w < workers; w++)
			if (load[w] < load[best])
				best = w;
		/* Small files cost a request each whatever their size. */
		load[best] += plan->jobs[order[i]].size + 64 * 1024;
		owner[order[i]] = (int)best;
	}
	free(order);
	return owner;
}

/* What a worker process does; returns its exit code. */
typedef int (*xfer_work_fn)(e2b_sandbox *sb, int worker, struct xfer_progress *p,
			    void *payload);

static void worker_main(struct cmd_ctx *ctx, const char *sandbox_arg, int worker, int fd,
			uint64_t total, uint64_t files, xfer_work_fn fn, void *payload)
{
	struct xfer_progress p;
	e2b_sandbox *sb = NULL;
	int error;

	sig_catch();
	/* The terminal's Ctrl-C reaches the whole process group; workers
	 * stop on the parent's SIGTERM instead, once, cleanly. */
	signal(SIGINT, SIG_IGN);
	/* The parent's client lives in this address space too; it must not be
	 * used or freed here (its sockets are shared), only forgotten. */
	ctx->client = NULL;
	error = ctx_sandbox(ctx, sandbox_arg, &sb, NULL);
	if (!error) {
		xfer_progress_start(&p, 0, total, files);
		p.report_fd = fd;
		error = fn(sb, worker, &p, payload);
		xfer_progress_end(&p);
	}
	fflush(stdout);
	fflush(stderr);
	_exit(error);
}

/*
 * Feed the byte and file counts the @p alive workers @p pids write to @p fd into @p p
 * until all have exited (EOF); after Ctrl-C, send each SIGTERM once.
 */
static void relay_progress(int fd, const pid_t *pids, unsigned alive, struct xfer_progress *p)
{
	unsigned char buf[sizeof(struct xfer_msg) * 256];
	size_t have = 0, k;
	unsigned w;
	int killed = 0;

	for (;;) {
		struct pollfd pl = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (sig_interrupts && !killed) {
			for (w = 0; w < alive; w++)
				kill(pids[w], SIGTERM);
			killed = 1;
		}
		if (poll(&pl, 1, 200) <= 0)
			continue;
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* every worker has exited */
		have += (size_t)n;
		for (k = 0; k + sizeof(struct xfer_msg) <= have; k += sizeof(struct xfer_msg)) {
			struct xfer_msg m;

			memcpy(&m, buf + k, sizeof(m));
			p->files_done += m.files;
			xfer_progress_add(p, m.bytes);
		}
		memmove(buf, buf + k, have - k);
		have -= k;
	}
}

/* Reap the @p alive workers @p pids.  @return @p error, else the first worker's failure
 * (its exit code, or E2BCTL_EXIT_ERROR for one killed by a signal) */
static int wait_workers(const pid_t *pids, unsigned alive, int error)
{
	unsigned w;
	int status;

	for (w = 0; w < alive; w++) {
		while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) && !error)
			error = WEXITSTATUS(status);
		else if (!WIFEXITED(status) && !error)
			error = E2BCTL_EXIT_ERROR;
	}
	return error;
}

/*
 * Run @p fn in @p workers processes, feeding their byte counts into @p p
 * until all have exited.  @return the first worker failure, or
 * E2BCTL_EXIT_INTERRUPTED after Ctrl-C (workers got SIGTERM)
 */
static int fork_workers(struct cmd_ctx *ctx, const char *sandbox_arg, unsigned workers,
			xfer_work_fn fn, void *payload, struct xfer_progress *p)
{
	pid_t pids[XFER_MAX_WORKERS] = { 0 };
	unsigned w, alive = 0;
	int pfd[2], error = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return error_msg("cannot create a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	for (w = 0; w < workers && w < XFER_MAX_WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			error = error_msg("cannot fork: %s", strerror(errno));
			break;
		}
		if (pids[w] == 0) {
			close(pfd[0]);
			worker_main(ctx, sandbox_arg, (int)w, pfd[1], p->total, p->files_total,
				    fn, payload);
		}
		alive++;
	}
	close(pfd[1]);
	relay_progress(pfd[0], pids, alive, p);
	close(pfd[0]);
	error = wait_workers(pids, alive, error);
	return sig_interrupts ? E2BCTL_EXIT_INTERRUPTED : error;
}

struct tree_work {
	struct xfer_plan *plan;
	const int *owner;
};

static int tree_worker(e2b_sandbox *sb, int worker, struct xfer_progress *p, void *payload)
{
	struct tree_work *tw = payload;

	return run_jobs(sb, tw->plan, tw->owner, worker, p);
}

int xfer_run(struct cmd_ctx *ctx, struct xfer_plan *plan, e2b_sandbox *sb,
	     const char *sandbox_arg, unsigned parallel, int draw_bar)
{
	struct xfer_progress p;
	struct tree_work tw = { plan, NULL };
	unsigned workers;
	int *owner = NULL, error;

	error = make_dirs(plan, sb);
	if (error)
		return error;
	xfer_progress_start(&p, draw_bar, plan->total, plan->njobs);
	workers = parallel < XFER_MAX_WORKERS ? parallel : XFER_MAX_WORKERS;
	if (workers > plan->njobs)
		workers = (unsigned)plan->njobs;
	sig_catch();
	if (workers <= 1) {
		error = run_jobs(sb, plan, NULL, -1, &p);
	} else {
		owner = assign(plan, workers);
		tw.owner = owner;
		error = fork_workers(ctx, sandbox_arg, workers, tree_worker, &tw, &p);
	}
	if (!error && plan->upload)
		error = apply_remote(sb, plan->jobs, plan->njobs, plan->dirs, plan->dir_attrs,
				     plan->ndirs);
	else if (!error)
		error = apply_local(plan);
	free(owner);
	if (!error || p.draw)
		xfer_progress_end(&p);
	sig_default();
	if (error == E2BCTL_EXIT_INTERRUPTED)
		fputs("e2bctl: interrupted\n", stderr);
	return error;
}

/* ---- one big file in parallel parts ---- */

/* The byte range of part @p i of @p n of a file of @p size bytes. */
static void part_range(uint64_t *off, uint64_t *len, uint64_t size, unsigned n, unsigned i)
{
	uint64_t step = (size + n - 1) / n;

	*off = step * i;
	if (*off > size)
		*off = size;
	*len = size - *off < step ? size - *off : step;
}

unsigned xfer_parts(uint64_t size, unsigned parallel)
{
	uint64_t n;

	if (parallel < 2 || size < XFER_SPLIT_MIN)
		return 1;
	n = size / XFER_PART_MIN;
	if (n > parallel)
		n = parallel;
	if (n > XFER_MAX_WORKERS)
		n = XFER_MAX_WORKERS;
	return n < 2 ? 1 : (unsigned)n;
}

struct part_work {
	const char *local;	/* upload: source; download: temporary file */
	const char *remote;	/* download: source */
	char **parts;		/* upload: remote part names */
	uint64_t size;
	unsigned n;
};

struct part_src {
	int fd;
	uint64_t off, left;
	int err;
	struct xfer_progress *p;
};

static long part_read(char *buf, size_t cap, void *payload)
{
	struct part_src *s = payload;
	ssize_t n;

	if (sig_interrupts)
		return -1;
	if (!s->left)
		return 0;
	if (cap > s->left)
		cap = (size_t)s->left;
	do {
		n = pread(s->fd, buf, cap, (off_t)s->off);
	} while (n < 0 && errno == EINTR && !sig_interrupts);
	if (n < 0) {
		s->err = errno;
		return -1;
	}
	if (n == 0) {
		s->err = EIO;	/* the file shrank under us */
		return -1;
	}
	s->off += (uint64_t)n;
	s->left -= (uint64_t)n;
	xfer_progress_add(s->p, (uint64_t)n);
	return (long)n;
}

static int upload_part(e2b_sandbox *sb, int worker, struct xfer_progress *p, void *payload)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	struct part_work *pw = payload;
	struct part_src src = { -1, 0, 0, 0, p };
	int code;

	part_range(&src.off, &src.left, pw->size, pw->n, (unsigned)worker);
	src.fd = open(pw->local, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0)
		return error_msg("cannot open '%s': %s", pw->local, strerror(errno));
	code = e2b_fs_write_stream(NULL, sb, pw->parts[worker], part_read, &src, &wo);
	close(src.fd);
	if (code == E2B_ECANCELED && src.err)
		return error_msg("cannot read '%s': %s", pw->local, strerror(src.err));
	if (code == E2B_ECANCELED && sig_interrupts)
		return E2BCTL_EXIT_INTERRUPTED;
	if (code < 0)
		return error_e2b(code, "cannot upload part %d of '%s'", worker + 1, pw->local);
	return 0;
}

int xfer_upload_parallel(struct cmd_ctx *ctx, e2b_sandbox *sb, const char *sandbox_arg,
			 const char *local, const char *remote, uint64_t size,
			 unsigned parts, struct xfer_progress *p)
{
	struct part_work pw = { local, remote, NULL, size, parts };
	const char *slash = strrchr(remote, '/');
	unsigned i;
	int error, code;

	pw.parts = xcalloc(parts, sizeof(*pw.parts));
	for (i = 0; i < parts; i++) {
		/* Hidden names beside the target; compose deletes them. */
		if (slash)
			pw.parts[i] = xasprintf("%.*s/.%s.e2bctl-%ld.part%u", (int)(slash - remote),
						remote, slash + 1, (long)getpid(), i);
		else
			pw.parts[i] = xasprintf(".%s.e2bctl-%ld.part%u", remote, (long)getpid(), i);
	}
	sig_catch();
	error = fork_workers(ctx, sandbox_arg, parts, upload_part, &pw, p);
	if (!error) {
		/* Concatenated into a temporary and renamed over the target:
		 * atomic, like every other upload. */
		code = e2b_fs_compose(sb, (const char *const *)pw.parts, parts, remote, NULL);
		if (code < 0)
			error = error_e2b(code, "cannot assemble '%s'", remote);
	}
	if (error) {
		for (i = 0; i < parts; i++)
			e2b_fs_remove(sb, pw.parts[i]);
	} else {
		xfer_progress_file(p);
	}
	sig_default();
	for (i = 0; i < parts; i++)
		free(pw.parts[i]);
	free(pw.parts);
	if (error == E2BCTL_EXIT_INTERRUPTED)
		fputs("e2bctl: interrupted\n", stderr);
	return error;
}

struct part_dst {
	int fd;
	uint64_t off;
	int err;
	struct xfer_progress *p;
};

static int part_write(const char *data, size_t len, void *payload)
{
	struct part_dst *d = payload;
	ssize_t n;

	if (sig_interrupts)
		return -1;
	while (len) {
		n = pwrite(d->fd, data, len, (off_t)d->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			d->err = errno;
			return -1;
		}
		data += n;
		len -= (size_t)n;
		d->off += (uint64_t)n;
		xfer_progress_add(d->p, (uint64_t)n);
	}
	return 0;
}

static int download_part(e2b_sandbox *sb, int worker, struct xfer_progress *p, void *payload)
{
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	struct part_work *pw = payload;
	struct part_dst dst = { -1, 0, 0, p };
	e2b_read_info ri;
	uint64_t off, len;
	int code;

	part_range(&off, &len, pw->size, pw->n, (unsigned)worker);
	if (!len)
		return 0;
	ro.offset = off;
	ro.length = len;
	dst.off = off;
	dst.fd = open(pw->local, O_WRONLY | O_CLOEXEC);
	if (dst.fd < 0)
		return error_msg("cannot open '%s': %s", pw->local, strerror(errno));
	code = e2b_fs_read_stream(&ri, sb, pw->remote, &ro, part_write, &dst);
	if (close(dst.fd) < 0 && !dst.err && code >= 0)
		dst.err = errno;
	if (dst.err)
		return error_msg("cannot write '%s': %s", pw->local, strerror(dst.err));
	if (code == E2B_ECANCELED && sig_interrupts)
		return E2BCTL_EXIT_INTERRUPTED;
	if (code < 0)
		return error_e2b(code, "cannot download part %d of '%s'", worker + 1, pw->remote);
	if (ri.bytes != len)
		return error_msg("'%s' changed during the download", pw->remote);
	return 0;
}

int xfer_download_parallel(struct cmd_ctx *ctx, const char *sandbox_arg, const char *remote,
			   const char *local, uint64_t size, unsigned mode, unsigned parts,
			   struct xfer_progress *p)
{
	struct part_work pw = { NULL, remote, NULL, size, parts };
	char *tmp, *dir = xstrdup(local), *slash = strrchr(dir, '/');
	int fd, error = 0;

	if (slash) {
		*slash = '\0';
		tmp = xasprintf("%s/.%s.e2bctl-XXXXXX", slash == dir ? "" : dir, slash + 1);
	} else {
		tmp = xasprintf(".%s.e2bctl-XXXXXX", local);
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error = error_msg("cannot create '%s': %s", local, strerror(errno));
		goto out_nofile;
	}
	if (strlen(tmp) < sizeof(sig_cleanup_path))
		memcpy(sig_cleanup_path, tmp, strlen(tmp) + 1);
	if (fchmod(fd, (mode ? mode : 0644) & 07777 & ~current_umask()) < 0 ||
	    ftruncate(fd, (off_t)size) < 0) {
		error = error_msg("cannot prepare '%s': %s", local, strerror(errno));
		goto out;
	}
	pw.local = tmp;
	sig_catch();
	error = fork_workers(ctx, sandbox_arg, parts, download_part, &pw, p);
	sig_default();
	if (error)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		error = error_msg("cannot write '%s': %s", local, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, local) < 0) {
		error = error_msg("cannot rename '%s' to '%s': %s", tmp, local, strerror(errno));
		goto out;
	}
	xfer_progress_file(p);
out:
	if (fd >= 0)
		close(fd);
	if (error)
		unlink(tmp);
	sig_cleanup_path[0] = '\0';
out_nofile:
	if (error == E2BCTL_EXIT_INTERRUPTED)
		fputs("e2bctl: interrupted\n", stderr);
	free(tmp);
	free(dir);
	return error;
}
