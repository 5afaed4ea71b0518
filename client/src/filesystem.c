/* SPDX-License-Identifier: MIT */
/*
 * filesystem.Filesystem RPCs and the public file API on top of /files,
 * including atomic writes (temporary file + Move) and directory watches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "client_int.h"
#include "error.h"
#include "json.h"
#include "meta_int.h"
#include "model.h"
#include "random.h"
#include "transfer.h"
#include "util.h"

#define MAX_READ_DEFAULT ((size_t)1024 * 1024 * 1024)

static int check_path(const char *path)
{
	if (!path || !*path)
		return e2b__error_set(E2B_EINVALID, "empty path");
	return 0;
}

/* Unary filesystem call with a string-keyed request built by the caller. */
static int fs_call_pb(json_t **resp, ProtobufCMessage **pb, e2b_sandbox *sb,
		      const char *procedure, json_t *req, int idempotent, const char *what)
{
	struct e2b__envd e;
	int error;

	if (!req)
		return e2b__error_oom();
	error = e2b__sandbox_envd(&e, sb, NULL);
	if (!error)
		error = e2b__rpc_unary_pb(resp, pb, &e, procedure, req, idempotent, what);
	e2b__envd_release(&e);
	json_decref(req);
	return error;
}

static int fs_call(json_t **resp, e2b_sandbox *sb, const char *procedure, json_t *req,
		   int idempotent, const char *what)
{
	return fs_call_pb(resp, NULL, sb, procedure, req, idempotent, what);
}

static int entry_from_resp(e2b_entry_info **out, json_t *resp)
{
	e2b_entry_info *ei;
	int error;

	ei = e2b__calloc(1, sizeof(*ei));
	if (!ei)
		return e2b__error_oom();
	error = e2b__entry_from_json(ei, e2b__json_field(resp, "entry", NULL));
	if (error < 0) {
		e2b__free(ei);
		return error;
	}
	*out = ei;
	return 0;
}

void e2b_entry_info_free(e2b_entry_info *info)
{
	if (!info)
		return;
	e2b__entry_release(info);
	e2b__free(info);
}

void e2b_entry_list_free(e2b_entry_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		e2b__entry_release(&list->items[i]);
	e2b__free(list->items);
	e2b__free(list);
}

void e2b_write_info_free(e2b_write_info *info)
{
	if (!info)
		return;
	e2b__write_info_release(info);
	e2b__free(info);
}

const char *e2b_file_type_str(e2b_file_type type)
{
	switch (type) {
	case E2B_FILE_TYPE_FILE: return "file";
	case E2B_FILE_TYPE_DIR: return "dir";
	case E2B_FILE_TYPE_SYMLINK: return "symlink";
	default: return "unknown";
	}
}

int e2b_fs_list(e2b_entry_list **out, e2b_sandbox *sb, const char *path, unsigned depth)
{
	e2b_entry_list *list;
	ProtobufCMessage *pb = NULL;
	json_t *resp = NULL;
	char what[256];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = check_path(path);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "list", path);
	error = fs_call_pb(&resp, &pb, sb, "filesystem.Filesystem/ListDir",
			   json_pack("{s:s,s:i}", "path", path, "depth", (int)(depth ? depth : 1)),
			   1, what);
	if (error < 0)
		return error;
	list = e2b__calloc(1, sizeof(*list));
	if (!list) {
		json_decref(resp);
		if (pb)
			protobuf_c_message_free_unpacked(pb, NULL);
		return e2b__error_oom();
	}
	if (pb) {
		error = e2b__entry_list_from_pb(list, (const Filesystem__ListDirResponse *)pb);
		protobuf_c_message_free_unpacked(pb, NULL);
	} else {
		error = e2b__entry_list_from_json(list, e2b__json_field(resp, "entries", NULL));
	}
	json_decref(resp);
	if (error < 0) {
		e2b__free(list);
		return error;
	}
	*out = list;
	return 0;
}

int e2b_fs_stat(e2b_entry_info **out, e2b_sandbox *sb, const char *path)
{
	json_t *resp = NULL;
	char what[256];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = check_path(path);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "stat", path);
	error = fs_call(&resp, sb, "filesystem.Filesystem/Stat",
			json_pack("{s:s}", "path", path), 1, what);
	if (error < 0)
		return error;
	error = entry_from_resp(out, resp);
	json_decref(resp);
	return error;
}

int e2b_fs_exists(int *out, e2b_sandbox *sb, const char *path)
{
	e2b_entry_info *ei = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	*out = 0;
	error = e2b_fs_stat(&ei, sb, path);
	if (error == E2B_ENOTFOUND) {
		e2b_error_clear();
		return 0;
	}
	if (error < 0)
		return error;
	e2b_entry_info_free(ei);
	*out = 1;
	return 0;
}

