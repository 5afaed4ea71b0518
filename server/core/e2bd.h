/* SPDX-License-Identifier: MIT */
/*
 * e2bd: shared internal declarations (configuration, logging, constants).
 * Every server file includes this first.
 */
#ifndef E2BD_H
#define E2BD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* envd version we report: no higher than the newest behaviour implemented. */
#define E2BD_ENVD_VERSION "0.6.13"
#define E2BD_OPENKRUISE_ENVD_VERSION "0.2.10"
#define E2BD_ENVD_PORT 49983
/* The one team of a local e2bd: E2B_TEAM_ID in every sandbox. */
#define E2BD_TEAM_ID "00000000-0000-4000-8000-0000000e2bd0"
/* Largest request body accepted for JSON (management and unary RPC). */
#define E2BD_MAX_JSON_BODY (4u << 20)
/* Largest single Connect envelope accepted from a client. */
#define E2BD_MAX_ENVELOPE (4u << 20)

enum e2bd_flavor { FLAVOR_E2B, FLAVOR_OPENKRUISE };

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct template_def {
	char *name;
	char *rootfs;	/* NULL for the built-in host-system template */
};

/* --memory-limit, --disk-limit, --network NAME=...: one template's own. */
struct template_limit {
	char *name;
	uint64_t memory, disk;	/* bytes; 0: none */
	bool has_memory, has_disk, has_network;
	bool network_none;	/* --network NAME=none */
};

struct e2bd_config {
	char *listen_addr;	/* "127.0.0.1" */
	unsigned short port;	/* 3000 */
	char *state_dir;
	char api_key[129];
	struct template_def *templates;
	size_t ntemplates;
	char *default_template;
	enum e2bd_flavor flavor;
	enum log_level log_level;
	char *domain;		/* "localhost:PORT" unless given */
	bool network_none;	/* --network none: sandboxes get loopback only */
	char *sandbox_subnet;	/* --sandbox-subnet, NULL = 10.231.0.0/16 */
	char *key_file;		/* absolute path of the API key file */
	unsigned header_timeout_s;	/* --header-timeout (default 30) */
	unsigned per_ip_limit;		/* --max-connections-per-ip (default 2048) */
	uint64_t memory_limit;		/* --memory-limit per sandbox, bytes; 0: none */
	uint64_t disk_limit;		/* --disk-limit per new sandbox, bytes; 0: none */
	struct template_limit *limits;	/* per-template limits, in option order */
	size_t nlimits;
};

extern struct e2bd_config g_cfg;

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * util.c: the memory and disk limits of a sandbox of template @id (NULL:
 * the defaults): the template's own --memory-limit/--disk-limit NAME=SIZE
 * (--network NAME=none), else the default one; base and
 * code-interpreter are one template.
 */
uint64_t util_cfg_memory_limit(const char *id);
uint64_t util_cfg_disk_limit(const char *id);
/* Whether sandboxes of template @id have loopback only (--network). */
bool util_cfg_network_none(const char *id);

/* Monotonic clock in milliseconds. */
int64_t log_now_ms(void);

/* main.c: set once SIGTERM/SIGINT arrived; long waits poll it. */
extern volatile int g_shutting_down;
/* Random bytes as lowercase hex (2 * nbytes chars + NUL) into @out. */
int util_random_hex(char *out, size_t outlen, size_t nbytes);
/* @n random lowercase alphanumerics + NUL into @out (outlen > n). */
int util_random_alnum(char *out, size_t outlen, size_t n);

/*
 * mgmt.c: answer one management API request (path with any /kruise/api
 * prefix removed; @body is the whole request body, @too_big if it went
 * over E2BD_MAX_JSON_BODY).  Returns an enum MHD_Result.
 */
struct MHD_Connection;
int mgmt_handle(struct MHD_Connection *c, const char *method,
		const char *path, bool prefixed, const char *body, size_t len,
		bool too_big);

/*
 * rmtree.c: rm -rf of host-side sandbox state of any depth or path length,
 * never following symlinks or entering other mounts.  0, or -1 with errno
 * (logged) when something was left behind.
 */
int rmtree(const char *path);

/* http.c: start the listener (fills g_cfg.port if it was 0), stop it. */
int http_start(char *err, size_t errlen);
void http_stop(void);

#endif
