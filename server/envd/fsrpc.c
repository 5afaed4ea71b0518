/* SPDX-License-Identifier: MIT */
/*
 * The filesystem.Filesystem service with envd's semantics and quirks
 * (protocol.md §2.7): Stat, ListDir, MakeDir, Move, Remove, WatchDir and
 * the polling watchers.  Every path goes through sbfs, so nothing a client
 * or the sandbox writes can reach outside the sandbox root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "envd/fsrpc.h"
#include "envd/listdir.h"
#include "envd/users.h"
#include "isolate/nsbox.h"
#include "http/rpc.h"
#include "isolate/sbfs.h"
#include "rfc3339.h"

#define XATTR_PREFIX "user.e2b."
/* Events kept for a polling watcher between two GetWatcherEvents calls. */
#define WATCHER_MAX_EVENTS 100000
#define WATCHERS_PER_SANDBOX 256
/* Sub-directories a recursive watch follows (inotify watches are a shared budget). */
#define WATCH_MAX_DIRS 8192

/* ---- EntryInfo ---------------------------------------------------------- */

void fsrpc_format_time(const struct timespec *ts, char *out, size_t outlen)
{
	if (e2bu_rfc3339_format(out, outlen, ts->tv_sec, (int32_t)ts->tv_nsec,
				E2BU_RFC3339_SHORTEST) < 0 && outlen)
		out[0] = '\0';
}

#ifndef __NR_listxattrat
#define __NR_listxattrat 465	/* Linux 6.13; one number on every architecture */
#endif

static atomic_bool no_listxattrat;

/*
 * Whether @leaf (a name in @dfd, no symlink followed) may have user.e2b.*
 * xattrs: false when listxattrat(2) lists none, which is one system call
 * and most files; true when it lists some, or cannot tell.
 */
static bool entry_may_have_metadata(int dfd, const char *leaf)
{
	size_t off, plen = strlen(XATTR_PREFIX);
	char list[4096];
	ssize_t len;

	if (atomic_load_explicit(&no_listxattrat, memory_order_relaxed))
		return true;
	len = syscall(__NR_listxattrat, dfd, leaf, AT_SYMLINK_NOFOLLOW, list, sizeof(list));
	if (len < 0) {
		if (errno == ENOSYS || errno == EPERM)
			atomic_store(&no_listxattrat, true);
		return true;
	}
	for (off = 0; off < (size_t)len; off += strlen(list + off) + 1)
		if (strncmp(list + off, XATTR_PREFIX, plen) == 0)
			return true;
	return false;
}

json_t *fsrpc_entry_metadata(int dfd, const char *leaf)
{
	char proc[64], list[4096], val[4096];
	json_t *meta = NULL;
	ssize_t len, vlen;
	size_t off, plen = strlen(XATTR_PREFIX);
	int fd;

	if (!entry_may_have_metadata(dfd, leaf))
		return NULL;
	fd = openat(dfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* O_PATH fds cannot be used with f*xattr; the magic link can. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = listxattr(proc, list, sizeof(list));
	for (off = 0; len > 0 && off < (size_t)len; off += strlen(list + off) + 1) {
		const char *name = list + off;

		if (strncmp(name, XATTR_PREFIX, plen) != 0 || name[plen] == '\0')
			continue;
		vlen = getxattr(proc, name, val, sizeof(val) - 1);
		if (vlen < 0)
			continue;
		val[vlen] = '\0';
		if (!meta)
			meta = json_object();
		json_object_set_new(meta, name + plen, json_stringn(val, (size_t)vlen));
	}
	close(fd);
	return meta;
}

static const char *file_type_name(mode_t m)
{
	if (S_ISREG(m))
		return "FILE_TYPE_FILE";
	if (S_ISDIR(m))
		return "FILE_TYPE_DIRECTORY";
	return NULL;
}

/* An EntryInfo's fields from size to modifiedTime into @e, in proto field
 * order, for a file of @st (@mode: its permission bits, a link's target's). */
static void entry_set_stat(json_t *e, const struct sbfs_idnames *names, const struct stat *st,
			   mode_t mode)
{
	char perms[32], owner[64], group[64], mtime[48];

	if (st->st_size != 0) {
		char sz[32];

		snprintf(sz, sizeof(sz), "%lld", (long long)st->st_size);
		json_object_set_new(e, "size", json_string(sz));
	}
	if (mode)
		json_object_set_new(e, "mode", json_integer(mode));
	sbfs_mode_string(st->st_mode, perms, sizeof(perms));
	json_object_set_new(e, "permissions", json_string(perms));
	sbfs_idnames_user(names, st->st_uid, owner, sizeof(owner));
	sbfs_idnames_group(names, st->st_gid, group, sizeof(group));
	json_object_set_new(e, "owner", json_string(owner));
	json_object_set_new(e, "group", json_string(group));
	if (st->st_mtim.tv_sec != 0 || st->st_mtim.tv_nsec != 0) {
		fsrpc_format_time(&st->st_mtim, mtime, sizeof(mtime));
		json_object_set_new(e, "modifiedTime", json_string(mtime));
	}
}

json_t *fsrpc_entry_at(int rootfd, const struct sbfs_idnames *names, int dfd,
		       const char *leaf, const char *path)
{
	char target[SBFS_PATH_MAX];
	const char *name, *type = NULL;
	struct stat st, tst;
	mode_t mode = 0;
	json_t *e, *meta, *jname, *jpath, *jtarget;
	bool link;

	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	link = S_ISLNK(st.st_mode);
	if (link) {
		/* Go EvalSymlinks inside the sandbox; a broken link reports itself. */
		if (sbfs_realpath(rootfd, path, target, sizeof(target)) < 0)
			snprintf(target, sizeof(target), "%s", path);
		if (sbfs_stat(rootfd, target, &tst) == 0) {
			type = file_type_name(tst.st_mode);
			mode = tst.st_mode & 0777;
		}
	} else {
		type = file_type_name(st.st_mode);
		mode = st.st_mode & 0777;
	}
	name = strrchr(path, '/');
	name = (name && name[1]) ? name + 1 : path;

	/* Protobuf strings must be UTF-8 (envd fails the whole call): skip such entries. */
	jname = json_string(name);
	jpath = json_string(path);
	jtarget = link ? json_string(target) : NULL;
	e = json_object();
	if (!e || !jname || !jpath || (link && !jtarget)) {
		json_decref(e);
		json_decref(jname);
		json_decref(jpath);
		json_decref(jtarget);
		errno = e ? EILSEQ : ENOMEM;
		return NULL;
	}
	/* Keys in proto field order, as protojson writes them. */
	json_object_set_new(e, "name", jname);
	if (type)
		json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "path", jpath);
	entry_set_stat(e, names, &st, mode);
	if (jtarget)
		json_object_set_new(e, "symlinkTarget", jtarget);
	if (!link && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		meta = fsrpc_entry_metadata(dfd, leaf);
		if (meta)
			json_object_set_new(e, "metadata", meta);
	}
	return e;
}

