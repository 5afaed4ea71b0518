/* SPDX-License-Identifier: MIT */
/*
 * Internal contract of e2bfs, the FUSE daemon that mounts a sandbox: the
 * mount state, the inode table (inode.c), the content cache (cache.c), the
 * remote layer with its single error mapping (remote.c), the control
 * directory (ctl.c) and the watcher (watch.c).  ops.c holds the thin
 * low-level handlers that glue them together.
 */
#ifndef E2BFS_H
#define E2BFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include <e2b/e2b.h>

#define E2BFS_VERSION "0.1.0"

/* The control directory lives in its own inode range, far above the
 * inodes handed out for remote paths. */
#define CTL_NAME ".e2bfs"
#define CTL_INO_BASE (UINT64_C(1) << 48)

/* Content cache block: the unit of ranged fetches and of the presence map. */
#define CACHE_BLOCK (128u * 1024u)

struct file;

struct opts {
	char *api_key_file;
	char *api_url;
	char *sandbox_url;
	char *ca_file;
	char *domain;
	char *user;
	double attr_timeout;
	double entry_timeout;
	double negative_timeout;
	double dir_cache;
	double watch_cache;
	unsigned prefetch_entries;
	unsigned prefetch_threads;
	unsigned ahead_threads;
	unsigned ahead_files;
	unsigned ahead_start;	/* a run's first window; 0: by the latency */
	char *ahead_size;
	char *ahead_bytes;
	char *cache_dir;
	char *cache_max;
	int no_watch;
	int noautoresume;
	int autounmount;
	int keepalive;
	double op_timeout;
	int raw_links;	/* -o symlinks=raw: link text as stored */
	int idmap_none;	/* -o idmap=none: the sandbox's owners, not ours */
	int ro;
	int show_help;
	int show_version;
};

struct stats {
	uint64_t rpc;		/* remote calls made */
	uint64_t rpc_errors;
	uint64_t rpc_ms;	/* total latency */
	uint64_t cache_hits;	/* bytes read from the cache */
	uint64_t cache_misses;	/* bytes fetched */
	uint64_t uploads;
	uint64_t upload_errors;
	uint64_t ahead_fetched;	/* files fetched ahead of a reader */
	uint64_t ahead_hits;	/* opens that found such a file local */
};

/* The whole mount. */
struct fs {
	struct opts o;
	e2b_client *client;
	e2b_sandbox *sb;
	char sandbox_id[128];
	char *root;		/* remote root path, no trailing '/' except "/" */
	char *mountpoint;	/* absolute local mount point */
	char *cache_dir;	/* per-sandbox cache directory */
	uint64_t cache_max;
	uint64_t ahead_size;	/* largest file fetched ahead */
	uint64_t ahead_bytes;	/* bytes fetched ahead of a reader at most */
	struct fuse_session *se;
	int shared_reads;	/* content reads on libe2b's shared HTTP/2 mux */
	uid_t uid;
	gid_t gid;
	int debug;

	pthread_mutex_t lock;	/* protects the fields below */
	struct stats st;	/* protected by lock */
	int online;		/* protected by lock */
	int gone;		/* protected by lock; the sandbox no longer exists */
	char last_error[256];	/* protected by lock */
	double last_resume_check; /* protected by lock */
	int stopping;		/* protected by lock */
	double lat_min[2];	/* protected by lock; least call time (ms) of
				 * this and the last LATENCY_EPOCH */
	double lat_since;	/* protected by lock; this epoch's start */
	pthread_cond_t cond;	/* signalled on stopping */
	atomic_uint_least64_t lat_us;	/* remote_latency_ms() + 1 us; 0: none yet */
};

