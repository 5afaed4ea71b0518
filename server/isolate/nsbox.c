/* SPDX-License-Identifier: MIT */
/*
 * The isolation layer (nsbox.h): each sandbox's root filesystem, its
 * namespaces and init process, and its freezer.  This file is e2bd's
 * side: start, stop, freeze and destroy a sandbox, and the channel to its
 * init.  The parts live beside it in server/isolate/:
 *
 *   nsinit.c       the zygote and each sandbox's init (namespaces, /proc,
 *                  /dev, pivot_root, capabilities, seccomp, forks processes)
 *   nsmsg.c        the messages e2bd, the zygote and inits exchange
 *   rootfs.c       overlay root filesystems, the sandbox's users and dirs
 *   hostsecrets.c  the host's secrets hidden in the built-in template
 *   cgroup.c       freezer, pids and memory limits
 *   disk.c         disk limit: an ext4 image on a loop device per sandbox
 *   netns.c        network namespace, veth + NAT, host firewall
 *   sbfs.c         e2bd's access to files beneath a sandbox root
 *
 * Processes.  e2bd is multithreaded, so nsbox_global_init() forks one
 * zygote while e2bd is still single-threaded (nsinit.c); the zygote
 * clone()s one init per sandbox.  The zygote dies with e2bd and every
 * init with the zygote (PR_SET_PDEATHSIG), and the PID namespace with its
 * init, so nothing outlives e2bd.
 *
 * Mounts.  nsbox_global_init() moves e2bd into a private mount namespace,
 * so every overlay mounted here exists only for e2bd, the zygote and the
 * sandbox inits, and vanishes when they exit.  A sandbox of the built-in
 * template has a persisted skeleton root (STATE/sandboxes/<id>/rootfs)
 * whose /usr, /etc, /opt and real /lib* dirs are overlays of the host's
 * (host lower, per-sandbox upper) and whose /home, /root, /tmp, /var and
 * /run are plain directories of the sandbox; nothing else of the host is
 * visible.  A template with a rootfs dir gets one overlay over it.
 *
 * The skeleton and upper layers are written by sandbox processes, so e2bd
 * treats them as hostile: every path it opens inside a sandbox root is
 * resolved with openat2(RESOLVE_IN_ROOT) (sbfs.c) or *at(O_NOFOLLOW), and
 * mounts go through /proc/self/fd of an O_NOFOLLOW descriptor.
 *
 * Privileges.  As root, sandbox root is real root minus the dangerous
 * capabilities (bounding set) and behind a seccomp filter; cgroups
 * freeze sandboxes and cap their process count and memory.  Without root,
 * e2bd enters a user namespace of its own mapping only uid/gid 1000 (the
 * sandbox user) to the invoking user; overlays use userxattr, pause falls
 * back to SIGSTOP, and sandboxes have no root.  If neither works, e2bd
 * refuses to start.
 *
 * Network.  Every init is also cloned into a network namespace of its
 * own; netns.c brings its loopback up, gives it a veth pair with NAT for
 * egress and firewalls the host from it (see there).
 *
 * Init.  One reader thread per running sandbox reads init's messages:
 * replies to requests (matched by sequence number to a waiting caller)
 * and exit statuses (delivered to process.c's callback).  If init dies,
 * every waiter and every process callback fails at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/e2bd.h"
#include "envd/process.h"
#include "isolate/cgroup.h"
#include "isolate/disk.h"
#include "isolate/isolate.h"
#include "isolate/netns.h"
#include "isolate/nsbox.h"
#include "isolate/nsinit.h"
#include "isolate/nsmsg.h"
#include "isolate/rootfs.h"

bool nsbox_unpriv;
int nsbox_clone_net;

#define REQUEST_TIMEOUT_MS 10000
#define INIT_READY_TIMEOUT_MS 10000

/* Process-wide state, set once by nsbox_global_init(). */
static struct {
	bool ready;
	int zsock;		/* channel to the zygote, protected by zlock */
	pid_t zpid;
	pthread_mutex_t zlock;
	uint32_t zseq;		/* protected by zlock */
} G = { .zsock = -1, .zlock = PTHREAD_MUTEX_INITIALIZER };

struct ns_wait {
	struct ns_wait *next;
	uint32_t seq;
	bool done;
	nsbox_exit_fn cb;	/* registered when SPAWNED arrives */
	void *arg;
	struct nsmsg_hdr h;
	char msg[1024];
	int fds[NSMSG_MAXFDS];
	int nfds;
};

struct ns_child {
	struct ns_child *next;
	pid_t pid;
	nsbox_exit_fn cb;
	void *arg;
};

