/* SPDX-License-Identifier: MIT */
/*
 * The connection agent of e2bctl run (and start, ps, signal), like ssh's
 * ControlMaster with ControlPersist: one process per user and
 * configuration keeps libe2b clients, and so their connections to envd and
 * the API, alive between runs, so that a run pays no TCP handshake.
 *
 * Shape.  The first run that finds no agent forks one (no exec: the API
 * key stays in memory, never on a command line) and runs directly.  The
 * agent is a master that owns the listening socket and a few workers it
 * forks; every worker is single-threaded (C4), blocks in accept() on the
 * shared socket, serves one run at a time and keeps its e2b_client between
 * runs.  The master forks one more worker only when a connection waits
 * and none is idle (eager spares would be picked first by accept's FIFO
 * and be cold), and exits after E2BCTL_AGENT_IDLE seconds (default 60)
 * without a run, or as soon as its socket is removed or replaced.
 *
 * A run.  The client sends the command line and a fingerprint of its
 * configuration with its stdin, stdout, stderr and working directory
 * (SCM_RIGHTS).  The worker answers 'A' (begun: from here the command may
 * have started, so the client must not run it again), dup2()s the four
 * onto its own, runs the very same command code as a direct run (so
 * output, messages and exit code are the same by construction), drops the
 * descriptors and answers 'X' with the exit code.  The client relays each
 * SIGINT/SIGTERM/SIGHUP as one 'S' byte, which the worker's SIGIO handler
 * counts into sig_interrupts exactly as the direct run's own handler
 * would.  A client that dies (SIGKILL) leaves the command running, as a
 * direct run that dies does: the worker stops streaming without a word.
 * Anything that fails before 'A' makes the client run the command itself
 * (a debug line with -v); a lost agent after 'A' is an error.
 *
 * Security (issue 9).  The socket lives in $XDG_RUNTIME_DIR/e2bctl (when
 * that is ours) or /tmp/e2bctl-UID, a directory that must be ours and
 * 0700, else no agent is used.  The worker takes only peers of its own uid
 * (SO_PEERCRED).  The socket's name is a hash of the fingerprint: every
 * setting and environment variable that selects credentials, endpoint,
 * TLS or the code itself (the e2bctl binary), and the worker compares the
 * whole fingerprint, so a run with another key or server never reaches
 * another configuration's agent, even on a hash collision.  The
 * fingerprint holds the API key: it only travels over the private socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "proc.h"

extern char **environ;

#define AGENT_MAGIC 0x41423245u	/* "E2BA" */
#define AGENT_VERSION 1u
#define AGENT_IDLE_DEFAULT_S 60u
#define AGENT_MAX_WORKERS 16
#define AGENT_FP_MAX (64u * 1024)
#define AGENT_ARGV_MAX (4u * 1024 * 1024)
/* stdin, stdout, stderr, working directory */
#define AGENT_NFDS 4
/* How often the master looks at its socket and the idle clock. */
#define AGENT_TICK_MS 500

struct agent_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t fp_len;
	uint32_t argv_len;
	uint32_t argc;
};

/* The answer 'A': who serves the run (shown by -v, used by the tests). */
struct agent_begun {
	char tag;		/* 'A' */
	char pad[3];
	uint32_t master_pid;
	uint32_t worker_pid;
	uint32_t served;	/* runs this agent has begun, this one included */
};

struct agent_done {
	char tag;		/* 'X' */
	char pad[3];
	int32_t code;
};

/* A worker's news for the master: busy, idle, or (pid 0) a child died. */
struct agent_news {
	pid_t pid;
	char what;		/* 'b', 'i', 'c' */
};

