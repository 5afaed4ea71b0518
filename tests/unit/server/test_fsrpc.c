/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for fsrpc.c: EntryInfo JSON exactly as envd renders it and
 * the Filesystem RPC quirks, run against a fake sandbox root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakeroot.h"
#include "envd/fsrpc.h"
#include "isolate/nsbox.h"
#include "http/rpc.h"
#include "stubs.h"

static const struct rpc_method *method(const char *name)
{
	char path[128];
	int i;

	snprintf(path, sizeof(path), "/filesystem.Filesystem/%s", name);
	for (i = 0; fsrpc_methods[i].path; i++)
		if (strcmp(fsrpc_methods[i].path, path) == 0)
			return &fsrpc_methods[i];
	fail_msg("no method %s", name);
	return NULL;
}

/* Call a unary method with a JSON text request; returns the response or NULL. */
static json_t *call(struct fakeroot *f, const char *name, const char *json,
		    struct rpc_error *err)
{
	struct rpc_ctx ctx;
	json_t *req, *out = NULL;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(err, 0, sizeof(*err));
	ctx.sb = &f->sb;
	ctx.user = f->user;
	ctx.keepalive_s = 90;
	req = json_loads(json, 0, NULL);
	assert_non_null(req);
	rc = method(name)->unary(&ctx, req, &out, err);
	json_decref(req);
	if (rc < 0) {
		assert_non_null(err->code);
		assert_null(out);
		return NULL;
	}
	assert_non_null(out);
	return out;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_format_time_trims_like_protojson(void **state)
{
	struct timespec ts = { .tv_sec = 1777629600, .tv_nsec = 0 };
	char out[64];

	fsrpc_format_time(&ts, out, sizeof(out));
	assert_string_equal(out, "2026-05-01T10:00:00Z");
	ts.tv_nsec = 500000000;
	fsrpc_format_time(&ts, out, sizeof(out));
	assert_string_equal(out, "2026-05-01T10:00:00.500Z");
	ts.tv_nsec = 123456000;
	fsrpc_format_time(&ts, out, sizeof(out));
	assert_string_equal(out, "2026-05-01T10:00:00.123456Z");
	ts.tv_nsec = 1;
	fsrpc_format_time(&ts, out, sizeof(out));
	assert_string_equal(out, "2026-05-01T10:00:00.000000001Z");
}

static void test_entry_regular_file(void **state)
{
	struct fakeroot *f = *state;
	struct sbfs_idnames names;
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1777629600, 500000000 } };
	json_t *e;

	assert_int_equal(utimensat(AT_FDCWD, fakeroot_host(f, "/home/user/a.txt"), times, 0), 0);
	if (getuid() == 0)
		assert_int_equal(chown(fakeroot_host(f, "/home/user/a.txt"), 1000, 50), 0);
	sbfs_idnames_load(&names, &f->sb, f->sb.rootfd);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/a.txt");
	assert_non_null(e);
	assert_string_equal(str(e, "name"), "a.txt");
	assert_string_equal(str(e, "type"), "FILE_TYPE_FILE");
	assert_string_equal(str(e, "path"), "/home/user/a.txt");
	assert_string_equal(str(e, "size"), "6");	/* int64 → JSON string */
	assert_int_equal(json_integer_value(json_object_get(e, "mode")), 0644);
	assert_string_equal(str(e, "permissions"), "-rw-r--r--");
	if (getuid() == 0) {
		assert_string_equal(str(e, "owner"), "user");
		assert_string_equal(str(e, "group"), "staff");
	}
	assert_string_equal(str(e, "modifiedTime"), "2026-05-01T10:00:00.500Z");
	assert_null(json_object_get(e, "symlinkTarget"));
	assert_null(json_object_get(e, "metadata"));
	json_decref(e);
	sbfs_idnames_release(&names);
}