json_t *fsrpc_entry(int rootfd, const struct sbfs_idnames *names, const char *path)
{
	char leaf[NAME_MAX + 1];
	json_t *e;
	int pfd, saved;

	pfd = sbfs_open_parent(rootfd, path, leaf, sizeof(leaf));
	if (pfd < 0)
		return NULL;
	e = fsrpc_entry_at(rootfd, names, pfd, leaf, path);
	saved = errno;
	close(pfd);
	errno = saved;
	return e;
}

/* ---- request helpers ---------------------------------------------------- */

/* A string field by its JSON name or proto name; "" when absent or null. */
static int req_str(json_t *req, const char *camel, const char *snake,
		   const char **out, struct rpc_error *err)
{
	json_t *v = json_object_get(req, camel);

	if ((!v || json_is_null(v)) && snake)
		v = json_object_get(req, snake);
	*out = "";
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return rpc_fail(err, "invalid_argument", "invalid value for string field %s",
				camel);
	*out = json_string_value(v);
	return 0;
}

static int req_bool(json_t *req, const char *camel, const char *snake,
		    bool *out, struct rpc_error *err)
{
	json_t *v = json_object_get(req, camel);

	if ((!v || json_is_null(v)) && snake)
		v = json_object_get(req, snake);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return rpc_fail(err, "invalid_argument", "invalid value for bool field %s", camel);
	*out = json_is_true(v);
	return 0;
}

static int req_u32(json_t *req, const char *name, uint32_t *out, struct rpc_error *err)
{
	json_t *v = json_object_get(req, name);
	long long n;
	char *end;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		errno = 0;
		n = strtoll(json_string_value(v), &end, 10);
		if (errno || *end || end == json_string_value(v))
			n = -1;
	} else {
		n = -1;
	}
	if (n < 0 || n > UINT32_MAX)
		return rpc_fail(err, "invalid_argument", "invalid value for uint32 field %s", name);
	*out = (uint32_t)n;
	return 0;
}

/* Resolve a request path for the call's user; "" means the home dir. */
static int resolve(struct rpc_ctx *ctx, const char *in, char *out, size_t outlen,
			struct rpc_error *err)
{
	char msg[512];

	if (users_resolve_path(&ctx->user, in, out, outlen, msg, sizeof(msg)) < 0)
		return rpc_fail(err, "invalid_argument", "%s", msg);
	if (out[0] == '\0')
		snprintf(out, outlen, "%s", ctx->user.home);
	return 0;
}

typedef int (*fs_root_fn)(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			  struct rpc_error *err);

/* Run @fn with a private root fd held for the whole call (see sbfs_root_get). */
static int with_root(struct rpc_ctx *ctx, json_t *req, json_t **out, struct rpc_error *err,
		     fs_root_fn fn)
{
	int rootfd, rc;

	rootfd = sbfs_root_get(ctx->sb);
	if (rootfd < 0)
		return rpc_fail(err, "unavailable", "sandbox filesystem is not mounted");
	rc = fn(ctx, rootfd, req, out, err);
	close(rootfd);
	return rc;
}

