/* SPDX-License-Identifier: MIT */
/*
 * Files in a sandbox: metadata through envd's filesystem.Filesystem
 * service (list, stat, mkdir, move, remove, watch) and content through
 * envd's /files endpoint (whole, ranged and streamed reads; uploads from
 * memory, a file descriptor or a callback; atomic replace).
 *
 * All functions taking a sandbox are thread-safe.  Paths are absolute or
 * relative to the user's home directory in the sandbox.
 */
#ifndef E2B_FS_H
#define E2B_FS_H

#include "common.h"
#include "sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Entry type.  envd reports a symlink as its target's type. */
typedef enum e2b_file_type {
	E2B_FILE_TYPE_UNKNOWN = 0,	/* broken link, fifo, socket, device */
	E2B_FILE_TYPE_FILE = 1,
	E2B_FILE_TYPE_DIR = 2,
	E2B_FILE_TYPE_SYMLINK = 3,
} e2b_file_type;

/**
 * A file system entry.  Strings are never NULL ("" when absent).  Memory
 * belongs to the containing object (e2b_entry_info_free() for a single
 * entry, the list or the watch event otherwise).
 */
typedef struct e2b_entry_info {
	const char *name;
	const char *path;
	e2b_file_type type;
	/** 1 if the entry itself is a symlink (envd's permissions start with
	 *  'L'); type then describes the target. */
	int is_symlink;
	uint64_t size;
	/** Permission bits only (& 0777). */
	uint32_t mode;
	/** Go FileMode string, e.g. "-rw-r--r--", "Lrwxrwxrwx". */
	const char *permissions;
	/** Owner and group names. */
	const char *owner;
	const char *group;
	/** Modification time (UTC); 0 when unknown. */
	int64_t mtime_sec;
	int32_t mtime_nsec;
	/** Resolved target path of a symlink; "" if not a symlink. */
	const char *symlink_target;
	/** user.e2b.* extended attributes (envd >= 0.6.2). */
	const e2b_kv *metadata;
	size_t metadata_count;
} e2b_entry_info;

typedef struct e2b_entry_list {
	e2b_entry_info *items;
	size_t count;
} e2b_entry_list;

/** Free results.  Accept NULL. */
E2B_EXTERN(void) e2b_entry_info_free(e2b_entry_info *info);
E2B_EXTERN(void) e2b_entry_list_free(e2b_entry_list *list);

/** @return "file", "dir", "symlink" or "unknown" (static) */
E2B_EXTERN(const char *) e2b_file_type_str(e2b_file_type type);

/**
 * List a directory.
 *
 * @param[out] out caller owns, free with e2b_entry_list_free().  Entries of
 *                 unknown type are kept (callers may drop them).
 * @param depth    1 = direct children; n = n levels; 0 = 1
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID (not a directory), E2B_EAUTH,
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_list(e2b_entry_list **out, e2b_sandbox *sb,
			    const char *path, unsigned depth);

/**
 * @param[out] out 1 if @p path exists, else 0
 * @return 0, or the errors of e2b_fs_stat() other than E2B_ENOTFOUND
 */
E2B_EXTERN(int) e2b_fs_exists(int *out, e2b_sandbox *sb, const char *path);

/**
 * Stat a path (does not follow a final symlink for the entry itself, but
 * type and mode describe the target).
 *
 * @param[out] out caller owns, free with e2b_entry_info_free()
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID, E2B_EAUTH, E2B_EUNAVAILABLE,
 *         E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_stat(e2b_entry_info **out, e2b_sandbox *sb,
			    const char *path);

/**
 * Create a directory and its missing parents.
 *
 * @param[out] out_created may be NULL; 0 when it already existed (not an
 *                         error)
 * @return 0, E2B_EEXISTS (exists but is not a directory), E2B_EINVALID,
 *         E2B_ERROR (a parent is a file), E2B_EUNAVAILABLE, E2B_ETIMEOUT, ...
 */