struct nsbox {
	/* Serialises start/stop/freeze/destroy of this sandbox. */
	pthread_mutex_t life;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int sock;		/* to init, -1 when none; protected by lock */
	pid_t init_pid;		/* host pid, 0 when none */
	int init_pidfd;		/* signals init without a pid-reuse race */
	bool dead;		/* init's socket hit EOF; protected by lock */
	uint32_t seq;		/* protected by lock */
	struct ns_wait *waits;	/* protected by lock */
	struct ns_child *kids;	/* protected by lock */
	pthread_t reader;
	bool reader_on;		/* protected by life */

	bool mounted;		/* protected by life */
	struct rootfs_sb rootfs;	/* protected by life */
	struct cgroup_sb cg;	/* protected by life */
	bool frozen;
	struct netns_sb net;	/* protected by life */
};

static void deadline_ts(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* ---- talking to init ---- */

static void kids_fail_all(struct nsbox *ns)
{
	struct ns_child *k;

	pthread_mutex_lock(&ns->lock);
	k = ns->kids;
	ns->kids = NULL;
	pthread_mutex_unlock(&ns->lock);
	while (k) {
		struct ns_child *next = k->next;

		k->cb(k->arg, SIGKILL);
		free(k);
		k = next;
	}
}

/* Unlink and return the child registered for pid, NULL if none; the
 * caller holds ns->lock. */
static struct ns_child *kids_take(struct nsbox *ns, pid_t pid)
{
	struct ns_child **pp, *k = NULL;

	for (pp = &ns->kids; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			k = *pp;
			*pp = k->next;
			break;
		}
	}
	return k;
}

/* Register the child a SPAWNED reply names with its waiter's callback; when
 * that fails, turn the reply in *h and buf (4096 bytes) into an error.  The
 * caller holds ns->lock. */
static void kids_track_spawned(struct nsbox *ns, const struct ns_wait *w,
			       struct nsmsg_hdr *h, char *buf)
{
	struct ns_child *k = calloc(1, sizeof(*k));

	if (k) {
		k->pid = h->a;
		k->cb = w->cb;
		k->arg = w->arg;
		k->next = ns->kids;
		ns->kids = k;
	} else {
		/* Cannot track it: the caller gets an error. */
		h->type = NSMSG_ERROR;
		h->a = NSERR_INTERNAL;
		xfmt(buf, 4096, "out of memory");
	}
}

/* The reader thread: reads init's messages, runs the exit callback of a
 * child that exited, hands every other reply to its waiter in ns->waits;
 * when init's socket closes, marks the sandbox dead and fails its
 * children. */
