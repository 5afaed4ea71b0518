/* SPDX-License-Identifier: MIT */
/*
 * e2bfs entry point: parse the command line (SANDBOX_ID[:PATH] MOUNTPOINT
 * plus FUSE and e2bfs -o options), connect to the sandbox with the same
 * configuration libe2b reads from the environment, mount, and run the
 * multithreaded low-level FUSE loop with the watcher and housekeeping
 * threads beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "e2bfs.h"

/* libe2b's log sink: warnings and errors only, debug with -d. */
static void lib_log(e2b_log_level level, const char *msg, void *payload)
{
	struct fs *fs = payload;

	if (level <= E2B_LOG_WARN || fs->debug)
		fs_log(fs, "%s", msg);
}

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_API_KEY,
};

#define OPT(t, p) { t, offsetof(struct opts, p), 1 }

static const struct fuse_opt opt_spec[] = {
	OPT("api_key_file=%s", api_key_file),
	OPT("api_url=%s", api_url),
	OPT("sandbox_url=%s", sandbox_url),
	OPT("ca_file=%s", ca_file),
	OPT("domain=%s", domain),
	OPT("user=%s", user),
	OPT("attr_timeout=%lf", attr_timeout),
	OPT("entry_timeout=%lf", entry_timeout),
	OPT("negative_timeout=%lf", negative_timeout),
	OPT("dir_cache=%lf", dir_cache),
	OPT("watch_cache=%lf", watch_cache),
	OPT("prefetch_entries=%u", prefetch_entries),
	OPT("prefetch_threads=%u", prefetch_threads),
	OPT("ahead_threads=%u", ahead_threads),
	OPT("ahead_files=%u", ahead_files),
	OPT("ahead_start=%u", ahead_start),
	OPT("ahead_size=%s", ahead_size),
	OPT("ahead_bytes=%s", ahead_bytes),
	OPT("cache_dir=%s", cache_dir),
	OPT("cache_max=%s", cache_max),
	OPT("no_watch", no_watch),
	OPT("noautoresume", noautoresume),
	OPT("autounmount", autounmount),
	OPT("keepalive", keepalive),
	OPT("op_timeout=%lf", op_timeout),
	{ "symlinks=raw", offsetof(struct opts, raw_links), 1 },
	{ "symlinks=contain", offsetof(struct opts, raw_links), 0 },
	{ "idmap=none", offsetof(struct opts, idmap_none), 1 },
	{ "idmap=user", offsetof(struct opts, idmap_none), 0 },
	FUSE_OPT_KEY("api_key=", KEY_API_KEY),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

/* fuse_opt_parse stores options at offsets into the data it is given:
 * struct opts must come first. */
struct parse_ctx {
	struct opts o;
	char *spec;
	int nonopts;
	int bad_key;
};

/* Whether ARG (one -o option) could carry a credential: a name such as
 * API_KEY, access-token or password in any case, or a bare value shaped
 * like a key or token (an E2B prefix, or 24 characters or more).  Such an
 * option is refused without being printed (libfuse would echo it back as
 * unknown). */
static int opt_is_secret(const char *arg)
{
	static const char *const words[] = { "key", "token", "secret", "passw", "auth", "cred" };
	static const char *const prefixes[] = { "e2b_", "sk_", "sk-", "ea_" };
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg), i, j;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncasecmp(arg, prefixes[i], strlen(prefixes[i])))
			return 1;
	if (!eq)
		return n >= 24;
	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(words) / sizeof(words[0]); j++)
			if (!strncasecmp(arg + i, words[j], strlen(words[j])) &&
			    i + strlen(words[j]) <= n)
				return 1;
	return 0;
}

/* libfuse's messages, with every "=value" cut to "=*": "unknown option(s):
 * `-o name=value'" (printed in pieces) must not show a value that may be a
 * key. */
static void fuse_log_redacted(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	char *p, *q;

	(void)level;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (p = strchr(msg, '='); p; p = strchr(p + 1, '=')) {
		q = p + 1 + strcspn(p + 1, ",' \n");
		if (q == p + 1)
			continue;
		memmove(p + 2, q, strlen(q) + 1);
		p[1] = '*';
	}
	fputs(msg, stderr);
}

