/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the commands: K=V and number parsing, JSON output in
 * the documented shapes, time and size formatting, signal flags.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "rfc3339.h"

int parse_kv_list(e2b_kv **out, char **vals, size_t n, const char *opt)
{
	e2b_kv *kv;
	size_t i;

	*out = NULL;
	if (!n)
		return 0;
	kv = xcalloc(n, sizeof(*kv));
	for (i = 0; i < n; i++) {
		char *eq = strchr(vals[i], '=');

		if (!eq || eq == vals[i]) {
			free(kv);
			fflush(stdout);
			fprintf(stderr,
				"e2bctl: malformed K=V '%s' for --%s (expected KEY=VALUE)\n",
				vals[i], opt);
			return E2BCTL_EXIT_USAGE;
		}
		*eq = '\0';
		kv[i].key = vals[i];
		kv[i].value = eq + 1;
	}
	*out = kv;
	return 0;
}

int parse_uint(unsigned long long *out, const char *s, const char *what,
	       unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fflush(stdout);
	fprintf(stderr, "e2bctl: invalid %s '%s' (expected a number from %llu to %llu)\n",
		what, s, min, max);
	return E2BCTL_EXIT_USAGE;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- JSON ---- */

static void out_json_flags(json_t *v, size_t flags)
{
	if (!v)
		die("out of memory");
	if (json_dumpf(v, stdout, flags | JSON_PRESERVE_ORDER) < 0)
		die("cannot write output");
	fputc('\n', stdout);
	json_decref(v);
}

void out_json(json_t *v)
{
	out_json_flags(v, JSON_INDENT(2));
}

void out_json_line(json_t *v)
{
	out_json_flags(v, JSON_COMPACT);
	fflush(stdout);
}

/* Length of the valid UTF-8 sequence at @p s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *json_str(const char *s)
{
	json_t *v;
	char *fixed;
	size_t len, i, o = 0, n;

	if (!s)
		s = "";
	v = json_string(s);
	if (v)
		return v;
	/* File names are bytes; invalid UTF-8 becomes U+FFFD per byte. */
	len = strlen(s);
	fixed = xmalloc(len * 3 + 1);
	for (i = 0; i < len; i += n) {
		n = utf8_len((const unsigned char *)s + i, len - i);
		if (n) {
			memcpy(fixed + o, s + i, n);
			o += n;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	fixed[o] = '\0';
	v = json_string(fixed);
	free(fixed);
	if (!v)
		die("out of memory");
	return v;
}

json_t *json_kv(const e2b_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, json_str(kv[i].value));
	return o;
}

void fmt_time_ms(char *buf, size_t cap, int64_t ms)
{
	if (!ms || e2bu_rfc3339_format(buf, cap, ms / 1000, 0, 0) < 0)
		snprintf(buf, cap, "%s", "");
}

void fmt_time_ns(char *buf, size_t cap, int64_t sec, int32_t nsec)
{
	int digits = nsec > 0 && nsec < 1000000000 ? 9 : 0;

	if (e2bu_rfc3339_format(buf, cap, sec, nsec, digits) < 0)
		snprintf(buf, cap, "%s", "");
}

/* A string, or null when absent (NULL or ""): the vocabulary's rule. */
static json_t *json_str_null(const char *s)
{
	return s && *s ? json_str(s) : json_null();
}

static json_t *json_time_ms(int64_t ms)
{
	char buf[40];

	if (!ms)
		return json_null();
	fmt_time_ms(buf, sizeof(buf), ms);
	return json_string(buf);
}

json_t *json_sandbox(const e2b_sandbox_info *i)
{
	json_t *o = json_object();

	json_object_set_new(o, "sandboxID", json_str(i->sandbox_id));
	json_object_set_new(o, "templateID", json_str_null(i->template_id));
	json_object_set_new(o, "alias", json_str_null(i->alias));
	json_object_set_new(o, "clientID", json_str_null(i->client_id));
	json_object_set_new(o, "state", json_string(e2b_sandbox_state_str(i->state)));
	json_object_set_new(o, "envdVersion", json_str_null(i->envd_version));
	json_object_set_new(o, "domain", json_str_null(i->domain));
	json_object_set_new(o, "startedAt", json_time_ms(i->started_at_ms));
	json_object_set_new(o, "endAt", json_time_ms(i->end_at_ms));
	json_object_set_new(o, "cpuCount", json_integer(i->cpu_count));
	json_object_set_new(o, "memoryMB", json_integer(i->memory_mb));
	json_object_set_new(o, "diskSizeMB", json_integer(i->disk_size_mb));
	json_object_set_new(o, "metadata", json_kv(i->metadata, i->metadata_count));
	return o;
}

json_t *json_entry(const e2b_entry_info *e)
{
	json_t *o = json_object();
	char buf[48];

	json_object_set_new(o, "name", json_str(e->name));
	json_object_set_new(o, "path", json_str(e->path));
	json_object_set_new(o, "type", json_string(e2b_file_type_str(e->type)));
	json_object_set_new(o, "isSymlink", json_boolean(e->is_symlink));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "mode", json_integer((json_int_t)e->mode));
	json_object_set_new(o, "permissions", json_str_null(e->permissions));
	json_object_set_new(o, "owner", json_str_null(e->owner));
	json_object_set_new(o, "group", json_str_null(e->group));
	if (e->mtime_sec) {
		fmt_time_ns(buf, sizeof(buf), e->mtime_sec, e->mtime_nsec);
		json_object_set_new(o, "modifiedTime", json_string(buf));
	} else {
		json_object_set_new(o, "modifiedTime", json_null());
	}
	json_object_set_new(o, "symlinkTarget",
			    json_str_null(e->symlink_target));
	json_object_set_new(o, "metadata", json_kv(e->metadata, e->metadata_count));
	return o;
}

