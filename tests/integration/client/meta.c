/* SPDX-License-Identifier: MIT */
/*
 * <e2b/meta.h> against a live e2bd: every one-shot call, hostile paths
 * (no injection), OS reasons in e2b_error.os_errno, a session's batching
 * (exchanges counted by e2b_meta_session_stats) from several threads, and
 * the atomic write with mode and times set before its Move.
 *
 * Usage: e2b-client-meta (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL).
 * Prints TAP lines; exits 1 if any check failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <e2b/e2b.h>

static int failed;
static e2b_sandbox *sb;

static void check(int cond, const char *name, const char *detail)
{
	if (cond)
		printf("ok - %s\n", name);
	else
		printf("not ok - %s: %s\n", name, detail ? detail : e2b_error_last()->message);
	if (!cond)
		failed = 1;
}

/* Run argv in the sandbox; its stdout (trailing newline cut) into @out. */
static int run(char *out, size_t cap, const char *const *argv, const char *user)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	size_t n;
	int rc;

	co.user = user;
	rc = e2b_commands_run_argv(&r, sb, argv, &co);
	n = r.out ? strlen(r.out) : 0;
	while (n && r.out[n - 1] == '\n')
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, r.out ? r.out : "", n);
	out[n] = '\0';
	e2b_process_result_release(&r);
	return rc;
}

/* stat -c FMT of @path (lstat), or "" */
static const char *stat_of(char *buf, size_t cap, const char *fmt, const char *path)
{
	const char *argv[] = { "stat", "-c", fmt, "--", path, NULL };

	if (run(buf, cap, argv, "root") < 0)
		buf[0] = '\0';
	return buf;
}

/* The failure of the last call was @code with reason @os? */
static void check_err(int rc, int code, int os, const char *name)
{
	const e2b_error *e = e2b_error_last();
	char d[600];

	snprintf(d, sizeof(d), "rc %d code %d os_errno %d (want %d/%d): %s", rc, e->code,
		 e->os_errno, code, os, e->message);
	check(rc == code && e->code == code && e->os_errno == os, name, d);
}

