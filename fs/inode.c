/* SPDX-License-Identifier: MIT */
/*
 * The inode table: remote path <-> inode number, lookup counts, cached
 * attributes and directory listings.  A record lives while the kernel holds
 * lookups on it (nlookup, the forget contract of fuse_lowlevel.h), while
 * daemon code holds a pin on it (pins: the path getters return pinned
 * records, the caller unpins), or while it has a content cache file; then it
 * is freed.  Its path keeps its number through a small path -> number map
 * (the "ghosts"), so a path keeps its number for the life of the mount
 * unless it is removed or renamed.  A record from inode_get() is only safe
 * for an inode the kernel references (the ino of the request).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2bfs.h"

/* A broken invariant of the table: never compiled out. */
#define BUG_INODE(msg) \
	do { \
		fprintf(stderr, "e2bfs: BUG: %s (%s:%d)\n", msg, __FILE__, __LINE__); \
		abort(); \
	} while (0)

pthread_mutex_t inode_lock = PTHREAD_MUTEX_INITIALIZER;

static struct fs *g_fs;
static struct inode **by_ino;	/* protected by inode_lock; index = ino */
static size_t by_ino_cap;	/* protected by inode_lock */
static fuse_ino_t next_ino = 1;	/* protected by inode_lock */
static struct inode **buckets;	/* protected by inode_lock */
static size_t nbuckets;		/* protected by inode_lock */
static size_t npaths;		/* protected by inode_lock */
static size_t nlive;		/* protected by inode_lock; records allocated */

/* The number a freed record's path had, reused when the path comes back. */
struct ghost {
	char *path;
	fuse_ino_t ino;
	struct ghost *next;
};

static struct ghost **gbuckets;	/* protected by inode_lock */
static size_t ngbuckets;	/* protected by inode_lock */
static size_t nghosts;		/* protected by inode_lock */

static size_t hash_path(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	while (*p) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static void hash_insert(struct inode *in)
{
	size_t b;

	if (npaths + 1 > nbuckets * 2) {
		size_t n = nbuckets * 4, i;
		struct inode **nb = calloc(n, sizeof(*nb));

		if (nb) {
			for (i = 0; i < nbuckets; i++) {
				struct inode *c = buckets[i], *next;

				for (; c; c = next) {
					next = c->hnext;
					b = hash_path(c->path) & (n - 1);
					c->hnext = nb[b];
					nb[b] = c;
				}
			}
			free(buckets);
			buckets = nb;
			nbuckets = n;
		}
	}
	b = hash_path(in->path) & (nbuckets - 1);
	in->hnext = buckets[b];
	buckets[b] = in;
	npaths++;
}

static void hash_remove(struct inode *in)
{
	struct inode **pp = &buckets[hash_path(in->path) & (nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			in->hnext = NULL;
			npaths--;
			return;
		}
	}
}

static struct inode *hash_find(const char *path)
{
	struct inode *c = buckets[hash_path(path) & (nbuckets - 1)];

	for (; c; c = c->hnext)
		if (!strcmp(c->path, path))
			return c;
	return NULL;
}

/* Remember @path -> @ino (takes ownership of @path); lock held. */
static void ghost_add(char *path, fuse_ino_t ino)
{
	struct ghost *g;
	size_t b;

	if (nghosts + 1 > ngbuckets * 2) {
		size_t n = ngbuckets * 4, i;
		struct ghost **nb = calloc(n, sizeof(*nb));

		if (nb) {
			for (i = 0; i < ngbuckets; i++) {
				struct ghost *c = gbuckets[i], *next;

				for (; c; c = next) {
					next = c->next;
					b = hash_path(c->path) & (n - 1);
					c->next = nb[b];
					nb[b] = c;
				}
			}
			free(gbuckets);
			gbuckets = nb;
			ngbuckets = n;
		}
	}
	g = malloc(sizeof(*g));
	if (!g) {
		/* The path just gets a new number next time. */
		free(path);
		return;
	}
	g->path = path;
	g->ino = ino;
	b = hash_path(path) & (ngbuckets - 1);
	g->next = gbuckets[b];
	gbuckets[b] = g;
	nghosts++;
}

/* Take @path's remembered number out of the map (0 if none); lock held. */
static fuse_ino_t ghost_take(const char *path)
{
	struct ghost **pp = &gbuckets[hash_path(path) & (ngbuckets - 1)], *g;
	fuse_ino_t ino;

	for (; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->path, path)) {
			g = *pp;
			*pp = g->next;
			ino = g->ino;
			free(g->path);
			free(g);
			nghosts--;
			return ino;
		}
	}
	return 0;
}

