/* SPDX-License-Identifier: MIT */
/*
 * Finding the e2bfs mount around the current directory, so that "." can
 * stand for its sandbox and the local cwd maps to a sandbox path.
 */
#ifndef E2BCTL_MNT_H
#define E2BCTL_MNT_H

#include <stddef.h>

#include <jansson.h>

/*
 * The control directory at the root of every e2bfs mount and its file
 * with the sandbox ID and the mounted sandbox path (fs/ctl.c).  Used when
 * /proc/self/mountinfo does not tell (source "e2bfs:ID:ROOT").
 */
#define MNT_CTL_DIR ".e2bfs"
#define MNT_CTL_SANDBOX "sandbox"
#define MNT_CTL_CONNECTION "connection"

/**
 * Walk up from the current directory to the nearest e2bfs mount root.
 *
 * @param[out] out_id  the sandbox ID; caller owns (free)
 * @param[out] out_cwd may be NULL; the sandbox path of the current
 *                     directory; caller owns (free)
 * @return 0, or an exit code after printing "not inside an e2bfs mount"
 */
int mnt_here(char **out_id, char **out_cwd);

/** mnt_here(), plus the mount point in *@p out_mnt (caller frees). */
int mnt_here_at(char **out_id, char **out_cwd, char **out_mnt);

/**
 * The mount's MOUNTPOINT/.e2bfs/connection (fs/ctl.c): how to reach the
 * sandbox's envd, its access token included (readable by the mount owner
 * only).  @return the JSON object (caller decrefs), or NULL when the file
 * is missing (an older e2bfs) or unreadable
 */
json_t *mnt_read_connection(const char *mnt);

/**
 * Read the sandbox ID of the e2bfs mount rooted at @p root.
 * @return 0, or -1 when @p root is not an e2bfs mount (nothing printed)
 */
int mnt_read_id(char **out_id, const char *root);

/**
 * @return 1 if @p dir (made absolute and resolved) is the mount point of
 *         an e2bfs mount, else 0
 */
int mnt_is_e2bfs(const char *dir);

/* One active e2bfs mount. */
struct mnt_entry {
	char *id;		/* sandbox ID */
	char *root;		/* mounted sandbox directory */
	char *mountpoint;	/* local mount point */
};

/**
 * Every fuse.e2bfs mount in /proc/self/mountinfo.
 *
 * @param[out] out caller owns, free with mnt_list_free()
 * @return 0, or -1 when mountinfo cannot be read
 */
int mnt_list(struct mnt_entry **out, size_t *out_n);
void mnt_list_free(struct mnt_entry *v, size_t n);

#endif /* E2BCTL_MNT_H */
