/* SPDX-License-Identifier: MIT */
/*
 * File metadata envd has no RPC for (<e2b/meta.h>): one shell function,
 * META_BODY, does every operation, run either one-shot (/bin/sh -c with
 * the fields as arguments) or by a long-lived bash helper per session
 * that reads batches of NUL-terminated fields on stdin.  See
 * docs/internals/libe2b-meta.md for the helper's protocol.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <e2b/commands.h>
#include <e2b/meta.h>

#include "alloc.h"
#include "buf.h"
#include "errdecode.h"
#include "error.h"
#include "meta_int.h"
#include "random.h"

#define META_TIMEOUT_MS_DEFAULT 30000u
#define META_BATCH_MAX 128
#define META_OUT_MAX 65536

/*
 * e2b_op VERB F1 MODE ATIME MTIME PATH...: F1 is the owner (chown value,
 * or "=PATH" for PATH's owner, best effort), the size or the link target;
 * MODE octal; ATIME/MTIME touch -d values; "" = leave.  Every field is
 * expanded quoted and after "--": data, never shell text.  A times-only
 * fix or a truncate of a missing path fails with the OS's reason (touch
 * -c and truncate -c would succeed silently); stat says which reason
 * (its output to stderr, which is the answer's text: some sandboxes do
 * not let every user write /dev/null).  A link prints the link count
 * after it (stat %h; its failure leaves the link made).
 * LC_ALL=C makes the tools' reasons the texts errdecode.c knows.
 */
#define META_BODY \
	"export LC_ALL=C; " \
	"e2b_miss() { for p; do [ -e \"$p\" ] || [ -h \"$p\" ] || " \
	"{ stat -- \"$p\" >&2; return 1; }; done; }; " \
	"e2b_op() { v=$1 o=$2 m=$3 a=$4 t=$5; shift 5; case $v in " \
	"fix) " \
	"if [ -z \"$o$m\" ]; then e2b_miss \"$@\" || return 1; fi; " \
	"case $o in '') ;; =*) chown -h --reference=\"${o#=}\" -- \"$@\" 2>/dev/null ;; " \
	"*) chown -h \"$o\" -- \"$@\" || return 1 ;; esac; " \
	"if [ -n \"$m\" ]; then chmod \"$m\" -- \"$@\" || return 1; fi; " \
	"if [ -n \"$a\" ] && [ \"$a\" = \"$t\" ]; then " \
	"touch -c -h -d \"$a\" -- \"$@\"; return; fi; " \
	"if [ -n \"$a\" ]; then touch -c -h -a -d \"$a\" -- \"$@\" || return 1; fi; " \
	"if [ -n \"$t\" ]; then touch -c -h -m -d \"$t\" -- \"$@\" || return 1; fi; " \
	"return 0 ;; " \
	"truncate) for p; do [ -e \"$p\" ] || { stat -L -- \"$p\" >&2; return 1; }; done; " \
	"truncate -c -s \"$o\" -- \"$@\" ;; " \
	"symlink) ln -s -T -- \"$o\" \"$1\" ;; " \
	"link) ln -T -- \"$o\" \"$1\" || return 1; stat -c %h -- \"$1\" || : ;; " \
	"mkfifo) mkfifo -m \"$m\" -- \"$@\" ;; " \
	"*) echo 'e2b-meta: Invalid argument' >&2; return 1 ;; esac; }; "

/*
 * The helper: a random token first, then per request the fields SEQ,
 * VERB, F1, MODE, ATIME, MTIME, the paths and an empty field.  After the
 * tools' output (stderr included) it prints "TOKEN SEQ STATUS"; the token
 * never appears on a command line or in a path's echo, so a path in an
 * error message cannot forge an answer.  Tools get /dev/null as stdin:
 * the requests are for the loop only.
 */
static const char meta_loop[] =
	META_BODY
	"IFS= read -r -d '' k || exit 1; "
	"while IFS= read -r -d '' s && IFS= read -r -d '' v && IFS= read -r -d '' o && "
	"IFS= read -r -d '' m && IFS= read -r -d '' a && IFS= read -r -d '' t; do "
	"ps=(); while IFS= read -r -d '' p && [ -n \"$p\" ]; do ps+=(\"$p\"); done; "
	"[ ${#ps[@]} -gt 0 ] || exit 1; "
	"e2b_op \"$v\" \"$o\" \"$m\" \"$a\" \"$t\" \"${ps[@]}\" </dev/null 2>&1; "
	"printf '%s %s %d\\n' \"$k\" \"$s\" \"$?\"; done";

static const char meta_oneshot[] = META_BODY "e2b_op \"$@\"";

/* The operation's fields as text (see META_BODY). */
struct fields {
	const char *verb;
	char f1[48];
	const char *f1p;	/* f1 or a borrowed string */
	char mode[16];
	char atime[48];
	char mtime[48];
};

