/* SPDX-License-Identifier: MIT */
/*
 * cmdloop: `run true` through libe2b in one process, for bench/commands.
 *
 *   cmdloop ID latency N [shell]     N sequential runs of `true` on one handle
 *   cmdloop ID concurrent N [shell]  N runs at once, one thread each
 *
 * `/bin/true` runs directly (e2b_commands_run_argv); with "shell" it runs
 * as the official SDK's commands.run and e2bctl run run it, through
 * `bash -l -c` (e2b_commands_run), login profile and all.
 *
 * The client comes from the environment (E2B_API_KEY, E2B_API_URL, ...);
 * the sandbox is looked up once.  Prints one line of key=value figures in
 * milliseconds: n, ok, mean, p50, p99, total.  Exit 1 if a run failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <e2b/e2b.h>

struct job {
	e2b_sandbox *sb;
	pthread_barrier_t *go;
	double ms;
	int ok;
};

static int shell;	/* through bash -l -c, like the SDK */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_true(e2b_sandbox *sb)
{
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	e2b_commands_options o = E2B_COMMANDS_OPTIONS_INIT;
	const char *argv[] = { "/bin/true", NULL };
	int rc;

	if (shell)
		rc = e2b_commands_run(&r, sb, "/bin/true", &o);
	else
		rc = e2b_commands_run_argv(&r, sb, argv, &o);
	e2b_process_result_release(&r);
	if (rc < 0)
		fprintf(stderr, "cmdloop: run: %s\n", e2b_error_last()->message);
	return rc == 0;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	double t0;

	pthread_barrier_wait(j->go);
	t0 = now_ms();
	j->ok = run_true(j->sb);
	j->ms = now_ms() - t0;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	e2b_sandbox_open_options oo = E2B_SANDBOX_OPEN_OPTIONS_INIT;
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_sandbox_info *info = NULL;
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	pthread_barrier_t go;
	struct job *jobs;
	pthread_t *tids;
	double *ms, total, sum = 0, t0;
	long n, i, ok = 0;
	int concurrent;

	if ((argc != 4 && argc != 5) || (argc == 5 && strcmp(argv[4], "shell")) ||
	    (strcmp(argv[2], "latency") && strcmp(argv[2], "concurrent"))) {
		fprintf(stderr, "usage: cmdloop ID latency|concurrent N [shell]\n");
		return 2;
	}
	shell = argc == 5;
	concurrent = !strcmp(argv[2], "concurrent");
	n = atol(argv[3]);
	if (n < 1 || n > 100000)
		return 2;
	if (e2b_global_init() < 0 || e2b_config_from_env(&cfg) < 0 ||
	    e2b_client_new(&c, &cfg) < 0 || e2b_mgmt_get_info(&info, c, argv[1]) < 0) {
		fprintf(stderr, "cmdloop: %s\n", e2b_error_last()->message);
		return 1;
	}
	oo.envd_access_token = *info->envd_access_token ? info->envd_access_token : NULL;
	oo.envd_version = *info->envd_version ? info->envd_version : NULL;
	oo.domain = *info->domain ? info->domain : NULL;
	if (e2b_sandbox_open(&sb, c, argv[1], &oo) < 0) {
		fprintf(stderr, "cmdloop: %s\n", e2b_error_last()->message);
		return 1;
	}
	run_true(sb);	/* warm: connections, DNS */
	jobs = calloc((size_t)n, sizeof(*jobs));
	tids = calloc((size_t)n, sizeof(*tids));
	ms = calloc((size_t)n, sizeof(*ms));
	if (!jobs || !tids || !ms)
		return 1;
	t0 = now_ms();
	if (concurrent) {
		pthread_barrier_init(&go, NULL, (unsigned)n);
		for (i = 0; i < n; i++) {
			jobs[i].sb = sb;
			jobs[i].go = &go;
			if (pthread_create(&tids[i], NULL, worker, &jobs[i]) != 0) {
				fprintf(stderr, "cmdloop: cannot start thread %ld\n", i);
				return 1;
			}
		}
		for (i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
	} else {
		for (i = 0; i < n; i++) {
			double t = now_ms();

			jobs[i].ok = run_true(sb);
			jobs[i].ms = now_ms() - t;
		}
	}
	total = now_ms() - t0;
	for (i = 0; i < n; i++) {
		ms[i] = jobs[i].ms;
		sum += ms[i];
		ok += jobs[i].ok;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	printf("n=%ld ok=%ld mean=%.2f p50=%.2f p99=%.2f total=%.1f\n", n, ok, sum / n,
	       ms[(n - 1) / 2], ms[(size_t)((n - 1) * 0.99 + 0.5)], total);
	free(jobs);
	free(tids);
	free(ms);
	e2b_sandbox_free(sb);
	e2b_sandbox_info_free(info);
	e2b_client_free(c);
	e2b_global_shutdown();
	return ok == n ? 0 : 1;
}
