/* SPDX-License-Identifier: MIT */
/*
 * What one sandbox uses right now, for GET /sandboxes/{id}/metrics and
 * envd's /metrics: the CPU time of every process in the sandbox's PID
 * namespace, read from /proc (the same with cgroup v1, v2 or none, since
 * the PID namespace is what every sandbox has), and its memory: the
 * larger of what its memory cgroup counts (what --memory-limit applies
 * to) and the resident memory of those processes.  CPU use is a percentage of the
 * machine's CPUs over the time since the previous sample of the same
 * sandbox (or since its first process started).  And what it has
 * (usage_room): its memory limit and its disk, for the same answers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "core/e2bd.h"
#include "isolate/nsbox.h"
#include "isolate/sbfs.h"
#include "api/usage.h"

#define USAGE_SLOTS 256

static struct {
	char id[64];
	uint64_t cpu_ns;
	uint64_t at_ns;
} last[USAGE_SLOTS];		/* protected by last_lock */
static unsigned last_next;	/* protected by last_lock */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Read a small /proc file of @pid into @buf; length or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* CPU time (utime + stime + reaped children's) of @pid, in clock ticks. */
static int proc_cpu_ticks(pid_t pid, unsigned long long *out)
{
	unsigned long long ut, st, cut, cst;
	char buf[1024], *p;

	if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	/* The name may hold spaces and ')': fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		   &ut, &st, &cut, &cst) != 4)
		return -1;
	*out = ut + st + cut + cst;
	return 0;
}

static int proc_rss_pages(pid_t pid, unsigned long long *out)
{
	char buf[256];

	if (read_proc(pid, "statm", buf, sizeof(buf)) < 0)
		return -1;
	return sscanf(buf, "%*u %llu", out) == 1 ? 0 : -1;
}

static int pidns_of(pid_t pid, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	n = readlink(path, out, cap - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Remember @cpu_ns for @id; the previous sample (0 if none) into *@prev. */
static void swap_sample(const char *id, uint64_t cpu_ns, uint64_t now,
			uint64_t *prev_cpu, uint64_t *prev_at)
{
	unsigned i;

	*prev_cpu = 0;
	*prev_at = 0;
	pthread_mutex_lock(&last_lock);
	for (i = 0; i < USAGE_SLOTS; i++)
		if (!strcmp(last[i].id, id))
			break;
	if (i == USAGE_SLOTS) {
		i = last_next++ % USAGE_SLOTS;
		snprintf(last[i].id, sizeof(last[i].id), "%s", id);
	} else {
		*prev_cpu = last[i].cpu_ns;
		*prev_at = last[i].at_ns;
	}
	last[i].cpu_ns = cpu_ns;
	last[i].at_ns = now;
	pthread_mutex_unlock(&last_lock);
}

/* Walk /proc for the processes of pid namespace @want: their CPU ticks and
 * resident pages summed into @ticks_out and @pages_out, their count into
 * out->processes; -1 when /proc cannot be read. */
static int pidns_totals(const char *want, unsigned long long *ticks_out,
			unsigned long long *pages_out, struct usage *out)
{
	unsigned long long ticks, total_ticks = 0, pages, total_pages = 0;
	char ns[64];
	struct dirent *de;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (pidns_of((pid_t)pid, ns, sizeof(ns)) < 0 || strcmp(ns, want))
			continue;
		if (proc_cpu_ticks((pid_t)pid, &ticks) == 0)
			total_ticks += ticks;
		if (proc_rss_pages((pid_t)pid, &pages) == 0)
			total_pages += pages;
		out->processes++;
	}
	closedir(d);
	*ticks_out = total_ticks;
	*pages_out = total_pages;
	return 0;
}

/* For a first sample: the monotonic time @init started (from its start time
 * in /proc/PID/stat), so the average runs since then; 0 when unknown. */
static uint64_t init_started_at(pid_t init, long hz, uint64_t now)
{
	char buf[1024], *p = NULL;
	unsigned long long st;
	struct timespec bt;
	uint64_t start_ns;

	if (read_proc(init, "stat", buf, sizeof(buf)) > 0)
		p = strrchr(buf, ')');
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u"
			" %*d %*d %*d %*d %*d %*d %llu", &st) == 1 &&
	    clock_gettime(CLOCK_BOOTTIME, &bt) == 0) {
		uint64_t up = (uint64_t)bt.tv_sec * 1000000000u + (uint64_t)bt.tv_nsec;

		start_ns = st * (1000000000ull / (unsigned long long)hz);
		if (up > start_ns && now > up - start_ns)
			return now - (up - start_ns);
	}
	return 0;
}

int usage_sample(struct sandbox *sb, struct usage *out)
{
	unsigned long long total_ticks, total_pages;
	char want[64];
	uint64_t now, cpu_ns, prev_cpu, prev_at, cg_mem;
	long hz = sysconf(_SC_CLK_TCK), psize = sysconf(_SC_PAGESIZE);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pid_t init;

	memset(out, 0, sizeof(*out));
	init = nsbox_init_pid(sb);
	if (init <= 0 || pidns_of(init, want, sizeof(want)) < 0)
		return -1;	/* not running (paused or stopped): nothing used */
	if (pidns_totals(want, &total_ticks, &total_pages, out) < 0)
		return -1;
	if (hz <= 0)
		hz = 100;
	if (ncpu < 1)
		ncpu = 1;
	cpu_ns = total_ticks * (1000000000ull / (unsigned long long)hz);
	out->cpu_ns = cpu_ns;
	out->mem_bytes = total_pages * (unsigned long long)(psize > 0 ? psize : 4096);
	/* Its memory cgroup's count (what the limit applies to: tmpfs and page
	 * cache too) when larger; pages its init touched before joining the
	 * group (a copy of e2bd) stay charged to e2bd's and count as resident. */
	if (nsbox_memory_used(sb, &cg_mem) == 0 && cg_mem > out->mem_bytes)
		out->mem_bytes = cg_mem;
	now = mono_ns();
	swap_sample(sb->id, cpu_ns, now, &prev_cpu, &prev_at);
	if (!prev_at)
		prev_at = init_started_at(init, hz, now);
	if (prev_at && now > prev_at && cpu_ns >= prev_cpu) {
		double pct = 100.0 * (double)(cpu_ns - prev_cpu) / (double)(now - prev_at) /
			     (double)ncpu;

		out->cpu_pct = pct > 100.0 ? 100.0 : pct;
	}
	return 0;
}

void usage_room(struct sandbox *sb, struct usage_room *out)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t host = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	uint64_t lim = nsbox_memory_limit(sb);
	char path[4096];
	struct statvfs vfs;
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!lim && !nsbox_init_pid(sb))
		lim = util_cfg_memory_limit(sb->template_id);	/* what it gets when started */
	out->mem_total = lim && (!host || lim < host) ? lim : host;
	fd = sbfs_root_get(sb);
	if (fd >= 0 && fstatvfs(fd, &vfs) == 0) {
		out->disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		out->disk_used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	} else if (snprintf(path, sizeof(path), "%s/disk.img", sb->dir) < (int)sizeof(path) &&
		   stat(path, &st) == 0) {
		out->disk_total = (uint64_t)st.st_size;
		out->disk_used = (uint64_t)st.st_blocks * 512;
	} else if (statvfs(sb->dir, &vfs) == 0) {
		out->disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		out->disk_used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	}
	if (fd >= 0)
		close(fd);
}
