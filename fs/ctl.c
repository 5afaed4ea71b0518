/* SPDX-License-Identifier: MIT */
/*
 * The control directory MOUNTPOINT/.e2bfs: a room of its own with an entry
 * table.  Its files behave like pipes: offsets are ignored, each open gets
 * its own stream (direct_io, not seekable), O_TRUNC is accepted.
 *
 *   sandbox          read: JSON sandbox info and the mounted root
 *   ctl              write: timeout N | pause | kill | refresh | sync;
 *                    a rejected line is logged and shown in status (ctlError)
 *   status           read: JSON connection state, counters, cache
 *   connection       read, mount owner only: how to reach envd (token
 *                    included) so `e2bctl run .` skips the management API
 *   procs/new        write a command line, read back "<pid>\n"
 *   procs/<pid>/     cmd stdout stderr stdin status wait ctl
 *
 * Output of followed processes is captured to files in the cache directory
 * (at most PROC_OUT_MAX bytes per stream), never kept in RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

#define PROC_OUT_MAX (64ull * 1024 * 1024)

enum ctl_kind {
	K_DIR = 0,
	K_SANDBOX,
	K_CTL,
	K_STATUS,
	K_PROCS,
	K_NEW,
	K_CONNECTION,
	K_NKINDS,
};

enum proc_file {
	P_DIR = 0,
	P_CMD,
	P_STDOUT,
	P_STDERR,
	P_STDIN,
	P_STATUS,
	P_WAIT,
	P_CTL,
	P_NFILES,
};

#define PROC_INO_BASE (CTL_INO_BASE + 64)

struct handle;

/*
 * One node of the room: its name and mode, and the handlers an open file
 * of it is served by (NULL = not readable / not writable).  snap builds,
 * at open, the text a snapshot file serves.
 */
struct entry {
	const char *name;
	mode_t mode;
	char *(*snap)(void);
	void (*read)(fuse_req_t req, struct handle *h, size_t size, off_t off);
	int (*write)(fuse_req_t req, struct handle *h, const char *buf, size_t size);
};

static char *sandbox_json(void);
static char *status_json(void);
static char *connection_json(void);
static void read_snap(fuse_req_t req, struct handle *h, size_t size, off_t off);
static void read_new(fuse_req_t req, struct handle *h, size_t size, off_t off);
static void read_stdout(fuse_req_t req, struct handle *h, size_t size, off_t off);
static void read_stderr(fuse_req_t req, struct handle *h, size_t size, off_t off);
static void read_pstatus(fuse_req_t req, struct handle *h, size_t size, off_t off);
static void read_wait(fuse_req_t req, struct handle *h, size_t size, off_t off);
static int write_ctl(fuse_req_t req, struct handle *h, const char *buf, size_t size);
static int write_new(fuse_req_t req, struct handle *h, const char *buf, size_t size);
static int write_stdin(fuse_req_t req, struct handle *h, const char *buf, size_t size);
static int write_pctl(fuse_req_t req, struct handle *h, const char *buf, size_t size);

/* The entry table: fixed nodes, then the files of a procs/<pid> dir. */
static const struct entry fixed[K_NKINDS] = {
	[K_DIR] = { CTL_NAME, S_IFDIR | 0700, NULL, NULL, NULL },
	[K_SANDBOX] = { "sandbox", S_IFREG | 0400, sandbox_json, read_snap, NULL },
	[K_CTL] = { "ctl", S_IFREG | 0200, NULL, NULL, write_ctl },
	[K_STATUS] = { "status", S_IFREG | 0400, status_json, read_snap, NULL },
	[K_PROCS] = { "procs", S_IFDIR | 0700, NULL, NULL, NULL },
	[K_NEW] = { "new", S_IFREG | 0600, NULL, read_new, write_new },
	[K_CONNECTION] = { "connection", S_IFREG | 0400, connection_json, read_snap, NULL },
};

static const struct entry pfiles[P_NFILES] = {
	[P_DIR] = { "", S_IFDIR | 0700, NULL, NULL, NULL },
	[P_CMD] = { "cmd", S_IFREG | 0400, NULL, read_snap, NULL },
	[P_STDOUT] = { "stdout", S_IFREG | 0400, NULL, read_stdout, NULL },
	[P_STDERR] = { "stderr", S_IFREG | 0400, NULL, read_stderr, NULL },
	[P_STDIN] = { "stdin", S_IFREG | 0200, NULL, NULL, write_stdin },
	[P_STATUS] = { "status", S_IFREG | 0400, NULL, read_pstatus, NULL },
	[P_WAIT] = { "wait", S_IFREG | 0400, NULL, read_wait, NULL },
	[P_CTL] = { "ctl", S_IFREG | 0200, NULL, NULL, write_pctl },
};

