/* SPDX-License-Identifier: MIT */
/*
 * Per-sandbox cgroups (cgroup.h): a group under e2bd's own in the freezer
 * hierarchy (v1) or in the unified one (v2), plus pids and memory groups
 * on v1 hosts.  Only used when e2bd runs as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/e2bd.h"
#include "isolate/cgroup.h"
#include "isolate/isolate.h"

/* Most processes (threads count) one sandbox may have at once. */
#define SB_PIDS_MAX "2048"

/* Set once by cgroup_global_init(). */
static struct {
	enum cgroup_freezer freezer;
	char cgbase[PATH_MAX];	/* per-sandbox cgroups are made under it */
	char pidsbase[PATH_MAX];	/* cgroup v1 pids hierarchy, "" if none */
	char membase[PATH_MAX];	/* cgroup v1 memory hierarchy, "" if none */
} CG;

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void cgroup_create(const struct sandbox *sb, struct cgroup_sb *cg,
			  pid_t init_pid)
{
	char path[PATH_MAX], procs[PATH_MAX + 16], pid[32];

	cg->cgroup[0] = '\0';
	if (CG.freezer == CGROUP_FREEZER_SIGNAL)
		return;
	xfmt(path, sizeof(path), "%s/%s", CG.cgbase, sb->id);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	/* Init first: everything it forks later is born in the cgroup. */
	xfmt(procs, sizeof(procs), "%s/cgroup.procs", path);
	xfmt(pid, sizeof(pid), "%d", (int)init_pid);
	if (write_file(procs, pid) < 0)
		goto fail;
	xfmt(cg->cgroup, sizeof(cg->cgroup), "%s", path);
	xfmt(procs, sizeof(procs), "%s/pids.max", path);
	if (access(procs, F_OK) == 0)
		(void)write_file(procs, SB_PIDS_MAX);
	return;
fail:
	log_warn("sandbox %s: cannot use cgroup '%s' (%m); pause uses SIGSTOP",
		 sb->id, path);
}

/*
 * A fork bomb in one sandbox must not take the host down: on cgroup v1
 * hosts the sandbox also gets a group in the pids hierarchy.
 */
static void pids_create(const struct sandbox *sb, struct cgroup_sb *cg,
			pid_t init_pid)
{
	char path[PATH_MAX], file[PATH_MAX + 16], pid[32];

	cg->pidscg[0] = '\0';
	if (!CG.pidsbase[0])
		return;
	xfmt(path, sizeof(path), "%s/%s", CG.pidsbase, sb->id);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	xfmt(file, sizeof(file), "%s/pids.max", path);
	if (write_file(file, SB_PIDS_MAX) < 0)
		goto fail;
	xfmt(file, sizeof(file), "%s/cgroup.procs", path);
	xfmt(pid, sizeof(pid), "%d", (int)init_pid);
	if (write_file(file, pid) < 0)
		goto fail;
	xfmt(cg->pidscg, sizeof(cg->pidscg), "%s", path);
	return;
fail:
	log_warn("sandbox %s: cannot limit its processes in '%s': %m", sb->id,
		 path);
	rmdir(path);
}

/*
 * A sandbox that eats memory is OOM-killed in its own cgroup, not the
 * host's processes: on cgroup v1 a group in the memory hierarchy with
 * memory.limit_in_bytes (and memsw, so swap does not stretch it), on v2
 * memory.max (and memory.swap.max 0) in the sandbox's group.
 * --memory-limit, default 2 GiB; 0 for none.
 */
static void memory_limit(const struct sandbox *sb, struct cgroup_sb *cg,
			 pid_t init_pid)
{
	char path[PATH_MAX], file[PATH_MAX + 32], val[32];
	const char *what = path;
	uint64_t limit = util_cfg_memory_limit(sb->template_id);

	cg->memcg[0] = '\0';
	if (!limit)
		return;
	xfmt(val, sizeof(val), "%llu", (unsigned long long)limit);
	if (CG.membase[0]) {
		xfmt(path, sizeof(path), "%s/%s", CG.membase, sb->id);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.limit_in_bytes", path);
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.memsw.limit_in_bytes", path);
		(void)write_file(file, val);
		xfmt(file, sizeof(file), "%s/cgroup.procs", path);
		xfmt(val, sizeof(val), "%d", (int)init_pid);
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(cg->memcg, sizeof(cg->memcg), "%s", path);
		return;
	}
	if (CG.freezer == CGROUP_FREEZER_V2 && cg->cgroup[0]) {
		xfmt(file, sizeof(file), "%s/memory.max", cg->cgroup);
		what = file;
		if (write_file(file, val) < 0)
			goto fail;
		xfmt(file, sizeof(file), "%s/memory.swap.max", cg->cgroup);
		(void)write_file(file, "0");
		return;
	}
	errno = ENOTSUP;
	xfmt(path, sizeof(path), "no memory cgroup");
fail:
	log_warn("sandbox %s: memory not limited ('%s': %m)", sb->id, what);
	if (what == path && CG.membase[0])
		rmdir(path);
}

