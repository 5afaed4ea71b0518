/* SPDX-License-Identifier: MIT */
/*
 * The process.Process service of envd (protocol.md §2.6): start processes
 * inside a sandbox (through nsbox's init), stream their output, feed their
 * stdin or PTY, signal and resize them.
 *
 * Each process has one reader thread that reads its stdout/stderr pipes
 * (or PTY master) and fans every chunk out to the subscribers of that
 * moment: the Start stream that created it and any Connect streams.
 * Output produced while nobody is subscribed is discarded, like envd.
 * A subscriber is a queue owned by one stream handler thread, which moves
 * messages from it to rpc_stream_send(); the reader never touches a stream
 * itself, so a slow or vanished client cannot corrupt another's stream.
 * A subscriber queue over SUB_QUEUE_MAX makes the reader wait (the
 * process then blocks on a full pipe): backpressure, bounded because a
 * closed stream drops its subscription within a tick.
 *
 * The exit status comes from init via nsbox's callback; the reader then
 * drains what is still buffered (bounded in time, since a background
 * grandchild may hold the pipe open forever) and queues the end event.
 * A finished process stays findable for RETAIN_MS so that a late Connect
 * still gets start + end, when the envd version we report is >= 0.6.12
 * (older envd answers not_found, and the SDKs expect that).
 *
 * Locking: t->lock guards the table, every proc's refs, subscriber lists
 * and queues, and exit state; t->cond is broadcast on any queue change.
 * p->in_lock serializes writes to and the closing of stdin.  No lock is
 * held across nsbox calls or rpc_stream_send().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "core/e2bd.h"
#include "api/sblog.h"
#include "envd/process.h"
#include "envd/users.h"
#include "isolate/nsbox.h"
#include "pbjson.h"
#include "http/rpc.h"

/*
 * Output is read in chunks of up to STD_CHUNK (envd: 32 KiB) from pipes
 * enlarged to PIPE_SIZE, so a fast writer costs one message per 256 KiB
 * rather than per 32 KiB; the PTY keeps envd's 16 KiB.
 */
#define STD_CHUNK (256u << 10)
#define PIPE_SIZE (1u << 20)
#define PTY_CHUNK (16u << 10)	/* envd's PTY chunk size */
#define SUB_QUEUE_MAX (8u << 20)
#define RETAIN_MS 30000
#define DRAIN_MS 500		/* output still read after the exit */
#define DRAIN_IDLE_MS 50
#define INPUT_TIMEOUT_MS 10000
#define TICK_MS 250

/* One read of output, shared by the subscribers that queue it. */
struct chunk {
	int refs;			/* atomic */
	int which;			/* 1 stdout, 2 stderr, 3 pty */
	size_t len;
	unsigned char data[];
};

struct sub_item {
	struct sub_item *next;
	json_t *msg;			/* or NULL for output: */
	struct chunk *chunk;
	size_t size;
	bool end;
};

struct sub {
	struct sub *next;
	struct sub_item *head, *tail;	/* protected by t->lock */
	size_t bytes;			/* protected by t->lock */
	bool aborted;			/* sandbox paused; protected by t->lock */
};

enum serve_result { SERVE_DONE, SERVE_CLOSED, SERVE_ABORTED };

struct proc {
	struct proc *next;		/* protected by t->lock */
	struct proc_table *t;
	int refs;			/* protected by t->lock */
	pid_t pid;
	char *tag;			/* NULL when the Start had none */
	json_t *config;			/* ProcessConfig as List reports it */
	bool pty;
	int pty_fd;			/* master; closed when freed */
	int out_fd, err_fd;		/* read by the reader thread only */
	pthread_mutex_t in_lock;
	int stdin_fd;			/* -1 once closed; protected by in_lock */
	int wake[2];			/* the exit callback pokes the reader */
	bool exited;			/* protected by t->lock */
	int wstatus;			/* protected by t->lock */
	bool finished;			/* end queued; protected by t->lock */
	json_t *end_msg;		/* protected by t->lock */
	int64_t finished_ms;		/* protected by t->lock */
	struct sub *subs;		/* protected by t->lock */
};

struct proc_table {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct proc *procs;		/* protected by lock */
	struct sandbox *sb;
};

/* ---- process objects ---- */

static void proc_free(struct proc *p)
{
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	if (p->pty_fd >= 0)
		close(p->pty_fd);
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	pthread_mutex_destroy(&p->in_lock);
	json_decref(p->config);
	json_decref(p->end_msg);
	free(p->tag);
	free(p);
}

/* Close what an ended process no longer needs (its reader's last step). */
static void proc_release_fds(struct proc *p)
{
	int *fds[] = { &p->out_fd, &p->err_fd, &p->wake[0], &p->wake[1] };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	/* stdin writers hold in_lock.  A PTY master is written and resized
	 * without it, so it stays open until the record is freed. */
	pthread_mutex_lock(&p->in_lock);
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	p->stdin_fd = -1;
	pthread_mutex_unlock(&p->in_lock);
}

/* Drop a reference; the caller holds t->lock.  Returns true if freed. */
static bool proc_unref_locked(struct proc *p)
{
	if (--p->refs > 0)
		return false;
	proc_free(p);
	return true;
}

static void proc_unref(struct proc *p)
{
	struct proc_table *t = p->t;

	pthread_mutex_lock(&t->lock);
	proc_unref_locked(p);
	pthread_mutex_unlock(&t->lock);
}

/* Forget processes that ended more than RETAIN_MS ago; t->lock held. */
static bool late_connect_supported(void);

static void table_gc_locked(struct proc_table *t)
{
	struct proc **pp = &t->procs;
	int64_t now = log_now_ms();
	int64_t retain = late_connect_supported() ? RETAIN_MS : 0;

	while (*pp) {
		struct proc *p = *pp;

		if (p->finished && now - p->finished_ms >= retain) {
			*pp = p->next;
			proc_unref_locked(p);
		} else {
			pp = &p->next;
		}
	}
}

static void chunk_unref(struct chunk *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(c);
}

/* Queue @msg or @c (borrowed) to one subscriber; t->lock held. */
static int sub_push_locked(struct sub *s, json_t *msg, struct chunk *c,
			   size_t size, bool end)
{
	struct sub_item *it = calloc(1, sizeof(*it));

	if (!it)
		return -1;
	it->msg = json_incref(msg);
	if (c) {
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
		it->chunk = c;
	}
	it->size = size;
	it->end = end;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->bytes += size;
	return 0;
}