E2B_EXTERN(int) e2b_fs_mkdir(int *out_created, e2b_sandbox *sb,
			     const char *path);

/**
 * Rename/move; creates missing parents of @p to and replaces a file there.
 *
 * @param[out] out may be NULL; the destination entry; caller owns, free
 *                 with e2b_entry_info_free()
 * @return 0, E2B_ENOTFOUND (source), E2B_ERROR (e.g. directory not empty,
 *         the message carries envd's text), E2B_EUNAVAILABLE, ...
 */
E2B_EXTERN(int) e2b_fs_rename(e2b_entry_info **out, e2b_sandbox *sb,
			      const char *from, const char *to);

/**
 * Remove a file or a directory tree (recursive).  Removing a missing path
 * succeeds (envd semantics).
 *
 * @return 0, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_remove(e2b_sandbox *sb, const char *path);

#define E2B_READ_OPTIONS_VERSION 2

/** Options of the read functions. */
typedef struct e2b_read_options {
	unsigned version;
	/** Sandbox user; NULL = the config's user. */
	const char *user;
	/** First byte to read. */
	uint64_t offset;
	/** Number of bytes; 0 = to the end of the file. */
	uint64_t length;
	/**
	 * Unix time; if the file's mtime is not newer, nothing is read and
	 * e2b_read_info.not_modified is set.  0 = unconditional.
	 */
	int64_t if_modified_since;
	/** Timeout of the whole transfer in ms; 0 = none (a stalled
	 *  transfer still fails after the request timeout without data). */
	unsigned timeout_ms;
	/** Upper bound for e2b_fs_read() in bytes; 0 = 1 GiB. */
	size_t max_size;
	/**
	 * Nonzero: e2b_fs_read_stream() and e2b_fs_read_to_fd() run on the
	 * client's shared multiplexer, as e2b_fs_read() does: over TLS the
	 * requests of many threads share one HTTP/2 connection instead of a
	 * connection (and a TLS handshake) each.  The callback then runs on
	 * whichever thread drives the multiplexer: it must be safe there and
	 * must not block.  (Version 2; version 1 options read it as 0.)
	 */
	int shared;
} e2b_read_options;

#define E2B_READ_OPTIONS_INIT { .version = E2B_READ_OPTIONS_VERSION }

/** What a read saw, filled on success. */
typedef struct e2b_read_info {
	/** Bytes delivered. */
	uint64_t bytes;
	/** Total size of the file if the server said (Content-Range or
	 *  Content-Length of a full read); UINT64_MAX if unknown. */
	uint64_t file_size;
	/** Last-Modified as unix seconds; 0 if absent. */
	int64_t mtime;
	/** 1 if if_modified_since matched (304), no bytes delivered. */
	int not_modified;
} e2b_read_info;

/**
 * Read a whole file (or opts' range) into memory.
 *
 * @param[out] out     caller owns, free with e2b_free(); NUL-terminated
 *                     (terminator not counted)
 * @param[out] out_len number of bytes
 * @param opts         NULL = whole file as the config's user
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID (a directory), E2B_EAUTH,
 *         E2B_ENOMEM (larger than max_size), E2B_EUNAVAILABLE,
 *         E2B_ETIMEOUT, E2B_EPROTO, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_read(char **out, size_t *out_len, e2b_sandbox *sb,
			    const char *path, const e2b_read_options *opts);

/**
 * Read up to @p len bytes at @p offset into a caller buffer (one Range
 * request).  Reading at or past the end yields 0 bytes.
 *
 * @param[out] out_len bytes stored (less than len only at end of file)
 * @return as e2b_fs_read()
 */
E2B_EXTERN(int) e2b_fs_read_range(size_t *out_len, e2b_sandbox *sb,
				  const char *path, uint64_t offset,
				  void *buf, size_t len,
				  const e2b_read_options *opts);

