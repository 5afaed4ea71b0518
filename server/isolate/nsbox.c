/* SPDX-License-Identifier: MIT */
/*
 * The isolation layer: each sandbox's root filesystem (overlayfs layers
 * under STATE/sandboxes/<id>/), its namespaces and init process, and its
 * freezer.
 *
 * Processes.  e2bd is multithreaded, and a process forked from a threaded
 * parent that keeps running (rather than exec'ing at once) can inherit
 * locks held by other threads.  So nsbox_global_init() forks one zygote
 * while e2bd is still single-threaded; the zygote stays single-threaded
 * and clone()s one init per sandbox in new mount, PID, UTS and IPC
 * namespaces.  Each init mounts the sandbox's /proc, /dev and /sys,
 * pivots into its root, drops dangerous capabilities from the bounding
 * set, and from then on forks the sandbox's processes on request, reaps
 * them and reports their exit status.  The zygote dies with e2bd and
 * every init with the zygote (PR_SET_PDEATHSIG), and the PID namespace
 * with its init, so nothing outlives e2bd.
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
 * resolved with openat2(RESOLVE_IN_ROOT) or *at(O_NOFOLLOW), and mounts
 * go through /proc/self/fd of an O_NOFOLLOW descriptor.
 *
 * Privileges.  As root, sandbox root is real root minus the dangerous
 * capabilities (bounding set) and behind a seccomp filter; cgroups
 * freeze sandboxes and cap their process count.  Without root, e2bd enters a user namespace of its own
 * mapping only uid/gid 1000 (the sandbox user) to the invoking user;
 * overlays use userxattr, pause falls back to SIGSTOP, and sandboxes have
 * no root.  If neither works, e2bd refuses to start.
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
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/e2bd.h"
#include "isolate/nsbox.h"
#include "isolate/nsinit.h"
#include "isolate/nsproc.h"
#include "isolate/sbfs.h"
#include "isolate/netns.h"

/* ==== messages, zygote and init (these run outside e2bd's threads) ==== */

/*
 * e2bd was started without root and runs in a user namespace of its own
 * that maps only uid/gid 1000 (the sandbox user) to the invoking user.
 * Set once by nsbox_global_init() before the zygote is forked.
 */
static bool g_unpriv;

/* CLONE_NEWNET from netns_global_init(), set before the zygote is forked. */
static int g_clone_net;

/*
 * snprintf that returns -1 when the output did not fit.  Paths here are
 * bounded by PATH_MAX and messages by their buffers; truncation of a
 * message is harmless and every path that matters is checked.
 */
static int xfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int xfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

int nsmsg_send(int sock, const struct nsmsg_hdr *h, const void *payload,
	       size_t len, const int *fds, int nfds)
{
	struct iovec iov[2];
	struct msghdr msg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * NSMSG_MAXFDS)];
		struct cmsghdr align;
	} u;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = (void *)h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = len ? 2 : 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		if (nfds > NSMSG_MAXFDS) {
			errno = EINVAL;
			return -1;
		}
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(*h) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

ssize_t nsmsg_recv(int sock, struct nsmsg_hdr *h, void *buf, size_t buflen,
		   int *fds, int *nfds)
{
	struct iovec iov[2];
	struct msghdr msg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * NSMSG_MAXFDS)];
		struct cmsghdr align;
	} u;
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	memset(&msg, 0, sizeof(msg));
	memset(h, 0, sizeof(*h));
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = buf;
	iov[1].iov_len = buflen;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int cnt = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int i;

			for (i = 0; i < cnt; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				if (*nfds < NSMSG_MAXFDS)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		}
	}
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(*h) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		int i;

		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return n - (ssize_t)sizeof(*h);
}

/* ---- code below runs in the zygote and in sandbox inits only ---- */

