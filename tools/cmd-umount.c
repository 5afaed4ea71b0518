/* SPDX-License-Identifier: MIT */
/*
 * e2bctl umount: unmount an e2bfs mount with fusermount3 -u.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "mnt.h"

static const struct cmd_option cmd_umount_options[] = {
	{ "lazy", 'z', NULL, 0, "detach now, clean up when no longer busy" },
	{ NULL, 0, NULL, 0, NULL },
};

static int cmd_umount_exec(struct cmd_ctx *ctx, struct cmd_args *args)
{
	const char *argv[5];
	int argc = 0, status;
	pid_t pid;

	if (!mnt_is_e2bfs(args->argv[0])) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: '%s' is not an e2bfs mount point\n", args->argv[0]);
		return E2BCTL_EXIT_NOTFOUND;
	}
	argv[argc++] = "fusermount3";
	argv[argc++] = cmd_count(args, "lazy") ? "-uz" : "-u";
	argv[argc++] = "--";
	argv[argc++] = args->argv[0];
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return error_msg("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "e2bctl: cannot run 'fusermount3': %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return error_msg("cannot wait for fusermount3: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (ctx->json) {
			json_t *o = json_object();

			json_object_set_new(o, "mountpoint", json_str(args->argv[0]));
			json_object_set_new(o, "unmounted", json_true());
			out_json(o);
		}
		return 0;
	}
	/* fusermount3 has printed why. */
	return error_msg("cannot unmount '%s'", args->argv[0]);
}

const struct cmd_spec cmd_umount_spec = {
	.name = "umount",
	.usage = "MOUNTPOINT",
	.summary = "unmount an e2bfs mount",
	.options = cmd_umount_options,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_OFFLINE,
	.exec = cmd_umount_exec,
};