static void agent_debug(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void agent_debug(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx->verbose)
		return;
	va_start(ap, fmt);
	fputs("e2bctl: debug: agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * The commands an agent runs: run, and the process commands that, like
 * it, make a call or two and print (no local files, no terminal modes, no
 * handlers of their own for Ctrl-C).
 */
int agent_serves(const char *cmd)
{
	static const char *const names[] = { "run", "start", "ps", "signal" };
	size_t i;

	for (i = 0; cmd && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(cmd, names[i]))
			return 1;
	return 0;
}

/* The idle time in seconds from E2BCTL_AGENT_IDLE; 0 = no agent. */
static unsigned agent_idle_s(void)
{
	const char *v = getenv("E2BCTL_AGENT"), *s = getenv("E2BCTL_AGENT_IDLE");
	unsigned long n;
	char *end;

	if (v && (!strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off")))
		return 0;
	if (!s || !*s)
		return AGENT_IDLE_DEFAULT_S;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n > 86400 * 7)
		return AGENT_IDLE_DEFAULT_S;
	return (unsigned)n;
}

/* ---------------------------------------------------------------- */
/* The fingerprint and the socket's place                            */
/* ---------------------------------------------------------------- */

struct fp {
	char *s;
	size_t len, cap;
};

static void fp_add(struct fp *fp, const char *name, const char *val)
{
	size_t need = strlen(name) + (val ? strlen(val) : 0) + 3;

	if (fp->len + need >= fp->cap) {
		fp->cap = (fp->len + need) * 2;
		fp->s = xrealloc(fp->s, fp->cap);
	}
	/* A value with a newline cannot pose as another line: the length of
	 * the value is part of the text. */
	fp->len += (size_t)snprintf(fp->s + fp->len, fp->cap - fp->len, "%s=%s\n",
				    name, val ? val : "(null)");
	if (val && strchr(val, '\n')) {
		char n[32];

		snprintf(n, sizeof(n), "%zu", strlen(val));
		fp_add(fp, "len", n);
	}
}

/* Environment variables that may change credentials, endpoint, TLS, the
 * code that runs, or where state is kept. */
static int env_selects(const char *e)
{
	static const char *const prefixes[] = {
		"E2B", "X_API_KEY=", "X_ACCESS_TOKEN=", "SCHEME=", "PROTOCOL=",
		"HOME=", "XDG_", "SSL_", "CURL_", "OPENSSL_", "LD_", "NO_PROXY=",
		"no_proxy=",
	};
	size_t i, n = strcspn(e, "=");

	if (!strncmp(e, "E2BCTL_AGENT", 12))
		return 0;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(e, prefixes[i], strlen(prefixes[i])))
			return 1;
	/* http_proxy, HTTPS_PROXY, ALL_PROXY, ... */
	return n >= 5 && !strncasecmp(e + n - 5, "proxy", 5);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *fingerprint(const e2b_config *cfg)
{
	struct fp fp = { 0 };
	struct stat st;
	char num[128], **env;
	size_t n = 0, i;

	fp_add(&fp, "e2bctl", E2B_VERSION);
	/* Another build of e2bctl gets another agent. */
	if (stat("/proc/self/exe", &st) == 0) {
		snprintf(num, sizeof(num), "%llu:%llu:%lld.%09ld:%lld",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (long long)st.st_size);
		fp_add(&fp, "exe", num);
	}
	snprintf(num, sizeof(num), "%u", (unsigned)getuid());
	fp_add(&fp, "uid", num);
	fp_add(&fp, "api_key", cfg->api_key);
	fp_add(&fp, "access_token", cfg->access_token);
	fp_add(&fp, "domain", cfg->domain);
	fp_add(&fp, "scheme", cfg->scheme);
	fp_add(&fp, "api_url", cfg->api_url);
	fp_add(&fp, "sandbox_url", cfg->sandbox_url);
	fp_add(&fp, "user", cfg->user);
	fp_add(&fp, "ca_file", cfg->ca_file);
	snprintf(num, sizeof(num), "%d %d %d %d %d", (int)cfg->protocol, cfg->insecure,
		 cfg->http1_only, (int)cfg->codec, cfg->sandbox_url_append_id);
	fp_add(&fp, "flags", num);
	for (i = 0; environ[i]; i++)
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0, n = 0; environ[i]; i++)
		if (env_selects(environ[i]))
			env[n++] = environ[i];
	qsort(env, n, sizeof(*env), cmp_str);
	for (i = 0; i < n; i++)
		fp_add(&fp, "env", env[i]);
	free(env);
	return fp.s;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * The private directory of the agents' sockets into @p dir (created 0700
 * if missing).  @return 0, or -1 with *@p why set when it is missing, not
 * ours or open to others (then no agent is used).
 */
static int agent_dir(char *dir, size_t cap, const char **why)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (run && *run == '/' && stat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == getuid())
		n = snprintf(dir, cap, "%s/e2bctl", run);
	else
		n = snprintf(dir, cap, "/tmp/e2bctl-%u", (unsigned)getuid());
	if (n < 0 || (size_t)n >= cap) {
		*why = "socket directory name too long";
		return -1;
	}
	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0 || lstat(dir, &st) < 0) {
			*why = "cannot create the socket directory";
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		*why = "socket directory is not ours";
		return -1;
	}
	if (st.st_mode & 077) {
		*why = "socket directory is open to other users";
		return -1;
	}
	return 0;
}