static void *reader_main(void *arg)
{
	struct nsbox *ns = arg;
	char *buf = malloc(4096);
	int sock;

	pthread_mutex_lock(&ns->lock);
	sock = ns->sock;
	pthread_mutex_unlock(&ns->lock);
	while (buf) {
		struct nsmsg_hdr h;
		int fds[NSMSG_MAXFDS], nfds = 0, i;
		ssize_t n = nsmsg_recv(sock, &h, buf, 4095, fds, &nfds);
		struct ns_wait *w;
		struct ns_child *k = NULL;

		if (n < 0 && errno == EMSGSIZE)
			continue;
		if (n < 0 || (n == 0 && h.type == 0))
			break;
		buf[n] = '\0';
		pthread_mutex_lock(&ns->lock);
		if (h.type == NSMSG_EXIT) {
			k = kids_take(ns, h.a);
			pthread_mutex_unlock(&ns->lock);
			if (k) {
				k->cb(k->arg, h.b);
				free(k);
			}
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			continue;
		}
		for (w = ns->waits; w; w = w->next)
			if (w->seq == h.seq && !w->done)
				break;
		if (w && h.type == NSMSG_SPAWNED)
			kids_track_spawned(ns, w, &h, buf);
		if (w) {
			w->h = h;
			xfmt(w->msg, sizeof(w->msg), "%s", buf);
			memcpy(w->fds, fds, sizeof(int) * (size_t)nfds);
			w->nfds = nfds;
			nfds = 0;
			w->done = true;
			pthread_cond_broadcast(&ns->cond);
		} else if (h.type == NSMSG_SPAWNED) {
			/* Its requester gave up: do not leave it running. */
			struct nsmsg_hdr kh = { .type = NSMSG_SIGNAL, .a = h.a,
						.b = SIGKILL };

			nsmsg_send(sock, &kh, NULL, 0, NULL, 0);
		}
		pthread_mutex_unlock(&ns->lock);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	free(buf);
	pthread_mutex_lock(&ns->lock);
	ns->dead = true;
	pthread_cond_broadcast(&ns->cond);
	pthread_mutex_unlock(&ns->lock);
	kids_fail_all(ns);
	return NULL;
}

/*
 * Send a request to init and wait for its reply (bounded).  On success
 * *reply holds the reply (fds owned by the caller).  @cb/@arg are
 * registered for the spawned child if the reply is SPAWNED.
 */
static int ns_request(struct nsbox *ns, struct nsmsg_hdr *h, const void *payload,
		      size_t len, nsbox_exit_fn cb, void *arg,
		      struct ns_wait *reply, char *err, size_t errlen)
{
	struct ns_wait w = { .cb = cb, .arg = arg };
	struct ns_wait **pp;
	struct timespec ts;
	int rc = -1;

	pthread_mutex_lock(&ns->lock);
	if (ns->sock < 0 || ns->dead) {
		xfmt(err, errlen, "sandbox is not running");
		goto out;
	}
	if (++ns->seq == 0)
		++ns->seq;
	w.seq = ns->seq;
	h->seq = w.seq;
	w.next = ns->waits;
	ns->waits = &w;
	if (nsmsg_send(ns->sock, h, payload, len, NULL, 0) < 0) {
		xfmt(err, errlen, "cannot reach sandbox init: %m");
		goto unlink;
	}
	deadline_ts(&ts, REQUEST_TIMEOUT_MS);
	while (!w.done && !ns->dead) {
		if (pthread_cond_timedwait(&ns->cond, &ns->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (!w.done) {
		xfmt(err, errlen, ns->dead ? "sandbox init exited"
					       : "sandbox init did not answer");
		goto unlink;
	}
	*reply = w;
	rc = 0;
unlink:
	for (pp = &ns->waits; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* Send the zygote START for sb and read its answer into h, msg, fds and
 * *nfds, holding G.zlock meanwhile; *np is nsmsg_recv()'s result.  -1 (err
 * set) when the zygote could not be asked or did not answer. */
static int zygote_ask_start(struct sandbox *sb, struct nsmsg_hdr *h, char *msg,
			    size_t msgsize, int *fds, int *nfds, ssize_t *np,
			    char *err, size_t errlen)
{
	char payload[PATH_MAX + 64];
	size_t len;
	struct pollfd p;

	if (xfmt(payload, sizeof(payload), "%s%c%s", sb->root, '\0',
		 sb->id) < 0) {
		xfmt(err, errlen, "sandbox root path too long");
		return -1;
	}
	len = strlen(payload) + 1 + strlen(sb->id) + 1;
	pthread_mutex_lock(&G.zlock);
	h->seq = ++G.zseq;
	if (nsmsg_send(G.zsock, h, payload, len, NULL, 0) < 0) {
		pthread_mutex_unlock(&G.zlock);
		xfmt(err, errlen, "the sandbox zygote is gone: %m");
		return -1;
	}
	p.fd = G.zsock;
	p.events = POLLIN;
	if (poll(&p, 1, REQUEST_TIMEOUT_MS) <= 0) {
		pthread_mutex_unlock(&G.zlock);
		xfmt(err, errlen, "the sandbox zygote did not answer");
		return -1;
	}
	*np = nsmsg_recv(G.zsock, h, msg, msgsize - 1, fds, nfds);
	pthread_mutex_unlock(&G.zlock);
	return 0;
}

/* Wait for init's first message on sock, which says whether the sandbox is
 * set up; -1 (err set) unless it is READY.  Fds it carries land in fds and
 * *nfds. */
static int wait_init_ready(int sock, char *msg, size_t msgsize, int *fds,
			   int *nfds, char *err, size_t errlen)
{
	struct nsmsg_hdr h;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, INIT_READY_TIMEOUT_MS) <= 0) {
		xfmt(err, errlen, "sandbox init did not start");
		return -1;
	}
	n = nsmsg_recv(sock, &h, msg, msgsize - 1, fds, nfds);
	if (n < 0 || h.type != NSMSG_READY) {
		if (n > 0)
			msg[n] = '\0';
		xfmt(err, errlen, "cannot set up sandbox: %s",
			 n > 0 && h.type == NSMSG_ERROR ? msg : "init exited");
		return -1;
	}
	return 0;
}

/* Ask the zygote for a new init and wait until it is READY. */
static int start_init(struct sandbox *sb, struct nsbox *ns, char *err,
		      size_t errlen)
{
	struct nsmsg_hdr h = { .type = NSMSG_START };
	char msg[1024];
	int fds[NSMSG_MAXFDS], nfds = 0, sock = -1, i;
	ssize_t n;
	struct timeval tv = { .tv_sec = 5 };

	if (zygote_ask_start(sb, &h, msg, sizeof(msg), fds, &nfds, &n, err,
			     errlen) < 0)
		return -1;
	if (n < 0 || (n == 0 && h.type == 0)) {
		xfmt(err, errlen, "the sandbox zygote is gone");
		goto fail;
	}
	msg[n] = '\0';
	if (h.type != NSMSG_STARTED || nfds != 2) {
		xfmt(err, errlen, "cannot start sandbox init: %s",
			 h.type == NSMSG_ERROR ? msg : "bad reply");
		goto fail;
	}
	sock = fds[0];
	ns->init_pidfd = fds[1];
	nfds = 0;
	ns->init_pid = h.a;
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* The first message from init says whether the sandbox is set up. */
	if (wait_init_ready(sock, msg, sizeof(msg), fds, &nfds, err, errlen) < 0)
		goto fail;
	if (nsbox_clone_net && netns_attach(&ns->net, sb->id, ns->init_pid,
					!sb->no_internet, err, errlen) < 0)
		goto fail;
	cgroup_attach(&ns->cg, sb, ns->init_pid);
	pthread_mutex_lock(&ns->lock);
	ns->sock = sock;
	ns->dead = false;
	pthread_mutex_unlock(&ns->lock);
	if (pthread_create(&ns->reader, NULL, reader_main, ns) != 0) {
		xfmt(err, errlen, "cannot create a thread");
		pthread_mutex_lock(&ns->lock);
		ns->sock = -1;
		pthread_mutex_unlock(&ns->lock);
		cgroup_remove(&ns->cg);
		netns_detach(&ns->net);
		goto fail;
	}
	ns->reader_on = true;
	return 0;
fail:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (sock >= 0)
		close(sock);
	if (ns->init_pidfd > 0) {
		syscall(SYS_pidfd_send_signal, ns->init_pidfd, SIGKILL, NULL, 0);
		close(ns->init_pidfd);
	}
	ns->init_pidfd = -1;
	ns->init_pid = 0;
	return -1;
}

/* Kill init (and with it the PID namespace) and wait for its reader. */
static void stop_init(struct nsbox *ns)
{
	struct timespec ts;

	if (!ns->reader_on)
		return;
	if (ns->init_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, ns->init_pidfd, SIGKILL, NULL, 0);
	/* A frozen cgroup v1 task does not die until thawed. */
	if (ns->cg.cgroup[0] && ns->frozen)
		(void)cgroup_freeze(&ns->cg, false);
	ns->frozen = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (pthread_timedjoin_np(ns->reader, NULL, &ts) != 0) {
		pthread_mutex_lock(&ns->lock);
		shutdown(ns->sock, SHUT_RDWR);
		pthread_mutex_unlock(&ns->lock);
		pthread_join(ns->reader, NULL);
	}
	ns->reader_on = false;
	pthread_mutex_lock(&ns->lock);
	close(ns->sock);
	ns->sock = -1;
	pthread_mutex_unlock(&ns->lock);
	if (ns->init_pidfd >= 0)
		close(ns->init_pidfd);
	ns->init_pidfd = -1;
	ns->init_pid = 0;
	cgroup_remove(&ns->cg);
	netns_detach(&ns->net);
}

/*
 * At e2bd's exit: closing the channel ends the zygote (and with it every
 * init); reap it so it does not linger as a zombie under an init that
 * does not reap (containers).  Bounded: a second at most.
 */
static void zygote_reap(void)
{
	int i, status;

	if (G.zsock >= 0)
		close(G.zsock);
	G.zsock = -1;
	for (i = 0; i < 100 && G.zpid > 0; i++) {
		if (waitpid(G.zpid, &status, WNOHANG) != 0)
			return;
		sleep_ms(10);
	}
}

/* ---- nsbox.h ---- */

static int write_proc(const char *path, const char *data, char *err,
		      size_t errlen)
{
	if (write_file(path, data) < 0) {
		xfmt(err, errlen, "cannot write '%s': %m", path);
		return -1;
	}
	return 0;
}

/*
 * Without root: a user namespace of our own where uid/gid 1000 (the
 * sandbox user) is the invoking user and e2bd holds the capabilities it
 * needs for mounts and namespaces.  Only one id can be mapped without
 * newuidmap, so root inside sandboxes is unavailable in this mode.
 * NEEDSWORK: subordinate ids (newuidmap/newgidmap) would give sandboxes
 * a root and the other system users.
 */
static int enter_user_namespace(char *err, size_t errlen)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER) < 0) {
		xfmt(err, errlen, "not running as root and user namespaces are "
		     "not available (%m); run e2bd as root");
		return -1;
	}
	xfmt(map, sizeof(map), "%d %u 1", SB_UID, (unsigned)uid);
	if (write_proc("/proc/self/setgroups", "deny", err, errlen) < 0 ||
	    write_proc("/proc/self/uid_map", map, err, errlen) < 0)
		return -1;
	xfmt(map, sizeof(map), "%d %u 1", SB_GID, (unsigned)gid);
	if (write_proc("/proc/self/gid_map", map, err, errlen) < 0)
		return -1;
	return 0;
}

