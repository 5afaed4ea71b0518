/* SPDX-License-Identifier: MIT */
/*
 * /files transfers.  Downloads stream to a sink with Range and
 * If-Modified-Since; a server that ignores Range is handled by skipping
 * and capping client-side.  Uploads stream from memory or a callback; the
 * multipart framing is generated around the caller's bytes so nothing is
 * buffered whole.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "random.h"
#include "errdecode.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "transfer.h"
#include "util.h"

static int files_url(e2b_buf *url, const struct e2b__envd *e, const char *path)
{
	int error = e2b_buf_printf(url, "%s/files?path=", e->base_url);

	if (!error)
		error = e2b__url_escape(url, path);
	if (!error && e->user && *e->user) {
		error = e2b_buf_puts(url, "&username=");
		if (!error)
			error = e2b__url_escape(url, e->user);
	}
	return error;
}

struct dl {
	struct e2b__resp *resp;
	e2b_data_cb sink;
	void *payload;
	int ranged;		/* we sent Range */
	int checked;
	uint64_t skip;		/* bytes to drop (server ignored Range) */
	uint64_t remain;	/* bytes still wanted; UINT64_MAX = all */
	uint64_t bytes;
	uint64_t excess;	/* bytes past the wanted range, dropped */
	int complete;
};

static int dl_sink(const char *data, size_t len, void *payload)
{
	struct dl *d = payload;
	size_t n;

	if (!d->checked) {
		d->checked = 1;
		/* A 200 to a ranged request is the whole file: skip to offset. */
		if (!(d->ranged && d->resp->status == 200))
			d->skip = 0;
	}
	if (d->skip) {
		n = len < d->skip ? len : (size_t)d->skip;
		d->skip -= n;
		data += n;
		len -= n;
	}
	if (len > d->remain) {
		/* A server ignoring Range sends too much: drain a little so the
		 * connection stays reusable, abort (and close it) beyond that. */
		d->excess += len - (size_t)d->remain;
		len = (size_t)d->remain;
		if (d->excess > 256 * 1024) {
			d->complete = 1;
			if (len && d->sink(data, len, d->payload))
				return E2B_ECANCELED;
			d->bytes += len;
			d->remain -= len;
			return E2B_ECANCELED;
		}
	}
	if (len) {
		if (d->sink(data, len, d->payload))
			return E2B_ECANCELED;
		d->bytes += len;
		if (d->remain != UINT64_MAX)
			d->remain -= len;
	}
	return 0;
}

/* "bytes a-b/N" or "bytes * /N" -> N */
static void parse_total(const char *cr, uint64_t *total)
{
	const char *slash = strchr(cr, '/');
	uint64_t v;

	if (slash && e2b__parse_u64(slash + 1, &v) == 0)
		*total = v;
}

/* The Range and If-Modified-Since headers of read options @o, onto @hdrs;
 * a ranged read has @d skip to the offset should the server ignore Range. */
static int get_headers(struct curl_slist **hdrs, struct dl *d, const e2b_read_options *o,
		       const char *what)
{
	char tmp[96];
	int error = 0;

	if (o->offset || o->length) {
		if (o->length && o->offset > UINT64_MAX - o->length)
			return e2b__error_set(E2B_EINVALID, "%s: range overflows", what);
		if (o->length)
			snprintf(tmp, sizeof(tmp), "bytes=%llu-%llu", (unsigned long long)o->offset,
				 (unsigned long long)(o->offset + o->length - 1));
		else
			snprintf(tmp, sizeof(tmp), "bytes=%llu-", (unsigned long long)o->offset);
		error = e2b__headers_add(hdrs, "Range", tmp);
		d->ranged = 1;
		d->skip = o->offset;
	}
	if (!error && o->if_modified_since) {
		e2b__format_http_date(tmp, sizeof(tmp), o->if_modified_since);
		error = e2b__headers_add(hdrs, "If-Modified-Since", tmp);
	}
	return error;
}

