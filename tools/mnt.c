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

/* Read a small control file, first line only.  @return 0 or -1 */
static int read_line(char **out, const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s/%s", dir, MNT_CTL_DIR, name);
	char buf[MNT_FILE_MAX + 1];
	ssize_t r;
	size_t len = 0;
	int fd, error = -1;

	*out = NULL;
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
	buf[strcspn(buf, "\r\n")] = '\0';
	if (*buf) {
		*out = xstrdup(buf);
		error = 0;
	}
	return error;
}

int mnt_read_id(char **out_id, const char *root)
{
	return read_line(out_id, root, MNT_CTL_SANDBOX);
}

int mnt_here(char **out_id, char **out_cwd)
{
	char *cwd = getcwd(NULL, 0), *dir = NULL, *root = NULL, *slash;

	*out_id = NULL;
	if (out_cwd)
		*out_cwd = NULL;
	if (!cwd)
		return error_msg("cannot get the current directory: %s", strerror(errno));
	dir = xstrdup(cwd);
	for (;;) {
		if (!mnt_read_id(out_id, *dir ? dir : "/"))
			break;
		slash = strrchr(dir, '/');
		if (!slash || !*dir) {
			free(cwd);
			free(dir);
			fflush(stdout);
			fputs("e2bctl: '.' used as sandbox ID but the current directory "
			      "is not inside an e2bfs mount\n", stderr);
			return E2BCTL_EXIT_USAGE;
		}
		*slash = '\0';
	}
	if (out_cwd) {
		const char *rel = cwd + strlen(dir);
		size_t rlen;

		if (read_line(&root, *dir ? dir : "/", MNT_CTL_ROOT) < 0)
			root = xstrdup("/");
		rlen = strlen(root);
		while (rlen > 1 && root[rlen - 1] == '/')
			root[--rlen] = '\0';
		if (!*rel)
			*out_cwd = xstrdup(root);
		else if (!strcmp(root, "/"))
			*out_cwd = xstrdup(rel);
		else
			*out_cwd = xasprintf("%s%s", root, rel);
		free(root);
	}
	free(cwd);
	free(dir);
	return 0;
}
