/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: a sandbox's root filesystem.  The built-in
 * template's root is a persisted skeleton (STATE/sandboxes/<id>/rootfs)
 * whose /usr, /etc, /opt and real /lib* dirs are overlays of the host's
 * (host lower, per-sandbox upper); a template with a rootfs dir gets one
 * overlay over it.  Then the sandbox's own accounts, directories and
 * markers are put in, and the host's secrets hidden (hostsecrets.c).
 */
#ifndef E2BD_ROOTFS_H
#define E2BD_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/sandbox.h"

#define ROOTFS_MAX_MOUNTS 16

/* What rootfs_mount() mounted, for rootfs_unmount(). */
struct rootfs_sb {
	char *mounts[ROOTFS_MAX_MOUNTS];	/* host paths, unmounted in reverse */
	int nmounts;
};

/*
 * Once at start-up, in e2bd's private mount namespace: refuse a state dir
 * inside a host directory sandboxes see, and check that overlayfs works
 * under it.  0, or -1 with a one-line reason in @err.
 */
int rootfs_global_init(const char *state_dir, char *err, size_t errlen);

/*
 * Mount the sandbox's root (creating its layers on first use), set up its
 * tree and set sb->root and sb->rootfd.  On failure everything mounted is
 * unmounted again and @err says why.
 */
int rootfs_mount(struct sandbox *sb, struct rootfs_sb *rf, char *err,
		 size_t errlen);

/* Unmount what rootfs_mount() mounted (sb->rootfd is the caller's). */
void rootfs_unmount(struct rootfs_sb *rf);

/* Whether the top-level name @name (@len bytes) is a host dir sandboxes see. */
bool rootfs_is_host_dir(const char *name, size_t len);

/*
 * Replace @dir/@name beneath the sandbox root atomically with @data,
 * owned by root (unless unprivileged) with @mode.
 */
int rootfs_replace(int rootfd, const char *dir, const char *name,
		   const char *data, mode_t mode);

#endif