/* The file's mtime and size, from the answer's headers, into @info. */
static void get_info(e2b_read_info *info, const struct e2b__resp *resp)
{
	int64_t mt;

	if (resp->last_modified[0] && e2b__parse_http_date(resp->last_modified, &mt) == 0)
		info->mtime = mt;
	if (resp->content_range[0])
		parse_total(resp->content_range, &info->file_size);
	else if (resp->status == 200 && resp->content_length >= 0)
		info->file_size = (uint64_t)resp->content_length;
}

int e2b__files_get(e2b_read_info *info, const struct e2b__envd *e,
		   const char *path, const e2b_read_options *o,
		   e2b_data_cb sink, void *payload, int any_thread)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT;
	struct dl d = { 0 };
	char what[256];
	int error;

	memset(info, 0, sizeof(*info));
	info->file_size = UINT64_MAX;
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "read", path);
	error = files_url(&url, e, path);
	if (!error)
		error = e2b__envd_headers(&hdrs, e, NULL, 0);
	if (error < 0)
		goto out;
	d.resp = &resp;
	d.sink = sink;
	d.payload = payload;
	d.remain = o->length ? o->length : UINT64_MAX;
	error = get_headers(&hdrs, &d, o, what);
	if (error < 0)
		goto out;
	r.method = "GET";
	r.url = url.ptr;
	r.headers = hdrs;
	r.idempotent = 1;
	r.no_timeout = 1;
	r.timeout_ms = o->timeout_ms;
	r.any_thread = any_thread;
	r.sink = dl_sink;
	r.sink_payload = &d;
	r.max_body = 64 * 1024;
	error = e2b__http_do(e->http, &r, &resp);
	if (error == E2B_ECANCELED && d.complete) {
		e2b_error_clear();
		error = 0;
	}
	if (error < 0) {
		if (error != E2B_ECANCELED)
			e2b__error_prefix(what);
		goto out;
	}
	get_info(info, &resp);
	if (resp.status == 304) {
		info->not_modified = 1;
		goto out;
	}
	if (resp.status == 416) {
		/* Reading at or past the end: no bytes. */
		goto out;
	}
	if (resp.status != 200 && resp.status != 206) {
		error = e2b__error_from_response(resp.status, resp.body.ptr, resp.body.size,
						 resp.request_id, what);
		if (error == E2B_ENOTFOUND)
			e2b__error_set_http(E2B_ENOTFOUND, (int)resp.status, NULL, resp.request_id,
					    "'%s' does not exist", path);
		goto out;
	}
	info->bytes = d.bytes;
out:
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b__resp_release(&resp);
	return error;
}

/* ---- uploads -------------------------------------------------------- */

