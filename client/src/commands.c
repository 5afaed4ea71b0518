/* SPDX-License-Identifier: MIT */
/*
 * process.Process: foreground runs, background handles, reconnects, PTY,
 * and the unary process calls.  No threads: a handle's stream is pumped by
 * whichever thread calls wait/poll (see process.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "client_int.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "process.pb-c.h"
#include "util.h"

#define STDIN_CHUNK ((size_t)1024 * 1024)
#define INPUT_CHUNK ((size_t)64 * 1024)
/* Without base64 a message may carry more (envd's limit is 4 MiB). */
#define INPUT_CHUNK_PB ((size_t)1024 * 1024)
#define PUMP_SLICE_MS 1000

struct proc_state {
	e2b_data_cb on_out;
	e2b_data_cb on_err;
	void *payload;
	e2b_buf out;
	e2b_buf err;
	e2b_buf scratch;
	int truncated;
	int started;
	uint32_t pid;
	int ended;
	int exit_code;
	int exited;
	char *status;
	char *error;
};

struct e2b_process {
	e2b_sandbox *sb;
	struct e2b__rpc_stream *st;
	struct proc_state ps;
	int finished;		/* stream over, result stored */
	int result;
	int disconnected;
	atomic_int cancel;
	char what[128];
	/* start-time callbacks, restored after a wait with overrides */
	e2b_data_cb on_out;
	e2b_data_cb on_err;
	void *payload;
	int stdin_stream;	/* send stdin through `in` (StreamInput) */
	struct e2b_input *in;	/* opened on the first send */
};

struct e2b_input {
	struct e2b__rpc_cstream *cs;
	const char *member;	/* "stdin" or "pty" */
	int closed;
	int result;		/* outcome of close */
	char what[64];
};

static void ps_init(struct proc_state *ps, const e2b_commands_options *o)
{
	size_t max = o && o->max_output ? o->max_output : E2B_DEFAULT_MAX_OUTPUT;

	memset(ps, 0, sizeof(*ps));
	e2b_buf_init(&ps->out, max);
	e2b_buf_init(&ps->err, max);
	e2b_buf_init(&ps->scratch, 0);
	if (o) {
		ps->on_out = o->on_stdout;
		ps->on_err = o->on_stderr;
		ps->payload = o->payload;
	}
}

static void ps_release(struct proc_state *ps)
{
	e2b_buf_release(&ps->out);
	e2b_buf_release(&ps->err);
	e2b_buf_release(&ps->scratch);
	e2b__free(ps->status);
	e2b__free(ps->error);
	ps->status = ps->error = NULL;
}

/* Deliver or capture one chunk of output. */
static int ps_output(struct proc_state *ps, int is_err, const char *data, size_t len)
{
	e2b_data_cb cb = is_err ? ps->on_err : ps->on_out;
	e2b_buf *b = is_err ? &ps->err : &ps->out;
	size_t room;

	if (!len)
		return 0;
	if (cb)
		return cb(data, len, ps->payload) ? E2B_ECANCELED : 0;
	room = b->max - b->size;
	if (len > room) {
		ps->truncated = 1;
		len = room;
	}
	return len ? e2b_buf_put(b, data, len) : 0;
}

static int decode_bytes(struct proc_state *ps, json_t *v)
{
	e2b_buf_truncate(&ps->scratch, 0);
	if (!json_is_string(v))
		return e2b__error_set(E2B_EPROTO, "output is not base64 text");
	return e2b__b64_decode(&ps->scratch, json_string_value(v), json_string_length(v));
}

/* Output bytes of a data event: stdout and pty go to the stdout side. */
static int on_data(struct proc_state *ps, json_t *d)
{
	json_t *v;
	int is_err = 0, error;

	v = e2b__json_field(d, "stdout", NULL);
	if (!v)
		v = e2b__json_field(d, "pty", NULL);
	if (!v) {
		v = e2b__json_field(d, "stderr", NULL);
		is_err = 1;
	}
	if (!v)
		return 0;
	error = decode_bytes(ps, v);
	if (error < 0)
		return error;
	return ps_output(ps, is_err, ps->scratch.ptr, ps->scratch.size);
}

/* Output bytes in the protobuf codec: no JSON, no base64. */
static int on_output(int which, const char *data, size_t len, void *payload)
{
	struct proc_state *ps = payload;

	if (!ps->started)
		return e2b__error_set(E2B_EPROTO, "expected start event");
	return ps_output(ps, which == 2, data, len);
}