static void send_error(int sock, uint32_t seq, int kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void send_error(int sock, uint32_t seq, int kind, const char *fmt, ...)
{
	struct nsmsg_hdr h = { .type = NSMSG_ERROR, .seq = seq, .a = kind };
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	nsmsg_send(sock, &h, msg, (size_t)n, NULL, 0);
}

/* Go's syscall error strings are lowercase; envd's messages carry them. */
static const char *lc_strerror(int e, char *buf, size_t len)
{
	xfmt(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* Mount onto @name beneath @dirfd without following a symlink there. */
static int mount_at(int dirfd, const char *name, const char *src,
		    const char *fstype, unsigned long flags, const char *data)
{
	char path[64];
	int fd, rc;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	xfmt(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = mount(src, path, fstype, flags, data);
	close(fd);
	return rc;
}

/* Create an empty regular file @name in @dirfd (a bind-mount target). */
static int touch_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			0666);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * /dev of a sandbox: a small tmpfs with the harmless host device nodes
 * bind-mounted in, a private devpts instance and /dev/shm.  Runs before
 * pivot_root, while the host /dev is still reachable.
 */
static int setup_dev(int rootfd, char *err, size_t errlen)
{
	static const char *const nodes[] = {
		"null", "zero", "full", "random", "urandom", "tty",
	};
	static const char *const links[][2] = {
		{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" },
	};
	int devfd = -1, rc = -1;
	size_t i;

	if (mount_at(rootfd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
		     "mode=755,size=65536k,nr_inodes=4096") < 0) {
		xfmt(err, errlen, "cannot mount /dev: %s", strerror(errno));
		goto out;
	}
	devfd = openat(rootfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (devfd < 0) {
		xfmt(err, errlen, "cannot open /dev: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char host[64];

		xfmt(host, sizeof(host), "/dev/%s", nodes[i]);
		if (touch_at(devfd, nodes[i]) < 0 ||
		    mount_at(devfd, nodes[i], host, NULL, MS_BIND, NULL) < 0) {
			xfmt(err, errlen, "cannot bind '%s': %s", host,
				 strerror(errno));
			goto out;
		}
	}
	if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0 ||
	    mkdirat(devfd, "mqueue", 0755) < 0) {
		xfmt(err, errlen, "cannot populate /dev: %s", strerror(errno));
		goto out;
	}
	/* A new devpts instance: the sandbox sees only its own terminals. */
	/* gid 5 (tty) is not mapped in the unprivileged user namespace. */
	if (mount_at(devfd, "pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		     g_unpriv ? "newinstance,ptmxmode=0666,mode=0620"
			      : "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0) {
		xfmt(err, errlen, "cannot mount /dev/pts: %s", strerror(errno));
		goto out;
	}
	if (mount_at(devfd, "shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV,
		     "mode=1777,size=65536k") < 0) {
		xfmt(err, errlen, "cannot mount /dev/shm: %s", strerror(errno));
		goto out;
	}
	/* POSIX message queues of this IPC namespace; optional. */
	(void)mount_at(devfd, "mqueue", "mqueue", "mqueue",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (symlinkat(links[i][1], devfd, links[i][0]) < 0) {
			xfmt(err, errlen, "cannot create /dev/%s: %s",
				 links[i][0], strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (devfd >= 0)
		close(devfd);
	return rc;
}

/*
 * Capabilities that root inside a sandbox keeps (Docker's default set
 * minus CAP_MKNOD): everything that could reach the host kernel or other
 * namespaces (CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE,
 * CAP_DAC_READ_SEARCH for open_by_handle_at, ...) goes from the bounding
 * set, so no process exec'd in the sandbox can ever hold it.
 */
static int drop_capabilities(void)
{
	static const int keep[] = {
		CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL,
		CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
		CAP_NET_RAW, CAP_SYS_CHROOT, CAP_AUDIT_WRITE, CAP_SETFCAP,
	};
	int cap;

	for (cap = 0; cap < 64; cap++) {
		size_t i;
		bool kept = false;

		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (keep[i] == cap)
				kept = true;
		if (kept)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;	/* past the kernel's last capability */
			return -1;
		}
	}
	return 0;
}

/*
 * Like Docker's default profile (moby's oci/defaults.go masked and
 * read-only paths): root in a sandbox can neither read the host kernel's
 * secrets and details (keys, timers, interrupts, firmware) nor tune it
 * (/proc/sys, /proc/irq, /proc/bus).  Masked files get /dev/null bound over
 * them, masked directories an empty read-only tmpfs; the read-only trees
 * are bound onto themselves read-only.  Called after pivot_root, once
 * /proc and /sys are mounted; a path this kernel lacks is skipped.
 */
static void mask_kernel_paths(void)
{
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore",
		"/proc/keys", "/proc/key-users", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/proc/sysrq-trigger", "/proc/kallsyms",
		"/proc/kmsg", "/proc/kpagecount", "/proc/kpageflags",
		"/proc/kpagecgroup", "/proc/pagetypeinfo", "/proc/slabinfo",
		"/proc/vmallocinfo", "/sys/firmware",
		"/sys/devices/virtual/powercap", "/sys/kernel/debug",
		"/sys/kernel/security", "/sys/fs/bpf",
	};
	static const char *const read_only[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
	};
	const unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		if (lstat(masked[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			(void)mount("tmpfs", masked[i], "tmpfs", MS_RDONLY | locked,
				    "size=0,mode=0555");
		else
			(void)mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
	}
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) == 0)
			(void)mount(NULL, read_only[i], NULL,
				    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked, NULL);
}

/*
 * Make the sandbox's view: /proc (this PID namespace), /sys read-only,
 * /dev, then pivot_root into @root and drop the host's tree entirely.
 */
static int init_setup(const char *root, const char *hostname, char *err,
		      size_t errlen)
{
	int rootfd = -1, rc = -1, fd;

	if (sethostname(hostname, strlen(hostname)) < 0) {
		xfmt(err, errlen, "cannot set hostname: %s", strerror(errno));
		goto out;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		xfmt(err, errlen, "cannot make mounts private: %s",
			 strerror(errno));
		goto out;
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		xfmt(err, errlen, "cannot open root '%s': %s", root,
			 strerror(errno));
		goto out;
	}
	if (mount_at(rootfd, "proc", "proc", "proc",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		xfmt(err, errlen, "cannot mount /proc: %s", strerror(errno));
		goto out;
	}
	/* /sys is a convenience (lscpu, nproc fallbacks); never fatal. */
	(void)mount_at(rootfd, "sys", "sysfs", "sysfs",
		       MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (setup_dev(rootfd, err, errlen) < 0)
		goto out;
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		xfmt(err, errlen, "cannot pivot into '%s': %s", root,
			 strerror(errno));
		goto out;
	}
	/* The old root is stacked on "."; detaching it hides the host. */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		xfmt(err, errlen, "cannot detach the host root: %s",
			 strerror(errno));
		goto out;
	}
	mask_kernel_paths();
	if (drop_capabilities() < 0) {
		xfmt(err, errlen, "cannot drop capabilities: %s",
			 strerror(errno));
		goto out;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	rc = 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* Supplementary groups of @user from the sandbox's own /etc/group. */
static int user_groups(const char *user, gid_t gid, gid_t *groups, int max)
{
	FILE *f;
	char line[4096];
	int n = 0;

	groups[n++] = gid;
	f = fopen("/etc/group", "re");
	if (!f)
		return n;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *fields[4], *p = line, *m;
		int i;
		long g;
		char *end;

		for (i = 0; i < 4; i++) {
			fields[i] = p;
			p = p ? strchr(p, ':') : NULL;
			if (p)
				*p++ = '\0';
		}
		if (!fields[3])
			continue;
		fields[3][strcspn(fields[3], "\n")] = '\0';
		errno = 0;
		g = strtol(fields[2], &end, 10);
		if (errno || end == fields[2] || *end || g < 0)
			continue;
		for (m = fields[3]; m && *m;) {
			char *comma = strchr(m, ',');

			if (comma)
				*comma = '\0';
			if (strcmp(m, user) == 0 && (gid_t)g != gid) {
				groups[n++] = (gid_t)g;
				break;
			}
			m = comma ? comma + 1 : NULL;
		}
	}
	fclose(f);
	return n;
}

struct spawn_args {
	const struct nsmsg_spawn *sp;
	const char *user;
	const char *cwd;
	char **argv;	/* argc + 1 */
	char **envp;	/* envc + 1 */
};

/* Split the strings after struct nsmsg_spawn; -1 if malformed. */
static int parse_spawn(char *payload, size_t len, struct spawn_args *a)
{
	char *p, *end = payload + len;
	uint32_t i, total;

	if (len < sizeof(struct nsmsg_spawn))
		return -1;
	a->sp = (const struct nsmsg_spawn *)payload;
	if (a->sp->argc == 0 || a->sp->argc > 65536 || a->sp->envc > 65536)
		return -1;
	total = 2 + a->sp->argc + a->sp->envc;
	a->argv = calloc(a->sp->argc + 1, sizeof(char *));
	a->envp = calloc(a->sp->envc + 1, sizeof(char *));
	if (!a->argv || !a->envp)
		return -1;
	p = payload + sizeof(struct nsmsg_spawn);
	for (i = 0; i < total; i++) {
		char *nul = memchr(p, '\0', (size_t)(end - p));

		if (p >= end || !nul)
			return -1;
		if (i == 0)
			a->user = p;
		else if (i == 1)
			a->cwd = p;
		else if (i < 2 + a->sp->argc)
			a->argv[i - 2] = p;
		else
			a->envp[i - 2 - a->sp->argc] = p;
		p = nul + 1;
	}
	return 0;
}

/* In the forked child: report why it could not exec, then die. */
static void __attribute__((noreturn)) child_fail(int errfd, const char *what,
						 int e)
{
	char buf[512], es[128];

	xfmt(buf, sizeof(buf), "%s: %s", what, lc_strerror(e, es, sizeof(es)));
	(void)!write(errfd, buf, strlen(buf));
	_exit(127);
}

/*
 * Defence in depth for sandbox processes (Docker's default profile in
 * spirit): system calls that only widen the kernel's attack surface fail
 * with EPERM, creating user namespaces (which hand out capabilities
 * again) is refused, clone3 answers ENOSYS so libc falls back to clone
 * (whose flags a filter can see), and foreign-ABI calls (32-bit, x32)
 * fail so they cannot bypass the list.
 */
#if defined(__x86_64__)
#define SB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SB_AUDIT_ARCH
static const int denied_syscalls[] = {
	__NR_keyctl, __NR_add_key, __NR_request_key, __NR_bpf,
	__NR_perf_event_open, __NR_userfaultfd, __NR_kexec_load,
	__NR_init_module, __NR_finit_module, __NR_delete_module, __NR_reboot,
	__NR_swapon, __NR_swapoff, __NR_open_by_handle_at, __NR_mount,
	__NR_umount2, __NR_pivot_root, __NR_acct, __NR_syslog,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_fsopen
	__NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
	__NR_move_mount, __NR_open_tree,
#endif
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
#ifdef __NR_iopl
	__NR_iopl, __NR_ioperm,
#endif
};

static int install_seccomp(void)
{
	enum { NDENY = sizeof(denied_syscalls) / sizeof(denied_syscalls[0]) };
	struct sock_filter prog[2 * NDENY + 16];
	struct sock_fprog fprog;
	unsigned n = 0, i;

#define INS(s) (prog[n++] = (struct sock_filter)s)
	INS(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	INS(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_AUDIT_ARCH, 1, 0));
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	INS(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	INS(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));	/* x32 */
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
#endif
	INS(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	/* clone and unshare: no CLONE_NEWUSER (flags are argument 0). */
	INS(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0));
	INS(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 4));
	INS(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
	INS(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1));
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	for (i = 0; i < NDENY; i++) {
		INS(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied_syscalls[i], 0, 1));
		INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	}
	INS(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef INS
	fprog.len = (unsigned short)n;
	fprog.filter = prog;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}
#else
static int install_seccomp(void)
{
	return 0;	/* NEEDSWORK: a filter for this architecture */
}
#endif

/* The forked child: become the user, enter cwd, exec. */
static void __attribute__((noreturn))
child_exec(const struct spawn_args *a, int in, int out, int errout, int errfd)
{
	gid_t groups[64];
	int ngroups;
	sigset_t all;
	char what[4200];
	char **argv;
	int i, sig;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (setsid() < 0)
		child_fail(errfd, "setsid", errno);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errout, 2) < 0)
		child_fail(errfd, "dup2", errno);
	if (a->sp->flags & NSSPAWN_PTY) {
		if (ioctl(0, TIOCSCTTY, 0) < 0)
			child_fail(errfd, "ioctl TIOCSCTTY", errno);
	}
	/* Everything but 0-2 and the error pipe goes (the init socket too). */
	if (errfd > 3)
		close_range(3, (unsigned)errfd - 1, 0);
	close_range((unsigned)errfd + 1, ~0U, 0);
	/* Still privileged here: no need for no_new_privs (sudo keeps working). */
	if (install_seccomp() < 0)
		child_fail(errfd, "seccomp", errno);
	ngroups = user_groups(a->user, a->sp->gid, groups, 64);
	/* Unprivileged, setgroups is denied and 1000 is the only group. */
	if (setgroups((size_t)ngroups, groups) < 0 && !g_unpriv)
		child_fail(errfd, "setgroups", errno);
	if (setgid(a->sp->gid) < 0)
		child_fail(errfd, "setgid", errno);
	if (setuid(a->sp->uid) < 0)
		child_fail(errfd, "setuid", errno);
	if (chdir(a->cwd) < 0) {
		xfmt(what, sizeof(what), "chdir %s", a->cwd);
		child_fail(errfd, what, errno);
	}
	/*
	 * envd runs every command through /bin/sh to set its OOM score
	 * (protocol.md §2.6.3); that is also why a missing command is exit
	 * status 127 from sh rather than a Start error.  A template without
	 * /bin/sh gets a direct exec.
	 */
	if (access("/bin/sh", X_OK) == 0) {
		argv = calloc(a->sp->argc + 5, sizeof(char *));
		if (!argv)
			child_fail(errfd, "fork/exec /bin/sh", ENOMEM);
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)NSINIT_SH_WRAPPER;
		argv[3] = (char *)"--";
		for (i = 0; i < (int)a->sp->argc; i++)
			argv[4 + i] = a->argv[i];
		execve("/bin/sh", argv, a->envp);
		child_fail(errfd, "fork/exec /bin/sh", errno);
	}
	environ = a->envp;
	execvp(a->argv[0], a->argv);
	xfmt(what, sizeof(what), "fork/exec %s", a->argv[0]);
	child_fail(errfd, what, errno);
}

/* Open a PTY pair in this (the sandbox's) devpts; owner = the user. */
static int open_pty(const struct nsmsg_spawn *sp, int *master, int *slave)
{
	struct winsize ws = { .ws_row = (unsigned short)sp->rows,
			      .ws_col = (unsigned short)sp->cols };
	int unlock = 0;

	*slave = -1;
	*master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -1;
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0)
		goto fail;
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	if (fchown(*slave, sp->uid, g_unpriv ? (gid_t)-1 : 5) < 0 ||
	    fchmod(*slave, 0620) < 0)
		goto fail;
	if (ws.ws_row && ws.ws_col)
		(void)ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
fail:
	if (*slave >= 0)
		close(*slave);
	close(*master);
	return -1;
}

struct init_state {
	int sock;
	pid_t *kids;	/* children whose exit e2bd wants to hear about */
	size_t nkids, capkids;
};

static void handle_spawn(struct init_state *st, const struct nsmsg_hdr *h,
			 char *payload, size_t len)
{
	struct nsmsg_hdr r = { .type = NSMSG_SPAWNED, .seq = h->seq };
	struct spawn_args a = { 0 };
	int cin = -1, cout = -1, cerr = -1;	/* the child's ends */
	int pfds[3] = { -1, -1, -1 };		/* e2bd's ends */
	int npfds = 0, errpipe[2] = { -1, -1 };
	char es[128], msg[1024];
	struct stat stbuf;
	ssize_t n;
	pid_t pid;
	int i;

	if (parse_spawn(payload, len, &a) < 0) {
		send_error(st->sock, h->seq, NSERR_INTERNAL,
			   "malformed spawn request");
		goto out;
	}
	if (stat(a.cwd, &stbuf) < 0 && errno == ENOENT) {
		send_error(st->sock, h->seq, NSERR_CWD,
			   "cwd '%s' does not exist", a.cwd);
		goto out;
	}
	if (st->nkids == st->capkids) {
		size_t cap = st->capkids ? st->capkids * 2 : 64;
		pid_t *k = realloc(st->kids, cap * sizeof(*k));

		if (!k) {
			send_error(st->sock, h->seq, NSERR_INTERNAL,
				   "out of memory");
			goto out;
		}
		st->kids = k;
		st->capkids = cap;
	}
	if (a.sp->flags & NSSPAWN_PTY) {
		if (open_pty(a.sp, &pfds[0], &cin) < 0) {
			send_error(st->sock, h->seq, NSERR_START,
				   "error starting pty: %s",
				   lc_strerror(errno, es, sizeof(es)));
			goto out;
		}
		npfds = 1;
		cout = dup(cin);
		cerr = dup(cin);
	} else {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			goto pipefail;
		pfds[0] = p[0];
		cout = p[1];
		if (pipe2(p, O_CLOEXEC) < 0)
			goto pipefail;
		pfds[1] = p[0];
		cerr = p[1];
		npfds = 2;
		if (a.sp->flags & NSSPAWN_STDIN) {
			if (pipe2(p, O_CLOEXEC) < 0)
				goto pipefail;
			cin = p[0];
			pfds[2] = p[1];
			npfds = 3;
		} else {
			cin = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
	}
	if (cin < 0 || cout < 0 || cerr < 0)
		goto pipefail;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		goto pipefail;
	pid = fork();
	if (pid < 0) {
		send_error(st->sock, h->seq, NSERR_START,
			   "error starting process: fork: %s",
			   lc_strerror(errno, es, sizeof(es)));
		goto out;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child_exec(&a, cin, cout, cerr, errpipe[1]);
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	/* EOF means exec succeeded (close-on-exec); bytes are its failure. */
	do {
		n = read(errpipe[0], msg, sizeof(msg) - 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		char cmdline[512];
		size_t off = 0;
		int status;

		msg[n] = '\0';
		waitpid(pid, &status, 0);
		/* envd names the command as "cmd arg1 arg2 ..." here. */
		cmdline[0] = '\0';
		for (i = 0; a.argv[i] && off < sizeof(cmdline) - 1; i++) {
			int w = xfmt(cmdline + off, sizeof(cmdline) - off, "%s%s",
				     i ? " " : "", a.argv[i]);

			off = w < 0 ? sizeof(cmdline) - 1 : off + (size_t)w;
		}
		send_error(st->sock, h->seq, NSERR_START,
			   "error starting process '%s': %s", cmdline, msg);
		goto out;
	}
	st->kids[st->nkids++] = pid;
	r.a = pid;
	nsmsg_send(st->sock, &r, NULL, 0, pfds, npfds);
	goto out;
pipefail:
	send_error(st->sock, h->seq, NSERR_INTERNAL,
		   "error creating pipes: %s", lc_strerror(errno, es, sizeof(es)));
out:
	for (i = 0; i < 3; i++)
		if (pfds[i] >= 0)
			close(pfds[i]);
	if (cin >= 0)
		close(cin);
	if (cout >= 0)
		close(cout);
	if (cerr >= 0)
		close(cerr);
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	free(a.argv);
	free(a.envp);
}

static void handle_signal(struct init_state *st, const struct nsmsg_hdr *h)
{
	struct nsmsg_hdr r = { .type = NSMSG_DONE, .seq = h->seq };
	char es[128];
	size_t i;
	bool known = false;

	if (h->a == 0) {
		/* Every process but init itself (the SIGSTOP freezer fallback). */
		if (kill(-1, h->b) < 0 && errno != ESRCH) {
			send_error(st->sock, h->seq, NSERR_INTERNAL, "%s",
				   lc_strerror(errno, es, sizeof(es)));
			return;
		}
		nsmsg_send(st->sock, &r, NULL, 0, NULL, 0);
		return;
	}
	for (i = 0; i < st->nkids; i++)
		if (st->kids[i] == h->a)
			known = true;
	if (!known) {
		send_error(st->sock, h->seq, NSERR_NOTFOUND, "process %d not found",
			   h->a);
		return;
	}
	if (kill(h->a, h->b) < 0) {
		send_error(st->sock, h->seq, NSERR_INTERNAL, "%s",
			   lc_strerror(errno, es, sizeof(es)));
		return;
	}
	nsmsg_send(st->sock, &r, NULL, 0, NULL, 0);
}

/* Reap every child; report the ones e2bd started. */
static void reap(struct init_state *st)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		size_t i;

		if (pid <= 0)
			return;
		for (i = 0; i < st->nkids; i++) {
			if (st->kids[i] == pid) {
				struct nsmsg_hdr h = { .type = NSMSG_EXIT,
						       .a = pid, .b = status };

				st->kids[i] = st->kids[--st->nkids];
				nsmsg_send(st->sock, &h, NULL, 0, NULL, 0);
				break;
			}
		}
	}
}

/*
 * Wait for e2bd's next message on @sock into @h and @buf (NSMSG_MAX + 64
 * bytes), reaping children whenever @sfd (SIGCHLD) fires: through reap()
 * in an init, silently when @st is NULL (the zygote).  Passed fds are
 * closed.  Returns what nsmsg_recv() does; a failed poll ends the process.
 */
static ssize_t next_msg(int sock, int sfd, struct init_state *st,
			struct nsmsg_hdr *h, char *buf)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		int fds[NSMSG_MAXFDS], nfds, i, status;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
			if (st)
				reap(st);
			else
				while (waitpid(-1, &status, WNOHANG) > 0)
					;
		}
		if (!p[0].revents)
			continue;
		n = nsmsg_recv(sock, h, buf, NSMSG_MAX + 64, fds, &nfds);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return n;
	}
}

/*
 * The zygote and every init are copies of e2bd, so /proc/1/cmdline in a
 * sandbox would show e2bd's command line (state dir, key file path).
 * Blank the argument area (its bounds are fields 48-49 of
 * /proc/self/stat) and leave a neutral name in it.
 */
static void hide_cmdline(const char *name)
{
	char buf[2048], *p;
	unsigned long start = 0, end = 0;
	int fd, field;
	ssize_t n;

	prctl(PR_SET_NAME, name);
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p)
		return;
	for (field = 2; p && field < 48; field++) {
		p = strchr(p + 1, ' ');
	}
	if (!p || sscanf(p + 1, "%lu %lu", &start, &end) != 2 || end <= start ||
	    end - start < strlen(name) + 1)
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, strlen(name));
}

