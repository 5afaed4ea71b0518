/* SPDX-License-Identifier: MIT */
/*
 * libe2b integration test: exercises every public function against a live
 * e2bd and prints TAP-lite lines.  Usage: e2b-client-itest MODE, where MODE
 * is env (E2B_API_URL/E2B_SANDBOX_URL header routing), private (path form
 * over E2BD_PORT), kruise (private against an OpenKruise-flavoured e2bd) or
 * native (49983-<id>.localhost:PORT), apionly (env without E2B_SANDBOX_URL:
 * envd at the API's origin); faults (against faultsrv.py); h2 runs only the HTTP/2 burst check
 * (through a TLS proxy given by E2B_API_URL/E2B_SANDBOX_URL/E2B_TEST_CA).  Needs E2B_API_KEY
 * and E2BD_PORT in the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <e2b/e2b.h>

static int failed;
static const char *mode = "env";
static const char *template_id = "base";

static void ok(const char *name)
{
	printf("ok - %s/%s\n", mode, name);
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void expect(const char *name, int cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - %s/%s: ", mode, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failed = 1;
}

/* CHECK(name, rc-expression): ok when rc == 0, else report the error. */
#define CHECK(name, expr) check_rc((name), (expr))
static int check_rc(const char *name, int rc)
{
	const e2b_error *e = e2b_error_last();

	if (rc == 0) {
		ok(name);
		return 1;
	}
	fail(name, "rc %d (%s): %s [http %d, rpc '%s']", rc, e2b_error_code_str(rc),
	     e->message, e->http_status, e->rpc_code);
	return 0;
}

