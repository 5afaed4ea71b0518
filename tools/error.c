/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for e2bctl: every failure ends as one line on stderr and
 * one exit code from error.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <e2b/errors.h>

#include "error.h"

int error_quiet;
int error_no_key;
int error_no_server;

int error_exit_code(int e2b_code)
{
	switch (e2b_code) {
	case E2B_OK:
		return E2BCTL_EXIT_OK;
	case E2B_ENOTFOUND:
		return E2BCTL_EXIT_NOTFOUND;
	case E2B_EAUTH:
	case E2B_EPERM:
		return E2BCTL_EXIT_AUTH;
	case E2B_EUNAVAILABLE:
		return E2BCTL_EXIT_UNAVAILABLE;
	case E2B_ETIMEOUT:
		return E2BCTL_EXIT_TIMEOUT;
	case E2B_EEXISTS:
	case E2B_ECONFLICT:
		return E2BCTL_EXIT_CONFLICT;
	case E2B_ECANCELED:
		return E2BCTL_EXIT_INTERRUPTED;
	default:
		return E2BCTL_EXIT_ERROR;
	}
}

/* Strip what the library prints for its own context so that the line
 * stays short: a trailing newline is all we ever need to drop. */
static void put_line(const char *s)
{
	size_t n = strcspn(s, "\r\n");

	fwrite(s, 1, n, stderr);
}

/*
 * libe2b messages start with their own context ("stat '/x': file not
 * found: ...").  When we print ours, theirs is dropped: the segment before
 * the first ": " goes if it quotes something or repeats words of ours.
 */
static const char *strip_context(const char *msg, const char *ours)
{
	const char *colon = strstr(msg, ": ");
	size_t n;
	char seg[128];

	if (!colon || !colon[2])
		return msg;
	n = (size_t)(colon - msg);
	if (n >= sizeof(seg))
		return msg;
	memcpy(seg, msg, n);
	seg[n] = '\0';
	if (strchr(seg, '\'') || strstr(ours, seg))
		return colon + 2;
	return msg;
}

int error_e2b(int e2b_code, const char *fmt, ...)
{
	const e2b_error *err = e2b_error_last();
	const char *msg = err->message;
	char ours[512];
	va_list ap;

	fflush(stdout);
	fputs("e2bctl: ", stderr);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(ours, sizeof(ours), fmt, ap);
		va_end(ap);
		fputs(ours, stderr);
		msg = strip_context(msg, ours);
		if (*msg)
			fputs(": ", stderr);
	}
	if (*msg)
		put_line(msg);
	else if (!fmt)
		fputs(e2b_error_code_str(e2b_code), stderr);
	/* Say what to set when the setup, not the server, is the cause. */
	if (e2b_code == E2B_EUNAVAILABLE && error_no_server)
		fputs(" (no server set: E2B_API_URL or E2B_DOMAIN, --api-url or --domain, "
		      "or a profile in ~/.config/e2b/config; "
		      "the default is E2B's cloud, api.e2b.app)", stderr);
	if ((e2b_code == E2B_EAUTH || e2b_code == E2B_EUNAVAILABLE) && error_no_key)
		fputs(" (no API key: set E2B_API_KEY, use --api-key-file, or api_key_file in "
		      "~/.config/e2b/config)", stderr);
	fputc('\n', stderr);
	return error_exit_code(e2b_code);
}

int error_path(int e2b_code, const char *verb, const char *path)
{
	if (e2b_code == E2B_ENOTFOUND) {
		fflush(stdout);
		fprintf(stderr, "e2bctl: cannot %s '%s': no such file or directory\n", verb, path);
		return E2BCTL_EXIT_NOTFOUND;
	}
	return error_e2b(e2b_code, "cannot %s '%s'", verb, path);
}

/* Start a stderr line with @prefix and the formatted text, after what
 * stdout has pending so the two streams stay in order. */
static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
}

int error_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("e2bctl: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return E2BCTL_EXIT_ERROR;
}

int error_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("e2bctl: ", fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see 'e2bctl help %s')\n", cmd);
	else
		fputs(" (see 'e2bctl help')\n", stderr);
	return E2BCTL_EXIT_USAGE;
}

void error_warn(const char *fmt, ...)
{
	va_list ap;

	if (error_quiet)
		return;
	va_start(ap, fmt);
	vsay("e2bctl: warning: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("e2bctl: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(E2BCTL_EXIT_ERROR);
}
