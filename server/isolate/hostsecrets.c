/* SPDX-License-Identifier: MIT */
/*
 * The built-in template's /etc, /usr, /opt... are overlays of the host's,
 * and a sandbox's root reads them all: the host's password hashes, SSH host
 * keys, TLS private keys, e2bd's own key file.  At every mount, each such
 * entry that still comes from the host (nothing of its name in the
 * sandbox's upper layer: the sandbox has not made its own, and it was not
 * hidden before) is removed, which leaves a whiteout in the upper layer, or
 * replaced by a version of the sandbox's own.  What the sandbox writes
 * there later is its own and stays.  /root, /home, /tmp and /var are the
 * sandbox's own directories already, and the state dir may not lie in a
 * host directory that sandboxes see (nsbox_global_init).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/e2bd.h"
#include "isolate/hostsecrets.h"
#include "isolate/isolate.h"
#include "isolate/rootfs.h"
#include "isolate/sbfs.h"

static const char *const secret_files[] = {
	"etc/shadow-", "etc/gshadow-", "etc/sudoers.bak", "etc/krb5.keytab",
	"etc/security/opasswd", "etc/ipsec.secrets", "etc/ppp/chap-secrets",
	"etc/ppp/pap-secrets",
};

/* Every entry of these host directories whose name starts with the prefix. */
static const struct {
	const char *dir, *prefix;
} secret_dirs[] = {
	{ "etc/ssh", "ssh_host_" }, { "etc/ssl/private", "" },
	{ "etc/sudoers.d", "" }, { "etc/NetworkManager/system-connections", "" },
	{ "etc/wireguard", "" },
	{ "etc/e2b", "" },	/* E2B clients' keys and profiles (api_key_file) */
};

static const char sandbox_sudoers[] =
	"Defaults\tenv_reset\n"
	"Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
	"root\tALL=(ALL:ALL) ALL\n"
	"%sudo\tALL=(ALL:ALL) ALL\n"
	"@includedir /etc/sudoers.d\n";

/* Whether @path ("etc/ssh/x") is in the sandbox's upper layer (any type). */
static bool in_upper(const char *layers, const char *path)
{
	char upper[PATH_MAX];
	const char *slash = strchr(path, '/');
	struct stat st;

	if (!slash)
		return true;
	xfmt(upper, sizeof(upper), "%s/%.*s/upper%s", layers,
	     (int)(slash - path), path, slash);
	return fstatat(AT_FDCWD, upper, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       errno != ENOENT;
}

/* Remove @path beneath the sandbox root if it comes from the host. */
static void hide_host_file(struct sandbox *sb, int rootfd, const char *layers,
			   const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int dfd;

	xfmt(dir, sizeof(dir), "/%s", path);
	if (!slash || lstat(dir, &st) < 0 || S_ISDIR(st.st_mode) || in_upper(layers, path))
		return;
	xfmt(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dfd = sbfs_open(rootfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
	if (dfd < 0)
		return;
	if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
		log_warn("sandbox %s: cannot hide the host's /%s: %m", sb->id, path);
	close(dfd);
}

/* The host's file at path, of size bytes, NUL-terminated, malloc'ed; NULL
 * when it cannot be read (unprivileged e2bd) or memory is short. */
static char *read_host_file(const char *path, off_t size)
{
	char *host = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		host = malloc((size_t)size + 1);
		if (host) {
			ssize_t n = read(fd, host, (size_t)size);

			host[n > 0 ? n : 0] = '\0';
		}
		close(fd);
	}
	return host;
}

/* The shadow or gshadow file (name) host with every password field "!",
 * malloc'ed; a root entry only when host is NULL.  NULL when memory is
 * short. */
static char *lock_passwords(const char *host, const char *name)
{
	const char *line, *next;
	char *out, *o;

	/* Each line grows by at most 2 ("!" for an empty field, a newline). */
	out = malloc(host ? 2 * strlen(host) + 64 : 64);
	if (!out)
		return NULL;
	o = out;
	/* Unreadable (unprivileged e2bd): a root entry only. */
	if (!host)
		o += snprintf(o, 64, "root:!::%s\n", name[0] == 's' ? "0:99999:7:::" : "");
	for (line = host; line && *line; line = next) {
		const char *c1 = strchr(line, ':'), *c2;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c2 > next)
			continue;
		memcpy(o, line, (size_t)(c1 - line + 1));
		o += c1 - line + 1;
		*o++ = '!';
		memcpy(o, c2, (size_t)(next - c2));
		o += next - c2;
		if (o[-1] != '\n')
			*o++ = '\n';
	}
	*o = '\0';
	return out;
}

/* /etc/shadow or gshadow of the host with every password field "!". */
static void replace_shadow(struct sandbox *sb, int rootfd, const char *layers,
			   const char *name)
{
	char path[64], *host, *out;
	struct stat st;
	int fd;

	xfmt(path, sizeof(path), "etc/%s", name);
	if (in_upper(layers, path))
		return;
	xfmt(path, sizeof(path), "/etc/%s", name);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	host = read_host_file(path, st.st_size);
	out = lock_passwords(host, name);
	if (!out) {
		free(host);
		return;
	}
	if (rootfs_replace(rootfd, "etc", name, out, 0640) < 0)
		log_warn("sandbox %s: cannot replace the host's /etc/%s: %m", sb->id,
			 name);
	else if (!nsbox_unpriv && (fd = sbfs_open(rootfd, path + 1, O_PATH | O_NOFOLLOW, 0)) >= 0) {
		(void)fchownat(fd, "", 0, st.st_gid, AT_EMPTY_PATH);
		close(fd);
	}
	free(host);
	free(out);
}

void hostsecrets_hide(struct sandbox *sb, int rootfd, const char *layers)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;

	if (sb->lower)
		return;		/* a template dir: nothing of the host's /etc */
	replace_shadow(sb, rootfd, layers, "shadow");
	replace_shadow(sb, rootfd, layers, "gshadow");
	if (lstat("/etc/sudoers", &st) == 0 && !in_upper(layers, "etc/sudoers") &&
	    rootfs_replace(rootfd, "etc", "sudoers", sandbox_sudoers, 0440) < 0)
		log_warn("sandbox %s: cannot replace the host's /etc/sudoers", sb->id);
	for (i = 0; i < sizeof(secret_files) / sizeof(secret_files[0]); i++)
		hide_host_file(sb, rootfd, layers, secret_files[i]);
	for (i = 0; i < sizeof(secret_dirs) / sizeof(secret_dirs[0]); i++) {
		xfmt(path, sizeof(path), "/%s", secret_dirs[i].dir);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || strcmp(de->d_name, "e2bd-user") == 0 ||
			    strncmp(de->d_name, secret_dirs[i].prefix,
				    strlen(secret_dirs[i].prefix)) != 0)
				continue;
			xfmt(path, sizeof(path), "%s/%s", secret_dirs[i].dir, de->d_name);
			hide_host_file(sb, rootfd, layers, path);
		}
		closedir(d);
	}
	/* e2bd's key file, when it lies in a host directory sandboxes see. */
	if (g_cfg.key_file && g_cfg.key_file[0] == '/' &&
	    rootfs_is_host_dir(g_cfg.key_file + 1, strcspn(g_cfg.key_file + 1, "/")))
		hide_host_file(sb, rootfd, layers, g_cfg.key_file + 1);
}