static int agent_paths(struct sockaddr_un *sa, char *lock, size_t cap, const char *fp,
		       const char **why)
{
	char dir[PATH_MAX];
	uint64_t h = fnv1a(fp);
	int n;

	if (agent_dir(dir, sizeof(dir), why) < 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/agent-%016llx",
		     dir, (unsigned long long)h);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		*why = "socket path too long";
		return -1;
	}
	n = snprintf(lock, cap, "%s/agent-%016llx.lock", dir, (unsigned long long)h);
	if (n < 0 || (size_t)n >= cap) {
		*why = "socket path too long";
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Socket I/O                                                        */
/* ---------------------------------------------------------------- */

/* All of @p len bytes out (@p out) or in, on a socket.  @return 0 or -1 */
static int sock_all(int fd, void *buf, size_t len, int out)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		/* MSG_NOSIGNAL: a vanished peer is an error, not our death. */
		n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	return sock_all(fd, (void *)buf, len, 1);
}

/* ---------------------------------------------------------------- */
/* The worker                                                        */
/* ---------------------------------------------------------------- */

/* The run's socket, for the SIGIO handler; -1 between runs. */
static volatile sig_atomic_t worker_conn = -1;
static volatile sig_atomic_t worker_hup;
/* /dev/null, for the stdio of a run whose client died. */
static int worker_devnull = -1;

/* The client's 'S' bytes are its signals; its hanging up ends the run. */
static void worker_on_sigio(int sig)
{
	int fd = worker_conn, saved = errno;
	char buf[64];
	ssize_t n, i;

	(void)sig;
	if (fd < 0 || worker_hup)
		goto out;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* The client died: give up on the command silently
			 * (proc_pump() detaches at the third interrupt). */
			worker_hup = 1;
			dup2(worker_devnull, STDIN_FILENO);
			dup2(worker_devnull, STDOUT_FILENO);
			dup2(worker_devnull, STDERR_FILENO);
			sig_interrupts = 3;
			break;
		}
		if (n < 0)
			break;
		for (i = 0; i < n; i++)
			if (buf[i] == 'S')
				sig_interrupts++;
	}
out:
	errno = saved;
}

/* Read one request: header, fingerprint, argv, and the four descriptors. */
static int worker_read(int conn, struct agent_hdr *h, char **out_fp, char **out_argv,
		       int fds[AGENT_NFDS])
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * AGENT_NFDS)];
	} u;
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;
	int i;

	*out_fp = *out_argv = NULL;
	for (i = 0; i < AGENT_NFDS; i++)
		fds[i] = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int) * AGENT_NFDS))
			memcpy(fds, CMSG_DATA(c), sizeof(int) * AGENT_NFDS);
	}
	if (n != (ssize_t)sizeof(*h) || (msg.msg_flags & MSG_CTRUNC) || fds[0] < 0 ||
	    h->magic != AGENT_MAGIC || h->version != AGENT_VERSION ||
	    h->fp_len > AGENT_FP_MAX || h->argv_len > AGENT_ARGV_MAX || h->argc < 1 ||
	    h->argc > h->argv_len)
		return -1;
	*out_fp = xmalloc(h->fp_len + 1);
	*out_argv = xmalloc(h->argv_len + 1);
	if (sock_all(conn, *out_fp, h->fp_len, 0) < 0 ||
	    sock_all(conn, *out_argv, h->argv_len, 0) < 0)
		return -1;
	(*out_fp)[h->fp_len] = '\0';
	(*out_argv)[h->argv_len] = '\0';
	return 0;
}

