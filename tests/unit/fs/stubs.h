/* SPDX-License-Identifier: MIT */
/*
 * The fake sandbox behind the fs/ unit tests: stubs.c stands in for
 * remote.c (every call into libe2b) and for libfuse's kernel notifications,
 * records what e2bfs asked of them and answers as the test says.
 */
#ifndef TESTS_UNIT_FS_STUBS_H
#define TESTS_UNIT_FS_STUBS_H

#include <stddef.h>
#include <stdint.h>

#include "e2bfs.h"

/* The content of every remote file: byte i of any file is stub_byte(i). */
unsigned char stub_byte(uint64_t i);

/* One recorded remote call. */
struct stub_call {
	char what[24];		/* "read", "upload_new", "upload_fd", "stat", "rename", ... */
	char path[256];
	char path2[256];	/* rename: the new name */
	uint64_t off, len;	/* read: the range asked for */
	char data[256];		/* uploads: the first bytes sent */
	size_t size;		/* uploads: bytes sent */
	int mode;		/* uploads: fix.mode */
	int has_mtime;
	struct timespec mtime;	/* uploads: fix.mtime */
};

struct stub_state {
	pthread_mutex_t lock;	/* protects the fields below (uploads run on workers) */
	struct stub_call calls[64];
	size_t ncalls;		/* calls made (those past 64 are counted only) */
	int upload_rc;		/* what the uploads answer (0 or -errno) */
	int stat_rc;		/* what remote_stat answers */
	uint64_t stat_size;	/* remote_stat's entry when stat_rc is 0 */
	int64_t stat_mtime;
	/* libfuse's notifications. */
	size_t ninval_entry, ninval_inode;
	char inval_names[16][64];
	fuse_ino_t inval_inodes[16];
	off_t inval_offs[16];
};

extern struct stub_state stub;

void stub_reset(void);
/* A mount of "/" as the tests see it: fs/'s defaults, nothing running. */
void stub_fs_init(struct fs *fs);
/* Unpin each record of a NULL-terminated list (a test helper). */
void unpin_all(struct inode *in, ...);
/* Calls named @what recorded since the last reset; the last one in *@out. */
size_t stub_count(const char *what, struct stub_call *out);

#endif /* TESTS_UNIT_FS_STUBS_H */