/* Options meant for mount(8) or fstab readers that mount.fuse.e2bfs may
 * be handed (-o noauto,_netdev,x-systemd.automount, mount's -n and -v):
 * not ours, not the kernel's. */
static int opt_mount_only(const char *arg)
{
	static const char *const names[] = {
		"-n", "-v", "noauto", "auto", "_netdev", "nofail", "user", "users",
		"nouser", "defaults",
	};
	size_t i;

	if (!strncmp(arg, "x-", 2) || !strncmp(arg, "comment=", 8))
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i]))
			return 1;
	return 0;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct parse_ctx *c = data;

	switch (key) {
	case KEY_HELP:
		c->o.show_help = 1;
		return 0;
	case KEY_VERSION:
		c->o.show_version = 1;
		return 0;
	case KEY_API_KEY:
		c->bad_key = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (c->nonopts++ == 0) {
			c->spec = strdup(arg);
			return 0;
		}
		return 1;
	case FUSE_OPT_KEY_OPT:
		if (opt_mount_only(arg))
			return 0;
		if (opt_is_secret(arg)) {
			c->bad_key = 1;
			return 0;
		}
		if (!strcmp(arg, "ro"))
			c->o.ro = 1;
		return 1;
	default:
		return 1;
	}
}

/* The program's name as the user typed it, without a build path. */
static const char *prog_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	return slash ? slash + 1 : argv0 && *argv0 ? argv0 : "e2bfs";
}

/* Every option once: e2bfs's own, then the libfuse ones e2bfs supports
 * (its defaults, not libfuse's), then what mount(8) passes. */
