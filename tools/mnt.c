/* SPDX-License-Identifier: MIT */
/*
 * Locates the enclosing e2bfs mount by its control directory and maps the
 * local working directory to the matching sandbox path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "mnt.h"

#define MNT_FILE_MAX 4096

/*
 * Read MOUNTPOINT/.e2bfs/sandbox: JSON {"sandboxID", "root", ...} (fs/ctl.c)
 * or, from older daemons, a bare ID.  @return 0 or -1 (not an e2bfs mount)
 */
static int read_ctl(char **out_id, char **out_root, const char *dir)
{
	char *path = xasprintf("%s/%s/%s", dir, MNT_CTL_DIR, MNT_CTL_SANDBOX);
	char buf[MNT_FILE_MAX + 1];
	json_t *j, *id, *root;
	ssize_t r;
	size_t len = 0;
	int fd;

	*out_id = NULL;
	if (out_root)
		*out_root = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	while (len < MNT_FILE_MAX) {
		r = read(fd, buf + len, MNT_FILE_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (buf[0] != '{') {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!*buf)
			return -1;
		*out_id = xstrdup(buf);
		return 0;
	}
	j = json_loads(buf, 0, NULL);
	id = json_object_get(j, "sandboxID");
	root = json_object_get(j, "root");
	if (!json_is_string(id) || !*json_string_value(id)) {
		json_decref(j);
		return -1;
	}
	*out_id = xstrdup(json_string_value(id));
	if (out_root && json_is_string(root) && *json_string_value(root))
		*out_root = xstrdup(json_string_value(root));
	json_decref(j);
	return 0;
}

int mnt_read_id(char **out_id, const char *root)
{
	return read_ctl(out_id, NULL, root);
}

/* Undo the octal escapes of /proc/self/mountinfo (\040 for a space). */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * Split one mountinfo line (modified in place) into its mount point, type
 * and source, unescaped.  @return 0, or -1 for a line without them.
 */
static int parse_line(char *line, char **out_mnt, char **out_type, char **out_src)
{
	char *p = line, *tok, *mnt = NULL, *type = NULL, *src = NULL;
	int field = 0, after_dash = 0;

	p[strcspn(p, "\n")] = '\0';
	while (p) {
		tok = p;
		p = strchr(p, ' ');
		if (p)
			*p++ = '\0';
		field++;
		if (field == 5)
			mnt = tok;
		else if (!after_dash && field > 6 && !strcmp(tok, "-"))
			after_dash = field;
		else if (after_dash && field == after_dash + 1)
			type = tok;
		else if (after_dash && field == after_dash + 2)
			src = tok;
	}
	if (!mnt || !type || !src)
		return -1;
	unescape(mnt);
	unescape(src);
	*out_mnt = mnt;
	*out_type = type;
	*out_src = src;
	return 0;
}

int mnt_list(struct mnt_entry **out, size_t *out_n)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	struct mnt_entry *v = NULL;
	char *line = NULL, *mnt, *type, *src, *colon;
	size_t cap = 0, n = 0;

	*out = NULL;
	*out_n = 0;
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (parse_line(line, &mnt, &type, &src) < 0 || strcmp(type, "fuse.e2bfs") ||
		    strncmp(src, "e2bfs:", 6))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		src += 6;
		colon = strchr(src, ':');
		v[n].id = colon ? xstrndup(src, (size_t)(colon - src)) : xstrdup(src);
		v[n].root = xstrdup(colon && colon[1] ? colon + 1 : "/");
		v[n].mountpoint = xstrdup(mnt);
		n++;
	}
	free(line);
	fclose(f);
	*out = v;
	*out_n = n;
	return 0;
}

void mnt_list_free(struct mnt_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].root);
		free(v[i].mountpoint);
	}
	free(v);
}

/*
 * Find the innermost fuse.e2bfs mount containing @p cwd in mountinfo; its
 * source is "e2bfs:ID:ROOT" (fs/main.c).  @return 0 or -1 (none)
 */
static int from_mountinfo(char **out_id, char **out_root, char **out_mnt, const char *cwd)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char *line = NULL, *best_src = NULL, *best_mnt = NULL;
	size_t cap = 0, best = 0;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *mnt, *type, *src;
		size_t n;

		if (parse_line(line, &mnt, &type, &src) < 0 || strcmp(type, "fuse.e2bfs") ||
		    strncmp(src, "e2bfs:", 6))
			continue;
		n = strlen(mnt);
		if (strncmp(cwd, mnt, n) || (cwd[n] != '/' && cwd[n] != '\0' && strcmp(mnt, "/")))
			continue;
		if (n >= best) {
			best = n;
			free(best_src);
			free(best_mnt);
			best_src = xstrdup(src + 6);
			best_mnt = xstrdup(mnt);
		}
	}
	free(line);
	fclose(f);
	if (!best_src)
		return -1;
	{
		char *colon = strchr(best_src, ':');

		*out_id = colon ? xstrndup(best_src, (size_t)(colon - best_src)) :
			  xstrdup(best_src);
		*out_root = xstrdup(colon && colon[1] ? colon + 1 : "/");
	}
	*out_mnt = best_mnt;
	free(best_src);
	return 0;
}