/* Split @p buf (argc NUL-terminated strings) into a NULL-terminated argv. */
static char **split_argv(char *buf, size_t len, uint32_t argc)
{
	char **argv = xcalloc((size_t)argc + 1, sizeof(*argv));
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < argc; i++) {
		if (off >= len) {
			free(argv);
			return NULL;
		}
		argv[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	return off == len ? argv : (free(argv), NULL);
}

/*
 * Run one e2bctl command line as main() would, on @p ctx whose client
 * stays.  Only agent_serves() commands come here (is_served()).
 */
static int worker_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args args = { 0 };
	struct global_opts g = { 0 };
	const struct cmd_spec *spec;
	int idx, want_help = 0, error;

	idx = cmd_parse_globals(&g, argc, argv, &want_help);
	if (idx < 0)
		return -idx;
	spec = idx < argc ? cmd_find(argv[idx]) : NULL;
	if (!spec || want_help)
		return E2BCTL_EXIT_USAGE;
	error = cmd_parse(&args, spec, argc - idx, argv + idx);
	if (error)
		goto out;
	ctx->opt = g;
	ctx->cmd_name = spec->name;
	ctx->json = g.json | args.json;
	ctx->quiet = g.quiet | args.quiet;
	ctx->verbose = g.verbose | args.verbose;
	error_quiet = ctx->quiet;
	proc_output_errno = 0;
	error = spec->exec(ctx, &args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (!error)
			error = error_msg("cannot write to standard output");
	}
	clearerr(stdout);
	fflush(stderr);
out:
	/* ctx->opt pointed into this request's argv. */
	memset(&ctx->opt, 0, sizeof(ctx->opt));
	cmd_args_release(&args);
	return error;
}

static void news_send(int fd, char what)
{
	struct agent_news nw = { getpid(), what };
	ssize_t r = write(fd, &nw, sizeof(nw));

	(void)r;	/* the master reaps a worker that cannot tell it */
}

/*
 * Is the request (@p len bytes of @p argc strings) `e2bctl [global
 * options] COMMAND ...` for a COMMAND we serve?  Parsed on a copy:
 * parsing edits the strings.
 */
static int is_served(const char *buf, size_t len, uint32_t argc)
{
	struct global_opts g;
	const struct cmd_spec *spec;
	char *copy = xmalloc(len + 1), **argv;
	int idx, want_help = 0, yes = 0;

	memcpy(copy, buf, len + 1);
	argv = split_argv(copy, len, argc);
	if (argv) {
		idx = cmd_parse_globals(&g, (int)argc, argv, &want_help);
		spec = idx >= 0 && idx < (int)argc && !want_help ? cmd_find(argv[idx]) : NULL;
		yes = spec && agent_serves(spec->name);
	}
	free(argv);
	free(copy);
	return yes;
}

/* Serve one connection: a run, or nothing when it is refused. */
static void worker_serve(struct cmd_ctx *ctx, int conn, const char *fp, int news,
			 uint32_t *served)
{
	struct agent_begun begun = { 'A', { 0 }, 0, 0, 0 };
	struct agent_done done = { 'X', { 0 }, 0 };
	struct agent_hdr h;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char *rfp = NULL, *rargv = NULL, **argv = NULL;
	int fds[AGENT_NFDS], i, code;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
	    cr.uid != getuid()) {
		/* Says so (a test tells this refusal from the others). */
		send_all(conn, "U", 1);
		return;
	}
	if (worker_read(conn, &h, &rfp, &rargv, fds) < 0)
		goto out;
	/* Another configuration (a hash collision): not ours to serve. */
	if (strcmp(rfp, fp))
		goto out;
	if (!is_served(rargv, h.argv_len, h.argc))
		goto out;
	argv = split_argv(rargv, h.argv_len, h.argc);
	if (!argv)
		goto out;
	news_send(news, 'b');
	begun.master_pid = (uint32_t)getppid();
	begun.worker_pid = (uint32_t)getpid();
	begun.served = __atomic_add_fetch(served, 1, __ATOMIC_RELAXED);
	if (send_all(conn, &begun, sizeof(begun)) < 0)
		goto idle;
	for (i = 0; i < 3; i++)
		dup2(fds[i], i);
	/* The client's signals from now on, and any sent already (a hang-up
	 * moves our stdio off its descriptors, so after the dup2()s). */
	sig_interrupts = 0;
	worker_hup = 0;
	worker_conn = conn;
	fcntl(conn, F_SETOWN, getpid());
	fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_ASYNC);
	worker_on_sigio(SIGIO);
	if (fchdir(fds[3]) < 0) {
		code = error_msg("cannot enter the working directory: %s", strerror(errno));
	} else {
		code = worker_exec(ctx, (int)h.argc, argv);
	}
	sig_default();
	/* Our copies of the client's stdio go before the answer, so its
	 * readers see EOF when the client exits. */
	for (i = 0; i < 3; i++)
		dup2(worker_devnull, i);
	if (chdir("/") < 0) {
		/* Stays in the client's directory; harmless. */
	}
	fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) & ~O_ASYNC);
	worker_conn = -1;
	/* Idle before the answer: the client's next run, which may come
	 * before we are back in accept(), then waits for us instead of having
	 * the master fork a worker without a warm connection. */
	news_send(news, 'i');
	done.code = code;
	send_all(conn, &done, sizeof(done));
	goto out;