/* A random multipart boundary ("e2b-" and 24 hex digits). */
static void make_boundary(char *b, size_t cap)
{
	unsigned char rnd[12];
	size_t i;

	/* A fixed one only if the kernel gives no random bytes. */
	if (e2bu_random(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0x5a, sizeof(rnd));
	snprintf(b, cap, "e2b-");
	for (i = 0; i < sizeof(rnd) && 4 + 2 * i + 3 <= cap; i++)
		snprintf(b + 4 + 2 * i, 3, "%02x", rnd[i]);
}

/* A quoted-string filename: '"' and '\\' escaped, CR/LF dropped. */
static int put_quoted(e2b_buf *b, const char *s)
{
	int error = 0;

	for (; !error && *s; s++) {
		if (*s == '\r' || *s == '\n')
			continue;
		if (*s == '"' || *s == '\\')
			error = e2b_buf_put(b, "\\", 1);
		if (!error)
			error = e2b_buf_put(b, s, 1);
	}
	return error;
}

/* X-Metadata-<key>: <value> for each entry, checked. */
static int add_metadata(struct curl_slist **hdrs, const e2b_kv *md, size_t n, const char *what)
{
	e2b_buf hname = E2B_BUF_INIT;
	int error = 0;
	size_t i;

	for (i = 0; !error && i < n; i++) {
		const char *k = md[i].key, *v = md[i].value;

		if (!k || !v || !*k || strpbrk(k, ": \r\n") || strpbrk(v, "\r\n")) {
			error = e2b__error_set(E2B_EINVALID, "%s: invalid metadata entry %zu",
					       what, i);
			break;
		}
		e2b_buf_truncate(&hname, 0);
		error = e2b_buf_printf(&hname, "X-Metadata-%s", k);
		if (!error)
			error = e2b__headers_add(hdrs, hname.ptr, v);
	}
	e2b_buf_release(&hname);
	return error;
}

struct ul {
	const struct e2b__upload *up;
	e2b_buf head;		/* multipart preamble */
	e2b_buf tail;		/* multipart epilogue */
	size_t head_off;
	size_t tail_off;
	size_t data_off;
	int data_done;
};

static long ul_data(struct ul *u, char *buf, size_t cap)
{
	const struct e2b__upload *up = u->up;
	size_t n;
	long r;

	if (up->src) {
		r = up->src(buf, cap, up->src_payload);
		if (r < 0 || (size_t)r > cap)
			return -1;
		if (r == 0)
			u->data_done = 1;
		return r;
	}
	n = up->len - u->data_off;
	if (n > cap)
		n = cap;
	memcpy(buf, (const char *)up->data + u->data_off, n);
	u->data_off += n;
	if (!n)
		u->data_done = 1;
	return (long)n;
}

/* Source for curl: preamble, data, epilogue. */
static long ul_source(char *buf, size_t cap, void *payload)
{
	struct ul *u = payload;
	size_t n;
	long r;

	if (u->head_off < u->head.size) {
		n = u->head.size - u->head_off;
		n = n < cap ? n : cap;
		memcpy(buf, u->head.ptr + u->head_off, n);
		u->head_off += n;
		return (long)n;
	}
	while (!u->data_done) {
		r = ul_data(u, buf, cap);
		if (r != 0)
			return r;
	}
	n = u->tail.size - u->tail_off;
	n = n < cap ? n : cap;
	memcpy(buf, u->tail.ptr + u->tail_off, n);
	u->tail_off += n;
	return (long)n;
}

static int ul_rewind(void *payload)
{
	struct ul *u = payload;

	if (u->up->src)
		return -1;
	u->head_off = u->tail_off = u->data_off = 0;
	u->data_done = 0;
	return 0;
}

/* The upload's Content-Type into @ct and, for multipart, the part head and
 * the epilogue around the caller's bytes into @u. */
static int post_framing(e2b_buf *ct, struct ul *u, const struct e2b__upload *up)
{
	char boundary[64];
	int error;

	if (up->multipart) {
		make_boundary(boundary, sizeof(boundary));
		error = e2b_buf_printf(ct, "multipart/form-data; boundary=%s", boundary);
		if (!error)
			error = e2b_buf_printf(&u->head, "--%s\r\nContent-Disposition: form-data; "
					       "name=\"file\"; filename=\"", boundary);
		if (!error)
			error = put_quoted(&u->head, up->path);
		if (!error)
			error = e2b_buf_puts(&u->head, "\"\r\n"
					     "Content-Type: application/octet-stream\r\n\r\n");
		if (!error)
			error = e2b_buf_printf(&u->tail, "\r\n--%s--\r\n", boundary);
	} else {
		error = e2b_buf_puts(ct, "application/octet-stream");
	}
	return error;
}

/* The POST request @r of upload @up, its body read from @u. */
static void post_request(struct e2b__req *r, const char *url, struct curl_slist *hdrs,
			 struct ul *u, const struct e2b__upload *up)
{
	int64_t total;

	total = up->src ? up->src_len : (int64_t)up->len;
	if (total >= 0)
		total += (int64_t)(u->head.size + u->tail.size);
	r->method = "POST";
	r->url = url;
	r->headers = hdrs;
	r->src = ul_source;
	r->src_payload = u;
	r->src_len = total;
	r->src_rewind = ul_rewind;
	/* Rewriting the same bytes is harmless, so memory uploads may retry. */
	r->idempotent = up->src == NULL;
	r->any_thread = up->src == NULL;
	r->no_timeout = 1;
	r->timeout_ms = up->timeout_ms;
}

/* The written entry, from envd's answer @resp (its first entry) or, with no
 * entry in it, made up from @up's path; *@out is set only on success. */
static int post_write_info(e2b_write_info **out, const struct e2b__resp *resp,
			   const struct e2b__upload *up)
{
	json_error_t jerr;
	json_t *j = NULL, *first;
	int oom = 0, error = 0;
	e2b_write_info *wi;

	wi = e2b__calloc(1, sizeof(*wi));
	if (!wi)
		return e2b__error_oom();
	j = resp->body.size ? e2b__json_load(resp->body.ptr, resp->body.size, 0, &jerr, &oom) :
			      NULL;
	if (resp->body.size && oom) {
		error = e2b__error_oom();
		goto out;
	}
	first = json_is_array(j) ? json_array_get(j, 0) : j;
	if (json_is_object(first)) {
		error = e2b__write_info_from_json(wi, first);
	} else {
		wi->path = e2b__strdup(up->path);
		wi->name = e2b__strdup(strrchr(up->path, '/') ?
				       strrchr(up->path, '/') + 1 : up->path);
		wi->type = E2B_FILE_TYPE_FILE;
		if (!wi->path || !wi->name)
			error = e2b__error_oom();
	}
	if (error < 0)
		goto out;
	*out = wi;
	wi = NULL;
out:
	if (wi) {
		e2b__write_info_release(wi);
		e2b__free(wi);
	}
	json_decref(j);
	return error;
}

int e2b__files_post(e2b_write_info **out, const struct e2b__envd *e,
		    const struct e2b__upload *up)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT, ct = E2B_BUF_INIT;
	struct ul u;
	char what[256];
	int error;

	if (out)
		*out = NULL;
	memset(&u, 0, sizeof(u));
	u.up = up;
	e2b_buf_init(&u.head, 0);
	e2b_buf_init(&u.tail, 0);
	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "write", up->path);
	error = files_url(&url, e, up->path);
	if (error < 0)
		goto out;
	error = post_framing(&ct, &u, up);
	if (!error)
		error = e2b__envd_headers(&hdrs, e, ct.ptr, 0);
	if (!error)
		error = add_metadata(&hdrs, up->metadata, up->metadata_count, what);
	if (error < 0)
		goto out;
	post_request(&r, url.ptr, hdrs, &u, up);
	error = e2b__http_do(e->http, &r, &resp);
	if (error < 0) {
		if (error != E2B_ECANCELED)
			e2b__error_prefix(what);
		goto out;
	}
	if (resp.status != 200 && resp.status != 201 && resp.status != 204) {
		error = e2b__error_from_response(resp.status, resp.body.ptr, resp.body.size,
						 resp.request_id, what);
		goto out;
	}
	if (out)
		error = post_write_info(out, &resp, up);