static int on_end(struct proc_state *ps, json_t *v)
{
	const char *s;
	int error;

	ps->ended = 1;
	error = e2b__json_int(v, "exitCode", "exit_code", &ps->exit_code);
	if (!error)
		error = e2b__json_bool(v, "exited", NULL, &ps->exited);
	if (error < 0)
		return error;
	s = e2b__json_str(v, "status", NULL, &error);
	if (error < 0)
		return error;
	ps->status = e2b__strdup0(s);
	s = e2b__json_str(v, "error", NULL, &error);
	if (error < 0)
		return error;
	ps->error = e2b__strdup0(s);
	if (!ps->status || !ps->error)
		return e2b__error_oom();
	return 0;
}

static int on_event(json_t *msg, void *payload)
{
	struct proc_state *ps = payload;
	json_t *ev, *v;

	ev = e2b__json_field(msg, "event", NULL);
	if (!ev)
		return 0;	/* messages without an event are skipped */
	if (!json_is_object(ev))
		return e2b__error_set(E2B_EPROTO, "process event is not an object");
	v = e2b__json_field(ev, "start", NULL);
	if (v) {
		if (ps->started)
			return e2b__error_set(E2B_EPROTO, "duplicate start event");
		ps->started = 1;
		return e2b__json_u32(v, "pid", NULL, &ps->pid);
	}
	if (!ps->started)
		return e2b__error_set(E2B_EPROTO, "expected start event");
	v = e2b__json_field(ev, "data", NULL);
	if (v)
		return on_data(ps, v);
	v = e2b__json_field(ev, "end", NULL);
	if (v)
		return on_end(ps, v);
	/* keepalive and unknown events */
	return 0;
}

/* Move the outcome into a public result. */
static int fill_result(e2b_process_result *out, struct proc_state *ps)
{
	e2b_process_result_release(out);
	out->out = e2b_buf_detach(&ps->out, &out->out_len);
	out->err = e2b_buf_detach(&ps->err, &out->err_len);
	out->status = e2b__strdup0(ps->status);
	out->error = e2b__strdup0(ps->error);
	out->exit_code = ps->exit_code;
	out->exited = ps->exited;
	out->truncated = ps->truncated;
	out->pid = ps->pid;
	if (!out->out || !out->err || !out->status || !out->error) {
		e2b_process_result_release(out);
		return e2b__error_oom();
	}
	return 0;
}

void e2b_process_result_release(e2b_process_result *res)
{
	if (!res)
		return;
	e2b__free(res->out);
	e2b__free(res->err);
	e2b__free(res->status);
	e2b__free(res->error);
	memset(res, 0, sizeof(*res));
}

/* Outcome of a finished stream: transport/RPC error, missing end, exit code. */
static int finish_outcome(struct proc_state *ps, int stream_error, const char *what)
{
	if (stream_error < 0)
		return stream_error;
	if (!ps->started)
		return e2b__error_set(E2B_EPROTO, "%s: stream closed without start event", what);
	if (!ps->ended)
		return e2b__error_set(E2B_EPROTO, "%s: command ended without an end event", what);
	if (ps->exit_code != 0 || (!ps->exited && ps->error && *ps->error))
		return e2b__error_set(E2B_EEXIT, "command exited with code %d%s%s",
				      ps->exit_code, ps->error && *ps->error ? ": " : "",
				      ps->error ? ps->error : "");
	return 0;
}

/* The process's environment: @extra_env, then the caller's (@o's envs win
 * on collision); NULL when it cannot be made (*@error set to E2B_EINVALID
 * when the merge failed). */
static json_t *config_envs(const e2b_commands_options *o, const e2b_kv *extra_env,
			   size_t extra_env_count, int *error)
{
	json_t *envs = e2b__kv_to_json(extra_env, extra_env_count);

	if (envs && o && o->envs_count) {
		json_t *more = e2b__kv_to_json(o->envs, o->envs_count);

		if (!more || json_object_update(envs, more) < 0) {
			json_decref(more);
			json_decref(envs);
			envs = NULL;
			*error = E2B_EINVALID;
		} else {
			json_decref(more);
		}
	}
	return envs;
}