uint64_t cgroup_memory_max(const struct cgroup_sb *cg)
{
	char path[PATH_MAX + 32], buf[64], *end;
	unsigned long long v;

	if (cg->memcg[0])
		xfmt(path, sizeof(path), "%s/memory.limit_in_bytes", cg->memcg);
	else if (CG.freezer == CGROUP_FREEZER_V2 && cg->cgroup[0])
		xfmt(path, sizeof(path), "%s/memory.max", cg->cgroup);
	else
		return 0;
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	/* "max" (v2), or v1's unlimited (PAGE_COUNTER_MAX pages, near 2^63) */
	if (errno || end == buf || v >= (1ull << 62))
		return 0;
	return v;
}

/* Field @key of a memory.stat file @path (bytes); 0 if absent. */
static uint64_t stat_field(const char *path, const char *key)
{
	char buf[8192], *p;
	size_t klen = strlen(key);

	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoull(p + klen + 1, NULL, 10);
	return 0;
}

int cgroup_memory_used(const struct cgroup_sb *cg, uint64_t *out)
{
	char path[PATH_MAX + 32], buf[64], *end;
	const char *dir, *inactive;
	unsigned long long v;
	uint64_t idle;

	if (cg->memcg[0]) {
		dir = cg->memcg;
		inactive = "total_inactive_file";
		xfmt(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
	} else if (CG.freezer == CGROUP_FREEZER_V2 && cg->cgroup[0]) {
		dir = cg->cgroup;
		inactive = "inactive_file";
		xfmt(path, sizeof(path), "%s/memory.current", dir);
	} else {
		return -1;
	}
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	xfmt(path, sizeof(path), "%s/memory.stat", dir);
	idle = stat_field(path, inactive);
	*out = v > idle ? v - idle : 0;
	return 0;
}

void cgroup_remove(struct cgroup_sb *cg)
{
	int64_t until = log_now_ms() + 3000;

	/* Killed processes leave the cgroup asynchronously. */
	while (cg->cgroup[0] && rmdir(cg->cgroup) < 0 && errno == EBUSY && log_now_ms() < until)
		sleep_ms(20);
	cg->cgroup[0] = '\0';
	while (cg->pidscg[0] && rmdir(cg->pidscg) < 0 && errno == EBUSY &&
	       log_now_ms() < until)
		sleep_ms(20);
	cg->pidscg[0] = '\0';
	while (cg->memcg[0] && rmdir(cg->memcg) < 0 && errno == EBUSY &&
	       log_now_ms() < until)
		sleep_ms(20);
	cg->memcg[0] = '\0';
}

/* Freeze or thaw through the cgroup; -1 if the state never settles. */
int cgroup_freeze(struct cgroup_sb *cg, bool frozen)
{
	char path[PATH_MAX + 32], buf[256];
	int64_t until = log_now_ms() + 5000;

	if (CG.freezer == CGROUP_FREEZER_V1) {
		xfmt(path, sizeof(path), "%s/freezer.state", cg->cgroup);
		if (write_file(path, frozen ? "FROZEN" : "THAWED") < 0)
			return -1;
		while (log_now_ms() < until) {
			if (read_small(path, buf, sizeof(buf)) < 0)
				return -1;
			if (strncmp(buf, frozen ? "FROZEN" : "THAWED", 6) == 0)
				return 0;
			sleep_ms(5);
		}
		return -1;
	}
	xfmt(path, sizeof(path), "%s/cgroup.freeze", cg->cgroup);
	if (write_file(path, frozen ? "1" : "0") < 0)
		return -1;
	xfmt(path, sizeof(path), "%s/cgroup.events", cg->cgroup);
	while (log_now_ms() < until) {
		if (read_small(path, buf, sizeof(buf)) < 0)
			return -1;
		if (strstr(buf, frozen ? "frozen 1" : "frozen 0"))
			return 0;
		sleep_ms(5);
	}
	return -1;
}

/* Whether @procs (a cgroup.procs file) lists e2bd alone. */
static bool holds_only_us(const char *procs)
{
	char buf[4096], *p, *end;
	long pid;
	bool any = false;

	if (read_small(procs, buf, sizeof(buf)) < 0)
		return false;
	for (p = buf; *p; p = end) {
		errno = 0;
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (errno || pid != (long)getpid())
			return false;
		any = true;
		while (*end == '\n' || *end == ' ')
			end++;
	}
	return any && (strlen(buf) < sizeof(buf) - 1);
}

/*
 * cgroup v2: hand the memory and pids controllers down to the sandboxes'
 * groups under @base (OWN/e2bd), OWN being e2bd's own group.  A group
 * with processes cannot pass controllers to its children (the kernel's
 * no-internal-process rule), and a service's group holds e2bd itself: as
 * a systemd unit with Delegate=yes, e2bd moves itself into the leaf
 * OWN/e2bd-main first (only when it is alone in OWN, so nothing else is
 * moved).  Then +memory +pids in OWN's and @base's cgroup.subtree_control.
 * What the parent does not delegate stays off, and each sandbox start says
 * `memory not limited`.
 */
static void v2_delegate(const char *own, const char *base)
{
	static const char *const ctl[] = { "memory", "pids" };
	char path[PATH_MAX + 32], buf[1024], want[32];
	size_t i;

	xfmt(path, sizeof(path), "%s/cgroup.controllers", own);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return;
	if (!strstr(buf, "memory") && !strstr(buf, "pids"))
		return;		/* nothing to delegate */
	xfmt(path, sizeof(path), "%s/cgroup.procs", own);
	if (holds_only_us(path)) {
		xfmt(path, sizeof(path), "%s/e2bd-main", own);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			log_warn("cgroup v2: cannot create '%s': %m", path);
		xfmt(path, sizeof(path), "%s/e2bd-main/cgroup.procs", own);
		xfmt(want, sizeof(want), "%d", (int)getpid());
		if (write_file(path, want) < 0)
			log_warn("cgroup v2: cannot move e2bd into '%s': %m", path);
	}
	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		if (!strstr(buf, ctl[i]))
			continue;
		xfmt(want, sizeof(want), "+%s", ctl[i]);
		xfmt(path, sizeof(path), "%s/cgroup.subtree_control", own);
		if (write_file(path, want) < 0) {
			log_warn("cgroup v2: cannot enable %s in '%s' (%m): sandboxes' %s "
				 "not limited", ctl[i], path, ctl[i]);
			continue;
		}
		xfmt(path, sizeof(path), "%s/cgroup.subtree_control", base);
		if (write_file(path, want) < 0)
			log_warn("cgroup v2: cannot enable %s in '%s': %m", ctl[i], path);
	}
}