/**
 * Stream a file (or opts' range) to a callback, on the calling thread,
 * without buffering it whole.
 *
 * @param[out] out_info may be NULL
 * @return as e2b_fs_read(), plus E2B_ECANCELED when @p cb returned nonzero
 */
E2B_EXTERN(int) e2b_fs_read_stream(e2b_read_info *out_info, e2b_sandbox *sb,
				   const char *path,
				   const e2b_read_options *opts,
				   e2b_data_cb cb, void *payload);

/**
 * Stream a file to a file descriptor (written with write(2), retried on
 * short writes and EINTR).
 *
 * @return as e2b_fs_read_stream(); E2B_ERROR when writing @p fd fails
 */
E2B_EXTERN(int) e2b_fs_read_to_fd(e2b_read_info *out_info, e2b_sandbox *sb,
				  const char *path, int fd,
				  const e2b_read_options *opts);

/** Behaviour bits of e2b_write_options. */
enum e2b_write_flags {
	/**
	 * Upload to a temporary name beside the target, then Move it over
	 * the target, so a failed upload never truncates the target.  The
	 * temporary file is removed on failure.  An existing target's
	 * permission bits are carried over to the new file (with a chmod run
	 * in the sandbox when they differ from the upload's), unless
	 * e2b_write_options.attrs sets a mode; attrs are applied to the
	 * temporary file before the Move, so the target never has the new
	 * content with the wrong mode or times.  e2b_write_info.entry is
	 * filled (the Move's answer: size, mode, mtime).  The temporary's
	 * name is the target's, shortened to fit NAME_MAX and PATH_MAX; a
	 * target in a directory whose path leaves no room for it (within 26
	 * bytes of PATH_MAX) is written in place, and entry is then NULL.
	 */
	E2B_WRITE_ATOMIC = 1 << 0,
	/** Always use multipart/form-data even where octet-stream works. */
	E2B_WRITE_MULTIPART = 1 << 1,
	/**
	 * With E2B_WRITE_ATOMIC and no mode in e2b_write_options.attrs: the
	 * new file keeps the mode envd gives an upload instead of the
	 * target's (no Stat of the target, no chmod: for a caller that knows
	 * that mode is the one it wants).
	 */
	E2B_WRITE_UPLOAD_MODE = 1 << 2,
};

/* 2 added attrs and meta_session; version 1 structs are still taken. */
#define E2B_WRITE_OPTIONS_VERSION 2

struct e2b_meta_op;
struct e2b_meta_session;

typedef struct e2b_write_options {
	unsigned version;
	/** Sandbox user (owner of created files); NULL = config's user. */
	const char *user;
	/** e2b_write_flags. */
	unsigned flags;
	/**
	 * Replaces the file's user.e2b.* metadata (envd >= 0.6.2).  Sent
	 * whatever envd version the API reported (OpenKruise always reports
	 * 0.2.10, whatever it runs); an envd without the feature ignores it.
	 */
	const e2b_kv *metadata;
	size_t metadata_count;
	/** Timeout of the whole transfer in ms; 0 = none. */
	unsigned timeout_ms;
	/**
	 * Attributes of the written file (version 2): an E2B_META_SETATTR
	 * operation of <e2b/meta.h> whose path, error and os_errno are
	 * ignored (borrowed for the call).  With E2B_WRITE_ATOMIC they are set
	 * on the temporary file before the Move (set owner_of to the target
	 * for a root rewrite that keeps the target's owner); otherwise right
	 * after the upload.  NULL = none.  Not for e2b_fs_write_files().
	 */
	const struct e2b_meta_op *attrs;
	/** Session that applies @c attrs (batched with its other callers);
	 *  NULL = a process of their own.  Borrowed. */
	struct e2b_meta_session *meta_session;
} e2b_write_options;

#define E2B_WRITE_OPTIONS_INIT { .version = E2B_WRITE_OPTIONS_VERSION }

