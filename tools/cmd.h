/* SPDX-License-Identifier: MIT */
/*
 * The command table of e2bctl and what every command shares: the spec each
 * cmd-<name>.c exports, the parsed command line handed to it, and the
 * context that lazily builds the libe2b client and sandbox handles.
 */
#ifndef E2BCTL_CMD_H
#define E2BCTL_CMD_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <jansson.h>
#include <e2b/e2b.h>

#include "error.h"
#include "xalloc.h"

/* Option may be given several times (--env K=V --env K2=V2). */
#define CMD_OPT_MULTI (1u << 0)

/** One option of a subcommand, as shown by `e2bctl help CMD`. */
struct cmd_option {
	const char *name;	/* long name without "--" */
	char short_name;	/* 0 if none */
	const char *arg;	/* metavariable, NULL for a flag */
	unsigned flags;
	const char *help;
};

/*
 * Stop option parsing at the first positional argument beyond
 * cmd_spec.min_args: the rest is a remote command line whose own options
 * belong to it (`e2bctl run ID ls -la`).
 */
#define CMD_TRAILING (1u << 0)
/* The command does not talk to a server (help, umount). */
#define CMD_OFFLINE (1u << 1)
/* -i, -it, --interactive, --tty point to `shell` (run, like docker run -it). */
#define CMD_TERMINAL_HINT (1u << 2)

struct cmd_args;
struct cmd_ctx;

/** What each cmd-<name>.c exports. */
struct cmd_spec {
	const char *name;
	/* Arguments after the name, e.g. "ID PATH [--depth N]". */
	const char *usage;
	/* One line for `e2bctl help`. */
	const char *summary;
	/* Longer text for `e2bctl help CMD`; may be NULL. */
	const char *description;
	/* Terminated by an entry with name NULL. */
	const struct cmd_option *options;
	int min_args;
	int max_args;		/* -1 = unlimited */
	unsigned flags;
	int (*exec)(struct cmd_ctx *ctx, struct cmd_args *args);
};

/** The parsed command line of one subcommand. */
struct cmd_args {
	const struct cmd_spec *spec;
	int argc;		/* positional arguments */
	char **argv;
	/* Per option (same index as spec->options): its values in order;
	 * a flag stores "" once per occurrence. */
	struct cmd_optval {
		char **vals;
		size_t n;
	} *opt;
	/* --help or -h was given: print help, run nothing. */
	int help;
	/* --json, --quiet, --verbose given after the command. */
	int json;
	int quiet;
	int verbose;
};

/** Global options (before the command). */
struct global_opts {
	const char *profile;
	const char *api_url;
	const char *sandbox_url;
	const char *domain;
	const char *protocol;
	const char *scheme;
	const char *api_key_file;
	int json;
	int verbose;
	int quiet;
};

/** State shared by a run of e2bctl. */
struct cmd_ctx {
	struct global_opts opt;
	const char *cmd_name;
	int json;
	int quiet;
	int verbose;
	/* From the profile, owned; NULL when unset. */
	struct profile *prof;
	/* Key read from a file; owned, wiped on release. */
	char *api_key;
	/* Created on first use by ctx_client(). */
	e2b_client *client;
	/* e2b_global_init() was called (by ctx_client()). */
	int lib_ready;
	/* Default sandbox user from the profile, or NULL. */
	const char *user;
	/* The client's configuration, set by ctx_config(). */
	e2b_config cfg;
	int have_cfg;
	/* The whole command line (main's argv), for the connection agent. */
	int argc;
	char **argv;
	/* Set in a connection agent's worker (agent.c): run there, do not
	 * ask an agent again. */
	int in_agent;
};

extern const struct cmd_spec *const cmd_table[];

/** @return the spec named @p name, or NULL */
const struct cmd_spec *cmd_find(const char *name);
/**
 * Report an unknown command, with the nearest one as a hint.
 * @return E2BCTL_EXIT_USAGE
 */
int cmd_unknown(const char *word);