/* A process this mount follows. */
struct proc {
	uint32_t pid;
	char *cmd;
	int out_fd;		/* capture files, unlinked at creation */
	int err_fd;
	uint64_t out_len;	/* protected by procs_lock */
	uint64_t err_len;	/* protected by procs_lock */
	int ended;		/* protected by procs_lock */
	int exit_code;		/* protected by procs_lock */
	int killed;		/* protected by procs_lock */
	e2b_process *h;		/* owned by the follower thread */
	pthread_t thread;
	int has_thread;
	struct proc *next;	/* protected by procs_lock */
};

static struct fs *g_fs;
static pthread_mutex_t procs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t procs_cond = PTHREAD_COND_INITIALIZER;
static struct proc *procs;	/* protected by procs_lock */

/* The commands .e2bfs/ctl accepts, as a rejection lists them. */
#define CTL_COMMANDS "timeout N, pause, kill, refresh, sync"
/* Why the last line written to .e2bfs/ctl was rejected ("" if none). */
static char ctl_error[256];	/* protected by procs_lock */

/* One open control file. */
struct handle {
	const struct entry *ent;	/* its row in fixed[] or pfiles[] */
	struct proc *p;
	char *buf;		/* protected by procs_lock; snapshot served by read */
	size_t len;		/* protected by procs_lock */
	size_t pos;		/* protected by procs_lock; procs/new only */
};

int ctl_is(fuse_ino_t ino)
{
	return ino >= CTL_INO_BASE;
}

int ctl_owns(fuse_ino_t parent, const char *name)
{
	return ctl_is(parent) || (parent == FUSE_ROOT_ID && !strcmp(name, CTL_NAME));
}

void ctl_init(struct fs *fs)
{
	g_fs = fs;
}

static fuse_ino_t proc_ino(uint32_t pid, int file)
{
	return PROC_INO_BASE + (fuse_ino_t)pid * P_NFILES + (fuse_ino_t)file;
}

static void fill_attr(struct stat *st, fuse_ino_t ino, mode_t mode)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = g_fs->uid;
	st->st_gid = g_fs->gid;
	st->st_blksize = 4096;
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static struct proc *proc_find(uint32_t pid)
{
	struct proc *p;

	pthread_mutex_lock(&procs_lock);
	for (p = procs; p; p = p->next)
		if (p->pid == pid)
			break;
	pthread_mutex_unlock(&procs_lock);
	return p;
}

static int capture_fd(const char *what, uint32_t pid)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/proc-%u-%s-XXXXXX", g_fs->cache_dir, pid, what);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int capture(struct proc *p, int err, const char *data, size_t len)
{
	uint64_t *lenp = err ? &p->err_len : &p->out_len;
	uint64_t at;
	ssize_t w;

	pthread_mutex_lock(&procs_lock);
	at = *lenp;
	pthread_mutex_unlock(&procs_lock);
	if (at >= PROC_OUT_MAX)
		return 0;
	if (len > PROC_OUT_MAX - at)
		len = (size_t)(PROC_OUT_MAX - at);
	w = pwrite(err ? p->err_fd : p->out_fd, data, len, (off_t)at);
	if (w > 0) {
		pthread_mutex_lock(&procs_lock);
		*lenp += (uint64_t)w;
		pthread_cond_broadcast(&procs_cond);
		pthread_mutex_unlock(&procs_lock);
	}
	return 0;
}

static int on_stdout(const char *data, size_t len, void *payload)
{
	return capture(payload, 0, data, len);
}

static int on_stderr(const char *data, size_t len, void *payload)
{
	return capture(payload, 1, data, len);
}

/* Follower thread: drain the output stream until the process ends. */
static void *follow(void *arg)
{
	struct proc *p = arg;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	int rc;

	rc = remote_proc_wait(p->h, &r, on_stdout, on_stderr, p);
	pthread_mutex_lock(&procs_lock);
	p->ended = 1;
	if (rc == 0) {
		p->exit_code = r.exit_code;
		p->killed = !r.exited;
	} else {
		/* Lost the stream (cancelled at unmount, network): unknown. */
		p->exit_code = -1;
		p->killed = rc != -ECANCELED ? 0 : p->killed;
	}
	pthread_cond_broadcast(&procs_cond);
	pthread_mutex_unlock(&procs_lock);
	e2b_process_result_release(&r);
	return NULL;
}

static struct proc *proc_new(uint32_t pid, const char *cmd)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->cmd = strdup(cmd ? cmd : "");
	p->out_fd = capture_fd("out", pid);
	p->err_fd = capture_fd("err", pid);
	if (!p->cmd || p->out_fd < 0 || p->err_fd < 0) {
		if (p->out_fd >= 0)
			close(p->out_fd);
		if (p->err_fd >= 0)
			close(p->err_fd);
		free(p->cmd);
		free(p);
		return NULL;
	}
	return p;
}

static void proc_add(struct proc *p)
{
	pthread_mutex_lock(&procs_lock);
	p->next = procs;
	procs = p;
	pthread_mutex_unlock(&procs_lock);
	if (pthread_create(&p->thread, NULL, follow, p) == 0)
		p->has_thread = 1;
}

