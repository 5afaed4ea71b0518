/* SPDX-License-Identifier: MIT */
/*
 * e2bctl ps: the processes running in a sandbox.  e2bfs's own helpers
 * (tag "e2bfs-...", e.g. the metadata fixer of a mount) are left out unless
 * --all; on a terminal each line is cut to its width unless --wide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd.h"

static const struct cmd_option cmd_ps_options[] = {
	{ "all", 'a', NULL, 0, "also show e2bfs's internal helper processes" },
	{ "wide", 'w', NULL, 0, "do not cut command lines to the terminal's width" },
	{ NULL, 0, NULL, 0, NULL },
};

/* A helper process e2bfs started for its own work (fs/remote.c). */
static int internal(const e2b_process_info *p)
{
	return !strncmp(p->tag, "e2bfs-", 6);
}

/* Columns of the terminal on stdout; 0 = not a terminal (no cutting). */
static size_t term_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col)
		return 0;
	return ws.ws_col;
}

static json_t *json_process(const e2b_process_info *p)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "tag", *p->tag ? json_str(p->tag) : json_null());
	json_object_set_new(o, "cmd", json_str(p->cmd));
	for (i = 0; i < p->args_count; i++)
		json_array_append_new(a, json_str(p->args[i]));
	json_object_set_new(o, "args", a);
	json_object_set_new(o, "envs", json_kv(p->envs, p->envs_count));
	json_object_set_new(o, "cwd", *p->cwd ? json_str(p->cwd) : json_null());
	json_object_set_new(o, "internal", json_boolean(internal(p)));
	return o;
}

static int cmd_ps_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_process_list *list = NULL;
	e2b_sandbox *sb = NULL;
	int all = cmd_count(args, "all") > 0;
	size_t i, k, width = cmd_count(args, "wide") ? 0 : term_width();
	char *line = NULL;
	int error, code;

	error = ctx_sandbox(ctx, args->argv[0], &sb, NULL);
	if (error)
		goto out;
	code = e2b_commands_list(&list, sb);
	if (code < 0) {
		error = error_e2b(code, "cannot list processes");
		goto out;
	}
	if (ctx->json) {
		json_t *arr = json_array();

		for (i = 0; i < list->count; i++)
			if (all || !internal(&list->items[i]))
				json_array_append_new(arr, json_process(&list->items[i]));
		out_json(arr);
		goto out;
	}
	printf("%-8s %-12s %s\n", "PID", "TAG", "COMMAND");
	for (i = 0; i < list->count; i++) {
		const e2b_process_info *p = &list->items[i];
		size_t len;

		if (!all && internal(p))
			continue;
		free(line);
		line = xasprintf("%-8u %-12s %s", p->pid, *p->tag ? p->tag : "-", p->cmd);
		for (k = 0; k < p->args_count; k++) {
			char *l = xasprintf("%s %s", line, p->args[k]);

			free(line);
			line = l;
		}
		/* One process, one line: newlines in arguments shown as spaces. */
		for (len = 0; line[len]; len++)
			if (line[len] == '\n' || line[len] == '\r')
				line[len] = ' ';
		if (width >= 4 && len > width) {
			/* Cut to the terminal's width, marked. */
			memcpy(line + width - 3, "...", 4);
		}
		printf("%s\n", line);
	}
out:
	free(line);
	e2b_process_list_free(list);
	e2b_sandbox_free(sb);
	return error;
}

const struct cmd_spec cmd_ps_spec = {
	.name = "ps",
	.usage = "ID [-a|--all] [-w|--wide]",
	.summary = "list processes in a sandbox",
	.options = cmd_ps_options,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_ps_exec,
};
