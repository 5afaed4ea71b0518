/* SPDX-License-Identifier: MIT */
/*
 * fs/inode.c without a mount: the path <-> inode table (numbers kept
 * through "ghosts"), pins and kernel lookup counts, rename of a subtree,
 * attributes from envd's entries, the listing cache with and without the
 * watch's word (vouch tokens, epochs, events since a fetch began), echoes
 * of our own changes, invalidation of a tree and the kernel notifications.
 * The table is process-wide state: each test works under its own top-level
 * directory, and the timeouts are set per test (-1 = already expired, so
 * only the watch can keep a thing fresh; no test depends on timing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "e2bfs.h"
#include "stubs.h"

static struct fs fs;

static e2b_entry_info ent(const char *path, e2b_file_type type, uint64_t size, uint32_t mode,
			  int64_t mtime)
{
	e2b_entry_info e;
	const char *slash = strrchr(path, '/');

	memset(&e, 0, sizeof(e));
	e.path = path;
	e.name = slash ? slash + 1 : path;
	e.type = type;
	e.size = size;
	e.mode = mode;
	e.mtime_sec = mtime;
	return e;
}

/* The listing @n entries at @items make. */
static e2b_entry_list list_of(e2b_entry_info *items, size_t n)
{
	e2b_entry_list l = { items, n };

	return l;
}

static void assert_path(struct inode *in, const char *want)
{
	char *p = inode_path(in);

	if (!want) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);
}

/* Does @dir's cached listing name @name, and is that listing fresh? */
static int has(struct inode *dir, const char *name, int *fresh)
{
	return inode_listing_has(dir, name, fresh);
}

static int fresh_listing(struct inode *dir)
{
	int fresh = -1;

	inode_listing_has(dir, "-", &fresh);
	return fresh;
}

static int group_setup(void **state)
{
	(void)state;
	stub_fs_init(&fs);
	return inode_init(&fs);
}

static void test_root(void **state)
{
	struct inode *root = inode_get(FUSE_ROOT_ID);
	char *p;

	(void)state;
	assert_non_null(root);
	assert_int_equal(root->ino, FUSE_ROOT_ID);
	assert_path(root, "/");
	p = inode_child_path(root, "a");
	assert_string_equal(p, "/a");
	free(p);
	assert_null(inode_get(1u << 30));
	assert_int_equal(inode_is_upload_temp(".f.e2b-tmp-123"), 1);
	assert_int_equal(inode_is_upload_temp("f.e2b-tmp-123"), 0);
	assert_int_equal(inode_is_upload_temp(".hidden"), 0);
}

static void test_pins_and_ghosts(void **state)
{
	struct inode *a, *b, *c, *d;
	size_t live0, ghosts0, live, ghosts;
	fuse_ino_t ino;

	(void)state;
	inode_counts(&live0, &ghosts0);
	a = inode_for_path("/t1/a");
	assert_non_null(a);
	assert_true(a->ino > FUSE_ROOT_ID);
	assert_int_equal(a->pins, 1);
	assert_int_equal(a->nlookup, 0);
	assert_path(a, "/t1/a");
	ino = a->ino;
	b = inode_for_path("/t1/a");
	assert_ptr_equal(b, a);
	assert_int_equal(a->pins, 2);
	assert_null(inode_find_path("/t1/none"));
	assert_ptr_equal(inode_find_path("/t1/a"), a);
	assert_int_equal(a->pins, 3);
	assert_ptr_equal(inode_get(ino), a);
	inode_counts(&live, &ghosts);
	assert_int_equal(live, live0 + 1);

	inode_unpin(a);
	inode_unpin(a);
	assert_ptr_equal(inode_get(ino), a);
	inode_unpin(a);
	/* Nothing holds it: freed, its number kept for its path. */
	assert_null(inode_get(ino));
	inode_counts(&live, &ghosts);
	assert_int_equal(live, live0);
	assert_int_equal(ghosts, ghosts0 + 1);
	assert_null(inode_find_path("/t1/a"));

	c = inode_for_path("/t1/a");
	assert_non_null(c);
	assert_int_equal(c->ino, ino);
	inode_counts(&live, &ghosts);
	assert_int_equal(ghosts, ghosts0);
	d = inode_for_path("/t1/b");
	assert_non_null(d);
	assert_int_not_equal(d->ino, ino);
	unpin_all(c, d, NULL);
	inode_unpin(NULL);
}

static void test_lookup_counts(void **state)
{
	struct inode *a, *root = inode_get(FUSE_ROOT_ID);
	fuse_ino_t ino;

	(void)state;
	a = inode_for_path("/t2/f");
	assert_non_null(a);
	ino = a->ino;
	inode_ref(a);
	inode_ref(a);
	inode_ref(a);
	inode_unpin(a);
	/* The kernel holds it: no pin needed. */
	assert_ptr_equal(inode_get(ino), a);
	assert_int_equal(a->nlookup, 3);
	inode_forget(ino, 2);
	assert_ptr_equal(inode_get(ino), a);
	assert_int_equal(a->nlookup, 1);
	/* More than it has: down to none, then freed. */
	inode_forget(ino, 5);
	assert_null(inode_get(ino));
	inode_forget(ino, 1);
	inode_forget((fuse_ino_t)1 << 40, 1);
	/* A pinned record outlives its last forget. */
	a = inode_for_path("/t2/f");
	assert_int_equal(a->ino, ino);
	inode_ref(a);
	inode_forget(ino, 1);
	assert_ptr_equal(inode_get(ino), a);
	inode_unpin(a);
	assert_null(inode_get(ino));
	/* The root is never freed. */
	inode_forget(FUSE_ROOT_ID, 1000);
	assert_ptr_equal(inode_get(FUSE_ROOT_ID), root);
	inode_ref(root);
}