/* The command line of a listed process ("cmd args..."), or NULL. */
static char *listed_cmd(uint32_t pid, int *found)
{
	e2b_process_list *l = NULL;
	char *out = NULL;
	size_t i, j, n;

	*found = 0;
	if (remote_proc_list(g_fs, &l) < 0)
		return NULL;
	for (i = 0; i < l->count; i++) {
		const e2b_process_info *pi = &l->items[i];

		if (pi->pid != pid)
			continue;
		*found = 1;
		n = strlen(pi->cmd) + 1;
		for (j = 0; j < pi->args_count; j++)
			n += strlen(pi->args[j]) + 1;
		out = malloc(n + 1);
		if (out) {
			size_t at = (size_t)snprintf(out, n + 1, "%s", pi->cmd);

			for (j = 0; j < pi->args_count && at < n; j++)
				at += (size_t)snprintf(out + at, n + 1 - at, " %s", pi->args[j]);
		}
		break;
	}
	e2b_process_list_free(l);
	return out;
}

/* Find or start following @pid (a process Process.List reports). */
static struct proc *proc_get(uint32_t pid)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	struct proc *p = proc_find(pid);
	char *cmd;
	int found;

	if (p)
		return p;
	cmd = listed_cmd(pid, &found);
	if (!found) {
		free(cmd);
		return NULL;
	}
	p = proc_new(pid, cmd);
	free(cmd);
	if (!p)
		return NULL;
	co.on_stdout = on_stdout;
	co.on_stderr = on_stderr;
	co.payload = p;
	if (remote_proc_connect(g_fs, pid, &co, &p->h) < 0) {
		/* Ended between List and Connect: show it as exited. */
		p->ended = 1;
		p->exit_code = -1;
	}
	pthread_mutex_lock(&procs_lock);
	{
		struct proc *q;

		for (q = procs; q; q = q->next)
			if (q->pid == pid)
				break;
		if (q) {
			pthread_mutex_unlock(&procs_lock);
			e2b_process_free(p->h);
			close(p->out_fd);
			close(p->err_fd);
			free(p->cmd);
			free(p);
			return q;
		}
	}
	pthread_mutex_unlock(&procs_lock);
	if (p->h) {
		proc_add(p);
	} else {
		pthread_mutex_lock(&procs_lock);
		p->next = procs;
		procs = p;
		pthread_mutex_unlock(&procs_lock);
	}
	return p;
}

/* Decode a control inode: returns 0 and fills kind/pid/file, or -1. */
static int decode(fuse_ino_t ino, int *kind, uint32_t *pid, int *file)
{
	if (ino < CTL_INO_BASE)
		return -1;
	if (ino < PROC_INO_BASE) {
		if (ino - CTL_INO_BASE >= K_NKINDS)
			return -1;
		*kind = (int)(ino - CTL_INO_BASE);
		return 0;
	}
	*kind = -1;
	*pid = (uint32_t)((ino - PROC_INO_BASE) / P_NFILES);
	*file = (int)((ino - PROC_INO_BASE) % P_NFILES);
	return 0;
}

static void reply_node(fuse_req_t req, fuse_ino_t ino, mode_t mode)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	fill_attr(&e.attr, ino, mode);
	/* Dynamic content: never cache attributes or names for long. */
	e.attr_timeout = 0;
	e.entry_timeout = S_ISDIR(mode) ? 1.0 : 0;
	fuse_reply_entry(req, &e);
}

static void ctl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int kind, file, i;
	uint32_t pid = 0;
	char *end;
	unsigned long v;

	if (parent == FUSE_ROOT_ID) {
		reply_node(req, CTL_INO_BASE + K_DIR, fixed[K_DIR].mode);
		return;
	}
	if (decode(parent, &kind, &pid, &file) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (kind == K_DIR) {
		for (i = K_SANDBOX; i < K_NKINDS; i++) {
			if (i != K_NEW && !strcmp(fixed[i].name, name)) {
				reply_node(req, CTL_INO_BASE + (fuse_ino_t)i, fixed[i].mode);
				return;
			}
		}
	} else if (kind == K_PROCS) {
		if (!strcmp(name, "new")) {
			reply_node(req, CTL_INO_BASE + K_NEW, fixed[K_NEW].mode);
			return;
		}
		errno = 0;
		v = strtoul(name, &end, 10);
		if (!errno && *end == 0 && end != name && v > 0 && v <= UINT32_MAX &&
		    proc_get((uint32_t)v)) {
			reply_node(req, proc_ino((uint32_t)v, P_DIR), pfiles[P_DIR].mode);
			return;
		}
	} else if (kind == -1 && file == P_DIR) {
		for (i = P_CMD; i < P_NFILES; i++) {
			if (!strcmp(pfiles[i].name, name)) {
				reply_node(req, proc_ino(pid, i), pfiles[i].mode);
				return;
			}
		}
	}
	fuse_reply_err(req, ENOENT);
}

static void ctl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int kind, file = 0;
	uint32_t pid;

	if (decode(ino, &kind, &pid, &file) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(&st, ino, kind >= 0 ? fixed[kind].mode : pfiles[file].mode);
	fuse_reply_attr(req, &st, 0);
}