static void expect(const char *name, int cond, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (cond) {
		ok(name);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fail(name, "%s", buf);
}

static void expect_code(const char *name, int rc, int want)
{
	const e2b_error *e = e2b_error_last();

	expect(name, rc == want, "want %s, got rc %d (%s): %s", e2b_error_code_str(want), rc,
	       e2b_error_code_str(rc), rc ? e->message : "");
}

struct collect {
	char buf[65536];
	size_t len;
	int calls;
};

static int collect_cb(const char *data, size_t len, void *payload)
{
	struct collect *c = payload;

	c->calls++;
	if (len > sizeof(c->buf) - 1 - c->len)
		len = sizeof(c->buf) - 1 - c->len;
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return 0;
}

static int stop_cb(const char *data, size_t len, void *payload)
{
	(void)data;
	(void)len;
	(void)payload;
	return 1;
}

struct src {
	size_t left;
	unsigned char next;
};

static long src_cb(char *buf, size_t cap, void *payload)
{
	struct src *s = payload;
	size_t n = s->left < cap ? s->left : cap, i;

	for (i = 0; i < n; i++)
		buf[i] = (char)s->next++;
	s->left -= n;
	return (long)n;
}

static void test_commands(e2b_sandbox *sb)
{
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	e2b_commands_options o = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process *p = NULL;
	e2b_process_list *pl = NULL;
	struct collect out = { .len = 0 }, err = { .len = 0 };
	static const e2b_kv envs[] = { { "FOO", "bar baz" } };
	const char *argv[] = { "printf", "%s|", "a b", "$HOME", "'q'", NULL };
	int rc, killed = -1, found;
	size_t i;

	rc = e2b_commands_run(&r, sb, "echo hello", NULL);
	if (CHECK("run echo", rc))
		expect("run echo output", r.out_len == 6 && !memcmp(r.out, "hello\n", 6) &&
		       r.exit_code == 0, "got '%s' exit %d", r.out, r.exit_code);
	e2b_process_result_release(&r);

	rc = e2b_commands_run(&r, sb, "echo oops >&2; exit 3", NULL);
	expect_code("run nonzero exit is EEXIT", rc, E2B_EEXIT);
	expect("run nonzero exit result", r.exit_code == 3 && r.err && !strcmp(r.err, "oops\n"),
	       "exit %d stderr '%s'", r.exit_code, r.err ? r.err : "(null)");
	e2b_process_result_release(&r);

	o.envs = envs;
	o.envs_count = 1;
	o.cwd = "/tmp";
	rc = e2b_commands_run(&r, sb, "echo \"$FOO\"; pwd", &o);
	if (CHECK("run envs cwd", rc))
		expect("run envs cwd output", !strcmp(r.out, "bar baz\n/tmp\n"), "got '%s'", r.out);
	e2b_process_result_release(&r);

	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.on_stdout = collect_cb;
	o.on_stderr = collect_cb;
	o.payload = &out;
	rc = e2b_commands_run(&r, sb,
			      "head -c 300000 /dev/zero | tr '\\0' 'x'; echo; echo e >&2", &o);
	CHECK("run streaming callbacks", rc);
	expect("run streaming bytes", out.len >= 300003 - 1 || out.len == sizeof(out.buf) - 1,
	       "got %zu bytes in %d calls", out.len, out.calls);
	expect("run callbacks skip capture", r.out_len == 0, "captured %zu", r.out_len);
	e2b_process_result_release(&r);

	/* Binary-safe output. */
	rc = e2b_commands_run(&r, sb, "printf 'a\\000b\\377'", NULL);
	if (CHECK("run binary output", rc))
		expect("run binary bytes", r.out_len == 4 && !memcmp(r.out, "a\0b\377", 4),
		       "len %zu", r.out_len);
	e2b_process_result_release(&r);

	rc = e2b_commands_run_argv(&r, sb, argv, NULL);
	if (CHECK("run argv", rc))
		expect("run argv no shell", !strcmp(r.out, "a b|$HOME|'q'|"), "got '%s'", r.out);
	e2b_process_result_release(&r);

	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.stdin_data = "line1\nline2\n";
	o.stdin_len = 12;
	rc = e2b_commands_run(&r, sb, "wc -l", &o);
	if (CHECK("run with stdin data", rc))
		expect("run stdin wc", atoi(r.out) == 2, "got '%s'", r.out);
	e2b_process_result_release(&r);

	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.cwd = "/nonexistent-dir";
	rc = e2b_commands_run(&r, sb, "true", &o);
	expect("run bad cwd fails", rc == E2B_EINVALID || rc == E2B_ENOTFOUND || rc == E2B_ERROR,
	       "rc %d", rc);
	e2b_process_result_release(&r);

	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.timeout_ms = 1000;
	rc = e2b_commands_run(&r, sb, "sleep 30", &o);
	expect_code("run deadline", rc, E2B_ETIMEOUT);
	e2b_process_result_release(&r);

	/* Silent for 3x the keepalive interval: the server's keepalives must
	 * keep the watchdog (2x the interval) quiet. */
	rc = e2b_commands_run(&r, sb, "sleep 6; echo woke", NULL);
	if (CHECK("run silent command past the watchdog", rc))
		expect("silent command output", !strcmp(r.out, "woke\n"), "got '%s'", r.out);
	e2b_process_result_release(&r);

	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.on_stdout = stop_cb;
	rc = e2b_commands_run(&r, sb, "echo x; sleep 1", &o);
	expect_code("run callback stop", rc, E2B_ECANCELED);
	e2b_process_result_release(&r);

	/* Background: start, list, stdin, close stdin, wait. */
	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.stdin_open = 1;
	o.tag = "itest-cat";
	rc = e2b_commands_start(&p, sb, "cat", &o);
	if (CHECK("start background", rc)) {
		expect("start pid", e2b_process_pid(p) > 0, "pid 0");
		rc = e2b_commands_list(&pl, sb);
		if (CHECK("list processes", rc)) {
			found = 0;
			for (i = 0; i < pl->count; i++)
				if (pl->items[i].pid == e2b_process_pid(p))
					found = 1;
			expect("list has started process", found, "pid %u not listed",
			       e2b_process_pid(p));
		}
		e2b_process_list_free(pl);
		CHECK("send stdin", e2b_process_write_stdin(p, "ping\n", 5));
		CHECK("send stdin by pid", e2b_commands_write_stdin(sb, e2b_process_pid(p),
								   "pong\n", 5));
		CHECK("close stdin", e2b_process_close_stdin(p));
		rc = e2b_process_wait(&r, p, NULL, NULL, NULL);
		if (CHECK("wait background", rc))
			expect("wait output", !strcmp(r.out, "ping\npong\n"), "got '%s'", r.out);
		e2b_process_result_release(&r);
		rc = e2b_process_wait(NULL, p, NULL, NULL, NULL);
		expect("wait again same outcome", rc == 0, "rc %d", rc);
	}
	e2b_process_free(p);
	p = NULL;

	/* Streamed stdin (StreamInput): many writes on one request, in order. */
	o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
	o.stdin_open = 1;
	o.stdin_stream = 1;
	rc = e2b_commands_start(&p, sb, "sha256sum | cut -c1-16; echo done", &o);
	if (CHECK("start with streamed stdin", rc)) {
		static char big[200000];
		int good = 1;

		memset(big, 'z', sizeof(big));
		for (i = 0; i < 5 && good; i++)
			good = e2b_process_write_stdin(p, i % 2 ? big : "abc\n",
						      i % 2 ? sizeof(big) : 4) == 0;
		expect("stream stdin writes", good, "%s", e2b_error_last()->message);
		CHECK("stream stdin close", e2b_process_close_stdin(p));
		rc = e2b_process_wait(&r, p, NULL, NULL, NULL);
		/* sha256 of "abc\n" + 200000 z + "abc\n" + 200000 z + "abc\n" */
		if (CHECK("wait streamed stdin", rc))
			expect("streamed stdin arrived in order",
			       !strcmp(r.out, "ac87c15cf7e5a48e\ndone\n"), "got '%s'", r.out);
		e2b_process_result_release(&r);
	}
	e2b_process_free(p);
	p = NULL;
	{
		e2b_input *in = NULL;

		rc = e2b_input_open(&in, sb, 999999, 0);
		if (rc == 0) {
			rc = e2b_input_write(in, "x", 1);
			if (rc == 0)
				rc = e2b_input_close(in);
		}
		expect_code("stream input to missing pid", rc, E2B_ENOTFOUND);
		e2b_input_free(in);
		in = NULL;
		rc = e2b_commands_start(&p, sb, "sleep 5", NULL);
		if (CHECK("start without stdin", rc)) {
			rc = e2b_input_open(&in, sb, e2b_process_pid(p), 0);
			if (rc == 0) {
				rc = e2b_input_write(in, "x", 1);
				if (rc == 0)
					rc = e2b_input_close(in);
			}
			expect("stream input without stdin fails", rc < 0, "rc %d", rc);
			e2b_process_kill(NULL, p);
		}
		e2b_input_free(in);
		e2b_process_free(p);
		p = NULL;
	}

	/* Background: kill, disconnect, connect. */
	rc = e2b_commands_start(&p, sb,
				"for i in $(seq 1 100); do echo tick $i; sleep 0.1; done", NULL);
	if (CHECK("start ticker", rc)) {
		uint32_t pid = e2b_process_pid(p);
		e2b_process *p2 = NULL;
		int ended = 0;

		rc = e2b_process_poll(&ended, p, 500, -1);
		CHECK("poll", rc);
		e2b_process_disconnect(p);
		memset(&out, 0, sizeof(out));
		o = (e2b_commands_options)E2B_COMMANDS_OPTIONS_INIT;
		o.on_stdout = collect_cb;
		o.payload = &out;
		rc = e2b_commands_connect(&p2, sb, pid, &o);
		if (CHECK("connect to process", rc)) {
			/* A poll returns on any activity, not only output: keep
			 * polling (bounded) until a tick arrived. */
			for (i = 0, rc = 0; i < 30 && rc == 0 && !strstr(out.buf, "tick"); i++)
				rc = e2b_process_poll(&ended, p2, 100, -1);
			CHECK("poll connected", rc);
			expect("connected receives output", strstr(out.buf, "tick") != NULL,
			       "got '%s'", out.buf);
			CHECK("kill via handle", e2b_process_kill(&killed, p2));
			expect("kill reports killed", killed == 1, "killed %d", killed);
			rc = e2b_process_wait(&r, p2, NULL, NULL, NULL);
			expect("killed process wait is EEXIT", rc == E2B_EEXIT, "rc %d", rc);
			expect("killed exit code", r.exit_code != 0, "exit %d", r.exit_code);
			e2b_process_result_release(&r);
		}
		e2b_process_free(p2);
	}
	e2b_process_free(p);
	p = NULL;

	rc = e2b_commands_kill(&killed, sb, 999999);
	expect("kill missing pid is not an error", rc == 0 && killed == 0, "rc %d killed %d",
	       rc, killed);
	rc = e2b_commands_signal(&found, sb, 999999, E2B_SIGNAL_SIGTERM);
	expect("signal missing pid", rc == 0 && found == 0, "rc %d", rc);
	rc = e2b_commands_connect(&p, sb, 999999, NULL);
	expect_code("connect missing pid", rc, E2B_ENOTFOUND);
	e2b_process_free(p);
	p = NULL;

	/* Start, then kill by pid while another thread waits; cancel. */
	rc = e2b_commands_start(&p, sb, "sleep 20", NULL);
	if (CHECK("start sleeper", rc)) {
		CHECK("kill by pid", e2b_commands_kill(&killed, sb, e2b_process_pid(p)));
		rc = e2b_process_wait(NULL, p, NULL, NULL, NULL);
		expect("killed sleeper ends", rc == E2B_EEXIT, "rc %d", rc);
	}
	e2b_process_free(p);
	p = NULL;
	rc = e2b_commands_start(&p, sb, "sleep 20", NULL);
	if (CHECK("start sleeper 2", rc)) {
		e2b_process_cancel(p);
		rc = e2b_process_wait(NULL, p, NULL, NULL, NULL);
		expect_code("cancel wait", rc, E2B_ECANCELED);
		e2b_process_kill(NULL, p);
	}
	e2b_process_free(p);
	p = NULL;

	/* PTY */
	{
		e2b_pty_options po = E2B_PTY_OPTIONS_INIT;
		const char *pargv[] = { "/bin/sh", NULL };
		int ended = 0, tries;

		memset(&out, 0, sizeof(out));
		po.argv = pargv;
		po.cols = 100;
		po.rows = 30;
		po.on_data = collect_cb;
		po.payload = &out;
		rc = e2b_pty_start(&p, sb, &po);
		if (CHECK("pty start", rc)) {
			CHECK("pty resize", e2b_pty_resize(sb, e2b_process_pid(p), 120, 40));
			CHECK("pty send", e2b_pty_write(sb, e2b_process_pid(p),
						       "stty size; exit\n", 16));
			for (tries = 0; tries < 50 && !ended; tries++)
				if (e2b_process_poll(&ended, p, 200, -1) < 0)
					break;
			expect("pty output", strstr(out.buf, "40 120") != NULL,
			       "got '%.200s'", out.buf);
			expect("pty ended", ended, "not ended");
		}
		e2b_process_free(p);
		p = NULL;
		/* PTY input through a StreamInput stream. */
		memset(&out, 0, sizeof(out));
		ended = 0;
		rc = e2b_pty_start(&p, sb, &po);
		if (CHECK("pty start for stream input", rc)) {
			e2b_input *in = NULL;

			rc = e2b_input_open(&in, sb, e2b_process_pid(p), E2B_INPUT_PTY);
			if (rc == 0)
				rc = e2b_input_write(in, "echo pty-", 9);
			if (rc == 0)
				rc = e2b_input_write(in, "streamed; exit\n", 15);
			if (rc == 0)
				rc = e2b_input_close(in);
			CHECK("pty stream input", rc);
			e2b_input_free(in);
			for (tries = 0; tries < 50 && !ended; tries++)
				if (e2b_process_poll(&ended, p, 200, -1) < 0)
					break;
			/* The typed line is echoed ("...streamed; exit"), the
			 * command's output is the line that ends right after. */
			expect("pty stream input output",
			       strstr(out.buf, "pty-streamed\r\n") != NULL &&
			       ended, "ended %d, got '%.200s'", ended, out.buf);
		}
		e2b_process_free(p);
		p = NULL;
		(void)err;
	}
}

static void test_files(e2b_sandbox *sb)
{
	e2b_entry_list *list = NULL;
	e2b_entry_info *ei = NULL;
	e2b_write_info *wi = NULL;
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	e2b_write_options wo = E2B_WRITE_OPTIONS_INIT;
	e2b_read_info info;
	struct collect col = { .len = 0 };
	char *data = NULL, buf[16];
	size_t len = 0, i;
	int rc, flag = -1, fd;
	char tmpl[] = "/tmp/e2b-itest-XXXXXX";

	rc = e2b_fs_mkdir(&flag, sb, "/tmp/it/a/b");
	expect("mkdir -p", rc == 0 && flag == 1, "rc %d created %d", rc, flag);
	rc = e2b_fs_mkdir(&flag, sb, "/tmp/it/a/b");
	expect("mkdir existing returns false", rc == 0 && flag == 0, "rc %d created %d", rc, flag);

	rc = e2b_fs_write(&wi, sb, "/tmp/it/hello.txt", "Hello, World!", 13, NULL);
	if (CHECK("write", rc))
		expect("write info", wi && strstr(wi->path, "hello.txt"), "path '%s'",
		       wi ? wi->path : "");
	e2b_write_info_free(wi);
	wi = NULL;
	rc = e2b_fs_read(&data, &len, sb, "/tmp/it/hello.txt", NULL);
	if (CHECK("read", rc))
		expect("read content", len == 13 && !memcmp(data, "Hello, World!", 13),
		       "got %zu", len);
	e2b_free(data);
	data = NULL;

	rc = e2b_fs_read_range(&len, sb, "/tmp/it/hello.txt", 7, buf, 5, NULL);
	if (CHECK("read range", rc))
		expect("read range bytes", len == 5 && !memcmp(buf, "World", 5), "got %zu", len);
	rc = e2b_fs_read_range(&len, sb, "/tmp/it/hello.txt", 100, buf, 5, NULL);
	expect("read range past end", rc == 0 && len == 0, "rc %d len %zu", rc, len);

	ro.offset = 0;
	ro.length = 5;
	rc = e2b_fs_read_stream(&info, sb, "/tmp/it/hello.txt", &ro, collect_cb, &col);
	if (CHECK("read stream range", rc))
		expect("read stream bytes", col.len == 5 && !strcmp(col.buf, "Hello") &&
		       info.bytes == 5, "got '%s'", col.buf);
	ro = (e2b_read_options)E2B_READ_OPTIONS_INIT;
	ro.if_modified_since = time(NULL) + 3600;
	rc = e2b_fs_read_stream(&info, sb, "/tmp/it/hello.txt", &ro, collect_cb, &col);
	expect("read if-modified-since", rc == 0 && info.not_modified, "rc %d nm %d", rc,
	       info.not_modified);

	rc = e2b_fs_read(&data, &len, sb, "/tmp/it/nope", NULL);
	expect_code("read missing", rc, E2B_ENOTFOUND);
	rc = e2b_fs_read(&data, &len, sb, "/tmp/it", NULL);
	expect("read directory fails", rc == E2B_EINVALID, "rc %d", rc);

	/* Large streamed upload from a callback, then streamed download to fd. */
	{
		struct src s = { 3 * 1024 * 1024 + 17, 0 };
		unsigned char c = 0;
		struct stat st;
		ssize_t n;
		int good = 1;

		rc = e2b_fs_write_stream(NULL, sb, "/tmp/it/big.bin", src_cb, &s, NULL);
		CHECK("write stream 3 MiB", rc);
		fd = mkstemp(tmpl);
		rc = e2b_fs_read_to_fd(&info, sb, "/tmp/it/big.bin", fd, NULL);
		CHECK("read to fd", rc);
		fstat(fd, &st);
		expect("read to fd size", st.st_size == 3 * 1024 * 1024 + 17, "size %lld",
		       (long long)st.st_size);
		lseek(fd, 0, SEEK_SET);
		while (good && (n = read(fd, buf, sizeof(buf))) > 0)
			for (i = 0; i < (size_t)n; i++)
				if ((unsigned char)buf[i] != c++)
					good = 0;
		expect("read to fd content", good, "byte mismatch");
		/* write from fd */
		lseek(fd, 0, SEEK_SET);
		rc = e2b_fs_write_fd(NULL, sb, "/tmp/it/copy.bin", fd, NULL);
		CHECK("write fd", rc);
		close(fd);
		unlink(tmpl);
		rc = e2b_fs_stat(&ei, sb, "/tmp/it/copy.bin");
		if (CHECK("stat copy", rc))
			expect("stat copy size", ei->size == 3 * 1024 * 1024 + 17 &&
			       ei->type == E2B_FILE_TYPE_FILE, "size %llu",
			       (unsigned long long)ei->size);
		e2b_entry_info_free(ei);
		ei = NULL;
	}

	wo.flags = E2B_WRITE_MULTIPART;
	rc = e2b_fs_write(NULL, sb, "/tmp/it/multi.txt", "multi", 5, &wo);
	CHECK("write multipart", rc);
	rc = e2b_fs_read(&data, &len, sb, "/tmp/it/multi.txt", NULL);
	expect("read multipart", rc == 0 && len == 5 && !memcmp(data, "multi", 5), "rc %d", rc);
	e2b_free(data);
	data = NULL;

	wo = (e2b_write_options)E2B_WRITE_OPTIONS_INIT;
	wo.flags = E2B_WRITE_ATOMIC;
	rc = e2b_fs_write(&wi, sb, "/tmp/it/hello.txt", "atomic!", 7, &wo);
	CHECK("write atomic", rc);
	e2b_write_info_free(wi);
	wi = NULL;
	rc = e2b_fs_read(&data, &len, sb, "/tmp/it/hello.txt", NULL);
	expect("read atomic", rc == 0 && len == 7 && !memcmp(data, "atomic!", 7), "rc %d", rc);
	e2b_free(data);
	data = NULL;
	/* An atomic rewrite keeps the replaced file's mode and reports the entry. */
	{
		e2b_process_result r = E2B_PROCESS_RESULT_INIT;

		e2b_commands_run(&r, sb, "chmod 0750 /tmp/it/hello.txt", NULL);
		e2b_process_result_release(&r);
		rc = e2b_fs_write(&wi, sb, "/tmp/it/hello.txt", "#!/bin/sh\n", 10, &wo);
		CHECK("write atomic over 0750", rc);
		expect("atomic write reports the entry", rc == 0 && wi->entry &&
		       wi->entry->size == 10 && (wi->entry->mode & 0777) == 0750,
		       "entry %p size %llu mode %o", rc == 0 ? (const void *)wi->entry : NULL,
		       rc == 0 && wi->entry ? (unsigned long long)wi->entry->size : 0ULL,
		       rc == 0 && wi->entry ? (unsigned)wi->entry->mode : 0u);
		e2b_write_info_free(wi);
		wi = NULL;
		rc = e2b_fs_stat(&ei, sb, "/tmp/it/hello.txt");
		expect("atomic write keeps the mode", rc == 0 && (ei->mode & 0777) == 0750,
		       "rc %d mode %o", rc, rc == 0 ? (unsigned)ei->mode : 0u);
		e2b_entry_info_free(ei);
		ei = NULL;
		rc = e2b_fs_write(NULL, sb, "/tmp/it/hello.txt", "atomic!", 7, &wo);
		CHECK("write atomic again", rc);
	}

	rc = e2b_fs_list(&list, sb, "/tmp/it", 1);
	if (CHECK("list", rc)) {
		int names = 0, tmpleft = 0;

		for (i = 0; i < list->count; i++) {
			if (!strcmp(list->items[i].name, "hello.txt") ||
			    !strcmp(list->items[i].name, "a"))
				names++;
			if (strstr(list->items[i].name, "e2b-tmp"))
				tmpleft = 1;
		}
		expect("list entries", names == 2 && !tmpleft, "%zu entries, names %d tmp %d",
		       list->count, names, tmpleft);
	}
	e2b_entry_list_free(list);
	list = NULL;
	rc = e2b_fs_list(&list, sb, "/tmp/it", 3);
	if (CHECK("list depth 3", rc)) {
		int deep = 0;

		for (i = 0; i < list->count; i++)
			if (!strcmp(list->items[i].path, "/tmp/it/a/b"))
				deep = 1;
		expect("list depth has nested", deep, "no /tmp/it/a/b");
	}
	e2b_entry_list_free(list);
	list = NULL;
	rc = e2b_fs_list(&list, sb, "/tmp/it/nope", 1);
	expect_code("list missing", rc, E2B_ENOTFOUND);

	rc = e2b_fs_stat(&ei, sb, "/tmp/it/hello.txt");
	if (CHECK("stat", rc))
		expect("stat fields", ei->size == 7 && ei->type == E2B_FILE_TYPE_FILE &&
		       ei->mtime_sec > 0 && *ei->permissions && *ei->owner,
		       "size %llu type %d", (unsigned long long)ei->size, ei->type);
	e2b_entry_info_free(ei);
	ei = NULL;
	rc = e2b_fs_stat(&ei, sb, "/tmp/it/nope");
	expect_code("stat missing", rc, E2B_ENOTFOUND);

	rc = e2b_fs_exists(&flag, sb, "/tmp/it/hello.txt");
	expect("exists true", rc == 0 && flag == 1, "rc %d flag %d", rc, flag);
	rc = e2b_fs_exists(&flag, sb, "/tmp/it/nope");
	expect("exists false", rc == 0 && flag == 0, "rc %d flag %d", rc, flag);

	rc = e2b_fs_rename(&ei, sb, "/tmp/it/hello.txt", "/tmp/it/new/dir/hello2.txt");
	if (CHECK("rename", rc))
		expect("rename entry", !strcmp(ei->path, "/tmp/it/new/dir/hello2.txt"), "path '%s'",
		       ei->path);
	e2b_entry_info_free(ei);
	ei = NULL;
	rc = e2b_fs_rename(NULL, sb, "/tmp/it/nope", "/tmp/it/nope2");
	expect_code("rename missing", rc, E2B_ENOTFOUND);

	rc = e2b_fs_mkdir(&flag, sb, "/tmp/it/new/dir/hello2.txt");
	expect_code("mkdir over file", rc, E2B_EEXISTS);

	CHECK("remove tree", e2b_fs_remove(sb, "/tmp/it/new"));
	CHECK("remove missing ok", e2b_fs_remove(sb, "/tmp/it/new"));
	rc = e2b_fs_exists(&flag, sb, "/tmp/it/new");
	expect("removed", rc == 0 && flag == 0, "rc %d flag %d", rc, flag);

	/* Metadata (xattrs): sent whatever envd version the API reported
	 * (OpenKruise says 0.2.10 for every envd); e2bd has it in both flavors. */
	{
		static const e2b_kv md[] = { { "owner", "itest" } };

		wo = (e2b_write_options)E2B_WRITE_OPTIONS_INIT;
		wo.metadata = md;
		wo.metadata_count = 1;
		rc = e2b_fs_write(NULL, sb, "/tmp/it/md.txt", "m", 1, &wo);
		CHECK("write metadata", rc);
		rc = e2b_fs_stat(&ei, sb, "/tmp/it/md.txt");
		expect("stat metadata", rc == 0 && ei->metadata_count == 1 &&
		       !strcmp(ei->metadata[0].value, "itest"), "rc %d count %zu", rc,
		       ei ? ei->metadata_count : 0);
		e2b_entry_info_free(ei);
		ei = NULL;
	}

	if (e2b_sandbox_has_feature(sb, E2B_FEATURE_FILES_COMPOSE)) {
		const char *parts[] = { "/tmp/it/p1", "/tmp/it/p2" };

		e2b_fs_write(NULL, sb, "/tmp/it/p1", "ab", 2, NULL);
		e2b_fs_write(NULL, sb, "/tmp/it/p2", "cd", 2, NULL);
		/* e2bd reports the feature, so it must work: an error is a failure. */
		rc = e2b_fs_compose(sb, parts, 2, "/tmp/it/joined", NULL);
		if (CHECK("compose", rc)) {
			rc = e2b_fs_read(&data, &len, sb, "/tmp/it/joined", NULL);
			expect("compose content", rc == 0 && len == 4 && !memcmp(data, "abcd", 4),
			       "rc %d", rc);
			e2b_free(data);
			data = NULL;
		}
	}
}

/* @path in the sandbox holds exactly @want. */
static void expect_file(e2b_sandbox *sb, const char *name, const char *path, const void *want,
			size_t wlen)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = e2b_fs_read(&data, &len, sb, path, NULL);
	expect(name, rc == 0 && len == wlen && (!wlen || !memcmp(data, want, wlen)),
	       "rc %d len %zu", rc, len);
	e2b_free(data);
}