static const char *kind_what(e2b_meta_kind k)
{
	switch (k) {
	case E2B_META_SETATTR: return "set attributes of";
	case E2B_META_TRUNCATE: return "truncate";
	case E2B_META_SYMLINK: return "create symlink";
	case E2B_META_LINK: return "create link";
	case E2B_META_MKFIFO: return "create fifo";
	default: return "change";
	}
}

static int valid_time(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* Check a SETATTR @op and render its fields (op_fields' step). */
static int setattr_fields(struct fields *f, const e2b_meta_op *op)
{
	f->verb = "fix";
	if (op->set & ~(unsigned)(E2B_META_SET_MODE | E2B_META_SET_UID |
				  E2B_META_SET_GID | E2B_META_SET_ATIME |
				  E2B_META_SET_MTIME | E2B_META_SET_OWNER_OF |
				  E2B_META_SET_ATIME_NOW | E2B_META_SET_MTIME_NOW))
		return e2b__error_set(E2B_EINVALID, "unknown set flags 0x%x", op->set);
	if (!op->set)
		return e2b__error_set(E2B_EINVALID, "nothing to set");
	if (op->set & E2B_META_SET_OWNER_OF) {
		if (op->set & (E2B_META_SET_UID | E2B_META_SET_GID))
			return e2b__error_set(E2B_EINVALID,
					      "owner_of with uid or gid");
		if (!op->owner_of || !*op->owner_of)
			return e2b__error_set(E2B_EINVALID, "empty owner_of");
		/* "=" + path: built by the caller of op_fields. */
		f->f1p = NULL;
	} else if ((op->set & E2B_META_SET_UID) && (op->set & E2B_META_SET_GID)) {
		snprintf(f->f1, sizeof(f->f1), "%" PRIu32 ":%" PRIu32, op->uid, op->gid);
	} else if (op->set & E2B_META_SET_UID) {
		snprintf(f->f1, sizeof(f->f1), "%" PRIu32, op->uid);
	} else if (op->set & E2B_META_SET_GID) {
		snprintf(f->f1, sizeof(f->f1), ":%" PRIu32, op->gid);
	}
	if (op->set & E2B_META_SET_MODE)
		snprintf(f->mode, sizeof(f->mode), "%o", (unsigned)(op->mode & 07777));
	if ((op->set & E2B_META_SET_ATIME) && !valid_time(&op->atime))
		return e2b__error_set(E2B_EINVALID, "atime nanoseconds out of range");
	if ((op->set & E2B_META_SET_MTIME) && !valid_time(&op->mtime))
		return e2b__error_set(E2B_EINVALID, "mtime nanoseconds out of range");
	if (op->set & E2B_META_SET_ATIME)
		snprintf(f->atime, sizeof(f->atime), "@%lld.%09ld",
			 (long long)op->atime.tv_sec, (long)op->atime.tv_nsec);
	if (op->set & E2B_META_SET_MTIME)
		snprintf(f->mtime, sizeof(f->mtime), "@%lld.%09ld",
			 (long long)op->mtime.tv_sec, (long)op->mtime.tv_nsec);
	if (op->set & E2B_META_SET_ATIME_NOW)
		snprintf(f->atime, sizeof(f->atime), "now");
	if (op->set & E2B_META_SET_MTIME_NOW)
		snprintf(f->mtime, sizeof(f->mtime), "now");
	return 0;
}

/* Check @op and render its fields; E2B_EINVALID (error set) when bad. */
static int op_fields(struct fields *f, const e2b_meta_op *op)
{
	memset(f, 0, sizeof(*f));
	f->f1p = f->f1;
	if (!op->path || !*op->path)
		return e2b__error_set(E2B_EINVALID, "empty path");
	switch (op->kind) {
	case E2B_META_SETATTR:
		return setattr_fields(f, op);
	case E2B_META_TRUNCATE:
		f->verb = "truncate";
		if (op->size > (uint64_t)INT64_MAX)
			return e2b__error_set(E2B_EINVALID, "size too large");
		snprintf(f->f1, sizeof(f->f1), "%" PRIu64, op->size);
		return 0;
	case E2B_META_SYMLINK:
	case E2B_META_LINK:
		f->verb = op->kind == E2B_META_SYMLINK ? "symlink" : "link";
		if (!op->target || !*op->target)
			return e2b__error_set(E2B_EINVALID, "empty link target");
		f->f1p = op->target;
		return 0;
	case E2B_META_MKFIFO:
		f->verb = "mkfifo";
		snprintf(f->mode, sizeof(f->mode), "%o", (unsigned)(op->mode & 07777));
		return 0;
	default:
		return e2b__error_set(E2B_EINVALID, "unknown operation kind %d", (int)op->kind);
	}
}

/* The last non-empty line of @text (NUL-terminated in place). */
static const char *last_line(char *text)
{
	size_t n = strlen(text);
	char *p;

	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	p = strrchr(text, '\n');
	return p ? p + 1 : text;
}

/*
 * Record the failure of @op from its tools' output @text: the OS reason
 * decides the code and os_errno; the message quotes the output's last
 * line (coreutils quotes paths, so a newline in a path cannot split it).
 */
static int op_failed_text(e2b_meta_op *op, char *text)
{
	const char *line = last_line(text);
	int os = e2b__errno_from_text(line), code;

	code = os ? e2b__code_from_errno(os) : E2B_ERROR;
	e2b__error_set(code, "%s '%s': %.200s", kind_what(op->kind), op->path,
		       *line ? line : "failed without a reason");
	e2b__error_set_os_errno(os);
	op->error = code;
	op->os_errno = os;
	return code;
}

/*
 * What a succeeded @op printed in @text: a link's count (the last line,
 * digits only), else nothing.
 */
static void op_done_text(e2b_meta_op *op, char *text)
{
	const char *line;
	unsigned long long v = 0;

	if (op->kind != E2B_META_LINK || !text)
		return;
	line = last_line(text);
	if (!*line || strspn(line, "0123456789") != strlen(line) || strlen(line) > 10)
		return;
	for (; *line; line++)
		v = v * 10 + (unsigned)(*line - '0');
	op->nlink = v > UINT32_MAX ? 0 : (uint32_t)v;
}

/*
 * The answer to @seq in @buf (@len bytes, NUL-terminated): its status, or
 * -1 if not there yet.  It is the line "TOKEN SEQ STATUS" at a line start;
 * the text before it is that request's output, copied to @text.  A found
 * answer is consumed from @buf.
 */
static int parse_answer(char *buf, size_t *len, const char *token, uint64_t seq,
			e2b_buf *text)
{
	char want[80], *p = buf, *st, *end;
	size_t wl;
	long v;

	wl = (size_t)snprintf(want, sizeof(want), "%s %" PRIu64 " ", token, seq);
	while ((p = strstr(p, want))) {
		if (p != buf && p[-1] != '\n') {
			p++;
			continue;
		}
		st = p + wl;
		end = strchr(st, '\n');
		if (!end)
			return -1;
		errno = 0;
		v = strtol(st, NULL, 10);
		if (errno || v < 0 || v > 255)
			v = 255;
		e2b_buf_clear(text);
		if (e2b_buf_put(text, buf, (size_t)(p - buf)) < 0)
			e2b_error_clear();	/* the reason is lost, not the answer */
		end++;
		*len -= (size_t)(end - buf);
		memmove(buf, end, *len + 1);
		return (int)v;
	}
	return -1;
}

/* Append one NUL-terminated field. */
static int put_field(e2b_buf *b, const char *s)
{
	return e2b_buf_put(b, s, strlen(s) + 1);
}

static int new_token(char token[33])
{
	unsigned char rnd[16];
	size_t i;

	if (e2bu_random(rnd, sizeof(rnd)) < 0)
		return e2b__error_set(E2B_ERROR, "no random bytes for the helper's token");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* One request: SEQ, the fields, @op's path and the end mark. */
static int put_request(e2b_buf *b, const char *seq, const struct fields *f, const char *path)
{
	int error = put_field(b, seq);

	if (!error)
		error = put_field(b, f->verb);
	if (!error)
		error = put_field(b, f->f1p);
	if (!error)
		error = put_field(b, f->mode);
	if (!error)
		error = put_field(b, f->atime);
	if (!error)
		error = put_field(b, f->mtime);
	if (!error)
		error = put_field(b, path);
	if (!error)
		error = put_field(b, "");
	return error;
}

/*
 * Without bash (exit 127 from envd's sh wrapper): the body alone under
 * /bin/sh, the fields as arguments.  Process arguments travel as
 * protocol strings, so a non-UTF-8 path may not arrive intact here.
 */
static int oneshot_sh(e2b_process_result *r, e2b_sandbox *sb, const struct fields *f,
		      const char *path, e2b_commands_options *co)
{
	const char *argv[] = { "/bin/sh", "-c", meta_oneshot, "e2b-meta", f->verb, f->f1p,
			       f->mode, f->atime, f->mtime, path, NULL };

	e2b_process_result_release(r);
	co->stdin_data = NULL;
	co->stdin_len = 0;
	return e2b_commands_run_argv(r, sb, argv, co);
}

/* The argument naming @owner_of's owner: "=" and the path (allocated);
 * NULL when out of memory. */
static char *owner_arg(const char *owner_of)
{
	size_t n = strlen(owner_of);
	char *owner_ref = e2b__malloc(n + 2);

	if (!owner_ref)
		return NULL;
	owner_ref[0] = '=';
	memcpy(owner_ref + 1, owner_of, n + 1);
	return owner_ref;
}

/* @op's result from the one-shot helper's output @out (answer @token). */
static int oneshot_answer(e2b_meta_op *op, char *out, const char *token, e2b_buf *text)
{
	size_t len;
	int st;

	len = out ? strlen(out) : 0;
	st = out ? parse_answer(out, &len, token, 1, text) : -1;
	if (st < 0)
		return e2b__error_set(E2B_EPROTO, "%s '%s': the helper did not answer",
				      kind_what(op->kind), op->path);
	/* The tools' stderr is in stdout (2>&1); the process's own
	 * stderr holds only envd's wrapper's complaints. */
	if (st == 0)
		op_done_text(op, text->ptr);
	return st == 0 ? 0 : op_failed_text(op, text->ptr);
}

/* @op's failure, from the output of the one-shot helper that exited with
 * an error (@r), its words gathered in @text. */
static int oneshot_failed(e2b_meta_op *op, const e2b_process_result *r, e2b_buf *text)
{
	int error;

	error = e2b_buf_puts(text, r->out ? r->out : "");
	if (!error && r->err && *r->err)
		error = e2b_buf_puts(text, r->err);
	if (!error)
		error = op_failed_text(op, text->ptr);
	return error;
}

int e2b__meta_run_oneshot(e2b_sandbox *sb, e2b_meta_op *op, const char *user,
			  unsigned timeout_ms)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	e2b_process_result r = E2B_PROCESS_RESULT_INIT;
	const char *argv[] = { "/bin/bash", "-c", meta_loop, "e2b-meta", NULL };
	e2b_buf req = E2B_BUF_INIT, text = E2B_BUF_INIT;
	struct fields f;
	char *owner_ref = NULL, token[33];
	int error;

	op->error = 0;
	op->os_errno = 0;
	op->nlink = 0;
	error = op_fields(&f, op);
	if (error < 0)
		goto out;
	if (!f.f1p) {
		owner_ref = owner_arg(op->owner_of);
		if (!owner_ref) {
			error = e2b__error_oom();
			goto out;
		}
		f.f1p = owner_ref;
	}
	/* The helper's loop for one request on stdin: paths as bytes. */
	error = new_token(token);
	if (!error)
		error = e2b_buf_put(&req, token, sizeof(token));
	if (!error)
		error = put_request(&req, "1", &f, op->path);
	if (error < 0)
		goto out;
	co.user = user;
	co.timeout_ms = timeout_ms ? timeout_ms : META_TIMEOUT_MS_DEFAULT;
	co.max_output = META_OUT_MAX;
	co.stdin_data = req.ptr;
	co.stdin_len = req.size;
	error = e2b_commands_run_argv(&r, sb, argv, &co);
	if (error == E2B_EEXIT && r.exit_code == 127) {
		error = oneshot_sh(&r, sb, &f, op->path, &co);
		if (error == 0)
			op_done_text(op, r.out);
	} else if (error == 0 || error == E2B_EEXIT) {
		error = oneshot_answer(op, r.out, token, &text);
		goto out;
	}
	if (error == E2B_EEXIT) {
		error = oneshot_failed(op, &r, &text);
	} else if (error < 0) {
		e2b__error_prefix(kind_what(op->kind));
	}
out:
	if (error < 0 && !op->error) {
		op->error = error;
		op->os_errno = e2b_error_last()->os_errno;
	}
	e2b_buf_release(&req);
	e2b_buf_release(&text);
	e2b_process_result_release(&r);
	e2b__free(owner_ref);
	return error;
}

static int meta_opts(e2b_meta_options *o, const e2b_meta_options *in)
{
	static const e2b_meta_options defaults = E2B_META_OPTIONS_INIT;

	*o = defaults;
	if (!in)
		return 0;
	/* Version 1 ends before tag: only its part is read. */
	if (in->version == 1)
		memcpy(o, in, offsetof(e2b_meta_options, tag));
	else if (in->version == E2B_META_OPTIONS_VERSION)
		*o = *in;
	else
		return e2b__error_set(E2B_EINVALID, "unsupported meta options version %u",
				      in->version);
	o->version = E2B_META_OPTIONS_VERSION;
	return 0;
}

static int oneshot(e2b_sandbox *sb, e2b_meta_op *op, const e2b_meta_options *opts)
{
	e2b_meta_options o;
	int error;

	E2B_ASSERT_ARG(sb);
	error = meta_opts(&o, opts);
	if (error < 0)
		return error;
	return e2b__meta_run_oneshot(sb, op, o.user, o.timeout_ms);
}

int e2b_meta_set_mode(e2b_sandbox *sb, const char *path, uint32_t mode,
		      const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_SETATTR, .path = path,
			   .set = E2B_META_SET_MODE, .mode = mode };

	return oneshot(sb, &op, opts);
}

int e2b_meta_set_owner(e2b_sandbox *sb, const char *path, uint32_t uid, uint32_t gid,
		       const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_SETATTR, .path = path, .uid = uid, .gid = gid };

	if (uid != E2B_META_ID_KEEP)
		op.set |= E2B_META_SET_UID;
	if (gid != E2B_META_ID_KEEP)
		op.set |= E2B_META_SET_GID;
	if (!op.set)
		return 0;
	return oneshot(sb, &op, opts);
}