static void ctl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi)
{
	/* Only truncation (O_TRUNC, shell redirection) is accepted, and ignored. */
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	ctl_getattr(req, ino, fi);
}

/* A directory listing of the control room, built at opendir. */
struct dirlist {
	size_t n;
	char (*names)[16];
	fuse_ino_t *inos;
	mode_t *modes;
};

static int dl_add(struct dirlist *d, const char *name, fuse_ino_t ino, mode_t mode)
{
	void *a = realloc(d->names, (d->n + 1) * sizeof(*d->names));
	void *b, *c;

	if (!a)
		return -1;
	d->names = a;
	b = realloc(d->inos, (d->n + 1) * sizeof(*d->inos));
	if (!b)
		return -1;
	d->inos = b;
	c = realloc(d->modes, (d->n + 1) * sizeof(*d->modes));
	if (!c)
		return -1;
	d->modes = c;
	snprintf(d->names[d->n], sizeof(d->names[0]), "%s", name);
	d->inos[d->n] = ino;
	d->modes[d->n] = mode;
	d->n++;
	return 0;
}

static void ctl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirlist *d = calloc(1, sizeof(*d));
	int kind, file = 0, i;
	uint32_t pid;

	if (!d || decode(ino, &kind, &pid, &file) < 0) {
		free(d);
		fuse_reply_err(req, d ? ENOTDIR : ENOMEM);
		return;
	}
	dl_add(d, ".", ino, S_IFDIR);
	dl_add(d, "..", kind == K_DIR ? FUSE_ROOT_ID : ino, S_IFDIR);
	if (kind == K_DIR) {
		for (i = K_SANDBOX; i < K_NKINDS; i++)
			if (i != K_NEW)
				dl_add(d, fixed[i].name, CTL_INO_BASE + (fuse_ino_t)i,
				       fixed[i].mode);
	} else if (kind == K_PROCS) {
		e2b_process_list *l = NULL;
		struct proc *p;
		char name[16];
		size_t j;

		dl_add(d, "new", CTL_INO_BASE + K_NEW, fixed[K_NEW].mode);
		if (remote_proc_list(g_fs, &l) == 0) {
			for (j = 0; j < l->count; j++) {
				if (proc_find(l->items[j].pid))
					continue;
				snprintf(name, sizeof(name), "%u", l->items[j].pid);
				dl_add(d, name, proc_ino(l->items[j].pid, P_DIR),
				       pfiles[P_DIR].mode);
			}
		}
		e2b_process_list_free(l);
		pthread_mutex_lock(&procs_lock);
		for (p = procs; p; p = p->next) {
			snprintf(name, sizeof(name), "%u", p->pid);
			dl_add(d, name, proc_ino(p->pid, P_DIR), pfiles[P_DIR].mode);
		}
		pthread_mutex_unlock(&procs_lock);
	} else if (kind == -1 && file == P_DIR) {
		for (i = P_CMD; i < P_NFILES; i++)
			dl_add(d, pfiles[i].name, proc_ino(pid, i), pfiles[i].mode);
	} else {
		free(d);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	char *buf = calloc(1, size), *p;
	size_t rem = size, ent;
	off_t i;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	for (i = off; d && (size_t)i < d->n; i++) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		fill_attr(&e.attr, d->inos[i], d->modes[i]);
		/* No lookup counts for control nodes: entries are inode-less. */
		if (plus)
			ent = fuse_add_direntry_plus(req, p, rem, d->names[i], &e, i + 1);
		else
			ent = fuse_add_direntry(req, p, rem, d->names[i], &e.attr, i + 1);
		if (ent > rem)
			break;
		p += ent;
		rem -= ent;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void ctl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;

	if (d) {
		free(d->names);
		free(d->inos);
		free(d->modes);
		free(d);
	}
	fuse_reply_err(req, 0);
}

static char *json_escape(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n * 6 + 1);

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
	return out;
}

/* A JSON string, or null when @p s is NULL or empty (the vocabulary of
 * docs/e2bctl.md: null for absent). */
static void put_str(FILE *f, const char *key, const char *s, int last)
{
	char *e = s && *s ? json_escape(s) : NULL;

	if (e)
		fprintf(f, "\"%s\":\"%s\"%s", key, e, last ? "" : ",");
	else
		fprintf(f, "\"%s\":null%s", key, last ? "" : ",");
	free(e);
}

/* Unix ms as RFC 3339 UTC, or null for 0. */
static void put_time(FILE *f, const char *key, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40];

	if (ms && gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fprintf(f, "\"%s\":\"%s\",", key, buf);
	else
		fprintf(f, "\"%s\":null,", key);
}

/*
 * .e2bfs/sandbox: e2bctl's Sandbox object (same names and types, see
 * docs/e2bctl.md) plus "root" (the mounted directory) and "error" (why
 * the details could not be fetched, else null; the other fields are then
 * null).  The access token is never shown.
 */