void fmt_size(char *buf, size_t cap, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, cap, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, cap, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void fmt_age(char *buf, size_t cap, int64_t sec)
{
	int64_t m = sec / 60, h = sec / 3600, d = h / 24, y = d / 365;

	if (sec < -1)
		snprintf(buf, cap, "<invalid>");
	else if (sec < 0)
		snprintf(buf, cap, "0s");
	else if (sec < 60 * 2)
		snprintf(buf, cap, "%llds", (long long)sec);
	else if (m < 10 && sec % 60)
		snprintf(buf, cap, "%lldm%llds", (long long)m, (long long)(sec % 60));
	else if (m < 60 * 3)
		snprintf(buf, cap, "%lldm", (long long)m);
	else if (h < 8 && m % 60)
		snprintf(buf, cap, "%lldh%lldm", (long long)h, (long long)(m % 60));
	else if (h < 48)
		snprintf(buf, cap, "%lldh", (long long)h);
	else if (h < 24 * 8 && h % 24)
		snprintf(buf, cap, "%lldd%lldh", (long long)d, (long long)(h % 24));
	else if (h < 24 * 365 * 2)
		snprintf(buf, cap, "%lldd", (long long)d);
	else if (h < 24 * 365 * 8 && d % 365)
		snprintf(buf, cap, "%lldy%lldd", (long long)y, (long long)(d % 365));
	else
		snprintf(buf, cap, "%lldy", (long long)y);
}

void table_init(struct table *t, size_t ncols)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
}

void table_add(struct table *t, const char *const *cells)
{
	size_t i;

	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

void table_print(FILE *f, const struct table *t)
{
	size_t *w = xcalloc(t->ncols ? t->ncols : 1, sizeof(*w)), r, c, n;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			n = strlen(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				fprintf(f, "%-*s   ", (int)w[c], s);
			else
				fprintf(f, "%s\n", s);
		}
	}
	free(w);
}

void table_release(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	table_init(t, t->ncols);
}

/* ---- signals ---- */

volatile sig_atomic_t sig_interrupts;
volatile sig_atomic_t sig_winch;

volatile sig_atomic_t sig_hard_exit;
char sig_cleanup_path[4096];

static void on_interrupt(int sig)
{
	(void)sig;
	sig_interrupts++;
	/* A transfer stalled inside the library never sees the flag: the
	 * second Ctrl-C removes our temporary file and leaves at once. */
	if (sig_hard_exit && sig_interrupts >= 2) {
		if (sig_cleanup_path[0])
			unlink(sig_cleanup_path);
		_exit(E2BCTL_EXIT_INTERRUPTED);
	}
}

static void on_winch(int sig)
{
	(void)sig;
	sig_winch = 1;
}

void sig_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking poll should return and see the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void sig_catch_winch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

void sig_default(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
}