static void test_attr_from_entry(void **state)
{
	e2b_entry_info e = ent("/x/f", E2B_FILE_TYPE_FILE, 1000, 0640, 1700000000);
	struct stat st;

	(void)state;
	e.mtime_nsec = 5;
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_size, 1000);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(st.st_blocks, 2);
	assert_int_equal(st.st_blksize, CACHE_BLOCK);
	assert_int_equal(st.st_mtim.tv_sec, 1700000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	assert_int_equal(st.st_ctim.tv_sec, 1700000000);

	e = ent("/x/d", E2B_FILE_TYPE_DIR, 4096, 0755, 1);
	e.mode = 0120755;	/* only the permission bits count */
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode, S_IFDIR | 0755);
	assert_int_equal(st.st_nlink, 2);

	e = ent("/x/l", E2B_FILE_TYPE_FILE, 4, 0644, 1);
	e.is_symlink = 1;
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode, S_IFLNK | 0777);

	e = ent("/x/p", E2B_FILE_TYPE_UNKNOWN, 0, 0644, 1);
	e.permissions = "prw-r--r--";
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode, S_IFIFO | 0644);
	e.permissions = "Dcrw-rw-rw-";
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode & S_IFMT, S_IFCHR);
	e.permissions = "Drw-rw----";
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode & S_IFMT, S_IFBLK);
	e.permissions = NULL;
	inode_attr_from_entry(&fs, &e, &st);
	assert_int_equal(st.st_mode & S_IFMT, S_IFSOCK);

	/* -o idmap=none: the sandbox's owners (stubs.c maps "alice"). */
	fs.o.idmap_none = 1;
	e = ent("/x/f", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	e.owner = "alice";
	e.group = "alice";
	inode_attr_from_entry(&fs, &e, &st);
	fs.o.idmap_none = 0;
	assert_int_equal(st.st_uid, 1001);
	assert_int_equal(st.st_gid, 2002);
}

static void test_update_attrs(void **state)
{
	e2b_entry_info e = ent("/t3/f", E2B_FILE_TYPE_FILE, 5, 0644, 100);
	struct inode *in, *in2, *in3;
	struct stat st;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(0);
	in = inode_update(&fs, "/t3/f", &e, &st);
	assert_non_null(in);
	assert_int_equal(st.st_ino, in->ino);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(in->attr_known, 1);
	memset(&st, 0, sizeof(st));
	assert_int_equal(inode_cached_attr(&fs, in, &st), 1);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(inode_recent_attr(in, 10, &st), 1);
	assert_int_equal(inode_attr_vouched(in), 0);
	assert_true(inode_attr_timeout(&fs, in) == 1);
	assert_true(inode_entry_timeout(&fs, in) == 2);

	inode_invalidate(in);
	assert_int_equal(inode_cached_attr(&fs, in, &st), 0);
	assert_int_equal(inode_recent_attr(in, 10, &st), 0);
	/* The last ones seen stay for offline use. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(inode_stale_attr(in, &st), 1);
	assert_int_equal(st.st_size, 5);

	/* Ours (maybe computed here): cached, but not envd's recent answer. */
	st.st_size = 9;
	inode_set_attr(&fs, in, &st);
	memset(&st, 0, sizeof(st));
	assert_int_equal(inode_cached_attr(&fs, in, &st), 1);
	assert_int_equal(st.st_size, 9);
	assert_int_equal(st.st_ino, in->ino);
	assert_int_equal(inode_recent_attr(in, 10, &st), 0);

	/* Same kind: same record.  Another kind: a new object, a new number. */
	in2 = inode_update(&fs, "/t3/f", &e, NULL);
	assert_ptr_equal(in2, in);
	inode_unpin(in2);
	e.type = E2B_FILE_TYPE_DIR;
	in3 = inode_update(&fs, "/t3/f", &e, &st);
	assert_non_null(in3);
	assert_ptr_not_equal(in3, in);
	assert_int_not_equal(in3->ino, in->ino);
	assert_int_equal(st.st_mode & S_IFMT, S_IFDIR);
	assert_path(in, NULL);
	assert_path(in3, "/t3/f");
	assert_int_equal(inode_stale_attr(in, &st), 0);
	inode_unpin(in);
	inode_unpin(in3);
}

static void test_detach(void **state)
{
	struct inode *a, *b;
	fuse_ino_t ino;

	(void)state;
	a = inode_for_path("/t4/x");
	ino = a->ino;
	inode_detach(a);
	/* Pinned: detached from its path, not freed. */
	assert_ptr_equal(inode_get(ino), a);
	assert_path(a, NULL);
	assert_null(inode_child_path(a, "y"));
	assert_null(inode_find_path("/t4/x"));
	b = inode_for_path("/t4/x");
	assert_int_not_equal(b->ino, ino);
	inode_unpin(a);
	assert_null(inode_get(ino));
	inode_unpin(b);
	/* The root stays on its path. */
	inode_detach(inode_get(FUSE_ROOT_ID));
	assert_path(inode_get(FUSE_ROOT_ID), "/");
}

