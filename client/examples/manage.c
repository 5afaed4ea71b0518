/* SPDX-License-Identifier: MIT */
/*
 * Management without a sandbox handle: list sandboxes, show one, pause,
 * resume and kill it.  Usage: manage [list | info ID | pause ID |
 * resume ID | kill ID]; with no arguments it lists.
 */
#include <stdio.h>
#include <string.h>

#include <e2b/e2b.h>

static int fail(const char *what)
{
	const e2b_error *err = e2b_error_last();

	fprintf(stderr, "manage: %s: %s (%s)\n", what, err->message,
		e2b_error_code_str(err->code));
	return 1;
}

static void show(const e2b_sandbox_info *i)
{
	size_t k;

	printf("%s\t%s\t%s\tenvd %s", i->sandbox_id, i->template_id,
	       e2b_sandbox_state_str(i->state), i->envd_version);
	for (k = 0; k < i->metadata_count; k++)
		printf("\t%s=%s", i->metadata[k].key, i->metadata[k].value);
	printf("\n");
}

static int run(e2b_client *c, int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "list";
	const char *id = argc > 2 ? argv[2] : NULL;
	e2b_mgmt_list_options lo = E2B_MGMT_LIST_OPTIONS_INIT;
	e2b_sandbox_list *list = NULL;
	e2b_sandbox_info *info = NULL;
	size_t k;
	int flag = 0;

	if (!strcmp(cmd, "list")) {
		lo.flags = E2B_MGMT_LIST_ALL_PAGES;
		if (e2b_mgmt_list(&list, c, &lo) < 0)
			return fail("list");
		for (k = 0; k < list->count; k++)
			show(&list->items[k]);
		e2b_sandbox_list_free(list);
		return 0;
	}
	if (!id) {
		fprintf(stderr, "manage: '%s' needs a sandbox id\n", cmd);
		return 2;
	}
	if (!strcmp(cmd, "info")) {
		if (e2b_mgmt_get_info(&info, c, id) < 0)
			return fail("info");
		show(info);
		e2b_sandbox_info_free(info);
	} else if (!strcmp(cmd, "pause")) {
		if (e2b_mgmt_pause(&flag, c, id) < 0)
			return fail("pause");
		printf("%s\n", flag ? "paused" : "was already paused");
	} else if (!strcmp(cmd, "resume")) {
		if (e2b_mgmt_connect(NULL, c, id, 0) < 0)
			return fail("resume");
		printf("running\n");
	} else if (!strcmp(cmd, "kill")) {
		if (e2b_mgmt_kill(&flag, c, id) < 0)
			return fail("kill");
		printf("%s\n", flag ? "killed" : "not found");
	} else {
		fprintf(stderr, "manage: unknown command '%s'\n", cmd);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_client *client = NULL;
	int rc;

	if (e2b_global_init() < 0)
		return fail("init");
	if (e2b_config_from_env(&cfg) < 0 || e2b_client_new(&client, &cfg) < 0)
		rc = fail("client");
	else
		rc = run(client, argc, argv);
	e2b_client_free(client);
	e2b_global_shutdown();
	return rc;
}
