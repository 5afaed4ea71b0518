/* SPDX-License-Identifier: MIT */
/*
 * The sandbox registry and lifecycle: create, kill, pause, resume, the
 * expiry timer, and persistence of each sandbox as
 * STATE_DIR/sandboxes/<id>/sandbox.json so a restarted e2bd lists every
 * sandbox again (paused, its processes gone; resume restarts it).
 *
 * Locking: reg_lock guards the registry array, every sb->refs and the
 * tombstones; sb->lock serializes lifecycle calls of one sandbox and
 * guards state, end_at and ns_started.  reg_lock is never taken while
 * waiting for an nsbox call, and sb->lock is taken before reg_lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "envd/fsrpc.h"
#include "envd/process.h"
#include "isolate/nsbox.h"
#include "isolate/sbfs.h"
#include "http/rpc.h"
#include "api/sandbox.h"
#include "api/sblog.h"

#define TOMBSTONES 1024

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sandbox **reg;		/* protected by reg_lock */
static size_t reg_n, reg_cap;		/* protected by reg_lock */
static char tombstones[TOMBSTONES][40];	/* protected by reg_lock */
static size_t tomb_next;		/* protected by reg_lock */

static pthread_t timer_thread;
static bool timer_running;
static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond = PTHREAD_COND_INITIALIZER;
static bool timer_stop;			/* protected by timer_lock */

static void sandbox_free(struct sandbox *sb)
{
	process_table_release(sb);
	fsrpc_watch_table_release(sb);
	json_decref(sb->metadata);
	json_decref(sb->env_vars);
	free((char *)sb->lower);
	free(sb->dir);
	sbfs_file_cache_release(&sb->passwd);
	sbfs_file_cache_release(&sb->group);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

struct sandbox *sandbox_get(const char *id)
{
	struct sandbox *sb = NULL;
	size_t i;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < reg_n; i++) {
		if (strcmp(reg[i]->id, id) == 0) {
			sb = reg[i];
			sb->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return sb;
}

struct sandbox *sandbox_ref(struct sandbox *sb)
{
	pthread_mutex_lock(&reg_lock);
	sb->refs++;
	pthread_mutex_unlock(&reg_lock);
	return sb;
}

void sandbox_put(struct sandbox *sb)
{
	bool last;

	if (!sb)
		return;
	pthread_mutex_lock(&reg_lock);
	last = --sb->refs == 0;
	pthread_mutex_unlock(&reg_lock);
	if (last)
		sandbox_free(sb);
}

static int registry_add(struct sandbox *sb)
{
	int error = 0;

	pthread_mutex_lock(&reg_lock);
	if (reg_n == reg_cap) {
		size_t cap = reg_cap ? reg_cap * 2 : 64;
		struct sandbox **n = realloc(reg, cap * sizeof(*n));

		if (!n) {
			error = -1;
			goto out;
		}
		reg = n;
		reg_cap = cap;
	}
	sb->refs++;	/* the registry's reference */
	reg[reg_n++] = sb;
out:
	pthread_mutex_unlock(&reg_lock);
	return error;
}

/* Drop @sb from the registry and remember its ID; returns true if it was there. */
static bool registry_remove(struct sandbox *sb)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < reg_n; i++) {
		if (reg[i] == sb) {
			reg[i] = reg[--reg_n];
			found = true;
			break;
		}
	}
	if (found) {
		snprintf(tombstones[tomb_next], sizeof(tombstones[0]), "%s", sb->id);
		tomb_next = (tomb_next + 1) % TOMBSTONES;
	}
	pthread_mutex_unlock(&reg_lock);
	if (found)
		sandbox_put(sb);
	return found;
}

bool sandbox_was_killed(const char *id)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < TOMBSTONES && !found; i++)
		found = tombstones[i][0] && strcmp(tombstones[i], id) == 0;
	pthread_mutex_unlock(&reg_lock);
	return found;
}

int sandbox_list(struct sandbox ***out)
{
	struct sandbox **list;
	size_t i;
	int n;

	pthread_mutex_lock(&reg_lock);
	list = calloc(reg_n ? reg_n : 1, sizeof(*list));
	if (!list) {
		pthread_mutex_unlock(&reg_lock);
		return -1;
	}
	for (i = 0; i < reg_n; i++) {
		reg[i]->refs++;
		list[i] = reg[i];
	}
	n = (int)reg_n;
	pthread_mutex_unlock(&reg_lock);
	*out = list;
	return n;
}

void sandbox_list_free(struct sandbox **list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		sandbox_put(list[i]);
	free(list);
}

