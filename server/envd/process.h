/* SPDX-License-Identifier: MIT */
/*
 * What the rest of e2bd asks of the process service (process.c) beyond
 * its RPC table: the per-sandbox process table, and ending every process
 * stream of a sandbox being paused.
 */
#ifndef E2BD_PROCESS_H
#define E2BD_PROCESS_H

#include "api/sandbox.h"

/* Allocate/free sb->procs (sandbox.c, when a sandbox object is made/freed). */
int process_table_init(struct sandbox *sb);
void process_table_release(struct sandbox *sb);

/* End every process stream of a sandbox being paused (nsbox.c). */
void process_streams_abort(struct sandbox *sb);

#endif