int e2b_fs_mkdir(int *out_created, e2b_sandbox *sb, const char *path)
{
	const e2b_error *le;
	char what[256];
	int error;

	E2B_ASSERT_ARG(sb);
	if (out_created)
		*out_created = 0;
	error = check_path(path);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "mkdir", path);
	/* Not retried: a retry after a lost reply would report "exists". */
	error = fs_call(NULL, sb, "filesystem.Filesystem/MakeDir",
			json_pack("{s:s}", "path", path), 0, what);
	if (error == E2B_EEXISTS) {
		e2b_error_clear();
		return 0;
	}
	if (error == E2B_EINVALID) {
		le = e2b_error_last();
		if (strstr(le->message, "already exists"))
			return e2b__error_set_http(E2B_EEXISTS, le->http_status, le->rpc_code,
						   le->request_id,
						   "%s: exists and is not a directory",
						   what);
	}
	if (!error && out_created)
		*out_created = 1;
	return error;
}

int e2b_fs_rename(e2b_entry_info **out, e2b_sandbox *sb, const char *from, const char *to)
{
	json_t *resp = NULL;
	char what[512];
	int error;

	E2B_ASSERT_ARG(sb);
	if (out)
		*out = NULL;
	error = check_path(from);
	if (!error)
		error = check_path(to);
	if (error < 0)
		return error;
	snprintf(what, sizeof(what), "rename '%.200s' to '%.200s'", from, to);
	error = fs_call(&resp, sb, "filesystem.Filesystem/Move",
			json_pack("{s:s,s:s}", "source", from, "destination", to), 0, what);
	if (error < 0)
		return error;
	if (out)
		error = entry_from_resp(out, resp);
	json_decref(resp);
	return error;
}

int e2b_fs_remove(e2b_sandbox *sb, const char *path)
{
	char what[256];
	int error;

	E2B_ASSERT_ARG(sb);
	error = check_path(path);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "remove", path);
	return fs_call(NULL, sb, "filesystem.Filesystem/Remove",
		       json_pack("{s:s}", "path", path), 1, what);
}

/* ---- reads ---------------------------------------------------------- */

/* @in (NULL: defaults) as the current version in @o: version 1 lacks
 * `shared`. */
static int read_opts(e2b_read_options *o, const e2b_read_options *in)
{
	static const e2b_read_options defaults = E2B_READ_OPTIONS_INIT;

	if (!in)
		in = &defaults;
	if (in->version == 1) {
		*o = defaults;
		memcpy(o, in, offsetof(e2b_read_options, shared));
		o->version = E2B_READ_OPTIONS_VERSION;
		o->shared = 0;
		return 0;
	}
	if (in->version != E2B_READ_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported read options version %u",
				      in->version);
	*o = *in;
	return 0;
}

static int do_read(e2b_read_info *info, e2b_sandbox *sb, const char *path,
		   const e2b_read_options *o, e2b_data_cb sink, void *payload,
		   int any_thread)
{
	struct e2b__envd e;
	e2b_read_info tmp;
	int error;

	error = check_path(path);
	if (error < 0)
		return error;
	error = e2b__sandbox_envd(&e, sb, o->user);
	if (error < 0)
		return error;
	error = e2b__files_get(info ? info : &tmp, &e, path, o, sink, payload, any_thread);
	e2b__envd_release(&e);
	return error;
}

static int mem_sink(const char *data, size_t len, void *payload)
{
	return e2b_buf_put(payload, data, len);
}

int e2b_fs_read(char **out, size_t *out_len, e2b_sandbox *sb, const char *path,
		const e2b_read_options *opts)
{
	e2b_read_options o;
	e2b_buf b;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	if (out_len)
		*out_len = 0;
	error = read_opts(&o, opts);
	if (error < 0)
		return error;
	e2b_buf_init(&b, o.max_size ? o.max_size : MAX_READ_DEFAULT);
	error = do_read(NULL, sb, path, &o, mem_sink, &b, 1);
	if (error < 0) {
		e2b_buf_release(&b);
		return error;
	}
	*out = e2b_buf_detach(&b, out_len);
	return *out ? 0 : e2b__error_oom();
}

struct range_ctx {
	char *buf;
	size_t cap;
	size_t len;
};

