/* SPDX-License-Identifier: MIT */
/*
 * Request/answer exchanges over one process stream, the pattern of e2bfs's
 * metadata helper: write a line to `cat`'s stdin (StreamInput or
 * SendInput), then e2b_process_poll() with a long timeout until the echo
 * arrives.  An answer that arrived must end the poll at once; an exchange
 * that takes longer than STALL_MS is a stall.
 *
 * Usage: e2b-client-stall [EXCHANGES=2000] [stream|send] [MAX_SECONDS=120]
 * (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL and optionally E2B_TEST_CA, a CA file).
 * Prints TAP lines; exits 1 on a stall or an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <e2b/e2b.h>

#define STALL_MS 1000.0
#define POLL_MS 15000

static char got[256];
static size_t got_len;

static int on_out(const char *data, size_t len, void *payload)
{
	(void)payload;
	if (len > sizeof(got) - 1 - got_len)
		len = sizeof(got) - 1 - got_len;
	memcpy(got + got_len, data, len);
	got_len += len;
	got[got_len] = '\0';
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	e2b_sandbox_create_options so = E2B_SANDBOX_CREATE_OPTIONS_INIT;
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	const char *cat[] = { "/bin/cat", NULL };
	long n = argc > 1 ? atol(argv[1]) : 2000;
	int stream = argc > 2 ? strcmp(argv[2], "send") != 0 : 1;
	double budget_ms = (argc > 3 ? atof(argv[3]) : 120) * 1e3;
	double t_start, worst = 0, total = 0;
	e2b_config cfg = E2B_CONFIG_INIT;
	e2b_client *c = NULL;
	e2b_sandbox *sb = NULL;
	e2b_process *proc = NULL;
	long i, stalls = 0, done_n = 0;
	int rc, ended = 0, status = 1;

	if (e2b_global_init() < 0 || e2b_config_from_env(&cfg) < 0) {
		printf("not ok - config: %s\n", e2b_error_last()->message);
		return 1;
	}
	cfg.ca_file = getenv("E2B_TEST_CA");	/* the TLS proxy of client_h2.sh */
	if (e2b_client_new(&c, &cfg) < 0) {
		printf("not ok - client: %s\n", e2b_error_last()->message);
		return 1;
	}
	so.template_id = "base";
	so.timeout_s = 300;
	rc = e2b_sandbox_create(&sb, c, &so);
	if (rc < 0) {
		printf("not ok - create: %s\n", e2b_error_last()->message);
		goto out;
	}
	co.stdin_open = 1;
	co.stdin_stream = stream;
	co.on_stdout = on_out;
	rc = e2b_commands_start_argv(&proc, sb, cat, &co);
	if (rc < 0) {
		printf("not ok - start cat: %s\n", e2b_error_last()->message);
		goto out;
	}
	t_start = now_ms();
	for (i = 0; i < n && now_ms() - t_start < budget_ms; i++) {
		char line[64];
		double t0 = now_ms(), dt;
		size_t len = (size_t)snprintf(line, sizeof(line), "q%ld\n", i);

		got_len = 0;
		got[0] = '\0';
		rc = e2b_process_write_stdin(proc, line, len);
		if (rc < 0) {
			printf("not ok - send %ld: %s\n", i, e2b_error_last()->message);
			goto out;
		}
		while (got_len < len && !ended) {
			rc = e2b_process_poll(&ended, proc, POLL_MS, -1);
			if (rc < 0) {
				printf("not ok - poll %ld: %s\n", i, e2b_error_last()->message);
				goto out;
			}
			if (now_ms() - t0 > 2.0 * POLL_MS)
				break;
		}
		dt = now_ms() - t0;
		if (strcmp(got, line)) {
			printf("not ok - exchange %ld: sent 'q%ld', got %zu bytes '%.40s'\n", i, i,
			       got_len, got);
			goto out;
		}
		if (dt > STALL_MS) {
			stalls++;
			printf("# exchange %ld stalled %.0f ms\n", i, dt);
		}
		if (dt > worst)
			worst = dt;
		total += dt;
		done_n++;
	}
	printf("# %ld exchanges (%s) in %.1f s, mean %.3f ms, worst %.1f ms, %ld stall(s)\n",
	       done_n, stream ? "StreamInput" : "SendInput", (now_ms() - t_start) / 1e3,
	       done_n ? total / done_n : 0.0, worst, stalls);
	printf("%s - %ld exchanges over one process stream (%s) without a stall\n",
	       stalls || done_n == 0 ? "not ok" : "ok", done_n,
	       stream ? "StreamInput" : "SendInput");
	status = stalls || done_n == 0;
out:
	if (proc) {
		e2b_process_kill(NULL, proc);
		e2b_process_free(proc);
	}
	if (sb)
		e2b_sandbox_kill_and_free(sb);
	e2b_client_free(c);
	return status;
}
