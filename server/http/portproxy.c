/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 reverse proxy to the servers of a sandbox.
 *
 * Each request gets its own upstream connection (made by nsbox inside
 * the sandbox's network namespace, to its loopback) and is sent with
 * "Connection: close": the request line with the raw target, the
 * client's headers minus the hop-by-hop ones, and the body as it
 * arrives (as is with a Content-Length, re-chunked when the client sent
 * it chunked).  The answer's head is parsed (1xx answers skipped) and
 * its body streamed back through an MHD callback response: framed by
 * Content-Length, chunked (decoded here; MHD re-frames it) or up to EOF.
 * MHD runs a thread per connection, so every read and write here blocks,
 * bounded by the socket timeouts.
 *
 * An upgrade request (WebSocket) keeps its Upgrade and Connection
 * headers; if the server answers 101, the client gets the 101 with the
 * server's headers and the connection's thread then relays bytes both
 * ways until either side closes or stays idle for UPSTREAM_IDLE_S.
 *
 * As on E2B, the sandbox's ports need no access token, and a port nobody
 * listens on answers 502.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <jansson.h>

#include "core/e2bd.h"
#include "isolate/nsbox.h"
#include "http/portproxy.h"
#include "http/rpc.h"

/* Idle limit on an upstream read or write, like E2B's edge (~620 s). */
#define UPSTREAM_IDLE_S 620
#define HEAD_MAX (64u * 1024)
#define BUF_SIZE (32u * 1024)

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

/* The upstream connection and what it still has to send us. */
struct upstream {
	int fd;
	struct sandbox *sb;	/* referenced: a paused sandbox ends the wait */
	char *buf;		/* BUF_SIZE bytes read but not consumed */
	size_t off, len;
	enum body_mode mode;
	uint64_t left;		/* of the body (LENGTH) or chunk (CHUNKED) */
	enum chunk_state ch;
};

struct portproxy {
	struct MHD_Connection *conn;
	char id[40];
	long port;
	bool chunked_up;	/* the request body goes upstream chunked */
	bool write_failed;	/* upstream stopped reading: drop the rest */
	bool answered;
	bool head_req;		/* HEAD: the answer has no body */
	bool upgrade;		/* Connection: upgrade (WebSocket) asked for */
	struct upstream *up;	/* until handed to the response */
};

static void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	sandbox_put(u->sb);
	free(u->buf);
	free(u);
}

static void upstream_free_cb(void *cls)
{
	upstream_free(cls);
}

/*
 * Wait until @fd is ready for @events: 0, or -1 (errno ETIMEDOUT) after
 * UPSTREAM_IDLE_S, when e2bd shuts down or the sandbox stops running
 * (a frozen server would hold the connection's thread for ever).
 */
static int wait_fd(struct upstream *u, int fd, short events)
{
	int waited;

	for (waited = 0; waited < UPSTREAM_IDLE_S; waited++) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, 1000);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (g_shutting_down ||
		    (u->sb && sandbox_state_get(u->sb, NULL) != SB_RUNNING))
			break;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Send all of @p on @fd (the upstream or the client's socket). */
static int send_all(struct upstream *u, int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(u, fd, POLLOUT) < 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* recv() bounded by wait_fd(). */
static ssize_t up_recv(struct upstream *u, char *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(u->fd, buf, len, MSG_DONTWAIT);

		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR))
			return n;
		if (errno != EINTR && wait_fd(u, u->fd, POLLIN) < 0)
			return -1;
	}
}

/* Refill u->buf (after compacting it); bytes read, 0 at EOF, -1 on error. */
static ssize_t fill(struct upstream *u)
{
	ssize_t n;

	if (u->off > 0) {
		memmove(u->buf, u->buf + u->off, u->len);
		u->off = 0;
	}
	if (u->len == BUF_SIZE)
		return -1;	/* a line longer than the buffer */
	n = up_recv(u, u->buf + u->len, BUF_SIZE - u->len);
	if (n > 0)
		u->len += (size_t)n;
	return n;
}