static void test_renamed_subtree(void **state)
{
	struct inode *a, *ab, *abc, *sib, *x, *xy, *g, *t, *lone;
	e2b_entry_info items[1] = { ent("/t5/a/b", E2B_FILE_TYPE_DIR, 0, 0755, 1) };
	e2b_entry_list l = list_of(items, 1);
	struct inode_vtok tok;
	fuse_ino_t gino;

	(void)state;
	fs.o.dir_cache = 60;
	a = inode_for_path("/t5/a");
	ab = inode_for_path("/t5/a/b");
	abc = inode_for_path("/t5/a/b/c");
	sib = inode_for_path("/t5/ab");
	x = inode_for_path("/t5/x");
	xy = inode_for_path("/t5/x/y");
	g = inode_for_path("/t5/a/g");
	gino = g->ino;
	inode_unpin(g);		/* a ghost: only its number is left */
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, a, &tok, &l);
	assert_int_equal(fresh_listing(a), 1);

	inode_renamed("/t5/a", "/t5/x");
	assert_path(a, "/t5/x");
	assert_path(ab, "/t5/x/b");
	assert_path(abc, "/t5/x/b/c");
	assert_path(sib, "/t5/ab");
	/* What was at the target is gone. */
	assert_path(x, NULL);
	assert_path(xy, NULL);
	assert_null(inode_find_path("/t5/a"));
	assert_null(inode_find_path("/t5/a/b/c"));
	t = inode_find_path("/t5/x/b/c");
	assert_ptr_equal(t, abc);
	inode_unpin(t);
	/* Listings of both trees are dropped. */
	assert_int_equal(fresh_listing(a), 0);
	/* The ghost moved with its tree. */
	g = inode_for_path("/t5/x/g");
	assert_int_equal(g->ino, gino);
	lone = inode_for_path("/t5/a/g");
	assert_int_not_equal(lone->ino, gino);
	unpin_all(g, lone, a, ab, abc, sib, x, xy, NULL);
}

static void test_listing_ttl(void **state)
{
	e2b_entry_info items[3] = {
		ent("/t6/b", E2B_FILE_TYPE_FILE, 42, 0600, 7),
		ent("/t6/a", E2B_FILE_TYPE_DIR, 0, 0755, 8),
		ent("/t6/.b.e2b-tmp-1", E2B_FILE_TYPE_FILE, 1, 0600, 9),
	};
	e2b_entry_list l = list_of(items, 3);
	e2b_entry_info ev = ent("/t6/n", E2B_FILE_TYPE_FILE, 77, 0644, 3);
	struct inode *d, *out, *e;
	struct inode_vtok tok;
	size_t n0, n;
	char **names;
	struct stat st;
	int fresh = -1;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(0);
	d = inode_for_path("/t6");
	assert_int_equal(inode_dir_lookup(&fs, d, "b", &out, &st), INODE_DIR_UNKNOWN);
	assert_null(out);
	assert_int_equal(has(d, "b", &fresh), 0);
	assert_int_equal(fresh, 0);
	n0 = inode_listing_entries();
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, d, &tok, &l);
	assert_int_equal(has(d, "a", &fresh), 1);
	assert_int_equal(fresh, 1);
	assert_int_equal(has(d, "c", &fresh), 0);
	assert_int_equal(fresh, 1);
	/* Our own upload temporaries are hidden. */
	assert_int_equal(has(d, ".b.e2b-tmp-1", &fresh), 0);
	assert_int_equal(inode_listing_entries(), n0 + 2);
	assert_int_equal(inode_listing_vouched(d), 0);
	names = inode_listing_names(d, &n);
	assert_non_null(names);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	free(names[0]);
	free(names[1]);
	free(names);

	/* Lookups answered from the listing, with its attributes. */
	assert_int_equal(inode_dir_lookup(&fs, d, "b", &out, &st), INODE_DIR_FOUND);
	assert_non_null(out);
	assert_path(out, "/t6/b");
	assert_int_equal(st.st_size, 42);
	assert_int_equal(st.st_mode, S_IFREG | 0600);
	assert_int_equal(st.st_ino, out->ino);
	inode_unpin(out);
	assert_int_equal(inode_dir_lookup(&fs, d, "zz", &out, &st), INODE_DIR_ABSENT);
	assert_null(out);

	/* Our own create and remove keep it fresh; a new name has no attributes. */
	inode_listing_update(d, "zz", 1);
	assert_int_equal(has(d, "zz", &fresh), 1);
	assert_int_equal(fresh, 1);
	assert_int_equal(inode_dir_lookup(&fs, d, "zz", &out, &st), INODE_DIR_NOATTR);
	assert_null(out);
	inode_listing_update(d, "b", 0);
	assert_int_equal(has(d, "b", &fresh), 0);
	assert_int_equal(fresh, 1);
	assert_int_equal(inode_listing_entries(), n0 + 2);
	/* A watch event brings its attributes. */
	inode_listing_event(&fs, "/t6", "n", 1, &ev);
	assert_int_equal(inode_dir_lookup(&fs, d, "n", &out, &st), INODE_DIR_FOUND);
	assert_int_equal(st.st_size, 77);
	inode_unpin(out);
	inode_listing_event(&fs, "/t6", "n", 0, NULL);
	assert_int_equal(has(d, "n", &fresh), 0);

	/* An expired listing answers nothing. */
	fs.o.dir_cache = -1;
	e = inode_for_path("/t6e");
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, e, &tok, &l);
	assert_int_equal(has(e, "a", &fresh), 0);
	assert_int_equal(fresh, 0);
	assert_null(inode_listing_names(e, &n));
	assert_int_equal(n, 0);
	inode_invalidate_dir(d);
	assert_int_equal(fresh_listing(d), 0);
	fs.o.dir_cache = 60;
	inode_unpin(e);
	inode_unpin(d);
}