static char *sandbox_json(void)
{
	e2b_sandbox_info *info = NULL;
	char *out = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fputc('{', f);
	put_str(f, "sandboxID", g_fs->sandbox_id, 0);
	if (remote_sandbox_info(g_fs, &info) == 0) {
		put_str(f, "templateID", info->template_id, 0);
		put_str(f, "alias", info->alias, 0);
		put_str(f, "clientID", info->client_id, 0);
		put_str(f, "state", e2b_sandbox_state_str(info->state), 0);
		put_str(f, "envdVersion", info->envd_version, 0);
		put_str(f, "domain", info->domain, 0);
		put_time(f, "startedAt", info->started_at_ms);
		put_time(f, "endAt", info->end_at_ms);
		fprintf(f, "\"cpuCount\":%d,\"memoryMB\":%d,\"diskSizeMB\":%d,\"metadata\":{",
			info->cpu_count, info->memory_mb, info->disk_size_mb);
		for (i = 0; i < info->metadata_count; i++) {
			char *k = json_escape(info->metadata[i].key);
			char *v = json_escape(info->metadata[i].value);

			fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "", k ? k : "", v ? v : "");
			free(k);
			free(v);
		}
		fputs("},", f);
		put_str(f, "root", g_fs->root, 0);
		put_str(f, "error", NULL, 1);
	} else {
		static const char *const absent[] = {
			"templateID", "alias", "clientID", "state", "envdVersion", "domain",
			"startedAt", "endAt", "cpuCount", "memoryMB", "diskSizeMB", "metadata",
		};

		for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
			put_str(f, absent[i], NULL, 0);
		put_str(f, "root", g_fs->root, 0);
		put_str(f, "error", e2b_error_last()->message, 1);
	}
	fputs("}\n", f);
	e2b_sandbox_info_free(info);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * .e2bfs/connection: what e2b_sandbox_open() needs to reach envd without a
 * management API call, for `e2bctl run .` (tools/ctx.c).  It holds the
 * envd access token: served only to the mount owner (ctl_open), never
 * logged, wiped when the handle is released.
 */
static char *connection_json(void)
{
	e2b_sandbox_open_options oo;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (e2b_sandbox_get_open_options(&oo, g_fs->sb) < 0)
		return NULL;
	f = open_memstream(&out, &len);
	if (f) {
		fputc('{', f);
		put_str(f, "sandboxID", g_fs->sandbox_id, 0);
		put_str(f, "apiUrl", e2b_client_api_url(g_fs->client), 0);
		put_str(f, "templateID", oo.template_id, 0);
		put_str(f, "envdVersion", oo.envd_version, 0);
		put_str(f, "domain", oo.domain, 0);
		put_str(f, "envdAccessToken", oo.envd_access_token, 0);
		put_str(f, "trafficAccessToken", oo.traffic_access_token, 1);
		fputs("}\n", f);
		if (fclose(f) != 0) {
			free(out);
			out = NULL;
		}
	}
	e2b_sandbox_open_options_release(&oo);
	return out;
}

/* Room for the status: its fields, and lastError and ctlError (255 bytes
 * each) escaped at 6 bytes a byte at worst. */
#define STATUS_MAX (1024 + 2 * 6 * 256)

static char *status_json(void)
{
	struct stats st;
	uint64_t bytes;
	unsigned files, dirty, pending, failed;
	size_t inodes, ghosts;
	int online, gone;
	char *err, *cerr, *out = malloc(STATUS_MAX);
	double rate;

	if (!out)
		return NULL;
	pthread_mutex_lock(&procs_lock);
	cerr = ctl_error[0] ? json_escape(ctl_error) : NULL;
	pthread_mutex_unlock(&procs_lock);
	cache_stats(g_fs, &bytes, &files, &dirty);
	cache_upload_counts(&pending, &failed);
	inode_counts(&inodes, &ghosts);
	pthread_mutex_lock(&g_fs->lock);
	st = g_fs->st;
	online = g_fs->online;
	gone = g_fs->gone;
	err = json_escape(g_fs->last_error);
	pthread_mutex_unlock(&g_fs->lock);
	rate = st.cache_hits + st.cache_misses ?
	       (double)st.cache_hits / (double)(st.cache_hits + st.cache_misses) : 0;
	snprintf(out, STATUS_MAX,
		 "{\"state\":\"%s\",\"lastError\":\"%s\",\"requests\":%" PRIu64 ","
		 "\"requestErrors\":%" PRIu64 ",\"avgLatencyMs\":%.1f,"
		 "\"uploads\":%" PRIu64 ",\"uploadErrors\":%" PRIu64 ","
		 "\"cacheBytes\":%" PRIu64 ",\"cacheFiles\":%u,\"cacheHitBytes\":%" PRIu64 ","
		 "\"cacheMissBytes\":%" PRIu64 ",\"cacheHitRate\":%.3f,\"dirtyFiles\":%u,"
		 "\"pendingUploads\":%u,\"failedUploads\":%u,"
		 "\"inodes\":%zu,\"knownPaths\":%zu,\"watch\":\"%s\",\"ctlError\":%s%s%s,"
		 "\"aheadFetched\":%" PRIu64 ",\"aheadHits\":%" PRIu64 ",\"latencyMs\":%.3f}\n",
		 gone ? "gone" : online ? "online" : "offline", err ? err : "", st.rpc,
		 st.rpc_errors,
		 st.rpc ? (double)st.rpc_ms / (double)st.rpc : 0.0, st.uploads, st.upload_errors,
		 bytes, files, st.cache_hits, st.cache_misses, rate, dirty, pending, failed,
		 inodes, inodes + ghosts, watch_is_up() ? "up" : "down",
		 cerr ? "\"" : "", cerr ? cerr : "null", cerr ? "\"" : "", st.ahead_fetched,
		 st.ahead_hits, remote_latency_ms(g_fs));
	free(err);
	free(cerr);
	return out;
}