static void one_shots(void)
{
	e2b_meta_options mo = E2B_META_OPTIONS_INIT;
	struct timespec at = { 1000000000, 5 }, mt = { 1234567890, 123456789 };
	char b[256], *data = NULL;
	size_t len = 0;
	int rc;

	mo.user = "root";
	e2b_fs_mkdir(NULL, sb, "/tmp/m");
	e2b_fs_write(NULL, sb, "/tmp/m/f", "hello world", 11, NULL);
	rc = e2b_meta_set_mode(sb, "/tmp/m/f", 0751, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%a", "/tmp/m/f"), "751"),
	      "set_mode 0751", b);
	rc = e2b_meta_set_times(sb, "/tmp/m/f", &at, &mt, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%X %Y %.9Y", "/tmp/m/f"),
				 "1000000000 1234567890 1234567890.123456789"),
	      "set_times with nanoseconds", b);
	rc = e2b_meta_set_times(sb, "/tmp/m/f", NULL, &at, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%X %Y", "/tmp/m/f"),
				 "1000000000 1000000000"), "set_times mtime only", b);
	{
		e2b_meta_session *ns = NULL;
		e2b_meta_op now = { .kind = E2B_META_SETATTR, .path = "/tmp/m/f",
				    .set = E2B_META_SET_MTIME_NOW };

		rc = e2b_meta_session_new(&ns, sb, &mo);
		if (rc == 0)
			rc = e2b_meta_session_run(ns, &now, 1);
		e2b_meta_session_free(ns);
		stat_of(b, sizeof(b), "%X %Y", "/tmp/m/f");
		check(rc == 0 && !strncmp(b, "1000000000 ", 11) &&
		      strtoll(b + 11, NULL, 10) > 1700000000, "mtime now, atime left", b);
	}
	rc = e2b_meta_set_owner(sb, "/tmp/m/f", 1000, 1000, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%u:%g", "/tmp/m/f"), "1000:1000"),
	      "set_owner 1000:1000 as root", b);
	rc = e2b_meta_set_owner(sb, "/tmp/m/f", E2B_META_ID_KEEP, 0, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%u:%g", "/tmp/m/f"), "1000:0"),
	      "set_owner group only", b);
	rc = e2b_meta_truncate(sb, "/tmp/m/f", 5, &mo);
	if (rc == 0)
		rc = e2b_fs_read(&data, &len, sb, "/tmp/m/f", NULL);
	check(rc == 0 && len == 5 && !memcmp(data, "hello", 5), "truncate to 5", NULL);
	e2b_free(data);
	rc = e2b_meta_truncate(sb, "/tmp/m/f", 1 << 20, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%s", "/tmp/m/f"), "1048576"),
	      "truncate extends", b);
	rc = e2b_meta_symlink(sb, "-odd target $(touch x-pwned)", "/tmp/m/ln", &mo);
	{
		const char *argv[] = { "readlink", "--", "/tmp/m/ln", NULL };

		if (rc == 0)
			run(b, sizeof(b), argv, "root");
		check(rc == 0 && !strcmp(b, "-odd target $(touch x-pwned)"),
		      "symlink holds its target verbatim", b);
	}
	rc = e2b_meta_symlink(sb, "x", "/tmp/m", &mo);
	check_err(rc, E2B_EEXISTS, EEXIST, "symlink over a directory: EEXIST");
	rc = e2b_meta_link(sb, "/tmp/m/f", "/tmp/m/hard", &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%h", "/tmp/m/f"), "2"),
	      "link: two names", b);
	rc = e2b_meta_link(sb, "/tmp/m/f", "/tmp/m/hard", &mo);
	check_err(rc, E2B_EEXISTS, EEXIST, "link over an existing name: EEXIST");
	rc = e2b_meta_mkfifo(sb, "/tmp/m/fifo", 0620, &mo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%F %a", "/tmp/m/fifo"), "fifo 620"),
	      "mkfifo 0620", b);

	/* OS reasons. */
	rc = e2b_meta_set_mode(sb, "/tmp/m/missing", 0600, &mo);
	check_err(rc, E2B_ENOTFOUND, ENOENT, "set_mode of a missing file: ENOENT");
	rc = e2b_meta_set_times(sb, "/tmp/m/missing", &at, &at, &mo);
	check_err(rc, E2B_ENOTFOUND, ENOENT, "set_times of a missing file: ENOENT, not created");
	check(!e2b_fs_exists(&rc, sb, "/tmp/m/missing") && !rc, "set_times created nothing",
	      "exists");
	rc = e2b_meta_truncate(sb, "/tmp/m/missing", 0, &mo);
	check_err(rc, E2B_ENOTFOUND, ENOENT, "truncate of a missing file: ENOENT, not created");
	rc = e2b_meta_set_mode(sb, "/tmp/m/f/x", 0600, &mo);
	check_err(rc, E2B_ERROR, ENOTDIR, "set_mode below a file: ENOTDIR");
	rc = e2b_meta_set_times(sb, "/tmp/m/f/x", &at, &at, &mo);
	check_err(rc, E2B_ERROR, ENOTDIR, "set_times below a file: ENOTDIR");
	rc = e2b_meta_truncate(sb, "/tmp/m", 0, &mo);
	check_err(rc, E2B_ERROR, EISDIR, "truncate of a directory: EISDIR");
	mo.user = "user";
	rc = e2b_meta_set_mode(sb, "/etc/passwd", 0666, &mo);
	check_err(rc, E2B_EPERM, EPERM, "set_mode of root's file as user: EPERM");
	rc = e2b_meta_mkfifo(sb, "/etc/e2b-fifo", 0600, &mo);
	check_err(rc, E2B_EPERM, EACCES, "mkfifo in /etc as user: EACCES");
	mo.user = "root";
	rc = e2b_meta_set_mode(sb, "", 0600, &mo);
	check_err(rc, E2B_EINVALID, 0, "empty path: E2B_EINVALID");
	rc = e2b_fs_stat(NULL, sb, "/tmp/m/missing");
	rc = e2b_fs_rename(NULL, sb, "/tmp/m", "/tmp/m/f/sub");
	check(rc < 0 && e2b_error_last()->os_errno == ENOTDIR,
	      "envd's own errors carry os_errno (rename below a file: ENOTDIR)", NULL);
}