/*
 * Detach every FUSE mount that e2bd's new mount namespace copied from the
 * host.  A copy keeps the FUSE connection alive: an e2bfs mount that
 * existed when e2bd started would survive the user's `fusermount3 -u` (its
 * daemon never sees the unmount) until e2bd exits.  e2bd never needs them.
 */
static void detach_fuse_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4 * PATH_MAX];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], *sep, *fld, *save = NULL;
		size_t i = 0, n = 0;
		int col = 0;

		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "fuse", 4) != 0 ||
		    strncmp(sep + 3, "fusectl", 7) == 0)
			continue;
		*sep = '\0';
		/* field 5 is the mount point, octal-escaped (\040 for a space) */
		for (fld = strtok_r(line, " ", &save); fld && col < 4;
		     fld = strtok_r(NULL, " ", &save))
			col++;
		if (!fld)
			continue;
		while (fld[i] && n + 1 < sizeof(mp)) {
			if (fld[i] == '\\' && fld[i + 1] >= '0' && fld[i + 1] <= '3' &&
			    fld[i + 2] >= '0' && fld[i + 2] <= '7' &&
			    fld[i + 3] >= '0' && fld[i + 3] <= '7') {
				mp[n++] = (char)((fld[i + 1] - '0') * 64 +
						 (fld[i + 2] - '0') * 8 +
						 (fld[i + 3] - '0'));
				i += 4;
			} else {
				mp[n++] = fld[i++];
			}
		}
		mp[n] = '\0';
		if (umount2(mp, MNT_DETACH) < 0)
			log_dbg("cannot detach inherited FUSE mount '%s': %m",
				mp);
	}
	fclose(f);
}