static int range_sink(const char *data, size_t len, void *payload)
{
	struct range_ctx *r = payload;

	if (len > r->cap - r->len)
		return e2b__error_set(E2B_EPROTO, "server sent more than the requested range");
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int e2b_fs_read_range(size_t *out_len, e2b_sandbox *sb, const char *path,
		      uint64_t offset, void *buf, size_t len, const e2b_read_options *opts)
{
	e2b_read_options o;
	e2b_read_options ro;
	struct range_ctx r = { buf, len, 0 };
	int error;

	E2B_ASSERT_ARG(out_len);
	E2B_ASSERT_ARG(sb);
	*out_len = 0;
	if (!len)
		return 0;
	E2B_ASSERT_ARG(buf);
	error = read_opts(&o, opts);
	if (error < 0)
		return error;
	ro = o;
	ro.offset = offset;
	ro.length = len;
	ro.if_modified_since = 0;
	error = do_read(NULL, sb, path, &ro, range_sink, &r, 1);
	if (error < 0)
		return error;
	*out_len = r.len;
	return 0;
}

struct user_sink {
	e2b_data_cb cb;
	void *payload;
};

/* Any nonzero from a user callback means "stop", never an error code. */
static int user_sink_cb(const char *data, size_t len, void *payload)
{
	struct user_sink *u = payload;

	return u->cb(data, len, u->payload) ? E2B_ECANCELED : 0;
}

int e2b_fs_read_stream(e2b_read_info *out_info, e2b_sandbox *sb, const char *path,
		       const e2b_read_options *opts, e2b_data_cb cb, void *payload)
{
	e2b_read_options o;
	struct user_sink u = { cb, payload };
	int error;

	E2B_ASSERT_ARG(sb);
	E2B_ASSERT_ARG(cb);
	error = read_opts(&o, opts);
	if (error < 0)
		return error;
	error = do_read(out_info, sb, path, &o, user_sink_cb, &u, o.shared);
	if (error == E2B_ECANCELED && e2b_error_last()->code == E2B_ECANCELED &&
	    !*e2b_error_last()->message)
		e2b__error_set(E2B_ECANCELED, "read '%s' cancelled by callback", path);
	return error;
}

static int fd_sink(const char *data, size_t len, void *payload)
{
	int fd = *(int *)payload;
	ssize_t n;
	char ebuf[128];

	while (len) {
		n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return e2b__error_set(E2B_ERROR, "cannot write to file descriptor: %s",
					      e2b__strerror(errno, ebuf, sizeof(ebuf)));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int e2b_fs_read_to_fd(e2b_read_info *out_info, e2b_sandbox *sb, const char *path,
		      int fd, const e2b_read_options *opts)
{
	e2b_read_options o;
	int error;

	E2B_ASSERT_ARG(sb);
	if (fd < 0)
		return e2b__error_set(E2B_EINVALID, "invalid file descriptor");
	error = read_opts(&o, opts);
	if (error < 0)
		return error;
	return do_read(out_info, sb, path, &o, fd_sink, &fd, o.shared);
}

/* ---- writes --------------------------------------------------------- */

/* Copy @in (NULL = defaults) into @o; a version 1 struct ends before
 * attrs, so only its part is read. */
static int write_opts(e2b_write_options *o, const e2b_write_options *in)
{
	static const e2b_write_options defaults = E2B_WRITE_OPTIONS_INIT;

	*o = defaults;
	if (in && in->version == 1)
		memcpy(o, in, offsetof(e2b_write_options, attrs));
	else if (in)
		*o = *in;
	if (o->version != 1 && o->version != E2B_WRITE_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported write options version %u",
				      o->version);
	if (o->metadata_count && !o->metadata)
		return e2b__error_set(E2B_EINVALID, "metadata is NULL");
	if (o->attrs && o->attrs->kind != E2B_META_SETATTR)
		return e2b__error_set(E2B_EINVALID, "attrs is not an E2B_META_SETATTR");
	return 0;
}

/*
 * "<dir>/.<base>.e2b-tmp-<random>" beside the target, the base shortened
 * (at a UTF-8 character boundary) so that the name stays within NAME_MAX
 * and the path within PATH_MAX whenever the target's do: a long name must
 * not make its upload fail.  Returns 1 when even a shortened name has no
 * room (a directory path near PATH_MAX): the caller writes in place.
 */
#define TEMP_SUFFIX 26	/* ".", ".e2b-tmp-" and 16 hex digits */
#define TEMP_NAME_MAX 255
#define TEMP_PATH_MAX 4095
static int temp_name(e2b_buf *out, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0, blen = strlen(base), i;
	unsigned char rnd[8] = { 0 };
	int error;

	if (slash && dlen + 1 + TEMP_SUFFIX > TEMP_PATH_MAX)
		return 1;
	if (blen > TEMP_NAME_MAX - TEMP_SUFFIX)
		blen = TEMP_NAME_MAX - TEMP_SUFFIX;
	if (slash && dlen + 1 + blen + TEMP_SUFFIX > TEMP_PATH_MAX)
		blen = TEMP_PATH_MAX - TEMP_SUFFIX - dlen - 1;
	while (blen && blen < strlen(base) && ((unsigned char)base[blen] & 0xc0) == 0x80)
		blen--;
	if (e2bu_random(rnd, sizeof(rnd)) < 0)
		rnd[0] = (unsigned char)getpid();
	if (slash)
		error = e2b_buf_printf(out, "%.*s/.%.*s.e2b-tmp-", (int)dlen, path, (int)blen,
				       base);
	else
		error = e2b_buf_printf(out, ".%.*s.e2b-tmp-", (int)blen, base);
	for (i = 0; !error && i < sizeof(rnd); i++)
		error = e2b_buf_printf(out, "%02x", rnd[i]);
	return error;
}

/*
 * Give the uploaded temporary file @mode (the target's permission bits)
 * unless it has them already, through the one metadata path (meta.c).
 */
static int keep_mode(e2b_sandbox *sb, const char *tmp, uint32_t mode, const char *user)
{
	e2b_meta_op op = { .kind = E2B_META_SETATTR, .path = tmp, .set = E2B_META_SET_MODE,
			   .mode = mode };
	e2b_entry_info *ei = NULL;
	int error;

	error = e2b_fs_stat(&ei, sb, tmp);
	if (error < 0)
		return error;
	if ((ei->mode & 07777) == (mode & 07777)) {
		e2b_entry_info_free(ei);
		return 0;
	}
	e2b_entry_info_free(ei);
	error = e2b__meta_run_oneshot(sb, &op, user, 0);
	if (error < 0)
		e2b__error_prefix("keep the mode of the replaced file");
	return error;
}

/*
 * opts->attrs on @path (the upload or its temporary), with @old's mode
 * when attrs set none, through the caller's session or one process.
 */
static int apply_attrs(e2b_sandbox *sb, const e2b_write_options *o, const char *path,
		       const e2b_entry_info *old)
{
	e2b_meta_op op = *o->attrs;
	int error;

	op.path = path;
	if (old && !(op.set & E2B_META_SET_MODE)) {
		op.set |= E2B_META_SET_MODE;
		op.mode = old->mode;
	}
	if (!op.set)
		return 0;
	if (o->meta_session)
		error = e2b_meta_session_run(o->meta_session, &op, 1);
	else
		error = e2b__meta_run_oneshot(sb, &op, o->user, 0);
	if (error < 0)
		e2b__error_prefix("set the attributes of the new file");
	return error;
}

/* A write straight to @path (no temporary), then @o's attributes. */
static int write_in_place(e2b_write_info **out, e2b_sandbox *sb, const struct e2b__envd *e,
			  const char *path, struct e2b__upload *up, const e2b_write_options *o)
{
	int error;

	up->path = path;
	error = e2b__files_post(out, e, up);
	if (error == 0 && o->attrs)
		error = apply_attrs(sb, o, path, NULL);
	return error;
}

/* The write's info into *@out: @path, its entry *@moved (the rename's
 * answer; taken, *@moved set to NULL). */
static int renamed_info(e2b_write_info **out, const char *path, e2b_entry_info **moved)
{
	e2b_write_info *wi = e2b__calloc(1, sizeof(*wi));

	if (wi) {
		const char *slash = strrchr(path, '/');

		wi->path = e2b__strdup(path);
		wi->name = e2b__strdup(slash ? slash + 1 : path);
		wi->type = E2B_FILE_TYPE_FILE;
		wi->entry = *moved;
		*moved = NULL;
	}
	if (!wi || !wi->path || !wi->name) {
		e2b_write_info_free(wi);
		return e2b__error_oom();
	}
	*out = wi;
	return 0;
}

/* Remove the temporary @tmp of a failed write.  Best effort; keep the
 * original error record. */
static void remove_temp(e2b_sandbox *sb, const char *tmp)
{
	e2b_error tmp_err = *e2b_error_last();
	char msg[512], rpc[48], rid[128];

	snprintf(msg, sizeof(msg), "%s", tmp_err.message);
	snprintf(rpc, sizeof(rpc), "%s", tmp_err.rpc_code);
	snprintf(rid, sizeof(rid), "%s", tmp_err.request_id);
	e2b_fs_remove(sb, tmp);
	e2b__error_set_http(tmp_err.code, tmp_err.http_status, rpc, rid, "%s", msg);
}

/* The file @path a write replaces, into *@old (NULL when there is none or
 * it is not needed).  The new file must keep the old one's permissions,
 * unless the caller gives them or wants an upload's (then no Stat: one
 * round trip less). */
static int stat_old(e2b_entry_info **old, e2b_sandbox *sb, const char *path,
		    const e2b_write_options *o)
{
	int error = 0;

	if ((!o->attrs || !(o->attrs->set & E2B_META_SET_MODE)) &&
	    !(o->flags & E2B_WRITE_UPLOAD_MODE)) {
		error = e2b_fs_stat(old, sb, path);
		if (error == E2B_ENOTFOUND) {
			e2b_error_clear();
			error = 0;
		}
	}
	return error;
}

static int do_write(e2b_write_info **out, e2b_sandbox *sb, const char *path,
		    struct e2b__upload *up, const e2b_write_options *o)
{
	struct e2b__envd e;
	e2b_buf tmp = E2B_BUF_INIT;
	e2b_entry_info *old = NULL, *moved = NULL;
	int error;

	if (out)
		*out = NULL;
	error = check_path(path);
	if (error < 0)
		return error;
	if (path[strlen(path) - 1] == '/')
		return e2b__error_set(E2B_EINVALID, "write '%s': path is a directory", path);
	up->multipart = (o->flags & E2B_WRITE_MULTIPART) ||
		!e2b_sandbox_has_feature(sb, E2B_FEATURE_OCTET_STREAM_UPLOAD);
	up->metadata = o->metadata;
	up->metadata_count = o->metadata_count;
	up->timeout_ms = o->timeout_ms;
	error = e2b__sandbox_envd(&e, sb, o->user);
	if (error < 0)
		return error;
	if (!(o->flags & E2B_WRITE_ATOMIC)) {
		error = write_in_place(out, sb, &e, path, up, o);
		goto out;
	}
	error = temp_name(&tmp, path);
	if (error < 0)
		goto out;
	if (error == 1) {
		/* No room for a temporary beside it: in place, as e2bfs did. */
		error = write_in_place(out, sb, &e, path, up, o);
		goto out;
	}
	error = stat_old(&old, sb, path, o);
	if (error < 0)
		goto out;
	up->path = tmp.ptr;
	error = e2b__files_post(NULL, &e, up);
	if (error == 0 && o->attrs)
		error = apply_attrs(sb, o, tmp.ptr, old);
	else if (error == 0 && old)
		error = keep_mode(sb, tmp.ptr, old->mode, o->user);
	if (error == 0) {
		error = e2b_fs_rename(&moved, sb, tmp.ptr, path);
		if (error == 0 && out)
			error = renamed_info(out, path, &moved);
	}
	if (error < 0)
		remove_temp(sb, tmp.ptr);
out:
	e2b_entry_info_free(old);
	e2b_entry_info_free(moved);
	e2b_buf_release(&tmp);
	e2b__envd_release(&e);
	return error;
}

int e2b_fs_write(e2b_write_info **out, e2b_sandbox *sb, const char *path,
		 const void *data, size_t len, const e2b_write_options *opts)
{
	e2b_write_options ob;
	const e2b_write_options *o = &ob;
	struct e2b__upload up = { 0 };
	int error;

	E2B_ASSERT_ARG(sb);
	if (len && !data)
		return e2b__error_set(E2B_EINVALID, "data is NULL");
	error = write_opts(&ob, opts);
	if (error < 0)
		return error;
	up.data = data;
	up.len = len;
	return do_write(out, sb, path, &up, o);
}

struct fd_src {
	int fd;
	int failed;
};

static long fd_source(char *buf, size_t cap, void *payload)
{
	struct fd_src *f = payload;
	ssize_t n;

	for (;;) {
		n = read(f->fd, buf, cap);
		if (n >= 0)
			return (long)n;
		if (errno != EINTR)
			break;
	}
	f->failed = errno;
	return -1;
}

int e2b_fs_write_fd(e2b_write_info **out, e2b_sandbox *sb, const char *path, int fd,
		    const e2b_write_options *opts)
{
	e2b_write_options ob;
	const e2b_write_options *o = &ob;
	struct e2b__upload up = { 0 };
	struct fd_src f = { fd, 0 };
	struct stat st;
	off_t pos;
	int error;

	E2B_ASSERT_ARG(sb);
	if (fd < 0)
		return e2b__error_set(E2B_EINVALID, "invalid file descriptor");
	error = write_opts(&ob, opts);
	if (error < 0)
		return error;
	up.src = fd_source;
	up.src_payload = &f;
	up.src_len = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		pos = lseek(fd, 0, SEEK_CUR);
		if (pos >= 0 && pos <= st.st_size)
			up.src_len = (int64_t)(st.st_size - pos);
	}
	error = do_write(out, sb, path, &up, o);
	if (f.failed) {
		char ebuf[128];

		return e2b__error_set(E2B_ERROR, "write '%s': cannot read file descriptor: %s",
				      path, e2b__strerror(f.failed, ebuf, sizeof(ebuf)));
	}
	return error;
}

int e2b_fs_write_stream(e2b_write_info **out, e2b_sandbox *sb, const char *path,
			e2b_source_cb cb, void *payload, const e2b_write_options *opts)
{
	e2b_write_options ob;
	const e2b_write_options *o = &ob;
	struct e2b__upload up = { 0 };
	int error;

	E2B_ASSERT_ARG(sb);
	E2B_ASSERT_ARG(cb);
	error = write_opts(&ob, opts);
	if (error < 0)
		return error;
	up.src = cb;
	up.src_payload = payload;
	up.src_len = -1;
	return do_write(out, sb, path, &up, o);
}

/* Keep a copy of the current error record, to restore it later. */
struct saved_err {
	int code, http;
	char msg[512], rpc[48], rid[128];
};

static void err_save(struct saved_err *s)
{
	const e2b_error *e = e2b_error_last();

	s->code = e->code;
	s->http = e->http_status;
	snprintf(s->msg, sizeof(s->msg), "%s", e->message ? e->message : "");
	snprintf(s->rpc, sizeof(s->rpc), "%s", e->rpc_code ? e->rpc_code : "");
	snprintf(s->rid, sizeof(s->rid), "%s", e->request_id ? e->request_id : "");
}

/* Is files[@i] one that e2b_fs_write_files can send (its path, its data,
 * no earlier entry with its path)? */
static int check_file(const e2b_write_file *files, size_t i)
{
	int error;
	size_t k;

	error = check_path(files[i].path);
	if (!error && files[i].path[strlen(files[i].path) - 1] == '/')
		error = e2b__error_set(E2B_EINVALID, "write '%s': path is a directory",
				       files[i].path);
	if (!error && strpbrk(files[i].path, "\r\n"))
		error = e2b__error_set(E2B_EINVALID,
				       "write '%s': a multipart filename cannot hold "
				       "CR or LF",
				       files[i].path);
	if (!error && files[i].len && !files[i].data)
		error = e2b__error_set(E2B_EINVALID, "write '%s': data is NULL",
				       files[i].path);
	for (k = 0; !error && k < i; k++)
		if (!strcmp(files[k].path, files[i].path))
			error = e2b__error_set(E2B_EINVALID,
					       "write files: '%s' given twice",
					       files[i].path);
	return error;
}

/* Write @files one request each, every entry's error set; the first
 * failure's error is the call's (and the last error record). */
static int write_one_by_one(e2b_sandbox *sb, e2b_write_file *files, size_t count,
			    const e2b_write_options *o)
{
	struct saved_err first;
	int error = 0, have_first = 0;
	size_t i;

	for (i = 0; i < count; i++) {
		files[i].error = e2b_fs_write(NULL, sb, files[i].path, files[i].data,
					      files[i].len, o);
		if (files[i].error < 0 && !have_first) {
			err_save(&first);
			have_first = 1;
			error = files[i].error;
		}
	}
	if (have_first)
		e2b__error_set_http(first.code, first.http, first.rpc, first.rid, "%s", first.msg);
	else
		e2b_error_clear();
	return error;
}

int e2b_fs_write_files(e2b_sandbox *sb, e2b_write_file *files, size_t count,
		       const e2b_write_options *opts)
{
	e2b_write_options ob;
	const e2b_write_options *o = &ob;
	struct e2b__envd e;
	int error, rejected = 0;
	size_t i;

	E2B_ASSERT_ARG(sb);
	E2B_ASSERT_ARG(files || !count);
	error = write_opts(&ob, opts);
	if (error < 0)
		return error;
	if (o->flags & E2B_WRITE_ATOMIC)
		return e2b__error_set(E2B_EINVALID, "write files: atomic writes go one by one");
	if (o->attrs)
		return e2b__error_set(E2B_EINVALID, "write files: attributes go one by one");
	for (i = 0; i < count; i++) {
		files[i].error = E2B_EINVALID;
		error = check_file(files, i);
		if (error < 0)
			return error;
	}
	if (!count)
		return 0;
	error = e2b__sandbox_envd(&e, sb, o->user);
	if (error < 0)
		return error;
	error = e2b__files_post_many(&rejected, &e, files, count, o->metadata,
				     o->metadata_count, o->timeout_ms);
	e2b__envd_release(&e);
	if (error == 0)
		return 0;
	if (!rejected || count == 1)
		return error;	/* every entry has its error */
	/* envd refused one part and does not say which: each file alone. */
	return write_one_by_one(sb, files, count, o);
}

int e2b_fs_compose(e2b_sandbox *sb, const char *const *sources, size_t count,
		   const char *dest, const char *user)
{
	struct e2b__envd e;
	int error;

	E2B_ASSERT_ARG(sb);
	if (!count || !sources)
		return e2b__error_set(E2B_EINVALID, "no sources to compose");
	error = check_path(dest);
	if (error < 0)
		return error;
	error = e2b__sandbox_envd(&e, sb, user);
	if (error < 0)
		return error;
	error = e2b__files_compose(&e, sources, count, dest);
	e2b__envd_release(&e);
	return error;
}

/* ---- watch ---------------------------------------------------------- */

struct e2b_fs_watch {
	e2b_sandbox *sb;
	struct e2b__rpc_stream *st;
	e2b_fs_event_cb cb;
	void *payload;
	int started;
	int finished;
	int result;
	atomic_int cancel;
	char what[256];
};

static const char *const event_types[] = {
	"EVENT_TYPE_UNSPECIFIED", "EVENT_TYPE_CREATE", "EVENT_TYPE_WRITE",
	"EVENT_TYPE_REMOVE", "EVENT_TYPE_RENAME", "EVENT_TYPE_CHMOD",
};

/* Decode one FilesystemEvent and hand it to @cb (which may be NULL). */
static int deliver_event(const json_t *fe, e2b_fs_event_cb cb, void *payload,
			 const char *what)
{
	e2b_entry_info entry;
	e2b_fs_event ev = { 0 };
	json_t *je;
	const char *name;
	int type = 0, error = 0;

	if (!json_is_object(fe))
		return e2b__error_set(E2B_EPROTO, "%s: bad filesystem event", what);
	name = e2b__json_str(fe, "name", NULL, &error);
	if (error < 0)
		return error;
	error = e2b__json_enum(fe, "type", NULL, event_types, 6, &type);
	if (error < 0)
		return error;
	ev.type = (e2b_fs_event_type)type;
	ev.name = name ? name : "";
	je = e2b__json_field(fe, "entry", NULL);
	if (je) {
		error = e2b__entry_from_json(&entry, je);
		if (error < 0)
			return error;
		ev.entry = &entry;
	}
	if (cb && cb(&ev, payload))
		error = e2b__error_set(E2B_ECANCELED, "%s: stopped by the event callback", what);
	if (je)
		e2b__entry_release(&entry);
	return error;
}

static int watch_msg(json_t *msg, void *payload)
{
	struct e2b_fs_watch *w = payload;
	json_t *fe;

	/* Some servers wrap the oneof in "event" like process events. */
	if (e2b__json_field(msg, "event", NULL))
		msg = e2b__json_field(msg, "event", NULL);
	if (e2b__json_field(msg, "start", NULL)) {
		w->started = 1;
		return 0;
	}
	fe = e2b__json_field(msg, "filesystem", NULL);
	if (!fe)
		return 0;	/* keepalive */
	return deliver_event(fe, w->cb, w->payload, w->what);
}

int e2b_fs_watch_start(e2b_fs_watch **out, e2b_sandbox *sb, const char *path,
		 const e2b_fs_watch_options *opts)
{
	static const e2b_fs_watch_options defaults = E2B_FS_WATCH_OPTIONS_INIT;
	struct e2b__envd e;
	struct e2b_fs_watch *w;
	int64_t deadline;
	json_t *req = NULL;
	int error, done = 0;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != E2B_FS_WATCH_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported watch options version %u",
				      opts->version);
	error = check_path(path);
	if (error < 0)
		return error;
	w = e2b__calloc(1, sizeof(*w));
	if (!w)
		return e2b__error_oom();
	w->sb = sb;
	w->cb = opts->on_event;
	w->payload = opts->payload;
	e2b__what(w->what, sizeof(w->what), "watch", path);
	req = json_pack("{s:s,s:b,s:b}", "path", path, "recursive", opts->recursive,
			"includeEntry", opts->include_entry);
	if (req && opts->allow_network_mounts)
		error = e2b__json_set_bool(req, "allowNetworkMounts", 1);
	if (!req)
		error = e2b__error_oom();
	if (error < 0)
		goto fail;
	error = e2b__sandbox_envd(&e, sb, opts->user);
	if (error < 0)
		goto fail;
	error = e2b__rpc_stream_open(&w->st, &e, "filesystem.Filesystem/WatchDir", req, 0,
				     watch_msg, w, w->what);
	e2b__envd_release(&e);
	if (error < 0)
		goto fail;
	deadline = e2b__now_ms() + sb->client->conf.request_timeout_ms;
	while (!w->started) {
		if (e2b__now_ms() > deadline) {
			error = e2b__error_set(E2B_ETIMEOUT, "%s: no start event", w->what);
			goto fail;
		}
		error = e2b__rpc_stream_pump(w->st, 1000, -1, &done);
		if (done && !w->started) {
			if (error == 0)
				error = e2b__error_set(E2B_EPROTO,
						       "%s: stream closed without start event",
						       w->what);
			goto fail;
		}
		if (done) {
			w->finished = 1;
			w->result = error;
		}
		if (error < 0)
			goto fail;
	}
	json_decref(req);
	*out = w;
	return 0;
fail:
	json_decref(req);
	e2b_fs_watch_free(w);
	return error;
}

int e2b_fs_watch_poll(e2b_fs_watch *w, int timeout_ms, int fd)
{
	int error, done = 0;

	E2B_ASSERT_ARG(w);
	if (w->finished)
		return w->result ? w->result :
			e2b__error_set(E2B_EUNAVAILABLE, "%s: stream ended", w->what);
	if (atomic_load(&w->cancel)) {
		atomic_store(&w->cancel, 0);
		return e2b__error_set(E2B_ECANCELED, "%s: cancelled", w->what);
	}
	if (timeout_ms < 0)
		timeout_ms = 0;
	error = e2b__rpc_stream_pump(w->st, timeout_ms, fd, &done);
	if (done) {
		w->finished = 1;
		/* A watch has no natural end: a clean end means the server left. */
		if (error == 0)
			error = e2b__error_set(E2B_EUNAVAILABLE, "%s: stream ended", w->what);
		w->result = error;
	}
	return error;
}

int e2b_fs_watch_run(e2b_fs_watch *w)
{
	int error;

	E2B_ASSERT_ARG(w);
	do {
		error = e2b_fs_watch_poll(w, 1000, -1);
	} while (!error);
	return error;
}

void e2b_fs_watch_cancel(e2b_fs_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->cancel, 1);
	e2b__rpc_stream_wakeup(w->st);
}