int e2b_meta_set_times(e2b_sandbox *sb, const char *path, const struct timespec *atime,
		       const struct timespec *mtime, const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_SETATTR, .path = path };

	if (atime) {
		op.set |= E2B_META_SET_ATIME;
		op.atime = *atime;
	}
	if (mtime) {
		op.set |= E2B_META_SET_MTIME;
		op.mtime = *mtime;
	}
	if (!op.set)
		return 0;
	return oneshot(sb, &op, opts);
}

int e2b_meta_truncate(e2b_sandbox *sb, const char *path, uint64_t size,
		      const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_TRUNCATE, .path = path, .size = size };

	return oneshot(sb, &op, opts);
}

int e2b_meta_symlink(e2b_sandbox *sb, const char *target, const char *path,
		     const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_SYMLINK, .path = path, .target = target };

	return oneshot(sb, &op, opts);
}

int e2b_meta_link(e2b_sandbox *sb, const char *target, const char *path,
		  const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_LINK, .path = path, .target = target };

	return oneshot(sb, &op, opts);
}

int e2b_meta_mkfifo(e2b_sandbox *sb, const char *path, uint32_t mode,
		    const e2b_meta_options *opts)
{
	e2b_meta_op op = { .kind = E2B_META_MKFIFO, .path = path, .mode = mode };

	return oneshot(sb, &op, opts);
}

