/* SPDX-License-Identifier: MIT */
/*
 * e2bctl signal: send SIGTERM (default) or SIGKILL to a sandbox process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

static const struct cmd_option cmd_signal_options[] = {
	{ NULL, 0, NULL, 0, NULL },
};

static int parse_signal(e2b_signal *out, const char *s)
{
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (!strcasecmp(s, "TERM") || !strcmp(s, "15"))
		*out = E2B_SIGNAL_SIGTERM;
	else if (!strcasecmp(s, "KILL") || !strcmp(s, "9"))
		*out = E2B_SIGNAL_SIGKILL;
	else
		return error_usage("signal", "unsupported signal '%s' (use TERM or KILL)", s);
	return 0;
}

static int cmd_signal_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_signal sig = E2B_SIGNAL_SIGTERM;
	unsigned long long pid;
	e2b_sandbox *sb = NULL;
	int error, code, found = 0;

	error = parse_uint(&pid, args->argv[1], "pid", 1, UINT32_MAX);
	if (error)
		goto out;
	if (args->argc > 2) {
		error = parse_signal(&sig, args->argv[2]);
		if (error)
			goto out;
	}
	error = ctx_sandbox(ctx, args->argv[0], &sb, NULL);
	if (error)
		goto out;
	code = e2b_commands_signal(&found, sb, (uint32_t)pid, sig);
	if (code < 0) {
		error = error_e2b(code, "cannot signal process %llu", pid);
		goto out;
	}
	if (!found) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: process %llu not found in sandbox '%s'\n", pid,
			e2b_sandbox_id(sb));
		error = E2BCTL_EXIT_NOTFOUND;
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object();

		json_object_set_new(o, "sandboxID", json_str(e2b_sandbox_id(sb)));
		json_object_set_new(o, "pid", json_integer((json_int_t)pid));
		json_object_set_new(o, "signal", json_string(sig == E2B_SIGNAL_SIGKILL ?
							      "SIGKILL" : "SIGTERM"));
		out_json(o);
	}
out:
	e2b_sandbox_free(sb);
	return error;
}

const struct cmd_spec cmd_signal_spec = {
	.name = "signal",
	.usage = "ID PID [TERM|KILL]",
	.summary = "send a signal to a process",
	.options = cmd_signal_options,
	.min_args = 2,
	.max_args = 3,
	.exec = cmd_signal_exec,
};