static void test_listing_vouched(void **state)
{
	e2b_entry_info items[2] = {
		ent("/t7/f", E2B_FILE_TYPE_FILE, 3, 0644, 5),
		ent("/t7/g", E2B_FILE_TYPE_FILE, 4, 0644, 5),
	};
	e2b_entry_list l = list_of(items, 2);
	struct inode *d, *d2, *d3, *out;
	struct inode_vtok tok;
	struct stat st;
	int fresh;

	(void)state;
	fs.o.dir_cache = -1;	/* only the watch keeps anything */
	inode_watch_state(1);
	d = inode_for_path("/t7");
	inode_vouch_begin(&tok);
	assert_int_not_equal(tok.epoch, 0);
	inode_set_listing(&fs, d, &tok, &l);
	assert_int_equal(has(d, "f", &fresh), 1);
	assert_int_equal(fresh, 1);
	assert_int_equal(inode_listing_vouched(d), 1);
	assert_int_equal(inode_dir_lookup(&fs, d, "f", &out, &st), INODE_DIR_FOUND);
	assert_int_equal(inode_attr_vouched(out), 1);
	assert_int_equal(inode_cached_attr(&fs, out, &st), 1);
	assert_true(inode_attr_timeout(&fs, out) == 600);
	assert_true(inode_entry_timeout(&fs, out) == 600);

	/* The watch goes down: nothing it vouched for holds. */
	inode_watch_state(0);
	assert_int_equal(has(d, "f", &fresh), 0);
	assert_int_equal(fresh, 0);
	assert_int_equal(inode_listing_vouched(d), 0);
	assert_int_equal(inode_attr_vouched(out), 0);
	assert_int_equal(inode_cached_attr(&fs, out, &st), 0);
	assert_true(inode_attr_timeout(&fs, out) == 1);
	assert_true(inode_entry_timeout(&fs, out) == 2);
	/* ... nor when it comes back: a new epoch. */
	inode_watch_state(1);
	assert_int_equal(fresh_listing(d), 0);
	assert_int_equal(inode_attr_vouched(out), 0);
	inode_unpin(out);

	/* An event after the fetch began: its answer is not kept. */
	d2 = inode_for_path("/t7b");
	inode_vouch_begin(&tok);
	inode_event_gen("/elsewhere/x");
	inode_set_listing(&fs, d2, &tok, &l);
	assert_int_equal(fresh_listing(d2), 0);
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, d2, &tok, &l);
	assert_int_equal(fresh_listing(d2), 1);

	/* A fetch begun while the watch was down is never vouched. */
	inode_watch_state(0);
	d3 = inode_for_path("/t7c");
	inode_vouch_begin(&tok);
	assert_int_equal(tok.epoch, 0);
	inode_watch_state(1);
	inode_set_listing(&fs, d3, &tok, &l);
	assert_int_equal(fresh_listing(d3), 0);
	/* -o watch_cache=0: the watch vouches for nothing. */
	fs.o.watch_cache = 0;
	inode_watch_state(1);
	inode_vouch_begin(&tok);
	assert_int_equal(tok.epoch, 0);
	inode_set_listing(&fs, d3, &tok, &l);
	assert_int_equal(fresh_listing(d3), 0);
	fs.o.watch_cache = 600;
	inode_watch_state(1);
	fs.o.dir_cache = 60;
	unpin_all(d, d2, d3, NULL);
}

static void test_listing_empty(void **state)
{
	struct inode *d, *d2, *d3;
	struct inode_vtok tok;
	size_t n = 99;
	char **names;
	int fresh;

	(void)state;
	fs.o.dir_cache = -1;
	inode_watch_state(1);
	d = inode_for_path("/t8");
	inode_vouch_begin(&tok);
	inode_listing_empty(&fs, d, &tok);
	assert_int_equal(has(d, "a", &fresh), 0);
	assert_int_equal(fresh, 1);
	assert_int_equal(inode_listing_vouched(d), 1);
	names = inode_listing_names(d, &n);
	assert_non_null(names);
	assert_int_equal(n, 0);
	free(names);
	inode_listing_update(d, "new", 1);
	assert_int_equal(has(d, "new", &fresh), 1);
	assert_int_equal(fresh, 1);

	/* Without a token: fresh for dir_cache only. */
	d2 = inode_for_path("/t8b");
	inode_listing_empty(&fs, d2, NULL);
	assert_int_equal(fresh_listing(d2), 0);
	fs.o.dir_cache = 60;
	inode_listing_empty(&fs, d2, NULL);
	assert_int_equal(fresh_listing(d2), 1);
	assert_int_equal(inode_listing_vouched(d2), 0);

	/* An event in the directory since the token: not vouched. */
	d3 = inode_for_path("/t8c");
	inode_listing_empty(&fs, d3, NULL);
	inode_vouch_begin(&tok);
	inode_event_gen("/t8c/z");
	fs.o.dir_cache = -1;
	inode_listing_empty(&fs, d3, &tok);
	assert_int_equal(fresh_listing(d3), 0);
	assert_int_equal(inode_listing_vouched(d3), 0);
	fs.o.dir_cache = 60;
	unpin_all(d, d2, d3, NULL);
}

