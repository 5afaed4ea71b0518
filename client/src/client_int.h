/* SPDX-License-Identifier: MIT */
/*
 * The api layer's shared definitions: what a client and a sandbox handle
 * hold, and how the other api files get an envd target from a sandbox.
 */
#ifndef E2B_CLIENT_INT_H
#define E2B_CLIENT_INT_H

#include <pthread.h>

#include <e2b/e2b.h>
#include "conf.h"
#include "connect.h"
#include "http.h"
#include "traffic.h"

struct e2b_client {
	struct e2b__conf conf;
	struct e2b__http http;
};

struct e2b_sandbox {
	e2b_client *client;
	char *id;
	pthread_mutex_t lock;
	/* The fields below are replaced by a resume, which frees the old
	 * values: read them only under the lock, and hand out copies.
	 * Protected by lock. */
	char *template_id;
	char *envd_url;
	char *access_token;
	char *envd_version;
	char *domain;
	/* Traffic access token and its refresh schedule; a refresh runs
	 * without the lock, with tt_busy set, and tt_cond announces its end.
	 * Protected by lock. */
	struct e2b__ttoken tt;
	int tt_busy;
	pthread_cond_t tt_cond;
};

/*
 * Snapshot how to reach the sandbox's envd for one call, with the
 * effective user (@user, else the config's, else "user" on envd < 0.4.0).
 */
int e2b__sandbox_envd(struct e2b__envd *out, e2b_sandbox *sb, const char *user);


#endif
