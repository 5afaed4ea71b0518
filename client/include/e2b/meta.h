/* SPDX-License-Identifier: MIT */
/*
 * File metadata in a sandbox that envd has no RPC for: mode, owner, times,
 * truncation, symbolic and hard links, FIFOs.  They run as small tools in
 * the sandbox (chmod, chown, touch, truncate, ln, mkfifo), either one
 * process per call (e2b_meta_set_mode(), ...) or through a session: one
 * long-lived helper per sandbox that takes batches of operations over its
 * stdin and answers each one (e2b_meta_session_run()).
 *
 * Paths and link targets are data, never shell text: they travel as
 * separate arguments or NUL-terminated fields, so any byte but NUL is
 * safe (spaces, newlines, quotes, a leading '-', "$(...)", non-UTF-8).
 * A failure's OS reason is in e2b_error_last()->os_errno and, for a
 * batch, in each operation's @c os_errno.
 */
#ifndef E2B_META_H
#define E2B_META_H

#include <time.h>

#include "common.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2 added tag; version 1 structs are still taken. */
#define E2B_META_OPTIONS_VERSION 2

/** Options of the one-shot calls and of e2b_meta_session_new(). */
typedef struct e2b_meta_options {
	unsigned version;
	/** Sandbox user that runs the tools; NULL = the config's user.  The
	 *  sandbox's kernel applies its rules (only root may chown). */
	const char *user;
	/** Deadline of one call or one batch exchange in ms; 0 = 30000. */
	unsigned timeout_ms;
	/** Process tag of a session's helper (version 2), as listed by
	 *  e2b_commands_list(); NULL = "e2b-meta".  Copied. */
	const char *tag;
} e2b_meta_options;

#define E2B_META_OPTIONS_INIT { .version = E2B_META_OPTIONS_VERSION }

/** "Leave it" for the uid or gid of e2b_meta_set_owner(). */
#define E2B_META_ID_KEEP ((uint32_t)-1)

/** What an operation does. */
typedef enum e2b_meta_kind {
	/** chown, chmod and touch of @c path, as @c set says, in that order
	 *  (chown first: it clears set-id bits).  Does not follow a final
	 *  symlink for owner and times; chmod follows it (Linux has no
	 *  lchmod). */
	E2B_META_SETATTR = 1,
	/** Set the size of the existing file @c path to @c size. */
	E2B_META_TRUNCATE = 2,
	/** Create the symbolic link @c path holding @c target. */
	E2B_META_SYMLINK = 3,
	/** Create the hard link @c path to the existing file @c target;
	 *  through a session it also reports the link count (@c nlink). */
	E2B_META_LINK = 4,
	/** Create the FIFO @c path with permission bits @c mode. */
	E2B_META_MKFIFO = 5,
} e2b_meta_kind;

/** Fields of an E2B_META_SETATTR operation to apply. */
enum e2b_meta_set_flags {
	E2B_META_SET_MODE = 1 << 0,	/**< @c mode (& 07777) */
	E2B_META_SET_UID = 1 << 1,	/**< @c uid */
	E2B_META_SET_GID = 1 << 2,	/**< @c gid */
	E2B_META_SET_ATIME = 1 << 3,	/**< @c atime */
	E2B_META_SET_MTIME = 1 << 4,	/**< @c mtime */
	/**
	 * The owner and group of the path @c owner_of (chown --reference),
	 * best effort: a failure to take them is ignored.  For rewriting a
	 * file as root without changing its owner.
	 */
	E2B_META_SET_OWNER_OF = 1 << 5,
	/** Access / modification time: the sandbox's current time (touch's
	 *  "now"; utimensat's UTIME_NOW).  Instead of @c atime / @c mtime. */
	E2B_META_SET_ATIME_NOW = 1 << 6,
	E2B_META_SET_MTIME_NOW = 1 << 7,
};

/** One operation of a batch; the in fields are borrowed for the call. */
typedef struct e2b_meta_op {
	e2b_meta_kind kind;
	/** Absolute, or relative to the user's home; not empty. */
	const char *path;
	/** SETATTR: e2b_meta_set_flags. */
	unsigned set;
	/** SETATTR with E2B_META_SET_MODE, MKFIFO: permission bits. */
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	/** SETATTR with E2B_META_SET_OWNER_OF. */
	const char *owner_of;
	/** SETATTR: times with nanoseconds (tv_nsec in [0, 1e9)). */
	struct timespec atime;
	struct timespec mtime;
	/** TRUNCATE: the new size. */
	uint64_t size;
	/** SYMLINK: the link's content (any bytes but NUL, not empty);
	 *  LINK: the existing file. */
	const char *target;
	/** [out] 0, or the negative e2b_error_code of this operation. */
	int error;
	/** [out] its errno value in the sandbox; 0 if none or unknown. */
	int os_errno;
	/** [out] LINK done by a session: the file's link count (st_nlink)
	 *  just after it, in the same request; 0 if unknown.  Other kinds
	 *  and failures: 0. */
	uint32_t nlink;
} e2b_meta_op;

/*
 * One-shot calls: one process in the sandbox each.  All return 0 or
 * E2B_ENOTFOUND (ENOENT), E2B_EEXISTS (EEXIST), E2B_EPERM (EPERM, EACCES,
 * EROFS), E2B_ENOSPC, E2B_EINVALID (a bad argument; EINVAL, ENAMETOOLONG),
 * E2B_ERROR (another OS error, e.g. ENOTDIR, EISDIR, ELOOP; or no shell
 * in the sandbox), E2B_EAUTH, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO,
 * E2B_ENOMEM.  On an OS error e2b_error_last()->os_errno holds its errno.
 * @p opts may be NULL (defaults).  Thread-safe.
 */

