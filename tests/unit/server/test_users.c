/* SPDX-License-Identifier: MIT */
/* Unit tests for users.c: users from the sandbox's passwd, envd path resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakeroot.h"
#include "api/sandbox.h"
#include "envd/users.h"

static void test_user_from_sandbox_passwd(void **state)
{
	struct fakeroot *f = *state;
	struct sb_user u;

	assert_int_equal(users_lookup(&f->sb, "user", &u), 0);
	assert_string_equal(u.name, "user");
	assert_string_equal(u.home, "/home/user");
	assert_int_equal(users_lookup(&f->sb, "root", &u), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	/* svc has no shell field: still a valid 6-field line. */
	assert_int_equal(users_lookup(&f->sb, "svc", &u), 0);
	assert_int_equal(u.uid, 998);
	assert_string_equal(u.home, "/var/svc");
}

static void test_user_unknown_or_hostile_names(void **state)
{
	struct fakeroot *f = *state;
	struct sb_user u;

	assert_int_equal(users_lookup(&f->sb, "nobody-here", &u), -1);
	assert_int_equal(users_lookup(&f->sb, "", &u), -1);
	assert_int_equal(users_lookup(&f->sb, "us", &u), -1);
	assert_int_equal(users_lookup(&f->sb, "user:x", &u), -1);
	assert_int_equal(users_lookup(&f->sb, "broken line", &u), -1);
	assert_int_equal(users_lookup(&f->sb, "# comment line", &u), -1);
}

static void test_user_needs_mounted_root(void **state)
{
	struct sandbox sb;
	struct sb_user u;

	memset(&sb, 0, sizeof(sb));
	sb.rootfd = -1;
	assert_int_equal(users_lookup(&sb, "user", &u), -1);
}

/* Write @text over the fake root's @path in place (same inode), the way
 * `cp -p` or an editor writing through the file changes it. */
static void write_in_place(struct fakeroot *f, const char *path, const char *text)
{
	int fd = open(fakeroot_host(f, path), O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *read_host(struct fakeroot *f, const char *path)
{
	char *buf = calloc(1, 4096);
	int fd = open(fakeroot_host(f, path), O_RDONLY);

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, 4095) > 0);
	close(fd);
	return buf;
}

/*
 * Lookups read /etc/passwd through the sandbox's cache: a change of the
 * file, even a same-size write in place, shows on the next lookup.  The
 * cache is filled here when the file is older than its racy window
 * (2 s), so the second lookup is answered by the identity check, not by a
 * re-read forced by a recent change.
 */
static void test_user_cache_follows_passwd_changes(void **state)
{
	struct fakeroot *f = *state;
	char *orig = read_host(f, "/etc/passwd"), *changed, *p;
	struct sb_user u;
	char more[4096];

	sleep(3);
	assert_int_equal(users_lookup(&f->sb, "svc", &u), 0);
	assert_int_equal(u.uid, 998);
	assert_non_null(f->sb.passwd.data);
	assert_false(f->sb.passwd.racy);
	/* Same size, same inode: only the timestamps tell. */
	changed = strdup(orig);
	assert_non_null(changed);
	p = strstr(changed, "svc:x:998:");
	assert_non_null(p);
	memcpy(p, "svc:x:997:", 10);
	write_in_place(f, "/etc/passwd", changed);
	assert_int_equal(users_lookup(&f->sb, "svc", &u), 0);
	assert_int_equal(u.uid, 997);
	/* A user added (another size). */
	snprintf(more, sizeof(more), "%sadded:x:1234:1234::/home/added:/bin/sh\n", orig);
	write_in_place(f, "/etc/passwd", more);
	assert_int_equal(users_lookup(&f->sb, "added", &u), 0);
	assert_int_equal(u.uid, 1234);
	assert_int_equal(users_lookup(&f->sb, "svc", &u), 0);
	assert_int_equal(u.uid, 998);
	/* And gone again. */
	write_in_place(f, "/etc/passwd", orig);
	assert_int_equal(users_lookup(&f->sb, "added", &u), -1);
	free(changed);
	free(orig);
}

static void expect_path(const struct sb_user *u, const char *in, const char *want)
{
	char out[4096], err[256] = "";

	assert_int_equal(users_resolve_path(u, in, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, want);
}

static void test_resolve_path_rules(void **state)
{
	struct fakeroot *f = *state;

	expect_path(&f->user, "", "");
	expect_path(&f->user, "~", "/home/user");
	expect_path(&f->user, "~/", "/home/user");
	expect_path(&f->user, "~/x/y", "/home/user/x/y");
	expect_path(&f->user, "x", "/home/user/x");
	expect_path(&f->user, "./x/../y", "/home/user/y");
	expect_path(&f->user, "../../../../etc", "/etc");
	expect_path(&f->user, "/a/./b/../c/", "/a/c");
	expect_path(&f->user, "/../../..", "/");
	expect_path(&f->user, "//x//y", "/x/y");
	expect_path(&f->user, "~/../../..", "/");
	expect_path(&f->user, "a b/ü%20.txt", "/home/user/a b/ü%20.txt");
}

static void test_resolve_path_other_users_home_is_an_error(void **state)
{
	struct fakeroot *f = *state;
	char out[4096], err[256] = "";

	assert_int_equal(users_resolve_path(&f->user, "~root/x", out, sizeof(out),
					    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot expand user-specific home dir"));
}

static void test_resolve_path_too_long(void **state)
{
	struct fakeroot *f = *state;
	char in[6000], out[4096], small[8], err[256] = "";

	memset(in, 'a', sizeof(in) - 1);
	in[0] = '/';
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(users_resolve_path(&f->user, in, out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(users_resolve_path(&f->user, "/abcdefghij", small, sizeof(small),
					    err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_from_sandbox_passwd),
		cmocka_unit_test(test_user_unknown_or_hostile_names),
		cmocka_unit_test(test_user_needs_mounted_root),
		cmocka_unit_test(test_user_cache_follows_passwd_changes),
		cmocka_unit_test(test_resolve_path_rules),
		cmocka_unit_test(test_resolve_path_other_users_home_is_an_error),
		cmocka_unit_test(test_resolve_path_too_long),
	};

	return cmocka_run_group_tests(tests, fakeroot_setup, fakeroot_teardown);
}
