/* SPDX-License-Identifier: MIT */
/*
 * Sandbox logs (sblog.h): one ring of entries per sandbox ID, in a list
 * under one lock.  Keyed by ID rather than hung off struct sandbox so a
 * killed sandbox's log outlives the sandbox object and a late writer (a
 * process end seen after the kill) never touches freed memory.
 *
 * Bounds: g_sblog_entries entries per ring (the oldest dropped and
 * counted), messages cut at SBLOG_MESSAGE_MAX and values at
 * SBLOG_VALUE_MAX bytes (on a UTF-8 boundary), at most g_sblog_keep logs
 * of killed sandboxes, each for SBLOG_KEEP_DEAD_S.  Timestamps never go
 * back within a ring, so a cursor (ms) pages it consistently.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/sblog.h"
#include "rfc3339.h"

size_t g_sblog_entries = SBLOG_ENTRIES_DEFAULT;
size_t g_sblog_keep = SBLOG_KEEP_DEFAULT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

struct sblog_entry {
	int64_t ts_ms;
	enum sblog_level level;
	unsigned repeats;	/* more times the same entry came */
	char *message;
	char *fields;		/* JSON text of an object of strings: a third of
				 * the heap a jansson object would hold */
};

struct sblog {
	struct sblog *next;
	char id[64];
	struct sblog_entry *ring;	/* alloc slots, grows up to g_sblog_entries */
	size_t alloc, head, count;	/* head: the oldest entry */
	uint64_t dropped;
	int64_t last_ms;
	int64_t dead_ms;		/* when killed; 0 while alive */
};

static pthread_mutex_t sblog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sblog *logs;		/* protected by sblog_lock */
static int64_t (*clock_fn)(void);	/* protected by sblog_lock */

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock_now(void)
{
	return clock_fn ? clock_fn() : realtime_ms();
}

void sblog__set_clock(int64_t (*fn)(void))
{
	pthread_mutex_lock(&sblog_lock);
	clock_fn = fn;
	pthread_mutex_unlock(&sblog_lock);
}