static void sub_free_locked(struct sub *s)
{
	struct sub_item *it, *next;

	for (it = s->head; it; it = next) {
		next = it->next;
		json_decref(it->msg);
		chunk_unref(it->chunk);
		free(it);
	}
	free(s);
}

static void sub_detach_locked(struct proc *p, struct sub *s)
{
	struct sub **pp;

	for (pp = &p->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
}

static json_t *event_msg(const char *kind, json_t *body)
{
	return json_pack("{s:{s:o}}", "event", kind, body);
}

/*
 * Fan one output chunk out to every current subscriber; drops the
 * caller's reference.  Each stream encodes it in its own codec.
 */
static void emit_data(struct proc *p, struct chunk *c)
{
	struct proc_table *t = p->t;
	struct sub *s;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		bool full = false;

		for (s = p->subs; s; s = s->next)
			if (s->bytes > SUB_QUEUE_MAX)
				full = true;
		if (!full || g_shutting_down)
			break;
		/* Backpressure: wait for the slow stream to drain or leave. */
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += TICK_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&t->cond, &t->lock, &ts);
		}
	}
	for (s = p->subs; s; s = s->next)
		sub_push_locked(s, NULL, c, c->len, false);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	chunk_unref(c);
}

/* EndEvent from a wait status, as Go's os.ProcessState renders it. */
static json_t *end_event(int status)
{
	json_t *end = json_object();
	char buf[160];

	if (!end)
		return NULL;
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		snprintf(buf, sizeof(buf), "exit status %d", code);
		if (code)
			json_object_set_new(end, "exitCode", json_integer(code));
		json_object_set_new(end, "exited", json_true());
		json_object_set_new(end, "status", json_string(buf));
		if (code)
			json_object_set_new(end, "error", json_string(buf));
	} else {
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
		const char *name = strsignal(sig);
		char lname[64];

		snprintf(lname, sizeof(lname), "%s", name ? name : "unknown signal");
		if (lname[0] >= 'A' && lname[0] <= 'Z')
			lname[0] = (char)(lname[0] - 'A' + 'a');
		snprintf(buf, sizeof(buf), "signal: %s%s", lname,
			 WIFSIGNALED(status) && WCOREDUMP(status) ? " (core dumped)" : "");
		json_object_set_new(end, "exitCode", json_integer(-1));
		json_object_set_new(end, "status", json_string(buf));
		json_object_set_new(end, "error", json_string(buf));
	}
	return event_msg("end", end);
}

/* nsbox_exit_fn: runs on nsbox's reader thread; must not block. */
static void on_exit_status(void *arg, int status)
{
	struct proc *p = arg;
	struct proc_table *t = p->t;

	pthread_mutex_lock(&t->lock);
	p->exited = true;
	p->wstatus = status;
	(void)!write(p->wake[1], "x", 1);
	pthread_cond_broadcast(&t->cond);
	proc_unref_locked(p);	/* the callback's reference */
	pthread_mutex_unlock(&t->lock);
}

/*
 * Read one chunk from @fd straight into a new chunk that goes to the
 * subscribers as it is; returns bytes, 0 at EOF, -1 if nothing now.
 */
static ssize_t read_chunk(struct proc *p, int fd, int which, size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap), *small;
	ssize_t n;

	if (!c) {
		usleep(10000);	/* out of memory: the pipe waits */
		return -1;
	}
	do {
		n = read(fd, c->data, cap);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		free(c);
		if (n < 0 && errno == EAGAIN)
			return -1;
		return 0;	/* EOF, or EIO on a PTY whose slave side is gone */
	}
	/* A queued small read must not pin a whole chunk's memory. */
	if ((size_t)n < cap / 2) {
		small = realloc(c, sizeof(*c) + (size_t)n);
		if (small)
			c = small;
	}
	c->refs = 1;
	c->which = which;
	c->len = (size_t)n;
	emit_data(p, c);
	return n;
}

/* The sandbox log's entry for the end of process @pid (wait status @status). */
static void log_end(struct sandbox *sb, pid_t pid, int status)
{
	char spid[16], val[16];
	int sig;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	if (WIFEXITED(status)) {
		snprintf(val, sizeof(val), "%d", WEXITSTATUS(status));
		sblog_add(sb->id, SBLOG_INFO, (const char *[]){
				"event", "process.end", "pid", spid, "exitCode", val,
				NULL },
			  "process %d exited with code %d", (int)pid, WEXITSTATUS(status));
		return;
	}
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
	snprintf(val, sizeof(val), "%d", sig);
	sblog_add(sb->id, SBLOG_WARN, (const char *[]){
			"event", "process.end", "pid", spid, "signal", val, NULL },
		  "process %d killed by signal %d (%s)", (int)pid, sig,
		  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

/* Fill @pf for poll(): the two output fds @fds (-1: closed) and @wake
 * (-1: none); whether an output fd is still open. */
static bool reader_poll_set(struct pollfd pf[3], const int fds[2], int wake)
{
	bool open_fds = false;
	int i;

	for (i = 0; i < 2; i++) {
		pf[i].fd = fds[i];
		pf[i].events = POLLIN;
		pf[i].revents = 0;
		if (fds[i] >= 0)
			open_fds = true;
	}
	pf[2].fd = wake;
	pf[2].events = POLLIN;
	pf[2].revents = 0;
	return open_fds;
}

/* Read a chunk from each of @fds that poll() found ready (stream @which,
 * at most @cap); one at its end is closed (a pipe) and set to -1. */
static void reader_read_ready(struct proc *p, const struct pollfd pf[3], int fds[2],
			      const int which[2], size_t cap)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (read_chunk(p, fds[i], which[i], cap) == 0) {
			if (!p->pty) {
				close(fds[i]);
				if (i == 0)
					p->out_fd = -1;
				else
					p->err_fd = -1;
			}
			fds[i] = -1;
		}
	}
}

/*
 * Read @p's output (its terminal, or stdout and stderr) into events until
 * every fd is closed or, after the exit callback's wake byte, the output
 * stays quiet DRAIN_IDLE_MS or DRAIN_MS pass (what is left is a
 * grandchild's); also ends when poll fails.
 */