/** Result of a write: the path envd wrote (caller owns via the struct). */
typedef struct e2b_write_info {
	const char *path;
	const char *name;
	e2b_file_type type;
	/**
	 * The file after the write when envd reported it (atomic writes: the
	 * Move answer, with size, mode and mtime), else NULL.  Owned by the
	 * write info; may be taken (set to NULL, free with e2b_entry_info_free()).
	 */
	const e2b_entry_info *entry;
} e2b_write_info;

/** Free a write info.  Accepts NULL. */
E2B_EXTERN(void) e2b_write_info_free(e2b_write_info *info);

/**
 * Write a file from memory, replacing it; creates missing parents.
 * Uses application/octet-stream on envd >= 0.5.7, multipart otherwise.
 *
 * @param[out] out may be NULL; caller owns, free with e2b_write_info_free()
 * @param opts     NULL = defaults
 * @return 0, E2B_EINVALID (path is a directory, bad metadata), E2B_EAUTH,
 *         E2B_ENOSPC, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO,
 *         E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_write(e2b_write_info **out, e2b_sandbox *sb,
			     const char *path, const void *data, size_t len,
			     const e2b_write_options *opts);

/**
 * Write a file from a file descriptor, read to EOF (streamed).  If @p fd
 * is a regular file its size is sent as Content-Length.
 *
 * @return as e2b_fs_write(); E2B_ERROR when reading @p fd fails
 */
E2B_EXTERN(int) e2b_fs_write_fd(e2b_write_info **out, e2b_sandbox *sb,
				const char *path, int fd,
				const e2b_write_options *opts);

/**
 * Write a file from a callback (streamed, chunked).  A failed or
 * cancelled upload may leave a truncated file unless E2B_WRITE_ATOMIC.
 *
 * @return as e2b_fs_write(), plus E2B_ECANCELED
 */
E2B_EXTERN(int) e2b_fs_write_stream(e2b_write_info **out, e2b_sandbox *sb,
				    const char *path, e2b_source_cb cb,
				    void *payload,
				    const e2b_write_options *opts);

/** One file of e2b_fs_write_files(). */
typedef struct e2b_write_file {
	/** Absolute path in the sandbox, or relative to the user's home. */
	const char *path;
	/** The whole new content (borrowed; may be NULL when @p len is 0). */
	const void *data;
	size_t len;
	/**
	 * [out] 0 when this file was written, else a negative
	 * e2b_error_code saying why not (the detail of the first failure is
	 * in e2b_error_last()).
	 */
	int error;
} e2b_write_file;

/**
 * Write several files from memory in one multipart/form-data POST /files
 * (one part per file, the part's filename carrying the path, no path
 * query), the way envd's multipart upload takes them: each file replaces
 * the target in place (not atomically: a failed request may leave a
 * target truncated) and missing parents are created, owned by the user.
 * One round trip instead of one per file; meant for small files.
 *
 * envd stops at the first part it cannot write and answers one error for
 * the whole request, without saying which parts it wrote.  So when envd
 * rejects the request (an HTTP error status) and it held more than one
 * file, each file is written again alone, one request each, and every
 * entry's @c error says exactly whether that file was written.  A
 * transport failure (unreachable, timeout) marks every entry with it.  A
 * success answer must list every path as written; a file missing from it
 * (an envd that stores parts elsewhere) gets E2B_EPROTO.
 *
 * Two entries with the same path are refused (E2B_EINVALID, nothing sent):
 * envd rejects that too; so is a path holding CR or LF, which a part's
 * filename cannot carry (write it with e2b_fs_write()).  Metadata
 * (@p opts->metadata) applies to every file; E2B_WRITE_ATOMIC is refused
 * (E2B_EINVALID), write such files one by one with e2b_fs_write().
 *
 * @param files  @p count entries; paths and data borrowed for the call;
 *               each @c error is set
 * @param opts   NULL = defaults
 * @return 0 when every file was written; else the error of the first
 *         failed entry: E2B_EINVALID, E2B_EAUTH, E2B_ENOSPC,
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_write_files(e2b_sandbox *sb, e2b_write_file *files,
				   size_t count,
				   const e2b_write_options *opts);

/**
 * Concatenate files into @p dest atomically and delete the sources
 * (POST /files/compose, envd >= 0.5.5).
 *
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID, E2B_ENOSPC, E2B_EUNAVAILABLE,
 *         E2B_ERROR (unsupported by this envd)
 */
