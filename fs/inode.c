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

#include "bug.h"
#include "e2bfs.h"

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

/* ---- listings ----------------------------------------------------------- */

/* One entry of a cached listing. */
struct dent {
	char *name;
	mode_t mode;		/* 0 = attributes unknown */
	off_t size;
	struct timespec mtim;
	uid_t uid;		/* the sandbox's, used with -o idmap=none */
	gid_t gid;
};

/*
 * A directory's listing, keyed by path so that it outlives the directory's
 * record: a lookup miss or a prefetch lists directories the kernel does
 * not hold.  Fresh while `until` is ahead, or for as long as the watch
 * vouches for it (vepoch is the current watch epoch).  A record whose
 * ListDir is in flight (busy) or waited for stays allocated.
 */
struct dlist {
	char *path;
	struct dent *ents;	/* sorted by name */
	size_t n;
	int listed;		/* ents is the directory's content */
	double until;
	uint64_t vepoch;	/* 0 = not vouched */
	uint64_t ev_gen;	/* last watch event at or below the directory */
	int busy;		/* a ListDir of it is in flight */
	unsigned waiters;	/* lookups waiting for that ListDir */
	struct dlist *hnext;
};

static struct dlist **dbuckets;	/* protected by inode_lock */
static size_t ndbuckets;	/* protected by inode_lock */
static size_t ndlists;		/* protected by inode_lock */
static size_t ndents;		/* protected by inode_lock; entries of all listings */
static size_t evict_at;		/* protected by inode_lock; eviction cursor */
static pthread_cond_t dir_cond = PTHREAD_COND_INITIALIZER;	/* a ListDir ended */

/*
 * The watch's word: g_vepoch is the epoch of the current healthy stream
 * (0 while there is none), g_evgen counts its events.  Whatever is fetched
 * under epoch E with no event on it since is kept while g_vepoch == E.
 */
static uint64_t g_vepoch;		/* protected by inode_lock */
static uint64_t g_next_epoch = 1;	/* protected by inode_lock */
static uint64_t g_evgen;		/* protected by inode_lock */

/*
 * Paths we made hard links of: envd reports neither inode numbers nor link
 * counts, and the watch reports a change through one name only, so their
 * attributes are never vouched for (they expire as without the watch).
 * The names of one file share a group with the link count `ln` and `stat`
 * told us, shown until a name of the group goes or is saved over (a new
 * file under that name); kept by path, as the kernel may forget a record.
 */
struct lnk {
	char *path;
	uint64_t group;		/* 0 = none: 1 is shown */
	unsigned nlink;
};

static struct lnk *linked;	/* protected by inode_lock; sorted by path */
static size_t nlinked;		/* protected by inode_lock */
static uint64_t g_link_group;	/* protected by inode_lock */

static int cmp_lnk(const void *a, const void *b)
{
	return strcmp(((const struct lnk *)a)->path, ((const struct lnk *)b)->path);
}

static struct lnk *lnk_find(const char *path)
{
	struct lnk key;

	if (!nlinked || !path)
		return NULL;
	key.path = (char *)path;
	return bsearch(&key, linked, nlinked, sizeof(*linked), cmp_lnk);
}

static int is_linked(const char *path)
{
	return lnk_find(path) != NULL;
}

/* Add @path (if new); lock held.  -1: no memory. */
static int lnk_add_locked(const char *path)
{
	struct lnk *v;
	char *p;
	size_t i;

	if (lnk_find(path))
		return 0;
	p = strdup(path);
	v = p ? realloc(linked, (nlinked + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(p);
		return -1;
	}
	linked = v;
	for (i = nlinked; i > 0 && strcmp(linked[i - 1].path, p) > 0; i--)
		linked[i] = linked[i - 1];
	linked[i].path = p;
	linked[i].group = 0;
	linked[i].nlink = 0;
	nlinked++;
	return 0;
}

void inode_mark_linked(const char *path)
{
	struct inode *in;

	pthread_mutex_lock(&inode_lock);
	lnk_add_locked(path);
	/* The watch's word on it (if any) no longer holds. */
	in = hash_find(path);
	if (in)
		in->attr_vepoch = 0;
	pthread_mutex_unlock(&inode_lock);
}

/* The link count we know for @in, into its attributes; lock held. */
static void links_apply_locked(struct inode *in)
{
	struct lnk *e;

	if (!S_ISREG(in->attr.st_mode))
		return;
	e = lnk_find(in->path);
	in->attr.st_nlink = e && e->group && e->nlink ? e->nlink : 1;
}

/* Every name of group @g shows @nlink (below 2: the group ends); lock held. */
static void links_group_set_locked(uint64_t g, unsigned nlink)
{
	struct inode *in;
	size_t i;

	for (i = 0; i < nlinked; i++) {
		if (linked[i].group != g)
			continue;
		linked[i].nlink = nlink;
		if (nlink < 2)
			linked[i].group = 0;
		in = hash_find(linked[i].path);
		if (in)
			links_apply_locked(in);
	}
}

void inode_set_links(struct inode *a, struct inode *b, unsigned nlink)
{
	struct lnk *ea, *eb;
	uint64_t g;

	pthread_mutex_lock(&inode_lock);
	if (a->path && b->path && lnk_add_locked(a->path) == 0 && lnk_add_locked(b->path) == 0) {
		ea = lnk_find(a->path);
		eb = lnk_find(b->path);
		g = ea->group ? ea->group : eb->group ? eb->group : ++g_link_group;
		ea->group = eb->group = g;
		links_group_set_locked(g, nlink);
		a->attr_vepoch = b->attr_vepoch = 0;
	}
	pthread_mutex_unlock(&inode_lock);
}

/* @path no longer names its group's file: one name fewer for the
 * others; lock held. */
static void links_leave_locked(const char *path)
{
	struct lnk *e = lnk_find(path);
	struct inode *in;
	uint64_t g;
	unsigned n;

	if (!e || !e->group)
		return;
	g = e->group;
	n = e->nlink;
	e->group = 0;
	e->nlink = 0;
	in = hash_find(path);
	if (in)
		links_apply_locked(in);
	links_group_set_locked(g, n > 2 ? n - 1 : 0);
}

static int under(const char *path, const char *prefix, size_t pl);

/* The link table follows a rename: names under @to are gone, those under
 * @from live under @to now; lock held. */
static void links_renamed_locked(const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), i, rest;
	char *np;

	for (i = 0; i < nlinked; i++)
		if (under(linked[i].path, to, tl))
			links_leave_locked(linked[i].path);
	for (i = 0; i < nlinked; i++) {
		if (!under(linked[i].path, from, fl))
			continue;
		rest = strlen(linked[i].path + fl);
		np = malloc(tl + rest + 1);
		if (!np) {
			links_leave_locked(linked[i].path);
			continue;
		}
		memcpy(np, to, tl);
		memcpy(np + tl, linked[i].path + fl, rest + 1);
		free(linked[i].path);
		linked[i].path = np;
	}
	/* Old names at @to are left in the table (group 0): harmless. */
	if (nlinked > 1)
		qsort(linked, nlinked, sizeof(*linked), cmp_lnk);
}