/* Several files in one multipart POST: parents made, per-file errors. */
static void test_write_files(e2b_sandbox *sb)
{
	static const char bin[] = { 'a', 0, '\r', '\n', '-', '-', 'z' };
	e2b_write_file wf[4];
	int rc, flag = 0;

	memset(wf, 0, sizeof(wf));
	wf[0].path = "/tmp/itwf/a/one.txt";
	wf[0].data = "one";
	wf[0].len = 3;
	wf[1].path = "/tmp/itwf/b/c/empty";
	wf[2].path = "/tmp/itwf/b/q\"uote\\d.bin";
	wf[2].data = bin;
	wf[2].len = sizeof(bin);
	wf[3].path = "itwf-rel.txt";	/* relative to the home */
	wf[3].data = "rel";
	wf[3].len = 3;
	rc = e2b_fs_write_files(sb, wf, 4, NULL);
	expect("write files", rc == 0 && !wf[0].error && !wf[1].error && !wf[2].error &&
	       !wf[3].error, "rc %d errors %d %d %d %d (%s)", rc, wf[0].error, wf[1].error,
	       wf[2].error, wf[3].error, e2b_error_last()->message);
	expect_file(sb, "write files content", "/tmp/itwf/a/one.txt", "one", 3);
	expect_file(sb, "write files binary", "/tmp/itwf/b/q\"uote\\d.bin", bin, sizeof(bin));
	expect_file(sb, "write files empty", "/tmp/itwf/b/c/empty", "", 0);
	expect_file(sb, "write files relative", "itwf-rel.txt", "rel", 3);
	e2b_fs_remove(sb, "itwf-rel.txt");

	/* The same path twice: refused before anything is sent. */
	wf[1].path = wf[0].path;
	rc = e2b_fs_write_files(sb, wf, 2, NULL);
	expect_code("write files same path twice", rc, E2B_EINVALID);
	wf[1].path = "/tmp/itwf/new\nline";
	rc = e2b_fs_write_files(sb, wf, 2, NULL);
	expect_code("write files with a newline in a path", rc, E2B_EINVALID);

	/* A part envd cannot write (a directory there): that one fails, the
	 * others are written, and each entry says which. */
	e2b_fs_mkdir(&flag, sb, "/tmp/itwf/isdir");
	memset(wf, 0, sizeof(wf));
	wf[0].path = "/tmp/itwf/x1";
	wf[0].data = "x1";
	wf[0].len = 2;
	wf[1].path = "/tmp/itwf/isdir";
	wf[1].data = "no";
	wf[1].len = 2;
	wf[2].path = "/tmp/itwf/x3";
	wf[2].data = "x3";
	wf[2].len = 2;
	rc = e2b_fs_write_files(sb, wf, 3, NULL);
	expect("write files one part fails", rc < 0 && wf[0].error == 0 && wf[1].error < 0 &&
	       wf[2].error == 0, "rc %d errors %d %d %d", rc, wf[0].error, wf[1].error,
	       wf[2].error);
	expect("write files error record", e2b_error_last()->code == rc &&
	       strstr(e2b_error_last()->message, "isdir") != NULL, "'%s'",
	       e2b_error_last()->message);
	expect_file(sb, "write files after the failed part", "/tmp/itwf/x3", "x3", 2);
	CHECK("write files cleanup", e2b_fs_remove(sb, "/tmp/itwf"));
}

