/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: what its files share.  Set once by
 * nsbox_global_init() before the zygote is forked and before any thread
 * exists, read-only afterwards.
 */
#ifndef E2BD_ISOLATE_H
#define E2BD_ISOLATE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The sandbox user `user`. */
#define SB_UID 1000
#define SB_GID 1000

/*
 * e2bd was started without root and runs in a user namespace of its own
 * that maps only uid/gid 1000 (the sandbox user) to the invoking user.
 */
extern bool nsbox_unpriv;
/* CLONE_NEWNET from netns_global_init(), or 0. */
extern int nsbox_clone_net;

/*
 * snprintf that returns -1 when the output did not fit.  Paths here are
 * bounded by PATH_MAX and messages by their buffers; truncation of a
 * message is harmless and every path that matters is checked.
 */
static inline int xfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int xfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static inline int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	size_t len = strlen(data);

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

#endif