void inode_links_broken(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	if (in->path)
		links_leave_locked(in->path);
	pthread_mutex_unlock(&inode_lock);
}

/* The temporaries of e2bfs's atomic uploads (libe2b's E2B_WRITE_ATOMIC
 * names them ".<name>.e2b-tmp-<hex>"): hidden. */
int inode_is_upload_temp(const char *name)
{
	return name[0] == '.' && strstr(name, ".e2b-tmp-") != NULL;
}

static int under(const char *path, const char *prefix, size_t pl)
{
	if (pl == 1 && prefix[0] == '/')
		return path[0] == '/';
	return !strncmp(path, prefix, pl) && (path[pl] == 0 || path[pl] == '/');
}

static struct dlist *dl_find(const char *path)
{
	struct dlist *d;

	if (!ndlists)
		return NULL;
	for (d = dbuckets[hash_path(path) & (ndbuckets - 1)]; d; d = d->hnext)
		if (!strcmp(d->path, path))
			return d;
	return NULL;
}

/* @path's record, created (not listed) if needed; lock held. */
static struct dlist *dl_get(const char *path)
{
	struct dlist *d = dl_find(path), **nb, *c, *next;
	size_t i, b, n;

	if (d)
		return d;
	if (ndlists + 1 > ndbuckets * 2) {
		n = ndbuckets ? ndbuckets * 4 : 1024;
		nb = calloc(n, sizeof(*nb));
		if (!nb && !ndbuckets)
			return NULL;
		for (i = 0; nb && i < ndbuckets; i++) {
			for (c = dbuckets[i]; c; c = next) {
				next = c->hnext;
				b = hash_path(c->path) & (n - 1);
				c->hnext = nb[b];
				nb[b] = c;
			}
		}
		if (nb) {
			free(dbuckets);
			dbuckets = nb;
			ndbuckets = n;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->path = strdup(path);
	if (!d->path) {
		free(d);
		return NULL;
	}
	b = hash_path(path) & (ndbuckets - 1);
	d->hnext = dbuckets[b];
	dbuckets[b] = d;
	ndlists++;
	return d;
}

static void dl_clear(struct dlist *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	ndents -= d->n;
	d->ents = NULL;
	d->n = 0;
	d->listed = 0;
	d->vepoch = 0;
	d->until = 0;
}

/* Forget @d's listing; lock held.  A ListDir in flight must not store its
 * (now older) answer. */
static void dl_drop(struct dlist *d)
{
	struct dlist **pp;

	dl_clear(d);
	if (d->busy || d->waiters) {
		d->ev_gen = ++g_evgen;
		return;
	}
	for (pp = &dbuckets[hash_path(d->path) & (ndbuckets - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	}
	ndlists--;
	free(d->path);
	free(d);
}

/* Forget the listings of @prefix and everything below it; lock held. */
static void dl_drop_tree(const char *prefix)
{
	size_t pl = strlen(prefix), i;
	struct dlist *d, *next;

	for (i = 0; ndlists && i < ndbuckets; i++) {
		for (d = dbuckets[i]; d; d = next) {
			next = d->hnext;
			if (under(d->path, prefix, pl))
				dl_drop(d);
		}
	}
}

/* Free @d if it holds nothing and nobody waits on it; lock held. */
static void dl_tidy(struct dlist *d)
{
	if (d && !d->listed && !d->busy && !d->waiters)
		dl_drop(d);
}

static int dl_fresh(const struct dlist *d)
{
	return d && d->listed && (d->until > now_mono() || (d->vepoch && d->vepoch == g_vepoch));
}

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* @name's entry in @d, or NULL with *@out_pos where it would go. */
static struct dent *dl_ent(struct dlist *d, const char *name, size_t *out_pos)
{
	size_t lo = 0, hi = d->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(d->ents[mid].name, name);
		if (c == 0)
			return &d->ents[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (out_pos)
		*out_pos = lo;
	return NULL;
}

static void dent_set(struct dent *de, const struct stat *st)
{
	de->mode = st->st_mode;
	de->size = st->st_size;
	de->mtim = st->st_mtim;
	de->uid = st->st_uid;
	de->gid = st->st_gid;
}

static void dent_stat(struct fs *fs, const struct dent *de, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = de->mode;
	st->st_nlink = S_ISDIR(de->mode) ? 2 : 1;
	st->st_uid = fs->o.idmap_none ? de->uid : fs->uid;
	st->st_gid = fs->o.idmap_none ? de->gid : fs->gid;
	st->st_size = de->size;
	st->st_blksize = CACHE_BLOCK;
	st->st_blocks = (blkcnt_t)((de->size + 511) / 512);
	st->st_mtim = de->mtim;
	st->st_atim = de->mtim;
	st->st_ctim = de->mtim;
}

/* @path's entry in its parent's fresh listing (NULL if none); lock held. */
static struct dent *dent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct dlist *d;
	char *dir;

	if (!slash || !ndlists || !slash[1])
		return NULL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	d = dir ? dl_find(dir) : NULL;
	free(dir);
	return dl_fresh(d) ? dl_ent(d, slash + 1, NULL) : NULL;
}

/* @path changed under us: its listed attributes are no longer known. */
static void dent_forget(const char *path)
{
	struct dent *de = path ? dent_of(path) : NULL;

	if (de)
		de->mode = 0;
}

/* Make room for @need more entries within the budget, dropping other
 * listings (not @keep, not in flight); lock held. */
static void dl_make_room(size_t need, const struct dlist *keep)
{
	size_t budget = g_fs->o.prefetch_entries, scanned;
	struct dlist *d, *next;

	for (scanned = 0; ndents + need > budget && scanned < ndbuckets; scanned++) {
		evict_at = (evict_at + 1) & (ndbuckets - 1);
		for (d = dbuckets[evict_at]; d; d = next) {
			next = d->hnext;
			if (d != keep && !d->busy && !d->waiters)
				dl_drop(d);
		}
	}
}

static struct inode *update_locked(struct fs *fs, const char *path, const struct stat *st,
				   uint64_t vepoch);
static void detach_locked(struct inode *in);

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
	in->ev_gen = g_evgen;
	by_ino[in->ino] = in;
	hash_insert(in);
	nlive++;
	return in;
}

/* Drop the caches of @in; lock held. */
static void drop_locked(struct inode *in)
{
	in->attr_until = 0;
	in->attr_vepoch = 0;
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
		BUG("unpin of an unpinned inode");
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

/*
 * The type of an entry envd calls neither file nor directory, from its Go
 * FileMode string: "p" a FIFO, "S" a socket, "Dc" a character device, "D"
 * a block device.  Anything else shows as a socket: nothing /files could
 * read.
 */
static mode_t special_type(const char *perms)
{
	size_t n = perms ? strlen(perms) : 0, k = n > 9 ? n - 9 : 0;	/* type letters */

	if (!perms)
		return S_IFSOCK;
	if (memchr(perms, 'p', k))
		return S_IFIFO;
	if (memchr(perms, 'D', k))
		return memchr(perms, 'c', k) ? S_IFCHR : S_IFBLK;
	return S_IFSOCK;
}

void inode_attr_from_entry(struct fs *fs, const e2b_entry_info *e, struct stat *st)
{
	struct dent de;

	if (e->is_symlink)
		de.mode = S_IFLNK | 0777;
	else if (e->type == E2B_FILE_TYPE_DIR)
		de.mode = S_IFDIR | (e->mode & 07777);
	else if (e->type == E2B_FILE_TYPE_FILE)
		de.mode = S_IFREG | (e->mode & 07777);
	else
		de.mode = special_type(e->permissions) | (e->mode & 07777);
	de.size = (off_t)e->size;
	de.mtim.tv_sec = e->mtime_sec;
	de.mtim.tv_nsec = e->mtime_nsec;
	de.uid = fs->o.idmap_none ? remote_uid(e->owner) : fs->uid;
	de.gid = fs->o.idmap_none ? remote_gid(e->group) : fs->gid;
	dent_stat(fs, &de, st);
}

/* Detach @in from its path; lock held. */
static void detach_locked(struct inode *in)
{
	if (!in->path)
		return;
	links_leave_locked(in->path);
	if (S_ISDIR(in->attr.st_mode) || dl_find(in->path))
		dl_drop_tree(in->path);
	hash_remove(in);
	free(in->path);
	in->path = NULL;
	drop_locked(in);
}

struct inode *inode_update(struct fs *fs, const char *path, const e2b_entry_info *e,
			   struct stat *st_out)
{
	return inode_update_tok(fs, path, e, NULL, st_out);
}

/*
 * Envd's attributes of @path, fetched under @tok (NULL: not vouched for),
 * into its record (pinned on return).  They are vouched for if the watch
 * saw no event on the path since the fetch began.
 */
struct inode *inode_update_tok(struct fs *fs, const char *path, const e2b_entry_info *e,
			       const struct inode_vtok *tok, struct stat *st_out)
{
	struct inode *in, *old;
	struct dent *de;
	struct stat st;
	uint64_t v = 0;

	inode_attr_from_entry(fs, e, &st);
	pthread_mutex_lock(&inode_lock);
	if (tok && tok->epoch && tok->epoch == g_vepoch) {
		old = hash_find(path);
		if (old ? old->ev_gen <= tok->gen : g_evgen == tok->gen)
			v = g_vepoch;
	}
	in = update_locked(fs, path, &st, v);
	de = dent_of(path);
	if (de && v)
		dent_set(de, &st);
	else if (de)
		de->mode = 0;
	if (in)
		st = in->attr;
	pthread_mutex_unlock(&inode_lock);
	if (in && st_out) {
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
	links_apply_locked(in);
	in->attr_known = 1;
	in->attr_until = now_mono() + fs->o.dir_cache;
	in->attr_vepoch = 0;
	dent_forget(in->path);
	/* Ours, maybe computed locally: open must not take it as envd's. */
	in->attr_fetched = 0;
	/* Set after our own change: the watcher's echo of it is ignored. */
	in->self_until = now_mono() + 0.5;
	pthread_mutex_unlock(&inode_lock);
}

/*
 * We added, removed or renamed an entry of @dir ourselves: its mtime and
 * ctime are now, at once and without a Stat (a create reaches the sandbox
 * only with its upload; envd's answer after that is later still).
 */
void inode_dir_touched(struct fs *fs, struct inode *dir)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&inode_lock);
	if (dir->attr_known && S_ISDIR(dir->attr.st_mode)) {
		dir->attr.st_mtim = now;
		dir->attr.st_ctim = now;
		dir->attr_until = now_mono() + fs->o.attr_timeout;
		dir->attr_vepoch = 0;
		dir->attr_fetched = 0;
		dent_forget(dir->path);
	}
	pthread_mutex_unlock(&inode_lock);
}

int inode_cached_attr(struct fs *fs, struct inode *in, struct stat *st)
{
	int ok = 0;

	pthread_mutex_lock(&inode_lock);
	if (in->attr_until > now_mono() || (in->attr_vepoch && in->attr_vepoch == g_vepoch)) {
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
	if ((in->attr_until > now && in->attr_fetched > now - max_age) ||
	    (in->attr_vepoch && in->attr_vepoch == g_vepoch)) {
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
	in->attr_vepoch = 0;
	dent_forget(in->path);
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

/* Is @m the kind of object @e is?  (No lock: arguments only.) */
static int kind_is(mode_t m, const e2b_entry_info *e)
{
	return e->is_symlink ? S_ISLNK(m) : e->type == E2B_FILE_TYPE_DIR ? S_ISDIR(m) : S_ISREG(m);
}

/* Does the record @in already show an object of @e's kind? */
int inode_same_kind(struct inode *in, const e2b_entry_info *e)
{
	int same;

	pthread_mutex_lock(&inode_lock);
	same = in->attr_known && kind_is(in->attr.st_mode, e);
	pthread_mutex_unlock(&inode_lock);
	return same;
}

/* Is @dir's listing kept true by the watch (so the kernel may cache it)? */
int inode_listing_vouched(struct inode *dir)
{
	struct dlist *d;
	int v;

	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_find(dir->path) : NULL;
	v = d && d->listed && d->vepoch && d->vepoch == g_vepoch;
	pthread_mutex_unlock(&inode_lock);
	return v;
}

/*
 * The watch's echo of our own change of @in carries the sandbox's entry
 * @e: when it is exactly what the mount shows (type, size, mode, mtime),
 * the sandbox has caught up with us, and from now on the watch vouches
 * for those attributes (a later change there is a later event).  Else
 * nothing: an echo of an intermediate state (an upload before its mtime
 * fix) must not be shown.  1 if vouched.
 */
int inode_echo_confirms(struct inode *in, const e2b_entry_info *e, const struct inode_vtok *tok)
{
	int ok;

	pthread_mutex_lock(&inode_lock);
	ok = in->attr_known && tok->epoch && tok->epoch == g_vepoch && in->ev_gen <= tok->gen &&
	     !e->is_symlink && kind_is(in->attr.st_mode, e) &&
	     (S_ISDIR(in->attr.st_mode) || (uint64_t)in->attr.st_size == e->size) &&
	     (in->attr.st_mode & 0777) == (e->mode & 0777) &&
	     e->mtime_sec == (int64_t)in->attr.st_mtim.tv_sec &&
	     e->mtime_nsec == (int32_t)in->attr.st_mtim.tv_nsec;
	/* A name of a hard link: writes through the other names come with
	 * no event for it, so the watch never vouches for it. */
	if (ok)
		in->attr_vepoch = is_linked(in->path) ? 0 : g_vepoch;
	pthread_mutex_unlock(&inode_lock);
	return ok;
}

void inode_echo_stash(struct inode *in, const e2b_entry_info *e, const struct inode_vtok *tok)
{
	pthread_mutex_lock(&inode_lock);
	in->echo_pending = 1;
	memset(&in->echo_e, 0, sizeof(in->echo_e));
	in->echo_e.type = e->type;
	in->echo_e.is_symlink = e->is_symlink;
	in->echo_e.size = e->size;
	in->echo_e.mode = e->mode;
	in->echo_e.mtime_sec = e->mtime_sec;
	in->echo_e.mtime_nsec = e->mtime_nsec;
	in->echo_epoch = tok->epoch;
	in->echo_gen = tok->gen;
	pthread_mutex_unlock(&inode_lock);
}

void inode_echo_settled(struct inode *in)
{
	struct inode_vtok tok = { 0 };
	e2b_entry_info e;
	int pending;

	pthread_mutex_lock(&inode_lock);
	pending = in->echo_pending;
	in->echo_pending = 0;
	e = in->echo_e;
	tok.epoch = in->echo_epoch;
	tok.gen = in->echo_gen;
	pthread_mutex_unlock(&inode_lock);
	if (pending)
		inode_echo_confirms(in, &e, &tok);
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
	in->attr_vepoch = 0;
	free(in->link);
	in->link = NULL;
	dent_forget(in->path);
	pthread_mutex_unlock(&inode_lock);
}

void inode_invalidate_dir(struct inode *in)
{
	struct dlist *d;

	pthread_mutex_lock(&inode_lock);
	d = in->path ? dl_find(in->path) : NULL;
	if (d)
		dl_drop(d);
	pthread_mutex_unlock(&inode_lock);
}

void inode_invalidate_all(void)
{
	fuse_ino_t i;

	pthread_mutex_lock(&inode_lock);
	for (i = 1; i < next_ino; i++)
		if (by_ino[i])
			drop_locked(by_ino[i]);
	dl_drop_tree("/");
	pthread_mutex_unlock(&inode_lock);
}

/* A watch event removed or renamed @path: nothing cached at or below it
 * holds any more. */
void inode_invalidate_tree(const char *path)
{
	size_t pl = strlen(path);
	struct inode *in;
	fuse_ino_t i;

	pthread_mutex_lock(&inode_lock);
	in = hash_find(path);
	/* No record: none below it either (the kernel holds a record's
	 * parents), but listings may be. */
	if (!in) {
		struct dent *de = dent_of(path);

		/* A file (as listed) has no listings below it. */
		if (!de || !de->mode || S_ISDIR(de->mode))
			dl_drop_tree(path);
	} else if (S_ISDIR(in->attr.st_mode) || dl_find(path)) {
		dl_drop_tree(path);
		for (i = 2; i < next_ino; i++) {
			struct inode *c = by_ino[i];

			if (c && c->path && under(c->path, path, pl))
				drop_locked(c);
		}
	} else {
		drop_locked(in);
	}
	pthread_mutex_unlock(&inode_lock);
}

void inode_vouch_begin(struct inode_vtok *out)
{
	pthread_mutex_lock(&inode_lock);
	out->epoch = g_vepoch;
	out->gen = g_evgen;
	out->priv = NULL;
	out->claim = NULL;
	pthread_mutex_unlock(&inode_lock);
}

/* The watch saw an event on @path: answers in flight for it, or for any
 * directory above it, are older than the event. */
void inode_event_gen(const char *path)
{
	struct inode *in;
	struct dlist *d;
	char *p = strdup(path), *slash;

	pthread_mutex_lock(&inode_lock);
	g_evgen++;
	in = hash_find(path);
	if (in)
		in->ev_gen = g_evgen;
	for (; p; ) {
		d = dl_find(p);
		if (d)
			d->ev_gen = g_evgen;
		slash = strrchr(p, '/');
		if (!slash || !strcmp(p, "/"))
			break;
		if (slash == p)
			slash[1] = 0;
		else
			*slash = 0;
	}
	pthread_mutex_unlock(&inode_lock);
	free(p);
}

void inode_watch_state(int healthy)
{
	pthread_mutex_lock(&inode_lock);
	g_vepoch = healthy && g_fs->o.watch_cache > 0 ? g_next_epoch++ : 0;
	pthread_mutex_unlock(&inode_lock);
}

/* @in changed in a way no event describes (a directory's mtime after a
 * change of its entries): back to the timeouts. */
void inode_unvouch(struct inode *in)
{
	pthread_mutex_lock(&inode_lock);
	in->attr_vepoch = 0;
	pthread_mutex_unlock(&inode_lock);
}

/* The attributes the record of @in holds, however old; 0 if none. */
int inode_attr_copy(struct inode *in, struct stat *st)
{
	int known;

	pthread_mutex_lock(&inode_lock);
	known = in->attr_known;
	if (known)
		*st = in->attr;
	pthread_mutex_unlock(&inode_lock);
	return known;
}

int inode_attr_vouched(struct inode *in)
{
	int v;

	pthread_mutex_lock(&inode_lock);
	v = in->attr_vepoch && in->attr_vepoch == g_vepoch;
	pthread_mutex_unlock(&inode_lock);
	return v;
}

double inode_attr_timeout(struct fs *fs, struct inode *in)
{
	struct lnk *e;
	int group;

	/* A name of a hard link we made: its count changes with the other
	 * names', which the kernel is not told about; it asks each time. */
	pthread_mutex_lock(&inode_lock);
	e = nlinked ? lnk_find(in->path) : NULL;
	group = e && e->group;
	pthread_mutex_unlock(&inode_lock);
	if (group)
		return 0;
	return inode_attr_vouched(in) ? fs->o.watch_cache : fs->o.attr_timeout;
}

double inode_entry_timeout(struct fs *fs, struct inode *in)
{
	return inode_attr_vouched(in) ? fs->o.watch_cache : fs->o.entry_timeout;
}

/*
 * The watch stream ended: the kernel may hold names and attributes with
 * the long timeouts given while it vouched.  Drop them all (from the
 * watch thread, never from a request handler).
 */
void inode_kernel_forget_all(struct fuse_session *se)
{
	struct note {
		fuse_ino_t ino, parent;
		char *name;
		int dir;
	} *v = NULL;
	size_t n = 0, i;

	pthread_mutex_lock(&inode_lock);
	v = calloc(nlive + 1, sizeof(*v));
	for (i = 2; v && i < next_ino && n < nlive; i++) {
		struct inode *in = by_ino[i], *p;
		char *slash, *dir;

		if (!in || !in->path || !in->nlookup)
			continue;
		v[n].ino = in->ino;
		v[n].dir = in->attr_known && S_ISDIR(in->attr.st_mode);
		slash = strrchr(in->path, '/');
		dir = slash == in->path ? strdup("/") :
		      strndup(in->path, (size_t)(slash - in->path));
		p = dir ? hash_find(dir) : NULL;
		free(dir);
		if (p && p->nlookup) {
			v[n].parent = p->ino;
			v[n].name = strdup(slash + 1);
		}
		n++;
	}
	pthread_mutex_unlock(&inode_lock);
	for (i = 0; i < n; i++) {
		if (v[i].name)
			fuse_lowlevel_notify_inval_entry(se, v[i].parent, v[i].name,
							 strlen(v[i].name));
		/* A directory's offset 0: its cached readdir goes too. */
		fuse_lowlevel_notify_inval_inode(se, v[i].ino, v[i].dir ? 0 : -1, 0);
		free(v[i].name);
	}
	free(v);
}

/* Store the @n entries at @items as @d's listing; lock held. */
static void dl_store(struct fs *fs, struct dlist *d, const e2b_entry_info *const *items,
		     size_t n, uint64_t vepoch, const struct inode_vtok *tok)
{
	struct dent *ents = calloc(n + 1, sizeof(*ents));
	struct stat st;
	size_t i, k = 0;

	if (!ents)
		return;
	for (i = 0; i < n; i++) {
		struct inode *in;
		char *cp;

		if (inode_is_upload_temp(items[i]->name))
			continue;
		ents[k].name = strdup(items[i]->name);
		if (!ents[k].name)
			continue;
		inode_attr_from_entry(fs, items[i], &st);
		dent_set(&ents[k], &st);
		k++;
		/* Records the kernel holds get the new attributes too, unless
		 * an event on them came after the listing was asked for. */
		cp = path_join(d->path, items[i]->name);
		in = cp ? hash_find(cp) : NULL;
		free(cp);
		if (in && in->ev_gen <= tok->gen &&
		    (in->attr.st_mode & S_IFMT) == (st.st_mode & S_IFMT)) {
			st.st_ino = in->ino;
			in->attr = st;
			links_apply_locked(in);
			in->attr_known = 1;
			in->attr_until = now_mono() + fs->o.dir_cache;
			in->attr_fetched = now_mono();
			in->attr_vepoch = is_linked(in->path) ? 0 : vepoch;
		}
	}
	qsort(ents, k, sizeof(*ents), cmp_dent);
	dl_make_room(k, d);
	dl_clear(d);
	d->ents = ents;
	d->n = k;
	ndents += k;
	d->listed = 1;
	d->until = now_mono() + fs->o.dir_cache;
	d->vepoch = vepoch;
}

static int cmp_parent(const void *a, const void *b)
{
	const e2b_entry_info *x = *(const e2b_entry_info *const *)a;
	const e2b_entry_info *y = *(const e2b_entry_info *const *)b;
	const char *sx = strrchr(x->path, '/'), *sy = strrchr(y->path, '/');
	size_t lx = sx ? (size_t)(sx - x->path) : 0, ly = sy ? (size_t)(sy - y->path) : 0;
	int c = strncmp(x->path, y->path, lx < ly ? lx : ly);

	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* Levels of @path below @root (1 = a child); 0 if not below it. */
static unsigned level_below(const char *path, const char *root, size_t rl)
{
	unsigned lv = 0;
	const char *p;

	if (!under(path, root, rl) || !strcmp(path, root))
		return 0;
	for (p = path + (rl == 1 ? 0 : rl); *p; p++)
		lv += *p == '/';
	return lv;
}

/* Directories of the answer @l above the frontier (less than @depth levels
 * below @root): empty unless entries follow; lock held. */
static void store_frontier_dirs(struct fs *fs, const e2b_entry_list *l, const char *root,
				size_t rl, unsigned depth, const e2b_entry_info **v,
				uint64_t vepoch, const struct inode_vtok *tok)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		struct dlist *c;

		if (l->items[i].type != E2B_FILE_TYPE_DIR || l->items[i].is_symlink ||
		    level_below(l->items[i].path, root, rl) >= depth)
			continue;
		c = dl_get(l->items[i].path);
		if (c && c->ev_gen <= tok->gen)
			dl_store(fs, c, v, 0, vepoch, tok);
		dl_tidy(c);
	}
}

/* The @n entries @v, sorted by parent, stored as their parents' listings
 * (@d's own for those of its path); lock held. */
static void store_by_parent(struct fs *fs, struct dlist *d, const e2b_entry_info **v,
			    size_t n, uint64_t vepoch, const struct inode_vtok *tok)
{
	const char *root = d->path;
	size_t i, j;

	for (i = 0; i < n; i = j) {
		const char *s = strrchr(v[i]->path, '/');
		size_t pl = (size_t)(s - v[i]->path);
		char *parent = pl ? strndup(v[i]->path, pl) : strdup("/");
		struct dlist *c;

		for (j = i + 1; j < n; j++) {
			const char *t = strrchr(v[j]->path, '/');

			if ((size_t)(t - v[j]->path) != pl || strncmp(v[j]->path, v[i]->path, pl))
				break;
		}
		c = parent ? (strcmp(parent, root) ? dl_get(parent) : d) : NULL;
		if (c && c->ev_gen <= tok->gen)
			dl_store(fs, c, v + i, j - i, vepoch, tok);
		if (c != d)
			dl_tidy(c);
		free(parent);
	}
}

/*
 * Store the answer of a ListDir of @d at @depth; lock held.  With depth N,
 * the listings of @d and of every directory less than N levels below it
 * are complete; those N levels down stay unknown.
 */
static void dl_store_answer(struct fs *fs, struct dlist *d, const struct inode_vtok *tok,
			    const e2b_entry_list *l, unsigned depth)
{
	const e2b_entry_info **v;
	uint64_t vepoch = 0;
	size_t rl = strlen(d->path), i;
	char *root = d->path;

	/* An event since the request: the answer may predate it. */
	if (d->ev_gen > tok->gen)
		return;
	if (tok->epoch && tok->epoch == g_vepoch)
		vepoch = g_vepoch;
	v = calloc(l->count + 1, sizeof(*v));
	if (!v)
		return;
	if (depth <= 1) {
		for (i = 0; i < l->count; i++)
			v[i] = &l->items[i];
		dl_store(fs, d, v, l->count, vepoch, tok);
		free(v);
		return;
	}
	for (i = 0; i < l->count; i++) {
		if (!level_below(l->items[i].path, root, rl)) {
			free(v);
			return;
		}
		v[i] = &l->items[i];
	}
	store_frontier_dirs(fs, l, root, rl, depth, v, vepoch, tok);
	qsort(v, l->count, sizeof(*v), cmp_parent);
	store_by_parent(fs, d, v, l->count, vepoch, tok);
	free(v);
}

/* Single flight on @path's listing, lock held; see inode_dir_begin. */
static int dir_begin_locked(const char *path, struct inode_vtok *tok)
{
	struct dlist *d;

	tok->epoch = g_vepoch;
	tok->gen = g_evgen;
	tok->priv = NULL;
	tok->claim = NULL;
	d = path ? dl_get(path) : NULL;
	if (!d || dl_fresh(d))
		return 0;
	if (d->busy) {
		d->waiters++;
		while (d->busy)
			pthread_cond_wait(&dir_cond, &inode_lock);
		d->waiters--;
		dl_tidy(d);
		return 0;
	}
	d->busy = 1;
	tok->priv = d;
	return 1;
}

int inode_dir_begin(struct inode *dir, struct inode_vtok *tok)
{
	int rc;

	pthread_mutex_lock(&inode_lock);
	rc = dir_begin_locked(dir->path, tok);
	pthread_mutex_unlock(&inode_lock);
	return rc;
}

/* Subdirectories a prefetch's answer will fill: requests wait for it. */
struct claim {
	size_t n;
	struct dlist *d[];
};

static void dir_end_locked(struct fs *fs, struct dlist *d, const struct inode_vtok *tok,
			   const e2b_entry_list *l, unsigned depth)
{
	struct claim *c = tok->claim;
	size_t i;

	if (l)
		dl_store_answer(fs, d, tok, l, depth);
	d->busy = 0;
	for (i = 0; c && i < c->n; i++) {
		c->d[i]->busy = 0;
		dl_tidy(c->d[i]);
	}
	free(c);
	pthread_cond_broadcast(&dir_cond);
	dl_tidy(d);
}

void inode_dir_end(struct fs *fs, const struct inode_vtok *tok, const e2b_entry_list *l,
		   unsigned depth)
{
	pthread_mutex_lock(&inode_lock);
	if (tok->priv)
		dir_end_locked(fs, tok->priv, tok, l, depth);
	pthread_mutex_unlock(&inode_lock);
}

size_t inode_listing_entries(void)
{
	size_t n;

	pthread_mutex_lock(&inode_lock);
	n = ndents;
	pthread_mutex_unlock(&inode_lock);
	return n;
}

/* Collect into @v the directories @level levels below @path whose listing
 * is neither cached nor being fetched; lock held. */
static void unknown_below(const char *path, unsigned level, char **v, size_t max, size_t *n)
{
	struct dlist *d = dl_find(path), *c;
	size_t i;

	if (!dl_fresh(d))
		return;
	for (i = 0; i < d->n && *n < max; i++) {
		char *cp;

		if (!S_ISDIR(d->ents[i].mode))
			continue;
		cp = path_join(path, d->ents[i].name);
		if (!cp)
			return;
		c = dl_find(cp);
		if (level > 1) {
			unknown_below(cp, level - 1, v, max, n);
		} else if (!dl_fresh(c) && !(c && c->busy)) {
			v[(*n)++] = cp;
			cp = NULL;
		}
		free(cp);
	}
}

/* The subdirectories in @path's fresh listing, of at most @max_size bytes
 * (0: any); free each and the array. */
char **inode_dir_subdirs(const char *path, off_t max_size, size_t max, size_t *out_n)
{
	char **v = calloc(max + 1, sizeof(*v));
	struct dlist *d;
	size_t i;

	*out_n = 0;
	if (!v)
		return NULL;
	pthread_mutex_lock(&inode_lock);
	d = dl_find(path);
	for (i = 0; dl_fresh(d) && i < d->n && *out_n < max; i++) {
		if (S_ISDIR(d->ents[i].mode) && (!max_size || d->ents[i].size <= max_size)) {
			v[*out_n] = path_join(path, d->ents[i].name);
			if (v[*out_n])
				(*out_n)++;
		}
	}
	pthread_mutex_unlock(&inode_lock);
	return v;
}

/*
 * A prefetch of @path at @depth: 1 when it is worth a ListDir (the listing
 * is unknown, or that of a directory less than @depth levels below), and
 * then those listings are claimed: requests for them wait for the answer
 * (a fresh listing still answers at once).  Never waits itself.
 */
int inode_dir_begin_prefetch(const char *path, unsigned depth, struct inode_vtok *tok)
{
	struct claim *c = NULL;
	struct dlist *d, *s;
	size_t i, n = 0, max = 1024;
	unsigned level;
	char **v = NULL;
	int rc = 0;

	pthread_mutex_lock(&inode_lock);
	tok->epoch = g_vepoch;
	tok->gen = g_evgen;
	tok->priv = NULL;
	tok->claim = NULL;
	d = dl_get(path);
	if (!d || d->busy)
		goto out;
	if (dl_fresh(d)) {
		v = calloc(max + 1, sizeof(*v));
		for (level = 1; v && level < depth; level++)
			unknown_below(path, level, v, max, &n);
		c = n ? malloc(sizeof(*c) + n * sizeof(c->d[0])) : NULL;
		if (c)
			c->n = 0;
		for (i = 0; i < n; i++) {
			s = c ? dl_get(v[i]) : NULL;
			if (s && !s->busy)
				c->d[c->n++] = s;
			free(v[i]);
		}
		free(v);
		if (!c || !c->n) {
			free(c);
			goto out;
		}
		for (i = 0; i < c->n; i++)
			c->d[i]->busy = 1;
		tok->claim = c;
	}
	d->busy = 1;
	tok->priv = d;
	rc = 1;
out:
	if (!rc)
		dl_tidy(d);
	pthread_mutex_unlock(&inode_lock);
	return rc;
}

/* A ListDir of @dir made without inode_dir_begin (an open directory). */
void inode_set_listing(struct fs *fs, struct inode *dir, const struct inode_vtok *tok,
		       const e2b_entry_list *l)
{
	struct dlist *d;

	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_find(dir->path) : NULL;
	if (!d && dir->path) {
		/* No record saw the events since @tok: require that there were none. */
		d = dl_get(dir->path);
		if (d)
			d->ev_gen = g_evgen;
	}
	if (d && !d->busy)
		dl_store_answer(fs, d, tok, l, 1);
	dl_tidy(d);
	pthread_mutex_unlock(&inode_lock);
}

/*
 * @path's record with attributes @st (from @vepoch's watch, or 0), pinned;
 * lock held.  A path that changed type is a new object: a new inode.
 */
static struct inode *update_locked(struct fs *fs, const char *path, const struct stat *st,
				   uint64_t vepoch)
{
	struct inode *in = hash_find(path);
	char *p;

	if (in && in->attr_known && in->ino != FUSE_ROOT_ID &&
	    (in->attr.st_mode & S_IFMT) != (st->st_mode & S_IFMT) && !in->file) {
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
			return NULL;
		}
	}
	in->attr = *st;
	in->attr.st_ino = in->ino;
	links_apply_locked(in);
	in->attr_known = 1;
	in->attr_until = now_mono() + fs->o.dir_cache;
	in->attr_fetched = now_mono();
	/* NEEDSWORK: the root's own chmod/touch is not reported (only its
	 * entries' changes are), so that much may show only after a remount
	 * or a watch reconnect. */
	in->attr_vepoch = is_linked(path) ? 0 : vepoch;
	return in;
}

int inode_dir_lookup(struct fs *fs, struct inode *dir, const char *name, struct inode **out,
		     struct stat *st)
{
	struct dlist *d;
	struct dent *de;
	char *path = NULL;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_find(dir->path) : NULL;
	if (!dl_fresh(d)) {
		rc = INODE_DIR_UNKNOWN;
		goto out;
	}
	de = dl_ent(d, name, NULL);
	if (!de) {
		rc = INODE_DIR_ABSENT;
		goto out;
	}
	path = path_join(dir->path, name);
	if (!de->mode || !path || (d->vepoch && is_linked(path))) {
		rc = INODE_DIR_NOATTR;
		goto out;
	}
	dent_stat(fs, de, st);
	*out = update_locked(fs, path, st, d->vepoch == g_vepoch ? d->vepoch : 0);
	if (*out)
		st->st_nlink = (*out)->attr.st_nlink;
	rc = *out ? INODE_DIR_FOUND : INODE_DIR_NOATTR;
out:
	pthread_mutex_unlock(&inode_lock);
	free(path);
	if (*out) {
		st->st_ino = (*out)->ino;
		cache_local_attr(*out, st);
	}
	return rc;
}

/* The names of @dir's fresh listing (NULL if none); the caller frees
 * each name and the array. */
char **inode_listing_names(struct inode *dir, size_t *out_n)
{
	struct dlist *d;
	char **names = NULL;
	size_t i;

	*out_n = 0;
	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_find(dir->path) : NULL;
	if (dl_fresh(d))
		names = calloc(d->n + 1, sizeof(*names));
	for (i = 0; names && i < d->n; i++) {
		names[i] = strdup(d->ents[i].name);
		if (!names[i]) {
			while (i--)
				free(names[i]);
			free(names);
			names = NULL;
		}
	}
	if (names)
		*out_n = d->n;
	pthread_mutex_unlock(&inode_lock);
	return names;
}

int inode_listing_has(struct inode *dir, const char *name, int *out_fresh)
{
	struct dlist *d;
	int found = 0;

	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_find(dir->path) : NULL;
	*out_fresh = dl_fresh(d);
	if (*out_fresh)
		found = dl_ent(d, name, NULL) != NULL;
	pthread_mutex_unlock(&inode_lock);
	return found;
}

/* Add or remove @name in @dpath's fresh listing (a stale or absent one
 * is left alone), with attributes from @st (NULL = unknown); lock held. */
static void listing_change(const char *dpath, const char *name, int present,
			   const struct stat *st)
{
	struct dlist *d = dl_find(dpath);
	struct dent *de, *n;
	size_t pos = 0;
	char *copy;

	if (!d)
		return;
	/* A ListDir in flight may predate this change: not stored. */
	d->ev_gen = ++g_evgen;
	if (!dl_fresh(d))
		return;
	de = dl_ent(d, name, &pos);
	if (present && inode_is_upload_temp(name))
		return;
	if (present && de) {
		if (st)
			dent_set(de, st);
		else
			de->mode = 0;
	} else if (present) {
		copy = strdup(name);
		n = copy ? realloc(d->ents, (d->n + 2) * sizeof(*n)) : NULL;
		if (!n) {
			free(copy);
			dl_drop(d);
			return;
		}
		d->ents = n;
		memmove(n + pos + 1, n + pos, (d->n - pos) * sizeof(*n));
		memset(&n[pos], 0, sizeof(n[pos]));
		n[pos].name = copy;
		if (st)
			dent_set(&n[pos], st);
		d->n++;
		ndents++;
	} else if (de) {
		pos = (size_t)(de - d->ents);
		free(de->name);
		memmove(de, de + 1, (d->n - pos - 1) * sizeof(*de));
		d->n--;
		ndents--;
	}
}

/*
 * Our own create/remove of @name in @dir: a fresh cached listing stays
 * fresh (so the next lookups of new names need no request).
 */
void inode_listing_update(struct inode *dir, const char *name, int present)
{
	pthread_mutex_lock(&inode_lock);
	if (dir->path)
		listing_change(dir->path, name, present, NULL);
	dir->attr_vepoch = 0;
	pthread_mutex_unlock(&inode_lock);
}

/* A watch event on @name in @dpath: membership, and the attributes it
 * carries (@e NULL: unknown). */
void inode_listing_event(struct fs *fs, const char *dpath, const char *name, int present,
			 const e2b_entry_info *e)
{
	struct stat st;

	if (e)
		inode_attr_from_entry(fs, e, &st);
	pthread_mutex_lock(&inode_lock);
	listing_change(dpath, name, present, e ? &st : NULL);
	pthread_mutex_unlock(&inode_lock);
}

/* A directory we just created is known to be empty. */
void inode_listing_empty(struct fs *fs, struct inode *dir, const struct inode_vtok *tok)
{
	struct dlist *d;

	pthread_mutex_lock(&inode_lock);
	d = dir->path ? dl_get(dir->path) : NULL;
	if (d && !d->busy) {
		dl_clear(d);
		d->listed = 1;
		d->until = now_mono() + fs->o.dir_cache;
		/* Made by us under a watch that has stayed up since: it tells
		 * us of anything else that appears in it. */
		d->vepoch = tok && tok->epoch && tok->epoch == g_vepoch &&
			    d->ev_gen <= tok->gen ? g_vepoch : 0;
	}
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
	links_renamed_locked(from, to);
	/* Freed records move with their tree; those under @to named objects
	 * that are gone now. */
	ghost_drop_tree(to);
	ghost_move_tree(from, to);
	dl_drop_tree(from);
	dl_drop_tree(to);
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
	}
	pthread_mutex_unlock(&inode_lock);
}