struct watch_ctx {
	int creates;
	int writes;
	int removes;
	int events;
	e2b_fs_watch *w;
};

static int watch_cb(const e2b_fs_event *ev, void *payload)
{
	struct watch_ctx *c = payload;

	c->events++;
	if (ev->type == E2B_FS_EVENT_CREATE && strstr(ev->name, "w1"))
		c->creates++;
	if (ev->type == E2B_FS_EVENT_WRITE)
		c->writes++;
	if (ev->type == E2B_FS_EVENT_REMOVE)
		c->removes++;
	return 0;
}

static void *watch_thread(void *arg)
{
	struct watch_ctx *c = arg;

	return (void *)(intptr_t)e2b_fs_watch_run(c->w);
}

static void test_watch(e2b_sandbox *sb)
{
	e2b_fs_watch_options wo = E2B_FS_WATCH_OPTIONS_INIT;
	struct watch_ctx c = { 0 };
	pthread_t th;
	void *ret;
	int rc, i;

	e2b_fs_mkdir(NULL, sb, "/tmp/wt/sub");
	wo.recursive = 1;
	wo.include_entry = 1;
	wo.on_event = watch_cb;
	wo.payload = &c;
	rc = e2b_fs_watch_start(&c.w, sb, "/tmp/wt", &wo);
	if (!CHECK("watch start", rc))
		return;
	e2b_fs_write(NULL, sb, "/tmp/wt/w1", "x", 1, NULL);
	e2b_fs_write(NULL, sb, "/tmp/wt/sub/w1b", "x", 1, NULL);
	e2b_fs_remove(sb, "/tmp/wt/w1");
	for (i = 0; i < 20 && c.removes == 0; i++)
		if (e2b_fs_watch_poll(c.w, 200, -1) < 0)
			break;
	expect("watch events", c.creates >= 1 && c.removes >= 1, "creates %d writes %d removes %d",
	       c.creates, c.writes, c.removes);
	/* Cancel from another thread. */
	pthread_create(&th, NULL, watch_thread, &c);
	usleep(200000);
	e2b_fs_watch_cancel(c.w);
	pthread_join(th, &ret);
	expect_code("watch cancel", (int)(intptr_t)ret, E2B_ECANCELED);
	e2b_fs_watch_free(c.w);
	rc = e2b_fs_watch_start(&c.w, sb, "/tmp/wt/none", &wo);
	expect_code("watch missing dir", rc, E2B_ENOTFOUND);
	e2b_fs_watch_free(rc ? NULL : c.w);
}

