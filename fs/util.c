/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every room of e2bfs uses: the clocks, the log and path
 * joining.  Nothing here calls into libe2b, the inode table or the cache.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "e2bfs.h"

static int log_to_syslog;

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void deadline_in(struct timespec *ts, double secs)
{
	long ns = secs > 0 ? (long)(secs * 1e9) % 1000000000L : 0;

	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += secs > 0 ? (time_t)secs : 0;
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void fs_log_syslog(void)
{
	log_to_syslog = 1;
	openlog("e2bfs", LOG_PID, LOG_DAEMON);
}

void fs_log(struct fs *fs, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	(void)fs;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_to_syslog) {
		syslog(LOG_WARNING, "%s", buf);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld e2bfs: %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, buf);
	}
}

/* A copy of @path without its last component ("/" for "/x"; @path
 * itself with no '/'); NULL for a NULL @path or with no memory. */
char *path_parent(const char *path)
{
	char *parent = path ? strdup(path) : NULL;
	char *slash;

	if (!parent)
		return NULL;
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	return parent;
}

char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (dl == 1 && dir[0] == '/')
		dl = 0;
	p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}
