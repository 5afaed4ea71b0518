/* SPDX-License-Identifier: MIT */
/*
 * Sandbox networking: a network namespace per sandbox, a veth pair with
 * NAT for egress, and the host firewall that keeps sandboxes away from
 * the host.
 *
 * Namespaces.  The zygote clones every sandbox init with CLONE_NEWNET,
 * so a sandbox starts with nothing but its own loopback, which its init
 * brings up.  Root in a sandbox keeps CAP_NET_RAW, but over its own
 * namespace only: it sees no host traffic and cannot reach the host's
 * loopback (e2bd's listener, local services).
 *
 * Egress (root, nftables, --network default).  Once init is READY, e2bd
 * creates a veth pair over rtnetlink: "e2bsb<slot>" in the host namespace
 * with the first address of the slot's /30 in --sandbox-subnet, "eth0"
 * in the sandbox with the second one and a default route through the
 * first.  A slot whose link name exists (another e2bd on this host) is
 * skipped.  The veth vanishes with the sandbox's namespace; e2bd deletes
 * it first anyway.  Each e2bd installs its rules at start-up in an
 * nftables table of its own, "inet e2bd_<pid>" (removed at exit; a dead
 * e2bd's is removed by the next one to start), matching every e2bsb* link:
 *   - input: packets from an e2bsb* link are dropped unless they belong to
 *     a connection the host opened (the host's addresses, e2bd's port and
 *     every host service are unreachable from a sandbox);
 *   - forward: no sandbox-to-sandbox traffic, no IPv6, no spoofed source,
 *     nothing to link-local addresses (a cloud's metadata service);
 *   - postrouting: the pools are masqueraded behind the host's address.
 * Packets to 127.0.0.0/8 arriving on a veth are martians for the kernel
 * (route_localnet is 0 unless the admin set it; a warning says so).
 * ip_forward is switched on.  Without nft (or without root: e2bd in its
 * own user namespace cannot create links on the host), sandboxes keep a
 * loopback-only namespace and a warning says that egress is off.
 *
 * Ports.  e2bd reaches a port of a sandbox with a socket created inside
 * the sandbox's namespace (a short-lived thread setns()es into it; the
 * socket keeps its namespace) connected to the sandbox's loopback, so
 * a server listening on 127.0.0.1 or 0.0.0.0 answers, and the host never
 * needs a route to a sandbox.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/e2bd.h"
#include "isolate/netns.h"

extern char **environ;

/* nftables table of one e2bd: "e2bd_<pid>" (inet family). */
#define NFT_TABLE_PREFIX "e2bd_"
/* Host-side veth names: VETH_PREFIX + slot in hex (at most 15 chars). */
#define VETH_PREFIX "e2bsb"
#define MAX_SLOTS 16384

static struct {
	bool egress;		/* veths are created */
	uint32_t base;		/* pool network, host order */
	unsigned nslots;
	pthread_mutex_t lock;
	unsigned char used[MAX_SLOTS / 8];	/* protected by lock */
	unsigned next;		/* protected by lock */
	char nft[64];		/* path of nft, "" if none */
	char table[32];		/* our nftables table */
} N = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool netns_egress(void)
{
	return N.egress;
}

/* ---- rtnetlink ---- */

union nlmsg {
	struct nlmsghdr h;
	char raw[1024];
};

static void nl_init(union nlmsg *m, int type, int flags, const void *hdr,
		    size_t hdrlen)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_type = (unsigned short)type;
	m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_len = NLMSG_LENGTH(hdrlen);
	memcpy(m->raw + NLMSG_HDRLEN, hdr, hdrlen);
}

