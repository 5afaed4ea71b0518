/* SPDX-License-Identifier: MIT */
/*
 * e2bctl list: the sandboxes of this API key, as a table or a JSON array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct cmd_option cmd_list_options[] = {
	{ "state", 's', "STATES", 0, "comma-separated: running, paused (default both)" },
	{ "metadata", 'm', "K=V", CMD_OPT_MULTI, "only sandboxes with this metadata (repeatable)" },
	{ "limit", 'n', "N", 0, "at most N sandboxes" },
	{ NULL, 0, NULL, 0, NULL },
};

static int parse_states(unsigned *out, const char *s)
{
	char *copy = xstrdup(s), *p = copy, *tok;
	int error = 0;

	*out = 0;
	while (p) {
		tok = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
		if (!strcmp(tok, "running")) {
			*out |= E2B_LIST_RUNNING;
		} else if (!strcmp(tok, "paused")) {
			*out |= E2B_LIST_PAUSED;
		} else {
			error = error_usage("list", "unknown state '%s' (use running, paused)", tok);
			break;
		}
	}
	free(copy);
	return error;
}

static void print_table(const e2b_sandbox_list *l, size_t count)
{
	char started[40], ends[40];
	size_t i, k;

	printf("%-24s %-18s %-8s %-20s %-20s %s\n", "SANDBOX ID", "TEMPLATE", "STATE",
	       "STARTED", "ENDS", "METADATA");
	for (i = 0; i < count; i++) {
		const e2b_sandbox_info *s = &l->items[i];

		fmt_time_ms(started, sizeof(started), s->started_at_ms);
		fmt_time_ms(ends, sizeof(ends), s->end_at_ms);
		printf("%-24s %-18s %-8s %-20s %-20s ", s->sandbox_id,
		       *s->alias ? s->alias : s->template_id,
		       e2b_sandbox_state_str(s->state), started, ends);
		for (k = 0; k < s->metadata_count; k++)
			printf("%s%s=%s", k ? "," : "", s->metadata[k].key, s->metadata[k].value);
		printf("\n");
	}
}

static int cmd_list_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_list_options lo = E2B_LIST_OPTIONS_INIT;
	e2b_sandbox_list *list = NULL;
	unsigned long long limit = 0;
	e2b_kv *meta = NULL;
	e2b_client *client;
	size_t n, i, count;
	char **vals;
	int error, code;

	if (cmd_arg(args, "state")) {
		error = parse_states(&lo.states, cmd_arg(args, "state"));
		if (error)
			goto out;
	}
	vals = cmd_args_all(args, "metadata", &n);
	error = parse_kv_list(&meta, vals, n, "metadata");
	if (error)
		goto out;
	lo.metadata = meta;
	lo.metadata_count = n;
	if (cmd_arg(args, "limit")) {
		error = parse_uint(&limit, cmd_arg(args, "limit"), "limit", 1, 1000000);
		if (error)
			goto out;
	}
	/* The API pages by 100 at most; larger limits walk the pages. */
	if (limit && limit <= 100)
		lo.limit = (unsigned)limit;
	else
		lo.flags = E2B_LIST_ALL_PAGES;
	error = ctx_client(ctx, &client);
	if (error)
		goto out;
	code = e2b_api_list(&list, client, &lo);
	if (code < 0) {
		error = error_e2b(code, "cannot list sandboxes");
		goto out;
	}
	count = list->count;
	if (limit && count > limit)
		count = (size_t)limit;
	if (ctx->json) {
		json_t *arr = json_array();

		for (i = 0; i < count; i++)
			json_array_append_new(arr, json_sandbox(&list->items[i]));
		out_json(arr);
	} else {
		print_table(list, count);
	}
out:
	e2b_sandbox_list_free(list);
	free(meta);
	return error;
}

const struct cmd_spec cmd_list_spec = {
	.name = "list",
	.usage = "[--state running,paused] [--metadata K=V]... [--limit N]",
	.summary = "list sandboxes",
	.options = cmd_list_options,
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_list_exec,
};