static void usage(const char *prog)
{
	printf("usage: %s [options] SANDBOX_ID[:PATH] MOUNTPOINT\n\n"
	       "Mount the directory PATH (default: the sandbox user's home) of an\n"
	       "E2B-compatible sandbox at MOUNTPOINT.  Connection settings come from\n"
	       "the environment as for libe2b: E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL,\n"
	       "E2B_DOMAIN, PROTOCOL, SCHEME, X_ACCESS_TOKEN, E2B_DEBUG.\n\n"
	       "e2bfs options:\n"
	       "    -o api_key_file=FILE   read the API key from FILE (never pass a key on\n"
	       "                           the command line)\n"
	       "    -o api_url=URL         management API URL (as E2B_API_URL; for fstab)\n"
	       "    -o sandbox_url=URL     envd URL (as E2B_SANDBOX_URL)\n"
	       "    -o ca_file=FILE        CA certificates (PEM) TLS trusts instead of\n"
	       "                           the system's\n"
	       "    -o domain=DOMAIN       service domain (as E2B_DOMAIN)\n"
	       "    -o user=NAME           sandbox user for files and helpers (default:\n"
	       "                           envd's default user)\n"
	       "    -o attr_timeout=S      kernel attribute cache (default 1)\n"
	       "    -o entry_timeout=S     kernel name cache (default 1)\n"
	       "    -o negative_timeout=S  kernel cache of missing names (default 1)\n"
	       "    -o dir_cache=S         e2bfs listing/attribute cache (default 5)\n"
	       "    -o watch_cache=S       while the watch is up, keep listings and\n"
	       "                           attributes until it reports a change, and let\n"
	       "                           the kernel keep them S seconds (default 3600;\n"
	       "                           0 = only dir_cache and the timeouts above)\n"
	       "    -o prefetch_entries=N  listing cache bound, in entries (default 200000)\n"
	       "    -o prefetch_threads=N  list subdirectories of a listed directory ahead\n"
	       "                           of a tree walk, N at a time (default 4, 0 = off)\n"
	       "    -o ahead_threads=N     when a process reads through a directory, fetch\n"
	       "                           its small files and those of the directories\n"
	       "                           after it, N at a time (default 64, 0 = off)\n"
	       "    -o ahead_files=N       files fetched ahead of the reader (default 1024)\n"
	       "    -o ahead_start=N       a run's first window (default: 32 to 256 files,\n"
	       "                           by the measured latency)\n"
	       "    -o ahead_size=SIZE     largest file fetched ahead (default 256K)\n"
	       "    -o ahead_bytes=SIZE    bytes fetched ahead of the reader (default 64M)\n"
	       "    -o cache_dir=DIR       content cache (default ~/.cache/e2bfs)\n"
	       "    -o cache_max=SIZE      content cache bound, e.g. 512M, 2G (default 1G)\n"
	       "    -o no_watch            do not follow sandbox-side changes\n"
	       "    -o noautoresume        do not resume a paused sandbox\n"
	       "    -o autounmount         unmount when the sandbox no longer exists "
	       "(default: stay\n"
	       "                           mounted, every operation failing with ENOTCONN)\n"
	       "    -o keepalive           extend the sandbox timeout while mounted\n"
	       "    -o op_timeout=S        fail an operation with EIO after S seconds\n"
	       "                           without the sandbox (default 15)\n"
	       "    -o symlinks=raw        show sandbox link targets as stored, even those\n"
	       "                           leading out of the mount (default: contain)\n"
	       "    -o idmap=none          show the sandbox's owners and groups (its ids),\n"
	       "                           so that chown round-trips (default: user, every\n"
	       "                           file shown as the mounting user's)\n\n"
	       "General and FUSE options:\n"
	       "    -h, --help             print this help\n"
	       "    -V, --version          print the versions of e2bfs, libe2b and libfuse\n"
	       "    -f                     stay in the foreground (log to stderr)\n"
	       "    -d, -o debug           debug output (implies -f)\n"
	       "    -s                     single-threaded\n"
	       "    -o ro                  read-only mount\n"
	       "    -o allow_other         allow access by other users (needs\n"
	       "                           user_allow_other in /etc/fuse.conf)\n"
	       "    -o allow_root          allow access by root\n"
	       "    -o auto_unmount        unmount when e2bfs ends\n"
	       "    -o max_threads=N       worker threads (default 64)\n"
	       "    -o max_idle_threads=N  idle worker threads kept\n"
	       "    -o clone_fd            one /dev/fuse descriptor per thread\n\n"
	       "As mount.fuse.e2bfs (mount -t fuse.e2bfs, fstab), the options mount(8)\n"
	       "passes (rw, dev, suid, exec, atime and their no- forms) go to the kernel,\n"
	       "and noauto, auto, _netdev, nofail, user, users, nouser, defaults, x-* and\n"
	       "comment=* are ignored.\n\n"
	       "Control directory: MOUNTPOINT/.e2bfs/ (hidden from listings) holds\n"
	       "sandbox and status (JSON), ctl (write timeout N, pause, kill, refresh or\n"
	       "sync) and procs/ (start and follow sandbox processes).\n"
	       "See e2bfs(1).\n", prog);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	case 't': case 'T': v <<= 40; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* Read the first line of @file into a malloc'd string. */
/*
 * Is @dir the mount point of a FUSE mount already?  Its type (e.g.
 * "fuse.e2bfs", "fuse.sshfs") into @type.  Mount points in mountinfo
 * escape space, tab, newline and backslash as \ooo.
 */
static int fuse_mounted_at(const char *dir, char *type, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *esc, *o;
	const char *p;
	size_t lcap = 0;
	int found = 0;

	if (!f)
		return 0;
	esc = malloc(strlen(dir) * 4 + 1);
	if (!esc) {
		fclose(f);
		return 0;
	}
	for (p = dir, o = esc; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\\') {
			/* \ooo: 4 bytes, room reserved above */
			*o++ = '\\';
			*o++ = (char)('0' + (((unsigned char)*p >> 6) & 7));
			*o++ = (char)('0' + (((unsigned char)*p >> 3) & 7));
			*o++ = (char)('0' + ((unsigned char)*p & 7));
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	while (!found && getline(&line, &lcap, f) > 0) {
		char mnt[PATH_MAX * 4], fstype[128];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %16383s", mnt) != 1 ||
		    sscanf(dash + 3, "%127s", fstype) != 1)
			continue;
		if (!strcmp(mnt, esc) && !strncmp(fstype, "fuse", 4)) {
			snprintf(type, cap, "%s", fstype);
			found = 1;
		}
	}
	free(line);
	free(esc);
	fclose(f);
	return found;
}

static char *read_key_file(const char *file)
{
	char buf[1024];
	ssize_t n;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "e2bfs: cannot open '%s': %m\n", file);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "e2bfs: cannot read '%s'\n", file);
		return NULL;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		fprintf(stderr, "e2bfs: '%s' holds no key\n", file);
		return NULL;
	}
	return strdup(buf);
}