int sblog_level_parse(const char *s)
{
	int i;

	for (i = 0; s && i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

/* Cut @s (length @n) to at most @max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The length of @s[0..n) without a UTF-8 sequence cut short at its end. */
static size_t utf8_whole(const char *s, size_t n)
{
	size_t k = n, want;
	unsigned char c;

	while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80 && n - k < 3)
		k--;
	if (k == 0)
		return n;
	c = (unsigned char)s[k - 1];
	if (c < 0xc0)
		return n;	/* ASCII (or a stray byte): nothing cut */
	want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return n - (k - 1) < want ? k - 1 : n;
}

/* A JSON string of @s cut to @max bytes ("..." marks a cut); NULL if not UTF-8. */
static json_t *cut_string(const char *s, size_t max)
{
	size_t n = strlen(s), k = utf8_cut(s, n, max);
	char buf[SBLOG_MESSAGE_MAX + 8];

	if (k == n)
		return json_stringn(s, n);
	if (k > sizeof(buf) - 4)
		k = utf8_cut(s, n, sizeof(buf) - 4);
	memcpy(buf, s, k);
	memcpy(buf + k, "...", 4);
	return json_string(buf);
}

static void entry_release(struct sblog_entry *e)
{
	free(e->message);
	free(e->fields);
	memset(e, 0, sizeof(*e));
}

static void log_free(struct sblog *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		entry_release(&l->ring[(l->head + i) % l->alloc]);
	free(l->ring);
	free(l);
}

static struct sblog *find_locked(const char *id)
{
	struct sblog *l;

	for (l = logs; l; l = l->next)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

static void unlink_locked(struct sblog *victim)
{
	struct sblog **pp;

	for (pp = &logs; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			log_free(victim);
			return;
		}
	}
}

/* Evict logs of killed sandboxes past their time, then the oldest past the count. */
static void evict_locked(int64_t now)
{
	struct sblog *l, *next, *oldest;
	size_t dead;

	for (l = logs; l; l = next) {
		next = l->next;
		if (l->dead_ms && now - l->dead_ms >= (int64_t)SBLOG_KEEP_DEAD_S * 1000)
			unlink_locked(l);
	}
	for (;;) {
		dead = 0;
		oldest = NULL;
		for (l = logs; l; l = l->next) {
			if (!l->dead_ms)
				continue;
			dead++;
			if (!oldest || l->dead_ms < oldest->dead_ms)
				oldest = l;
		}
		if (dead <= g_sblog_keep || !oldest)
			return;
		unlink_locked(oldest);
	}
}

int sblog_open(const char *id)
{
	struct sblog *l;
	int error = 0;

	if (strlen(id) >= sizeof(l->id))
		return -1;
	pthread_mutex_lock(&sblog_lock);
	evict_locked(clock_now());
	l = find_locked(id);
	if (l) {
		unlink_locked(l);	/* a new sandbox of a reused ID starts afresh */
		l = NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		error = -1;
		goto out;
	}
	snprintf(l->id, sizeof(l->id), "%s", id);
	l->next = logs;
	logs = l;
out:
	pthread_mutex_unlock(&sblog_lock);
	return error;
}

void sblog_retire(const char *id)
{
	struct sblog *l;
	int64_t now;

	pthread_mutex_lock(&sblog_lock);
	now = clock_now();
	l = find_locked(id);
	if (l && !l->dead_ms)
		l->dead_ms = now > 0 ? now : 1;
	evict_locked(now);
	pthread_mutex_unlock(&sblog_lock);
}

/* The fields object of @kv (strings cut to SBLOG_VALUE_MAX); NULL on OOM. */
static json_t *fields_new(const char *const *kv)
{
	json_t *f = json_object(), *v;
	size_t i;

	if (!f)
		return NULL;
	for (i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
		v = cut_string(kv[i + 1], SBLOG_VALUE_MAX);
		if (!v)
			v = json_string("(not UTF-8)");
		if (json_object_set_new(f, kv[i], v) < 0) {
			json_decref(f);
			return NULL;
		}
	}
	return f;
}

/* Slot for a new entry at the tail: grows the ring, or drops the oldest. */
static struct sblog_entry *tail_slot_locked(struct sblog *l)
{
	size_t cap = g_sblog_entries ? g_sblog_entries : 1;

	if (l->count == l->alloc && l->alloc < cap) {
		/* Still growing: head is 0, as nothing was dropped yet. */
		size_t n = l->alloc ? l->alloc * 2 : 16;
		struct sblog_entry *r;

		if (n > cap)
			n = cap;
		r = realloc(l->ring, n * sizeof(*r));
		if (!r)
			return NULL;
		l->ring = r;
		l->alloc = n;
	}
	if (l->count == l->alloc) {
		entry_release(&l->ring[l->head]);
		l->head = (l->head + 1) % l->alloc;
		l->count--;
		l->dropped++;
	}
	return &l->ring[(l->head + l->count) % l->alloc];
}

void sblog_add(const char *id, enum sblog_level lvl, const char *const *kv,
	       const char *fmt, ...)
{
	char msg[SBLOG_MESSAGE_MAX + 1];
	struct sblog_entry *e, *last;
	struct sblog *l;
	json_t *obj, *m;
	char *fields;
	va_list ap;
	int64_t now;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[utf8_cut(msg, strlen(msg), SBLOG_MESSAGE_MAX)] = '\0';
	m = json_string(msg);		/* checks UTF-8 */
	if (!m)
		snprintf(msg, sizeof(msg), "(message not UTF-8)");
	json_decref(m);
	obj = fields_new(kv);
	fields = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!fields)
		return;
	pthread_mutex_lock(&sblog_lock);
	l = find_locked(id);
	if (!l)
		goto out;
	now = clock_now();
	if (now < l->last_ms)
		now = l->last_ms;	/* the clock went back: keep the order */
	last = l->count ? &l->ring[(l->head + l->count - 1) % l->alloc] : NULL;
	if (last && last->level == lvl && strcmp(last->message, msg) == 0 &&
	    strcmp(last->fields, fields) == 0) {
		last->repeats++;
		last->ts_ms = now;
		l->last_ms = now;
		goto out;
	}
	e = tail_slot_locked(l);
	if (!e)
		goto out;
	e->message = strdup(msg);
	if (!e->message)
		goto out;
	e->ts_ms = now;
	e->level = lvl;
	e->repeats = 0;
	e->fields = fields;
	fields = NULL;
	l->count++;
	l->last_ms = now;
out:
	pthread_mutex_unlock(&sblog_lock);
	free(fields);
}

static bool entry_matches(const struct sblog_entry *e, const struct sblog_query *q)
{
	if (e->level < q->min_level)
		return false;
	if (q->cursor_ms >= 0 &&
	    (q->backward ? e->ts_ms > q->cursor_ms : e->ts_ms < q->cursor_ms))
		return false;
	return !q->search || strstr(e->message, q->search);
}

