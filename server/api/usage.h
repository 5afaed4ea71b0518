/* SPDX-License-Identifier: MIT */
/* usage.c: what one sandbox's processes use now (metrics). */
#ifndef E2BD_USAGE_H
#define E2BD_USAGE_H

#include <stdint.h>

#include "api/sandbox.h"

struct usage {
	uint64_t cpu_ns;	/* CPU time of its processes (live + reaped) */
	double cpu_pct;		/* of all the machine's CPUs, since the last sample */
	uint64_t mem_bytes;	/* resident memory of its processes */
	unsigned processes;
};

/* Sample @sb; 0, or -1 (everything 0) when it runs no process. */
int usage_sample(struct sandbox *sb, struct usage *out);

/* The resources one sandbox has, not the host's. */
struct usage_room {
	uint64_t mem_total;	/* its memory limit (cgroup), else the host's RAM */
	uint64_t disk_total;	/* size of the file system holding its files */
	uint64_t disk_used;	/* used on it (`df /` in the sandbox) */
};

/*
 * Memory: the limit in force in its cgroup while it runs, else the limit of
 * its template (--memory-limit), never more than the host's RAM.  Disk:
 * what `df /` in it shows: its --disk-limit image (or, stopped, the
 * image's size and allocated blocks), else the state dir's file system.
 */
void usage_room(struct sandbox *sb, struct usage_room *out);

#endif