static void ctl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h;
	int kind, file = 0, acc = fi->flags & O_ACCMODE;
	uint32_t pid = 0;

	if (decode(ino, &kind, &pid, &file) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (kind >= 0) {
		h->ent = &fixed[kind];
		if (kind == K_CONNECTION &&
		    (fuse_req_ctx(req)->uid != g_fs->uid || acc != O_RDONLY)) {
			/* The envd token: the mount owner's alone. */
			free(h);
			fuse_reply_err(req, EACCES);
			return;
		}
		if (h->ent->snap)
			h->buf = h->ent->snap();
		if (h->ent->snap && !h->buf) {
			free(h);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (kind == K_NEW && acc != O_RDWR && acc != O_WRONLY) {
			free(h);
			fuse_reply_err(req, EINVAL);
			return;
		}
	} else {
		h->ent = &pfiles[file];
		h->p = proc_get(pid);
		if (!h->p) {
			free(h);
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (file == P_CMD) {
			size_t n = strlen(h->p->cmd) + 2;

			h->buf = malloc(n);
			if (h->buf)
				snprintf(h->buf, n, "%s\n", h->p->cmd);
		}
	}
	if (h->buf)
		h->len = strlen(h->buf);
	fi->fh = (uint64_t)(uintptr_t)h;
	/* Not marked nonseekable: head(1) seeks back after reading a line. */
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

/* Snapshots are served at the kernel's offsets: reads may be split and
 * issued concurrently, so no per-handle position is kept. */
static void reply_snapshot(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	size_t n;

	if (!h->buf || off < 0 || (uint64_t)off >= h->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = h->len - (size_t)off;
	if (n > size)
		n = size;
	fuse_reply_buf(req, h->buf + off, n);
}

/* Wait for the process state to change; 0 or -EINTR. */
static int wait_change(fuse_req_t req)
{
	struct timespec ts;

	deadline_in(&ts, 0.25);
	pthread_cond_timedwait(&procs_cond, &procs_lock, &ts);
	if (fuse_req_interrupted(req))
		return -EINTR;
	pthread_mutex_lock(&g_fs->lock);
	if (g_fs->stopping) {
		pthread_mutex_unlock(&g_fs->lock);
		return -EIO;
	}
	pthread_mutex_unlock(&g_fs->lock);
	return 0;
}

/*
 * stdout/stderr: the capture, at the kernel's offset; a read at the end
 * blocks until more output arrives or the process ends.
 */
static void read_stream(fuse_req_t req, struct handle *h, int err, size_t size, off_t off)
{
	struct proc *p = h->p;
	uint64_t len, at = off < 0 ? 0 : (uint64_t)off;
	char *buf;
	ssize_t r;
	int rc = 0;

	pthread_mutex_lock(&procs_lock);
	for (;;) {
		len = err ? p->err_len : p->out_len;
		if (len > at || p->ended)
			break;
		rc = wait_change(req);
		if (rc < 0)
			break;
	}
	pthread_mutex_unlock(&procs_lock);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (len <= at) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - at)
		size = (size_t)(len - at);
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = pread(err ? p->err_fd : p->out_fd, buf, size, (off_t)at);
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

/* Build a handle's snapshot once (reads may run concurrently). */
static void set_snapshot(struct handle *h, const char *text)
{
	if (!h->buf) {
		h->buf = strdup(text);
		h->len = h->buf ? strlen(h->buf) : 0;
	}
}

static void proc_state(struct proc *p, char *out, size_t cap, int wait_form)
{
	if (!p->ended)
		snprintf(out, cap, "running\n");
	else if (p->killed)
		snprintf(out, cap, wait_form ? "killed\n" : "killed\n");
	else if (p->exit_code < 0)
		snprintf(out, cap, wait_form ? "unknown\n" : "exited unknown\n");
	else
		snprintf(out, cap, wait_form ? "%d\n" : "exited %d\n", p->exit_code);
}

static void read_new(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	(void)off;
	/* Read after write on one descriptor: the file offset is past the
	 * command line, so serve the pid from our own position. */
	pthread_mutex_lock(&procs_lock);
	reply_snapshot(req, h, size, (off_t)h->pos);
	if (h->buf)
		h->pos += h->len - h->pos < size ? h->len - h->pos : size;
	pthread_mutex_unlock(&procs_lock);
}

static void read_snap(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	pthread_mutex_lock(&procs_lock);
	reply_snapshot(req, h, size, off);
	pthread_mutex_unlock(&procs_lock);
}

static void read_stdout(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	read_stream(req, h, 0, size, off);
}

static void read_stderr(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	read_stream(req, h, 1, size, off);
}

static void read_pstatus(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	char tmp[64];

	pthread_mutex_lock(&procs_lock);
	proc_state(h->p, tmp, sizeof(tmp), 0);
	set_snapshot(h, tmp);
	reply_snapshot(req, h, size, off);
	pthread_mutex_unlock(&procs_lock);
}

static void read_wait(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	char tmp[64];
	int rc = 0;

	pthread_mutex_lock(&procs_lock);
	while (!h->p->ended && rc == 0)
		rc = wait_change(req);
	if (rc < 0) {
		pthread_mutex_unlock(&procs_lock);
		fuse_reply_err(req, -rc);
		return;
	}
	proc_state(h->p, tmp, sizeof(tmp), 1);
	set_snapshot(h, tmp);
	reply_snapshot(req, h, size, off);
	pthread_mutex_unlock(&procs_lock);
}

static void ctl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h->ent->read)
		h->ent->read(req, h, size, off);
	else
		fuse_reply_err(req, EBADF);
}

/* The sandbox directory matching the writer's cwd, if inside the mount. */
static char *writer_cwd(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char link[64], cwd[4096];
	ssize_t n;
	size_t ml;

	if (!g_fs->mountpoint)
		return NULL;
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)ctx->pid);
	n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return NULL;
	cwd[n] = 0;
	ml = strlen(g_fs->mountpoint);
	if (strncmp(cwd, g_fs->mountpoint, ml) || (cwd[ml] != 0 && cwd[ml] != '/'))
		return NULL;
	if (!cwd[ml])
		return strdup(g_fs->root);
	return path_join(g_fs->root, cwd + ml + 1);
}

