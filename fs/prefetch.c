/* SPDX-License-Identifier: MIT */
/*
 * Listings fetched ahead of a tree walk (find, git status, du): when a
 * directory is listed for a request, a small pool of threads lists its
 * unknown subdirectories in the background, each with ListDir's depth (so
 * one request brings PREFETCH_DEPTH levels), and then, for PREFETCH_ROUNDS
 * rounds, twice as deep each time: the same directory again (a small
 * answer) or each of its subdirectories (a large one).  Bounded: a queue of
 * PREFETCH_QUEUE paths, the listing cache's entry budget (prefetch_entries),
 * prefetch_threads threads.  A request that needs a directory being
 * prefetched waits for that one ListDir (single flight in inode.c) rather
 * than asking again.
 */
#include <stdlib.h>
#include <string.h>

#include "e2bfs.h"

#define PREFETCH_DEPTH 2
#define PREFETCH_ROUNDS 2
#define PREFETCH_QUEUE 4096
#define PREFETCH_MAX_THREADS 16
/* A larger directory (its own st_size: some 2,000 entries on ext4) is
 * left to the request that needs it. */
#define PREFETCH_DIR_SIZE (64 * 1024)
/* Up to this many subdirectories are prefetched one by one. */
#define PREFETCH_FEW 8
/* An answer this small is worth asking again, deeper. */
#define PREFETCH_SMALL 1000

struct pf_item {
	char *path;
	unsigned depth;		/* ListDir depth */
	unsigned rounds;	/* further rounds below this one */
	int claimed;		/* tok holds the listings (inode_dir_begin_prefetch) */
	struct inode_vtok tok;
};

static pthread_mutex_t pf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pf_cond = PTHREAD_COND_INITIALIZER;
static struct pf_item queue[PREFETCH_QUEUE];	/* protected by pf_lock */
static size_t q_head, q_len;			/* protected by pf_lock */
static int pf_stop;				/* protected by pf_lock */
static unsigned idle;				/* protected by pf_lock */
static pthread_t threads[PREFETCH_MAX_THREADS];
static unsigned nthreads;
static struct fs *pf_fs;

static void pf_release(struct pf_item *it)
{
	if (it->claimed)
		inode_dir_end(pf_fs, &it->tok, NULL, it->depth);
	free(it->path);
}

/* Queue @path (takes it); dropped when the queue is full or stopping. */
static void pf_push(char *path, unsigned depth, unsigned rounds)
{
	struct pf_item it = { .path = path, .depth = depth, .rounds = rounds };
	int now;

	pthread_mutex_lock(&pf_lock);
	now = !pf_stop && idle > q_len;
	pthread_mutex_unlock(&pf_lock);
	/* A thread takes it at once: claim the listings now, so that a walk
	 * racing ahead waits for this answer rather than asking too. */
	if (now) {
		if (inode_dir_begin_prefetch(path, depth, &it.tok) == 0) {
			free(path);
			return;
		}
		it.claimed = 1;
	}
	pthread_mutex_lock(&pf_lock);
	if (pf_stop || q_len == PREFETCH_QUEUE) {
		pthread_mutex_unlock(&pf_lock);
		pf_release(&it);
		return;
	}
	queue[(q_head + q_len) % PREFETCH_QUEUE] = it;
	q_len++;
	pthread_cond_signal(&pf_cond);
	pthread_mutex_unlock(&pf_lock);
}

static int over_budget(struct fs *fs)
{
	/* Leave room for the listings requests need. */
	return inode_listing_entries() >= fs->o.prefetch_entries / 10 * 9;
}

/* Queue every subdirectory of @path (from its cached listing). */
static void pf_queue_subdirs(struct fs *fs, const char *path, unsigned depth, unsigned rounds)
{
	char **v;
	size_t n = 0, i;

	if (over_budget(fs))
		return;
	v = inode_dir_subdirs(path, PREFETCH_DIR_SIZE, 256, &n);
	for (i = 0; v && i < n; i++)
		pf_push(v[i], depth, rounds);
	free(v);
}

/*
 * @path was just listed for a request.  A few subdirectories are each
 * prefetched on their own (a request for one waits for its answer only);
 * many are listed in one request, @path again at depth 2.
 */
void prefetch_below(struct fs *fs, const char *path)
{
	char **v, *p;
	size_t n = 0, i;

	if (!nthreads || over_budget(fs))
		return;
	v = inode_dir_subdirs(path, PREFETCH_DIR_SIZE, PREFETCH_FEW + 1, &n);
	if (v && n <= PREFETCH_FEW) {
		for (i = 0; i < n; i++)
			pf_push(v[i], PREFETCH_DEPTH, PREFETCH_ROUNDS);
	} else {
		for (i = 0; v && i < n; i++)
			free(v[i]);
		p = strdup(path);
		if (p)
			pf_push(p, PREFETCH_DEPTH, PREFETCH_ROUNDS);
	}
	free(v);
}

/* The mount's root, listed as soon as the mount is up: the first thing
 * done on a mount is a lookup or a listing there. */
void prefetch_root(struct fs *fs)
{
	char *p;

	if (nthreads && (p = strdup(fs->root)))
		pf_push(p, 1, 1);
}

static void *pf_main(void *arg)
{
	struct fs *fs = arg;
	e2b_entry_list *l;
	struct pf_item it;
	int rc;

	for (;;) {
		pthread_mutex_lock(&pf_lock);
		idle++;
		while (!pf_stop && !q_len)
			pthread_cond_wait(&pf_cond, &pf_lock);
		idle--;
		if (pf_stop) {
			pthread_mutex_unlock(&pf_lock);
			return NULL;
		}
		it = queue[q_head];
		q_head = (q_head + 1) % PREFETCH_QUEUE;
		q_len--;
		pthread_mutex_unlock(&pf_lock);
		/* Known down to its subdirectories' listings, or being listed
		 * already: nothing to do. */
		if (!it.claimed && (over_budget(fs) ||
				    inode_dir_begin_prefetch(it.path, it.depth, &it.tok) == 0)) {
			free(it.path);
			continue;
		}
		l = NULL;
		rc = remote_list_depth(fs, it.path, it.depth, &l);
		inode_dir_end(fs, &it.tok, rc == 0 ? l : NULL, it.depth);
		/*
		 * Next round, twice as deep: a small tree is listed again (one
		 * request however many directories its frontier has), a large
		 * one subdirectory by subdirectory.
		 */
		if (rc == 0 && it.rounds > 1 && l->count <= PREFETCH_SMALL) {
			pf_push(it.path, it.depth * 2, it.rounds - 1);
			it.path = NULL;
		} else if (rc == 0 && it.rounds > 1) {
			pf_queue_subdirs(fs, it.path, it.depth * 2, it.rounds - 1);
		}
		e2b_entry_list_free(l);
		free(it.path);
	}
}

int prefetch_start(struct fs *fs)
{
	unsigned want = fs->o.prefetch_threads;

	pf_fs = fs;
	if (want > PREFETCH_MAX_THREADS)
		want = PREFETCH_MAX_THREADS;
	for (nthreads = 0; nthreads < want; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, pf_main, fs) != 0)
			break;
	return nthreads == want ? 0 : -1;
}

void prefetch_stop(struct fs *fs)
{
	unsigned i;

	(void)fs;
	pthread_mutex_lock(&pf_lock);
	pf_stop = 1;
	pthread_cond_broadcast(&pf_cond);
	pthread_mutex_unlock(&pf_lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
	while (q_len) {
		pf_release(&queue[q_head]);
		q_head = (q_head + 1) % PREFETCH_QUEUE;
		q_len--;
	}
}