int mnt_is_e2bfs(const char *dir)
{
	char *real = realpath(dir, NULL), *id = NULL, *root = NULL, *mnt = NULL;
	int yes = 0;

	if (!real)
		return 0;
	if (from_mountinfo(&id, &root, &mnt, real) == 0)
		yes = !strcmp(mnt, real);
	free(real);
	free(id);
	free(root);
	free(mnt);
	return yes;
}

/* Join the mount's sandbox root and the local path below the mount. */
static char *map_cwd(char *root, const char *rel)
{
	size_t rlen = strlen(root);

	while (rlen > 1 && root[rlen - 1] == '/')
		root[--rlen] = '\0';
	if (!*rel)
		return xstrdup(root);
	if (!strcmp(root, "/"))
		return xstrdup(rel);
	return xasprintf("%s%s", root, rel);
}

/*
 * Write-back barrier: "sync" to the mount's control file returns once
 * everything written through the mount has reached the sandbox, so a
 * command started with "." never sees a stale file.  Daemons without
 * write-back accept it too; a failure is only a warning.
 */
static void mnt_sync(const char *root)
{
	char *p = xasprintf("%s/" MNT_CTL_DIR "/ctl", strcmp(root, "/") ? root : "");
	int fd = open(p, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "sync\n", 5) < 0)
			error_warn("files written through the mount may not be in the "
				   "sandbox yet: %s", strerror(errno));
		close(fd);
	}
	free(p);
}

/*
 * Without a mountinfo entry: the nearest directory at or above @p cwd whose
 * control file names a sandbox (its ID into *@p out_id), "" for "/".
 * Caller frees.  NULL, after saying why, when there is none.
 */
static char *walk_up_to_mount(char **out_id, const char *cwd)
{
	char *dir = xstrdup(cwd), *slash;

	for (;;) {
		if (!mnt_read_id(out_id, *dir ? dir : "/"))
			break;
		slash = strrchr(dir, '/');
		if (!slash || !*dir) {
			free(dir);
			fflush(stdout);
			fputs("e2bctl: '.' used as sandbox ID but the current directory "
			      "is not inside an e2bfs mount\n", stderr);
			return NULL;
		}
		*slash = '\0';
	}
	return dir;
}

int mnt_here(char **out_id, char **out_cwd)
{
	return mnt_here_at(out_id, out_cwd, NULL);
}

int mnt_here_at(char **out_id, char **out_cwd, char **out_mnt)
{
	char *cwd = getcwd(NULL, 0), *dir = NULL, *root = NULL;

	*out_id = NULL;
	if (out_cwd)
		*out_cwd = NULL;
	if (out_mnt)
		*out_mnt = NULL;
	if (!cwd)
		return error_msg("cannot get the current directory: %s", strerror(errno));
	if (from_mountinfo(out_id, &root, &dir, cwd) == 0) {
		if (out_cwd)
			*out_cwd = map_cwd(root, cwd + (strcmp(dir, "/") ? strlen(dir) : 0));
		mnt_sync(dir);
		free(root);
		if (out_mnt)
			*out_mnt = dir;
		else
			free(dir);
		free(cwd);
		return 0;
	}
	dir = walk_up_to_mount(out_id, cwd);
	if (!dir) {
		free(cwd);
		return E2BCTL_EXIT_USAGE;
	}
	mnt_sync(*dir ? dir : "/");
	if (out_cwd) {
		char *id2 = NULL;

		/* Without the mounted root, no mapping beats a wrong one. */
		if (read_ctl(&id2, &root, *dir ? dir : "/") == 0 && root)
			*out_cwd = map_cwd(root, cwd + strlen(dir));
		free(root);
		free(id2);
	}
	free(cwd);
	if (out_mnt && !*dir) {
		free(dir);
		dir = xstrdup("/");
	}
	if (out_mnt)
		*out_mnt = dir;
	else
		free(dir);
	return 0;
}

json_t *mnt_read_connection(const char *mnt)
{
	char *path = xasprintf("%s/%s/%s", strcmp(mnt, "/") ? mnt : "", MNT_CTL_DIR,
			       MNT_CTL_CONNECTION);
	json_t *j = json_load_file(path, 0, NULL);

	free(path);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}