static pthread_t hk_thread;
static int hk_started;

/* Housekeeping: retried uploads, leftovers, eviction, keepalive. */
static void *housekeeper(void *arg)
{
	struct fs *fs = arg;
	double last_keep = 0;
	struct timespec ts;

	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		pthread_mutex_unlock(&fs->lock);
		cache_housekeep(fs);
		if (fs->o.keepalive && now_mono() - last_keep > 30) {
			last_keep = now_mono();
			remote_keepalive(fs);
		}
		pthread_mutex_lock(&fs->lock);
		if (fs->stopping)
			break;
		deadline_in(&ts, 3);
		pthread_cond_timedwait(&fs->cond, &fs->lock, &ts);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/* No API URL, sandbox URL or domain was given: libe2b's default applies. */
static int no_server_set;

/* Resolve the mounted directory to an absolute path. */
static int resolve_root(struct fs *fs, const char *path, e2b_entry_info **out)
{
	e2b_entry_info *e = NULL;
	int rc;

	rc = remote_stat_root(fs, path, &e);
	if (rc < 0)
		return -1;
	if (e->type != E2B_FILE_TYPE_DIR) {
		fprintf(stderr, "e2bfs: '%s' is not a directory\n", path);
		e2b_entry_info_free(e);
		return -1;
	}
	fs->root = strdup(path[0] == '/' ? path : e->path);
	if (!fs->root) {
		e2b_entry_info_free(e);
		return -1;
	}
	if (strlen(fs->root) > 1 && fs->root[strlen(fs->root) - 1] == '/')
		fs->root[strlen(fs->root) - 1] = 0;
	*out = e;
	return 0;
}

static char *default_cache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char buf[4096];
	struct passwd *pw;

	if (x && x[0] == '/') {
		snprintf(buf, sizeof(buf), "%s/e2bfs", x);
		return strdup(buf);
	}
	if (!home || home[0] != '/') {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/tmp";
	}
	snprintf(buf, sizeof(buf), "%s/.cache/e2bfs", home);
	return strdup(buf);
}

/* What main() sets up and must release on every path (see release()). */
struct run {
	struct fuse_args args;
	struct fuse_cmdline_opts co;
	struct fuse_loop_config *lc;
	struct parse_ctx pc;
	e2b_config cfg;
	char *key, *path, *cd;
	e2b_entry_info *root_entry;
	int mounted, inited;
};

/* Set the lock and the option defaults before the command line is read. */
static void set_defaults(struct fs *fs, struct run *r)
{
	memset(&r->pc, 0, sizeof(r->pc));
	memset(&r->co, 0, sizeof(r->co));
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->cond, NULL);
	r->pc.o.attr_timeout = 1.0;
	r->pc.o.entry_timeout = 1.0;
	r->pc.o.negative_timeout = 1.0;
	r->pc.o.dir_cache = 5.0;
	r->pc.o.watch_cache = 3600.0;
	r->pc.o.prefetch_entries = 200000;
	r->pc.o.prefetch_threads = 4;
	r->pc.o.ahead_threads = 64;
	r->pc.o.ahead_files = 1024;
	r->pc.o.op_timeout = 15.0;
	fs->online = 1;
}

/* Parse the -o options and check them (--help and --version end here).
 * 0 to go on, or -1 with *ret the exit status. */