/* Names a shell would misread; none may run or touch anything else. */
static const char *const hostile[] = {
	"with space", "new\nline", "-leading-dash", "--", "'single'", "\"double\"",
	"$(touch x-pwned)", "`touch x-pwned`", "; touch x-pwned", "&& touch x-pwned",
	"a\\b", "*", "tab\there", "\xff\xfe-not-utf8", "=owner", "trailing\n",
};

/*
 * Run a bash script with @in (@inlen bytes) on stdin; its stdout into a
 * malloc'd buffer (@out_len bytes, exact).  Byte-exact both ways: process
 * arguments are protocol strings, stdin and stdout are bytes.
 */
static char *run_bytes(size_t *out_len, const char *script, const char *in, size_t inlen)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	char *out = NULL;

	co.user = "root";
	co.stdin_data = in;
	co.stdin_len = inlen;
	if (e2b_commands_run_argv(&r, sb, argv, &co) == 0) {
		*out_len = r.out_len;
		out = malloc(r.out_len + 1);
		memcpy(out, r.out, r.out_len);
		out[r.out_len] = '\0';
	}
	e2b_process_result_release(&r);
	return out;
}

/* In NUL-separated pairs "name\0value\0" of @l, the value of @name. */
static const char *lookup(const char *l, size_t len, const char *name)
{
	const char *p = l, *end = l + len;

	while (p < end) {
		const char *v = p + strlen(p) + 1;

		if (v >= end)
			return NULL;
		if (!strcmp(p, name))
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

static void hostile_paths(e2b_meta_session *s)
{
	size_t n = sizeof(hostile) / sizeof(hostile[0]), i, inlen = 0, llen = 0;
	e2b_meta_options mo = E2B_META_OPTIONS_INIT;
	e2b_meta_op ops[2 * sizeof(hostile) / sizeof(hostile[0])];
	struct timespec mt = { 1500000000, 0 };
	char path[128], b[256], in[1024], *l;
	const char *v;
	int rc;

	mo.user = "root";
	e2b_fs_mkdir(NULL, sb, "/tmp/h");
	for (i = 0; i < n; i++) {
		memcpy(in + inlen, hostile[i], strlen(hostile[i]) + 1);
		inlen += strlen(hostile[i]) + 1;
	}
	l = run_bytes(&llen, "cd /tmp/h && while IFS= read -r -d '' n; do : > \"$n\"; done",
		      in, inlen);
	free(l);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/tmp/h/%s", hostile[i]);
		rc = e2b_meta_set_mode(sb, path, 0604, &mo);
		if (rc == 0)
			rc = e2b_meta_set_times(sb, path, &mt, &mt, &mo);
		snprintf(b, sizeof(b), "one-shot on hostile name %zu", i);
		check(rc == 0, b, NULL);
	}
	l = run_bytes(&llen, "cd /tmp/h && for f in * .*; do [ -e \"$f\" ] || continue; "
		      "printf '%s\\0%s\\0' \"$f\" \"$(stat -c '%a %Y' -- \"$f\")\"; done", "", 0);
	for (i = 0; i < n; i++) {
		v = l ? lookup(l, llen, hostile[i]) : NULL;
		snprintf(b, sizeof(b), "one-shot changed exactly hostile name %zu", i);
		check(v && !strcmp(v, "604 1500000000"), b, v ? v : "no such name");
	}
	free(l);
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n; i++) {
		char *p = malloc(128);

		snprintf(p, 128, "/tmp/h/%s", hostile[i]);
		ops[i].kind = E2B_META_SETATTR;
		ops[i].path = p;
		ops[i].set = E2B_META_SET_MODE | E2B_META_SET_MTIME;
		ops[i].mode = 0640;
		ops[i].mtime.tv_sec = 1600000000;
		ops[n + i].kind = E2B_META_SYMLINK;
		ops[n + i].target = hostile[i];
		p = malloc(128);
		snprintf(p, 128, "/tmp/h/ln %s", hostile[i]);
		ops[n + i].path = p;
	}
	rc = e2b_meta_session_run(s, ops, 2 * n);
	check(rc == 0, "session on hostile names", NULL);
	l = run_bytes(&llen, "cd /tmp/h && for f in * .*; do "
		      "[ -e \"$f\" ] || [ -h \"$f\" ] || continue; printf '%s\\0' \"$f\"; "
		      "if [ -h \"$f\" ]; then readlink -z -- \"$f\"; "
		      "else stat -c '%a %Y' -- \"$f\" | tr -d '\\n'; printf '\\0'; fi; done",
		      "", 0);
	for (i = 0; i < n; i++) {
		v = l ? lookup(l, llen, hostile[i]) : NULL;
		snprintf(b, sizeof(b), "session changed exactly hostile name %zu", i);
		check(ops[i].error == 0 && v && !strcmp(v, "640 1600000000"), b,
		      v ? v : "no such name");
		v = l ? lookup(l, llen, ops[n + i].path + strlen("/tmp/h/")) : NULL;
		snprintf(b, sizeof(b), "session symlink holds hostile name %zu", i);
		check(ops[n + i].error == 0 && v && !strcmp(v, hostile[i]), b,
		      v ? v : "no such link");
	}
	free(l);
	for (i = 0; i < 2 * n; i++)
		free((char *)ops[i].path);
	l = run_bytes(&llen, "ls -d /tmp/h/x-pwned /root/x-pwned /home/user/x-pwned "
		      "/x-pwned 2>/dev/null | wc -l", "", 0);
	check(l && !strcmp(l, "0\n"), "no hostile name ran as a command", l);
	free(l);
}

