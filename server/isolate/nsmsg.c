/* SPDX-License-Identifier: MIT */
/*
 * The message channel of the isolation layer: one message (header,
 * payload, up to NSMSG_MAXFDS descriptors) per SOCK_SEQPACKET send,
 * used by e2bd, the zygote and every sandbox init (nsmsg.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "isolate/nsmsg.h"

int nsmsg_send(int sock, const struct nsmsg_hdr *h, const void *payload,
	       size_t len, const int *fds, int nfds)
{
	struct iovec iov[2];
	struct msghdr msg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * NSMSG_MAXFDS)];
		struct cmsghdr align;
	} u;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = (void *)h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = len ? 2 : 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		if (nfds > NSMSG_MAXFDS) {
			errno = EINVAL;
			return -1;
		}
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(*h) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

ssize_t nsmsg_recv(int sock, struct nsmsg_hdr *h, void *buf, size_t buflen,
		   int *fds, int *nfds)
{
	struct iovec iov[2];
	struct msghdr msg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * NSMSG_MAXFDS)];
		struct cmsghdr align;
	} u;
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	memset(&msg, 0, sizeof(msg));
	memset(h, 0, sizeof(*h));
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = buf;
	iov[1].iov_len = buflen;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int cnt = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int i;

			for (i = 0; i < cnt; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				if (*nfds < NSMSG_MAXFDS)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		}
	}
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(*h) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		int i;

		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return n - (ssize_t)sizeof(*h);
}