static void reader_pump(struct proc *p)
{
	int fds[2] = { p->pty ? p->pty_fd : p->out_fd, p->pty ? -1 : p->err_fd };
	const int which[2] = { p->pty ? 3 : 1, 2 };
	size_t cap = p->pty ? PTY_CHUNK : STD_CHUNK;
	int64_t drain_until = 0;
	bool exited = false;
	int i;

	for (i = 0; i < 2; i++)
		if (fds[i] >= 0 && !p->pty)
			(void)fcntl(fds[i], F_SETPIPE_SZ, (int)PIPE_SIZE);
	for (;;) {
		struct pollfd pf[3];
		int n, timeout = -1;
		bool open_fds = reader_poll_set(pf, fds, exited ? -1 : p->wake[0]);

		if (exited) {
			int64_t left = drain_until - log_now_ms();

			if (!open_fds || left <= 0)
				break;
			timeout = left < DRAIN_IDLE_MS ? (int)left : DRAIN_IDLE_MS;
		}
		n = poll(pf, 3, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && exited)
			break;	/* quiet after the exit: the rest is a grandchild's */
		if (pf[2].revents) {
			char c;

			(void)!read(p->wake[0], &c, 1);
			exited = true;
			drain_until = log_now_ms() + DRAIN_MS;
		}
		reader_read_ready(p, pf, fds, which, cap);
	}
}

/* The reader thread of @p: pump its output, then, with its exit status,
 * send the end event to its subscribers and drop the reader's reference. */
static void *reader_main(void *arg)
{
	struct proc *p = arg;
	struct proc_table *t = p->t;
	struct sandbox *sb = t->sb;
	json_t *end;
	struct sub *s;

	reader_pump(p);
	/* Without the exit status (poll failed above) wait for it. */
	pthread_mutex_lock(&t->lock);
	while (!p->exited) {
		pthread_mutex_unlock(&t->lock);
		sleep(1);
		pthread_mutex_lock(&t->lock);
	}
	/*
	 * A finished process is kept only for its end event (envd's 30 s
	 * retention): its pipes and terminal go now, not when it is freed,
	 * so a burst of short commands does not hold thousands of fds.  The
	 * exit callback has written its wake byte (exited is set).
	 */
	pthread_mutex_unlock(&t->lock);
	proc_release_fds(p);
	pthread_mutex_lock(&t->lock);
	end = end_event(p->wstatus);
	log_end(sb, p->pid, p->wstatus);
	p->end_msg = end;
	p->finished = true;
	p->finished_ms = log_now_ms();
	for (s = p->subs; s; s = s->next)
		if (end)
			sub_push_locked(s, end, NULL, 0, true);
	/* Subscribers leave once they have their end; none can join now. */
	p->subs = NULL;
	pthread_cond_broadcast(&t->cond);
	proc_unref_locked(p);	/* the reader's reference */
	pthread_mutex_unlock(&t->lock);
	sandbox_put(sb);
	return NULL;
}

/*
 * Move a subscriber's messages to its stream until the end event went
 * out, the stream closed or the sandbox was paused.  The subscriber is
 * freed here.
 */
static enum serve_result serve_sub(struct proc *p, struct sub *s,
				   struct rpc_stream *st)
{
	struct proc_table *t = p->t;
	bool done = false, closed = false, aborted = false;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (s->head && !closed) {
			struct sub_item *it = s->head;

			s->head = it->next;
			if (!s->head)
				s->tail = NULL;
			s->bytes -= it->size;
			pthread_cond_broadcast(&t->cond);
			pthread_mutex_unlock(&t->lock);
			if ((it->chunk ? rpc_stream_send_output(st, it->chunk->which,
								 it->chunk->data, it->chunk->len) :
					 rpc_stream_send(st, it->msg)) < 0)
				closed = true;
			else if (it->end)
				done = true;
			json_decref(it->msg);
			chunk_unref(it->chunk);
			free(it);
			pthread_mutex_lock(&t->lock);
			if (done)
				break;
		}
		if (done || closed)
			break;
		if (s->aborted) {
			aborted = true;
			break;
		}
		pthread_mutex_unlock(&t->lock);
		closed = rpc_stream_closed(st);
		pthread_mutex_lock(&t->lock);
		if (closed)
			break;
		if (!s->head) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += TICK_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&t->cond, &t->lock, &ts);
		}
	}
	sub_detach_locked(p, s);
	sub_free_locked(s);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return done ? SERVE_DONE : aborted ? SERVE_ABORTED : SERVE_CLOSED;
}

/*
 * envd keeps an ended process for a late Connect only from 0.6.12 on;
 * SDKs decide from the envdVersion we report, so follow that version.
 */
static bool version_at_least(const char *v, int ma, int mi, int pa)
{
	long x[3] = { 0, 0, 0 };
	char *end;
	int i;

	for (i = 0; i < 3 && *v; i++) {
		x[i] = strtol(v, &end, 10);
		if (end == v)
			break;
		v = *end == '.' ? end + 1 : end;
	}
	if (x[0] != ma)
		return x[0] > ma;
	if (x[1] != mi)
		return x[1] > mi;
	return x[2] >= pa;
}

static bool late_connect_supported(void)
{
	return g_cfg.flavor == FLAVOR_E2B &&
	       version_at_least(E2BD_ENVD_VERSION, 0, 6, 12);
}

/* ---- request parsing ---- */

/* uint32 from a JSON number or numeric string (protojson accepts both). */
static int json_u32(json_t *v, uint32_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > 0xffffffffLL)
			return -1;
		*out = (uint32_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long u;

		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno || end == s || *end || u > 0xffffffffULL || s[0] == '-')
			return -1;
		*out = (uint32_t)u;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d)
			return -1;
		*out = (uint32_t)d;
		return 0;
	}
	return -1;
}

/*
 * Find the process a ProcessSelector names, with a reference.  Errors as
 * envd's getProcess(): not_found, or unimplemented for an empty selector.
 */
/* A ProcessSelector @sel: its pid (*jpid set, *pid its value) or its tag
 * (*jtag set), one of the two; -1 with @err set when it is not one. */
static int selector_parse(json_t *sel, json_t **jpid_out, json_t **jtag_out, uint32_t *pid,
			  struct rpc_error *err)
{
	json_t *jpid = json_object_get(sel, "pid");
	json_t *jtag = json_object_get(sel, "tag");