/* Session: grouping, a failed member of a group, counters. */
static void batching(e2b_meta_session *s)
{
	enum { N = 200 };
	static e2b_meta_op ops[N];
	static char paths[N][32];
	e2b_meta_stats st0, st1;
	char b[256], d[256];
	const char *mk[] = { "sh", "-c", "mkdir -p /tmp/b && cd /tmp/b && "
			     "for i in $(seq 0 199); do : > f$i; done", NULL };
	size_t i, bad = 0;
	int rc;

	run(b, sizeof(b), mk, "root");
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/tmp/b/f%zu", i);
		if (i == 77)
			snprintf(paths[i], sizeof(paths[i]), "/tmp/b/missing");
		ops[i].kind = E2B_META_SETATTR;
		ops[i].path = paths[i];
		ops[i].set = E2B_META_SET_MODE | E2B_META_SET_MTIME;
		ops[i].mode = i < N / 2 ? 0600 : 0755;
		ops[i].mtime.tv_sec = 1700000000;
	}
	e2b_meta_session_stats(&st0, s);
	rc = e2b_meta_session_run(s, ops, N);
	e2b_meta_session_stats(&st1, s);
	for (i = 0; i < N; i++)
		if (i != 77 && ops[i].error)
			bad++;
	snprintf(d, sizeof(d), "rc %d, %zu others failed, op 77: %d/%d", rc, bad,
		 ops[77].error, ops[77].os_errno);
	check(rc == E2B_ENOTFOUND && !bad && ops[77].error == E2B_ENOTFOUND &&
	      ops[77].os_errno == ENOENT && e2b_error_last()->os_errno == ENOENT,
	      "a group's failed member gets its own ENOENT, the others succeed", d);
	snprintf(d, sizeof(d), "%llu exchanges for %d ops",
		 (unsigned long long)(st1.exchanges - st0.exchanges), N);
	printf("# session: %s\n", d);
	/* 128 + 72 ops, then one retry of the failed group. */
	check(st1.exchanges - st0.exchanges <= 4 && st1.oneshots == st0.oneshots,
	      "200 operations in at most 4 exchanges", d);
	{
		const char *argv[] = { "sh", "-c", "stat -c '%a %Y' /tmp/b/* | sort | uniq -c",
				       NULL };

		run(b, sizeof(b), argv, "root");
		check(strstr(b, "99 600 1700000000") && strstr(b, "100 755 1700000000"),
		      "every file got its mode and time", b);
	}
}

