/* SPDX-License-Identifier: MIT */
/*
 * Safe file access beneath a sandbox root.  Paths are resolved by the
 * kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), which
 * treats the root fd as "/" for `..` and absolute symlink targets, and the
 * final component is operated on with *at() calls without following it.
 * Everything here assumes the sandbox is adversarial: it may swap
 * directories for symlinks at any moment.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "isolate/sbfs.h"

#define SBFS_MAX_LINKS 255
/* rm -rf holds one fd per level; refuse deeper trees rather than run out. */
#define SBFS_REMOVE_MAX_DEPTH 512

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode,
			   unsigned long long extra)
{
	struct open_how how;
	int tries, fd = -1;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra;
	if (rootfd < 0) {
		errno = EBADF;
		return -1;
	}
	if (path[0] == '\0')
		path = "/";
	/* EAGAIN: a concurrent rename raced with `..` resolution; retry. */
	for (tries = 0; tries < 16; tries++) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

int sbfs_root_get(struct sandbox *sb)
{
	struct stat a, b;
	int fd = sb->rootfd, d;
	dev_t dev;
	ino_t ino;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return -1;
	if (fstat(d, &a) < 0) {
		close(d);
		return -1;
	}
	/* Read after the dup: a number reused for another file fails the check. */
	dev = sb->root_dev;
	ino = sb->root_ino;
	if (ino != 0) {
		/* The identity recorded when rootfd was opened on the mounted root. */
		if (a.st_dev == dev && a.st_ino == ino)
			return d;
		close(d);
		errno = ESTALE;
		return -1;
	}
	/* Same directory as what is mounted at sb->root (inode, not spelling). */
	if (sb->root && (stat(sb->root, &b) < 0 || a.st_dev != b.st_dev ||
			 a.st_ino != b.st_ino)) {
		close(d);
		errno = ESTALE;
		return -1;
	}
	return d;
}

int sbfs_open(int rootfd, const char *path, int flags, mode_t mode)
{
	return openat2_in_root(rootfd, path, flags, mode, 0);
}

int sbfs_split(const char *path, char *parent, size_t parentlen, char *leaf, size_t leaflen)
{
	const char *slash, *name;
	size_t plen, nlen;

	slash = strrchr(path, '/');
	plen = slash ? (size_t)(slash - path) : 0;
	name = slash ? slash + 1 : path;
	if (plen >= parentlen || parentlen < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (plen == 0) {
		parent[0] = '/';
		parent[1] = '\0';
	} else {
		memcpy(parent, path, plen);
		parent[plen] = '\0';
	}
	if (name[0] == '\0')
		name = ".";
	if (strcmp(name, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	nlen = strlen(name);
	if (nlen >= leaflen || nlen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(leaf, name, nlen + 1);
	return 0;
}

int sbfs_open_parent(int rootfd, const char *path, char *leaf, size_t leaflen)
{
	char parent[SBFS_PATH_MAX];

	if (sbfs_split(path, parent, sizeof(parent), leaf, leaflen) < 0)
		return -1;
	return openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY, 0, 0);
}

int sbfs_lstat(int rootfd, const char *path, struct stat *st)
{
	char leaf[NAME_MAX + 1];
	int pfd, rc, saved;

	pfd = sbfs_open_parent(rootfd, path, leaf, sizeof(leaf));
	if (pfd < 0)
		return -1;
	rc = fstatat(pfd, leaf, st, AT_SYMLINK_NOFOLLOW);
	saved = errno;
	close(pfd);
	errno = saved;
	return rc;
}

int sbfs_stat(int rootfd, const char *path, struct stat *st)
{
	int fd, rc, saved;

	fd = sbfs_open(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return -1;
	rc = fstat(fd, st);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Resolve path's symlinks beneath rootfd, one component at a time (see
 * sbfs.h).
 * Long: one walk over the components, each opened beneath the root with
 * no symlink followed (RESOLVE_NO_SYMLINKS), a link's target spliced in
 * front of the rest; it is the security boundary, and whole, every fd's
 * open and close and every check on a component read in order on one page.
 */
int sbfs_realpath(int rootfd, const char *path, char *out, size_t outlen)
{
	char rest[2 * SBFS_PATH_MAX + 2], tmp[2 * SBFS_PATH_MAX + 2];
	char res[SBFS_PATH_MAX], comp[NAME_MAX + 1], target[SBFS_PATH_MAX];
	size_t reslen = 0, clen, rlen;
	const char *p;
	struct stat st;
	int links = 0, dfd;
	ssize_t tlen;

	if (strlen(path) >= sizeof(rest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(rest, path, strlen(path) + 1);
	res[0] = '\0';
	p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		clen = strcspn(p, "/");
		if (clen > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		p += clen;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			while (reslen > 0 && res[reslen - 1] != '/')
				reslen--;
			if (reslen > 0)
				reslen--;
			res[reslen] = '\0';
			continue;
		}
		/* res never contains a symlink, so no symlink may be followed. */
		dfd = openat2_in_root(rootfd, reslen ? res : "/", O_PATH | O_DIRECTORY,
				      0, RESOLVE_NO_SYMLINKS);
		if (dfd < 0)
			return -1;
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			int saved = errno;

			close(dfd);
			errno = saved;
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > SBFS_MAX_LINKS) {
				close(dfd);
				errno = ELOOP;
				return -1;
			}
			tlen = readlinkat(dfd, comp, target, sizeof(target) - 1);
			close(dfd);
			if (tlen < 0)
				return -1;
			target[tlen] = '\0';
			if (target[0] == '/') {
				reslen = 0;
				res[0] = '\0';
			}
			rlen = strlen(p);
			if ((size_t)tlen + 1 + rlen + 1 > sizeof(tmp)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			memcpy(tmp, target, (size_t)tlen);
			tmp[tlen] = '/';
			memcpy(tmp + tlen + 1, p, rlen + 1);
			memcpy(rest, tmp, (size_t)tlen + rlen + 2);
			p = rest;
			continue;
		}
		close(dfd);
		if (!S_ISDIR(st.st_mode) && p[strspn(p, "/")] != '\0') {
			errno = ENOTDIR;
			return -1;
		}
		if (reslen + 1 + clen >= sizeof(res)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		res[reslen++] = '/';
		memcpy(res + reslen, comp, clen + 1);
		reslen += clen;
	}
	if (reslen == 0) {
		res[0] = '/';
		res[1] = '\0';
		reslen = 1;
	}
	if (reslen >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, res, reslen + 1);
	return 0;
}

/* Where sbfs_mkdirs() starts walking @path (shorter than SBFS_PATH_MAX):
 * 0 when it is a directory already (then so is every prefix), after the
 * parent when only the last component is missing, else 1 (the top). */
static size_t mkdirs_start(int rootfd, const char *path)
{
	char parent[SBFS_PATH_MAX];
	const char *slash;
	struct stat st;

	if (sbfs_stat(rootfd, path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : 1;
	slash = strrchr(path, '/');
	if (errno != ENOENT || !slash || slash == path)
		return 1;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	if (sbfs_stat(rootfd, parent, &st) == 0 && S_ISDIR(st.st_mode))
		return (size_t)(slash - path) + 1;
	return 1;
}

int sbfs_mkdirs(int rootfd, const char *path, uid_t uid, gid_t gid,
		char *err, size_t errlen)
{
	char sub[SBFS_PATH_MAX], leaf[NAME_MAX + 1];
	size_t len = strlen(path), i, start;
	struct stat st;
	int pfd, e;

	if (len >= sizeof(sub)) {
		snprintf(err, errlen, "path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	start = mkdirs_start(rootfd, path);
	if (start == 0)
		return 0;
	/* Walk every prefix ending at a '/' boundary, then the whole path. */
	for (i = start; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		memcpy(sub, path, i);
		sub[i] = '\0';
		if (sbfs_stat(rootfd, sub, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "path is a file: %s", sub);
				errno = ENOTDIR;
				return -1;
			}
			continue;
		}
		if (errno != ENOENT) {
			e = errno;
			snprintf(err, errlen, "failed to stat directory: stat %s: %s",
				 sub, sbfs_errstr(e));
			errno = e;
			return -1;
		}
		pfd = sbfs_open_parent(rootfd, sub, leaf, sizeof(leaf));
		if (pfd < 0 || mkdirat(pfd, leaf, 0755) < 0) {
			e = errno;
			if (pfd >= 0)
				close(pfd);
			snprintf(err, errlen, "failed to create directory: mkdir %s: %s",
				 sub, sbfs_errstr(e));
			errno = e;
			return -1;
		}
		/* Deterministic 0755 whatever e2bd's umask is (one event only when it is 022). */
		if ((fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     (st.st_mode & 07777) != 0755) && fchmodat(pfd, leaf, 0755, 0) < 0) {
			e = errno;
			close(pfd);
			snprintf(err, errlen, "failed to create directory: chmod %s: %s",
				 sub, sbfs_errstr(e));
			errno = e;
			return -1;
		}
		if (fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			e = errno;
			close(pfd);
			snprintf(err, errlen, "failed to chown directory: chown %s: %s",
				 sub, sbfs_errstr(e));
			errno = e;
			return -1;
		}
		close(pfd);
	}
	return 0;
}

static int remove_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, tries, rc = 0, saved = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth >= SBFS_REMOVE_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	/* Retry: the sandbox may create entries while we empty the dir. */
	for (tries = 0; tries < 4; tries++) {
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? 0 : -1;
		d = fdopendir(fd);
		if (!d) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		rc = 0;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (remove_at(dirfd(d), de->d_name, depth + 1) < 0 && rc == 0) {
				rc = -1;
				saved = errno;
			}
		}
		closedir(d);
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			return -1;
		if (rc < 0) {
			errno = saved;
			return -1;
		}
	}
	errno = ENOTEMPTY;
	return -1;
}

int sbfs_remove_all(int rootfd, const char *path)
{
	char leaf[NAME_MAX + 1];
	int pfd, rc, saved;

	pfd = sbfs_open_parent(rootfd, path, leaf, sizeof(leaf));
	if (pfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (strcmp(leaf, ".") == 0) {
		close(pfd);
		errno = EBUSY;
		return -1;
	}
	rc = remove_at(pfd, leaf, 0);
	saved = errno;
	close(pfd);
	errno = saved;
	return rc;
}

void sbfs_clean(char *path)
{
	char out[SBFS_PATH_MAX];
	size_t o = 0, clen;
	const char *p = path;

	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		clen = strcspn(p, "/");
		if (clen == 1 && p[0] == '.') {
			/* skip */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (o + 1 + clen < sizeof(out)) {
			out[o++] = '/';
			memcpy(out + o, p, clen);
			o += clen;
		}
		p += clen;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	/* The cleaned path is never longer than the input. */
	memcpy(path, out, o + 1);
}

const char *sbfs_errstr(int err)
{
	static __thread char buf[128];
	const char *s;

	s = strerror_r(err, buf, sizeof(buf));
	if (s != buf) {
		snprintf(buf, sizeof(buf), "%s", s);
	}
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

void sbfs_mode_string(mode_t mode, char *out, size_t outlen)
{
	static const char rwx[] = "rwxrwxrwx";
	char buf[32];
	size_t n = 0;
	int i;

	if (S_ISDIR(mode))
		buf[n++] = 'd';
	if (S_ISLNK(mode))
		buf[n++] = 'L';
	if (S_ISBLK(mode) || S_ISCHR(mode))
		buf[n++] = 'D';
	if (S_ISFIFO(mode))
		buf[n++] = 'p';
	if (S_ISSOCK(mode))
		buf[n++] = 'S';
	if (mode & S_ISUID)
		buf[n++] = 'u';
	if (mode & S_ISGID)
		buf[n++] = 'g';
	if (S_ISCHR(mode))
		buf[n++] = 'c';
	if (mode & S_ISVTX)
		buf[n++] = 't';
	if (n == 0)
		buf[n++] = '-';
	for (i = 0; i < 9; i++)
		buf[n++] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
	buf[n] = '\0';
	snprintf(out, outlen, "%s", buf);
}

/* Read at most @max bytes of @fd into a new NUL-terminated buffer; closes @fd. */
static char *read_fd_small(int fd, size_t max)
{
	size_t len = 0;
	ssize_t n;
	char *buf;

	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		return NULL;
	}
	while (len < max) {
		n = read(fd, buf + len, max - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

char *sbfs_read_small(int rootfd, const char *path, size_t max)
{
	int fd;

	fd = sbfs_open(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	return read_fd_small(fd, max);
}

/* The id [s, e) as "%lu" writes it (no sign, no leading zero) into *out;
 * -1 when it is written otherwise or does not fit. */
static int idfile_id(const char *s, const char *e, unsigned long *out)
{
	unsigned long id = 0, digit;

	if (s == e || e - s > 20 || (s[0] == '0' && e > s + 1))
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		digit = (unsigned long)(*s - '0');
		if (id > (ULONG_MAX - digit) / 10)
			return -1;
		id = id * 10 + digit;
	}
	*out = id;
	return 0;
}

/*
 * Index a passwd/group style file (name:x:id:...): one entry per line
 * with a name and a decimal id, in file order (the first line of an id
 * names it).  An id that is not written the way "%lu" writes it can never
 * match one, so it is left out.  Returns the count; *out is NULL on none
 * or no memory (ids then print as numbers).
 */
static size_t idfile_index(const char *file, struct sbfs_idname **out)
{
	const char *line = file, *end, *c1, *c2, *c3;
	struct sbfs_idname *v = NULL, *nv;
	size_t n = 0, cap = 0;
	unsigned long id;

	*out = NULL;
	for (; file && *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (!c2 || c1 == line)
			continue;
		c3 = memchr(c2 + 1, ':', (size_t)(end - c2 - 1));
		if (!c3)
			c3 = end;
		if (idfile_id(c2 + 1, c3, &id) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n].id = id;
		v[n].name = line;
		v[n].len = (size_t)(c1 - line);
		n++;
	}
	*out = v;
	return v ? n : 0;
}

/* The name of @id in @v (its number when none), like envd prints owners. */
static void idfile_lookup(const struct sbfs_idname *v, size_t n, unsigned long id,
			  char *out, size_t outlen)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (v[i].id != id)
			continue;
		if (outlen == 0)
			return;
		len = v[i].len < outlen ? v[i].len : outlen - 1;
		memcpy(out, v[i].name, len);
		out[len] = '\0';
		return;
	}
	snprintf(out, outlen, "%lu", id);
}

/* Whether @c holds the file whose identity is @st (caller holds c->lock). */
static bool cache_matches(const struct sb_file_cache *c, const struct stat *st)
{
	return c->data && !c->racy && c->dev == st->st_dev && c->ino == st->st_ino &&
	       c->size == st->st_size && c->mtime.tv_sec == st->st_mtim.tv_sec &&
	       c->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       c->ctime.tv_sec == st->st_ctim.tv_sec &&
	       c->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Read @path (a regular file of at most @max bytes) into @c with the
 * identity it had before the read (caller holds c->lock); -1 when it is
 * no regular file or cannot be read.  A change during the read changes
 * the identity, so the next call reads again. */
static int cache_fill(struct sb_file_cache *c, int rootfd, const char *path, size_t max)
{
	struct timespec now;
	struct stat st;
	char *buf;
	int fd;

	fd = sbfs_open(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	buf = read_fd_small(fd, (size_t)st.st_size < max ? (size_t)st.st_size : max);
	if (!buf)
		return -1;
	free(c->data);
	c->data = buf;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->ctime = st.st_ctim;
	/* Timestamps have a clock tick's granularity: a same-size write in
	 * the tick of this read would leave the identity as it is, so a file
	 * changed in the last two seconds is read again next time ("racy git"). */
	clock_gettime(CLOCK_REALTIME, &now);
	c->racy = now.tv_sec - st.st_ctim.tv_sec < 2;
	return 0;
}

char *sbfs_read_cached(struct sb_file_cache *c, int rootfd, const char *path, size_t max)
{
	struct stat st;
	char *copy = NULL;
	int fd, rc;

	/* One O_PATH open beneath the root and an fstat: the file is not read
	 * (nor opened for reading: no event for the sandbox's watchers) while
	 * it is the one cached. */
	fd = sbfs_open(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return NULL;
	rc = fstat(fd, &st);
	close(fd);
	if (rc < 0)
		return NULL;
	if (!S_ISREG(st.st_mode))
		return sbfs_read_small(rootfd, path, max);
	pthread_mutex_lock(&c->lock);
	if (cache_matches(c, &st) || cache_fill(c, rootfd, path, max) == 0)
		copy = strdup(c->data);
	pthread_mutex_unlock(&c->lock);
	return copy;
}

void sbfs_file_cache_release(struct sb_file_cache *c)
{
	free(c->data);
	c->data = NULL;
	pthread_mutex_destroy(&c->lock);
}

void sbfs_idnames_load(struct sbfs_idnames *n, struct sandbox *sb, int rootfd)
{
	n->passwd = sbfs_read_cached(&sb->passwd, rootfd, "/etc/passwd", 1u << 20);
	n->group = sbfs_read_cached(&sb->group, rootfd, "/etc/group", 1u << 20);
	n->nusers = idfile_index(n->passwd, &n->users);
	n->ngroups = idfile_index(n->group, &n->groups);
}

void sbfs_idnames_release(struct sbfs_idnames *n)
{
	if (!n)
		return;
	free(n->passwd);
	free(n->group);
	free(n->users);
	free(n->groups);
	n->passwd = NULL;
	n->group = NULL;
	n->users = NULL;
	n->groups = NULL;
	n->nusers = n->ngroups = 0;
}

void sbfs_idnames_user(const struct sbfs_idnames *n, uid_t uid, char *out, size_t outlen)
{
	idfile_lookup(n->users, n->nusers, (unsigned long)uid, out, outlen);
}

void sbfs_idnames_group(const struct sbfs_idnames *n, gid_t gid, char *out, size_t outlen)
{
	idfile_lookup(n->groups, n->ngroups, (unsigned long)gid, out, outlen);
}
