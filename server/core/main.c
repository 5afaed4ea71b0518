/* SPDX-License-Identifier: MIT */
/*
 * e2bd entry point: command line, state directory, API key, isolation
 * check, then the listener and the sandbox registry until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "isolate/nsbox.h"
#include "api/sandbox.h"
#include "api/sblog.h"

#ifndef E2BD_VERSION
#define E2BD_VERSION "0.1.0"
#endif

struct e2bd_config g_cfg;
volatile int g_shutting_down;

static const char usage_text[] =
	"usage: e2bd [--listen ADDR:PORT] [--state-dir DIR] [--api-key-file FILE]\n"
	"            [--template NAME=ROOTFS_DIR]... [--default-template NAME]\n"
	"            [--flavor e2b|openkruise] [--log-level error|warn|info|debug]\n"
	"            [--domain DOMAIN] [--network default|none|NAME=none]...\n"
	"            [--sandbox-subnet CIDR] [--allow-remote] [--header-timeout S]\n"
	"            [--max-connections-per-ip N] [--memory-limit [NAME=]SIZE]...\n"
	"            [--disk-limit [NAME=]SIZE]... [--sandbox-log-entries N]\n"
	"            [--sandbox-log-keep N] [--help] [--version]\n"
	"\n"
	"A local E2B-compatible sandbox server: the E2B management API (also under\n"
	"/kruise/api) and envd for every sandbox, on one HTTP/1.1 listener.\n"
	"\n"
	"  --listen ADDR:PORT        address to listen on (default 127.0.0.1:49982;\n"
	"                            port 0 picks a free port; IPv6 as [::1]:PORT)\n"
	"  --state-dir DIR           sandboxes and the generated API key (default\n"
	"                            $XDG_STATE_HOME/e2bd, ~/.local/state/e2bd, or\n"
	"                            /var/lib/e2bd as root)\n"
	"  --api-key-file FILE       read the API key from FILE; without it a key is\n"
	"                            generated once into STATE_DIR/api-key (mode 0600)\n"
	"  --template NAME=DIR       add a template whose root filesystem is DIR\n"
	"                            (repeatable; built-in: base, alias code-interpreter)\n"
	"  --default-template NAME   template for create requests naming none\n"
	"                            (default: none, such requests get 400)\n"
	"  --flavor e2b|openkruise   answer as E2B (default) or as OpenKruise's\n"
	"                            sandbox-manager where the two differ\n"
	"  --log-level LEVEL         error, warn, info (default) or debug\n"
	"  --domain DOMAIN           domain reported to clients (default: the\n"
	"                            request's Host header)\n"
	"  --network default|none    default: each sandbox has its own network\n"
	"                            namespace with internet access through a veth\n"
	"                            pair and NAT (as root, with nftables); none:\n"
	"                            loopback only; NAME=none: template NAME's\n"
	"                            sandboxes alone (repeatable)\n"
	"  --sandbox-subnet CIDR     private IPv4 pool for the veth links, one /30\n"
	"                            per sandbox (default 10.231.0.0/16)\n"
	"  --allow-remote            allow a --listen address other than loopback\n"
	"                            (plain HTTP: put a TLS proxy in front)\n"
	"  --header-timeout S        close a connection that sends no complete\n"
	"                            request head for S seconds after connecting or\n"
	"                            after its previous request (default 30, 0: never)\n"
	"  --max-connections-per-ip N\n"
	"                            connections one client address may hold (default\n"
	"                            2048 of 4096)\n"
	"  --memory-limit [NAME=]SIZE\n"
	"                            memory of each sandbox (K, M, G suffix; default\n"
	"                            2G; 0: none): past it the sandbox's process is\n"
	"                            OOM-killed; NAME=SIZE: template NAME's (repeatable)\n"
	"  --disk-limit [NAME=]SIZE  disk of each new sandbox (K, M, G suffix; at\n"
	"                            least 16M; default 10G; 0: none): its files live\n"
	"                            in an ext4 image of SIZE on a loop device (root\n"
	"                            and mke2fs needed); past it writes get ENOSPC;\n"
	"                            NAME=SIZE: template NAME's (repeatable)\n"
	"  --sandbox-log-entries N   log entries kept per sandbox (GET\n"
	"                            /sandboxes/ID/logs; default 1000, oldest dropped)\n"
	"  --sandbox-log-keep N      killed sandboxes whose logs stay readable, for up\n"
	"                            to a day (default 64)\n"
	"  --help                    show this help\n"
	"  --version                 show the version\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* mkdir -p with mode 0700 for the directories we create. */
