/* SPDX-License-Identifier: MIT */
/*
 * Exit codes of e2bctl and the one place that turns a libe2b failure into
 * a one-line message and an exit code.  The numbers are documented in
 * docs/e2bctl.md and never change.
 */
#ifndef E2BCTL_ERROR_H
#define E2BCTL_ERROR_H

#include <stdarg.h>

/*
 * run and shell exit with the remote process's status instead, so a
 * script that needs to tell the two apart uses `--json` or checks stderr.
 */
enum e2bctl_exit {
	E2BCTL_EXIT_OK = 0,
	/* Any failure not listed below. */
	E2BCTL_EXIT_ERROR = 1,
	/* Bad command line: unknown command or option, missing argument. */
	E2BCTL_EXIT_USAGE = 2,
	/* The sandbox, file or process does not exist. */
	E2BCTL_EXIT_NOTFOUND = 3,
	/* Missing or rejected API key, or not allowed. */
	E2BCTL_EXIT_AUTH = 4,
	/* Network error, server or sandbox unavailable. */
	E2BCTL_EXIT_UNAVAILABLE = 5,
	/* A deadline elapsed. */
	E2BCTL_EXIT_TIMEOUT = 6,
	/* The object exists already or is in a conflicting state. */
	E2BCTL_EXIT_CONFLICT = 7,
	/* Interrupted by SIGINT/SIGTERM (128 + SIGINT). */
	E2BCTL_EXIT_INTERRUPTED = 130,
};

/** @return the exit code for a negative e2b_error_code */
int error_exit_code(int e2b_code);

/**
 * Print "e2bctl: <what>: <library message>" for the calling thread's last
 * libe2b error (or "e2bctl: <what>" when @p what already says it all) and
 * return the matching exit code.  @p fmt may be NULL.
 */
int error_e2b(int e2b_code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Report a failed operation on a sandbox path: "cannot VERB 'PATH': ..."
 * with "no such file or directory" for E2B_ENOTFOUND.  @return exit code
 */
int error_path(int e2b_code, const char *verb, const char *path);

/** Print "e2bctl: <message>" and return E2BCTL_EXIT_ERROR. */
int error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print "e2bctl: <message>" plus a usage hint; return E2BCTL_EXIT_USAGE. */
int error_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Print "e2bctl: warning: <message>" unless quiet. */
void error_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print a message and exit(E2BCTL_EXIT_ERROR); for out-of-memory. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/** Set by -q: suppresses warnings. */
extern int error_quiet;
/** Set when no API key was found: authentication errors say so. */
extern int error_no_key;
/* No API URL, sandbox URL or domain came from any source (the default applies). */
extern int error_no_server;

#endif /* E2BCTL_ERROR_H */