static const char *state_name(enum sandbox_state st)
{
	switch (st) {
	case SB_RUNNING:
		return "running";
	case SB_PAUSED:
		return "paused";
	default:
		return "dead";
	}
}

/*
 * Write sandbox.json atomically (temp file + rename).  Called with
 * sb->lock held (or before the sandbox is shared).  The file holds the
 * access token, so it is 0600 inside the 0700 state directory.
 */
static int sandbox_save(struct sandbox *sb)
{
	char path[4096], tmp[4096];
	json_t *j;
	int fd = -1, error = -1;
	char *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/sandbox.json", sb->dir);
	snprintf(tmp, sizeof(tmp), "%s/.sandbox.json.tmp", sb->dir);
	j = json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b, s:O, s:O, s:I, s:I, s:s}",
		      "sandboxID", sb->id, "templateID", sb->template_id,
		      "lower", sb->lower, "accessToken", sb->access_token,
		      "secure", sb->secure, "autoPause", sb->auto_pause,
		      "metadata", sb->metadata, "envVars", sb->env_vars,
		      "startedAt", (json_int_t)sb->started_at,
		      "endAt", (json_int_t)sb->end_at,
		      "state", state_name(sb->state));
	if (!j)
		goto out;
	if (sb->no_internet)
		json_object_set_new(j, "allowInternetAccess", json_false());
	text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		goto out;
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("cannot open '%s': %m", tmp);
		goto out;
	}
	/*
	 * No fsync: this runs under sb->lock, which every envd request of
	 * the sandbox takes briefly, and an fsync can stall for seconds on a
	 * busy disk.  Temp file + rename keeps the file whole; after a power
	 * loss a sandbox may come back with its previous state.
	 */
	if (write(fd, text, len) != (ssize_t)len) {
		log_err("cannot write '%s': %m", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		log_err("cannot rename '%s': %m", tmp);
		goto out;
	}
	error = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(j);
	return error;
}

static struct sandbox *sandbox_alloc(const char *id)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	char path[4096];

	if (!sb)
		return NULL;
	snprintf(sb->id, sizeof(sb->id), "%s", id);
	snprintf(path, sizeof(path), "%s/sandboxes/%s", g_cfg.state_dir, id);
	sb->dir = strdup(path);
	sb->rootfd = -1;
	pthread_mutex_init(&sb->lock, NULL);
	pthread_mutex_init(&sb->passwd.lock, NULL);
	pthread_mutex_init(&sb->group.lock, NULL);
	if (!sb->dir) {
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return NULL;
	}
	return sb;
}

/* The new sandbox's id into @id (@idlen bytes): @o's own, else a random one no
 * live or recently killed sandbox has (8 tries); -1 out of memory, -2 when
 * @o's id is taken. */
static int create_pick_id(const struct sandbox_opts *o, char *id, size_t idlen)
{
	struct sandbox *other;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (o->id)
			snprintf(id, idlen, "%s", o->id);
		else if (util_random_alnum(id, idlen, 20) < 0)
			return -1;
		other = sandbox_get(id);
		if (!other && (o->id || !sandbox_was_killed(id)))
			break;
		sandbox_put(other);
		if (o->id)
			return -2;
	}
	return 0;
}

/* Copy @o's settings into the new @sb (template, layer, metadata, env,
 * access token, times), RUNNING; -1 out of memory. */
static int create_fill(struct sandbox *sb, const struct sandbox_opts *o)
{
	snprintf(sb->template_id, sizeof(sb->template_id), "%s", o->template_id);
	if (o->lower) {
		sb->lower = strdup(o->lower);
		if (!sb->lower)
			return -1;
	}
	sb->metadata = o->metadata ? json_deep_copy(o->metadata) : json_object();
	sb->env_vars = o->env_vars ? json_deep_copy(o->env_vars) : json_object();
	if (!sb->metadata || !sb->env_vars)
		return -1;
	sb->secure = o->secure;
	if (o->secure &&
	    util_random_hex(sb->access_token, sizeof(sb->access_token), 32) < 0)
		return -1;
	sb->auto_pause = o->auto_pause;
	sb->no_internet = o->no_internet;
	sb->started_at = time(NULL);
	sb->end_at = sb->started_at + o->timeout_s;
	sb->state = SB_RUNNING;
	return 0;
}

