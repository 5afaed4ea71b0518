/* SPDX-License-Identifier: MIT */
/*
 * e2bctl resume: resume a paused sandbox.  Resuming one that is running is
 * a conflict (exit 7); `connect` is the form that accepts either state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd.h"

static const struct cmd_option cmd_resume_options[] = {
	{ "timeout", 't', "S", 0,
	  "lifetime from now in seconds (default: the time it had left, at least 300)" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_resume_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox_info *info = NULL;
	unsigned long long t = 0;
	e2b_client *client;
	char *id = NULL;
	int error, code;

	if (cmd_arg(args, "timeout")) {
		error = parse_uint(&t, cmd_arg(args, "timeout"), "timeout", 1, 4294967);
		if (error)
			goto out;
	}
	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	if (!t) {
		/* Keep the lifetime the sandbox had (set-timeout 3600 then
		 * pause/resume must not end it 5 minutes later): its time left,
		 * when that is more than the server's default of 300 s. */
		if (e2b_mgmt_get_info(&info, client, id) == 0 && info->end_at_ms > 0) {
			long long left = info->end_at_ms / 1000 - (long long)time(NULL);

			if (left > 300)
				t = (unsigned long long)left;
		}
		e2b_sandbox_info_free(info);
		info = NULL;
	}
	code = e2b_mgmt_resume(&info, client, id, (unsigned)t);
	if (code == E2B_ECONFLICT) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: sandbox '%s' is not paused\n", id);
		error = E2BCTL_EXIT_CONFLICT;
		goto out;
	}
	if (code < 0) {
		error = ctx_sandbox_error(code, id, NULL);
		goto out;
	}
	if (ctx->json) {
		e2b_sandbox_info *full = NULL;

		/* OpenKruise answers 204 without a body, E2B without state,
		 * metadata and times: show what info shows. */
		if (e2b_mgmt_get_info(&full, client, id) == 0) {
			e2b_sandbox_info_free(info);
			info = full;
		}
		if (!info) {
			error = ctx_sandbox_error(e2b_error_last()->code, id, NULL);
			goto out;
		}
		out_json(json_sandbox(info));
	} else {
		printf("%s\n", id);
	}
out:
	e2b_sandbox_info_free(info);
	free(id);
	return error;
}

const struct cmd_spec cmd_resume_spec = {
	.name = "resume",
	.usage = "ID [--timeout S]",
	.summary = "resume a paused sandbox",
	.options = cmd_resume_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_resume_exec,
};