static void test_update_tok(void **state)
{
	e2b_entry_info e = ent("/t9/f", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	struct inode_vtok tok;
	struct inode *in, *ln;
	struct stat st;

	(void)state;
	fs.o.dir_cache = -1;
	inode_watch_state(1);
	inode_vouch_begin(&tok);
	in = inode_update_tok(&fs, "/t9/f", &e, &tok, &st);
	assert_int_equal(inode_attr_vouched(in), 1);
	assert_int_equal(inode_cached_attr(&fs, in, &st), 1);
	inode_unvouch(in);
	assert_int_equal(inode_attr_vouched(in), 0);
	assert_int_equal(inode_cached_attr(&fs, in, &st), 0);
	/* Vouched again, then an event on the path before the next answer. */
	inode_unpin(inode_update_tok(&fs, "/t9/f", &e, &tok, NULL));
	assert_int_equal(inode_attr_vouched(in), 1);
	inode_vouch_begin(&tok);
	inode_event_gen("/t9/f");
	inode_unpin(inode_update_tok(&fs, "/t9/f", &e, &tok, NULL));
	assert_int_equal(inode_attr_vouched(in), 0);
	/* No token: never vouched. */
	inode_unpin(inode_update_tok(&fs, "/t9/f", &e, NULL, NULL));
	assert_int_equal(inode_attr_vouched(in), 0);
	/* Hard links we made: the watch cannot vouch for them. */
	inode_mark_linked("/t9/l");
	inode_mark_linked("/t9/l");
	inode_vouch_begin(&tok);
	ln = inode_update_tok(&fs, "/t9/l", &e, &tok, NULL);
	assert_int_equal(inode_attr_vouched(ln), 0);
	fs.o.dir_cache = 60;
	inode_unpin(ln);
	inode_unpin(in);
}

static void test_echo_confirms(void **state)
{
	e2b_entry_info e = ent("/t10/f", E2B_FILE_TYPE_FILE, 3, 0644, 100);
	struct inode_vtok tok;
	struct inode *in;
	struct stat st;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(1);
	in = inode_update(&fs, "/t10/f", &e, &st);
	/* Our own write: size 7, mtime 200.5 as the mount shows it. */
	st.st_size = 7;
	st.st_mtim.tv_sec = 200;
	st.st_mtim.tv_nsec = 5;
	inode_set_attr(&fs, in, &st);
	assert_int_equal(inode_attr_vouched(in), 0);
	inode_vouch_begin(&tok);
	e.size = 7;
	e.mtime_sec = 200;
	e.mtime_nsec = 5;
	/* Anything different is an intermediate state: not vouched. */
	e.size = 6;
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	e.size = 7;
	e.mtime_nsec = 6;
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	e.mtime_nsec = 5;
	e.mode = 0600;
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	e.mode = 0644;
	e.type = E2B_FILE_TYPE_DIR;
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	e.type = E2B_FILE_TYPE_FILE;
	e.is_symlink = 1;
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	e.is_symlink = 0;
	assert_int_equal(inode_attr_vouched(in), 0);
	/* Exactly what the mount shows: from now on the watch vouches. */
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 1);
	assert_int_equal(inode_attr_vouched(in), 1);
	/* An event on it since the token: no. */
	inode_unvouch(in);
	inode_event_gen("/t10/f");
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	inode_vouch_begin(&tok);
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 1);
	/* A token from another epoch: no. */
	inode_unvouch(in);
	inode_watch_state(1);
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	inode_watch_state(0);
	inode_vouch_begin(&tok);
	assert_int_equal(inode_echo_confirms(in, &e, &tok), 0);
	assert_int_equal(inode_attr_vouched(in), 0);
	inode_unpin(in);
}