static void test_entry_zero_values_omitted(void **state)
{
	struct fakeroot *f = *state;
	struct sbfs_idnames names;
	json_t *e;

	sbfs_idnames_load(&names, &f->sb, f->sb.rootfd);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/empty");
	assert_non_null(e);
	assert_null(json_object_get(e, "size"));
	assert_string_equal(str(e, "type"), "FILE_TYPE_FILE");
	json_decref(e);
	/* Unknown ids print as numbers. */
	if (getuid() == 0) {
		assert_int_equal(chown(fakeroot_host(f, "/home/user/empty"), 4242, 4343), 0);
		e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/empty");
		assert_string_equal(str(e, "owner"), "4242");
		assert_string_equal(str(e, "group"), "4343");
		json_decref(e);
	}
	sbfs_idnames_release(&names);
}

static void test_entry_symlink_reports_target(void **state)
{
	struct fakeroot *f = *state;
	struct sbfs_idnames names;
	json_t *e;

	sbfs_idnames_load(&names, &f->sb, f->sb.rootfd);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/link");
	assert_string_equal(str(e, "type"), "FILE_TYPE_DIRECTORY");
	assert_string_equal(str(e, "size"), "9");	/* strlen("/opt/data") */
	assert_int_equal(json_integer_value(json_object_get(e, "mode")), 0755);
	assert_string_equal(str(e, "permissions"), "Lrwxrwxrwx");
	assert_string_equal(str(e, "symlinkTarget"), "/opt/data");
	json_decref(e);

	/* Absolute and climbing links name the sandbox's /etc, never a host path. */
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/abs");
	assert_string_equal(str(e, "symlinkTarget"), "/etc");
	json_decref(e);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/esc");
	assert_string_equal(str(e, "symlinkTarget"), "/etc");
	json_decref(e);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/chain1");
	assert_string_equal(str(e, "symlinkTarget"), "/opt/data");
	assert_string_equal(str(e, "type"), "FILE_TYPE_DIRECTORY");
	json_decref(e);

	/* Broken and cyclic: no type, no mode, target = the link itself. */
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/broken");
	assert_null(json_object_get(e, "type"));
	assert_null(json_object_get(e, "mode"));
	assert_string_equal(str(e, "symlinkTarget"), "/home/user/broken");
	json_decref(e);
	e = fsrpc_entry(f->sb.rootfd, &names, "/home/user/loop1");
	assert_null(json_object_get(e, "type"));
	assert_string_equal(str(e, "symlinkTarget"), "/home/user/loop1");
	json_decref(e);
	sbfs_idnames_release(&names);
}

static void test_entry_metadata_from_xattrs(void **state)
{
	struct fakeroot *f = *state;
	struct sbfs_idnames names;
	const char *p = fakeroot_host(f, "/opt/data/x");
	json_t *e, *m;

	if (setxattr(p, "user.e2b.owner", "me", 2, 0) < 0) {
		skip();
		return;
	}
	assert_int_equal(setxattr(p, "user.other", "hidden", 6, 0), 0);
	sbfs_idnames_load(&names, &f->sb, f->sb.rootfd);
	e = fsrpc_entry(f->sb.rootfd, &names, "/opt/data/x");
	m = json_object_get(e, "metadata");
	assert_non_null(m);
	assert_int_equal(json_object_size(m), 1);
	assert_string_equal(str(m, "owner"), "me");
	json_decref(e);
	sbfs_idnames_release(&names);
}

static void test_stat_rpc(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	json_t *r;

	r = call(f, "Stat", "{\"path\":\"a.txt\"}", &err);
	assert_non_null(r);
	assert_string_equal(str(json_object_get(r, "entry"), "path"), "/home/user/a.txt");
	json_decref(r);
	r = call(f, "Stat", "{\"path\":\"/home/user/nope\"}", &err);
	assert_null(r);
	assert_string_equal(err.code, "not_found");
	assert_string_equal(err.message,
			    "file not found: lstat /home/user/nope: no such file or directory");
	/* The host's /etc/hostname exists; the sandbox's does not. */
	r = call(f, "Stat", "{\"path\":\"/../../../../etc/hostname\"}", &err);
	assert_null(r);
	assert_string_equal(err.code, "not_found");
	r = call(f, "Stat", "{\"path\":\"~/abs/hostname\"}", &err);
	assert_null(r);
	assert_string_equal(err.code, "not_found");
	r = call(f, "Stat", "{\"path\":\"~root/x\"}", &err);
	assert_null(r);
	assert_string_equal(err.code, "invalid_argument");
	r = call(f, "Stat", "{\"path\":42}", &err);
	assert_null(r);
	assert_string_equal(err.code, "invalid_argument");
	/* Empty path: the user's home. */
	r = call(f, "Stat", "{}", &err);
	assert_string_equal(str(json_object_get(r, "entry"), "path"), "/home/user");
	json_decref(r);
}

