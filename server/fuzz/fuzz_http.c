/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for e2bd's HTTP front door: the input is sent as raw
 * bytes on a loopback connection to an in-process listener (http.c,
 * rpc.c, mgmt.c, sandbox.c with stubbed isolation and services), then the
 * write side is shut and the answer drained.  The API key is "e2b_fuzz"
 * and the test service is on, so inputs reach the management API, the
 * envd routing forms and every Connect framing path; e2bd must answer or
 * close every connection, never crash or hang.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "api/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int started;
static char state_dir[] = "/tmp/e2bd-fuzz-XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Stop the listener and remove the private state directory. */
static void stop_all(void)
{
	g_shutting_down = 1;
	http_stop();
	sandbox_registry_shutdown();
	nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Keep a running sandbox called "fuzzsb" (inputs may kill it) so envd
 * routing and the Connect paths are reachable with a fixed ID.
 */
static void ensure_sandbox(void)
{
	struct sandbox_opts o = { .template_id = "base", .timeout_s = 86400,
				  .id = "fuzzsb" };
	struct sandbox *sb = sandbox_get("fuzzsb");
	char err[256];

	if (sb) {
		if (sandbox_state_get(sb, NULL) == SB_PAUSED)
			sandbox_resume(sb, 86400, false);
		sandbox_put(sb);
		return;
	}
	/* Fails only if a concurrent input just created it. */
	if (sandbox_create(&o, &sb, err, sizeof(err)) == 0)
		sandbox_put(sb);
}

static void start_once(void)
{
	char err[256];

	if (started)
		return;
	if (!mkdtemp(state_dir))
		abort();
	g_cfg.state_dir = state_dir;
	g_cfg.listen_addr = (char *)"127.0.0.1";
	g_cfg.port = 0;
	g_cfg.log_level = LOG_ERROR;
	g_cfg.flavor = getenv("E2BD_FUZZ_OPENKRUISE") ? FLAVOR_OPENKRUISE : FLAVOR_E2B;
	memcpy(g_cfg.api_key, "e2b_fuzz", 9);
	setenv("E2BD_TEST_RPC", "1", 1);
	if (sandbox_registry_init(err, sizeof(err)) < 0 ||
	    http_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-http: %s\n", err);
		abort();
	}
	started = 1;
	atexit(stop_all);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 15 };
	char buf[65536];
	size_t off = 0;
	ssize_t n;
	int fd;

	start_once();
	ensure_sandbox();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	sin.sin_port = htons(g_cfg.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return 0;
	}
	while (off < size) {
		n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* Drain until e2bd closes; a 15 s silence means it hung. */
	for (off = 0;; off++) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n == 0)
			break;
		if (n > 0 && off == 0 && getenv("E2BD_FUZZ_VERBOSE")) {
			buf[n] = '\0';
			fprintf(stderr, "%.*s\n", (int)strcspn(buf, "\r\n"), buf);
		}
		if (n < 0) {
			fprintf(stderr, "fuzz-http: no answer and no close within 15 s\n");
			abort();
		}
	}
	close(fd);
	return 0;
}