static int start_proc(fuse_req_t req, struct handle *h, const char *line)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	char *cwd = writer_cwd(req);
	struct proc *p;
	e2b_process *ph = NULL;
	char tmp[32];
	int rc;

	p = proc_new(0, line);
	if (!p) {
		free(cwd);
		return -ENOMEM;
	}
	/* Barrier: the process sees everything written through the mount. */
	if (cache_sync_all(g_fs) < 0)
		fs_log(g_fs, "starting a process while uploads still fail (see dirtyFiles)");
	co.cwd = cwd ? cwd : g_fs->root;
	co.user = g_fs->o.user;
	co.stdin_open = 1;
	co.on_stdout = on_stdout;
	co.on_stderr = on_stderr;
	co.payload = p;
	rc = remote_proc_start(g_fs, line, &co, &ph);
	free(cwd);
	if (rc < 0) {
		close(p->out_fd);
		close(p->err_fd);
		free(p->cmd);
		free(p);
		return rc;
	}
	p->pid = e2b_process_pid(ph);
	p->h = ph;
	proc_add(p);
	snprintf(tmp, sizeof(tmp), "%u\n", p->pid);
	pthread_mutex_lock(&procs_lock);
	free(h->buf);
	h->buf = strdup(tmp);
	h->len = h->buf ? strlen(h->buf) : 0;
	h->pos = 0;
	pthread_mutex_unlock(&procs_lock);
	return 0;
}

/*
 * Reject a line written to .e2bfs/ctl: say why in the log and in
 * .e2bfs/status ("ctlError"), naming the valid commands.
 */
static int ctl_reject(const char *why, const char *word)
{
	char msg[sizeof(ctl_error)];

	snprintf(msg, sizeof(msg), "ctl: %s '%.64s' (valid: " CTL_COMMANDS ")", why, word);
	fs_log(g_fs, "%s", msg);
	pthread_mutex_lock(&procs_lock);
	snprintf(ctl_error, sizeof(ctl_error), "%s", msg);
	pthread_mutex_unlock(&procs_lock);
	return -EINVAL;
}

/*
 * One line written to .e2bfs/ctl.
 * Long: 40 lines; the complexity is the dispatch over the five commands
 * and their argument checks, each a few lines, read best in one place.
 */
