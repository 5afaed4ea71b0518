/* SPDX-License-Identifier: MIT */
/*
 * The per-user cache of sandbox connection details (sbcache.c): what
 * e2b_sandbox_open() needs besides the ID, for SBCACHE_TTL_S seconds.
 */
#ifndef E2BCTL_SBCACHE_H
#define E2BCTL_SBCACHE_H

/* Owned strings; NULL = none. */
struct sbcache_entry {
	char *envd_access_token;
	char *envd_version;
	char *domain;
	char *template_id;
};

/* A fresh entry for (@api_url, @id) into *out: 0, or -1 (none, stale, off). */
int sbcache_load(struct sbcache_entry *out, const char *api_url, const char *id);
/* Remember @e (borrowed) for (@api_url, @id); failures are silent. */
void sbcache_store(const char *api_url, const char *id, const struct sbcache_entry *e);
/* Drop the entry of (@api_url, @id), if any. */
void sbcache_forget(const char *api_url, const char *id);
void sbcache_entry_release(struct sbcache_entry *e);

#endif