idle:
	news_send(news, 'i');
out:
	for (i = 0; i < AGENT_NFDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(argv);
	free(rargv);
	if (rfp) {
		explicit_bzero(rfp, strlen(rfp));
		free(rfp);
	}
}

static void worker_main(struct cmd_ctx *ctx, int lfd, int news, const char *fp,
			uint32_t *served)
{
	struct sigaction sa;
	sigset_t set;
	int conn;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "e2bctl-worker");
	signal(SIGCHLD, SIG_DFL);
	/* A closed output pipe is EPIPE for the run to report, not our end. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_sigio;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	ctx->in_agent = 1;
	worker_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (worker_devnull < 0)
		_exit(1);
	for (;;) {
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		worker_serve(ctx, conn, fp, news, served);
		close(conn);
	}
}

/* ---------------------------------------------------------------- */
/* The master                                                        */
/* ---------------------------------------------------------------- */

static int master_news_w = -1;

static void master_on_sigchld(int sig)
{
	struct agent_news nw = { 0, 'c' };
	int saved = errno;
	ssize_t r;

	(void)sig;
	r = write(master_news_w, &nw, sizeof(nw));
	(void)r;
	errno = saved;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct master {
	struct cmd_ctx *ctx;
	const char *fp;
	int lfd, news[2];
	/* Runs begun by all workers (shared memory). */
	uint32_t *served;
	struct {
		pid_t pid;
		int busy;
	} w[AGENT_MAX_WORKERS];
	int nw;
};

/* One more worker.  @return 0, or -1 (at the bound, or fork failed) */
static int master_spawn(struct master *m)
{
	pid_t pid;

	if (m->nw >= AGENT_MAX_WORKERS)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(m->news[0]);
		worker_main(m->ctx, m->lfd, m->news[1], m->fp, m->served);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	m->w[m->nw].pid = pid;
	m->w[m->nw].busy = 0;
	m->nw++;
	return 0;
}

/* No worker for a waiting client: hang up on it before 'A', so that it
 * runs directly instead of queueing behind long runs. */
static void master_turn_away(struct master *m)
{
	int c = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c >= 0)
		close(c);
}

static void master_reap(struct master *m)
{
	pid_t pid;
	int i, st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < m->nw; i++) {
			if (m->w[i].pid == pid) {
				m->w[i] = m->w[--m->nw];
				break;
			}
		}
	}
}

static void master_note(struct master *m, const struct agent_news *nw)
{
	int i;

	for (i = 0; i < m->nw; i++)
		if (m->w[i].pid == nw->pid)
			m->w[i].busy = nw->what == 'b';
}

/* Is @p path still the socket we bound (not removed, not replaced)? */
static int still_ours(const char *path, const struct stat *mine)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_ino == mine->st_ino &&
	       st.st_dev == mine->st_dev;
}

/* Listen on @p sa (its inode into @p mine), open the news pipe and the shared run counter,
 * and catch SIGCHLD.  @return 0, or -1 */
static int master_setup(struct master *m, const struct sockaddr_un *sa, struct stat *mine)
{
	struct sigaction sac;

	unlink(sa->sun_path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 || bind(m->lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    chmod(sa->sun_path, 0600) < 0 || listen(m->lfd, 64) < 0 ||
	    lstat(sa->sun_path, mine) < 0 || pipe2(m->news, O_CLOEXEC) < 0)
		return -1;
	m->served = mmap(NULL, sizeof(*m->served), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->served == MAP_FAILED)
		return -1;
	fcntl(m->news[1], F_SETFL, O_NONBLOCK);
	master_news_w = m->news[1];
	memset(&sac, 0, sizeof(sac));
	sac.sa_handler = master_on_sigchld;
	sigemptyset(&sac.sa_mask);
	sac.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &sac, NULL);
	return 0;
}

/* Read one piece of news from a worker: a child gone, busy or idle.  An idle worker
 * restarts the idle clock @p last. */
