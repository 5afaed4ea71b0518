/* SPDX-License-Identifier: MIT */
/*
 * delayproxy: a TCP proxy for benchmarks that adds a fixed round-trip time
 * to every connection (this kernel has no netem).  Each chunk read from one
 * side is stamped and forwarded RTT/2 later to the other side; reading goes
 * on meanwhile, so the delay is latency, not a throughput cap (up to
 * --max-queue bytes in flight per direction, then the reader stops:
 * backpressure).  A new connection opens for data one RTT after accept, as
 * the TCP handshake would make it.  EOF is delayed like data and forwarded
 * as a half-close; an error on either side resets both.
 *
 * usage: delayproxy --listen ADDR:PORT --connect ADDR:PORT --rtt-ms N
 *                   [--max-queue MIB] [--port-file FILE]
 * Port 0 binds a free port; the bound port is printed on stdout (one line)
 * and, with --port-file, written to FILE (atomically).  SIGTERM or SIGINT
 * exits 0.  Two threads per connection (one per direction).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)

struct chunk {
	struct chunk *next;
	uint64_t due_ns;
	size_t len, off;
	int eof;		/* no data: forward a half-close */
	char data[];
};

struct conn {
	int fd[2];		/* [0] the client, [1] the backend */
	uint64_t open_ns;	/* when data may first arrive (accept + RTT) */
	atomic_int refs;	/* one per direction thread */
	atomic_int failed;	/* reset both sides on close */
};

static struct sockaddr_in g_listen, g_connect;
static uint64_t g_half_ns, g_rtt_ns;
static size_t g_max_queue = (size_t)64 << 20;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_addr(struct sockaddr_in *out, const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The last direction out closes both sockets; after a failure with RST. */
static void conn_unref(struct conn *c)
{
	struct linger lg = { 1, 0 };

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		if (atomic_load(&c->failed))
			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd[i]);
	}
	free(c);
}

/* Wake the other direction: its reads see EOF, its writes fail. */
static void conn_fail(struct conn *c)
{
	atomic_store(&c->failed, 1);
	shutdown(c->fd[0], SHUT_RDWR);
	shutdown(c->fd[1], SHUT_RDWR);
}

/*
 * One direction: read src into stamped chunks, write each to dst when due.
 * Returns when the EOF has been forwarded or the connection failed.
 */
