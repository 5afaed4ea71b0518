/* SPDX-License-Identifier: MIT */
/*
 * e2bctl watch: print one line per filesystem event in a sandbox directory
 * until interrupted (exit 0 on Ctrl-C).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

#define WATCH_POLL_MS 250

static const struct cmd_option cmd_watch_options[] = {
	{ "recursive", 'r', NULL, 0, "watch subdirectories too" },
	{ NULL, 0, NULL, 0, NULL },
};

static const char *const event_names[] = {
	[E2B_FS_EVENT_UNKNOWN] = "unknown",
	[E2B_FS_EVENT_CREATE] = "create",
	[E2B_FS_EVENT_WRITE] = "write",
	[E2B_FS_EVENT_REMOVE] = "remove",
	[E2B_FS_EVENT_RENAME] = "rename",
	[E2B_FS_EVENT_CHMOD] = "chmod",
};

struct watch_state {
	int json;
	const char *dir;
};

static int on_event(const e2b_fs_event *ev, void *payload)
{
	struct watch_state *ws = payload;
	const char *type = (unsigned)ev->type < sizeof(event_names) / sizeof(event_names[0]) ?
		event_names[ev->type] : "unknown";

	if (ws->json) {
		json_t *o = json_object();

		json_object_set_new(o, "type", json_string(type));
		json_object_set_new(o, "name", json_str(ev->name));
		json_object_set_new(o, "entry", ev->entry ? json_entry(ev->entry) : json_null());
		out_json_line(o);
	} else {
		printf("%-6s %s\n", type, ev->name);
		fflush(stdout);
	}
	return ferror(stdout) ? -1 : 0;
}

static int cmd_watch_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	e2b_fs_watch_options wo = E2B_FS_WATCH_OPTIONS_INIT;
	struct watch_state ws = { 0 };
	e2b_fs_watch *w = NULL;
	e2b_sandbox *sb = NULL;
	char *mount_cwd = NULL, *path = NULL;
	int error, code = 0;

	error = ctx_sandbox(ctx, args->argv[0], &sb, &mount_cwd);
	if (error)
		goto out;
	path = ctx_path(mount_cwd, args->argv[1]);
	ws.json = ctx->json;
	ws.dir = path;
	wo.recursive = cmd_count(args, "recursive") > 0;
	wo.on_event = on_event;
	wo.payload = &ws;
	code = e2b_fs_watch_start(&w, sb, path, &wo);
	if (code < 0) {
		error = error_path(code, "watch", path);
		goto out;
	}
	sig_catch();
	while (!sig_interrupts) {
		code = e2b_fs_watch_poll(w, WATCH_POLL_MS, -1);
		if (code < 0)
			break;
	}
	sig_default();
	if (code < 0 && !sig_interrupts)
		error = error_e2b(code, "watching '%s' failed", path);
out:
	e2b_fs_watch_free(w);
	e2b_sandbox_free(sb);
	free(mount_cwd);
	free(path);
	return error;
}

const struct cmd_spec cmd_watch_spec = {
	.name = "watch",
	.usage = "ID PATH [--recursive]",
	.summary = "print filesystem events until interrupted",
	.description =
		"Each event is a line \"TYPE NAME\" with TYPE one of create, write,\n"
		"remove, rename, chmod and NAME relative to PATH; with --json, one\n"
		"object {\"type\", \"name\", \"entry\"?} per line.\n",
	.options = cmd_watch_options,
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_watch_exec,
};
