/* SPDX-License-Identifier: MIT */
/*
 * ListDir without a jansson value per entry (see listdir.h).  A listing of
 * 10,000 files used to be 10,000 json objects of ten members each, dumped
 * as JSON or converted to protobuf-c messages and packed: most of its time
 * went to malloc and free.  Here each entry is read into a struct on the
 * walk's own storage and written at once, in the call's codec, into one
 * growing buffer; owner, group and permission strings are remembered from
 * the entry before, since a directory's entries mostly share them.
 *
 * Both encoders follow what the generic path wrote, byte for byte:
 * jansson's compact dump (keys in proto field order, strings escaped as
 * json_dumps does) and protobuf-c's packing (fields by number, proto3
 * zero values left out).  tests/integration/listdir.sh compares the two
 * codecs' answers field by field.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envd/fsrpc.h"
#include "envd/listdir.h"

/* ---- names of a directory ----------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append @n bytes to the growing block *@buf (length *@len, capacity *@cap). */
static int grow_put(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	char *nb;
	size_t ncap;

	if (*cap - *len < n) {
		ncap = *cap ? *cap : 4096;
		while (ncap - *len < n)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

int listdir_names_read(struct listdir_names *out, int dfd)
{
	size_t len = 0, cap = 0, n = 0, off, i;
	struct dirent *de;
	char *buf = NULL;
	DIR *d;
	int fd, e;

	memset(out, 0, sizeof(*out));
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* All names, NUL-terminated, one after the other in one block. */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (grow_put(&buf, &len, &cap, de->d_name, strlen(de->d_name) + 1) < 0)
			break;
		n++;
	}
	closedir(d);
	out->v = malloc((n ? n : 1) * sizeof(*out->v));
	if (!out->v) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0, off = 0; i < n; i++) {
		out->v[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (n)
		qsort(out->v, n, sizeof(*out->v), name_cmp);
	out->n = n;
	out->buf = buf;
	return 0;
}

void listdir_names_release(struct listdir_names *names)
{
	free(names->v);
	free(names->buf);
	memset(names, 0, sizeof(*names));
}

/* ---- the answer's buffer ------------------------------------------------ */

struct lsbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct lsbuf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len >= n) {
		memcpy(b->p + b->len, data, n);
		b->len += n;
		return;
	}
	if (grow_put(&b->p, &b->len, &b->cap, data, n) < 0)
		b->oom = true;
}