/* A session's link reports the link count after it, in the same request;
 * a failed one reports none. */
static void link_count(e2b_meta_session *s)
{
	const char *mk[] = { "sh", "-c", "mkdir -p /tmp/l && : > '/tmp/l/a -x'", NULL };
	e2b_meta_op ops[3];
	e2b_meta_stats st0, st1;
	char b[128];
	int rc;

	run(b, sizeof(b), mk, "root");
	memset(ops, 0, sizeof(ops));
	ops[0].kind = E2B_META_LINK;
	ops[0].target = "/tmp/l/a -x";
	ops[0].path = "/tmp/l/b\n$(touch x-pwned)";
	ops[1] = ops[0];
	ops[1].path = "/tmp/l/c";
	ops[2] = ops[0];
	ops[2].nlink = 77;	/* an out field: cleared */
	e2b_meta_session_stats(&st0, s);
	rc = e2b_meta_session_run(s, ops, 2);
	e2b_meta_session_stats(&st1, s);
	snprintf(b, sizeof(b), "rc %d, nlink %u then %u, %llu requests", rc,
		 (unsigned)ops[0].nlink, (unsigned)ops[1].nlink,
		 (unsigned long long)(st1.requests - st0.requests));
	check(rc == 0 && ops[0].nlink == 2 && ops[1].nlink == 3 &&
	      st1.requests - st0.requests == 2, "session link reports the link count", b);
	rc = e2b_meta_session_run(s, &ops[2], 1);
	snprintf(b, sizeof(b), "rc %d, nlink %u", rc, (unsigned)ops[2].nlink);
	check(rc == E2B_EEXISTS && ops[2].nlink == 0, "failed link: no link count", b);
}

/* Interleaved fields still group; one path's operations keep their order;
 * nothing moves across an entry's creation. */
static void regrouping(e2b_meta_session *s)
{
	e2b_meta_op ops[64];
	char paths[64][32], b[512], d[128];
	e2b_meta_stats st0, st1;
	int i, rc;

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 60; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/tmp/b/f%d", i);
		ops[i].kind = E2B_META_SETATTR;
		ops[i].path = paths[i];
		ops[i].set = E2B_META_SET_MODE;
		ops[i].mode = i % 2 ? 0611 : 0622;
	}
	/* f0 again, last: it must end 0633, not 0622. */
	ops[60] = ops[0];
	ops[60].mode = 0633;
	/* A directory's mtime, then an entry made in it, then its mtime
	 * again: the last must win, so no regrouping across the mkfifo. */
	ops[61].kind = E2B_META_SETATTR;
	ops[61].path = "/tmp/b";
	ops[61].set = E2B_META_SET_MTIME;
	ops[61].mtime.tv_sec = 1000000000;
	ops[62].kind = E2B_META_MKFIFO;
	ops[62].path = "/tmp/b/fifo";
	ops[62].mode = 0600;
	ops[63] = ops[61];
	e2b_meta_session_stats(&st0, s);
	rc = e2b_meta_session_run(s, ops, 64);
	e2b_meta_session_stats(&st1, s);
	snprintf(d, sizeof(d), "rc %d, %llu requests in %llu exchanges", rc,
		 (unsigned long long)(st1.requests - st0.requests),
		 (unsigned long long)(st1.exchanges - st0.exchanges));
	printf("# interleaved: %s\n", d);
	/* f0 alone (its path occurs twice), the 0611 group, the 0622
	 * group, f0 0633, mtime, mkfifo, mtime. */
	check(rc == 0 && st1.requests - st0.requests == 7 && st1.exchanges - st0.exchanges == 1,
	      "interleaved same-field operations form one request each", d);
	{
		const char *argv[] = { "sh", "-c", "stat -c '%a' /tmp/b/f0 /tmp/b/f1 /tmp/b/f2; "
				       "stat -c %Y /tmp/b", NULL };

		run(b, sizeof(b), argv, "root");
		check(!strcmp(b, "633\n611\n622\n1000000000"),
		      "one path's operations and an entry's creation keep their order", b);
	}
}

