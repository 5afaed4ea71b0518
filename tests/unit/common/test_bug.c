/* SPDX-License-Identifier: MIT */
/*
 * BUG() (common/bug.h): in a child process it prints one line naming the
 * program, file, line and formatted message on stderr, then aborts.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bug.h"

/* The line of the BUG() below, for the expected message. */
enum { BUG_LINE = __LINE__ + 4 };

static void call_bug(void)
{
	BUG("unpin of %s inode %d", "an unpinned", 42);
}

/* Run BUG() in a child; its stderr goes to @out, its wait status is returned. */
static int bug_in_child(char *out, size_t size)
{
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		dup2(fds[1], STDERR_FILENO);
		call_bug();
	}
	close(fds[1]);
	while (got < size - 1 && (n = read(fds[0], out + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_bug_prints_file_line_message_and_aborts(void **state)
{
	char out[512], want[512];
	int status;

	(void)state;
	status = bug_in_child(out, sizeof(out));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	snprintf(want, sizeof(want), "%s: BUG: %s:%d: unpin of an unpinned inode 42\n",
		 program_invocation_short_name, __FILE__, BUG_LINE);
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bug_prints_file_line_message_and_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