	if (sel && !json_is_object(sel) && !json_is_null(sel)) {
		rpc_fail(err, "invalid_argument", "invalid ProcessSelector: not an object");
		return -1;
	}
	if (json_is_null(jpid))
		jpid = NULL;
	if (json_is_null(jtag))
		jtag = NULL;
	if (jpid && jtag) {
		rpc_fail(err, "invalid_argument",
			 "invalid ProcessSelector: oneof selector is already set");
		return -1;
	}
	if (jpid && json_u32(jpid, pid) < 0) {
		rpc_fail(err, "invalid_argument", "invalid value for uint32 field pid");
		return -1;
	}
	if (jtag && !json_is_string(jtag)) {
		rpc_fail(err, "invalid_argument", "invalid value for string field tag");
		return -1;
	}
	if (!jpid && !jtag) {
		rpc_fail(err, "unimplemented",
			 "invalid input type *process.ProcessSelector");
		return -1;
	}
	*jpid_out = jpid;
	*jtag_out = jtag;
	return 0;
}

/* The process @sel selects (by pid or tag; ended ones too when
 * @finished_too), with a reference for the caller; NULL with @err set. */
static struct proc *proc_lookup(struct sandbox *sb, json_t *sel,
				bool finished_too, struct rpc_error *err)
{
	struct proc_table *t = sb->procs;
	json_t *jpid = NULL, *jtag = NULL;
	struct proc *p, *found = NULL;
	uint32_t pid = 0;

	if (selector_parse(sel, &jpid, &jtag, &pid, err) < 0)
		return NULL;
	if (!t) {
		rpc_fail(err, "internal", "sandbox has no process table");
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	table_gc_locked(t);
	for (p = t->procs; p; p = p->next) {
		/* Only Connect sees ended processes (envd's 30 s retention). */
		if (p->finished && !finished_too)
			continue;
		if (jpid ? p->pid == (pid_t)pid
			 : (p->tag && strcmp(p->tag, json_string_value(jtag)) == 0)) {
			found = p;
			found->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (!found) {
		if (jpid)
			rpc_fail(err, "not_found", "process with pid %u not found", pid);
		else
			rpc_fail(err, "not_found", "process with tag %s not found",
				 json_string_value(jtag));
	}
	return found;
}

/* A growable NULL-terminated array of strings we own. */
struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *s, char *str)
{
	if (!str)
		return -1;
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(str);
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

static char *kv(const char *k, const char *v)
{
	size_t len = strlen(k) + strlen(v) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s=%s", k, v);
	return s;
}

static void strv_free(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* Add every string value of @obj as K=V; non-strings are an error. */
static int env_add_object(struct strv *env, json_t *obj, struct rpc_error *err)
{
	const char *k;
	json_t *v;

	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return rpc_fail(err, "invalid_argument",
				"invalid value for map field envs");
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			return rpc_fail(err, "invalid_argument",
					"invalid value for string field envs[%s]", k);
		if (strv_push(env, kv(k, json_string_value(v))) < 0)
			return rpc_fail(err, "internal", "out of memory");
	}
	return 0;
}

/* ---- Start ---- */

struct start_req {
	const char *cmd;
	json_t *args;		/* array of strings or NULL */
	json_t *envs;		/* object or NULL */
	json_t *cwd;		/* string or NULL (absent) */
	json_t *tag;		/* string or NULL */
	bool pty;
	uint32_t cols, rows;
	bool stdin_pipe;
};

/*
 * Member @name of @obj into *@out, NULL when absent or null; -1 when it has
 * another type than @type (JSON_TRUE stands for either boolean), which
 * protobuf calls @proto.
 */
static int opt_field(json_t **out, json_t *obj, const char *name,
		     json_type type, const char *proto, struct rpc_error *err)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != type &&
	    !(type == JSON_TRUE && json_is_boolean(v)))
		return rpc_fail(err, "invalid_argument",
				"invalid value for %s field %s", proto, name);
	*out = v;
	return 0;
}

/* A StartRequest's pty message @v (not null): a terminal of its size. */
static int parse_start_pty(json_t *v, struct start_req *r, struct rpc_error *err)
{
	json_t *size = json_object_get(v, "size");

	if (!json_is_object(v) || (size && !json_is_null(size) &&
				   !json_is_object(size)))
		return rpc_fail(err, "invalid_argument",
				"invalid value for message field pty");
	r->pty = true;
	if ((json_object_get(size, "cols") &&
	     json_u32(json_object_get(size, "cols"), &r->cols) < 0) ||
	    (json_object_get(size, "rows") &&
	     json_u32(json_object_get(size, "rows"), &r->rows) < 0))
		return rpc_fail(err, "invalid_argument",
				"invalid value for uint32 field cols/rows");
	return 0;
}

/* A StartRequest @req into @r (borrowed from @req); -1 with @err set. */
static int parse_start(json_t *req, struct start_req *r, struct rpc_error *err)
{
	json_t *proc = json_object_get(req, "process");
	json_t *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->stdin_pipe = true;
	r->cmd = "";
	if (proc && !json_is_null(proc) && !json_is_object(proc))
		return rpc_fail(err, "invalid_argument",
				"invalid value for message field process");
	if (opt_field(&v, proc, "cmd", JSON_STRING, "string", err) < 0)
		return -1;
	if (v)
		r->cmd = json_string_value(v);
	if (opt_field(&r->args, proc, "args", JSON_ARRAY, "repeated", err) < 0)
		return -1;
	json_array_foreach(r->args, i, v)
		if (!json_is_string(v))
			return rpc_fail(err, "invalid_argument",
					"invalid value for string field args");
	if (opt_field(&r->envs, proc, "envs", JSON_OBJECT, "map", err) < 0 ||
	    opt_field(&r->cwd, proc, "cwd", JSON_STRING, "string", err) < 0 ||
	    opt_field(&r->tag, req, "tag", JSON_STRING, "string", err) < 0 ||
	    opt_field(&v, req, "stdin", JSON_TRUE, "bool", err) < 0)
		return -1;
	if (v)
		r->stdin_pipe = json_is_true(v);
	v = json_object_get(req, "pty");
	if (v && !json_is_null(v))
		return parse_start_pty(v, r, err);
	return 0;
}

/* The ProcessConfig List reports: what the client sent, zero values omitted. */
static json_t *config_json(const struct start_req *r)
{
	json_t *c = json_object();

	if (!c)
		return NULL;
	json_object_set_new(c, "cmd", json_string(r->cmd));
	if (r->args && json_array_size(r->args))
		json_object_set(c, "args", r->args);
	if (r->envs && json_object_size(r->envs))
		json_object_set(c, "envs", r->envs);
	if (r->cwd)
		json_object_set(c, "cwd", r->cwd);
	return c;
}

static struct proc *proc_new(struct proc_table *t)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->t = t;
	p->refs = 1;
	p->pty_fd = p->out_fd = p->err_fd = p->stdin_fd = -1;
	p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->in_lock, NULL);
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		p->wake[0] = p->wake[1] = -1;
		proc_free(p);
		return NULL;
	}
	return p;
}