E2B_EXTERN(int) e2b_fs_compose(e2b_sandbox *sb, const char *const *sources,
			       size_t count, const char *dest,
			       const char *user);

/* ------------------------------------------------------------------ */
/* Watching                                                             */
/* ------------------------------------------------------------------ */

/*
 * Two ways to watch a directory, both delivering e2b_fs_event to an
 * e2b_fs_event_cb and both configured by e2b_fs_watch_options:
 *  - a watch (e2b_fs_watch_*): one WatchDir stream the owner pumps, events
 *    as they happen;
 *  - a watcher (e2b_fs_watcher_*): envd collects the events and the owner
 *    fetches them, no connection held in between.
 */

/** Opaque directory watch (a WatchDir stream). */
typedef struct e2b_fs_watch e2b_fs_watch;

typedef enum e2b_fs_event_type {
	E2B_FS_EVENT_UNKNOWN = 0,
	E2B_FS_EVENT_CREATE = 1,
	E2B_FS_EVENT_WRITE = 2,
	E2B_FS_EVENT_REMOVE = 3,
	E2B_FS_EVENT_RENAME = 4,
	E2B_FS_EVENT_CHMOD = 5,
} e2b_fs_event_type;

/** One change.  Borrowed, valid during the callback only. */
typedef struct e2b_fs_event {
	e2b_fs_event_type type;
	/** Path relative to the watched directory. */
	const char *name;
	/** Entry after the change, when requested and sent; else NULL. */
	const e2b_entry_info *entry;
} e2b_fs_event;

/**
 * Receives events.  Return 0 to continue, nonzero to stop (the run/poll
 * call then returns E2B_ECANCELED).
 */
typedef int (*e2b_fs_event_cb)(const e2b_fs_event *ev, void *payload);

#define E2B_FS_WATCH_OPTIONS_VERSION 1

typedef struct e2b_fs_watch_options {
	unsigned version;
	/** Watch subdirectories too (envd >= 0.1.4). */
	int recursive;
	/** Ask for the entry with each event (envd >= 0.6.3). */
	int include_entry;
	/** Allow watching network mounts (envd >= 0.6.4). */
	int allow_network_mounts;
	const char *user;
	e2b_fs_event_cb on_event;
	void *payload;
} e2b_fs_watch_options;

#define E2B_FS_WATCH_OPTIONS_INIT { .version = E2B_FS_WATCH_OPTIONS_VERSION }

/**
 * Start watching a directory.  Returns once envd confirmed the watch, so
 * changes made after this returns are reported.  Events are delivered from
 * e2b_fs_watch_run()/e2b_fs_watch_poll() on the thread that calls them.
 *
 * @param[out] out caller owns, free with e2b_fs_watch_free()
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID (not a directory), E2B_EAUTH,
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_watch_start(e2b_fs_watch **out, e2b_sandbox *sb,
			     const char *path, const e2b_fs_watch_options *opts);

/**
 * Deliver events until cancelled or the stream fails.
 *
 * @return E2B_ECANCELED after e2b_fs_watch_cancel() or a callback stop;
 *         E2B_EUNAVAILABLE (connection lost, stream silent for 2x the
 *         keepalive interval), E2B_EPROTO, or the stream's end error
 */
E2B_EXTERN(int) e2b_fs_watch_run(e2b_fs_watch *w);

