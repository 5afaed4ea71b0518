/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for listdir.c against the generic path it replaced: for a
 * directory of odd names, times, modes, links and xattrs, the JSON answer
 * is byte for byte json_dumps() of the fsrpc_entry_at() objects, and the
 * protobuf answer is pbjson's packing of them.  The directory is on tmpfs
 * (/dev/shm), where a time may lie outside the years 0-9999 that
 * RFC 3339 can write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "envd/fsrpc.h"
#include "envd/listdir.h"
#include "pbjson.h"
#include "filesystem.pb-c.h"

struct tree {
	char dir[64];
	int rootfd, dfd;
	struct sbfs_idnames names;	/* empty: ids render as numbers */
};

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/dev/shm/e2bd-listdir-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->rootfd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	t->dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->rootfd >= 0 && t->dfd >= 0);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	struct listdir_names n;
	size_t i;

	assert_int_equal(listdir_names_read(&n, t->dfd), 0);
	for (i = 0; i < n.n; i++)
		if (unlinkat(t->dfd, n.v[i], 0) < 0)
			unlinkat(t->dfd, n.v[i], AT_REMOVEDIR);
	listdir_names_release(&n);
	close(t->dfd);
	close(t->rootfd);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* A file @name in the tree with mtime @sec.@nsec; the time must stick (tmpfs). */
static void make_file(struct tree *t, const char *name, long long sec, long nsec)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)sec, nsec } };
	struct stat st;
	int fd;

	fd = openat(t->dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(t->dfd, name, ts, 0), 0);
	assert_int_equal(fstatat(t->dfd, name, &st, 0), 0);
	assert_true((long long)st.st_mtim.tv_sec == sec && st.st_mtim.tv_nsec == nsec);
}

/* The answer the generic path gave: fsrpc_entry_at() per name, dumped or packed. */
static void generic_answer(struct tree *t, bool proto, char **out, size_t *len)
{
	char perr[PBJSON_ERR_MAX] = "", path[512];
	struct listdir_names n;
	json_t *arr = json_array(), *resp = json_object(), *e;
	uint8_t *buf;
	size_t i;

	assert_int_equal(listdir_names_read(&n, t->dfd), 0);
	for (i = 0; i < n.n; i++) {
		if (strncmp(n.v[i], UPLOAD_TMP_PREFIX, strlen(UPLOAD_TMP_PREFIX)) == 0)
			continue;
		snprintf(path, sizeof(path), "/%s", n.v[i]);
		e = fsrpc_entry_at(t->rootfd, &t->names, t->dfd, n.v[i], path);
		if (e)
			json_array_append_new(arr, e);
	}
	listdir_names_release(&n);
	if (json_array_size(arr))
		json_object_set_new(resp, "entries", arr);
	else
		json_decref(arr);
	if (proto) {
		const ProtobufCMessageDescriptor *d = &filesystem__list_dir_response__descriptor;

		assert_int_equal(pbjson_encode(&buf, len, d, resp, 0, perr), 0);
		*out = (char *)buf;
	} else {
		*out = json_dumps(resp, JSON_COMPACT);
		*len = strlen(*out);
	}
	json_decref(resp);
}

/* listdir_walk() of the tree root in @codec equals the generic answer. */
static void assert_same_as_generic(struct tree *t, enum listdir_codec codec)
{
	char *got, *want;
	size_t glen, wlen, i;

	assert_int_equal(listdir_walk(&got, &glen, t->rootfd, &t->names, t->dfd, "/", 1, codec), 0);
	generic_answer(t, codec == LISTDIR_PROTO, &want, &wlen);
	for (i = 0; codec == LISTDIR_JSON && i < glen && i < wlen && got[i] == want[i]; i++)
		;
	if (codec == LISTDIR_JSON && (glen != wlen || i < glen))
		fail_msg("JSON differs at byte %zu:\n got ...%.60s\nwant ...%.60s", i,
			 got + (i > 20 ? i - 20 : 0), want + (i > 20 ? i - 20 : 0));
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, glen);
	free(got);
	free(want);
}

static void test_empty_directory(void **state)
{
	struct tree *t = *state;

	assert_same_as_generic(t, LISTDIR_JSON);
	assert_same_as_generic(t, LISTDIR_PROTO);
}