static void pump(struct conn *c, int src, int dst)
{
	struct chunk *head = NULL, *tail = NULL, *big = NULL;
	size_t queued = 0;
	int read_eof = 0, blocked = 0;

	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p[2];
		struct timespec ts, *tsp = NULL;

		/* Forward what is due. */
		blocked = 0;
		while (head && head->due_ns <= now) {
			ssize_t n;

			if (head->eof) {
				shutdown(dst, SHUT_WR);
				goto out;	/* nothing follows an EOF; freed at out */
			}
			n = send(dst, head->data + head->off, head->len - head->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				blocked = 1;
				break;
			}
			if (n < 0) {
				conn_fail(c);
				goto out;
			}
			head->off += (size_t)n;
			if (head->off < head->len)
				continue;
			queued -= head->len;
			struct chunk *next = head->next;
			free(head);
			head = next;
			if (!head)
				tail = NULL;
		}

		/* A negative fd is ignored: no busy loop on a hung-up side we are not reading. */
		p[0].fd = !read_eof && queued < g_max_queue ? src : -1;
		p[0].events = POLLIN;
		p[1].fd = blocked ? dst : -1;
		p[1].events = POLLOUT;
		p[0].revents = p[1].revents = 0;
		if (head && !blocked) {
			uint64_t wait = head->due_ns - now;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (ppoll(p, 2, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			conn_fail(c);
			goto out;
		}
		if (p[1].revents & (POLLERR | POLLNVAL)) {
			conn_fail(c);
			goto out;
		}
		if (p[0].fd < 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;

		/* Read one chunk: big reads keep their buffer, small ones are copied. */
		if (!big && !(big = malloc(sizeof(*big) + READ_SIZE))) {
			conn_fail(c);
			goto out;
		}
		ssize_t n = recv(src, big->data, READ_SIZE, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			conn_fail(c);
			goto out;
		}
		struct chunk *ch = big;
		if (n == 0 || (size_t)n < READ_SIZE / 2) {
			ch = malloc(sizeof(*ch) + (size_t)n);
			if (!ch) {
				conn_fail(c);
				goto out;
			}
			memcpy(ch->data, big->data, (size_t)n);
		} else {
			big = NULL;
		}
		now = now_ns();
		ch->next = NULL;
		ch->due_ns = (now > c->open_ns ? now : c->open_ns) + g_half_ns;
		ch->len = (size_t)n;
		ch->off = 0;
		ch->eof = n == 0;
		read_eof = n == 0;
		queued += (size_t)n;
		if (tail)
			tail->next = ch;
		else
			head = ch;
		tail = ch;
	}
out:
	free(big);
	while (head) {
		struct chunk *next = head->next;
		free(head);
		head = next;
	}
}

static void *upstream(void *arg)
{
	struct conn *c = arg;

	pump(c, c->fd[0], c->fd[1]);
	conn_unref(c);
	return NULL;
}

static void *downstream(void *arg)
{
	struct conn *c = arg;

	pump(c, c->fd[1], c->fd[0]);
	conn_unref(c);
	return NULL;
}

/* First thread of a connection: connect the backend, start the other direction. */
static void *conn_start(void *arg)
{
	struct conn *c = arg;
	pthread_t t;

	c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd[1] < 0 ||
	    connect(c->fd[1], (struct sockaddr *)&g_connect, sizeof(g_connect)) < 0) {
		atomic_store(&c->failed, 1);
		atomic_store(&c->refs, 1);
		conn_unref(c);
		return NULL;
	}
	set_nodelay(c->fd[1]);
	if (pthread_create(&t, NULL, downstream, c) != 0) {
		atomic_store(&c->refs, 1);
		conn_fail(c);
		conn_unref(c);
		return NULL;
	}
	pthread_detach(t);
	return upstream(c);
}

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: delayproxy --listen ADDR:PORT --connect ADDR:PORT --rtt-ms N\n"
		   "                  [--max-queue MIB] [--port-file FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "rtt-ms", required_argument, NULL, 'r' },
		{ "max-queue", required_argument, NULL, 'q' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port_file = NULL;
	int have_listen = 0, have_connect = 0, opt, lfd, sfd, one = 1;
	double rtt_ms = 0;
	pthread_attr_t attr;
	socklen_t len;
	sigset_t sigs;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_addr(&g_listen, optarg) < 0)
				goto bad;
			have_listen = 1;
			break;
		case 'c':
			if (parse_addr(&g_connect, optarg) < 0)
				goto bad;
			have_connect = 1;
			break;
		case 'r':
			rtt_ms = strtod(optarg, NULL);
			if (rtt_ms < 0 || rtt_ms > 60000)
				goto bad;
			break;
		case 'q':
			g_max_queue = (size_t)strtoul(optarg, NULL, 10) << 20;
			if (g_max_queue == 0)
				goto bad;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!have_listen || !have_connect || optind != argc)
		goto bad;
	g_rtt_ns = (uint64_t)(rtt_ms * 1e6);
	g_half_ns = g_rtt_ns / 2;

	/* Signals go to the signalfd only; threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || sfd < 0) {
		perror("delayproxy: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&g_listen, sizeof(g_listen)) < 0 ||
	    listen(lfd, 1024) < 0) {
		perror("delayproxy: cannot listen");
		return 1;
	}
	len = sizeof(g_listen);
	getsockname(lfd, (struct sockaddr *)&g_listen, &len);
	printf("%u\n", ntohs(g_listen.sin_port));
	fflush(stdout);
	if (port_file && write_port_file(port_file, ntohs(g_listen.sin_port)) < 0) {
		perror("delayproxy: cannot write the port file");
		return 1;
	}

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		struct pollfd p[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		struct conn *c;
		pthread_t t;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("delayproxy: poll");
			return 1;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		set_nodelay(fd);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd[0] = fd;
		c->fd[1] = -1;
		c->open_ns = now_ns() + g_rtt_ns;
		atomic_init(&c->refs, 2);
		atomic_init(&c->failed, 0);
		if (pthread_create(&t, &attr, conn_start, c) != 0) {
			close(fd);
			free(c);
		}
	}
	close(lfd);
	if (port_file)
		unlink(port_file);
	return 0;
bad:
	usage(stderr);
	return 2;
}