static int build_config(json_t **out, const char *cmd, const char *const *args,
			const e2b_commands_options *o, const e2b_kv *extra_env,
			size_t extra_env_count)
{
	json_t *proc = NULL, *jargs = NULL, *envs = NULL;
	size_t i;
	int error;

	*out = NULL;
	proc = json_object();
	jargs = json_array();
	if (!proc || !jargs) {
		error = e2b__error_oom();
		goto fail;
	}
	error = e2b__json_set_str(proc, "cmd", cmd);
	for (i = 0; !error && args && args[i]; i++) {
		json_t *a = json_string(args[i]);

		if (!a || json_array_append_new(jargs, a) < 0)
			error = e2b__error_set(E2B_EINVALID, "argument %zu is not valid utf-8", i);
	}
	if (error < 0)
		goto fail;
	error = e2b__json_set_new(proc, "args", jargs);
	jargs = NULL;
	if (error < 0)
		goto fail;
	if ((o && o->envs_count) || extra_env_count) {
		envs = config_envs(o, extra_env, extra_env_count, &error);
		if (!envs) {
			error = error ? error : e2b_error_last()->code;
			goto fail;
		}
		error = e2b__json_set_new(proc, "envs", envs);
		if (error < 0)
			goto fail;
	}
	if (o && o->cwd) {
		error = e2b__json_set_str(proc, "cwd", o->cwd);
		if (error < 0)
			goto fail;
	}
	*out = proc;
	return 0;
fail:
	json_decref(proc);
	json_decref(jargs);
	return error;
}

static int check_opts(const e2b_commands_options *o)
{
	if (o && o->version != E2B_COMMANDS_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported command options version %u",
				      o->version);
	if (o && o->envs_count && !o->envs)
		return e2b__error_set(E2B_EINVALID, "envs is NULL");
	return 0;
}

/* Pump until the start event (bounded by the request timeout) or the end. */
static int wait_started(struct e2b_process *p, unsigned handshake_ms)
{
	int64_t deadline = e2b__now_ms() + handshake_ms;
	int error, done = 0;

	while (!p->ps.started) {
		if (e2b__now_ms() >= deadline)
			return e2b__error_set(E2B_ETIMEOUT, "%s: no start event within %u ms",
					      p->what, handshake_ms);
		error = e2b__rpc_stream_pump(p->st, PUMP_SLICE_MS, -1, &done);
		if (done) {
			p->finished = 1;
			p->result = finish_outcome(&p->ps, error, p->what);
			if (p->ps.started)
				return 0;
			return p->result < 0 ? p->result :
				e2b__error_set(E2B_EPROTO, "%s: stream closed without start event",
					       p->what);
		}
		if (error < 0)
			return error;
	}
	return 0;
}