/* Forget the numbers of @prefix and everything under it; lock held. */
static void ghost_drop_tree(const char *prefix)
{
	size_t pl = strlen(prefix), i;

	for (i = 0; i < ngbuckets; i++) {
		struct ghost **pp = &gbuckets[i], *g;

		while (*pp) {
			g = *pp;
			if (!strncmp(g->path, prefix, pl) &&
			    (g->path[pl] == 0 || g->path[pl] == '/')) {
				*pp = g->next;
				free(g->path);
				free(g);
				nghosts--;
			} else {
				pp = &g->next;
			}
		}
	}
}

/* Remembered numbers under @from now live under @to, as records do;
 * lock held.  Those already under @to must have been dropped. */
static void ghost_move_tree(const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), i, rest;
	struct ghost *moved = NULL, *g;
	char *np;

	for (i = 0; i < ngbuckets; i++) {
		struct ghost **pp = &gbuckets[i];

		while (*pp) {
			g = *pp;
			if (!strncmp(g->path, from, fl) &&
			    (g->path[fl] == 0 || g->path[fl] == '/')) {
				*pp = g->next;
				nghosts--;
				g->next = moved;
				moved = g;
			} else {
				pp = &g->next;
			}
		}
	}
	while (moved) {
		g = moved;
		moved = g->next;
		rest = strlen(g->path + fl);
		np = malloc(tl + rest + 1);
		if (np) {
			memcpy(np, to, tl);
			memcpy(np + tl, g->path + fl, rest + 1);
			/* Takes np; on failure the path gets a new number. */
			ghost_add(np, g->ino);
		}
		free(g->path);
		free(g);
	}
}

/* Allocate an inode for @path (takes ownership of @path); lock held.
 * The record comes back pinned. */
static struct inode *new_inode(char *path)
{
	struct inode *in;
	fuse_ino_t ino;

	if (next_ino >= by_ino_cap) {
		size_t cap = by_ino_cap ? by_ino_cap * 2 : 1024;
		struct inode **n = realloc(by_ino, cap * sizeof(*n));

		if (!n)
			return NULL;
		memset(n + by_ino_cap, 0, (cap - by_ino_cap) * sizeof(*n));
		by_ino = n;
		by_ino_cap = cap;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	ino = ghost_take(path);
	in->ino = ino ? ino : next_ino++;
	in->path = path;
	in->pins = 1;
	by_ino[in->ino] = in;
	hash_insert(in);
	nlive++;
	return in;
}

/* Drop the caches of @in; lock held. */
static void drop_locked(struct inode *in)
{
	size_t i;

	in->attr_until = 0;
	in->dir_until = 0;
	for (i = 0; i < in->nnames; i++)
		free(in->names[i]);
	free(in->names);
	in->names = NULL;
	in->nnames = 0;
	free(in->link);
	in->link = NULL;
}

/*
 * Free @in if nothing refers to it any more: no kernel lookups, no pins, no
 * content cache file (whose back pointer we cannot clear from here); its
 * path keeps its number as a ghost.  Lock held.
 *
 * NEEDSWORK: a record whose file was ever opened keeps its struct file (the
 * cache's list and housekeeping snapshots point at it), so it is never
 * freed even when closed and clean; freeing both needs a reference on
 * struct file for those snapshots.  Ghosts are never forgotten either
 * (a path plus a number each, for every path seen).
 */
static void maybe_free_locked(struct inode *in)
{
	if (in->nlookup || in->pins || in->file || in->ino == FUSE_ROOT_ID)
		return;
	if (in->path) {
		hash_remove(in);
		ghost_add(in->path, in->ino);
		in->path = NULL;
	}
	drop_locked(in);
	by_ino[in->ino] = NULL;
	nlive--;
	free(in);
}

void inode_unpin(struct inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&inode_lock);
	if (!in->pins)
		BUG_INODE("unpin of an unpinned inode");
	in->pins--;
	maybe_free_locked(in);
	pthread_mutex_unlock(&inode_lock);
}

void inode_counts(size_t *out_live, size_t *out_ghosts)
{
	pthread_mutex_lock(&inode_lock);
	*out_live = nlive;
	*out_ghosts = nghosts;
	pthread_mutex_unlock(&inode_lock);
}

