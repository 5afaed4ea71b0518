/* SPDX-License-Identifier: MIT */
/*
 * e2bctl mount: run the e2bfs daemon for a sandbox directory.  e2bfs is
 * found as $E2BFS, next to e2bctl, in the build tree, or in PATH; it reads
 * the same environment, to which the global options are added so that
 * `e2bctl --profile x mount` reaches the same server.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "mnt.h"
#include "profile.h"

static const struct cmd_option cmd_mount_options[] = {
	{ "options", 'o', "OPTIONS", CMD_OPT_MULTI, "mount options passed to e2bfs" },
	{ "foreground", 'f', NULL, 0, "stay in the foreground" },
	{ NULL, 0, NULL, 0, NULL },
};

static int executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Locate e2bfs.  @return a path (caller frees), or NULL to search PATH. */
static char *find_e2bfs(void)
{
	const char *env = getenv("E2BFS");
	char self[PATH_MAX], *slash, *p;
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			p = xasprintf("%s/e2bfs", self);
			if (executable(p))
				return p;
			free(p);
			/* meson build tree: build/tools/e2bctl, build/fs/e2bfs */
			p = xasprintf("%s/../fs/e2bfs", self);
			if (executable(p))
				return p;
			free(p);
		}
	}
	return NULL;
}

/* Export a setting for the child unless it is NULL. */
static void put_env(const char *name, const char *value)
{
	if (value && setenv(name, value, 1) < 0)
		die("out of memory");
}

/* The mount's own view of its state (.e2bfs/status), or why it has none. */
static char *mount_state(const char *mountpoint)
{
	char *path = xasprintf("%s/%s/status", mountpoint, MNT_CTL_DIR), *s;
	json_t *j = json_load_file(path, 0, NULL), *st;

	free(path);
	st = j ? json_object_get(j, "state") : NULL;
	s = xstrdup(json_is_string(st) ? json_string_value(st) : "unreachable");
	json_decref(j);
	return s;
}

/* The Mount object of docs/e2bctl.md. */
static json_t *json_mount(const struct mnt_entry *m, const char *state)
{
	json_t *o = json_object();

	json_object_set_new(o, "sandboxID", json_str(m->id));
	json_object_set_new(o, "path", json_str(m->root));
	json_object_set_new(o, "mountpoint", json_str(m->mountpoint));
	json_object_set_new(o, "state", json_str(state));
	return o;
}

/*
 * `mount --json` without -f: run e2bfs as a child (its output goes to our
 * stderr), wait until it has mounted and gone to the background, then
 * print the new mount's Mount object.
 */
static int mount_json_result(const char *prog, const char **argv, const char *mountpoint)
{
	struct mnt_entry *v;
	char *real = realpath(mountpoint, NULL);
	size_t n, i;
	int status, error = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		free(real);
		return error_msg("cannot fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		if (strchr(prog, '/'))
			execv(prog, (char *const *)argv);
		else
			execvp(prog, (char *const *)argv);
		fprintf(stderr, "e2bctl: cannot run '%s': %s\n", prog, strerror(errno));
		_exit(errno == ENOENT ? E2BCTL_EXIT_NOTFOUND : E2BCTL_EXIT_ERROR);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			free(real);
			return error_msg("cannot wait for e2bfs: %s", strerror(errno));
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(real);
		/* e2bfs has said why. */
		return WIFEXITED(status) ? WEXITSTATUS(status) : E2BCTL_EXIT_ERROR;
	}
	if (mnt_list(&v, &n) < 0) {
		free(real);
		return error_msg("cannot read /proc/self/mountinfo: %s", strerror(errno));
	}
	for (i = 0; i < n; i++)
		if (real && !strcmp(v[i].mountpoint, real))
			break;
	if (i < n) {
		char *state = mount_state(v[i].mountpoint);

		out_json(json_mount(&v[i], state));
		free(state);
	} else {
		error = error_msg("e2bfs exited but '%s' is not mounted", mountpoint);
	}
	mnt_list_free(v, n);
	free(real);
	return error;
}

/* `e2bctl mount` alone: the active e2bfs mounts. */
static int list_mounts(struct cmd_ctx *ctx)
{
	struct mnt_entry *v;
	json_t *arr = NULL;
	size_t n, i;

	if (mnt_list(&v, &n) < 0)
		return error_msg("cannot read /proc/self/mountinfo: %s", strerror(errno));
	if (ctx->json)
		arr = json_array();
	else if (n)
		printf("%-24s %-20s %-30s %s\n", "SANDBOX", "PATH", "MOUNTPOINT", "STATE");
	for (i = 0; i < n; i++) {
		char *state = mount_state(v[i].mountpoint);

		if (arr)
			json_array_append_new(arr, json_mount(&v[i], state));
		else
			printf("%-24s %-20s %-30s %s\n", v[i].id, v[i].root,
			       v[i].mountpoint, state);
		free(state);
	}
	if (arr)
		out_json(arr);
	mnt_list_free(v, n);
	return 0;
}

/* Hand the connection settings to e2bfs in its environment.  Flags beat environment beat
 * profile, as for every other command. */
