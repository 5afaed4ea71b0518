/* SPDX-License-Identifier: MIT */
/*
 * Random bytes from the kernel's CSPRNG (getrandom(2)) for temporary names,
 * multipart boundaries, sandbox IDs and tokens: no file descriptor, no
 * per-thread state.  libc only.
 */
#ifndef E2B_COMMON_RANDOM_H
#define E2B_COMMON_RANDOM_H

#include <stddef.h>

/* Fill @buf with @len random bytes; 0, or -1 with errno if the kernel
 * cannot (ENOSYS before Linux 3.17).  Blocks only until the pool is
 * first initialised at boot. */
int e2bu_random(void *buf, size_t len);

#endif