/* Polling watcher: create, change, fetch, remove, fetch after removal. */
static void test_watcher(e2b_sandbox *sb)
{
	e2b_fs_watch_options wo = E2B_FS_WATCH_OPTIONS_INIT;
	struct watch_ctx c = { 0 };
	e2b_fs_watcher *w = NULL;
	size_t n = 0, total = 0;
	int rc, i;

	e2b_fs_mkdir(NULL, sb, "/tmp/wp/sub");
	wo.recursive = 1;
	wo.on_event = watch_cb;
	wo.payload = &c;
	rc = e2b_fs_watcher_create(&w, sb, "/tmp/wp", &wo);
	if (!CHECK("watcher create", rc))
		return;
	expect("watcher id", e2b_fs_watcher_id(w) && *e2b_fs_watcher_id(w), "empty id");
	e2b_fs_write(NULL, sb, "/tmp/wp/w1", "x", 1, NULL);
	e2b_fs_write(NULL, sb, "/tmp/wp/sub/w1c", "x", 1, NULL);
	e2b_fs_remove(sb, "/tmp/wp/w1");
	for (i = 0; i < 20 && c.removes == 0; i++) {
		rc = e2b_fs_watcher_events(&n, w, NULL, NULL);
		if (rc < 0)
			break;
		total += n;
		if (!c.removes)
			usleep(100000);
	}
	expect("watcher events", rc == 0 && c.creates >= 2 && c.removes >= 1 &&
	       total == (size_t)c.events, "rc %d creates %d removes %d total %zu events %d",
	       rc, c.creates, c.removes, total, c.events);
	rc = e2b_fs_watcher_events(&n, w, NULL, NULL);
	expect("watcher drained", rc == 0 && n == 0, "rc %d n %zu", rc, n);
	CHECK("watcher remove", e2b_fs_watcher_remove(w));
	rc = e2b_fs_watcher_events(&n, w, NULL, NULL);
	expect_code("watcher events after remove", rc, E2B_ENOTFOUND);
	CHECK("watcher remove twice", e2b_fs_watcher_remove(w));
	e2b_fs_watcher_free(w);
	w = NULL;
	rc = e2b_fs_watcher_create(&w, sb, "/tmp/wp/none", &wo);
	expect_code("watcher on missing dir", rc, E2B_ENOTFOUND);
	e2b_fs_watcher_free(w);
}

struct par {
	e2b_sandbox *sb;
	int fails;
	int idx;
};

static void *par_thread(void *arg)
{
	struct par *p = arg;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	char path[64], cmd[64], *data = NULL;
	size_t len;
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/tmp/par/%d-%d", p->idx, i);
		snprintf(cmd, sizeof(cmd), "echo %d-%d", p->idx, i);
		if (e2b_fs_write(NULL, p->sb, path, path, strlen(path), NULL) < 0) {
			fprintf(stderr, "par write: %s\n", e2b_error_last()->message);
			p->fails++;
		}
		if (e2b_fs_read(&data, &len, p->sb, path, NULL) < 0 || len != strlen(path)) {
			fprintf(stderr, "par read: %s\n", e2b_error_last()->message);
			p->fails++;
		}
		e2b_free(data);
		data = NULL;
		if (e2b_commands_run(&r, p->sb, cmd, NULL) < 0) {
			fprintf(stderr, "par run: %s\n", e2b_error_last()->message);
			p->fails++;
		}
		e2b_process_result_release(&r);
	}
	return NULL;
}

