/* SPDX-License-Identifier: MIT */
/*
 * Streaming multipart parser.  The body is scanned for the delimiter
 * "\r\n--<boundary>"; only a delimiter-length tail is ever held back, so
 * memory stays bounded whatever the part sizes.  Part headers are capped
 * at 16 KiB: the client is untrusted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/multipart.h"

#define MULTIPART_MAX_HEADERS (16u * 1024)
#define MULTIPART_MAX_BOUNDARY 200

enum multipart_state {
	MULTIPART_PREAMBLE, MULTIPART_AFTER_DELIM, MULTIPART_HEADERS, MULTIPART_BODY,
	MULTIPART_END, MULTIPART_FAILED
};

struct multipart_parser {
	char delim[MULTIPART_MAX_BOUNDARY + 8];	/* "\r\n--" boundary */
	size_t dlen;
	enum multipart_state st;
	char *buf;
	size_t len, cap;
	bool seen_part;
	const struct multipart_callbacks *cb;
	void *payload;
	char err[256];
};

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse one `key=value` value at @s into @out; returns the end. */
static const char *parse_value(const char *s, char *out, size_t outlen, bool *ok)
{
	size_t o = 0;

	*ok = true;
	if (*s == '"') {
		s++;
		while (*s && *s != '"') {
			if (*s == '\\' && s[1])
				s++;
			if (o + 1 < outlen)
				out[o++] = *s;
			else
				*ok = false;
			s++;
		}
		if (*s == '"')
			s++;
		else
			*ok = false;
	} else {
		while (*s && *s != ';' && *s != ' ' && *s != '\t') {
			if (o + 1 < outlen)
				out[o++] = *s;
			else
				*ok = false;
			s++;
		}
	}
	out[o] = '\0';
	return s;
}

