/* SPDX-License-Identifier: MIT */
/*
 * Sandbox users and envd path resolution.  Users come from the sandbox's
 * own /etc/passwd, read beneath its root (never the host's file), and
 * paths are expanded the way envd's permissions.ExpandAndResolve does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/e2bd.h"
#include "api/sandbox.h"
#include "envd/users.h"
#include "isolate/sbfs.h"

/* Parse a decimal id field [s, e) into *out; -1 if it is not one. */
static int parse_id(const char *s, const char *e, unsigned long *out)
{
	char buf[24], *end;
	size_t len = (size_t)(e - s);

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	*out = strtoul(buf, &end, 10);
	if (errno || *end || *out > 0xfffffffeUL)
		return -1;
	return 0;
}

/* One /etc/passwd line [line, end) into @out when it is @name's entry
 * (name:passwd:uid:gid:gecos:home:shell, valid ids, a home that fits):
 * 0, else -1 (and @out may be partly written). */
static int passwd_line_user(const char *line, const char *end, const char *name, size_t nlen,
			    struct sb_user *out)
{
	const char *f[7], *p;
	unsigned long uid, gid;
	int nf;

	if ((size_t)(end - line) <= nlen || memcmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return -1;
	/* name:passwd:uid:gid:gecos:home:shell */
	nf = 0;
	f[nf++] = line;
	for (p = line; p < end && nf < 7; p++)
		if (*p == ':')
			f[nf++] = p + 1;
	if (nf < 6)
		return -1;
	if (parse_id(f[2], f[3] - 1, &uid) < 0 || parse_id(f[3], f[4] - 1, &gid) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, name, nlen + 1);
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	p = nf > 6 ? f[6] - 1 : end;
	if ((size_t)(p - f[5]) >= sizeof(out->home))
		return -1;
	memcpy(out->home, f[5], (size_t)(p - f[5]));
	out->home[p - f[5]] = '\0';
	if (out->home[0] != '/')
		snprintf(out->home, sizeof(out->home), "/");
	return 0;
}

int users_lookup(struct sandbox *sb, const char *name, struct sb_user *out)
{
	const char *line, *end;
	size_t nlen;
	char *passwd;
	int rc = -1, rootfd;

	if (!sb || !name || !*name)
		return -1;
	nlen = strlen(name);
	if (nlen >= sizeof(out->name) || strchr(name, ':') || strchr(name, '\n'))
		return -1;
	rootfd = sbfs_root_get(sb);
	if (rootfd < 0)
		return -1;
	passwd = sbfs_read_cached(&sb->passwd, rootfd, "/etc/passwd", 1u << 20);
	close(rootfd);
	if (!passwd)
		return -1;
	for (line = passwd; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (passwd_line_user(line, end, name, nlen, out) < 0)
			continue;
		rc = 0;
		break;
	}
	free(passwd);
	return rc;
}

int users_resolve_path(const struct sb_user *u, const char *in,
		       char *out, size_t outlen, char *err, size_t errlen)
{
	char buf[SBFS_PATH_MAX];
	int n;

	if (!in || in[0] == '\0') {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	if (in[0] == '~') {
		if (in[1] != '\0' && in[1] != '/' && in[1] != '\\') {
			snprintf(err, errlen,
				 "failed to expand path '%s' for user '%s': "
				 "cannot expand user-specific home dir",
				 in, u->name);
			return -1;
		}
		n = snprintf(buf, sizeof(buf), "%s/%s", u->home, in + 1);
	} else if (in[0] == '/') {
		n = snprintf(buf, sizeof(buf), "%s", in);
	} else {
		n = snprintf(buf, sizeof(buf), "%s/%s", u->home, in);
	}
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	sbfs_clean(buf);
	if (strlen(buf) >= outlen) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}
