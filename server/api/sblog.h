/* SPDX-License-Identifier: MIT */
/*
 * Sandbox logs: what e2bd did to and in each sandbox (lifecycle, process
 * starts and ends, envd-side errors), kept per sandbox ID in a bounded ring
 * and served by GET /sandboxes/{id}/logs and /v2/sandboxes/{id}/logs.
 * The log of a killed sandbox stays readable for SBLOG_KEEP_DEAD_S, for
 * the newest g_sblog_keep killed sandboxes.  Thread safe: one leaf lock,
 * never held across a call out of this file.  Never log environment values
 * or tokens.
 */
#ifndef E2BD_SBLOG_H
#define E2BD_SBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* E2B's LogLevel, in increasing severity (a level filter keeps >= it). */
enum sblog_level { SBLOG_DEBUG, SBLOG_INFO, SBLOG_WARN, SBLOG_ERROR };

#define SBLOG_ENTRIES_DEFAULT 1000	/* a ring: one v2 page (limit <= 1000) */
#define SBLOG_KEEP_DEFAULT 64		/* killed sandboxes whose logs are kept */
#define SBLOG_KEEP_DEAD_S (24 * 3600)	/* ... and for how long */
#define SBLOG_MESSAGE_MAX 1024		/* bytes of a message, then cut */
#define SBLOG_VALUE_MAX 512		/* bytes of a field value, then cut */

/*
 * Entries per ring and dead sandboxes kept (e2bd's --sandbox-log-entries,
 * --sandbox-log-keep); set before the first sblog call.
 */
extern size_t g_sblog_entries;
extern size_t g_sblog_keep;

/* Start (or restart) the log of sandbox @id: a live ring, emptied if one was left. */
int sblog_open(const char *id);

/*
 * Append an entry to @id's log: the message from @fmt (cut at
 * SBLOG_MESSAGE_MAX) and the fields @kv, a NULL-terminated array of key,
 * value strings (may be NULL; a NULL value ends it too).  An unknown @id is
 * ignored.  An entry equal to the newest one (level, message, fields)
 * counts on it ("repeats" field, newer timestamp) instead of taking a
 * slot, so a keepalive loop cannot flush the ring.  When the ring is full
 * the oldest entry is dropped and counted.
 */
void sblog_add(const char *id, enum sblog_level lvl, const char *const *kv,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sandbox @id was killed: its log is kept for reading, then evicted. */
void sblog_retire(const char *id);

struct sblog_query {
	int64_t cursor_ms;	/* -1: none; forward: >= it, backward: <= it */
	bool backward;		/* newest first */
	size_t limit;
	enum sblog_level min_level;
	const char *search;	/* NULL: any; else a substring of the message */
};

/*
 * Entries of @id matching @q, each {"timestamp", "level", "message",
 * "fields"} (E2B's SandboxLogEntry), in a new array (*out, caller owns).
 * @dropped (may be NULL) gets how many entries the ring dropped so far.
 * 0, -1 if no log of @id exists, -2 out of memory.
 */
int sblog_query(json_t **out, const char *id, const struct sblog_query *q,
		uint64_t *dropped);

/*
 * The v1 "logs"[].line of an entry from sblog_query: the entry as one JSON
 * object {"level", "logger", "message", fields...}, as envd's own log
 * lines are in E2B (the E2B CLI parses them).  Caller frees; NULL on OOM.
 */
char *sblog_line(const json_t *entry);

/*
 * @argv (NULL-terminated) as one shell-quoted line into @out (capacity
 * @cap), cut with "..." when longer.  Returns @out.
 */
char *sblog_cmdline(char *out, size_t cap, char *const *argv);

/* Parse "debug", "info", "warn", "error"; -1 for anything else. */
int sblog_level_parse(const char *s);

/* Free every log (e2bd shutdown, unit tests). */
void sblog_clear(void);

/* Unit tests: the clock (realtime ms) used for new entries; NULL restores. */
void sblog__set_clock(int64_t (*fn)(void));

#endif