/* Names of the entries of a ListDir response, joined with spaces. */
static void entry_paths(json_t *r, char *out, size_t outlen)
{
	json_t *v;
	size_t i, o = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(r, "entries"), i, v)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? " " : "", str(v, "path"));
}

static void test_list_dir_depth_and_order(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	char got[4096];
	json_t *r;

	mkdir(fakeroot_host(f, "/lst"), 0755);
	mkdir(fakeroot_host(f, "/lst/b"), 0755);
	mkdir(fakeroot_host(f, "/lst/b/c"), 0755);
	close(open(fakeroot_host(f, "/lst/b/c/deep"), O_CREAT | O_WRONLY, 0644));
	close(open(fakeroot_host(f, "/lst/a"), O_CREAT | O_WRONLY, 0644));
	close(open(fakeroot_host(f, "/lst/B"), O_CREAT | O_WRONLY, 0644));
	assert_int_equal(symlink("/opt/data", fakeroot_host(f, "/lst/ln")), 0);
	close(open(fakeroot_host(f, "/lst/.e2bd-upload-00ff"), O_CREAT | O_WRONLY, 0644));
	/* Not UTF-8: cannot be a protobuf string, so it is left out. */
	close(open(fakeroot_host(f, "/lst/\xff\xfe.bin"), O_CREAT | O_WRONLY, 0644));

	r = call(f, "ListDir", "{\"path\":\"/lst\"}", &err);
	entry_paths(r, got, sizeof(got));
	assert_string_equal(got, "/lst/B /lst/a /lst/b /lst/ln");
	json_decref(r);
	r = call(f, "ListDir", "{\"path\":\"/lst\",\"depth\":2}", &err);
	entry_paths(r, got, sizeof(got));
	assert_string_equal(got, "/lst/B /lst/a /lst/b /lst/b/c /lst/ln");
	json_decref(r);
	/* depth as an int64-style string; symlinked dirs are not followed. */
	r = call(f, "ListDir", "{\"path\":\"/lst\",\"depth\":\"10\"}", &err);
	entry_paths(r, got, sizeof(got));
	assert_string_equal(got, "/lst/B /lst/a /lst/b /lst/b/c /lst/b/c/deep /lst/ln");
	json_decref(r);
	/* A symlinked root is resolved; children keep the requested prefix. */
	r = call(f, "ListDir", "{\"path\":\"/lst/ln\"}", &err);
	entry_paths(r, got, sizeof(got));
	assert_string_equal(got, "/lst/ln/x");
	json_decref(r);
	/* Empty directory: no "entries" key at all. */
	r = call(f, "ListDir", "{\"path\":\"/lst/b/c/../../b/c/..\"}", &err);
	entry_paths(r, got, sizeof(got));
	assert_string_equal(got, "/lst/b/c");
	json_decref(r);
	mkdir(fakeroot_host(f, "/lst/empty"), 0755);
	r = call(f, "ListDir", "{\"path\":\"/lst/empty\"}", &err);
	assert_null(json_object_get(r, "entries"));
	json_decref(r);

	{
		struct sbfs_idnames names;

		sbfs_idnames_load(&names, &f->sb, f->sb.rootfd);
		errno = 0;
		assert_null(fsrpc_entry(f->sb.rootfd, &names, "/lst/\xff\xfe.bin"));
		assert_int_equal(errno, EILSEQ);
		sbfs_idnames_release(&names);
	}
	assert_null(call(f, "ListDir", "{\"path\":\"/lst/a\"}", &err));
	assert_string_equal(err.code, "invalid_argument");
	assert_string_equal(err.message, "path is not a directory: /lst/a");
	assert_null(call(f, "ListDir", "{\"path\":\"/nope\"}", &err));
	assert_string_equal(err.code, "not_found");
	assert_null(call(f, "ListDir", "{\"path\":\"/home/user/loop1\"}", &err));
	assert_string_equal(err.code, "failed_precondition");
	/* Escapes list the sandbox's /etc. */
	r = call(f, "ListDir", "{\"path\":\"/home/user/esc\"}", &err);
	entry_paths(r, got, sizeof(got));
	assert_non_null(strstr(got, "/home/user/esc/passwd"));
	assert_null(strstr(got, "hostname"));
	json_decref(r);
}