/* Find the freezer (cgroup v1 "freezer" hierarchy, else cgroup v2), pids, memory. */
void cgroup_global_init(void)
{
	cgroup_init_from("/proc/self/mountinfo", "/proc/self/cgroup");
}

/* What cgroup_init_from() learns: the mount points of the cgroup v1
 * freezer, pids and memory hierarchies and of cgroup v2, and e2bd's own
 * group in each (from /proc/self/cgroup). */
struct cg_found {
	char v1[PATH_MAX], v2[PATH_MAX], pids[PATH_MAX], mem[PATH_MAX];
	char own1[PATH_MAX], own2[PATH_MAX], ownp[PATH_MAX], ownm[PATH_MAX];
};

/* Read the mount points of the hierarchies from mountinfo f into c (the
 * first of each). */
static void scan_mountinfo(FILE *f, struct cg_found *c)
{
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char mp[PATH_MAX], fstype[64], src[256], opts[1024];
		int i;
		char *p = line;

		if (!sep)
			continue;
		/* field 5 is the mount point */
		for (i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p || sscanf(p, "%4095s", mp) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, opts) != 3)
			continue;
		if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "freezer") && !c->v1[0])
			xfmt(c->v1, sizeof(c->v1), "%s", mp);
		else if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "pids") && !c->pids[0])
			xfmt(c->pids, sizeof(c->pids), "%s", mp);
		else if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "memory") && !c->mem[0])
			xfmt(c->mem, sizeof(c->mem), "%s", mp);
		else if (strcmp(fstype, "cgroup2") == 0 && !c->v2[0])
			xfmt(c->v2, sizeof(c->v2), "%s", mp);
	}
}