out:
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&ct);
	e2b_buf_release(&u.head);
	e2b_buf_release(&u.tail);
	e2b__resp_release(&resp);
	return error;
}

/* ---- several files in one multipart POST ----------------------------- */

/* The body as a list of segments: per file a part head and the caller's
 * bytes, then the closing boundary; nothing is copied. */
struct many {
	e2b_buf heads;		/* every part head, then the epilogue */
	size_t *head_off;	/* count + 1 offsets into heads */
	const e2b_write_file *files;
	size_t count;
	size_t seg;		/* 2 per file (head, data), then the epilogue */
	size_t off;		/* within the segment */
};

static long many_source(char *buf, size_t cap, void *payload)
{
	struct many *m = payload;
	const char *p;
	size_t len, n;

	for (;;) {
		if (m->seg > 2 * m->count)
			return 0;
		if (m->seg % 2 == 0) {
			size_t i = m->seg / 2;

			p = m->heads.ptr + m->head_off[i];
			len = (i < m->count ? m->head_off[i + 1] : m->heads.size) - m->head_off[i];
		} else {
			p = m->files[m->seg / 2].data;
			len = m->files[m->seg / 2].len;
		}
		if (m->off < len)
			break;
		m->seg++;
		m->off = 0;
	}
	n = len - m->off < cap ? len - m->off : cap;
	memcpy(buf, p + m->off, n);
	m->off += n;
	return (long)n;
}