static void test_same_kind(void **state)
{
	e2b_entry_info f = ent("/t11/f", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	e2b_entry_info d = ent("/t11/d", E2B_FILE_TYPE_DIR, 1, 0755, 1);
	e2b_entry_info l = ent("/t11/l", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	struct inode *n, *fi, *di, *li;

	(void)state;
	l.is_symlink = 1;
	n = inode_for_path("/t11/n");
	assert_int_equal(inode_same_kind(n, &f), 0);	/* attributes unknown */
	fi = inode_update(&fs, "/t11/f", &f, NULL);
	di = inode_update(&fs, "/t11/d", &d, NULL);
	li = inode_update(&fs, "/t11/l", &l, NULL);
	assert_int_equal(inode_same_kind(fi, &f), 1);
	assert_int_equal(inode_same_kind(fi, &d), 0);
	assert_int_equal(inode_same_kind(fi, &l), 0);
	assert_int_equal(inode_same_kind(di, &d), 1);
	assert_int_equal(inode_same_kind(di, &f), 0);
	assert_int_equal(inode_same_kind(li, &l), 1);
	assert_int_equal(inode_same_kind(li, &f), 0);
	unpin_all(n, fi, di, li, NULL);
}

static void test_invalidate_tree(void **state)
{
	e2b_entry_info de = ent("/t12", E2B_FILE_TYPE_DIR, 0, 0755, 1);
	e2b_entry_info fe = ent("/t12/f", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	e2b_entry_info items[2] = {
		ent("/t12/f", E2B_FILE_TYPE_FILE, 1, 0644, 1),
		ent("/t12/s", E2B_FILE_TYPE_DIR, 0, 0755, 1),
	};
	e2b_entry_info sitems[1] = { ent("/t12/s/g", E2B_FILE_TYPE_FILE, 1, 0644, 1) };
	e2b_entry_list l = list_of(items, 2), sl = list_of(sitems, 1);
	struct inode *d, *f, *s, *sg, *sib, *n;
	struct inode_vtok tok;
	struct stat st;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(0);
	d = inode_update(&fs, "/t12", &de, NULL);
	f = inode_update(&fs, "/t12/f", &fe, NULL);
	s = inode_update(&fs, "/t12/s", &items[1], NULL);
	sg = inode_update(&fs, "/t12/s/g", &sitems[0], NULL);
	sib = inode_update(&fs, "/t12x", &fe, NULL);
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, d, &tok, &l);
	inode_set_listing(&fs, s, &tok, &sl);
	assert_int_equal(fresh_listing(d), 1);
	assert_int_equal(fresh_listing(s), 1);

	inode_invalidate_tree("/t12/s");
	assert_int_equal(inode_cached_attr(&fs, s, &st), 0);
	assert_int_equal(inode_cached_attr(&fs, sg, &st), 0);
	assert_int_equal(fresh_listing(s), 0);
	assert_int_equal(inode_cached_attr(&fs, f, &st), 1);
	assert_int_equal(inode_cached_attr(&fs, d, &st), 1);
	assert_int_equal(fresh_listing(d), 1);

	inode_invalidate_tree("/t12");
	assert_int_equal(inode_cached_attr(&fs, d, &st), 0);
	assert_int_equal(inode_cached_attr(&fs, f, &st), 0);
	assert_int_equal(fresh_listing(d), 0);
	/* A name that only starts the same is another tree. */
	assert_int_equal(inode_cached_attr(&fs, sib, &st), 1);
	/* A file: its own attributes only. */
	inode_invalidate_tree("/t12x");
	assert_int_equal(inode_cached_attr(&fs, sib, &st), 0);
	/* No record, but a listing (it outlives its directory's record). */
	n = inode_for_path("/t12n");
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, n, &tok, &sl);
	inode_unpin(n);
	inode_invalidate_tree("/t12n");
	n = inode_for_path("/t12n");
	assert_int_equal(fresh_listing(n), 0);
	unpin_all(n, d, f, s, sg, sib, NULL);
}

/* Is "@parent:@name" among the entries notified? */
static int notified_entry(fuse_ino_t parent, const char *name)
{
	char want[64];
	size_t i;

	snprintf(want, sizeof(want), "%lu:%s", (unsigned long)parent, name);
	for (i = 0; i < stub.ninval_entry && i < 16; i++)
		if (!strcmp(stub.inval_names[i], want))
			return 1;
	return 0;
}

/* The offset notified for inode @ino, or -2 if none. */
static off_t notified_inode(fuse_ino_t ino)
{
	size_t i;

	for (i = 0; i < stub.ninval_inode && i < 16; i++)
		if (stub.inval_inodes[i] == ino)
			return stub.inval_offs[i];
	return -2;
}

static void test_kernel_forget_all(void **state)
{
	e2b_entry_info de = ent("/t13", E2B_FILE_TYPE_DIR, 0, 0755, 1);
	e2b_entry_info fe = ent("/t13/k", E2B_FILE_TYPE_FILE, 1, 0644, 1);
	struct inode *d, *f, *quiet;

	(void)state;
	d = inode_update(&fs, "/t13", &de, NULL);
	f = inode_update(&fs, "/t13/k", &fe, NULL);
	quiet = inode_for_path("/t13/q");	/* no kernel lookup: not notified */
	inode_ref(d);
	inode_ref(f);
	stub_reset();
	inode_kernel_forget_all(NULL);
	assert_true(stub.ninval_entry >= 2);
	assert_int_equal(stub.ninval_inode, stub.ninval_entry);
	assert_true(notified_entry(FUSE_ROOT_ID, "t13"));
	assert_true(notified_entry(d->ino, "k"));
	assert_false(notified_entry(d->ino, "q"));
	/* A directory's cached readdir goes too (offset 0). */
	assert_int_equal(notified_inode(d->ino), 0);
	assert_int_equal(notified_inode(f->ino), -1);
	assert_int_equal(notified_inode(quiet->ino), -2);
	inode_unpin(quiet);
	inode_forget(f->ino, 1);
	inode_unpin(f);
	inode_forget(d->ino, 1);
	inode_unpin(d);
}

static void test_dir_single_flight(void **state)
{
	e2b_entry_info items[1] = { ent("/t14/a", E2B_FILE_TYPE_FILE, 1, 0644, 1) };
	e2b_entry_list l = list_of(items, 1);
	struct inode *d, *b;
	struct inode_vtok tok;
	int fresh;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(0);
	d = inode_for_path("/t14");
	assert_int_equal(inode_dir_begin(d, &tok), 1);
	assert_non_null(tok.priv);
	inode_dir_end(&fs, &tok, &l, 1);
	assert_int_equal(has(d, "a", &fresh), 1);
	assert_int_equal(fresh, 1);
	/* Fresh now: nobody needs to list it. */
	assert_int_equal(inode_dir_begin(d, &tok), 0);
	assert_null(tok.priv);
	/* A failed ListDir stores nothing; the next caller lists. */
	b = inode_for_path("/t14b");
	assert_int_equal(inode_dir_begin(b, &tok), 1);
	inode_dir_end(&fs, &tok, NULL, 1);
	assert_int_equal(fresh_listing(b), 0);
	assert_int_equal(inode_dir_begin(b, &tok), 1);
	/* An event while it is in flight: its answer may predate it. */
	inode_listing_event(&fs, "/t14b", "x", 1, NULL);
	inode_dir_end(&fs, &tok, &l, 1);
	assert_int_equal(fresh_listing(b), 0);
	inode_unpin(d);
	inode_unpin(b);
}

static void test_dir_prefetch_depth(void **state)
{
	e2b_entry_info items[4] = {
		ent("/t15/d", E2B_FILE_TYPE_DIR, 0, 0755, 1),
		ent("/t15/f", E2B_FILE_TYPE_FILE, 5, 0644, 1),
		ent("/t15/d/x", E2B_FILE_TYPE_FILE, 6, 0644, 1),
		ent("/t15/e", E2B_FILE_TYPE_DIR, 0, 0755, 1),
	};
	e2b_entry_list l = list_of(items, 4);
	struct inode *top, *d, *e;
	struct inode_vtok tok;
	char **sub;
	size_t n;
	int fresh;

	(void)state;
	fs.o.dir_cache = 60;
	inode_watch_state(0);
	assert_int_equal(inode_dir_begin_prefetch("/t15", 2, &tok), 1);
	/* In flight: a second prefetch does not ask again. */
	{
		struct inode_vtok tok2;

		assert_int_equal(inode_dir_begin_prefetch("/t15", 2, &tok2), 0);
	}
	inode_dir_end(&fs, &tok, &l, 2);
	top = inode_for_path("/t15");
	d = inode_for_path("/t15/d");
	e = inode_for_path("/t15/e");
	assert_int_equal(has(top, "d", &fresh), 1);
	assert_int_equal(fresh, 1);
	assert_int_equal(has(top, "f", &fresh), 1);
	assert_int_equal(has(top, "x", &fresh), 0);
	assert_int_equal(has(d, "x", &fresh), 1);
	assert_int_equal(fresh, 1);
	/* A directory above the frontier with no entries is empty. */
	assert_int_equal(has(e, "x", &fresh), 0);
	assert_int_equal(fresh, 1);
	sub = inode_dir_subdirs("/t15", 0, 10, &n);
	assert_non_null(sub);
	assert_int_equal(n, 2);
	assert_string_equal(sub[0], "/t15/d");
	assert_string_equal(sub[1], "/t15/e");
	free(sub[0]);
	free(sub[1]);
	free(sub);
	/* Everything within two levels is known: no prefetch. */
	assert_int_equal(inode_dir_begin_prefetch("/t15", 2, &tok), 0);
	assert_int_equal(inode_dir_begin_prefetch("/t15", 3, &tok), 0);
	unpin_all(top, d, e, NULL);
}

static void test_listing_budget(void **state)
{
	e2b_entry_info ai[3] = {
		ent("/t16a/1", E2B_FILE_TYPE_FILE, 1, 0644, 1),
		ent("/t16a/2", E2B_FILE_TYPE_FILE, 1, 0644, 1),
		ent("/t16a/3", E2B_FILE_TYPE_FILE, 1, 0644, 1),
	};
	e2b_entry_info bi[3] = {
		ent("/t16b/1", E2B_FILE_TYPE_FILE, 1, 0644, 1),
		ent("/t16b/2", E2B_FILE_TYPE_FILE, 1, 0644, 1),
		ent("/t16b/3", E2B_FILE_TYPE_FILE, 1, 0644, 1),
	};
	e2b_entry_list al = list_of(ai, 3), bl = list_of(bi, 3);
	struct inode *a, *b;
	struct inode_vtok tok;

	(void)state;
	fs.o.dir_cache = 60;
	fs.o.prefetch_entries = 4;
	a = inode_for_path("/t16a");
	b = inode_for_path("/t16b");
	inode_vouch_begin(&tok);
	inode_set_listing(&fs, a, &tok, &al);
	assert_int_equal(fresh_listing(a), 1);
	assert_true(inode_listing_entries() <= 4);
	inode_set_listing(&fs, b, &tok, &bl);
	/* Over the budget: the other listings go, the new one stays. */
	assert_int_equal(fresh_listing(b), 1);
	assert_int_equal(fresh_listing(a), 0);
	assert_int_equal(inode_listing_entries(), 3);
	fs.o.prefetch_entries = 100000;
	inode_unpin(a);
	inode_unpin(b);
}

static void test_touched_and_self(void **state)
{
	e2b_entry_info de = ent("/t17", E2B_FILE_TYPE_DIR, 0, 0755, 1);
	e2b_entry_info items[1] = { ent("/t17/f", E2B_FILE_TYPE_FILE, 3, 0644, 1) };
	e2b_entry_list l = list_of(items, 1);
	struct inode *d, *f, *out;
	struct inode_vtok tok;
	struct timespec before;
	struct stat st;

	(void)state;
	fs.o.dir_cache = -1;
	inode_watch_state(1);
	inode_vouch_begin(&tok);
	d = inode_update_tok(&fs, "/t17", &de, &tok, NULL);
	f = inode_update_tok(&fs, "/t17/f", &items[0], &tok, NULL);
	inode_set_listing(&fs, d, &tok, &l);
	assert_int_equal(inode_attr_vouched(d), 1);
	assert_int_equal(inode_attr_vouched(f), 1);
	assert_int_equal(inode_dir_lookup(&fs, d, "f", &out, &st), INODE_DIR_FOUND);
	inode_unpin(out);

	/* Our own change of f: the watch no longer vouches for it, and the
	 * listing no longer knows its attributes. */
	inode_mark_self(f);
	assert_int_equal(inode_attr_vouched(f), 0);
	assert_int_equal(inode_dir_lookup(&fs, d, "f", &out, &st), INODE_DIR_NOATTR);
	assert_int_equal(has(d, "f", &(int){ 0 }), 1);

	/* We added an entry: the directory's mtime is now, not envd's. */
	fs.o.attr_timeout = 60;
	clock_gettime(CLOCK_REALTIME, &before);
	inode_dir_touched(&fs, d);
	assert_int_equal(inode_attr_vouched(d), 0);
	assert_int_equal(inode_cached_attr(&fs, d, &st), 1);
	assert_true(st.st_mtim.tv_sec >= before.tv_sec);
	assert_true(st.st_ctim.tv_sec >= before.tv_sec);
	assert_int_equal(inode_recent_attr(d, 60, &st), 0);
	/* Not a directory: nothing to touch. */
	inode_invalidate(f);
	inode_dir_touched(&fs, f);
	assert_int_equal(inode_cached_attr(&fs, f, &st), 0);
	fs.o.attr_timeout = 1;
	fs.o.dir_cache = 60;
	unpin_all(d, f, NULL);
}

/* Many paths: the path and ghost tables grow, every number is kept. */
static void test_many_paths(void **state)
{
	enum { N = 20000 };
	static struct inode *v[N];
	static fuse_ino_t ino[N];
	size_t live0, ghosts0, live, ghosts, i;
	char p[64];

	(void)state;
	inode_counts(&live0, &ghosts0);
	for (i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "/t18/d%zu/f%zu", i % 97, i);
		v[i] = inode_for_path(p);
		assert_non_null(v[i]);
		ino[i] = v[i]->ino;
	}
	inode_counts(&live, &ghosts);
	assert_int_equal(live, live0 + N);
	for (i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "/t18/d%zu/f%zu", i % 97, i);
		assert_ptr_equal(inode_get(ino[i]), v[i]);
		inode_unpin(v[i]);
	}
	inode_counts(&live, &ghosts);
	assert_int_equal(live, live0);
	assert_int_equal(ghosts, ghosts0 + N);
	/* A rename moves the ghosts of one directory only. */
	inode_renamed("/t18/d5", "/t18/e5");
	for (i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "/t18/%c%zu/f%zu", i % 97 == 5 ? 'e' : 'd', i % 97, i);
		v[i] = inode_for_path(p);
		assert_int_equal(v[i]->ino, ino[i]);
	}
	inode_counts(&live, &ghosts);
	assert_int_equal(ghosts, ghosts0);
	for (i = 0; i < N; i++)
		inode_unpin(v[i]);
}