struct deep_run {
	struct fakeroot *f;
	json_t *resp;
	struct rpc_error err;
	struct test_stream ts;
};

static void *deep_list(void *arg)
{
	struct deep_run *d = arg;

	d->resp = call(d->f, "ListDir", "{\"path\":\"/deep\",\"depth\":100000}", &d->err);
	return NULL;
}

static void *deep_watch(void *arg)
{
	struct deep_run *d = arg;
	struct rpc_ctx ctx;
	json_t *req = json_loads("{\"path\":\"/deep\",\"recursive\":true}", 0, NULL);

	memset(&ctx, 0, sizeof(ctx));
	ctx.sb = &d->f->sb;
	ctx.user = d->f->user;
	d->ts.closed = true;	/* set up the watches, then stop at once */
	method("WatchDir")->stream(&ctx, req, (struct rpc_stream *)&d->ts, &d->err);
	json_decref(req);
	return NULL;
}

/* A sandbox can nest ~2000 directories; walking them must not need a big stack. */
static void test_deep_tree_small_stack(void **state)
{
	struct fakeroot *f = *state;
	struct deep_run d;
	pthread_attr_t attr;
	pthread_t th;
	int fd, nfd, i;

	mkdir(fakeroot_host(f, "/deep"), 0755);
	fd = open(fakeroot_host(f, "/deep"), O_RDONLY | O_DIRECTORY);
	for (i = 0; i < 1500 && fd >= 0; i++) {
		if (mkdirat(fd, "d", 0755) < 0)
			break;
		nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = nfd;
	}
	if (fd >= 0)
		close(fd);
	assert_int_equal(i, 1500);

	memset(&d, 0, sizeof(d));
	d.f = f;
	d.ts.sent = json_array();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);	/* old frames needed 6+ MiB */
	assert_int_equal(pthread_create(&th, &attr, deep_list, &d), 0);
	pthread_join(th, NULL);
	assert_non_null(d.resp);
	assert_true(json_array_size(json_object_get(d.resp, "entries")) > 500);
	json_decref(d.resp);
	assert_int_equal(pthread_create(&th, &attr, deep_watch, &d), 0);
	pthread_join(th, NULL);
	pthread_attr_destroy(&attr);
	json_decref(d.ts.sent);
}

