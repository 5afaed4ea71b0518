/* SPDX-License-Identifier: MIT */
/*
 * The parts of e2bd outside the core, stubbed for the HTTP fuzz target:
 * isolation succeeds without doing anything, the services have no
 * methods (the test service stands in), envd HTTP routes swallow the body
 * and answer 204, and the users are root and user.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/e2bd.h"
#include "envd/fsrpc.h"
#include "envd/process.h"
#include "envd/users.h"
#include "isolate/nsbox.h"
#include "isolate/sbfs.h"
#include "http/rpc.h"
#include "api/usage.h"

struct e2bd_config g_cfg;
volatile int g_shutting_down;

int nsbox_global_init(const char *state_dir, char *err, size_t errlen)
{
	return 0;
}

int nsbox_start(struct sandbox *sb)
{
	return 0;
}

int nsbox_stop(struct sandbox *sb)
{
	return 0;
}

int nsbox_freeze(struct sandbox *sb, bool frozen)
{
	return 0;
}

int nsbox_destroy_layer(struct sandbox *sb)
{
	return 0;
}

int nsbox_connect_port(struct sandbox *sb, int port)
{
	return -1;	/* nothing listens: the proxy answers 502 */
}

int usage_sample(struct sandbox *sb, struct usage *out)
{
	memset(out, 0, sizeof(*out));
	return -1;
}

void usage_room(struct sandbox *sb, struct usage_room *out)
{
	memset(out, 0, sizeof(*out));
}

int process_table_init(struct sandbox *sb)
{
	return 0;
}

void process_table_release(struct sandbox *sb)
{
}

int fsrpc_watch_table_init(struct sandbox *sb)
{
	return 0;
}

void fsrpc_watch_table_release(struct sandbox *sb)
{
}

const struct rpc_method fsrpc_methods[] = { { .path = NULL } };
const struct rpc_method process_methods[] = { { .path = NULL } };

enum MHD_Result files_dispatch(struct envd_request *r,
			       const char *upload_data,
			       size_t *upload_data_size)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(r->conn, 204, resp);
	MHD_destroy_response(resp);
	return ret;
}

int users_lookup(struct sandbox *sb, const char *name, struct sb_user *out)
{
	bool root = strcmp(name, "root") == 0;

	if (!root && strcmp(name, "user") != 0)
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->uid = root ? 0 : 1000;
	out->gid = out->uid;
	snprintf(out->home, sizeof(out->home), "%s", root ? "/root" : "/home/user");
	return 0;
}

void sbfs_file_cache_release(struct sb_file_cache *c)
{
	free(c->data);
	c->data = NULL;
	pthread_mutex_destroy(&c->lock);
}
