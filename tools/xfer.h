/* SPDX-License-Identifier: MIT */
/*
 * File transfers for cp and cat: the progress bar, single-file upload and
 * download (atomic on both sides), and whole trees copied by a few worker
 * processes in parallel.
 */
#ifndef E2BCTL_XFER_H
#define E2BCTL_XFER_H

#include <stdint.h>
#include <time.h>

#include "cmd.h"

/** Progress of a transfer: drawn on stderr, or reported up a pipe. */
struct xfer_progress {
	int draw;		/* draw a bar on stderr (a terminal) */
	int report_fd;		/* worker: send byte counts here; else -1 */
	uint64_t total;		/* UINT64_MAX if unknown */
	uint64_t done;
	uint64_t files_total;
	uint64_t files_done;
	int64_t start_ms;
	int64_t last_ms;
	uint64_t unreported;
};

void xfer_progress_start(struct xfer_progress *p, int draw, uint64_t total,
			 uint64_t files);
void xfer_progress_add(struct xfer_progress *p, uint64_t bytes);
void xfer_progress_file(struct xfer_progress *p);
/** Final redraw and newline (when drawing). */
void xfer_progress_end(struct xfer_progress *p);

/**
 * Upload @p fd (to EOF) to @p remote atomically: a temporary file beside
 * the target is moved over it only when complete.
 * @return 0 or an exit code after printing the error
 */
int xfer_upload_fd(e2b_sandbox *sb, int fd, const char *local,
		   const char *remote, struct xfer_progress *p);

/**
 * Download @p remote to @p local through a temporary file in the same
 * directory renamed at the end ("-" = stdout, written directly).
 * @param mode permission bits for the new file (umask applied)
 * @return 0 or an exit code after printing the error
 */
int xfer_download(e2b_sandbox *sb, const char *remote, const char *local,
		  unsigned mode, struct xfer_progress *p);

/** One file of a tree copy. */
struct xfer_job {
	char *src;
	char *dst;
	uint64_t size;
	unsigned mode;
};

/** A directory's permission bits and times, set after its files. */
struct xfer_dir_attr {
	unsigned mode;
	struct timespec atime;	/* tv_nsec UTIME_OMIT = leave */
	struct timespec mtime;
};

/** What a tree copy will do: directories to create, then files. */
struct xfer_plan {
	int upload;
	char **dirs;		/* created before any file, parents first */
	struct xfer_dir_attr *dir_attrs;	/* one per dir, the source's */
	size_t ndirs;
	struct xfer_job *jobs;
	size_t njobs;
	uint64_t total;
};

/**
 * Plan the upload of local directory @p src to remote @p dst (the copy's
 * root).  @return 0 or an exit code
 */
int xfer_plan_upload(struct xfer_plan *plan, const char *src, const char *dst);

/** Plan the download of remote directory @p src to local @p dst. */
int xfer_plan_download(struct xfer_plan *plan, e2b_sandbox *sb,
		       const char *src, const char *dst);

/**
 * Carry out @p plan with up to @p parallel worker processes.  Each worker
 * opens its own connection to the sandbox given by @p sandbox_arg.
 * @return 0 or an exit code (the first failure; the others are printed)
 */
int xfer_run(struct cmd_ctx *ctx, struct xfer_plan *plan, e2b_sandbox *sb,
	     const char *sandbox_arg, unsigned parallel, int draw);

void xfer_plan_release(struct xfer_plan *plan);

/**
 * Give uploaded files their local permission bits (envd's upload cannot),
 * for the files whose mode is not 0644, through libe2b's metadata session
 * (one chmod per mode and batch).  @return 0 or an exit code
 */
int xfer_apply_modes(e2b_sandbox *sb, const struct xfer_job *jobs, size_t n);

/**
 * How many parallel parts to move a file of @p size in (1 = one stream):
 * files of 64 MiB and more, parts of 16 MiB or more, at most @p parallel.
 */
unsigned xfer_parts(uint64_t size, unsigned parallel);

/**
 * Upload local file @p local (@p size bytes) as @p parts ranges uploaded
 * by worker processes to hidden part files beside @p remote, then
 * concatenated over it atomically (envd's /files/compose).  Parts are
 * removed on failure.  @return 0 or an exit code
 */
int xfer_upload_parallel(struct cmd_ctx *ctx, e2b_sandbox *sb, const char *sandbox_arg,
			 const char *local, const char *remote, uint64_t size,
			 unsigned parts, struct xfer_progress *p);

/**
 * Download @p remote (@p size bytes) as @p parts ranged reads by worker
 * processes into a temporary file renamed to @p local at the end.
 * @return 0 or an exit code
 */
int xfer_download_parallel(struct cmd_ctx *ctx, const char *sandbox_arg, const char *remote,
			   const char *local, uint64_t size, unsigned mode, unsigned parts,
			   struct xfer_progress *p);

#endif /* E2BCTL_XFER_H */
