/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cgroup.c against fake cgroup trees in /tmp: what e2bd
 * writes where on cgroup v2 (the usual host, absent from the CI machine)
 * and on v1.  The kernel makes a group's files when the group is made;
 * here the test makes them beforehand, empty, and reads back what
 * cgroup.c wrote into them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/e2bd.h"
#include "api/sandbox.h"
#include "isolate/cgroup.h"

static char tmp[64];

/* put REL CONTENT: make TMP/REL (and its directories) holding CONTENT. */
static void put(const char *rel, const char *content)
{
	char path[1024], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (slash = strchr(path + strlen(tmp) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* got REL: what TMP/REL holds (static buffer). */
static const char *got(const char *rel)
{
	static char buf[256];
	char path[1024];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* init_tree MOUNTINFO_LINES SELF_CGROUP: parse the fake tree's files. */
static void init_tree(const char *mounts, const char *self)
{
	char mi[1024], sc[1024];

	put("mountinfo", mounts);
	put("self-cgroup", self);
	snprintf(mi, sizeof(mi), "%s/mountinfo", tmp);
	snprintf(sc, sizeof(sc), "%s/self-cgroup", tmp);
	cgroup_init_from(mi, sc);
}

/* The files the kernel gives a v2 group REL. */
static void v2_group(const char *rel)
{
	static const char *const files[] = {
		"cgroup.procs", "cgroup.freeze", "cgroup.subtree_control", "memory.max",
		"memory.swap.max", "pids.max",
	};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rel, files[i]);
		put(path, "");
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/e2bd-cgroup-unit.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	unsetenv("E2BD_FREEZER");
	memset(&g_cfg, 0, sizeof(g_cfg));
	g_cfg.memory_limit = 64u << 20;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	free(g_cfg.limits);
	return 0;
}

static void fake_v2_unit(const char *procs)
{
	char mounts[512], pid[32];

	snprintf(mounts, sizeof(mounts),
		 "24 30 0:22 / /proc rw,nosuid - proc proc rw\n"
		 "31 23 0:28 / %s/cg rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n", tmp);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	put("cg/system.slice/e2bd.service/cgroup.controllers", "cpu io memory pids\n");
	put("cg/system.slice/e2bd.service/cgroup.procs", procs ? procs : pid);
	put("cg/system.slice/e2bd.service/cgroup.subtree_control", "");
	put("cg/system.slice/e2bd.service/e2bd-main/cgroup.procs", "");
	v2_group("cg/system.slice/e2bd.service/e2bd");
	v2_group("cg/system.slice/e2bd.service/e2bd/sb1");
	init_tree(mounts, "0::/system.slice/e2bd.service\n");
}

/* e2bd alone in its systemd unit's group (Delegate=yes): it moves into a
 * leaf, delegates memory and pids, and each sandbox gets its limits. */
static void test_v2_systemd_unit(void **state)
{
	struct sandbox sb = { .id = "sb1", .template_id = "base" };
	struct cgroup_sb cg;
	uint64_t used;
	char pid[32];

	(void)state;
	fake_v2_unit(NULL);
	assert_int_equal(cgroup_freezer(), CGROUP_FREEZER_V2);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd-main/cgroup.procs"), pid);
	/* memory then pids, each written at offset 0 of the file: "+memory"
	 * overwritten by "+pids" reads "+pidsry" (the kernel keeps both). */
	assert_string_equal(got("cg/system.slice/e2bd.service/cgroup.subtree_control"), "+pidsry");
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/cgroup.subtree_control"),
			    "+pidsry");
	cgroup_attach(&cg, &sb, 4242);
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/sb1/cgroup.procs"), "4242");
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/sb1/memory.max"), "67108864");
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/sb1/memory.swap.max"), "0");
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/sb1/pids.max"), "2048");
	assert_string_equal(cg.memcg, "");
	assert_non_null(strstr(cg.cgroup, "/e2bd.service/e2bd/sb1"));
	assert_int_equal(cgroup_memory_max(&cg), 64u << 20);
	/* In use: memory.current less the inactive file cache. */
	put("cg/system.slice/e2bd.service/e2bd/sb1/memory.current", "10485760\n");
	put("cg/system.slice/e2bd.service/e2bd/sb1/memory.stat",
	    "anon 6291456\nfile 4194304\nactive_file 1048576\ninactive_file 3145728\n");
	assert_int_equal(cgroup_memory_used(&cg, &used), 0);
	assert_int_equal(used, 7340032);
}

/* Another process shares e2bd's group: nothing is moved (the enabling
 * then fails on a real kernel and is logged). */
static void test_v2_not_alone(void **state)
{
	char procs[64];

	(void)state;
	snprintf(procs, sizeof(procs), "1\n%d\n", (int)getpid());
	fake_v2_unit(procs);
	assert_int_equal(cgroup_freezer(), CGROUP_FREEZER_V2);
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd-main/cgroup.procs"), "");
}

/* --memory-limit NAME=SIZE and 0; "max" reads as no limit. */
static void test_v2_template_limit(void **state)
{
	struct sandbox sb = { .id = "sb1", .template_id = "mini" };
	struct template_limit l = { .name = strdup("mini"), .memory = 32u << 20,
				    .has_memory = true };
	struct cgroup_sb cg;

	(void)state;
	fake_v2_unit(NULL);
	g_cfg.limits = malloc(sizeof(l));
	assert_non_null(g_cfg.limits);
	g_cfg.limits[0] = l;
	g_cfg.nlimits = 1;
	cgroup_attach(&cg, &sb, 4242);
	assert_string_equal(got("cg/system.slice/e2bd.service/e2bd/sb1/memory.max"), "33554432");
	put("cg/system.slice/e2bd.service/e2bd/sb1/memory.max", "max\n");
	assert_int_equal(cgroup_memory_max(&cg), 0);
	free(l.name);
}

/* No writable v2 freezer (no cgroup.freeze): SIGSTOP, no group. */
static void test_v2_no_freezer(void **state)
{
	char mounts[256];

	(void)state;
	snprintf(mounts, sizeof(mounts), "31 23 0:28 / %s/cg rw - cgroup2 cgroup2 rw\n", tmp);
	put("cg/cgroup.controllers", "memory\n");
	init_tree(mounts, "0::/\n");
	assert_int_equal(cgroup_freezer(), CGROUP_FREEZER_SIGNAL);
}

/* cgroup v1: freezer, pids and memory hierarchies, e2bd in a memory group. */
static void test_v1(void **state)
{
	struct sandbox sb = { .id = "sb1", .template_id = "base" };
	struct cgroup_sb cg;
	uint64_t used;
	char mounts[1024];

	(void)state;
	snprintf(mounts, sizeof(mounts),
		 "35 31 0:32 / %s/v1/memory rw - cgroup cgroup rw,memory\n"
		 "37 31 0:34 / %s/v1/freezer rw - cgroup cgroup rw,freezer\n"
		 "39 31 0:36 / %s/v1/pids rw - cgroup cgroup rw,pids\n", tmp, tmp, tmp);
	put("v1/freezer/e2bd/sb1/cgroup.procs", "");
	put("v1/freezer/e2bd/sb1/freezer.state", "");
	put("v1/pids/e2bd/sb1/cgroup.procs", "");
	put("v1/pids/e2bd/sb1/pids.max", "");
	put("v1/memory/job/e2bd/sb1/cgroup.procs", "");
	put("v1/memory/job/e2bd/sb1/memory.limit_in_bytes", "");
	put("v1/memory/job/e2bd/sb1/memory.memsw.limit_in_bytes", "");
	init_tree(mounts, "8:pids:/\n6:freezer:/\n4:memory:/job\n0::/\n");
	assert_int_equal(cgroup_freezer(), CGROUP_FREEZER_V1);
	cgroup_attach(&cg, &sb, 4242);
	assert_string_equal(got("v1/freezer/e2bd/sb1/cgroup.procs"), "4242");
	assert_string_equal(got("v1/pids/e2bd/sb1/pids.max"), "2048");
	assert_string_equal(got("v1/pids/e2bd/sb1/cgroup.procs"), "4242");
	assert_string_equal(got("v1/memory/job/e2bd/sb1/memory.limit_in_bytes"), "67108864");
	assert_string_equal(got("v1/memory/job/e2bd/sb1/memory.memsw.limit_in_bytes"), "67108864");
	assert_string_equal(got("v1/memory/job/e2bd/sb1/cgroup.procs"), "4242");
	assert_int_equal(cgroup_memory_max(&cg), 64u << 20);
	/* v1's "unlimited" (PAGE_COUNTER_MAX pages) is no limit. */
	put("v1/memory/job/e2bd/sb1/memory.limit_in_bytes", "9223372036854771712\n");
	assert_int_equal(cgroup_memory_max(&cg), 0);
	put("v1/memory/job/e2bd/sb1/memory.usage_in_bytes", "10485760\n");
	put("v1/memory/job/e2bd/sb1/memory.stat",
	    "cache 4194304\ninactive_file 1\ntotal_inactive_file 2097152\n");
	assert_int_equal(cgroup_memory_used(&cg, &used), 0);
	assert_int_equal(used, 8388608);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2_systemd_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_not_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_template_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_no_freezer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