/** chmod @p mode (& 07777) @p path; follows a final symlink. */
E2B_EXTERN(int) e2b_meta_set_mode(e2b_sandbox *sb, const char *path,
				  uint32_t mode, const e2b_meta_options *opts);

/** chown -h: @p uid and/or @p gid (E2B_META_ID_KEEP = leave). */
E2B_EXTERN(int) e2b_meta_set_owner(e2b_sandbox *sb, const char *path,
				   uint32_t uid, uint32_t gid,
				   const e2b_meta_options *opts);

/**
 * Access and/or modification time of @p path (NULL = leave), without
 * following a final symlink.  A missing path is E2B_ENOTFOUND (never
 * created).
 */
E2B_EXTERN(int) e2b_meta_set_times(e2b_sandbox *sb, const char *path,
				   const struct timespec *atime,
				   const struct timespec *mtime,
				   const e2b_meta_options *opts);

/** Truncate or extend the existing file @p path to @p size bytes (a
 *  missing file is E2B_ENOTFOUND, never created). */
E2B_EXTERN(int) e2b_meta_truncate(e2b_sandbox *sb, const char *path,
				  uint64_t size, const e2b_meta_options *opts);

/** Create the symbolic link @p path -> @p target (E2B_EEXISTS if @p path
 *  exists, even as a directory). */
E2B_EXTERN(int) e2b_meta_symlink(e2b_sandbox *sb, const char *target,
				 const char *path,
				 const e2b_meta_options *opts);

/** Create the hard link @p path to the existing @p target. */
E2B_EXTERN(int) e2b_meta_link(e2b_sandbox *sb, const char *target,
			      const char *path, const e2b_meta_options *opts);

/** Create the FIFO @p path with @p mode (& 07777). */
E2B_EXTERN(int) e2b_meta_mkfifo(e2b_sandbox *sb, const char *path,
				uint32_t mode, const e2b_meta_options *opts);

/**
 * The errno value of an OS failure as a sandbox tool (coreutils, in the C
 * locale) or envd (Go's errno words) words it, e.g. "ln: failed to create
 * symbolic link 'x': File exists" -> EEXIST: for callers that run other
 * tools with e2b_commands_run() and read their stderr.  The reason that
 * ends last wins, so a path holding such words does not decide it.
 * libe2b's own decoding; the same one that fills
 * e2b_error_last()->os_errno.  Thread-safe.
 *
 * @param text borrowed; NULL is taken
 * @return the errno value, or 0 when @p text names none
 */
E2B_EXTERN(int) e2b_meta_errno_from_text(const char *text);

/* ------------------------------------------------------------------ */
/* Sessions                                                             */
/* ------------------------------------------------------------------ */

/**
 * Opaque session: one long-lived helper (bash) in the sandbox, started on
 * first use and restarted after a failure.  Thread-safe: concurrent
 * e2b_meta_session_run() calls queue; whichever finds no exchange in
 * flight sends everything queued in one stdin write (up to 128
 * operations) and collects the answers, so N concurrent callers cost one
 * round trip, not N.  SETATTR operations with the same fields (and
 * TRUNCATE/MKFIFO with the same size/mode) become one chmod/touch of
 * several paths, even when other operations come between them, except
 * that operations on a path named twice in the batch keep their order and
 * none moves across a SYMLINK, LINK or MKFIFO; when such a group fails,
 * its members are asked again one by one in the next exchange, so each
 * operation gets its own answer.
 * Where the helper cannot run (no bash), operations run one-shot.
 */
typedef struct e2b_meta_session e2b_meta_session;

/**
 * @param[out] out caller owns, free with e2b_meta_session_free()
 * @param sb       borrowed; must outlive the session
 * @param opts     NULL = defaults; copied
 * @return 0, E2B_EINVALID, E2B_ENOMEM (nothing is started yet)
 */
E2B_EXTERN(int) e2b_meta_session_new(e2b_meta_session **out, e2b_sandbox *sb,
				     const e2b_meta_options *opts);

/**
 * Apply @p count operations, in order; each one's @c error and
 * @c os_errno are set.  Operations on the same path apply in array order;
 * operations of concurrent callers interleave in queue order.
 *
 * @return 0 when every operation succeeded, else the error of the first
 *         failed one (its detail in e2b_error_last()); the codes of the
 *         one-shot calls
 */
E2B_EXTERN(int) e2b_meta_session_run(e2b_meta_session *s, e2b_meta_op *ops,
				     size_t count);

/** Counters of a session, for tests and statistics. */
typedef struct e2b_meta_stats {
	/** Batches written to the helper (one stdin write each). */
	uint64_t exchanges;
	/** Requests in them: each is one run of the tools for one or more
	 *  paths (same-field operations are grouped, even interleaved). */
	uint64_t requests;
	/** Operations answered by the helper. */
	uint64_t ops;
	/** Helper processes started. */
	uint64_t starts;
	/** Operations run one-shot (no helper). */
	uint64_t oneshots;
} e2b_meta_stats;

/** @param[out] out a snapshot.  Thread-safe. */
E2B_EXTERN(void) e2b_meta_session_stats(e2b_meta_stats *out,
					e2b_meta_session *s);

/** Stop the helper and free.  No call may be running.  Accepts NULL. */
E2B_EXTERN(void) e2b_meta_session_free(e2b_meta_session *s);

#ifdef __cplusplus
}
#endif

#endif /* E2B_META_H */