static int process_open(struct e2b_process **out, e2b_sandbox *sb,
			const char *procedure, json_t *req, const char *user,
			unsigned deadline_ms, const e2b_commands_options *o,
			const char *what)
{
	struct e2b_process *p;
	struct e2b__envd e;
	int error;

	*out = NULL;
	p = e2b__calloc(1, sizeof(*p));
	if (!p)
		return e2b__error_oom();
	p->sb = sb;
	snprintf(p->what, sizeof(p->what), "%s", what);
	ps_init(&p->ps, o);
	p->on_out = p->ps.on_out;
	p->on_err = p->ps.on_err;
	p->payload = p->ps.payload;
	p->stdin_stream = o && o->stdin_stream;
	error = e2b__sandbox_envd(&e, sb, user);
	if (error < 0)
		goto fail;
	error = e2b__rpc_stream_open2(&p->st, &e, procedure, req, deadline_ms,
				      on_event, on_output, &p->ps, what);
	e2b__envd_release(&e);
	if (error < 0)
		goto fail;
	error = wait_started(p, sb->client->conf.request_timeout_ms);
	if (error < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	e2b_process_free(p);
	return error;
}

static int start_request(json_t **out, const char *cmd, const char *const *args,
			 const e2b_commands_options *o, int pty, unsigned cols,
			 unsigned rows, const e2b_kv *extra_env, size_t extra_env_count)
{
	json_t *req = NULL, *proc = NULL;
	int error;

	*out = NULL;
	error = build_config(&proc, cmd, args, o, extra_env, extra_env_count);
	if (error < 0)
		return error;
	req = json_object();
	if (!req) {
		json_decref(proc);
		return e2b__error_oom();
	}
	error = e2b__json_set_new(req, "process", proc);
	if (!error && pty)
		error = e2b__json_set_new(req, "pty",
					  json_pack("{s:{s:i,s:i}}", "size", "cols", (int)cols,
						    "rows", (int)rows));
	if (!error && !pty)
		error = e2b__json_set_bool(req, "stdin", o && (o->stdin_open || o->stdin_data));
	if (!error && o && o->tag)
		error = e2b__json_set_str(req, "tag", o->tag);
	if (error < 0) {
		json_decref(req);
		return error;
	}
	*out = req;
	return 0;
}

static int start_common(struct e2b_process **out, e2b_sandbox *sb, const char *cmd,
			const char *const *args, const e2b_commands_options *o,
			const char *what)
{
	json_t *req = NULL;
	int error;

	error = start_request(&req, cmd, args, o, 0, 0, 0, NULL, 0);
	if (error < 0)
		return error;
	error = process_open(out, sb, "process.Process/Start", req, o ? o->user : NULL,
			     o ? o->timeout_ms : 0, o, what);
	json_decref(req);
	if (error < 0)
		return error;
	if (o && o->stdin_data) {
		error = e2b_commands_write_stdin(sb, (*out)->ps.pid, o->stdin_data, o->stdin_len);
		if (!error && !o->stdin_open)
			error = e2b_commands_close_stdin(sb, (*out)->ps.pid);
		if (error == E2B_ENOTFOUND) {
			/* The process already finished; its output still counts. */
			e2b_error_clear();
			error = 0;
		}
		if (error < 0) {
			e2b_process_free(*out);
			*out = NULL;
		}
	}
	return error;
}

static const char *const shell_args_tmpl[] = { "-l", "-c", NULL, NULL };

static int check_cmd(const char *cmd)
{
	if (!cmd || !*cmd)
		return e2b__error_set(E2B_EINVALID, "empty command");
	return 0;
}

static int check_argv(const char *const *argv)
{
	if (!argv || !argv[0] || !*argv[0])
		return e2b__error_set(E2B_EINVALID, "empty argv");
	return 0;
}

/* Pump a handle to the end, with a client-side bound when a deadline was set. */
static int process_drain(struct e2b_process *p, int64_t deadline)
{
	int error, done = 0;

	while (!p->finished) {
		if (atomic_load(&p->cancel)) {
			atomic_store(&p->cancel, 0);
			return e2b__error_set(E2B_ECANCELED, "%s: wait cancelled", p->what);
		}
		if (deadline && e2b__now_ms() > deadline)
			return e2b__error_set(E2B_ETIMEOUT, "%s: deadline exceeded", p->what);
		if (p->disconnected)
			return e2b__error_set(E2B_ECANCELED, "%s: disconnected", p->what);
		error = e2b__rpc_stream_pump(p->st, PUMP_SLICE_MS, -1, &done);
		if (done) {
			p->finished = 1;
			p->result = finish_outcome(&p->ps, error, p->what);
			break;
		}
		if (error < 0)
			return error;
	}
	return p->result;
}

static int run_common(e2b_process_result *out, e2b_sandbox *sb, const char *cmd,
		      const char *const *args, const e2b_commands_options *o,
		      const char *what)
{
	struct e2b_process *p = NULL;
	int64_t deadline = 0;
	int error, ferr;

	if (o && o->timeout_ms)
		deadline = e2b__now_ms() + o->timeout_ms + 5000;
	error = start_common(&p, sb, cmd, args, o, what);
	if (error < 0)
		return error;
	if (!out) {
		/* Nobody will read the capture: drop output without a callback. */
		p->ps.out.max = 0;
		p->ps.err.max = 0;
	}
	error = process_drain(p, deadline);
	if (out && (error == 0 || error == E2B_EEXIT || p->ps.started)) {
		ferr = fill_result(out, &p->ps);
		if (ferr < 0 && error >= 0)
			error = ferr;
	}
	e2b_process_free(p);
	return error;
}

int e2b_commands_run(e2b_process_result *out, e2b_sandbox *sb, const char *cmd,
		     const e2b_commands_options *opts)
{
	const char *args[4];
	char what[256];
	int error;

	E2B_ASSERT_ARG(sb);
	error = check_cmd(cmd);
	if (!error)
		error = check_opts(opts);
	if (error < 0)
		return error;
	memcpy(args, shell_args_tmpl, sizeof(args));
	args[2] = cmd;
	e2b__what(what, sizeof(what), "run", cmd);
	return run_common(out, sb, "/bin/bash", args, opts, what);
}

int e2b_commands_run_argv(e2b_process_result *out, e2b_sandbox *sb,
			  const char *const *argv, const e2b_commands_options *opts)
{
	char what[256];
	int error;

	E2B_ASSERT_ARG(sb);
	error = check_argv(argv);
	if (!error)
		error = check_opts(opts);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "run", argv[0]);
	return run_common(out, sb, argv[0], argv + 1, opts, what);
}