void e2b_fs_watch_free(e2b_fs_watch *w)
{
	if (!w)
		return;
	e2b__rpc_stream_free(w->st);
	e2b__free(w);
}

/* ---- polling watchers ---------------------------------------------- */

struct e2b_fs_watcher {
	e2b_sandbox *sb;
	char *id;
	char *user;
	e2b_fs_event_cb cb;
	void *payload;
	char what[256];
};

/* Unary watcher call as the watcher's user. */
static int watcher_call(json_t **resp, struct e2b_fs_watcher *w, const char *procedure,
			int idempotent, const char *what)
{
	struct e2b__envd e;
	json_t *req;
	int error;

	req = json_pack("{s:s}", "watcherId", w->id);
	if (!req)
		return e2b__error_oom();
	error = e2b__sandbox_envd(&e, w->sb, w->user);
	if (!error)
		error = e2b__rpc_unary(resp, &e, procedure, req, idempotent, what);
	e2b__envd_release(&e);
	json_decref(req);
	return error;
}

int e2b_fs_watcher_create(e2b_fs_watcher **out, e2b_sandbox *sb, const char *path,
			  const e2b_fs_watch_options *opts)
{
	static const e2b_fs_watch_options defaults = E2B_FS_WATCH_OPTIONS_INIT;
	struct e2b_fs_watcher *w = NULL;
	struct e2b__envd e;
	json_t *req = NULL, *resp = NULL;
	const char *id;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != E2B_FS_WATCH_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported watch options version %u",
				      opts->version);
	error = check_path(path);
	if (error < 0)
		return error;
	w = e2b__calloc(1, sizeof(*w));
	if (!w)
		return e2b__error_oom();
	w->sb = sb;
	w->cb = opts->on_event;
	w->payload = opts->payload;
	e2b__what(w->what, sizeof(w->what), "watcher on", path);
	if (opts->user) {
		w->user = e2b__strdup(opts->user);
		if (!w->user) {
			error = e2b__error_oom();
			goto out;
		}
	}
	req = json_pack("{s:s,s:b,s:b}", "path", path, "recursive", opts->recursive,
			"includeEntry", opts->include_entry);
	if (!req) {
		error = e2b__error_oom();
		goto out;
	}
	if (opts->allow_network_mounts) {
		error = e2b__json_set_bool(req, "allowNetworkMounts", 1);
		if (error < 0)
			goto out;
	}
	error = e2b__sandbox_envd(&e, sb, w->user);
	if (error < 0)
		goto out;
	error = e2b__rpc_unary(&resp, &e, "filesystem.Filesystem/CreateWatcher", req, 0, w->what);
	e2b__envd_release(&e);
	if (error < 0)
		goto out;
	id = e2b__json_str(resp, "watcherId", "watcher_id", &error);
	if (error < 0)
		goto out;
	if (!id || !*id) {
		error = e2b__error_set(E2B_EPROTO, "%s: no watcher id in the answer", w->what);
		goto out;
	}
	w->id = e2b__strdup(id);
	if (!w->id) {
		error = e2b__error_oom();
		goto out;
	}
	*out = w;
	w = NULL;