static void test_make_dir_quirks(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	struct stat st;
	json_t *r, *e;

	r = call(f, "MakeDir", "{\"path\":\"mk/a/b\"}", &err);
	assert_non_null(r);
	e = json_object_get(r, "entry");
	assert_string_equal(str(e, "path"), "/home/user/mk/a/b");
	assert_string_equal(str(e, "name"), "b");
	assert_string_equal(str(e, "type"), "FILE_TYPE_DIRECTORY");
	assert_string_equal(str(e, "permissions"), "drwxr-xr-x");
	json_decref(r);
	assert_int_equal(stat(fakeroot_host(f, "/home/user/mk/a"), &st), 0);
	assert_int_equal(st.st_uid, f->user.uid);
	assert_int_equal(st.st_mode & 07777, 0755);

	assert_null(call(f, "MakeDir", "{\"path\":\"mk/a/b\"}", &err));
	assert_string_equal(err.code, "already_exists");
	assert_string_equal(err.message, "directory already exists: /home/user/mk/a/b");
	assert_null(call(f, "MakeDir", "{\"path\":\"a.txt\"}", &err));
	assert_string_equal(err.code, "invalid_argument");
	assert_string_equal(err.message,
			    "path already exists but it is not a directory: /home/user/a.txt");
	assert_null(call(f, "MakeDir", "{\"path\":\"a.txt/sub\"}", &err));
	assert_string_equal(err.code, "internal");
	/* Like Go's os.Stat: ENOTDIR is not "not exist", so internal. */
	assert_string_equal(err.message,
			    "error getting file info: stat /home/user/a.txt/sub: not a directory");
	/* Through a symlink to a dir: already exists. */
	assert_null(call(f, "MakeDir", "{\"path\":\"link\"}", &err));
	assert_string_equal(err.code, "already_exists");
}

static void test_move_quirks(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	struct stat st;
	json_t *r;

	close(open(fakeroot_host(f, "/home/user/mv1"), O_CREAT | O_WRONLY, 0644));
	r = call(f, "Move", "{\"source\":\"mv1\",\"destination\":\"mvd/x/mv2\"}", &err);
	assert_non_null(r);
	assert_string_equal(str(json_object_get(r, "entry"), "path"), "/home/user/mvd/x/mv2");
	json_decref(r);
	assert_int_equal(stat(fakeroot_host(f, "/home/user/mvd/x/mv2"), &st), 0);
	/* Overwrites an existing file. */
	close(open(fakeroot_host(f, "/home/user/mv3"), O_CREAT | O_WRONLY, 0644));
	r = call(f, "Move", "{\"source\":\"mv3\",\"destination\":\"mvd/x/mv2\"}", &err);
	assert_non_null(r);
	json_decref(r);
	assert_null(call(f, "Move", "{\"source\":\"nope\",\"destination\":\"x\"}", &err));
	assert_string_equal(err.code, "not_found");
	assert_non_null(strstr(err.message, "source file not found: "));
	/* Directory over a non-empty directory. */
	assert_null(call(f, "Move", "{\"source\":\"mvd\",\"destination\":\"dir\"}", &err));
	assert_string_equal(err.code, "internal");
	assert_non_null(strstr(err.message, "error renaming: "));
	/* Moving a symlink moves the link, never its target. */
	r = call(f, "Move", "{\"source\":\"abs\",\"destination\":\"abs2\"}", &err);
	assert_non_null(r);
	assert_string_equal(str(json_object_get(r, "entry"), "symlinkTarget"), "/etc");
	json_decref(r);
	r = call(f, "Move", "{\"source\":\"abs2\",\"destination\":\"abs\"}", &err);
	json_decref(r);
}

static void test_remove_quirks(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	struct stat st;
	json_t *r;

	r = call(f, "Remove", "{\"path\":\"does/not/exist\"}", &err);
	assert_non_null(r);
	assert_int_equal(json_object_size(r), 0);
	json_decref(r);
	r = call(f, "MakeDir", "{\"path\":\"rmtree/a/b\"}", &err);
	json_decref(r);
	r = call(f, "Remove", "{\"path\":\"rmtree\"}", &err);
	assert_non_null(r);
	json_decref(r);
	assert_int_equal(stat(fakeroot_host(f, "/home/user/rmtree"), &st), -1);
	/* Removing through an escaping link only touches the sandbox. */
	r = call(f, "Remove", "{\"path\":\"esc/e2bd-unit-never\"}", &err);
	json_decref(r);
	assert_int_equal(stat("/etc/passwd", &st), 0);
}

struct watch_run {
	struct fakeroot *f;
	struct test_stream ts;
	json_t *req;
	struct rpc_error err;
};