/**
 * Deliver the events available within @p timeout_ms; returns early when
 * @p fd (if >= 0) becomes readable.
 *
 * @return 0, or as e2b_fs_watch_run()
 */
E2B_EXTERN(int) e2b_fs_watch_poll(e2b_fs_watch *w, int timeout_ms, int fd);

/** Make e2b_fs_watch_run() return soon.  Thread-safe, callable from a
 *  callback. */
E2B_EXTERN(void) e2b_fs_watch_cancel(e2b_fs_watch *w);

/** Close the stream and free.  Not concurrently with run/poll.  NULL ok. */
E2B_EXTERN(void) e2b_fs_watch_free(e2b_fs_watch *w);

/* ------------------------------------------------------------------ */
/* Polling watchers                                                     */
/* ------------------------------------------------------------------ */

/**
 * Opaque polling watcher (envd's CreateWatcher / GetWatcherEvents /
 * RemoveWatcher).  Unlike e2b_fs_watch it holds no connection: envd keeps the
 * events until they are fetched, so it suits callers that cannot keep a
 * stream open (short-lived programs, proxies that cut idle streams).
 */
typedef struct e2b_fs_watcher e2b_fs_watcher;

/**
 * Create a watcher on a directory.  Changes made after this returns are
 * kept by envd until e2b_fs_watcher_events() fetches them.
 *
 * @param[out] out caller owns; free with e2b_fs_watcher_free() (which
 *                 does not remove it in the sandbox; call
 *                 e2b_fs_watcher_remove() first)
 * @param opts     recursive, include_entry, allow_network_mounts and user
 *                 are used; on_event/payload are the default callback of
 *                 e2b_fs_watcher_events(); NULL = defaults
 * @return 0, E2B_ENOTFOUND, E2B_EINVALID (not a directory), E2B_EAUTH,
 *         E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 *
 * Never retried (a retry could leave an orphan watcher).  Thread-safe.
 */
E2B_EXTERN(int) e2b_fs_watcher_create(e2b_fs_watcher **out, e2b_sandbox *sb,
				      const char *path,
				      const e2b_fs_watch_options *opts);

/** @return the watcher id given by envd; borrowed, valid until freed */
E2B_EXTERN(const char *) e2b_fs_watcher_id(const e2b_fs_watcher *w);

/**
 * Fetch (and thereby drain) the events envd collected since the last call
 * and pass each one to @p cb, in order, on the calling thread.
 *
 * @param[out] out_count may be NULL; number of events delivered
 * @param cb       NULL = the on_event given at create time (events are
 *                 counted and dropped when there is none)
 * @return 0, E2B_ENOTFOUND (the watcher is gone, e.g. removed or envd
 *         restarted), E2B_ECANCELED (@p cb returned nonzero; the remaining
 *         events of this batch are lost), E2B_EUNAVAILABLE, E2B_ETIMEOUT,
 *         E2B_EPROTO, E2B_ENOMEM, E2B_ERROR
 *
 * Not retried: a lost answer would lose its events either way.  A watcher
 * is used by one thread at a time.
 */
E2B_EXTERN(int) e2b_fs_watcher_events(size_t *out_count, e2b_fs_watcher *w,
				      e2b_fs_event_cb cb, void *payload);

/**
 * Remove the watcher in the sandbox.  Removing one that is already gone is
 * not an error.  The handle must still be freed.
 *
 * @return 0, E2B_EUNAVAILABLE, E2B_ETIMEOUT, E2B_EAUTH, E2B_ERROR
 */
E2B_EXTERN(int) e2b_fs_watcher_remove(e2b_fs_watcher *w);

/** Free the handle (no request).  Accepts NULL. */
E2B_EXTERN(void) e2b_fs_watcher_free(e2b_fs_watcher *w);

#ifdef __cplusplus
}
#endif

#endif /* E2B_FS_H */