/* Read e2bd's own group in each hierarchy from self_cgroup into c. */
static void read_own_groups(const char *self_cgroup, struct cg_found *c)
{
	FILE *f = fopen(self_cgroup, "re");
	char line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		c2[strcspn(c2, "\n")] = '\0';
		if (strncmp(c1, "::", 2) == 0)
			xfmt(c->own2, sizeof(c->own2), "%s", c2 + 1);
		else if (strstr(c1, "freezer"))
			xfmt(c->own1, sizeof(c->own1), "%s", c2 + 1);
		else if (strstr(c1, ":pids:") || strstr(c1, ",pids"))
			xfmt(c->ownp, sizeof(c->ownp), "%s", c2 + 1);
		else if (strstr(c1, ":memory:") || strstr(c1, ",memory"))
			xfmt(c->ownm, sizeof(c->ownm), "%s", c2 + 1);
	}
	fclose(f);
}

/* Make e2bd's groups in the cgroup v1 pids and memory hierarchies. */
static void make_v1_limit_bases(const struct cg_found *c)
{
	if (c->pids[0]) {
		xfmt(CG.pidsbase, sizeof(CG.pidsbase), "%s%s/e2bd", c->pids,
		     strcmp(c->ownp, "/") == 0 ? "" : c->ownp);
		if (mkdir(CG.pidsbase, 0755) < 0 && errno != EEXIST)
			CG.pidsbase[0] = '\0';
	}
	if (c->mem[0]) {
		xfmt(CG.membase, sizeof(CG.membase), "%s%s/e2bd", c->mem,
		     strcmp(c->ownm, "/") == 0 ? "" : c->ownm);
		if (mkdir(CG.membase, 0755) < 0 && errno != EEXIST)
			CG.membase[0] = '\0';
	}
}

void cgroup_init_from(const char *mountinfo, const char *self_cgroup)
{
	FILE *f = fopen(mountinfo, "re");
	struct cg_found c;
	char probe[PATH_MAX + 16];
	const char *force;

	memset(&c, 0, sizeof(c));
	memset(&CG, 0, sizeof(CG));
	CG.freezer = CGROUP_FREEZER_SIGNAL;
	if (!f)
		return;
	scan_mountinfo(f, &c);
	fclose(f);
	read_own_groups(self_cgroup, &c);
	make_v1_limit_bases(&c);
	/* E2BD_FREEZER=v2|signal: test the other freezers on a v1 host. */
	force = getenv("E2BD_FREEZER");
	if (force && strcmp(force, "signal") == 0)
		return;
	if (c.v1[0] && !(force && strcmp(force, "v2") == 0)) {
		xfmt(CG.cgbase, sizeof(CG.cgbase), "%s%s/e2bd", c.v1,
			 strcmp(c.own1, "/") == 0 ? "" : c.own1);
		if ((mkdir(CG.cgbase, 0755) == 0 || errno == EEXIST)) {
			CG.freezer = CGROUP_FREEZER_V1;
			return;
		}
	}
	if (c.v2[0]) {
		xfmt(probe, sizeof(probe), "%s%s", c.v2,
		     strcmp(c.own2, "/") == 0 ? "" : c.own2);
		xfmt(c.own2, sizeof(c.own2), "%s", probe);	/* e2bd's own group's path */
		xfmt(CG.cgbase, sizeof(CG.cgbase), "%s/e2bd", c.own2);
		xfmt(probe, sizeof(probe), "%s/cgroup.freeze", CG.cgbase);
		if ((mkdir(CG.cgbase, 0755) == 0 || errno == EEXIST) &&
		    access(probe, W_OK) == 0) {
			CG.freezer = CGROUP_FREEZER_V2;
			/* Lets each sandbox's group have memory.max and pids.max. */
			v2_delegate(c.own2, CG.cgbase);
			return;
		}
	}
}

enum cgroup_freezer cgroup_freezer(void)
{
	return CG.freezer;
}

void cgroup_attach(struct cgroup_sb *cg, const struct sandbox *sb,
		   pid_t init_pid)
{
	cgroup_create(sb, cg, init_pid);
	pids_create(sb, cg, init_pid);
	memory_limit(sb, cg, init_pid);
}
