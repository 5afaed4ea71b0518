/* SPDX-License-Identifier: MIT */
/*
 * e2bctl cp: copy files and (with -r) trees between this machine and a
 * sandbox; one side is ID:PATH.  Uploads replace atomically, downloads go
 * through a temporary file; trees use parallel workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xfer.h"

#define CP_DEFAULT_PARALLEL 4

static const struct cmd_option cmd_cp_options[] = {
	{ "recursive", 'r', NULL, 0, "copy directories recursively" },
	{ "parallel", 'j', "N", 0, "transfer N files at a time (default 4)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_cp_split_remote(char **out_id, const char **out_path, const char *arg)
{
	const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (!colon || colon == arg || (slash && slash < colon))
		return 0;
	*out_id = xstrndup(arg, (size_t)(colon - arg));
	*out_path = colon[1] ? colon + 1 : ".";
	return 1;
}

/* The last component of @p path, trailing slashes ignored.  Caller frees. */
static char *base_name(const char *path)
{
	size_t n = strlen(path);
	const char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = path + n; s > path && s[-1] != '/'; s--)
		;
	return xstrndup(s, (size_t)(path + n - s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_slash(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '/';
}

/* What a cp copied, for its --json result. */
struct cp_total {
	uint64_t files;
	uint64_t bytes;
	char *last;		/* the last target written */
};

/* Count @p files files of @p bytes bytes, written last to @p target. */
static void cp_total_add(struct cp_total *tot, uint64_t files, uint64_t bytes,
			 const char *target)
{
	tot->files += files;
	tot->bytes += bytes;
	free(tot->last);
	tot->last = xstrdup(target);
}

/* Upload stdin ("-") to the file @p dst. */
static int upload_stdin(e2b_sandbox *sb, const char *dst, int draw, struct cp_total *tot)
{
	struct xfer_progress p;
	int error;

	if (ends_with_slash(dst))
		return error_usage("cp",
				   "uploading stdin needs a file name, not '%s'", dst);
	xfer_progress_start(&p, draw, UINT64_MAX, 1);
	sig_catch();
	error = xfer_upload_fd(sb, STDIN_FILENO, "stdin", dst, &p);
	sig_default();
	if (!error) {
		xfer_progress_end(&p);
		cp_total_add(tot, 1, p.done, dst);
	}
	return error;
}

/* Upload the one non-directory @p src (stat @p st) to @p target, in parts when it is big and
 * the sandbox can compose them, then give it @p src's mode; @p plan counts it. */
static int upload_file(struct cmd_ctx *ctx, e2b_sandbox *sb, const char *sandbox_arg,
		       const char *src, char *target, const struct stat *st,
		       unsigned parallel, int draw, struct xfer_plan *plan)
{
	struct xfer_progress p;
	int error = 0, fd;
	unsigned parts;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_msg("cannot open '%s': %s", src, strerror(errno));
	xfer_progress_start(&p, draw, (uint64_t)st->st_size, 1);
	plan->total = (uint64_t)st->st_size;
	plan->njobs = 1;
	parts = S_ISREG(st->st_mode) ? xfer_parts((uint64_t)st->st_size, parallel) : 1;
	if (parts > 1 && e2b_sandbox_has_feature(sb, E2B_FEATURE_FILES_COMPOSE)) {
		error = xfer_upload_parallel(ctx, sb, sandbox_arg, src, target,
					     (uint64_t)st->st_size, parts, &p);
	} else {
		sig_catch();
		error = xfer_upload_fd(sb, fd, src, target, &p);
		sig_default();
	}
	if (!error)
		xfer_progress_end(&p);
	if (!error) {
		struct xfer_job one = { .dst = target, .mode = st->st_mode & 07777 };

		error = xfer_apply_modes(sb, &one, 1);
	}
	close(fd);
	return error;
}

/* Upload the local @p src (a file, stdin, or with -r a tree) to, or into, @p dst. */
static int upload(struct cmd_ctx *ctx, struct cmd_args *args, e2b_sandbox *sb,
		  const char *sandbox_arg, const char *src, const char *dst,
		  unsigned parallel, int draw, struct cp_total *tot)
{
	struct xfer_plan plan = { 0 };
	e2b_entry_info *e = NULL;
	char *target = NULL, *base = NULL;
	struct stat st;
	int error = 0, code;

	if (!strcmp(src, "-"))
		return upload_stdin(sb, dst, draw, tot);
	if (stat(src, &st) < 0) {
		int saved = errno;

		error = error_msg("cannot stat '%s': %s", src, strerror(saved));
		return saved == ENOENT ? E2BCTL_EXIT_NOTFOUND : error;
	}
	if (S_ISDIR(st.st_mode) && !cmd_count(args, "recursive"))
		return error_msg("'%s' is a directory (use -r)", src);
	/* Into an existing directory, or as DST itself. */
	code = e2b_fs_stat(&e, sb, dst);
	if (code < 0 && code != E2B_ENOTFOUND)
		return error_path(code, "stat", dst);
	base = base_name(src);
	if ((code == 0 && e->type == E2B_FILE_TYPE_DIR) || ends_with_slash(dst))
		target = xasprintf("%s%s%s", dst, ends_with_slash(dst) ? "" : "/", base);
	else
		target = xstrdup(dst);
	if (S_ISDIR(st.st_mode)) {
		error = xfer_plan_upload(&plan, src, target);
		if (!error)
			error = xfer_run(ctx, &plan, sb, sandbox_arg, parallel, draw);
		goto out;
	}
	error = upload_file(ctx, sb, sandbox_arg, src, target, &st, parallel, draw, &plan);
out:
	if (!error)
		cp_total_add(tot, plan.njobs, plan.total, target);
	if (plan.jobs || plan.dirs)
		xfer_plan_release(&plan);
	e2b_entry_info_free(e);
	free(target);
	free(base);
	return error;
}

/* Download the sandbox's @p src (a file, or with -r a tree) to, or into, @p dst. */
static int download(struct cmd_ctx *ctx, struct cmd_args *args, e2b_sandbox *sb,
		    const char *sandbox_arg, const char *src, const char *dst,
		    unsigned parallel, int draw, struct cp_total *tot)
{
	struct xfer_progress p;
	struct xfer_plan plan = { 0 };
	e2b_entry_info *e = NULL;
	char *target = NULL, *base = NULL;
	struct stat st;
	int error = 0, code;
	unsigned parts;

	code = e2b_fs_stat(&e, sb, src);
	if (code < 0)
		return error_path(code, "stat", src);
	if (e->type == E2B_FILE_TYPE_DIR && !cmd_count(args, "recursive")) {
		error = error_msg("'%s' is a directory (use -r)", src);
		goto out;
	}
	if (e->type == E2B_FILE_TYPE_DIR && !strcmp(dst, "-")) {
		error = error_usage("cp", "cannot copy directory '%s' to stdout", src);
		goto out;
	}
	base = base_name(src);
	if (strcmp(dst, "-") && ((stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) ||
				 ends_with_slash(dst)))
		target = xasprintf("%s%s%s", dst, ends_with_slash(dst) ? "" : "/", base);
	else
		target = xstrdup(dst);
	if (e->type == E2B_FILE_TYPE_DIR) {
		error = xfer_plan_download(&plan, sb, src, target);
		if (!error)
			error = xfer_run(ctx, &plan, sb, sandbox_arg, parallel, draw);
		goto out;
	}
	xfer_progress_start(&p, draw, e->size, 1);
	plan.total = e->size;
	plan.njobs = 1;
	parts = strcmp(target, "-") ? xfer_parts(e->size, parallel) : 1;
	if (parts > 1) {
		error = xfer_download_parallel(ctx, sandbox_arg, src, target, e->size, e->mode,
					       parts, &p);
	} else {
		sig_catch();
		error = xfer_download(sb, src, target, e->mode, &p);
		sig_default();
	}
	if (!error)
		xfer_progress_end(&p);
out:
	if (!error)
		cp_total_add(tot, plan.njobs, plan.total, target);
	if (plan.jobs || plan.dirs)
		xfer_plan_release(&plan);
	e2b_entry_info_free(e);
	free(target);
	free(base);
	return error;
}

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * Expand a remote glob in the last component of @p path (a pattern like *.c),
 * as a shell would: matches in name order, dot files only for a pattern
 * starting with '.'; no match is an error.  Appends to @p v.
 */
static int glob_remote(char ***v, size_t *n, e2b_sandbox *sb, const char *path)
{
	const char *slash = strrchr(path, '/'), *pat = slash ? slash + 1 : path;
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	e2b_entry_list *l = NULL;
	size_t i, first = *n;
	int code;

	if (slash && slash == path) {
		free(dir);
		dir = xstrdup("/");
	}
	if (has_glob(dir)) {
		free(dir);
		return error_usage("cp", "'%s': wildcards only in the last component", path);
	}
	code = e2b_fs_list(&l, sb, dir, 1);
	if (code < 0) {
		int error = error_path(code, "list", dir);

		free(dir);
		return error;
	}
	for (i = 0; i < l->count; i++) {
		const char *name = l->items[i].name;

		if (*name == '.' && *pat != '.')
			continue;
		if (fnmatch(pat, name, FNM_PERIOD) != 0)
			continue;
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(l->items[i].path);
	}
	e2b_entry_list_free(l);
	free(dir);
	if (*n == first) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: no match for '%s'\n", path);
		return E2BCTL_EXIT_NOTFOUND;
	}
	qsort(*v + first, *n - first, sizeof(**v), cmp_str);
	return 0;
}

/* DST of several sources must be a directory, as for cp(1). */
static int need_dir(e2b_sandbox *sb, const char *dst, int remote)
{
	e2b_entry_info *e = NULL;
	struct stat st;
	int code, isdir;

	if (remote) {
		code = e2b_fs_stat(&e, sb, dst);
		if (code < 0 && code != E2B_ENOTFOUND)
			return error_path(code, "stat", dst);
		isdir = code == 0 && e->type == E2B_FILE_TYPE_DIR;
		e2b_entry_info_free(e);
	} else {
		isdir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
	}
	if (isdir)
		return 0;
	fflush(stdout);
	fprintf(stderr, "e2bctl: target '%s' is not a directory (several sources)\n", dst);
	return E2BCTL_EXIT_ERROR;
}

/* Which side is remote: the sandbox ID of the sources (@p out_sid) or of DST (@p out_did,
 * and its path @p out_dpath); refuses a mix, both, or neither.  Caller frees the IDs, also
 * on error. */
static int cp_sides(char **out_sid, char **out_did, const char **out_dpath,
		    struct cmd_args *args)
{
	const char *p;
	char *id;
	size_t i;
	int nlocal = 0, nremote = 0;

	cmd_cp_split_remote(out_did, out_dpath, args->argv[args->argc - 1]);
	for (i = 0; i + 1 < (size_t)args->argc; i++) {
		id = NULL;
		if (!cmd_cp_split_remote(&id, &p, args->argv[i])) {
			nlocal++;
			continue;
		}
		nremote++;
		if (*out_sid && strcmp(*out_sid, id)) {
			free(id);
			return error_usage("cp", "all remote sources must be in one sandbox");
		}
		free(*out_sid);
		*out_sid = id;
	}
	if (*out_did && nremote)
		return error_usage("cp", "copying between sandboxes is not supported");
	if (!*out_did && !nremote)
		return error_usage("cp", "one of SRC and DST must be ID:PATH");
	if (nlocal && nremote)
		return error_usage("cp", "sources must all be local or all ID:PATH");
	return 0;
}

/* The sources into *@p srcs (*@p nsrc of them, caller frees): local ones as given, remote
 * ones resolved against @p mount_cwd with their globs expanded. */
static int cp_sources(char ***srcs, size_t *nsrc, struct cmd_args *args, int up,
		      e2b_sandbox *sb, const char *mount_cwd)
{
	const char *p;
	char *id, *rp;
	size_t i;
	int error;

	for (i = 0; i + 1 < (size_t)args->argc; i++) {
		if (up) {
			*srcs = xreallocarray(*srcs, *nsrc + 1, sizeof(**srcs));
			(*srcs)[(*nsrc)++] = xstrdup(args->argv[i]);
			continue;
		}
		id = NULL;
		cmd_cp_split_remote(&id, &p, args->argv[i]);
		free(id);
		rp = ctx_path(mount_cwd, p);
		if (has_glob(p)) {
			error = glob_remote(srcs, nsrc, sb, rp);
			free(rp);
			if (error)
				return error;
		} else {
			*srcs = xreallocarray(*srcs, *nsrc + 1, sizeof(**srcs));
			(*srcs)[(*nsrc)++] = rp;
		}
	}
	return 0;
}

/* Several sources: none of them nor the target is '-', and the target is a directory. */
static int cp_check_several(e2b_sandbox *sb, char **srcs, size_t nsrc, const char *rdst,
			    int up)
{
	size_t i;

	for (i = 0; i < nsrc; i++)
		if (!strcmp(srcs[i], "-") || (!up && !strcmp(rdst, "-")))
			return error_usage("cp", "'-' cannot be one of several "
						  "sources or their target");
	return need_dir(sb, rdst, up);
}

/* Copy each source, up or down, to @p rdst.  Like cp(1): a failed source is reported and the
 * others still go; the first failure is the result. */
static int cp_each(struct cmd_ctx *ctx, struct cmd_args *args, e2b_sandbox *sb,
		   const char *sandbox_arg, int up, char **srcs, size_t nsrc, const char *rdst,
		   unsigned parallel, struct cp_total *tot)
{
	size_t i;
	int error = 0, e, draw;

	draw = !ctx->quiet && isatty(STDERR_FILENO);
	for (i = 0; i < nsrc && !sig_interrupts; i++) {
		if (up)
			e = upload(ctx, args, sb, sandbox_arg, srcs[i], rdst,
				   parallel, draw, tot);
		else
			e = download(ctx, args, sb, sandbox_arg, srcs[i], rdst,
				     parallel, draw, tot);
		if (e && !error)
			error = e;
		if (e == E2BCTL_EXIT_INTERRUPTED || e == E2BCTL_EXIT_USAGE)
			break;
	}
	return error;
}

static int cmd_cp_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	const char *dst = args->argv[args->argc - 1], *dpath = NULL;
	char *sid = NULL, *did = NULL, *mount_cwd = NULL, *rdst = NULL;
	char **srcs = NULL;
	unsigned long long parallel = CP_DEFAULT_PARALLEL;
	struct cp_total tot = { 0 };
	e2b_sandbox *sb = NULL;
	size_t nsrc = 0, i;
	int error = 0, up;

	if (cmd_arg(args, "parallel")) {
		error = parse_uint(&parallel, cmd_arg(args, "parallel"), "parallel", 1, 16);
		if (error)
			goto out;
	}
	error = cp_sides(&sid, &did, &dpath, args);
	if (error)
		goto out;
	up = did != NULL;
	error = ctx_sandbox(ctx, up ? did : sid, &sb, &mount_cwd);
	if (error)
		goto out;
	error = cp_sources(&srcs, &nsrc, args, up, sb, mount_cwd);
	if (error)
		goto out;
	rdst = up ? ctx_path(mount_cwd, dpath) : xstrdup(dst);
	if (nsrc > 1) {
		error = cp_check_several(sb, srcs, nsrc, rdst, up);
		if (error)
			goto out;
	}
	sig_hard_exit = 1;
	error = cp_each(ctx, args, sb, up ? did : sid, up, srcs, nsrc, rdst,
			(unsigned)parallel, &tot);
	if (!error && ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "destination", json_str(nsrc > 1 ? rdst : tot.last));
		json_object_set_new(o, "files", json_integer((json_int_t)tot.files));
		json_object_set_new(o, "bytes", json_integer((json_int_t)tot.bytes));
		out_json(o);
	}
out:
	for (i = 0; i < nsrc; i++)
		free(srcs[i]);
	free(srcs);
	free(tot.last);
	e2b_sandbox_free(sb);
	free(sid);
	free(did);
	free(mount_cwd);
	free(rdst);
	return error;
}

const struct cmd_spec cmd_cp_spec = {
	.name = "cp",
	.usage = "[-r] [-j N] SRC... DST",
	.summary = "copy files between here and a sandbox (ID:PATH)",
	.description =
		"Either DST or every SRC is ID:PATH (one sandbox).  With several sources\n"
		"DST must be a directory.  A remote SRC may have wildcards (* ? [...])\n"
		"in its last component, expanded in the sandbox; quote them from the\n"
		"local shell.  A local '-' is stdin or stdout.\n"
		"Copying into an existing directory keeps the source's name.  Uploads\n"
		"replace the target atomically; downloads are written to a temporary\n"
		"file renamed at the end, so an interrupted copy leaves nothing\n"
		"half-written.  A progress bar is drawn when stderr is a terminal.\n",
	.options = cmd_cp_options,
	.min_args = 2,
	.max_args = -1,
	.exec = cmd_cp_exec,
};
