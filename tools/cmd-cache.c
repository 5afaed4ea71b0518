/* SPDX-License-Identifier: MIT */
/*
 * e2bctl cache prune: remove the e2bfs cache directories
 * (CACHE/<sandbox ID>, CACHE = $XDG_CACHE_HOME/e2bfs or ~/.cache/e2bfs) of
 * sandboxes that no longer exist.  A cache that is mounted, or whose
 * sandbox still exists or cannot be asked about, is kept: its dirty files
 * may still be delivered by the next mount.  A gone sandbox's dirty files
 * (those with a ".dirty" sidecar) can never be delivered, but they are the
 * user's data: that directory moves to CACHE/orphaned/<ID> instead of
 * being removed, and the command says where.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "mnt.h"

static const struct cmd_option cmd_cache_options[] = {
	{ "cache-dir", 'c', "DIR", 0,
	  "the cache directory (default $XDG_CACHE_HOME/e2bfs or ~/.cache/e2bfs)" },
	{ "dry-run", 'n', NULL, 0, "say what would be done, do nothing" },
	{ NULL, 0, NULL, 0, NULL },
};

/* e2bfs's default (fs/main.c default_cache_dir()). */
static char *cache_root(const char *given)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (given)
		return xstrdup(given);
	if (x && x[0] == '/')
		return xasprintf("%s/e2bfs", x);
	return xasprintf("%s/.cache/e2bfs", home && home[0] == '/' ? home : "/tmp");
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* Number of dirty files (".dirty" sidecars) in @dir. */
static unsigned count_dirty(const char *dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (has_suffix(de->d_name, ".dirty"))
			n++;
	closedir(d);
	return n;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		error_warn("cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

static int is_mounted(const char *id, const struct mnt_entry *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].id, id))
			return 1;
	return 0;
}

/* What prune does with one sandbox's cache, and why. */
struct prune_verdict {
	const char *action;	/* "kept", "orphaned" or "removed" */
	const char *why;
	char *dest;		/* where an orphaned cache moves, or NULL */
};

/* Decide on (and unless @p dry, do) the unmounted cache @p dir of sandbox @p id: keep it
 * while the sandbox exists or cannot be asked about, else move it to orphaned/ when it has
 * @p dirty unsent files, or remove it. */
static void prune_unmounted(struct prune_verdict *v, e2b_client *client, const char *root,
			    const char *id, const char *dir, unsigned dirty, int dry)
{
	e2b_sandbox_info *info = NULL;
	int code;

	code = e2b_mgmt_get_info(&info, client, id);
	e2b_sandbox_info_free(info);
	if (code == 0) {
		v->action = "kept";
		v->why = "sandbox exists";
	} else if (code != E2B_ENOTFOUND) {
		v->action = "kept";
		v->why = "cannot tell whether the sandbox exists";
		error_warn("sandbox '%s': %s", id, e2b_error_last()->message);
	} else if (dirty) {
		v->action = "orphaned";
		v->why = "sandbox gone; unsent files kept";
		v->dest = xasprintf("%s/orphaned/%s", root, id);
		if (!dry) {
			char *od = xasprintf("%s/orphaned", root);

			if ((mkdir(od, 0700) < 0 && errno != EEXIST) ||
			    rename(dir, v->dest) < 0) {
				error_warn("cannot move '%s' to '%s': %s",
					   dir, v->dest, strerror(errno));
				v->action = "kept";
				v->why = "could not move it";
			}
			free(od);
		}
	} else {
		v->action = "removed";
		v->why = "sandbox gone";
		if (!dry)
			nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
}

/* Say what became of sandbox @p id's cache: a line, or an element of @p arr for --json. */
static void prune_report(json_t *arr, const struct prune_verdict *v, const char *id,
			 unsigned dirty, int dry)
{
	if (arr) {
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:i,s:s?,s:b}",
			"sandboxID", id, "action", v->action, "reason", v->why,
			"dirtyFiles", (int)dirty, "movedTo", v->dest, "dryRun", dry));
	} else {
		printf("%s%s %s (%s", dry ? "would be " : "", v->action, id, v->why);
		if (dirty)
			printf(", %u unsent file%s", dirty, dirty == 1 ? "" : "s");
		printf(")%s%s\n", v->dest ? ": " : "", v->dest ? v->dest : "");
	}
}

static int cmd_cache_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	int dry = cmd_count(args, "dry-run") > 0, error;
	char *root = cache_root(cmd_arg(args, "cache-dir"));
	struct mnt_entry *mounts = NULL;
	size_t nmounts = 0;
	json_t *arr = ctx->json ? json_array() : NULL;
	e2b_client *client;
	struct dirent *de;
	DIR *d = NULL;

	if (strcmp(args->argv[0], "prune")) {
		error = error_usage("cache",
				    "unknown cache command '%s' (known: prune)", args->argv[0]);
		goto out;
	}
	error = ctx_client(ctx, &client);
	if (error)
		goto out;
	(void)mnt_list(&mounts, &nmounts);
	d = opendir(root);
	if (!d) {
		if (errno != ENOENT)
			error = error_msg("cannot open '%s': %s", root, strerror(errno));
		goto done;	/* no cache yet: nothing to prune */
	}
	while ((de = readdir(d)) != NULL) {
		const char *id = de->d_name;
		struct prune_verdict v = { 0 };
		char *dir;
		unsigned dirty;
		struct stat st;

		if (id[0] == '.' || !strcmp(id, "orphaned"))
			continue;
		dir = xasprintf("%s/%s", root, id);
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(dir);
			continue;
		}
		dirty = count_dirty(dir);
		if (is_mounted(id, mounts, nmounts)) {
			v.action = "kept";
			v.why = "mounted";
		} else {
			prune_unmounted(&v, client, root, id, dir, dirty, dry);
		}
		prune_report(arr, &v, id, dirty, dry);
		free(v.dest);
		free(dir);
	}
done:
	if (arr) {
		out_json(arr);
		arr = NULL;
	}
out:
	json_decref(arr);
	if (d)
		closedir(d);
	mnt_list_free(mounts, nmounts);
	free(root);
	return error;
}

const struct cmd_spec cmd_cache_spec = {
	.name = "cache",
	.usage = "prune [--cache-dir DIR] [--dry-run]",
	.summary = "remove e2bfs caches of sandboxes that are gone",
	.description =
		"prune looks at each sandbox directory in e2bfs's cache and removes\n"
		"the caches of sandboxes that no longer exist.  A cache that is\n"
		"mounted, or whose sandbox exists or cannot be asked about, is kept.\n"
		"Unsent files of a gone sandbox are never deleted: its directory moves\n"
		"to CACHE/orphaned/ID and the command says so.\n",
	.options = cmd_cache_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_cache_exec,
};