static void put_str(struct lsbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_varint(struct lsbuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	put(b, tmp, n);
}

/* ---- one entry ---------------------------------------------------------- */

/* What fsrpc_entry_at() puts in an EntryInfo; strings borrowed from the walk. */
struct ls_entry {
	const char *name, *path, *target;	/* target: symlinks only */
	const char *type;			/* FileType name, or NULL */
	int type_num;
	long long size;
	unsigned mode;
	const char *perms, *owner, *group;	/* owner, group: NULL if not UTF-8 */
	const struct timespec *mtime;		/* NULL when zero */
	json_t *meta;				/* user.e2b.* xattrs, or NULL */
};

/*
 * Whether @s (@len bytes) is UTF-8 as jansson accepts it (json_string()):
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, k, n;
	uint32_t u;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] < 0xC2 || s[i] > 0xF4)
			return false;
		n = s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
		if (len - i < n)
			return false;
		u = s[i] & (0x7F >> n);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			u = (u << 6) | (s[i + k] & 0x3F);
		}
		if (u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF) ||
		    (n == 3 && u < 0x800) || (n == 4 && u < 0x10000))
			return false;
		i += n;
	}
	return true;
}

/* An id's name as fsrpc_entry_at() renders it, kept for the next entry. */
struct idcache {
	bool valid, utf8;
	unsigned long id;
	char name[64];		/* fsrpc_entry_at()'s buffer size: same truncation */
};

static const char *idcache_get(struct idcache *c, const struct sbfs_idnames *names,
			       bool group, unsigned long id)
{
	if (!c->valid || c->id != id) {
		if (group)
			sbfs_idnames_group(names, (gid_t)id, c->name, sizeof(c->name));
		else
			sbfs_idnames_user(names, (uid_t)id, c->name, sizeof(c->name));
		c->utf8 = utf8_valid((const unsigned char *)c->name, strlen(c->name));
		c->id = id;
		c->valid = true;
	}
	return c->utf8 ? c->name : NULL;
}

/* ---- JSON, as jansson's compact dump writes it -------------------------- */

/* A JSON string of @n bytes of valid UTF-8 (json_dumps without flags). */
static void json_put_string(struct lsbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	unsigned char c;
	char esc[6];

	put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			put(b, esc, 6);
			continue;
		}
		put(b, esc, 2);
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

static void json_put_cstr(struct lsbuf *b, const char *s)
{
	json_put_string(b, s, strlen(s));
}

/* Decimal digits of @v into the end of @end; returns where they start. */
static char *fmt_u64(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void put_ll(struct lsbuf *b, long long v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char tmp[24], *p;

	p = fmt_u64(tmp + sizeof(tmp), u);
	if (v < 0)
		*--p = '-';
	put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z (rfc3339.c's range). */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/*
 * @ts as e2bu_rfc3339_format(E2BU_RFC3339_SHORTEST) writes it, or "" like
 * fsrpc_format_time() outside its range; by hand, since snprintf and
 * gmtime_r were a good part of a listing's time.  Civil date from days:
 * Howard Hinnant's algorithm, as rfc3339.c uses the other way.
 */
static void json_put_time(struct lsbuf *b, const struct timespec *ts)
{
	long long sec = (long long)ts->tv_sec, days, era, y;
	unsigned doe, yoe, doy, mp, m, d, rem, digits, frac, i;
	long nsec = ts->tv_nsec;
	char out[40], *p = out;

	if (sec < TIME_MIN || sec > TIME_MAX) {
		put(b, "\"\"", 2);
		return;
	}
	days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	rem = (unsigned)(sec - days * 86400);
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (long long)yoe + era * 400 + (m <= 2);
	*p++ = '"';
	put2(p, (unsigned)(y / 100));
	put2(p + 2, (unsigned)(y % 100));
	p[4] = '-';
	put2(p + 5, m);
	p[7] = '-';
	put2(p + 8, d);
	p[10] = 'T';
	put2(p + 11, rem / 3600);
	p[13] = ':';
	put2(p + 14, rem / 60 % 60);
	p[16] = ':';
	put2(p + 17, rem % 60);
	p += 19;
	if (nsec < 0 || nsec >= 1000000000)
		nsec = 0;
	if (nsec) {
		/* The fewest of 3, 6 or 9 digits that keep it exact. */
		digits = nsec % 1000000 == 0 ? 3 : nsec % 1000 == 0 ? 6 : 9;
		frac = (unsigned)(digits == 3 ? nsec / 1000000 : digits == 6 ? nsec / 1000 : nsec);
		*p++ = '.';
		for (i = digits; i > 0; i--, frac /= 10)
			p[i - 1] = (char)('0' + frac % 10);
		p += digits;
	}
	*p++ = 'Z';
	*p++ = '"';
	put(b, out, (size_t)(p - out));
}

static void json_put_key(struct lsbuf *b, const char *key)
{
	put(b, ",\"", 2);
	put_str(b, key);
	put(b, "\":", 2);
}

static void json_entry(struct lsbuf *b, const struct ls_entry *e)
{
	const char *key;
	json_t *v;
	bool first = true;

	put(b, "{\"name\":", 8);
	json_put_cstr(b, e->name);
	if (e->type) {
		json_put_key(b, "type");
		json_put_cstr(b, e->type);
	}
	json_put_key(b, "path");
	json_put_cstr(b, e->path);
	if (e->size) {
		json_put_key(b, "size");
		put(b, "\"", 1);
		put_ll(b, e->size);
		put(b, "\"", 1);
	}
	if (e->mode) {
		json_put_key(b, "mode");
		put_ll(b, e->mode);
	}
	json_put_key(b, "permissions");
	json_put_cstr(b, e->perms);
	if (e->owner) {
		json_put_key(b, "owner");
		json_put_cstr(b, e->owner);
	}
	if (e->group) {
		json_put_key(b, "group");
		json_put_cstr(b, e->group);
	}
	if (e->mtime) {
		json_put_key(b, "modifiedTime");
		json_put_time(b, e->mtime);
	}
	if (e->target) {
		json_put_key(b, "symlinkTarget");
		json_put_cstr(b, e->target);
	}
	if (e->meta) {
		json_put_key(b, "metadata");
		put(b, "{", 1);
		json_object_foreach(e->meta, key, v) {
			if (!first)
				put(b, ",", 1);
			first = false;
			json_put_cstr(b, key);
			put(b, ":", 1);
			json_put_string(b, json_string_value(v), json_string_length(v));
		}
		put(b, "}", 1);
	}
	put(b, "}", 1);
}

/* ---- protobuf, as protobuf-c packs the converted message ---------------- */

/* A length-delimited field (wire type 2) of @n bytes. */
static void pb_bytes(struct lsbuf *b, unsigned field, const void *data, size_t n)
{
	put_varint(b, field << 3 | 2);
	put_varint(b, n);
	put(b, data, n);
}

/* A proto3 string field: left out when empty. */
static void pb_string(struct lsbuf *b, unsigned field, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n)
		pb_bytes(b, field, s, n);
}

static void pb_uint(struct lsbuf *b, unsigned field, uint64_t v)
{
	if (v) {
		put_varint(b, field << 3);
		put_varint(b, v);
	}
}

/* EntryInfo @e into @b; -1 when its time cannot be a Timestamp. */
static int pb_entry(struct lsbuf *b, struct lsbuf *tmp, const struct ls_entry *e)
{
	const char *key;
	json_t *v;
	long nsec;

	pb_string(b, 1, e->name);
	pb_uint(b, 2, (uint64_t)e->type_num);
	pb_string(b, 3, e->path);
	pb_uint(b, 4, (uint64_t)e->size);
	pb_uint(b, 5, e->mode);
	pb_string(b, 6, e->perms);
	pb_string(b, 7, e->owner);
	pb_string(b, 8, e->group);
	if (e->mtime) {
		if (e->mtime->tv_sec < TIME_MIN || e->mtime->tv_sec > TIME_MAX)
			return -1;
		/* What e2bu_rfc3339_format() wrote and pbjson parsed back. */
		nsec = e->mtime->tv_nsec >= 0 && e->mtime->tv_nsec < 1000000000 ?
		       e->mtime->tv_nsec : 0;
		tmp->len = 0;
		pb_uint(tmp, 1, (uint64_t)(int64_t)e->mtime->tv_sec);
		pb_uint(tmp, 2, (uint64_t)nsec);
		pb_bytes(b, 9, tmp->p, tmp->len);
	}
	/* A oneof member: written even when empty. */
	if (e->target)
		pb_bytes(b, 10, e->target, strlen(e->target));
	/* map<string,string>: one MetadataEntry {key = 1, value = 2} a pair. */
	json_object_foreach(e->meta, key, v) {
		tmp->len = 0;
		pb_string(tmp, 1, key);
		pb_string(tmp, 2, json_string_value(v));
		pb_bytes(b, 11, tmp->p, tmp->len);
	}
	return tmp->oom ? -1 : 0;
}

/* ---- the walk ----------------------------------------------------------- */

/*
 * One path buffer grows and shrinks with the recursion and the rest lives
 * here, so a frame is small: a sandbox can nest ~2000 directories inside
 * a 4 KiB path and must not be able to overflow our stack.
 */
struct ls_walk {
	int rootfd;
	const struct sbfs_idnames *names;
	uint32_t depth;
	enum listdir_codec codec;
	bool prefix_utf8;	/* the requested path is UTF-8 */
	bool untimely;		/* a time the protobuf codec cannot carry */
	size_t count;
	struct lsbuf out, entry, tmp;
	struct idcache user, group;
	mode_t perms_of;
	char perms[32];
	char path[SBFS_PATH_MAX];	/* reported path of the current entry */
	char target[SBFS_PATH_MAX];
};

static const char *file_type(mode_t m, int *num)
{
	*num = S_ISREG(m) ? 1 : S_ISDIR(m) ? 2 : 0;
	return S_ISREG(m) ? "FILE_TYPE_FILE" : S_ISDIR(m) ? "FILE_TYPE_DIRECTORY" : NULL;
}

/* Append "/name" (or "name" after "/") to @buf of length @len; new length or 0. */
static size_t path_push(char *buf, size_t len, size_t cap, const char *name)
{
	size_t sep = (len == 1 && buf[0] == '/') ? 0 : 1, nlen = strlen(name);

	if (len + sep + nlen >= cap)
		return 0;
	if (sep)
		buf[len] = '/';
	memcpy(buf + len + sep, name, nlen + 1);
	return len + sep + nlen;
}

/*
 * The type, mode and (for a symlink) target of the entry w->path of lstat
 * @st into @e; false when its target is not UTF-8 (left out).
 */
static bool entry_kind(struct ls_walk *w, const struct stat *st, struct ls_entry *e)
{
	struct stat tst;

	if (!S_ISLNK(st->st_mode)) {
		e->type = file_type(st->st_mode, &e->type_num);
		e->mode = st->st_mode & 0777;
		return true;
	}
	/* Go EvalSymlinks inside the sandbox; a broken link reports itself. */
	if (sbfs_realpath(w->rootfd, w->path, w->target, sizeof(w->target)) < 0)
		snprintf(w->target, sizeof(w->target), "%s", w->path);
	if (!utf8_valid((const unsigned char *)w->target, strlen(w->target)))
		return false;
	e->target = w->target;
	if (sbfs_stat(w->rootfd, w->target, &tst) == 0) {
		e->type = file_type(tst.st_mode, &e->type_num);
		e->mode = tst.st_mode & 0777;
	}
	return true;
}

/* Append @e to the answer in the walk's codec. */
static void entry_write(struct ls_walk *w, const struct ls_entry *e)
{
	if (w->codec == LISTDIR_JSON) {
		put(&w->out, w->count ? "," : "{\"entries\":[", w->count ? 1 : 12);
		json_entry(&w->out, e);
	} else {
		w->entry.len = 0;
		if (pb_entry(&w->entry, &w->tmp, e) < 0 && !w->entry.oom && !w->tmp.oom)
			w->untimely = true;
		pb_bytes(&w->out, 1, w->entry.p, w->entry.len);
		if (w->entry.oom || w->tmp.oom)
			w->out.oom = true;
	}
	w->count++;
}

/*
 * Write the entry @leaf of @dfd (lstat @st, reported as w->path) as
 * fsrpc_entry_at() renders it; false when it is left out (not UTF-8).
 */
static bool walk_entry(struct ls_walk *w, int dfd, const char *leaf, const struct stat *st)
{
	struct ls_entry e = { .path = w->path, .size = (long long)st->st_size };

	if (!w->prefix_utf8 || !utf8_valid((const unsigned char *)leaf, strlen(leaf)) ||
	    !entry_kind(w, st, &e))
		return false;
	e.name = strrchr(w->path, '/');
	e.name = (e.name && e.name[1]) ? e.name + 1 : w->path;
	if (!w->perms[0] || w->perms_of != st->st_mode) {
		sbfs_mode_string(st->st_mode, w->perms, sizeof(w->perms));
		w->perms_of = st->st_mode;
	}
	e.perms = w->perms;
	e.owner = idcache_get(&w->user, w->names, false, st->st_uid);
	e.group = idcache_get(&w->group, w->names, true, st->st_gid);
	if (st->st_mtim.tv_sec != 0 || st->st_mtim.tv_nsec != 0)
		e.mtime = &st->st_mtim;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
		e.meta = fsrpc_entry_metadata(dfd, leaf);
	entry_write(w, &e);
	json_decref(e.meta);
	return true;
}

/* Pre-order, lexical walk of @dfd (reported as w->path[0..len)); never follows symlinks. */
static int walk_dir(struct ls_walk *w, int dfd, size_t len, uint32_t level)
{
	struct listdir_names names;
	struct stat st;
	size_t i, plen;
	int cfd, rc = 0;

	if (listdir_names_read(&names, dfd) < 0)
		return -1;
	for (i = 0; i < names.n && rc == 0 && !w->out.oom; i++) {
		const char *leaf = names.v[i];

		/* An upload in progress is invisible, as it would be with envd. */
		if (strncmp(leaf, UPLOAD_TMP_PREFIX, strlen(UPLOAD_TMP_PREFIX)) == 0)
			continue;
		plen = path_push(w->path, len, sizeof(w->path), leaf);
		if (!plen)
			continue;
		/* A name that vanished mid-walk, or is left out, is not descended. */
		if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    walk_entry(w, dfd, leaf, &st) && level < w->depth && S_ISDIR(st.st_mode)) {
			cfd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				rc = walk_dir(w, cfd, plen, level + 1);
				close(cfd);
			}
		}
		w->path[len] = '\0';
	}
	listdir_names_release(&names);
	if (rc == 0 && w->out.oom) {
		errno = ENOMEM;
		rc = -1;
	}
	return rc;
}

int listdir_walk(char **out, size_t *out_len, int rootfd, const struct sbfs_idnames *names,
		 int dfd, const char *path, uint32_t depth, enum listdir_codec codec)
{
	struct ls_walk *w;
	size_t len = strlen(path);
	int rc, e;

	*out = NULL;
	*out_len = 0;
	if (len >= SBFS_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->rootfd = rootfd;
	w->names = names;
	w->depth = depth;
	w->codec = codec;
	w->prefix_utf8 = utf8_valid((const unsigned char *)path, len);
	memcpy(w->path, path, len + 1);
	rc = walk_dir(w, dfd, len, 1);
	e = errno;
	if (rc == 0 && codec == LISTDIR_JSON)
		put_str(&w->out, w->count ? "]}" : "{}");
	/* One byte more, so that an empty answer is still a buffer. */
	put(&w->out, "", 1);
	if (rc == 0 && w->out.oom) {
		e = ENOMEM;
		rc = -1;
	}
	if (rc == 0 && w->untimely)
		rc = 1;
	if (rc == 0) {
		*out = w->out.p;
		*out_len = w->out.len - 1;
		w->out.p = NULL;
	}
	free(w->out.p);
	free(w->entry.p);
	free(w->tmp.p);
	free(w);
	errno = e;
	return rc;
}
