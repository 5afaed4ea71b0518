/* SPDX-License-Identifier: MIT */
/*
 * The table of every e2bctl command, the global options, the generic option
 * parser driven by each command's option list, and `help` output generated from the same
 * specs so the two never drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bug.h"
#include "cmd.h"

extern const struct cmd_spec cmd_create_spec, cmd_list_spec, cmd_info_spec,
	cmd_logs_spec,
	cmd_kill_spec, cmd_pause_spec, cmd_resume_spec, cmd_connect_spec,
	cmd_set_timeout_spec, cmd_run_spec, cmd_start_spec, cmd_ps_spec,
	cmd_signal_spec, cmd_attach_spec, cmd_shell_spec, cmd_ls_spec,
	cmd_stat_spec, cmd_mkdir_spec, cmd_mv_spec, cmd_rm_spec, cmd_cat_spec,
	cmd_cp_spec, cmd_watch_spec, cmd_mount_spec, cmd_umount_spec,
	cmd_cache_spec, cmd_help_spec, cmd_version_spec;

/* Listed in `help` in this order. */
const struct cmd_spec *const cmd_table[] = {
	&cmd_create_spec, &cmd_list_spec, &cmd_info_spec, &cmd_logs_spec,
	&cmd_kill_spec,
	&cmd_pause_spec, &cmd_resume_spec, &cmd_connect_spec,
	&cmd_set_timeout_spec,
	&cmd_run_spec, &cmd_start_spec, &cmd_ps_spec, &cmd_signal_spec,
	&cmd_attach_spec, &cmd_shell_spec,
	&cmd_ls_spec, &cmd_stat_spec, &cmd_mkdir_spec, &cmd_mv_spec,
	&cmd_rm_spec, &cmd_cat_spec, &cmd_cp_spec, &cmd_watch_spec,
	&cmd_mount_spec, &cmd_umount_spec, &cmd_cache_spec,
	&cmd_help_spec, &cmd_version_spec,
	NULL,
};

const struct cmd_spec *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; cmd_table[i]; i++)
		if (!strcmp(cmd_table[i]->name, name))
			return cmd_table[i];
	return NULL;
}

/*
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), so "lsit" is one edit from "list".  Words longer than
 * 63 bytes are never close.
 */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[64][64];

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The closest of @n @names to @word, or NULL when none is within two
 * edits (and fewer edits than @word has letters). */
static const char *closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, dist, best_dist = 3;

	for (i = 0; i < n; i++) {
		dist = edit_distance(word, names[i]);
		if (dist < best_dist && dist < strlen(word)) {
			best = names[i];
			best_dist = dist;
		}
	}
	return best;
}

static const char *cmd_suggest(const char *word)
{
	const char *names[64];
	size_t n = 0;

	while (cmd_table[n] && n < sizeof(names) / sizeof(names[0])) {
		names[n] = cmd_table[n]->name;
		n++;
	}
	return closest(word, names, n);
}

int cmd_unknown(const char *word)
{
	const char *near = cmd_suggest(word);

	if (near)
		return error_usage(NULL, "unknown command '%s'; did you mean '%s'?", word, near);
	return error_usage(NULL, "unknown command '%s'", word);
}

/* Global options that take a value, and where they go. */
static const char **global_slot(struct global_opts *g, const char *name)
{
	if (!strcmp(name, "profile"))
		return &g->profile;
	if (!strcmp(name, "api-url"))
		return &g->api_url;
	if (!strcmp(name, "sandbox-url"))
		return &g->sandbox_url;
	if (!strcmp(name, "domain"))
		return &g->domain;
	if (!strcmp(name, "protocol"))
		return &g->protocol;
	if (!strcmp(name, "scheme"))
		return &g->scheme;
	if (!strcmp(name, "api-key-file"))
		return &g->api_key_file;
	return NULL;
}

/* The global options before the command: the index of the command's name, or minus the
 * usage exit code.
 * Long: one chain of else-ifs over the dozen global options, each a line or two; split,
 * the order they are tried in (and the refused --api-key) would be harder to see. */
int cmd_parse_globals(struct global_opts *g, int argc, char **argv, int *want_help)
{
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *eq;
		const char **slot;

		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--")) {
			return i + 1;
		} else if (!strcmp(a, "--json")) {
			g->json = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			g->verbose = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			g->quiet = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*want_help = 1;
		} else if (!strcmp(a, "--version")) {
			*want_help = 2;
		} else if (!strcmp(a, "--api-key") || !strncmp(a, "--api-key=", 10)) {
			/* Deliberately absent: argv is visible to every user. */
			return -error_usage(NULL, "there is no --api-key option: set E2B_API_KEY "
					    "or use --api-key-file");
		} else if (a[1] == '-') {
			eq = strchr(a, '=');
			if (eq)
				*eq = '\0';
			slot = global_slot(g, a + 2);
			if (!slot) {
				if (eq)
					*eq = '=';
				return -error_usage(NULL, "unknown global option '%s'", a);
			}
			if (eq) {
				*slot = eq + 1;
			} else if (i + 1 < argc) {
				*slot = argv[++i];
			} else {
				return -error_usage(NULL, "option '%s' needs a value", a);
			}
			if (!**slot)
				return -error_usage(NULL, "option '%s' needs a non-empty value", a);
		} else {
			return -error_usage(NULL, "unknown global option '%s'", a);
		}
	}
	return i;
}

