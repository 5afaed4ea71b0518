/* SPDX-License-Identifier: MIT */
/*
 * e2bctl's argument parsing without a server or a mount: global options,
 * each command's option table and the generic parser (long, short,
 * bundled, =value, repeated, trailing remote command lines), usage errors
 * and their hints, number and K=V parsing, cp's ID:PATH split, and the
 * kubectl-style AGE format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmd.h"

/* ---- stderr capture: usage errors are printed there ---- */

static FILE *cap_file;
static int cap_saved = -1;

static void cap_begin(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	assert_non_null(cap_file);
	cap_saved = dup(STDERR_FILENO);
	assert_true(cap_saved >= 0);
	assert_true(dup2(fileno(cap_file), STDERR_FILENO) >= 0);
}

/* @return what was printed on stderr since cap_begin() (static buffer). */
static const char *cap_end(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	assert_true(dup2(cap_saved, STDERR_FILENO) >= 0);
	close(cap_saved);
	cap_saved = -1;
	rewind(cap_file);
	n = fread(buf, 1, sizeof(buf) - 1, cap_file);
	buf[n] = '\0';
	fclose(cap_file);
	return buf;
}

/* argv from a NULL-terminated list of literals (the parsers may write
 * into them, as into a real argv). */
struct argv_buf {
	int argc;
	char *argv[32];
};

static void mkargv(struct argv_buf *a, ...)
{
	const char *s;
	va_list ap;

	memset(a, 0, sizeof(*a));
	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL) {
		assert_true(a->argc < 31);
		a->argv[a->argc++] = strdup(s);
	}
	va_end(ap);
}

static void freeargv(struct argv_buf *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
}

/* Parse a command line "CMD ARGS..." against CMD's spec. */
static int parse(struct cmd_args *out, struct argv_buf *a)
{
	const struct cmd_spec *spec = cmd_find(a->argv[0]);

	assert_non_null(spec);
	return cmd_parse(out, spec, a->argc, a->argv);
}

/* ---- global options ---- */

static void test_globals(void **state)
{
	struct global_opts g;
	struct argv_buf a;
	int help = 0;

	(void)state;
	memset(&g, 0, sizeof(g));
	mkargv(&a, "e2bctl", "--profile", "ci", "--domain=127.0.0.1:1", "--json", "-q",
	       "list", "--json", NULL);
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), 6);
	assert_string_equal(g.profile, "ci");
	assert_string_equal(g.domain, "127.0.0.1:1");
	assert_int_equal(g.json, 1);
	assert_int_equal(g.quiet, 1);
	assert_int_equal(help, 0);
	freeargv(&a);

	/* No command: the index is argc. */
	mkargv(&a, "e2bctl", "--version", NULL);
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), 2);
	assert_int_equal(help, 2);
	freeargv(&a);

	/* "--" ends the global options; a lone "-" is a command word. */
	mkargv(&a, "e2bctl", "-v", "--", "-x", NULL);
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), 3);
	freeargv(&a);
}

static void test_globals_errors(void **state)
{
	struct global_opts g;
	struct argv_buf a;
	const char *err;
	int help = 0;

	(void)state;
	memset(&g, 0, sizeof(g));
	/* The key is never an argument: argv is visible to every user. */
	mkargv(&a, "e2bctl", "--api-key=e2b_secret", "list", NULL);
	cap_begin();
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), -E2BCTL_EXIT_USAGE);
	err = cap_end();
	assert_non_null(strstr(err, "there is no --api-key option"));
	assert_null(strstr(err, "e2b_secret"));
	freeargv(&a);

	mkargv(&a, "e2bctl", "--domain", NULL);
	cap_begin();
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), -E2BCTL_EXIT_USAGE);
	assert_non_null(strstr(cap_end(), "option '--domain' needs a value"));
	freeargv(&a);

	mkargv(&a, "e2bctl", "--scheme=", "list", NULL);
	cap_begin();
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), -E2BCTL_EXIT_USAGE);
	assert_non_null(strstr(cap_end(), "needs a non-empty value"));
	freeargv(&a);

	mkargv(&a, "e2bctl", "--frobnicate", "list", NULL);
	cap_begin();
	assert_int_equal(cmd_parse_globals(&g, a.argc, a.argv, &help), -E2BCTL_EXIT_USAGE);
	assert_non_null(strstr(cap_end(), "unknown global option '--frobnicate'"));
	freeargv(&a);
}

/* ---- the command table ---- */

static void test_table_is_consistent(void **state)
{
	size_t i, j, k;

	(void)state;
	for (i = 0; cmd_table[i]; i++) {
		const struct cmd_spec *s = cmd_table[i];

		assert_ptr_equal(cmd_find(s->name), s);
		assert_non_null(s->usage);
		assert_non_null(s->summary);
		assert_non_null(s->exec);
		assert_true(s->max_args < 0 || s->max_args >= s->min_args);
		for (j = 0; s->options && s->options[j].name; j++) {
			const struct cmd_option *o = &s->options[j];

			assert_non_null(o->help);
			/* The output flags are the parser's own. */
			assert_string_not_equal(o->name, "json");
			assert_string_not_equal(o->name, "help");
			assert_true(o->short_name != 'h');
			for (k = j + 1; s->options[k].name; k++) {
				assert_string_not_equal(o->name, s->options[k].name);
				assert_true(!o->short_name ||
					    o->short_name != s->options[k].short_name);
			}
		}
	}
	assert_true(i >= 28);
	assert_null(cmd_find("lsit"));
}

