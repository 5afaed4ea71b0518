/* SPDX-License-Identifier: MIT */
/*
 * Safe access to a sandbox's files from e2bd.  Every path is a sandbox
 * path resolved beneath the sandbox's root fd with openat2(RESOLVE_IN_ROOT),
 * so `..`, symlinks and absolute symlink targets can never reach the host:
 * the paths come from clients and from files the sandbox controls, and are
 * treated as hostile.  Functions return -1 with errno set on failure.
 */
#ifndef E2BD_SBFS_H
#define E2BD_SBFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "api/sandbox.h"

#define SBFS_PATH_MAX 4096
/* Name prefix of the temp files uploads are written to (hidden from watches). */
#define UPLOAD_TMP_PREFIX ".e2bd-upload-"

/*
 * A private duplicate of the sandbox's root fd, for one request (close it
 * when done).  nsbox may close sb->rootfd at any moment (stop, pause after
 * restart) and the number could then be reused by an unrelated file, even
 * another sandbox's root; the duplicate is checked to be the directory
 * mounted at sb->root.
 * Returns -1 (errno ESTALE/EBADF) when the root is not mounted.
 */
int sbfs_root_get(struct sandbox *sb);

/*
 * Open @path (absolute sandbox path) beneath @rootfd, following symlinks
 * inside the root.  @flags/@mode as for openat(2).  Returns an fd.
 */
int sbfs_open(int rootfd, const char *path, int flags, mode_t mode);

/*
 * Open the directory holding the last component of @path (O_PATH,
 * symlinks in the parents followed inside the root) and copy that
 * component to @leaf.  For "/" the root itself and "." are returned.
 */
int sbfs_open_parent(int rootfd, const char *path, char *leaf, size_t leaflen);

/* The directory and last component of @path as sbfs_open_parent() opens
 * them, into @parent and @leaf.  Returns 0, or -1 (EINVAL for "..",
 * ENAMETOOLONG). */
int sbfs_split(const char *path, char *parent, size_t parentlen, char *leaf, size_t leaflen);

int sbfs_lstat(int rootfd, const char *path, struct stat *st);
int sbfs_stat(int rootfd, const char *path, struct stat *st);

/*
 * Resolve every symlink of @path inside the root, like Go's
 * filepath.EvalSymlinks: the result is a clean sandbox path.  Fails with
 * ENOENT if a component is missing and ELOOP after 255 links.
 */
int sbfs_realpath(int rootfd, const char *path, char *out, size_t outlen);

/*
 * mkdir -p: create each missing directory of @path with mode 0755 and
 * chown it to @uid/@gid (envd's EnsureDirs).  On failure a Go-style
 * message goes to @err ("path is a file: /a/b" for a file in the way).
 */
int sbfs_mkdirs(int rootfd, const char *path, uid_t uid, gid_t gid,
		char *err, size_t errlen);

/* rm -rf @path without following symlinks; succeeds if it is missing. */
int sbfs_remove_all(int rootfd, const char *path);

/* Lexically clean an absolute path (Go path.Clean) in place. */
void sbfs_clean(char *path);

/* Go's error text for an errno: "no such file or directory". */
const char *sbfs_errstr(int err);

/* Go os.FileMode.String() of a stat mode: "-rw-r--r--", "Lrwxrwxrwx". */
void sbfs_mode_string(mode_t mode, char *out, size_t outlen);

/*
 * User and group names from the sandbox's own /etc/passwd and /etc/group,
 * a copy of each per request.  Unknown ids print as numbers, like envd.
 */
struct sbfs_idname {
	unsigned long id;
	const char *name;	/* in the file's text, not terminated */
	size_t len;
};

struct sbfs_idnames {
	char *passwd;	/* file contents, NUL-terminated, or NULL */
	char *group;
	struct sbfs_idname *users, *groups;	/* their lines, in file order */
	size_t nusers, ngroups;
};

/* Both files through the sandbox's caches (sbfs_read_cached). */
void sbfs_idnames_load(struct sbfs_idnames *n, struct sandbox *sb, int rootfd);
void sbfs_idnames_release(struct sbfs_idnames *n);
void sbfs_idnames_user(const struct sbfs_idnames *n, uid_t uid, char *out, size_t outlen);
void sbfs_idnames_group(const struct sbfs_idnames *n, gid_t gid, char *out, size_t outlen);

/*
 * Read a small file of the sandbox (at most @max bytes) into a new
 * NUL-terminated buffer.  Used for /etc/passwd and /etc/group.
 */
char *sbfs_read_small(int rootfd, const char *path, size_t max);

/*
 * sbfs_read_small() through the cache @c (struct sandbox's passwd or
 * group): the file is opened O_PATH beneath the root and fstat'ed, and
 * read again only when its device, inode, size, mtime or ctime differ
 * from the cached copy's.  A file that is no regular file is read every
 * time.  Returns a new NUL-terminated copy (free it), NULL if unreadable.
 */
char *sbfs_read_cached(struct sb_file_cache *c, int rootfd, const char *path, size_t max);
/* Free what @c holds and destroy its lock (sandbox_free). */
void sbfs_file_cache_release(struct sb_file_cache *c);

#endif
