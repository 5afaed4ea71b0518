/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: the host's secrets in the built-in
 * template's root (hostsecrets.c).
 */
#ifndef E2BD_HOSTSECRETS_H
#define E2BD_HOSTSECRETS_H

#include "api/sandbox.h"

/*
 * At every mount of a built-in-template root: hide or replace each host
 * secret the sandbox has not made its own (see hostsecrets.c); @layers is
 * the directory of its overlay layers.  A no-op for a template with a
 * rootfs dir.
 */
void hostsecrets_hide(struct sandbox *sb, int rootfd, const char *layers);

#endif