static void test_unknown_command_hint(void **state)
{
	const char *err;

	(void)state;
	cap_begin();
	assert_int_equal(cmd_unknown("lsit"), E2BCTL_EXIT_USAGE);
	err = cap_end();
	assert_non_null(strstr(err, "unknown command 'lsit'; did you mean 'list'?"));
	cap_begin();
	assert_int_equal(cmd_unknown("zzzzzzzz"), E2BCTL_EXIT_USAGE);
	err = cap_end();
	assert_non_null(strstr(err, "unknown command 'zzzzzzzz'"));
	assert_null(strstr(err, "did you mean"));
}

/* ---- one command's options ---- */

static void test_long_short_bundled(void **state)
{
	struct cmd_args args;
	struct argv_buf a;
	size_t n;
	char **v;

	(void)state;
	mkargv(&a, "list", "--state=running", "-m", "a=1", "--metadata", "b=2", "-n5",
	       "-o", "wide", "--no-headers", "--json", NULL);
	assert_int_equal(parse(&args, &a), 0);
	assert_string_equal(cmd_arg(&args, "state"), "running");
	v = cmd_args_all(&args, "metadata", &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a=1");
	assert_string_equal(v[1], "b=2");
	assert_string_equal(cmd_arg(&args, "limit"), "5");
	assert_string_equal(cmd_arg(&args, "output"), "wide");
	assert_int_equal(cmd_count(&args, "no-headers"), 1);
	assert_int_equal(args.json, 1);
	assert_int_equal(args.argc, 0);
	cmd_args_release(&args);
	freeargv(&a);

	/* -rj 8: flags bundled with a valued option last. */
	mkargv(&a, "cp", "-rj", "8", "ID:a", "ID:b", "dir", NULL);
	assert_int_equal(parse(&args, &a), 0);
	assert_int_equal(cmd_count(&args, "recursive"), 1);
	assert_string_equal(cmd_arg(&args, "parallel"), "8");
	assert_int_equal(args.argc, 3);
	assert_string_equal(args.argv[2], "dir");
	cmd_args_release(&args);
	freeargv(&a);
}

static void test_trailing_command_line(void **state)
{
	struct cmd_args args;
	struct argv_buf a;

	(void)state;
	/* The remote command's own options stay its own. */
	mkargv(&a, "run", "-w", "/tmp", "ID", "ls", "-la", "--json", NULL);
	assert_int_equal(parse(&args, &a), 0);
	assert_string_equal(cmd_arg(&args, "cwd"), "/tmp");
	assert_int_equal(args.argc, 4);
	assert_string_equal(args.argv[0], "ID");
	assert_string_equal(args.argv[2], "-la");
	assert_string_equal(args.argv[3], "--json");
	assert_int_equal(args.json, 0);
	cmd_args_release(&args);
	freeargv(&a);

	mkargv(&a, "run", "ID", "--", "-x", NULL);
	assert_int_equal(parse(&args, &a), 0);
	assert_int_equal(args.argc, 2);
	assert_string_equal(args.argv[1], "-x");
	cmd_args_release(&args);
	freeargv(&a);

	mkargv(&a, "ls", "ID", "--help", NULL);
	assert_int_equal(parse(&args, &a), 0);
	assert_int_equal(args.help, 1);
	cmd_args_release(&args);
	freeargv(&a);
}

/* Each usage error: exit 2 and the message that says why. */
static void expect_usage(const char *want, ...)
{
	struct cmd_args args;
	struct argv_buf a;
	const char *s, *err;
	va_list ap;

	memset(&a, 0, sizeof(a));
	va_start(ap, want);
	while ((s = va_arg(ap, const char *)) != NULL)
		a.argv[a.argc++] = strdup(s);
	va_end(ap);
	cap_begin();
	assert_int_equal(parse(&args, &a), E2BCTL_EXIT_USAGE);
	err = cap_end();
	if (!strstr(err, want))
		fail_msg("'%s': stderr '%s' lacks '%s'", a.argv[0], err, want);
	cmd_args_release(&args);
	freeargv(&a);
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect_usage("did you mean '--recursive'?", "rm", "ID", "p", "--recursiv", NULL);
	expect_usage("unknown option '-x' for 'ls'", "ls", "ID", "-x", NULL);
	expect_usage("option '--limit' needs a value", "list", "--limit", NULL);
	expect_usage("option '-n' needs a value", "logs", "ID", "-n", NULL);
	expect_usage("option '--no-headers' takes no value", "list", "--no-headers=1", NULL);
	expect_usage("option '--state' given more than once", "list", "-s", "running",
		     "--state", "paused", NULL);
	expect_usage("'info' needs a sandbox ID", "info", NULL);
	expect_usage("needs more arguments", "cp", "a", NULL);
	expect_usage("too many arguments for 'rm': unexpected 'c'", "rm", "ID", "b", "c", NULL);
	/* docker habits point to shell */
	expect_usage("for a terminal use 'e2bctl shell", "run", "-it", "ID", "bash", NULL);
	expect_usage("for a terminal use 'e2bctl shell", "run", "--tty", "ID", "bash", NULL);
}

/* ---- values ---- */

static void test_parse_uint(void **state)
{
	unsigned long long v = 0;

	(void)state;
	assert_int_equal(parse_uint(&v, "16", "parallel", 1, 16), 0);
	assert_int_equal(v, 16);
	cap_begin();
	assert_int_equal(parse_uint(&v, "17", "parallel", 1, 16), E2BCTL_EXIT_USAGE);
	assert_int_equal(parse_uint(&v, "0", "parallel", 1, 16), E2BCTL_EXIT_USAGE);
	assert_int_equal(parse_uint(&v, "-1", "parallel", 1, 16), E2BCTL_EXIT_USAGE);
	assert_int_equal(parse_uint(&v, " 3", "parallel", 1, 16), E2BCTL_EXIT_USAGE);
	assert_int_equal(parse_uint(&v, "3x", "parallel", 1, 16), E2BCTL_EXIT_USAGE);
	assert_int_equal(parse_uint(&v, "99999999999999999999999", "n", 0, ~0ull),
			 E2BCTL_EXIT_USAGE);
	assert_non_null(strstr(cap_end(),
			       "invalid parallel '17' (expected a number from 1 to 16)"));
	assert_int_equal(v, 16);
}

static void test_parse_kv(void **state)
{
	char k1[] = "a=1", k2[] = "b==x=", bad[] = "=v", *vals[] = { k1, k2 }, *bv[] = { bad };
	e2b_kv *kv = NULL;

	(void)state;
	assert_int_equal(parse_kv_list(&kv, vals, 2, "env"), 0);
	assert_string_equal(kv[0].key, "a");
	assert_string_equal(kv[0].value, "1");
	assert_string_equal(kv[1].key, "b");
	assert_string_equal(kv[1].value, "=x=");
	free(kv);
	cap_begin();
	assert_int_equal(parse_kv_list(&kv, bv, 1, "env"), E2BCTL_EXIT_USAGE);
	assert_non_null(strstr(cap_end(), "malformed K=V '=v' for --env"));
	assert_null(kv);
	assert_int_equal(parse_kv_list(&kv, NULL, 0, "env"), 0);
	assert_null(kv);
}

static void test_cp_split(void **state)
{
	const char *path = NULL;
	char *id = NULL;

	(void)state;
	assert_int_equal(cmd_cp_split_remote(&id, &path, "i123:/tmp/x"), 1);
	assert_string_equal(id, "i123");
	assert_string_equal(path, "/tmp/x");
	free(id);
	id = NULL;
	assert_int_equal(cmd_cp_split_remote(&id, &path, "i123:"), 1);
	assert_string_equal(path, ".");
	free(id);
	id = NULL;
	/* Local: no ':', a ':' after a '/', a leading ':', stdin. */
	assert_int_equal(cmd_cp_split_remote(&id, &path, "file.txt"), 0);
	assert_int_equal(cmd_cp_split_remote(&id, &path, "./a:b"), 0);
	assert_int_equal(cmd_cp_split_remote(&id, &path, ":x"), 0);
	assert_int_equal(cmd_cp_split_remote(&id, &path, "-"), 0);
	assert_null(id);
}

static void test_fmt_age(void **state)
{
	static const struct {
		int64_t sec;
		const char *want;
	} cases[] = {
		{ -5, "<invalid>" }, { -1, "0s" }, { 0, "0s" }, { 45, "45s" }, { 119, "119s" },
		{ 120, "2m" }, { 200, "3m20s" }, { 599, "9m59s" }, { 600, "10m" },
		{ 3 * 3600 - 1, "179m" }, { 3 * 3600, "3h" }, { 5 * 3600 + 600, "5h10m" },
		{ 8 * 3600 + 60, "8h" }, { 47 * 3600, "47h" }, { 3 * 86400 + 4 * 3600, "3d4h" },
		{ 8 * 86400, "8d" }, { 729 * 86400, "729d" },
		{ 2 * 365 * 86400 + 30 * 86400, "2y30d" }, { 9 * 365 * 86400, "9y" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_age(buf, sizeof(buf), cases[i].sec);
		if (strcmp(buf, cases[i].want))
			fail_msg("fmt_age(%lld) = '%s', want '%s'", (long long)cases[i].sec, buf,
				 cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_globals_errors),
		cmocka_unit_test(test_table_is_consistent),
		cmocka_unit_test(test_unknown_command_hint),
		cmocka_unit_test(test_long_short_bundled),
		cmocka_unit_test(test_trailing_command_line),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_kv),
		cmocka_unit_test(test_cp_split),
		cmocka_unit_test(test_fmt_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