static void test_names_escaped_like_jansson(void **state)
{
	static const char *const odd[] = {
		"sp ace", "q\"uo\\te", "tab\tnl\ncr\rbs\bff\f", "\x01\x02\x1f\x7f", "ünï cødé — ✓",
		"emoji\xf0\x9f\x98\x80", "max\xf4\x8f\xbf\xbf", "bmp\xef\xbf\xbf",
		/* not UTF-8 as jansson sees it: left out */
		"bad\xff", "overlong\xc0\xaf", "overlong3\xe0\x80\xaf", "surrogate\xed\xa0\x80",
		"above\xf4\x90\x80\x80", "cut\xe2\x82", "lone\x80", "f5\xf5\x80\x80\x80",
		".e2bd-upload-1234", "-dash", "~", "back\\slash",
	};
	struct tree *t = *state;
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		make_file(t, odd[i], 1700000000, 5);
	assert_same_as_generic(t, LISTDIR_JSON);
	assert_same_as_generic(t, LISTDIR_PROTO);
}

static void test_times_modes_links_xattrs(void **state)
{
	static const long long secs[] = {
		-62167219200LL, 253402300799LL, 0, -1, 1, 951782400, 951868799, -2208988800LL,
		4107542400LL, -11644473600LL, 1700000000, 2147483647LL, 2147483648LL, -86401,
	};
	static const long nsecs[] = { 0, 1, 999999999, 500000000, 123000000, 123456000, 100, 1000 };
	struct tree *t = *state;
	uint64_t r = 42;
	char name[32], host[128];
	size_t i;
	long ns;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		snprintf(name, sizeof(name), "s%02zu", i);
		make_file(t, name, secs[i], nsecs[i % (sizeof(nsecs) / sizeof(nsecs[0]))]);
	}
	/* Random times over the whole writable range. */
	for (i = 0; i < 300; i++) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		snprintf(name, sizeof(name), "r%03zu", i);
		ns = (long)((r >> 3) % 1000000000);
		ns -= i % 3 == 0 ? ns % 1000000 : i % 3 == 1 ? ns % 1000 : 0;
		make_file(t, name, -62167219200LL + (long long)((r >> 11) % 315569520000ULL), ns);
	}
	make_file(t, "zero-time", 0, 0);
	assert_int_equal(fchmodat(t->dfd, "zero-time", 0, 0), 0);
	assert_int_equal(fchmodat(t->dfd, "s00", 04755, 0), 0);
	assert_int_equal(fchmodat(t->dfd, "s01", 02640, 0), 0);
	assert_int_equal(mkdirat(t->dfd, "dir", 01777), 0);
	assert_int_equal(mkfifoat(t->dfd, "fifo", 0600), 0);
	assert_int_equal(symlinkat("s02", t->dfd, "link-file"), 0);
	assert_int_equal(symlinkat("dir", t->dfd, "link-dir"), 0);
	assert_int_equal(symlinkat("nowhere", t->dfd, "link-broken"), 0);
	assert_int_equal(symlinkat("loop-b", t->dfd, "loop-a"), 0);
	assert_int_equal(symlinkat("loop-a", t->dfd, "loop-b"), 0);
	snprintf(host, sizeof(host), "%s/s03", t->dir);
	assert_int_equal(setxattr(host, "user.e2b.k", "v", 1, 0), 0);
	assert_int_equal(setxattr(host, "user.e2b.empty", "", 0, 0), 0);
	assert_int_equal(setxattr(host, "user.e2b.nul", "a\0b\"\n", 5, 0), 0);
	assert_int_equal(setxattr(host, "user.e2b.bad", "\xff", 1, 0), 0);
	assert_int_equal(setxattr(host, "user.other", "x", 1, 0), 0);
	snprintf(host, sizeof(host), "%s/dir", t->dir);
	assert_int_equal(setxattr(host, "user.e2b.d", "ü", 2, 0), 0);
	assert_same_as_generic(t, LISTDIR_JSON);
	assert_same_as_generic(t, LISTDIR_PROTO);
}

/* A time RFC 3339 cannot write: "" in JSON (as before), and no protobuf answer. */
static void test_time_outside_rfc3339(void **state)
{
	struct tree *t = *state;
	char *out;
	size_t len;

	make_file(t, "a-late", 253402300800LL, 0);
	make_file(t, "b-early", -62167219201LL, 999999999);
	assert_same_as_generic(t, LISTDIR_JSON);
	assert_int_equal(listdir_walk(&out, &len, t->rootfd, &t->names, t->dfd, "/", 1,
				      LISTDIR_JSON), 0);
	assert_non_null(strstr(out, "\"modifiedTime\":\"\""));
	free(out);
	assert_int_equal(listdir_walk(&out, &len, t->rootfd, &t->names, t->dfd, "/", 1,
				      LISTDIR_PROTO), 1);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_directory, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_names_escaped_like_jansson, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_times_modes_links_xattrs, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_time_outside_rfc3339, tree_setup,
						tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