int nsbox_global_init(const char *state_dir, char *err, size_t errlen)
{
	if (G.ready)
		return 0;
	if (geteuid() != 0) {
		if (enter_user_namespace(err, errlen) < 0)
			return -1;
		nsbox_unpriv = true;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		xfmt(err, errlen, "cannot create a mount namespace: %m");
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		xfmt(err, errlen, "cannot make mounts private: %m");
		return -1;
	}
	detach_fuse_mounts();
	if (rootfs_global_init(state_dir, err, errlen) < 0)
		return -1;
	if (access("/proc/self/ns/pid", F_OK) < 0) {
		xfmt(err, errlen, "/proc is not mounted");
		return -1;
	}
	/*
	 * A sandbox that eats all memory must not get e2bd OOM-killed:
	 * sandbox processes run at oom_score_adj 0 (100 through envd's
	 * wrapper), e2bd below.  Lowering needs CAP_SYS_RESOURCE (root);
	 * without it (unprivileged, or the capability dropped) say so.
	 */
	if (nsinit_write_oom_score("-500") < 0)
		log_warn("cannot lower e2bd's oom_score_adj to -500 (%m): a sandbox "
			 "that eats all memory may get e2bd OOM-killed");
	if (!nsbox_unpriv)
		cgroup_global_init();	/* cgroups are not ours to write otherwise */
	nsbox_clone_net = netns_global_init(nsbox_unpriv);
	G.zpid = nsinit_zygote_spawn(&G.zsock, err, errlen);
	if (G.zpid < 0)
		return -1;
	atexit(zygote_reap);
	G.ready = true;
	log_info("sandbox isolation: %smount/pid/uts/ipc%s namespaces, overlayfs, "
		 "freezer %s", nsbox_unpriv ? "unprivileged (user namespace, only "
		 "uid 1000), " : "", nsbox_clone_net ? "/net" : "",
		 cgroup_freezer() == CGROUP_FREEZER_V1 ? "cgroup v1" :
		 cgroup_freezer() == CGROUP_FREEZER_V2 ? "cgroup v2" : "SIGSTOP");
	if (g_cfg.disk_limit && nsbox_unpriv)
		log_warn("--disk-limit needs e2bd to run as root (loop devices): "
			 "sandboxes' disk is not limited");
	return 0;
}

static struct nsbox *ns_get(struct sandbox *sb)
{
	struct nsbox *ns;