/* ---- util.c: small helpers shared by every file ---------------------- */
double now_mono(void);
/* @ts = CLOCK_REALTIME now + @secs: a pthread_cond_timedwait deadline. */
void deadline_in(struct timespec *ts, double secs);
void fs_log(struct fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* From now on fs_log writes to syslog (a daemonised mount). */
void fs_log_syslog(void);
/* "@dir/@name" (malloc'd; "/" + name gives "/name"), NULL on ENOMEM. */
char *path_join(const char *dir, const char *name);
char *path_parent(const char *path);

/* ---- remote.c: every call into libe2b goes through here -------------- */
int remote_errno(int code);
/* The least time a call to envd took lately: its round trip plus the least
 * work (milliseconds); < 0 until a call has ended.  Lock-free. */
double remote_latency_ms(const struct fs *fs);
int remote_begin(struct fs *fs);
int remote_end(struct fs *fs, int rc);
int remote_stat(struct fs *fs, const char *path, e2b_entry_info **out);
int remote_list(struct fs *fs, const char *path, e2b_entry_list **out);
int remote_list_depth(struct fs *fs, const char *path, unsigned depth, e2b_entry_list **out);
int remote_mkdir(struct fs *fs, const char *path);
/* mkdir answered at once: the MakeDir runs in the background; envd calls
 * about the directory, below it or about the directory holding it make it
 * first (offline: remote_mkdir()). */
int remote_mkdir_async(struct fs *fs, const char *path);
/* Every pending MakeDir made (barriers). */
void remote_mkdir_flush(struct fs *fs);
int remote_rename(struct fs *fs, const char *from, const char *to);
int remote_remove(struct fs *fs, const char *path);
int remote_create(struct fs *fs, const char *path);
/* Attributes applied to the uploaded temporary file before it is moved
 * into place (mode < 0 / NULL time = leave as uploaded: 0644 / now). */
struct upload_fix {
	int mode;
	const struct timespec *atime;
	const struct timespec *mtime;
};
int remote_fix(struct fs *fs, const char *path, const struct upload_fix *fix);
int remote_fix_args(struct fs *fs, const char *path, const char *mode, const char *atime,
		    const char *mtime);
int remote_chown(struct fs *fs, const char *path, uid_t uid, gid_t gid);
int remote_symlink(struct fs *fs, const char *target, const char *path);
int remote_link(struct fs *fs, const char *target, const char *path, unsigned *nlink);
int remote_truncate(struct fs *fs, const char *path, uint64_t size);
int remote_mknod(struct fs *fs, const char *path, mode_t mode, dev_t rdev);
/* -o idmap=none: the sandbox's ids of the owner names envd gives. */
int remote_idmap_load(struct fs *fs);
uid_t remote_uid(const char *name);
gid_t remote_gid(const char *name);
void remote_shutdown(struct fs *fs);
int remote_upload_fd(struct fs *fs, const char *path, int fd, const struct upload_fix *fix,
		     e2b_entry_info **out);
int remote_upload_new(struct fs *fs, const char *path, int fd, const struct upload_fix *fix);
/* One small new file of remote_upload_new_many(). */
struct upload_item {
	const char *path;
	const void *data;
	size_t len;
	struct upload_fix fix;
	int rc;			/* out: 0 / -errno */
};
int remote_upload_new_many(struct fs *fs, struct upload_item *items, size_t n);
int remote_fix_many(struct fs *fs, struct upload_item *items, size_t n);
int remote_read_to_fd(struct fs *fs, const char *path, int fd, uint64_t off,
		      uint64_t len, uint64_t *got, uint64_t *remote_size);
int remote_read_cb(struct fs *fs, const char *path, uint64_t off, uint64_t len,
		   uint64_t *got, e2b_data_cb cb, void *arg);
int remote_helper(struct fs *fs, const char *const *argv, char **out);
int remote_statfs(struct fs *fs, e2b_envd_metrics *m);
/* The sandbox itself (main.c, ctl.c): 0 or a negative errno (remote_attach:
 * -1); remote_attach and remote_stat_root say why they failed on stderr. */
int remote_attach(struct fs *fs, int no_server_set);
int remote_stat_root(struct fs *fs, const char *path, e2b_entry_info **out);
void remote_keepalive(struct fs *fs);
int remote_sandbox_info(struct fs *fs, e2b_sandbox_info **out);
int remote_set_timeout(struct fs *fs, unsigned secs);
int remote_pause(struct fs *fs);
int remote_kill(struct fs *fs);
/* Processes (ctl.c's procs/): 0 or a negative errno; remote_proc_wait is
 * 0 once the process ended (*r filled), -ECANCELED if cancelled. */
int remote_proc_list(struct fs *fs, e2b_process_list **out);
int remote_proc_start(struct fs *fs, const char *cmd, const e2b_commands_options *co,
		      e2b_process **out);
int remote_proc_connect(struct fs *fs, uint32_t pid, const e2b_commands_options *co,
			e2b_process **out);
int remote_proc_wait(e2b_process *h, e2b_process_result *r, e2b_data_cb on_stdout,
		     e2b_data_cb on_stderr, void *payload);
void remote_proc_cancel(e2b_process *h);
int remote_proc_stdin(struct fs *fs, uint32_t pid, const char *buf, size_t size);
int remote_proc_close_stdin(struct fs *fs, uint32_t pid);
/* SIGKILL if @kill, else SIGTERM. */
int remote_proc_signal(struct fs *fs, uint32_t pid, int kill);
/* The recursive watch of the mounted root (watch.c); remote_watch_run
 * streams until the end and says how it ended (NULL @w: cancelled). */
int remote_watch_open(struct fs *fs, e2b_fs_watch_options *wo, e2b_fs_watch **out);
const char *remote_watch_run(e2b_fs_watch *w);
void remote_watch_cancel(e2b_fs_watch *w);

/* ---- inode.c --------------------------------------------------------- */
struct inode {
	fuse_ino_t ino;
	char *path;		/* protected by inode_lock; NULL once detached */
	uint64_t nlookup;	/* protected by inode_lock; kernel lookups */
	unsigned pins;		/* protected by inode_lock; daemon holders */
	struct stat attr;	/* protected by inode_lock */
	double attr_until;	/* protected by inode_lock; 0 = unknown */
	double attr_fetched;	/* protected by inode_lock; read from envd at */
	int attr_known;		/* protected by inode_lock; attr ever set */
	uint64_t attr_vepoch;	/* protected by inode_lock; vouched by the watch
				 * in this epoch (0 = not) */
	uint64_t ev_gen;	/* protected by inode_lock; last watch event on it */
	double self_until;	/* protected by inode_lock; our own change echo */
	char *link;		/* protected by inode_lock; readlink cache */
	struct file *file;	/* protected by inode_lock (the pointer) */
	struct inode *hnext;	/* protected by inode_lock */
	/* The echo of our own upload that came while it still ran (a
	 * replace's Move, a batch's POST land before the upload has set the
	 * attributes): checked against them once it has. */
	int echo_pending;	/* protected by inode_lock */
	e2b_entry_info echo_e;	/* protected by inode_lock; no strings */
	uint64_t echo_epoch;	/* protected by inode_lock */
	uint64_t echo_gen;	/* protected by inode_lock */
};

extern pthread_mutex_t inode_lock;

int inode_init(struct fs *fs);
/* Only for an inode the kernel references (a request's ino): unpinned. */
struct inode *inode_get(fuse_ino_t ino);
/* These return a pinned record (or NULL): release it with inode_unpin(). */
struct inode *inode_find_path(const char *path);
struct inode *inode_for_path(const char *path);
void inode_unpin(struct inode *in);
void inode_counts(size_t *out_live, size_t *out_ghosts);
char *inode_path(struct inode *in);
char *inode_child_path(struct inode *parent, const char *name);
void inode_attr_from_entry(struct fs *fs, const e2b_entry_info *e,
			   struct stat *st);
/* Pinned too. */
struct inode *inode_update(struct fs *fs, const char *path,
			   const e2b_entry_info *e, struct stat *st_out);
/* What the watch had seen when a fetch started: its answer is vouched
 * for (kept while the watch is healthy) only if nothing changed since. */
struct inode_vtok {
	uint64_t epoch;
	uint64_t gen;
	void *priv;
	void *claim;
};
void inode_vouch_begin(struct inode_vtok *out);
struct inode *inode_update_tok(struct fs *fs, const char *path, const e2b_entry_info *e,
			       const struct inode_vtok *tok, struct stat *st_out);
int inode_attr_copy(struct inode *in, struct stat *st);
int inode_attr_vouched(struct inode *in);
/* Keep the echo @e (under @tok) of an upload of @in that is still running. */
void inode_echo_stash(struct inode *in, const e2b_entry_info *e, const struct inode_vtok *tok);
/* The upload has set @in's attributes: a kept echo vouches if it confirms them. */
void inode_echo_settled(struct inode *in);
int inode_listing_vouched(struct inode *dir);
int inode_same_kind(struct inode *in, const e2b_entry_info *e);
int inode_echo_confirms(struct inode *in, const e2b_entry_info *e, const struct inode_vtok *tok);
void inode_unvouch(struct inode *in);
void inode_mark_linked(const char *path);
/* @a and @b are names of one file with @nlink links in all. */
void inode_set_links(struct inode *a, struct inode *b, unsigned nlink);
/* @in's name no longer names the others' file (saved over): their count drops. */
void inode_links_broken(struct inode *in);
int inode_is_upload_temp(const char *name);
double inode_attr_timeout(struct fs *fs, struct inode *in);
double inode_entry_timeout(struct fs *fs, struct inode *in);
void inode_set_attr(struct fs *fs, struct inode *in, const struct stat *st);
void inode_dir_touched(struct fs *fs, struct inode *dir);
int inode_cached_attr(struct fs *fs, struct inode *in, struct stat *st);
int inode_recent_attr(struct inode *in, double max_age, struct stat *st);
/* Listings, by directory path (they outlive the directory's record). */
enum inode_dir_answer {
	INODE_DIR_UNKNOWN = -2,	/* no fresh listing */
	INODE_DIR_NOATTR = -1,	/* listed, attributes unknown */
	INODE_DIR_ABSENT = 0,	/* a fresh listing has no such name */
	INODE_DIR_FOUND = 1,	/* *st filled (from the listing) */
};
/* FOUND: *@out is @name's record (pinned) with attributes *@st. */
int inode_dir_lookup(struct fs *fs, struct inode *dir, const char *name, struct inode **out,
		     struct stat *st);
/* Single flight: 1 = the caller lists @dir (and must call inode_dir_end),
 * 0 = a fresh listing exists, or another caller's ListDir just ended. */
int inode_dir_begin(struct inode *dir, struct inode_vtok *tok);
int inode_dir_begin_prefetch(const char *path, unsigned depth, struct inode_vtok *tok);
/* @l: the answer of a ListDir at @depth, or NULL (failed). */
void inode_dir_end(struct fs *fs, const struct inode_vtok *tok, const e2b_entry_list *l,
		   unsigned depth);
size_t inode_listing_entries(void);
char **inode_dir_subdirs(const char *path, off_t max_size, size_t max, size_t *out_n);
char **inode_listing_names(struct inode *dir, size_t *out_n);
void inode_listing_event(struct fs *fs, const char *dpath, const char *name, int present,
			 const e2b_entry_info *e);
void inode_event_gen(const char *path);
void inode_watch_state(int healthy);
void inode_kernel_forget_all(struct fuse_session *se);
void inode_invalidate_tree(const char *path);
int inode_stale_attr(struct inode *in, struct stat *st);
int inode_is_echo(struct inode *in);
void inode_mark_self(struct inode *in);
void inode_invalidate(struct inode *in);
void inode_invalidate_dir(struct inode *in);
void inode_invalidate_all(void);
void inode_set_listing(struct fs *fs, struct inode *dir, const struct inode_vtok *tok,
		       const e2b_entry_list *l);
int inode_listing_has(struct inode *dir, const char *name, int *out_fresh);
void inode_listing_update(struct inode *dir, const char *name, int present);
void inode_listing_empty(struct fs *fs, struct inode *dir, const struct inode_vtok *tok);
void inode_forget(fuse_ino_t ino, uint64_t n);
void inode_ref(struct inode *in);
void inode_detach(struct inode *in);
void inode_renamed(const char *from, const char *to);

/* ---- cache.c: content cache ------------------------------------------ */
int cache_init(struct fs *fs);
int cache_open(struct fs *fs, struct inode *in, int flags,
	       const struct stat *remote, int *keep_cache);
int cache_create(struct fs *fs, struct inode *in, const struct stat *remote);
int cache_read(struct fs *fs, struct inode *in, char *buf, size_t size,
	       off_t off, size_t *out_len);
/* Where a read's bytes are: [off, off + len[0]) of descriptor fd, or, with
 * fd -1, the memory mem[0] then mem[1] (len[1] may be 0). */
struct read_src {
	int fd;
	off_t off;
	const char *mem[2];
	size_t len[2];
};
typedef void cache_emit_fn(void *arg, const struct read_src *src);
/* The same, answered by @emit with the bytes' place under the file's lock:
 * 1 answered, -EAGAIN: use cache_read(), other negative: the read's error
 * (not answered). */
int cache_read_emit(struct fs *fs, struct inode *in, size_t size, off_t off,
		    cache_emit_fn *emit, void *arg);
int cache_write(struct fs *fs, struct inode *in, const char *buf,
		size_t size, off_t off);
int cache_truncate(struct fs *fs, struct inode *in, off_t size);
int cache_flush(struct fs *fs, struct inode *in);
int cache_close(struct fs *fs, struct inode *in);
void cache_release(struct fs *fs, struct inode *in);
int cache_local_attr(struct inode *in, struct stat *st);
int cache_has_pending(struct inode *in);
int cache_is_dirty(struct inode *in);
/* The whole content is here (no read of it asks the sandbox). */
int cache_has_content(struct inode *in);
int cache_is_local_new(struct inode *in);
int cache_is_open(struct inode *in);
int cache_set_mode(struct inode *in, mode_t mode);
int cache_set_times(struct inode *in, const struct stat *attr, int to_set);
int cache_dir_fix(struct fs *fs, struct inode *in, const struct stat *cur,
		  const struct stat *attr, int to_set);
void cache_dir_changed(struct inode *in);
void cache_mark_dirty(struct inode *in);
int cache_rename_new(struct inode *in, const char *from, const char *to, int replaces);
void cache_renamed(struct inode *in);
void cache_touched(struct inode *in, const struct stat *st);
int cache_unlinking(struct fs *fs, struct inode *in);
void cache_drop(struct fs *fs, struct inode *in);
int cache_cancel_new(struct fs *fs, struct inode *in);
/* link(@src, @dst) of a file not uploaded yet, made here: @dst becomes a
 * copy linked in the sandbox at its upload, or not at all if @src goes
 * first (git's link-then-unlink).  0, or -EAGAIN: link in the sandbox. */
int cache_link_new(struct fs *fs, struct inode *src, struct inode *dst);
/* Before a change of either name of such a link: make the link now. */
void cache_plink_settle(struct fs *fs, struct inode *in);
void cache_wait_new(struct fs *fs, const char *path, int subtree);
int cache_sync_all(struct fs *fs);
void cache_shutdown(struct fs *fs);
void cache_upload_counts(unsigned *out_pending, unsigned *out_failed);
void cache_recover(struct fs *fs);
void cache_stats(struct fs *fs, uint64_t *bytes, unsigned *files,
		 unsigned *dirty);
void cache_housekeep(struct fs *fs);
/* 1 = fetched whole, 0 = skipped (busy, open, dirty or already local). */
int cache_ahead(struct fs *fs, struct inode *in, const struct stat *remote);

/* ---- ops.c ----------------------------------------------------------- */
extern const struct fuse_lowlevel_ops e2bfs_ops;

/* ---- ctl.c: the control directory ------------------------------------ */
/* Its handlers, one per operation it answers; ops.c dispatches to them
 * with CTL_ROUTE and nowhere else. */
extern const struct fuse_lowlevel_ops ctl_ops;
int ctl_is(fuse_ino_t ino);
/* @name in @parent is the control directory or inside it. */
int ctl_owns(fuse_ino_t parent, const char *name);
/* If @ours, the control directory answers this request: hand it to
 * ctl_ops.op and return from the calling handler. */
#define CTL_ROUTE(ours, op, ...)                                               \
	do {                                                                   \
		if (ours) {                                                    \
			ctl_ops.op(__VA_ARGS__);                               \
			return;                                                \
		}                                                              \
	} while (0)
void ctl_init(struct fs *fs);
void ctl_shutdown(struct fs *fs);

/* ---- prefetch.c: listings fetched ahead of a tree walk --------------- */
int prefetch_start(struct fs *fs);
void prefetch_below(struct fs *fs, const char *path);
void prefetch_root(struct fs *fs);
void prefetch_stop(struct fs *fs);

/* ---- ahead.c: small files fetched ahead of a reader ------------------ */
int ahead_start(struct fs *fs);
/* An open of @path for reading; @here: its whole content is cached (such
 * opens move a run's reader on but start none). */
void ahead_opened(struct fs *fs, const char *path, int flags, int here);
void ahead_stop(struct fs *fs);

/* ---- watch.c ---------------------------------------------------------- */
int watch_start(struct fs *fs);
void watch_stop(struct fs *fs);
/* The stream is established (envd confirmed it) and has not ended. */
int watch_is_up(void);
void watch_refresh(void);

#endif /* E2BFS_H */
