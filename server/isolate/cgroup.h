/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: each running sandbox's cgroups (cgroup.c):
 * the freezer that pauses it, the pids limit that stops a fork bomb and
 * the memory limit (--memory-limit) that OOM-kills inside the sandbox.
 */
#ifndef E2BD_CGROUP_H
#define E2BD_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/sandbox.h"

enum cgroup_freezer {
	CGROUP_FREEZER_SIGNAL,	/* no usable cgroup: SIGSTOP/SIGCONT */
	CGROUP_FREEZER_V1,
	CGROUP_FREEZER_V2,
};

/* One sandbox's groups; "" where none. */
struct cgroup_sb {
	char cgroup[PATH_MAX];	/* freezer (v1) or the sandbox's v2 group */
	char pidscg[PATH_MAX];	/* cgroup v1 pids group */
	char memcg[PATH_MAX];	/* cgroup v1 memory group */
};

/* Once at start-up, as root: find the hierarchies.  Else SIGNAL. */
void cgroup_global_init(void);
/* The same from other files (unit tests: a fake cgroup tree). */
void cgroup_init_from(const char *mountinfo, const char *self_cgroup);
enum cgroup_freezer cgroup_freezer(void);

/*
 * Put the sandbox's init (host pid @init_pid) in its groups with their
 * limits.  Best effort: what fails is logged, and an empty cg->cgroup
 * makes pause use SIGSTOP.
 */
void cgroup_attach(struct cgroup_sb *cg, const struct sandbox *sb,
		   pid_t init_pid);
/* The memory limit in force in the sandbox's group, bytes; 0 if none. */
uint64_t cgroup_memory_max(const struct cgroup_sb *cg);
/*
 * Memory the sandbox's group holds now, as `docker stats` counts it: its
 * usage (memory.usage_in_bytes on v1, memory.current on v2) less the
 * inactive file cache the kernel reclaims first.  0, or -1 without a
 * memory group.
 */
int cgroup_memory_used(const struct cgroup_sb *cg, uint64_t *out);
/* Remove the groups once the sandbox's processes are gone (waits 3 s). */
void cgroup_remove(struct cgroup_sb *cg);
/* Freeze or thaw through cg->cgroup; -1 if the state never settles. */
int cgroup_freeze(struct cgroup_sb *cg, bool frozen);

#endif