struct worker {
	e2b_meta_session *s;
	int id;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	e2b_meta_op ops[25];
	char paths[25][32];
	int i;

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 25; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/tmp/b/f%d", w->id * 25 + i);
		ops[i].kind = E2B_META_SETATTR;
		ops[i].path = paths[i];
		ops[i].set = E2B_META_SET_MODE;
		ops[i].mode = 0700;
	}
	w->rc = 0;
	for (i = 0; i < 25 && !w->rc; i++)
		w->rc = e2b_meta_session_run(w->s, &ops[i], 1);
	return NULL;
}

static void threads(e2b_meta_session *s)
{
	struct worker w[8];
	pthread_t t[8];
	e2b_meta_stats st0, st1;
	char b[128], d[128];
	int i, ok = 1;

	e2b_meta_session_stats(&st0, s);
	for (i = 0; i < 8; i++) {
		w[i].s = s;
		w[i].id = i;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok &= w[i].rc == 0;
	}
	e2b_meta_session_stats(&st1, s);
	snprintf(d, sizeof(d), "%llu exchanges, %llu ops",
		 (unsigned long long)(st1.exchanges - st0.exchanges),
		 (unsigned long long)(st1.ops - st0.ops));
	printf("# 8 threads x 25 single-op calls: %s\n", d);
	check(ok && st1.ops - st0.ops == 200 && st1.exchanges - st0.exchanges <= 200,
	      "8 threads share one session", d);
	{
		const char *argv[] = { "sh", "-c", "stat -c %a /tmp/b/f* | grep -c 700", NULL };

		run(b, sizeof(b), argv, "root");
		check(!strcmp(b, "200"), "every thread's files changed", b);
	}
}

