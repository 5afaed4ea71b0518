/* SPDX-License-Identifier: MIT */
/*
 * EntryInfo rendering shared by the filesystem service (fsrpc.c), the
 * /files routes (files.c) and the unit tests, and the per-sandbox watch
 * table sandbox.c allocates.
 */
#ifndef E2BD_FSRPC_H
#define E2BD_FSRPC_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "api/sandbox.h"
#include "isolate/sbfs.h"

/*
 * EntryInfo JSON (protocol.md §2.7.1, proto3 JSON rules of §2.5) of the
 * entry @leaf in directory @dfd, reported as sandbox path @path.  Returns
 * a new reference, or NULL with errno set when the entry cannot be
 * lstat'ed.  @rootfd resolves symlink targets inside the sandbox.
 */
json_t *fsrpc_entry_at(int rootfd, const struct sbfs_idnames *names, int dfd,
		       const char *leaf, const char *path);

/* user.e2b.* xattrs of the non-symlink entry @leaf in @dfd as a new
 * object (EntryInfo.metadata), or NULL when it has none. */
json_t *fsrpc_entry_metadata(int dfd, const char *leaf);

/* The same for a sandbox path resolved beneath @rootfd. */
json_t *fsrpc_entry(int rootfd, const struct sbfs_idnames *names, const char *path);

/* protojson Timestamp: RFC 3339 UTC, 0/3/6/9 fractional digits. */
void fsrpc_format_time(const struct timespec *ts, char *out, size_t outlen);

/* Watch table hooks (sandbox.c): allocate/free sb->watches. */
int fsrpc_watch_table_init(struct sandbox *sb);
void fsrpc_watch_table_release(struct sandbox *sb);

#endif
