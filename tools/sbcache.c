/* SPDX-License-Identifier: MIT */
/*
 * A private per-user cache of how to reach a sandbox's envd (envd access
 * token, envd version, domain, template), so that `e2bctl run ID` does not
 * ask the management API before every command.  One file per API URL and
 * sandbox ID in $XDG_RUNTIME_DIR/e2bctl (else $XDG_CACHE_HOME/e2bctl, else
 * ~/.cache/e2bctl): the
 * directory 0700 and ours, the files 0600, written whole and renamed into
 * place.  An entry lives SBCACHE_TTL_S seconds; the caller forgets it when
 * envd answers as if it were wrong (auth, not found, unavailable).  The
 * API key is never written.  E2BCTL_NO_CACHE=1 turns the cache off.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sbcache.h"

#define SBCACHE_TTL_S 60
#define SBCACHE_MAX 8192

static int cache_off(void)
{
	const char *v = getenv("E2BCTL_NO_CACHE");

	return v && *v && strcmp(v, "0");
}

/* Is @dir a directory of ours that nobody else can read or write? */
static int private_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0 && (errno != ENOENT || mkdir(dir, 0700) < 0 || lstat(dir, &st) < 0))
		return 0;
	return S_ISDIR(st.st_mode) && st.st_uid == getuid() && !(st.st_mode & 077);
}

/* The cache file of (@api_url, @id) in @out; 0, or -1 without a private place. */
static int cache_path(char *out, size_t cap, const char *api_url, const char *id)
{
	const char *run = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	const char *cache = getenv("XDG_CACHE_HOME");
	char dir[PATH_MAX];
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a of "api_url\nid" */
	const char *p;
	struct stat st;

	for (p = api_url; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '\n') * 1099511628211ULL;
	for (p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	if (run && *run == '/' && stat(run, &st) == 0 && st.st_uid == getuid()) {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/e2bctl", run) >= sizeof(dir))
			return -1;
	} else if (cache && *cache == '/') {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/e2bctl", cache) >= sizeof(dir))
			return -1;
	} else if (home && *home == '/') {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/.cache", home) >= sizeof(dir))
			return -1;
		mkdir(dir, 0700);
		if ((size_t)snprintf(dir, sizeof(dir), "%s/.cache/e2bctl", home) >= sizeof(dir))
			return -1;
	} else {
		return -1;
	}
	if (!private_dir(dir))
		return -1;
	return (size_t)snprintf(out, cap, "%s/sb-%016llx",
				dir, (unsigned long long)h) < cap ? 0 : -1;
}

/* The "time" field: decimal seconds; anything else reads as 0 (stale). */
static long long parse_time(const char *s)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	return errno || end == s || *end ? 0 : v;
}

/* Next "key value" line of @s into @key/@val (in place); NULL at the end. */
static char *next_line(char *s, char **key, char **val)
{
	char *nl, *sp;

	if (!s || !*s)
		return NULL;
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	sp = strchr(s, ' ');
	*key = s;
	*val = sp ? sp + 1 : s + strlen(s);
	if (sp)
		*sp = '\0';
	return nl ? nl + 1 : s + strlen(s);
}

static char *dup_field(const char *v)
{
	return *v ? strdup(v) : NULL;
}

/* Read up to SBCACHE_MAX bytes of the entry file @p path into @p buf, when it is a regular
 * file of ours that nobody else may read.  @return the bytes read, or -1 */
static ssize_t read_entry_file(const char *path, char *buf)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, SBCACHE_MAX);
	close(fd);
	return n;
}

int sbcache_load(struct sbcache_entry *out, const char *api_url, const char *id)
{
	char path[PATH_MAX], buf[SBCACHE_MAX + 1], *p, *key, *val;
	int api_ok = 0, id_ok = 0;
	long long t = 0;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (cache_off() || cache_path(path, sizeof(path), api_url, id) < 0)
		return -1;
	n = read_entry_file(path, buf);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = buf;
	while ((p = next_line(p, &key, &val))) {
		if (!strcmp(key, "api"))
			api_ok = !strcmp(val, api_url);
		else if (!strcmp(key, "id"))
			id_ok = !strcmp(val, id);
		else if (!strcmp(key, "time"))
			t = parse_time(val);
		else if (!strcmp(key, "token") && !out->envd_access_token)
			out->envd_access_token = dup_field(val);
		else if (!strcmp(key, "version") && !out->envd_version)
			out->envd_version = dup_field(val);
		else if (!strcmp(key, "domain") && !out->domain)
			out->domain = dup_field(val);
		else if (!strcmp(key, "template") && !out->template_id)
			out->template_id = dup_field(val);
	}
	if (!api_ok || !id_ok || t > (long long)time(NULL) ||
	    (long long)time(NULL) - t >= SBCACHE_TTL_S) {
		sbcache_entry_release(out);
		return -1;
	}
	return 0;
}

static int has_newline(const char *s)
{
	return s && strchr(s, '\n');
}

void sbcache_store(const char *api_url, const char *id, const struct sbcache_entry *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;
	int fd, ok;

	if (cache_off() || has_newline(api_url) || has_newline(id) ||
	    has_newline(e->envd_access_token) || has_newline(e->envd_version) ||
	    has_newline(e->domain) || has_newline(e->template_id) ||
	    cache_path(path, sizeof(path), api_url, id) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return;
	}
	fprintf(f, "e2bctl sandbox cache 1\napi %s\nid %s\ntime %lld\n", api_url, id,
		(long long)time(NULL));
	fprintf(f, "token %s\nversion %s\ndomain %s\ntemplate %s\n",
		e->envd_access_token ? e->envd_access_token : "",
		e->envd_version ? e->envd_version : "", e->domain ? e->domain : "",
		e->template_id ? e->template_id : "");
	ok = fflush(f) == 0 && !ferror(f);
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

void sbcache_forget(const char *api_url, const char *id)
{
	char path[PATH_MAX];

	if (cache_path(path, sizeof(path), api_url, id) == 0)
		unlink(path);
}

void sbcache_entry_release(struct sbcache_entry *e)
{
	if (e->envd_access_token) {
		/* Not left lying around in freed memory. */
		memset(e->envd_access_token, 0, strlen(e->envd_access_token));
		free(e->envd_access_token);
	}
	free(e->envd_version);
	free(e->domain);
	free(e->template_id);
	memset(e, 0, sizeof(*e));
}