int e2b_meta_errno_from_text(const char *text)
{
	return e2b__errno_from_text(text);
}

/* ---- sessions ------------------------------------------------------- */

/* One caller's e2b_meta_session_run() in the queue. */
struct meta_call {
	e2b_meta_op *ops;
	size_t count;
	size_t taken;		/* ops handed to a leader so far */
	size_t answered;	/* ops with their answer */
	/* The failure of the first failed op (array order), for the
	 * caller's own thread-local error record. */
	size_t fail_idx;
	int fail_code;
	int fail_os;
	char fail_msg[512];
	struct meta_call *next;
};

/* One op of a batch, as the leader sees it. */
struct slot {
	e2b_meta_op *op;
	struct meta_call *call;
	size_t idx;
	struct fields f;
	char *owner_ref;	/* "=PATH", or NULL */
	int state;		/* SLOT_* */
};

enum { SLOT_TODO, SLOT_DONE, SLOT_RETRY };

struct e2b_meta_session {
	e2b_sandbox *sb;
	char *user;
	char *tag;
	unsigned timeout_ms;
	pthread_mutex_t lock;	/* the queue, leader and stats */
	pthread_cond_t cond;	/* a batch ended */
	struct meta_call *head, *tail;	/* protected by lock */
	int leader;		/* protected by lock: a batch is in flight */
	e2b_meta_stats stats;	/* protected by lock */
	/* Owned by the leader (one at a time, by the leader flag). */
	e2b_process *proc;	/* NULL = not running */
	int disabled;		/* the helper cannot run: one-shot only */
	int silent;		/* helpers in a row that died before answering */
	int answered;		/* the running helper has answered */
	uint64_t seq;
	char token[33];
	char buf[META_OUT_MAX];	/* helper output not yet matched */
	size_t len;
};