static struct rtattr *nl_attr(union nlmsg *m, int type, const void *data,
			      size_t len)
{
	struct rtattr *a = (struct rtattr *)(m->raw + NLMSG_ALIGN(m->h.nlmsg_len));

	if (NLMSG_ALIGN(m->h.nlmsg_len) + RTA_SPACE(len) > sizeof(*m))
		return NULL;	/* our messages are far smaller */
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy((char *)a + RTA_LENGTH(0), data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_SPACE(len);
	return a;
}

static void nl_nest_end(union nlmsg *m, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = (unsigned short)(m->raw + m->h.nlmsg_len -
						 (char *)nest);
}

/* Send @m on @fd and wait for its ack; 0 or -errno. */
static int nl_talk(int fd, union nlmsg *m)
{
	static unsigned seq;
	char buf[4096];
	ssize_t n;

	m->h.nlmsg_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	if (send(fd, m, m->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != m->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct timeval tv = { .tv_sec = 5 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int link_up(int nl, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex,
				 .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	union nlmsg m;

	nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(nl, &m);
}

static int link_del(int nl, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	union nlmsg m;

	nl_init(&m, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(nl, &m);
}

static int addr_add(int nl, int ifindex, uint32_t addr, int prefix)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET,
				 .ifa_prefixlen = (unsigned char)prefix,
				 .ifa_scope = RT_SCOPE_UNIVERSE,
				 .ifa_index = (unsigned)ifindex };
	uint32_t a = htonl(addr);
	union nlmsg m;

	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_attr(&m, IFA_LOCAL, &a, 4);
	nl_attr(&m, IFA_ADDRESS, &a, 4);
	return nl_talk(nl, &m);
}

static int route_default(int nl, int ifindex, uint32_t gw)
{
	struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = RTPROT_BOOT,
			    .rtm_scope = RT_SCOPE_UNIVERSE,
			    .rtm_type = RTN_UNICAST };
	uint32_t g = htonl(gw), oif = (uint32_t)ifindex;
	union nlmsg m;

	nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	nl_attr(&m, RTA_GATEWAY, &g, 4);
	nl_attr(&m, RTA_OIF, &oif, 4);
	return nl_talk(nl, &m);
}

/* A veth pair: @name here, "eth0" in the namespace @peer_nsfd. */
static int veth_create(int nl, const char *name, int peer_nsfd)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer;
	union nlmsg m;
	size_t off;

	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, "veth", 5);
	data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	peer = nl_attr(&m, VETH_INFO_PEER, NULL, 0);
	/* The peer's attributes follow its own struct ifinfomsg. */
	off = NLMSG_ALIGN(m.h.nlmsg_len);
	if (off + sizeof(ifi) > sizeof(m))
		return -EMSGSIZE;
	memcpy(m.raw + off, &ifi, sizeof(ifi));
	m.h.nlmsg_len = (unsigned)(off + NLMSG_ALIGN(sizeof(ifi)));
	nl_attr(&m, IFLA_IFNAME, "eth0", 5);
	nl_attr(&m, IFLA_NET_NS_FD, &peer_nsfd, 4);
	nl_nest_end(&m, peer);
	nl_nest_end(&m, data);
	nl_nest_end(&m, info);
	return nl_talk(nl, &m);
}

/* ---- running code inside a sandbox's namespace ---- */

struct in_ns {
	int netfd;
	int (*fn)(void *arg);
	void *arg;
	int rc;
	int err;
};

static void *in_ns_main(void *p)
{
	struct in_ns *r = p;

	if (setns(r->netfd, CLONE_NEWNET) < 0) {
		r->rc = -1;
		r->err = errno;
		return NULL;
	}
	errno = 0;
	r->rc = r->fn(r->arg);
	r->err = errno;
	return NULL;
}

/*
 * Run @fn in a thread of its own that entered the namespace @netfd (a
 * thread's network namespace is its own; sockets keep theirs).  Returns
 * what @fn does, with its errno.
 */
static int run_in_ns(int netfd, int (*fn)(void *), void *arg)
{
	struct in_ns r = { .netfd = netfd, .fn = fn, .arg = arg };
	pthread_t t;
	int e;

	e = pthread_create(&t, NULL, in_ns_main, &r);
	if (e != 0) {
		errno = e;
		return -1;
	}
	pthread_join(t, NULL);
	errno = r.err;
	return r.rc;
}

struct sb_link {
	uint32_t addr, gw;
	int prefix;
};

/* Inside the sandbox: lo and eth0 up, eth0's address, default route. */
static int configure_inside(void *p)
{
	const struct sb_link *l = p;
	int nl = nl_open(), idx, rc = -1, e;

	if (nl < 0)
		return -1;
	idx = (int)if_nametoindex("eth0");
	if (idx <= 0)
		goto out;
	if ((e = addr_add(nl, idx, l->addr, l->prefix)) < 0 ||
	    (e = link_up(nl, idx)) < 0 ||
	    (e = link_up(nl, (int)if_nametoindex("lo"))) < 0 ||
	    (e = route_default(nl, idx, l->gw)) < 0) {
		errno = -e;
		goto out;
	}
	rc = 0;
out:
	e = errno;
	close(nl);
	errno = e;
	return rc;
}

struct port_conn {
	int port;
	uint32_t addr;	/* eth0's, host order; 0 = none */
};

/*
 * Where a sandbox's server may listen, in order: 127.0.0.1 (and so
 * 0.0.0.0), ::1 (and ::), the sandbox's eth0 address.  The first that
 * does not refuse wins.
 */
static int connect_inside(void *p)
{
	const struct port_conn *c = p;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)c->port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons((uint16_t)c->port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in own = sin;
	const struct sockaddr *to[3] = { (struct sockaddr *)&sin,
					 (struct sockaddr *)&sin6,
					 (struct sockaddr *)&own };
	const socklen_t len[3] = { sizeof(sin), sizeof(sin6), sizeof(own) };
	int fd, e = ECONNREFUSED, i;

	own.sin_addr.s_addr = htonl(c->addr);
	for (i = 0; i < (c->addr ? 3 : 2) && e == ECONNREFUSED; i++) {
		fd = socket(to[i]->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, to[i], len[i]) == 0)
			return fd;
		e = errno;
		close(fd);
		if (i == 1 && e == EADDRNOTAVAIL)
			e = ECONNREFUSED;	/* no IPv6 loopback */
	}
	errno = e;
	return -1;
}