int e2b_commands_start(e2b_process **out, e2b_sandbox *sb, const char *cmd,
		       const e2b_commands_options *opts)
{
	const char *args[4];
	char what[256];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = check_cmd(cmd);
	if (!error)
		error = check_opts(opts);
	if (error < 0)
		return error;
	memcpy(args, shell_args_tmpl, sizeof(args));
	args[2] = cmd;
	e2b__what(what, sizeof(what), "start", cmd);
	return start_common(out, sb, "/bin/bash", args, opts, what);
}

int e2b_commands_start_argv(e2b_process **out, e2b_sandbox *sb,
			    const char *const *argv, const e2b_commands_options *opts)
{
	char what[256];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = check_argv(argv);
	if (!error)
		error = check_opts(opts);
	if (error < 0)
		return error;
	e2b__what(what, sizeof(what), "start", argv[0]);
	return start_common(out, sb, argv[0], argv + 1, opts, what);
}

int e2b_commands_connect(e2b_process **out, e2b_sandbox *sb, uint32_t pid,
			 const e2b_commands_options *opts)
{
	json_t *req;
	char what[64];
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = check_opts(opts);
	if (error < 0)
		return error;
	snprintf(what, sizeof(what), "connect to process %u", pid);
	req = json_pack("{s:{s:i}}", "process", "pid", (json_int_t)pid);
	if (!req)
		return e2b__error_oom();
	error = process_open(out, sb, "process.Process/Connect", req, opts ? opts->user : NULL,
			     0, opts, what);
	json_decref(req);
	return error;
}

/* Unary call with {"process":{"pid":N}} plus @extra members. */
static int pid_call(json_t **resp, e2b_sandbox *sb, const char *procedure, uint32_t pid,
		    json_t *extra, int idempotent, const char *what)
{
	struct e2b__envd e;
	json_t *req;
	int error;

	req = json_pack("{s:{s:i}}", "process", "pid", (json_int_t)pid);
	if (!req) {
		json_decref(extra);
		return e2b__error_oom();
	}
	if (extra && json_object_update(req, extra) < 0) {
		json_decref(extra);
		json_decref(req);
		return e2b__error_oom();
	}
	json_decref(extra);
	error = e2b__sandbox_envd(&e, sb, NULL);
	if (!error)
		error = e2b__rpc_unary(resp, &e, procedure, req, idempotent, what);
	e2b__envd_release(&e);
	json_decref(req);
	return error;
}

int e2b_commands_signal(int *out_found, e2b_sandbox *sb, uint32_t pid, e2b_signal sig)
{
	json_t *extra;
	char what[64];
	int error;

	E2B_ASSERT_ARG(sb);
	if (out_found)
		*out_found = 0;
	if (sig != E2B_SIGNAL_SIGKILL && sig != E2B_SIGNAL_SIGTERM)
		return e2b__error_set(E2B_EINVALID, "unsupported signal %d", (int)sig);
	snprintf(what, sizeof(what), "signal process %u", pid);
	extra = json_pack("{s:s}", "signal", sig == E2B_SIGNAL_SIGKILL ?
			  "SIGNAL_SIGKILL" : "SIGNAL_SIGTERM");
	if (!extra)
		return e2b__error_oom();
	error = pid_call(NULL, sb, "process.Process/SendSignal", pid, extra, 1, what);
	if (error == E2B_ENOTFOUND) {
		e2b_error_clear();
		return 0;
	}
	if (!error && out_found)
		*out_found = 1;
	return error;
}

int e2b_commands_kill(int *out_found, e2b_sandbox *sb, uint32_t pid)
{
	return e2b_commands_signal(out_found, sb, pid, E2B_SIGNAL_SIGKILL);
}