/* RFC 5987 ext-value: charset'lang'pct-encoded.  Only UTF-8/ASCII. */
static int decode_ext(const char *in, char *out, size_t outlen)
{
	const char *q1 = strchr(in, '\''), *q2;
	size_t o = 0;
	int hi, lo;

	if (!q1)
		return -1;
	q2 = strchr(q1 + 1, '\'');
	if (!q2)
		return -1;
	if (strncasecmp(in, "utf-8'", 6) != 0 && strncasecmp(in, "us-ascii'", 9) != 0)
		return -1;
	for (in = q2 + 1; *in; in++) {
		char c = *in;

		if (c == '%') {
			hi = hexval((unsigned char)in[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)in[2]);
			if (lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			in += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int multipart_header_param(const char *value, const char *key, char *out, size_t outlen)
{
	char k[64], v[4096];
	const char *s = value;
	size_t klen = strlen(key), n;
	int found = -1;
	bool ok;

	/* Skip the disposition type. */
	s = strchr(s, ';');
	while (s && *s == ';') {
		s = skip_ws(s + 1);
		n = strcspn(s, "=; \t");
		if (n >= sizeof(k))
			return found;
		memcpy(k, s, n);
		k[n] = '\0';
		s = skip_ws(s + n);
		if (*s != '=') {
			s = strchr(s, ';');
			continue;
		}
		s = parse_value(skip_ws(s + 1), v, sizeof(v), &ok);
		if (ok && strlen(k) == klen + 1 && k[klen] == '*' &&
		    strncasecmp(k, key, klen) == 0) {
			if (decode_ext(v, out, outlen) == 0)
				return 0;	/* the extended form wins */
		} else if (ok && found < 0 && strcasecmp(k, key) == 0) {
			if (strlen(v) < outlen) {
				memcpy(out, v, strlen(v) + 1);
				found = 0;
			}
		}
		s = skip_ws(s);
		if (*s && *s != ';')
			s = strchr(s, ';');
	}
	return found;
}

struct multipart_parser *multipart_new(const char *content_type,
				       const struct multipart_callbacks *cb,
				       void *payload, char *err, size_t errlen)
{
	char boundary[MULTIPART_MAX_BOUNDARY + 1];
	struct multipart_parser *p;

	if (!content_type || multipart_header_param(content_type, "boundary", boundary,
						    sizeof(boundary)) < 0 || !boundary[0]) {
		snprintf(err, errlen, "no multipart boundary param in Content-Type");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->dlen = (size_t)snprintf(p->delim, sizeof(p->delim), "\r\n--%s", boundary);
	p->cap = 64 * 1024;
	p->buf = malloc(p->cap);
	if (!p->buf) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* The first delimiter may start the body: pretend a CRLF precedes it. */
	memcpy(p->buf, "\r\n", 2);
	p->len = 2;
	p->cb = cb;
	p->payload = payload;
	return p;
}

static int fail(struct multipart_parser *p, const char *msg)
{
	snprintf(p->err, sizeof(p->err), "%s", msg);
	p->st = MULTIPART_FAILED;
	return -1;
}

/*
 * A delimiter match is real only if "--" or optional blanks + CRLF follow
 * it.  Returns 1 real, 0 not a delimiter, -1 need more bytes.
 */
static int delim_real(const struct multipart_parser *p, size_t after)
{
	size_t i = after;

	if (p->len - i >= 2 && p->buf[i] == '-' && p->buf[i + 1] == '-')
		return 1;
	if (p->len - i < 2)
		return p->len - i == 1 && p->buf[i] != '-' && p->buf[i] != ' ' &&
		       p->buf[i] != '\t' && p->buf[i] != '\r' ? 0 : -1;
	while (i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t'))
		i++;
	if (i - after > 256)
		return 0;
	if (i + 2 > p->len)
		return (i < p->len && p->buf[i] != '\r') ? 0 : -1;
	return p->buf[i] == '\r' && p->buf[i + 1] == '\n';
}

static int begin_part(struct multipart_parser *p, char *headers)
{
	char name[256] = "", filename[4096];
	bool have_name = false, have_file = false;
	char *line, *next, *colon;

	for (line = headers; line && *line; line = next) {
		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (strcasecmp(line, "content-disposition") != 0)
			continue;
		if (strncasecmp(skip_ws(colon + 1), "form-data", 9) != 0)
			continue;
		have_name = multipart_header_param(colon + 1, "name", name, sizeof(name)) == 0;
		have_file = multipart_header_param(colon + 1, "filename", filename,
						   sizeof(filename)) == 0;
	}
	p->seen_part = true;
	return p->cb->part_begin(p->payload, have_name ? name : "",
				 have_file ? filename : NULL);
}

/*
 * Advance the parser over what p->buf holds: find delimiters, read each
 * part's headers, hand body bytes to the callbacks; keep a tail that may
 * begin a delimiter for the next feed.  0, or -1 once failed.
 * Long: one switch over the parser's five states, each a few lines that
 * move pos and p->st together; split, every step would need pos, rc and
 * the "wait for more input" exit passed in and out.
 */
static int run(struct multipart_parser *p)
{
	size_t pos = 0, keep = p->dlen - 1, hlen;
	char *hit;
	int rc = 0, real;

	while (rc == 0) {
		switch (p->st) {
		case MULTIPART_PREAMBLE:
			hit = memmem(p->buf + pos, p->len - pos, p->delim, p->dlen);
			if (!hit) {
				if (p->len - pos > keep)
					pos = p->len - keep;
				goto out;
			}
			real = delim_real(p, (size_t)(hit - p->buf) + p->dlen);
			if (real < 0) {
				pos = (size_t)(hit - p->buf);
				goto out;
			}
			pos = (size_t)(hit - p->buf) + (real ? p->dlen : 1);
			if (real)
				p->st = MULTIPART_AFTER_DELIM;
			break;
		case MULTIPART_AFTER_DELIM:
			if (p->len - pos < 2)
				goto out;
			if (p->buf[pos] == '-' && p->buf[pos + 1] == '-') {
				p->st = MULTIPART_END;
				pos = p->len;
				goto out;
			}
			hit = memmem(p->buf + pos, p->len - pos, "\r\n", 2);
			if (!hit) {
				if (p->len - pos > 1024)
					rc = fail(p, "malformed multipart boundary line");
				goto out;
			}
			pos = (size_t)(hit - p->buf) + 2;
			p->st = MULTIPART_HEADERS;
			break;
		case MULTIPART_HEADERS:
			if (p->len - pos >= 2 && p->buf[pos] == '\r' && p->buf[pos + 1] == '\n') {
				char none[1] = "";

				pos += 2;
				rc = begin_part(p, none);
			} else {
				hit = memmem(p->buf + pos, p->len - pos, "\r\n\r\n", 4);
				if (!hit) {
					if (p->len - pos > MULTIPART_MAX_HEADERS)
						rc = fail(p, "multipart part headers too large");
					goto out;
				}
				hlen = (size_t)(hit - p->buf) - pos;
				p->buf[pos + hlen + 2] = '\0';	/* keep the last line's CRLF */
				rc = begin_part(p, p->buf + pos);
				pos += hlen + 4;
			}
			p->st = MULTIPART_BODY;
			break;
		case MULTIPART_BODY:
			hit = memmem(p->buf + pos, p->len - pos, p->delim, p->dlen);
			if (hit) {
				size_t n = (size_t)(hit - p->buf) - pos;

				real = delim_real(p, (size_t)(hit - p->buf) + p->dlen);
				if (real == 0)
					n++;	/* boundary text inside the content */
				if (n)
					rc = p->cb->part_data(p->payload, p->buf + pos, n);
				pos += n;
				if (real < 0)
					goto out;
				if (real == 0)
					break;
				if (rc == 0)
					rc = p->cb->part_end(p->payload);
				pos += p->dlen;
				p->st = MULTIPART_AFTER_DELIM;
				break;
			}
			if (p->len - pos > keep) {
				size_t n = p->len - keep - pos;

				rc = p->cb->part_data(p->payload, p->buf + pos, n);
				pos += n;
			}
			goto out;
		case MULTIPART_END:
		case MULTIPART_FAILED:
			pos = p->len;
			goto out;
		}
	}
out:
	if (rc < 0 && p->st != MULTIPART_FAILED) {
		p->err[0] = '\0';
		p->st = MULTIPART_FAILED;
	}
	memmove(p->buf, p->buf + pos, p->len - pos);
	p->len -= pos;
	return rc < 0 ? -1 : 0;
}

int multipart_feed(struct multipart_parser *p, const char *data, size_t len)
{
	size_t ncap;
	char *nb;

	if (p->st == MULTIPART_FAILED)
		return -1;
	if (p->st == MULTIPART_END)
		return 0;
	while (len > 0) {
		size_t n = len;

		/* Feed in slices so the buffer never grows past its capacity. */
		if (p->len + n > p->cap) {
			if (p->len >= p->cap / 2) {
				ncap = p->cap * 2;
				if (ncap > 4 * MULTIPART_MAX_HEADERS + 2 * 64 * 1024)
					return fail(p, "multipart parser buffer overflow");
				nb = realloc(p->buf, ncap);
				if (!nb)
					return fail(p, "out of memory");
				p->buf = nb;
				p->cap = ncap;
			}
			n = p->cap - p->len;
			if (n > len)
				n = len;
		}
		memcpy(p->buf + p->len, data, n);
		p->len += n;
		data += n;
		len -= n;
		if (run(p) < 0)
			return -1;
	}
	return 0;
}

int multipart_finish(struct multipart_parser *p)
{
	if (p->st == MULTIPART_END)
		return 0;
	if (p->st == MULTIPART_PREAMBLE && !p->seen_part)
		return 1;
	if (p->st != MULTIPART_FAILED)
		fail(p, "unexpected EOF");
	return -1;
}

const char *multipart_error(const struct multipart_parser *p)
{
	return p->err;
}

void multipart_free(struct multipart_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}
