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

int e2b__files_get(e2b_read_info *info, const struct e2b__envd *e,
		   const char *path, const e2b_read_options *o,
		   e2b_data_cb sink, void *payload, int any_thread)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT;
	struct dl d = { 0 };
	char tmp[96], what[256];
	int64_t mt;
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
	if (o->offset || o->length) {
		if (o->length && o->offset > UINT64_MAX - o->length) {
			error = e2b__error_set(E2B_EINVALID, "%s: range overflows", what);
			goto out;
		}
		if (o->length)
			snprintf(tmp, sizeof(tmp), "bytes=%llu-%llu", (unsigned long long)o->offset,
				 (unsigned long long)(o->offset + o->length - 1));
		else
			snprintf(tmp, sizeof(tmp), "bytes=%llu-", (unsigned long long)o->offset);
		error = e2b__headers_add(&hdrs, "Range", tmp);
		d.ranged = 1;
		d.skip = o->offset;
	}
	if (!error && o->if_modified_since) {
		e2b__format_http_date(tmp, sizeof(tmp), o->if_modified_since);
		error = e2b__headers_add(&hdrs, "If-Modified-Since", tmp);
	}
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
	if (resp.last_modified[0] && e2b__parse_http_date(resp.last_modified, &mt) == 0)
		info->mtime = mt;
	if (resp.content_range[0])
		parse_total(resp.content_range, &info->file_size);
	else if (resp.status == 200 && resp.content_length >= 0)
		info->file_size = (uint64_t)resp.content_length;
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

int e2b__files_post(e2b_write_info **out, const struct e2b__envd *e,
		    const struct e2b__upload *up)
{
	struct e2b__req r = { 0 };
	struct e2b__resp resp;
	struct curl_slist *hdrs = NULL;
	e2b_buf url = E2B_BUF_INIT, ct = E2B_BUF_INIT, hname = E2B_BUF_INIT;
	struct ul u;
	json_error_t jerr;
	json_t *j = NULL, *first;
	int oom = 0;
	e2b_write_info *wi = NULL;
	unsigned char rnd[12];
	char boundary[64], what[256];
	int64_t total;
	size_t i;
	int error, fd;

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
	if (up->multipart) {
		memset(rnd, 0, sizeof(rnd));
		fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, rnd, sizeof(rnd)) < 0)
				memset(rnd, 0x5a, sizeof(rnd));
			close(fd);
		}
		snprintf(boundary, sizeof(boundary), "e2b-");
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(boundary + 4 + 2 * i, 3, "%02x", rnd[i]);
		error = e2b_buf_printf(&ct, "multipart/form-data; boundary=%s", boundary);
		if (!error)
			error = e2b_buf_printf(&u.head, "--%s\r\nContent-Disposition: form-data; "
					       "name=\"file\"; filename=\"", boundary);
		/* Quote-safe filename: escape '"' and '\\' and drop CR/LF. */
		for (i = 0; !error && up->path[i]; i++) {
			char c = up->path[i];

			if (c == '\r' || c == '\n')
				continue;
			if (c == '"' || c == '\\')
				error = e2b_buf_put(&u.head, "\\", 1);
			if (!error)
				error = e2b_buf_put(&u.head, &c, 1);
		}
		if (!error)
			error = e2b_buf_puts(&u.head, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
		if (!error)
			error = e2b_buf_printf(&u.tail, "\r\n--%s--\r\n", boundary);
	} else {
		error = e2b_buf_puts(&ct, "application/octet-stream");
	}
	if (!error)
		error = e2b__envd_headers(&hdrs, e, ct.ptr, 0);
	for (i = 0; !error && i < up->metadata_count; i++) {
		const char *k = up->metadata[i].key, *v = up->metadata[i].value;

		if (!k || !v || !*k || strpbrk(k, ": \r\n") || strpbrk(v, "\r\n")) {
			error = e2b__error_set(E2B_EINVALID, "%s: invalid metadata entry %zu", what, i);
			break;
		}
		e2b_buf_truncate(&hname, 0);
		error = e2b_buf_printf(&hname, "X-Metadata-%s", k);
		if (!error)
			error = e2b__headers_add(&hdrs, hname.ptr, v);
	}
	if (error < 0)
		goto out;
	total = up->src ? up->src_len : (int64_t)up->len;
	if (total >= 0)
		total += (int64_t)(u.head.size + u.tail.size);
	r.method = "POST";
	r.url = url.ptr;
	r.headers = hdrs;
	r.src = ul_source;
	r.src_payload = &u;
	r.src_len = total;
	r.src_rewind = ul_rewind;
	/* Rewriting the same bytes is harmless, so memory uploads may retry. */
	r.idempotent = up->src == NULL;
	r.any_thread = up->src == NULL;
	r.no_timeout = 1;
	r.timeout_ms = up->timeout_ms;
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
	if (!out)
		goto out;
	wi = e2b__calloc(1, sizeof(*wi));
	if (!wi) {
		error = e2b__error_oom();
		goto out;
	}
	j = resp.body.size ? e2b__json_load(resp.body.ptr, resp.body.size, 0, &jerr, &oom) : NULL;
	if (resp.body.size && oom) {
		error = e2b__error_oom();
		goto out;
	}
	first = json_is_array(j) ? json_array_get(j, 0) : j;
	if (json_is_object(first)) {
		error = e2b__write_info_from_json(wi, first);
	} else {
		wi->path = e2b__strdup(up->path);
		wi->name = e2b__strdup(strrchr(up->path, '/') ? strrchr(up->path, '/') + 1 : up->path);
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
	curl_slist_free_all(hdrs);
	e2b_buf_release(&url);
	e2b_buf_release(&ct);
	e2b_buf_release(&hname);
	e2b_buf_release(&u.head);
	e2b_buf_release(&u.tail);
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