static int many_rewind(void *payload)
{
	struct many *m = payload;

	m->seg = 0;
	m->off = 0;
	return 0;
}

/* Was @want written, by envd's answer @j (an array of entries)? */
static int many_listed(const json_t *j, const char *want)
{
	size_t i, wl = strlen(want);

	for (i = 0; i < json_array_size(j); i++) {
		const char *p = json_string_value(json_object_get(json_array_get(j, i), "path"));
		size_t pl = p ? strlen(p) : 0;

		if (!p)
			continue;
		if (!strcmp(p, want))
			return 1;
		/* A relative path comes back resolved against the home. */
		if (want[0] != '/' && pl > wl && p[pl - wl - 1] == '/' &&
		    !strcmp(p + pl - wl, want))
			return 1;
	}
	return 0;
}

/* The URL of a multipart POST of several files.  No path query: each
 * part's filename is its path (envd keeps the directories of a multipart
 * filename). */
static int many_url(e2b_buf *url, const struct e2b__envd *e)
{
	int error = e2b_buf_printf(url, "%s/files", e->base_url);

	if (!error && e->user && *e->user) {
		error = e2b_buf_puts(url, "?username=");
		if (!error)
			error = e2b__url_escape(url, e->user);
	}
	return error;
}

/* The Content-Type into @ct, every part head and the epilogue into
 * @m->heads (their offsets into @m->head_off), the files' bytes added to
 * *@total. */
static int many_framing(e2b_buf *ct, struct many *m, int64_t *total)
{
	char boundary[64];
	int error;
	size_t i;

	make_boundary(boundary, sizeof(boundary));
	error = e2b_buf_printf(ct, "multipart/form-data; boundary=%s", boundary);
	for (i = 0; !error && i < m->count; i++) {
		m->head_off[i] = m->heads.size;
		error = e2b_buf_printf(&m->heads, "%s--%s\r\nContent-Disposition: form-data; "
				       "name=\"file\"; filename=\"", i ? "\r\n" : "", boundary);
		if (!error)
			error = put_quoted(&m->heads, m->files[i].path);
		if (!error)
			error = e2b_buf_puts(&m->heads, "\"\r\nContent-Type: "
					     "application/octet-stream\r\n\r\n");
		*total += (int64_t)m->files[i].len;
	}
	m->head_off[m->count] = m->heads.size;
	if (!error)
		error = e2b_buf_printf(&m->heads, "\r\n--%s--\r\n", boundary);
	return error;
}

/* Each file's error from envd's answer @j: E2B_EPROTO for one it did not
 * list as written (the call's error names the first). */
static int many_check(e2b_write_file *files, size_t count, const json_t *j,
		      const struct e2b__resp *resp, const char *what)
{
	int error = 0;
	size_t i;

	for (i = 0; i < count; i++) {
		files[i].error = 0;
		if (!json_is_array(j) || !many_listed(j, files[i].path)) {
			files[i].error = E2B_EPROTO;
			if (!error)
				error = e2b__error_set_http(
					E2B_EPROTO, (int)resp->status, NULL, resp->request_id,
					"%s: envd did not report '%s' as written", what,
					files[i].path);
		}
	}
	return error;
}