/* One CRLF-terminated line into @line (NUL-terminated, CRLF dropped). */
static int read_line(struct upstream *u, char *line, size_t max)
{
	for (;;) {
		char *nl = memchr(u->buf + u->off, '\n', u->len);

		if (nl) {
			size_t n = (size_t)(nl - (u->buf + u->off));

			if (n >= max)
				return -1;
			memcpy(line, u->buf + u->off, n);
			if (n > 0 && line[n - 1] == '\r')
				line[n - 1] = '\0';
			line[n] = '\0';
			n = (size_t)(nl - (u->buf + u->off)) + 1;
			u->off += n;
			u->len -= n;
			return 0;
		}
		if (fill(u) <= 0)
			return -1;
	}
}

/* Up to @max body bytes into @out: buffered first, then straight reads. */
static ssize_t take(struct upstream *u, char *out, size_t max)
{
	if (u->len > 0) {
		size_t k = u->len < max ? u->len : max;

		memcpy(out, u->buf + u->off, k);
		u->off += k;
		u->len -= k;
		return (ssize_t)k;
	}
	return up_recv(u, out, max);
}

/* Parse a chunk-size line (hex, then maybe extensions) into *left; -1 if
 * malformed. */
static int parse_chunk_size(const char *line, uint64_t *left)
{
	char *end;

	errno = 0;
	*left = strtoull(line, &end, 16);
	if (end == line || errno || (*end && *end != ';' &&
				     *end != ' ' && *end != '\t'))
		return -1;
	return 0;
}

/* The next bytes of a chunked body, decoding its framing (sizes, chunk ends,
 * trailers) on the way; u->ch is where the decoder is. */