static void set_nonblock(int fd)
{
	int fl;

	if (fd < 0)
		return;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Wait (on this stream's thread) until @deadline_ms, then SIGKILL @p. */
static void kill_at_deadline(struct proc *p, int64_t deadline_ms)
{
	struct proc_table *t = p->t;
	struct rpc_error kerr = { 0 };
	bool exited;

	pthread_mutex_lock(&t->lock);
	while (!p->exited && log_now_ms() < deadline_ms && !g_shutting_down) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	exited = p->exited;
	pthread_mutex_unlock(&t->lock);
	if (!exited && log_now_ms() >= deadline_ms)
		(void)nsbox_signal(t->sb, p->pid, SIGKILL, &kerr);
}

/* The working directory of @r, resolved for the caller, into @cwd. */
static int start_cwd(struct rpc_ctx *ctx, const struct start_req *r, char *cwd, size_t cap,
		     struct rpc_error *err)
{
	char perr[512];

	if (r->cwd && json_string_length(r->cwd) > 0) {
		if (users_resolve_path(&ctx->user, json_string_value(r->cwd), cwd,
				       cap, perr, sizeof(perr)) < 0) {
			rpc_fail(err, "invalid_argument", "%s", perr);
			return -1;
		}
	} else {
		snprintf(cwd, cap, "%s", ctx->user.home[0] ? ctx->user.home : "/");
	}
	return 0;
}

/* Environment in envd's order; later entries win in the shell. */
static int start_env(struct rpc_ctx *ctx, const struct start_req *r, struct strv *env,
		     struct rpc_error *err)
{
	struct sandbox *sb = ctx->sb;

	if (strv_push(env, kv("PATH", "/usr/local/sbin:/usr/local/bin:"
			       "/usr/sbin:/usr/bin:/sbin:/bin")) < 0 ||
	    strv_push(env, kv("HOME", ctx->user.home)) < 0 ||
	    strv_push(env, kv("USER", ctx->user.name)) < 0 ||
	    strv_push(env, kv("LOGNAME", ctx->user.name)) < 0 ||
	    strv_push(env, kv("E2B_SANDBOX", "true")) < 0 ||
	    strv_push(env, kv("E2B_SANDBOX_ID", sb->id)) < 0 ||
	    strv_push(env, kv("E2B_TEAM_ID", E2BD_TEAM_ID)) < 0 ||
	    strv_push(env, kv("E2B_TEMPLATE_ID", sb->template_id)) < 0) {
		rpc_fail(err, "internal", "out of memory");
		return -1;
	}
	if (env_add_object(env, sb->env_vars, err) < 0 ||
	    env_add_object(env, r->envs, err) < 0)
		return -1;
	return 0;
}

/* The command and its arguments. */
static int start_argv(const struct start_req *r, struct strv *argv, struct rpc_error *err)
{
	size_t i;
	json_t *v;

	if (strv_push(argv, strdup(r->cmd)) < 0) {
		rpc_fail(err, "internal", "out of memory");
		return -1;
	}
	json_array_foreach(r->args, i, v) {
		if (strv_push(argv, strdup(json_string_value(v))) < 0) {
			rpc_fail(err, "internal", "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Spawn @p in the sandbox as the caller and take its descriptors. */
static int start_spawn(struct rpc_ctx *ctx, const struct start_req *r, struct proc *p,
		       const char *cwd, struct strv *argv, struct strv *env,
		       struct rpc_error *err)
{
	struct nsbox_spawn_req sp = { 0 };
	struct nsbox_spawn_result res;

	sp.user = &ctx->user;
	sp.cwd = cwd;
	sp.argv = argv->v;
	sp.envp = env->v;
	sp.pty = r->pty;
	sp.cols = (uint16_t)(r->cols > 65535 ? 65535 : r->cols);
	sp.rows = (uint16_t)(r->rows > 65535 ? 65535 : r->rows);
	sp.stdin_pipe = r->stdin_pipe;
	p->refs++;	/* for the exit callback */
	if (nsbox_spawn(ctx->sb, &sp, on_exit_status, p, &res, err) < 0) {
		p->refs--;
		return -1;
	}
	p->pid = res.pid;
	p->pty_fd = res.pty_fd;
	p->out_fd = res.stdout_fd;
	p->err_fd = res.stderr_fd;
	p->stdin_fd = res.stdin_fd;
	/* Room for a whole input message: fewer wakeups of writer and reader. */
	if (p->stdin_fd >= 0 && !p->pty)
		(void)fcntl(p->stdin_fd, F_SETPIPE_SZ, (int)PIPE_SIZE);
	set_nonblock(p->pty_fd);
	set_nonblock(p->out_fd);
	set_nonblock(p->err_fd);
	set_nonblock(p->stdin_fd);
	return 0;
}

/* No reader thread for @p: kill it; the end never comes, so fail the
 * stream.  Drops the reader's references and frees @s. */
static void start_no_reader(struct sandbox *sb, struct proc *p, struct sub *s,
			    struct rpc_error *err)
{
	struct proc_table *t = sb->procs;

	sandbox_put(sb);
	(void)nsbox_signal(sb, p->pid, SIGKILL, err);
	pthread_mutex_lock(&t->lock);
	sub_detach_locked(p, s);
	sub_free_locked(s);
	p->finished = true;
	p->finished_ms = log_now_ms() - RETAIN_MS;
	proc_unref_locked(p);
	pthread_mutex_unlock(&t->lock);
	rpc_fail(err, "internal", "cannot create a thread");
}

/* The sandbox log's entry for a process start (@pid > 0) or a failed one. */
static void log_start(struct rpc_ctx *ctx, const struct start_req *r,
		      const char *cwd, struct strv *argv, pid_t pid,
		      const struct rpc_error *err)
{
	char cmd[SBLOG_VALUE_MAX + 1], spid[16];
	const char *tag = r->tag ? json_string_value(r->tag) : NULL;

	if (argv->v)
		sblog_cmdline(cmd, sizeof(cmd), argv->v);
	else
		snprintf(cmd, sizeof(cmd), "%s", r->cmd);
	if (pid <= 0) {
		sblog_add(ctx->sb->id, SBLOG_ERROR, (const char *[]){
				"event", "process.error", "cmd", cmd, "user",
				ctx->user.name, "cwd", cwd, "error", err->message,
				NULL },
			  "process could not start: %s: %s", cmd, err->message);
		return;
	}
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	/* Never the environment: its values may be secrets. */
	sblog_add(ctx->sb->id, SBLOG_INFO, (const char *[]){
			"event", "process.start", "pid", spid, "cmd", cmd,
			"user", ctx->user.name, "cwd", cwd,
			"pty", r->pty ? "true" : "false", "tag", tag, NULL },
		  "process %d started: %s (user %s, cwd %s)", (int)pid, cmd,
		  ctx->user.name, cwd);
}

static void process_start(struct rpc_ctx *ctx, json_t *req,
			  struct rpc_stream *st, struct rpc_error *err)
{
	struct sandbox *sb = ctx->sb;
	struct proc_table *t = sb->procs;
	struct start_req r;
	struct strv argv = { 0 }, env = { 0 };
	struct proc *p = NULL;
	struct sub *s = NULL;
	char cwd[4096];
	json_t *start = NULL;
	pthread_t th;
	enum serve_result res_state;

	if (!t) {
		rpc_fail(err, "internal", "sandbox has no process table");
		return;
	}
	if (parse_start(req, &r, err) < 0)
		return;
	if (start_cwd(ctx, &r, cwd, sizeof(cwd), err) < 0) {
		log_start(ctx, &r, json_string_value(r.cwd), &argv, 0, err);
		return;
	}
	if (start_env(ctx, &r, &env, err) < 0 || start_argv(&r, &argv, err) < 0)
		goto out;
	p = proc_new(t);
	s = calloc(1, sizeof(*s));
	if (!p || !s) {
		rpc_fail(err, "internal", "out of memory");
		goto out;
	}
	p->pty = r.pty;
	p->config = config_json(&r);
	if (r.tag)
		p->tag = strdup(json_string_value(r.tag));
	if (!p->config || (r.tag && !p->tag)) {
		rpc_fail(err, "internal", "out of memory");
		goto out;
	}
	if (start_spawn(ctx, &r, p, cwd, &argv, &env, err) < 0) {
		log_start(ctx, &r, cwd, &argv, 0, err);
		goto out;
	}
	log_start(ctx, &r, cwd, &argv, p->pid, NULL);
	start = event_msg("start", json_pack("{s:i}", "pid", (int)p->pid));
	pthread_mutex_lock(&t->lock);
	table_gc_locked(t);
	if (start)
		sub_push_locked(s, start, NULL, 0, false);
	s->next = p->subs;
	p->subs = s;
	p->next = t->procs;
	t->procs = p;
	p->refs += 2;	/* the table's and the reader's */
	pthread_mutex_unlock(&t->lock);
	sandbox_ref(sb);	/* the reader thread's */
	if (pthread_create(&th, NULL, reader_main, p) != 0) {
		start_no_reader(sb, p, s, err);
		s = NULL;
		goto out;
	}
	pthread_detach(th);
	res_state = serve_sub(p, s, st);
	s = NULL;
	/*
	 * Connect-Timeout-Ms on Start kills the process when it elapses, as
	 * envd's process context does, even if the client went away first
	 * (the SDKs abort their side at the same moment).
	 */
	if (res_state == SERVE_CLOSED && ctx->deadline_ms > 0)
		kill_at_deadline(p, ctx->deadline_ms);
	if (res_state == SERVE_ABORTED)
		rpc_fail(err, "unavailable", "sandbox was paused");
out:
	json_decref(start);
	free(s);
	if (p)
		proc_unref(p);
	strv_free(&argv);
	strv_free(&env);
}

/* ---- Connect ---- */

static void process_connect(struct rpc_ctx *ctx, json_t *req,
			    struct rpc_stream *st, struct rpc_error *err)
{
	struct proc *p = proc_lookup(ctx->sb, json_object_get(req, "process"),
				     late_connect_supported(), err);
	struct proc_table *t;
	struct sub *s;
	json_t *start;

	if (!p)
		return;
	t = p->t;
	s = calloc(1, sizeof(*s));
	start = event_msg("start", json_pack("{s:i}", "pid", (int)p->pid));
	if (!s || !start) {
		free(s);
		json_decref(start);
		proc_unref(p);
		rpc_fail(err, "internal", "out of memory");
		return;
	}
	pthread_mutex_lock(&t->lock);
	sub_push_locked(s, start, NULL, 0, false);
	if (p->finished) {
		/* Late Connect within the retention: start + end. */
		if (p->end_msg)
			sub_push_locked(s, p->end_msg, NULL, 0, true);
	} else {
		s->next = p->subs;
		p->subs = s;
	}
	pthread_mutex_unlock(&t->lock);
	json_decref(start);
	if (serve_sub(p, s, st) == SERVE_ABORTED)
		rpc_fail(err, "unavailable", "sandbox was paused");
	proc_unref(p);
}

/* ---- List ---- */

static int process_list(struct rpc_ctx *ctx, json_t *req, json_t **out,
			struct rpc_error *err)
{
	struct proc_table *t = ctx->sb->procs;
	json_t *list = json_array(), *res = json_object();
	struct proc *p;

	if (!list || !res || !t) {
		json_decref(list);
		json_decref(res);
		return rpc_fail(err, "internal", "out of memory");
	}
	pthread_mutex_lock(&t->lock);
	table_gc_locked(t);
	for (p = t->procs; p; p = p->next) {
		json_t *info;

		if (p->finished)
			continue;
		info = json_pack("{s:O, s:i}", "config", p->config, "pid", (int)p->pid);
		if (info && p->tag)
			json_object_set_new(info, "tag", json_string(p->tag));
		if (info)
			json_array_append_new(list, info);
	}
	pthread_mutex_unlock(&t->lock);
	if (json_array_size(list))
		json_object_set_new(res, "processes", list);
	else
		json_decref(list);
	*out = res;
	return 0;
}

/* ---- input ---- */

/* Write all of @buf to a non-blocking fd, waiting at most INPUT_TIMEOUT_MS. */
static int write_all(int fd, const unsigned char *buf, size_t len,
		     char *why, size_t whylen)
{
	int64_t until = log_now_ms() + INPUT_TIMEOUT_MS;

	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			int64_t left = until - log_now_ms();

			if (left <= 0) {
				snprintf(why, whylen, "write timed out: the process "
					 "is not reading its input");
				return -1;
			}
			(void)poll(&pf, 1, (int)(left > 1000 ? 1000 : left));
			continue;
		}
		if (n < 0)
			snprintf(why, whylen, "%m");
		else
			snprintf(why, whylen, "short write");
		if (why[0] >= 'A' && why[0] <= 'Z')
			why[0] = (char)(why[0] - 'A' + 'a');
		return -1;
	}
	return 0;
}

/* ProcessInput → the process's stdin or PTY (envd's handleInput). */
/* Write @len bytes of input to the process's PTY (@pty) or stdin. */
static int write_input(struct proc *p, bool pty, const unsigned char *data, size_t len,
		       struct rpc_error *err)
{
	char why[256];
	int rc;

	if (pty) {
		if (!p->pty) {
			rc = rpc_fail(err, "internal", "error writing to tty: tty not "
				      "assigned to process — input should be written "
				      "to the stdin, not the tty");
		} else if (write_all(p->pty_fd, data, len, why, sizeof(why)) < 0) {
			rc = rpc_fail(err, "internal", "error writing to tty: error "
				      "writing to tty of process '%d': %s", (int)p->pid,
				      why);
		} else {
			rc = 0;
		}
		return rc;
	}
	if (p->pty) {
		return rpc_fail(err, "internal", "error writing to stdin: tty "
				"assigned to process — input should be written to "
				"the pty, not the stdin");
	}
	pthread_mutex_lock(&p->in_lock);
	if (p->stdin_fd < 0)
		rc = rpc_fail(err, "internal", "error writing to stdin: stdin not "
			      "enabled or closed");
	else if (write_all(p->stdin_fd, data, len, why, sizeof(why)) < 0)
		rc = rpc_fail(err, "internal", "error writing to stdin: error "
			      "writing to stdin of process '%d': %s", (int)p->pid, why);
	else
		rc = 0;
	pthread_mutex_unlock(&p->in_lock);
	return rc;
}

static int handle_input(struct proc *p, json_t *in, struct rpc_error *err)
{
	json_t *jstdin = json_object_get(in, "stdin");
	json_t *jpty = json_object_get(in, "pty");
	char perr[PBJSON_ERR_MAX] = "";
	ProtobufCBinaryData bin;
	unsigned char *data;
	size_t len;
	int rc;

	if (json_is_null(jstdin))
		jstdin = NULL;
	if (json_is_null(jpty))
		jpty = NULL;
	if (in && !json_is_object(in) && !json_is_null(in))
		return rpc_fail(err, "invalid_argument",
				"invalid value for message field input");
	if (jstdin && jpty)
		return rpc_fail(err, "invalid_argument",
				"invalid ProcessInput: oneof input is already set");
	if (!jstdin && !jpty)
		return rpc_fail(err, "unimplemented", "invalid input type <nil>");
	if (!json_is_string(jstdin ? jstdin : jpty))
		return rpc_fail(err, "invalid_argument",
				"invalid value for bytes field %s",
				jstdin ? "stdin" : "pty");
	if (pbjson_bytes_decode(&bin, json_string_value(jstdin ? jstdin : jpty),
				json_string_length(jstdin ? jstdin : jpty), perr) < 0)
		return rpc_fail(err, "invalid_argument",
				"invalid value for bytes field %s: illegal base64 data",
				jstdin ? "stdin" : "pty");
	data = bin.data;
	len = bin.len;
	rc = write_input(p, jpty != NULL, data, len, err);
	free(data);
	return rc;
}

static int process_send_input(struct rpc_ctx *ctx, json_t *req, json_t **out,
			      struct rpc_error *err)
{
	struct proc *p = proc_lookup(ctx->sb, json_object_get(req, "process"), false,
				     err);
	int rc;

	if (!p)
		return -1;
	rc = handle_input(p, json_object_get(req, "input"), err);
	proc_unref(p);
	if (rc < 0)
		return -1;
	*out = json_object();
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

struct stream_input {
	struct proc *p;
};

static int process_stream_input(struct rpc_ctx *ctx, json_t *msg, void **state,
				json_t **out, struct rpc_error *err)
{
	struct stream_input *si = *state;
	json_t *v;

	if (!si) {
		si = calloc(1, sizeof(*si));
		if (!si)
			return rpc_fail(err, "internal", "out of memory");
		*state = si;
	}
	if (!msg) {
		*out = json_object();
		goto done;
	}
	v = json_object_get(msg, "start");
	if (v && !json_is_null(v)) {
		struct proc *p = proc_lookup(ctx->sb, json_object_get(v, "process"),
					     false, err);

		if (!p)
			goto fail;
		if (si->p)
			proc_unref(si->p);
		si->p = p;
		return 0;
	}
	v = json_object_get(msg, "data");
	if (v && !json_is_null(v)) {
		/* envd dereferences a nil process here; we answer instead. */
		if (!si->p) {
			rpc_fail(err, "failed_precondition",
				 "data before start in input stream");
			goto fail;
		}
		if (handle_input(si->p, json_object_get(v, "input"), err) < 0)
			goto fail;
		return 0;
	}
	v = json_object_get(msg, "keepalive");
	if (v && !json_is_null(v))
		return 0;
	rpc_fail(err, "unimplemented", "invalid event type <nil>");
fail:
	if (si->p)
		proc_unref(si->p);
	free(si);
	*state = NULL;
	return -1;
done:
	if (si->p)
		proc_unref(si->p);
	free(si);
	*state = NULL;
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

/* StreamInput data in the protobuf codec: the bytes, without base64. */
static int process_stream_input_bytes(struct rpc_ctx *ctx, int which, const void *data,
				      size_t len, void **state, struct rpc_error *err)
{
	struct stream_input *si = *state;

	if (si && si->p && write_input(si->p, which == 2, data, len, err) == 0)
		return 0;
	if (!si || !si->p)
		rpc_fail(err, "failed_precondition", "data before start in input stream");
	if (si && si->p)
		proc_unref(si->p);
	free(si);
	*state = NULL;
	return -1;
}

static int process_close_stdin(struct rpc_ctx *ctx, json_t *req, json_t **out,
			       struct rpc_error *err)
{
	struct proc *p = proc_lookup(ctx->sb, json_object_get(req, "process"), false,
				     err);
	int rc = 0;

	if (!p)
		return -1;
	if (p->pty) {
		rc = rpc_fail(err, "unknown", "error closing stdin: cannot close "
			      "stdin for PTY process — send Ctrl+D (0x04) instead");
	} else {
		pthread_mutex_lock(&p->in_lock);
		if (p->stdin_fd >= 0)
			close(p->stdin_fd);
		p->stdin_fd = -1;
		pthread_mutex_unlock(&p->in_lock);
	}
	proc_unref(p);
	if (rc < 0)
		return -1;
	*out = json_object();
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

/* ---- SendSignal, Update ---- */

static int process_send_signal(struct rpc_ctx *ctx, json_t *req, json_t **out,
			       struct rpc_error *err)
{
	struct proc *p = proc_lookup(ctx->sb, json_object_get(req, "process"), false,
				     err);
	json_t *js = json_object_get(req, "signal");
	const char *name = "SIGNAL_UNSPECIFIED";
	char num[32];
	int sig = 0, rc;

	if (!p)
		return -1;
	if (json_is_string(js)) {
		name = json_string_value(js);
		if (strcmp(name, "SIGNAL_SIGKILL") == 0)
			sig = SIGKILL;
		else if (strcmp(name, "SIGNAL_SIGTERM") == 0)
			sig = SIGTERM;
		else if (strcmp(name, "SIGNAL_UNSPECIFIED") != 0) {
			proc_unref(p);
			return rpc_fail(err, "invalid_argument",
					"invalid value for enum field signal: \"%s\"",
					name);
		}
	} else if (json_is_integer(js)) {
		json_int_t n = json_integer_value(js);

		if (n == 9 || n == 15) {
			sig = (int)n;
		} else if (n != 0) {
			snprintf(num, sizeof(num), "%lld", (long long)n);
			name = num;
		}
	} else if (js && !json_is_null(js)) {
		proc_unref(p);
		return rpc_fail(err, "invalid_argument",
				"invalid value for enum field signal");
	}
	if (!sig) {
		proc_unref(p);
		return rpc_fail(err, "unimplemented", "invalid signal: %s", name);
	}
	rc = nsbox_signal(ctx->sb, p->pid, sig, err);
	if (rc < 0) {
		if (err->code && strcmp(err->code, "not_found") == 0)
			rpc_fail(err, "not_found", "process with pid %d not found",
				 (int)p->pid);
		else
			rpc_fail(err, "internal", "error sending signal: %s",
				 err->message);
	}
	proc_unref(p);
	if (rc < 0)
		return -1;
	*out = json_object();
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

static int process_update(struct rpc_ctx *ctx, json_t *req, json_t **out,
			  struct rpc_error *err)
{
	struct proc *p = proc_lookup(ctx->sb, json_object_get(req, "process"), false,
				     err);
	json_t *pty = json_object_get(req, "pty");
	int rc = 0;

	if (!p)
		return -1;
	if (pty && !json_is_null(pty)) {
		json_t *size = json_object_get(pty, "size");
		uint32_t cols = 0, rows = 0;

		if (!json_is_object(pty) ||
		    (json_object_get(size, "cols") &&
		     json_u32(json_object_get(size, "cols"), &cols) < 0) ||
		    (json_object_get(size, "rows") &&
		     json_u32(json_object_get(size, "rows"), &rows) < 0)) {
			rc = rpc_fail(err, "invalid_argument",
				      "invalid value for message field pty");
		} else if (!p->pty) {
			rc = rpc_fail(err, "internal", "error resizing tty: tty not "
				      "assigned to process");
		} else {
			struct winsize ws = {
				.ws_row = (unsigned short)(rows > 65535 ? 65535 : rows),
				.ws_col = (unsigned short)(cols > 65535 ? 65535 : cols),
			};

			if (ioctl(p->pty_fd, TIOCSWINSZ, &ws) < 0)
				rc = rpc_fail(err, "internal", "error resizing tty: %m");
		}
	}
	proc_unref(p);
	if (rc < 0)
		return -1;
	*out = json_object();
	return *out ? 0 : rpc_fail(err, "internal", "out of memory");
}

#define PROCESS_KEEPALIVE "{\"event\":{\"keepalive\":{}}}"

const struct rpc_method process_methods[] = {
	{ .path = "/process.Process/List", .kind = RPC_UNARY,
	  .unary = process_list },
	{ .path = "/process.Process/Start", .kind = RPC_SERVER_STREAM,
	  .stream = process_start, .keepalive_json = PROCESS_KEEPALIVE },
	{ .path = "/process.Process/Connect", .kind = RPC_SERVER_STREAM,
	  .stream = process_connect, .keepalive_json = PROCESS_KEEPALIVE },
	{ .path = "/process.Process/SendInput", .kind = RPC_UNARY,
	  .unary = process_send_input },
	{ .path = "/process.Process/StreamInput", .kind = RPC_CLIENT_STREAM,
	  .cstream = process_stream_input, .cstream_input = process_stream_input_bytes },
	{ .path = "/process.Process/CloseStdin", .kind = RPC_UNARY,
	  .unary = process_close_stdin },
	{ .path = "/process.Process/SendSignal", .kind = RPC_UNARY,
	  .unary = process_send_signal },
	{ .path = "/process.Process/Update", .kind = RPC_UNARY,
	  .unary = process_update },
	{ .path = NULL },
};

/*
 * Pausing a sandbox ends every open Start/Connect stream with an error,
 * as a paused E2B sandbox drops its connections; the processes stay
 * (frozen) and a later Connect reattaches.
 */
void process_streams_abort(struct sandbox *sb)
{
	struct proc_table *t = sb->procs;
	struct proc *p;
	struct sub *s;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (p = t->procs; p; p = p->next)
		for (s = p->subs; s; s = s->next)
			s->aborted = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

int process_table_init(struct sandbox *sb)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->sb = sb;
	sb->procs = t;
	return 0;
}

void process_table_release(struct sandbox *sb)
{
	struct proc_table *t = sb->procs;
	struct proc *p, *next;

	/*
	 * Stopping the sandbox first delivers every outstanding exit
	 * callback.  No reader thread can be left: each holds a sandbox
	 * reference, and this runs when the last one is gone.
	 */
	nsbox_release(sb);
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (p = t->procs; p; p = next) {
		next = p->next;
		proc_unref_locked(p);
	}
	t->procs = NULL;
	pthread_mutex_unlock(&t->lock);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
	sb->procs = NULL;
}