static int send_input(e2b_sandbox *sb, uint32_t pid, const void *data, size_t len,
		      const char *member)
{
	e2b_buf b = E2B_BUF_INIT;
	const char *p = data;
	json_t *extra;
	char what[64];
	size_t n;
	int error = 0;

	E2B_ASSERT_ARG(sb);
	if (len && !data)
		return e2b__error_set(E2B_EINVALID, "input data is NULL");
	snprintf(what, sizeof(what), "send input to process %u", pid);
	e2b_buf_init(&b, STDIN_CHUNK * 2);
	do {
		n = len > STDIN_CHUNK ? STDIN_CHUNK : len;
		e2b_buf_truncate(&b, 0);
		error = e2b__b64_encode(&b, p, n);
		if (error < 0)
			break;
		extra = json_pack("{s:{s:s}}", "input", member, b.ptr);
		if (!extra) {
			error = e2b__error_oom();
			break;
		}
		/* Not idempotent: a retried chunk would be written twice. */
		error = pid_call(NULL, sb, "process.Process/SendInput", pid, extra, 0, what);
		p += n;
		len -= n;
	} while (!error && len);
	e2b_buf_release(&b);
	return error;
}

int e2b_commands_write_stdin(e2b_sandbox *sb, uint32_t pid, const void *data, size_t len)
{
	return send_input(sb, pid, data, len, "stdin");
}

int e2b_commands_close_stdin(e2b_sandbox *sb, uint32_t pid)
{
	char what[64];

	E2B_ASSERT_ARG(sb);
	snprintf(what, sizeof(what), "close stdin of process %u", pid);
	return pid_call(NULL, sb, "process.Process/CloseStdin", pid, NULL, 1, what);
}

int e2b_commands_list(e2b_process_list **out, e2b_sandbox *sb)
{
	struct e2b__envd e;
	e2b_process_list *list = NULL;
	json_t *resp = NULL, *procs;
	size_t i, n;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	error = e2b__sandbox_envd(&e, sb, NULL);
	if (error < 0)
		return error;
	error = e2b__rpc_unary(&resp, &e, "process.Process/List", NULL, 1, "list processes");
	e2b__envd_release(&e);
	if (error < 0)
		return error;
	procs = e2b__json_field(resp, "processes", NULL);
	if (procs && !json_is_array(procs)) {
		error = e2b__error_set(E2B_EPROTO, "list processes: processes is not an array");
		goto out;
	}
	n = procs ? json_array_size(procs) : 0;
	list = e2b__calloc(1, sizeof(*list));
	if (list)
		list->items = e2b__calloc(n ? n : 1, sizeof(*list->items));
	if (!list || !list->items) {
		error = e2b__error_oom();
		goto out;
	}
	for (i = 0; i < n; i++) {
		error = e2b__process_info_from_json(&list->items[i], json_array_get(procs, i));
		if (error < 0)
			goto out;
		list->count++;
	}
	*out = list;
	list = NULL;
out:
	e2b_process_list_free(list);
	json_decref(resp);
	return error;
}

void e2b_process_list_free(e2b_process_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		e2b__process_info_release(&list->items[i]);
	e2b__free(list->items);
	e2b__free(list);
}

/* ---- process handle ------------------------------------------------- */

uint32_t e2b_process_pid(const e2b_process *proc)
{
	return proc ? proc->ps.pid : 0;
}

int e2b_process_wait(e2b_process_result *out, e2b_process *proc,
		     e2b_data_cb on_stdout, e2b_data_cb on_stderr, void *payload)
{
	int error, ferr;

	E2B_ASSERT_ARG(proc);
	if (on_stdout || on_stderr) {
		proc->ps.on_out = on_stdout;
		proc->ps.on_err = on_stderr;
		proc->ps.payload = payload;
	}
	error = process_drain(proc, 0);
	proc->ps.on_out = proc->on_out;
	proc->ps.on_err = proc->on_err;
	proc->ps.payload = proc->payload;
	if (out && proc->finished && (error == 0 || error == E2B_EEXIT || proc->ps.ended)) {
		ferr = fill_result(out, &proc->ps);
		if (ferr < 0 && error >= 0)
			error = ferr;
	}
	return error;
}

int e2b_process_poll(int *out_ended, e2b_process *proc, int timeout_ms, int fd)
{
	int error, done = 0;

	E2B_ASSERT_ARG(proc);
	if (out_ended)
		*out_ended = 0;
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms > 60000)
		timeout_ms = 60000;
	if (!proc->finished) {
		if (atomic_load(&proc->cancel)) {
			atomic_store(&proc->cancel, 0);
			return e2b__error_set(E2B_ECANCELED, "%s: poll cancelled", proc->what);
		}
		if (proc->disconnected)
			return e2b__error_set(E2B_ECANCELED, "%s: disconnected", proc->what);
		error = e2b__rpc_stream_pump(proc->st, timeout_ms, fd, &done);
		if (done) {
			proc->finished = 1;
			proc->result = finish_outcome(&proc->ps, error, proc->what);
		} else if (error < 0) {
			return error;
		}
	}
	if (proc->finished) {
		if (out_ended)
			*out_ended = 1;
		return proc->result == E2B_EEXIT ? 0 : proc->result;
	}
	return 0;
}

