/* SPDX-License-Identifier: MIT */
/*
 * envd /files: ranged, conditional, streamed downloads and uploads as
 * application/octet-stream or multipart/form-data.
 */
#ifndef E2B_TRANSFER_H
#define E2B_TRANSFER_H

#include <e2b/fs.h>
#include "connect.h"

int e2b__files_get(e2b_read_info *info, const struct e2b__envd *e,
		   const char *path, const e2b_read_options *o,
		   e2b_data_cb sink, void *payload, int any_thread);

struct e2b__upload {
	const char *path;
	int multipart;
	/* memory body, or a source callback with a known (or -1) length */
	const void *data;
	size_t len;
	e2b_source_cb src;
	void *src_payload;
	int64_t src_len;
	const e2b_kv *metadata;
	size_t metadata_count;
	unsigned timeout_ms;
};

int e2b__files_post(e2b_write_info **out, const struct e2b__envd *e,
		    const struct e2b__upload *up);

/*
 * Several files in one multipart POST /files (e2b_fs_write_files()).  Sets
 * every file's error; *out_rejected = 1 when envd
 * answered an error status for a part (which one it does not say).
 */
int e2b__files_post_many(int *out_rejected, const struct e2b__envd *e,
			 e2b_write_file *files, size_t count, const e2b_kv *metadata,
			 size_t metadata_count, unsigned timeout_ms);

/* POST /files/compose */
int e2b__files_compose(const struct e2b__envd *e, const char *const *sources,
		       size_t count, const char *dest);

#endif
