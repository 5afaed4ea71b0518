/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: the per-sandbox disk limit (disk.c), an ext4
 * image on a loop device that holds the sandbox's writable files.
 */
#ifndef E2BD_DISK_H
#define E2BD_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "api/sandbox.h"

/* Whether the sandbox has a disk image already. */
bool disk_exists(const struct sandbox *sb);

/*
 * Whether the sandbox's files live in an image: it has one already, or it
 * is new (no layers yet) and --disk-limit is set.
 */
bool disk_wanted(const struct sandbox *sb);

/*
 * Create the image of a new sandbox (--disk-limit bytes, sparse, ext4)
 * if it has none, and mount it at @target through a loop device that goes
 * away with the mount.  0, or -1 with a one-line reason in @err.
 */
int disk_mount(const struct sandbox *sb, const char *target, char *err,
	       size_t errlen);

/* Remove the image and its mount point (after everything is unmounted). */
void disk_remove(const struct sandbox *sb);

#endif