static void master_read_news(struct master *m, long long *last)
{
	struct agent_news nw;

	if (read(m->news[0], &nw, sizeof(nw)) == (ssize_t)sizeof(nw)) {
		if (nw.what == 'c')
			master_reap(m);
		else
			master_note(m, &nw);
		if (nw.what == 'i')
			*last = now_ms();
	}
}

/* Serve until idle for @p idle_s seconds, or until the socket at @p sa is no longer
 * ours (@p mine), or poll fails. */
static void master_loop(struct master *m, const struct sockaddr_un *sa,
			const struct stat *mine, unsigned idle_s)
{
	struct pollfd pf[2];
	long long last = now_ms();
	int i, nidle, nbusy, n;

	for (;;) {
		nidle = nbusy = 0;
		for (i = 0; i < m->nw; i++) {
			if (m->w[i].busy)
				nbusy++;
			else
				nidle++;
		}
		if (nbusy)
			last = now_ms();
		if (!nbusy && now_ms() - last >= (long long)idle_s * 1000)
			break;
		if (!still_ours(sa->sun_path, mine))
			break;
		pf[0].fd = m->news[0];
		pf[0].events = POLLIN;
		/* A run waits and no worker is free: one more worker. */
		pf[1].fd = nidle ? -1 : m->lfd;
		pf[1].events = POLLIN;
		n = poll(pf, 2, AGENT_TICK_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pf[0].revents & POLLIN))
			master_read_news(m, &last);
		if (n > 0 && (pf[1].revents & POLLIN) && master_spawn(m) < 0)
			master_turn_away(m);
	}
}

/* The agent's master: holds the configuration's lock for life, keeps a pool of workers that
 * serve runs on the socket @p sa, and exits when idle for @p idle_s seconds. */
static void master_main(struct cmd_ctx *ctx, const char *fp, const struct sockaddr_un *sa,
			const char *lock, unsigned idle_s)
{
	struct master m = { .ctx = ctx, .fp = fp, .lfd = -1, .news = { -1, -1 } };
	struct stat mine;
	int lockfd, i;

	lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* Only one agent per configuration: the lock is held for life. */
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0)
		return;
	if (master_setup(&m, sa, &mine) < 0)
		goto out;
	if (master_spawn(&m) < 0)
		goto out;
	master_loop(&m, sa, &mine, idle_s);
	/* New clients find no socket and start another agent; one already
	 * waiting in the backlog gets EOF when the last copy of the listening
	 * socket closes, before 'A', and runs directly. */
	if (still_ours(sa->sun_path, &mine))
		unlink(sa->sun_path);
out:
	if (m.lfd >= 0)
		close(m.lfd);
	signal(SIGCHLD, SIG_DFL);
	for (i = 0; i < m.nw; i++)
		kill(m.w[i].pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	/* A client that opened it meanwhile fails to lock it and gives up;
	 * the next one creates a fresh one. */
	unlink(lock);
	close(lockfd);
}

/*
 * Fork the agent for @p fp.  The child detaches (own session, stdio on
 * /dev/null, no inherited descriptors) and never returns.
 */
static void agent_start(struct cmd_ctx *ctx, const char *fp, const struct sockaddr_un *sa,
			const char *lock, unsigned idle_s)
{
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0)
		return;
	setsid();
	prctl(PR_SET_NAME, "e2bctl-agent");
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	/* Nothing of the first run's caller stays open (a pipe kept open
	 * here would hang a `$(e2bctl run ...)`). */
	close_range(3, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	master_main(ctx, fp, sa, lock, idle_s);
	_exit(0);
}

/* ---------------------------------------------------------------- */
/* The client                                                        */
/* ---------------------------------------------------------------- */

/* Send the request and our four descriptors.  @return 0 or -1 */
static int client_send(int s, const char *fp, struct cmd_ctx *ctx, int cwd)
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * AGENT_NFDS)];
	} u;
	struct agent_hdr h = { AGENT_MAGIC, AGENT_VERSION, 0, 0, 0 };
	int fds[AGENT_NFDS] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, cwd };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	size_t len = 0;
	char *buf, *p;
	ssize_t n;
	int i;

	for (i = 0; i < ctx->argc; i++)
		len += strlen(ctx->argv[i]) + 1;
	if (len > AGENT_ARGV_MAX || strlen(fp) > AGENT_FP_MAX)
		return -1;
	h.fp_len = (uint32_t)strlen(fp);
	h.argv_len = (uint32_t)len;
	h.argc = (uint32_t)ctx->argc;
	memset(&u, 0, sizeof(u));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(h))
		return -1;
	buf = p = xmalloc(len + 1);
	for (i = 0; i < ctx->argc; i++) {
		size_t l = strlen(ctx->argv[i]) + 1;

		memcpy(p, ctx->argv[i], l);
		p += l;
	}
	n = send_all(s, fp, h.fp_len) < 0 || send_all(s, buf, len) < 0 ? -1 : 0;
	free(buf);
	return (int)n;
}