int e2b_process_write_stdin(e2b_process *proc, const void *data, size_t len)
{
	int error;

	E2B_ASSERT_ARG(proc);
	if (!proc->stdin_stream)
		return e2b_commands_write_stdin(proc->sb, proc->ps.pid, data, len);
	if (!proc->in) {
		error = e2b_input_open(&proc->in, proc->sb, proc->ps.pid, 0);
		if (error < 0)
			return error;
	}
	return e2b_input_write(proc->in, data, len);
}

int e2b_process_close_stdin(e2b_process *proc)
{
	int error;

	E2B_ASSERT_ARG(proc);
	if (proc->in) {
		/* Everything streamed so far must arrive before the EOF. */
		error = e2b_input_close(proc->in);
		e2b_input_free(proc->in);
		proc->in = NULL;
		if (error < 0)
			return error;
	}
	return e2b_commands_close_stdin(proc->sb, proc->ps.pid);
}

int e2b_process_kill(int *out_found, e2b_process *proc)
{
	E2B_ASSERT_ARG(proc);
	return e2b_commands_kill(out_found, proc->sb, proc->ps.pid);
}

void e2b_process_disconnect(e2b_process *proc)
{
	if (!proc || proc->disconnected)
		return;
	proc->disconnected = 1;
	e2b__rpc_stream_free(proc->st);
	proc->st = NULL;
}

void e2b_process_cancel(e2b_process *proc)
{
	if (!proc)
		return;
	atomic_store(&proc->cancel, 1);
	if (!proc->disconnected)
		e2b__rpc_stream_wakeup(proc->st);
}

void e2b_process_free(e2b_process *proc)
{
	if (!proc)
		return;
	e2b__rpc_stream_free(proc->st);
	e2b_input_free(proc->in);
	ps_release(&proc->ps);
	e2b__free(proc);
}

/* ---- streamed input ------------------------------------------------- */

int e2b_input_open(e2b_input **out, e2b_sandbox *sb, uint32_t pid, unsigned flags)
{
	struct e2b_input *in;
	struct e2b__envd e;
	json_t *start = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	*out = NULL;
	if (flags & ~(unsigned)E2B_INPUT_PTY)
		return e2b__error_set(E2B_EINVALID, "unknown input flags 0x%x", flags);
	in = e2b__calloc(1, sizeof(*in));
	if (!in)
		return e2b__error_oom();
	in->member = (flags & E2B_INPUT_PTY) ? "pty" : "stdin";
	snprintf(in->what, sizeof(in->what), "stream input to process %u", pid);
	error = e2b__sandbox_envd(&e, sb, NULL);
	if (error < 0)
		goto out;
	error = e2b__rpc_cstream_open(&in->cs, &e, "process.Process/StreamInput", in->what);
	e2b__envd_release(&e);
	if (error < 0)
		goto out;
	/* envd needs the start event before any data (data first crashes it). */
	start = json_pack("{s:{s:{s:i}}}", "start", "process", "pid", (json_int_t)pid);
	if (!start) {
		error = e2b__error_oom();
		goto out;
	}
	error = e2b__rpc_cstream_send(in->cs, start);
	if (error < 0)
		goto out;
	*out = in;
	in = NULL;
out:
	json_decref(start);
	e2b_input_free(in);
	return error;
}

/* One StreamInput data message in the protobuf codec, the bytes as they are. */
static int input_write_pb(e2b_input *in, const void *data, size_t len)
{
	Process__StreamInputRequest req;
	Process__StreamInputRequest__DataEvent ev;
	Process__ProcessInput input;
	ProtobufCBinaryData b = { len, (uint8_t *)data };

	process__stream_input_request__init(&req);
	process__stream_input_request__data_event__init(&ev);
	process__process_input__init(&input);
	if (!strcmp(in->member, "pty")) {
		input.input_case = PROCESS__PROCESS_INPUT__INPUT_PTY;
		input.pty = b;
	} else {
		input.input_case = PROCESS__PROCESS_INPUT__INPUT_STDIN;
		input.stdin = b;
	}
	ev.input = &input;
	req.event_case = PROCESS__STREAM_INPUT_REQUEST__EVENT_DATA;
	req.data = &ev;
	return e2b__rpc_cstream_send_pb(in->cs, &req.base);
}