static json_t *entry_json(const struct sblog_entry *e)
{
	char ts[E2BU_RFC3339_MAX], msg[SBLOG_MESSAGE_MAX + 40];
	int64_t sec = e->ts_ms / 1000;
	int32_t ms = (int32_t)(e->ts_ms % 1000);
	json_t *fields;

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	if (e2bu_rfc3339_format(ts, sizeof(ts), sec, ms * 1000000, 3) < 0)
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00.000Z");
	fields = json_loads(e->fields, 0, NULL);
	if (!fields)
		return NULL;
	if (e->repeats) {
		char count[16];

		snprintf(msg, sizeof(msg), "%s (repeated %u times)", e->message,
			 e->repeats + 1);
		snprintf(count, sizeof(count), "%u", e->repeats + 1);
		json_object_set_new(fields, "repeats", json_string(count));
	} else {
		snprintf(msg, sizeof(msg), "%s", e->message);
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "timestamp", ts, "level",
			 level_names[e->level], "message", msg, "fields", fields);
}

int sblog_query(json_t **out, const char *id, const struct sblog_query *q,
		uint64_t *dropped)
{
	const struct sblog_entry *e;
	struct sblog *l;
	json_t *arr, *j;
	size_t i, n = 0;
	int error = 0;

	*out = NULL;
	arr = json_array();
	if (!arr)
		return -2;
	pthread_mutex_lock(&sblog_lock);
	evict_locked(clock_now());
	l = find_locked(id);
	if (!l) {
		error = -1;
		goto out;
	}
	if (dropped)
		*dropped = l->dropped;
	for (i = 0; i < l->count && n < q->limit; i++) {
		size_t k = q->backward ? l->count - 1 - i : i;

		e = &l->ring[(l->head + k) % l->alloc];
		if (!entry_matches(e, q))
			continue;
		j = entry_json(e);
		if (!j || json_array_append_new(arr, j) < 0) {
			error = -2;
			goto out;
		}
		n++;
	}
out:
	pthread_mutex_unlock(&sblog_lock);
	if (error < 0)
		json_decref(arr);
	else
		*out = arr;
	return error;
}

/*
 * Which part of e2bd an entry comes from, from its "event" field, named as
 * envd names its loggers ("processSvc"): the E2B CLI filters on it.
 */
static const char *entry_logger(const json_t *fields)
{
	const char *ev = json_string_value(json_object_get(fields, "event"));

	if (ev && strncmp(ev, "process.", 8) == 0)
		return "processSvc";
	return "sandboxSvc";
}

char *sblog_line(const json_t *entry)
{
	json_t *fields = json_object_get(entry, "fields"), *o, *v;
	const char *key;
	char *line;

	o = json_pack("{s:O?, s:s, s:O?}", "level", json_object_get(entry, "level"),
		      "logger", entry_logger(fields), "message",
		      json_object_get(entry, "message"));
	if (!o)
		return NULL;
	json_object_foreach(fields, key, v) {
		if (!json_object_get(o, key))
			json_object_set(o, key, v);
	}
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return line;
}

/* Whether @s passes through sh unquoted. */
static bool shell_plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_-+=/.,:@%", *s))
			return false;
	return true;
}

/* Append @c to @out at *@n, keeping room for "..." and the NUL; false when full. */
static bool put(char *out, size_t cap, size_t *n, char c)
{
	if (*n + 4 >= cap)
		return false;
	out[(*n)++] = c;
	return true;
}

char *sblog_cmdline(char *out, size_t cap, char *const *argv)
{
	size_t n = 0, i;
	const char *s;
	bool room = true;

	if (cap < 4) {
		if (cap)
			out[0] = '\0';
		return out;
	}
	for (i = 0; room && argv && argv[i]; i++) {
		if (i)
			room = put(out, cap, &n, ' ');
		if (shell_plain(argv[i])) {
			for (s = argv[i]; room && *s; s++)
				room = put(out, cap, &n, *s);
			continue;
		}
		/* 'it'\''s' */
		room = room && put(out, cap, &n, '\'');
		for (s = argv[i]; room && *s; s++) {
			if (*s != '\'') {
				room = put(out, cap, &n, *s);
				continue;
			}
			room = put(out, cap, &n, '\'') && put(out, cap, &n, '\\') &&
			       put(out, cap, &n, '\'') && put(out, cap, &n, '\'');
		}
		room = room && put(out, cap, &n, '\'');
	}
	if (!room) {
		n = utf8_whole(out, n);
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

void sblog_clear(void)
{
	struct sblog *l;

	pthread_mutex_lock(&sblog_lock);
	while ((l = logs)) {
		logs = l->next;
		log_free(l);
	}
	pthread_mutex_unlock(&sblog_lock);
}
