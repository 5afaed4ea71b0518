/* SPDX-License-Identifier: MIT */
/*
 * A sandbox: its registry entry, its root filesystem and its users.
 * The registry and lifecycle live in sandbox.c; the root filesystem,
 * namespaces and processes in nsbox.c/process.c; users and path
 * resolution in users.c.
 */
#ifndef E2BD_SANDBOX_H
#define E2BD_SANDBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>

enum sandbox_state { SB_RUNNING, SB_PAUSED, SB_DEAD };

struct nsbox;		/* namespaces + init process, owned by nsbox.c */
struct proc_table;	/* processes, owned by process.c */
struct watch_table;	/* watchers, owned by fsrpc.c */

/*
 * A small file of the sandbox (its /etc/passwd, /etc/group) kept between
 * requests: sbfs_read_cached() hands out a copy and re-reads the file
 * only when its identity (device, inode, size, mtime, ctime) changed.
 */
struct sb_file_cache {
	pthread_mutex_t lock;
	dev_t dev;			/* protected by lock, like every field below */
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool racy;			/* changed too recently to trust the identity */
	char *data;			/* NUL-terminated, NULL = nothing cached */
};

struct sandbox {
	char id[40];
	char template_id[128];
	char *dir;		/* STATE_DIR/sandboxes/<id> */
	const char *lower;	/* template rootfs, NULL = built-in host template */
	/*
	 * Host path of the merged root (inside e2bd's private mount
	 * namespace) and an O_PATH directory fd on it; every file RPC
	 * resolves paths beneath rootfd with RESOLVE_IN_ROOT.  -1 while the
	 * root is not mounted.
	 */
	char *root;
	int rootfd;
	/* Device and inode of rootfd's directory, set with it (0: unknown);
	 * sbfs_root_get() checks a duplicate of rootfd against them. */
	dev_t root_dev;
	ino_t root_ino;
	char access_token[80];	/* "" when not secure */
	json_t *metadata;	/* object, owned */
	json_t *env_vars;	/* object, owned */
	time_t started_at;
	time_t end_at;
	bool auto_pause;
	bool secure;
	bool no_internet;	/* allow_internet_access: false (loopback only) */
	bool ns_started;	/* nsbox_start ran since load; protected by lock */

	pthread_mutex_t lock;
	enum sandbox_state state;	/* protected by lock */
	int refs;			/* protected by the registry lock */

	struct nsbox *ns;
	struct proc_table *procs;
	struct watch_table *watches;
	struct sb_file_cache passwd, group;	/* users.c, sbfs_idnames_load() */
};

/* Look up a sandbox by ID, taking a reference; NULL if unknown. */
struct sandbox *sandbox_get(const char *id);
void sandbox_put(struct sandbox *sb);
/* Take one more reference on a sandbox the caller already holds. */
struct sandbox *sandbox_ref(struct sandbox *sb);

/* A user of a sandbox, from the sandbox's own /etc/passwd. */
struct sb_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	char home[256];
};

/*
 * Registry and lifecycle (sandbox.c).  Every function taking a sandbox
 * expects the caller to hold a reference.  Lifecycle calls serialize on
 * sb->lock; end_at is protected by sb->lock too.
 */
struct sandbox_opts {
	const char *template_id;
	const char *lower;	/* template rootfs, NULL = built-in */
	int timeout_s;
	bool secure;
	bool auto_pause;
	bool no_internet;	/* allow_internet_access: false */
	json_t *metadata;	/* borrowed, may be NULL */
	json_t *env_vars;	/* borrowed, may be NULL */
	const char *id;		/* NULL: a random ID (a fixed one is for the fuzzer) */
};

/* Load persisted sandboxes (as paused) and start the expiry timer. */
int sandbox_registry_init(char *err, size_t errlen);
/* Stop the timer and every sandbox's processes; layers stay on disk. */
void sandbox_registry_shutdown(void);
/* Create and start a sandbox; *out gets a reference.  -1 with @err. */
int sandbox_create(const struct sandbox_opts *o, struct sandbox **out,
		   char *err, size_t errlen);
/* Kill: stop processes, remove the layer and the state.  -1 if already dead. */
int sandbox_kill(struct sandbox *sb);
/* Pause: 0, 1 if already paused, -1 if dead or failed. */
int sandbox_pause(struct sandbox *sb);
/*
 * Resume a paused sandbox and set its end time to now + @timeout_s (or,
 * with @extend_only, never earlier than it was).  0 resumed, 1 already
 * running (nothing changed), -1 if dead or failed.
 */
int sandbox_resume(struct sandbox *sb, int timeout_s, bool extend_only);
/* Set end_at = now + @timeout_s (@extend_only: never shorten).  -1 if dead. */
int sandbox_set_timeout(struct sandbox *sb, int timeout_s, bool extend_only);
/* Snapshot of the state and end time under the lock. */
enum sandbox_state sandbox_state_get(struct sandbox *sb, time_t *end_at);
/*
 * Every live sandbox, each with a reference, in a new array (*out, free
 * with sandbox_list_free).  Returns the count, or -1 on allocation failure.
 */
int sandbox_list(struct sandbox ***out);
void sandbox_list_free(struct sandbox **list, int n);
/* True if @id was killed by this e2bd process (OpenKruise: delete → 204). */
bool sandbox_was_killed(const char *id);

#endif
