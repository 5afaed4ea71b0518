/* SPDX-License-Identifier: MIT */
/*
 * e2bctl logs: a sandbox's logs as the management API keeps them
 * (GET /sandboxes/ID/logs), one line each, or one JSON object per line;
 * --follow asks again every second from the last timestamp seen until the
 * sandbox is gone or we are interrupted.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

#define FOLLOW_POLL_MS 1000

static const struct cmd_option cmd_logs_options[] = {
	{ "limit", 'n', "N", 0, "at most N lines" },
	{ "follow", 'f', NULL, 0, "print new lines as they come, until the sandbox is gone" },
	{ NULL, 0, NULL, 0, NULL },
};

/* What has been printed: the newest timestamp and how many lines carry it. */
struct logs_seen {
	int64_t last_ms;
	size_t at_last;
	unsigned long long printed;
};

static void print_log(const e2b_sandbox_log *l, bool json)
{
	char t[40];

	fmt_time_ms(t, sizeof(t), l->timestamp_ms);
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "timestamp", *t ? json_string(t) : json_null());
		json_object_set_new(o, "level", *l->level ? json_str(l->level) : json_null());
		json_object_set_new(o, "line", json_str(l->line));
		out_json_line(o);
	} else {
		printf("%s%s%s%s%s\n", t, *t ? " " : "", l->level, *l->level ? " " : "",
		       l->line);
	}
}

/*
 * Print the lines of @logs (asked from seen->last_ms on) not printed yet:
 * a page starts with the lines at last_ms already printed, in the same
 * order, so those are skipped.  At most @limit lines in all (0: any).
 */
static void print_new(struct logs_seen *seen, const e2b_sandbox_logs *logs,
		      unsigned long long limit, bool json)
{
	size_t i, skip = seen->at_last;

	for (i = 0; i < logs->count; i++) {
		const e2b_sandbox_log *l = &logs->items[i];

		if (l->timestamp_ms < seen->last_ms)
			continue;
		if (l->timestamp_ms == seen->last_ms && skip) {
			skip--;
			continue;
		}
		if (limit && seen->printed >= limit)
			return;
		print_log(l, json);
		seen->printed++;
		if (l->timestamp_ms != seen->last_ms) {
			seen->last_ms = l->timestamp_ms;
			seen->at_last = 0;
		}
		seen->at_last++;
	}
}

/* Whether sandbox @id is gone (E2B_ENOTFOUND); other errors say no. */
static bool sandbox_gone(e2b_client *client, const char *id)
{
	e2b_sandbox_info *info = NULL;
	int code = e2b_mgmt_get_info(&info, client, id);

	e2b_sandbox_info_free(info);
	if (code < 0)
		e2b_error_clear();
	return code == E2B_ENOTFOUND;
}

/* The route failed: tell "no such sandbox" from "no logs route here". */
static int logs_error(e2b_client *client, int code, const char *id)
{
	e2b_sandbox_info *info = NULL;
	int gone;

	if (code != E2B_ENOTFOUND && code != E2B_ERROR)
		return ctx_sandbox_error(code, id, NULL);
	gone = e2b_mgmt_get_info(&info, client, id);
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
	struct logs_seen seen = { .last_ms = INT64_MIN };
	e2b_sandbox_logs *logs = NULL;
	unsigned long long limit = 0;
	bool follow = cmd_count(args, "follow") > 0, gone = false;
	e2b_client *client;
	char *id = NULL;
	int error, code;

	if (cmd_arg(args, "limit")) {
		if (follow)
			return error_usage("logs", "--limit and --follow do not go together");
		error = parse_uint(&limit, cmd_arg(args, "limit"), "limit", 1, 1000000);
		if (error)
			return error;
	}
	error = ctx_id_client(ctx, args->argv[0], &id, NULL, &client);
	if (error)
		goto out;
	if (follow)
		sig_catch();
	for (;;) {
		code = e2b_mgmt_logs(&logs, client, id,
				    seen.last_ms > 0 ? seen.last_ms : 0, (unsigned)limit);
		if (code < 0) {
			if (!sig_interrupts)
				error = logs_error(client, code, id);
			break;
		}
		print_new(&seen, logs, limit, ctx->json);
		e2b_sandbox_logs_free(logs);
		logs = NULL;
		fflush(stdout);
		/* The page after the sandbox went has its last lines: then stop. */
		if (!follow || gone || sig_interrupts)
			break;
		(void)poll(NULL, 0, FOLLOW_POLL_MS);
		gone = !sig_interrupts && sandbox_gone(client, id);
	}
	if (follow)
		sig_default();
out:
	e2b_sandbox_logs_free(logs);
	free(id);
	return error;
}

const struct cmd_spec cmd_logs_spec = {
	.name = "logs",
	.usage = "ID [-n|--limit N] [-f|--follow]",
	.summary = "print a sandbox's logs",
	.description =
		"Prints the sandbox's logs as the management API keeps them\n"
		"(GET /sandboxes/ID/logs): TIMESTAMP LEVEL LINE per line.  A server\n"
		"without that route is reported as such.  --follow asks again every\n"
		"second for newer lines and ends once the sandbox is gone (its last\n"
		"lines printed) or on Ctrl-C.\n",
	.options = cmd_logs_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_logs_exec,
};