static int parse_options(struct fs *fs, struct run *r, const char *argv0, int *ret)
{
	fuse_set_log_func(fuse_log_redacted);
	if (fuse_opt_parse(&r->args, &r->pc, opt_spec, opt_proc) < 0) {
		*ret = 2;
		return -1;
	}
	fs->o = r->pc.o;
	if (r->pc.bad_key) {
		fprintf(stderr, "e2bfs: an API key, token or password is never taken "
			"on the command line; "
			"use E2B_API_KEY or -o api_key_file=FILE\n");
		*ret = 2;
		return -1;
	}
	if (fs->o.show_version) {
		printf("e2bfs %s (libe2b %s, libfuse %s)\n", E2BFS_VERSION, e2b_version(),
		       fuse_pkgversion());
		*ret = 0;
		return -1;
	}
	if (fs->o.show_help) {
		usage(prog_name(argv0));
		*ret = 0;
		return -1;
	}
	if (!r->pc.spec || r->pc.nonopts < 2) {
		fprintf(stderr, "usage: %s [options] SANDBOX_ID[:PATH] MOUNTPOINT (see --help)\n",
			prog_name(argv0));
		*ret = 2;
		return -1;
	}
	if (fs->o.op_timeout < 1 || fs->o.op_timeout > 3600 || fs->o.attr_timeout < 0 ||
	    fs->o.entry_timeout < 0 || fs->o.negative_timeout < 0 || fs->o.dir_cache < 0 ||
	    fs->o.watch_cache < 0) {
		fprintf(stderr, "e2bfs: timeouts must be >= 0 (op_timeout 1..3600)\n");
		*ret = 2;
		return -1;
	}
	return 0;
}

/* The cache and fetch-ahead sizes: defaults, then the options'.
 * 0, or -1 with the exit status 2. */
static int parse_sizes(struct fs *fs)
{
	fs->cache_max = 1ull << 30;
	fs->ahead_size = 256u << 10;
	fs->ahead_bytes = 64u << 20;
	if ((fs->o.ahead_size && parse_size(fs->o.ahead_size, &fs->ahead_size) < 0) ||
	    (fs->o.ahead_bytes && parse_size(fs->o.ahead_bytes, &fs->ahead_bytes) < 0)) {
		fprintf(stderr, "e2bfs: bad ahead_size or ahead_bytes\n");
		return -1;
	}
	if (fs->o.cache_max && parse_size(fs->o.cache_max, &fs->cache_max) < 0) {
		fprintf(stderr, "e2bfs: bad cache_max '%s'\n", fs->o.cache_max);
		return -1;
	}
	return 0;
}

/* SANDBOX_ID[:PATH] and the mountpoint, which must not be mounted already.
 * 0 to go on, or -1 with *ret the exit status. */
static int parse_target(struct fs *fs, struct run *r, int *ret)
{
	char *colon, fstype[128];
	const char *spec = r->pc.spec;

	colon = strchr(r->pc.spec, ':');
	if (colon) {
		*colon = 0;
		r->path = colon + 1;
	}
	if (!spec[0] || strlen(spec) >= sizeof(fs->sandbox_id) ||
	    strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		    strlen(spec)) {
		fprintf(stderr, "e2bfs: bad sandbox id '%s'\n", spec);
		*ret = 2;
		return -1;
	}
	memcpy(fs->sandbox_id, spec, strlen(spec) + 1);
	if (fuse_parse_cmdline(&r->args, &r->co) != 0 || !r->co.mountpoint) {
		if (!r->co.mountpoint)
			fprintf(stderr, "e2bfs: no mountpoint\n");
		*ret = 2;
		return -1;
	}
	fs->debug = r->co.debug;
	fs->mountpoint = realpath(r->co.mountpoint, NULL);
	if (fs->mountpoint && fuse_mounted_at(fs->mountpoint, fstype, sizeof(fstype))) {
		/* A second mount would stack on the first and need two unmounts. */
		fprintf(stderr, "e2bfs: '%s' is already a %s mount; unmount it first "
			"(fusermount3 -u '%s')\n", fs->mountpoint, fstype, fs->mountpoint);
		return -1;
	}
	fs->uid = getuid();
	fs->gid = getgid();
	return 0;
}

/* Initialise libe2b and make the client from the options and the
 * environment.  0, or -1 (exit status 1). */