static ssize_t chunked_reader(struct upstream *u, char *out, size_t max)
{
	char line[1024];
	ssize_t n;

	for (;;) {
		switch (u->ch) {
		case CH_SIZE:
			if (read_line(u, line, sizeof(line)) < 0 ||
			    parse_chunk_size(line, &u->left) < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			u->ch = u->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA:
			n = take(u, out, u->left < max ? (size_t)u->left : max);
			if (n <= 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			u->left -= (uint64_t)n;
			if (u->left == 0)
				u->ch = CH_DATA_END;
			return n;
		case CH_DATA_END:
			if (read_line(u, line, sizeof(line)) < 0 || line[0])
				return MHD_CONTENT_READER_END_WITH_ERROR;
			u->ch = CH_SIZE;
			break;
		case CH_TRAILER:
			/* Trailers are dropped; an empty line ends the body. */
			if (read_line(u, line, sizeof(line)) < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			if (!line[0])
				u->ch = CH_DONE;
			break;
		case CH_DONE:
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
	}
}

/* MHD's reader of the upstream body, framed as u->mode says. */
static ssize_t body_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct upstream *u = cls;
	ssize_t n;

	(void)pos;
	switch (u->mode) {
	case BODY_NONE:
		return MHD_CONTENT_READER_END_OF_STREAM;
	case BODY_EOF:
		n = take(u, out, max);
		return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM :
					    MHD_CONTENT_READER_END_WITH_ERROR;
	case BODY_LENGTH:
		if (u->left == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		n = take(u, out, u->left < max ? (size_t)u->left : max);
		if (n <= 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		u->left -= (uint64_t)n;
		return n;
	case BODY_CHUNKED:
		break;
	}
	return chunked_reader(u, out, max);
}

/* Hop-by-hop headers (RFC 9110 §7.6.1) and those we frame ourselves. */
static bool hop_by_hop(const char *name)
{
	static const char *const names[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Content-Length", "Expect",
		"Proxy-Authorization", "Proxy-Authenticate",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

struct head {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void head_add(struct head *h, const char *a, const char *b,
		     const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c);

	if (h->overflow || h->len + n + 1 > h->cap) {
		h->overflow = true;
		return;
	}
	h->len += (size_t)snprintf(h->p + h->len, h->cap - h->len, "%s%s%s",
				   a, b, c);
}

static enum MHD_Result header_cb(void *cls, enum MHD_ValueKind kind,
				 const char *key, const char *value)
{
	(void)kind;
	if (!hop_by_hop(key))
		head_add(cls, key, ": ", value ? value : "");
	if (!hop_by_hop(key))
		head_add(cls, "\r\n", "", "");
	return MHD_YES;
}

/* E2B's edge for a running sandbox whose port nobody listens on. */
static enum MHD_Result send_port_closed(struct MHD_Connection *c,
					const char *id, long port)
{
	enum MHD_Result ret;
	json_t *j;

	if (g_cfg.flavor == FLAVOR_OPENKRUISE)
		return rpc_send_error(c, 503, "upstream connect error or "
				       "disconnect/reset before headers. reset "
				       "reason: connection failure");
	j = json_pack("{s:s, s:s, s:i, s:i}", "sandboxId", id, "message",
		      "The sandbox is running but port is not open", "port",
		      (int)port, "code", 502);
	if (!j)
		return MHD_NO;
	ret = rpc_send_json(c, 502, j);
	json_decref(j);
	return ret;
}

const char *portproxy_target(const char *raw, int kruise, char *buf,
			     size_t buflen)
{
	const char *p = raw;
	int i;

	if (kruise) {
		/* "/kruise/<id>/<port>" is three segments. */
		for (i = 0; i < 3 && p; i++)
			p = strpbrk(p + 1, "/?");
		if (!p || *p == '?' ) {
			if (p && *p == '?') {
				snprintf(buf, buflen, "/%s", p);
				return buf;
			}
			return "/";
		}
	}
	return *p == '/' ? p : "/";
}

struct portproxy *portproxy_begin(struct MHD_Connection *c,
				  struct sandbox *sb, long port,
				  const char *method, const char *target,
				  enum MHD_Result *ret)
{
	struct head h = { 0 };
	struct portproxy *p;
	const char *te, *cl, *up_proto, *conn_hdr;
	int fd;

	p = calloc(1, sizeof(*p));
	h.cap = HEAD_MAX;
	h.p = malloc(h.cap);
	if (!p || !h.p) {
		free(p);
		free(h.p);
		*ret = MHD_NO;
		return NULL;
	}
	p->conn = c;
	p->port = port;
	p->head_req = strcmp(method, "HEAD") == 0;
	up_proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_UPGRADE);
	conn_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_CONNECTION);
	p->upgrade = up_proto && *up_proto && conn_hdr &&
		     strcasestr(conn_hdr, "upgrade") && !strpbrk(up_proto, "\r\n");
	snprintf(p->id, sizeof(p->id), "%s", sb->id);
	fd = nsbox_connect_port(sb, (int)port);
	if (fd < 0) {
		log_dbg("sandbox %s: port %ld: %m", sb->id, port);
		free(p);
		free(h.p);
		*ret = send_port_closed(c, sb->id, port);
		return NULL;
	}
	p->up = calloc(1, sizeof(*p->up));
	if (!p->up || !(p->up->buf = malloc(BUF_SIZE))) {
		close(fd);
		free(p->up);
		free(p);
		free(h.p);
		*ret = MHD_NO;
		return NULL;
	}
	p->up->fd = fd;
	p->up->sb = sandbox_ref(sb);
	head_add(&h, method, " ", target);
	head_add(&h, " HTTP/1.1\r\n", "", "");
	MHD_get_connection_values(c, MHD_HEADER_KIND, header_cb, &h);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (te) {
		p->chunked_up = true;
		head_add(&h, "Transfer-Encoding: chunked\r\n", "", "");
	} else if (cl) {
		head_add(&h, "Content-Length: ", cl, "\r\n");
	}
	if (p->upgrade)
		head_add(&h, "Upgrade: ", up_proto, "\r\nConnection: Upgrade\r\n\r\n");
	else
		head_add(&h, "Connection: close\r\n\r\n", "", "");
	if (h.overflow || send_all(p->up, p->up->fd, h.p, h.len) < 0) {
		free(h.p);
		portproxy_free(p);
		*ret = rpc_send_error(c, 502, "cannot send the request to "
				       "port %ld of the sandbox", port);
		return NULL;
	}
	free(h.p);
	return p;
}

/*
 * MHD's upgrade handler, on the connection's own thread (thread per
 * connection: it may block): bytes both ways between the client and
 * the sandbox's server until both ends are done, one fails, e2bd shuts
 * down, the sandbox stops running or nothing moves for UPSTREAM_IDLE_S.
 */
/* Send what was read ahead both ways: the upstream's bytes past its head
 * to the client, the client's bytes past the request to the upstream. */
static int relay_read_ahead(struct upstream *u, MHD_socket sock,
			    const char *extra_in, size_t extra_in_size)
{
	if ((u->len && send_all(u, sock, u->buf + u->off, u->len) < 0) ||
	    (extra_in_size && send_all(u, u->fd, extra_in, extra_in_size) < 0))
		return -1;
	return 0;
}

/* One read from `from` (polled ready) to `to`; on the end of `from` or its
 * error, *from_open goes false and `to` is shut down for writing.  -1 when
 * sending to `to` fails. */
static int relay_once(struct upstream *u, int from, int to, char *buf,
		      bool *from_open)
{
	ssize_t n = recv(from, buf, BUF_SIZE, MSG_DONTWAIT);

	if (n > 0) {
		if (send_all(u, to, buf, (size_t)n) < 0)
			return -1;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		*from_open = false;
		shutdown(to, SHUT_WR);
	}
	return 0;
}

static void relay(void *cls, struct MHD_Connection *c, void *con_cls,
		  const char *extra_in, size_t extra_in_size, MHD_socket sock,
		  struct MHD_UpgradeResponseHandle *urh)
{
	struct portproxy *p = cls;
	struct upstream *u = p->up;
	bool client_open = true, server_open = true;
	char *buf = malloc(BUF_SIZE);
	int idle = 0;

	(void)c;
	(void)con_cls;
	if (!buf || relay_read_ahead(u, sock, extra_in, extra_in_size) < 0)
		goto out;
	u->len = 0;
	while ((client_open || server_open) && idle < UPSTREAM_IDLE_S) {
		struct pollfd pfd[2] = {
			{ .fd = client_open ? sock : -1, .events = POLLIN },
			{ .fd = server_open ? u->fd : -1, .events = POLLIN },
		};
		int r = poll(pfd, 2, 1000);

		if (g_shutting_down || sandbox_state_get(u->sb, NULL) != SB_RUNNING)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			idle++;
			continue;
		}
		idle = 0;
		if (pfd[0].revents &&
		    relay_once(u, sock, u->fd, buf, &client_open) < 0)
			break;
		if (pfd[1].revents &&
		    relay_once(u, u->fd, sock, buf, &server_open) < 0)
			break;
	}
out:
	free(buf);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* Read the upstream's status line into *st, past informational answers
 * (100 Continue, 103); -1 on a malformed or missing one, or a 101 that
 * was not asked for. */
static int read_status(struct portproxy *p, char *line, size_t linesize,
		       unsigned *st)
{
	struct upstream *u = p->up;

	/* Informational answers (100 Continue, 103) come first. */
	for (;;) {
		int major, minor;

		if (read_line(u, line, linesize) < 0 ||
		    sscanf(line, "HTTP/%d.%d %3u", &major, &minor, st) != 3 ||
		    *st < 100 || *st > 999 || (*st == 101 && !p->upgrade))
			return -1;
		if (*st >= 200 || *st == 101)
			return 0;
		do {
			if (read_line(u, line, linesize) < 0)
				return -1;
		} while (line[0]);
	}
}

/* The upstream's header lines, as read_headers() keeps them. */
struct answer_head {
	char *hdrs;		/* HEAD_MAX bytes: "name\0value\0" pairs */
	size_t used;
	uint64_t size;		/* Content-Length, when have_len */
	bool chunked, have_len;
	char upgrade_to[128];
};

/* Read the header lines up to the empty one into a: the end-to-end ones
 * into a->hdrs, the framing and Upgrade ones noted.  -1 on a read error, a
 * bad Content-Length or more than HEAD_MAX. */
static int read_headers(struct upstream *u, char *line, size_t linesize,
			struct answer_head *a)
{
	for (;;) {
		char *colon, *v;
		size_t kl, vl;

		if (read_line(u, line, linesize) < 0)
			return -1;
		if (!line[0])
			return 0;
		colon = strchr(line, ':');
		if (!colon || colon == line)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		kl = strlen(line);
		while (*v && (v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t'))
			v[strlen(v) - 1] = '\0';
		vl = strlen(v);
		if (strcasecmp(line, "Upgrade") == 0) {
			snprintf(a->upgrade_to, sizeof(a->upgrade_to), "%s", v);
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			a->chunked = strcasestr(v, "chunked") != NULL;
		} else if (strcasecmp(line, "Content-Length") == 0) {
			char *end;

			errno = 0;
			a->size = strtoull(v, &end, 10);
			if (errno || end == v || *end)
				return -1;
			a->have_len = true;
		}
		if (hop_by_hop(line))
			continue;
		if (a->used + kl + vl + 2 > HEAD_MAX)
			return -1;
		memcpy(a->hdrs + a->used, line, kl + 1);
		memcpy(a->hdrs + a->used + kl + 1, v, vl + 1);
		a->used += kl + vl + 2;
	}
}

/* Add the headers a->hdrs holds to r. */
static void add_answer_headers(struct MHD_Response *r,
			       const struct answer_head *a)
{
	size_t off;

	for (off = 0; off < a->used;) {
		const char *k = a->hdrs + off, *v = k + strlen(k) + 1;

		(void)MHD_add_response_header(r, k, v);
		off = (size_t)(v + strlen(v) + 1 - a->hdrs);
	}
}

/* How the body of an answer with status st comes (u->mode, and u->left for
 * a length); the size to tell MHD. */
static uint64_t body_framing(struct upstream *u, bool head_req, unsigned st,
			     const struct answer_head *a)
{
	uint64_t size = a->size;

	if (head_req || st == 204 || st == 304) {
		u->mode = BODY_NONE;
		if (!a->have_len || st != 200)
			size = 0;	/* a HEAD answer keeps its length */
	} else if (a->chunked) {
		u->mode = BODY_CHUNKED;
		size = MHD_SIZE_UNKNOWN;
	} else if (a->have_len) {
		u->mode = BODY_LENGTH;
		u->left = size;
	} else {
		u->mode = BODY_EOF;
		size = MHD_SIZE_UNKNOWN;
	}
	return size;
}

/*
 * Read the upstream head and make the response that streams the body
 * (it takes over p->up).  NULL on a malformed or missing answer.
 */
static struct MHD_Response *read_answer(struct portproxy *p, bool head_req,
					unsigned *status)
{
	struct upstream *u = p->up;
	struct MHD_Response *r;
	struct answer_head a = { 0 };
	char line[8192];
	unsigned st;

	if (read_status(p, line, sizeof(line), &st) < 0)
		return NULL;
	/* Header lines, NUL-separated "name\0value\0" pairs. */
	a.hdrs = malloc(HEAD_MAX);
	if (!a.hdrs)
		return NULL;
	if (read_headers(u, line, sizeof(line), &a) < 0)
		goto fail;
	if (st == 101) {
		/* The relay takes over: the response only carries the head. */
		r = MHD_create_response_for_upgrade(relay, p);
		if (!r)
			goto fail;
		add_answer_headers(r, &a);
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE,
					      a.upgrade_to[0] ? a.upgrade_to
							      : "websocket");
		free(a.hdrs);
		*status = st;
		return r;
	}
	r = MHD_create_response_from_callback(body_framing(u, head_req, st, &a),
					      BUF_SIZE, body_reader, u,
					      upstream_free_cb);
	if (!r)
		goto fail;
	p->up = NULL;	/* the response owns it now */
	add_answer_headers(r, &a);
	free(a.hdrs);
	*status = st;
	return r;
fail:
	free(a.hdrs);
	return NULL;
}

enum MHD_Result portproxy_data(struct portproxy *p, const char *upload_data,
			       size_t *upload_data_size)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = 502;

	if (p->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (p->write_failed)
			return MHD_YES;
		if (p->chunked_up) {
			char sz[32];

			snprintf(sz, sizeof(sz), "%zx\r\n", n);
			if (send_all(p->up, p->up->fd, sz, strlen(sz)) < 0 ||
			    send_all(p->up, p->up->fd, upload_data, n) < 0 ||
			    send_all(p->up, p->up->fd, "\r\n", 2) < 0)
				p->write_failed = true;
		} else if (send_all(p->up, p->up->fd, upload_data, n) < 0) {
			p->write_failed = true;
		}
		return MHD_YES;
	}
	p->answered = true;
	if (p->chunked_up && !p->write_failed &&
	    send_all(p->up, p->up->fd, "0\r\n\r\n", 5) < 0)
		p->write_failed = true;
	/* Even after a failed write the server may have answered (413...). */
	r = read_answer(p, p->head_req, &status);
	if (!r) {
		log_dbg("sandbox %s: port %ld: no valid HTTP answer", p->id,
			p->port);
		return rpc_send_error(p->conn, 502, "port %ld of the sandbox "
				       "did not answer with HTTP", p->port);
	}
	ret = MHD_queue_response(p->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

void portproxy_free(struct portproxy *p)
{
	if (!p)
		return;
	upstream_free(p->up);
	free(p);
}