	if (sb->ns)
		return sb->ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	pthread_mutex_init(&ns->life, NULL);
	pthread_mutex_init(&ns->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&ns->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	ns->sock = -1;
	ns->init_pidfd = -1;
	ns->net = (struct netns_sb)NETNS_SB_INIT;
	__atomic_store_n(&sb->ns, ns, __ATOMIC_RELEASE);
	return ns;
}

/*
 * The sandbox's nsbox if it has one, never making one: for the queries
 * (metrics, listings) that run beside lifecycle calls without sb->lock.
 */
static struct nsbox *ns_peek(struct sandbox *sb)
{
	return __atomic_load_n(&sb->ns, __ATOMIC_ACQUIRE);
}

/* nsbox_start() with ns->life held. */
static int start_locked(struct sandbox *sb, struct nsbox *ns)
{
	char err[1024];

	if (!G.ready) {
		log_err("sandbox %s: isolation is not initialised", sb->id);
		return -1;
	}
	if (!ns->mounted) {
		if (rootfs_mount(sb, &ns->rootfs, err, sizeof(err)) < 0) {
			log_err("sandbox %s: %s", sb->id, err);
			return -1;
		}
		ns->mounted = true;
	}
	if (ns->reader_on) {
		bool dead;

		pthread_mutex_lock(&ns->lock);
		dead = ns->dead;
		pthread_mutex_unlock(&ns->lock);
		if (!dead)
			return 0;
		stop_init(ns);	/* init died on its own: reap and restart */
	}
	if (start_init(sb, ns, err, sizeof(err)) < 0) {
		log_err("sandbox %s: %s", sb->id, err);
		return -1;
	}
	return 0;
}

int nsbox_start(struct sandbox *sb)
{
	struct nsbox *ns = ns_get(sb);
	int rc;

	if (!ns)
		return -1;
	pthread_mutex_lock(&ns->life);
	rc = start_locked(sb, ns);
	pthread_mutex_unlock(&ns->life);
	return rc;
}

int nsbox_stop(struct sandbox *sb)
{
	struct nsbox *ns = sb->ns;

	if (!ns)
		return 0;
	pthread_mutex_lock(&ns->life);
	stop_init(ns);
	if (ns->mounted) {
		if (sb->rootfd >= 0)
			close(sb->rootfd);
		sb->rootfd = -1;
		sb->root_ino = 0;
		sb->root_dev = 0;
		rootfs_unmount(&ns->rootfs);
		ns->mounted = false;
	}
	pthread_mutex_unlock(&ns->life);
	return 0;
}

pid_t nsbox_init_pid(struct sandbox *sb)
{
	struct nsbox *ns = ns_peek(sb);
	pid_t pid = 0;

	if (!ns)
		return 0;
	pthread_mutex_lock(&ns->life);
	if (ns->reader_on)
		pid = ns->init_pid;
	pthread_mutex_unlock(&ns->life);
	return pid;
}

uint64_t nsbox_memory_limit(struct sandbox *sb)
{
	struct nsbox *ns = nsbox_init_pid(sb) > 0 ? ns_peek(sb) : NULL;
	uint64_t v;

	if (!ns)
		return 0;	/* not running: no group */
	pthread_mutex_lock(&ns->life);
	v = cgroup_memory_max(&ns->cg);
	pthread_mutex_unlock(&ns->life);
	return v;
}

int nsbox_memory_used(struct sandbox *sb, uint64_t *out)
{
	struct nsbox *ns = nsbox_init_pid(sb) > 0 ? ns_peek(sb) : NULL;
	int rc;

	if (!ns)
		return -1;
	pthread_mutex_lock(&ns->life);
	rc = cgroup_memory_used(&ns->cg, out);
	pthread_mutex_unlock(&ns->life);
	return rc;
}

int nsbox_freeze(struct sandbox *sb, bool frozen)
{
	struct nsbox *ns = ns_get(sb);
	int rc = 0;

	if (!ns)
		return -1;
	pthread_mutex_lock(&ns->life);
	if (!ns->reader_on) {
		/* Nothing runs (e.g. after an e2bd restart): thaw = start. */
		if (!frozen)
			rc = start_locked(sb, ns);
		goto out;
	}
	if (frozen == ns->frozen)
		goto out;
	if (ns->cg.cgroup[0]) {
		rc = cgroup_freeze(&ns->cg, frozen);
		if (rc < 0)
			log_err("sandbox %s: cannot %s cgroup '%s'", sb->id,
				frozen ? "freeze" : "thaw", ns->cg.cgroup);
		if (rc < 0 && frozen)
			(void)cgroup_freeze(&ns->cg, false);
	} else {
		struct nsmsg_hdr h = { .type = NSMSG_SIGNAL, .a = 0,
				       .b = frozen ? SIGSTOP : SIGCONT };
		struct ns_wait r;
		char err[256];
		int i;

		rc = ns_request(ns, &h, NULL, 0, NULL, NULL, &r, err, sizeof(err));
		if (rc == 0) {
			for (i = 0; i < r.nfds; i++)
				close(r.fds[i]);
			if (r.h.type != NSMSG_DONE) {
				xfmt(err, sizeof(err), "%s", r.msg);
				rc = -1;
			}
		}
		if (rc < 0)
			log_err("sandbox %s: cannot %s: %s", sb->id,
				frozen ? "stop processes" : "continue processes",
				err);
	}
	if (rc == 0)
		ns->frozen = frozen;
	if (rc == 0 && frozen)
		process_streams_abort(sb);
out:
	pthread_mutex_unlock(&ns->life);
	return rc;
}

int nsbox_destroy_layer(struct sandbox *sb)
{
	struct nsbox *ns = sb->ns;
	char path[PATH_MAX];

	if (ns) {
		pthread_mutex_lock(&ns->life);
		if (ns->reader_on || ns->mounted) {
			pthread_mutex_unlock(&ns->life);
			nsbox_stop(sb);
			pthread_mutex_lock(&ns->life);
		}
	}
	xfmt(path, sizeof(path), "%s/rootfs", sb->dir);
	(void)rmtree(path);
	xfmt(path, sizeof(path), "%s/layers", sb->dir);
	(void)rmtree(path);
	disk_remove(sb);
	if (ns)
		pthread_mutex_unlock(&ns->life);
	return 0;
}

void nsbox_release(struct sandbox *sb)
{
	struct nsbox *ns = sb->ns;
	int i;

	if (!ns)
		return;
	nsbox_stop(sb);
	for (i = 0; i < ns->rootfs.nmounts; i++)
		free(ns->rootfs.mounts[i]);
	pthread_mutex_destroy(&ns->life);
	pthread_mutex_destroy(&ns->lock);
	pthread_cond_destroy(&ns->cond);
	free(ns);
	sb->ns = NULL;
	free(sb->root);
	sb->root = NULL;
}

int nsbox_connect_port(struct sandbox *sb, int port)
{
	struct nsbox *ns = sb->ns;
	int netfd = -1, fd, e;
	uint32_t addr = 0;

	if (ns) {
		pthread_mutex_lock(&ns->life);
		if (ns->reader_on && ns->net.netfd >= 0) {
			netfd = fcntl(ns->net.netfd, F_DUPFD_CLOEXEC, 0);
			addr = ns->net.slot >= 0 ? ns->net.addr : 0;
		}
		pthread_mutex_unlock(&ns->life);
	}
	if (netfd < 0) {
		errno = ENETUNREACH;
		return -1;
	}
	fd = netns_connect_port(netfd, addr, port);
	e = errno;
	close(netfd);
	errno = e;
	return fd;
}

/* ---- nsproc.h ---- */

/* Encode req as a NSMSG_SPAWN payload (struct nsmsg_spawn, then user, cwd,
 * argv and envp, each NUL-terminated) in a malloc'ed buffer of *lenp bytes;
 * NULL (err set) when it is too large or memory is short. */
static char *encode_spawn(const struct nsbox_spawn_req *req, size_t *lenp,
			  struct rpc_error *err)
{
	struct nsmsg_spawn sp = { 0 };
	char *buf;
	size_t len, off, i, argc = 0, envc = 0;