static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		buf[i] = i < len ? '/' : '\0';
	}
	return 0;
}

static char *default_state_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char buf[4096];

	if (geteuid() == 0)
		return strdup("/var/lib/e2bd");
	if (x && x[0] == '/') {
		snprintf(buf, sizeof(buf), "%s/e2bd", x);
		return strdup(buf);
	}
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/.local/state/e2bd", home);
	return strdup(buf);
}

static int parse_listen(const char *arg)
{
	const char *colon;
	char *end;
	long port;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (!rb || rb[1] != ':')
			return -1;
		g_cfg.listen_addr = strndup(arg + 1, (size_t)(rb - arg - 1));
		colon = rb + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return -1;
		g_cfg.listen_addr = strndup(arg, (size_t)(colon - arg));
	}
	if (!g_cfg.listen_addr || !g_cfg.listen_addr[0])
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	g_cfg.port = (unsigned short)port;
	return 0;
}

static int add_template(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct template_def *t;
	char *rootfs;
	struct stat st;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "e2bd: --template wants NAME=ROOTFS_DIR, got '%s'\n", arg);
		return -1;
	}
	rootfs = realpath(eq + 1, NULL);
	if (!rootfs || stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "e2bd: template root '%s' is not a directory\n", eq + 1);
		free(rootfs);
		return -1;
	}
	t = realloc(g_cfg.templates, (g_cfg.ntemplates + 1) * sizeof(*t));
	if (!t) {
		free(rootfs);
		return -1;
	}
	g_cfg.templates = t;
	t[g_cfg.ntemplates].name = strndup(arg, (size_t)(eq - arg));
	t[g_cfg.ntemplates].rootfs = rootfs;
	g_cfg.ntemplates++;
	return 0;
}

/* "512M", "2G", "1048576": bytes into @out; 0 is allowed (no limit). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

/*
 * --memory-limit / --disk-limit: SIZE is the default of every template,
 * NAME=SIZE that of template NAME.  0, or -1 (said on stderr).
 */
/* A new per-template entry for the NAME of "NAME=VALUE" @arg; NULL on ENOMEM. */
static struct template_limit *new_limit(const char *arg, const char *eq)
{
	struct template_limit *l, *t = realloc(g_cfg.limits, (g_cfg.nlimits + 1) * sizeof(*t));

	if (!t)
		return NULL;
	g_cfg.limits = t;
	l = &t[g_cfg.nlimits];
	memset(l, 0, sizeof(*l));
	l->name = strndup(arg, (size_t)(eq - arg));
	if (!l->name)
		return NULL;
	g_cfg.nlimits++;
	return l;
}

static int parse_limit_opt(bool memory, const char *arg)
{
	const char *eq = strchr(arg, '='), *size = eq ? eq + 1 : arg;
	struct template_limit *l;
	uint64_t v;

	if (parse_size(size, &v) < 0 || (!memory && v && v < (16u << 20)) ||
	    (eq && eq == arg)) {
		fprintf(stderr, "e2bd: bad size '%s' for --%s-limit (%s[NAME=]SIZE)\n", arg,
			memory ? "memory" : "disk", memory ? "" : "0 or at least 16M, ");
		return -1;
	}
	if (!eq) {
		*(memory ? &g_cfg.memory_limit : &g_cfg.disk_limit) = v;
		return 0;
	}
	l = new_limit(arg, eq);
	if (!l)
		return -1;
	if (memory) {
		l->memory = v;
		l->has_memory = true;
	} else {
		l->disk = v;
		l->has_disk = true;
	}
	return 0;
}

/* Trim trailing whitespace (the newline of a key file). */
static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int read_key(const char *path)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "e2bd: cannot open '%s': %m\n", path);
		return -1;
	}
	/* Whoever may write the key file may log in as us: only we or root. */
	if (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022)) {
		fprintf(stderr, "e2bd: refusing key file '%s': it must be owned by uid %u "
			"or root and not writable by group or others\n",
			path, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if (st.st_mode & 044)
		fprintf(stderr, "e2bd: warning: '%s' is readable by other users\n", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "e2bd: cannot read '%s': %m\n", path);
		return -1;
	}
	buf[n] = '\0';
	trim(buf);
	if (!buf[0] || strlen(buf) >= sizeof(g_cfg.api_key) || strchr(buf, '\n')) {
		fprintf(stderr, "e2bd: '%s' does not hold one API key of 1-128 chars\n", path);
		return -1;
	}
	memcpy(g_cfg.api_key, buf, strlen(buf) + 1);
	memset(buf, 0, sizeof(buf));
	return 0;
}