struct waiter {
	struct inode *dir;
	int rc;
	void *priv;
	_Atomic pid_t tid;
};

static void *dir_waiter(void *arg)
{
	struct waiter *w = arg;
	struct inode_vtok tok;

	w->tid = (pid_t)syscall(SYS_gettid);
	w->rc = inode_dir_begin(w->dir, &tok);
	w->priv = tok.priv;
	return NULL;
}

/*
 * Until thread *@tid sleeps (in the kernel: blocked on a lock or a
 * condition), so that what the test does next finds it waiting.  Only the
 * test's power depends on it, not its verdict: after 10 s it goes on.
 */
static void wait_blocked(_Atomic pid_t *tid)
{
	char path[64], buf[256], *st;
	int i, fd;
	ssize_t r;

	for (i = 0; i < 10000; i++) {
		if (*tid) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)*tid);
			fd = open(path, O_RDONLY);
			r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			if (fd >= 0)
				close(fd);
			buf[r > 0 ? r : 0] = 0;
			st = strrchr(buf, ')');
			if (st && st[1] == ' ' && st[2] == 'S')
				return;
		}
		usleep(1000);
	}
}

/* A second lister of the same directory never asks envd too: it waits
 * for the first's answer (or finds it stored). */
static void test_dir_single_flight_threads(void **state)
{
	e2b_entry_info items[1] = { ent("/t19/a", E2B_FILE_TYPE_FILE, 1, 0644, 1) };
	e2b_entry_list l = list_of(items, 1);
	struct waiter w = { NULL, -1, NULL, 0 };
	struct inode_vtok tok;
	pthread_t th;

	(void)state;
	fs.o.dir_cache = 60;
	w.dir = inode_for_path("/t19");
	assert_int_equal(inode_dir_begin(w.dir, &tok), 1);
	assert_int_equal(pthread_create(&th, NULL, dir_waiter, &w), 0);
	wait_blocked(&w.tid);
	inode_dir_end(&fs, &tok, &l, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_null(w.priv);
	assert_int_equal(fresh_listing(w.dir), 1);
	inode_unpin(w.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_pins_and_ghosts),
		cmocka_unit_test(test_lookup_counts),
		cmocka_unit_test(test_attr_from_entry),
		cmocka_unit_test(test_update_attrs),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_renamed_subtree),
		cmocka_unit_test(test_listing_ttl),
		cmocka_unit_test(test_listing_vouched),
		cmocka_unit_test(test_listing_empty),
		cmocka_unit_test(test_update_tok),
		cmocka_unit_test(test_echo_confirms),
		cmocka_unit_test(test_same_kind),
		cmocka_unit_test(test_invalidate_tree),
		cmocka_unit_test(test_kernel_forget_all),
		cmocka_unit_test(test_dir_single_flight),
		cmocka_unit_test(test_dir_prefetch_depth),
		cmocka_unit_test(test_listing_budget),
		cmocka_unit_test(test_touched_and_self),
		cmocka_unit_test(test_many_paths),
		cmocka_unit_test(test_dir_single_flight_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