	while (req->argv[argc])
		argc++;
	while (req->envp && req->envp[envc])
		envc++;
	len = sizeof(sp) + strlen(req->user->name) + 1 + strlen(req->cwd) + 1;
	for (i = 0; i < argc; i++)
		len += strlen(req->argv[i]) + 1;
	for (i = 0; i < envc; i++)
		len += strlen(req->envp[i]) + 1;
	if (len > NSMSG_MAX) {
		rpc_fail(err, "invalid_argument",
			 "command and environment too large (%zu bytes, "
			 "limit %u)", len, NSMSG_MAX);
		return NULL;
	}
	buf = malloc(len);
	if (!buf) {
		rpc_fail(err, "internal", "out of memory");
		return NULL;
	}
	sp.flags = (req->pty ? NSSPAWN_PTY : 0) |
		   (req->stdin_pipe ? NSSPAWN_STDIN : 0);
	sp.uid = req->user->uid;
	sp.gid = req->user->gid;
	sp.cols = req->cols;
	sp.rows = req->rows;
	sp.argc = (uint32_t)argc;
	sp.envc = (uint32_t)envc;
	memcpy(buf, &sp, sizeof(sp));
	off = sizeof(sp);
#define PUT(s) do { size_t l_ = strlen(s) + 1; memcpy(buf + off, (s), l_); off += l_; } while (0)
	PUT(req->user->name);
	PUT(req->cwd);
	for (i = 0; i < argc; i++)
		PUT(req->argv[i]);
	for (i = 0; i < envc; i++)
		PUT(req->envp[i]);
#undef PUT
	*lenp = len;
	return buf;
}

/* Restart an init that died on its own (the root stays mounted). */
static void restart_dead_init(struct sandbox *sb, struct nsbox *ns)
{
	pthread_mutex_lock(&ns->life);
	if (ns->mounted && ns->reader_on) {
		bool dead;

		pthread_mutex_lock(&ns->lock);
		dead = ns->dead;
		pthread_mutex_unlock(&ns->lock);
		if (dead && !ns->frozen && start_locked(sb, ns) < 0)
			log_warn("sandbox %s: cannot restart init", sb->id);
	}
	pthread_mutex_unlock(&ns->life);
}

/* Close the fds a reply from init carries. */
static void reply_close_fds(struct ns_wait *r)
{
	int k;

	for (k = 0; k < r->nfds; k++)
		close(r->fds[k]);
}

/* Turn init's reply r to a spawn request into *out (the pid and e2bd's ends
 * of its stdio) or an error; 0 or -1. */
static int take_spawn_reply(struct sandbox *sb, const struct nsbox_spawn_req *req,
			    struct ns_wait *r, struct nsbox_spawn_result *out,
			    struct rpc_error *err)
{
	if (r->h.type == NSMSG_ERROR) {
		rpc_fail(err, r->h.a == NSERR_INTERNAL ? "internal" : "invalid_argument",
			 "%s", r->msg);
		reply_close_fds(r);
		return -1;
	}
	if (r->h.type != NSMSG_SPAWNED) {
		reply_close_fds(r);
		rpc_fail(err, "internal", "bad reply from sandbox init");
		return -1;
	}
	if (r->nfds != (req->pty ? 1 : (req->stdin_pipe ? 3 : 2))) {
		/*
		 * Cannot happen with our init; the exit callback is already
		 * registered, so report success with no streams and kill it.
		 */
		reply_close_fds(r);
		out->pid = r->h.a;
		(void)nsbox_signal(sb, r->h.a, SIGKILL, err);
		return 0;
	}
	out->pid = r->h.a;
	if (req->pty) {
		out->pty_fd = r->fds[0];
	} else {
		out->stdout_fd = r->fds[0];
		out->stderr_fd = r->fds[1];
		if (req->stdin_pipe)
			out->stdin_fd = r->fds[2];
	}
	return 0;
}

int nsbox_spawn(struct sandbox *sb, const struct nsbox_spawn_req *req,
		nsbox_exit_fn cb, void *arg, struct nsbox_spawn_result *out,
		struct rpc_error *err)
{
	struct nsmsg_hdr h = { .type = NSMSG_SPAWN };
	struct nsbox *ns = sb->ns;
	struct ns_wait r;
	char *buf, msg[1024];
	size_t len;
	int rc;