int inode_init(struct fs *fs)
{
	char *p = strdup(fs->root);
	struct inode *root;

	g_fs = fs;
	nbuckets = 4096;
	buckets = calloc(nbuckets, sizeof(*buckets));
	ngbuckets = 4096;
	gbuckets = calloc(ngbuckets, sizeof(*gbuckets));
	if (!p || !buckets || !gbuckets)
		return -ENOMEM;
	pthread_mutex_lock(&inode_lock);
	root = new_inode(p);
	if (root) {
		root->nlookup = 1;
		root->pins = 0;
	}
	pthread_mutex_unlock(&inode_lock);
	return root && root->ino == FUSE_ROOT_ID ? 0 : -ENOMEM;
}

struct inode *inode_get(fuse_ino_t ino)
{
	struct inode *in = NULL;

	pthread_mutex_lock(&inode_lock);
	if (ino < next_ino)
		in = by_ino[ino];
	pthread_mutex_unlock(&inode_lock);
	return in;
}

struct inode *inode_find_path(const char *path)
{
	struct inode *in;

	pthread_mutex_lock(&inode_lock);
	in = hash_find(path);
	if (in)
		in->pins++;
	pthread_mutex_unlock(&inode_lock);
	return in;
}

struct inode *inode_for_path(const char *path)
{
	struct inode *in;
	char *p;

	pthread_mutex_lock(&inode_lock);
	in = hash_find(path);
	if (in) {
		in->pins++;
	} else {
		p = strdup(path);
		in = p ? new_inode(p) : NULL;
		if (!in)
			free(p);
	}
	pthread_mutex_unlock(&inode_lock);
	return in;
}

char *inode_path(struct inode *in)
{
	char *p = NULL;

	pthread_mutex_lock(&inode_lock);
	if (in->path)
		p = strdup(in->path);
	pthread_mutex_unlock(&inode_lock);
	return p;
}

char *inode_child_path(struct inode *parent, const char *name)
{
	char *p = NULL;

	pthread_mutex_lock(&inode_lock);
	if (parent->path)
		p = path_join(parent->path, name);
	pthread_mutex_unlock(&inode_lock);
	return p;
}

void inode_attr_from_entry(struct fs *fs, const e2b_entry_info *e, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (e->is_symlink) {
		st->st_mode = S_IFLNK | 0777;
	} else if (e->type == E2B_FILE_TYPE_DIR) {
		st->st_mode = S_IFDIR | (e->mode & 07777);
	} else if (e->type == E2B_FILE_TYPE_FILE) {
		st->st_mode = S_IFREG | (e->mode & 07777);
	} else {
		/* fifo, socket or device: nothing we could read through /files */
		st->st_mode = S_IFSOCK | (e->mode & 07777);
	}
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)e->size;
	st->st_blksize = CACHE_BLOCK;
	st->st_blocks = (blkcnt_t)((e->size + 511) / 512);
	st->st_mtim.tv_sec = e->mtime_sec;
	st->st_mtim.tv_nsec = e->mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* Detach @in from its path; lock held. */
static void detach_locked(struct inode *in)
{
	if (!in->path)
		return;
	hash_remove(in);
	free(in->path);
	in->path = NULL;
	drop_locked(in);
}

struct inode *inode_update(struct fs *fs, const char *path, const e2b_entry_info *e,
			   struct stat *st_out)
{
	struct stat st;
	struct inode *in;
	char *p;

	inode_attr_from_entry(fs, e, &st);
	pthread_mutex_lock(&inode_lock);
	in = hash_find(path);
	/* A path that changed type is a new object: give it a new inode. */
	if (in && in->attr_until && in->ino != FUSE_ROOT_ID &&
	    (in->attr.st_mode & S_IFMT) != (st.st_mode & S_IFMT) && !in->file) {
		detach_locked(in);
		maybe_free_locked(in);
		in = NULL;
	}
	if (in) {
		in->pins++;
	} else {
		p = strdup(path);
		in = p ? new_inode(p) : NULL;
		if (!in) {
			free(p);
			pthread_mutex_unlock(&inode_lock);
			return NULL;
		}
	}
	st.st_ino = in->ino;
	in->attr = st;
	in->attr_known = 1;
	in->attr_until = now_mono() + fs->o.dir_cache;
	in->attr_fetched = now_mono();
	pthread_mutex_unlock(&inode_lock);
	if (st_out) {
		*st_out = st;
		cache_local_attr(in, st_out);
	}
	return in;
}