/* Open the sandbox log of the new @sb with its "sandbox.create" entry. */
static void create_log(const struct sandbox *sb, int timeout_s)
{
	char t[16];

	sblog_open(sb->id);
	snprintf(t, sizeof(t), "%d", timeout_s);
	sblog_add(sb->id, SBLOG_INFO, (const char *[]){
			"event", "sandbox.create", "templateID", sb->template_id,
			"timeout", t, "secure", sb->secure ? "true" : "false",
			NULL },
		  "sandbox created from template '%s' (timeout %d s)",
		  sb->template_id, timeout_s);
}

int sandbox_create(const struct sandbox_opts *o, struct sandbox **out,
		   char *err, size_t errlen)
{
	struct sandbox *sb = NULL;
	char id[24];
	bool started = false, made_dir = false;
	int r;

	r = create_pick_id(o, id, sizeof(id));
	if (r == -2) {
		snprintf(err, errlen, "sandbox '%s' exists", o->id);
		return -1;
	}
	if (r < 0)
		goto fail_nomsg;
	sb = sandbox_alloc(id);
	if (!sb)
		goto fail_nomsg;
	if (create_fill(sb, o) < 0)
		goto fail_nomsg;

	if (mkdir(sb->dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create '%s': %m", sb->dir);
		goto fail;
	}
	made_dir = true;
	if (process_table_init(sb) < 0 || fsrpc_watch_table_init(sb) < 0) {
		snprintf(err, errlen, "cannot set up sandbox tables");
		goto fail;
	}
	if (nsbox_start(sb) < 0) {
		snprintf(err, errlen, "cannot start sandbox '%s'", sb->id);
		goto fail;
	}
	started = true;
	sb->ns_started = true;
	if (sandbox_save(sb) < 0) {
		snprintf(err, errlen, "cannot save sandbox state");
		goto fail;
	}
	sb->refs = 1;	/* the caller's */
	if (registry_add(sb) < 0)
		goto fail_nomsg;
	log_info("sandbox %s created (template '%s', timeout %ds%s)", sb->id,
		 sb->template_id, o->timeout_s, sb->secure ? ", secure" : "");
	create_log(sb, o->timeout_s);
	*out = sb;
	return 0;

fail_nomsg:
	snprintf(err, errlen, "out of memory");
fail:
	if (sb) {
		if (started)
			nsbox_stop(sb);
		if (made_dir) {
			nsbox_destroy_layer(sb);
			(void)rmtree(sb->dir);
		}
		sandbox_free(sb);
	}
	log_err("create failed: %s", err);
	return -1;
}

/* Kill @sb; @reason ("request", "timeout") goes to the sandbox's log. */
static int kill_for(struct sandbox *sb, const char *reason)
{
	bool started;

	pthread_mutex_lock(&sb->lock);
	if (sb->state == SB_DEAD) {
		pthread_mutex_unlock(&sb->lock);
		return -1;
	}
	sb->state = SB_DEAD;
	started = sb->ns_started;
	sb->ns_started = false;
	pthread_mutex_unlock(&sb->lock);
	/* Logged as the API sees it: gone from now; the ends of its processes follow. */
	if (strcmp(reason, "timeout") == 0)
		sblog_add(sb->id, SBLOG_INFO, (const char *[]){
				"event", "sandbox.kill", "reason", reason, NULL },
			  "sandbox killed: its timeout passed");
	else
		sblog_add(sb->id, SBLOG_INFO, (const char *[]){
				"event", "sandbox.kill", "reason", reason, NULL },
			  "sandbox killed (%s)", reason);
	rpc_streams_abort(sb, "sandbox was killed");
	/*
	 * Tear down outside sb->lock: once DEAD no other lifecycle call
	 * touches the sandbox (the API treats it as gone), and lists or envd
	 * requests that read its state are not held up while a large layer
	 * is removed.  It leaves the registry last, so an ID that is gone
	 * from the API has no layer left either.
	 */
	if (started)
		nsbox_stop(sb);
	nsbox_destroy_layer(sb);
	(void)rmtree(sb->dir);
	registry_remove(sb);
	log_info("sandbox %s killed", sb->id);
	sblog_retire(sb->id);
	return 0;
}

int sandbox_kill(struct sandbox *sb)
{
	return kill_for(sb, "request");
}

/* Pause @sb; @reason ("request", "timeout") goes to the sandbox's log. */
static int pause_for(struct sandbox *sb, const char *reason)
{
	int ret = 0;

	pthread_mutex_lock(&sb->lock);
	if (sb->state == SB_DEAD) {
		ret = -1;
	} else if (sb->state == SB_PAUSED) {
		ret = 1;
	} else if (sb->ns_started && nsbox_freeze(sb, true) < 0) {
		log_err("cannot pause sandbox %s", sb->id);
		sblog_add(sb->id, SBLOG_ERROR, (const char *[]){
				"event", "sandbox.pause", "reason", reason, NULL },
			  "sandbox could not be paused");
		ret = -1;
	} else {
		sb->state = SB_PAUSED;
		sandbox_save(sb);
		rpc_streams_abort(sb, "sandbox was paused");
		log_info("sandbox %s paused", sb->id);
		sblog_add(sb->id, SBLOG_INFO, (const char *[]){
				"event", "sandbox.pause", "reason", reason, NULL },
			  strcmp(reason, "timeout") ? "sandbox paused" :
			  "sandbox paused: its timeout passed (autoPause)");
	}
	pthread_mutex_unlock(&sb->lock);
	return ret;
}

int sandbox_pause(struct sandbox *sb)
{
	return pause_for(sb, "request");
}

/*
 * Set the end time (called with sb->lock held) and log it: an explicit
 * timeout at info, an extension (connect, refresh, resume) at debug.
 */
static void set_end(struct sandbox *sb, int timeout_s, bool extend_only,
		    bool quiet)
{
	time_t end = time(NULL) + timeout_s;
	char t[16];

	if (extend_only && end <= sb->end_at)
		return;
	sb->end_at = end;
	if (quiet)
		return;
	/* No end time in the entry: a keepalive's repeats must compare equal. */
	snprintf(t, sizeof(t), "%d", timeout_s);
	sblog_add(sb->id, extend_only ? SBLOG_DEBUG : SBLOG_INFO,
		  (const char *[]){ "event", "sandbox.timeout", "timeout", t, NULL },
		  "sandbox timeout %s %d s", extend_only ? "extended to" : "set to",
		  timeout_s);
}

int sandbox_resume(struct sandbox *sb, int timeout_s, bool extend_only)
{
	int ret = 0;

	pthread_mutex_lock(&sb->lock);
	if (sb->state == SB_DEAD) {
		ret = -1;
		goto out;
	}
	if (sb->state == SB_RUNNING) {
		ret = 1;
		goto out;
	}
	if (!sb->ns_started) {
		/* Restored after a restart: bring the root and init back. */
		if (nsbox_start(sb) < 0) {
			log_err("cannot restart sandbox %s", sb->id);
			sblog_add(sb->id, SBLOG_ERROR, (const char *[]){
					"event", "sandbox.resume", NULL },
				  "sandbox could not be started again");
			ret = -1;
			goto out;
		}
		sb->ns_started = true;
	} else if (nsbox_freeze(sb, false) < 0) {
		log_err("cannot resume sandbox %s", sb->id);
		sblog_add(sb->id, SBLOG_ERROR, (const char *[]){
				"event", "sandbox.resume", NULL },
			  "sandbox could not be resumed");
		ret = -1;
		goto out;
	}
	sb->state = SB_RUNNING;
	{
		char t[16];

		snprintf(t, sizeof(t), "%d", timeout_s);
		sblog_add(sb->id, SBLOG_INFO, (const char *[]){
				"event", "sandbox.resume", "timeout", t, NULL },
			  "sandbox resumed (timeout %d s)", timeout_s);
	}
	set_end(sb, timeout_s, extend_only, true);
	sandbox_save(sb);
	log_info("sandbox %s resumed", sb->id);
out:
	pthread_mutex_unlock(&sb->lock);
	return ret;
}

int sandbox_set_timeout(struct sandbox *sb, int timeout_s, bool extend_only)
{
	int ret = 0;

	pthread_mutex_lock(&sb->lock);
	if (sb->state == SB_DEAD) {
		ret = -1;
	} else {
		set_end(sb, timeout_s, extend_only, false);
		sandbox_save(sb);
	}
	pthread_mutex_unlock(&sb->lock);
	return ret;
}

enum sandbox_state sandbox_state_get(struct sandbox *sb, time_t *end_at)
{
	enum sandbox_state st;

	pthread_mutex_lock(&sb->lock);
	st = sb->state;
	if (end_at)
		*end_at = sb->end_at;
	pthread_mutex_unlock(&sb->lock);
	return st;
}

/* Expire running sandboxes whose end time passed: kill, or pause with autoPause. */
static void expire_once(void)
{
	struct sandbox **list;
	time_t now = time(NULL), end;
	int n, i;

	n = sandbox_list(&list);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		if (sandbox_state_get(list[i], &end) != SB_RUNNING || end > now)
			continue;
		log_info("sandbox %s timed out", list[i]->id);
		if (list[i]->auto_pause)
			pause_for(list[i], "timeout");
		else
			kill_for(list[i], "timeout");
	}
	sandbox_list_free(list, n);
}

