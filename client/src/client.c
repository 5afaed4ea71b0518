/* SPDX-License-Identifier: MIT */
/*
 * Library and client lifecycle: global init (libcurl, jansson allocator),
 * client creation from a config, and the small public utilities.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alloc.h"
#include "client_int.h"
#include "error.h"
#include "util.h"

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_refs;

static void *json_alloc(size_t n)
{
	return e2b__malloc(n);
}

int e2b_global_init(void)
{
	int error = 0;

	pthread_mutex_lock(&global_lock);
	if (global_refs++ == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			global_refs = 0;
			error = e2b__error_set(E2B_ERROR, "cannot initialise libcurl");
		} else {
			/* Route jansson through our allocator for torture tests. */
			json_set_alloc_funcs(json_alloc, e2b__free);
		}
	}
	pthread_mutex_unlock(&global_lock);
	return error;
}

void e2b_global_shutdown(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_refs && --global_refs == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&global_lock);
}

const char *e2b_version(void)
{
	return E2B_VERSION;
}

void e2b_free(void *ptr)
{
	e2b__free(ptr);
}

int e2b_client_new(e2b_client **out, const e2b_config *cfg)
{
	e2b_client *c;
	int error;

	E2B_ASSERT_ARG(out);
	*out = NULL;
	c = e2b__calloc(1, sizeof(*c));
	if (!c)
		return e2b__error_oom();
	error = e2b__conf_init(&c->conf, cfg);
	if (error < 0) {
		e2b__free(c);
		return error;
	}
	error = e2b__http_init(&c->http, &c->conf);
	if (error < 0) {
		e2b__conf_release(&c->conf);
		e2b__free(c);
		return error;
	}
	e2b__debug(&c->conf.log, "client: api %s, protocol %s, sandbox url %s",
		   c->conf.api_url,
		   c->conf.protocol == E2B_PROTOCOL_PRIVATE ? "private" : "native",
		   c->conf.sandbox_url ? c->conf.sandbox_url : "(from domain)");
	*out = c;
	return 0;
}

void e2b_client_free(e2b_client *client)
{
	if (!client)
		return;
	e2b__http_release(&client->http);
	e2b__conf_release(&client->conf);
	e2b__free(client);
}

const char *e2b_client_api_url(const e2b_client *client)
{
	return client ? client->conf.api_url : NULL;
}

int e2b_client_sandbox_url(char **out, const e2b_client *client,
			   const char *sandbox_id, const char *api_domain)
{
	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(client);
	return e2b__conf_envd_url(out, &client->conf, sandbox_id, api_domain);
}