	out->pid = -1;
	out->stdin_fd = out->stdout_fd = out->stderr_fd = out->pty_fd = -1;
	if (!ns)
		return rpc_fail(err, "internal", "sandbox is not running");
	if (nsbox_unpriv && (req->user->uid != SB_UID || req->user->gid != SB_GID))
		return rpc_fail(err, "invalid_argument", "user '%s' is not "
				"available: e2bd runs unprivileged and sandboxes "
				"have only uid %d", req->user->name, SB_UID);
	buf = encode_spawn(req, &len, err);
	if (!buf)
		return -1;
	restart_dead_init(sb, ns);
	if (ns_request(ns, &h, buf, len, cb, arg, &r, msg, sizeof(msg)) < 0) {
		rpc_fail(err, "internal", "%s", msg);
		rc = -1;
	} else {
		rc = take_spawn_reply(sb, req, &r, out, err);
	}
	free(buf);
	return rc;
}

int nsbox_signal(struct sandbox *sb, pid_t pid, int sig, struct rpc_error *err)
{
	struct nsmsg_hdr h = { .type = NSMSG_SIGNAL, .a = pid, .b = sig };
	struct ns_wait r;
	char msg[1024];
	int k;

	if (!sb->ns || pid <= 0)
		return rpc_fail(err, "internal", "sandbox is not running");
	if (ns_request(sb->ns, &h, NULL, 0, NULL, NULL, &r, msg, sizeof(msg)) < 0)
		return rpc_fail(err, "internal", "%s", msg);
	for (k = 0; k < r.nfds; k++)
		close(r.fds[k]);
	if (r.h.type != NSMSG_DONE)
		return rpc_fail(err, r.h.a == NSERR_NOTFOUND ? "not_found" : "internal",
				"%s", r.msg);
	return 0;
}