static void *watch_thread(void *arg)
{
	struct watch_run *w = arg;
	struct rpc_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.sb = &w->f->sb;
	ctx.user = w->f->user;
	method("WatchDir")->stream(&ctx, w->req, (struct rpc_stream *)&w->ts, &w->err);
	return NULL;
}

/* Find a filesystem event with @name and @type among the messages. */
static json_t *find_event(json_t *msgs, const char *name, const char *type)
{
	json_t *m, *fe;
	size_t i;

	json_array_foreach(msgs, i, m) {
		fe = json_object_get(m, "filesystem");
		if (fe && strcmp(str(fe, "name"), name) == 0 && strcmp(str(fe, "type"), type) == 0)
			return fe;
	}
	return NULL;
}

static void test_watch_dir_recursive_events(void **state)
{
	struct fakeroot *f = *state;
	struct watch_run w;
	char tmp[1024];
	pthread_t th;
	json_t *fe;
	int fd, i;

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.ts.sent = json_array();
	mkdir(fakeroot_host(f, "/w"), 0755);
	mkdir(fakeroot_host(f, "/w/pre"), 0755);
	w.req = json_loads("{\"path\":\"/w\",\"recursive\":true,\"includeEntry\":true}", 0, NULL);
	assert_int_equal(pthread_create(&th, NULL, watch_thread, &w), 0);
	for (i = 0; i < 100 && json_array_size(w.ts.sent) == 0; i++)
		usleep(10000);
	assert_true(json_array_size(w.ts.sent) >= 1);
	assert_non_null(json_object_get(json_array_get(w.ts.sent, 0), "start"));

	fd = open(fakeroot_host(f, "/w/pre/new.txt"), O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "hi", 2), 2);
	close(fd);
	mkdir(fakeroot_host(f, "/w/sub"), 0755);
	usleep(300000);
	fd = open(fakeroot_host(f, "/w/sub/inner"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	chmod(fakeroot_host(f, "/w/sub/inner"), 0600);
	unlink(fakeroot_host(f, "/w/sub/inner"));
	/* A tree made before its watches could exist is still reported. */
	assert_int_equal(mkdir(fakeroot_host(f, "/w/fast"), 0755), 0);
	assert_int_equal(mkdir(fakeroot_host(f, "/w/fast/a"), 0755), 0);
	assert_int_equal(mkdir(fakeroot_host(f, "/w/fast/a/b"), 0755), 0);
	close(open(fakeroot_host(f, "/w/fast/a/b/leaf"), O_CREAT | O_WRONLY, 0644));
	/* An upload's temp file is hidden; its rename shows as CREATE + WRITE. */
	snprintf(tmp, sizeof(tmp), "%s", fakeroot_host(f, "/w/.e2bd-upload-0123"));
	close(open(tmp, O_CREAT | O_WRONLY, 0644));
	assert_int_equal(rename(tmp, fakeroot_host(f, "/w/uploaded")), 0);
	for (i = 0; i < 200 && !find_event(w.ts.sent, "uploaded", "EVENT_TYPE_WRITE"); i++)
		usleep(10000);
	w.ts.closed = true;
	pthread_join(th, NULL);

	fe = find_event(w.ts.sent, "pre/new.txt", "EVENT_TYPE_CREATE");
	assert_non_null(fe);
	assert_string_equal(str(json_object_get(fe, "entry"), "path"), "/w/pre/new.txt");
	assert_non_null(find_event(w.ts.sent, "pre/new.txt", "EVENT_TYPE_WRITE"));
	assert_non_null(find_event(w.ts.sent, "sub", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "sub/inner", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "sub/inner", "EVENT_TYPE_CHMOD"));
	fe = find_event(w.ts.sent, "sub/inner", "EVENT_TYPE_REMOVE");
	assert_non_null(fe);
	assert_null(json_object_get(fe, "entry"));
	assert_non_null(find_event(w.ts.sent, "fast", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "fast/a", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "fast/a/b", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "fast/a/b/leaf", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "uploaded", "EVENT_TYPE_CREATE"));
	assert_non_null(find_event(w.ts.sent, "uploaded", "EVENT_TYPE_WRITE"));
	assert_null(find_event(w.ts.sent, ".e2bd-upload-0123", "EVENT_TYPE_CREATE"));
	assert_null(find_event(w.ts.sent, ".e2bd-upload-0123", "EVENT_TYPE_RENAME"));
	assert_null(w.err.code);
	json_decref(w.req);
	json_decref(w.ts.sent);
}

static void test_watch_dir_errors(void **state)
{
	struct fakeroot *f = *state;
	struct watch_run w;

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.ts.sent = json_array();
	w.req = json_loads("{\"path\":\"/nope\"}", 0, NULL);
	watch_thread(&w);
	assert_string_equal(w.err.code, "not_found");
	assert_int_equal(json_array_size(w.ts.sent), 0);
	json_decref(w.req);
	memset(&w.err, 0, sizeof(w.err));
	w.req = json_loads("{\"path\":\"/home/user/a.txt\"}", 0, NULL);
	watch_thread(&w);
	assert_string_equal(w.err.code, "invalid_argument");
	json_decref(w.req);
	json_decref(w.ts.sent);
}

static void test_polling_watcher(void **state)
{
	struct fakeroot *f = *state;
	struct rpc_error err;
	char req[128];
	json_t *r, *ev;
	int i;

	assert_int_equal(fsrpc_watch_table_init(&f->sb), 0);
	mkdir(fakeroot_host(f, "/pw"), 0755);
	r = call(f, "CreateWatcher", "{\"path\":\"/pw\"}", &err);
	assert_non_null(r);
	snprintf(req, sizeof(req), "{\"watcherId\":\"%s\"}", str(r, "watcherId"));
	assert_int_equal(str(r, "watcherId")[0], 'w');
	json_decref(r);
	close(open(fakeroot_host(f, "/pw/file"), O_CREAT | O_WRONLY, 0644));
	ev = NULL;
	for (i = 0; i < 100; i++) {
		usleep(10000);
		r = call(f, "GetWatcherEvents", req, &err);
		assert_non_null(r);
		if (json_object_get(r, "events")) {
			ev = json_incref(json_array_get(json_object_get(r, "events"), 0));
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	assert_non_null(ev);
	assert_string_equal(str(ev, "name"), "file");
	assert_string_equal(str(ev, "type"), "EVENT_TYPE_CREATE");
	json_decref(ev);
	/* Drained. */
	r = call(f, "GetWatcherEvents", req, &err);
	assert_null(json_object_get(r, "events"));
	json_decref(r);
	r = call(f, "RemoveWatcher", req, &err);
	assert_non_null(r);
	json_decref(r);
	assert_null(call(f, "RemoveWatcher", req, &err));
	assert_string_equal(err.code, "not_found");
	assert_null(call(f, "GetWatcherEvents", req, &err));
	assert_string_equal(err.code, "not_found");
	/* Release stops what is left. */
	r = call(f, "CreateWatcher", "{\"path\":\"/pw\"}", &err);
	json_decref(r);
	fsrpc_watch_table_release(&f->sb);
	assert_null(f->sb.watches);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_time_trims_like_protojson),
		cmocka_unit_test(test_entry_regular_file),
		cmocka_unit_test(test_entry_zero_values_omitted),
		cmocka_unit_test(test_entry_symlink_reports_target),
		cmocka_unit_test(test_entry_metadata_from_xattrs),
		cmocka_unit_test(test_stat_rpc),
		cmocka_unit_test(test_list_dir_depth_and_order),
		cmocka_unit_test(test_deep_tree_small_stack),
		cmocka_unit_test(test_make_dir_quirks),
		cmocka_unit_test(test_move_quirks),
		cmocka_unit_test(test_remove_quirks),
		cmocka_unit_test(test_watch_dir_recursive_events),
		cmocka_unit_test(test_watch_dir_errors),
		cmocka_unit_test(test_polling_watcher),
	};

	return cmocka_run_group_tests(tests, fakeroot_setup, fakeroot_teardown);
}