void inode_set_attr(struct fs *fs, struct inode *in, const struct stat *st)
{
	pthread_mutex_lock(&inode_lock);
	in->attr = *st;
	in->attr.st_ino = in->ino;
	in->attr_known = 1;
	in->attr_until = now_mono() + fs->o.dir_cache;
	/* Ours, maybe computed locally: open must not take it as envd's. */
	in->attr_fetched = 0;
	/* Set after our own change: the watcher's echo of it is ignored. */
	in->self_until = now_mono() + 0.5;
	pthread_mutex_unlock(&inode_lock);
}

int inode_cached_attr(struct fs *fs, struct inode *in, struct stat *st)
{
	int ok = 0;

	pthread_mutex_lock(&inode_lock);
	if (in->attr_until > now_mono()) {
		*st = in->attr;
		ok = 1;
	}
	pthread_mutex_unlock(&inode_lock);
	if (ok)
		cache_local_attr(in, st);
	return ok;
}

/*
 * Attributes read from envd less than @max_age seconds ago and not
 * invalidated since (by the watcher or our own change): open uses them
 * instead of a second Stat right after the lookup's.
 */
int inode_recent_attr(struct inode *in, double max_age, struct stat *st)
{
	double now = now_mono();
	int ok = 0;

	pthread_mutex_lock(&inode_lock);
	if (in->attr_until > now && in->attr_fetched > now - max_age) {
		*st = in->attr;
		ok = 1;
	}
	pthread_mutex_unlock(&inode_lock);
	return ok;
}

/* We just changed @in ourselves: its watch echo is ignored. */
void inode_mark_self(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	in->self_until = now_mono() + 0.5;
	pthread_mutex_unlock(&inode_lock);
}

/* Is a watch event on @in most likely the echo of our own change? */
int inode_is_echo(struct inode *in)
{
	int echo;

	pthread_mutex_lock(&inode_lock);
	echo = in->self_until > now_mono();
	pthread_mutex_unlock(&inode_lock);
	return echo;
}

/* The last attributes we saw, however old (used while offline). */
int inode_stale_attr(struct inode *in, struct stat *st)
{
	int ok;

	pthread_mutex_lock(&inode_lock);
	ok = in->attr_known && in->path;
	if (ok)
		*st = in->attr;
	pthread_mutex_unlock(&inode_lock);
	if (ok)
		cache_local_attr(in, st);
	return ok;
}

void inode_invalidate(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	in->attr_until = 0;
	free(in->link);
	in->link = NULL;
	pthread_mutex_unlock(&inode_lock);
}

void inode_invalidate_dir(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	in->dir_until = 0;
	pthread_mutex_unlock(&inode_lock);
}

