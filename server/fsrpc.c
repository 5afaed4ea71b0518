/* SPDX-License-Identifier: MIT */
/* fsrpc.c: the filesystem.Filesystem service (stub until landed). */
#include "e2bd.h"
#include "rpc.h"
#include "nsbox.h"

const struct rpc_method fsrpc_methods[] = {
	{ .path = NULL },
};

int watch_table_init(struct sandbox *sb)
{
	return 0;
}

void watch_table_release(struct sandbox *sb)
{
}