static void test_threads(e2b_sandbox *sb)
{
	struct par ps[8];
	pthread_t th[8];
	int i, fails = 0;

	/* e2bd's parent creation is not race-free (real envd's MkdirAll is). */
	e2b_fs_mkdir(NULL, sb, "/tmp/par");
	for (i = 0; i < 8; i++) {
		ps[i].sb = sb;
		ps[i].fails = 0;
		ps[i].idx = i;
		pthread_create(&th[i], NULL, par_thread, &ps[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		fails += ps[i].fails;
	}
	expect("8 threads share one sandbox handle", fails == 0, "%d failures", fails);
}

static void test_management(e2b_client *c, e2b_sandbox *sb)
{
	e2b_sandbox_info *info = NULL;
	e2b_sandbox_list *list = NULL;
	e2b_mgmt_list_options lo = E2B_MGMT_LIST_OPTIONS_INIT;
	e2b_sandbox *sb2 = NULL;
	e2b_envd_metrics em;
	static const e2b_kv md[] = { { "suite", "client-itest" } };
	size_t i;
	int rc, flag = -1, found = 0;

	rc = e2b_sandbox_get_info(&info, sb);
	if (CHECK("get info", rc))
		expect("info fields", !strcmp(info->sandbox_id, e2b_sandbox_id(sb)) &&
		       info->state == E2B_SANDBOX_STATE_RUNNING, "id '%s' state %d",
		       info->sandbox_id, info->state);
	e2b_sandbox_info_free(info);
	info = NULL;
	rc = e2b_mgmt_get_info(&info, c, "no-such-sandbox");
	expect_code("get info missing", rc, E2B_ENOTFOUND);

	lo.metadata = md;
	lo.metadata_count = 1;
	lo.flags = E2B_MGMT_LIST_ALL_PAGES;
	lo.limit = 1;
	rc = e2b_mgmt_list(&list, c, &lo);
	if (CHECK("list sandboxes by metadata", rc)) {
		for (i = 0; i < list->count; i++)
			if (!strcmp(list->items[i].sandbox_id, e2b_sandbox_id(sb)))
				found = 1;
		expect("list finds sandbox", found, "%zu listed", list->count);
	}
	e2b_sandbox_list_free(list);
	list = NULL;
	lo = (e2b_mgmt_list_options)E2B_MGMT_LIST_OPTIONS_INIT;
	lo.states = E2B_MGMT_LIST_PAUSED;
	rc = e2b_mgmt_list(&list, c, &lo);
	if (CHECK("list paused", rc)) {
		found = 0;
		for (i = 0; i < list->count; i++)
			if (!strcmp(list->items[i].sandbox_id, e2b_sandbox_id(sb)))
				found = 1;
		expect("running sandbox not in paused list", !found, "found");
	}
	e2b_sandbox_list_free(list);
	list = NULL;

	CHECK("set timeout", e2b_sandbox_set_timeout(sb, 600));
	CHECK("api set timeout", e2b_mgmt_set_timeout(c, e2b_sandbox_id(sb), 600));
	expect_code("set timeout missing", e2b_mgmt_set_timeout(c, "no-such-sandbox", 60),
		    E2B_ENOTFOUND);
	CHECK("health", e2b_sandbox_health(sb));
	rc = e2b_sandbox_envd_metrics(&em, sb);
	expect("envd metrics", rc == 0 && em.disk_total >= 0, "rc %d %s, disk %lld", rc,
	       rc < 0 ? e2b_error_last()->message : "", (long long)em.disk_total);
	{
		e2b_sandbox_metrics *m = NULL;

		rc = e2b_mgmt_metrics(&m, c, e2b_sandbox_id(sb), 0, 0);
		if (!strcmp(mode, "kruise"))
			expect("api metrics: not implemented by openkruise", rc == E2B_ERROR &&
			       strstr(e2b_error_last()->message, "not implemented"),
			       "rc %d: %s", rc, e2b_error_last()->message);
		else
			CHECK("api metrics", rc);
		e2b_sandbox_metrics_free(m);
	}

	rc = e2b_sandbox_pause(&flag, sb);
	expect("pause", rc == 0 && flag == 1, "rc %d paused %d: %s", rc, flag,
	       e2b_error_last()->message);
	rc = e2b_mgmt_pause(&flag, c, e2b_sandbox_id(sb));
	expect("pause again is not an error", rc == 0 && flag == 0, "rc %d paused %d", rc, flag);
	rc = e2b_mgmt_get_info(&info, c, e2b_sandbox_id(sb));
	expect("paused state", rc == 0 && info->state == E2B_SANDBOX_STATE_PAUSED, "rc %d", rc);
	e2b_sandbox_info_free(info);
	info = NULL;
	rc = e2b_sandbox_resume(sb, 300);
	CHECK("resume via connect", rc);
	CHECK("envd after resume", e2b_sandbox_health(sb));
	rc = e2b_sandbox_pause(&flag, sb);
	rc = e2b_mgmt_resume(&info, c, e2b_sandbox_id(sb), 300);
	CHECK("api resume", rc);
	e2b_sandbox_info_free(info);
	info = NULL;

	rc = e2b_sandbox_connect(&sb2, c, e2b_sandbox_id(sb), 300);
	if (CHECK("connect handle", rc)) {
		e2b_process_result r = E2B_PROCESS_RESULT_INIT;

		rc = e2b_commands_run(&r, sb2, "echo via-connect", NULL);
		expect("connected handle runs", rc == 0 && !strcmp(r.out, "via-connect\n"),
		       "rc %d", rc);
		e2b_process_result_release(&r);
	}
	e2b_sandbox_free(sb2);
	sb2 = NULL;
	rc = e2b_sandbox_connect(&sb2, c, "no-such-sandbox", 300);
	expect_code("connect missing", rc, E2B_ENOTFOUND);

	{
		e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;

		rc = e2b_sandbox_open(&sb2, c, e2b_sandbox_id(sb), &oo);
		if (CHECK("open without api", rc))
			CHECK("opened handle health", e2b_sandbox_health(sb2));
		e2b_sandbox_free(sb2);
		sb2 = NULL;
	}
	{
		char *url = NULL;

		rc = e2b_client_sandbox_url(&url, c, "abc", NULL);
		expect("client sandbox url", rc == 0 && url && *url, "rc %d", rc);
		e2b_free(url);
	}
	{
		char *tpl = NULL, *url = NULL, *ver = NULL;

		rc = e2b_sandbox_template_id(&tpl, sb);
		expect("template id", rc == 0 && (!strcmp(tpl, template_id) || *tpl), "rc %d '%s'",
		       rc, tpl ? tpl : "");
		rc = e2b_sandbox_envd_url(&url, sb);
		expect("envd url", rc == 0 && *url, "rc %d, empty", rc);
		rc = e2b_sandbox_envd_version(&ver, sb);
		expect("envd version", rc == 0 && *ver, "rc %d, empty", rc);
		e2b_free(tpl);
		e2b_free(url);
		e2b_free(ver);
	}
	expect("sandbox client", e2b_sandbox_client(sb) == c, "mismatch");
	expect("api url", e2b_client_api_url(c) && *e2b_client_api_url(c), "empty");
}

/* Log sink counting HTTP/2 requests and newly opened connections. */
struct logcount {
	pthread_mutex_t lock;
	int h2;
	int h1;
	int new_conns;
	int joined;		/* streams that joined the shared connection */
	int stream_conns;	/* connections opened by standalone streams */
};

static struct logcount logcount = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0 };

static void count_log(e2b_log_level level, const char *msg, void *payload)
{
	struct logcount *lc = payload;
	const char *p;

	pthread_mutex_lock(&lc->lock);
	if (strstr(msg, "HTTP/2"))
		lc->h2++;
	else if (strstr(msg, "HTTP/1.1"))
		lc->h1++;
	p = strstr(msg, "opened ");
	if (p && strstr(msg, "mux:"))
		lc->new_conns += atoi(p + 7);
	else if (p && strstr(msg, "(stream "))
		lc->stream_conns += atoi(p + 7);
	if (strstr(msg, "stream joins the shared connection"))
		lc->joined++;
	pthread_mutex_unlock(&lc->lock);
	if (level <= E2B_LOG_WARN)
		fprintf(stderr, "itest: %s\n", msg);
}

struct burst {
	e2b_sandbox *sb;
	int fails;
};

static void *burst_thread(void *arg)
{
	struct burst *b = arg;
	e2b_entry_info *ei = NULL;
	int i;

	for (i = 0; i < 4; i++) {
		if (e2b_fs_stat(&ei, b->sb, "/tmp") < 0)
			b->fails++;
		e2b_entry_info_free(ei);
		ei = NULL;
	}
	return NULL;
}

/* 32 concurrent requests from 8 threads over TLS: all HTTP/2, one connection. */
static void test_h2(e2b_sandbox *sb)
{
	struct burst b[8];
	pthread_t th[8];
	int i, fails = 0, h2, h1, conns;

	pthread_mutex_lock(&logcount.lock);
	logcount.h2 = logcount.h1 = logcount.new_conns = 0;
	pthread_mutex_unlock(&logcount.lock);
	for (i = 0; i < 8; i++) {
		b[i].sb = sb;
		b[i].fails = 0;
		pthread_create(&th[i], NULL, burst_thread, &b[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		fails += b[i].fails;
	}
	pthread_mutex_lock(&logcount.lock);
	h2 = logcount.h2;
	h1 = logcount.h1;
	conns = logcount.new_conns;
	pthread_mutex_unlock(&logcount.lock);
	expect("h2 burst: 32 requests from 8 threads succeed", fails == 0, "%d failed", fails);
	expect("h2 burst: negotiated HTTP/2", h2 == 32 && h1 == 0, "h2 %d, http/1.1 %d", h2, h1);
	expect("h2 burst: one shared connection", conns <= 1, "%d new connections", conns);
}

/* The stream counters of logcount, then zero them (NULLs: just zero). */
static void stream_counts(int *joined, int *conns, int *sconns)
{
	pthread_mutex_lock(&logcount.lock);
	if (joined) {
		*joined = logcount.joined;
		*conns = logcount.new_conns;
		*sconns = logcount.stream_conns;
	}
	logcount.new_conns = logcount.joined = logcount.stream_conns = 0;
	pthread_mutex_unlock(&logcount.lock);
}

struct h2_ctx {
	e2b_sandbox *sb;
	int stop;
	int stats;
	int fails;
};

static void *h2_stat_thread(void *arg)
{
	struct h2_ctx *x = arg;
	e2b_entry_info *ei = NULL;

	while (!__atomic_load_n(&x->stop, __ATOMIC_SEQ_CST)) {
		if (e2b_fs_stat(&ei, x->sb, "/tmp") < 0)
			x->fails++;
		x->stats++;
		e2b_entry_info_free(ei);
		ei = NULL;
		usleep(20000);
	}
	return NULL;
}

/* A process stream and a watch stream stay open while another thread
 * makes unary calls: over h2 all of it rides the one shared connection. */
static void test_h2_streams(e2b_sandbox *sb)
{
	e2b_commands_options o = E2B_COMMANDS_OPTIONS_INIT;
	e2b_fs_watch_options wo = E2B_FS_WATCH_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	struct collect out = { .len = 0 };
	struct watch_ctx wc = { 0 };
	struct h2_ctx x = { sb, 0, 0, 0 };
	e2b_process *p = NULL;
	pthread_t th;
	int rc, ended = 0, i, joined, conns, sconns;

	e2b_fs_mkdir(NULL, sb, "/tmp/h2w");
	stream_counts(NULL, NULL, NULL);
	wo.on_event = watch_cb;
	wo.payload = &wc;
	rc = e2b_fs_watch_start(&wc.w, sb, "/tmp/h2w", &wo);
	CHECK("h2 streams: watch", rc);
	o.on_stdout = collect_cb;
	o.payload = &out;
	rc = e2b_commands_start(&p, sb, "for i in $(seq 1 20); do echo tick $i; "
				"touch /tmp/h2w/f$i; sleep 0.05; done", &o);
	if (!CHECK("h2 streams: start", rc))
		goto out;
	pthread_create(&th, NULL, h2_stat_thread, &x);
	for (i = 0; i < 100 && !ended; i++)
		if (e2b_process_poll(&ended, p, 100, -1) < 0)
			break;
	for (i = 0; i < 20 && wc.creates < 20 && wc.w; i++)
		if (e2b_fs_watch_poll(wc.w, 100, -1) < 0)
			break;
	__atomic_store_n(&x.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	rc = e2b_process_wait(&r, p, NULL, NULL, NULL);
	expect("h2 streams: process output complete", rc == 0 && strstr(out.buf, "tick 20\n"),
	       "rc %d, %zu bytes", rc, out.len);
	e2b_process_result_release(&r);
	expect("h2 streams: unary calls alongside", x.stats > 0 && x.fails == 0,
	       "%d calls, %d failed", x.stats, x.fails);
	expect("h2 streams: watch events alongside", wc.events >= 20, "%d events", wc.events);
	stream_counts(&joined, &conns, &sconns);
	expect("h2 streams: process and watch joined the shared connection", joined == 2,
	       "%d joined", joined);
	expect("h2 streams: no new connection for streams or calls", conns == 0 && sconns == 0,
	       "mux opened %d, standalone streams opened %d", conns, sconns);
out:
	e2b_process_free(p);
	e2b_fs_watch_free(wc.w);
}

static int make_client(e2b_client **out, int port);
static int make_client_with(e2b_client **out, int port, unsigned call_ms);

/* A fresh client whose first request is a process stream (the sandbox
 * opened from known details, no API call): over h2 that stream opens the
 * connection the unary calls made while it runs share. */
static void test_h2_first_stream(e2b_sandbox *sb, int port)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	e2b_entry_info *ei = NULL;
	e2b_sandbox *sb2 = NULL;
	e2b_process *p = NULL;
	e2b_client *c2 = NULL;
	int rc, i, stats = 0, joined, conns, sconns;

	if (!CHECK("h2 first stream: fresh client", make_client(&c2, port)) ||
	    !CHECK("h2 first stream: details", e2b_sandbox_get_open_options(&oo, sb)) ||
	    !CHECK("h2 first stream: open", e2b_sandbox_open(&sb2, c2, e2b_sandbox_id(sb), &oo)))
		goto out;
	stream_counts(NULL, NULL, NULL);
	rc = e2b_commands_start(&p, sb2, "sleep 0.5; echo done", NULL);
	if (!CHECK("h2 first stream: start", rc))
		goto out;
	for (i = 0; i < 3; i++) {
		if (e2b_fs_stat(&ei, sb2, "/tmp") == 0)
			stats++;
		e2b_entry_info_free(ei);
		ei = NULL;
	}
	rc = e2b_process_wait(&r, p, NULL, NULL, NULL);
	expect("h2 first stream: output and calls", rc == 0 && r.out && !strcmp(r.out, "done\n") &&
	       stats == 3, "rc %d, %d of 3 calls", rc, stats);
	e2b_process_result_release(&r);
	stream_counts(&joined, &conns, &sconns);
	expect("h2 first stream: joined the shared connection", joined == 1, "%d joined", joined);
	expect("h2 first stream: one connection for the stream and the calls",
	       conns == 1 && sconns == 0, "mux opened %d, standalone stream opened %d",
	       conns, sconns);
out:
	e2b_process_free(p);
	e2b_sandbox_free(sb2);
	e2b_sandbox_open_options_release(&oo);
	e2b_client_free(c2);
}

static e2b_sandbox *fault_sb(e2b_client *c, const char *id)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_sandbox *sb = NULL;

	oo.envd_version = "0.6.0";
	if (e2b_sandbox_open(&sb, c, id, &oo) < 0)
		fail("open fault sandbox", "%s", e2b_error_last()->message);
	return sb;
}

static int fault_run(e2b_client *c, const char *id, e2b_process_result *r)
{
	e2b_sandbox *sb = fault_sb(c, id);
	int rc;

	rc = e2b_commands_run(r, sb, "x", NULL);
	e2b_sandbox_free(sb);
	return rc;
}

/* Stat "/x" on a JWT sandbox of faultsrv; returns rc, the entry name in @name. */
static int jwt_stat(e2b_sandbox *sb, char *name, size_t cap)
{
	e2b_entry_info *ei = NULL;
	int rc;

	name[0] = '\0';
	rc = e2b_fs_stat(&ei, sb, "/x");
	if (rc == 0)
		snprintf(name, cap, "%s", ei->name);
	e2b_entry_info_free(ei);
	return rc;
}

/* Traffic access tokens of OpenKruise JWT sandboxes against faultsrv's
 * gateway check (403 without a token it issued) and refresh endpoint. */
static void test_traffic_tokens(e2b_client *c)
{
	static const char *const ids[] = { "jwtnear", "jwtfresh", "jwt503", "jwtexpired",
					   "jwtbad", "jwtlazy", "jwtopaque" };
	e2b_sandbox *sb[7] = { NULL };
	char name[64];
	size_t i;
	int rc;

	for (i = 0; i < 7; i++) {
		rc = e2b_sandbox_connect(&sb[i], c, ids[i], 60);
		if (rc < 0) {
			fail("jwt: connect", "%s: %s", ids[i], e2b_error_last()->message);
			goto out;
		}
	}
	rc = jwt_stat(sb[0], name, sizeof(name));
	expect("jwt: token near expiry is refreshed before the request",
	       rc == 0 && !strcmp(name, "r1-s1"), "rc %d '%s': %s", rc, name,
	       e2b_error_last()->message);
	rc = jwt_stat(sb[0], name, sizeof(name));
	expect("jwt: refreshed token is reused", rc == 0 && !strcmp(name, "r1-s2"),
	       "rc %d '%s'", rc, name);
	rc = jwt_stat(sb[1], name, sizeof(name));
	expect("jwt: fresh token is not refreshed", rc == 0 && !strcmp(name, "r0-s1"),
	       "rc %d '%s': %s", rc, name, e2b_error_last()->message);
	rc = jwt_stat(sb[2], name, sizeof(name));
	expect("jwt: failed refresh keeps a still-valid token", rc == 0 && !strcmp(name, "r1-s1"),
	       "rc %d '%s': %s", rc, name, e2b_error_last()->message);
	rc = jwt_stat(sb[2], name, sizeof(name));
	expect("jwt: no refresh attempt during the backoff", rc == 0 && !strcmp(name, "r1-s2"),
	       "rc %d '%s'", rc, name);
	rc = jwt_stat(sb[3], name, sizeof(name));
	expect("jwt: expired token and failed refresh fail closed", rc == E2B_EAUTH &&
	       strstr(e2b_error_last()->message, "expired"), "rc %d: %s", rc,
	       e2b_error_last()->message);
	rc = jwt_stat(sb[3], name, sizeof(name));
	expect_code("jwt: still closed during the backoff", rc, E2B_EAUTH);
	usleep(1100 * 1000);
	rc = jwt_stat(sb[3], name, sizeof(name));
	expect("jwt: refresh after the Retry-After delay, no request was sent before",
	       rc == 0 && !strcmp(name, "r2-s1"), "rc %d '%s': %s", rc, name,
	       e2b_error_last()->message);
	rc = jwt_stat(sb[4], name, sizeof(name));
	expect("jwt: refresh answer whose expiration contradicts exp is rejected",
	       rc == E2B_EAUTH && strstr(e2b_error_last()->message, "does not match"),
	       "rc %d: %s", rc, e2b_error_last()->message);
	rc = jwt_stat(sb[5], name, sizeof(name));
	expect("jwt: sandbox without a token fetches one first", rc == 0 && !strcmp(name, "r1-s1"),
	       "rc %d '%s': %s", rc, name, e2b_error_last()->message);
	rc = jwt_stat(sb[6], name, sizeof(name));
	expect("jwt: opaque token is sent as is, never refreshed",
	       rc == 0 && !strcmp(name, "r0-s1"), "rc %d '%s': %s", rc, name,
	       e2b_error_last()->message);
	{
		/* A handle opened without the API, given an expired JWT
		 * ({"exp":1}): refreshed before its first request. */
		e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
		e2b_sandbox *o = NULL;

		oo.envd_version = "0.6.0";
		oo.traffic_access_token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln";
		rc = e2b_sandbox_open(&o, c, "jwtopen", &oo);
		if (rc == 0)
			rc = jwt_stat(o, name, sizeof(name));
		expect("jwt: opened handle's token is refreshed too", rc == 0 &&
		       !strcmp(name, "r1-s1"), "rc %d '%s': %s", rc, name,
		       e2b_error_last()->message);
		e2b_sandbox_free(o);
	}
out:
	for (i = 0; i < 7; i++)
		e2b_sandbox_free(sb[i]);
}

/* Misbehaving server (tests/integration/client/faultsrv.py). */
static void test_faults(e2b_client *c, int port)
{
	e2b_client *cb = NULL;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	e2b_sandbox_info *info = NULL;
	e2b_entry_info *ei = NULL;
	e2b_read_options ro = E2B_READ_OPTIONS_INIT;
	e2b_sandbox *sb;
	char *data = NULL;
	size_t len;
	time_t t0;
	int rc;

	rc = fault_run(c, "reset", &r);
	expect("fault: reset mid-stream", rc == E2B_EUNAVAILABLE || rc == E2B_EPROTO,
	       "rc %d: %s", rc, e2b_error_last()->message);
	e2b_process_result_release(&r);
	rc = fault_run(c, "truncated", &r);
	expect("fault: truncated envelope", rc == E2B_EPROTO &&
	       strstr(e2b_error_last()->message, "truncated"), "rc %d: %s", rc,
	       e2b_error_last()->message);
	e2b_process_result_release(&r);
	rc = fault_run(c, "noend", &r);
	expect_code("fault: no end-of-stream", rc, E2B_EPROTO);
	e2b_process_result_release(&r);
	t0 = time(NULL);
	rc = fault_run(c, "stall", &r);
	expect("fault: stalled stream hits the watchdog", rc == E2B_EUNAVAILABLE &&
	       time(NULL) - t0 < 10, "rc %d after %lds: %s", rc, (long)(time(NULL) - t0),
	       e2b_error_last()->message);
	e2b_process_result_release(&r);
	rc = fault_run(c, "keepalive", &r);
	expect("fault: keepalives keep a slow stream alive", rc == E2B_EEXIT && r.exit_code == 2,
	       "rc %d exit %d: %s", rc, r.exit_code, e2b_error_last()->message);
	e2b_process_result_release(&r);
	rc = fault_run(c, "badflags", &r);
	expect_code("fault: reserved envelope flags", rc, E2B_EPROTO);
	e2b_process_result_release(&r);
	rc = fault_run(c, "hugeframe", &r);
	expect_code("fault: oversized envelope", rc, E2B_EPROTO);
	e2b_process_result_release(&r);
	rc = fault_run(c, "garbage", &r);
	expect_code("fault: garbage in a stream", rc, E2B_EPROTO);
	e2b_process_result_release(&r);
	rc = fault_run(c, "enderror", &r);
	expect("fault: end-stream error decoded", rc == E2B_EUNAVAILABLE &&
	       !strcmp(e2b_error_last()->rpc_code, "resource_exhausted"), "rc %d rpc '%s'", rc,
	       e2b_error_last()->rpc_code);
	e2b_process_result_release(&r);
	rc = fault_run(c, "notastream", &r);
	expect_code("fault: json answer to a stream", rc, E2B_EPROTO);
	e2b_process_result_release(&r);

	sb = fault_sb(c, "retry503");
	t0 = time(NULL);
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect("fault: 503 with Retry-After is retried", rc == 0 && time(NULL) - t0 >= 1,
	       "rc %d after %lds: %s", rc, (long)(time(NULL) - t0), e2b_error_last()->message);
	e2b_entry_info_free(ei);
	ei = NULL;
	e2b_sandbox_free(sb);
	/* A client's call bound covers the whole call, retries included,
	 * and only that client's calls. */
	if (!CHECK("fault: client with a call timeout", make_client_with(&cb, port, 700)))
		return;
	sb = fault_sb(cb, "stallunary");
	t0 = time(NULL);
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect("fault: call timeout bounds a stalled call", rc == E2B_ETIMEOUT &&
	       time(NULL) - t0 <= 2, "rc %d after %lds: %s", rc, (long)(time(NULL) - t0),
	       e2b_error_last()->message);
	e2b_sandbox_free(sb);
	sb = fault_sb(cb, "retry503b");
	t0 = time(NULL);
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect("fault: call timeout leaves no room for a 1 s Retry-After",
	       rc == E2B_EUNAVAILABLE && time(NULL) - t0 <= 1, "rc %d after %lds", rc,
	       (long)(time(NULL) - t0));
	e2b_sandbox_free(sb);
	e2b_client_free(cb);
	sb = fault_sb(c, "garbage");
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect_code("fault: garbage instead of json", rc, E2B_EPROTO);
	e2b_sandbox_free(sb);
	sb = fault_sb(c, "reset");
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect_code("fault: connection reset on unary", rc, E2B_EUNAVAILABLE);
	e2b_sandbox_free(sb);
	sb = fault_sb(c, "html502");
	rc = e2b_fs_stat(&ei, sb, "/x");
	expect("fault: html 502 page", rc == E2B_EUNAVAILABLE &&
				       e2b_error_last()->http_status == 502,
	       "rc %d status %d", rc, e2b_error_last()->http_status);
	e2b_sandbox_free(sb);

	sb = fault_sb(c, "resetdl");
	rc = e2b_fs_read(&data, &len, sb, "/f", NULL);
	expect_code("fault: reset mid-download", rc, E2B_EUNAVAILABLE);
	e2b_free(data);
	data = NULL;
	e2b_sandbox_free(sb);
	sb = fault_sb(c, "slowdl");
	ro.timeout_ms = 1500;
	t0 = time(NULL);
	rc = e2b_fs_read(&data, &len, sb, "/f", &ro);
	expect("fault: stalled download times out", rc == E2B_ETIMEOUT && time(NULL) - t0 < 6,
	       "rc %d after %lds", rc, (long)(time(NULL) - t0));
	e2b_free(data);
	data = NULL;
	e2b_sandbox_free(sb);

	rc = e2b_mgmt_get_info(&info, c, "garbage");
	expect_code("fault: html instead of json from the api", rc, E2B_EPROTO);
	t0 = time(NULL);
	rc = e2b_mgmt_get_info(&info, c, "ratelimited");
	expect("fault: 429 with Retry-After is retried", rc == 0 && time(NULL) - t0 >= 1,
	       "rc %d: %s", rc, e2b_error_last()->message);
	e2b_sandbox_info_free(info);
	info = NULL;
	t0 = time(NULL);
	rc = e2b_mgmt_get_info(&info, c, "flaky");
	expect("fault: persistent 503 gives up, bounded", rc == E2B_EUNAVAILABLE &&
	       time(NULL) - t0 < 10, "rc %d after %lds", rc, (long)(time(NULL) - t0));
	rc = e2b_sandbox_create(&sb, c, NULL);
	expect("fault: create is never retried", rc < 0, "rc %d", rc);
}

static int make_client(e2b_client **out, int port)
{
	return make_client_with(out, port, 0);
}

/* make_client() with call_timeout_ms set to @call_ms. */
static int make_client_with(e2b_client **out, int port, unsigned call_ms)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	char dom[64], api[96];

	cfg.ca_file = getenv("E2B_TEST_CA");
	cfg.log_cb = count_log;
	cfg.log_payload = &logcount;
	cfg.request_timeout_ms = 30000;
	cfg.keepalive_s = 2;
	if (!strcmp(mode, "faults")) {
		cfg.request_timeout_ms = 5000;
		cfg.keepalive_s = 1;
	}
	if (!strcmp(mode, "private") || !strcmp(mode, "kruise")) {
		snprintf(dom, sizeof(dom), "127.0.0.1:%d", port);
		cfg.scheme = "http";
		cfg.domain = dom;
		cfg.protocol = E2B_PROTOCOL_PRIVATE;
	} else if (!strcmp(mode, "native")) {
		snprintf(dom, sizeof(dom), "localhost:%d", port);
		snprintf(api, sizeof(api), "http://127.0.0.1:%d", port);
		cfg.scheme = "http";
		cfg.domain = dom;
		cfg.api_url = api;
		cfg.protocol = E2B_PROTOCOL_NATIVE;
	}
	e2b_config_from_env(&cfg);
	/* Debug logging feeds the counters; keep it off stderr. */
	cfg.debug = !strcmp(mode, "h2");
	cfg.call_timeout_ms = call_ms;
	return e2b_client_new(out, &cfg);
}

int main(int argc, char **argv)
{
	e2b_sandbox_create_options co = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	static const e2b_kv md[] = { { "suite", "client-itest" } };
	static const e2b_kv env[] = { { "SANDBOX_VAR", "sv" } };
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	char *envd_url = NULL;
	const char *p;
	int port, rc, killed = -1;

	if (argc > 1)
		mode = argv[1];
	if (argc > 2)
		template_id = argv[2];
	p = getenv("E2BD_PORT");
	port = p ? atoi(p) : 49982;
	if (e2b_global_init() < 0 || !CHECK("client new", make_client(&c, port)))
		return 1;
	if (!strcmp(mode, "faults")) {
		test_faults(c, port);
		test_traffic_tokens(c);
		goto out;
	}
	co.template_id = template_id;
	co.timeout_s = 300;
	co.metadata = md;
	co.metadata_count = 1;
	co.env_vars = env;
	co.env_vars_count = 1;
	rc = e2b_sandbox_create(&sb, c, &co);
	if (!CHECK("create", rc))
		goto out;
	if (e2b_sandbox_envd_url(&envd_url, sb) < 0)
		fail("envd url", "%s", e2b_error_last()->message);
	if (!envd_url)
		goto out;
	if (!strcmp(mode, "private") || !strcmp(mode, "kruise"))
		expect("private envd url", strstr(envd_url, "/kruise/") != NULL, "%s", envd_url);
	if (!strcmp(mode, "apionly") && getenv("E2B_API_URL"))
		expect("envd at the api origin", !strcmp(envd_url, getenv("E2B_API_URL")), "%s",
		       envd_url);
	if (!strcmp(mode, "native"))
		expect("native envd url", strstr(envd_url, "49983-") != NULL, "%s", envd_url);
	e2b_free(envd_url);
	if (!strcmp(mode, "h2")) {
		test_h2(sb);
		test_h2_streams(sb);
		test_h2_first_stream(sb, port);
		goto done;
	}
	rc = e2b_commands_run(&r, sb, "echo $SANDBOX_VAR", NULL);
	expect("sandbox env vars", rc == 0 && r.out && !strcmp(r.out, "sv\n"), "rc %d out '%s'",
	       rc, r.out ? r.out : "");
	e2b_process_result_release(&r);
	test_commands(sb);
	test_files(sb);
	test_write_files(sb);
	test_watch(sb);
	test_watcher(sb);
	test_threads(sb);
	test_management(c, sb);
done:
	rc = e2b_sandbox_kill(&killed, sb);
	expect("kill", rc == 0 && killed == 1, "rc %d killed %d", rc, killed);
	rc = e2b_mgmt_kill(&killed, c, e2b_sandbox_id(sb));
	/* OpenKruise answers 204 for an already-gone sandbox. */
	expect("kill again returns false", rc == 0 && (killed == 0 || !strcmp(mode, "kruise")),
	       "rc %d killed %d", rc, killed);
	rc = e2b_commands_run(&r, sb, "true", NULL);
	expect("run on killed sandbox fails", rc == E2B_ENOTFOUND || rc == E2B_EUNAVAILABLE,
	       "rc %d: %s", rc, e2b_error_last()->message);
	e2b_process_result_release(&r);
	e2b_sandbox_free(sb);
	sb = NULL;
	/* close = kill + free */
	rc = e2b_sandbox_create(&sb, c, &co);
	if (CHECK("create for close", rc)) {
		char id[128];

		snprintf(id, sizeof(id), "%s", e2b_sandbox_id(sb));
		CHECK("close", e2b_sandbox_kill_and_free(sb));
		sb = NULL;
		e2b_sandbox_info *gone = NULL;

		rc = e2b_mgmt_get_info(&gone, c, id);
		expect_code("closed sandbox gone", rc, E2B_ENOTFOUND);
		e2b_sandbox_info_free(gone);
	}
out:
	if (sb)
		e2b_sandbox_kill_and_free(sb);
	e2b_client_free(c);
	e2b_global_shutdown();
	return failed;
}
