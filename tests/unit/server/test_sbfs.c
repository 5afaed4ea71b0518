/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sbfs.c: the sandbox root must hold against `..`,
 * absolute symlinks, relative symlinks that climb and symlink chains.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakeroot.h"
#include "isolate/sbfs.h"

/* Read a file of the fake sandbox through sbfs and compare with @want. */
static void expect_fake_passwd(struct fakeroot *f, const char *path)
{
	char buf[64] = "";
	int fd = sbfs_open(f->sb.rootfd, path, O_RDONLY, 0);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	/* The fake passwd starts with root and has our comment line. */
	assert_non_null(strstr(buf, "root:x:0:0:root:/root:/bin/bash\n# comment line"));
}

static void test_open_dotdot_stays_in_root(void **state)
{
	struct fakeroot *f = *state;

	expect_fake_passwd(f, "/../../../../etc/passwd");
	expect_fake_passwd(f, "/home/user/../../../../../etc/passwd");
	expect_fake_passwd(f, "../etc/passwd");
}

static void test_open_symlinks_stay_in_root(void **state)
{
	struct fakeroot *f = *state;

	expect_fake_passwd(f, "/home/user/abs/passwd");
	expect_fake_passwd(f, "/home/user/esc/passwd");
	/* A host-only file is invisible. */
	errno = 0;
	assert_int_equal(sbfs_open(f->sb.rootfd, "/home/user/abs/hostname", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_open_proc_path_resolves_in_root(void **state)
{
	struct fakeroot *f = *state;
	char path[64];

	/* "/proc" means the sandbox's /proc (absent here), never e2bd's. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->sb.rootfd);
	assert_int_equal(sbfs_open(f->sb.rootfd, path, O_RDONLY, 0), -1);
}

static void expect_real(struct fakeroot *f, const char *in, const char *want)
{
	char out[4096];

	assert_int_equal(sbfs_realpath(f->sb.rootfd, in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_realpath_reports_sandbox_paths(void **state)
{
	struct fakeroot *f = *state;
	char out[4096];

	expect_real(f, "/home/user/link", "/opt/data");
	expect_real(f, "/home/user/link/x", "/opt/data/x");
	expect_real(f, "/home/user/chain1", "/opt/data");
	expect_real(f, "/home/user/abs", "/etc");
	expect_real(f, "/home/user/esc", "/etc");
	expect_real(f, "/home/user/link/../..", "/");
	expect_real(f, "/", "/");
	expect_real(f, "/home/user/./dir//sub/", "/home/user/dir/sub");
	errno = 0;
	assert_int_equal(sbfs_realpath(f->sb.rootfd, "/home/user/broken", out, sizeof(out)), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(sbfs_realpath(f->sb.rootfd, "/home/user/loop1", out, sizeof(out)), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(sbfs_realpath(f->sb.rootfd, "/home/user/a.txt/x", out, sizeof(out)), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void test_lstat_does_not_follow_final_link(void **state)
{
	struct fakeroot *f = *state;
	struct stat st;

	assert_int_equal(sbfs_lstat(f->sb.rootfd, "/home/user/abs", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(sbfs_stat(f->sb.rootfd, "/home/user/abs", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_mkdirs_creates_parents_inside_root(void **state)
{
	struct fakeroot *f = *state;
	char err[512] = "";
	struct stat st;

	assert_int_equal(sbfs_mkdirs(f->sb.rootfd, "/home/user/n1/n2/n3", getuid(), getgid(),
				     err, sizeof(err)), 0);
	assert_int_equal(stat(fakeroot_host(f, "/home/user/n1/n2/n3"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* Through an absolute symlink: lands in the fake /etc, not the host's. */
	assert_int_equal(sbfs_mkdirs(f->sb.rootfd, "/home/user/abs/e2bd-unit-made", getuid(),
				     getgid(), err, sizeof(err)), 0);
	assert_int_equal(stat(fakeroot_host(f, "/etc/e2bd-unit-made"), &st), 0);
	assert_int_equal(stat("/etc/e2bd-unit-made", &st), -1);
	/* Existing tree is fine. */
	assert_int_equal(sbfs_mkdirs(f->sb.rootfd, "/home/user", getuid(), getgid(),
				     err, sizeof(err)), 0);
}

static void test_mkdirs_file_in_the_way(void **state)
{
	struct fakeroot *f = *state;
	char err[512] = "";

	assert_int_equal(sbfs_mkdirs(f->sb.rootfd, "/home/user/a.txt/x/y", getuid(), getgid(),
				     err, sizeof(err)), -1);
	assert_string_equal(err, "path is a file: /home/user/a.txt");
}

static void test_remove_all_semantics(void **state)
{
	struct fakeroot *f = *state;
	char err[512] = "";
	struct stat st;

	/* Missing path: success (rm -rf). */
	assert_int_equal(sbfs_remove_all(f->sb.rootfd, "/home/user/nope/nope"), 0);
	/* A symlink to a directory: only the link goes. */
	assert_int_equal(symlink("/opt/data", fakeroot_host(f, "/home/user/tmplink")), 0);
	assert_int_equal(sbfs_remove_all(f->sb.rootfd, "/home/user/tmplink"), 0);
	assert_int_equal(lstat(fakeroot_host(f, "/home/user/tmplink"), &st), -1);
	assert_int_equal(stat(fakeroot_host(f, "/opt/data/x"), &st), 0);
	/* A tree. */
	assert_int_equal(sbfs_mkdirs(f->sb.rootfd, "/home/user/rm/a/b/c", getuid(), getgid(),
				     err, sizeof(err)), 0);
	assert_int_equal(symlink("/opt", fakeroot_host(f, "/home/user/rm/a/ln")), 0);
	assert_int_equal(sbfs_remove_all(f->sb.rootfd, "/home/user/rm"), 0);
	assert_int_equal(lstat(fakeroot_host(f, "/home/user/rm"), &st), -1);
	assert_int_equal(stat(fakeroot_host(f, "/opt/data"), &st), 0);
	/* The root itself is never removed. */
	assert_int_equal(sbfs_remove_all(f->sb.rootfd, "/"), -1);
}

static void expect_mode(mode_t m, const char *want)
{
	char out[32];

	sbfs_mode_string(m, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_go_filemode_strings(void **state)
{
	expect_mode(S_IFREG | 0644, "-rw-r--r--");
	expect_mode(S_IFDIR | 0755, "drwxr-xr-x");
	expect_mode(S_IFLNK | 0777, "Lrwxrwxrwx");
	expect_mode(S_IFDIR | S_ISVTX | 0777, "dtrwxrwxrwx");
	expect_mode(S_IFREG | S_ISUID | 0755, "urwxr-xr-x");
	expect_mode(S_IFREG | S_ISGID | 0755, "grwxr-xr-x");
	expect_mode(S_IFCHR | 0620, "Dcrw--w----");
	expect_mode(S_IFBLK | 0660, "Drw-rw----");
	expect_mode(S_IFIFO | 0644, "prw-r--r--");
	expect_mode(S_IFSOCK | 0755, "Srwxr-xr-x");
	expect_mode(S_IFREG, "----------");
}

static void test_clean(void **state)
{
	char p[64];

	snprintf(p, sizeof(p), "/a/b/../../../c/./d//");
	sbfs_clean(p);
	assert_string_equal(p, "/c/d");
	snprintf(p, sizeof(p), "/");
	sbfs_clean(p);
	assert_string_equal(p, "/");
	snprintf(p, sizeof(p), "/..");
	sbfs_clean(p);
	assert_string_equal(p, "/");
}

static void test_errstr_is_go_style(void **state)
{
	assert_string_equal(sbfs_errstr(ENOENT), "no such file or directory");
	assert_string_equal(sbfs_errstr(ENOTEMPTY), "directory not empty");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_dotdot_stays_in_root),
		cmocka_unit_test(test_open_symlinks_stay_in_root),
		cmocka_unit_test(test_open_proc_path_resolves_in_root),
		cmocka_unit_test(test_realpath_reports_sandbox_paths),
		cmocka_unit_test(test_lstat_does_not_follow_final_link),
		cmocka_unit_test(test_mkdirs_creates_parents_inside_root),
		cmocka_unit_test(test_mkdirs_file_in_the_way),
		cmocka_unit_test(test_remove_all_semantics),
		cmocka_unit_test(test_go_filemode_strings),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_errstr_is_go_style),
	};

	return cmocka_run_group_tests(tests, fakeroot_setup, fakeroot_teardown);
}