static void atomic_write(void)
{
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	e2b_meta_op attrs = { .kind = E2B_META_SETATTR };
	e2b_write_info *wi = NULL;
	char b[128];
	int rc;

	attrs.set = E2B_META_SET_MODE | E2B_META_SET_ATIME | E2B_META_SET_MTIME;
	attrs.mode = 0711;
	attrs.atime.tv_sec = 1111111111;
	attrs.mtime.tv_sec = 1222222222;
	attrs.mtime.tv_nsec = 5;
	wo.flags = E2B_WRITE_ATOMIC;
	wo.attrs = &attrs;
	rc = e2b_fs_write(&wi, sb, "/tmp/m/atomic", "data", 4, &wo);
	check(rc == 0 && wi && wi->entry && (wi->entry->mode & 0777) == 0711 &&
	      wi->entry->mtime_sec == 1222222222,
	      "atomic write: the Move's entry has mode and mtime", NULL);
	check(!strcmp(stat_of(b, sizeof(b), "%a %X %.9Y", "/tmp/m/atomic"),
		      "711 1111111111 1222222222.000000005"), "atomic write: mode and times", b);
	e2b_write_info_free(wi);
	wi = NULL;
	{
		/* A 255-byte name (2-byte characters): the temporary's is
		 * shortened at a character boundary, the write stays atomic. */
		char name[300] = "/tmp/m/", *p = name + strlen(name);
		e2b_entry_list *l = NULL;
		size_t k;

		for (k = 0; k < 127; k++, p += 2)
			memcpy(p, "\xc3\xa9", 2);
		*p++ = 'x';
		*p = '\0';
		rc = e2b_fs_write(&wi, sb, name, "long", 4, &wo);
		check(rc == 0 && wi && wi->entry && (wi->entry->mode & 0777) == 0711,
		      "atomic write of a 255-byte name", NULL);
		e2b_write_info_free(wi);
		rc = e2b_fs_list(&l, sb, "/tmp/m", 1);
		for (k = 0; rc == 0 && k < l->count; k++)
			if (strstr(l->items[k].name, "e2b-tmp"))
				rc = -1;
		check(rc == 0, "no temporary left beside it", "a temporary was left");
		e2b_entry_list_free(l);
	}
	wo.flags = 0;
	attrs.mode = 0644;
	rc = e2b_fs_write(NULL, sb, "/tmp/m/plain", "x", 1, &wo);
	check(rc == 0 && !strcmp(stat_of(b, sizeof(b), "%a %X", "/tmp/m/plain"),
				 "644 1111111111"), "plain write with attributes", b);
}

/* The helper carries the session's tag (e2bfs hides its "e2bfs-fixer"
 * from e2bctl ps); version 1 options (no tag) are still taken. */
static void tagging(e2b_meta_session *s)
{
	e2b_meta_options v1 = { .version = 1, .user = "root" };
	e2b_meta_op op = { .kind = E2B_META_SETATTR, .path = "/tmp/b/f0",
			   .set = E2B_META_SET_MODE, .mode = 0640 };
	e2b_process_list *l = NULL;
	size_t i, found = 0;
	int rc;

	rc = e2b_meta_session_run(s, &op, 1);
	if (rc == 0)
		rc = e2b_commands_list(&l, sb);
	for (i = 0; l && i < l->count; i++)
		found += l->items[i].tag && !strcmp(l->items[i].tag, "e2b-meta-test");
	check(rc == 0 && found == 1, "the helper runs with the session's tag", NULL);
	e2b_process_list_free(l);
	rc = e2b_meta_set_mode(sb, "/tmp/b/f0", 0604, &v1);
	check(rc == 0, "version 1 options are taken", e2b_error_last()->message);
}

int main(void)
{
	e2b_sandbox_create_options so = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	e2b_meta_options mo = E2B_META_OPTIONS_INIT;
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_meta_session *s = NULL;
	e2b_client *c = NULL;
	int rc;

	if (e2b_global_init() < 0 || e2b_config_from_env(&cfg) < 0 ||
	    e2b_client_new(&c, &cfg) < 0) {
		printf("not ok - setup: %s\n", e2b_error_last()->message);
		return 1;
	}
	so.template_id = "base";
	so.timeout_s = 300;
	rc = e2b_sandbox_create(&sb, c, &so);
	if (rc < 0) {
		printf("not ok - create: %s\n", e2b_error_last()->message);
		e2b_client_free(c);
		e2b_global_shutdown();
		return 1;
	}
	one_shots();
	mo.user = "root";
	mo.tag = "e2b-meta-test";
	rc = e2b_meta_session_new(&s, sb, &mo);
	check(rc == 0, "session_new", NULL);
	if (s) {
		hostile_paths(s);
		link_count(s);
		batching(s);
		regrouping(s);
		threads(s);
		tagging(s);
	}
	atomic_write();
	e2b_meta_session_free(s);
	e2b_sandbox_kill_and_free(sb);
	e2b_client_free(c);
	e2b_global_shutdown();
	return failed;
}
