/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the request fields e2bd interprets itself: the /kruise path
 * prefix, the Host form of envd routing, Basic auth, the list metadata
 * filter and RFC 3339 timestamps.  Every input is client-controlled, so
 * each parser bounds its output and rejects rather than guesses.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "rfc3339.h"
#include "http/reqparse.h"

long reqparse_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int reqparse_kruise_path(const char *url, char *id, size_t idlen,
			 long *port, const char **path)
{
	const char *p, *slash;
	size_t n;

	if (strncmp(url, "/kruise/", 8) != 0 ||
	    (strncmp(url + 8, "api", 3) == 0 && (url[11] == '/' || !url[11])))
		return 0;
	p = url + 8;
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= idlen)
		return -1;
	memcpy(id, p, (size_t)(slash - p));
	id[slash - p] = '\0';
	p = slash + 1;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	*port = reqparse_port(p, n);
	if (*port < 0)
		return -1;
	*path = slash ? slash : "/";
	return 1;
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

int reqparse_host(const char *host, char *id, size_t idlen, long *port)
{
	const char *p, *start;

	for (p = host; *p >= '0' && *p <= '9'; p++)
		;
	if (p == host || *p != '-')
		return 0;
	*port = reqparse_port(host, (size_t)(p - host));
	start = ++p;
	while (id_char(*p))
		p++;
	if (p == start || *p != '.' || (size_t)(p - start) >= idlen)
		return 0;
	memcpy(id, start, (size_t)(p - start));
	id[p - start] = '\0';
	return 1;
}

/* Decode base64 into @out, NUL-terminated; -1 if invalid or too long. */
static int b64_decode(const char *in, char *out, size_t outlen)
{
	ssize_t n = e2bu_b64_decode(out, outlen - 1, in, strlen(in), NULL);

	if (n < 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int reqparse_basic_user(const char *authz, char *name, size_t namelen)
{
	char dec[512], *colon;
	const char *p;
	int n;

	if (strncasecmp(authz, "Basic ", 6) != 0)
		return 0;
	p = authz + 6;
	while (*p == ' ')
		p++;
	n = b64_decode(p, dec, sizeof(dec));
	if (n < 0 || memchr(dec, '\0', (size_t)n))
		return 0;
	colon = strchr(dec, ':');
	if (!colon)
		return 0;	/* Go's BasicAuth() needs the colon */
	*colon = '\0';
	if ((size_t)(colon - dec) >= namelen)
		return 0;
	memcpy(name, dec, (size_t)(colon - dec) + 1);
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode @n bytes of @in into a new string ('+' is a space if @form). */
static char *pct_decode(const char *in, size_t n, bool form)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (in[i] == '%' && i + 2 < n &&
		    hexval((unsigned char)in[i + 1]) >= 0 &&
		    hexval((unsigned char)in[i + 2]) >= 0) {
			out[o++] = (char)(hexval((unsigned char)in[i + 1]) * 16 +
					  hexval((unsigned char)in[i + 2]));
			i += 2;
		} else if (form && in[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * One key or value of the metadata filter.  The SDK encodes each with
 * encodeURIComponent, joins them with URLSearchParams (which encodes
 * again) and the HTTP layer decoded the query once: undo both.
 */
static char *meta_decode(const char *in, size_t n)
{
	char *once = pct_decode(in, n, true), *twice;

	if (!once)
		return NULL;
	twice = pct_decode(once, strlen(once), false);
	free(once);
	return twice;
}

/*
 * Add k=v to the filter.  A key or value that is not UTF-8 cannot be in
 * any sandbox's metadata: it becomes a pair that matches nothing rather
 * than being dropped (which would widen the filter).
 */
static void set_pair(json_t *want, const char *k, const char *v)
{
	json_t *js = json_string(v);

	if (!js || json_object_set_new(want, k, js) < 0)
		json_object_set_new(want, "\001e2bd-unmatchable",
				    json_string("\001"));
}

int reqparse_metadata(const char *q, json_t *want)
{
	const char *p = q, *amp, *eq;
	char *k, *v;

	while (*p) {
		amp = strchr(p, '&');
		if (!amp)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (amp > p) {
			k = meta_decode(p, (size_t)((eq ? eq : amp) - p));
			v = eq ? meta_decode(eq + 1, (size_t)(amp - eq - 1)) : strdup("");
			if (!k || !v) {
				free(k);
				free(v);
				return -1;
			}
			set_pair(want, k, v);
			free(k);
			free(v);
		}
		p = *amp ? amp + 1 : amp;
	}
	return 0;
}

int reqparse_rfc3339(const char *s, time_t *out)
{
	int64_t sec;

	if (e2bu_rfc3339_parse(s, &sec, NULL) < 0)
		return -1;
	*out = (time_t)sec;
	return 0;
}
