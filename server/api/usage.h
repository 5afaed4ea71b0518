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

#endif
