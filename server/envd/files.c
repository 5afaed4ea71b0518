/* SPDX-License-Identifier: MIT */
/*
 * envd's plain-HTTP routes (protocol.md §2.8): GET/POST /files,
 * POST /files/compose, /health, /envs, /metrics.  Downloads are served
 * from the file descriptor (sendfile, no copy); uploads stream into a
 * temporary file beside the target that is renamed over it at the end,
 * so a failed upload never leaves a truncated file behind (envd truncates
 * in place; this is deliberately safer).  Paths and signatures come from
 * clients, file contents from the sandbox: both are untrusted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "b64.h"
#include "core/e2bd.h"
#include "envd/fsrpc.h"
#include "envd/users.h"
#include "http/multipart.h"
#include "http/rpc.h"
#include "isolate/sbfs.h"
#include "api/usage.h"

#define COMPOSE_MAX_BODY (1u << 20)
#define METADATA_MAX_TOTAL 4096
#define XATTR_META_PREFIX "user.e2b."
#define METADATA_MAX_KEY (255 - 9)	/* xattr names are <= 255 bytes */

/* ---- small helpers ------------------------------------------------------ */

static const char *query(struct envd_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header(struct envd_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

static enum MHD_Result send_empty(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (status == MHD_HTTP_NO_CONTENT)	/* /health */
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status,
				 const char *text, const char *content_range)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (content_range)
		MHD_add_response_header(resp, "Content-Range", content_range);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The length of the valid UTF-8 sequence at @p (1-4), 0 when @p's first
 * byte does not start one (RFC 3629's table of well-formed sequences). */
static size_t utf8_valid_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len = 0, i;

	if (c < 0x80)
		len = 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < len; i++) {
		unsigned char b = p[i];

		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			break;
	}
	if (len == 0 || i < len)
		return 0;
	return len;
}

/*
 * A JSON string of S as Go's encoding/json writes it (envd's answers): each
 * byte that does not start a valid UTF-8 sequence becomes U+FFFD, so a name
 * that is not UTF-8 is still answered (not dropped).
 */
static json_t *json_string_lossy(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0;
	char *buf = malloc(n * 3 + 1);
	json_t *j;

	if (!buf)
		return NULL;
	while (*p) {
		size_t len = utf8_valid_len(p);

		if (len == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(buf + o, p, len);
		o += len;
		p += len;
	}
	buf[o] = '\0';
	j = json_string(buf);
	free(buf);
	return j;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return (s && s[1]) ? s + 1 : path;
}

static void http_date(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int parse_http_date(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The user a /files request acts as: ?username= or the call's user. */
static int files_user(struct envd_request *r, struct sb_user *u, char *err, size_t errlen)
{
	const char *name = query(r, "username");

	if (!name) {
		*u = r->ctx.user;
		return 0;
	}
	if (users_lookup(r->ctx.sb, name, u) < 0) {
		snprintf(err, errlen, "error looking up user '%s': user: unknown user %s",
			 name, name);
		return -1;
	}
	return 0;
}

/* The v1_ signature envd expects for @operation on this request's path and
 * username with token @tok (and expiry *@expv when given) into @out; -1 when
 * SHA-256 cannot be started. */
static int signing_expected(struct envd_request *r, const char *operation, const char *tok,
			    const long long *expv, char *out, size_t outlen)
{
	const char *path = query(r, "path"), *user = query(r, "username");
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char b64[64];
	EVP_MD_CTX *md;
	int n;

	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	EVP_DigestUpdate(md, path ? path : "", path ? strlen(path) : 0);
	EVP_DigestUpdate(md, ":", 1);
	EVP_DigestUpdate(md, operation, strlen(operation));
	EVP_DigestUpdate(md, ":", 1);
	EVP_DigestUpdate(md, user ? user : "", user ? strlen(user) : 0);
	EVP_DigestUpdate(md, ":", 1);
	EVP_DigestUpdate(md, tok, strlen(tok));
	if (expv) {
		char num[32];

		n = snprintf(num, sizeof(num), ":%lld", *expv);
		EVP_DigestUpdate(md, num, (size_t)n);
	}
	EVP_DigestFinal_ex(md, digest, NULL);
	EVP_MD_CTX_free(md);
	n = (int)e2bu_b64_encode(b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(out, outlen, "v1_%s", b64);
	return 0;
}

/*
 * envd's validateSigning: with an access token set, either X-Access-Token
 * matches, or a v1_ signature over path:operation:username:token[:exp].
 */
static int check_signing(struct envd_request *r, const char *operation,
			 char *err, size_t errlen)
{
	const char *tok = r->ctx.sb->access_token, *hdr, *sig, *exp;
	char expected[80];
	long long expv = 0;
	char *end;

	if (!tok[0])
		return 0;
	hdr = header(r, "X-Access-Token");
	if (hdr && hdr[0]) {
		if (strlen(hdr) == strlen(tok) && CRYPTO_memcmp(hdr, tok, strlen(tok)) == 0)
			return 0;
		snprintf(err, errlen, "access token present in header but does not match");
		return -1;
	}
	sig = query(r, "signature");
	if (!sig) {
		snprintf(err, errlen, "missing signature query parameter");
		return -1;
	}
	exp = query(r, "signature_expiration");
	if (exp) {
		errno = 0;
		expv = strtoll(exp, &end, 10);
		if (errno || end == exp || *end) {
			snprintf(err, errlen, "invalid signature");
			return -1;
		}
	}
	if (signing_expected(r, operation, tok, exp ? &expv : NULL, expected,
			     sizeof(expected)) < 0) {
		snprintf(err, errlen, "invalid signature");
		return -1;
	}
	if (strlen(sig) != strlen(expected) ||
	    CRYPTO_memcmp(sig, expected, strlen(expected)) != 0) {
		snprintf(err, errlen, "invalid signature");
		return -1;
	}
	if (exp && expv < (long long)time(NULL)) {
		snprintf(err, errlen, "signature is already expired");
		return -1;
	}
	return 0;
}

/* ---- GET /files ---------------------------------------------------------- */

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".html", "text/html; charset=utf-8" },
	{ ".htm", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".xml", "text/xml; charset=utf-8" },
	{ ".csv", "text/csv; charset=utf-8" },
	{ ".md", "text/markdown; charset=utf-8" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".gif", "image/gif" },
	{ ".webp", "image/webp" },
	{ ".svg", "image/svg+xml" },
	{ ".pdf", "application/pdf" },
	{ ".wasm", "application/wasm" },
	{ ".zip", "application/zip" },
	{ ".gz", "application/gzip" },
	{ ".tar", "application/x-tar" },
};

/* Go's ServeContent: type by extension, else sniff the first 512 bytes. */
static void content_type(const char *name, int fd, off_t size, char *out, size_t outlen)
{
	const char *dot = strrchr(name, '.');
	unsigned char buf[512];
	ssize_t n = 0, i;
	size_t k;

	if (dot) {
		for (k = 0; k < sizeof(mime_types) / sizeof(mime_types[0]); k++) {
			if (strcasecmp(dot, mime_types[k].ext) == 0) {
				snprintf(out, outlen, "%s", mime_types[k].type);
				return;
			}
		}
	}
	if (size > 0)
		n = pread(fd, buf, sizeof(buf), 0);
	if (n >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0) {
		snprintf(out, outlen, "image/png");
		return;
	}
	if (n >= 3 && memcmp(buf, "\x1f\x8b\x08", 3) == 0) {
		snprintf(out, outlen, "application/x-gzip");
		return;
	}
	if (n >= 5 && memcmp(buf, "%PDF-", 5) == 0) {
		snprintf(out, outlen, "application/pdf");
		return;
	}
	if (n >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0) {
		snprintf(out, outlen, "application/zip");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) ||
		    (c >= 0x1c && c <= 0x1f)) {
			snprintf(out, outlen, "application/octet-stream");
			return;
		}
	}
	snprintf(out, outlen, "text/plain; charset=utf-8");
}

/* Content-Disposition the way Go's mime.FormatMediaType writes it. */
static void content_disposition(const char *name, char *out, size_t outlen)
{
	static const char tspecials[] = "()<>@,;:\\\"/[]?=";
	bool token = name[0] != '\0', ascii = true;
	size_t o, i;
	const unsigned char *s;

	for (s = (const unsigned char *)name; *s; s++) {
		if (*s >= 0x80 || *s < 0x20 || *s == 0x7f)
			ascii = false;
		if (*s <= ' ' || *s >= 0x7f || strchr(tspecials, *s))
			token = false;
	}
	if (!ascii) {
		o = (size_t)snprintf(out, outlen, "inline; filename*=utf-8''");
		for (s = (const unsigned char *)name; *s && o + 4 < outlen; s++) {
			if (isalnum(*s) || strchr("!#$&+-.^_`|~", *s))
				out[o++] = (char)*s;
			else
				o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *s);
		}
		out[o < outlen ? o : outlen - 1] = '\0';
		return;
	}
	if (token) {
		snprintf(out, outlen, "inline; filename=%s", name);
		return;
	}
	o = (size_t)snprintf(out, outlen, "inline; filename=\"");
	for (i = 0; name[i] && o + 3 < outlen; i++) {
		if (name[i] == '"' || name[i] == '\\')
			out[o++] = '\\';
		out[o++] = name[i];
	}
	snprintf(out + o, outlen - o, "\"");
}

