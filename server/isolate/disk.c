/* SPDX-License-Identifier: MIT */
/*
 * The per-sandbox disk limit (disk.h).  A sandbox made with --disk-limit
 * keeps its skeleton root and overlay upper layers in a sparse ext4 image,
 * STATE/sandboxes/<id>/disk.img, mounted through a loop device at
 * STATE/sandboxes/<id>/disk in e2bd's private mount namespace (rootfs.c);
 * past the limit its writes fail with ENOSPC and the host's disk is not
 * touched.  The loop device is set up with LO_FLAGS_AUTOCLEAR, so it goes
 * away with the last unmount; kill removes the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/e2bd.h"
#include "isolate/disk.h"
#include "isolate/isolate.h"

extern char **environ;

/* strerror() is not thread-safe; e2bd's threads mount sandboxes at once. */
#define ERRSTR(e) strerror_r((e), (char[128]){ 0 }, 128)

bool disk_exists(const struct sandbox *sb)
{
	char path[PATH_MAX];
	struct stat st;

	xfmt(path, sizeof(path), "%s/disk.img", sb->dir);
	return lstat(path, &st) == 0;
}

bool disk_wanted(const struct sandbox *sb)
{
	char path[PATH_MAX];
	struct stat st;

	if (disk_exists(sb))
		return true;
	if (!util_cfg_disk_limit(sb->template_id) || nsbox_unpriv)
		return false;	/* no limit, or no loop devices (logged at start) */
	/* A sandbox made before the limit was set keeps its layers as they are. */
	xfmt(path, sizeof(path), "%s/layers", sb->dir);
	return lstat(path, &st) < 0 && errno == ENOENT;
}

/* mke2fs -t ext4 on @img; 0 if it exited 0. */
static int run_mkfs(const char *img, char *err, size_t errlen)
{
	static const char *const bins[] = {
		"/usr/sbin/mke2fs", "/sbin/mke2fs", "/usr/bin/mke2fs", "/bin/mke2fs",
	};
	char *argv[] = {
		(char *)"mke2fs", (char *)"-q", (char *)"-F", (char *)"-t",
		(char *)"ext4", (char *)"-m", (char *)"0", (char *)"-E",
		(char *)"lazy_itable_init=1,lazy_journal_init=1,nodiscard",
		(char *)img, NULL,
	};
	posix_spawn_file_actions_t fa;
	const char *bin = NULL;
	int status, rc;
	pid_t pid;
	size_t i;

	for (i = 0; i < sizeof(bins) / sizeof(bins[0]) && !bin; i++)
		if (access(bins[i], X_OK) == 0)
			bin = bins[i];
	if (!bin) {
		xfmt(err, errlen, "no mke2fs (install e2fsprogs)");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		xfmt(err, errlen, "cannot run '%s': %s", bin, ERRSTR(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		xfmt(err, errlen, "'%s' failed on '%s'", bin, img);
		return -1;
	}
	return 0;
}

/* A new sparse image of @size bytes with an ext4 file system. */
static int create_image(const char *img, uint64_t size, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd;

	xfmt(tmp, sizeof(tmp), "%s.new", img);
	(void)unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		xfmt(err, errlen, "cannot create '%s': %s", tmp, ERRSTR(errno));
		if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
		return -1;
	}
	close(fd);
	if (run_mkfs(tmp, err, errlen) < 0 || rename(tmp, img) < 0) {
		if (!err[0])
			xfmt(err, errlen, "cannot create '%s': %s", img, ERRSTR(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Attach @imgfd to a free loop device (autoclear); its fd, or -1. */
static int loop_attach(int imgfd, char *dev, size_t devlen)
{
	struct loop_config cfg;
	int ctl, fd = -1, tries;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned)imgfd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	/* Another process may take the free device first: EBUSY, retry. */
	for (tries = 0; tries < 16; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0)
			break;
		xfmt(dev, devlen, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		close(fd);
		fd = -1;
		if (errno != EBUSY)
			break;
	}
	close(ctl);
	return fd;
}

int disk_mount(const struct sandbox *sb, const char *target, char *err,
	       size_t errlen)
{
	char img[PATH_MAX], dev[64];
	int imgfd, loopfd, rc;

	err[0] = '\0';
	if (nsbox_unpriv) {
		xfmt(err, errlen, "a loop device needs e2bd to run as root");
		return -1;
	}
	xfmt(img, sizeof(img), "%s/disk.img", sb->dir);
	if (access(img, F_OK) < 0 &&
	    create_image(img, util_cfg_disk_limit(sb->template_id), err, errlen) < 0)
		return -1;
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		xfmt(err, errlen, "cannot create '%s': %s", target, ERRSTR(errno));
		return -1;
	}
	imgfd = open(img, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0) {
		xfmt(err, errlen, "cannot open '%s': %s", img, ERRSTR(errno));
		return -1;
	}
	loopfd = loop_attach(imgfd, dev, sizeof(dev));
	close(imgfd);
	if (loopfd < 0) {
		xfmt(err, errlen, "cannot attach '%s' to a loop device: %s", img,
		     ERRSTR(errno));
		return -1;
	}
	/* noinit_itable: no background zeroing that would fill the sparse image. */
	rc = mount(dev, target, "ext4", MS_NOATIME, "noinit_itable");
	if (rc < 0)
		xfmt(err, errlen, "cannot mount '%s' on '%s': %s", img, target,
		     ERRSTR(errno));
	/* Autoclear: the device goes with the last unmount, or now if none. */
	close(loopfd);
	return rc;
}

void disk_remove(const struct sandbox *sb)
{
	char path[PATH_MAX];

	xfmt(path, sizeof(path), "%s/disk", sb->dir);
	(void)rmdir(path);
	xfmt(path, sizeof(path), "%s/disk.img", sb->dir);
	(void)unlink(path);
}