int netns_connect_port(int netfd, uint32_t addr, int port)
{
	struct port_conn c = { .port = port, .addr = addr };

	if (netfd < 0 || port <= 0 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	return run_in_ns(netfd, connect_inside, &c);
}

/* ---- in the sandbox init ---- */

int netns_init_loopback(char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot bring loopback up: %m");
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- slots ---- */

static int slot_take(void)
{
	unsigned i;
	int slot = -1;

	pthread_mutex_lock(&N.lock);
	for (i = 0; i < N.nslots; i++) {
		unsigned s = (N.next + i) % N.nslots;

		if (!(N.used[s / 8] & (1u << (s % 8)))) {
			N.used[s / 8] |= (unsigned char)(1u << (s % 8));
			N.next = (s + 1) % N.nslots;
			slot = (int)s;
			break;
		}
	}
	pthread_mutex_unlock(&N.lock);
	return slot;
}

static void slot_put(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&N.lock);
	N.used[slot / 8] &= (unsigned char)~(1u << (slot % 8));
	pthread_mutex_unlock(&N.lock);
}

/* ---- per sandbox ---- */

/* Create the veth of @n in a free slot (skipping names other e2bds use). */
static int veth_setup(struct netns_sb *n, char *err, size_t errlen)
{
	struct sb_link l = { .prefix = 30 };
	unsigned tries;
	int nl, e = 0, busy[8], nbusy = 0, i;

	nl = nl_open();
	if (nl < 0) {
		snprintf(err, errlen, "netlink: %m");
		return -1;
	}
	for (tries = 0; tries < N.nslots; tries++) {
		n->slot = slot_take();
		if (n->slot < 0) {
			e = -ENOSPC;
			break;
		}
		snprintf(n->ifname, sizeof(n->ifname), VETH_PREFIX "%x", (unsigned)n->slot);
		e = veth_create(nl, n->ifname, n->netfd);
		if (e != -EEXIST)
			break;
		/* Held by another e2bd: keep it marked until we are done. */
		if (nbusy < 8)
			busy[nbusy++] = n->slot;
		n->slot = -1;
	}
	for (i = 0; i < nbusy; i++)
		slot_put(busy[i]);
	if (e < 0 || n->slot < 0) {
		char ebuf[128];

		snprintf(err, errlen, "cannot create a veth pair: %s",
			 e == -ENOSPC ? "no free address in --sandbox-subnet" :
			 strerror_r(e < 0 ? -e : EEXIST, ebuf, sizeof(ebuf)));
		goto fail;
	}
	n->ifindex = (int)if_nametoindex(n->ifname);
	l.gw = N.base + 4u * (unsigned)n->slot + 1;
	l.addr = l.gw + 1;
	n->addr = l.addr;
	if (n->ifindex <= 0) {
		snprintf(err, errlen, "veth '%s' vanished", n->ifname);
		goto fail;
	}
	if ((e = addr_add(nl, n->ifindex, l.gw, l.prefix)) < 0 ||
	    (e = link_up(nl, n->ifindex)) < 0) {
		char ebuf[128];

		snprintf(err, errlen, "cannot configure '%s': %s", n->ifname,
			 strerror_r(-e, ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (run_in_ns(n->netfd, configure_inside, &l) < 0) {
		snprintf(err, errlen, "cannot configure the sandbox's eth0: %m");
		goto fail;
	}
	close(nl);
	return 0;
fail:
	if (n->ifindex > 0)
		(void)link_del(nl, n->ifindex);
	n->ifindex = 0;
	slot_put(n->slot);
	n->slot = -1;
	close(nl);
	return -1;
}

int netns_attach(struct netns_sb *n, const char *id, pid_t init_pid,
		 bool egress, char *err, size_t errlen)
{
	char path[64];

	n->slot = -1;
	n->ifindex = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)init_pid);
	n->netfd = open(path, O_RDONLY | O_CLOEXEC);
	if (n->netfd < 0) {
		snprintf(err, errlen, "cannot open '%s': %m", path);
		return -1;
	}
	if (!N.egress || !egress)
		return 0;
	if (veth_setup(n, err, errlen) < 0) {
		/* Isolated all the same: the sandbox runs, offline. */
		log_warn("sandbox %s: no internet access: %s", id, err);
		return 0;
	}
	log_dbg("sandbox %s: eth0 %u.%u.%u.%u/30 via %s", id, n->addr >> 24,
		(n->addr >> 16) & 255, (n->addr >> 8) & 255, n->addr & 255,
		n->ifname);
	return 0;
}

void netns_detach(struct netns_sb *n)
{
	if (n->ifindex > 0) {
		int nl = nl_open(), e = nl < 0 ? -errno : link_del(nl, n->ifindex);
		char ebuf[128];

		/* ENODEV: it went with the namespace already. */
		if (e < 0 && e != -ENODEV)
			log_warn("cannot delete veth '%s': %s", n->ifname,
				 strerror_r(-e, ebuf, sizeof(ebuf)));
		if (nl >= 0)
			close(nl);
	}
	n->ifindex = 0;
	slot_put(n->slot);
	n->slot = -1;
	if (n->netfd >= 0)
		close(n->netfd);
	n->netfd = -1;
}

/* ---- host firewall (nft) ---- */

/*
 * Run nft with @script on its stdin; 0 if it exited 0 (its output in
 * @out), else -1 with its first line of complaint in @out.
 */
static int nft_run(const char *script, char *out, size_t outlen)
{
	char *argv[] = { N.nft, (char *)"-f", (char *)"/dev/stdin", NULL };
	posix_spawn_file_actions_t fa;
	int in[2], pout[2], status, rc;
	size_t len = strlen(script), off = 0;
	pid_t pid;
	ssize_t n;

	size_t got = 0;

	out[0] = '\0';
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 2);
	if (posix_spawn(&pid, N.nft, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(pout[1]);
	while (pid > 0 && off < len) {
		n = write(in[1], script + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(in[1]);
	while (pid > 0 && got + 1 < outlen) {
		n = read(pout[0], out + got, outlen - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(pout[0]);
	if (pid < 0) {
		snprintf(out, outlen, "cannot run '%s'", N.nft);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	if (rc < 0)
		out[strcspn(out, "\n")] = '\0';
	return rc;
}

static void find_nft(void)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
					    "/bin", "/usr/local/sbin" };
	size_t i;

	N.nft[0] = '\0';
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(N.nft, sizeof(N.nft), "%s/nft", dirs[i]);
		if (access(N.nft, X_OK) == 0)
			return;
	}
	N.nft[0] = '\0';
}

/*
 * The rules, in a table of this e2bd's own (NFT_TABLE_FMT with its pid):
 * two e2bds of a host never remove each other's, and the first line
 * empties a table a dead process of the same pid left behind.
 */
#define T "inet %1$s"
#define V VETH_PREFIX "*"
static const char firewall_fmt[] =
	"table " T " {}\ndelete table " T "\n"
	"add table " T "\n"
	"add set " T " pools { type ipv4_addr; flags interval; }\n"
	"add element " T " pools { %2$s }\n"
	"add chain " T " input { type filter hook input priority -10; policy accept; }\n"
	"add chain " T " forward { type filter hook forward priority -10; policy accept; }\n"
	"add chain " T " postrouting { type nat hook postrouting priority 100; policy accept; }\n"
	"add rule " T " input iifname \"" V "\" ct state established,related accept\n"
	"add rule " T " input iifname \"" V "\" drop\n"
	"add rule " T " forward iifname \"" V "\" oifname \"" V "\" drop\n"
	"add rule " T " forward iifname \"" V "\" meta nfproto ipv6 drop\n"
	"add rule " T " forward iifname \"" V "\" ip saddr != @pools drop\n"
	"add rule " T " forward iifname \"" V "\" ip daddr 169.254.0.0/16 drop\n"
	"add rule " T " postrouting ip saddr @pools oifname != \"" V "\" masquerade\n";
#undef T
#undef V

/* Parse "A.B.C.D/N" into a pool of /30 slots; -1 if unusable. */
static int parse_subnet(const char *s)
{
	char addr[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	char *end;
	long len;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || len < 8 || len > 30 ||
	    inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	N.base = ntohl(a.s_addr) & (uint32_t)(0xffffffffu << (32 - len));
	N.nslots = 1u << (32 - len - 2);
	if (N.nslots > MAX_SLOTS)
		N.nslots = MAX_SLOTS;
	return 0;
}

/* At exit: our table goes (the veths went with their sandboxes). */
static void firewall_remove(void)
{
	char script[96], out[512];

	snprintf(script, sizeof(script), "delete table inet %s\n", N.table);
	if (nft_run(script, out, sizeof(out)) < 0)
		log_warn("cannot remove the nftables table '%s': %s", N.table, out);
}

/* Whether @pid runs (a zombie, or an e2bd killed a moment ago, does not). */
static bool pid_alive(long pid)
{
	char path[64], buf[256], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || (p[1] == ' ' && p[2] != 'Z' && p[2] != 'X');
}

/* Remove the tables of e2bds that died without removing theirs. */
static void firewall_remove_stale(void)
{
	char *out = malloc(65536), *line, *save = NULL;
	size_t plen = strlen("table inet " NFT_TABLE_PREFIX);

	if (!out || nft_run("list tables\n", out, 65536) < 0) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char script[96], err[256], *end;
		long pid;

		if (strncmp(line, "table inet " NFT_TABLE_PREFIX, plen) != 0)
			continue;
		pid = strtol(line + plen, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid() || pid_alive(pid))
			continue;
		snprintf(script, sizeof(script), "delete table inet "
			 NFT_TABLE_PREFIX "%ld\n", pid);
		if (nft_run(script, err, sizeof(err)) == 0)
			log_info("removed the nftables table of e2bd %ld, "
				 "which is gone", pid);
	}
	free(out);
}

int netns_global_init(bool unprivileged)
{
	const char *subnet = g_cfg.sandbox_subnet ? g_cfg.sandbox_subnet :
			     "10.231.0.0/16";
	char script[sizeof(firewall_fmt) + 512], err[512];

	N.egress = false;
	if (g_cfg.network_none) {
		log_info("sandbox network: loopback only (--network none)");
		return CLONE_NEWNET;
	}
	if (unprivileged) {
		log_warn("sandbox network: loopback only, no internet access "
			 "(e2bd runs without root and cannot create links on "
			 "the host)");
		return CLONE_NEWNET;
	}
	if (parse_subnet(subnet) < 0) {
		log_warn("sandbox network: loopback only, no internet access "
			 "(bad --sandbox-subnet '%s': want A.B.C.D/N, N 8-30)",
			 subnet);
		return CLONE_NEWNET;
	}
	find_nft();
	if (!N.nft[0]) {
		log_warn("sandbox network: loopback only, no internet access "
			 "(nft not found: install nftables)");
		return CLONE_NEWNET;
	}
	firewall_remove_stale();
	snprintf(N.table, sizeof(N.table), NFT_TABLE_PREFIX "%ld", (long)getpid());
	snprintf(script, sizeof(script), firewall_fmt, N.table, subnet);
	if (nft_run(script, err, sizeof(err)) < 0) {
		log_warn("sandbox network: loopback only, no internet access "
			 "(cannot install the nftables rules: %s)", err);
		return CLONE_NEWNET;
	}
	atexit(firewall_remove);
	{
		int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);
		char c = '0';

		if (fd < 0 || pread(fd, &c, 1, 0) != 1 ||
		    (c != '1' && pwrite(fd, "1", 1, 0) != 1)) {
			log_warn("sandbox network: no internet access (cannot "
				 "turn on /proc/sys/net/ipv4/ip_forward: %m)");
			if (fd >= 0)
				close(fd);
			return CLONE_NEWNET;
		}
		close(fd);
	}
	{
		char buf[4] = "";
		int fd = open("/proc/sys/net/ipv4/conf/all/route_localnet",
			      O_RDONLY | O_CLOEXEC);

		if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && buf[0] == '1')
			log_warn("net.ipv4.conf.all.route_localnet is 1: the "
				 "firewall still drops sandbox packets to the "
				 "host, but consider turning it off");
		if (fd >= 0)
			close(fd);
	}
	N.egress = true;
	log_info("sandbox network: own namespace, veth + NAT through %s "
		 "(nftables table inet %s)", subnet, N.table);
	return CLONE_NEWNET;
}