/*
 * Wait for the worker's answers, relaying our signals.  @return the exit
 * code with *@p out_handled = 1, or 0 with *@p out_handled = 0 when the
 * worker went away before the run began.
 */
static int client_wait(int *out_handled, struct cmd_ctx *ctx, int s)
{
	struct agent_begun begun;
	struct agent_done done;
	struct pollfd pf = { .fd = s, .events = POLLIN };
	char msg[sizeof(begun) > sizeof(done) ? sizeof(begun) : sizeof(done)];
	size_t have = 0, want = sizeof(begun);
	int seen = 0, begun_ok = 0;
	ssize_t n;

	*out_handled = 0;
	for (;;) {
		while (sig_interrupts != seen) {
			seen++;
			send_all(s, "S", 1);
		}
		/* The agent does not answer our signals: give up on it as a
		 * direct run gives up on a server that does not. */
		if (seen >= 4) {
			*out_handled = 1;
			error_msg("gave up waiting for the connection agent");
			return E2BCTL_EXIT_INTERRUPTED;
		}
		n = poll(&pf, 1, -1);
		if (n < 0)
			continue;
		n = recv(s, msg + have, want - have, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have < want)
			continue;
		if (!begun_ok) {
			memcpy(&begun, msg, sizeof(begun));
			if (begun.tag != 'A')
				break;
			begun_ok = 1;
			*out_handled = 1;
			agent_debug(ctx, "run by agent %u (worker %u, run %u)",
				    begun.master_pid, begun.worker_pid, begun.served);
			have = 0;
			want = sizeof(done);
			continue;
		}
		memcpy(&done, msg, sizeof(done));
		if (done.tag != 'X')
			break;
		return done.code;
	}
	if (!begun_ok) {
		agent_debug(ctx, "the agent closed the connection; running directly");
		return 0;
	}
	fflush(stdout);
	return error_msg("lost the connection agent while the command ran");
}

int agent_run(int *out_handled, struct cmd_ctx *ctx)
{
	struct sockaddr_un sa;
	const e2b_config *cfg;
	const char *why = NULL;
	char lock[PATH_MAX], *fp = NULL;
	unsigned idle_s;
	int s = -1, cwd = -1, code = 0, error;

	*out_handled = 0;
	if (ctx->in_agent || !ctx->argv || !agent_serves(ctx->cmd_name))
		return 0;
	idle_s = agent_idle_s();
	if (!idle_s)
		return 0;
	/* Printed now and only now when it fails: the direct run reuses it. */
	error = ctx_config(ctx, &cfg);
	if (error) {
		*out_handled = 1;
		return error;
	}
	fp = fingerprint(cfg);
	if (agent_paths(&sa, lock, sizeof(lock), fp, &why) < 0) {
		agent_debug(ctx, "not used: %s", why);
		goto out;
	}
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cwd < 0 || s < 0) {
		agent_debug(ctx, "not used: %s", strerror(errno));
		goto out;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			agent_debug(ctx, "none running; starting one (idle %u s)", idle_s);
			agent_start(ctx, fp, &sa, lock, idle_s);
		} else {
			agent_debug(ctx, "cannot connect: %s", strerror(errno));
		}
		goto out;
	}
	if (client_send(s, fp, ctx, cwd) < 0) {
		agent_debug(ctx, "cannot send the request; running directly");
		goto out;
	}
	/* run's signals go to the agent from here, where proc_pump() acts on
	 * them; the other commands die of them as they would directly (the
	 * worker then drops the call silently). */
	if (!strcmp(ctx->cmd_name, "run"))
		sig_catch();
	code = client_wait(out_handled, ctx, s);
	if (!*out_handled)
		sig_default();
out:
	if (s >= 0)
		close(s);
	if (cwd >= 0)
		close(cwd);
	if (fp) {
		explicit_bzero(fp, strlen(fp));
		free(fp);
	}
	return code;
}