static void mount_env(const struct global_opts *g, const struct profile *p)
{
	if (p) {
		if (!getenv("E2B_API_URL"))
			put_env("E2B_API_URL", p->api_url);
		if (!getenv("E2B_SANDBOX_URL"))
			put_env("E2B_SANDBOX_URL", p->sandbox_url);
		if (!getenv("E2B_DOMAIN"))
			put_env("E2B_DOMAIN", p->domain);
		if (!getenv("PROTOCOL"))
			put_env("PROTOCOL", p->protocol);
		if (!getenv("SCHEME"))
			put_env("SCHEME", p->scheme);
	}
	put_env("E2B_API_URL", g->api_url);
	put_env("E2B_SANDBOX_URL", g->sandbox_url);
	put_env("E2B_DOMAIN", g->domain);
	put_env("PROTOCOL", g->protocol);
	put_env("SCHEME", g->scheme);
	if (g->domain || g->protocol) {
		/* An explicit domain/protocol beats environment URLs (libe2b rule). */
		if (!g->api_url)
			unsetenv("E2B_API_URL");
		if (!g->sandbox_url)
			unsetenv("E2B_SANDBOX_URL");
	}
}

/* e2bfs's command line for mounting @p spec on args->argv[1], NULL-terminated; caller frees
 * it and the strings put in *@p key_opt and *@p user_opt. */
static const char **mount_argv(struct cmd_ctx *ctx, struct cmd_args *args, const char *e2bfs,
			       const char *spec, char **key_opt, char **user_opt)
{
	const struct global_opts *g = &ctx->opt;
	struct profile *p = ctx->prof;
	const char *key_file, **argv;
	char **opts;
	size_t nopts, i, argc = 0;

	opts = cmd_args_all(args, "options", &nopts);
	argv = xcalloc(nopts * 2 + 10, sizeof(*argv));
	argv[argc++] = e2bfs ? e2bfs : "e2bfs";
	if (cmd_count(args, "foreground"))
		argv[argc++] = "-f";
	/* The key file's name, never the key, goes on the command line. */
	key_file = g->api_key_file;
	if (!key_file && p && p->api_key_file && !getenv("E2B_API_KEY") && !getenv("X_API_KEY"))
		key_file = p->api_key_file;
	if (key_file) {
		*key_opt = xasprintf("api_key_file=%s", key_file);
		argv[argc++] = "-o";
		argv[argc++] = *key_opt;
	}
	if (p && p->user) {
		*user_opt = xasprintf("user=%s", p->user);
		argv[argc++] = "-o";
		argv[argc++] = *user_opt;
	}
	for (i = 0; i < nopts; i++) {
		argv[argc++] = "-o";
		argv[argc++] = opts[i];
	}
	argv[argc++] = spec;
	argv[argc++] = args->argv[1];
	argv[argc] = NULL;
	return argv;
}

static int cmd_mount_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	const struct global_opts *g = &ctx->opt;
	struct profile *p = ctx->prof;
	char *e2bfs = find_e2bfs(), *id = NULL, *spec = NULL;
	char *key_opt = NULL, *user_opt = NULL;
	const char *colon, **argv = NULL;
	int error, saved;

	if (args->argc == 0) {
		free(e2bfs);
		return list_mounts(ctx);
	}
	if (args->argc != 2) {
		free(e2bfs);
		return error_usage("mount", "'mount' needs ID[:PATH] and MOUNTPOINT "
				   "(or nothing, to list mounts)");
	}
	colon = strchr(args->argv[0], ':');
	id = colon ? xstrndup(args->argv[0], (size_t)(colon - args->argv[0])) :
		xstrdup(args->argv[0]);
	if (!*id || !strcmp(id, ".")) {
		error = error_usage("mount", "'mount' needs a sandbox ID");
		goto out;
	}
	spec = xasprintf("%s%s", id, colon ? colon : "");
	mount_env(g, p);
	argv = mount_argv(ctx, args, e2bfs, spec, &key_opt, &user_opt);
	fflush(stdout);
	fflush(stderr);
	if (ctx->json && !cmd_count(args, "foreground")) {
		error = mount_json_result(e2bfs ? e2bfs : "e2bfs", argv, args->argv[1]);
		goto out;
	}
	if (e2bfs)
		execv(e2bfs, (char *const *)argv);
	else
		execvp("e2bfs", (char *const *)argv);
	saved = errno;
	error = error_msg("cannot run '%s': %s", e2bfs ? e2bfs : "e2bfs", strerror(saved));
	if (saved == ENOENT)
		error = E2BCTL_EXIT_NOTFOUND;
out:
	free(argv);
	free(key_opt);
	free(user_opt);
	free(e2bfs);
	free(id);
	free(spec);
	return error;
}

const struct cmd_spec cmd_mount_spec = {
	.name = "mount",
	.usage = "[ID[:PATH] MOUNTPOINT [-o OPTIONS]]",
	.summary = "mount a sandbox directory with e2bfs",
	.description =
		"Runs e2bfs ($E2BFS, else the e2bfs next to e2bctl, else from PATH)\n"
		"with the connection settings of the global options and profile passed\n"
		"in its environment.  PATH defaults to the user's home directory.\n"
		"Without arguments, lists the active e2bfs mounts (sandbox, path, mount\n"
		"point and the state the mount reports).\n",
	.options = cmd_mount_options,
	.min_args = 0,
	.max_args = 2,
	.exec = cmd_mount_exec,
};
