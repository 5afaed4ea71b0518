/* SPDX-License-Identifier: MIT */
/*
 * A sandbox handle resumed many times against the running e2bd: the memory
 * libe2b holds does not grow with the number of resumes (its live-block
 * count is the same after 200 resumes as after one), and the getters stay
 * right while another thread resumes the same handle (run under valgrind
 * and ASan by tests/integration/client.sh).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <e2b/e2b.h>
#include "alloc.h"

#define RESUMES 200
#define CONCURRENT_RESUMES 50

static int failed;
static e2b_sandbox *sb;
static char *want_url;
static atomic_int stop;

/* One TAP line; @detail NULL = the library's last error. */
static void check(int cond, const char *name, const char *detail)
{
	failed |= !cond;
	printf("%s - %s%s%s\n", cond ? "ok" : "not ok", name, cond ? "" : ": ",
	       cond ? "" : detail ? detail : e2b_error_last()->message);
}

/* A client from the environment and a fresh "base" sandbox on it. */
static int setup(e2b_client **c)
{
	e2b_sandbox_create_options so = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	e2b_config cfg = E2B_CONFIG_INIT;
	int rc;

	rc = e2b_global_init();
	if (rc == 0)
		rc = e2b_config_from_env(&cfg);
	if (rc == 0)
		rc = e2b_client_new(c, &cfg);
	check(rc == 0, "client", NULL);
	if (rc < 0)
		return rc;
	so.template_id = "base";
	rc = e2b_sandbox_create(&sb, *c, &so);
	check(rc == 0, "create", NULL);
	return rc;
}

/* Resume @n times; returns the first error, or 0. */
static int resume_n(int n)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = e2b_sandbox_resume(sb, 300);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Read every getter, at least once and until told to stop; *arg becomes
 * the number of reads, or -1 when a value was wrong. */
static void *reader(void *arg)
{
	long *reads = arg;
	char *url, *tpl, *ver;
	int bad = 0;

	do {
		url = tpl = ver = NULL;
		if (e2b_sandbox_envd_url(&url, sb) < 0 || e2b_sandbox_template_id(&tpl, sb) < 0 ||
		    e2b_sandbox_envd_version(&ver, sb) < 0 || strcmp(url, want_url) || !*ver ||
		    !e2b_sandbox_has_feature(sb, E2B_FEATURE_COMMANDS_STDIN))
			bad = 1;
		e2b_free(url);
		e2b_free(tpl);
		e2b_free(ver);
		(*reads)++;
	} while (!atomic_load(&stop) && !bad);
	if (bad)
		*reads = -1;
	return NULL;
}

int main(void)
{
	e2b_client *c = NULL;
	char detail[160];
	long live0, live1, reads = 0;
	pthread_t t;
	int rc;

	if (setup(&c) < 0)
		goto out;
	rc = e2b_sandbox_envd_url(&want_url, sb);
	check(rc == 0 && *want_url, "envd url", NULL);
	if (rc < 0)
		goto out;

	/* Warm up the connection pool, then count. */
	rc = resume_n(1);
	check(rc == 0, "first resume", NULL);
	live0 = e2b__alloc_live();
	rc = resume_n(RESUMES);
	live1 = e2b__alloc_live();
	check(rc == 0, "200 resumes", NULL);
	snprintf(detail, sizeof(detail), "%ld live blocks after one resume, %ld after %d more",
		 live0, live1, RESUMES);
	check(live1 == live0, "memory does not grow with resumes", detail);

	/* Getters on one thread while another resumes the same handle. */
	rc = pthread_create(&t, NULL, reader, &reads);
	check(rc == 0, "reader thread", "pthread_create failed");
	if (rc != 0)
		goto out;
	rc = resume_n(CONCURRENT_RESUMES);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	check(rc == 0, "resumes beside the reader", NULL);
	snprintf(detail, sizeof(detail), "reader result %ld", reads);
	check(reads > 0, "getters stay right during concurrent resumes", detail);
out:
	e2b_free(want_url);
	if (sb)
		e2b_sandbox_kill(NULL, sb);
	e2b_sandbox_free(sb);
	e2b_client_free(c);
	e2b_global_shutdown();
	return failed;
}
