/* SPDX-License-Identifier: MIT */
/*
 * Sandbox networking (netns.c): every sandbox init is born in a network
 * namespace of its own (loopback only); with root and nftables, e2bd then
 * gives it a veth pair to the host with a /30 from --sandbox-subnet, a
 * default route and masquerading, and firewalls the host side so that
 * nothing on the host (its loopback, e2bd's listener, other sandboxes) is
 * reachable from a sandbox.  e2bd reaches a sandbox's ports through
 * sockets created inside its namespace, never through the veth.
 */
#ifndef E2BD_NETNS_H
#define E2BD_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Per-sandbox network state, embedded in struct nsbox. */
struct netns_sb {
	int netfd;		/* the sandbox's /proc/<init>/ns/net, -1 if none */
	int slot;		/* /30 index in the pool, -1 if no veth */
	int ifindex;		/* host side of the veth */
	char ifname[16];	/* host side name, "e2bsb<slot>" */
	uint32_t addr;		/* the sandbox's eth0 address, host order */
};

#define NETNS_SB_INIT { .netfd = -1, .slot = -1 }

/*
 * Called once, before any thread and before the zygote exists: choose
 * the mode from g_cfg (--network, --sandbox-subnet) and privileges, and
 * install the host's firewall and NAT rules.  Never fails: without what
 * veths need, sandboxes keep a private loopback-only namespace and a
 * warning says why.  Returns the clone flag sandbox inits need.
 */
int netns_global_init(bool unprivileged);

/* In a new sandbox init, inside its new namespace: bring loopback up. */
int netns_init_loopback(char *err, size_t errlen);

/*
 * e2bd: the sandbox's init (host pid @init_pid) is READY.  Take a handle
 * on its namespace and, if egress is on and @egress, give it eth0 and a
 * default route through a new veth pair (if that fails, a warning says
 * the sandbox is offline).  0, or -1 with @err set (the state is
 * released then).
 */
int netns_attach(struct netns_sb *n, const char *id, pid_t init_pid,
		 bool egress, char *err, size_t errlen);

/* Remove the sandbox's veth (if any) and drop the namespace handle. */
void netns_detach(struct netns_sb *n);

/*
 * A TCP connection, made inside the namespace @netfd, to @port on its
 * 127.0.0.1, then ::1, then @addr (the sandbox's eth0 address, host
 * order, 0 = none).  Returns a connected socket or -1 (errno set).
 */
int netns_connect_port(int netfd, uint32_t addr, int port);

/* Whether sandboxes get a veth (egress); for the start-up log and docs. */
bool netns_egress(void);

#endif