static int make_client(struct fs *fs, struct run *r)
{
	e2b_config *cfg = &r->cfg;

	if (e2b_global_init() < 0) {
		fprintf(stderr, "e2bfs: cannot initialise libe2b\n");
		return -1;
	}
	r->inited = 1;
	if (fs->o.api_key_file) {
		r->key = read_key_file(fs->o.api_key_file);
		if (!r->key)
			return -1;
		cfg->api_key = r->key;
	}
	cfg->user = fs->o.user;
	/* For fstab, where no environment is passed. */
	cfg->api_url = fs->o.api_url;
	cfg->sandbox_url = fs->o.sandbox_url;
	cfg->ca_file = fs->o.ca_file;
	cfg->domain = fs->o.domain;
	/* Each attempt gets half the op timeout; libe2b starts a retry only
	 * within twice the request timeout.  Not call_timeout_ms: its bound
	 * replaces the per-attempt one, so an attempt that hangs would spend
	 * the whole op timeout with no retry left. */
	cfg->request_timeout_ms = (unsigned)(fs->o.op_timeout * 500.0);
	cfg->connect_timeout_ms = cfg->request_timeout_ms < 5000 ? cfg->request_timeout_ms : 5000;
	cfg->user_agent = "e2bfs/" E2BFS_VERSION;
	/* Keep a connection per thread that may wait on envd at once: FUSE
	 * workers, uploads, listing prefetch and the readers' fetch-ahead. */
	cfg->max_connections = 24 + fs->o.prefetch_threads + fs->o.ahead_threads;
	cfg->log_cb = lib_log;
	cfg->log_payload = fs;
	e2b_config_from_env(cfg);
	no_server_set = !cfg->api_url && !cfg->sandbox_url && !cfg->domain;
	if (!cfg->api_key && !cfg->access_token) {
		fprintf(stderr, "e2bfs: no API key: set E2B_API_KEY or use -o api_key_file=FILE\n");
		return -1;
	}
	if (e2b_client_new(&fs->client, cfg) < 0) {
		fprintf(stderr, "e2bfs: %s\n", e2b_error_last()->message);
		return -1;
	}
	return 0;
}

/* Attach to the sandbox, resolve the mounted directory, and open the
 * local cache, the inode table and the control file.  0, or -1. */
static int attach(struct fs *fs, struct run *r)
{
	const char *rpath;

	if (remote_attach(fs, no_server_set) < 0)
		return -1;
	rpath = r->path && r->path[0] ? r->path : ".";
	if (resolve_root(fs, rpath, &r->root_entry) < 0)
		return -1;

	r->cd = fs->o.cache_dir ? strdup(fs->o.cache_dir) : default_cache_dir();
	if (!r->cd)
		return -1;
	fs->cache_dir = path_join(r->cd, fs->sandbox_id);
	if (!fs->cache_dir || cache_init(fs) < 0) {
		fprintf(stderr, "e2bfs: cannot use cache directory '%s'\n",
			fs->cache_dir ? fs->cache_dir : r->cd);
		return -1;
	}
	if (inode_init(fs) < 0)
		return -1;
	/* Known root attributes keep the mount answering while offline. */
	inode_unpin(inode_update(fs, fs->root, r->root_entry, NULL));
	ctl_init(fs);
	return 0;
}

/* Make the FUSE session, mount it and daemonize.
 * 0 to go on, or -1 with *ret the exit status. */
static int mount_fs(struct fs *fs, struct run *r, int *ret)
{
	char opt[512];

	fuse_opt_add_arg(&r->args, "-odefault_permissions");
	snprintf(opt, sizeof(opt), "-ofsname=e2bfs:%s:%s", fs->sandbox_id, fs->root);
	if (!strchr(fs->root, ',') && strlen(fs->root) < 400)
		fuse_opt_add_arg(&r->args, opt);
	if (!r->co.nodefault_subtype)
		fuse_opt_add_arg(&r->args, "-osubtype=e2bfs");
	fs->se = fuse_session_new(&r->args, &e2bfs_ops, sizeof(e2bfs_ops), fs);
	if (!fs->se) {
		*ret = 2;	/* libfuse said why: an unknown option */
		return -1;
	}
	if (fuse_set_signal_handlers(fs->se) != 0)
		return -1;
	if (fuse_session_mount(fs->se, r->co.mountpoint) != 0)
		return -1;
	r->mounted = 1;
	if (!r->co.foreground) {
		fs_log_syslog();
	}
	fuse_daemonize(r->co.foreground);
	return 0;
}