/*
 * Parse a single "bytes=a-b" range against @size.  Returns 1 with the
 * range set, 0 to serve the whole file (no or multiple ranges), -1 if it
 * cannot be satisfied (416).
 * Long: a parser of the header's forms (suffix "-N", "a-", "a-b"), each a
 * few checks of strtoll's result; the checks are its complexity.
 */
static int parse_range(const char *h, off_t size, off_t *start, off_t *len)
{
	long long a, b;
	const char *s;
	char *end;

	if (!h)
		return 0;
	if (strncmp(h, "bytes=", 6) != 0)
		return -1;
	s = h + 6;
	while (*s == ' ')
		s++;
	if (strchr(s, ','))
		return 0;	/* multiple ranges: RFC 7233 lets us ignore Range */
	if (*s == '-') {
		errno = 0;
		b = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || b < 0)
			return -1;
		if (b == 0)
			return -1;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return size == 0 ? -1 : 1;
	}
	errno = 0;
	a = strtoll(s, &end, 10);
	if (errno || end == s || *end != '-' || a < 0)
		return -1;
	s = end + 1;
	if (*s == '\0') {
		b = size - 1;
	} else {
		errno = 0;
		b = strtoll(s, &end, 10);
		if (errno || end == s || *end || b < a)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

/* Open @path of the sandbox for a GET: its fd (stat in @st), or -1 when
 * it answered (*ret: 404, 400 for a directory or a special file, 5xx). */
static int get_open(struct envd_request *r, const char *path, struct stat *st,
		    enum MHD_Result *ret)
{
	int fd, e, rootfd;

	rootfd = sbfs_root_get(r->ctx.sb);
	if (rootfd < 0) {
		*ret = rpc_send_error(r->conn, 502, "sandbox filesystem is not mounted");
		return -1;
	}
	fd = sbfs_open(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	e = errno;
	close(rootfd);
	if (fd < 0) {
		if (e == ENOENT)
			*ret = rpc_send_error(r->conn, 404, "path '%s' does not exist", path);
		else
			*ret = rpc_send_error(r->conn, 500,
					      "error checking if path exists '%s': stat %s: %s",
					      path, path, sbfs_errstr(e));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		close(fd);
		*ret = rpc_send_error(r->conn, 500, "error checking if path exists '%s': %s",
				      path, sbfs_errstr(e));
		return -1;
	}
	if (S_ISDIR(st->st_mode)) {
		close(fd);
		*ret = rpc_send_error(r->conn, 400, "path '%s' is a directory", path);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		*ret = rpc_send_error(r->conn, 400, "path '%s' is not a regular file", path);
		return -1;
	}
	/* Drop O_NONBLOCK again: it only guarded against opening a FIFO. */
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* Conditional requests (http.ServeContent; no ETag, so dates only): the
 * status to answer (412, 304), or 0 to serve the file. */
static unsigned get_precondition(struct envd_request *r, const struct stat *st)
{
	const char *h;
	time_t t;

	h = header(r, "If-Unmodified-Since");
	if (h && parse_http_date(h, &t) == 0 && st->st_mtime > t)
		return 412;
	h = header(r, "If-Modified-Since");
	if (h && !header(r, "If-None-Match") && parse_http_date(h, &t) == 0 &&
	    st->st_mtime <= t)
		return 304;
	return 0;
}

/* The Range to serve of a file of @st: as parse_range() (1 with *start and
 * *len set, -1 for a 416), 0 (the whole file, set) also when If-Range
 * does not match. */
static int get_range(struct envd_request *r, const struct stat *st, off_t *start, off_t *len)
{
	int rr;
	time_t t;

	*len = st->st_size;
	rr = parse_range(header(r, "Range"), st->st_size, start, len);
	if (rr != 0) {
		const char *ifr = header(r, "If-Range");

		/* If-Range with a stale date (or any ETag: we have none) → whole file. */
		if (ifr && (parse_http_date(ifr, &t) < 0 || t != st->st_mtime))
			rr = 0;
	}
	if (rr == 0) {
		*start = 0;
		*len = st->st_size;
	}
	return rr;
}

/* Serve [start, start + len) of @fd (consumed), the file @path of @st, as
 * 206 (@rr 1) or 200, with http.ServeContent's headers. */
static enum MHD_Result get_send(struct envd_request *r, const char *path, int fd,
				const struct stat *st, off_t start, off_t len, int rr)
{
	char ctype[64], disp[3 * SBFS_PATH_MAX + 64], lm[64], crange[96];
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (len == 0) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		content_type(base_name(path), fd, st->st_size, ctype, sizeof(ctype));
		/* MHD owns fd from here and serves it with sendfile(). */
		resp = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)start);
		if (!resp)
			close(fd);
	}
	if (!resp)
		return MHD_NO;
	if (len == 0)
		snprintf(ctype, sizeof(ctype), "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	http_date(st->st_mtime, lm, sizeof(lm));
	MHD_add_response_header(resp, "Last-Modified", lm);
	content_disposition(base_name(path), disp, sizeof(disp));
	MHD_add_response_header(resp, "Content-Disposition", disp);
	MHD_add_response_header(resp, "Vary", "Accept-Encoding");
	if (rr == 1) {
		snprintf(crange, sizeof(crange), "bytes %lld-%lld/%lld", (long long)start,
			 (long long)(start + len - 1), (long long)st->st_size);
		MHD_add_response_header(resp, "Content-Range", crange);
	}
	ret = MHD_queue_response(r->conn, rr == 1 ? 206 : 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* GET /files: a file of the sandbox, with Range and conditional requests
 * as Go's http.ServeContent answers them. */
static enum MHD_Result files_get(struct envd_request *r)
{
	char err[SBFS_PATH_MAX + 256], path[SBFS_PATH_MAX], msg[512], crange[96];
	const char *qpath = query(r, "path");
	struct sb_user u;
	struct stat st;
	off_t start = 0, len;
	enum MHD_Result ret;
	unsigned status;
	int fd, rr;

	if (check_signing(r, "read", err, sizeof(err)) < 0)
		return rpc_send_error(r->conn, 401, "%s", err);
	if (files_user(r, &u, err, sizeof(err)) < 0)
		return rpc_send_error(r->conn, 401, "%s", err);
	if (users_resolve_path(&u, qpath ? qpath : "", path, sizeof(path), msg, sizeof(msg)) < 0)
		return rpc_send_error(r->conn, 400, "error expanding and resolving path '%s': %s",
				      qpath ? qpath : "", msg);
	if (!path[0])
		snprintf(path, sizeof(path), "%s", u.home);
	fd = get_open(r, path, &st, &ret);
	if (fd < 0)
		return ret;
	status = get_precondition(r, &st);
	if (status) {
		close(fd);
		return send_empty(r->conn, status);
	}
	rr = get_range(r, &st, &start, &len);
	if (rr < 0) {
		close(fd);
		snprintf(crange, sizeof(crange), "bytes */%lld", (long long)st.st_size);
		return send_text(r->conn, 416, "invalid range: failed to overlap\n", crange);
	}
	return get_send(r, path, fd, &st, start, len, rr);
}

/* ---- uploads ------------------------------------------------------------- */

enum upload_kind { UP_MULTIPART, UP_RAW, UP_COMPOSE };

struct upload {
	enum upload_kind kind;
	unsigned status;		/* deferred error status, 0 = none */
	char error[SBFS_PATH_MAX + 256];
	struct sb_user user;
	int rootfd;
	bool has_path;
	char path_param[SBFS_PATH_MAX];
	struct multipart_parser *mp;
	json_t *metadata;		/* X-Metadata-* → object, or NULL */
	json_t *results;		/* array of {"path","name","type"} */
	/* the file being written */
	bool active;
	bool skip_part;
	bool overwrite;		/* the target is an existing regular file */
	int fd;
	int pfd;
	char tmp[64];
	char leaf[NAME_MAX + 1];
	char dest[SBFS_PATH_MAX];	/* as reported */
	/* compose body */
	char *body;
	size_t len;
	/* Content-Encoding: gzip request bodies */
	bool gzip;
	bool gzip_done;		/* a gzip member ended and nothing followed yet */
	z_stream z;
};

static int up_fail(struct upload *u, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int up_fail(struct upload *u, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (u->status)
		return -1;	/* keep the first error */
	u->status = status;
	va_start(ap, fmt);
	vsnprintf(u->error, sizeof(u->error), fmt, ap);
	va_end(ap);
	return -1;
}

static void file_abort(struct upload *u)
{
	if (!u->active)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->pfd >= 0) {
		if (u->tmp[0])
			unlinkat(u->pfd, u->tmp, 0);
		close(u->pfd);
	}
	u->tmp[0] = '\0';
	u->fd = u->pfd = -1;
	u->active = false;
}

static void upload_free(void *state)
{
	struct upload *u = state;

	if (!u)
		return;
	file_abort(u);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->gzip)
		inflateEnd(&u->z);
	multipart_free(u->mp);
	json_decref(u->metadata);
	json_decref(u->results);
	free(u->body);
	free(u);
}

static bool is_nospace(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* Whether an earlier part of this upload went to @dest. */
static bool upload_has_dest(struct upload *u, const char *dest)
{
	size_t i;

	for (i = 0; i < json_array_size(u->results); i++) {
		const char *p = json_string_value(json_object_get(json_array_get(u->results, i),
								  "path"));

		if (p && strcmp(p, dest) == 0)
			return true;
	}
	return false;
}

/* Create the upload's temp file (a random name, 8 tries) in u->pfd, owned
 * by the user with @mode; on failure it aborts the file and answers. */
static int file_open_tmp(struct upload *u, const char *dest, mode_t mode)
{
	size_t i;
	int e;

	for (i = 0; i < 8; i++) {
		char hex[17];

		if (util_random_hex(hex, sizeof(hex), 8) < 0)
			snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)log_now_ms() + i);
		snprintf(u->tmp, sizeof(u->tmp), UPLOAD_TMP_PREFIX "%s", hex);
		u->fd = openat(u->pfd, u->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (u->fd >= 0 || errno != EEXIST)
			break;
	}
	if (u->fd < 0) {
		e = errno;
		u->tmp[0] = '\0';	/* not ours: never unlink it */
		file_abort(u);
		if (is_nospace(e))
			return up_fail(u, 507, "not enough inodes available: open %s: %s",
				       dest, sbfs_errstr(e));
		return up_fail(u, 500, "error opening file: open %s: %s", dest, sbfs_errstr(e));
	}
	if (fchown(u->fd, u->user.uid, u->user.gid) < 0 || fchmod(u->fd, mode) < 0) {
		e = errno;
		file_abort(u);
		return up_fail(u, 500, "error changing file ownership: chown %s: %s",
			       dest, sbfs_errstr(e));
	}
	return 0;
}

/* Go on with u->pfd open on the target's directory and u->leaf set: @st
 * is the target's stat, NULL when it does not exist. */
static int file_begin_at(struct upload *u, const char *dest, const struct stat *st)
{
	mode_t mode = 0644;

	u->overwrite = false;
	u->active = true;
	if (st && S_ISDIR(st->st_mode)) {
		file_abort(u);
		return up_fail(u, 400, "path is a directory: %s", dest);
	}
	if (st && S_ISREG(st->st_mode)) {
		mode = st->st_mode & 0777;
		u->overwrite = true;
	}
	return file_open_tmp(u, dest, mode);
}

/* Start writing @dest (resolved sandbox path) into a temp file beside it. */
static int file_begin(struct upload *u, const char *dest)
{
	char dir[SBFS_PATH_MAX], real[SBFS_PATH_MAX], msg[SBFS_PATH_MAX + 128];
	const char *target = dest;
	struct stat st;
	bool exists;
	int e;

	/* Two parts to one path: envd refuses. */
	if (upload_has_dest(u, dest))
		return up_fail(u, 400,
			       "you cannot upload multiple files to the same path '%s' "
			       "in one upload request, only the first specified file "
			       "was uploaded",
			       dest);
	snprintf(u->dest, sizeof(u->dest), "%s", dest);
	/* The common case first: the parent is a directory and @dest is no
	 * symlink, so nothing is to be created or followed and its lstat is
	 * its stat. */
	u->pfd = sbfs_open_parent(u->rootfd, dest, u->leaf, sizeof(u->leaf));
	if (u->pfd >= 0) {
		if (fstatat(u->pfd, u->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISLNK(st.st_mode))
			return file_begin_at(u, dest, &st);
		if (errno == ENOENT)
			return file_begin_at(u, dest, NULL);
		close(u->pfd);
		u->pfd = -1;
	}
	/* Writing through a symlink writes its target, as envd's open() does. */
	if (sbfs_lstat(u->rootfd, dest, &st) == 0 && S_ISLNK(st.st_mode) &&
	    sbfs_realpath(u->rootfd, dest, real, sizeof(real)) == 0)
		target = real;
	snprintf(dir, sizeof(dir), "%s", target);
	{
		char *slash = strrchr(dir, '/');

		if (slash == dir)
			dir[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
	if (sbfs_mkdirs(u->rootfd, dir, u->user.uid, u->user.gid, msg, sizeof(msg)) < 0)
		return up_fail(u, 500, "error ensuring directories: %s", msg);
	exists = sbfs_stat(u->rootfd, target, &st) == 0;
	u->pfd = sbfs_open_parent(u->rootfd, target, u->leaf, sizeof(u->leaf));
	if (u->pfd < 0) {
		e = errno;
		return up_fail(u, 500, "error opening file: open %s: %s", dest, sbfs_errstr(e));
	}
	return file_begin_at(u, dest, exists ? &st : NULL);
}

static int file_write(struct upload *u, const char *data, size_t len)
{
	ssize_t n;
	int e;

	while (len > 0) {
		n = write(u->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			file_abort(u);
			if (is_nospace(e))
				return up_fail(u, 507, "not enough disk space available");
			return up_fail(u, 500, "error writing file: write %s: %s",
				       u->dest, sbfs_errstr(e));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The user.e2b.* xattrs actually stored on @fd, as the upload reply shows them. */
static json_t *fd_metadata(int fd)
{
	char list[4096], val[4096];
	size_t off, plen = strlen(XATTR_META_PREFIX);
	json_t *meta = NULL;
	ssize_t len, vlen;

	len = flistxattr(fd, list, sizeof(list));
	for (off = 0; len > 0 && off < (size_t)len; off += strlen(list + off) + 1) {
		const char *name = list + off;

		if (strncmp(name, XATTR_META_PREFIX, plen) != 0 || !name[plen])
			continue;
		vlen = fgetxattr(fd, name, val, sizeof(val) - 1);
		if (vlen < 0)
			continue;
		if (!meta)
			meta = json_object();
		json_object_set_new(meta, name + plen, json_stringn(val, (size_t)vlen));
	}
	return meta;
}

/*
 * Make the user.e2b.* set of @fd exactly @metadata (envd's WriteMetadata:
 * keys not sent are removed).  Returns 0, or -1 with up_fail() done.
 */
static int replace_metadata(struct upload *u, int fd)
{
	char list[4096], name[300];
	size_t off, plen = strlen(XATTR_META_PREFIX);
	const char *key;
	ssize_t len;
	json_t *v;
	int e;

	len = flistxattr(fd, list, sizeof(list));
	for (off = 0; len > 0 && off < (size_t)len; off += strlen(list + off) + 1) {
		if (strncmp(list + off, XATTR_META_PREFIX, plen) == 0 &&
		    !json_object_get(u->metadata, list + off + plen))
			fremovexattr(fd, list + off);
	}
	json_object_foreach(u->metadata, key, v) {
		snprintf(name, sizeof(name), XATTR_META_PREFIX "%s", key);
		if (fsetxattr(fd, name, json_string_value(v), strlen(json_string_value(v)), 0) == 0)
			continue;
		e = errno;
		/* No xattrs here (envd logs and goes on; the reply reads back). */
		if (e == ENOTSUP || e == EOPNOTSUPP) {
			log_warn("no xattr support for '%s': metadata not stored", u->dest);
			return 0;
		}
		if (is_nospace(e))
			return up_fail(u, 507, "not enough space for file metadata: %s",
				       sbfs_errstr(e));
		return up_fail(u, 500, "error writing file metadata: %s", sbfs_errstr(e));
	}
	return 0;
}

/* Copy the finished temp file into @tfd from offset 0 (in-kernel when possible). */
static int copy_into(struct upload *u, int tfd)
{
	char buf[64 * 1024];
	off_t in = 0;
	ssize_t n, w;
	int e;

	for (;;) {
		n = copy_file_range(u->fd, &in, tfd, NULL, 1u << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			break;
		/* No copy_file_range here: plain copy from where it stopped. */
		for (;;) {
			n = pread(u->fd, buf, sizeof(buf), in);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			in += n;
			for (w = 0; w < n;) {
				ssize_t k = write(tfd, buf + w, (size_t)(n - w));

				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					goto fail;
				w += k;
			}
		}
		if (n == 0)
			return 0;
		break;
	}
fail:
	e = errno ? errno : EIO;
	if (is_nospace(e))
		return up_fail(u, 507, "not enough disk space available");
	return up_fail(u, 500, "error writing file: write %s: %s", u->dest, sbfs_errstr(e));
}

/*
 * Overwrite an existing regular file in place, as envd does (O_TRUNC): the
 * inode, hard links and mode stay and watchers see WRITE, not CREATE.  The
 * body went to the temp file first, so a failed transfer never touched the
 * target.  Returns 1 when the target is no longer a regular file (the
 * caller then renames the temp file into place), 0 or -1 otherwise.
 */
static int overwrite_in_place(struct upload *u, json_t **meta)
{
	struct stat st;
	int tfd, e, rc;

	tfd = openat(u->pfd, u->leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (tfd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 1;
		e = errno;
		return up_fail(u, 500, "error opening file: open %s: %s", u->dest, sbfs_errstr(e));
	}
	if (fstat(tfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(tfd);
		return 1;
	}
	fcntl(tfd, F_SETFL, 0);
	if (fchown(tfd, u->user.uid, u->user.gid) < 0) {
		e = errno;
		close(tfd);
		return up_fail(u, 500, "error changing file ownership: chown %s: %s",
			       u->dest, sbfs_errstr(e));
	}
	if (ftruncate(tfd, 0) < 0) {
		e = errno;
		close(tfd);
		return up_fail(u, 500, "error opening file: truncate %s: %s", u->dest,
			       sbfs_errstr(e));
	}
	rc = copy_into(u, tfd);
	if (rc == 0)
		rc = replace_metadata(u, tfd);
	if (rc == 0 && u->metadata)
		*meta = fd_metadata(tfd);
	close(tfd);
	return rc;
}

static int file_end(struct upload *u)
{
	json_t *res, *meta = NULL;
	int e, rc = 1;

	if (u->overwrite)
		rc = overwrite_in_place(u, &meta);
	if (rc < 0) {
		file_abort(u);
		return -1;
	}
	if (rc == 1) {
		/* A new file: metadata on the temp file, then rename it into place
		 * (a temp file of ours has no user.e2b.* to remove). */
		if (u->metadata && replace_metadata(u, u->fd) < 0) {
			file_abort(u);
			return -1;
		}
		if (renameat(u->pfd, u->tmp, u->pfd, u->leaf) < 0) {
			e = errno;
			file_abort(u);
			if (e == EISDIR)
				return up_fail(u, 400, "path is a directory: %s", u->dest);
			return up_fail(u, 500, "error writing file: rename %s: %s", u->dest,
				       sbfs_errstr(e));
		}
		u->tmp[0] = '\0';
		meta = u->metadata ? fd_metadata(u->fd) : NULL;
	}
	/* In place: the temp file goes (file_abort unlinks it). */
	file_abort(u);
	res = json_pack("{s:o,s:o,s:s}", "path", json_string_lossy(u->dest),
			"name", json_string_lossy(base_name(u->dest)), "type", "file");
	if (res && meta)
		json_object_set(res, "metadata", meta);
	json_decref(meta);
	json_array_append_new(u->results, res);
	return 0;
}

static int multipart_begin(void *payload, const char *name,
			   const char *filename)
{
	struct upload *u = payload;
	char dest[SBFS_PATH_MAX], msg[512];
	const char *in;

	u->skip_part = strcmp(name, "file") != 0;
	if (u->skip_part)
		return 0;
	in = u->has_path ? u->path_param : (filename ? filename : "");
	if (users_resolve_path(&u->user, in, dest, sizeof(dest), msg, sizeof(msg)) < 0)
		return up_fail(u, 400, "error resolving path: %s", msg);
	if (!dest[0])
		snprintf(dest, sizeof(dest), "%s", u->user.home);
	return file_begin(u, dest);
}

static int multipart_data(void *payload, const char *data, size_t len)
{
	struct upload *u = payload;

	if (u->skip_part)
		return 0;
	return file_write(u, data, len);
}

static int multipart_end(void *payload)
{
	struct upload *u = payload;

	if (u->skip_part)
		return 0;
	return file_end(u);
}

static const struct multipart_callbacks multipart_cbs = {
	multipart_begin, multipart_data, multipart_end
};

struct meta_scan {
	struct upload *u;
	size_t total;
};

/* One header byte check, envd's ValidateMetadata wording. */
static bool meta_printable(struct upload *u, const char *label, const char *key, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e) {
			if (key)
				up_fail(u, 400, "invalid metadata: metadata %s \"%s\" contains "
					"non-printable-ASCII byte 0x%02x at offset %zu",
					label, key, c, i);
			else
				up_fail(u, 400, "invalid metadata: metadata %s contains "
					"non-printable-ASCII byte 0x%02x at offset %zu",
					label, c, i);
			return false;
		}
	}
	return true;
}

/* X-Metadata-<key>: <value> → user.e2b.<key> (keys lowercased, first value wins). */
static enum MHD_Result meta_header(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct meta_scan *ms = cls;
	char k[METADATA_MAX_KEY + 1];
	size_t klen, i;

	if (strncasecmp(key, "X-Metadata-", 11) != 0)
		return MHD_YES;
	key += 11;
	klen = strlen(key);
	if (klen == 0)
		return MHD_YES;
	if (klen > METADATA_MAX_KEY) {
		up_fail(ms->u, 400, "invalid metadata: metadata key \"%.*s...\" exceeds %d bytes",
			32, key, METADATA_MAX_KEY);
		return MHD_NO;
	}
	for (i = 0; i < klen; i++)
		k[i] = (char)tolower((unsigned char)key[i]);
	k[klen] = '\0';
	if (!value)
		value = "";
	if (!meta_printable(ms->u, "key", NULL, k) ||
	    !meta_printable(ms->u, "value for key", k, value))
		return MHD_NO;
	if (!ms->u->metadata)
		ms->u->metadata = json_object();
	if (json_object_get(ms->u->metadata, k))
		return MHD_YES;
	ms->total += strlen(XATTR_META_PREFIX) + klen + strlen(value);
	if (ms->total > METADATA_MAX_TOTAL) {
		up_fail(ms->u, 400, "invalid metadata: total metadata size %zu exceeds %d bytes",
			ms->total, METADATA_MAX_TOTAL);
		return MHD_NO;
	}
	json_object_set_new(ms->u->metadata, k, json_string(value));
	return MHD_YES;
}

/* Content-Encoding @enc of an upload: gzip starts the inflater, identity
 * or none is taken as is; -1 when it answered (500, 400 for another). */
static int upload_encoding(struct upload *u, const char *enc)
{
	if (enc && strcasecmp(enc, "gzip") == 0) {
		if (inflateInit2(&u->z, 16 + MAX_WBITS) != Z_OK) {
			up_fail(u, 500, "error decompressing request body: cannot start inflate");
			return -1;
		}
		u->gzip = true;
	} else if (enc && *enc && strcasecmp(enc, "identity") != 0) {
		up_fail(u, 400,
			"error decompressing request body: unsupported content encoding '%s'",
			enc);
		return -1;
	}
	return 0;
}

/* The media type of Content-Type @ctype (NULL: none) into @media: before any
 * ';', trailing blanks dropped, cut to fit. */
static void media_type(const char *ctype, char *media, size_t medialen)
{
	size_t n;

	n = ctype ? strcspn(ctype, ";") : 0;
	while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	if (n >= medialen)
		n = medialen - 1;
	if (ctype)
		memcpy(media, ctype, n);
	media[n] = '\0';
}

/* A raw (application/octet-stream) upload: start the file at ?path=. */
static void raw_begin(struct upload *u)
{
	char err[SBFS_PATH_MAX + 256], dest[SBFS_PATH_MAX];

	if (!u->has_path) {
		up_fail(u, 400, "path query parameter is required for raw body upload");
		return;
	}
	if (users_resolve_path(&u->user, u->path_param, dest, sizeof(dest), err,
			       sizeof(err)) < 0) {
		up_fail(u, 400, "error resolving path: %s", err);
		return;
	}
	if (!dest[0])
		snprintf(dest, sizeof(dest), "%s", u->user.home);
	file_begin(u, dest);
}

/* First call of POST /files: check everything that does not need the body. */
static void upload_start(struct envd_request *r, struct upload *u)
{
	const char *ctype = header(r, "Content-Type"), *p = query(r, "path");
	const char *enc = header(r, "Content-Encoding");
	char err[SBFS_PATH_MAX + 256], media[128];
	struct meta_scan ms = { u, 0 };

	u->fd = u->pfd = -1;
	u->results = json_array();
	if (check_signing(r, "write", err, sizeof(err)) < 0) {
		up_fail(u, 401, "%s", err);
		return;
	}
	if (files_user(r, &u->user, err, sizeof(err)) < 0) {
		up_fail(u, 401, "%s", err);
		return;
	}
	u->rootfd = sbfs_root_get(r->ctx.sb);
	if (u->rootfd < 0) {
		up_fail(u, 502, "sandbox filesystem is not mounted");
		return;
	}
	if (upload_encoding(u, enc) < 0)
		return;
	if (p) {
		u->has_path = true;
		snprintf(u->path_param, sizeof(u->path_param), "%s", p);
	}
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, meta_header, &ms);
	if (u->status)
		return;
	media_type(ctype, media, sizeof(media));
	if (strcasecmp(media, "application/octet-stream") == 0) {
		u->kind = UP_RAW;
		raw_begin(u);
		return;
	}
	if (strncasecmp(media, "multipart/", 10) == 0) {
		u->kind = UP_MULTIPART;
		u->mp = multipart_new(ctype, &multipart_cbs, u, err, sizeof(err));
		if (!u->mp)
			up_fail(u, 500, "error parsing multipart form: %s", err);
		return;
	}
	up_fail(u, 400,
		"unsupported content type: %s, "
		"expected multipart/form-data or application/octet-stream",
		ctype ? ctype : "");
}

/* Hand decoded body bytes to the raw writer or the multipart parser. */
static void body_consume(struct upload *u, const char *data, size_t len)
{
	if (u->status || len == 0)
		return;
	if (u->kind == UP_RAW && u->active)
		file_write(u, data, len);
	else if (u->kind == UP_MULTIPART &&
		 multipart_feed(u->mp, data, len) < 0 && !u->status)
		up_fail(u, 500, "error reading form: %s", multipart_error(u->mp));
}

/* Inflate a gzip body as it arrives (several members allowed, like Go's reader). */
static void body_feed(struct upload *u, const char *data, size_t len)
{
	char out[64 * 1024];
	int zr;

	if (!u->gzip) {
		body_consume(u, data, len);
		return;
	}
	u->z.next_in = (Bytef *)(uintptr_t)data;
	u->z.avail_in = (uInt)len;
	while (u->z.avail_in > 0 && !u->status) {
		if (u->gzip_done) {
			inflateReset(&u->z);
			u->gzip_done = false;
		}
		u->z.next_out = (Bytef *)out;
		u->z.avail_out = sizeof(out);
		zr = inflate(&u->z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			up_fail(u, 400, "error decompressing request body: %s",
				u->z.msg ? u->z.msg : "invalid gzip data");
			return;
		}
		body_consume(u, out, sizeof(out) - u->z.avail_out);
		if (zr == Z_STREAM_END)
			u->gzip_done = true;
		else if (zr == Z_BUF_ERROR && u->z.avail_out != 0)
			break;
	}
}

static enum MHD_Result upload_finish(struct envd_request *r, struct upload *u)
{
	int rc;

	if (!u->status && u->gzip && !u->gzip_done)
		up_fail(u, 400, "error decompressing request body: unexpected EOF");

	if (!u->status && u->kind == UP_MULTIPART) {
		rc = multipart_finish(u->mp);
		if (rc < 0 && !u->status)
			up_fail(u, 500, "error reading form: %s", multipart_error(u->mp));
	}
	if (!u->status && u->kind == UP_RAW && u->active)
		file_end(u);
	file_abort(u);
	if (u->status)
		return rpc_send_error(r->conn, u->status, "%s", u->error);
	return rpc_send_json(r->conn, 200, u->results);
}

static enum MHD_Result files_post(struct envd_request *r, const char *data, size_t *size)
{
	struct upload *u = r->handler_state;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		u->rootfd = -1;
		r->handler_state = u;
		r->handler_free = upload_free;
		upload_start(r, u);
		if (*size == 0)
			return MHD_YES;
	} else if (*size == 0) {
		return upload_finish(r, u);
	}
	/* After an error the rest of the body is read and dropped. */
	if (!u->status)
		body_feed(u, data, *size);
	*size = 0;
	return MHD_YES;
}

/* ---- POST /files/compose -------------------------------------------------- */

/*
 * The request's destination and user: the user into @u, the resolved
 * destination into @dest.  -1 with the response sent (*@ret) on an error.
 */
static int compose_prepare(struct envd_request *r, struct upload *u, json_t *req,
			   char *dest, size_t destlen, enum MHD_Result *ret)
{
	json_t *srcs = json_object_get(req, "source_paths");
	json_t *v = json_object_get(req, "destination");
	char msg[SBFS_PATH_MAX + 128];
	const char *uname;

	if (!json_is_array(srcs) || json_array_size(srcs) == 0) {
		*ret = rpc_send_error(r->conn, 400, "source_paths must not be empty");
		return -1;
	}
	if (!json_is_string(v) || !json_string_value(v)[0]) {
		*ret = rpc_send_error(r->conn, 400, "destination is required");
		return -1;
	}
	uname = json_string_value(json_object_get(req, "username"));
	u->user = r->ctx.user;
	if (uname && users_lookup(r->ctx.sb, uname, &u->user) < 0) {
		*ret = rpc_send_error(r->conn, 401,
				      "error looking up user '%s': user: unknown user %s",
				      uname, uname);
		return -1;
	}
	u->rootfd = sbfs_root_get(r->ctx.sb);
	u->results = json_array();
	u->fd = u->pfd = -1;
	if (u->rootfd < 0) {
		*ret = rpc_send_error(r->conn, 502, "sandbox filesystem is not mounted");
		return -1;
	}
	if (users_resolve_path(&u->user, json_string_value(v), dest, destlen, msg,
			       sizeof(msg)) < 0) {
		*ret = rpc_send_error(r->conn, 400, "error resolving destination path: %s", msg);
		return -1;
	}
	if (!dest[0])
		snprintf(dest, destlen, "%s", u->user.home);
	return 0;
}

/* Each of @srcs resolved into @paths (*@npaths of them): regular files
 * other than @dest.  -1 after up_fail(). */
static int compose_sources(struct upload *u, json_t *srcs, const char *dest, char **paths,
			   size_t *npaths)
{
	char src[SBFS_PATH_MAX], msg[SBFS_PATH_MAX + 128];
	const char *in;
	struct stat st;
	json_t *v;
	size_t i;

	json_array_foreach(srcs, i, v) {
		in = json_string_value(v);
		if (!in ||
		    users_resolve_path(&u->user, in, src, sizeof(src), msg, sizeof(msg)) < 0)
			return up_fail(u, 400, "error resolving source path \"%s\": %s",
				       in ? in : "", in ? msg : "not a string");
		if (!src[0])
			snprintf(src, sizeof(src), "%s", u->user.home);
		if (strcmp(src, dest) == 0)
			return up_fail(u, 400,
				       "source path \"%s\" cannot be the same as destination", in);
		if (sbfs_stat(u->rootfd, src, &st) < 0)
			return up_fail(u, 404, "source file not found: %s", in);
		if (!S_ISREG(st.st_mode))
			return up_fail(u, 400, "source path is not a regular file: %s", in);
		paths[*npaths] = strdup(src);
		if (!paths[*npaths])
			return up_fail(u, 500, "out of memory");
		(*npaths)++;
	}
	return 0;
}

/* Append the source @path to the file being written: copy_file_range, or a
 * plain copy across devices.  -1 after up_fail() or file_write()'s error. */
static int compose_append(struct upload *u, const char *path)
{
	char buf[64 * 1024];
	ssize_t c, n;
	int sfd, e;

	sfd = sbfs_open(u->rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (sfd < 0) {
		e = errno;
		file_abort(u);
		return up_fail(u, 500, "error opening source file %s: %s", path,
			       sbfs_errstr(e));
	}
	for (;;) {
		c = copy_file_range(sfd, NULL, u->fd, NULL, 1u << 30, 0);
		if (c > 0)
			continue;
		if (c == 0)
			break;
		/* Cross-device or unsupported: plain copy. */
		n = read(sfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(sfd);
			file_abort(u);
			return up_fail(u, 500, "error composing source %s: %s", path,
				       sbfs_errstr(e));
		}
		if (n == 0)
			break;
		if (file_write(u, buf, (size_t)n) < 0) {
			close(sfd);
			return -1;
		}
	}
	close(sfd);
	return 0;
}

/* os.Remove of each source: the entry itself, never a tree. */
static void compose_remove_sources(struct upload *u, char **paths, size_t npaths)
{
	char leaf[NAME_MAX + 1];
	size_t i;
	int pfd;

	for (i = 0; i < npaths; i++) {
		pfd = sbfs_open_parent(u->rootfd, paths[i], leaf, sizeof(leaf));
		if (pfd >= 0) {
			unlinkat(pfd, leaf, 0);
			close(pfd);
		}
	}
}

static enum MHD_Result compose_run(struct envd_request *r, struct upload *u)
{
	char dest[SBFS_PATH_MAX];
	json_t *req, *srcs, *resp;
	json_error_t jerr;
	char **paths = NULL;
	size_t i, npaths = 0;
	enum MHD_Result ret;

	req = json_loadb(u->body ? u->body : "", u->len, 0, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		return rpc_send_error(r->conn, 400, "invalid request body: %s",
				      req ? "expected a JSON object" : jerr.text);
	}
	if (compose_prepare(r, u, req, dest, sizeof(dest), &ret) < 0) {
		json_decref(req);
		return ret;
	}
	srcs = json_object_get(req, "source_paths");
	paths = calloc(json_array_size(srcs), sizeof(*paths));
	if (!paths) {
		json_decref(req);
		return MHD_NO;
	}
	if (compose_sources(u, srcs, dest, paths, &npaths) < 0 || file_begin(u, dest) < 0)
		goto out;
	u->overwrite = false;	/* envd's compose renames its temp file into place */
	for (i = 0; i < npaths; i++)
		if (compose_append(u, paths[i]) < 0)
			goto out;
	u->metadata = NULL;
	if (file_end(u) < 0)
		goto out;
	compose_remove_sources(u, paths, npaths);
out:
	for (i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	json_decref(req);
	if (u->status)
		return rpc_send_error(r->conn, u->status, "%s", u->error);
	resp = json_incref(json_array_get(u->results, 0));
	ret = rpc_send_json(r->conn, 200, resp);
	json_decref(resp);
	return ret;
}

static enum MHD_Result files_compose(struct envd_request *r, const char *data, size_t *size)
{
	struct upload *u = r->handler_state;
	char *nb;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		u->kind = UP_COMPOSE;
		u->fd = u->pfd = u->rootfd = -1;
		r->handler_state = u;
		r->handler_free = upload_free;
		if (*size == 0)
			return MHD_YES;
	} else if (*size == 0) {
		if (u->status)
			return rpc_send_error(r->conn, u->status, "%s", u->error);
		return compose_run(r, u);
	}
	if (!u->status) {
		if (u->len + *size > COMPOSE_MAX_BODY) {
			up_fail(u, 413, "request body too large");
		} else {
			nb = realloc(u->body, u->len + *size + 1);
			if (!nb) {
				up_fail(u, 500, "out of memory");
			} else {
				u->body = nb;
				memcpy(u->body + u->len, data, *size);
				u->len += *size;
			}
		}
	}
	*size = 0;
	return MHD_YES;
}

/* ---- /envs, /metrics ------------------------------------------------------- */

static enum MHD_Result envs_get(struct envd_request *r)
{
	struct sandbox *sb = r->ctx.sb;
	enum MHD_Result ret;
	json_t *o;

	/* The same globals process.c gives every process. */
	o = json_object();
	if (!o)
		return MHD_NO;
	json_object_set_new(o, "E2B_SANDBOX", json_string("true"));
	json_object_set_new(o, "E2B_SANDBOX_ID", json_string(sb->id));
	json_object_set_new(o, "E2B_TEAM_ID", json_string(E2BD_TEAM_ID));
	json_object_set_new(o, "E2B_TEMPLATE_ID", json_string(sb->template_id));
	if (json_is_object(sb->env_vars))
		json_object_update(o, sb->env_vars);
	ret = rpc_send_json(r->conn, 200, o);
	json_decref(o);
	return ret;
}

static long long meminfo_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	long long v;
	char *end;

	if (!p)
		return 0;
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	v = strtoll(p, &end, 10);
	return end == p ? 0 : v;
}

static enum MHD_Result metrics_get(struct envd_request *r)
{
	char *mem = calloc(1, 16385);
	struct usage_room room;
	struct usage u;
	long long cached = 0;
	enum MHD_Result ret;
	json_t *o;
	long ncpu;

	if (mem) {
		FILE *f = fopen("/proc/meminfo", "re");

		if (f) {
			if (fread(mem, 1, 16384, f) == 0)
				mem[0] = '\0';
			fclose(f);
		}
		cached = meminfo_kb(mem, "Cached") * 1024;
		free(mem);
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o = json_object();
	if (!o)
		return MHD_NO;
	json_object_set_new(o, "ts", json_integer((json_int_t)time(NULL)));
	json_object_set_new(o, "cpu_count", json_integer(ncpu > 0 ? ncpu : 1));
	/* The sandbox's own processes and limits, as envd inside a VM reports its VM. */
	(void)usage_sample(r->ctx.sb, &u);
	usage_room(r->ctx.sb, &room);
	json_object_set_new(o, "cpu_used_pct",
			    json_real((double)(long long)(u.cpu_pct * 100 + 0.5) / 100));
	json_object_set_new(o, "mem_total", json_integer((json_int_t)room.mem_total));
	json_object_set_new(o, "mem_used", json_integer((json_int_t)u.mem_bytes));
	json_object_set_new(o, "mem_cache", json_integer(cached));
	json_object_set_new(o, "mem_total_mib", json_integer((json_int_t)(room.mem_total >> 20)));
	json_object_set_new(o, "mem_used_mib", json_integer((json_int_t)(u.mem_bytes >> 20)));
	json_object_set_new(o, "disk_used", json_integer((json_int_t)room.disk_used));
	json_object_set_new(o, "disk_total", json_integer((json_int_t)room.disk_total));
	ret = rpc_send_json(r->conn, 200, o);
	json_decref(o);
	return ret;
}

/* ---- dispatch -------------------------------------------------------------- */

enum MHD_Result files_dispatch(struct envd_request *r,
			       const char *upload_data,
			       size_t *upload_data_size)
{
	bool get = strcmp(r->method, "GET") == 0;
	bool post = strcmp(r->method, "POST") == 0;

	if (strcmp(r->path, "/files") == 0) {
		if (get) {
			*upload_data_size = 0;
			return files_get(r);
		}
		if (post)
			return files_post(r, upload_data, upload_data_size);
	} else if (strcmp(r->path, "/files/compose") == 0) {
		if (post)
			return files_compose(r, upload_data, upload_data_size);
	} else if (strcmp(r->path, "/health") == 0) {
		if (get) {
			*upload_data_size = 0;
			return send_empty(r->conn, 204);
		}
	} else if (strcmp(r->path, "/envs") == 0) {
		if (get) {
			*upload_data_size = 0;
			return envs_get(r);
		}
	} else if (strcmp(r->path, "/metrics") == 0) {
		if (get) {
			*upload_data_size = 0;
			return metrics_get(r);
		}
	} else {
		*upload_data_size = 0;
		return send_text(r->conn, 404, "404 page not found\n", NULL);
	}
	/* Known path, wrong method (chi answers 405 with an empty body). */
	*upload_data_size = 0;
	return send_empty(r->conn, 405);
}
