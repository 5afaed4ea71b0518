/* SPDX-License-Identifier: MIT */
/* Sandbox-side changes -> kernel cache invalidation (placeholder). */
#include "e2bfs.h"

int watch_start(struct fs *fs) { (void)fs; return 0; }
void watch_stop(struct fs *fs) { (void)fs; }