#define FS_ROOT_HANDLER(name)							\
	static int name(struct rpc_ctx *ctx, json_t *req, json_t **out,		\
			struct rpc_error *err)					\
	{									\
		return with_root(ctx, req, out, err, name##_root);		\
	}

/* ---- unary RPCs --------------------------------------------------------- */

static int fs_stat_root(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			struct rpc_error *err)
{
	char path[SBFS_PATH_MAX];
	struct sbfs_idnames names;
	const char *in;
	json_t *e;
	int e2;

	if (req_str(req, "path", NULL, &in, err) < 0 ||
	    resolve(ctx, in, path, sizeof(path), err) < 0)
		return -1;
	sbfs_idnames_load(&names, ctx->sb, rootfd);
	e = fsrpc_entry(rootfd, &names, path);
	e2 = errno;
	sbfs_idnames_release(&names);
	if (!e) {
		if (e2 == ENOENT)
			return rpc_fail(err, "not_found", "file not found: lstat %s: %s",
					path, sbfs_errstr(e2));
		return rpc_fail(err, "internal", "error getting file info: lstat %s: %s",
				path, sbfs_errstr(e2));
	}
	*out = json_pack("{s:o}", "entry", e);
	return 0;
}

/*
 * ListDir in the call's codec (see listdir.h): 0 with the answer's bytes
 * in *out (malloc'd), -1 with @err set, or 1 when only the generic path
 * can give this answer in protobuf (it then fails it as pbjson tells).
 */
static int list_dir(struct rpc_ctx *ctx, int rootfd, json_t *req, enum listdir_codec codec,
		    char **out, size_t *out_len, struct rpc_error *err)
{
	char path[SBFS_PATH_MAX], real[SBFS_PATH_MAX];
	struct sbfs_idnames names;
	struct stat st;
	const char *in;
	uint32_t depth;
	int dfd, rc, e;

	if (req_str(req, "path", NULL, &in, err) < 0 || req_u32(req, "depth", &depth, err) < 0 ||
	    resolve(ctx, in, path, sizeof(path), err) < 0)
		return -1;
	if (depth == 0)
		depth = 1;
	if (sbfs_realpath(rootfd, path, real, sizeof(real)) < 0) {
		e = errno;
		if (e == ENOENT)
			return rpc_fail(err, "not_found", "path not found: lstat %s: %s",
					path, sbfs_errstr(e));
		if (e == ELOOP)
			return rpc_fail(err, "failed_precondition",
					"cyclic symlink or chain >255 links at \"%s\"", path);
		return rpc_fail(err, "internal", "error resolving symlink: lstat %s: %s",
				path, sbfs_errstr(e));
	}
	if (sbfs_stat(rootfd, real, &st) < 0) {
		e = errno;
		return rpc_fail(err, e == ENOENT ? "not_found" : "internal",
				"directory not found: stat %s: %s", real, sbfs_errstr(e));
	}
	if (!S_ISDIR(st.st_mode))
		return rpc_fail(err, "invalid_argument", "path is not a directory: %s", real);
	dfd = sbfs_open(rootfd, real, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0) {
		e = errno;
		return rpc_fail(err, "internal", "error reading directory %s: open %s: %s",
				real, real, sbfs_errstr(e));
	}
	sbfs_idnames_load(&names, ctx->sb, rootfd);
	rc = listdir_walk(out, out_len, rootfd, &names, dfd, path, depth, codec);
	e = errno;
	close(dfd);
	sbfs_idnames_release(&names);
	if (rc < 0)
		return rpc_fail(err, "internal", "error reading directory %s: %s",
				real, sbfs_errstr(e));
	return rc;
}

/* ListDir for the JSON-only callers of .unary: the direct answer, parsed. */
static int fs_list_dir_root(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			    struct rpc_error *err)
{
	json_error_t jerr;
	size_t len;
	char *text;
	int rc;

	rc = list_dir(ctx, rootfd, req, LISTDIR_JSON, &text, &len, err);
	if (rc < 0)
		return -1;
	*out = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
	free(text);
	if (!*out)
		return rpc_fail(err, "internal", "listing: %s", jerr.text);
	return 0;
}

/* ListDir answered in the call's codec without a json_t per entry. */
static int fs_list_dir_raw(struct rpc_ctx *ctx, json_t *req, bool proto, char **out,
			   size_t *out_len, struct rpc_error *err)
{
	int rootfd, rc;

	rootfd = sbfs_root_get(ctx->sb);
	if (rootfd < 0)
		return rpc_fail(err, "unavailable", "sandbox filesystem is not mounted");
	rc = list_dir(ctx, rootfd, req, proto ? LISTDIR_PROTO : LISTDIR_JSON, out, out_len, err);
	close(rootfd);
	return rc;
}

static int fs_make_dir_root(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			struct rpc_error *err)
{
	char path[SBFS_PATH_MAX], msg[SBFS_PATH_MAX + 128];
	struct sbfs_idnames names;
	struct stat st;
	const char *in;
	json_t *e;

	if (req_str(req, "path", NULL, &in, err) < 0 ||
	    resolve(ctx, in, path, sizeof(path), err) < 0)
		return -1;
	if (sbfs_stat(rootfd, path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return rpc_fail(err, "already_exists", "directory already exists: %s",
					path);
		return rpc_fail(err, "invalid_argument",
				"path already exists but it is not a directory: %s", path);
	}
	if (errno != ENOENT)
		return rpc_fail(err, "internal", "error getting file info: stat %s: %s",
				path, sbfs_errstr(errno));
	if (sbfs_mkdirs(rootfd, path, ctx->user.uid, ctx->user.gid, msg, sizeof(msg)) < 0)
		return rpc_fail(err, "internal", "%s", msg);
	sbfs_idnames_load(&names, ctx->sb, rootfd);
	e = fsrpc_entry(rootfd, &names, path);
	sbfs_idnames_release(&names);
	if (!e) {
		const char *base = strrchr(path, '/');

		e = json_pack("{s:s,s:s,s:s}", "name", base && base[1] ? base + 1 : path,
			      "type", "FILE_TYPE_DIRECTORY", "path", path);
	}
	*out = json_pack("{s:o}", "entry", e);
	return 0;
}

/* Parent directory of a clean absolute path, into @out. */
static void path_dir(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;

	if (len == 0 || len >= outlen) {
		snprintf(out, outlen, "/");
		return;
	}
	memcpy(out, path, len);
	out[len] = '\0';
}

/* envd's Move is Go's os.Rename, which refuses to replace an existing
 * directory (even an empty one) unless it is the source itself (EEXIST). */
static int go_rename(int spfd, const char *sleaf, int dpfd, const char *dleaf)
{
	struct stat sst, dst;

	if (fstatat(dpfd, dleaf, &dst, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(dst.st_mode))
		return renameat(spfd, sleaf, dpfd, dleaf);
	if (fstatat(spfd, sleaf, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sst.st_dev == dst.st_dev && sst.st_ino == dst.st_ino)
		return 0;
	errno = EEXIST;
	return -1;
}

/*
 * Open the directories of @src and @dst (O_PATH, once when it is the same
 * one, as for an editor's save) into *spfd and *dpfd and their last
 * components into @sleaf and @dleaf, after a mkdir -p of the destination's
 * directory when it is missing.  Returns 0; 1 when one cannot be opened
 * (errno set, nothing left open); -1 when mkdir -p failed (answered).
 */
static int move_open_dirs(struct rpc_ctx *ctx, int rootfd, const char *src, const char *dst,
			  char *sleaf, char *dleaf, int *spfd, int *dpfd, struct rpc_error *err)
{
	char dir[SBFS_PATH_MAX], sdir[SBFS_PATH_MAX], msg[SBFS_PATH_MAX + 128];
	int e;

	*spfd = -1;
	*dpfd = sbfs_open_parent(rootfd, dst, dleaf, NAME_MAX + 1);
	if (*dpfd < 0) {
		path_dir(dst, dir, sizeof(dir));
		if (sbfs_mkdirs(rootfd, dir, ctx->user.uid, ctx->user.gid, msg, sizeof(msg)) < 0)
			return rpc_fail(err, "internal", "%s", msg);
	} else if (sbfs_split(src, sdir, sizeof(sdir), sleaf, NAME_MAX + 1) == 0 &&
		   sbfs_split(dst, dir, sizeof(dir), dleaf, NAME_MAX + 1) == 0 &&
		   strcmp(sdir, dir) == 0) {
		*spfd = *dpfd;
		return 0;
	}
	*spfd = sbfs_open_parent(rootfd, src, sleaf, NAME_MAX + 1);
	if (*spfd >= 0 && *dpfd < 0)
		*dpfd = sbfs_open_parent(rootfd, dst, dleaf, NAME_MAX + 1);
	if (*spfd >= 0 && *dpfd >= 0)
		return 0;
	e = errno;
	if (*spfd >= 0)
		close(*spfd);
	if (*dpfd >= 0)
		close(*dpfd);
	*spfd = *dpfd = -1;
	errno = e;
	return 1;
}

static int fs_move_root(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			struct rpc_error *err)
{
	char src[SBFS_PATH_MAX], dst[SBFS_PATH_MAX];
	char sleaf[NAME_MAX + 1], dleaf[NAME_MAX + 1];
	struct sbfs_idnames names;
	const char *sin, *din;
	int spfd, dpfd, rc, e;
	json_t *entry;

	if (req_str(req, "source", NULL, &sin, err) < 0 ||
	    req_str(req, "destination", NULL, &din, err) < 0 ||
	    resolve(ctx, sin, src, sizeof(src), err) < 0 ||
	    resolve(ctx, din, dst, sizeof(dst), err) < 0)
		return -1;
	rc = move_open_dirs(ctx, rootfd, src, dst, sleaf, dleaf, &spfd, &dpfd, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		rc = go_rename(spfd, sleaf, dpfd, dleaf);
	else
		rc = -1;
	e = errno;
	if (spfd >= 0 && spfd != dpfd)
		close(spfd);
	if (rc < 0) {
		if (dpfd >= 0)
			close(dpfd);
		if (e == ENOENT)
			return rpc_fail(err, "not_found", "source file not found: rename %s %s: %s",
					src, dst, sbfs_errstr(e));
		return rpc_fail(err, "internal", "error renaming: rename %s %s: %s",
				src, dst, sbfs_errstr(e));
	}
	/* The entry as it is now in the directory it was moved into. */
	sbfs_idnames_load(&names, ctx->sb, rootfd);
	entry = fsrpc_entry_at(rootfd, &names, dpfd, dleaf, dst);
	e = errno;
	sbfs_idnames_release(&names);
	close(dpfd);
	if (!entry)
		return rpc_fail(err, e == ENOENT ? "not_found" : "internal",
				"file not found: lstat %s: %s", dst, sbfs_errstr(e));
	*out = json_pack("{s:o}", "entry", entry);
	return 0;
}

static int fs_remove_root(struct rpc_ctx *ctx, int rootfd, json_t *req, json_t **out,
			struct rpc_error *err)
{
	char path[SBFS_PATH_MAX];
	const char *in;

	if (req_str(req, "path", NULL, &in, err) < 0 ||
	    resolve(ctx, in, path, sizeof(path), err) < 0)
		return -1;
	if (sbfs_remove_all(rootfd, path) < 0)
		return rpc_fail(err, "internal",
				"error removing file or directory: unlinkat %s: %s",
				path, sbfs_errstr(errno));
	*out = json_object();
	return 0;
}

FS_ROOT_HANDLER(fs_stat)
FS_ROOT_HANDLER(fs_list_dir)
FS_ROOT_HANDLER(fs_make_dir)
FS_ROOT_HANDLER(fs_move)
FS_ROOT_HANDLER(fs_remove)

/* ---- watching ------------------------------------------------------------ */

struct fswatch {
	struct sandbox *sb;
	int rootfd;		/* private duplicate, see sbfs_root_get */
	int ifd;
	bool recursive;
	bool include_entry;
	char base[SBFS_PATH_MAX];	/* watched path as the client named it */
	char rel[SBFS_PATH_MAX];	/* scratch for fswatch_add_tree_at() */
	struct wdir {
		int wd;
		char *rel;		/* "" for the base directory */
	} *dirs;
	size_t ndirs, cap;
	struct sbfs_idnames names;
	uint32_t upload_cookie;	/* rename cookie of an upload temp file */
};

static void fswatch_free(struct fswatch *w)
{
	size_t i;

	if (!w)
		return;
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->rootfd >= 0)
		close(w->rootfd);
	for (i = 0; i < w->ndirs; i++)
		free(w->dirs[i].rel);
	free(w->dirs);
	sbfs_idnames_release(&w->names);
	free(w);
}

static struct wdir *fswatch_find(struct fswatch *w, int wd)
{
	size_t i;

	for (i = 0; i < w->ndirs; i++)
		if (w->dirs[i].wd == wd)
			return &w->dirs[i];
	return NULL;
}

/* Join base and rel into a sandbox path; -1 (ENAMETOOLONG) if it does not fit. */
static int join_path(const char *base, const char *rel, char *out, size_t outlen)
{
	int n;

	if (!rel[0])
		n = snprintf(out, outlen, "%s", base);
	else
		n = snprintf(out, outlen, "%s/%s", strcmp(base, "/") ? base : "", rel);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * inotify takes a path, not a dirfd: hand it our own /proc/self/fd link
 * to a directory opened safely beneath the root.
 */
static int fswatch_add_fd(struct fswatch *w, int fd, const char *rel)
{
	char proc[64];
	struct wdir *nd;
	int wd;

	if (w->ndirs >= WATCH_MAX_DIRS) {
		errno = ENOSPC;
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->ifd, proc, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
			       IN_ATTRIB | IN_MODIFY | IN_DELETE | IN_ONLYDIR);
	if (wd < 0)
		return -1;
	nd = fswatch_find(w, wd);
	if (nd) {
		free(nd->rel);
		nd->rel = strdup(rel);
		return nd->rel ? 0 : -1;
	}
	if (w->ndirs == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 16;
		struct wdir *v = realloc(w->dirs, ncap * sizeof(*v));

		if (!v)
			return -1;
		w->dirs = v;
		w->cap = ncap;
	}
	w->dirs[w->ndirs].wd = wd;
	w->dirs[w->ndirs].rel = strdup(rel);
	if (!w->dirs[w->ndirs].rel)
		return -1;
	w->ndirs++;
	return 0;
}

static int fswatch_add(struct fswatch *w, const char *rel)
{
	char path[SBFS_PATH_MAX];
	int fd, rc, e;

	if (join_path(w->base, rel, path, sizeof(path)) < 0)
		return -1;
	fd = sbfs_open(w->rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return -1;
	rc = fswatch_add_fd(w, fd, rel);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

typedef int (*fswatch_emit_fn)(json_t *event, void *payload);

static int emit_one(struct fswatch *w, const char *name, const char *type,
		    fswatch_emit_fn emit, void *payload);

/*
 * Watch every directory below @dfd, whose relative name is w->rel[0..len).
 * With @emit (a directory that just appeared), also report a CREATE for
 * every entry found: whatever was made in it before its watch existed
 * would otherwise never be seen (the usual recursive-inotify race).
 */
static int fswatch_add_tree_at(struct fswatch *w, int dfd, size_t len,
			       fswatch_emit_fn emit, void *payload)
{
	struct listdir_names ln;
	struct stat st;
	char **names;
	size_t n, i, nlen;
	int cfd, rc = 0;

	if (listdir_names_read(&ln, dfd) < 0)
		return 0;
	names = ln.v;
	n = ln.n;
	for (i = 0; i < n && rc == 0; i++) {
		if (strncmp(names[i], UPLOAD_TMP_PREFIX, strlen(UPLOAD_TMP_PREFIX)) == 0)
			continue;
		nlen = strlen(names[i]);
		if (len + 1 + nlen >= sizeof(w->rel))
			continue;
		if (len)
			w->rel[len] = '/';
		memcpy(w->rel + len + (len ? 1 : 0), names[i], nlen + 1);
		if (emit && emit_one(w, w->rel, "EVENT_TYPE_CREATE", emit, payload) < 0)
			rc = -1;
		if (rc == 0 && w->ndirs < WATCH_MAX_DIRS &&
		    fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			cfd = openat(dfd, names[i],
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				if (fswatch_add_fd(w, cfd, w->rel) == 0)
					rc = fswatch_add_tree_at(w, cfd, len + (len ? 1 : 0) + nlen,
								 emit, payload);
				close(cfd);
			}
		}
		w->rel[len] = '\0';
	}
	listdir_names_release(&ln);
	return rc;
}

/* Watch every directory below @rel (which is already watched); see above for @emit. */
static int fswatch_add_tree(struct fswatch *w, const char *rel, fswatch_emit_fn emit,
			    void *payload)
{
	char path[SBFS_PATH_MAX];
	int dfd, rc;

	if (join_path(w->base, rel, path, sizeof(path)) < 0 || strlen(rel) >= sizeof(w->rel))
		return 0;
	dfd = sbfs_open(w->rootfd, path, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return 0;
	memcpy(w->rel, rel, strlen(rel) + 1);
	rc = fswatch_add_tree_at(w, dfd, strlen(rel), emit, payload);
	close(dfd);
	return rc;
}

/* Validate a WatchDir/CreateWatcher request and start watching. */
static struct fswatch *fswatch_new(struct rpc_ctx *ctx, json_t *req, struct rpc_error *err)
{
	char path[SBFS_PATH_MAX];
	struct fswatch *w;
	struct stat st;
	const char *in;
	bool rec, inc, netok;
	int rootfd, e;

	if (req_str(req, "path", NULL, &in, err) < 0 ||
	    req_bool(req, "recursive", NULL, &rec, err) < 0 ||
	    req_bool(req, "includeEntry", "include_entry", &inc, err) < 0 ||
	    req_bool(req, "allowNetworkMounts", "allow_network_mounts", &netok, err) < 0 ||
	    resolve(ctx, in, path, sizeof(path), err) < 0)
		return NULL;
	rootfd = sbfs_root_get(ctx->sb);
	if (rootfd < 0) {
		rpc_fail(err, "unavailable", "sandbox filesystem is not mounted");
		return NULL;
	}
	if (sbfs_stat(rootfd, path, &st) < 0) {
		e = errno;
		close(rootfd);
		if (e == ENOENT)
			rpc_fail(err, "not_found", "path %s not found: stat %s: %s",
				 path, path, sbfs_errstr(e));
		else
			rpc_fail(err, "internal", "error statting path %s: stat %s: %s",
				 path, path, sbfs_errstr(e));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(rootfd);
		rpc_fail(err, "invalid_argument", "path %s not a directory", path);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(rootfd);
		rpc_fail(err, "internal", "out of memory");
		return NULL;
	}
	w->sb = ctx->sb;
	w->rootfd = rootfd;
	w->recursive = rec;
	w->include_entry = inc;
	snprintf(w->base, sizeof(w->base), "%s", path);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0 || fswatch_add(w, "") < 0) {
		e = errno;
		/* Out of inotify instances or watches (a host-wide budget). */
		rpc_fail(err, e == EMFILE || e == ENOSPC ? "resource_exhausted" : "internal",
			 "error adding path %s to watcher: %s", path, sbfs_errstr(e));
		fswatch_free(w);
		return NULL;
	}
	if (rec)
		fswatch_add_tree(w, "", NULL, NULL);
	sbfs_idnames_load(&w->names, ctx->sb, rootfd);
	return w;
}

static int emit_one(struct fswatch *w, const char *name, const char *type,
		    fswatch_emit_fn emit, void *payload)
{
	char path[SBFS_PATH_MAX];
	json_t *ev, *entry;
	int rc;

	ev = json_pack("{s:s,s:s}", "name", name, "type", type);
	if (!ev)
		return 0;
	if (w->include_entry && join_path(w->base, name, path, sizeof(path)) == 0) {
		entry = fsrpc_entry(w->rootfd, &w->names, path);
		if (entry)
			json_object_set_new(ev, "entry", entry);
	}
	rc = emit(ev, payload);
	json_decref(ev);
	return rc;
}

/*
 * The FilesystemEvents of inotify event @ev on @name (relative to the
 * watched directory), one per op in fsnotify's order (CREATE, RENAME,
 * CHMOD, WRITE, REMOVE); a directory created under a recursive watch is
 * watched too.  -1 when @emit asks to stop.
 */
static int fswatch_emit_ops(struct fswatch *w, const struct inotify_event *ev, const char *name,
			    fswatch_emit_fn emit, void *payload)
{
	/* The ops after CREATE (and an upload's rename), in fsnotify's order. */
	static const struct {
		uint32_t mask;
		const char *type;
	} later_ops[] = {
		{ IN_MOVED_FROM, "EVENT_TYPE_RENAME" },
		{ IN_ATTRIB, "EVENT_TYPE_CHMOD" },
		{ IN_MODIFY, "EVENT_TYPE_WRITE" },
		{ IN_DELETE, "EVENT_TYPE_REMOVE" },
	};
	size_t i;

	if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
	    emit_one(w, name, "EVENT_TYPE_CREATE", emit, payload) < 0)
		return -1;
	if (w->recursive && (ev->mask & IN_ISDIR) &&
	    (ev->mask & (IN_CREATE | IN_MOVED_TO)) && fswatch_add(w, name) == 0 &&
	    fswatch_add_tree(w, name, emit, payload) < 0)
		return -1;
	if ((ev->mask & IN_MOVED_TO) && ev->cookie &&
	    ev->cookie == w->upload_cookie) {
		w->upload_cookie = 0;
		if (emit_one(w, name, "EVENT_TYPE_WRITE", emit, payload) < 0)
			return -1;
		return 0;
	}
	for (i = 0; i < sizeof(later_ops) / sizeof(later_ops[0]); i++)
		if ((ev->mask & later_ops[i].mask) &&
		    emit_one(w, name, later_ops[i].type, emit, payload) < 0)
			return -1;
	return 0;
}

/* One inotify event @ev: forget a directory the kernel stopped watching,
 * hide upload temp files, emit the rest (fswatch_emit_ops).  -1 when @emit
 * asks to stop, -2 when the kernel's queue overflowed. */
static int fswatch_event(struct fswatch *w, const struct inotify_event *ev,
			 fswatch_emit_fn emit, void *payload)
{
	char name[SBFS_PATH_MAX];
	struct wdir *d;

	/* Events were lost: the client must not go on as if not. */
	if (ev->mask & IN_Q_OVERFLOW)
		return -2;
	if (ev->mask & IN_IGNORED) {
		d = fswatch_find(w, ev->wd);
		if (d) {
			free(d->rel);
			*d = w->dirs[--w->ndirs];
		}
		return 0;
	}
	d = fswatch_find(w, ev->wd);
	if (!d || ev->len == 0 || !ev->name[0])
		return 0;
	/*
	 * Uploads write a temp file and rename it into place
	 * (files.c).  Hide the temp file and report the rename
	 * as envd's in-place write would show: CREATE + WRITE.
	 */
	if (strncmp(ev->name, UPLOAD_TMP_PREFIX, strlen(UPLOAD_TMP_PREFIX)) == 0) {
		if (ev->mask & IN_MOVED_FROM)
			w->upload_cookie = ev->cookie;
		return 0;
	}
	if (snprintf(name, sizeof(name), "%s%s%s", d->rel, d->rel[0] ? "/" : "",
		     ev->name) >= (int)sizeof(name))
		return 0;
	return fswatch_emit_ops(w, ev, name, emit, payload);
}

/*
 * Read the pending inotify events and emit one FilesystemEvent per op,
 * in fsnotify's order (CREATE, RENAME, CHMOD, WRITE, REMOVE).  Returns -1
 * when @emit asks to stop, -2 when the kernel's queue overflowed (events
 * were lost).
 */
static int fswatch_drain(struct fswatch *w, fswatch_emit_fn emit, void *payload)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t len;
	char *p;
	int rc;

	for (;;) {
		len = read(w->ifd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return 0;
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			rc = fswatch_event(w, ev, emit, payload);
			if (rc < 0)
				return rc;
		}
	}
}

static int stream_emit(json_t *event, void *payload)
{
	struct rpc_stream *s = payload;
	json_t *msg;
	int rc;

	msg = json_pack("{s:O}", "filesystem", event);
	if (!msg)
		return 0;
	rc = rpc_stream_send(s, msg);
	json_decref(msg);
	return rc;
}

static void fs_watch_dir(struct rpc_ctx *ctx, json_t *req, struct rpc_stream *s,
			 struct rpc_error *err)
{
	struct fswatch *w;
	struct pollfd pfd;
	json_t *start;
	int rc;

	w = fswatch_new(ctx, req, err);
	if (!w)
		return;
	start = json_pack("{s:{}}", "start");
	if (rpc_stream_send(s, start) < 0)
		goto out;
	pfd.fd = w->ifd;
	pfd.events = POLLIN;
	/* Poll in short slices so a client that goes away is noticed promptly. */
	while (!rpc_stream_closed(s)) {
		/* Killed or stopped: the root went away, so does the watch. */
		if (ctx->sb->rootfd < 0) {
			rpc_fail(err, "unavailable", "sandbox is not running");
			break;
		}
		pfd.revents = 0;
		if (poll(&pfd, 1, 250) < 0 && errno != EINTR) {
			rpc_fail(err, "internal", "watcher error: %s", sbfs_errstr(errno));
			break;
		}
		rc = (pfd.revents & POLLIN) ? fswatch_drain(w, stream_emit, s) : 0;
		if (rc == -2)
			rpc_fail(err, "internal", "watcher error: event queue overflow");
		if (rc < 0)
			break;
	}
out:
	json_decref(start);
	fswatch_free(w);
}

/* Polling watchers: a thread per watcher collects events between polls. */
struct watcher {
	struct watcher *next;
	char id[32];
	struct fswatch *fw;
	pthread_t thread;
	int stopfd;
	json_t *events;		/* protected by watch_table.lock */
};

struct watch_table {
	pthread_mutex_t lock;
	struct watcher *head;	/* protected by lock */
	unsigned long seq;	/* protected by lock */
	size_t count;		/* protected by lock */
};

struct watcher_emit {
	struct watch_table *t;
	struct watcher *w;
};

static int watcher_emit(json_t *event, void *payload)
{
	struct watcher_emit *we = payload;

	pthread_mutex_lock(&we->t->lock);
	if (json_array_size(we->w->events) < WATCHER_MAX_EVENTS)
		json_array_append(we->w->events, event);
	pthread_mutex_unlock(&we->t->lock);
	return 0;
}

static void *watcher_main(void *arg)
{
	struct watcher_emit we = *(struct watcher_emit *)arg;
	struct pollfd pfd[2];

	free(arg);
	pfd[0].fd = we.w->fw->ifd;
	pfd[0].events = POLLIN;
	pfd[1].fd = we.w->stopfd;
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN)
			fswatch_drain(we.w->fw, watcher_emit, &we);
	}
	return NULL;
}

static void watcher_free(struct watcher *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	if (write(w->stopfd, &one, sizeof(one)) < 0)
		log_warn("cannot stop watcher '%s'", w->id);
	pthread_join(w->thread, NULL);
	close(w->stopfd);
	fswatch_free(w->fw);
	json_decref(w->events);
	free(w);
}

int fsrpc_watch_table_init(struct sandbox *sb)
{
	struct watch_table *t;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	sb->watches = t;
	return 0;
}

void fsrpc_watch_table_release(struct sandbox *sb)
{
	struct watch_table *t = sb->watches;
	struct watcher *w, *next;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	w = t->head;
	t->head = NULL;
	pthread_mutex_unlock(&t->lock);
	for (; w; w = next) {
		next = w->next;
		watcher_free(w);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
	sb->watches = NULL;
}

static int fs_create_watcher(struct rpc_ctx *ctx, json_t *req, json_t **out,
			     struct rpc_error *err)
{
	struct watch_table *t = ctx->sb->watches;
	struct watcher_emit *arg;
	struct watcher *w;
	struct fswatch *fw;

	if (!t)
		return rpc_fail(err, "unavailable", "sandbox is not running");
	pthread_mutex_lock(&t->lock);
	if (t->count >= WATCHERS_PER_SANDBOX) {
		pthread_mutex_unlock(&t->lock);
		return rpc_fail(err, "resource_exhausted", "too many watchers");
	}
	pthread_mutex_unlock(&t->lock);
	fw = fswatch_new(ctx, req, err);
	if (!fw)
		return -1;
	w = calloc(1, sizeof(*w));
	arg = calloc(1, sizeof(*arg));
	if (!w || !arg)
		goto fail;
	w->fw = fw;
	w->events = json_array();
	w->stopfd = eventfd(0, EFD_CLOEXEC);
	if (w->stopfd < 0 || !w->events)
		goto fail;
	pthread_mutex_lock(&t->lock);
	snprintf(w->id, sizeof(w->id), "w%lx%04lx", (unsigned long)log_now_ms(), ++t->seq);
	pthread_mutex_unlock(&t->lock);
	arg->t = t;
	arg->w = w;
	if (pthread_create(&w->thread, NULL, watcher_main, arg) != 0)
		goto fail;
	pthread_mutex_lock(&t->lock);
	w->next = t->head;
	t->head = w;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	*out = json_pack("{s:s}", "watcherId", w->id);
	return 0;
fail:
	free(arg);
	if (w) {
		if (w->stopfd > 0)
			close(w->stopfd);
		json_decref(w->events);
		free(w);
	}
	fswatch_free(fw);
	return rpc_fail(err, "internal", "error creating watcher: %s", sbfs_errstr(errno));
}

static int fs_get_watcher_events(struct rpc_ctx *ctx, json_t *req, json_t **out,
				 struct rpc_error *err)
{
	struct watch_table *t = ctx->sb->watches;
	struct watcher *w;
	json_t *events = NULL;
	const char *id;

	if (req_str(req, "watcherId", "watcher_id", &id, err) < 0)
		return -1;
	if (!t)
		return rpc_fail(err, "not_found", "watcher with id %s not found", id);
	pthread_mutex_lock(&t->lock);
	for (w = t->head; w; w = w->next)
		if (strcmp(w->id, id) == 0)
			break;
	if (w) {
		events = w->events;
		w->events = json_array();
	}
	pthread_mutex_unlock(&t->lock);
	if (!w)
		return rpc_fail(err, "not_found", "watcher with id %s not found", id);
	*out = json_object();
	if (events && json_array_size(events))
		json_object_set_new(*out, "events", events);
	else
		json_decref(events);
	return 0;
}

static int fs_remove_watcher(struct rpc_ctx *ctx, json_t *req, json_t **out,
			     struct rpc_error *err)
{
	struct watch_table *t = ctx->sb->watches;
	struct watcher **pp, *w = NULL;
	const char *id;

	if (req_str(req, "watcherId", "watcher_id", &id, err) < 0)
		return -1;
	if (t) {
		pthread_mutex_lock(&t->lock);
		for (pp = &t->head; *pp; pp = &(*pp)->next) {
			if (strcmp((*pp)->id, id) == 0) {
				w = *pp;
				*pp = w->next;
				t->count--;
				break;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	if (!w)
		return rpc_fail(err, "not_found", "watcher with id %s not found", id);
	watcher_free(w);
	*out = json_object();
	return 0;
}

const struct rpc_method fsrpc_methods[] = {
	{ .path = "/filesystem.Filesystem/Stat", .kind = RPC_UNARY, .unary = fs_stat },
	{ .path = "/filesystem.Filesystem/ListDir", .kind = RPC_UNARY, .unary = fs_list_dir,
	  .unary_raw = fs_list_dir_raw },
	{ .path = "/filesystem.Filesystem/MakeDir", .kind = RPC_UNARY, .unary = fs_make_dir },
	{ .path = "/filesystem.Filesystem/Move", .kind = RPC_UNARY, .unary = fs_move },
	{ .path = "/filesystem.Filesystem/Remove", .kind = RPC_UNARY, .unary = fs_remove },
	{ .path = "/filesystem.Filesystem/WatchDir", .kind = RPC_SERVER_STREAM,
	  .stream = fs_watch_dir, .keepalive_json = "{\"keepalive\":{}}" },
	{ .path = "/filesystem.Filesystem/CreateWatcher", .kind = RPC_UNARY,
	  .unary = fs_create_watcher },
	{ .path = "/filesystem.Filesystem/GetWatcherEvents", .kind = RPC_UNARY,
	  .unary = fs_get_watcher_events },
	{ .path = "/filesystem.Filesystem/RemoveWatcher", .kind = RPC_UNARY,
	  .unary = fs_remove_watcher },
	{ .path = NULL },
};