static int ctl_command(char *line)
{
	char *arg, *end;
	unsigned long v;

	while (*line == ' ' || *line == '\t')
		line++;
	arg = line + strcspn(line, " \t");
	if (*arg) {
		*arg++ = 0;
		while (*arg == ' ' || *arg == '\t')
			arg++;
	}
	if (!*line)
		return 0;
	if (!strcmp(line, "timeout")) {
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || v == 0 || v > 86400 * 30)
			return ctl_reject("bad argument to timeout (1..2592000 seconds):", arg);
		return remote_set_timeout(g_fs, (unsigned)v);
	}
	if (*arg && (!strcmp(line, "pause") || !strcmp(line, "kill") ||
		     !strcmp(line, "refresh") || !strcmp(line, "sync")))
		return ctl_reject("command takes no argument:", line);
	if (!strcmp(line, "pause")) {
		cache_sync_all(g_fs);
		return remote_pause(g_fs);
	}
	if (!strcmp(line, "kill")) {
		return remote_kill(g_fs);
	}
	if (!strcmp(line, "refresh")) {
		inode_invalidate_all();
		watch_refresh();
		return 0;
	}
	if (!strcmp(line, "sync"))
		return cache_sync_all(g_fs);
	return ctl_reject("unknown command", line);
}

/* A copy of @buf as a string, cut at its first newline if @one_line. */
static char *write_text(const char *buf, size_t size, int one_line)
{
	char *copy = strndup(buf, size);

	if (copy && one_line)
		copy[strcspn(copy, "\n")] = 0;
	return copy;
}

static int write_ctl(fuse_req_t req, struct handle *h, const char *buf, size_t size)
{
	char *copy = write_text(buf, size, 0), *line, *next;
	int rc = 0;

	(void)req;
	(void)h;
	if (!copy)
		return -ENOMEM;
	for (line = copy; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		rc = ctl_command(line);
	}
	free(copy);
	return rc;
}

static int write_new(fuse_req_t req, struct handle *h, const char *buf, size_t size)
{
	char *copy = write_text(buf, size, 1);
	int rc;

	if (!copy)
		return -ENOMEM;
	rc = copy[0] ? start_proc(req, h, copy) : -EINVAL;
	free(copy);
	return rc;
}

static int write_stdin(fuse_req_t req, struct handle *h, const char *buf, size_t size)
{
	(void)req;
	return remote_proc_stdin(g_fs, h->p->pid, buf, size);
}

static int write_pctl(fuse_req_t req, struct handle *h, const char *buf, size_t size)
{
	char *copy = write_text(buf, size, 1);
	int rc;

	(void)req;
	if (!copy)
		return -ENOMEM;
	if (!strcmp(copy, "term")) {
		rc = remote_proc_signal(g_fs, h->p->pid, 0);
	} else if (!strcmp(copy, "kill")) {
		rc = remote_proc_signal(g_fs, h->p->pid, 1);
		if (rc == 0) {
			pthread_mutex_lock(&procs_lock);
			h->p->killed = 1;
			pthread_mutex_unlock(&procs_lock);
		}
	} else if (!strcmp(copy, "eof")) {
		rc = remote_proc_close_stdin(g_fs, h->p->pid);
	} else {
		rc = -EINVAL;
	}
	free(copy);
	return rc;
}

static void ctl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int rc = h->ent->write ? h->ent->write(req, h, buf, size) : -EBADF;

	(void)ino;
	(void)off;
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void ctl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (h) {
		if (h->ent == &fixed[K_CONNECTION] && h->buf)
			explicit_bzero(h->buf, h->len);
		free(h->buf);
		free(h);
	}
	fuse_reply_err(req, 0);
}

void ctl_shutdown(struct fs *fs)
{
	struct proc *p;

	(void)fs;
	pthread_mutex_lock(&procs_lock);
	for (p = procs; p; p = p->next)
		if (p->h && !p->ended)
			remote_proc_cancel(p->h);
	pthread_cond_broadcast(&procs_cond);
	pthread_mutex_unlock(&procs_lock);
	for (p = procs; p; p = p->next) {
		if (p->has_thread)
			pthread_join(p->thread, NULL);
		e2b_process_free(p->h);
		p->h = NULL;
	}
}

static void ctl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void ctl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

/* Control nodes hold no lookup counts: nothing to forget. */
static void ctl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

/* Nothing is buffered: a write is done when it returns. */
static void ctl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ctl_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	ctl_flush(req, ino, fi);
}

static void ctl_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void ctl_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	(void)size;
	fuse_reply_xattr(req, 0);
}

/*
 * The dispatch table of the room: ops.c hands every request on a control
 * inode (or for the name CTL_NAME in the root) to the handler here, one
 * CTL_ROUTE per operation.  An operation without a handler here is one
 * the mount answers for the room itself (EPERM for changes, see
 * ctl_owns() in ops.c's child_path).
 */
const struct fuse_lowlevel_ops ctl_ops = {
	.lookup = ctl_lookup,
	.forget = ctl_forget,
	.getattr = ctl_getattr,
	.setattr = ctl_setattr,
	.open = ctl_open,
	.read = ctl_read,
	.write = ctl_write,
	.flush = ctl_flush,
	.fsync = ctl_fsync,
	.release = ctl_release,
	.opendir = ctl_opendir,
	.readdir = ctl_readdir,
	.readdirplus = ctl_readdirplus,
	.releasedir = ctl_releasedir,
	.getxattr = ctl_getxattr,
	.listxattr = ctl_listxattr,
};
