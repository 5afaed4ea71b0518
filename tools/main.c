/* SPDX-License-Identifier: MIT */
/*
 * e2bctl entry point: global options, profile, dispatch to the command
 * table, and the exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "profile.h"

/* Global options that take a value, and where they go. */
static const char **global_slot(struct global_opts *g, const char *name)
{
	if (!strcmp(name, "profile"))
		return &g->profile;
	if (!strcmp(name, "api-url"))
		return &g->api_url;
	if (!strcmp(name, "sandbox-url"))
		return &g->sandbox_url;
	if (!strcmp(name, "domain"))
		return &g->domain;
	if (!strcmp(name, "protocol"))
		return &g->protocol;
	if (!strcmp(name, "scheme"))
		return &g->scheme;
	if (!strcmp(name, "api-key-file"))
		return &g->api_key_file;
	return NULL;
}

/* Parse options before COMMAND.  @return index of COMMAND, or -exit code. */
static int parse_globals(struct global_opts *g, int argc, char **argv, int *want_help)
{
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *eq;
		const char **slot;

		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--")) {
			return i + 1;
		} else if (!strcmp(a, "--json")) {
			g->json = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			g->verbose = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			g->quiet = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*want_help = 1;
		} else if (!strcmp(a, "--version")) {
			*want_help = 2;
		} else if (!strcmp(a, "--api-key") || !strncmp(a, "--api-key=", 10)) {
			/* Deliberately absent: argv is visible to every user. */
			return -error_usage(NULL, "there is no --api-key option: set E2B_API_KEY "
					    "or use --api-key-file");
		} else if (a[1] == '-') {
			eq = strchr(a, '=');
			if (eq)
				*eq = '\0';
			slot = global_slot(g, a + 2);
			if (!slot) {
				if (eq)
					*eq = '=';
				return -error_usage(NULL, "unknown global option '%s'", a);
			}
			if (eq) {
				*slot = eq + 1;
			} else if (i + 1 < argc) {
				*slot = argv[++i];
			} else {
				return -error_usage(NULL, "option '%s' needs a value", a);
			}
			if (!**slot)
				return -error_usage(NULL, "option '%s' needs a non-empty value", a);
		} else {
			return -error_usage(NULL, "unknown global option '%s'", a);
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx;
	struct cmd_args args = { 0 };
	const struct cmd_spec *spec;
	int idx, error, want_help = 0;

	memset(&ctx, 0, sizeof(ctx));
	idx = parse_globals(&ctx.opt, argc, argv, &want_help);
	if (idx < 0)
		return -idx;
	ctx.json = ctx.opt.json;
	ctx.quiet = ctx.opt.quiet;
	ctx.verbose = ctx.opt.verbose;
	error_quiet = ctx.quiet;
	if (want_help == 2) {
		printf("e2bctl %s (libe2b %s)\n", E2B_VERSION, e2b_version());
		return 0;
	}
	if (idx >= argc) {
		cmd_help(want_help ? stdout : stderr, NULL);
		return want_help ? 0 : E2BCTL_EXIT_USAGE;
	}
	spec = cmd_find(argv[idx]);
	if (!spec)
		return cmd_unknown(argv[idx]);
	if (want_help) {
		cmd_help(stdout, spec);
		return 0;
	}
	ctx.cmd_name = spec->name;
	error = cmd_parse(&args, spec, argc - idx, argv + idx);
	if (error)
		goto out;
	if (args.help) {
		cmd_help(stdout, spec);
		goto out;
	}
	ctx.json |= args.json;
	ctx.quiet |= args.quiet;
	ctx.verbose |= args.verbose;
	error_quiet = ctx.quiet;
	if (!(spec->flags & CMD_OFFLINE)) {
		error = profile_load(&ctx.prof, ctx.opt.profile);
		if (error)
			goto out;
		if (e2b_global_init() < 0) {
			error = error_msg("cannot initialise libe2b");
			goto out;
		}
	}
	error = spec->exec(&ctx, &args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (!error)
			error = error_msg("cannot write to standard output");
	}
	ctx_release(&ctx);
	if (!(spec->flags & CMD_OFFLINE))
		e2b_global_shutdown();
out:
	cmd_args_release(&args);
	ctx_release(&ctx);
	return error;
}