int e2b_meta_session_new(e2b_meta_session **out, e2b_sandbox *sb,
			 const e2b_meta_options *opts)
{
	e2b_meta_session *s;
	e2b_meta_options o;
	int error;

	E2B_ASSERT_ARG(out);
	*out = NULL;
	E2B_ASSERT_ARG(sb);
	error = meta_opts(&o, opts);
	if (error < 0)
		return error;
	s = e2b__calloc(1, sizeof(*s));
	if (!s)
		return e2b__error_oom();
	s->user = o.user ? e2b__strdup(o.user) : NULL;
	s->tag = e2b__strdup(o.tag ? o.tag : "e2b-meta");
	if ((o.user && !s->user) || !s->tag) {
		e2b__free(s->user);
		e2b__free(s->tag);
		e2b__free(s);
		return e2b__error_oom();
	}
	s->sb = sb;
	s->timeout_ms = o.timeout_ms ? o.timeout_ms : META_TIMEOUT_MS_DEFAULT;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = s;
	return 0;
}

/* Helper stdout: keep the tail, the answer line comes last. */
static int helper_out(const char *data, size_t len, void *payload)
{
	e2b_meta_session *s = payload;
	size_t cap = sizeof(s->buf) - 1;

	if (len > cap) {
		data += len - cap;
		len = cap;
	}
	if (s->len > cap - len) {
		size_t drop = s->len - (cap - len);

		memmove(s->buf, s->buf + drop, s->len - drop);
		s->len -= drop;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

static void helper_stop(e2b_meta_session *s)
{
	if (!s->proc)
		return;
	/* Without bash, envd's sh wrapper starts and exits 127: after two
	 * helpers that never answered, one-shot only. */
	s->silent = s->answered ? 0 : s->silent + 1;
	if (s->silent >= 2)
		s->disabled = 1;
	e2b_process_kill(NULL, s->proc);
	e2b_process_free(s->proc);
	s->proc = NULL;
	s->len = 0;
}

static int helper_start(e2b_meta_session *s)
{
	e2b_commands_options co = E2B_COMMANDS_OPTIONS_INIT;
	const char *argv[] = { "/bin/bash", "-c", meta_loop, "e2b-meta", NULL };
	int error;

	error = new_token(s->token);
	if (error < 0)
		return error;
	co.user = s->user;
	co.stdin_open = 1;
	co.stdin_stream = 1;
	co.tag = s->tag;
	co.on_stdout = helper_out;
	co.payload = s;
	co.max_output = META_OUT_MAX;
	error = e2b_commands_start_argv(&s->proc, s->sb, argv, &co);
	if (error < 0) {
		s->proc = NULL;
		/* A sandbox without bash: one-shot from now on. */
		if (error == E2B_ENOTFOUND || error == E2B_EINVALID || error == E2B_ERROR)
			s->disabled = 1;
		return error;
	}
	pthread_mutex_lock(&s->lock);
	s->stats.starts++;
	s->answered = 0;
	pthread_mutex_unlock(&s->lock);
	s->len = 0;
	error = e2b_process_write_stdin(s->proc, s->token, sizeof(s->token));
	if (error < 0)
		helper_stop(s);
	return error;
}

/* Record a failure for @sl from the calling thread's error record. */
static void slot_fail(struct slot *sl, int code)
{
	const e2b_error *e = e2b_error_last();
	struct meta_call *c = sl->call;

	sl->op->error = code;
	sl->op->os_errno = e->code == code ? e->os_errno : 0;
	sl->state = SLOT_DONE;
	if (sl->idx < c->fail_idx) {
		c->fail_idx = sl->idx;
		c->fail_code = code;
		c->fail_os = sl->op->os_errno;
		snprintf(c->fail_msg, sizeof(c->fail_msg), "%s",
			 e->code == code ? e->message : e2b_error_code_str(code));
	}
}

static void slot_ok(struct slot *sl)
{
	sl->op->error = 0;
	sl->op->os_errno = 0;
	sl->state = SLOT_DONE;
}

/* Same fields, so one tool run can take both paths? */
static int same_group(const struct slot *a, const struct slot *b)
{
	if (a->op->kind != b->op->kind || a->op->kind == E2B_META_SYMLINK ||
	    a->op->kind == E2B_META_LINK)
		return 0;
	return !strcmp(a->f.verb, b->f.verb) && !strcmp(a->f.f1p, b->f.f1p) &&
	       !strcmp(a->f.mode, b->f.mode) && !strcmp(a->f.atime, b->f.atime) &&
	       !strcmp(a->f.mtime, b->f.mtime);
}

/* Does @op create a directory entry (and so change its parent's mtime)? */
static int creates_entry(const e2b_meta_op *op)
{
	return op->kind == E2B_META_SYMLINK || op->kind == E2B_META_LINK ||
	       op->kind == E2B_META_MKFIFO;
}

/*
 * Order the @m slots @ord of @v so that operations with the same fields
 * are next to each other (groups in the order of their first member,
 * members in their order): tar's and cp's files share a handful of
 * mtimes but arrive interleaved.  What must keep its order does: an
 * operation whose path occurs twice keeps its place (one path's
 * operations run as asked), and none moves across an operation that
 * creates an entry (which changes a directory's mtime that a later
 * operation may set).
 */
static int regroup(const struct slot *v, size_t *ord, size_t m)
{
	size_t *out, i, j, k = 0;
	char *used, *dup;

	if (m < 3)
		return 0;
	out = e2b__calloc(m, sizeof(*out));
	used = e2b__calloc(m, 1);
	dup = e2b__calloc(m, 1);
	if (!out || !used || !dup) {
		e2b__free(out);
		e2b__free(used);
		e2b__free(dup);
		return e2b__error_oom();
	}
	for (i = 0; i < m; i++)
		for (j = i + 1; j < m; j++)
			if (!strcmp(v[ord[i]].op->path, v[ord[j]].op->path))
				dup[i] = dup[j] = 1;
	for (i = 0; i < m; i++) {
		if (used[i])
			continue;
		out[k++] = ord[i];
		used[i] = 1;
		if (dup[i] || creates_entry(v[ord[i]].op))
			continue;
		for (j = i + 1; j < m && !creates_entry(v[ord[j]].op); j++) {
			if (!used[j] && !dup[j] && same_group(&v[ord[i]], &v[ord[j]])) {
				out[k++] = ord[j];
				used[j] = 1;
			}
		}
	}
	memcpy(ord, out, m * sizeof(*out));
	e2b__free(out);
	e2b__free(used);
	e2b__free(dup);
	return 0;
}

/* The requests of the slots ord[0..@m) of @v into @req, a group of
 * several paths where they may share one (not when @retry), numbered from
 * @first; group g is ord[gstart[g]..gend[g]), *@ngroups of them. */
static int put_groups(e2b_buf *req, struct slot *v, const size_t *ord, size_t m, int retry,
		      uint64_t first, size_t *gstart, size_t *gend, size_t *ngroups)
{
	size_t i, k;
	int error = 0;
	char sq[24];

	for (k = 0; k < m && !error; k++) {
		i = ord[k];
		if (!retry && *ngroups && same_group(&v[ord[k - 1]], &v[i])) {
			/* Over the end mark of the group's paths. */
			e2b_buf_truncate(req, req->size - 1);
			error = put_field(req, v[i].op->path);
			if (!error)
				error = put_field(req, "");
			gend[*ngroups - 1] = k + 1;
			continue;
		}
		snprintf(sq, sizeof(sq), "%" PRIu64, first + *ngroups);
		gstart[*ngroups] = k;
		gend[*ngroups] = k + 1;
		(*ngroups)++;
		error = put_request(req, sq, &v[i].f, v[i].op->path);
	}
	return error;
}

/* A group's answer: status @st (0 done), its tools' words @text, for the
 * slots ord[@from..@to) of @v.  A failed group of several is retried one
 * by one. */
static void group_answered(e2b_meta_session *s, struct slot *v, const size_t *ord,
			   size_t from, size_t to, int st, e2b_buf *text)
{
	size_t i, k, members = to - from;

	s->answered = 1;
	for (k = from; k < to; k++) {
		i = ord[k];
		if (st == 0) {
			slot_ok(&v[i]);
			/* Links are never grouped: @text is its own. */
			op_done_text(v[i].op, text->ptr);
		} else if (members > 1)
			v[i].state = SLOT_RETRY;
		else
			slot_fail(&v[i], op_failed_text(v[i].op, text->ptr));
	}
	pthread_mutex_lock(&s->lock);
	s->stats.ops += members;
	pthread_mutex_unlock(&s->lock);
}

/*
 * One exchange: the slots of @v in state SLOT_TODO (or SLOT_RETRY when
 * @retry, each alone), grouped, in one stdin write; then wait for every
 * group's answer.  A failed group of several becomes SLOT_RETRY.  Returns
 * 0, or < 0 when the helper failed (stopped; unanswered slots keep their
 * state).
 */
static int exchange(e2b_meta_session *s, struct slot *v, size_t n, int retry)
{
	e2b_buf req = E2B_BUF_INIT, text = E2B_BUF_INIT;
	size_t i, g, m = 0, ngroups = 0, *ord = NULL, *gstart = NULL, *gend = NULL;
	int want = retry ? SLOT_RETRY : SLOT_TODO, error = 0, ended = 0, st;
	uint64_t first = s->seq + 1;
	struct timespec now;
	double deadline;

	ord = e2b__calloc(n + 1, sizeof(*ord));
	gstart = e2b__calloc(n + 1, sizeof(*gstart));
	gend = e2b__calloc(n + 1, sizeof(*gend));
	if (!ord || !gstart || !gend) {
		error = e2b__error_oom();
		goto out;
	}
	for (i = 0; i < n; i++)
		if (v[i].state == want)
			ord[m++] = i;
	if (!retry)
		error = regroup(v, ord, m);
	if (!error)
		error = put_groups(&req, v, ord, m, retry, first, gstart, gend, &ngroups);
	if (error < 0 || !ngroups)
		goto out;
	s->seq += ngroups;
	s->len = 0;
	s->buf[0] = '\0';
	error = e2b_process_write_stdin(s->proc, req.ptr, req.size);
	if (error < 0) {
		helper_stop(s);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	s->stats.exchanges++;
	s->stats.requests += ngroups;
	pthread_mutex_unlock(&s->lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + s->timeout_ms / 1e3;
	for (g = 0; g < ngroups;) {
		double left;

		st = parse_answer(s->buf, &s->len, s->token, first + g, &text);
		if (st >= 0) {
			group_answered(s, v, ord, gstart[g], gend[g], st, &text);
			g++;
			continue;
		}
		if (ended) {
			helper_stop(s);
			error = e2b__error_set(E2B_EUNAVAILABLE, "metadata helper ended");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline - ((double)now.tv_sec + now.tv_nsec / 1e9);
		if (left <= 0) {
			helper_stop(s);
			error = e2b__error_set(E2B_ETIMEOUT,
					       "metadata helper did not answer in time");
			break;
		}
		/* The poll returns as soon as output has arrived. */
		error = e2b_process_poll(&ended, s->proc, (int)(left * 1000.0) + 1, -1);
		if (error < 0) {
			helper_stop(s);
			break;
		}
	}
out:
	e2b_buf_release(&req);
	e2b_buf_release(&text);
	e2b__free(ord);
	e2b__free(gstart);
	e2b__free(gend);
	return error;
}

/* Everything still open in @v runs one-shot, or gets @error when it must
 * not run twice (a link whose request may have run). */
static void finish_oneshot(e2b_meta_session *s, struct slot *v, size_t n, int sent_error)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (v[i].state == SLOT_DONE)
			continue;
		if (sent_error < 0 && (v[i].op->kind == E2B_META_SYMLINK ||
				       v[i].op->kind == E2B_META_LINK)) {
			slot_fail(&v[i], sent_error);
			continue;
		}
		rc = e2b__meta_run_oneshot(s->sb, v[i].op, s->user, s->timeout_ms);
		if (rc < 0)
			slot_fail(&v[i], rc);
		else
			slot_ok(&v[i]);
		pthread_mutex_lock(&s->lock);
		s->stats.oneshots++;
		pthread_mutex_unlock(&s->lock);
	}
}

/* Run one batch (the leader, no lock held). */
static void run_batch(e2b_meta_session *s, struct slot *v, size_t n)
{
	size_t i, open = 0;
	int error = 0, sent = 0;

	for (i = 0; i < n; i++) {
		v[i].state = SLOT_TODO;
		error = op_fields(&v[i].f, v[i].op);
		if (!error && !v[i].f.f1p) {
			size_t l = strlen(v[i].op->owner_of);

			v[i].owner_ref = e2b__malloc(l + 2);
			if (!v[i].owner_ref) {
				error = e2b__error_oom();
			} else {
				v[i].owner_ref[0] = '=';
				memcpy(v[i].owner_ref + 1, v[i].op->owner_of, l + 1);
				v[i].f.f1p = v[i].owner_ref;
			}
		}
		if (error < 0)
			slot_fail(&v[i], error);
		else
			open++;
	}
	if (!open)
		return;
	if (!s->proc && !s->disabled)
		error = helper_start(s);
	if (s->proc) {
		sent = 1;
		error = exchange(s, v, n, 0);
		if (!error && s->proc)
			error = exchange(s, v, n, 1);
	}
	if (sent && error == E2B_ETIMEOUT) {
		for (i = 0; i < n; i++)
			if (v[i].state != SLOT_DONE)
				slot_fail(&v[i], error);
		return;
	}
	finish_oneshot(s, v, n, sent ? error : 0);
}

int e2b_meta_session_run(e2b_meta_session *s, e2b_meta_op *ops, size_t count)
{
	struct meta_call call, *c;
	struct slot *v = NULL;
	size_t n, i, k;

	E2B_ASSERT_ARG(s);
	if (!count)
		return 0;
	E2B_ASSERT_ARG(ops);
	memset(&call, 0, sizeof(call));
	call.ops = ops;
	call.count = count;
	call.fail_idx = SIZE_MAX;
	for (i = 0; i < count; i++) {
		ops[i].error = 0;
		ops[i].os_errno = 0;
		ops[i].nlink = 0;
	}
	v = e2b__calloc(META_BATCH_MAX, sizeof(*v));
	if (!v)
		return e2b__error_oom();
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = &call;
	else
		s->head = &call;
	s->tail = &call;
	while (call.answered < call.count) {
		if (s->leader) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		/* Lead: take queued ops (ours or others') up to a batch. */
		s->leader = 1;
		n = 0;
		for (c = s->head; c && n < META_BATCH_MAX; c = c->next) {
			for (k = c->taken; k < c->count && n < META_BATCH_MAX; k++, n++) {
				memset(&v[n], 0, sizeof(v[n]));
				v[n].op = &c->ops[k];
				v[n].call = c;
				v[n].idx = k;
			}
			c->taken = k;
		}
		while (s->head && s->head->taken == s->head->count) {
			s->head = s->head->next;
			if (!s->head)
				s->tail = NULL;
		}
		pthread_mutex_unlock(&s->lock);
		run_batch(s, v, n);
		for (i = 0; i < n; i++)
			e2b__free(v[i].owner_ref);
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < n; i++)
			v[i].call->answered++;
		s->leader = 0;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	e2b__free(v);
	if (call.fail_idx == SIZE_MAX)
		return 0;
	e2b__error_set(call.fail_code, "%s", call.fail_msg);
	e2b__error_set_os_errno(call.fail_os);
	return call.fail_code;
}

void e2b_meta_session_stats(e2b_meta_stats *out, e2b_meta_session *s)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

void e2b_meta_session_free(e2b_meta_session *s)
{
	if (!s)
		return;
	helper_stop(s);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	e2b__free(s->user);
	e2b__free(s->tag);
	e2b__free(s);
}
