/* SPDX-License-Identifier: MIT */
/*
 * e2bctl logs: a sandbox's logs as the management API keeps them
 * (GET /sandboxes/ID/logs), one line each, or one JSON object per line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct cmd_option cmd_logs_options[] = {
	{ "limit", 'n', "N", 0, "at most N lines" },
	{ NULL, 0, NULL, 0, NULL },
};

/* The route failed: tell "no such sandbox" from "no logs route here". */
static int logs_error(e2b_client *client, int code, const char *id)
{
	e2b_sandbox_info *info = NULL;
	int gone;

	if (code != E2B_ENOTFOUND && code != E2B_ERROR)
		return ctx_sandbox_error(code, id, NULL);
	gone = e2b_api_get_info(&info, client, id);
	e2b_sandbox_info_free(info);
	if (gone == E2B_ENOTFOUND)
		return ctx_sandbox_error(gone, id, NULL);
	e2b_error_clear();
	fflush(stdout);
	fprintf(stderr, "e2bctl: this server does not offer sandbox logs "
		"(no route GET /sandboxes/%s/logs)\n", id);
	return E2BCTL_EXIT_ERROR;
}

static int cmd_logs_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_sandbox_logs *logs = NULL;
	unsigned long long limit = 0;
	e2b_client *client;
	char *id = NULL, t[40];
	size_t i;
	int error, code;

	if (cmd_arg(args, "limit")) {
		error = parse_uint(&limit, cmd_arg(args, "limit"), "limit", 1, 1000000);
		if (error)
			return error;
	}
	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	code = e2b_api_logs(&logs, client, id, 0, (unsigned)limit);
	if (code < 0) {
		error = logs_error(client, code, id);
		goto out;
	}
	for (i = 0; i < logs->count && (!limit || i < limit); i++) {
		const e2b_sandbox_log *l = &logs->items[i];

		fmt_time_ms(t, sizeof(t), l->timestamp_ms);
		if (ctx->json) {
			json_t *o = json_object();

			json_object_set_new(o, "timestamp", *t ? json_string(t) : json_null());
			json_object_set_new(o, "level",
					    *l->level ? json_str(l->level) : json_null());
			json_object_set_new(o, "line", json_str(l->line));
			out_json_line(o);
		} else {
			printf("%s%s%s%s%s\n", t, *t ? " " : "", l->level, *l->level ? " " : "",
			       l->line);
		}
	}
out:
	e2b_sandbox_logs_free(logs);
	free(id);
	return error;
}

const struct cmd_spec cmd_logs_spec = {
	.name = "logs",
	.usage = "ID [-n|--limit N]",
	.summary = "print a sandbox's logs",
	.description =
		"Prints the sandbox's logs as the management API keeps them\n"
		"(GET /sandboxes/ID/logs): TIMESTAMP LEVEL LINE per line.  A server\n"
		"without that route is reported as such.\n",
	.options = cmd_logs_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_logs_exec,
};