/* Start the housekeeper, watch, prefetch and fetch-ahead threads; a
 * thread that does not start is logged, the mount goes on without it. */
static void start_threads(struct fs *fs)
{
	/* Threads only after daemonize (fork). */
	if (pthread_create(&hk_thread, NULL, housekeeper, fs) == 0)
		hk_started = 1;
	if (!fs->o.no_watch && watch_start(fs) < 0)
		fs_log(fs, "cannot watch '%s'; "
		       "sandbox-side changes show after the cache times out",
		       fs->root);
	if (prefetch_start(fs) < 0)
		fs_log(fs, "cannot start the listing prefetch threads");
	if (ahead_start(fs) < 0)
		fs_log(fs, "cannot start the threads that fetch ahead of readers");
}

/* Serve FUSE requests until unmounted or signalled; the exit status. */
static int serve(struct fs *fs, struct run *r)
{
	int ret;

	if (r->co.singlethread) {
		ret = fuse_session_loop(fs->se);
	} else {
		r->lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(r->lc, r->co.clone_fd);
		/* Unset is UINT_MAX, which libfuse 3.14 warns about. */
		if (r->co.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(r->lc, r->co.max_idle_threads);
		fuse_loop_cfg_set_max_threads(r->lc, r->co.max_threads &&
					      r->co.max_threads <= 100000 ?
					      r->co.max_threads : 64);
		ret = fuse_session_loop_mt(fs->se, r->lc);
	}
	return ret != 0;
}

/* Tell every thread to stop, stop them and join the housekeeper. */
static void stop_threads(struct fs *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->stopping = 1;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	watch_stop(fs);
	prefetch_stop(fs);
	ahead_stop(fs);
	ctl_shutdown(fs);
	remote_shutdown(fs);
	if (hk_started)
		pthread_join(hk_thread, NULL);
}

/* Unmount and free what the steps set up, whichever step main() stopped at. */
static void release(struct fs *fs, struct run *r)
{
	if (fs->se) {
		if (r->mounted)
			fuse_session_unmount(fs->se);
		fuse_remove_signal_handlers(fs->se);
		fuse_session_destroy(fs->se);
	}
	if (r->lc)
		fuse_loop_cfg_destroy(r->lc);
	e2b_sandbox_free(fs->sb);
	e2b_client_free(fs->client);
	if (r->inited)
		e2b_global_shutdown();
	if (r->key) {
		memset(r->key, 0, strlen(r->key));
		free(r->key);
	}
	e2b_entry_info_free(r->root_entry);
	free(r->cd);
	free(r->co.mountpoint);
	free(fs->mountpoint);
	free(r->pc.spec);
	fuse_opt_free_args(&r->args);
}

/* The steps in order; the first that fails ends the run (status 1 unless
 * it says otherwise), and release() undoes what the steps did. */
int main(int argc, char *argv[])
{
	static struct fs fs;
	struct run r = { .args = FUSE_ARGS_INIT(argc, argv), .cfg = E2B_CONFIG_INIT };
	int ret = 1;

	set_defaults(&fs, &r);
	if (parse_options(&fs, &r, argv[0], &ret) < 0)
		goto out;
	if (parse_sizes(&fs) < 0) {
		ret = 2;
		goto out;
	}
	if (parse_target(&fs, &r, &ret) < 0 || make_client(&fs, &r) < 0 ||
	    attach(&fs, &r) < 0 || mount_fs(&fs, &r, &ret) < 0)
		goto out;
	start_threads(&fs);
	ret = serve(&fs, &r);
	stop_threads(&fs);
out:
	release(&fs, &r);
	return ret;
}