static size_t opt_count(const struct cmd_spec *spec)
{
	size_t n = 0;

	while (spec->options && spec->options[n].name)
		n++;
	return n;
}

static void opt_add(struct cmd_optval *ov, const char *val)
{
	ov->vals = xreallocarray(ov->vals, ov->n + 1, sizeof(*ov->vals));
	ov->vals[ov->n++] = (char *)val;
}

/* Find the option named by "--name" (len chars) or "-c". */
static int opt_lookup(const struct cmd_spec *spec, const char *name,
		      size_t len, char short_name)
{
	size_t i, n = opt_count(spec);

	for (i = 0; i < n; i++) {
		const struct cmd_option *o = &spec->options[i];

		if (short_name ? o->short_name == short_name :
		    strlen(o->name) == len && !strncmp(o->name, name, len))
			return (int)i;
	}
	return -1;
}

/* `run -it` as in docker: a terminal is what `shell` gives. */
static int terminal_hint(const struct cmd_spec *spec)
{
	return error_usage(spec->name, "'%s' has no interactive mode (-i): for a "
			   "terminal use 'e2bctl shell ID [COMMAND]'", spec->name);
}

/* An unknown --option: the nearest one of the command as a hint. */
static int unknown_long(const struct cmd_spec *spec, const char *name, size_t len)
{
	const char *names[32], *near;
	char word[64];
	size_t n = 0;

	if (spec->flags & CMD_TERMINAL_HINT &&
	    ((len == 11 && !strncmp(name, "interactive", len)) ||
	     (len == 3 && !strncmp(name, "tty", len))))
		return terminal_hint(spec);
	while (spec->options && spec->options[n].name && n < sizeof(names) / sizeof(names[0])) {
		names[n] = spec->options[n].name;
		n++;
	}
	snprintf(word, sizeof(word), "%.*s", (int)len, name);
	near = len < sizeof(word) ? closest(word, names, n) : NULL;
	if (near)
		return error_usage(spec->name, "unknown option '--%s' for '%s'; "
				   "did you mean '--%s'?",
				   word, spec->name, near);
	return error_usage(spec->name, "unknown option '--%.*s' for '%s'",
			   (int)len, name, spec->name);
}

/* One "--name", "--name=value" or "--name value" at argv[*i]; may take argv[*i + 1].
 * 0, or the usage exit code. */
static int parse_long(struct cmd_args *out, const struct cmd_spec *spec,
		      int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int idx;

	idx = opt_lookup(spec, name, len, 0);
	if (idx < 0)
		return unknown_long(spec, name, len);
	if (!spec->options[idx].arg) {
		if (eq)
			return error_usage(spec->name,
					   "option '--%s' takes no value",
					   spec->options[idx].name);
		opt_add(&out->opt[idx], "");
	} else if (eq) {
		opt_add(&out->opt[idx], eq + 1);
	} else if (*i + 1 < argc) {
		opt_add(&out->opt[idx], argv[++*i]);
	} else {
		return error_usage(spec->name, "option '--%s' needs a value",
				   spec->options[idx].name);
	}
	return 0;
}

/* Bundled short options at argv[*i]: -rf, or -d3 / -d 3 for one with a value (which may
 * take argv[*i + 1]). 0, or the usage exit code. */
static int parse_short(struct cmd_args *out, const struct cmd_spec *spec,
		       int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	int idx;

	if (spec->flags & CMD_TERMINAL_HINT && strspn(a + 1, "it") == strlen(a + 1) &&
	    strchr(a + 1, 'i'))
		return terminal_hint(spec);
	for (a++; *a; a++) {
		idx = opt_lookup(spec, NULL, 0, *a);
		if (idx < 0) {
			return error_usage(spec->name, "unknown option '-%c' for '%s'",
					   *a, spec->name);
		}
		if (!spec->options[idx].arg) {
			opt_add(&out->opt[idx], "");
			continue;
		}
		if (a[1]) {
			opt_add(&out->opt[idx], a + 1);
		} else if (*i + 1 < argc) {
			opt_add(&out->opt[idx], argv[++*i]);
		} else {
			return error_usage(spec->name, "option '-%c' needs a value", *a);
		}
		break;
	}
	return 0;
}

/* After the parse: an option given twice that may not be, and the argument count.
 * 0, or the usage exit code. */
static int check_parsed(const struct cmd_args *out, const struct cmd_spec *spec, size_t nopt)
{
	int idx;

	for (idx = 0; idx < (int)nopt; idx++) {
		if (out->opt[idx].n > 1 && !(spec->options[idx].flags & CMD_OPT_MULTI))
			return error_usage(spec->name, "option '--%s' given more than once",
					   spec->options[idx].name);
	}
	if (out->argc < spec->min_args) {
		if (strstr(spec->usage, "ID") == spec->usage && out->argc == 0)
			return error_usage(spec->name, "'%s' needs a sandbox ID", spec->name);
		return error_usage(spec->name, "'%s' needs more arguments: %s %s",
				   spec->name, spec->name, spec->usage);
	}
	if (spec->max_args >= 0 && out->argc > spec->max_args)
		return error_usage(spec->name, "too many arguments for '%s': unexpected '%s'",
				   spec->name, out->argv[spec->max_args]);
	return 0;
}