static void *timer_main(void *arg)
{
	struct timespec ts;

	pthread_mutex_lock(&timer_lock);
	while (!timer_stop) {
		pthread_mutex_unlock(&timer_lock);
		expire_once();
		pthread_mutex_lock(&timer_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!timer_stop)
			pthread_cond_timedwait(&timer_cond, &timer_lock, &ts);
	}
	pthread_mutex_unlock(&timer_lock);
	return NULL;
}

/* Rebuild one sandbox from its sandbox.json; it comes back paused. */
static int sandbox_load(const char *id)
{
	char path[4096];
	json_error_t jerr;
	json_t *j = NULL, *v;
	struct sandbox *sb = NULL;
	const char *s;
	int error = -1;

	snprintf(path, sizeof(path), "%s/sandboxes/%s/sandbox.json",
		 g_cfg.state_dir, id);
	j = json_load_file(path, 0, &jerr);
	if (!j) {
		log_warn("cannot load '%s': %s", path, jerr.text);
		goto out;
	}
	s = json_string_value(json_object_get(j, "sandboxID"));
	if (!s || strcmp(s, id) != 0) {
		log_warn("'%s' names another sandbox", path);
		goto out;
	}
	sb = sandbox_alloc(id);
	if (!sb)
		goto out;
	s = json_string_value(json_object_get(j, "templateID"));
	snprintf(sb->template_id, sizeof(sb->template_id), "%s", s ? s : "base");
	s = json_string_value(json_object_get(j, "lower"));
	if (s && !(sb->lower = strdup(s)))
		goto out;
	s = json_string_value(json_object_get(j, "accessToken"));
	snprintf(sb->access_token, sizeof(sb->access_token), "%s", s ? s : "");
	sb->secure = json_is_true(json_object_get(j, "secure")) &&
		     sb->access_token[0];
	sb->auto_pause = json_is_true(json_object_get(j, "autoPause"));
	sb->no_internet = json_is_false(json_object_get(j, "allowInternetAccess"));
	v = json_object_get(j, "metadata");
	sb->metadata = json_is_object(v) ? json_deep_copy(v) : json_object();
	v = json_object_get(j, "envVars");
	sb->env_vars = json_is_object(v) ? json_deep_copy(v) : json_object();
	if (!sb->metadata || !sb->env_vars)
		goto out;
	sb->started_at = (time_t)json_integer_value(json_object_get(j, "startedAt"));
	sb->end_at = (time_t)json_integer_value(json_object_get(j, "endAt"));
	sb->state = SB_PAUSED;
	if (process_table_init(sb) < 0 || fsrpc_watch_table_init(sb) < 0)
		goto out;
	sandbox_save(sb);
	if (registry_add(sb) < 0)
		goto out;
	log_info("sandbox %s restored (paused)", sb->id);
	sblog_open(sb->id);
	sblog_add(sb->id, SBLOG_INFO, (const char *[]){
			"event", "sandbox.restore", NULL },
		  "sandbox restored (paused) after an e2bd restart; "
		  "earlier log entries are gone");
	sb = NULL;	/* the registry owns it */
	error = 0;
out:
	if (sb)
		sandbox_free(sb);
	json_decref(j);
	return error;
}

int sandbox_registry_init(char *err, size_t errlen)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sandboxes", g_cfg.state_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %m", path);
		return -1;
	}
	d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "cannot open '%s': %m", path);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 40)
			continue;
		sandbox_load(de->d_name);
	}
	closedir(d);
	if (pthread_create(&timer_thread, NULL, timer_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the timer thread");
		return -1;
	}
	timer_running = true;
	return 0;
}

void sandbox_registry_shutdown(void)
{
	struct sandbox **list;
	int n, i;

	if (timer_running) {
		pthread_mutex_lock(&timer_lock);
		timer_stop = true;
		pthread_cond_signal(&timer_cond);
		pthread_mutex_unlock(&timer_lock);
		pthread_join(timer_thread, NULL);
		timer_running = false;
	}
	n = sandbox_list(&list);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		struct sandbox *sb = list[i];

		pthread_mutex_lock(&sb->lock);
		if (sb->ns_started && sb->state != SB_DEAD) {
			nsbox_stop(sb);
			sb->ns_started = false;
			sandbox_save(sb);
		}
		pthread_mutex_unlock(&sb->lock);
	}
	sandbox_list_free(list, n);
}