/* Read STATE_DIR/api-key, creating it with a fresh key on first start. */
static int state_key(char *path, size_t pathlen)
{
	char key[80];
	int fd;
	size_t len;

	snprintf(path, pathlen, "%s/api-key", g_cfg.state_dir);
	if (access(path, F_OK) == 0)
		return read_key(path);
	memcpy(key, "e2b_", 4);
	if (util_random_hex(key + 4, sizeof(key) - 4, 20) < 0) {
		fprintf(stderr, "e2bd: cannot generate an API key\n");
		return -1;
	}
	len = strlen(key);
	key[len] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, len + 1) != (ssize_t)(len + 1)) {
		fprintf(stderr, "e2bd: cannot write '%s': %m\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	key[len] = '\0';
	memcpy(g_cfg.api_key, key, len + 1);
	memset(key, 0, sizeof(key));
	fprintf(stderr, "e2bd: generated a new API key in %s\n", path);
	return 0;
}

enum {
	OPT_LISTEN = 256, OPT_STATE_DIR, OPT_KEY_FILE, OPT_TEMPLATE,
	OPT_DEFAULT_TEMPLATE, OPT_FLAVOR, OPT_LOG_LEVEL, OPT_DOMAIN, OPT_HELP,
	OPT_VERSION, OPT_NETWORK, OPT_SANDBOX_SUBNET, OPT_ALLOW_REMOTE,
	OPT_HEADER_TIMEOUT, OPT_PER_IP, OPT_MEMORY_LIMIT, OPT_DISK_LIMIT,
	OPT_SBLOG_ENTRIES, OPT_SBLOG_KEEP,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "api-key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "template", required_argument, NULL, OPT_TEMPLATE },
	{ "default-template", required_argument, NULL, OPT_DEFAULT_TEMPLATE },
	{ "flavor", required_argument, NULL, OPT_FLAVOR },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "sandbox-subnet", required_argument, NULL, OPT_SANDBOX_SUBNET },
	{ "allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "max-connections-per-ip", required_argument, NULL, OPT_PER_IP },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "disk-limit", required_argument, NULL, OPT_DISK_LIMIT },
	{ "sandbox-log-entries", required_argument, NULL, OPT_SBLOG_ENTRIES },
	{ "sandbox-log-keep", required_argument, NULL, OPT_SBLOG_KEEP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Whether the --listen address is loopback only (127/8, ::1, localhost). */
static bool listen_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(addr, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static bool template_known(const char *name)
{
	size_t i;

	if (strcmp(name, "base") == 0 || strcmp(name, "code-interpreter") == 0)
		return true;
	for (i = 0; i < g_cfg.ntemplates; i++)
		if (strcmp(g_cfg.templates[i].name, name) == 0)
			return true;
	return false;
}

/* The value of --log-level as a level; -1 for none. */
static int parse_log_level(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const int levels[] = { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return levels[i];
	return -1;
}

/*
 * --max-connections-per-ip, --header-timeout, --sandbox-log-entries or
 * --sandbox-log-keep; -1 after a message.
 */
static int parse_count_opt(int opt, const char *arg)
{
	unsigned long v, min = 0, max = 86400;
	const char *name = "header-timeout";
	char *end;

	if (opt == OPT_PER_IP) {
		name = "max-connections-per-ip";
		min = 1;
		max = 4096;
	} else if (opt == OPT_SBLOG_ENTRIES) {
		name = "sandbox-log-entries";
		min = 10;
		max = 100000;
	} else if (opt == OPT_SBLOG_KEEP) {
		name = "sandbox-log-keep";
		max = 10000;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "e2bd: bad value '%s' for --%s (%lu to %lu)\n", arg,
			name, min, max);
		return -1;
	}
	if (opt == OPT_PER_IP)
		g_cfg.per_ip_limit = (unsigned)v;
	else if (opt == OPT_SBLOG_ENTRIES)
		g_sblog_entries = v;
	else if (opt == OPT_SBLOG_KEEP)
		g_sblog_keep = v;
	else
		g_cfg.header_timeout_s = (unsigned)v;
	return 0;
}

/* --flavor and --network; -1 after a message. */
/* --network default|none for every template, NAME=none for template NAME. */
static int parse_network_opt(const char *arg)
{
	const char *eq = strchr(arg, '='), *v = eq ? eq + 1 : arg;
	struct template_limit *l;
	bool none = strcmp(v, "none") == 0;

	if ((!none && (eq || strcmp(v, "default") != 0)) || eq == arg) {
		fprintf(stderr, "e2bd: --network wants default, none or NAME=none, got '%s'\n",
			arg);
		return -1;
	}
	if (!eq) {
		g_cfg.network_none = none;
		return 0;
	}
	l = new_limit(arg, eq);
	if (!l)
		return -1;
	l->has_network = true;
	l->network_none = none;
	return 0;
}

static int parse_choice_opt(int opt, const char *arg)
{
	if (opt == OPT_FLAVOR && strcmp(arg, "e2b") == 0) {
		g_cfg.flavor = FLAVOR_E2B;
	} else if (opt == OPT_FLAVOR && strcmp(arg, "openkruise") == 0) {
		g_cfg.flavor = FLAVOR_OPENKRUISE;
	} else if (opt == OPT_FLAVOR) {
		fprintf(stderr, "e2bd: unknown flavor '%s'\n", arg);
		return -1;
	} else {
		return parse_network_opt(arg);
	}
	return 0;
}

/* Options that only store a string or set a flag; false for any other. */
static bool store_opt(int opt, const char *arg, const char **key_file, bool *allow_remote)
{
	switch (opt) {
	case OPT_STATE_DIR:
		free(g_cfg.state_dir);
		g_cfg.state_dir = strdup(arg);
		return true;
	case OPT_KEY_FILE:
		*key_file = arg;
		return true;
	case OPT_DEFAULT_TEMPLATE:
		g_cfg.default_template = strdup(arg);
		return true;
	case OPT_DOMAIN:
		g_cfg.domain = strdup(arg);
		return true;
	case OPT_SANDBOX_SUBNET:
		free(g_cfg.sandbox_subnet);
		g_cfg.sandbox_subnet = strdup(arg);
		return true;
	case OPT_ALLOW_REMOTE:
		*allow_remote = true;
		return true;
	default:
		return false;
	}
}

/*
 * One option from getopt_long: -1 to go on, else the exit status.
 * Long: one flat case per option, each a line or a check, left whole so
 * every option reads in one place.
 */
static int apply_opt(int opt, char **argv, const char **key_file, bool *allow_remote)
{
	int lvl;

	if (store_opt(opt, optarg, key_file, allow_remote))
		return -1;
	switch (opt) {
	case OPT_LISTEN:
		free(g_cfg.listen_addr);
		if (parse_listen(optarg) < 0) {
			fprintf(stderr, "e2bd: --listen wants ADDR:PORT, got '%s'\n", optarg);
			return 2;
		}
		return -1;
	case OPT_TEMPLATE:
		return add_template(optarg) < 0 ? 2 : -1;
	case OPT_FLAVOR:
	case OPT_NETWORK:
		return parse_choice_opt(opt, optarg) < 0 ? 2 : -1;
	case OPT_LOG_LEVEL:
		lvl = parse_log_level(optarg);
		if (lvl < 0) {
			fprintf(stderr, "e2bd: unknown log level '%s'\n", optarg);
			return 2;
		}
		g_cfg.log_level = (enum log_level)lvl;
		return -1;
	case OPT_MEMORY_LIMIT:
	case OPT_DISK_LIMIT:
		return parse_limit_opt(opt == OPT_MEMORY_LIMIT, optarg) < 0 ? 2 : -1;
	case OPT_HEADER_TIMEOUT:
	case OPT_PER_IP:
	case OPT_SBLOG_ENTRIES:
	case OPT_SBLOG_KEEP:
		return parse_count_opt(opt, optarg) < 0 ? 2 : -1;
	case OPT_HELP:
		usage(stdout);
		return 0;
	case OPT_VERSION:
		printf("e2bd %s (envd %s)\n", E2BD_VERSION, E2BD_ENVD_VERSION);
		return 0;
	default:
		if (optopt)
			fprintf(stderr, "e2bd: option needs an argument or is unknown: '%s'\n",
				argv[optind - 1]);
		else
			fprintf(stderr, "e2bd: unknown option '%s'\n", argv[optind - 1]);
		usage(stderr);
		return 2;
	}
}

/* The command line into g_cfg: -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **key_file, bool *allow_remote)
{
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		rc = apply_opt(opt, argv, key_file, allow_remote);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "e2bd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The listen address (loopback unless --allow-remote) and default template. */
static int check_config(bool allow_remote)
{
	if (!g_cfg.listen_addr)
		g_cfg.listen_addr = strdup("127.0.0.1");
	if (!listen_is_loopback(g_cfg.listen_addr)) {
		if (!allow_remote) {
			fprintf(stderr, "e2bd: --listen %s is not a loopback address and e2bd "
				"speaks plain HTTP; add --allow-remote to listen there anyway\n",
				g_cfg.listen_addr);
			return -1;
		}
		log_warn("listening on %s, not loopback, with plain HTTP: the API key and "
			 "every request cross the network in clear unless a TLS proxy is in front",
			 g_cfg.listen_addr);
	}
	if (g_cfg.default_template && !template_known(g_cfg.default_template)) {
		fprintf(stderr, "e2bd: unknown default template '%s'\n", g_cfg.default_template);
		return -1;
	}
	return 0;
}

/* The state directory (made, absolute, 0700) and the API key, from
 * --key-file or the state directory; its path into @key_path. */
static int prepare_state(const char *key_file, char *key_path, size_t cap)
{
	char *abs;

	if (!g_cfg.state_dir)
		g_cfg.state_dir = default_state_dir();
	if (!g_cfg.state_dir || mkdir_p(g_cfg.state_dir) < 0) {
		fprintf(stderr, "e2bd: cannot create state directory '%s': %m\n",
			g_cfg.state_dir ? g_cfg.state_dir : "(none)");
		return -1;
	}
	abs = realpath(g_cfg.state_dir, NULL);
	if (abs) {
		free(g_cfg.state_dir);
		g_cfg.state_dir = abs;
	}
	chmod(g_cfg.state_dir, 0700);
	if (key_file) {
		if (read_key(key_file) < 0)
			return -1;
		snprintf(key_path, cap, "%s", key_file);
	} else if (state_key(key_path, cap) < 0) {
		return -1;
	}
	g_cfg.key_file = realpath(key_path, NULL);	/* hidden from sandboxes */
	return 0;
}

/* One thread and socket per connection, fds per sandbox: use what we may. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Registry and listener up, then wait for SIGTERM or SIGINT (SIGHUP is
 * ignored) and shut down; the exit status. */
static int serve(sigset_t *sigs, const char *key_path)
{
	char err[512];
	int sig, ret = 1;

	if (sandbox_registry_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "e2bd: %s\n", err);
		goto out;
	}
	if (http_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "e2bd: %s\n", err);
		goto out_registry;
	}
	fprintf(stderr, "e2bd: listening on http://%s%s%s:%u (api key in %s)\n",
		strchr(g_cfg.listen_addr, ':') ? "[" : "", g_cfg.listen_addr,
		strchr(g_cfg.listen_addr, ':') ? "]" : "", g_cfg.port, key_path);

	for (;;) {
		if (sigwait(sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;
		break;
	}
	log_info("signal %d: shutting down", sig);
	g_shutting_down = 1;
	http_stop();
	ret = 0;
out_registry:
	sandbox_registry_shutdown();
	sblog_clear();
out:
	log_info("stopped");
	return ret;
}

int main(int argc, char **argv)
{
	const char *key_file = NULL;
	char key_path[4096], err[512];
	bool allow_remote = false;
	sigset_t sigs;
	int rc;

	/* Modes of what e2bd and its sandboxes create never depend on the
	 * caller's umask (sandbox roots must stay enterable). */
	umask(022);
	g_cfg.log_level = LOG_INFO;
	g_cfg.flavor = FLAVOR_E2B;
	g_cfg.port = 49982;
	g_cfg.header_timeout_s = 30;
	g_cfg.per_ip_limit = 2048;
	g_cfg.memory_limit = 2ull << 30;
	g_cfg.disk_limit = 10ull << 30;
	rc = parse_args(argc, argv, &key_file, &allow_remote);
	if (rc >= 0)
		return rc;
	if (check_config(allow_remote) < 0)
		return 2;
	if (prepare_state(key_file, key_path, sizeof(key_path)) < 0)
		return 1;

	/* Before any thread: nsbox may unshare the mount namespace. */
	if (nsbox_global_init(g_cfg.state_dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "e2bd: cannot isolate sandboxes: %s\n", err);
		return 1;
	}
	raise_nofile();

	/* Every thread inherits this mask; the main thread waits for them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	return serve(&sigs, key_path);
}
