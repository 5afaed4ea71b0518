/* SPDX-License-Identifier: MIT */
/*
 * The zygote and the sandbox inits (nsinit.h).  e2bd is multithreaded,
 * and a process forked from a threaded parent that keeps running (rather
 * than exec'ing at once) can inherit locks held by other threads.  So
 * nsbox_global_init() forks one zygote while e2bd is still
 * single-threaded; the zygote stays single-threaded and clone()s one init
 * per sandbox in new mount, PID, UTS, IPC (and network) namespaces.  Each
 * init mounts the sandbox's /proc, /dev and /sys, pivots into its root,
 * drops dangerous capabilities from the bounding set, installs the seccomp
 * filter, and from then on forks the sandbox's processes on request, reaps
 * them and reports their exit status.  The zygote dies with e2bd and every
 * init with the zygote (PR_SET_PDEATHSIG).  Nothing here runs in e2bd's
 * threads.
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
#include "isolate/isolate.h"
#include "isolate/netns.h"
#include "isolate/nsinit.h"
#include "isolate/nsmsg.h"

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
	const char *s = strerror_r(e, buf, len);

	if (s != buf)
		xfmt(buf, len, "%s", s);
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
		xfmt(err, errlen, "cannot mount /dev: %m");
		goto out;
	}
	devfd = openat(rootfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (devfd < 0) {
		xfmt(err, errlen, "cannot open /dev: %m");
		goto out;
	}
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char host[64];

		xfmt(host, sizeof(host), "/dev/%s", nodes[i]);
		if (touch_at(devfd, nodes[i]) < 0 ||
		    mount_at(devfd, nodes[i], host, NULL, MS_BIND, NULL) < 0) {
			xfmt(err, errlen, "cannot bind '%s': %m", host);
			goto out;
		}
	}
	if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0 ||
	    mkdirat(devfd, "mqueue", 0755) < 0) {
		xfmt(err, errlen, "cannot populate /dev: %m");
		goto out;
	}
	/* A new devpts instance: the sandbox sees only its own terminals. */
	/* gid 5 (tty) is not mapped in the unprivileged user namespace. */
	if (mount_at(devfd, "pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		     nsbox_unpriv ? "newinstance,ptmxmode=0666,mode=0620"
			      : "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0) {
		xfmt(err, errlen, "cannot mount /dev/pts: %m");
		goto out;
	}
	if (mount_at(devfd, "shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV,
		     "mode=1777,size=65536k") < 0) {
		xfmt(err, errlen, "cannot mount /dev/shm: %m");
		goto out;
	}
	/* POSIX message queues of this IPC namespace; optional. */
	(void)mount_at(devfd, "mqueue", "mqueue", "mqueue",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (symlinkat(links[i][1], devfd, links[i][0]) < 0) {
			xfmt(err, errlen, "cannot create /dev/%s: %m",
				 links[i][0]);
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
		xfmt(err, errlen, "cannot set hostname: %m");
		goto out;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		xfmt(err, errlen, "cannot make mounts private: %m");
		goto out;
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		xfmt(err, errlen, "cannot open root '%s': %m", root);
		goto out;
	}
	if (mount_at(rootfd, "proc", "proc", "proc",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		xfmt(err, errlen, "cannot mount /proc: %m");
		goto out;
	}
	/* /sys is a convenience (lscpu, nproc fallbacks); never fatal. */
	(void)mount_at(rootfd, "sys", "sysfs", "sysfs",
		       MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (setup_dev(rootfd, err, errlen) < 0)
		goto out;
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		xfmt(err, errlen, "cannot pivot into '%s': %m", root);
		goto out;
	}
	/* The old root is stacked on "."; detaching it hides the host. */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		xfmt(err, errlen, "cannot detach the host root: %m");
		goto out;
	}
	mask_kernel_paths();
	if (drop_capabilities() < 0) {
		xfmt(err, errlen, "cannot drop capabilities: %m");
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
	if (setgroups((size_t)ngroups, groups) < 0 && !nsbox_unpriv)
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
	if (fchown(*slave, sp->uid, nsbox_unpriv ? (gid_t)-1 : 5) < 0 ||
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

/* The stdio of a child being spawned: the child's ends and e2bd's ends. */
struct child_stdio {
	int cin, cout, cerr;	/* the child's ends */
	int pfds[3];		/* e2bd's ends */
	int npfds;
};

/* Make room in st->kids for one more child; -1 when out of memory. */
static int reserve_kid_slot(struct init_state *st)
{
	if (st->nkids == st->capkids) {
		size_t cap = st->capkids ? st->capkids * 2 : 64;
		pid_t *k = realloc(st->kids, cap * sizeof(*k));

		if (!k)
			return -1;
		st->kids = k;
		st->capkids = cap;
	}
	return 0;
}

/* Open the child's stdio (a PTY, or pipes and /dev/null) into io; 0, or
 * -1 when the PTY failed, -2 when a pipe or dup failed (errno set).  What
 * was opened stays in io for the caller to close. */
static int open_child_stdio(const struct spawn_args *a, struct child_stdio *io)
{
	if (a->sp->flags & NSSPAWN_PTY) {
		if (open_pty(a->sp, &io->pfds[0], &io->cin) < 0)
			return -1;
		io->npfds = 1;
		io->cout = dup(io->cin);
		io->cerr = dup(io->cin);
	} else {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			return -2;
		io->pfds[0] = p[0];
		io->cout = p[1];
		if (pipe2(p, O_CLOEXEC) < 0)
			return -2;
		io->pfds[1] = p[0];
		io->cerr = p[1];
		io->npfds = 2;
		if (a->sp->flags & NSSPAWN_STDIN) {
			if (pipe2(p, O_CLOEXEC) < 0)
				return -2;
			io->cin = p[0];
			io->pfds[2] = p[1];
			io->npfds = 3;
		} else {
			io->cin = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
	}
	if (io->cin < 0 || io->cout < 0 || io->cerr < 0)
		return -2;
	return 0;
}

/* Close every fd left open in io. */
static void close_child_stdio(struct child_stdio *io)
{
	int *fds[] = { &io->pfds[0], &io->pfds[1], &io->pfds[2],
		       &io->cin, &io->cout, &io->cerr };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* Reap the child whose exec failed and tell e2bd why (msg, from the
 * child), naming the command as envd does: "cmd arg1 arg2 ...". */
static void report_exec_failure(struct init_state *st, const struct nsmsg_hdr *h,
				const struct spawn_args *a, pid_t pid,
				const char *msg)
{
	char cmdline[512];
	size_t off = 0;
	int status, i;

	waitpid(pid, &status, 0);
	cmdline[0] = '\0';
	for (i = 0; a->argv[i] && off < sizeof(cmdline) - 1; i++) {
		int w = xfmt(cmdline + off, sizeof(cmdline) - off, "%s%s",
			     i ? " " : "", a->argv[i]);

		off = w < 0 ? sizeof(cmdline) - 1 : off + (size_t)w;
	}
	send_error(st->sock, h->seq, NSERR_START,
		   "error starting process '%s': %s", cmdline, msg);
}

/* Spawn one process for e2bd: check the request, open its stdio, fork and
 * exec it (child_exec), wait on the close-on-exec error pipe for the exec's
 * outcome, and answer NSMSG_SPAWNED with e2bd's ends of the stdio, or an
 * error. */
static void handle_spawn(struct init_state *st, const struct nsmsg_hdr *h,
			 char *payload, size_t len)
{
	struct nsmsg_hdr r = { .type = NSMSG_SPAWNED, .seq = h->seq };
	struct spawn_args a = { 0 };
	struct child_stdio io = { -1, -1, -1, { -1, -1, -1 }, 0 };
	int errpipe[2] = { -1, -1 };
	char es[128], msg[1024];
	struct stat stbuf;
	ssize_t n;
	pid_t pid;
	int rc;

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
	if (reserve_kid_slot(st) < 0) {
		send_error(st->sock, h->seq, NSERR_INTERNAL, "out of memory");
		goto out;
	}
	rc = open_child_stdio(&a, &io);
	if (rc == -1) {
		send_error(st->sock, h->seq, NSERR_START,
			   "error starting pty: %s",
			   lc_strerror(errno, es, sizeof(es)));
		goto out;
	}
	if (rc < 0)
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
		child_exec(&a, io.cin, io.cout, io.cerr, errpipe[1]);
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	/* EOF means exec succeeded (close-on-exec); bytes are its failure. */
	do {
		n = read(errpipe[0], msg, sizeof(msg) - 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		msg[n] = '\0';
		report_exec_failure(st, h, &a, pid, msg);
		goto out;
	}
	st->kids[st->nkids++] = pid;
	r.a = pid;
	nsmsg_send(st->sock, &r, NULL, 0, io.pfds, io.npfds);
	goto out;
pipefail:
	send_error(st->sock, h->seq, NSERR_INTERNAL,
		   "error creating pipes: %s", lc_strerror(errno, es, sizeof(es)));
out:
	close_child_stdio(&io);
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

int nsinit_write_oom_score(const char *v)
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
	(void)nsinit_write_oom_score("0");
	setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	if ((nsbox_clone_net && netns_init_loopback(err, sizeof(err)) < 0) ||
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
		send_error(sock, 0, NSERR_INTERNAL, "cannot start init: %m");
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
		send_error(chan, h->seq, NSERR_INTERNAL, "socketpair: %m");
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &one, sizeof(one));
	/* Raw clone: fork semantics (same stack) plus the new namespaces. */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
			     CLONE_NEWIPC | nsbox_clone_net | SIGCHLD, NULL, NULL,
			     NULL, 0);
	if (pid < 0) {
		send_error(chan, h->seq, NSERR_INTERNAL,
			   "cannot create namespaces: %m");
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
			send_error(chan, h->seq, NSERR_INTERNAL, "pidfd_open: %m");
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
		xfmt(err, errlen, "socketpair: %m");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		xfmt(err, errlen, "cannot fork the zygote: %m");
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