void inode_invalidate_all(void)
{
	fuse_ino_t i;

	pthread_mutex_lock(&inode_lock);
	for (i = 1; i < next_ino; i++)
		if (by_ino[i])
			drop_locked(by_ino[i]);
	pthread_mutex_unlock(&inode_lock);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void inode_set_listing(struct fs *fs, struct inode *dir, const e2b_entry_list *l)
{
	char **names = calloc(l->count + 1, sizeof(*names));
	char *dpath = inode_path(dir);
	size_t i, n = 0;

	if (!names || !dpath)
		goto out;
	for (i = 0; i < l->count; i++) {
		char *cp = path_join(dpath, l->items[i].name);

		if (cp)
			inode_unpin(inode_update(fs, cp, &l->items[i], NULL));
		free(cp);
		names[n] = strdup(l->items[i].name);
		if (!names[n])
			goto out;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	pthread_mutex_lock(&inode_lock);
	for (i = 0; i < dir->nnames; i++)
		free(dir->names[i]);
	free(dir->names);
	dir->names = names;
	dir->nnames = n;
	dir->dir_until = now_mono() + fs->o.dir_cache;
	pthread_mutex_unlock(&inode_lock);
	names = NULL;
	n = 0;
out:
	if (names) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	free(dpath);
}

/* A copy of @dir's listing while it is fresh (NULL otherwise); the
 * caller frees each name and the array. */
char **inode_listing_names(struct inode *dir, size_t *out_n)
{
	char **names = NULL;
	size_t i;

	*out_n = 0;
	pthread_mutex_lock(&inode_lock);
	if (dir->names && dir->dir_until > now_mono()) {
		names = calloc(dir->nnames + 1, sizeof(*names));
		for (i = 0; names && i < dir->nnames; i++) {
			names[i] = strdup(dir->names[i]);
			if (!names[i]) {
				while (i--)
					free(names[i]);
				free(names);
				names = NULL;
			}
		}
		if (names)
			*out_n = dir->nnames;
	}
	pthread_mutex_unlock(&inode_lock);
	return names;
}

int inode_listing_has(struct inode *dir, const char *name, int *out_fresh)
{
	int found = 0;

	pthread_mutex_lock(&inode_lock);
	*out_fresh = dir->dir_until > now_mono();
	if (*out_fresh && dir->names)
		found = bsearch(&name, dir->names, dir->nnames, sizeof(char *), cmp_str) != NULL;
	pthread_mutex_unlock(&inode_lock);
	return found;
}

/*
 * Our own create/remove of @name in @dir: a fresh cached listing stays
 * fresh (so the next lookups of new names need no request).  A stale or
 * absent listing is left alone.
 */
void inode_listing_update(struct inode *dir, const char *name, int present)
{
	size_t lo = 0, hi, mid;
	int c = 1;
	char **n, *copy;

	pthread_mutex_lock(&inode_lock);
	if (!dir->names || dir->dir_until <= now_mono())
		goto out;
	hi = dir->nnames;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(dir->names[mid], name);
		if (c == 0) {
			lo = mid;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (present && c != 0) {
		copy = strdup(name);
		n = copy ? realloc(dir->names, (dir->nnames + 2) * sizeof(*n)) : NULL;
		if (!n) {
			free(copy);
			dir->dir_until = 0;
			goto out;
		}
		dir->names = n;
		memmove(n + lo + 1, n + lo, (dir->nnames - lo) * sizeof(*n));
		n[lo] = copy;
		dir->nnames++;
	} else if (!present && c == 0 && lo < dir->nnames) {
		free(dir->names[lo]);
		memmove(dir->names + lo, dir->names + lo + 1, (dir->nnames - lo - 1) * sizeof(char *));
		dir->nnames--;
	}
out:
	pthread_mutex_unlock(&inode_lock);
}

/* A directory we just created is known to be empty. */
void inode_listing_empty(struct fs *fs, struct inode *dir)
{
	char **names = calloc(1, sizeof(*names));
	size_t i;

	if (!names)
		return;
	pthread_mutex_lock(&inode_lock);
	for (i = 0; i < dir->nnames; i++)
		free(dir->names[i]);
	free(dir->names);
	dir->names = names;
	dir->nnames = 0;
	dir->dir_until = now_mono() + fs->o.dir_cache;
	pthread_mutex_unlock(&inode_lock);
}

void inode_forget(fuse_ino_t ino, uint64_t n)
{
	struct inode *in;

	pthread_mutex_lock(&inode_lock);
	in = ino < next_ino ? by_ino[ino] : NULL;
	if (in) {
		in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
		/* Nothing refers to it in the kernel any more. */
		maybe_free_locked(in);
	}
	pthread_mutex_unlock(&inode_lock);
}

void inode_ref(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	in->nlookup++;
	pthread_mutex_unlock(&inode_lock);
}

void inode_detach(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	if (in->ino != FUSE_ROOT_ID)
		detach_locked(in);
	maybe_free_locked(in);
	pthread_mutex_unlock(&inode_lock);
}

/*
 * @from was renamed to @to: whatever was at @to (and under it) is gone, and
 * @from with all its descendants now lives under @to.
 */
void inode_renamed(const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	fuse_ino_t i;

	pthread_mutex_lock(&inode_lock);
	/* Freed records move with their tree; those under @to named objects
	 * that are gone now. */
	ghost_drop_tree(to);
	ghost_move_tree(from, to);
	for (i = 2; i < next_ino; i++) {
		struct inode *in = by_ino[i];

		if (!in || !in->path)
			continue;
		if (!strncmp(in->path, to, tl) && (in->path[tl] == 0 || in->path[tl] == '/')) {
			detach_locked(in);
			maybe_free_locked(in);
		}
	}
	for (i = 2; i < next_ino; i++) {
		struct inode *in = by_ino[i];
		size_t rest;
		char *np;

		if (!in || !in->path)
			continue;
		if (strncmp(in->path, from, fl) || (in->path[fl] != 0 && in->path[fl] != '/'))
			continue;
		rest = strlen(in->path + fl);
		np = malloc(tl + rest + 1);
		if (!np) {
			detach_locked(in);
			maybe_free_locked(in);
			continue;
		}
		memcpy(np, to, tl);
		memcpy(np + tl, in->path + fl, rest + 1);
		hash_remove(in);
		free(in->path);
		in->path = np;
		hash_insert(in);
		in->dir_until = 0;
	}
	pthread_mutex_unlock(&inode_lock);
}
