/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: the messages e2bd exchanges with the zygote
 * (which creates sandbox init processes) and with each sandbox's init
 * (which forks the sandbox's processes), over SOCK_SEQPACKET pairs.
 */
#ifndef E2BD_NSMSG_H
#define E2BD_NSMSG_H

#include <stdint.h>
#include <sys/types.h>

/* Largest message either side sends (a spawn request with argv and env). */
#define NSMSG_MAX (1u << 20)
/* Largest number of descriptors attached to one message. */
#define NSMSG_MAXFDS 4

enum nsmsg_type {
	NSMSG_START = 1,	/* e2bd → zygote: payload "root\0hostname\0" */
	NSMSG_STARTED,		/* zygote → e2bd: a = init's host pid, fd = init socket */
	NSMSG_READY,		/* init → e2bd: namespaces and root are set up */
	NSMSG_ERROR,		/* any → e2bd: a = enum nsmsg_err, payload = message */
	NSMSG_SPAWN,		/* e2bd → init: struct nsmsg_spawn + strings */
	NSMSG_SPAWNED,		/* init → e2bd: a = pid in the sandbox, fds */
	NSMSG_SIGNAL,		/* e2bd → init: a = pid (0 = every process), b = signal */
	NSMSG_DONE,		/* init → e2bd: a request without result succeeded */
	NSMSG_EXIT,		/* init → e2bd: a = pid, b = wait status (seq 0) */
};

enum nsmsg_err {
	NSERR_INTERNAL = 1,
	NSERR_CWD,		/* the cwd does not exist: invalid_argument */
	NSERR_START,		/* exec/chdir failed: invalid_argument */
	NSERR_NOTFOUND,		/* no such process */
};

struct nsmsg_hdr {
	uint32_t type;
	uint32_t seq;		/* echoed in the reply; 0 for EXIT */
	int32_t a;
	int32_t b;
};

enum nsmsg_spawn_flags {
	NSSPAWN_PTY = 1 << 0,
	NSSPAWN_STDIN = 1 << 1,	/* a stdin pipe, else /dev/null */
};

/*
 * Spawn request, followed by NUL-terminated strings: user name, cwd,
 * argc argv strings, envc "K=V" strings.  Replied to with SPAWNED and
 * fds: [pty master] or [stdout, stderr, stdin if NSSPAWN_STDIN].
 */
struct nsmsg_spawn {
	uint32_t flags;
	uint32_t uid;
	uint32_t gid;
	uint32_t cols;
	uint32_t rows;
	uint32_t argc;
	uint32_t envc;
};

/* Send one message with optional descriptors; 0 or -1 (errno set). */
int nsmsg_send(int sock, const struct nsmsg_hdr *h, const void *payload,
	       size_t len, const int *fds, int nfds);
/*
 * Receive one message into @buf (NSMSG_MAX + header bytes).  Returns the
 * payload length, 0 with h->type == 0 on EOF, or -1 (errno set).  Any
 * descriptors received are stored in fds[] (close-on-exec), *nfds set.
 */
ssize_t nsmsg_recv(int sock, struct nsmsg_hdr *h, void *buf, size_t buflen,
		   int *fds, int *nfds);

#endif
