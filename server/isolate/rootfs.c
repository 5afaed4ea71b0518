/* SPDX-License-Identifier: MIT */
/*
 * A sandbox's root filesystem (rootfs.h): overlayfs layers under
 * STATE/sandboxes/<id>/, the sandbox's own users and directories, its
 * /etc/hostname, /etc/hosts and /run/e2b markers.  The skeleton and upper
 * layers are written by sandbox processes, so e2bd treats them as
 * hostile: every path it opens inside a sandbox root is resolved beneath
 * it (sbfs.c) or with *at(O_NOFOLLOW), and mounts go through
 * /proc/self/fd of an O_NOFOLLOW descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "core/e2bd.h"
#include "isolate/disk.h"
#include "isolate/hostsecrets.h"
#include "isolate/isolate.h"
#include "isolate/rootfs.h"
#include "isolate/sbfs.h"

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];

			tmp[i] = '\0';
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -1;
			tmp[i] = c;
		}
	}
	return 0;
}

/*
 * Ensure @name in @dirfd is a real directory (never a symlink).  A new one
 * gets @mode and @uid/@gid; an existing one is left as the sandbox made it.
 */
static int ensure_dir(int dirfd, const char *name, mode_t mode, uid_t uid,
		      gid_t gid)
{
	struct stat st;
	int fd;

	if (mkdirat(dirfd, name, mode) == 0) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			return -1;
		/* mkdir's mode is filtered by the umask; sticky needs fchmod. */
		if ((!nsbox_unpriv && fchown(fd, uid, gid) < 0) || fchmod(fd, mode) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* ensure_dir() for a path beneath the sandbox root ("home/user"). */
static int root_ensure_dir(int rootfd, const char *path, mode_t mode,
			   uid_t uid, gid_t gid)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int pfd, rc;

	if (!slash)
		return ensure_dir(rootfd, path, mode, uid, gid);
	if ((size_t)(slash - path) >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	pfd = sbfs_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
	if (pfd < 0)
		return -1;
	rc = ensure_dir(pfd, slash + 1, mode, uid, gid);
	close(pfd);
	return rc;
}

/* Replace @dir/@name atomically with @data (written beneath the root). */
int rootfs_replace(int rootfd, const char *dir, const char *name,
		   const char *data, mode_t mode)
{
	char tmp[300];
	int dfd, fd = -1, rc = -1;
	size_t len = strlen(data);

	dfd = sbfs_open(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0)
		return -1;
	xfmt(tmp, sizeof(tmp), ".%s.e2bd-new", name);
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode);
	if (fd < 0)
		goto out;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0 ||
	    (!nsbox_unpriv && fchown(fd, 0, 0) < 0))
		goto out;
	if (renameat(dfd, tmp, dfd, name) < 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	return rc;
}

/*
 * Make sure the passwd/group style file @path has the line @want for
 * @name; lines for @name or for id 1000 (the host's uid-1000 user, say)
 * are replaced.  Only the sandbox's copy changes (overlay copy-up).
 */
static int ensure_account(int rootfd, const char *path, const char *name,
			  const char *want)
{
	char *old, *out = NULL, *line, *next, dir[64];
	size_t cap, len = 0, nlen = strlen(name);
	const char *slash;
	int rc = -1;

	old = sbfs_read_small(rootfd, path, 4u << 20);
	if (!old) {
		old = strdup("");
		if (!old)
			return -1;
	}
	cap = strlen(old) + strlen(want) + 3;
	out = malloc(cap);
	if (!out)
		goto out;
	out[0] = '\0';
	for (line = old; *line; line = next) {
		const char *p, *id;
		size_t l;

		next = strchr(line, '\n');
		l = next ? (size_t)(next - line) : strlen(line);
		next = next ? next + 1 : line + l;
		p = memchr(line, ':', l);
		id = p ? memchr(p + 1, ':', l - (size_t)(p + 1 - line)) : NULL;
		/* Drop lines naming @name or id 1000; @want goes last. */
		if ((l > nlen && strncmp(line, name, nlen) == 0 && line[nlen] == ':') ||
		    (id && (size_t)(id + 6 - line) <= l &&
		     strncmp(id + 1, "1000:", 5) == 0))
			continue;
		if (l == 0)
			continue;
		memcpy(out + len, line, l);
		len += l;
		out[len++] = '\n';
	}
	len += (size_t)xfmt(out + len, cap - len, "%s\n", want);
	if (strcmp(out, old) == 0) {
		rc = 0;
		goto out;
	}
	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		goto out;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	rc = rootfs_replace(rootfd, dir, slash + 1, out, 0644);
out:
	free(old);
	free(out);
	return rc;
}

/* Add "line" to @path unless a line equal to it exists. */
static int ensure_line(int rootfd, const char *dir, const char *name,
		       const char *line, mode_t mode)
{
	char path[128], *old, *buf;
	size_t need;
	int rc;

	xfmt(path, sizeof(path), "%s/%s", dir, name);
	old = sbfs_read_small(rootfd, path, 1u << 20);
	if (old) {
		const char *p = old;
		size_t l = strlen(line);

		for (p = strstr(p, line); p; p = strstr(p, line)) {
			if ((p == old || p[-1] == '\n') &&
			    (p[l] == '\n' || p[l] == '\0')) {
				free(old);
				return 0;
			}
			p += l;
		}
	}
	need = (old ? strlen(old) : 0) + strlen(line) + 3;
	buf = malloc(need);
	if (!buf) {
		free(old);
		return -1;
	}
	xfmt(buf, need, "%s%s%s\n", old ? old : "",
		 old && *old && old[strlen(old) - 1] != '\n' ? "\n" : "", line);
	rc = rootfs_replace(rootfd, dir, name, buf, mode);
	free(old);
	free(buf);
	return rc;
}

/* Append @line to @path unless some line starts with @prefix. */
static int ensure_line_prefix(int rootfd, const char *path, const char *prefix,
			      const char *line)
{
	char *old = sbfs_read_small(rootfd, path, 4u << 20), *buf, dir[64];
	const char *p, *slash = strrchr(path, '/');
	size_t need, plen = strlen(prefix);
	int rc;

	for (p = old; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		if (strncmp(p, prefix, plen) == 0) {
			free(old);
			return 0;
		}
	}
	if (!slash || (size_t)(slash - path) >= sizeof(dir)) {
		free(old);
		errno = EINVAL;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	need = (old ? strlen(old) : 0) + strlen(line) + 3;
	buf = malloc(need);
	if (!buf) {
		free(old);
		return -1;
	}
	xfmt(buf, need, "%s%s%s\n", old ? old : "",
	     old && *old && old[strlen(old) - 1] != '\n' ? "\n" : "", line);
	rc = rootfs_replace(rootfd, dir, slash + 1, buf, 0644);
	free(old);
	free(buf);
	return rc;
}

/*
 * A host /etc/resolv.conf that is a symlink into /run (systemd-resolved,
 * resolvconf) dangles inside the sandbox, which has its own /run: give
 * the sandbox a copy of what the host resolves it to.
 */
static void fix_resolv_conf(struct sandbox *sb, int rootfd)
{
	char buf[8192];
	ssize_t n;
	int fd;

	fd = sbfs_open(rootfd, "etc/resolv.conf", O_PATH, 0);
	if (fd >= 0) {
		close(fd);
		return;	/* resolves inside the sandbox: fine */
	}
	fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	fd = sbfs_open(rootfd, "etc", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return;
	(void)unlinkat(fd, "resolv.conf", 0);
	close(fd);
	if (rootfs_replace(rootfd, "etc", "resolv.conf", buf, 0644) < 0)
		log_warn("sandbox %s: cannot write /etc/resolv.conf", sb->id);
}

/*
 * /run/e2b/.E2B_SANDBOX, .E2B_SANDBOX_ID, .E2B_TEAM_ID and .E2B_TEMPLATE_ID,
 * as E2B's sandboxes have them (the same values process.c puts in every
 * process's environment).
 */
static void write_e2b_markers(struct sandbox *sb, int rootfd)
{
	const struct {
		const char *name;
		const char *value;
	} m[] = {
		{ ".E2B_SANDBOX", "true" },
		{ ".E2B_SANDBOX_ID", sb->id },
		{ ".E2B_TEAM_ID", E2BD_TEAM_ID },
		{ ".E2B_TEMPLATE_ID", sb->template_id },
	};
	size_t i;

	if (root_ensure_dir(rootfd, "run/e2b", 0755, 0, 0) < 0) {
		log_warn("sandbox %s: cannot create /run/e2b: %m", sb->id);
		return;
	}
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (rootfs_replace(rootfd, "run/e2b", m[i].name, m[i].value, 0644) < 0)
			log_warn("sandbox %s: cannot write /run/e2b/%s", sb->id, m[i].name);
}

/* The top-level directories: a mount point (required) that cannot be made
 * is an error (-1, err set); any other is only warned about. */
static int ensure_top_dirs(struct sandbox *sb, int rootfd, char *err,
			   size_t errlen)
{
	static const struct {
		const char *path;
		mode_t mode;
		uid_t uid;
		bool required;	/* a mount point, or needed below */
	} dirs[] = {
		{ "proc", 0555, 0, true }, { "dev", 0755, 0, true },
		{ "sys", 0555, 0, true }, { "etc", 0755, 0, true },
		{ "tmp", 01777, 0, false }, { "root", 0700, 0, false },
		{ "home", 0755, 0, false }, { "home/user", 0755, SB_UID, false },
		{ "run", 0755, 0, false }, { "var", 0755, 0, false },
		{ "var/tmp", 01777, 0, false }, { "var/log", 0755, 0, false },
		{ "var/cache", 0755, 0, false }, { "var/lib", 0755, 0, false },
		{ "mnt", 0755, 0, false },
	};
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (root_ensure_dir(rootfd, dirs[i].path, dirs[i].mode,
				    dirs[i].uid, dirs[i].uid ? SB_GID : 0) == 0)
			continue;
		/*
		 * The sandbox may have replaced a top-level directory with a
		 * symlink or file.  A mount point gets its directory back
		 * (never following the link); anything else is its business.
		 */
		if (dirs[i].required && errno == ENOTDIR &&
		    unlinkat(rootfd, dirs[i].path, 0) == 0 &&
		    root_ensure_dir(rootfd, dirs[i].path, dirs[i].mode, 0, 0) == 0)
			continue;
		if (dirs[i].required) {
			xfmt(err, errlen, "cannot create '/%s' in sandbox: %m",
			     dirs[i].path);
			return -1;
		}
		log_warn("sandbox %s: '/%s' is not a directory: %m", sb->id,
			 dirs[i].path);
	}
	return 0;
}

/* /etc/hostname agrees with the UTS name. */
static void write_hostname(struct sandbox *sb, int rootfd)
{
	char hosts[128];
	char *cur = sbfs_read_small(rootfd, "etc/hostname", 63);

	if (cur)
		cur[strcspn(cur, "\n")] = '\0';
	xfmt(hosts, sizeof(hosts), "%s\n", sb->id);
	if ((!cur || strcmp(cur, sb->id) != 0) &&
	    rootfs_replace(rootfd, "etc", "hostname", hosts, 0644) < 0)
		log_warn("sandbox %s: cannot write /etc/hostname", sb->id);
	free(cur);
}

/*
 * The sandbox's own users and directories: user `user` (uid/gid 1000,
 * home /home/user), passwordless sudo for it where sudo exists, the
 * hostname in /etc/hosts, and the writable top-level directories.
 */
static int setup_sandbox_tree(struct sandbox *sb, int rootfd, char *err,
			      size_t errlen)
{
	char hosts[128];
	struct stat st;
	int fd;

	if (ensure_top_dirs(sb, rootfd, err, errlen) < 0)
		return -1;
	/* A template without accounts still needs root (Basic root). */
	if (ensure_line_prefix(rootfd, "etc/passwd", "root:",
			       "root:x:0:0:root:/root:/bin/sh") < 0 ||
	    ensure_line_prefix(rootfd, "etc/group", "root:", "root:x:0:") < 0) {
		xfmt(err, errlen, "cannot add root to the sandbox: %m");
		return -1;
	}
	if (ensure_account(rootfd, "etc/passwd", "user",
			   "user:x:1000:1000::/home/user:/bin/bash") < 0 ||
	    ensure_account(rootfd, "etc/group", "user", "user:x:1000:") < 0) {
		xfmt(err, errlen, "cannot add user 'user' to the sandbox: %m");
		return -1;
	}
	write_hostname(sb, rootfd);
	fix_resolv_conf(sb, rootfd);
	xfmt(hosts, sizeof(hosts), "127.0.1.1\t%s", sb->id);
	if (ensure_line(rootfd, "etc", "hosts", hosts, 0644) < 0)
		log_warn("sandbox %s: cannot add its name to /etc/hosts", sb->id);
	fd = sbfs_open(rootfd, "etc/sudoers.d", O_PATH | O_DIRECTORY, 0);
	if (fd >= 0) {
		if (fstatat(fd, "e2bd-user", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    rootfs_replace(rootfd, "etc/sudoers.d", "e2bd-user",
				 "user ALL=(ALL:ALL) NOPASSWD: ALL\n", 0440) < 0)
			log_warn("sandbox %s: cannot write sudoers", sb->id);
		close(fd);
	}
	return 0;
}

/* ---- mounts ---- */

static int add_mount(struct rootfs_sb *rf, const char *path)
{
	if (rf->nmounts == ROOTFS_MAX_MOUNTS)
		return -1;
	rf->mounts[rf->nmounts] = strdup(path);
	if (!rf->mounts[rf->nmounts])
		return -1;
	rf->nmounts++;
	return 0;
}

void rootfs_unmount(struct rootfs_sb *rf)
{
	while (rf->nmounts > 0) {
		char *p = rf->mounts[--rf->nmounts];

		if (umount2(p, UMOUNT_NOFOLLOW) < 0 &&
		    umount2(p, UMOUNT_NOFOLLOW | MNT_DETACH) < 0 &&
		    errno != EINVAL && errno != ENOENT)
			log_warn("cannot unmount '%s': %m", p);
		free(p);
	}
}

/*
 * The overlay options name the layers as /proc/self/fd/N of descriptors
 * opened here: the kernel resolves them at mount time and shows them as
 * given, so a sandbox's /proc/mounts never shows the state dir's path.
 */
static int overlay_opts(char *opts, size_t optslen, const char *lower,
			const char *upper, const char *work, int fds[3])
{
	const char *dirs[3] = { lower, upper, work };
	size_t i;

	for (i = 0; i < 3; i++) {
		fds[i] = open(dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			while (i--)
				close(fds[i]);
			return -1;
		}
	}
	xfmt(opts, optslen, "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,"
	     "workdir=/proc/self/fd/%d%s", fds[0], fds[1], fds[2],
	     nsbox_unpriv ? ",userxattr" : "");
	return 0;
}

/* Mount an overlay on the directory @name beneath @dirfd (no symlinks). */
static int mount_overlay_at(struct rootfs_sb *rf, int dirfd, const char *name,
			    const char *hostpath, const char *lower,
			    const char *layer, char *err, size_t errlen)
{
	char opts[256], upper[PATH_MAX], work[PATH_MAX];
	char fdpath[64];
	int fd, rc, fds[3];
	size_t i;

	xfmt(upper, sizeof(upper), "%s/upper", layer);
	xfmt(work, sizeof(work), "%s/work", layer);
	if (mkdir_p(upper, 0755) < 0 || mkdir_p(work, 0700) < 0 ||
	    overlay_opts(opts, sizeof(opts), lower, upper, work, fds) < 0) {
		xfmt(err, errlen, "cannot create layer '%s': %m", layer);
		return -1;
	}
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		xfmt(err, errlen, "cannot open mount point '%s': %m",
			 hostpath);
		for (i = 0; i < 3; i++)
			close(fds[i]);
		return -1;
	}
	xfmt(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	rc = mount("overlay", fdpath, "overlay", 0, opts);
	close(fd);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	if (rc < 0) {
		xfmt(err, errlen, "cannot mount overlay on '%s': %m",
			 hostpath);
		return -1;
	}
	if (add_mount(rf, hostpath) < 0) {
		umount2(hostpath, MNT_DETACH | UMOUNT_NOFOLLOW);
		xfmt(err, errlen, "too many mounts");
		return -1;
	}
	return 0;
}

/* Host top-level entries the built-in template takes (read-only lower). */
static const char *const host_system_dirs[] = {
	"usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
};

/* Whether the top-level name @name (@len bytes) is one of them. */
bool rootfs_is_host_dir(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(host_system_dirs) / sizeof(host_system_dirs[0]); i++)
		if (strlen(host_system_dirs[i]) == len &&
		    strncmp(host_system_dirs[i], name, len) == 0)
			return true;
	return false;
}

/*
 * The skeleton is @base/rootfs, bound onto @rootfs: onto itself (a mount
 * point for pivot_root), or from the sandbox's disk image.  Its overlay
 * layers are in @base/layers.
 */
static int mount_builtin_root(struct rootfs_sb *rf, const char *base,
			      const char *rootfs, char *err, size_t errlen)
{
	char skel[PATH_MAX];
	int skelfd = -1, rc = -1;
	size_t i;

	xfmt(skel, sizeof(skel), "%s/rootfs", base);
	if ((mkdir(skel, 0755) < 0 && errno != EEXIST) ||
	    mount(skel, rootfs, NULL, MS_BIND, NULL) < 0 ||
	    add_mount(rf, rootfs) < 0) {
		xfmt(err, errlen, "cannot bind '%s': %m", skel);
		goto out;
	}
	skelfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (skelfd < 0) {
		xfmt(err, errlen, "cannot open '%s': %m", rootfs);
		goto out;
	}
	for (i = 0; i < sizeof(host_system_dirs) / sizeof(host_system_dirs[0]); i++) {
		const char *name = host_system_dirs[i];
		char host[64], target[PATH_MAX], layer[PATH_MAX], mp[PATH_MAX];
		struct stat st;
		ssize_t n;

		xfmt(host, sizeof(host), "/%s", name);
		if (lstat(host, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* Debian's merged /usr: /bin -> usr/bin stays a link. */
			n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (symlinkat(target, skelfd, name) < 0 && errno != EEXIST) {
				xfmt(err, errlen, "cannot link '/%s': %m", name);
				goto out;
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (ensure_dir(skelfd, name, 0755, 0, 0) < 0) {
			xfmt(err, errlen, "sandbox '/%s' is not a directory: %m",
				 name);
			goto out;
		}
		xfmt(layer, sizeof(layer), "%s/layers/%s", base, name);
		xfmt(mp, sizeof(mp), "%s/%s", rootfs, name);
		if (mount_overlay_at(rf, skelfd, name, mp, host, layer, err,
				     errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	if (skelfd >= 0)
		close(skelfd);
	return rc;
}

/* Where the skeleton and layers go, into base: the sandbox's disk image,
 * mounted here when one is wanted, else (or when a new one cannot be made)
 * its dir.  -1 (err set) on failure. */
static int mount_disk_base(struct sandbox *sb, struct rootfs_sb *rf,
			   char *base, size_t basesize, char *err, size_t errlen)
{
	xfmt(base, basesize, "%s", sb->dir);
	if (disk_wanted(sb)) {
		bool had = disk_exists(sb);

		xfmt(base, basesize, "%s/disk", sb->dir);
		if (disk_mount(sb, base, err, errlen) < 0) {
			if (had)
				return -1;
			log_warn("sandbox %s: disk not limited (%s)", sb->id, err);
			xfmt(base, basesize, "%s", sb->dir);
		} else if (add_mount(rf, base) < 0) {
			umount2(base, MNT_DETACH | UMOUNT_NOFOLLOW);
			xfmt(err, errlen, "too many mounts");
			return -1;
		}
	}
	return 0;
}

/* Mount the sandbox's root at rootfs: an overlay on the template's
 * (sb->lower), else the built-in root.  -1 (err set) on failure. */
static int mount_root(struct sandbox *sb, struct rootfs_sb *rf,
		      const char *base, const char *rootfs, char *err,
		      size_t errlen)
{
	char layer[PATH_MAX];

	if (sb->lower) {
		int parent = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (parent < 0) {
			xfmt(err, errlen, "cannot open '%s': %m", sb->dir);
			return -1;
		}
		xfmt(layer, sizeof(layer), "%s/layers/root", base);
		if (mount_overlay_at(rf, parent, "rootfs", rootfs, sb->lower,
				     layer, err, errlen) < 0) {
			close(parent);
			return -1;
		}
		close(parent);
	} else if (mount_builtin_root(rf, base, rootfs, err, errlen) < 0) {
		return -1;
	}
	return 0;
}

int rootfs_mount(struct sandbox *sb, struct rootfs_sb *rf, char *err,
		 size_t errlen)
{
	char rootfs[PATH_MAX], layer[PATH_MAX], base[PATH_MAX];
	int rootfd = -1;

	if (strpbrk(sb->dir, ",:\\") ||
	    (sb->lower && strpbrk(sb->lower, ",:\\"))) {
		xfmt(err, errlen, "'%s' cannot be used for overlayfs layers "
			 "(',' ':' or '\\' in the path)", sb->lower ? sb->lower : sb->dir);
		return -1;
	}
	if (mkdir_p(sb->dir, 0700) < 0) {
		xfmt(err, errlen, "cannot create '%s': %m", sb->dir);
		return -1;
	}
	/* Skeleton and layers: in the sandbox's disk image, or in its dir. */
	if (mount_disk_base(sb, rf, base, sizeof(base), err, errlen) < 0)
		return -1;
	xfmt(rootfs, sizeof(rootfs), "%s/rootfs", sb->dir);
	xfmt(layer, sizeof(layer), "%s/layers", base);
	if (mkdir_p(layer, 0700) < 0 ||
	    (mkdir(rootfs, 0755) < 0 && errno != EEXIST)) {
		xfmt(err, errlen, "cannot create '%s': %m", rootfs);
		goto fail;
	}
	if (mount_root(sb, rf, base, rootfs, err, errlen) < 0)
		goto fail;
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		xfmt(err, errlen, "cannot open '%s': %m", rootfs);
		goto fail;
	}
	if (setup_sandbox_tree(sb, rootfd, err, errlen) < 0)
		goto fail;
	write_e2b_markers(sb, rootfd);
	xfmt(layer, sizeof(layer), "%s/layers", base);
	hostsecrets_hide(sb, rootfd, layer);
	if (!sb->root || strcmp(sb->root, rootfs) != 0) {
		char *r = strdup(rootfs);

		if (!r) {
			xfmt(err, errlen, "out of memory");
			goto fail;
		}
		free(sb->root);
		sb->root = r;
	}
	{
		struct stat st;

		/* sbfs_root_get() checks its duplicates against this identity. */
		if (fstat(rootfd, &st) == 0) {
			sb->root_dev = st.st_dev;
			sb->root_ino = st.st_ino;
		} else {
			sb->root_dev = 0;
			sb->root_ino = 0;
		}
	}
	sb->rootfd = rootfd;
	return 0;
fail:
	if (rootfd >= 0)
		close(rootfd);
	rootfs_unmount(rf);
	return -1;
}

int rootfs_global_init(const char *state_dir, char *err, size_t errlen)
{
	char probe[PATH_MAX], lower[PATH_MAX + 16], upper[PATH_MAX + 16];
	char work[PATH_MAX + 16], merged[PATH_MAX + 16], ww[PATH_MAX + 32];
	char opts[4 * PATH_MAX + 64];
	int rc = -1;

	if (state_dir[0] == '/' &&
	    rootfs_is_host_dir(state_dir + 1, strcspn(state_dir + 1, "/"))) {
		xfmt(err, errlen, "state dir '%s' lies in /%.*s, which sandboxes see: "
		     "choose one elsewhere", state_dir,
		     (int)strcspn(state_dir + 1, "/"), state_dir + 1);
		return -1;
	}
	xfmt(probe, sizeof(probe), "%s/.nsbox-probe", state_dir);
	xfmt(lower, sizeof(lower), "%s/l", probe);
	xfmt(upper, sizeof(upper), "%s/u", probe);
	xfmt(work, sizeof(work), "%s/w", probe);
	xfmt(merged, sizeof(merged), "%s/m", probe);
	if (mkdir_p(lower, 0700) < 0 || mkdir_p(upper, 0700) < 0 ||
	    mkdir_p(work, 0700) < 0 || mkdir_p(merged, 0700) < 0) {
		xfmt(err, errlen, "cannot create '%s': %m", probe);
		goto out;
	}
	xfmt(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s%s",
		 lower, upper, work, nsbox_unpriv ? ",userxattr" : "");
	if (mount("overlay", merged, "overlay", 0, opts) < 0) {
		xfmt(err, errlen, "overlayfs does not work under '%s': %m",
			 state_dir);
		goto out;
	}
	umount2(merged, MNT_DETACH);
	rc = 0;
out:
	/* The probe is empty apart from overlay's work dir. */
	xfmt(ww, sizeof(ww), "%s/work", work);
	rmdir(ww);
	rmdir(work);
	rmdir(upper);
	rmdir(lower);
	rmdir(merged);
	rmdir(probe);
	return rc;
}