int cmd_parse(struct cmd_args *out, const struct cmd_spec *spec,
	      int argc, char **argv)
{
	size_t nopt = opt_count(spec);
	int i, options_done = 0, error;

	memset(out, 0, sizeof(*out));
	out->spec = spec;
	out->opt = xcalloc(nopt + 1, sizeof(*out->opt));
	out->argv = xcalloc((size_t)argc + 1, sizeof(*out->argv));
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (options_done || a[0] != '-' || !a[1]) {
			out->argv[out->argc++] = a;
			if ((spec->flags & CMD_TRAILING) &&
			    out->argc > spec->min_args)
				options_done = 1;
			continue;
		}
		if (!strcmp(a, "--")) {
			options_done = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			out->help = 1;
			return 0;
		}
		/* Output flags are global but also accepted after the command
		 * (`e2bctl watch ID DIR --json`), as kubectl and docker do. */
		if (!strcmp(a, "--json")) {
			out->json = 1;
			continue;
		}
		if (!strcmp(a, "--quiet")) {
			out->quiet = 1;
			continue;
		}
		if (!strcmp(a, "--verbose")) {
			out->verbose = 1;
			continue;
		}
		if (a[1] == '-')
			error = parse_long(out, spec, argc, argv, &i);
		else
			error = parse_short(out, spec, argc, argv, &i);
		if (error)
			return error;
	}
	return check_parsed(out, spec, nopt);
}

void cmd_args_release(struct cmd_args *args)
{
	size_t i, n;

	if (!args->spec)
		return;
	n = opt_count(args->spec);
	for (i = 0; i < n; i++)
		free(args->opt[i].vals);
	free(args->opt);
	free(args->argv);
	memset(args, 0, sizeof(*args));
}

static struct cmd_optval *find_val(const struct cmd_args *args, const char *name)
{
	int idx = opt_lookup(args->spec, name, strlen(name), 0);

	/* A command asking for an option it does not declare is our bug. */
	if (idx < 0)
		BUG("option '--%s' not declared by '%s'", name, args->spec->name);
	return &args->opt[idx];
}

const char *cmd_arg(const struct cmd_args *args, const char *name)
{
	struct cmd_optval *ov = find_val(args, name);

	return ov->n ? ov->vals[ov->n - 1] : NULL;
}

size_t cmd_count(const struct cmd_args *args, const char *name)
{
	return find_val(args, name)->n;
}

char **cmd_args_all(const struct cmd_args *args, const char *name, size_t *n)
{
	struct cmd_optval *ov = find_val(args, name);

	*n = ov->n;
	return ov->vals;
}

static const char global_help[] =
	"Global options (before COMMAND):\n"
	"  --profile NAME        use [profile NAME] of ~/.config/e2b/config\n"
	"  --api-url URL         management API base URL\n"
	"  --sandbox-url URL     envd base URL (sandbox chosen by headers)\n"
	"  --domain D            domain, e.g. e2b.app or 127.0.0.1:49982\n"
	"  --protocol P          native (api.D, PORT-ID.D) or private (D/kruise/...)\n"
	"  --scheme S            http or https\n"
	"  --api-key-file FILE   read the API key from FILE\n"
	"  --json                machine-readable output (also after COMMAND)\n"
	"  -v, --verbose         log requests to stderr\n"
	"  -q, --quiet           no progress or informational output\n"
	"  -h, --help            show help\n"
	"\n"
	"The API key comes from E2B_API_KEY (or X_API_KEY), --api-key-file or the\n"
	"profile's api_key_file; there is no option that takes the key itself.\n"
	"\n"
	"Exit status: 0 success; run and shell: the remote exit code; 1 error;\n"
	"2 usage; 3 not found; 4 authentication; 5 network or unavailable;\n"
	"6 timeout; 7 conflict; 130 interrupted.\n";

void cmd_help(FILE *f, const struct cmd_spec *spec)
{
	size_t i, n;

	if (!spec) {
		fputs("usage: e2bctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n", f);
		for (i = 0; cmd_table[i]; i++)
			fprintf(f, "  %-12s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
		fputs("\n", f);
		fputs(global_help, f);
		fputs("\nRun 'e2bctl help COMMAND' for the options of a command.\n", f);
		return;
	}
	fprintf(f, "usage: e2bctl %s%s%s\n\n%s\n", spec->name, *spec->usage ? " " : "",
		spec->usage, spec->summary);
	if (spec->description)
		fprintf(f, "\n%s", spec->description);
	n = opt_count(spec);
	if (n)
		fputs("\nOptions:\n", f);
	for (i = 0; i < n; i++) {
		const struct cmd_option *o = &spec->options[i];
		char left[64];

		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-24s %s\n", left, o->help);
	}
}
