/* SPDX-License-Identifier: MIT */
/*
 * e2bctl entry point: global options (parsed by cmd.c), profile, dispatch
 * to the command table, and the exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cmd.h"
#include "profile.h"

/* A copy of argv for the connection agent: parsing edits argv in place
 * (--opt=value, --env K=V). */
static char **argv_copy(int argc, char **argv)
{
	char **out = xcalloc((size_t)argc + 1, sizeof(*out));
	int i;

	for (i = 0; i < argc; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

static void argv_free(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx;
	struct cmd_args args = { 0 };
	const struct cmd_spec *spec;
	int idx, error, handled, want_help = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.argc = argc;
	ctx.argv = argv_copy(argc, argv);
	idx = cmd_parse_globals(&ctx.opt, argc, argv, &want_help);
	if (idx < 0) {
		error = -idx;
		goto out;
	}
	ctx.json = ctx.opt.json;
	ctx.quiet = ctx.opt.quiet;
	ctx.verbose = ctx.opt.verbose;
	error_quiet = ctx.quiet;
	error = 0;
	if (want_help == 2) {
		printf("e2bctl %s (libe2b %s)\n", E2B_VERSION, e2b_version());
		goto out;
	}
	if (idx >= argc) {
		cmd_help(want_help ? stdout : stderr, NULL);
		error = want_help ? 0 : E2BCTL_EXIT_USAGE;
		goto out;
	}
	spec = cmd_find(argv[idx]);
	if (!spec) {
		error = cmd_unknown(argv[idx]);
		goto out;
	}
	if (want_help) {
		cmd_help(stdout, spec);
		goto out;
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
		/* libe2b itself is set up by ctx_client(), when needed: a run
		 * through the connection agent never is. */
		error = profile_load(&ctx.prof, ctx.opt.profile);
		if (error)
			goto out;
	}
	/* run, start, ps and signal go through the connection agent when
	 * there is one (agent.c), which runs this same code on connections
	 * it keeps open. */
	error = agent_run(&handled, &ctx);
	if (!handled)
		error = spec->exec(&ctx, &args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (!error)
			error = error_msg("cannot write to standard output");
	}
	ctx_release(&ctx);
out:
	cmd_args_release(&args);
	ctx_release(&ctx);
	argv_free(ctx.argc, ctx.argv);
	return error;
}
