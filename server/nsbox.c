/* SPDX-License-Identifier: MIT */
/* nsbox.c: rootfs, namespaces, init process, freezer (stub until landed). */
#include "e2bd.h"
#include "nsbox.h"

int nsbox_global_init(const char *state_dir, char *err, size_t errlen)
{
	return 0;
}

int nsbox_start(struct sandbox *sb)
{
	return 0;
}

int nsbox_stop(struct sandbox *sb)
{
	return 0;
}

int nsbox_freeze(struct sandbox *sb, bool frozen)
{
	return 0;
}

int nsbox_destroy_layer(struct sandbox *sb)
{
	return 0;
}