/**
 * Parse the global options before COMMAND in argv (argv[0] is the
 * program) into @p g; values point into argv.  *@p want_help is set to 1
 * for -h/--help, 2 for --version.
 * @return the index of COMMAND (argc when there is none), or minus the
 *         exit code (E2BCTL_EXIT_USAGE) after printing why
 */
int cmd_parse_globals(struct global_opts *g, int argc, char **argv, int *want_help);

/**
 * Parse argv (argv[0] is the command name) against @p spec.
 * @return 0, or E2BCTL_EXIT_USAGE after printing why
 */
int cmd_parse(struct cmd_args *out, const struct cmd_spec *spec,
	      int argc, char **argv);
void cmd_args_release(struct cmd_args *args);

/** @return the last value of option @p name, or NULL if not given */
const char *cmd_arg(const struct cmd_args *args, const char *name);
/** @return how many times option @p name was given */
size_t cmd_count(const struct cmd_args *args, const char *name);
/** @return every value of option @p name (borrowed), count in @p n */
char **cmd_args_all(const struct cmd_args *args, const char *name, size_t *n);

/** Print `e2bctl help` (NULL) or the help of one command to @p f. */
void cmd_help(FILE *f, const struct cmd_spec *spec);

/* ---- context ---- */

/**
 * The client configuration from flags, environment and profile (flags
 * beat environment beat profile beat defaults), worked out once per run.
 * @param[out] out borrowed, valid until ctx_release()
 * @return 0 or an exit code (after printing the error)
 */
int ctx_config(struct cmd_ctx *ctx, const e2b_config **out);

/**
 * Get the client, building it on first use from flags, environment and
 * profile.  @return 0 or an exit code (after printing the error)
 */
int ctx_client(struct cmd_ctx *ctx, e2b_client **out);

/**
 * Resolve a sandbox argument ("." inside an e2bfs mount, or an ID).
 * @param[out] out_id caller owns (free)
 * @param[out] out_cwd may be NULL; the sandbox directory matching the
 *             current local directory when "." was used, else NULL;
 *             caller owns (free)
 * @return 0 or an exit code
 */
int ctx_resolve_id(struct cmd_ctx *ctx, const char *arg, char **out_id,
		   char **out_cwd);

/**
 * ctx_resolve_id(), then ctx_client(): what a command on one sandbox needs
 * before its first call.  On error *@p out_id may still be set (free it).
 * @return 0 or an exit code
 */
int ctx_id_client(struct cmd_ctx *ctx, const char *arg, char **out_id,
		  char **out_cwd, e2b_client **out_client);

/**
 * Look the sandbox up (GET /sandboxes/ID) and open a handle for envd calls.
 * Does not resume or extend a sandbox; a paused one is an error.
 * @param[out] out caller owns, free with e2b_sandbox_free()
 * @param[out] out_cwd as ctx_resolve_id(); may be NULL
 * @return 0 or an exit code
 */
int ctx_sandbox(struct cmd_ctx *ctx, const char *arg, e2b_sandbox **out,
		char **out_cwd);

/**
 * ctx_sandbox() that takes the details from the per-user sandbox cache
 * when it has fresh ones (then *@p out_cached = 1 and nothing was asked of
 * the management API).  A caller whose envd call then fails with
 * E2B_EAUTH, E2B_ENOTFOUND or E2B_EUNAVAILABLE calls ctx_sandbox_forget()
 * and tries again with ctx_sandbox().
 */
int ctx_sandbox_cached(struct cmd_ctx *ctx, const char *arg, e2b_sandbox **out,
		       char **out_cwd, int *out_cached);
void ctx_sandbox_forget(e2b_sandbox *sb);

/**
 * Report a failed call on sandbox @p id, turning "not found" into the one
 * line `sandbox 'ID' not found`.  @return the exit code
 */
int ctx_sandbox_error(int code, const char *id, const char *what);

void ctx_release(struct cmd_ctx *ctx);

/**
 * A sandbox path for a command argument: relative paths are taken from
 * @p mount_cwd when the sandbox was given as "." (else from the user's
 * home, envd's rule); "~" and "~/..." are the home.  Caller frees.
 */
