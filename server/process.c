/* SPDX-License-Identifier: MIT */
/* process.c: the process.Process service (stub until landed). */
#include "e2bd.h"
#include "rpc.h"
#include "nsbox.h"
#include "nsproc.h"

const struct rpc_method process_methods[] = {
	{ .path = NULL },
};

int proc_table_init(struct sandbox *sb)
{
	return 0;
}

void proc_table_release(struct sandbox *sb)
{
	nsbox_release(sb);
}