int e2b_input_write(e2b_input *in, const void *data, size_t len)
{
	e2b_buf b = E2B_BUF_INIT;
	const char *p = data;
	json_t *msg;
	size_t n;
	int error = 0;

	E2B_ASSERT_ARG(in);
	if (len && !data)
		return e2b__error_set(E2B_EINVALID, "input data is NULL");
	if (in->closed)
		return e2b__error_set(E2B_EINVALID, "%s: already closed", in->what);
	if (e2b__rpc_cstream_proto(in->cs)) {
		while (!error && len) {
			n = len > INPUT_CHUNK_PB ? INPUT_CHUNK_PB : len;
			error = input_write_pb(in, p, n);
			p += n;
			len -= n;
		}
		return error;
	}
	while (!error && len) {
		n = len > INPUT_CHUNK ? INPUT_CHUNK : len;
		e2b_buf_truncate(&b, 0);
		error = e2b__b64_encode(&b, p, n);
		if (error < 0)
			break;
		msg = json_pack("{s:{s:{s:s}}}", "data", "input", in->member, b.ptr);
		if (!msg) {
			error = e2b__error_oom();
			break;
		}
		error = e2b__rpc_cstream_send(in->cs, msg);
		json_decref(msg);
		p += n;
		len -= n;
	}
	e2b_buf_release(&b);
	return error;
}

int e2b_input_close(e2b_input *in)
{
	E2B_ASSERT_ARG(in);
	if (!in->closed) {
		in->closed = 1;
		in->result = e2b__rpc_cstream_finish(NULL, in->cs);
	}
	return in->result;
}

void e2b_input_free(e2b_input *in)
{
	if (!in)
		return;
	e2b__rpc_cstream_free(in->cs);
	e2b__free(in);
}

/* ---- PTY ------------------------------------------------------------ */

int e2b_pty_start(e2b_process **out, e2b_sandbox *sb, const e2b_pty_options *opts)
{
	static const char *const default_argv[] = { "/bin/bash", "-i", "-l", NULL };
	static const e2b_kv pty_env[] = {
		{ "TERM", "xterm-256color" }, { "LANG", "C.UTF-8" }, { "LC_ALL", "C.UTF-8" },
	};
	e2b_commands_options o = E2B_COMMANDS_OPTIONS_INIT;
	const char *const *argv;
	json_t *req = NULL;
	int error;

	E2B_ASSERT_ARG(out);
	E2B_ASSERT_ARG(sb);
	E2B_ASSERT_ARG(opts);
	*out = NULL;
	if (opts->version != E2B_PTY_OPTIONS_VERSION)
		return e2b__error_set(E2B_EINVALID, "unsupported pty options version %u",
				      opts->version);
	argv = opts->argv ? opts->argv : default_argv;
	error = check_argv(argv);
	if (error < 0)
		return error;
	o.envs = opts->envs;
	o.envs_count = opts->envs_count;
	o.cwd = opts->cwd;
	o.user = opts->user;
	o.on_stdout = opts->on_data;
	o.on_stderr = opts->on_data;
	o.payload = opts->payload;
	error = start_request(&req, argv[0], argv + 1, &o, 1, opts->cols ? opts->cols : 80,
			      opts->rows ? opts->rows : 24, pty_env, 3);
	if (error < 0)
		return error;
	error = process_open(out, sb, "process.Process/Start", req, opts->user,
			     opts->timeout_ms, &o, "start pty");
	json_decref(req);
	return error;
}

int e2b_pty_write(e2b_sandbox *sb, uint32_t pid, const void *data, size_t len)
{
	return send_input(sb, pid, data, len, "pty");
}

int e2b_pty_resize(e2b_sandbox *sb, uint32_t pid, unsigned cols, unsigned rows)
{
	json_t *extra;
	char what[64];

	E2B_ASSERT_ARG(sb);
	if (!cols || !rows || cols > 65535 || rows > 65535)
		return e2b__error_set(E2B_EINVALID, "invalid pty size %ux%u", cols, rows);
	snprintf(what, sizeof(what), "resize pty of process %u", pid);
	extra = json_pack("{s:{s:{s:i,s:i}}}", "pty", "size", "cols", (int)cols,
			  "rows", (int)rows);
	if (!extra)
		return e2b__error_oom();
	return pid_call(NULL, sb, "process.Process/Update", pid, extra, 1, what);
}