char *ctx_path(const char *mount_cwd, const char *path);

/* ---- argument parsing helpers ---- */

/**
 * Parse "K=V" list options.  @p out gets an array of @p n pairs pointing
 * into the strings (the '=' is replaced by '\0'; caller frees the array).
 * @return 0 or E2BCTL_EXIT_USAGE after printing "malformed K=V ..."
 */
int parse_kv_list(e2b_kv **out, char **vals, size_t n, const char *opt);

/** Parse a decimal number in [min, max]. @return 0 or E2BCTL_EXIT_USAGE */
int parse_uint(unsigned long long *out, const char *s, const char *what,
	       unsigned long long min, unsigned long long max);

/**
 * Split a cp argument "ID:PATH" (*@p out_id: caller frees; *@p out_path
 * points into @p arg, "." for "ID:").  A ':' after a '/' belongs to a
 * local path.  @return 1 if remote, 0 if local (outputs untouched)
 */
int cmd_cp_split_remote(char **out_id, const char **out_path, const char *arg);

/* ---- output helpers ---- */

/** Print @p v as indented JSON plus newline to stdout and free it. */
void out_json(json_t *v);
/** Print @p v on one line (for streams of events) and free it. */
void out_json_line(json_t *v);
/** Like json_string() but never NULL: invalid UTF-8 is escaped. */
json_t *json_str(const char *s);
/** The Sandbox object (management API names; never the access token). */
json_t *json_sandbox(const e2b_sandbox_info *info);
/** An entry as returned by ls/stat. */
json_t *json_entry(const e2b_entry_info *e);
/** {k: v, ...} */
json_t *json_kv(const e2b_kv *kv, size_t n);
/** Unix ms → RFC 3339 UTC "2026-01-02T03:04:05Z"; "" for 0. */
void fmt_time_ms(char *buf, size_t cap, int64_t ms);
/** Unix time → RFC 3339 UTC with nanoseconds when nonzero. */
void fmt_time_ns(char *buf, size_t cap, int64_t sec, int32_t nsec);
/** Bytes → "1.5M" style with 1024 steps. */
void fmt_size(char *buf, size_t cap, uint64_t bytes);
/**
 * A duration in seconds the way kubectl prints AGE: "45s", "3m20s",
 * "15m", "5h10m", "30h", "3d4h", "12d", "2y30d", "9y"; "<invalid>" below
 * -1 s (clocks apart), "0s" for -1 and 0.
 */
void fmt_age(char *buf, size_t cap, int64_t sec);

/* A table printed like kubectl's: columns as wide as their widest cell,
 * three spaces apart, the last column not padded. */
struct table {
	size_t ncols;
	size_t nrows;		/* the header row included when given */
	char **cells;		/* nrows * ncols, owned */
};
void table_init(struct table *t, size_t ncols);
/** Append a row of t->ncols cells (copied). */
void table_add(struct table *t, const char *const *cells);
void table_print(FILE *f, const struct table *t);
void table_release(struct table *t);

/* ---- signals ---- */

/* Count of SIGINT/SIGTERM received since sig_catch(). */
extern volatile sig_atomic_t sig_interrupts;
/* Set by SIGWINCH since sig_catch_winch(). */
extern volatile sig_atomic_t sig_winch;
/*
 * When set, a second SIGINT/SIGTERM unlinks sig_cleanup_path (if not
 * empty) and _exit()s with E2BCTL_EXIT_INTERRUPTED (transfers).
 */
extern volatile sig_atomic_t sig_hard_exit;
extern char sig_cleanup_path[4096];
/** Catch SIGINT and SIGTERM (no SA_RESTART) instead of dying. */
void sig_catch(void);
void sig_catch_winch(void);
/** Put the default dispositions back. */
void sig_default(void);

/** write(2) all of @p buf, retrying on EINTR. @return 0 or -1 */
int write_all(int fd, const void *buf, size_t len);

#endif /* E2BCTL_CMD_H */
