/* SPDX-License-Identifier: MIT */
/*
 * ListDir's walk (listdir.c): the entries of a directory tree written
 * straight into the answer's bytes in either Connect codec, without a
 * jansson value per entry; and the sorted names of one directory, which
 * the recursive watch (fsrpc.c) reads the same way.
 */
#ifndef E2BD_LISTDIR_H
#define E2BD_LISTDIR_H

#include <stddef.h>
#include <stdint.h>

#include "isolate/sbfs.h"

/* The names in a directory without "." and "..", sorted bytewise like Go. */
struct listdir_names {
	char **v;	/* n pointers into buf */
	size_t n;
	char *buf;
};

/* 0, or -1 with errno set when the directory cannot be read. */
int listdir_names_read(struct listdir_names *out, int dfd);
void listdir_names_release(struct listdir_names *names);

enum listdir_codec { LISTDIR_JSON, LISTDIR_PROTO };

/*
 * The ListDirResponse of the tree below @dfd, reported under the sandbox
 * path @path, @depth levels deep (1: the entries of @dfd only), as
 * rpc_send_json() would write the JSON value fsrpc_entry_at() builds for
 * each entry, or as pbjson_encode() would pack it.  Pre-order, names in
 * bytewise order, symlinks never followed; entries whose name is not UTF-8
 * are left out (protobuf strings must be UTF-8) and so are upload
 * temporaries.  @rootfd resolves symlink targets inside the sandbox.
 *
 * Returns 0 with *out (malloc'd; the caller frees it) and *out_len set;
 * -1 with errno set when a directory of the tree cannot be read; or 1 when
 * the protobuf codec cannot carry the answer (a time outside the years
 * 0-9999, which the JSON answer writes as ""): pbjson's conversion of the
 * JSON answer then tells why.
 */
int listdir_walk(char **out, size_t *out_len, int rootfd, const struct sbfs_idnames *names,
		 int dfd, const char *path, uint32_t depth, enum listdir_codec codec);

#endif
