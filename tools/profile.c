/* SPDX-License-Identifier: MIT */
/*
 * INI reader for e2bctl profiles.  Small on purpose: sections, key = value,
 * '#' and ';' comments, surrounding whitespace and optional double quotes
 * trimmed.  Unknown keys are warned about, not fatal, so newer files keep
 * working with older tools.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "profile.h"
#include "xalloc.h"

#define PROFILE_MAX_LINE 4096

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (e - s >= 2 && s[0] == '"' && e[-1] == '"') {
		e[-1] = '\0';
		s++;
	}
	return s;
}

static char *config_path(void)
{
	const char *p = getenv("E2B_CONFIG");

	if (p && *p)
		return xstrdup(p);
	p = getenv("XDG_CONFIG_HOME");
	if (p && *p)
		return xasprintf("%s/e2b/config", p);
	p = getenv("HOME");
	if (p && *p)
		return xasprintf("%s/.config/e2b/config", p);
	return NULL;
}

/* Does section header text @p sec (between the brackets) name @p name? */
static int section_matches(char *sec, const char *name)
{
	sec = trim(sec);
	if (!strncmp(sec, "profile", 7) && isspace((unsigned char)sec[7]))
		return !strcmp(trim(sec + 8), name);
	return !strcmp(sec, "default") && !strcmp(name, "default");
}

static int set_key(struct profile *p, const char *key, const char *val,
		   const char *path, unsigned lineno)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "api_url", offsetof(struct profile, api_url) },
		{ "sandbox_url", offsetof(struct profile, sandbox_url) },
		{ "domain", offsetof(struct profile, domain) },
		{ "protocol", offsetof(struct profile, protocol) },
		{ "scheme", offsetof(struct profile, scheme) },
		{ "api_key_file", offsetof(struct profile, api_key_file) },
		{ "user", offsetof(struct profile, user) },
	};
	size_t i;

	if (!strcmp(key, "api_key")) {
		/* Keys belong in a file of their own with tight permissions. */
		error_warn("%s:%u: 'api_key' is not supported, use 'api_key_file'",
			   path, lineno);
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strcmp(keys[i].key, key)) {
			char **slot = (char **)((char *)p + keys[i].off);

			free(*slot);
			*slot = xstrdup(val);
			return 0;
		}
	}
	error_warn("%s:%u: unknown key '%s'", path, lineno, key);
	return 0;
}

/* Read the config file @p f (at @p path) line by line, the keys of section @p name into
 * @p p; *@p found says whether there was such a section.  0, or the error exit code for
 * a malformed line.  A read error is left for the caller's ferror(). */
static int read_profile(struct profile *p, int *found, FILE *f, const char *path,
			const char *name)
{
	char line[PROFILE_MAX_LINE];
	unsigned lineno = 0;
	int in = 0;

	while (fgets(line, sizeof(line), f)) {
		char *s, *eq;

		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return error_msg("%s:%u: line too long", path, lineno);
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end)
				return error_msg("%s:%u: malformed section header", path, lineno);
			*end = '\0';
			in = section_matches(s + 1, name);
			*found |= in;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return error_msg("%s:%u: expected 'key = value'", path, lineno);
		*eq = '\0';
		if (in)
			set_key(p, trim(s), trim(eq + 1), path, lineno);
	}
	return 0;
}

int profile_load(struct profile **out, const char *name)
{
	char *path = NULL;
	struct profile *p = NULL;
	int explicit = name != NULL, found = 0, error = 0;
	FILE *f = NULL;

	*out = NULL;
	if (!name) {
		name = getenv("E2B_PROFILE");
		explicit = name && *name;
		if (!explicit)
			name = "default";
	}
	path = config_path();
	if (path)
		f = fopen(path, "r");
	if (!f) {
		if (explicit) {
			if (path && errno != ENOENT)
				error = error_msg("cannot open '%s': %s", path, strerror(errno));
			else
				error = error_msg("profile '%s' not found (no config file '%s')",
						  name, path ? path : "~/.config/e2b/config");
			if (error == E2BCTL_EXIT_ERROR)
				error = E2BCTL_EXIT_NOTFOUND;
		}
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	error = read_profile(p, &found, f, path, name);
	if (error)
		goto out;
	if (ferror(f)) {
		error = error_msg("cannot read '%s'", path);
		goto out;
	}
	if (!found) {
		if (explicit) {
			error = error_msg("profile '%s' not found in '%s'", name, path);
			error = E2BCTL_EXIT_NOTFOUND;
		}
		goto out;
	}
	*out = p;
	p = NULL;
out:
	if (f)
		fclose(f);
	profile_free(p);
	free(path);
	return error;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->api_url);
	free(p->sandbox_url);
	free(p->domain);
	free(p->protocol);
	free(p->scheme);
	free(p->api_key_file);
	free(p->user);
	free(p);
}