int e2b__files_post_many(int *out_rejected, const struct e2b__envd *e, e2b_write_file *files,
			 size_t count, const e2b_kv *metadata, size_t metadata_count,
			 unsigned timeout_ms)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT, ct = E2B_BUF_INIT;
	struct many m;
	json_error_t jerr;
	json_t *j = NULL;
	char what[256];
	int64_t total = 0;
	int error, oom = 0, answered = 0;
	size_t i;

	*out_rejected = 0;
	memset(&m, 0, sizeof(m));
	e2b_buf_init(&m.heads, 0);
	e2b__resp_init(&resp);
	snprintf(what, sizeof(what), "write %zu files", count);
	m.files = files;
	m.count = count;
	m.head_off = e2b__calloc(count + 1, sizeof(*m.head_off));
	if (!m.head_off) {
		error = e2b__error_oom();
		goto out;
	}
	error = many_url(&url, e);
	if (!error)
		error = many_framing(&ct, &m, &total);
	if (!error)
		error = e2b__envd_headers(&hdrs, e, ct.ptr, 0);
	if (!error)
		error = add_metadata(&hdrs, metadata, metadata_count, what);
	if (error < 0)
		goto out;
	r.method = "POST";
	r.url = url.ptr;
	r.headers = hdrs;
	r.src = many_source;
	r.src_payload = &m;
	r.src_len = total + (int64_t)m.heads.size;
	r.src_rewind = many_rewind;
	/* Memory only: rewriting the same bytes is harmless. */
	r.idempotent = 1;
	r.any_thread = 1;
	r.no_timeout = 1;
	r.timeout_ms = timeout_ms;
	error = e2b__http_do(e->http, &r, &resp);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (resp.status != 200 && resp.status != 201 && resp.status != 204) {
		error = e2b__error_from_response(resp.status, resp.body.ptr, resp.body.size,
						 resp.request_id, what);
		/* envd refused a part (not busy, not a gateway failing). */
		*out_rejected = resp.status != 502 && resp.status != 503 && resp.status != 504;
		goto out;
	}
	j = resp.body.size ? e2b__json_load(resp.body.ptr, resp.body.size, 0, &jerr, &oom) : NULL;
	if (resp.body.size && oom) {
		error = e2b__error_oom();
		goto out;
	}
	answered = 1;
	error = many_check(files, count, j, &resp, what);
out:
	for (i = 0; !answered && i < count; i++)
		files[i].error = error;
	json_decref(j);
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&ct);
	e2b_buf_release(&m.heads);
	e2b__free(m.head_off);
	e2b__resp_release(&resp);
	return error;
}

int e2b__files_compose(const struct e2b__envd *e, const char *const *sources,
		       size_t count, const char *dest)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT, body = E2B_BUF_INIT;
	json_t *req = NULL, *arr;
	char what[256];
	size_t i;
	int error;

	e2b__resp_init(&resp);
	e2b__what(what, sizeof(what), "compose", dest);
	req = json_object();
	arr = json_array();
	if (!req || !arr) {
		json_decref(arr);
		error = e2b__error_oom();
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (!sources[i] || json_array_append_new(arr, json_string(sources[i])) < 0) {
			json_decref(arr);
			error = e2b__error_set(E2B_EINVALID, "%s: invalid source %zu", what, i);
			goto out;
		}
	}
	error = e2b__json_set_new(req, "source_paths", arr);
	if (!error)
		error = e2b__json_set_str(req, "destination", dest);
	if (!error && e->user)
		error = e2b__json_set_str(req, "username", e->user);
	if (!error)
		error = e2b__json_dump(&body, req);
	if (!error)
		error = e2b_buf_printf(&url, "%s/files/compose", e->base_url);
	if (!error)
		error = e2b__envd_headers(&hdrs, e, "application/json", 0);
	if (error < 0)
		goto out;
	r.method = "POST";
	r.url = url.ptr;
	r.headers = hdrs;
	r.has_body = 1;
	r.body = body.ptr;
	r.body_len = body.size;
	r.any_thread = 1;
	error = e2b__http_do(e->http, &r, &resp);
	if (error < 0) {
		e2b__error_prefix(what);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299)
		error = e2b__error_from_response(resp.status, resp.body.ptr, resp.body.size,
						 resp.request_id, what);
out:
	json_decref(req);
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&body);
	e2b__resp_release(&resp);
	return error;
}