out:
	json_decref(req);
	json_decref(resp);
	e2b_fs_watcher_free(w);
	return error;
}

const char *e2b_fs_watcher_id(const e2b_fs_watcher *w)
{
	return w ? w->id : NULL;
}

int e2b_fs_watcher_events(size_t *out_count, e2b_fs_watcher *w, e2b_fs_event_cb cb,
			  void *payload)
{
	json_t *resp = NULL, *events;
	size_t i, n;
	int error;

	if (out_count)
		*out_count = 0;
	E2B_ASSERT_ARG(w);
	if (!cb) {
		cb = w->cb;
		payload = w->payload;
	}
	error = watcher_call(&resp, w, "filesystem.Filesystem/GetWatcherEvents", 0, w->what);
	if (error < 0)
		return error;
	events = e2b__json_field(resp, "events", NULL);
	if (events && !json_is_array(events)) {
		error = e2b__error_set(E2B_EPROTO, "%s: events is not an array", w->what);
		goto out;
	}
	n = events ? json_array_size(events) : 0;
	for (i = 0; i < n; i++) {
		error = deliver_event(json_array_get(events, i), cb, payload, w->what);
		if (error < 0)
			goto out;
		if (out_count)
			(*out_count)++;
	}
out:
	json_decref(resp);
	return error;
}

int e2b_fs_watcher_remove(e2b_fs_watcher *w)
{
	int error;

	E2B_ASSERT_ARG(w);
	error = watcher_call(NULL, w, "filesystem.Filesystem/RemoveWatcher", 1, w->what);
	if (error == E2B_ENOTFOUND) {
		e2b_error_clear();
		error = 0;
	}
	return error;
}

void e2b_fs_watcher_free(e2b_fs_watcher *w)
{
	if (!w)
		return;
	e2b__free(w->id);
	e2b__free(w->user);
	e2b__free(w);
}
