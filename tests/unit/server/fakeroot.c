/* SPDX-License-Identifier: MIT */
/* Builds the fake sandbox root described in fakeroot.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envd/users.h"
#include "fakeroot.h"
#include "isolate/sbfs.h"

static void put(struct fakeroot *f, const char *path, const char *text, mode_t mode)
{
	int fd = open(fakeroot_host(f, path), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		abort();
	}
	fchmod(fd, mode);
	close(fd);
}

static void dir(struct fakeroot *f, const char *path)
{
	if (mkdir(fakeroot_host(f, path), 0755) < 0) {
		perror(path);
		abort();
	}
	chmod(fakeroot_host(f, path), 0755);
}

static void lnk(struct fakeroot *f, const char *target, const char *path)
{
	if (symlink(target, fakeroot_host(f, path)) < 0) {
		perror(path);
		abort();
	}
}

const char *fakeroot_host(struct fakeroot *f, const char *path)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", f->dir, path);
	return buf;
}

int fakeroot_setup(void **state)
{
	struct fakeroot *f = calloc(1, sizeof(*f));
	char passwd[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/e2bd-unit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	dir(f, "/etc");
	snprintf(passwd, sizeof(passwd),
		 "root:x:0:0:root:/root:/bin/bash\n"
		 "# comment line\n"
		 "broken line\n"
		 "user:x:%u:%u:User,,,:/home/user:/bin/bash\n"
		 "svc:x:998:998::/var/svc\n",
		 (unsigned)getuid() == 0 ? 1000u : (unsigned)getuid(),
		 (unsigned)getgid() == 0 ? 1000u : (unsigned)getgid());
	put(f, "/etc/passwd", passwd, 0644);
	put(f, "/etc/group", "root:x:0:\nuser:x:1000:\nstaff:x:50:user\n", 0644);
	dir(f, "/home");
	dir(f, "/home/user");
	dir(f, "/opt");
	dir(f, "/opt/data");
	put(f, "/opt/data/x", "x", 0644);
	put(f, "/home/user/a.txt", "hello\n", 0644);
	put(f, "/home/user/empty", "", 0644);
	dir(f, "/home/user/dir");
	dir(f, "/home/user/dir/sub");
	put(f, "/home/user/dir/sub/f", "f", 0644);
	lnk(f, "/opt/data", "/home/user/link");
	lnk(f, "/etc", "/home/user/abs");
	lnk(f, "../../../../../../../etc", "/home/user/esc");
	lnk(f, "/nope", "/home/user/broken");
	lnk(f, "loop2", "/home/user/loop1");
	lnk(f, "loop1", "/home/user/loop2");
	lnk(f, "chain2", "/home/user/chain1");
	lnk(f, "/home/user/link", "/home/user/chain2");

	f->sb.rootfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f->sb.root = f->dir;
	snprintf(f->sb.id, sizeof(f->sb.id), "unit");
	if (f->sb.rootfd < 0 || users_lookup(&f->sb, "user", &f->user) < 0)
		return -1;
	*state = f;
	return 0;
}

int fakeroot_teardown(void **state)
{
	struct fakeroot *f = *state;
	char cmd[512];

	if (!f)
		return 0;
	close(f->sb.rootfd);
	sbfs_file_cache_release(&f->sb.passwd);
	sbfs_file_cache_release(&f->sb.group);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}
