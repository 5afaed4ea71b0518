/* SPDX-License-Identifier: MIT */
/*
 * e2bctl list: the sandboxes of this API key, as a table or a JSON array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

static const struct cmd_option cmd_list_options[] = {
	{ "state", 's', "STATES", 0, "comma-separated: running, paused (default both)" },
	{ "metadata", 'm', "K=V", CMD_OPT_MULTI, "only sandboxes with this metadata (repeatable)" },
	{ "limit", 'n', "N", 0, "at most N sandboxes" },
	{ "output", 'o', "FORMAT", 0, "wide (more columns) or json (as --json)" },
	{ "no-headers", 0, NULL, 0, "print the table without its header line" },
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
			*out |= E2B_MGMT_LIST_RUNNING;
		} else if (!strcmp(tok, "paused")) {
			*out |= E2B_MGMT_LIST_PAUSED;
		} else {
			error = error_usage("list",
					    "unknown state '%s' (use running, paused)", tok);
			break;
		}
	}
	free(copy);
	return error;
}

/*
 * kubectl-style table: SANDBOX ID, TEMPLATE, STATE, AGE, ENDS IN; wide
 * adds CPU, MEMORY, ENVD, STARTED, ENDS and METADATA.
 */
static void print_table(const e2b_sandbox_list *l, size_t count, int wide, int headers)
{
	static const char *const head[] = {
		"SANDBOX ID", "TEMPLATE", "STATE", "AGE", "ENDS IN",
		"CPU", "MEMORY", "ENVD", "STARTED", "ENDS", "METADATA",
	};
	int64_t now = (int64_t)time(NULL);
	struct table t;
	size_t i, k;

	table_init(&t, wide ? 11 : 5);
	if (headers)
		table_add(&t, head);
	for (i = 0; i < count; i++) {
		const e2b_sandbox_info *s = &l->items[i];
		char age[32], left[32], cpu[16], mem[32], started[40], ends[40], *meta = NULL;
		const char *row[11];
		size_t len = 0;
		FILE *mf = open_memstream(&meta, &len);

		if (!mf)
			die("out of memory");
		if (s->started_at_ms)
			fmt_age(age, sizeof(age), now - s->started_at_ms / 1000);
		else
			snprintf(age, sizeof(age), "<unknown>");
		if (s->end_at_ms && s->state == E2B_SANDBOX_STATE_RUNNING)
			fmt_age(left, sizeof(left), s->end_at_ms / 1000 - now);
		else
			snprintf(left, sizeof(left), "-");
		snprintf(cpu, sizeof(cpu), "%d", s->cpu_count);
		snprintf(mem, sizeof(mem), "%dMi", s->memory_mb);
		fmt_time_ms(started, sizeof(started), s->started_at_ms);
		fmt_time_ms(ends, sizeof(ends), s->end_at_ms);
		for (k = 0; k < s->metadata_count; k++)
			fprintf(mf, "%s%s=%s", k ? "," : "", s->metadata[k].key,
				s->metadata[k].value);
		if (fclose(mf) != 0)
			die("out of memory");
		row[0] = s->sandbox_id;
		row[1] = *s->alias ? s->alias : s->template_id;
		row[2] = e2b_sandbox_state_str(s->state);
		row[3] = age;
		row[4] = left;
		row[5] = cpu;
		row[6] = mem;
		row[7] = *s->envd_version ? s->envd_version : "-";
		row[8] = *started ? started : "-";
		row[9] = *ends ? ends : "-";
		row[10] = *meta ? meta : "-";
		table_add(&t, row);
		free(meta);
	}
	table_print(stdout, &t);
	table_release(&t);
}

static int cmd_list_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_mgmt_list_options lo = E2B_MGMT_LIST_OPTIONS_INIT;
	e2b_sandbox_list *list = NULL;
	unsigned long long limit = 0;
	e2b_kv *meta = NULL;
	e2b_client *client;
	size_t n, i, count;
	char **vals;
	int error, code;

	const char *fmt = cmd_arg(args, "output");
	int wide = 0;

	if (fmt && !strcmp(fmt, "wide")) {
		wide = 1;
	} else if (fmt && !strcmp(fmt, "json")) {
		ctx->json = 1;
	} else if (fmt) {
		error = error_usage("list", "unknown output format '%s' (use wide, json)", fmt);
		goto out;
	}
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
		lo.flags = E2B_MGMT_LIST_ALL_PAGES;
	error = ctx_client(ctx, &client);
	if (error)
		goto out;
	code = e2b_mgmt_list(&list, client, &lo);
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
		print_table(list, count, wide, !cmd_count(args, "no-headers"));
	}
out:
	e2b_sandbox_list_free(list);
	free(meta);
	return error;
}

const struct cmd_spec cmd_list_spec = {
	.name = "list",
	.usage = "[--state running,paused] [--metadata K=V]... "
		 "[--limit N] [-o wide|json] [--no-headers]",
	.summary = "list sandboxes",
	.options = cmd_list_options,
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_list_exec,
};