static int write_oom_score(const char *v)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	close(fd);
	return n < 0 ? -1 : 0;
}

static void __attribute__((noreturn))
init_main(int sock, const char *root, const char *hostname)
{
	struct init_state st = { .sock = sock };
	struct nsmsg_hdr h = { .type = NSMSG_READY };
	char err[1024];
	sigset_t mask;
	char *buf;
	int sfd, one = 4 << 20;

	/*
	 * The zygote dying (e2bd gone) takes the whole namespace down.  No
	 * getppid() check for the race: it is 0 in a new PID namespace; an
	 * init orphaned that early finds its socket closed instead.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	hide_cmdline("init");
	/* Undo e2bd's OOM protection: sandboxes are what the OOM killer takes. */
	(void)write_oom_score("0");
	setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	if ((g_clone_net && netns_init_loopback(err, sizeof(err)) < 0) ||
	    init_setup(root, hostname, err, sizeof(err)) < 0) {
		send_error(sock, 0, NSERR_INTERNAL, "%s", err);
		_exit(1);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	buf = malloc(NSMSG_MAX + 64);
	if (sfd < 0 || !buf) {
		send_error(sock, 0, NSERR_INTERNAL, "cannot start init: %s",
			   strerror(errno));
		_exit(1);
	}
	nsmsg_send(sock, &h, NULL, 0, NULL, 0);
	for (;;) {
		ssize_t n = next_msg(sock, sfd, &st, &h, buf);

		if (n < 0 && errno == EMSGSIZE) {
			send_error(sock, h.seq, NSERR_INTERNAL, "request too large");
			continue;
		}
		if (n < 0 || (n == 0 && h.type == 0))
			_exit(0);	/* e2bd went away: end the sandbox */
		switch (h.type) {
		case NSMSG_SPAWN:
			handle_spawn(&st, &h, buf, (size_t)n);
			break;
		case NSMSG_SIGNAL:
			handle_signal(&st, &h);
			break;
		default:
			send_error(sock, h.seq, NSERR_INTERNAL,
				   "unknown request %u", h.type);
		}
	}
}

/* Zygote: START → clone an init in new namespaces, hand back its socket. */
static void zygote_start(int chan, const struct nsmsg_hdr *h, char *payload,
			 size_t len)
{
	struct nsmsg_hdr r = { .type = NSMSG_STARTED, .seq = h->seq };
	char *root = payload, *host, *nul;
	int sv[2], one = 4 << 20;
	pid_t pid;

	nul = memchr(payload, '\0', len);
	if (!nul || (size_t)(nul - payload) + 1 >= len ||
	    !memchr(nul + 1, '\0', len - (size_t)(nul - payload) - 1)) {
		send_error(chan, h->seq, NSERR_INTERNAL, "malformed start request");
		return;
	}
	host = nul + 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		send_error(chan, h->seq, NSERR_INTERNAL, "socketpair: %s",
			   strerror(errno));
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	/* Raw clone: fork semantics (same stack) plus the new namespaces. */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
			     CLONE_NEWIPC | g_clone_net | SIGCHLD, NULL, NULL,
			     NULL, 0);
	if (pid < 0) {
		send_error(chan, h->seq, NSERR_INTERNAL,
			   "cannot create namespaces: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGCHLD, SIG_DFL);
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		/* Only the init socket survives: not the zygote's channel. */
		close_range(4, ~0U, 0);
		init_main(3, root, host);
	}
	close(sv[1]);
	/* A pidfd taken before we could reap it: e2bd kills by pidfd. */
	{
		int fds[2] = { sv[0], (int)syscall(SYS_pidfd_open, pid, 0) };

		if (fds[1] < 0) {
			kill(pid, SIGKILL);
			send_error(chan, h->seq, NSERR_INTERNAL, "pidfd_open: %s",
				   strerror(errno));
		} else {
			r.a = pid;
			nsmsg_send(chan, &r, NULL, 0, fds, 2);
			close(fds[1]);
		}
	}
	close(sv[0]);
}

static void __attribute__((noreturn)) zygote_main(int chan, pid_t parent)
{
	sigset_t mask;
	char *buf;
	int sfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	hide_cmdline("e2bd-zygote");
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	buf = malloc(NSMSG_MAX + 64);
	if (sfd < 0 || !buf)
		_exit(1);
	for (;;) {
		struct nsmsg_hdr h;
		ssize_t n = next_msg(chan, sfd, NULL, &h, buf);

		if (n < 0 && errno == EMSGSIZE)
			continue;
		if (n < 0 || (n == 0 && h.type == 0))
			_exit(0);	/* e2bd exited: inits die with us */
		if (h.type == NSMSG_START)
			zygote_start(chan, &h, buf, (size_t)n);
		else
			send_error(chan, h.seq, NSERR_INTERNAL,
				   "unknown request %u", h.type);
	}
}

pid_t nsinit_zygote_spawn(int *sock, char *err, size_t errlen)
{
	int sv[2];
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		xfmt(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		xfmt(err, errlen, "cannot fork the zygote: %s",
			 strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		/* Drop e2bd's files (state dir, log, key) from the zygote. */
		close_range(4, ~0U, 0);
		zygote_main(3, parent);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

/* ==== e2bd's side ==== */

#define SB_UID 1000
#define SB_GID 1000
#define REQUEST_TIMEOUT_MS 10000
#define INIT_READY_TIMEOUT_MS 10000
#define MAX_MOUNTS 16
/* Most processes (threads count) one sandbox may have at once. */
#define SB_PIDS_MAX "2048"

enum freezer_kind { FREEZER_SIGNAL, FREEZER_V1, FREEZER_V2 };

/* Process-wide state, set once by nsbox_global_init(). */
static struct {
	bool ready;
	int zsock;		/* channel to the zygote, protected by zlock */
	pid_t zpid;
	pthread_mutex_t zlock;
	uint32_t zseq;		/* protected by zlock */
	enum freezer_kind freezer;
	char cgbase[PATH_MAX];	/* per-sandbox cgroups are made under it */
	char pidsbase[PATH_MAX];	/* cgroup v1 pids hierarchy, "" if none */
	char membase[PATH_MAX];	/* cgroup v1 memory hierarchy, "" if none */
} G = { .zsock = -1, .zlock = PTHREAD_MUTEX_INITIALIZER };

struct ns_wait {
	struct ns_wait *next;
	uint32_t seq;
	bool done;
	nsproc_exit_fn cb;	/* registered when SPAWNED arrives */
	void *arg;
	struct nsmsg_hdr h;
	char msg[1024];
	int fds[NSMSG_MAXFDS];
	int nfds;
};

struct ns_child {
	struct ns_child *next;
	pid_t pid;
	nsproc_exit_fn cb;
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
	char *mounts[MAX_MOUNTS];	/* host paths, unmounted in reverse */
	int nmounts;
	char cgroup[PATH_MAX];	/* "" when none */
	char pidscg[PATH_MAX];	/* cgroup v1 pids group, "" when none */
	char memcg[PATH_MAX];	/* cgroup v1 memory group, "" when none */
	bool frozen;
	struct netns_sb net;	/* protected by life */
};

/* ---- small helpers ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	size_t len = strlen(data);

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];

			tmp[i] = '\0';
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -1;
			tmp[i] = c;
		}
	}
	return 0;
}

/*
 * Ensure @name in @dirfd is a real directory (never a symlink).  A new one
 * gets @mode and @uid/@gid; an existing one is left as the sandbox made it.
 */
static int ensure_dir(int dirfd, const char *name, mode_t mode, uid_t uid,
		      gid_t gid)
{
	struct stat st;
	int fd;

	if (mkdirat(dirfd, name, mode) == 0) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			return -1;
		/* mkdir's mode is filtered by the umask; sticky needs fchmod. */
		if ((!g_unpriv && fchown(fd, uid, gid) < 0) || fchmod(fd, mode) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* ensure_dir() for a path beneath the sandbox root ("home/user"). */
static int root_ensure_dir(int rootfd, const char *path, mode_t mode,
			   uid_t uid, gid_t gid)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int pfd, rc;

	if (!slash)
		return ensure_dir(rootfd, path, mode, uid, gid);
	if ((size_t)(slash - path) >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	pfd = sbfs_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
	if (pfd < 0)
		return -1;
	rc = ensure_dir(pfd, slash + 1, mode, uid, gid);
	close(pfd);
	return rc;
}

/* Replace @dir/@name atomically with @data (written beneath the root). */
static int root_replace(int rootfd, const char *dir, const char *name,
			const char *data, mode_t mode)
{
	char tmp[300];
	int dfd, fd = -1, rc = -1;
	size_t len = strlen(data);

	dfd = sbfs_open(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0)
		return -1;
	xfmt(tmp, sizeof(tmp), ".%s.e2bd-new", name);
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode);
	if (fd < 0)
		goto out;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0 ||
	    (!g_unpriv && fchown(fd, 0, 0) < 0))
		goto out;
	if (renameat(dfd, tmp, dfd, name) < 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	return rc;
}

/*
 * Make sure the passwd/group style file @path has the line @want for
 * @name; lines for @name or for id 1000 (the host's uid-1000 user, say)
 * are replaced.  Only the sandbox's copy changes (overlay copy-up).
 */
static int ensure_account(int rootfd, const char *path, const char *name,
			  const char *want)
{
	char *old, *out = NULL, *line, *next, dir[64];
	size_t cap, len = 0, nlen = strlen(name);
	const char *slash;
	int rc = -1;

	old = sbfs_read_small(rootfd, path, 4u << 20);
	if (!old) {
		old = strdup("");
		if (!old)
			return -1;
	}
	cap = strlen(old) + strlen(want) + 3;
	out = malloc(cap);
	if (!out)
		goto out;
	out[0] = '\0';
	for (line = old; *line; line = next) {
		const char *p, *id;
		size_t l;

		next = strchr(line, '\n');
		l = next ? (size_t)(next - line) : strlen(line);
		next = next ? next + 1 : line + l;
		p = memchr(line, ':', l);
		id = p ? memchr(p + 1, ':', l - (size_t)(p + 1 - line)) : NULL;
		/* Drop lines naming @name or id 1000; @want goes last. */
		if ((l > nlen && strncmp(line, name, nlen) == 0 && line[nlen] == ':') ||
		    (id && (size_t)(id + 6 - line) <= l &&
		     strncmp(id + 1, "1000:", 5) == 0))
			continue;
		if (l == 0)
			continue;
		memcpy(out + len, line, l);
		len += l;
		out[len++] = '\n';
	}
	len += (size_t)xfmt(out + len, cap - len, "%s\n", want);
	if (strcmp(out, old) == 0) {
		rc = 0;
		goto out;
	}
	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		goto out;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	rc = root_replace(rootfd, dir, slash + 1, out, 0644);
out:
	free(old);
	free(out);
	return rc;
}

/* Add "line" to @path unless a line equal to it exists. */
static int ensure_line(int rootfd, const char *dir, const char *name,
		       const char *line, mode_t mode)
{
	char path[128], *old, *buf;
	size_t need;
	int rc;

	xfmt(path, sizeof(path), "%s/%s", dir, name);
	old = sbfs_read_small(rootfd, path, 1u << 20);
	if (old) {
		const char *p = old;
		size_t l = strlen(line);

		for (p = strstr(p, line); p; p = strstr(p, line)) {
			if ((p == old || p[-1] == '\n') &&
			    (p[l] == '\n' || p[l] == '\0')) {
				free(old);
				return 0;
			}
			p += l;
		}
	}
	need = (old ? strlen(old) : 0) + strlen(line) + 3;
	buf = malloc(need);
	if (!buf) {
		free(old);
		return -1;
	}
	xfmt(buf, need, "%s%s%s\n", old ? old : "",
		 old && *old && old[strlen(old) - 1] != '\n' ? "\n" : "", line);
	rc = root_replace(rootfd, dir, name, buf, mode);
	free(old);
	free(buf);
	return rc;
}

/* Append @line to @path unless some line starts with @prefix. */
static int ensure_line_prefix(int rootfd, const char *path, const char *prefix,
			      const char *line)
{
	char *old = sbfs_read_small(rootfd, path, 4u << 20), *buf, dir[64];
	const char *p, *slash = strrchr(path, '/');
	size_t need, plen = strlen(prefix);
	int rc;

	for (p = old; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		if (strncmp(p, prefix, plen) == 0) {
			free(old);
			return 0;
		}
	}
	if (!slash || (size_t)(slash - path) >= sizeof(dir)) {
		free(old);
		errno = EINVAL;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	need = (old ? strlen(old) : 0) + strlen(line) + 3;
	buf = malloc(need);
	if (!buf) {
		free(old);
		return -1;
	}
	xfmt(buf, need, "%s%s%s\n", old ? old : "",
	     old && *old && old[strlen(old) - 1] != '\n' ? "\n" : "", line);
	rc = root_replace(rootfd, dir, slash + 1, buf, 0644);
	free(old);
	free(buf);
	return rc;
}

/*
 * A host /etc/resolv.conf that is a symlink into /run (systemd-resolved,
 * resolvconf) dangles inside the sandbox, which has its own /run: give
 * the sandbox a copy of what the host resolves it to.
 */
static void fix_resolv_conf(struct sandbox *sb, int rootfd)
{
	char buf[8192];
	ssize_t n;
	int fd;

	fd = sbfs_open(rootfd, "etc/resolv.conf", O_PATH, 0);
	if (fd >= 0) {
		close(fd);
		return;	/* resolves inside the sandbox: fine */
	}
	fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	fd = sbfs_open(rootfd, "etc", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return;
	(void)unlinkat(fd, "resolv.conf", 0);
	close(fd);
	if (root_replace(rootfd, "etc", "resolv.conf", buf, 0644) < 0)
		log_warn("sandbox %s: cannot write /etc/resolv.conf", sb->id);
}

/*
 * /run/e2b/.E2B_SANDBOX, .E2B_SANDBOX_ID, .E2B_TEAM_ID and .E2B_TEMPLATE_ID,
 * as E2B's sandboxes have them (the same values process.c puts in every
 * process's environment).
 */
static void write_e2b_markers(struct sandbox *sb, int rootfd)
{
	const struct {
		const char *name;
		const char *value;
	} m[] = {
		{ ".E2B_SANDBOX", "true" },
		{ ".E2B_SANDBOX_ID", sb->id },
		{ ".E2B_TEAM_ID", E2BD_TEAM_ID },
		{ ".E2B_TEMPLATE_ID", sb->template_id },
	};
	size_t i;

	if (root_ensure_dir(rootfd, "run/e2b", 0755, 0, 0) < 0) {
		log_warn("sandbox %s: cannot create /run/e2b: %s", sb->id, strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (root_replace(rootfd, "run/e2b", m[i].name, m[i].value, 0644) < 0)
			log_warn("sandbox %s: cannot write /run/e2b/%s", sb->id, m[i].name);
}

/*
 * The sandbox's own users and directories: user `user` (uid/gid 1000,
 * home /home/user), passwordless sudo for it where sudo exists, the
 * hostname in /etc/hosts, and the writable top-level directories.
 */
static int setup_sandbox_tree(struct sandbox *sb, int rootfd, char *err,
			      size_t errlen)
{
	static const struct {
		const char *path;
		mode_t mode;
		uid_t uid;
		bool required;	/* a mount point, or needed below */
	} dirs[] = {
		{ "proc", 0555, 0, true }, { "dev", 0755, 0, true },
		{ "sys", 0555, 0, true }, { "etc", 0755, 0, true },
		{ "tmp", 01777, 0, false }, { "root", 0700, 0, false },
		{ "home", 0755, 0, false }, { "home/user", 0755, SB_UID, false },
		{ "run", 0755, 0, false }, { "var", 0755, 0, false },
		{ "var/tmp", 01777, 0, false }, { "var/log", 0755, 0, false },
		{ "var/cache", 0755, 0, false }, { "var/lib", 0755, 0, false },
		{ "mnt", 0755, 0, false },
	};
	char hosts[128];
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (root_ensure_dir(rootfd, dirs[i].path, dirs[i].mode,
				    dirs[i].uid, dirs[i].uid ? SB_GID : 0) == 0)
			continue;
		/*
		 * The sandbox may have replaced a top-level directory with a
		 * symlink or file.  A mount point gets its directory back
		 * (never following the link); anything else is its business.
		 */
		if (dirs[i].required && errno == ENOTDIR &&
		    unlinkat(rootfd, dirs[i].path, 0) == 0 &&
		    root_ensure_dir(rootfd, dirs[i].path, dirs[i].mode, 0, 0) == 0)
			continue;
		if (dirs[i].required) {
			xfmt(err, errlen, "cannot create '/%s' in sandbox: %s",
			     dirs[i].path, strerror(errno));
			return -1;
		}
		log_warn("sandbox %s: '/%s' is not a directory: %s", sb->id,
			 dirs[i].path, strerror(errno));
	}
	/* A template without accounts still needs root (Basic root). */
	if (ensure_line_prefix(rootfd, "etc/passwd", "root:",
			       "root:x:0:0:root:/root:/bin/sh") < 0 ||
	    ensure_line_prefix(rootfd, "etc/group", "root:", "root:x:0:") < 0) {
		xfmt(err, errlen, "cannot add root to the sandbox: %s",
		     strerror(errno));
		return -1;
	}
	if (ensure_account(rootfd, "etc/passwd", "user",
			   "user:x:1000:1000::/home/user:/bin/bash") < 0 ||
	    ensure_account(rootfd, "etc/group", "user", "user:x:1000:") < 0) {
		xfmt(err, errlen, "cannot add user 'user' to the sandbox: %s",
			 strerror(errno));
		return -1;
	}
	/* /etc/hostname agrees with the UTS name. */
	{
		char *cur = sbfs_read_small(rootfd, "etc/hostname", 63);

		if (cur)
			cur[strcspn(cur, "\n")] = '\0';
		xfmt(hosts, sizeof(hosts), "%s\n", sb->id);
		if ((!cur || strcmp(cur, sb->id) != 0) &&
		    root_replace(rootfd, "etc", "hostname", hosts, 0644) < 0)
			log_warn("sandbox %s: cannot write /etc/hostname", sb->id);
		free(cur);
	}
	fix_resolv_conf(sb, rootfd);
	xfmt(hosts, sizeof(hosts), "127.0.1.1\t%s", sb->id);
	if (ensure_line(rootfd, "etc", "hosts", hosts, 0644) < 0)
		log_warn("sandbox %s: cannot add its name to /etc/hosts", sb->id);
	fd = sbfs_open(rootfd, "etc/sudoers.d", O_PATH | O_DIRECTORY, 0);
	if (fd >= 0) {
		if (fstatat(fd, "e2bd-user", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    root_replace(rootfd, "etc/sudoers.d", "e2bd-user",
				 "user ALL=(ALL:ALL) NOPASSWD: ALL\n", 0440) < 0)
			log_warn("sandbox %s: cannot write sudoers", sb->id);
		close(fd);
	}
	return 0;
}

/* ---- root filesystem ---- */

static int add_mount(struct nsbox *ns, const char *path)
{
	if (ns->nmounts == MAX_MOUNTS)
		return -1;
	ns->mounts[ns->nmounts] = strdup(path);
	if (!ns->mounts[ns->nmounts])
		return -1;
	ns->nmounts++;
	return 0;
}

static void unmount_all(struct nsbox *ns)
{
	while (ns->nmounts > 0) {
		char *p = ns->mounts[--ns->nmounts];

		if (umount2(p, UMOUNT_NOFOLLOW) < 0 &&
		    umount2(p, UMOUNT_NOFOLLOW | MNT_DETACH) < 0 &&
		    errno != EINVAL && errno != ENOENT)
			log_warn("cannot unmount '%s': %s", p, strerror(errno));
		free(p);
	}
}

/*
 * The overlay options name the layers as /proc/self/fd/N of descriptors
 * opened here: the kernel resolves them at mount time and shows them as
 * given, so a sandbox's /proc/mounts never shows the state dir's path.
 */
static int overlay_opts(char *opts, size_t optslen, const char *lower,
			const char *upper, const char *work, int fds[3])
{
	const char *dirs[3] = { lower, upper, work };
	size_t i;

	for (i = 0; i < 3; i++) {
		fds[i] = open(dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			while (i--)
				close(fds[i]);
			return -1;
		}
	}
	xfmt(opts, optslen, "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,"
	     "workdir=/proc/self/fd/%d%s", fds[0], fds[1], fds[2],
	     g_unpriv ? ",userxattr" : "");
	return 0;
}

/* Mount an overlay on the directory @name beneath @dirfd (no symlinks). */
static int mount_overlay_at(struct nsbox *ns, int dirfd, const char *name,
			    const char *hostpath, const char *lower,
			    const char *layer, char *err, size_t errlen)
{
	char opts[256], upper[PATH_MAX], work[PATH_MAX];
	char fdpath[64];
	int fd, rc, fds[3];
	size_t i;

	xfmt(upper, sizeof(upper), "%s/upper", layer);
	xfmt(work, sizeof(work), "%s/work", layer);
	if (mkdir_p(upper, 0755) < 0 || mkdir_p(work, 0700) < 0 ||
	    overlay_opts(opts, sizeof(opts), lower, upper, work, fds) < 0) {
		xfmt(err, errlen, "cannot create layer '%s': %s", layer,
			 strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		xfmt(err, errlen, "cannot open mount point '%s': %s",
			 hostpath, strerror(errno));
		for (i = 0; i < 3; i++)
			close(fds[i]);
		return -1;
	}
	xfmt(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	rc = mount("overlay", fdpath, "overlay", 0, opts);
	close(fd);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	if (rc < 0) {
		xfmt(err, errlen, "cannot mount overlay on '%s': %s",
			 hostpath, strerror(errno));
		return -1;
	}
	if (add_mount(ns, hostpath) < 0) {
		umount2(hostpath, MNT_DETACH | UMOUNT_NOFOLLOW);
		xfmt(err, errlen, "too many mounts");
		return -1;
	}
	return 0;
}

/* Host top-level entries the built-in template takes (read-only lower). */
static const char *const host_system_dirs[] = {
	"usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
};

/* Whether the top-level name @name (@len bytes) is one of them. */
static bool is_host_system_dir(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(host_system_dirs) / sizeof(host_system_dirs[0]); i++)
		if (strlen(host_system_dirs[i]) == len &&
		    strncmp(host_system_dirs[i], name, len) == 0)
			return true;
	return false;
}

static int mount_builtin_root(struct sandbox *sb, struct nsbox *ns,
			      const char *rootfs, char *err, size_t errlen)
{
	int skelfd = -1, rc = -1;
	size_t i;

	/* A bind of the skeleton onto itself: a mount point for pivot_root. */
	if (mount(rootfs, rootfs, NULL, MS_BIND, NULL) < 0 ||
	    add_mount(ns, rootfs) < 0) {
		xfmt(err, errlen, "cannot bind '%s': %s", rootfs,
			 strerror(errno));
		goto out;
	}
	skelfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (skelfd < 0) {
		xfmt(err, errlen, "cannot open '%s': %s", rootfs,
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(host_system_dirs) / sizeof(host_system_dirs[0]); i++) {
		const char *name = host_system_dirs[i];
		char host[64], target[PATH_MAX], layer[PATH_MAX], mp[PATH_MAX];
		struct stat st;
		ssize_t n;

		xfmt(host, sizeof(host), "/%s", name);
		if (lstat(host, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* Debian's merged /usr: /bin -> usr/bin stays a link. */
			n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (symlinkat(target, skelfd, name) < 0 && errno != EEXIST) {
				xfmt(err, errlen, "cannot link '/%s': %s", name,
					 strerror(errno));
				goto out;
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (ensure_dir(skelfd, name, 0755, 0, 0) < 0) {
			xfmt(err, errlen, "sandbox '/%s' is not a directory: %s",
				 name, strerror(errno));
			goto out;
		}
		xfmt(layer, sizeof(layer), "%s/layers/%s", sb->dir, name);
		xfmt(mp, sizeof(mp), "%s/%s", rootfs, name);
		if (mount_overlay_at(ns, skelfd, name, mp, host, layer, err,
				     errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	if (skelfd >= 0)
		close(skelfd);
	return rc;
}

/* ---- host secrets in the built-in template ---- */

/*
 * The built-in template's /etc, /usr, /opt... are overlays of the host's,
 * and a sandbox's root reads them all: the host's password hashes, SSH host
 * keys, TLS private keys, e2bd's own key file.  At every mount, each such
 * entry that still comes from the host (nothing of its name in the
 * sandbox's upper layer: the sandbox has not made its own, and it was not
 * hidden before) is removed, which leaves a whiteout in the upper layer, or
 * replaced by a version of the sandbox's own.  What the sandbox writes
 * there later is its own and stays.  /root, /home, /tmp and /var are the
 * sandbox's own directories already, and the state dir may not lie in a
 * host directory that sandboxes see (nsbox_global_init).
 */
static const char *const secret_files[] = {
	"etc/shadow-", "etc/gshadow-", "etc/sudoers.bak", "etc/krb5.keytab",
	"etc/security/opasswd", "etc/ipsec.secrets", "etc/ppp/chap-secrets",
	"etc/ppp/pap-secrets",
};

/* Every entry of these host directories whose name starts with the prefix. */
static const struct {
	const char *dir, *prefix;
} secret_dirs[] = {
	{ "etc/ssh", "ssh_host_" }, { "etc/ssl/private", "" },
	{ "etc/sudoers.d", "" }, { "etc/NetworkManager/system-connections", "" },
	{ "etc/wireguard", "" },
};

static const char sandbox_sudoers[] =
	"Defaults\tenv_reset\n"
	"Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
	"root\tALL=(ALL:ALL) ALL\n"
	"%sudo\tALL=(ALL:ALL) ALL\n"
	"@includedir /etc/sudoers.d\n";

static bool is_host_system_dir(const char *name, size_t len);

/* Whether @path ("etc/ssh/x") is in the sandbox's upper layer (any type). */
static bool in_upper(const struct sandbox *sb, const char *path)
{
	char upper[PATH_MAX];
	const char *slash = strchr(path, '/');
	struct stat st;

	if (!slash)
		return true;
	xfmt(upper, sizeof(upper), "%s/layers/%.*s/upper%s", sb->dir,
	     (int)(slash - path), path, slash);
	return fstatat(AT_FDCWD, upper, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       errno != ENOENT;
}

/* Remove @path beneath the sandbox root if it comes from the host. */
static void hide_host_file(struct sandbox *sb, int rootfd, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int dfd;

	xfmt(dir, sizeof(dir), "/%s", path);
	if (!slash || lstat(dir, &st) < 0 || S_ISDIR(st.st_mode) || in_upper(sb, path))
		return;
	xfmt(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dfd = sbfs_open(rootfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
	if (dfd < 0)
		return;
	if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
		log_warn("sandbox %s: cannot hide the host's /%s: %s", sb->id, path,
			 strerror(errno));
	close(dfd);
}

/* /etc/shadow or gshadow of the host with every password field "!". */
static void replace_shadow(struct sandbox *sb, int rootfd, const char *name)
{
	char path[64], *host, *out, *line, *next, *o;
	struct stat st;
	int fd;

	xfmt(path, sizeof(path), "etc/%s", name);
	if (in_upper(sb, path))
		return;
	xfmt(path, sizeof(path), "/etc/%s", name);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	host = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		host = malloc((size_t)st.st_size + 1);
		if (host) {
			ssize_t n = read(fd, host, (size_t)st.st_size);

			host[n > 0 ? n : 0] = '\0';
		}
		close(fd);
	}
	/* Each line grows by at most 2 ("!" for an empty field, a newline). */
	out = malloc(host ? 2 * strlen(host) + 64 : 64);
	if (!out) {
		free(host);
		return;
	}
	o = out;
	/* Unreadable (unprivileged e2bd): a root entry only. */
	if (!host)
		o += snprintf(o, 64, "root:!::%s\n", name[0] == 's' ? "0:99999:7:::" : "");
	for (line = host; line && *line; line = next) {
		char *c1 = strchr(line, ':'), *c2;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c2 > next)
			continue;
		memcpy(o, line, (size_t)(c1 - line + 1));
		o += c1 - line + 1;
		*o++ = '!';
		memcpy(o, c2, (size_t)(next - c2));
		o += next - c2;
		if (o[-1] != '\n')
			*o++ = '\n';
	}
	*o = '\0';
	if (root_replace(rootfd, "etc", name, out, 0640) < 0)
		log_warn("sandbox %s: cannot replace the host's /etc/%s: %s", sb->id,
			 name, strerror(errno));
	else if (!g_unpriv && (fd = sbfs_open(rootfd, path + 1, O_PATH | O_NOFOLLOW, 0)) >= 0) {
		(void)fchownat(fd, "", 0, st.st_gid, AT_EMPTY_PATH);
		close(fd);
	}
	free(host);
	free(out);
}

static void hide_host_secrets(struct sandbox *sb, int rootfd)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;

	if (sb->lower)
		return;		/* a template dir: nothing of the host's /etc */
	replace_shadow(sb, rootfd, "shadow");
	replace_shadow(sb, rootfd, "gshadow");
	if (lstat("/etc/sudoers", &st) == 0 && !in_upper(sb, "etc/sudoers") &&
	    root_replace(rootfd, "etc", "sudoers", sandbox_sudoers, 0440) < 0)
		log_warn("sandbox %s: cannot replace the host's /etc/sudoers", sb->id);
	for (i = 0; i < sizeof(secret_files) / sizeof(secret_files[0]); i++)
		hide_host_file(sb, rootfd, secret_files[i]);
	for (i = 0; i < sizeof(secret_dirs) / sizeof(secret_dirs[0]); i++) {
		xfmt(path, sizeof(path), "/%s", secret_dirs[i].dir);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || strcmp(de->d_name, "e2bd-user") == 0 ||
			    strncmp(de->d_name, secret_dirs[i].prefix,
				    strlen(secret_dirs[i].prefix)) != 0)
				continue;
			xfmt(path, sizeof(path), "%s/%s", secret_dirs[i].dir, de->d_name);
			hide_host_file(sb, rootfd, path);
		}
		closedir(d);
	}
	/* e2bd's key file, when it lies in a host directory sandboxes see. */
	if (g_cfg.key_file && g_cfg.key_file[0] == '/' &&
	    is_host_system_dir(g_cfg.key_file + 1, strcspn(g_cfg.key_file + 1, "/")))
		hide_host_file(sb, rootfd, g_cfg.key_file + 1);
}

static int mount_root(struct sandbox *sb, struct nsbox *ns, char *err,
		      size_t errlen)
{
	char rootfs[PATH_MAX], layer[PATH_MAX];
	int rootfd = -1;

	if (strpbrk(sb->dir, ",:\\") ||
	    (sb->lower && strpbrk(sb->lower, ",:\\"))) {
		xfmt(err, errlen, "'%s' cannot be used for overlayfs layers "
			 "(',' ':' or '\\' in the path)", sb->lower ? sb->lower : sb->dir);
		return -1;
	}
	xfmt(rootfs, sizeof(rootfs), "%s/rootfs", sb->dir);
	xfmt(layer, sizeof(layer), "%s/layers", sb->dir);
	if (mkdir_p(sb->dir, 0700) < 0 || mkdir_p(layer, 0700) < 0 ||
	    (mkdir(rootfs, 0755) < 0 && errno != EEXIST)) {
		xfmt(err, errlen, "cannot create '%s': %s", rootfs,
			 strerror(errno));
		return -1;
	}
	if (sb->lower) {
		int parent = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (parent < 0) {
			xfmt(err, errlen, "cannot open '%s': %s", sb->dir,
				 strerror(errno));
			return -1;
		}
		xfmt(layer, sizeof(layer), "%s/layers/root", sb->dir);
		if (mount_overlay_at(ns, parent, "rootfs", rootfs, sb->lower,
				     layer, err, errlen) < 0) {
			close(parent);
			goto fail;
		}
		close(parent);
	} else if (mount_builtin_root(sb, ns, rootfs, err, errlen) < 0) {
		goto fail;
	}
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		xfmt(err, errlen, "cannot open '%s': %s", rootfs,
			 strerror(errno));
		goto fail;
	}
	if (setup_sandbox_tree(sb, rootfd, err, errlen) < 0)
		goto fail;
	write_e2b_markers(sb, rootfd);
	hide_host_secrets(sb, rootfd);
	if (!sb->root || strcmp(sb->root, rootfs) != 0) {
		char *r = strdup(rootfs);

		if (!r) {
			xfmt(err, errlen, "out of memory");
			goto fail;
		}
		free(sb->root);
		sb->root = r;
	}
	sb->rootfd = rootfd;
	ns->mounted = true;
	return 0;
fail:
	if (rootfd >= 0)
		close(rootfd);
	unmount_all(ns);
	return -1;
}

/* ---- cgroups ---- */

static void cgroup_create(struct sandbox *sb, struct nsbox *ns)
{
	char path[PATH_MAX], procs[PATH_MAX + 16], pid[32];

	ns->cgroup[0] = '\0';
	if (G.freezer == FREEZER_SIGNAL)
		return;
	xfmt(path, sizeof(path), "%s/%s", G.cgbase, sb->id);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	/* Init first: everything it forks later is born in the cgroup. */
	xfmt(procs, sizeof(procs), "%s/cgroup.procs", path);
	xfmt(pid, sizeof(pid), "%d", (int)ns->init_pid);
	if (write_file(procs, pid) < 0)
		goto fail;
	xfmt(ns->cgroup, sizeof(ns->cgroup), "%s", path);
	xfmt(procs, sizeof(procs), "%s/pids.max", path);
	if (access(procs, F_OK) == 0)
		(void)write_file(procs, SB_PIDS_MAX);
	return;
fail:
	log_warn("sandbox %s: cannot use cgroup '%s' (%s); pause uses SIGSTOP",
		 sb->id, path, strerror(errno));
}

/*
 * A fork bomb in one sandbox must not take the host down: on cgroup v1
 * hosts the sandbox also gets a group in the pids hierarchy.
 */
static void pids_create(struct sandbox *sb, struct nsbox *ns)
{
	char path[PATH_MAX], file[PATH_MAX + 16], pid[32];

	ns->pidscg[0] = '\0';
	if (!G.pidsbase[0])
		return;
	xfmt(path, sizeof(path), "%s/%s", G.pidsbase, sb->id);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	xfmt(file, sizeof(file), "%s/pids.max", path);
	if (write_file(file, SB_PIDS_MAX) < 0)
		goto fail;
	xfmt(file, sizeof(file), "%s/cgroup.procs", path);
	xfmt(pid, sizeof(pid), "%d", (int)ns->init_pid);
	if (write_file(file, pid) < 0)
		goto fail;
	xfmt(ns->pidscg, sizeof(ns->pidscg), "%s", path);
	return;
fail:
	log_warn("sandbox %s: cannot limit its processes in '%s': %s", sb->id,
		 path, strerror(errno));
	rmdir(path);
}

/*
 * A sandbox that eats memory is OOM-killed in its own cgroup, not the
 * host's processes: on cgroup v1 a group in the memory hierarchy with
 * memory.limit_in_bytes (and memsw, so swap does not stretch it), on v2
 * memory.max (and memory.swap.max 0) in the sandbox's group.
 * --memory-limit, default 2 GiB; 0 for none.
 */
static void memory_limit(struct sandbox *sb, struct nsbox *ns)
{
	char path[PATH_MAX], file[PATH_MAX + 32], val[32];
	const char *what = path;

	ns->memcg[0] = '\0';
	if (!g_cfg.memory_limit)
		return;
	xfmt(val, sizeof(val), "%llu", (unsigned long long)g_cfg.memory_limit);
	if (G.membase[0]) {
		xfmt(path, sizeof(path), "%s/%s", G.membase, sb->id);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.limit_in_bytes", path);
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.memsw.limit_in_bytes", path);
		(void)write_file(file, val);
		xfmt(file, sizeof(file), "%s/cgroup.procs", path);
		xfmt(val, sizeof(val), "%d", (int)ns->init_pid);
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(ns->memcg, sizeof(ns->memcg), "%s", path);
		return;
	}
	if (G.freezer == FREEZER_V2 && ns->cgroup[0]) {
		xfmt(file, sizeof(file), "%s/memory.max", ns->cgroup);
		what = file;
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.swap.max", ns->cgroup);
		(void)write_file(file, "0");
		return;
	}
	errno = ENOTSUP;
	xfmt(path, sizeof(path), "no memory cgroup");
fail:
	log_warn("sandbox %s: memory not limited ('%s': %s)", sb->id, what,
		 strerror(errno));
	if (what == path && G.membase[0])
		rmdir(path);
}

static void cgroup_remove(struct nsbox *ns)
{
	int64_t until = mono_ms() + 3000;

	/* Killed processes leave the cgroup asynchronously. */
	while (ns->cgroup[0] && rmdir(ns->cgroup) < 0 && errno == EBUSY && mono_ms() < until)
		sleep_ms(20);
	ns->cgroup[0] = '\0';
	while (ns->pidscg[0] && rmdir(ns->pidscg) < 0 && errno == EBUSY &&
	       mono_ms() < until)
		sleep_ms(20);
	ns->pidscg[0] = '\0';
	while (ns->memcg[0] && rmdir(ns->memcg) < 0 && errno == EBUSY &&
	       mono_ms() < until)
		sleep_ms(20);
	ns->memcg[0] = '\0';
}

/* Freeze or thaw through the cgroup; -1 if the state never settles. */
static int cgroup_freeze(struct nsbox *ns, bool frozen)
{
	char path[PATH_MAX + 32], buf[256];
	int64_t until = mono_ms() + 5000;

	if (G.freezer == FREEZER_V1) {
		xfmt(path, sizeof(path), "%s/freezer.state", ns->cgroup);
		if (write_file(path, frozen ? "FROZEN" : "THAWED") < 0)
			return -1;
		while (mono_ms() < until) {
			if (read_small(path, buf, sizeof(buf)) < 0)
				return -1;
			if (strncmp(buf, frozen ? "FROZEN" : "THAWED", 6) == 0)
				return 0;
			sleep_ms(5);
		}
		return -1;
	}
	xfmt(path, sizeof(path), "%s/cgroup.freeze", ns->cgroup);
	if (write_file(path, frozen ? "1" : "0") < 0)
		return -1;
	xfmt(path, sizeof(path), "%s/cgroup.events", ns->cgroup);
	while (mono_ms() < until) {
		if (read_small(path, buf, sizeof(buf)) < 0)
			return -1;
		if (strstr(buf, frozen ? "frozen 1" : "frozen 0"))
			return 0;
		sleep_ms(5);
	}
	return -1;
}

/* Find the freezer: cgroup v1 "freezer" hierarchy, else cgroup v2. */
static void detect_freezer(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], v1[PATH_MAX] = "", v2[PATH_MAX] = "";
	char own1[PATH_MAX] = "", own2[PATH_MAX] = "", probe[PATH_MAX + 16];
	char pids[PATH_MAX] = "", ownp[PATH_MAX] = "";
	char mem[PATH_MAX] = "", ownm[PATH_MAX] = "";
	const char *force;

	G.freezer = FREEZER_SIGNAL;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char mp[PATH_MAX], fstype[64], src[256], opts[1024];
		int i;
		char *p = line;

		if (!sep)
			continue;
		/* field 5 is the mount point */
		for (i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p || sscanf(p, "%4095s", mp) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, opts) != 3)
			continue;
		if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "freezer") && !v1[0])
			xfmt(v1, sizeof(v1), "%s", mp);
		else if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "pids") && !pids[0])
			xfmt(pids, sizeof(pids), "%s", mp);
		else if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "memory") && !mem[0])
			xfmt(mem, sizeof(mem), "%s", mp);
		else if (strcmp(fstype, "cgroup2") == 0 && !v2[0])
			xfmt(v2, sizeof(v2), "%s", mp);
	}
	fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

			if (!c2)
				continue;
			c2[strcspn(c2, "\n")] = '\0';
			if (strncmp(c1, "::", 2) == 0)
				xfmt(own2, sizeof(own2), "%s", c2 + 1);
			else if (strstr(c1, "freezer"))
				xfmt(own1, sizeof(own1), "%s", c2 + 1);
			else if (strstr(c1, ":pids:") || strstr(c1, ",pids"))
				xfmt(ownp, sizeof(ownp), "%s", c2 + 1);
			else if (strstr(c1, ":memory:") || strstr(c1, ",memory"))
				xfmt(ownm, sizeof(ownm), "%s", c2 + 1);
		}
		fclose(f);
	}
	if (pids[0]) {
		xfmt(G.pidsbase, sizeof(G.pidsbase), "%s%s/e2bd", pids,
		     strcmp(ownp, "/") == 0 ? "" : ownp);
		if (mkdir(G.pidsbase, 0755) < 0 && errno != EEXIST)
			G.pidsbase[0] = '\0';
	}
	if (mem[0]) {
		xfmt(G.membase, sizeof(G.membase), "%s%s/e2bd", mem,
		     strcmp(ownm, "/") == 0 ? "" : ownm);
		if (mkdir(G.membase, 0755) < 0 && errno != EEXIST)
			G.membase[0] = '\0';
	}
	/* E2BD_FREEZER=v2|signal: test the other freezers on a v1 host. */
	force = getenv("E2BD_FREEZER");
	if (force && strcmp(force, "signal") == 0)
		return;
	if (v1[0] && !(force && strcmp(force, "v2") == 0)) {
		xfmt(G.cgbase, sizeof(G.cgbase), "%s%s/e2bd", v1,
			 strcmp(own1, "/") == 0 ? "" : own1);
		if ((mkdir(G.cgbase, 0755) == 0 || errno == EEXIST)) {
			G.freezer = FREEZER_V1;
			return;
		}
	}
	if (v2[0]) {
		xfmt(G.cgbase, sizeof(G.cgbase), "%s%s/e2bd", v2,
			 strcmp(own2, "/") == 0 ? "" : own2);
		xfmt(probe, sizeof(probe), "%s/cgroup.freeze", G.cgbase);
		if ((mkdir(G.cgbase, 0755) == 0 || errno == EEXIST) &&
		    access(probe, W_OK) == 0) {
			G.freezer = FREEZER_V2;
			/* Lets each sandbox's group have pids.max; best effort. */
			xfmt(probe, sizeof(probe), "%s/cgroup.subtree_control",
			     G.cgbase);
			(void)write_file(probe, "+pids");
			(void)write_file(probe, "+memory");
			return;
		}
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
			struct ns_child **pp;

			for (pp = &ns->kids; *pp; pp = &(*pp)->next) {
				if ((*pp)->pid == h.a) {
					k = *pp;
					*pp = k->next;
					break;
				}
			}
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
		if (w && h.type == NSMSG_SPAWNED) {
			k = calloc(1, sizeof(*k));
			if (k) {
				k->pid = h.a;
				k->cb = w->cb;
				k->arg = w->arg;
				k->next = ns->kids;
				ns->kids = k;
			} else {
				/* Cannot track it: the caller gets an error. */
				h.type = NSMSG_ERROR;
				h.a = NSERR_INTERNAL;
				xfmt(buf, 4096, "out of memory");
				n = (ssize_t)strlen(buf);
			}
		}
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
		      size_t len, nsproc_exit_fn cb, void *arg,
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
		xfmt(err, errlen, "cannot reach sandbox init: %s",
			 strerror(errno));
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

/* Ask the zygote for a new init and wait until it is READY. */
static int start_init(struct sandbox *sb, struct nsbox *ns, char *err,
		      size_t errlen)
{
	struct nsmsg_hdr h = { .type = NSMSG_START };
	char payload[PATH_MAX + 64], msg[1024];
	int fds[NSMSG_MAXFDS], nfds = 0, sock = -1, i;
	size_t len;
	ssize_t n;
	struct timeval tv = { .tv_sec = 5 };
	struct pollfd p;

	if (xfmt(payload, sizeof(payload), "%s%c%s", sb->root, '\0',
		 sb->id) < 0) {
		xfmt(err, errlen, "sandbox root path too long");
		return -1;
	}
	len = strlen(payload) + 1 + strlen(sb->id) + 1;
	pthread_mutex_lock(&G.zlock);
	h.seq = ++G.zseq;
	if (nsmsg_send(G.zsock, &h, payload, len, NULL, 0) < 0) {
		pthread_mutex_unlock(&G.zlock);
		xfmt(err, errlen, "the sandbox zygote is gone: %s",
			 strerror(errno));
		return -1;
	}
	p.fd = G.zsock;
	p.events = POLLIN;
	if (poll(&p, 1, REQUEST_TIMEOUT_MS) <= 0) {
		pthread_mutex_unlock(&G.zlock);
		xfmt(err, errlen, "the sandbox zygote did not answer");
		return -1;
	}
	n = nsmsg_recv(G.zsock, &h, msg, sizeof(msg) - 1, fds, &nfds);
	pthread_mutex_unlock(&G.zlock);
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
	p.fd = sock;
	if (poll(&p, 1, INIT_READY_TIMEOUT_MS) <= 0) {
		xfmt(err, errlen, "sandbox init did not start");
		goto fail;
	}
	n = nsmsg_recv(sock, &h, msg, sizeof(msg) - 1, fds, &nfds);
	if (n < 0 || h.type != NSMSG_READY) {
		if (n > 0)
			msg[n] = '\0';
		xfmt(err, errlen, "cannot set up sandbox: %s",
			 n > 0 && h.type == NSMSG_ERROR ? msg : "init exited");
		goto fail;
	}
	if (g_clone_net && netns_attach(&ns->net, sb->id, ns->init_pid,
					!sb->no_internet, err, errlen) < 0)
		goto fail;
	cgroup_create(sb, ns);
	pids_create(sb, ns);
	memory_limit(sb, ns);
	pthread_mutex_lock(&ns->lock);
	ns->sock = sock;
	ns->dead = false;
	pthread_mutex_unlock(&ns->lock);
	if (pthread_create(&ns->reader, NULL, reader_main, ns) != 0) {
		xfmt(err, errlen, "cannot create a thread");
		pthread_mutex_lock(&ns->lock);
		ns->sock = -1;
		pthread_mutex_unlock(&ns->lock);
		cgroup_remove(ns);
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
	if (ns->cgroup[0] && ns->frozen)
		(void)cgroup_freeze(ns, false);
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
	cgroup_remove(ns);
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
		xfmt(err, errlen, "cannot write '%s': %s", path, strerror(errno));
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
		     "not available (%s); run e2bd as root", strerror(errno));
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
			log_dbg("cannot detach inherited FUSE mount '%s': %s",
				mp, strerror(errno));
	}
	fclose(f);
}

int nsbox_global_init(const char *state_dir, char *err, size_t errlen)
{
	char probe[PATH_MAX], lower[PATH_MAX + 16], upper[PATH_MAX + 16];
	char work[PATH_MAX + 16], merged[PATH_MAX + 16];
	char opts[4 * PATH_MAX + 64];
	int rc = -1;

	if (G.ready)
		return 0;
	if (geteuid() != 0) {
		if (enter_user_namespace(err, errlen) < 0)
			return -1;
		g_unpriv = true;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		xfmt(err, errlen, "cannot create a mount namespace: %s",
			 strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		xfmt(err, errlen, "cannot make mounts private: %s",
			 strerror(errno));
		return -1;
	}
	detach_fuse_mounts();
	if (state_dir[0] == '/' &&
	    is_host_system_dir(state_dir + 1, strcspn(state_dir + 1, "/"))) {
		xfmt(err, errlen, "state dir '%s' lies in /%.*s, which sandboxes see: "
		     "choose one elsewhere", state_dir,
		     (int)strcspn(state_dir + 1, "/"), state_dir + 1);
		goto out;
	}
	xfmt(probe, sizeof(probe), "%s/.nsbox-probe", state_dir);
	xfmt(lower, sizeof(lower), "%s/l", probe);
	xfmt(upper, sizeof(upper), "%s/u", probe);
	xfmt(work, sizeof(work), "%s/w", probe);
	xfmt(merged, sizeof(merged), "%s/m", probe);
	if (mkdir_p(lower, 0700) < 0 || mkdir_p(upper, 0700) < 0 ||
	    mkdir_p(work, 0700) < 0 || mkdir_p(merged, 0700) < 0) {
		xfmt(err, errlen, "cannot create '%s': %s", probe,
			 strerror(errno));
		goto out;
	}
	xfmt(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s%s",
		 lower, upper, work, g_unpriv ? ",userxattr" : "");
	if (mount("overlay", merged, "overlay", 0, opts) < 0) {
		xfmt(err, errlen, "overlayfs does not work under '%s': %s",
			 state_dir, strerror(errno));
		goto out;
	}
	umount2(merged, MNT_DETACH);
	if (access("/proc/self/ns/pid", F_OK) < 0) {
		xfmt(err, errlen, "/proc is not mounted");
		goto out;
	}
	/*
	 * A sandbox that eats all memory must not get e2bd OOM-killed:
	 * sandbox processes run at oom_score_adj 0 (100 through envd's
	 * wrapper), e2bd below.  Lowering needs CAP_SYS_RESOURCE (root);
	 * without it (unprivileged, or the capability dropped) say so.
	 */
	if (write_oom_score("-500") < 0)
		log_warn("cannot lower e2bd's oom_score_adj to -500 (%s): a sandbox "
			 "that eats all memory may get e2bd OOM-killed", strerror(errno));
	if (!g_unpriv)
		detect_freezer();	/* cgroups are not ours to write otherwise */
	else
		G.freezer = FREEZER_SIGNAL;
	g_clone_net = netns_global_init(g_unpriv);
	G.zpid = nsinit_zygote_spawn(&G.zsock, err, errlen);
	if (G.zpid < 0)
		goto out;
	atexit(zygote_reap);
	G.ready = true;
	log_info("sandbox isolation: %smount/pid/uts/ipc%s namespaces, overlayfs, "
		 "freezer %s", g_unpriv ? "unprivileged (user namespace, only "
		 "uid 1000), " : "", g_clone_net ? "/net" : "", G.freezer == FREEZER_V1 ? "cgroup v1" :
		 G.freezer == FREEZER_V2 ? "cgroup v2" : "SIGSTOP");
	rc = 0;
out:
	{
		/* The probe is empty apart from overlay's work dir. */
		char ww[PATH_MAX + 32];

		xfmt(ww, sizeof(ww), "%s/work", work);
		rmdir(ww);
		rmdir(work);
		rmdir(upper);
		rmdir(lower);
		rmdir(merged);
		rmdir(probe);
	}
	return rc;
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
	sb->ns = ns;
	return ns;
}

/* nsbox_start() with ns->life held. */
static int start_locked(struct sandbox *sb, struct nsbox *ns)
{
	char err[1024];

	if (!G.ready) {
		log_err("sandbox %s: isolation is not initialised", sb->id);
		return -1;
	}
	if (!ns->mounted && mount_root(sb, ns, err, sizeof(err)) < 0) {
		log_err("sandbox %s: %s", sb->id, err);
		return -1;
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
		unmount_all(ns);
		ns->mounted = false;
	}
	pthread_mutex_unlock(&ns->life);
	return 0;
}

pid_t nsbox_init_pid(struct sandbox *sb)
{
	struct nsbox *ns = ns_get(sb);
	pid_t pid = 0;

	if (!ns)
		return 0;
	pthread_mutex_lock(&ns->life);
	if (ns->reader_on)
		pid = ns->init_pid;
	pthread_mutex_unlock(&ns->life);
	return pid;
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
	if (ns->cgroup[0]) {
		rc = cgroup_freeze(ns, frozen);
		if (rc < 0)
			log_err("sandbox %s: cannot %s cgroup '%s'", sb->id,
				frozen ? "freeze" : "thaw", ns->cgroup);
		if (rc < 0 && frozen)
			(void)cgroup_freeze(ns, false);
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
		proc_streams_abort(sb);
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
	for (i = 0; i < ns->nmounts; i++)
		free(ns->mounts[i]);
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

int nsproc_spawn(struct sandbox *sb, const struct nsproc_spawn *req,
		 nsproc_exit_fn cb, void *arg, struct nsproc_result *out,
		 struct rpc_error *err)
{
	struct nsmsg_hdr h = { .type = NSMSG_SPAWN };
	struct nsmsg_spawn sp = { 0 };
	struct nsbox *ns = sb->ns;
	struct ns_wait r;
	char *buf = NULL, msg[1024];
	size_t len, off, i, argc = 0, envc = 0;
	int rc = -1, k;

	out->pid = -1;
	out->stdin_fd = out->stdout_fd = out->stderr_fd = out->pty_fd = -1;
	if (!ns)
		return rpc_fail(err, "internal", "sandbox is not running");
	if (g_unpriv && (req->user->uid != SB_UID || req->user->gid != SB_GID))
		return rpc_fail(err, "invalid_argument", "user '%s' is not "
				"available: e2bd runs unprivileged and sandboxes "
				"have only uid %d", req->user->name, SB_UID);
	while (req->argv[argc])
		argc++;
	while (req->envp && req->envp[envc])
		envc++;
	len = sizeof(sp) + strlen(req->user->name) + 1 + strlen(req->cwd) + 1;
	for (i = 0; i < argc; i++)
		len += strlen(req->argv[i]) + 1;
	for (i = 0; i < envc; i++)
		len += strlen(req->envp[i]) + 1;
	if (len > NSMSG_MAX)
		return rpc_fail(err, "invalid_argument",
				"command and environment too large (%zu bytes, "
				"limit %u)", len, NSMSG_MAX);
	buf = malloc(len);
	if (!buf)
		return rpc_fail(err, "internal", "out of memory");
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
	/* An init that died on its own is restarted (the root stays mounted). */
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
	if (ns_request(ns, &h, buf, len, cb, arg, &r, msg, sizeof(msg)) < 0) {
		rpc_fail(err, "internal", "%s", msg);
		goto out;
	}
	if (r.h.type == NSMSG_ERROR) {
		rpc_fail(err, r.h.a == NSERR_INTERNAL ? "internal" : "invalid_argument",
			 "%s", r.msg);
		for (k = 0; k < r.nfds; k++)
			close(r.fds[k]);
		goto out;
	}
	if (r.h.type != NSMSG_SPAWNED) {
		for (k = 0; k < r.nfds; k++)
			close(r.fds[k]);
		rpc_fail(err, "internal", "bad reply from sandbox init");
		goto out;
	}
	if (r.nfds != (req->pty ? 1 : (req->stdin_pipe ? 3 : 2))) {
		/*
		 * Cannot happen with our init; the exit callback is already
		 * registered, so report success with no streams and kill it.
		 */
		for (k = 0; k < r.nfds; k++)
			close(r.fds[k]);
		out->pid = r.h.a;
		(void)nsproc_signal(sb, r.h.a, SIGKILL, err);
		rc = 0;
		goto out;
	}
	out->pid = r.h.a;
	if (req->pty) {
		out->pty_fd = r.fds[0];
	} else {
		out->stdout_fd = r.fds[0];
		out->stderr_fd = r.fds[1];
		if (req->stdin_pipe)
			out->stdin_fd = r.fds[2];
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int nsproc_signal(struct sandbox *sb, pid_t pid, int sig, struct rpc_error *err)
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
